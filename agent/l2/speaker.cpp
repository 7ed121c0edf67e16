#include "l2/speaker.h"

#include <net/if.h>

#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <ctime>
#include <future>

#include "runtime/log.h"
#include "runtime/monotonic.h"

namespace ironlb::l2 {
namespace {

constexpr const char* kLog = "l2";
// MetalLB's Event reason and wording, so `kubectl describe service` reads the same.
constexpr const char* kReasonNodeAssigned = "nodeAssigned";
// How long heartbeats sealed with the key before a rotation are still accepted: long enough for
// every node to see the new Secret, short enough that rotating away a leaked key revokes it.
constexpr auto kRotationGrace = std::chrono::seconds(60);

namespace ip = boost::asio::ip;

uint64_t RealtimeNs() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

ip::udp::endpoint ToEndpoint(const IPAddr& a, uint16_t port) {
  const auto b = a.bytes();
  if (a.is_v4()) {
    // The socket is dual-stack: IPv4 peers as v4-mapped IPv6.
    ip::address_v6::bytes_type m{};
    m[10] = m[11] = 0xff;
    std::copy(b.begin(), b.begin() + 4, m.begin() + 12);
    return {ip::address_v6(m), port};
  }
  ip::address_v6::bytes_type v6{};
  std::copy(b.begin(), b.end(), v6.begin());
  return {ip::address_v6(v6), port};
}

IPAddr FromEndpoint(const ip::udp::endpoint& ep) {
  ip::address a = ep.address();
  if (a.is_v6() && a.to_v6().is_v4_mapped()) a = ip::make_address_v4(ip::v4_mapped, a.to_v6());
  if (a.is_v4()) return IPAddr::V4(a.to_v4().to_uint());
  const auto b = a.to_v6().to_bytes();
  return IPAddr::FromBytes(Family::kV6, b.data());
}

std::string Rfc3339(std::chrono::system_clock::time_point t) {
  const std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

Speaker::Speaker(SpeakerOptions opts, std::unique_ptr<dataplane::MapOps> ops,
                 std::function<void(const ObjectEvent&)> emit)
    : opts_(std::move(opts)),
      ops_(std::move(ops)),
      emit_(std::move(emit)),
      tick_(io_),
      check_(io_),
      sock_(io_),
      writer_(*ops_),
      boot_id_(RealtimeNs()),
      members_(opts_.node, opts_.interval * opts_.threshold, Clock::now(), boot_id_) {
  for (const auto& name : opts_.interfaces) {
    const uint32_t idx = if_nametoindex(name.c_str());
    if (!idx) throw std::runtime_error("no such interface: " + name);
    ifindex_[name] = idx;
    macs_[idx] = InterfaceMac(name);
    carrier_[idx] = opts_.watch_links ? LinkWatch::CarrierNow(idx) : true;
  }
  sender_ = std::make_unique<FrameSender>();
  if (!opts_.key.empty()) OpenSocket();
}

void Speaker::OpenSocket() {
  sock_.open(ip::udp::v6());
  try {
    sock_.set_option(ip::v6_only(false));
    sock_.bind({ip::address_v6::any(), opts_.port});
  } catch (...) {
    boost::system::error_code ec;
    sock_.close(ec);
    throw;
  }
}

Speaker::~Speaker() {
  Stop();
}

void Speaker::Start() {
  if (opts_.watch_links)
    links_ = std::make_unique<LinkWatch>(io_, &carrier_, [this](uint32_t idx, bool up) {
      char name[IF_NAMESIZE] = {};
      if_indextoname(idx, name);
      log::Info(kLog, std::string(name) + (up ? ": carrier up" : ": carrier lost"));
      // Peers hear it now rather than after their detection time.
      SendHeartbeats(SelfAvailable());
      Reevaluate(std::string("uplink ") + name + (up ? " carrier up" : " lost carrier"));
    });
  if (opts_.watch_conflicts) {
    try {
      arp_watch_ = std::make_unique<ArpWatch>(
          io_, [this](uint32_t idx, const ArpClaim& c) { OnClaim(idx, c); });
    } catch (const std::exception& e) {
      log::Warn(kLog, std::string("no conflict detection: ") + e.what());
    }
  }
  boost::asio::post(io_, [this] {
    // Here, not before posting: a key handed over by SetKey before Start is in by now.
    if (opts_.key.empty() && !opts_.key_source.empty())
      log::Warn(kLog, "no heartbeat key in " + opts_.key_source +
                          " yet: no heartbeats, so no failover, until it appears");
    else if (opts_.key.empty())
      log::Warn(kLog,
                "no --l2-key-file: no heartbeats, so no failover; every eligible node is presumed "
                "alive and each VIP has one fixed owner");
    else
      log::Info(kLog, "heartbeats on UDP " + std::to_string(opts_.port) + " every " +
                          std::to_string(opts_.interval.count()) + " ms, a peer is dead after " +
                          std::to_string(opts_.threshold) + " missed");
    // Read again now that link events are subscribed: a change between the constructor's read
    // and the subscription would otherwise go unseen until the next one.
    if (opts_.watch_links)
      for (auto& [idx, up] : carrier_) up = LinkWatch::CarrierNow(idx);
    Tick();
    CheckTick();
    if (sock_.is_open()) StartReceiving();
  });
  thread_ = std::thread([this] { io_.run(); });
}

void Speaker::Stop() {
  if (!thread_.joinable()) return;
  std::promise<void> done;
  boost::asio::post(io_, [this, &done] {
    stopping_ = true;
    tick_.cancel();
    check_.cancel();
    if (sock_.is_open()) {
      SendHeartbeats(false);
      boost::system::error_code ec;
      sock_.close(ec);
    }
    // Leaving: a VIP another node can take goes quiet here at once, so the next owner (who
    // heard available = 0) is alone. A VIP nobody else can take stays answered by XDP while the
    // agent restarts (until the fence, when heartbeats are on).
    try {
      std::set<std::string> others = healthy_;
      others.erase(opts_.node);
      auto owners = owners_;
      const auto next = Elect(plan_, others);
      for (size_t i = 0; i < owners.size() && i < next.size(); ++i)
        if (next[i].owner && next[i].vip == owners[i].vip) owners[i].owner = next[i].owner;
      writer_.Sync(L2Entries(owners, opts_.node, ifindex_));
    } catch (const std::exception& e) {
      log::Warn(kLog, std::string("cannot silence VIPs on the way out: ") + e.what());
    }
    links_.reset();
    arp_watch_.reset();
    done.set_value();
    io_.stop();
  });
  done.get_future().wait();
  thread_.join();
}

void Speaker::SetPlan(Plan plan) {
  boost::asio::post(io_, [this, plan = std::move(plan)]() mutable {
    if (stopping_) return;
    const bool changed = !(plan == plan_);
    members_.SetPeers(plan.peers, Clock::now());
    {
      std::lock_guard lock(mu_);
      plan_ = std::move(plan);
    }
    if (changed) Reevaluate("configuration changed");
  });
}

void Speaker::SetKey(std::vector<uint8_t> key) {
  boost::asio::post(io_, [this, key = std::move(key)]() mutable {
    if (stopping_ || key.empty() || key == opts_.key) return;
    const bool starting = opts_.key.empty();
    if (starting) {
      try {
        OpenSocket();
      } catch (const std::exception& e) {
        log::Error(kLog, "cannot open the heartbeat socket on UDP " + std::to_string(opts_.port) +
                             ": " + e.what() + "; no failover");
        return;
      }
    }
    {
      std::lock_guard lock(mu_);  // Status() reads whether heartbeats are on
      previous_key_ = std::move(opts_.key);
      opts_.key = std::move(key);
    }
    previous_key_until_ = Clock::now() + kRotationGrace;
    if (!starting) {
      log::Info(kLog, "heartbeat key changed (" + opts_.key_source +
                          "): sealing with the new one, accepting the previous one for " +
                          std::to_string(kRotationGrace.count()) + " s");
      return;
    }
    members_.RestartPresumption(Clock::now());
    log::Info(kLog, "heartbeat key from " + opts_.key_source + ": heartbeats on UDP " +
                        std::to_string(opts_.port) + " every " +
                        std::to_string(opts_.interval.count()) + " ms, a peer is dead after " +
                        std::to_string(opts_.threshold) + " missed");
    SendHeartbeats(SelfAvailable());
    StartReceiving();
  });
}

bool Speaker::SelfAvailable() const {
  if (carrier_.empty()) return true;
  for (const auto& [idx, up] : carrier_)
    if (up) return true;
  return false;
}

void Speaker::Tick() {
  if (stopping_) return;
  // Fenced after (threshold - 1) intervals without a refresh: before the peers' detection time
  // (threshold intervals) ends, so the old owner is quiet when the new one starts answering.
  const auto fence = opts_.interval * (opts_.threshold - 1);
  try {
    writer_.Stamp(MonotonicNs(),
                  opts_.key.empty() ? 0 : uint64_t(std::chrono::nanoseconds(fence).count()));
  } catch (const std::exception& e) {
    log::Warn(kLog, std::string("cannot refresh the liveness stamp: ") + e.what());
  }
  if (sock_.is_open()) SendHeartbeats(SelfAvailable());
  tick_.expires_after(opts_.interval);
  tick_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) Tick();
  });
}

void Speaker::CheckTick() {
  if (stopping_) return;
  Reevaluate("");
  // Health is re-judged four times per interval: detection lands within a quarter interval of
  // its promise instead of a whole one.
  check_.expires_after(std::max(opts_.interval / 4, std::chrono::milliseconds(5)));
  check_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) CheckTick();
  });
}

void Speaker::SendHeartbeats(bool available) {
  if (!sock_.is_open()) return;
  for (const auto& [name, addrs] : plan_.peers) SendHeartbeatTo(name, addrs, available);
}

void Speaker::SendHeartbeatTo(const std::string& name, const std::vector<IPAddr>& addrs,
                              bool available) {
  // One frame per peer: each echoes that peer's boot id (its replay guard on first contact).
  const Heartbeat hb{opts_.node, boot_id_, ++seq_, available, members_.EchoFor(name)};
  const auto frame = EncodeHeartbeat(hb, opts_.key);
  for (const IPAddr& a : addrs) {
    boost::system::error_code ec;
    sock_.send_to(boost::asio::buffer(frame), ToEndpoint(a, opts_.port), 0, ec);
    if (!ec) ++counters_.heartbeats_sent;
  }
}

void Speaker::StartReceiving() {
  if (receiving_) return;  // one receive in flight on buf_, ever
  receiving_ = true;
  Receive();
}

void Speaker::Receive() {
  sock_.async_receive_from(boost::asio::buffer(buf_), from_,
                           [this](const boost::system::error_code& ec, size_t n) {
                             if (ec == boost::asio::error::operation_aborted || stopping_) return;
                             if (!ec) OnDatagram(n);
                             Receive();
                           });
}

void Speaker::OnDatagram(size_t n) {
  const IPAddr from = FromEndpoint(from_);
  Decoded d = DecodeHeartbeat(std::span(buf_.data(), n), opts_.key);
  // A peer that has not picked up a rotated key yet.
  if (!d.heartbeat && d.error == DecodeError::kBadMac && !previous_key_.empty() &&
      Clock::now() < previous_key_until_)
    if (Decoded old = DecodeHeartbeat(std::span(buf_.data(), n), previous_key_); old.heartbeat)
      d = std::move(old);
  std::string why;
  // A heartbeat from a peer already counted healthy and still available changes no owner:
  // skip the re-evaluation (the periodic check still notices peers that go quiet).
  bool may_change = true;
  if (!d.heartbeat) {
    why = DecodeErrorName(d.error);
  } else {
    const std::string& node = d.heartbeat->node;
    may_change = !healthy_.count(node) || !d.heartbeat->available;
    const uint64_t echo_before = members_.EchoFor(node);
    const Verdict v = members_.OnHeartbeat(*d.heartbeat, from, Clock::now());
    if (v != Verdict::kAccepted) why = VerdictName(v);
    // A new boot of that peer: tell it ours now, so its first contact with us completes in one
    // round trip instead of waiting for our next tick.
    if (members_.EchoFor(node) != echo_before)
      if (auto it = plan_.peers.find(node); it != plan_.peers.end() && !stopping_)
        SendHeartbeatTo(node, it->second, SelfAvailable());
  }
  if (!why.empty()) {
    bool first;
    {
      std::lock_guard lock(mu_);
      first = counters_.rejected[why]++ == 0;
    }
    // Every peer's first heartbeat after we start is unconfirmed (the handshake): not a warning.
    if (first && why != VerdictName(Verdict::kUnconfirmed))
      log::Warn(kLog, "ignored a heartbeat from " + from.str() + ": " + why +
                          " (logged once per reason; see ironlb_l2_heartbeats_rejected_total)");
    return;
  }
  ++counters_.heartbeats_accepted;
  if (may_change) Reevaluate("");
}

void Speaker::Reevaluate(const std::string& cause) {
  if (stopping_) return;
  const auto now = Clock::now();
  members_.SetSelfAvailable(SelfAvailable());
  std::set<std::string> healthy;
  if (opts_.key.empty()) {
    for (const auto& [name, a] : plan_.peers) healthy.insert(name);
    if (members_.self_available()) healthy.insert(opts_.node);
  } else {
    healthy = members_.Healthy(now);
  }
  if (cause.empty() && evaluated_ && healthy == healthy_) return;

  auto owners = Elect(plan_, healthy);
  try {
    writer_.Sync(L2Entries(owners, opts_.node, ifindex_));
  } catch (const std::exception& e) {
    log::Error(kLog, std::string("cannot write lb_l2 (retrying): ") + e.what());
    return;  // healthy_ unchanged: the next check retries
  }
  const auto wall = std::chrono::system_clock::now();
  // Announcements and events go out after the lock is released (Announce takes it itself).
  std::vector<const Ownership*> announce;
  std::unique_lock lock(mu_);
  // Why owners moved, when the caller did not say: a node left or came back.
  std::string why = cause;
  if (why.empty()) {
    std::vector<std::string> gone, back;
    for (const auto& n : healthy_)
      if (!healthy.count(n)) gone.push_back(n);
    for (const auto& n : healthy)
      if (!healthy_.count(n)) back.push_back(n);
    for (const auto& n : gone) why += (why.empty() ? "" : ", ") + ("node " + n + " failed");
    for (const auto& n : back) why += (why.empty() ? "" : ", ") + ("node " + n + " joined");
    if (why.empty()) why = "membership changed";
  }
  const bool first = !evaluated_;
  evaluated_ = true;
  // A node that comes back (a healed partition, a restarted agent) may have claimed our VIPs
  // while it could not hear us: the owners that keep their VIPs announce them again.
  bool someone_joined = false;
  if (!first)
    for (const auto& n : healthy)
      if (n != opts_.node && !healthy_.count(n)) someone_joined = true;
  std::vector<const Ownership*> reannounce;
  std::map<IPAddr, OwnerRecord> next;
  for (const Ownership& o : owners) {
    auto it = records_.find(o.vip);
    OwnerRecord r = it != records_.end() ? it->second : OwnerRecord{};
    const bool known = it != records_.end();
    if (!known || r.owner != o.owner) {
      if (known) {
        r.previous = r.owner.value_or("");
        ++r.moves;
        ++counters_.owner_changes;
        r.cause = why;
      } else {
        r.cause = first ? "agent started" : why;
      }
      r.owner = o.owner;
      r.since = wall;
      const bool mine = o.owner && *o.owner == opts_.node;
      log::Info(kLog,
                o.vip.str() + ": owner " + (o.owner ? *o.owner : "(none)") +
                    (r.moves ? " (was " + (r.previous.empty() ? "(none)" : r.previous) + ")" : "") +
                    ": " + r.cause);
      if (mine) {
        announce.push_back(&o);
      } else {
        ++announce_gen_[o.vip];  // cancels announcements still scheduled
      }
    } else if (someone_joined && o.owner && *o.owner == opts_.node) {
      reannounce.push_back(&o);
    }
    next[o.vip] = r;
  }
  records_ = std::move(next);
  mine_.clear();
  for (const Ownership& o : owners)
    if (o.owner && *o.owner == opts_.node) mine_.insert(o.vip);
  owners_ = std::move(owners);
  healthy_ = std::move(healthy);
  lock.unlock();
  // owners_ is only written on this thread: the pointers stay valid here.
  for (const Ownership* o : reannounce) Announce(o->vip, o->interfaces, 0, ++announce_gen_[o->vip]);
  for (const Ownership* o : announce) {
    Announce(o->vip, o->interfaces, 0, ++announce_gen_[o->vip]);
    if (emit_)
      for (const auto& svc : o->services)
        emit_({svc, ObjectEvent::Type::kNormal, kReasonNodeAssigned,
               "announcing from node \"" + opts_.node + "\" with protocol \"layer2\""});
  }
}

void Speaker::Announce(const IPAddr& vip, const std::vector<std::string>& interfaces, size_t round,
                       uint64_t generation) {
  if (stopping_ || announce_gen_[vip] != generation) return;
  std::vector<uint32_t> out;
  if (interfaces.empty()) {
    for (const auto& [name, idx] : ifindex_) out.push_back(idx);
  } else {
    for (const auto& name : interfaces)
      if (auto it = ifindex_.find(name); it != ifindex_.end()) out.push_back(it->second);
  }
  size_t sent = 0;
  for (uint32_t idx : out) {
    if (!carrier_[idx]) continue;
    for (const auto& frame : AnnouncementFrames(macs_[idx], vip))
      sent += sender_->Send(idx, frame) ? 1 : 0;
  }
  if (sent) {
    std::lock_guard lock(mu_);
    counters_.gratuitous[vip.str()] += sent;
  }
  if (round + 1 >= std::size(kAnnounceDelaysMs)) return;
  auto t = std::make_shared<boost::asio::steady_timer>(
      io_, std::chrono::milliseconds(kAnnounceDelaysMs[round + 1] - kAnnounceDelaysMs[round]));
  t->async_wait([this, t, vip, interfaces, round, generation](const boost::system::error_code& ec) {
    if (!ec) Announce(vip, interfaces, round + 1, generation);
  });
}

void Speaker::OnClaim(uint32_t ifindex, const ArpClaim& claim) {
  if (stopping_ || !macs_.count(ifindex) || !mine_.count(claim.sender_ip)) return;
  for (const auto& [idx, mac] : macs_)
    if (mac == claim.sender_mac) return;  // one of ours (another uplink on the same segment)
  {
    std::lock_guard lock(mu_);
    ++counters_.conflicts[claim.sender_ip.str()];
  }
  if (conflicts_logged_.insert({claim.sender_ip, claim.sender_mac}).second) {
    char mac[18];
    const auto& m = claim.sender_mac;
    std::snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4],
                  m[5]);
    log::Warn(kLog, "conflict: " + std::string(mac) + " claims " + claim.sender_ip.str() +
                        ", which this node owns (logged once per MAC; see "
                        "ironlb_l2_conflicts_total)");
  }
}

std::optional<Speaker::Vips> Speaker::KnownVips() const {
  std::lock_guard lock(mu_);
  if (!evaluated_) return std::nullopt;
  Vips v;
  for (const auto& o : owners_) {
    v.all.insert(o.vip);
    if (o.owner && *o.owner == opts_.node) v.mine[o.vip] = o.services;
  }
  v.owners = owners_;
  return v;
}

std::map<std::string, uint64_t> Speaker::OwnerMoves() const {
  std::lock_guard lock(mu_);
  std::map<std::string, uint64_t> out;
  for (const auto& [vip, r] : records_) out[vip.str()] = r.moves;
  return out;
}

std::map<std::string, uint64_t> Speaker::Conflicts() const {
  std::lock_guard lock(mu_);
  return counters_.conflicts;
}

std::map<std::string, uint64_t> Speaker::Rejected() const {
  std::lock_guard lock(mu_);
  return counters_.rejected;
}

std::map<std::string, uint64_t> Speaker::Gratuitous() const {
  std::lock_guard lock(mu_);
  return counters_.gratuitous;
}

nlohmann::json Speaker::Status() const {
  std::lock_guard lock(mu_);
  nlohmann::json vips = nlohmann::json::array();
  std::map<IPAddr, const VipPlan*> plans;
  for (const auto& vp : plan_.vips) plans[vp.vip] = &vp;
  for (const auto& o : owners_) {
    const auto& r = records_.at(o.vip);
    nlohmann::json ifaces = nlohmann::json::array();
    for (const auto& i : o.interfaces) ifaces.push_back(i);
    nlohmann::json services = nlohmann::json::array();
    for (const auto& s : o.services) services.push_back(s.ns + "/" + s.name);
    nlohmann::json v{
        {"vip", o.vip.str()},
        {"owner", o.owner ? *o.owner : ""},
        {"mine", o.owner && *o.owner == opts_.node},
        {"interfaces", ifaces},
        {"services", services},
        {"eligible", plans.count(o.vip) ? plans[o.vip]->eligible : std::vector<std::string>{}},
        {"since", Rfc3339(r.since)},
        {"moves", r.moves},
        {"cause", r.cause}};
    if (r.moves) v["previous"] = r.previous;
    if (auto c = counters_.conflicts.find(o.vip.str()); c != counters_.conflicts.end())
      v["conflicts"] = c->second;
    vips.push_back(std::move(v));
  }
  nlohmann::json peers = nlohmann::json::array();
  // Peers' view is owned by the speaker thread; healthy_ is its latest published result.
  for (const auto& [name, addrs] : plan_.peers) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& x : addrs) a.push_back(x.str());
    peers.push_back({{"name", name}, {"addresses", a}, {"healthy", healthy_.count(name) > 0}});
  }
  nlohmann::json ifaces = nlohmann::json::array();
  for (const auto& [name, idx] : ifindex_) ifaces.push_back({{"name", name}, {"ifindex", idx}});
  return {{"node", opts_.node},
          {"heartbeats",
           {{"enabled", !opts_.key.empty()},
            {"port", opts_.port},
            {"interval_ms", opts_.interval.count()},
            {"threshold", opts_.threshold},
            {"detection_ms", (opts_.interval * opts_.threshold).count()},
            {"fence_ms", (opts_.interval * (opts_.threshold - 1)).count()},
            {"sent", counters_.heartbeats_sent.load()},
            {"accepted", counters_.heartbeats_accepted.load()},
            {"rejected", counters_.rejected}}},
          {"available", healthy_.count(opts_.node) > 0},
          {"interfaces", ifaces},
          {"peers", peers},
          {"owner_changes", counters_.owner_changes.load()},
          {"vips", vips}};
}

}  // namespace ironlb::l2
