// libFuzzer target for the BFD Control packet decoder (UDP 3784 is reachable by any host on the
// link): any bytes decode or are dropped with a reason, and what decodes re-encodes identically.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "bgp/bfd_codec.h"

using namespace ironlb::bgp::bfd;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Decoded d = Decode(ironlb::bgp::ByteSpan(data, size));
  if (d.packet.has_value() != (d.drop == DropReason::kNone)) std::abort();
  if (!d.packet) return 0;
  const std::vector<uint8_t> again = Encode(*d.packet);
  const Decoded d2 = Decode(again);
  // Bytes past the mandatory section are ignored on receipt and not re-sent.
  ControlPacket want = *d.packet;
  want.length = kControlPacketLength;
  if (!d2.packet || !(*d2.packet == want)) std::abort();
  return 0;
}
