#include "bgp/speaker.h"

#include <algorithm>
#include <chrono>
#include <functional>

#include "bgp/asio_address.h"
#include "runtime/log.h"

namespace ironlb::bgp {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

constexpr auto kDefaultHoldTime = std::chrono::seconds(90);
constexpr auto kDefaultConnectRetry = std::chrono::seconds(5);
constexpr uint16_t kGracefulRestartTime = 120;  // seconds, RFC 4724 suggests <= hold time
constexpr auto kShutdownPoll = std::chrono::milliseconds(10);
constexpr int kShutdownMaxPolls = 200;  // 2 s bound on flushing the NOTIFICATIONs

// Waits for the NOTIFICATIONs to leave the sockets, bounded. Only the pending timer handler
// holds the state, so nothing is left behind (or leaked) when the io_context stops first.
struct ShutdownWait {
  ShutdownWait(asio::io_context& io, std::function<bool()> f, std::function<void()> d)
      : timer(io), flushed(std::move(f)), done(std::move(d)) {}
  asio::steady_timer timer;
  int polls = 0;
  std::function<bool()> flushed;
  std::function<void()> done;
};

void PollShutdown(std::shared_ptr<ShutdownWait> w) {
  if (w->flushed() || ++w->polls > kShutdownMaxPolls) {
    w->done();
    return;
  }
  asio::steady_timer& t = w->timer;
  t.expires_after(kShutdownPoll);
  t.async_wait(
      [w = std::move(w)](const boost::system::error_code&) mutable { PollShutdown(std::move(w)); });
}

std::optional<uint32_t> V4Host(const std::string& s) {
  auto a = IPAddr::Parse(s);
  if (!a || !a->is_v4()) return std::nullopt;
  return static_cast<uint32_t>(a->value());
}

}  // namespace

Speaker::Speaker(asio::io_context& io, std::string node_name, SpeakerOptions opts)
    : io_(io), node_(std::move(node_name)), opts_(std::move(opts)) {
  if (!opts_.sessions)
    opts_.sessions = [this](const SessionConfig& c) { return std::make_unique<Session>(io_, c); };
}

Speaker::~Speaker() {
  *alive_ = false;
}

std::optional<SessionConfig> Speaker::SessionConfigFor(const BGPPeer& p, const Model& model,
                                                       const std::string& node) {
  SessionConfig c;
  c.name = p.meta.name;
  auto addr = p.address ? p.address : IPAddr::Parse(p.peer_address);
  if (!addr) return std::nullopt;
  c.peer_address = *addr;
  c.peer_port = p.peer_port ? p.peer_port : kBgpPort;
  if (!p.source_address.empty()) c.source_address = IPAddr::Parse(p.source_address);
  c.password = p.resolved_password.empty() ? p.password : p.resolved_password;
  c.ebgp_multihop = p.ebgp_multihop;
  FsmConfig& f = c.fsm;
  f.local_asn = p.my_asn;
  f.peer_asn = p.peer_asn;
  f.dynamic_asn = p.dynamic_asn;
  // Router ID: configured, else the node's IPv4 InternalIP, else the source address.
  std::optional<uint32_t> rid = V4Host(p.router_id);
  if (const Node* n = model.FindNode(node); n && !rid) {
    for (const NodeAddress& a : n->addresses)
      if (!rid && a.type == "InternalIP") rid = V4Host(a.address);
  }
  if (!rid && c.source_address && c.source_address->is_v4())
    rid = static_cast<uint32_t>(c.source_address->value());
  f.router_id = rid.value_or(1);
  const auto hold =
      std::chrono::duration_cast<std::chrono::seconds>(p.hold_time.value_or(kDefaultHoldTime));
  f.hold_time_s = static_cast<uint16_t>(hold.count());
  if (p.keepalive_time)
    f.keepalive_s = static_cast<uint16_t>(
        std::chrono::duration_cast<std::chrono::seconds>(*p.keepalive_time).count());
  f.connect_retry = p.connect_time.value_or(Millis(kDefaultConnectRetry));
  const bool dual = p.dual_stack_address_family;
  f.ipv4_unicast = addr->is_v4() || dual;
  f.ipv6_unicast = addr->is_v6() || dual;
  if (p.enable_graceful_restart) {
    GracefulRestart gr;
    gr.restart_time_s = kGracefulRestartTime;
    if (f.ipv4_unicast) gr.families.push_back({{kAfiIpv4, kSafiUnicast}, true});
    if (f.ipv6_unicast) gr.families.push_back({{kAfiIpv6, kSafiUnicast}, true});
    f.graceful_restart = gr;
  }
  return c;
}

std::optional<bfd::LinkConfig> Speaker::BfdConfigFor(const BGPPeer& p, const Config& cfg,
                                                     const SessionConfig& session) {
  if (p.bfd_profile.empty()) return std::nullopt;
  auto it = cfg.bfd_profiles.find(p.bfd_profile);
  if (it == cfg.bfd_profiles.end()) return std::nullopt;
  const BFDProfile& prof = it->second;
  bfd::LinkConfig l;
  l.peer = session.peer_address;
  l.local = session.source_address;
  l.params.desired_min_tx = std::chrono::milliseconds(prof.transmit_interval_ms);
  l.params.required_min_rx = std::chrono::milliseconds(prof.receive_interval_ms);
  l.params.detect_mult = static_cast<uint8_t>(prof.detect_multiplier);
  l.params.passive = prof.passive_mode;
  // Echo mode (echo_interval_ms, echo_mode) is not implemented: control packets only.
  // minimumTtl is multihop's (RFC 5883); single hop requires 255 whatever it says.
  return l;
}

void Speaker::ApplyBfd(const std::string& name, std::optional<bfd::LinkConfig> want) {
  auto it = bfd_links_.find(name);
  if (it != bfd_links_.end()) {
    const bfd::LinkConfig& have = it->second->config();
    if (want && have.peer == want->peer && have.local == want->local) {
      it->second->Reconfigure(*want);  // profile edit: Poll Sequence, no reset of either session
      return;
    }
    bfd_->Remove(it->second);
    bfd_links_.erase(it);
  }
  if (!want) return;
  if (!bfd_) bfd_ = std::make_unique<bfd::Transport>(io_);
  bfd_links_[name] =
      bfd_->Add(*want, [this, name](const bfd::StateChange& c) { OnBfdChange(name, c); });
}

void Speaker::OnBfdChange(const std::string& name, const bfd::StateChange& c) {
  const std::string what =
      std::string("peer ") + name + ": BFD " + bfd::StateName(c.from) + " -> " +
      bfd::StateName(c.to) +
      (c.diag == bfd::Diag::kNoDiagnostic ? std::string()
                                          : std::string(" (") + bfd::DiagName(c.diag) + ")");
  if (c.to == bfd::SessionState::kUp || c.to == bfd::SessionState::kAdminDown ||
      c.from != bfd::SessionState::kUp)
    log::Info("bgp", what);
  else
    log::Warn("bgp", what);
  // RFC 5882 sections 3.2 and 10.2: Up -> Down takes the BGP session down at once, unless the
  // peer only went AdminDown (its BFD was switched off, the path may be fine).
  if (c.from != bfd::SessionState::kUp || c.to != bfd::SessionState::kDown || c.remote_admin_down)
    return;
  auto it = sessions_.find(name);
  if (it == sessions_.end()) return;
  it->second->SetBfdDown(std::string("BFD session down: ") + bfd::DiagName(c.diag));
}

SpeakerPlan Speaker::Plan(const Model& model, const std::string& node) {
  SpeakerPlan plan;
  auto ann = std::make_shared<Announcements>(ComputeAnnouncements(model, node));
  const Config& cfg = model.cfg();
  for (const auto& [name, routes] : ann->by_peer) {
    auto sc = SessionConfigFor(cfg.peers.at(name), model, node);
    if (!sc) continue;
    plan.bfd[name] = BfdConfigFor(cfg.peers.at(name), cfg, *sc);
    plan.sessions.emplace(name, std::move(*sc));
  }
  plan.announcements = std::move(ann);
  return plan;
}

void Speaker::Apply(SpeakerPlan plan) {
  if (shutting_down_) return;
  const Announcements& ann = *plan.announcements;
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    if (!ann.by_peer.count(it->first)) {
      ApplyBfd(it->first, std::nullopt);
      it->second->Stop(/*for_restart=*/false);
      it = sessions_.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& [name, routes] : ann.by_peer) {
    auto sc = plan.sessions.find(name);
    if (sc == plan.sessions.end()) continue;
    auto it = sessions_.find(name);
    if (it != sessions_.end() && !(it->second->config() == sc->second)) {
      it->second->Stop(/*for_restart=*/false);
      sessions_.erase(it);
      it = sessions_.end();
    }
    if (it == sessions_.end()) {
      it = sessions_.emplace(name, opts_.sessions(sc->second)).first;
      it->second->SetRoutes(routes);
      it->second->Start();
    } else {
      it->second->SetRoutes(routes);
    }
    ApplyBfd(name, plan.bfd[name]);
  }
  // Shared, not copied: at 10,000 Services a RIB-out copy is thousands of allocations per pass.
  announced_ = std::move(plan.announcements);
  Listen();
  UpdateMd5Keys();
}

void Speaker::Listen() {
  if (!opts_.listen || sessions_.empty() || acceptor4_ || acceptor6_) return;
  auto open = [&](tcp proto) -> std::unique_ptr<tcp::acceptor> {
    auto a = std::make_unique<tcp::acceptor>(io_);
    boost::system::error_code ec;
    a->open(proto, ec);
    if (!ec && proto == tcp::v6()) a->set_option(asio::ip::v6_only(true), ec);
    if (!ec) a->set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) a->bind(tcp::endpoint(proto, kBgpPort), ec);
    if (!ec) a->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      listen_error_ = "listen on port 179: " + ec.message();
      return nullptr;
    }
    return a;
  };
  acceptor4_ = open(tcp::v4());
  acceptor6_ = open(tcp::v6());
  if (acceptor4_) Accept(*acceptor4_);
  if (acceptor6_) Accept(*acceptor6_);
}

void Speaker::UpdateMd5Keys() {
  for (auto& [name, s] : sessions_) {
    const auto& c = s->config();
    if (c.password.empty()) continue;
    auto& a = c.peer_address.is_v4() ? acceptor4_ : acceptor6_;
    if (a) SetTcpMd5(a->native_handle(), c.peer_address, c.password);
  }
}

void Speaker::Accept(tcp::acceptor& a) {
  std::weak_ptr<bool> alive = alive_;
  a.async_accept([this, alive, &a](const boost::system::error_code& ec, tcp::socket s) {
    if (alive.expired() || ec == asio::error::operation_aborted) return;
    if (!ec && !shutting_down_) {
      boost::system::error_code rec;
      const IPAddr remote = FromAsio(s.remote_endpoint(rec).address());
      PeerSession* match = nullptr;
      for (auto& [name, sess] : sessions_)
        if (sess->config().peer_address == remote) match = sess.get();
      if (match) match->Offer(std::move(s));
      // Unknown peers are refused by letting the socket close here.
    }
    Accept(a);
  });
}

nlohmann::json Speaker::Status() const {
  nlohmann::json j;
  j["node"] = node_;
  j["sessions"] = nlohmann::json::array();
  for (const auto& [name, s] : sessions_) {
    nlohmann::json sj = s->Status();
    auto b = bfd_links_.find(name);
    if (b != bfd_links_.end()) sj["bfd"] = b->second->Status();
    j["sessions"].push_back(std::move(sj));
  }
  if (!listen_error_.empty()) j["listen_error"] = listen_error_;
  if (bfd_) j["bfd"] = bfd_->Status();
  return j;
}

void Speaker::Shutdown(std::function<void()> done) {
  shutting_down_ = true;
  // A peer with enableGracefulRestart keeps our routes while the agent restarts (forwarding
  // goes on: XDP stays attached); every other peer gets a Cease and withdraws at once.
  for (auto& [name, s] : sessions_) s->Stop(/*for_restart=*/true);
  // BGP's Cease goes first; the AdminDown that follows tells the router's BFD not to fail
  // anything (RFC 5882 section 3.2).
  for (auto& [name, link] : bfd_links_) bfd_->Remove(link);
  bfd_links_.clear();
  std::weak_ptr<bool> alive = alive_;
  auto flushed = [this, alive] {
    if (alive.expired()) return true;
    for (auto& [name, s] : sessions_)
      if (!s->Flushed()) return false;
    return true;
  };
  auto finish = [this, alive, done = std::move(done)] {
    if (!alive.expired()) {
      boost::system::error_code ec;
      if (acceptor4_) acceptor4_->close(ec);
      if (acceptor6_) acceptor6_->close(ec);
    }
    done();
  };
  PollShutdown(std::make_shared<ShutdownWait>(io_, std::move(flushed), std::move(finish)));
}

}  // namespace ironlb::bgp
