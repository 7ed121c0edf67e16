// The agent process: one io_context drives the store, validation, the controller and the
// speaker components; every change runs one level-triggered reconcile pass.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "api/local_api.h"
#include "controller/controller.h"
#include "metrics/metrics.h"
#include "model/snapshot.h"
#include "runtime/component.h"
#include "runtime/leadership.h"
#include "runtime/loop_watch.h"
#include "runtime/options.h"
#include "runtime/periodic.h"
#include "store/object_store.h"

namespace ironlb {

class Agent {
 public:
  // The agent knows its store only through the interface (FileStore standalone, KubeStore on a
  // cluster, a fake in tests). An empty opts.metrics_addr or opts.api_socket leaves that
  // endpoint closed.
  Agent(boost::asio::io_context& io, AgentOptions opts, std::unique_ptr<ObjectStore> store);
  ~Agent();

  // With several controller-capable agents (Kubernetes), only the leader allocates; the others
  // serve what the store's status says. Without one, this process is the controller. Before
  // Start().
  void SetLeadership(std::unique_ptr<Leadership> l) { leadership_ = std::move(l); }
  // Speaker components are added before Start(); the agent owns them.
  void AddComponent(std::unique_ptr<SpeakerComponent> c);
  // Loads the store, runs the first reconcile, opens the API and metrics. Throws on fatal errors.
  void Start();
  // SIGTERM/SIGINT path: components shut down in reverse order, then the io_context stops.
  void Stop();

  const Config& config() const { return cfg_; }
  const ConfigState& config_state() const { return state_; }
  // The controller's assignments of the last pass, by "ns/name" (empty without the role).
  const std::map<std::string, ServiceStatus>& assignments() const;
  size_t reconciles() const { return passes_; }
  // Passes that ran the controller (a pass whose changes are all EndpointSlices does not: no
  // allocation reads them).
  size_t controller_passes() const { return controller_passes_; }
  // What /healthz and /readyz answer (valid after Start()).
  const Health& health() const { return metrics_->health(); }

 private:
  void ShutdownFrom(size_t remaining);
  // The controller role is active: configured, and leader where a Leadership decides.
  bool Controlling() const { return controller_ && (!leadership_ || leadership_->leader()); }
  void Reconcile();
  // A pass on the next turn of the loop (store changes); several before it run as one.
  void ScheduleReconcile();
  void ReconcileController(const Snapshot& snap);
  // MetalLB's ConfigurationState for the roles this process plays, through the store.
  void ReportConfig(bool controlling);
  void WriteStatuses();
  void UpdateMetrics();
  void RegisterApi();
  // The event loop's heartbeat for /healthz, with what keeps the agent from being ready.
  void Heartbeat();

  boost::asio::io_context& io_;
  AgentOptions opts_;
  std::unique_ptr<ObjectStore> store_;
  std::unique_ptr<Controller> controller_;
  std::unique_ptr<Leadership> leadership_;
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<LocalApi> api_;
  std::vector<std::unique_ptr<SpeakerComponent>> components_;
  boost::asio::signal_set signals_;
  Periodic heartbeat_;
  LoopWatch loop_watch_;
  Config cfg_;
  ConfigState state_;
  std::set<std::string> logged_errors_;
  size_t passes_ = 0;
  size_t controller_passes_ = 0;
  // Something the controller reads may have changed since it last ran: any store change but
  // an EndpointSlice's, a change of leadership, a status that could not be written.
  bool controller_due_ = true;
  bool config_loaded_once_ = false;
  bool pass_failed_ = false;  // something of this pass could not be applied or written
  bool stopping_ = false;
  bool reconcile_posted_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // for handlers posted to io_
};

}  // namespace ironlb
