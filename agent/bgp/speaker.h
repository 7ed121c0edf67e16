// The BGP speaker of one node: keeps one Session per BGPPeer selected for the node, feeds
// them the routes ComputeAnnouncements derives, accepts passive connections, shuts down cleanly.
#pragma once

#include <boost/asio.hpp>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "bgp/announcements.h"
#include "bgp/bfd_transport.h"
#include "bgp/session.h"
#include "model/model.h"

namespace ironlb::bgp {

// What the speaker should be doing, as a pure function of the model: made where the model lives
// (the agent's event loop), applied where the sessions live (see Speaker::Apply).
struct SpeakerPlan {
  // Immutable once made, so the thread that made it and the sessions' thread may both read it.
  std::shared_ptr<const Announcements> announcements = std::make_shared<const Announcements>();
  std::map<std::string, SessionConfig> sessions;  // by BGPPeer name, peers with a usable config
  std::map<std::string, std::optional<bfd::LinkConfig>> bfd;  // same keys
};

// Makes the session for a peer. The default makes a real `Session` on the speaker's io_context.
using SessionFactory = std::function<std::unique_ptr<PeerSession>(const SessionConfig&)>;

struct SpeakerOptions {
  SessionFactory sessions;  // empty: real sessions
  bool listen = true;       // accept peers' connections on port 179
};

// Single-threaded: everything runs on the io_context given (the agent gives it one of its own).
class Speaker {
 public:
  Speaker(boost::asio::io_context& io, std::string node_name, SpeakerOptions opts = {});
  ~Speaker();

  static SpeakerPlan Plan(const Model& model, const std::string& node);
  // Level-triggered: reconciles sessions and routes with the plan. Route changes never reset a
  // session; only a change of the peer's connection parameters does.
  void Apply(SpeakerPlan plan);
  void Apply(const Model& model) { Apply(Plan(model, node_)); }
  nlohmann::json Status() const;
  // What the last Apply decided to announce to each peer (whether or not its session is up).
  const Announcements& announcements() const { return *announced_; }
  // Cease/Administrative Shutdown to every peer (graceful-restart peers: a close that keeps the
  // routes, RFC 4724), then `done` once sent (or after a bound).
  void Shutdown(std::function<void()> done);

  // Builds a session's configuration from a BGPPeer (exposed for tests).
  static std::optional<SessionConfig> SessionConfigFor(const BGPPeer& p, const Model& model,
                                                       const std::string& node);
  // The BFD session for a peer with a bfdProfile (exposed for tests).
  static std::optional<bfd::LinkConfig> BfdConfigFor(const BGPPeer& p, const Config& cfg,
                                                     const SessionConfig& session);

 private:
  void Listen();
  void Accept(boost::asio::ip::tcp::acceptor& a);
  void UpdateMd5Keys();
  // Starts, retunes or stops the peer's BFD session to match its profile.
  void ApplyBfd(const std::string& name, std::optional<bfd::LinkConfig> want);
  void OnBfdChange(const std::string& name, const bfd::StateChange& c);

  boost::asio::io_context& io_;
  std::string node_;
  SpeakerOptions opts_;
  std::map<std::string, std::unique_ptr<PeerSession>> sessions_;
  // Declared after sessions_ so it goes first: its callbacks reach into sessions_.
  std::unique_ptr<bfd::Transport> bfd_;
  std::map<std::string, bfd::Link*> bfd_links_;  // by BGPPeer name, owned by bfd_
  std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor4_, acceptor6_;
  std::string listen_error_;
  std::shared_ptr<const Announcements> announced_ = std::make_shared<const Announcements>();
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  bool shutting_down_ = false;
};

}  // namespace ironlb::bgp
