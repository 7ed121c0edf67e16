// The planning of MetalLB's status objects, without an API server: what a node wants against
// what the API holds gives exactly the creates, patches and deletes that make them agree, and
// nothing when they already do.
#include "kube/status_objects.h"

#include <gtest/gtest.h>

namespace ironlb::kube {
namespace {

using Op = StatusWrite::Op;
const std::string kNs = "ironlb-system";

NodeAnnouncements L2(const std::string& node, std::vector<ServiceAnnouncement> s) {
  return {NodeAnnouncements::Protocol::kL2, node, std::move(s)};
}

ServiceAnnouncement Svc(const std::string& name, std::vector<std::string> owners,
                        std::vector<std::string> interfaces = {}) {
  ServiceAnnouncement s;
  s.ns = "demo";
  s.name = name;
  s.owners = std::move(owners);
  s.interfaces = std::move(interfaces);
  return s;
}

// An object as the API would hold it after PlanServiceStatuses' writes for `node`.
StatusObject Existing(const std::string& name, const std::string& node, const std::string& svc,
                      nlohmann::json status) {
  StatusObject o;
  o.name = name;
  o.version = "7";
  o.labels = {
      {kLabelAnnounceNode, node}, {kLabelServiceName, svc}, {kLabelServiceNamespace, "demo"}};
  o.status = std::move(status);
  return o;
}

nlohmann::json L2Body(const std::string& node, const std::string& svc) {
  return {{"node", node}, {"serviceName", svc}, {"serviceNamespace", "demo"}};
}

TEST(PlanServiceStatuses, CreatesWithMetalLBsNameLabelsOwnerAndStatus) {
  const PodOwner pod{"speaker-x7k2p", "uid-1"};
  auto w = PlanServiceStatuses(L2("node-a", {Svc("web", {"node-a"}, {"eth0"})}), {}, kNs, pod);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].op, Op::kCreate);
  EXPECT_EQ(w[0].kind, StatusKind::kL2);
  const auto& meta = w[0].object["metadata"];
  EXPECT_EQ(w[0].object["apiVersion"], "metallb.io/v1beta1");
  EXPECT_EQ(w[0].object["kind"], "ServiceL2Status");
  EXPECT_EQ(meta["generateName"], "l2-");
  EXPECT_EQ(meta["namespace"], kNs);
  EXPECT_EQ(meta["labels"], (nlohmann::json{{"metallb.io/node", "node-a"},
                                            {"metallb.io/service-name", "web"},
                                            {"metallb.io/service-namespace", "demo"}}));
  EXPECT_EQ(
      meta["ownerReferences"],
      nlohmann::json::array(
          {{{"apiVersion", "v1"}, {"kind", "Pod"}, {"name", "speaker-x7k2p"}, {"uid", "uid-1"}}}));
  nlohmann::json want = L2Body("node-a", "web");
  want["interfaces"] = nlohmann::json::array({{{"name", "eth0"}}});
  EXPECT_EQ(w[0].patch, (nlohmann::json{{"status", want}}));
}

TEST(PlanServiceStatuses, NothingWhenTheApiAlreadySaysSo) {
  auto want = L2("node-a", {Svc("web", {"node-a"})});
  auto w = PlanServiceStatuses(
      want, {Existing("l2-abcde", "node-a", "web", L2Body("node-a", "web"))}, kNs, std::nullopt);
  EXPECT_TRUE(w.empty());
}

TEST(PlanServiceStatuses, PatchesAChangedStatusNullingWhatIsGone) {
  nlohmann::json had = L2Body("node-a", "web");
  had["interfaces"] = nlohmann::json::array({{{"name", "eth1"}}});
  auto w = PlanServiceStatuses(L2("node-a", {Svc("web", {"node-a"})}),
                               {Existing("l2-abcde", "node-a", "web", had)}, kNs, std::nullopt);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].op, Op::kPatchStatus);
  EXPECT_EQ(w[0].name, "l2-abcde");
  EXPECT_TRUE(w[0].patch["status"]["interfaces"].is_null()) << w[0].patch;
}

TEST(PlanServiceStatuses, StaleOwnAndDuplicateObjectsAreDeleted) {
  // At start: this node left one for a Service it no longer owns and two for one it does.
  auto w = PlanServiceStatuses(L2("node-a", {Svc("web", {"node-a"})}),
                               {Existing("l2-aaaaa", "node-a", "old", L2Body("node-a", "old")),
                                Existing("l2-bbbbb", "node-a", "web", L2Body("node-a", "web")),
                                Existing("l2-ccccc", "node-a", "web", L2Body("node-a", "web"))},
                               kNs, std::nullopt);
  ASSERT_EQ(w.size(), 2u);
  EXPECT_EQ(w[0].op, Op::kDelete);
  EXPECT_EQ(w[0].name, "l2-aaaaa");
  EXPECT_EQ(w[1].op, Op::kDelete);
  EXPECT_EQ(w[1].name, "l2-ccccc");
}

TEST(PlanServiceStatuses, TheNewOwnerRemovesADeadOwnersObjectButNotACoOwners) {
  const std::vector<StatusObject> api = {
      Existing("l2-dead1", "node-b", "web", L2Body("node-b", "web")),
      Existing("l2-both1", "node-c", "dual", L2Body("node-c", "dual")),
      Existing("l2-other", "node-b", "elsewhere", L2Body("node-b", "elsewhere"))};
  auto w =
      PlanServiceStatuses(L2("node-a", {Svc("web", {"node-a"}), Svc("dual", {"node-a", "node-c"})}),
                          api, kNs, std::nullopt);
  std::vector<std::string> deleted;
  int creates = 0;
  for (const auto& x : w) {
    if (x.op == Op::kDelete) deleted.push_back(x.name);
    if (x.op == Op::kCreate) ++creates;
  }
  EXPECT_EQ(deleted, std::vector<std::string>{"l2-dead1"})
      << "node-c still owns one of dual's addresses; elsewhere is not ours to judge";
  EXPECT_EQ(creates, 2);
}

TEST(PlanServiceStatuses, BgpKeepsOtherNodesObjectsAndListsPeers) {
  NodeAnnouncements want{NodeAnnouncements::Protocol::kBgp, "node-a", {}};
  ServiceAnnouncement s;
  s.ns = "demo";
  s.name = "web";
  s.peers = {"router-1", "router-2"};
  want.services = {s};
  auto w =
      PlanServiceStatuses(want, {Existing("bgp-other", "node-b", "web", {})}, kNs, std::nullopt);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].op, Op::kCreate);
  EXPECT_EQ(w[0].object["kind"], "ServiceBGPStatus");
  EXPECT_EQ(w[0].object["metadata"]["generateName"], "bgp-");
  EXPECT_EQ(w[0].patch["status"]["peers"], nlohmann::json::array({"router-1", "router-2"}));
  EXPECT_FALSE(w[0].object["metadata"].contains("ownerReferences"));
}

TEST(PlanServiceStatuses, ARestartedPodAdoptsItsObjects) {
  StatusObject o = Existing("l2-abcde", "node-a", "web", L2Body("node-a", "web"));
  o.owner_refs = nlohmann::json::array(
      {{{"apiVersion", "v1"}, {"kind", "Pod"}, {"name", "speaker-old"}, {"uid", "uid-old"}}});
  auto w = PlanServiceStatuses(L2("node-a", {Svc("web", {"node-a"})}), {o}, kNs,
                               PodOwner{"speaker-new", "uid-new"});
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].op, Op::kPatchMeta);
  EXPECT_EQ(w[0].patch["metadata"]["ownerReferences"][0]["uid"], "uid-new");
}

TEST(PlanServiceStatuses, ObjectsWithoutLabelsAreLeftAlone) {
  StatusObject o;
  o.name = "hand-made";
  EXPECT_TRUE(PlanServiceStatuses(L2("node-a", {}), {o}, kNs, std::nullopt).empty());
}

ConfigReport Report(ConfigReport::Component c, std::vector<std::string> errors) {
  ConfigReport r;
  r.component = c;
  r.node = "node-a";
  r.errors = std::move(errors);
  return r;
}

StatusObject Applied(const StatusWrite& create) {
  StatusObject o = StatusObject::FromJson(create.object);
  o.name = create.object["metadata"]["name"];
  o.status = create.patch["status"];
  return o;
}

TEST(PlanConfigurationState, InvalidThenValidAsMetalLBWritesIt) {
  const std::string err =
      "api: IPAddressPool ironlb-system/broken: spec.addresses[0]: not an address";
  auto w = PlanConfigurationState(Report(ConfigReport::Component::kSpeaker, {err}), {}, kNs,
                                  std::nullopt, "2026-12-03T13:00:00Z");
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].op, Op::kCreate);
  EXPECT_EQ(w[0].object["metadata"]["name"], "speaker-node-a");
  EXPECT_EQ(w[0].object["metadata"]["labels"],
            (nlohmann::json{{"metallb.io/component-type", "speaker"},
                            {"metallb.io/node-name", "node-a"}}));
  const auto& st = w[0].patch["status"];
  EXPECT_EQ(st["result"], "Invalid");
  EXPECT_EQ(st["errorSummary"], err);
  EXPECT_EQ(st["conditions"][0]["type"], "configReconcilerValid");
  EXPECT_EQ(st["conditions"][0]["status"], "False");
  EXPECT_EQ(st["conditions"][0]["reason"], "ConfigurationError");

  // The same errors a second later: no write (the condition's time is not a change).
  StatusObject have = Applied(w[0]);
  EXPECT_TRUE(PlanConfigurationState(Report(ConfigReport::Component::kSpeaker, {err}), {have}, kNs,
                                     std::nullopt, "2026-12-03T13:00:01Z")
                  .empty());

  // Fixed: Valid, errorSummary removed.
  auto fixed = PlanConfigurationState(Report(ConfigReport::Component::kSpeaker, {}), {have}, kNs,
                                      std::nullopt, "2026-12-03T13:00:02Z");
  ASSERT_EQ(fixed.size(), 1u);
  EXPECT_EQ(fixed[0].op, Op::kPatchStatus);
  EXPECT_EQ(fixed[0].patch["status"]["result"], "Valid");
  EXPECT_TRUE(fixed[0].patch["status"]["errorSummary"].is_null());
  EXPECT_EQ(fixed[0].patch["status"]["conditions"][0]["reason"], "Reconciled");
}

TEST(PlanConfigurationState, TheControllerHasItsOwnObject) {
  auto w = PlanConfigurationState(Report(ConfigReport::Component::kController, {}), {}, kNs,
                                  std::nullopt, "2026-12-03T13:00:00Z");
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].object["metadata"]["name"], "controller");
  EXPECT_EQ(w[0].object["metadata"]["labels"],
            (nlohmann::json{{"metallb.io/component-type", "controller"}}));
  EXPECT_EQ(w[0].patch["status"]["result"], "Valid");
}

TEST(PlanConfigurationState, AHugeSummaryIsCutToWhatAConditionHolds) {
  std::vector<std::string> errors(5000, std::string(100, 'x'));
  auto w = PlanConfigurationState(Report(ConfigReport::Component::kSpeaker, errors), {}, kNs,
                                  std::nullopt, "2026-12-03T13:00:00Z");
  EXPECT_LE(w[0].patch["status"]["conditions"][0]["message"].get<std::string>().size(), 32768u);
}

}  // namespace
}  // namespace ironlb::kube
