// BFD on UDP sockets (RFC 5881 single hop, IPv4 and IPv6) on the agent's io_context: one
// listener per family on port 3784, one sending socket per session, demultiplexing by
// discriminator.
#pragma once

#include <array>
#include <boost/asio.hpp>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>

#include "bgp/bfd_session.h"
#include "model/ip.h"

namespace ironlb::bgp::bfd {

struct LinkConfig {
  IPAddr peer;
  std::optional<IPAddr> local;  // source address; the kernel's route choice when unset
  SessionParams params;
  // No TTL setting: these sessions are single hop, where RFC 5881 section 5 accepts only TTL /
  // hop limit 255 (GTSM). A BFDProfile's minimumTtl is for multihop (RFC 5883), not built.
  bool operator==(const LinkConfig&) const = default;
};

class Transport;

// One BFD session on sockets: turns timer completions into session events and sends its packets.
class Link : public SessionIo {
 public:
  using OnChange = std::function<void(const StateChange&)>;
  Link(Transport& t, LinkConfig cfg, uint32_t discriminator, OnChange on_change);
  ~Link() override;

  const LinkConfig& config() const { return cfg_; }
  // Same peer and source: new timers through a Poll Sequence, the session stays.
  void Reconfigure(const LinkConfig& cfg);
  const Session& session() const { return session_; }
  Session& session() { return session_; }
  nlohmann::json Status() const;

  // SessionIo
  void Send(std::vector<uint8_t> packet) override;
  void ArmTimer(Timer t, Micros after) override;
  void CancelTimer(Timer t) override;
  std::chrono::steady_clock::time_point Now() override { return std::chrono::steady_clock::now(); }
  double Random() override;
  void OnStateChange(const StateChange& c) override;

 private:
  void OpenSocket();

  Transport& transport_;
  LinkConfig cfg_;
  OnChange on_change_;
  boost::asio::ip::udp::socket sock_;
  uint16_t source_port_ = 0;
  std::string error_;
  std::array<std::unique_ptr<boost::asio::steady_timer>, 2> timers_;
  std::array<uint64_t, 2> timer_generation_{};  // a stale completion must not fire a re-armed timer
  Session session_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

class Transport {
 public:
  struct Ports {
    uint16_t listen = kControlPort;  // tests use other ports to run two ends in one namespace
    uint16_t peer = kControlPort;
  };
  explicit Transport(boost::asio::io_context& io) : Transport(io, Ports{}) {}
  Transport(boost::asio::io_context& io, Ports ports);
  ~Transport();

  // Starts a session to cfg.peer; `on_change` sees every state change.
  Link* Add(const LinkConfig& cfg, Link::OnChange on_change);
  // Tells the peer AdminDown for one detection time (RFC 5880 section 6.8.16), then forgets
  // the session. The pointer is invalid once this returns.
  void Remove(Link* link);
  nlohmann::json Status() const;  // listener errors and drop counters
  uint64_t drops(DropReason r) const { return drops_[static_cast<size_t>(r)]; }

  // A received datagram: demultiplexed to its session (RFC 5880 section 6.8.6, RFC 5881
  // section 5). Public so tests can feed crafted packets; `ttl` < 0 when the kernel gave none.
  DropReason Dispatch(ByteSpan payload, const IPAddr& from, int ttl);

 private:
  friend class Link;
  void OpenListeners();
  void ReadLoop(boost::asio::ip::udp::socket& s);
  void Drain(boost::asio::ip::udp::socket& s);

  boost::asio::io_context& io_;
  Ports ports_;
  std::mt19937 rng_;
  std::map<uint32_t, std::unique_ptr<Link>> links_;     // by local discriminator
  std::map<uint32_t, std::unique_ptr<Link>> retiring_;  // removed, still saying AdminDown
  std::unique_ptr<boost::asio::ip::udp::socket> rx4_, rx6_;
  std::string listen_error_;
  std::array<uint64_t, static_cast<size_t>(DropReason::kCount)> drops_{};
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ironlb::bgp::bfd
