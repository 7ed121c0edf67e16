#include "config/base64.h"

#include <openssl/evp.h>

#include <vector>

namespace ironlb::config {

std::optional<std::string> DecodeBase64(std::string_view text) {
  std::string clean;
  for (char c : text) {
    if (c != ' ' && c != '\n' && c != '\r' && c != '\t') clean.push_back(c);
  }
  if (clean.empty()) return std::string();
  constexpr size_t kQuantum = 4;  // base64 encodes 3 bytes in 4 characters
  if (clean.size() % kQuantum != 0) return std::nullopt;
  std::vector<unsigned char> buf(clean.size() / kQuantum * 3 + 1);
  const int n = EVP_DecodeBlock(buf.data(), reinterpret_cast<const unsigned char*>(clean.data()),
                                static_cast<int>(clean.size()));
  if (n < 0) return std::nullopt;
  // EVP_DecodeBlock counts the bytes the padding stands for; drop them.
  size_t len = static_cast<size_t>(n);
  if (clean.back() == '=') --len;
  if (clean[clean.size() - 2] == '=') --len;
  return std::string(reinterpret_cast<const char*>(buf.data()), len);
}

}  // namespace ironlb::config
