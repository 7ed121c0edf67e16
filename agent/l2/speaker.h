// The L2 speaker: heartbeats over UDP between the nodes, per-VIP owner election, the lb_l2 map
// and the liveness stamp XDP is fenced on, and the new owner's gratuitous ARP / unsolicited NA.
//
// It runs on a thread and io_context of its own, not the agent's: a reconcile pass over a large
// cluster can hold the agent's loop for a second, and neither heartbeats nor the liveness stamp
// may wait that long (peers would declare this node dead, XDP would fence itself). The agent's
// loop hands it a new Plan after each pass; everything else happens here.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "dataplane/map_ops.h"
#include "l2/announce.h"
#include "l2/conflict.h"
#include "l2/election.h"
#include "l2/l2_map.h"
#include "l2/link_watch.h"
#include "l2/membership.h"
#include "l2/plan.h"
#include "model/event.h"

namespace ironlb::l2 {

struct SpeakerOptions {
  std::string node;
  std::vector<std::string> interfaces;  // the uplinks xdp_lb runs on
  uint16_t port = 7473;                 // UDP port of the heartbeats
  std::chrono::milliseconds interval{100};
  uint32_t threshold = 3;       // missed intervals before a peer is dead (>= 2)
  std::vector<uint8_t> key;     // HMAC key; empty: no heartbeats (every node presumed alive)
  std::string key_source;       // where a key comes from when it is not given here (for logs)
  bool watch_links = true;      // libnl carrier events (off in tests without a netns)
  bool watch_conflicts = true;  // read ARP on the uplinks for other MACs claiming our VIPs
};

// A VIP's owner as this node sees it, with its history for `ironlbctl l2 show`.
struct OwnerRecord {
  std::optional<std::string> owner;
  std::chrono::system_clock::time_point since;
  std::string previous;  // the owner before the last move ("" = none); meaningful when moves > 0
  std::string cause;     // why the last move happened
  uint64_t moves = 0;
};

class Speaker {
 public:
  // `ops` reaches lb_l2 and lb_l2_live; `emit` is called on the speaker's thread.
  Speaker(SpeakerOptions opts, std::unique_ptr<dataplane::MapOps> ops,
          std::function<void(const ObjectEvent&)> emit);
  ~Speaker();

  void Start();
  // Orderly stop: tells the peers this node is leaving (available = 0), silences its VIPs, joins.
  void Stop();
  // From the agent's loop after every reconcile pass.
  void SetPlan(Plan plan);
  // A new heartbeat key (from a Secret): heartbeats start if they were off; heartbeats sealed
  // with the previous key are still accepted for a minute, so the nodes can take a rotation one
  // by one.
  void SetKey(std::vector<uint8_t> key);

  nlohmann::json Status() const;

  struct Counters {
    std::atomic<uint64_t> heartbeats_sent{0}, heartbeats_accepted{0}, owner_changes{0};
    std::map<std::string, uint64_t> rejected;    // by reason (under mu_)
    std::map<std::string, uint64_t> gratuitous;  // by VIP (under mu_)
    std::map<std::string, uint64_t> conflicts;   // by VIP (under mu_)
  };
  // Copies of the labelled counters and the plain ones, for metrics.
  std::map<std::string, uint64_t> Rejected() const;
  std::map<std::string, uint64_t> Gratuitous() const;
  // ARP frames and NAs in which another MAC claimed a VIP this node owns, by VIP.
  std::map<std::string, uint64_t> Conflicts() const;
  uint64_t owner_changes() const { return counters_.owner_changes; }
  // The VIPs the speaker knows (owned here or not), and the Services of those this node owns;
  // nullopt before owners were first computed. Any thread.
  struct Vips {
    std::set<IPAddr> all;
    std::map<IPAddr, std::vector<ObjectRef>> mine;
    // Every VIP's election result (owner, Services, interfaces), for MetalLB's ServiceL2Status.
    std::vector<Ownership> owners;
  };
  std::optional<Vips> KnownVips() const;
  // How often each VIP's owner moved since this agent started (or the VIP appeared), by VIP.
  std::map<std::string, uint64_t> OwnerMoves() const;

 private:
  void OpenSocket();
  void Tick();
  void CheckTick();
  void StartReceiving();
  void Receive();
  void OnDatagram(size_t n);
  void SendHeartbeats(bool available);
  void SendHeartbeatTo(const std::string& name, const std::vector<IPAddr>& addrs, bool available);
  // Recomputes owners when the plan or the healthy set changed; `cause` names what changed.
  void Reevaluate(const std::string& cause);
  void Announce(const IPAddr& vip, const std::vector<std::string>& interfaces, size_t round,
                uint64_t generation);
  bool SelfAvailable() const;
  void OnClaim(uint32_t ifindex, const ArpClaim& claim);

  SpeakerOptions opts_;
  std::unique_ptr<dataplane::MapOps> ops_;
  std::function<void(const ObjectEvent&)> emit_;
  boost::asio::io_context io_;
  std::thread thread_;
  boost::asio::steady_timer tick_, check_;
  boost::asio::ip::udp::socket sock_;
  boost::asio::ip::udp::endpoint from_;
  std::array<uint8_t, 512> buf_{};
  std::map<std::string, uint32_t> ifindex_;
  std::map<uint32_t, Mac> macs_;
  std::map<uint32_t, bool> carrier_;
  std::unique_ptr<LinkWatch> links_;
  std::unique_ptr<ArpWatch> arp_watch_;
  std::set<IPAddr> mine_;                              // VIPs this node owns now
  std::set<std::pair<IPAddr, Mac>> conflicts_logged_;  // each (VIP, MAC) logged once
  std::unique_ptr<FrameSender> sender_;
  L2MapWriter writer_;
  std::vector<uint8_t> previous_key_;  // accepted on receipt for a while after a rotation
  Clock::time_point previous_key_until_;
  uint64_t boot_id_;  // before members_, which is built with it
  Membership members_;
  uint64_t seq_ = 0;
  bool stopping_ = false;
  bool receiving_ = false;
  bool evaluated_ = false;  // owners computed and written at least once

  mutable std::mutex mu_;  // guards what Status() reads from other threads
  Plan plan_;
  std::set<std::string> healthy_;
  std::vector<Ownership> owners_;
  std::map<IPAddr, OwnerRecord> records_;
  std::map<IPAddr, uint64_t> announce_gen_;
  Counters counters_;
};

}  // namespace ironlb::l2
