// The agent's pass driven through a fake store: the controller's decisions reach the speakers in
// the same pass from memory, status is written once per change, events carry MetalLB's reasons.
#include "runtime/agent.h"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>

#include "fake_store.h"

namespace ironlb {
namespace {

// Records what each Apply saw, as a speaker would read it.
class RecordingComponent : public SpeakerComponent {
 public:
  std::string name() const override { return "recorder"; }
  void Apply(const Model& model) override {
    std::map<std::string, std::vector<IPAddr>> seen;
    for (const Service& s : model.snap().services) seen[s.key()] = model.Ingress(s);
    passes.push_back(std::move(seen));
  }
  nlohmann::json Status() const override { return {}; }
  std::string NotReady() const override { return not_ready; }
  std::vector<std::map<std::string, std::vector<IPAddr>>> passes;
  std::string not_ready;
};

IPAddressPool Pool(const std::string& first, const std::string& last) {
  IPAddressPool p;
  p.meta.name = "public";
  p.addresses = {first + "-" + last};
  return p;
}

Service LB(const std::string& name) {
  Service s;
  s.meta.ns = "demo";
  s.meta.name = name;
  s.type = "LoadBalancer";
  s.ports = {{"http", "TCP", 80, "8080", 0}};
  return s;
}

// A Lease the test hands out and takes back; Stop answers only when the test says so, as a
// release over the network would.
class FakeLeadership : public Leadership {
 public:
  void Start(std::function<void(bool)> on_change) override { on_change_ = std::move(on_change); }
  void Stop(std::function<void()> done) override { stop_done = std::move(done); }
  bool leader() const override { return leader_; }
  std::string description() const override { return "fake lease"; }
  void Set(bool l) {
    leader_ = l;
    on_change_(l);
  }
  std::function<void()> stop_done;

 private:
  bool leader_ = false;
  std::function<void(bool)> on_change_;
};

struct Harness {
  boost::asio::io_context io;
  FakeStore* store = nullptr;
  RecordingComponent* rec = nullptr;
  FakeLeadership* lease = nullptr;
  std::unique_ptr<Agent> agent;

  explicit Harness(Snapshot snap, bool controller = true, bool synced = true,
                   bool with_lease = false) {
    AgentOptions o;
    o.node = "node-a";
    o.metrics_addr = "";
    o.api_socket = "";
    o.want_controller = controller;
    auto s = std::make_unique<FakeStore>();
    s->snap = std::move(snap);
    s->is_synced = synced;
    store = s.get();
    agent = std::make_unique<Agent>(io, o, std::move(s));
    auto r = std::make_unique<RecordingComponent>();
    rec = r.get();
    agent->AddComponent(std::move(r));
    if (with_lease) {
      auto l = std::make_unique<FakeLeadership>();
      lease = l.get();
      agent->SetLeadership(std::move(l));
    }
    agent->Start();
  }
  // A store change, and the pass the agent schedules for it on the loop.
  void Changed(const std::vector<StoreEvent>& batch = {}) {
    store->Changed(batch);
    io.restart();
    io.poll();
  }
};

TEST(Agent, ControllerDecisionReachesSpeakersInTheSamePass) {
  Snapshot snap;
  snap.pools = {Pool("192.0.2.10", "192.0.2.11")};
  snap.services = {LB("web")};
  Harness h(snap);
  ASSERT_EQ(h.rec->passes.size(), 1u) << "one pass at start, no second pass waiting on status";
  EXPECT_EQ(h.rec->passes[0].at("demo/web"), std::vector<IPAddr>{*IPAddr::Parse("192.0.2.10")});
  // The store never echoed the status back into the Service: speakers did not need it.
  EXPECT_TRUE(h.store->snap.services[0].ingress.empty());
  ASSERT_EQ(h.store->writes.size(), 1u);
  EXPECT_EQ(h.store->writes[0].pool, "public");
  ASSERT_EQ(h.store->events.size(), 1u);
  EXPECT_EQ(h.store->events[0].reason, "IPAllocated");
  EXPECT_EQ(h.store->events[0].about, (ObjectRef{"Service", "demo", "web"}));
}

TEST(Agent, EndpointSliceOnlyBatchSkipsTheControllerServiceBatchRunsIt) {
  Snapshot snap;
  snap.pools = {Pool("192.0.2.10", "192.0.2.11")};
  snap.services = {LB("web")};
  Harness h(snap);
  ASSERT_EQ(h.agent->controller_passes(), 1u);
  const StoreEvent slice{StoreEvent::Type::kModified, {"EndpointSlice", "demo", "web-1"}, "2"};
  h.Changed({slice, slice});
  EXPECT_EQ(h.agent->controller_passes(), 1u) << "nothing for the allocator in endpoints";
  EXPECT_EQ(h.rec->passes.size(), 2u) << "the speakers still get the pass";
  EXPECT_EQ(h.rec->passes.back().at("demo/web"), std::vector<IPAddr>{*IPAddr::Parse("192.0.2.10")});
  // A Service in the batch, or a batch that does not say what changed: the controller runs.
  h.store->snap.services.push_back(LB("api"));
  h.Changed({slice, {StoreEvent::Type::kAdded, {"Service", "demo", "api"}, "3"}});
  EXPECT_EQ(h.agent->controller_passes(), 2u);
  EXPECT_EQ(h.rec->passes.back().at("demo/api"), std::vector<IPAddr>{*IPAddr::Parse("192.0.2.11")});
  h.Changed();
  EXPECT_EQ(h.agent->controller_passes(), 3u);
  // A slice batch after an allocation keeps the allocation as it was.
  h.Changed({slice});
  EXPECT_EQ(h.agent->controller_passes(), 3u);
  EXPECT_EQ(h.rec->passes.back().at("demo/api"), std::vector<IPAddr>{*IPAddr::Parse("192.0.2.11")});
}

TEST(Agent, StoreChangesBeforeTheLoopTurnsAreOnePassOfTheirOwn) {
  Snapshot snap;
  snap.pools = {Pool("192.0.2.10", "192.0.2.11")};
  Harness h(snap);
  const size_t before = h.rec->passes.size();
  // Not inside the store's own handler (its merge already held the loop), but on the next turn,
  // once for however many changes arrived meanwhile.
  h.store->Changed();
  h.store->Changed();
  h.store->Changed();
  EXPECT_EQ(h.rec->passes.size(), before);
  h.io.restart();
  h.io.poll();
  EXPECT_EQ(h.rec->passes.size(), before + 1);
}

TEST(Agent, UnchangedAssignmentIsNotWrittenAgainAndReleaseClearsIt) {
  Snapshot snap;
  snap.pools = {Pool("192.0.2.10", "192.0.2.11")};
  snap.services = {LB("web")};
  Harness h(snap);
  h.Changed();
  EXPECT_EQ(h.store->writes.size(), 1u);
  EXPECT_EQ(h.store->events.size(), 1u);
  h.store->snap.services.clear();
  h.Changed();
  ASSERT_EQ(h.store->removals, std::vector<std::string>{"demo/web"});
  EXPECT_EQ(h.store->events.back().reason, "ClearAssignment");
  EXPECT_TRUE(h.rec->passes.back().empty());
}

TEST(Agent, ExhaustedPoolEmitsAllocationFailedOnce) {
  Snapshot snap;
  snap.pools = {Pool("192.0.2.10", "192.0.2.10")};
  snap.services = {LB("a"), LB("b")};
  Harness h(snap);
  h.Changed();
  size_t failed = 0;
  for (const auto& e : h.store->events)
    if (e.reason == "AllocationFailed") {
      ++failed;
      EXPECT_EQ(e.type, ObjectEvent::Type::kWarning);
      EXPECT_EQ(e.about.name, "b");
    }
  EXPECT_EQ(failed, 1u);
  EXPECT_TRUE(h.rec->passes.back().at("demo/b").empty());
}

TEST(Agent, SpeakerOnlyReadsAssignmentsFromTheStore) {
  Snapshot snap;
  snap.pools = {Pool("192.0.2.10", "192.0.2.11")};
  Service web = LB("web");
  web.ingress = {{IPAddr::Parse("192.0.2.11"), "", "VIP"}};
  snap.services = {web};
  Harness h(snap, /*controller=*/false);
  EXPECT_TRUE(h.store->writes.empty());
  EXPECT_EQ(h.rec->passes[0].at("demo/web"), std::vector<IPAddr>{*IPAddr::Parse("192.0.2.11")});
}

TEST(Agent, OnlyTheLeaseHolderAllocates) {
  Snapshot snap;
  snap.pools = {Pool("192.0.2.10", "192.0.2.11")};
  snap.services = {LB("web"), LB("api")};
  // Another replica's decision, as the store shows it.
  snap.services[0].ingress = {{IPAddr::Parse("192.0.2.11"), "", "VIP"}};
  Harness h(snap, /*controller=*/true, /*synced=*/true, /*with_lease=*/true);
  EXPECT_TRUE(h.store->writes.empty()) << "a standby writes no status";
  EXPECT_TRUE(h.store->events.empty());
  EXPECT_EQ(h.rec->passes.back().at("demo/web"), std::vector<IPAddr>{*IPAddr::Parse("192.0.2.11")});
  EXPECT_TRUE(h.rec->passes.back().at("demo/api").empty());

  h.lease->Set(true);  // the Lease is ours: allocate, keeping what the store already records
  ASSERT_EQ(h.store->writes.size(), 2u);
  EXPECT_EQ(h.rec->passes.back().at("demo/web"), std::vector<IPAddr>{*IPAddr::Parse("192.0.2.11")});
  EXPECT_EQ(h.rec->passes.back().at("demo/api"), std::vector<IPAddr>{*IPAddr::Parse("192.0.2.10")});

  h.lease->Set(false);  // lost: back to serving what the store says, writing nothing
  const size_t writes = h.store->writes.size();
  h.store->snap.services.push_back(LB("db"));
  h.Changed();
  EXPECT_EQ(h.store->writes.size(), writes);
  EXPECT_TRUE(h.rec->passes.back().at("demo/db").empty());
}

TEST(Agent, ShutdownReleasesTheLeaseBeforeTheLoopStops) {
  Snapshot snap;
  Harness h(snap, /*controller=*/true, /*synced=*/true, /*with_lease=*/true);
  h.lease->Set(true);
  auto busy = boost::asio::make_work_guard(h.io);  // out of work must not read as "stopped"
  h.agent->Stop();
  h.io.run_for(std::chrono::milliseconds(20));
  ASSERT_TRUE(h.lease->stop_done) << "the agent asked the lease to release";
  EXPECT_FALSE(h.io.stopped()) << "the loop must keep running until the release is done";
  h.lease->stop_done();
  EXPECT_TRUE(h.io.stopped());
}

TEST(Agent, ReadyOnceObjectsSyncedAndEveryComponentCanServe) {
  Snapshot snap;
  snap.pools = {Pool("192.0.2.10", "192.0.2.11")};
  Harness h(snap, /*controller=*/true, /*synced=*/false);
  EXPECT_TRUE(h.agent->health().Live().ok) << "the loop beat at start";
  auto r = h.agent->health().Ready();
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.detail.find("not yet synced"), std::string::npos) << r.detail;
  EXPECT_TRUE(h.rec->passes.empty());

  h.rec->not_ready = "XDP not attached on eth9";
  h.store->is_synced = true;
  h.Changed();
  r = h.agent->health().Ready();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.detail.find("synced"), std::string::npos) << r.detail;
  EXPECT_NE(r.detail.find("recorder: XDP not attached on eth9"), std::string::npos) << r.detail;

  h.rec->not_ready.clear();
  h.Changed();
  EXPECT_TRUE(h.agent->health().Ready().ok) << h.agent->health().Ready().detail;
  h.agent->Stop();
  EXPECT_FALSE(h.agent->health().Ready().ok) << "not ready while shutting down";
}

}  // namespace
}  // namespace ironlb
