#include "l2/membership.h"

#include <algorithm>

namespace ironlb::l2 {

const char* VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kAccepted: return "accepted";
    case Verdict::kUnknownNode: return "unknown_node";
    case Verdict::kWrongAddress: return "wrong_address";
    case Verdict::kReplay: return "replay";
    case Verdict::kUnconfirmed: return "unconfirmed";
  }
  return "unknown";
}

Membership::Membership(std::string self, Clock::duration detection, Clock::time_point,
                       uint64_t self_boot)
    : self_(std::move(self)), detection_(detection), self_boot_(self_boot) {}

void Membership::SetPeers(const std::map<std::string, std::vector<IPAddr>>& peers,
                          Clock::time_point now) {
  std::map<std::string, Peer> next;
  for (const auto& [name, addrs] : peers) {
    if (name == self_) continue;
    auto it = peers_.find(name);
    Peer p = it != peers_.end() ? it->second : Peer{};
    if (it == peers_.end()) p.last = now;
    p.addresses = addrs;
    next.emplace(name, std::move(p));
  }
  peers_ = std::move(next);
}

Verdict Membership::OnHeartbeat(const Heartbeat& hb, const IPAddr& from, Clock::time_point now) {
  auto it = peers_.find(hb.node);
  if (it == peers_.end()) return Verdict::kUnknownNode;
  Peer& p = it->second;
  if (std::find(p.addresses.begin(), p.addresses.end(), from) == p.addresses.end())
    return Verdict::kWrongAddress;
  // Only ever raised: a replay of an older boot cannot make us echo a stale id.
  uint64_t& seen = boot_seen_[hb.node];
  seen = std::max(seen, hb.boot_id);
  auto hw = high_water_.find(hb.node);
  if (hw != high_water_.end()) {
    if (std::pair{hb.boot_id, hb.seq} <= hw->second) return Verdict::kReplay;
  } else if (hb.echo != self_boot_) {
    return Verdict::kUnconfirmed;
  }
  high_water_[hb.node] = {hb.boot_id, hb.seq};
  p.heard = true;
  p.available = hb.available;
  p.boot_id = hb.boot_id;
  p.seq = hb.seq;
  p.last = now;
  return Verdict::kAccepted;
}

void Membership::RestartPresumption(Clock::time_point now) {
  for (auto& [name, p] : peers_)
    if (!p.heard) p.last = now;
}

uint64_t Membership::EchoFor(const std::string& node) const {
  auto it = boot_seen_.find(node);
  return it != boot_seen_.end() ? it->second : 0;
}

bool Membership::PeerHealthy(const Peer& p, Clock::time_point now) const {
  return p.available && now - p.last < detection_;
}

std::set<std::string> Membership::Healthy(Clock::time_point now) const {
  std::set<std::string> out;
  if (self_available_) out.insert(self_);
  for (const auto& [name, p] : peers_)
    if (PeerHealthy(p, now)) out.insert(name);
  return out;
}

std::vector<PeerView> Membership::Peers(Clock::time_point now) const {
  std::vector<PeerView> out;
  for (const auto& [name, p] : peers_) {
    PeerView v;
    v.name = name;
    v.addresses = p.addresses;
    v.healthy = PeerHealthy(p, now);
    v.heard = p.heard;
    v.available = p.available;
    v.boot_id = p.boot_id;
    v.seq = p.seq;
    v.since_heard = now - p.last;
    out.push_back(std::move(v));
  }
  return out;
}

}  // namespace ironlb::l2
