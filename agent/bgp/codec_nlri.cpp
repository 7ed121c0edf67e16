#include "bgp/codec_nlri.h"

#include <string>

#include "bgp/codec_constants.h"

namespace ironlb::bgp {
namespace {
constexpr int kBitsPerOctet = 8;
size_t OctetsFor(int bits) {
  return static_cast<size_t>((bits + kBitsPerOctet - 1) / kBitsPerOctet);
}
}  // namespace

size_t PrefixWireSize(const IPPrefix& p) {
  return 1 + OctetsFor(p.length);
}

void EncodePrefix(Writer& w, const IPPrefix& p) {
  w.U8(static_cast<uint8_t>(p.length));
  auto b = p.addr.bytes();
  w.Bytes(ByteSpan(b.data(), OctetsFor(p.length)));
}

Result<std::vector<IPPrefix>> DecodePrefixes(ByteSpan data, Family family) {
  const int max_bits = family == Family::kV4 ? 32 : 128;
  std::vector<IPPrefix> out;
  Reader r(data);
  while (!r.empty()) {
    const uint8_t len = r.U8();
    if (len > max_bits)
      return SessionReset(error_code::kUpdateMessageError, update_subcode::kInvalidNetworkField,
                          "prefix length " + std::to_string(len) + " too long");
    ByteSpan b = r.Bytes(OctetsFor(len));
    if (r.failed())
      return SessionReset(error_code::kUpdateMessageError, update_subcode::kInvalidNetworkField,
                          "truncated prefix");
    uint8_t raw[16] = {};
    std::copy(b.begin(), b.end(), raw);
    // Clear bits past the length so equal prefixes compare equal.
    if (len % kBitsPerOctet != 0)
      raw[len / kBitsPerOctet] &= static_cast<uint8_t>(0xff00 >> (len % kBitsPerOctet));
    out.push_back(IPPrefix{IPAddr::FromBytes(family, raw), len});
  }
  return out;
}

}  // namespace ironlb::bgp
