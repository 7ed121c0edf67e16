// One BGP session on Boost.Asio: turns socket and timer completions into FSM events and
// keeps the peer's RIB-out, sending only the difference when the desired routes change.
#pragma once

#include <array>
#include <boost/asio.hpp>
#include <chrono>
#include <deque>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "bgp/announcements.h"
#include "bgp/fsm.h"

namespace ironlb::bgp {

struct SessionConfig {
  std::string name;  // BGPPeer name
  IPAddr peer_address;
  uint16_t peer_port = kBgpPort;
  std::optional<IPAddr> source_address;
  std::string password;  // TCP MD5 (RFC 2385) when non-empty
  bool ebgp_multihop = false;
  FsmConfig fsm;
  // Defaulted: any field that differs restarts the session with the new configuration (a
  // hand-written comparison once left out graceful restart and the connect timers).
  bool operator==(const SessionConfig&) const = default;
};

// Sets TCP_MD5SIG for `peer` on socket `fd` (empty key removes it). Returns errno or 0.
int SetTcpMd5(int fd, const IPAddr& peer, const std::string& key);

// Bytes queued for one connection beyond what the kernel's socket buffer holds. A full table of
// 10,000 prefixes is about 300 KB of UPDATEs; a peer that lets 16 MiB pile up is not reading
// (BIRD likewise closes a session it cannot write to), so the session is closed instead.
inline constexpr size_t kMaxSendQueueBytes = 16u << 20;
// How long a closed connection may take to flush its last messages (the NOTIFICATION).
inline constexpr std::chrono::seconds kDrainTimeout{3};

// What the speaker asks of one peer's session. `Session` is the real one; the speaker makes its
// sessions through a SessionFactory so its reconcile can be tested with no socket or timer.
class PeerSession {
 public:
  virtual ~PeerSession() = default;
  virtual void Start() = 0;
  // Sends Cease/Administrative Shutdown when up and stops for good. With `for_restart` and
  // graceful restart negotiated, closes without it so the peer keeps the routes (RFC 4724).
  virtual void Stop(bool for_restart) = 0;
  // An accepted connection from this peer's address.
  virtual void Offer(boost::asio::ip::tcp::socket s) = 0;
  virtual void SetRoutes(const PeerRoutes& routes) = 0;
  virtual void SetBfdDown(const std::string& reason) = 0;
  virtual const SessionConfig& config() const = 0;
  virtual bool Flushed() const = 0;  // no connection with unsent data
  virtual nlohmann::json Status() const = 0;
};

class Session : public FsmIo, public PeerSession {
 public:
  Session(boost::asio::io_context& io, SessionConfig cfg);
  ~Session() override;

  void Start() override;
  void Stop(bool for_restart) override;
  void Offer(boost::asio::ip::tcp::socket s) override;
  void SetRoutes(const PeerRoutes& routes) override;
  void SetBfdDown(const std::string& reason) override;

  const SessionConfig& config() const override { return cfg_; }
  State state() const { return fsm_.state(); }
  bool Flushed() const override;
  nlohmann::json Status() const override;

  // FsmIo
  void Connect() override;
  void CloseConnection() override;
  void AdoptIncoming() override;
  void RejectIncoming() override;
  void Send(Bytes message) override;
  void ArmTimer(Timer t, Millis after) override;
  void CancelTimer(Timer t) override;
  std::chrono::steady_clock::time_point Now() override { return std::chrono::steady_clock::now(); }
  double Jitter() override;
  void OnEstablished(const Negotiated& neg) override;
  void OnDown(const std::string& reason) override;
  void OnRouteRefresh(const RouteRefresh& rr) override;

 private:
  struct Conn {
    explicit Conn(boost::asio::io_context& io) : sock(io), drain_deadline(io) {}
    boost::asio::ip::tcp::socket sock;
    std::deque<Bytes> out;
    size_t queued_bytes = 0;  // sum of `out`
    bool writing = false;
    bool closing = false;
    bool overflowed = false;  // the peer stopped reading; nothing more is queued
    boost::asio::steady_timer drain_deadline;
    std::array<uint8_t, kMaxMessageLength> buf{};
  };
  void ConfigureSocket(boost::asio::ip::tcp::socket& s);
  void StartRead(std::shared_ptr<Conn> c);
  void ReadBody(std::shared_ptr<Conn> c, size_t length);
  void Flush(std::shared_ptr<Conn> c);
  static void DrainAndClose(std::shared_ptr<Conn> c, const boost::system::error_code& ec);
  static void CloseNow(const std::shared_ptr<Conn>& c);
  static void PopFront(Conn& c);
  void Overflowed(const std::shared_ptr<Conn>& c, size_t adding);
  void Lost(const std::shared_ptr<Conn>& c, const std::string& reason);
  void SyncRoutes(bool full);
  PathAttributes AttributesFor(const RouteAttrs& r) const;

  boost::asio::io_context& io_;
  SessionConfig cfg_;
  Fsm fsm_;
  std::shared_ptr<Conn> conn_;
  std::shared_ptr<Conn> pending_connect_;
  std::optional<boost::asio::ip::tcp::socket> offered_;
  std::array<std::unique_ptr<boost::asio::steady_timer>, 3> timers_;
  std::array<uint64_t, 3> timer_gen_{};  // bumped on arm and cancel: older completions are stale
  std::mt19937 rng_;
  PeerRoutes desired_;
  PeerRoutes sent_;  // what the peer holds from us
  std::optional<IPAddr> local_address_;
  uint64_t updates_sent_ = 0;
  uint64_t send_queue_overflows_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ironlb::bgp
