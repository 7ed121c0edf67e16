#include "runtime/agent.h"

#include <malloc.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <chrono>
#include <csignal>

#include "config/validate.h"
#include "runtime/log.h"
#include "store/service_status.h"

namespace ironlb {

namespace {

// MetalLB's Event reasons, so `kubectl describe service` reads the same after a switch.
constexpr const char* kReasonAllocated = "IPAllocated";
constexpr const char* kReasonAllocationFailed = "AllocationFailed";
constexpr const char* kReasonClearAssignment = "ClearAssignment";

// How often the event loop proves it is alive (see kLoopStaleAfter).
constexpr auto kHeartbeatPeriod = std::chrono::seconds(1);

ObjectRef ServiceRef(const std::string& ns, const std::string& name) {
  return {"Service", ns, name};
}

// A batch of EndpointSlice changes only (an endpoint scaled, became ready or went): the
// controller allocates from Services, pools and namespaces, never endpoints, so it has nothing
// to do for one (at 10,000 Services its pass was most of an endpoint change's loop time). An
// empty batch (a decode error, a status read) says nothing about what changed: not this.
bool EndpointSlicesOnly(const std::vector<StoreEvent>& events) {
  return !events.empty() && std::all_of(events.begin(), events.end(), [](const StoreEvent& e) {
    return e.object.kind == "EndpointSlice";
  });
}

}  // namespace

Agent::Agent(boost::asio::io_context& io, AgentOptions opts, std::unique_ptr<ObjectStore> store)
    : io_(io),
      opts_(std::move(opts)),
      store_(std::move(store)),
      signals_(io, SIGTERM, SIGINT),
      heartbeat_(io, kHeartbeatPeriod),
      loop_watch_(io) {}

Agent::~Agent() {
  *alive_ = false;
}

void Agent::AddComponent(std::unique_ptr<SpeakerComponent> c) {
  components_.push_back(std::move(c));
}

void Agent::Start() {
  metrics_ = std::make_unique<Metrics>(
      opts_.metrics_addr,
      MetricsTls{opts_.metrics_tls_cert, opts_.metrics_tls_key, opts_.metrics_tls_client_ca});
  for (auto& c : components_) {
    c->BindMetrics(metrics_->registry());
    if (auto coll = c->ScrapeCollectable()) metrics_->AddCollectable(coll);
    c->BindEvents([this](const ObjectEvent& ev) { store_->EmitEvent(ev); });
    if (store_->WantsAnnouncements()) {
      c->BindAnnouncements([this](const NodeAnnouncements& a) {
        if (!stopping_) store_->ReportAnnouncements(a);
      });
    }
  }
  if (opts_.want_controller) {
    controller_ = std::make_unique<Controller>(ControllerOptions{opts_.lb_class});
  }
  if (!opts_.api_socket.empty()) {
    api_ = std::make_unique<LocalApi>(io_, opts_.api_socket);
    RegisterApi();
    api_->Start();
  }
  if (controller_ && leadership_) {
    log::Info("controller", "allocating only while holding " + leadership_->description());
    leadership_->Start([this](bool leader) {
      log::Info("controller", std::string(leader ? "became leader: allocating"
                                                 : "lost leadership: serving the store's status"));
      controller_due_ = true;
      if (!leader) {
        // A new controller's decisions arrive through the store; ours must not linger.
        controller_ = std::make_unique<Controller>(ControllerOptions{opts_.lb_class});
      }
      Reconcile();
    });
  }
  store_->Start([this](const std::vector<StoreEvent>& events) {
    log::Debug("agent", std::to_string(events.size()) + " change(s) from the store");
    if (!EndpointSlicesOnly(events)) controller_due_ = true;
    ScheduleReconcile();
  });
  signals_.async_wait([this](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    log::Info("agent", std::string("received ") + (sig == SIGTERM ? "SIGTERM" : "SIGINT") +
                           ", shutting down");
    Stop();
  });
  log::Info("agent", "node " + opts_.node + ", objects from " + store_->description() + ", roles " +
                         (opts_.want_controller ? "controller " : "") +
                         (opts_.want_speaker ? "speaker" : ""));
  Reconcile();
  heartbeat_.Start([this] { Heartbeat(); });
  loop_watch_.Start();
}

void Agent::Heartbeat() {
  std::vector<std::string> not_ready;
  if (stopping_) not_ready.push_back("shutting down");
  if (!store_->synced())
    not_ready.push_back("objects not yet synced from " + store_->description() +
                        (opts_.cluster() ? " (informers)" : ""));
  else if (passes_ == 0)
    not_ready.push_back("no configuration loaded yet");
  for (const auto& c : components_)
    if (auto why = c->NotReady(); !why.empty()) not_ready.push_back(c->name() + ": " + why);
  metrics_->health().Beat(std::move(not_ready));
}

void Agent::Stop() {
  if (stopping_) return;
  stopping_ = true;
  heartbeat_.Cancel();
  loop_watch_.Cancel();
  if (metrics_) metrics_->health().Beat({"shutting down"});
  signals_.cancel();
  ShutdownFrom(components_.size());
}

void Agent::ShutdownFrom(size_t remaining) {
  // One after the other, last added first (BGP withdraws before anything else), then the loop.
  if (remaining == 0) {
    auto finish = [this] {
      store_->Stop();
      io_.stop();
    };
    if (leadership_ && controller_) {
      // The Lease is released through the store's API client, over the loop: the store and the
      // loop stop once that is done (or has failed), so a standby takes over at once.
      leadership_->Stop(finish);
      return;
    }
    finish();
    return;
  }
  components_[remaining - 1]->Shutdown([this, remaining] { ShutdownFrom(remaining - 1); });
}

void Agent::ScheduleReconcile() {
  // The store has just taken in a change on this turn of the loop (at 10,000 Services its merge
  // alone is hundreds of ms): the pass gets a turn of its own, so keepalives and timers due
  // meanwhile run in between, and store changes that arrive before it are one pass.
  if (reconcile_posted_) return;
  reconcile_posted_ = true;
  boost::asio::post(io_, [this, alive = std::weak_ptr<bool>(alive_)] {
    if (alive.expired()) return;
    reconcile_posted_ = false;
    Reconcile();
  });
}

void Agent::Reconcile() {
  // Before the store's first full list a pass would see an empty cluster and withdraw
  // everything a restarted agent had left serving; the first sync triggers the first pass.
  if (stopping_ || !store_->synced()) return;
  ++passes_;
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  std::string timing;
  auto lap = [&, last = t0](const std::string& what) mutable {
    const auto now = Clock::now();
    timing +=
        " " + what + " " +
        std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(now - last).count()) +
        " ms";
    last = now;
  };
  metrics_->reconciles.Increment();
  metrics_->config_updates.Increment();
  pass_failed_ = false;
  const Snapshot& snap = store_->snapshot();

  config::ValidateOptions vo;
  // Standalone accepts metallb.io objects from any namespace unless --namespace was given.
  if (opts_.ns_explicit) vo.required_namespace = opts_.ns;
  ConfigState state;
  cfg_ = config::Validate(snap, cfg_, vo, &state);
  std::set<std::string> now;
  for (const auto& e : state.errors) {
    const auto s = e.str();
    now.insert(s);
    if (!logged_errors_.count(s)) log::Error("config", s);
  }
  for (const auto& s : logged_errors_) {
    if (!now.count(s)) log::Info("config", "resolved: " + s);
  }
  logged_errors_ = std::move(now);
  state_ = std::move(state);
  metrics_->config_reloads.Increment();
  lap("validate");

  const bool controlling = Controlling();
  ReportConfig(controlling);
  if (controlling && controller_due_) {
    ReconcileController(snap);
    ++controller_passes_;
    controller_due_ = pass_failed_;  // a status that could not be written is retried next pass
    lap("controller");
  }
  if (opts_.want_speaker) {
    // The controller's decisions reach the speakers in this same pass, from memory; the store
    // is written for other nodes and tools, and nothing here waits for it to come back.
    const Model model(cfg_, snap, controlling ? &assignments() : nullptr);
    for (auto& c : components_) {
      try {
        c->Apply(model);
      } catch (const std::exception& e) {
        log::Error(c->name(), std::string("apply failed: ") + e.what());
        pass_failed_ = true;
      }
      lap(c->name());
    }
  }
  UpdateMetrics();
  Heartbeat();  // readiness follows the first pass at once, not a second later
  // A slow pass delays every other event on the loop: say where its time went.
  const auto total = Clock::now() - t0;
  // A large pass (the first, at 10,000 Services) frees more than it keeps: its scratch (desired
  // state, diffs, the controller's working sets) stays in the heap's free lists unless returned.
  if (total > std::chrono::milliseconds(100)) malloc_trim(0);
  if (total > std::chrono::milliseconds(100))
    log::Info(
        "agent",
        "reconcile took " +
            std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(total).count()) +
            " ms:" + timing);
}

void Agent::ReportConfig(bool controlling) {
  // As MetalLB: one ConfigurationState per speaker and one for the controller, written by the
  // leader only (a standby's view may lag, and two writers would fight).
  ConfigReport r;
  r.node = opts_.node;
  for (const auto& e : state_.errors) r.errors.push_back(e.str());
  if (opts_.want_speaker) {
    r.component = ConfigReport::Component::kSpeaker;
    store_->ReportConfig(r);
  }
  if (opts_.want_controller) {
    r.component = ConfigReport::Component::kController;
    r.reporting = controlling;
    store_->ReportConfig(r);
  }
}

void Agent::ReconcileController(const Snapshot& snap) {
  auto result = controller_->Reconcile(snap, cfg_);
  for (const auto& ev : result.events) log::Info("controller", ev);
  // The decisions are read from the controller itself (assignments()), not copied: at 10,000
  // Services a copy held ~2 MB.
  WriteStatuses();
}

const std::map<std::string, ServiceStatus>& Agent::assignments() const {
  static const std::map<std::string, ServiceStatus> kNone;
  return controller_ ? controller_->assignments() : kNone;
}

void Agent::WriteStatuses() {
  std::map<std::string, ServiceStatus> recorded;
  for (auto& s : store_->statuses()) {
    const std::string key = s.key();
    recorded.emplace(key, std::move(s));
  }
  for (const auto& [key, want] : assignments()) {
    auto it = recorded.find(key);
    const bool same = it != recorded.end() && it->second == want;
    const bool ips_changed = it == recorded.end() ? !want.ips.empty() : it->second.ips != want.ips;
    const bool error_changed =
        it == recorded.end() ? !want.error.empty() : it->second.error != want.error;
    if (it != recorded.end()) recorded.erase(it);
    if (same) continue;
    try {
      store_->WriteStatus(want);
    } catch (const std::exception& e) {
      log::Error("controller", "cannot write status of " + key + ": " + e.what());
      pass_failed_ = true;
      continue;
    }
    if (!want.ips.empty() && ips_changed) {
      store_->EmitEvent({ServiceRef(want.ns, want.name), ObjectEvent::Type::kNormal,
                         kReasonAllocated, "Assigned IP [" + JoinIPs(want.ips) + "]"});
    }
    if (!want.error.empty() && (error_changed || ips_changed)) {
      store_->EmitEvent({ServiceRef(want.ns, want.name), ObjectEvent::Type::kWarning,
                         kReasonAllocationFailed,
                         "Failed to allocate IP for \"" + key + "\": " + want.error});
    }
  }
  // Whatever status is left belongs to a Service that is gone or no longer ours.
  for (const auto& [key, st] : recorded) {
    try {
      store_->RemoveStatus(st.ns, st.name);
    } catch (const std::exception& e) {
      log::Error("controller", "cannot clear status of " + key + ": " + e.what());
      pass_failed_ = true;
      continue;
    }
    if (!st.ips.empty())
      store_->EmitEvent({ServiceRef(st.ns, st.name), ObjectEvent::Type::kNormal,
                         kReasonClearAssignment, "Released IP [" + JoinIPs(st.ips) + "]"});
  }
}

void Agent::UpdateMetrics() {
  // Objects in error keep their last valid version: a configuration with some valid objects is
  // loaded, and stale while any error is in force.
  config_loaded_once_ = config_loaded_once_ || state_.valid() || !cfg_.pools.empty();
  metrics_->config_loaded.Set(config_loaded_once_ ? 1 : 0);
  metrics_->config_stale.Set(state_.valid() ? 0 : 1);
  metrics_->config_errors.Set(static_cast<double>(state_.errors.size()));
  if (pass_failed_ || !state_.valid()) metrics_->config_update_errors.Increment();
  if (!Controlling()) return;
  double pending = 0;
  for (const auto& [key, s] : assignments()) pending += s.ips.empty() ? 1 : 0;
  metrics_->services_pending.Set(pending);
  std::map<std::string, Metrics::PoolUsage> pools;
  for (const auto& [name, u] : controller_->allocator().AllUsage()) {
    auto d = [](auto v) { return static_cast<double>(v); };
    pools[name] = {d(u.size),        d(u.size_v4),     d(u.size_v6), d(u.assigned_ips),
                   d(u.assigned_v4), d(u.assigned_v6), d(u.services)};
  }
  metrics_->SetPoolUsage(pools);
}

void Agent::RegisterApi() {
  api_->Handle("/v1/alloc", [this] {
    nlohmann::json out = nlohmann::json::array();
    // Speakers and standby controllers have no allocation of their own: they show the store's.
    if (Controlling()) {
      for (const auto& [key, s] : assignments()) out.push_back(ToJson(s));
    } else {
      for (const auto& s : store_->statuses()) out.push_back(ToJson(s));
    }
    return out;
  });
  api_->Handle("/v1/config", [this] {
    nlohmann::json errs = nlohmann::json::array();
    for (const auto& e : state_.errors) {
      errs.push_back({{"file", e.file},
                      {"object", e.object.str()},
                      {"field", e.field},
                      {"message", e.message}});
    }
    nlohmann::json pools = nlohmann::json::array();
    for (const auto& [n, p] : cfg_.pools) pools.push_back(n);
    return nlohmann::json{{"valid", state_.valid()},
                          {"errors", errs},
                          {"pools", pools},
                          {"peers", cfg_.peers.size()},
                          {"l2Advertisements", cfg_.l2_advertisements.size()},
                          {"bgpAdvertisements", cfg_.bgp_advertisements.size()}};
  });
  api_->Handle("/v1/agent", [this] {
    return nlohmann::json{
        {"node", opts_.node},
        {"configDir", opts_.config_dir},
        {"store", store_->description()},
        {"synced", store_->synced()},
        {"controller", opts_.want_controller},
        {"leader", Controlling()},
        {"leadership", leadership_ ? leadership_->description() : "none (sole controller)"},
        {"speaker", opts_.want_speaker},
        // The longest the event loop was held by one piece of work since start.
        {"loopMaxHeldMs", loop_watch_.max_held().count()}};
  });
  for (auto& c : components_) {
    auto* comp = c.get();
    api_->Handle("/v1/" + comp->name(), [comp] { return comp->Status(); });
  }
}

}  // namespace ironlb
