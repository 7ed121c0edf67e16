// KubeStore: the ObjectStore backed by the Kubernetes API. Informers keep the objects ironlb
// reads (Services, EndpointSlices, Nodes, Namespaces, Secrets, the metallb.io kinds in the
// agent's namespace); the controller's decisions go back as Service status, the
// allocated-from-pool annotation and core/v1 Events, and what each node announces and validates
// as MetalLB's status kinds (kube/status_objects.h). All on the agent's io_context.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "kube/api_client.h"
#include "kube/asio_coroutine.h"
#include "kube/informer.h"
#include "kube/status_objects.h"
#include "store/object_store.h"

namespace ironlb::kube {

struct KubeStoreOptions {
  std::string ns = "ironlb-system";  // where the metallb.io objects live
  RateLimit rate_limit;
  InformerOptions informer;
  std::chrono::milliseconds settle{50};  // changes within this window reach on_change together
  std::string component = "metallb-controller";  // Event source, as MetalLB reports it
  std::string instance;                          // Event reportingInstance (the node)
  // A Secret in `ns` created at start when missing, holding a random `secretkey` (MetalLB's
  // controller does this for its memberlist Secret): the L2 heartbeat key, so that failover
  // works without a manual step. Empty: none. An existing Secret is never touched.
  std::string create_key_secret;
  // The pod the agent runs in: the owner of the status objects it writes, as MetalLB sets its
  // speaker's or controller's pod, so they go with the pod. Unset (outside a pod): no owner.
  std::optional<PodOwner> owner;
};

class KubeStore : public ObjectStore {
 public:
  KubeStore(boost::asio::io_context& io, ClusterConfig cfg, KubeStoreOptions opts);
  ~KubeStore() override;

  void Start(ChangeHandler on_change) override;
  // Cancels the watches, timers and requests; their coroutines finish on the io_context, so
  // let it run (the agent's shutdown does) before destroying the store.
  void Stop() override;
  const Snapshot& snapshot() const override { return snapshot_; }
  bool synced() const override { return synced_; }
  std::string description() const override;
  std::vector<ServiceStatus> statuses() const override;
  void WriteStatus(const ServiceStatus& s) override;
  void RemoveStatus(const std::string& ns, const std::string& name) override;
  void EmitEvent(const ObjectEvent& ev) override;
  void ReportAnnouncements(const NodeAnnouncements& a) override;
  bool WantsAnnouncements() const override { return true; }
  void ReportConfig(const ConfigReport& r) override;

  ApiClient& client() { return client_; }
  const std::vector<std::unique_ptr<Informer>>& informers() const { return informers_; }
  uint64_t status_writes() const { return status_writes_; }
  // Writes of MetalLB's status kinds (creates, patches, deletes) that succeeded.
  uint64_t status_object_writes() const { return status_object_writes_; }

 private:
  // What this store last wrote for a Service (or that it removed the assignment), so that the
  // agent's next pass does not write it again before the watch shows it.
  struct Written {
    std::optional<ServiceStatus> status;  // nullopt: removed
    std::string version;                  // resourceVersion our last write produced
    bool in_flight = false;
    bool rewrite = false;  // changed again while in flight
  };

  void OnEvents(const std::vector<StoreEvent>& events);
  void Flush();
  void Rebuild();
  void ForgetOutdatedWrites(const std::vector<StoreEvent>& events);
  void StartWrite(const std::string& key);
  boost::asio::awaitable<void> WriteLoop(std::string key);
  boost::asio::awaitable<void> SendEvent(ObjectEvent ev);
  void StartEvent(ObjectEvent ev);
  boost::asio::awaitable<void> EnsureKeySecret();
  const Service* FindService(const std::string& key) const;

  // MetalLB's status kinds: an informer per kind, started when something of the kind is first
  // reported; what the node wants them to say; what this store wrote that the watch has not
  // shown yet (nullopt: deleted); and one writer coroutine that makes the API agree.
  Informer& StatusInformer(StatusKind k, const std::string& node);
  std::vector<StatusObject> StatusObjects(StatusKind k) const;
  void OnStatusEvents(StatusKind k);
  void KickStatus(StatusKind k);
  boost::asio::awaitable<void> StatusLoop();
  // Returns false when the write failed (retried later).
  boost::asio::awaitable<bool> ExecuteStatusWrite(const StatusWrite& w);

  boost::asio::io_context& io_;
  KubeStoreOptions opts_;
  ApiClient client_;
  std::vector<std::unique_ptr<Informer>> informers_;
  ChangeHandler on_change_;
  boost::asio::steady_timer settle_timer_;
  boost::asio::steady_timer key_secret_timer_;
  bool settle_armed_ = false;
  std::vector<StoreEvent> pending_;
  Snapshot snapshot_;
  std::map<std::string, size_t> service_index_;  // ns/name -> index in snapshot_.services
  std::map<std::string, Written> written_;
  bool synced_ = false;
  bool stopped_ = false;
  uint64_t status_writes_ = 0;
  size_t events_in_flight_ = 0;
  std::deque<ObjectEvent> events_waiting_;  // beyond kMaxEventsInFlight, sent as others finish

  std::map<StatusKind, std::unique_ptr<Informer>> status_informers_;
  std::map<StatusKind, std::map<std::string, std::optional<StatusObject>>> status_overlay_;
  std::optional<NodeAnnouncements> want_l2_, want_bgp_;
  std::map<ConfigReport::Component, ConfigReport> want_config_;
  std::set<StatusKind> status_dirty_;
  bool status_running_ = false;
  bool started_ = false;
  boost::asio::steady_timer status_retry_timer_;
  std::chrono::milliseconds status_backoff_{0};
  uint64_t status_object_writes_ = 0;
};

}  // namespace ironlb::kube
