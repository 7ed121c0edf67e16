// How a plain (unquoted) YAML scalar resolves under YAML 1.1, as Go's YAML decoders and kubectl
// read it: "yes"/"on"/"y" are booleans, "0x1F" and "1e3" numbers. Used to refuse a number where
// a string belongs, and to quote strings that would not read back as strings.
#pragma once

#include <string_view>

namespace ironlb::config {

bool IsYamlBool(std::string_view s);
bool IsYamlTrue(std::string_view s);  // the true spellings of IsYamlBool
bool IsYamlNull(std::string_view s);
bool IsYamlNumber(std::string_view s);

}  // namespace ironlb::config
