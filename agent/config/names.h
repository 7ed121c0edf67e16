// Kubernetes' rules for object names (apimachinery's DNS-1123 / DNS-1035 checks), so a name that
// the API server would refuse is refused here too, before it reaches a path, a label or a log.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ironlb::config {

enum class NameRule {
  kDns1123Subdomain,  // most kinds: lower-case labels joined by '.', at most 253
  kDns1123Label,      // namespaces: one label of [a-z0-9-], at most 63
  kDns1035Label,      // Services: a DNS-1123 label that starts with a letter
};

// Why `name` breaks `rule` (in words an operator can act on), or nothing when it is valid.
std::optional<std::string> CheckName(std::string_view name, NameRule rule);
bool IsDns1123Subdomain(std::string_view s);

// `s` quoted for a message: bytes outside printable ASCII (invalid UTF-8 included) as \xNN.
std::string Quoted(std::string_view s);

}  // namespace ironlb::config
