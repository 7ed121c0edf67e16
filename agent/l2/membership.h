// Who is alive, from authenticated heartbeats: the peers come from the Node objects, each is
// healthy while its last accepted heartbeat is younger than the detection time. Pure state
// machine: time is an argument, no sockets, so tests step it without sleeping.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "l2/heartbeat.h"
#include "model/ip.h"

namespace ironlb::l2 {

using Clock = std::chrono::steady_clock;

enum class Verdict {
  kAccepted,
  kUnknownNode,   // not a Node this agent knows (or our own name)
  kWrongAddress,  // not sent from one of the node's addresses
  kReplay,        // (boot, seq) not above the last accepted pair: old or duplicate
  kUnconfirmed,   // first contact, and it does not echo our boot id: maybe sent before we started
};
const char* VerdictName(Verdict v);

struct PeerView {
  std::string name;
  std::vector<IPAddr> addresses;
  bool healthy = false;
  bool heard = false;  // a heartbeat accepted since this agent started
  bool available = false;
  uint64_t boot_id = 0;
  uint64_t seq = 0;
  Clock::duration since_heard{};  // age of the last accepted heartbeat
};

class Membership {
 public:
  // Detection time = interval x threshold: a peer silent that long is considered dead.
  // `self_boot`: this agent's boot id, which a peer must echo before its first heartbeat counts.
  Membership(std::string self, Clock::duration detection, Clock::time_point now,
             uint64_t self_boot);

  // The peers (Node name -> addresses) from the latest model. A new peer, never heard, is
  // presumed healthy for one detection time from when it appears (or from our start): a
  // restarting agent then never takes a VIP a live peer owns before hearing from it.
  void SetPeers(const std::map<std::string, std::vector<IPAddr>>& peers, Clock::time_point now);

  // Replay protection without trusting clocks. Once a heartbeat from a node was accepted, only a
  // later (boot, seq) is. Before that (first contact since this agent started: the window in
  // which a capture from before our start would otherwise pass once), a heartbeat is accepted
  // only if it echoes our boot id, which the sender can only know from our heartbeats of this
  // boot. A verified heartbeat teaches us the sender's boot id to echo even when it is not
  // accepted; that is the handshake (see EchoFor).
  Verdict OnHeartbeat(const Heartbeat& hb, const IPAddr& from, Clock::time_point now);

  // The boot id to echo in heartbeats to `node`: the highest one seen in a heartbeat that passed
  // its MAC and came from the node's address (0 when none). When a heartbeat raises it, the
  // caller answers at once so that first contact takes one round trip, not an interval.
  uint64_t EchoFor(const std::string& node) const;

  // Heartbeats just started (a key arrived): every peer not heard yet is presumed alive for one
  // detection time from now, as at start, so this node takes no VIP before hearing the owner.
  void RestartPresumption(Clock::time_point now);

  // This node's own availability (an uplink has carrier).
  void SetSelfAvailable(bool available) { self_available_ = available; }
  bool self_available() const { return self_available_; }

  // Nodes that may own VIPs now: ourselves when available, and every healthy available peer.
  std::set<std::string> Healthy(Clock::time_point now) const;
  std::vector<PeerView> Peers(Clock::time_point now) const;
  const std::string& self() const { return self_; }
  Clock::duration detection() const { return detection_; }

 private:
  struct Peer {
    std::vector<IPAddr> addresses;
    bool heard = false;
    bool available = true;
    uint64_t boot_id = 0;
    uint64_t seq = 0;
    Clock::time_point last;  // last accepted heartbeat, or when the peer appeared
  };
  bool PeerHealthy(const Peer& p, Clock::time_point now) const;

  std::string self_;
  Clock::duration detection_;
  uint64_t self_boot_;
  bool self_available_ = true;
  std::map<std::string, Peer> peers_;
  // Replay state survives a peer leaving and coming back in the model, so an old capture is
  // never accepted again within one run of this agent.
  std::map<std::string, std::pair<uint64_t, uint64_t>> high_water_;
  std::map<std::string, uint64_t> boot_seen_;
};

}  // namespace ironlb::l2
