// What the agent hands the store for MetalLB's status kinds: a ConfigurationState report per
// role after every validation (the controller's only while it leads), and whatever a component
// reports it announces, forwarded as it is.
#include <gtest/gtest.h>

#include "fake_store.h"
#include "runtime/agent.h"

namespace ironlb {
namespace {

// Reports a fixed set of announcements once bound, as the L2 and BGP components do when theirs
// change.
class AnnouncingComponent : public SpeakerComponent {
 public:
  std::string name() const override { return "announcer"; }
  void Apply(const Model&) override {
    NodeAnnouncements a;
    a.protocol = NodeAnnouncements::Protocol::kBgp;
    a.node = "node-a";
    a.services = {{"demo", "web", {}, {"router"}, {}}};
    if (report_) report_(a);
  }
  nlohmann::json Status() const override { return {}; }
  void BindAnnouncements(std::function<void(const NodeAnnouncements&)> r) override {
    report_ = std::move(r);
  }

 private:
  std::function<void(const NodeAnnouncements&)> report_;
};

struct Harness {
  boost::asio::io_context io;
  FakeStore* store = nullptr;
  std::unique_ptr<Agent> agent;
  Harness(Snapshot snap, bool controller, bool speaker) {
    AgentOptions o;
    o.node = "node-a";
    o.metrics_addr = "";
    o.api_socket = "";
    o.want_controller = controller;
    o.want_speaker = speaker;
    auto s = std::make_unique<FakeStore>();
    s->snap = std::move(snap);
    store = s.get();
    agent = std::make_unique<Agent>(io, o, std::move(s));
    agent->AddComponent(std::make_unique<AnnouncingComponent>());
    agent->Start();
  }
};

IPAddressPool BadPool() {
  IPAddressPool p;
  p.meta.ns = "ironlb-system";
  p.meta.name = "broken";
  p.addresses = {"198.51.100.300/32"};
  return p;
}

TEST(StatusReports, BothRolesReportTheSameErrorsNamingObjectAndField) {
  Snapshot snap;
  snap.pools = {BadPool()};
  Harness h(snap, /*controller=*/true, /*speaker=*/true);
  ASSERT_EQ(h.store->config_reports.size(), 2u);
  const ConfigReport& speaker = h.store->config_reports[0];
  const ConfigReport& controller = h.store->config_reports[1];
  EXPECT_EQ(speaker.component, ConfigReport::Component::kSpeaker);
  EXPECT_EQ(controller.component, ConfigReport::Component::kController);
  EXPECT_EQ(speaker.node, "node-a");
  ASSERT_EQ(speaker.errors.size(), 1u);
  EXPECT_EQ(speaker.errors, controller.errors);
  EXPECT_NE(speaker.errors[0].find("IPAddressPool ironlb-system/broken"), std::string::npos)
      << speaker.errors[0];
  EXPECT_NE(speaker.errors[0].find("spec.addresses"), std::string::npos) << speaker.errors[0];
  EXPECT_FALSE(speaker.valid());

  // Fixed: the next pass reports a valid configuration.
  h.store->snap.pools[0].addresses = {"198.51.100.10/32"};
  h.store->Changed();
  h.io.restart();  // the pass for a store change runs on its own turn of the loop
  h.io.poll();
  ASSERT_EQ(h.store->config_reports.size(), 4u);
  EXPECT_TRUE(h.store->config_reports[2].valid());
  EXPECT_TRUE(h.store->config_reports[3].valid());
}

TEST(StatusReports, ASpeakerReportsItsOwnAndForwardsAnnouncements) {
  Harness h(Snapshot{}, /*controller=*/false, /*speaker=*/true);
  ASSERT_EQ(h.store->config_reports.size(), 1u);
  EXPECT_EQ(h.store->config_reports[0].component, ConfigReport::Component::kSpeaker);
  EXPECT_TRUE(h.store->config_reports[0].valid());
  ASSERT_EQ(h.store->announcements.size(), 1u);
  EXPECT_EQ(h.store->announcements[0].services[0].peers, std::vector<std::string>{"router"});
}

TEST(StatusReports, AStandbyControllerSaysItNoLongerReports) {
  AgentOptions o;
  o.node = "node-b";
  o.metrics_addr = "";
  o.api_socket = "";
  o.want_speaker = false;
  boost::asio::io_context io;
  auto s = std::make_unique<FakeStore>();
  FakeStore* store = s.get();
  Agent agent(io, o, std::move(s));
  class Standby : public Leadership {
   public:
    void Start(std::function<void(bool)>) override {}
    void Stop(std::function<void()> done) override { done(); }
    bool leader() const override { return false; }
    std::string description() const override { return "standby"; }
  };
  agent.SetLeadership(std::make_unique<Standby>());
  agent.Start();
  ASSERT_EQ(store->config_reports.size(), 1u);
  EXPECT_EQ(store->config_reports[0].component, ConfigReport::Component::kController);
  EXPECT_FALSE(store->config_reports[0].reporting);
}

TEST(StatusReports, AControllerAloneReportsNoSpeakerState) {
  Harness h(Snapshot{}, /*controller=*/true, /*speaker=*/false);
  ASSERT_EQ(h.store->config_reports.size(), 1u);
  EXPECT_EQ(h.store->config_reports[0].component, ConfigReport::Component::kController);
  EXPECT_TRUE(h.store->announcements.empty()) << "no speaker pass, nothing announced";
}

}  // namespace
}  // namespace ironlb
