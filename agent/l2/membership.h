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
  Membership(std::string self, Clock::duration detection, Clock::time_point now);

  // The peers (Node name -> addresses) from the latest model. A new peer, never heard, is
  // presumed healthy for one detection time from when it appears (or from our start): a
  // restarting agent then never takes a VIP a live peer owns before hearing from it.
  void SetPeers(const std::map<std::string, std::vector<IPAddr>>& peers, Clock::time_point now);

  Verdict OnHeartbeat(const Heartbeat& hb, const IPAddr& from, Clock::time_point now);

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
  bool self_available_ = true;
  std::map<std::string, Peer> peers_;
  // Replay state survives a peer leaving and coming back in the model, so an old capture is
  // never accepted again within one run of this agent.
  std::map<std::string, std::pair<uint64_t, uint64_t>> high_water_;
};

}  // namespace ironlb::l2
