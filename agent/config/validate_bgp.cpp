// BGPPeer and BFDProfile rules: MetalLB's peerFromCR/parseTimers/bfdProfileFromCR, the CRD's
// limits, and FRR's rules for peers that share a node.
#include "config/duration.h"
#include "config/validate_rules.h"

namespace ironlb::config {
namespace {

// RFC 5880 timers in milliseconds and FRR's limits, as MetalLB's CRD states them.
constexpr uint32_t kMinBFDInterval = 10;
constexpr uint32_t kMaxBFDInterval = 60000;
constexpr uint32_t kMinDetectMultiplier = 2;
constexpr uint32_t kMaxDetectMultiplier = 255;
constexpr uint32_t kMinTTL = 1;
constexpr uint32_t kMaxTTL = 254;
// RFC 4271 section 4.2: the hold time is 0 or at least three seconds.
constexpr Duration kMinHoldTime = std::chrono::seconds(3);
constexpr int kMinPeerPort = 1;
constexpr int kMaxPeerPort = 16384;  // MetalLB's CRD limit
constexpr Duration kMinConnectTime = std::chrono::seconds(1);
constexpr Duration kMaxConnectTime = std::chrono::seconds(65535);
constexpr const char* kBasicAuthSecret = "kubernetes.io/basic-auth";
constexpr const char* kPasswordKey = "password";

void CheckRange(uint32_t v, uint32_t lo, uint32_t hi, const char* field, ObjectErrors* errs) {
  if (v < lo || v > hi) {
    errs->Add(std::string("spec.") + field, std::to_string(v) + " is out of range; it must be " +
                                                std::to_string(lo) + " to " + std::to_string(hi));
  }
}

void CheckTimers(const BGPPeer& p, ObjectErrors* errs) {
  if (!p.hold_time && !p.keepalive_time) return;
  // MetalLB derives the missing one: keepalive = hold / 3, hold = 3 x keepalive.
  const Duration hold = p.hold_time ? *p.hold_time : *p.keepalive_time * 3;
  const Duration keepalive = p.keepalive_time ? *p.keepalive_time : *p.hold_time / 3;
  const auto whole = std::chrono::duration_cast<std::chrono::seconds>(hold);
  if (whole != Duration(0) && whole < kMinHoldTime) {
    if (p.hold_time) {
      errs->Add("spec.holdTime",
                "hold time " + FormatGoDuration(hold) + " must be 0 or at least 3s");
    } else {
      // The hold time is what is wrong, even though it was derived from keepaliveTime.
      errs->Add("spec.holdTime", "unset, so it is 3 x keepaliveTime = " + FormatGoDuration(hold) +
                                     ", which is under 3s; set holdTime to 0 or at least 3s");
    }
    return;
  }
  if (keepalive > hold) {
    errs->Add("spec.keepaliveTime", "keepalive time " + FormatGoDuration(keepalive) +
                                        " is longer than the hold time " + FormatGoDuration(hold) +
                                        (p.hold_time ? "" : " (3 x keepalive)"));
  }
}

void ResolveSecret(const BGPPeer& p, const RuleContext& ctx, ObjectErrors* errs, BGPPeer* out) {
  const std::string ns = p.password_secret.ns.empty() ? p.meta.ns : p.password_secret.ns;
  const Secret* found = nullptr;
  for (const Secret& s : *ctx.secrets) {
    if (s.meta.name == p.password_secret.name && (ns.empty() || s.meta.ns == ns)) found = &s;
  }
  const std::string what = "Secret " + (ns.empty() ? "" : ns + "/") + p.password_secret.name;
  if (!found) {
    errs->Add("spec.passwordSecret.name", what + " does not exist");
    return;
  }
  if (found->type != kBasicAuthSecret) {
    errs->Add("spec.passwordSecret",
              what + " has type \"" + found->type + "\"; it must be " + kBasicAuthSecret);
    return;
  }
  auto it = found->data.find(kPasswordKey);
  if (it == found->data.end()) {
    errs->Add("spec.passwordSecret", what + " has no \"password\" key");
    return;
  }
  out->resolved_password = it->second;
}

}  // namespace

Errors CheckBFDProfile(const BFDProfile& b) {
  ObjectErrors errs("BFDProfile", b.meta);
  CheckRange(b.receive_interval_ms, kMinBFDInterval, kMaxBFDInterval, "receiveInterval", &errs);
  CheckRange(b.transmit_interval_ms, kMinBFDInterval, kMaxBFDInterval, "transmitInterval", &errs);
  CheckRange(b.detect_multiplier, kMinDetectMultiplier, kMaxDetectMultiplier, "detectMultiplier",
             &errs);
  CheckRange(b.echo_interval_ms, kMinBFDInterval, kMaxBFDInterval, "echoInterval", &errs);
  CheckRange(b.minimum_ttl, kMinTTL, kMaxTTL, "minimumTtl", &errs);
  return errs.Take();
}

Errors CheckPeer(const BGPPeer& p, const RuleContext& ctx, BGPPeer* out) {
  ObjectErrors errs("BGPPeer", p.meta);
  *out = p;
  out->address.reset();
  out->resolved_password.clear();
  if (p.my_asn == 0) errs.Add("spec.myASN", "myASN (the local AS number) is required");
  if (p.peer_asn == 0 && p.dynamic_asn.empty()) {
    errs.Add("spec.peerASN", "set peerASN, or dynamicASN (internal or external)");
  }
  if (p.peer_asn != 0 && !p.dynamic_asn.empty()) {
    errs.Add("spec.dynamicASN", "peerASN and dynamicASN are mutually exclusive");
  }
  if (!p.dynamic_asn.empty() && p.dynamic_asn != "internal" && p.dynamic_asn != "external") {
    errs.Add("spec.dynamicASN", "\"" + p.dynamic_asn + "\" must be internal or external");
  }
  const bool ibgp = (p.peer_asn != 0 && p.peer_asn == p.my_asn) || p.dynamic_asn == "internal";
  if (ibgp && p.ebgp_multihop) {
    errs.Add("spec.ebgpMultiHop",
             "ebgpMultiHop applies to eBGP sessions; this peer is iBGP "
             "(myASN equals the peer's AS)");
  }
  if (p.peer_address.empty() && p.interface.empty()) {
    errs.Add("spec.peerAddress", "set peerAddress, or interface for unnumbered BGP");
  }
  if (!p.peer_address.empty() && !p.interface.empty()) {
    errs.Add("spec.interface", "peerAddress and interface are mutually exclusive");
  }
  CheckTimers(p, &errs);
  if (p.connect_time && (*p.connect_time < kMinConnectTime || *p.connect_time > kMaxConnectTime ||
                         p.connect_time->count() % 1000 != 0)) {
    errs.Add("spec.connectTime", FormatGoDuration(*p.connect_time) +
                                     " must be a whole number of seconds from 1s to 65535s");
  }
  if (p.peer_port < kMinPeerPort || p.peer_port > kMaxPeerPort) {
    errs.Add("spec.peerPort", std::to_string(p.peer_port) + " must be 1 to 16384");
  }
  if (!p.peer_address.empty()) {
    out->address = IPAddr::Parse(p.peer_address);
    if (!out->address)
      errs.Add("spec.peerAddress", "\"" + p.peer_address + "\" is not an IP address");
  }
  if (!p.router_id.empty()) {
    auto id = IPAddr::Parse(p.router_id);
    if (!id) {
      errs.Add("spec.routerID", "\"" + p.router_id + "\" is not an IPv4 address");
    } else if (!id->is_v4()) {
      // RFC 4271 section 4.2: the BGP Identifier is four octets.
      errs.Add("spec.routerID", "\"" + p.router_id + "\" must be an IPv4 address (BGP identifier)");
    }
  }
  if (!p.source_address.empty()) {
    auto src = IPAddr::Parse(p.source_address);
    if (!src) {
      errs.Add("spec.sourceAddress", "\"" + p.source_address + "\" is not an IP address");
    } else if (out->address && src->family() != out->address->family()) {
      errs.Add("spec.sourceAddress", std::string("source ") + FamilyName(src->family()) +
                                         " address for an " + FamilyName(out->address->family()) +
                                         " peer");
    }
  }
  CheckSelectors(p.node_selectors, "spec.nodeSelectors", &errs);
  if (!p.password.empty() && !p.password_secret.name.empty()) {
    errs.Add("spec.passwordSecret", "password and passwordSecret are mutually exclusive");
  } else if (!p.password_secret.name.empty()) {
    ResolveSecret(p, ctx, &errs, out);
  } else if (!p.password_secret.ns.empty()) {
    errs.Add("spec.passwordSecret.name", "passwordSecret needs a name");
  }
  if (p.password.size() > 80) {
    // Linux TCP_MD5SIG_MAXKEYLEN (RFC 2385 keys live in the kernel).
    errs.Add("spec.password", "longer than the 80 bytes TCP MD5 allows");
  }
  if (!p.bfd_profile.empty() && !ctx.accepted->bfd_profiles.count(p.bfd_profile)) {
    errs.Add("spec.bfdProfile", "BFDProfile \"" + p.bfd_profile + "\" does not exist");
  }
  return errs.Take();
}

Errors CheckPeerConflicts(const BGPPeer& p, const RuleContext& ctx) {
  ObjectErrors errs("BGPPeer", p.meta);
  const std::set<std::string> mine = SelectedNodes(*ctx.nodes, p.node_selectors);
  auto identifier = [](const BGPPeer& x) {
    const std::string id = x.peer_address.empty() ? x.interface : x.peer_address;
    return x.vrf.empty() ? id : id + "-" + x.vrf;
  };
  for (const auto& [name, q] : ctx.accepted->peers) {
    // With no Nodes known every peer may land on every node.
    bool shares = ctx.nodes->empty();
    if (!shares) {
      const std::set<std::string> theirs = SelectedNodes(*ctx.nodes, q.node_selectors);
      for (const auto& n : mine) shares = shares || theirs.count(n);
    }
    if (!shares) continue;
    if (p.router_id != q.router_id) {
      errs.Add("spec.routerID", "routerID \"" + p.router_id + "\" differs from \"" + q.router_id +
                                    "\" of BGPPeer " + name +
                                    "; peers on the same node must share one router ID");
    } else if (identifier(p) == identifier(q)) {
      errs.Add(p.peer_address.empty() ? "spec.interface" : "spec.peerAddress",
               "BGPPeer " + name + " already peers with " + identifier(p) + " from the same nodes");
    } else if (p.my_asn != q.my_asn && p.vrf == q.vrf) {
      errs.Add("spec.myASN", "myASN " + std::to_string(p.my_asn) + " differs from " +
                                 std::to_string(q.my_asn) + " of BGPPeer " + name +
                                 "; peers on the same node and VRF must share one local AS");
    }
    if (!errs.empty()) break;
  }
  return errs.Take();
}

}  // namespace ironlb::config
