// Receiving needs the TTL of each datagram (RFC 5881 section 5), which Asio's receive_from does
// not report, so the listeners wait for readability with Asio and read with recvmsg(2).
#include "bgp/bfd_transport.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>

#include "bgp/asio_address.h"

namespace ironlb::bgp::bfd {
namespace {

namespace asio = boost::asio;
using udp = asio::ip::udp;

constexpr int kSourcePortAttempts = 64;  // random picks before giving up on the range
constexpr size_t kReceiveBuffer = 256;   // a control packet is 24-100 bytes
constexpr size_t kControlBuffer = 128;   // room for one TTL / hop limit cmsg
constexpr double kMicrosPerMilli = 1000.0;

double Ms(Micros m) {
  return static_cast<double>(m.count()) / kMicrosPerMilli;
}

}  // namespace

// ---- Link ----

Link::Link(Transport& t, LinkConfig cfg, uint32_t discriminator, OnChange on_change)
    : transport_(t),
      cfg_(std::move(cfg)),
      on_change_(std::move(on_change)),
      sock_(t.io_),
      session_(cfg_.params, discriminator, *this) {
  for (auto& timer : timers_) timer = std::make_unique<asio::steady_timer>(t.io_);
  OpenSocket();
}

Link::~Link() {
  *alive_ = false;
  for (auto& timer : timers_) timer->cancel();
  boost::system::error_code ec;
  sock_.close(ec);
}

void Link::OpenSocket() {
  boost::system::error_code ec;
  const bool v4 = cfg_.peer.is_v4();
  sock_.open(v4 ? udp::v4() : udp::v6(), ec);
  if (ec) {
    error_ = "socket: " + ec.message();
    return;
  }
  const int fd = sock_.native_handle();
  const int ttl = kSendTtl;
  if (v4)
    setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof ttl);
  else
    setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &ttl, sizeof ttl);
  const asio::ip::address local = cfg_.local
                                      ? ToAsio(*cfg_.local)
                                      : (v4 ? asio::ip::address(asio::ip::address_v4::any())
                                            : asio::ip::address(asio::ip::address_v6::any()));
  // RFC 5881 section 4: one source port per session, from the dynamic range.
  std::uniform_int_distribution<int> port(kSourcePortMin, kSourcePortMax);
  for (int i = 0; i < kSourcePortAttempts; ++i) {
    const auto p = static_cast<uint16_t>(port(transport_.rng_));
    sock_.bind(udp::endpoint(local, p), ec);
    if (!ec) {
      source_port_ = p;
      break;
    }
  }
  if (ec) {
    error_ = "bind source port: " + ec.message();
    return;
  }
  // Connected, so the kernel picks the source address by route once and nothing else lands here.
  sock_.connect(udp::endpoint(ToAsio(cfg_.peer), transport_.ports_.peer), ec);
  if (ec) error_ = "connect: " + ec.message();
}

void Link::Reconfigure(const LinkConfig& cfg) {
  cfg_.params = cfg.params;
  session_.Reconfigure(cfg.params);
}

void Link::Send(std::vector<uint8_t> packet) {
  if (!sock_.is_open() || source_port_ == 0) return;
  boost::system::error_code ec;
  // Errors (no route while a link is down, an earlier ICMP unreachable) are what BFD detects
  // by silence; nothing to do here.
  sock_.send(asio::buffer(packet), 0, ec);
}

void Link::ArmTimer(Timer t, Micros after) {
  const auto i = static_cast<size_t>(t);
  auto& timer = *timers_[i];
  const uint64_t gen = ++timer_generation_[i];
  timer.expires_after(after);
  std::weak_ptr<bool> alive = alive_;
  timer.async_wait([this, alive, t, i, gen](const boost::system::error_code& ec) {
    if (ec || alive.expired() || timer_generation_[i] != gen) return;
    session_.OnTimer(t);
  });
}

void Link::CancelTimer(Timer t) {
  const auto i = static_cast<size_t>(t);
  ++timer_generation_[i];
  timers_[i]->cancel();
}

double Link::Random() {
  return std::uniform_real_distribution<double>(0.0, 1.0)(transport_.rng_);
}

void Link::OnStateChange(const StateChange& c) {
  if (on_change_) on_change_(c);
}

nlohmann::json Link::Status() const {
  const Session& s = session_;
  nlohmann::json j;
  j["peer_address"] = cfg_.peer.str();
  j["source_port"] = source_port_;
  j["state"] = StateName(s.state());
  j["remote_state"] = StateName(s.remote_state());
  j["diag"] = DiagName(s.diag());
  j["local_discriminator"] = s.local_discriminator();
  j["remote_discriminator"] = s.remote_discriminator();
  j["desired_min_tx_ms"] = Ms(s.params().desired_min_tx);
  j["required_min_rx_ms"] = Ms(s.params().required_min_rx);
  j["detect_mult"] = s.params().detect_mult;
  j["passive"] = s.params().passive;
  j["required_ttl"] = kSendTtl;
  j["remote_min_rx_ms"] = Ms(s.remote_min_rx());
  j["remote_desired_min_tx_ms"] = Ms(s.remote_desired_min_tx());
  j["remote_detect_mult"] = s.remote_detect_mult();
  j["transmit_interval_ms"] = Ms(s.transmit_interval());
  j["detection_time_ms"] = Ms(s.detection_time());
  j["poll_active"] = s.poll_active();
  j["packets_sent"] = s.packets_sent();
  j["packets_received"] = s.packets_received();
  j["last_down_reason"] = s.last_down_reason();
  j["uptime_s"] = 0;
  if (auto since = s.up_since())
    j["uptime_s"] =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - *since)
            .count();
  if (!error_.empty()) j["error"] = error_;
  return j;
}

// ---- Transport ----

Transport::Transport(asio::io_context& io, Ports ports)
    : io_(io), ports_(ports), rng_(std::random_device{}()) {}

Transport::~Transport() {
  *alive_ = false;
  links_.clear();
  retiring_.clear();
}

Link* Transport::Add(const LinkConfig& cfg, Link::OnChange on_change) {
  OpenListeners();
  // RFC 5880 section 6.8.1: a unique nonzero bfd.LocalDiscr; random, so a restarted agent's
  // new session is not mistaken for its old one.
  std::uniform_int_distribution<uint32_t> dist(1);
  uint32_t discr = dist(rng_);
  while (links_.count(discr) || retiring_.count(discr)) discr = dist(rng_);
  auto link = std::make_unique<Link>(*this, cfg, discr, std::move(on_change));
  Link* raw = link.get();
  links_.emplace(discr, std::move(link));
  raw->session().Start();
  return raw;
}

void Transport::Remove(Link* link) {
  if (!link) return;
  const uint32_t discr = link->session().local_discriminator();
  auto it = links_.find(discr);
  if (it == links_.end()) return;
  link->session().Stop();
  retiring_[discr] = std::move(it->second);
  links_.erase(it);
  // The peer's detection time for us, which AdminDown packets must cover.
  const Session& s = link->session();
  const Micros window = s.params().detect_mult * s.transmit_interval();
  auto timer = std::make_shared<asio::steady_timer>(io_, window);
  std::weak_ptr<bool> alive = alive_;
  timer->async_wait([this, alive, timer, discr](const boost::system::error_code&) {
    if (!alive.expired()) retiring_.erase(discr);
  });
}

void Transport::OpenListeners() {
  if (rx4_ || rx6_) return;
  auto open = [&](udp proto) -> std::unique_ptr<udp::socket> {
    auto s = std::make_unique<udp::socket>(io_);
    boost::system::error_code ec;
    s->open(proto, ec);
    const int on = 1;
    if (!ec && proto == udp::v6()) s->set_option(asio::ip::v6_only(true), ec);
    if (!ec) s->set_option(udp::socket::reuse_address(true), ec);
    if (!ec) {
      const int fd = s->native_handle();
      const int rc = proto == udp::v4()
                         ? setsockopt(fd, IPPROTO_IP, IP_RECVTTL, &on, sizeof on)
                         : setsockopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &on, sizeof on);
      if (rc != 0) ec.assign(errno, boost::system::system_category());
    }
    if (!ec) s->bind(udp::endpoint(proto, ports_.listen), ec);
    if (ec) {
      listen_error_ += std::string(listen_error_.empty() ? "" : "; ") + "listen on UDP " +
                       std::to_string(ports_.listen) +
                       (proto == udp::v4() ? " (IPv4): " : " (IPv6): ") + ec.message();
      return nullptr;
    }
    s->non_blocking(true, ec);
    return s;
  };
  rx4_ = open(udp::v4());
  rx6_ = open(udp::v6());
  if (rx4_) ReadLoop(*rx4_);
  if (rx6_) ReadLoop(*rx6_);
}

void Transport::ReadLoop(udp::socket& s) {
  std::weak_ptr<bool> alive = alive_;
  s.async_wait(udp::socket::wait_read, [this, alive, &s](const boost::system::error_code& ec) {
    if (ec || alive.expired()) return;
    Drain(s);
    ReadLoop(s);
  });
}

void Transport::Drain(udp::socket& s) {
  for (;;) {
    std::array<uint8_t, kReceiveBuffer> buf;
    alignas(cmsghdr) std::array<uint8_t, kControlBuffer> control;
    sockaddr_storage from{};
    iovec iov{buf.data(), buf.size()};
    msghdr msg{};
    msg.msg_name = &from;
    msg.msg_namelen = sizeof from;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    const ssize_t n = recvmsg(s.native_handle(), &msg, MSG_DONTWAIT);
    if (n < 0) return;  // EAGAIN: drained (other errors: try again on the next wakeup)
    int ttl = -1;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
      const bool v4_ttl = c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL;
      const bool v6_hops = c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT;
      if (v4_ttl || v6_hops) std::memcpy(&ttl, CMSG_DATA(c), sizeof ttl);
    }
    IPAddr peer;
    if (from.ss_family == AF_INET) {
      const auto* sin = reinterpret_cast<const sockaddr_in*>(&from);
      peer = IPAddr::FromBytes(Family::kV4, reinterpret_cast<const uint8_t*>(&sin->sin_addr));
    } else if (from.ss_family == AF_INET6) {
      const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&from);
      peer = IPAddr::FromBytes(Family::kV6, reinterpret_cast<const uint8_t*>(&sin6->sin6_addr));
    } else {
      continue;
    }
    Dispatch(ByteSpan(buf.data(), static_cast<size_t>(n)), peer, ttl);
  }
}

DropReason Transport::Dispatch(ByteSpan payload, const IPAddr& from, int ttl) {
  auto drop = [&](DropReason r) {
    ++drops_[static_cast<size_t>(r)];
    return r;
  };
  Decoded d = Decode(payload);
  if (!d.packet) return drop(d.drop);
  Link* link = nullptr;
  if (d.packet->your_discriminator != 0) {
    auto it = links_.find(d.packet->your_discriminator);
    if (it == links_.end()) return drop(DropReason::kUnknownDiscriminator);
    link = it->second.get();
    // A discriminator is guessable; the packet must also come from the session's peer.
    if (link->config().peer != from) return drop(DropReason::kUnknownPeer);
  } else {
    for (auto& [discr, l] : links_)
      if (l->config().peer == from) link = l.get();
    if (!link) return drop(DropReason::kUnknownPeer);
  }
  // RFC 5881 section 5: only a packet sent by a neighbour on the link arrives with TTL 255.
  if (ttl != kSendTtl) return drop(DropReason::kLowTtl);
  const DropReason r = link->session().Receive(*d.packet);
  if (r != DropReason::kNone) drop(r);
  return r;
}

nlohmann::json Transport::Status() const {
  nlohmann::json j = nlohmann::json::object();
  if (!listen_error_.empty()) j["listen_error"] = listen_error_;
  nlohmann::json drops = nlohmann::json::object();
  for (size_t i = 1; i < drops_.size(); ++i)
    if (drops_[i]) drops[DropReasonName(static_cast<DropReason>(i))] = drops_[i];
  j["drops"] = drops;
  return j;
}

}  // namespace ironlb::bgp::bfd
