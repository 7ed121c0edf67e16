// The Asio side of a session holds no protocol logic: completions become FSM events, the
// FSM's requests become socket and timer operations. Connections are reference-counted so
// a NOTIFICATION queued before a close is still flushed after the FSM has moved on.
#include "bgp/session.h"

#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cstring>

#include "bgp/asio_address.h"
#include "bgp/codec_constants.h"
#include "runtime/log.h"

namespace ironlb::bgp {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// RFC 4271 / common practice: directly connected eBGP uses TTL 1; multihop and iBGP 255.
constexpr int kTtlDirect = 1;
constexpr int kTtlMultihop = 255;
constexpr uint32_t kDefaultIbgpLocalPref = 100;  // RFC 4277 / de-facto default

}  // namespace

void Session::PopFront(Conn& c) {
  if (c.out.empty()) return;
  c.queued_bytes -= c.out.front().size();
  c.out.pop_front();
}

int SetTcpMd5(int fd, const IPAddr& peer, const std::string& key) {
  struct tcp_md5sig sig;
  std::memset(&sig, 0, sizeof sig);
  auto b = peer.bytes();
  if (peer.is_v4()) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&sig.tcpm_addr);
    sin->sin_family = AF_INET;
    std::memcpy(&sin->sin_addr, b.data(), 4);
  } else {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&sig.tcpm_addr);
    sin6->sin6_family = AF_INET6;
    std::memcpy(&sin6->sin6_addr, b.data(), 16);
  }
  const size_t len = std::min<size_t>(key.size(), TCP_MD5SIG_MAXKEYLEN);
  sig.tcpm_keylen = static_cast<uint16_t>(len);
  std::memcpy(sig.tcpm_key, key.data(), len);
  if (setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &sig, sizeof sig) != 0) return errno;
  return 0;
}

Session::Session(asio::io_context& io, SessionConfig cfg)
    : io_(io), cfg_(std::move(cfg)), fsm_(cfg_.fsm, *this), rng_(std::random_device{}()) {
  for (auto& t : timers_) t = std::make_unique<asio::steady_timer>(io_);
}

Session::~Session() {
  *alive_ = false;
  for (auto& t : timers_) t->cancel();
  if (conn_) CloseNow(conn_);
  if (pending_connect_) pending_connect_->sock.close();
}

void Session::Start() {
  fsm_.Handle(Event::kStart);
}
void Session::Stop(bool for_restart) {
  EventData d;
  d.for_restart = for_restart;
  fsm_.Handle(Event::kStop, d);
}

void Session::SetBfdDown(const std::string& reason) {
  EventData d;
  d.reason = reason;
  fsm_.Handle(Event::kBfdDown, d);
}

bool Session::Flushed() const {
  return !conn_ || (conn_->out.empty() && !conn_->writing);
}

void Session::ConfigureSocket(tcp::socket& s) {
  const int fd = s.native_handle();
  const bool ebgp = !(cfg_.fsm.peer_asn == cfg_.fsm.local_asn && cfg_.fsm.peer_asn != 0) &&
                    cfg_.fsm.dynamic_asn != "internal";
  const int ttl = (ebgp && !cfg_.ebgp_multihop) ? kTtlDirect : kTtlMultihop;
  if (cfg_.peer_address.is_v4())
    setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof ttl);
  else
    setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &ttl, sizeof ttl);
  if (!cfg_.password.empty()) SetTcpMd5(fd, cfg_.peer_address, cfg_.password);
  s.set_option(tcp::no_delay(true));
}

void Session::Connect() {
  auto c = std::make_shared<Conn>(io_);
  boost::system::error_code ec;
  c->sock.open(cfg_.peer_address.is_v4() ? tcp::v4() : tcp::v6(), ec);
  if (ec) return;
  ConfigureSocket(c->sock);
  if (cfg_.source_address) c->sock.bind(tcp::endpoint(ToAsio(*cfg_.source_address), 0), ec);
  pending_connect_ = c;
  std::weak_ptr<bool> alive = alive_;
  c->sock.async_connect(tcp::endpoint(ToAsio(cfg_.peer_address), cfg_.peer_port),
                        [this, alive, c](const boost::system::error_code& ec) {
                          if (alive.expired() || pending_connect_ != c) return;
                          pending_connect_.reset();
                          if (ec) {
                            EventData d;
                            d.reason = "connect: " + ec.message();
                            fsm_.Handle(Event::kTcpConnectionFails, d);
                            return;
                          }
                          conn_ = c;
                          boost::system::error_code lec;
                          local_address_ = FromAsio(c->sock.local_endpoint(lec).address());
                          fsm_.Handle(Event::kTcpCrAcked);
                          if (conn_ == c) StartRead(c);
                        });
}

void Session::CloseConnection() {
  if (pending_connect_) {
    boost::system::error_code ec;
    pending_connect_->sock.close(ec);
    pending_connect_.reset();
  }
  if (!conn_) return;
  auto c = std::move(conn_);
  conn_.reset();
  c->closing = true;
  if (c->overflowed || !c->writing) return CloseNow(c);
  // The last messages (the NOTIFICATION) get a bounded time to leave; a peer that does not
  // read them must not keep the connection and its queue alive.
  c->drain_deadline.expires_after(kDrainTimeout);
  c->drain_deadline.async_wait([c](const boost::system::error_code& ec) {
    if (!ec) CloseNow(c);
  });
}

// Drops whatever is still queued and closes: a pending write completes with operation_aborted.
void Session::CloseNow(const std::shared_ptr<Conn>& c) {
  const bool was_large = c->queued_bytes > kMaxSendQueueBytes / 4;
  // A write in flight still points at the front message until its handler runs.
  const size_t keep = c->writing && !c->out.empty() ? 1 : 0;
  c->out.erase(c->out.begin() + static_cast<std::ptrdiff_t>(keep), c->out.end());
  c->queued_bytes = keep ? c->out.front().size() : 0;
  c->drain_deadline.cancel();
  boost::system::error_code ec;
  c->sock.shutdown(tcp::socket::shutdown_both, ec);
  c->sock.close(ec);
  // The queue was many small UPDATEs from the heap; give the pages back rather than keep the
  // peak for the life of the process.
  if (was_large) malloc_trim(0);
}

void Session::Offer(tcp::socket s) {
  offered_.emplace(std::move(s));
  fsm_.Handle(Event::kTcpConnectionConfirmed);
  if (offered_) {  // neither adopted nor rejected explicitly
    boost::system::error_code ec;
    offered_->close(ec);
    offered_.reset();
  }
}

void Session::AdoptIncoming() {
  if (!offered_) return;
  CloseConnection();
  auto c = std::make_shared<Conn>(io_);
  c->sock = std::move(*offered_);
  offered_.reset();
  ConfigureSocket(c->sock);
  boost::system::error_code ec;
  local_address_ = FromAsio(c->sock.local_endpoint(ec).address());
  conn_ = c;
  // Reading starts once the FSM has sent its OPEN (same turn of the event loop).
  asio::post(io_, [this, alive = std::weak_ptr<bool>(alive_), c] {
    if (!alive.expired() && conn_ == c) StartRead(c);
  });
}

void Session::RejectIncoming() {
  if (!offered_) return;
  boost::system::error_code ec;
  offered_->close(ec);
  offered_.reset();
}

void Session::Send(Bytes message) {
  if (!conn_ || conn_->overflowed) return;
  if (conn_->queued_bytes + message.size() > kMaxSendQueueBytes)
    return Overflowed(conn_, message.size());
  conn_->queued_bytes += message.size();
  conn_->out.push_back(std::move(message));
  Flush(conn_);
}

// Called from inside an FSM action (a ROUTE-REFRESH answered, an UPDATE batch), so the
// connection failure is handed to the FSM on the next turn of the loop, not re-entered here.
void Session::Overflowed(const std::shared_ptr<Conn>& c, size_t adding) {
  c->overflowed = true;
  ++send_queue_overflows_;
  const std::string reason = "send queue over " + std::to_string(kMaxSendQueueBytes >> 20) +
                             " MiB (" + std::to_string(c->queued_bytes + adding) +
                             " bytes pending): the peer is not reading";
  log::Warn("bgp", "peer " + cfg_.name + " (" + cfg_.peer_address.str() + "): " + reason +
                       "; closing the session");
  asio::post(io_, [this, alive = std::weak_ptr<bool>(alive_), c, reason] {
    if (!alive.expired()) Lost(c, reason);
  });
}

// Finishes a closed connection's queued writes (the NOTIFICATION), then closes it. Touches
// only the connection: the Session may already be gone.
void Session::DrainAndClose(std::shared_ptr<Conn> c, const boost::system::error_code& ec) {
  if (!ec && !c->out.empty()) {
    c->writing = true;
    asio::async_write(c->sock, asio::buffer(c->out.front()),
                      [c](const boost::system::error_code& ec2, size_t) {
                        c->writing = false;
                        PopFront(*c);
                        DrainAndClose(c, ec2);
                      });
    return;
  }
  CloseNow(c);
}

void Session::Flush(std::shared_ptr<Conn> c) {
  if (c->writing || c->out.empty()) return;
  c->writing = true;
  std::weak_ptr<bool> alive = alive_;
  asio::async_write(c->sock, asio::buffer(c->out.front()),
                    [this, alive, c](const boost::system::error_code& ec, size_t) {
                      c->writing = false;
                      PopFront(*c);
                      if (c->closing) return DrainAndClose(c, ec);
                      if (alive.expired()) return;
                      if (ec) return Lost(c, "write: " + ec.message());
                      Flush(c);
                    });
}

void Session::StartRead(std::shared_ptr<Conn> c) {
  std::weak_ptr<bool> alive = alive_;
  asio::async_read(c->sock, asio::buffer(c->buf.data(), kHeaderLength),
                   [this, alive, c](const boost::system::error_code& ec, size_t) {
                     if (alive.expired() || conn_ != c) return;
                     if (ec)
                       return Lost(c, ec == asio::error::eof ? "peer closed the connection"
                                                             : "read: " + ec.message());
                     auto h = DecodeHeader(ByteSpan(c->buf.data(), kHeaderLength));
                     if (!h) {
                       fsm_.Receive(ByteSpan(c->buf.data(), kHeaderLength));
                       return;
                     }
                     ReadBody(c, h->length);
                   });
}

void Session::ReadBody(std::shared_ptr<Conn> c, size_t length) {
  std::weak_ptr<bool> alive = alive_;
  asio::async_read(c->sock, asio::buffer(c->buf.data() + kHeaderLength, length - kHeaderLength),
                   [this, alive, c, length](const boost::system::error_code& ec, size_t) {
                     if (alive.expired() || conn_ != c) return;
                     if (ec) return Lost(c, "read: " + ec.message());
                     fsm_.Receive(ByteSpan(c->buf.data(), length));
                     if (conn_ == c) StartRead(c);
                   });
}

void Session::Lost(const std::shared_ptr<Conn>& c, const std::string& reason) {
  if (conn_ != c) return;
  EventData d;
  d.reason = reason;
  fsm_.Handle(Event::kTcpConnectionFails, d);
}

void Session::ArmTimer(Timer t, Millis after) {
  auto& timer = *timers_[static_cast<size_t>(t)];
  timer.expires_after(after);
  const uint64_t gen = ++timer_gen_[static_cast<size_t>(t)];
  std::weak_ptr<bool> alive = alive_;
  timer.async_wait([this, alive, t, gen](const boost::system::error_code& ec) {
    if (ec || alive.expired()) return;
    // A completion already queued when the timer was re-armed or cancelled (it expired while
    // the loop was busy, and the message that re-arms it was read in the same turn) is stale:
    // the hold timer must not fire on a KEEPALIVE that did arrive in time.
    if (gen != timer_gen_[static_cast<size_t>(t)]) return;
    switch (t) {
      case Timer::kConnectRetry: fsm_.Handle(Event::kConnectRetryTimerExpires); break;
      case Timer::kHold: fsm_.Handle(Event::kHoldTimerExpires); break;
      case Timer::kKeepalive: fsm_.Handle(Event::kKeepaliveTimerExpires); break;
    }
  });
}

void Session::CancelTimer(Timer t) {
  ++timer_gen_[static_cast<size_t>(t)];
  timers_[static_cast<size_t>(t)]->cancel();
}

double Session::Jitter() {
  return std::uniform_real_distribution<double>(0.75, 1.0)(rng_);
}

void Session::OnEstablished(const Negotiated& neg) {
  log::Info("bgp", "peer " + cfg_.name + " (" + cfg_.peer_address.str() + ", AS " +
                       std::to_string(neg.peer_asn) + "): Established, hold time " +
                       std::to_string(neg.hold_time_s) + " s, announcing " +
                       std::to_string(desired_.size()) + " prefixes");
  sent_.clear();
  SyncRoutes(true);
}

void Session::OnDown(const std::string& reason) {
  // Routers withdraw what they learned from us; say so where operators look first.
  log::Warn("bgp", "peer " + cfg_.name + " (" + cfg_.peer_address.str() + "): session down (" +
                       reason + "), " + std::to_string(sent_.size()) + " prefixes withdrawn");
  sent_.clear();
}

void Session::OnRouteRefresh(const RouteRefresh&) {
  // RFC 2918: re-advertise the whole Adj-RIB-Out.
  sent_.clear();
  SyncRoutes(true);
}

void Session::SetRoutes(const PeerRoutes& routes) {
  // Every pass hands the whole RIB-out: unchanged (the common case) costs one comparison.
  if (routes == desired_) return;
  desired_ = routes;
  if (fsm_.state() == State::kEstablished) SyncRoutes(false);
}

PathAttributes Session::AttributesFor(const RouteAttrs& r) const {
  const Negotiated& neg = fsm_.negotiated();
  PathAttributes a;
  a.origin = Origin::kIgp;
  a.as_path = AsPath{};
  if (!neg.ibgp) a.as_path->push_back({as_segment::kAsSequence, {cfg_.fsm.local_asn}});
  if (neg.ibgp) a.local_pref = r.local_pref ? r.local_pref : kDefaultIbgpLocalPref;
  a.communities.assign(r.communities.begin(), r.communities.end());
  a.large_communities.assign(r.large_communities.begin(), r.large_communities.end());
  return a;
}

void Session::SyncRoutes(bool full) {
  const Negotiated& neg = fsm_.negotiated();
  if (!local_address_) return;
  // Only prefixes of the session's own family: the next hop is our address on it.
  const bool v4_session = local_address_->is_v4();
  std::map<RouteAttrs, std::vector<IPPrefix>> announce;
  std::vector<IPPrefix> withdraw;
  for (const auto& [p, r] : sent_)
    if (!desired_.count(p)) withdraw.push_back(p);
  for (const auto& [p, r] : desired_) {
    if (p.addr.is_v4() != v4_session) continue;
    if (p.addr.is_v4() ? !neg.ipv4_unicast : !neg.ipv6_unicast) continue;
    auto it = sent_.find(p);
    if (it == sent_.end() || it->second != r) announce[r].push_back(p);
  }
  auto send_all = [&](std::vector<Bytes> msgs) {
    for (auto& m : msgs) {
      Send(std::move(m));
      ++updates_sent_;
    }
  };
  send_all(PackWithdrawals(withdraw, neg));
  for (const IPPrefix& p : withdraw) sent_.erase(p);
  for (const auto& [r, prefixes] : announce) {
    send_all(PackAnnouncements(AttributesFor(r), {*local_address_}, prefixes, neg));
    for (const IPPrefix& p : prefixes) sent_[p] = r;
  }
  if (full) {
    // RFC 4724: End-of-RIB after the initial table.
    if (neg.ipv4_unicast) Send(EncodeEndOfRib({kAfiIpv4, kSafiUnicast}, neg));
    if (neg.ipv6_unicast) Send(EncodeEndOfRib({kAfiIpv6, kSafiUnicast}, neg));
  }
}

nlohmann::json Session::Status() const {
  nlohmann::json j;
  j["name"] = cfg_.name;
  j["peer_address"] = cfg_.peer_address.str();
  j["peer_port"] = cfg_.peer_port;
  j["local_asn"] = cfg_.fsm.local_asn;
  j["peer_asn"] =
      fsm_.state() == State::kEstablished ? fsm_.negotiated().peer_asn : cfg_.fsm.peer_asn;
  j["state"] = StateName(fsm_.state());
  j["uptime_s"] = 0;
  if (auto since = fsm_.established_since())
    j["uptime_s"] =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - *since)
            .count();
  j["prefixes_sent"] = sent_.size();
  j["prefixes_desired"] = desired_.size();
  j["updates_sent"] = updates_sent_;
  j["send_queue_bytes"] = conn_ ? conn_->queued_bytes : 0;
  j["send_queue_overflows"] = send_queue_overflows_;
  j["hold_time_s"] = fsm_.negotiated().hold_time_s;
  j["keepalive_s"] = fsm_.keepalive_interval_s();
  j["last_error"] = fsm_.last_error();
  j["local_address"] = local_address_ ? local_address_->str() : "";
  return j;
}

}  // namespace ironlb::bgp
