// libFuzzer target for the BGP decoder: any bytes must decode or fail cleanly, and whatever
// decodes must re-encode to something that decodes to the same value (OPEN, UPDATE, ...).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <variant>

#include "bgp/codec.h"

using namespace ironlb::bgp;

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

// The first input byte picks the negotiated session options, the rest is one message.
Negotiated OptionsFrom(uint8_t b) {
  Negotiated n;
  n.four_octet_as = b & 1;
  n.ibgp = b & 2;
  n.ipv6_unicast = b & 4;
  return n;
}

void RoundTrip(const Message& m, const Negotiated& neg) {
  if (const auto* o = std::get_if<Open>(&m)) {
    auto again = DecodeMessage(EncodeOpen(*o), neg);
    Check(again.ok() && std::get<Open>(*again) == *o);
  } else if (const auto* u = std::get_if<DecodedUpdate>(&m)) {
    Bytes b = EncodeUpdate(u->update, neg);
    if (b.size() > kMaxMessageLength) return;  // AS4_PATH added on re-encode may not fit
    auto again = DecodeMessage(b, neg);
    Check(again.ok());
  } else if (const auto* n = std::get_if<Notification>(&m)) {
    auto again = DecodeMessage(EncodeNotification(*n), neg);
    Check(again.ok() && std::get<Notification>(*again) == *n);
  } else if (const auto* rr = std::get_if<RouteRefresh>(&m)) {
    auto again = DecodeMessage(EncodeRouteRefresh(*rr), neg);
    Check(again.ok() && std::get<RouteRefresh>(*again) == *rr);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const Negotiated neg = OptionsFrom(data[0]);
  ByteSpan msg(data + 1, size - 1);
  auto m = DecodeMessage(msg, neg);
  if (m.ok()) RoundTrip(*m, neg);
  // The bodies alone must be safe too (the session hands them over after framing).
  if (size > 1) {
    (void)DecodeOpen(msg);
    (void)DecodeUpdate(msg, neg);
    (void)DecodeAttributes(msg, neg);
  }
  return 0;
}
