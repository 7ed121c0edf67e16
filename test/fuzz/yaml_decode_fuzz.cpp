// libFuzzer target for the configuration decoder: any bytes in a watched file must decode or
// give errors naming the file, within the YAML limits, and validate without crashing.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "config/decode.h"
#include "config/validate.h"

using namespace ironlb;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  Snapshot snap;
  config::DecodeYaml(text, "fuzz.yaml", &snap);
  for (const ConfigError& e : snap.decode_errors)
    if (e.file != "fuzz.yaml" || e.message.empty()) std::abort();
  ConfigState state;
  const Config cfg = config::Validate(snap, Config{}, {}, &state);
  // A second pass with the first result in force: keep-last-valid must hold on any input.
  config::Validate(snap, cfg, {}, &state);
  return 0;
}
