#include "l2/membership.h"

#include <algorithm>

namespace ironlb::l2 {

const char* VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kAccepted: return "accepted";
    case Verdict::kUnknownNode: return "unknown_node";
    case Verdict::kWrongAddress: return "wrong_address";
    case Verdict::kReplay: return "replay";
  }
  return "unknown";
}

Membership::Membership(std::string self, Clock::duration detection, Clock::time_point)
    : self_(std::move(self)), detection_(detection) {}

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
  auto hw = high_water_.find(hb.node);
  if (hw != high_water_.end() && std::pair{hb.boot_id, hb.seq} <= hw->second)
    return Verdict::kReplay;
  high_water_[hb.node] = {hb.boot_id, hb.seq};
  p.heard = true;
  p.available = hb.available;
  p.boot_id = hb.boot_id;
  p.seq = hb.seq;
  p.last = now;
  return Verdict::kAccepted;
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
