// NLRI prefixes (RFC 4271 section 4.3; RFC 4760 for IPv6): a length in bits followed by
// the fewest octets holding it. Used by the UPDATE body and MP_REACH/MP_UNREACH.
#pragma once

#include <optional>
#include <vector>

#include "bgp/codec_error.h"
#include "bgp/wire.h"
#include "model/ip.h"

namespace ironlb::bgp {

// Encoded size of one prefix.
size_t PrefixWireSize(const IPPrefix& p);
void EncodePrefix(Writer& w, const IPPrefix& p);
// Decodes a run of prefixes of `family`. Host bits beyond the length are cleared. A length
// beyond the family's width or a truncated prefix is an error (Invalid Network Field,
// session reset: RFC 7606 section 5.3 — the NLRI cannot be parsed).
Result<std::vector<IPPrefix>> DecodePrefixes(ByteSpan data, Family family);

}  // namespace ironlb::bgp
