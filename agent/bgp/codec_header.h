// The BGP message header (RFC 4271 section 4.1): marker, length, type. Framing for the
// session's read loop and the wrapper every encoder uses; KEEPALIVE is a bare header.
#pragma once

#include <cstdint>

#include "bgp/codec_constants.h"
#include "bgp/codec_error.h"
#include "bgp/wire.h"

namespace ironlb::bgp {

struct Header {
  uint16_t length = 0;  // whole message, header included
  MessageType type = MessageType::kKeepalive;
};

// Decodes the first kHeaderLength bytes. Checks marker, length bounds and the type's
// minimum/fixed length, as RFC 4271 section 6.1 lists.
Result<Header> DecodeHeader(ByteSpan data);

// Writes `body` behind a header of `type`. The caller keeps body within kMaxMessageLength.
Bytes EncodeMessage(MessageType type, ByteSpan body);

Bytes EncodeKeepalive();
// A KEEPALIVE carries nothing: any body is a Bad Message Length.
Result<bool> DecodeKeepalive(ByteSpan body);

}  // namespace ironlb::bgp
