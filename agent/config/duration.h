// Go-compatible durations ("90s", "1m30s", "500ms"): MetalLB's timers are metav1.Duration,
// which parse with time.ParseDuration and print with Duration.String().
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "model/objects.h"

namespace ironlb::config {

// Parses like Go's time.ParseDuration; on failure returns nullopt and sets *error to a
// sentence saying what is wrong. Precision below a millisecond is truncated (the model
// keeps milliseconds).
std::optional<Duration> ParseGoDuration(std::string_view text, std::string* error);

// Formats like Go's time.Duration.String() ("1m30s", "2m0s", "500ms", "0s").
std::string FormatGoDuration(Duration d);

}  // namespace ironlb::config
