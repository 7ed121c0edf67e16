#include "kube/kube_store.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>
#include <ctime>

#include "kube/api_object.h"
#include "runtime/log.h"
#include "store/file_store.h"

namespace ironlb::kube {
namespace {

namespace asio = boost::asio;
using boost::beast::http::verb;
constexpr unsigned kHttpNotFound = 404;
constexpr unsigned kHttpForbidden = 403;
constexpr unsigned kHttpConflict = 409;
constexpr size_t kKeySecretBytes = 64;
constexpr int kWriteAttempts = 5;
constexpr size_t kMaxEventsInFlight = 64;
// Events waiting for a slot: a first allocation of 10,000 Services makes 10,000 IPAllocated at
// once, and each must reach its Service. Beyond this many waiting (the API server unreachable
// for long), new ones are dropped with a log line, as client-go's broadcaster does past its queue.
constexpr size_t kMaxEventsWaiting = 50000;
constexpr auto kWriteBackoff = std::chrono::milliseconds(200);

std::string Base64(const unsigned char* data, size_t n) {
  std::string out(4 * ((n + 2) / 3), '\0');
  const int len =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(n));
  out.resize(static_cast<size_t>(len));
  return out;
}

std::vector<Resource> Resources(const std::string& ns) {
  const std::string m1 = "/apis/metallb.io/v1beta1/namespaces/" + ns + "/";
  const std::string m2 = "/apis/metallb.io/v1beta2/namespaces/" + ns + "/";
  return {
      {"v1", "Namespace", "/api/v1/namespaces"},
      {"v1", "Node", "/api/v1/nodes"},
      {"v1", "Secret", "/api/v1/namespaces/" + ns + "/secrets"},
      {"metallb.io/v1beta1", "IPAddressPool", m1 + "ipaddresspools"},
      {"metallb.io/v1beta1", "L2Advertisement", m1 + "l2advertisements"},
      {"metallb.io/v1beta1", "BGPAdvertisement", m1 + "bgpadvertisements"},
      {"metallb.io/v1beta2", "BGPPeer", m2 + "bgppeers"},
      {"metallb.io/v1beta1", "BFDProfile", m1 + "bfdprofiles"},
      {"metallb.io/v1beta1", "Community", m1 + "communities"},
      {"v1", "Service", "/api/v1/services"},
      {"discovery.k8s.io/v1", "EndpointSlice", "/apis/discovery.k8s.io/v1/endpointslices"},
  };
}

// What of a ServiceStatus the API server holds: the pool annotation and the ingress IPs.
struct Recorded {
  std::string pool;
  std::vector<IPAddr> ips;
  bool operator==(const Recorded&) const = default;
};

Recorded RecordedOf(const std::optional<ServiceStatus>& s) {
  if (!s || s->ips.empty()) return {};
  return {s->pool, s->ips};
}

Recorded RecordedOf(const Service& svc) {
  Recorded r;
  auto it = svc.meta.annotations.find(kAllocatedFromPoolAnnotation);
  if (it != svc.meta.annotations.end()) r.pool = it->second;
  for (const auto& ing : svc.ingress) {
    if (ing.ip) r.ips.push_back(*ing.ip);
  }
  return r;
}

// resourceVersions are opaque, but every server in practice uses etcd revisions; where both
// parse as integers this says whether `v` is at or after `since`.
bool AtOrAfter(const std::string& v, const std::string& since) {
  uint64_t a = 0, b = 0;
  const bool na = std::from_chars(v.data(), v.data() + v.size(), a).ec == std::errc();
  const bool nb = std::from_chars(since.data(), since.data() + since.size(), b).ec == std::errc();
  return na && nb ? a >= b : v == since;
}

std::string ApiVersionOfKind(const std::string& kind) {
  if (kind == "Service" || kind == "Node" || kind == "Namespace" || kind == "Secret") return "v1";
  if (kind == "EndpointSlice") return "discovery.k8s.io/v1";
  if (kind == "BGPPeer") return "metallb.io/v1beta2";
  return "metallb.io/v1beta1";
}

std::string NowRfc3339() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string PathOfService(const std::string& ns, const std::string& name) {
  return "/api/v1/namespaces/" + ns + "/services/" + name;
}

std::string StatusPath(const std::string& ns, StatusKind k) {
  return "/apis/metallb.io/v1beta1/namespaces/" + ns + "/" + Plural(k);
}

constexpr auto kStatusBackoffMin = std::chrono::milliseconds(500);
constexpr auto kStatusBackoffMax = std::chrono::milliseconds(30000);

}  // namespace

KubeStore::KubeStore(asio::io_context& io, ClusterConfig cfg, KubeStoreOptions opts)
    : io_(io),
      opts_(std::move(opts)),
      client_(io, std::move(cfg), opts_.rate_limit),
      settle_timer_(io),
      key_secret_timer_(io),
      status_retry_timer_(io) {
  for (auto& res : Resources(opts_.ns)) {
    informers_.push_back(
        std::make_unique<Informer>(io_, client_, std::move(res), opts_.informer,
                                   [this](const std::vector<StoreEvent>& evs) { OnEvents(evs); }));
  }
}

KubeStore::~KubeStore() {
  Stop();
}

std::string KubeStore::description() const {
  return "api " + client_.config().url();
}

void KubeStore::Start(ChangeHandler on_change) {
  on_change_ = std::move(on_change);
  log::Info("kube", "watching " + client_.config().url() + " (" + client_.config().source +
                        "), metallb.io objects in namespace " + opts_.ns);
  for (auto& inf : informers_) inf->Start();
  started_ = true;
  for (auto& [kind, inf] : status_informers_) inf->Start();
  if (!opts_.create_key_secret.empty())
    asio::co_spawn(io_, EnsureKeySecret(), [](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        log::Error("kube", std::string("creating the L2 key Secret failed: ") + ex.what());
      }
    });
}

void KubeStore::Stop() {
  if (stopped_) return;
  stopped_ = true;
  for (auto& inf : informers_) inf->Stop();
  for (auto& [kind, inf] : status_informers_) inf->Stop();
  client_.Abort();
  settle_timer_.cancel();
  key_secret_timer_.cancel();
  status_retry_timer_.cancel();
}

void KubeStore::OnEvents(const std::vector<StoreEvent>& events) {
  pending_.insert(pending_.end(), events.begin(), events.end());
  if (settle_armed_ || stopped_) return;
  settle_armed_ = true;
  settle_timer_.expires_after(opts_.settle);
  settle_timer_.async_wait([this](const boost::system::error_code& ec) {
    settle_armed_ = false;
    if (!ec && !stopped_) Flush();
  });
}

void KubeStore::Flush() {
  if (!synced_) {
    for (const auto& inf : informers_) {
      if (!inf->synced()) return;  // the events wait for the last first list
    }
    synced_ = true;
    log::Info("kube", "all informers synced");
  }
  Rebuild();
  std::vector<StoreEvent> batch = std::move(pending_);
  pending_.clear();
  ForgetOutdatedWrites(batch);
  if (on_change_) on_change_(batch);
}

void KubeStore::Rebuild() {
  Snapshot snap;
  for (const auto& inf : informers_) {
    for (const auto& [key, entry] : inf->cache().entries()) AppendSnapshot(&snap, entry.decoded);
  }
  snapshot_ = std::move(snap);
  service_index_.clear();
  for (size_t i = 0; i < snapshot_.services.size(); ++i)
    service_index_[snapshot_.services[i].key()] = i;
}

const Service* KubeStore::FindService(const std::string& key) const {
  auto it = service_index_.find(key);
  return it == service_index_.end() ? nullptr : &snapshot_.services[it->second];
}

void KubeStore::ForgetOutdatedWrites(const std::vector<StoreEvent>& events) {
  for (const auto& ev : events) {
    if (ev.object.kind != "Service") continue;
    const std::string key = ev.object.ns + "/" + ev.object.name;
    auto it = written_.find(key);
    if (it == written_.end() || it->second.in_flight) continue;
    const Service* svc = FindService(key);
    if (!svc) {
      written_.erase(it);
      continue;
    }
    // Once the watch has passed our write, the API's view is the truth again: someone else
    // changed the status (or our write was undone), and the controller must decide anew.
    if (!it->second.version.empty() && AtOrAfter(ev.version, it->second.version) &&
        RecordedOf(*svc) != RecordedOf(it->second.status)) {
      written_.erase(it);
    }
  }
}

std::vector<ServiceStatus> KubeStore::statuses() const {
  std::map<std::string, ServiceStatus> out;
  for (const auto& svc : snapshot_.services) {
    const Recorded r = RecordedOf(svc);
    if (r.ips.empty() && r.pool.empty()) continue;
    out[svc.key()] = ServiceStatus{svc.meta.ns, svc.meta.name, r.pool, r.ips, ""};
  }
  for (const auto& [key, w] : written_) {
    if (w.status) {
      out[key] = *w.status;
    } else {
      out.erase(key);
    }
  }
  std::vector<ServiceStatus> v;
  v.reserve(out.size());
  for (auto& [key, s] : out) v.push_back(std::move(s));
  return v;
}

void KubeStore::WriteStatus(const ServiceStatus& s) {
  Written& w = written_[s.key()];
  w.status = s;
  if (w.in_flight) {
    w.rewrite = true;
    return;
  }
  const Service* svc = FindService(s.key());
  if (svc && RecordedOf(*svc) == RecordedOf(w.status)) {
    w.version = svc->meta.resource_version;  // the API already says so (a pending reason only)
    return;
  }
  StartWrite(s.key());
}

void KubeStore::RemoveStatus(const std::string& ns, const std::string& name) {
  const std::string key = ns + "/" + name;
  Written& w = written_[key];
  w.status.reset();
  if (w.in_flight) {
    w.rewrite = true;
    return;
  }
  const Service* svc = FindService(key);
  if (!svc || RecordedOf(*svc) == Recorded{}) {
    if (svc) w.version = svc->meta.resource_version;
    return;
  }
  StartWrite(key);
}

void KubeStore::StartWrite(const std::string& key) {
  written_[key].in_flight = true;
  asio::co_spawn(io_, WriteLoop(key), [](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      log::Error("kube", std::string("status writer failed: ") + ex.what());
    }
  });
}

asio::awaitable<void> KubeStore::WriteLoop(std::string key) {
  const auto slash = key.find('/');
  const std::string ns = key.substr(0, slash), name = key.substr(slash + 1);
  const std::string path = PathOfService(ns, name);
  asio::steady_timer timer(io_);
  for (int attempt = 1; !stopped_; ++attempt) {
    auto it = written_.find(key);
    if (it == written_.end()) co_return;
    it->second.rewrite = false;
    const Recorded want = RecordedOf(it->second.status);
    const Service* svc = FindService(key);
    const Recorded have = svc ? RecordedOf(*svc) : Recorded{};
    std::string error, version;
    bool gone = false;
    try {
      // The annotation first: a speaker that sees the ingress IP can then already tell its pool.
      if (want.pool != have.pool) {
        nlohmann::json patch;
        patch["metadata"]["annotations"][kAllocatedFromPoolAnnotation] =
            want.pool.empty() ? nlohmann::json(nullptr) : nlohmann::json(want.pool);
        const HttpResponse r = co_await client_.Request(verb::patch, path, patch.dump(),
                                                        "application/merge-patch+json");
        if (r.status == kHttpNotFound)
          gone = true;
        else if (r.status / 100 != 2)
          throw ApiError::From("annotate " + key, r);
        else
          version = ResourceVersionOf(nlohmann::json::parse(r.body, nullptr, false));
      }
      if (!gone && want.ips != have.ips) {
        nlohmann::json ingress = nullptr;
        if (!want.ips.empty()) {
          ingress = nlohmann::json::array();
          for (const auto& ip : want.ips) ingress.push_back({{"ip", ip.str()}});
        }
        nlohmann::json patch;
        patch["status"]["loadBalancer"]["ingress"] = ingress;
        const HttpResponse r = co_await client_.Request(verb::patch, path + "/status", patch.dump(),
                                                        "application/merge-patch+json");
        if (r.status == kHttpNotFound)
          gone = true;
        else if (r.status / 100 != 2)
          throw ApiError::From("status of " + key, r);
        else
          version = ResourceVersionOf(nlohmann::json::parse(r.body, nullptr, false));
      }
    } catch (const std::exception& e) {
      error = e.what();
    }
    it = written_.find(key);
    if (it == written_.end()) co_return;
    if (gone) {
      written_.erase(it);  // the Service was deleted meanwhile; nothing to record
      co_return;
    }
    if (error.empty()) {
      ++status_writes_;
      if (!version.empty()) it->second.version = version;
      if (it->second.rewrite) continue;
      it->second.in_flight = false;
      // The watch can deliver the Service past this write before the write's own response
      // arrives; ForgetOutdatedWrites leaves writes in flight alone, so check here, or a later
      // change by someone else would stay hidden behind this record.
      if (const Service* svc = FindService(key);
          svc && !it->second.version.empty() &&
          AtOrAfter(svc->meta.resource_version, it->second.version) &&
          RecordedOf(*svc) != RecordedOf(it->second.status)) {
        written_.erase(it);
        OnEvents({StoreEvent{StoreEvent::Type::kModified, {"Service", ns, name}, ""}});
      }
      co_return;
    }
    log::Warn("kube", "cannot write status of Service " + key + " (attempt " +
                          std::to_string(attempt) + "): " + error);
    if (attempt >= kWriteAttempts) {
      // Give the decision back: forget the write and let the agent run a pass for this Service.
      written_.erase(it);
      OnEvents({StoreEvent{StoreEvent::Type::kModified, {"Service", ns, name}, ""}});
      co_return;
    }
    timer.expires_after(kWriteBackoff * (1 << attempt));
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

asio::awaitable<void> KubeStore::EnsureKeySecret() {
  const std::string& name = opts_.create_key_secret;
  // 64 random bytes as base64 text: what the speakers use is the text itself, as with
  // MetalLB's `openssl rand -base64 128`.
  std::array<unsigned char, kKeySecretBytes> raw{};
  if (RAND_bytes(raw.data(), static_cast<int>(raw.size())) != 1)
    throw std::runtime_error("no randomness for the L2 key (RAND_bytes)");
  const std::string key = Base64(raw.data(), raw.size());
  OPENSSL_cleanse(raw.data(), raw.size());
  const nlohmann::json body = {
      {"apiVersion", "v1"},
      {"kind", "Secret"},
      {"metadata",
       {{"name", name},
        {"namespace", opts_.ns},
        {"labels", {{"app.kubernetes.io/name", "ironlb"}}}}},
      {"type", "Opaque"},
      {"data",
       {{"secretkey", Base64(reinterpret_cast<const unsigned char*>(key.data()), key.size())}}},
  };
  const std::string path = "/api/v1/namespaces/" + opts_.ns + "/secrets";
  for (int attempt = 1; !stopped_; ++attempt) {
    std::string error;
    try {
      // Create, never read or replace: a Secret that exists (another replica's, MetalLB's, the
      // operator's) wins, and this role needs no right to read Secret data it did not write.
      const HttpResponse r = co_await client_.Request(verb::post, path, body.dump());
      if (r.status == kHttpConflict) {
        log::Debug("kube", "Secret " + opts_.ns + "/" + name + " exists: L2 key kept");
        co_return;
      }
      if (r.status / 100 == 2) {
        log::Info("kube", "created Secret " + opts_.ns + "/" + name +
                              " with a random L2 heartbeat key (secretkey)");
        co_return;
      }
      if (r.status == kHttpForbidden) {
        log::Warn("kube", "may not create Secret " + opts_.ns + "/" + name +
                              " (RBAC): create it by hand for L2 failover, see docs/kubernetes.md");
        co_return;
      }
      throw ApiError::From("create Secret " + name, r);
    } catch (const std::exception& e) {
      error = e.what();
    }
    if (stopped_) co_return;
    log::Warn("kube", "cannot create Secret " + opts_.ns + "/" + name + " (attempt " +
                          std::to_string(attempt) + "): " + error);
    key_secret_timer_.expires_after(
        std::min(kWriteBackoff * (1 << std::min(attempt, 8)), std::chrono::milliseconds(30000)));
    boost::system::error_code ec;
    co_await key_secret_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

void KubeStore::EmitEvent(const ObjectEvent& ev) {
  if (stopped_) return;
  if (events_in_flight_ < kMaxEventsInFlight) {
    StartEvent(ev);
  } else if (events_waiting_.size() < kMaxEventsWaiting) {
    events_waiting_.push_back(ev);
  } else {
    log::Warn("kube", "dropping event " + ev.reason + " on " + ev.about.str() + ": " +
                          std::to_string(kMaxEventsWaiting) + " events already wait to be sent");
  }
}

void KubeStore::StartEvent(ObjectEvent ev) {
  ++events_in_flight_;
  asio::co_spawn(io_, SendEvent(std::move(ev)), [this](std::exception_ptr) {
    --events_in_flight_;
    if (stopped_ || events_waiting_.empty()) return;
    ObjectEvent next = std::move(events_waiting_.front());
    events_waiting_.pop_front();
    StartEvent(std::move(next));
  });
}

asio::awaitable<void> KubeStore::SendEvent(ObjectEvent ev) {
  const std::string ns = ev.about.ns.empty() ? "default" : ev.about.ns;
  nlohmann::json involved = {{"kind", ev.about.kind},
                             {"namespace", ev.about.ns},
                             {"name", ev.about.name},
                             {"apiVersion", ApiVersionOfKind(ev.about.kind)}};
  if (ev.about.kind == "Service") {
    if (const Service* svc = FindService(ev.about.ns + "/" + ev.about.name)) {
      involved["uid"] = svc->meta.uid;
      involved["resourceVersion"] = svc->meta.resource_version;
    }
  }
  char suffix[24];
  std::snprintf(
      suffix, sizeof suffix, "%llx",
      static_cast<unsigned long long>(std::chrono::system_clock::now().time_since_epoch() /
                                      std::chrono::nanoseconds(1)));
  const std::string now = NowRfc3339();
  const nlohmann::json body = {
      {"apiVersion", "v1"},
      {"kind", "Event"},
      {"metadata", {{"name", ev.about.name + "." + suffix}, {"namespace", ns}}},
      {"involvedObject", involved},
      {"reason", ev.reason},
      {"message", ev.message},
      {"source", {{"component", opts_.component}}},
      {"firstTimestamp", now},
      {"lastTimestamp", now},
      {"count", 1},
      {"type", ev.type == ObjectEvent::Type::kWarning ? "Warning" : "Normal"},
      {"reportingComponent", opts_.component},
      {"reportingInstance", opts_.instance},
  };
  try {
    const HttpResponse r =
        co_await client_.Request(verb::post, "/api/v1/namespaces/" + ns + "/events", body.dump());
    if (r.status / 100 != 2)
      throw ApiError::From("event " + ev.reason + " on " + ev.about.str(), r);
  } catch (const std::exception& e) {
    if (!stopped_) log::Warn("kube", e.what());
  }
}

// ---- MetalLB's status kinds --------------------------------------------------------------

Informer& KubeStore::StatusInformer(StatusKind k, const std::string& node) {
  auto it = status_informers_.find(k);
  if (it != status_informers_.end()) return *it->second;
  Resource res{kStatusApiVersion, KindName(k), StatusPath(opts_.ns, k)};
  InformerOptions iopts = opts_.informer;
  iopts.keep_raw = true;
  // A node needs every ServiceL2Status (to take over a dead owner's) but only its own
  // ServiceBGPStatus objects, one per Service and node.
  if (k == StatusKind::kBgp)
    iopts.selector = "labelSelector=" + QueryEscape(std::string(kLabelAnnounceNode) + "=" + node);
  auto inf =
      std::make_unique<Informer>(io_, client_, std::move(res), std::move(iopts),
                                 [this, k](const std::vector<StoreEvent>&) { OnStatusEvents(k); });
  Informer& ref = *inf;
  status_informers_.emplace(k, std::move(inf));
  // Not part of synced(): a cluster without these CRDs still serves Services.
  if (started_ && !stopped_) ref.Start();
  return ref;
}

std::vector<StatusObject> KubeStore::StatusObjects(StatusKind k) const {
  std::map<std::string, StatusObject> out;
  if (auto it = status_informers_.find(k); it != status_informers_.end()) {
    for (const auto& [key, entry] : it->second->cache().entries()) {
      StatusObject o = StatusObject::FromJson(entry.raw);
      out[o.name] = std::move(o);
    }
  }
  if (auto it = status_overlay_.find(k); it != status_overlay_.end()) {
    for (const auto& [name, o] : it->second) {
      if (o) {
        out[name] = *o;
      } else {
        out.erase(name);
      }
    }
  }
  std::vector<StatusObject> v;
  v.reserve(out.size());
  for (auto& [name, o] : out) v.push_back(std::move(o));
  return v;
}

void KubeStore::OnStatusEvents(StatusKind k) {
  // What the watch now shows supersedes what we remembered of our own writes.
  auto inf = status_informers_.find(k);
  auto& overlay = status_overlay_[k];
  const auto& entries = inf->second->cache().entries();
  for (auto it = overlay.begin(); it != overlay.end();) {
    auto e = entries.find(opts_.ns + "/" + it->first);
    const bool caught_up =
        it->second ? e != entries.end() && AtOrAfter(e->second.version, it->second->version)
                   : e == entries.end();
    it = caught_up ? overlay.erase(it) : std::next(it);
  }
  // Someone else's change (a deletion, an edit) is repaired like any other difference.
  KickStatus(k);
}

void KubeStore::ReportAnnouncements(const NodeAnnouncements& a) {
  if (stopped_) return;
  const bool l2 = a.protocol == NodeAnnouncements::Protocol::kL2;
  auto& want = l2 ? want_l2_ : want_bgp_;
  if (want && *want == a) return;
  want = a;
  const StatusKind k = l2 ? StatusKind::kL2 : StatusKind::kBgp;
  StatusInformer(k, a.node);
  KickStatus(k);
}

void KubeStore::ReportConfig(const ConfigReport& r) {
  if (stopped_) return;
  auto it = want_config_.find(r.component);
  if (!r.reporting) {
    if (it != want_config_.end()) want_config_.erase(it);  // a standby: hands over, writes nothing
    return;
  }
  if (it != want_config_.end() && it->second == r) return;
  want_config_[r.component] = r;
  StatusInformer(StatusKind::kConfig, r.node);
  KickStatus(StatusKind::kConfig);
}

void KubeStore::KickStatus(StatusKind k) {
  status_dirty_.insert(k);
  if (status_running_ || stopped_) return;
  status_running_ = true;
  asio::co_spawn(io_, StatusLoop(), [this](std::exception_ptr e) {
    status_running_ = false;
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      log::Error("kube", std::string("status object writer failed: ") + ex.what());
    }
  });
}

asio::awaitable<void> KubeStore::StatusLoop() {
  while (!status_dirty_.empty() && !stopped_) {
    const std::set<StatusKind> kinds = std::move(status_dirty_);
    status_dirty_.clear();
    std::vector<StatusWrite> writes;
    for (StatusKind k : kinds) {
      auto inf = status_informers_.find(k);
      // Until the first list, what exists is unknown: nothing is created twice or left stale.
      if (inf == status_informers_.end() || !inf->second->synced()) continue;
      try {
        std::vector<StatusWrite> w;
        const auto existing = StatusObjects(k);
        if (k == StatusKind::kConfig) {
          for (const auto& [component, report] : want_config_) {
            auto more =
                PlanConfigurationState(report, existing, opts_.ns, opts_.owner, NowRfc3339());
            w.insert(w.end(), more.begin(), more.end());
          }
        } else if (const auto& want = k == StatusKind::kL2 ? want_l2_ : want_bgp_) {
          w = PlanServiceStatuses(*want, existing, opts_.ns, opts_.owner);
        }
        writes.insert(writes.end(), w.begin(), w.end());
      } catch (const std::exception& e) {
        log::Warn("kube", std::string("cannot plan ") + KindName(k) + " writes: " + e.what());
      }
    }
    bool failed = false;
    for (const auto& w : writes) {
      if (stopped_) co_return;
      if (!co_await ExecuteStatusWrite(w)) {
        failed = true;
        status_dirty_.insert(w.kind);
      }
    }
    if (failed) {
      // Again after a growing pause (the API server may be down); the next report or watch
      // event may come first, which is fine: the plan is recomputed from scratch either way.
      status_backoff_ =
          std::min(std::max(status_backoff_ * 2, kStatusBackoffMin), kStatusBackoffMax);
      status_retry_timer_.expires_after(status_backoff_);
      boost::system::error_code ec;
      co_await status_retry_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    } else if (!writes.empty()) {
      status_backoff_ = std::chrono::milliseconds(0);
    }
  }
}

asio::awaitable<bool> KubeStore::ExecuteStatusWrite(const StatusWrite& w) {
  const std::string base = StatusPath(opts_.ns, w.kind);
  const std::string what = std::string(KindName(w.kind)) + " " +
                           (w.name.empty() ? std::string("(new)") : w.name) + " for " + w.about;
  auto& overlay = status_overlay_[w.kind];
  auto remember = [&](const HttpResponse& r) {
    StatusObject o = StatusObject::FromJson(nlohmann::json::parse(r.body, nullptr, false));
    if (!o.name.empty()) overlay[o.name] = o;
    return o.name;
  };
  const char* merge = "application/merge-patch+json";
  try {
    switch (w.op) {
      case StatusWrite::Op::kCreate: {
        const HttpResponse r = co_await client_.Request(verb::post, base, w.object.dump());
        if (r.status == kHttpConflict) {
          // Created meantime by another writer (a fixed name): the watch will show it.
          log::Debug("kube", what + ": exists already");
          co_return true;
        }
        if (r.status / 100 != 2) throw ApiError::From("create " + what, r);
        const std::string name = remember(r);
        ++status_object_writes_;
        // The server drops status on create (a status subresource): it is a second write.
        const HttpResponse p = co_await client_.Request(verb::patch, base + "/" + name + "/status",
                                                        w.patch.dump(), merge);
        if (p.status / 100 != 2)
          throw ApiError::From("status of " + std::string(KindName(w.kind)) + " " + name, p);
        remember(p);
        ++status_object_writes_;
        log::Debug("kube",
                   "created " + std::string(KindName(w.kind)) + " " + name + " for " + w.about);
        co_return true;
      }
      case StatusWrite::Op::kPatchStatus:
      case StatusWrite::Op::kPatchMeta: {
        const std::string path =
            base + "/" + w.name + (w.op == StatusWrite::Op::kPatchStatus ? "/status" : "");
        const HttpResponse r = co_await client_.Request(verb::patch, path, w.patch.dump(), merge);
        if (r.status == kHttpNotFound) {
          overlay[w.name] = std::nullopt;  // deleted meantime: the next plan creates it anew
          status_dirty_.insert(w.kind);
          co_return true;
        }
        if (r.status / 100 != 2) throw ApiError::From("patch " + what, r);
        remember(r);
        ++status_object_writes_;
        log::Debug("kube", "updated " + what);
        co_return true;
      }
      case StatusWrite::Op::kDelete: {
        const HttpResponse r = co_await client_.Request(verb::delete_, base + "/" + w.name);
        if (r.status != kHttpNotFound && r.status / 100 != 2)
          throw ApiError::From("delete " + what, r);
        overlay[w.name] = std::nullopt;
        if (r.status != kHttpNotFound) ++status_object_writes_;
        log::Debug("kube", "deleted " + what);
        co_return true;
      }
    }
  } catch (const std::exception& e) {
    if (!stopped_) log::Warn("kube", "cannot write " + what + ": " + e.what());
  }
  co_return false;
}

}  // namespace ironlb::kube
