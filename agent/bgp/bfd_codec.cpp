// Field layout (RFC 5880 section 4.1), big-endian:
//   0: Vers(3) Diag(5)   1: Sta(2) P F C A D M   2: Detect Mult   3: Length
//   4: My Discriminator  8: Your Discriminator
//  12: Desired Min TX    16: Required Min RX     20: Required Min Echo RX   (microseconds)
#include "bgp/bfd_codec.h"

namespace ironlb::bgp::bfd {
namespace {

constexpr int kVersionShift = 5;
constexpr uint8_t kDiagMask = 0x1f;
constexpr int kStateShift = 6;
constexpr uint8_t kPollBit = 0x20;
constexpr uint8_t kFinalBit = 0x10;
constexpr uint8_t kControlPlaneIndependentBit = 0x08;
constexpr uint8_t kAuthPresentBit = 0x04;
constexpr uint8_t kDemandBit = 0x02;
constexpr uint8_t kMultipointBit = 0x01;

uint32_t ToWire(Micros m) {
  return static_cast<uint32_t>(m.count());
}

}  // namespace

const char* StateName(SessionState s) {
  switch (s) {
    case SessionState::kAdminDown: return "AdminDown";
    case SessionState::kDown: return "Down";
    case SessionState::kInit: return "Init";
    case SessionState::kUp: return "Up";
  }
  return "?";
}

const char* DiagName(Diag d) {
  switch (d) {
    case Diag::kNoDiagnostic: return "No Diagnostic";
    case Diag::kControlDetectionTimeExpired: return "Control Detection Time Expired";
    case Diag::kEchoFunctionFailed: return "Echo Function Failed";
    case Diag::kNeighborSignaledSessionDown: return "Neighbor Signaled Session Down";
    case Diag::kForwardingPlaneReset: return "Forwarding Plane Reset";
    case Diag::kPathDown: return "Path Down";
    case Diag::kConcatenatedPathDown: return "Concatenated Path Down";
    case Diag::kAdministrativelyDown: return "Administratively Down";
    case Diag::kReverseConcatenatedPathDown: return "Reverse Concatenated Path Down";
  }
  return "Reserved";
}

const char* DropReasonName(DropReason r) {
  switch (r) {
    case DropReason::kNone: return "none";
    case DropReason::kTruncated: return "truncated";
    case DropReason::kBadVersion: return "bad version";
    case DropReason::kBadLength: return "bad length";
    case DropReason::kZeroDetectMult: return "zero detect multiplier";
    case DropReason::kMultipoint: return "multipoint bit set";
    case DropReason::kZeroMyDiscriminator: return "zero my discriminator";
    case DropReason::kZeroYourDiscriminator: return "zero your discriminator while not down";
    case DropReason::kAuthNotSupported: return "authentication not supported";
    case DropReason::kUnknownDiscriminator: return "unknown your discriminator";
    case DropReason::kUnknownPeer: return "no session for peer";
    case DropReason::kLowTtl: return "ttl not 255";
    case DropReason::kAdminDown: return "session admin down";
    case DropReason::kCount: break;
  }
  return "?";
}

std::vector<uint8_t> Encode(const ControlPacket& p) {
  std::vector<uint8_t> out;
  out.reserve(kControlPacketLength);
  Writer w(out);
  w.U8(static_cast<uint8_t>((p.version << kVersionShift) |
                            (static_cast<uint8_t>(p.diag) & kDiagMask)));
  uint8_t flags = static_cast<uint8_t>(static_cast<uint8_t>(p.state) << kStateShift);
  if (p.poll) flags |= kPollBit;
  if (p.final) flags |= kFinalBit;
  if (p.control_plane_independent) flags |= kControlPlaneIndependentBit;
  if (p.auth_present) flags |= kAuthPresentBit;
  if (p.demand) flags |= kDemandBit;
  if (p.multipoint) flags |= kMultipointBit;
  w.U8(flags);
  w.U8(p.detect_mult);
  // What is written, whatever `p.length` says (a decoded packet may carry trailing bytes that
  // are not re-sent): a header claiming more than the packet holds would be discarded.
  w.U8(static_cast<uint8_t>(kControlPacketLength));
  w.U32(p.my_discriminator);
  w.U32(p.your_discriminator);
  w.U32(ToWire(p.desired_min_tx));
  w.U32(ToWire(p.required_min_rx));
  w.U32(ToWire(p.required_min_echo_rx));
  return out;
}

Decoded Decode(ByteSpan payload) {
  Decoded d;
  if (payload.size() < kControlPacketLength) {
    d.drop = DropReason::kTruncated;
    return d;
  }
  Reader r(payload);
  ControlPacket p;
  const uint8_t vd = r.U8();
  p.version = static_cast<uint8_t>(vd >> kVersionShift);
  p.diag = static_cast<Diag>(vd & kDiagMask);
  const uint8_t flags = r.U8();
  p.state = static_cast<SessionState>(flags >> kStateShift);
  p.poll = flags & kPollBit;
  p.final = flags & kFinalBit;
  p.control_plane_independent = flags & kControlPlaneIndependentBit;
  p.auth_present = flags & kAuthPresentBit;
  p.demand = flags & kDemandBit;
  p.multipoint = flags & kMultipointBit;
  p.detect_mult = r.U8();
  p.length = r.U8();
  p.my_discriminator = r.U32();
  p.your_discriminator = r.U32();
  p.desired_min_tx = Micros(r.U32());
  p.required_min_rx = Micros(r.U32());
  p.required_min_echo_rx = Micros(r.U32());
  // Section 6.8.6, in the RFC's order.
  const size_t min_length = p.auth_present ? kMinLengthWithAuth : kControlPacketLength;
  if (p.version != kVersion)
    d.drop = DropReason::kBadVersion;
  else if (p.length < min_length || p.length > payload.size())
    d.drop = DropReason::kBadLength;
  else if (p.detect_mult == 0)
    d.drop = DropReason::kZeroDetectMult;
  else if (p.multipoint)
    d.drop = DropReason::kMultipoint;
  else if (p.my_discriminator == 0)
    d.drop = DropReason::kZeroMyDiscriminator;
  else if (p.your_discriminator == 0 && p.state != SessionState::kDown &&
           p.state != SessionState::kAdminDown)
    d.drop = DropReason::kZeroYourDiscriminator;
  else if (p.auth_present)
    d.drop = DropReason::kAuthNotSupported;
  else
    d.packet = p;
  return d;
}

}  // namespace ironlb::bgp::bfd
