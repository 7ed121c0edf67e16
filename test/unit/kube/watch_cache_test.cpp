// The informer's state machine fed with responses recorded from a real kube-apiserver: lists,
// watch streams, bookmarks and 410s change the cache exactly once per real change.
#include "kube/watch_cache.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace ironlb::kube {
namespace {

using Type = StoreEvent::Type;

std::string Fixture(const std::string& name) {
  std::ifstream in(std::string(IRONLB_FIXTURES_DIR) + "/kube/" + name);
  EXPECT_TRUE(in) << "missing fixture " << name;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

nlohmann::json Json(const std::string& name) {
  return nlohmann::json::parse(Fixture(name));
}

std::vector<nlohmann::json> Items(const nlohmann::json& list) {
  return {list["items"].begin(), list["items"].end()};
}

std::vector<nlohmann::json> Lines(const std::string& name) {
  std::vector<nlohmann::json> out;
  std::istringstream in(Fixture(name));
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  }
  return out;
}

StoreEvent Ev(Type t, const std::string& ns, const std::string& name, const std::string& v) {
  return StoreEvent{t, {"Service", ns, name}, v};
}

const Service* Find(const WatchCache& c, const std::string& key) {
  auto it = c.entries().find(key);
  if (it == c.entries().end() || it->second.decoded.services.size() != 1) return nullptr;
  return &it->second.decoded.services[0];
}

TEST(WatchCache, ListThenRecordedWatchGivesEachChangeOnce) {
  WatchCache cache("v1", "Service");
  const auto list = Json("03_list_services.json");
  const auto added = cache.Replace(Items(list), "202");
  ASSERT_EQ(added.size(), 4u);
  EXPECT_EQ(cache.version(), "202");
  for (const auto& e : added) EXPECT_EQ(e.type, Type::kAdded);

  std::vector<StoreEvent> changes;
  std::vector<WatchCache::Outcome> outcomes;
  for (const auto& ev : Lines("04_watch_services.ndjson"))
    outcomes.push_back(cache.Apply(ev, &changes, nullptr));
  EXPECT_EQ(changes, (std::vector<StoreEvent>{Ev(Type::kAdded, "demo", "web-temp", "207"),
                                              Ev(Type::kModified, "demo", "web-temp", "208"),
                                              Ev(Type::kModified, "demo", "web-lb", "209"),
                                              Ev(Type::kDeleted, "demo", "web-temp", "210")}));
  EXPECT_EQ(outcomes.back(), WatchCache::Outcome::kBookmark);
  EXPECT_EQ(cache.version(), "210");  // the next watch starts after the bookmark
  const Service* web = Find(cache, "demo/web-lb");
  ASSERT_NE(web, nullptr);
  ASSERT_EQ(web->ingress.size(), 1u);
  ASSERT_TRUE(web->ingress[0].ip);
  EXPECT_EQ(web->ingress[0].ip->str(), "192.0.2.10");
  EXPECT_EQ(web->type, "LoadBalancer");
  EXPECT_EQ(web->external_traffic_policy, "Local");
  EXPECT_EQ(web->meta.source, "api");
  EXPECT_TRUE(cache.entries().find("demo/web-temp") == cache.entries().end());
}

TEST(WatchCache, ReplayedEventsAreNotRepeated) {
  // A watch from resourceVersion 1 replays the whole history; an event for the version the
  // cache already holds (a reconnect that repeats the last event) is no change.
  WatchCache cache("v1", "Service");
  std::vector<StoreEvent> first, again;
  const auto lines = Lines("05_watch_services_rv1_replayed_by_fresh_watch_cache.ndjson");
  for (const auto& ev : lines) cache.Apply(ev, &first, nullptr);
  EXPECT_EQ(first.size(), lines.size());
  for (const auto& ev : lines) {
    const auto key = ev["object"]["metadata"]["namespace"].get<std::string>() + "/" +
                     ev["object"]["metadata"]["name"].get<std::string>();
    auto it = cache.entries().find(key);
    if (it != cache.entries().end() &&
        it->second.version == ev["object"]["metadata"]["resourceVersion"]) {
      EXPECT_EQ(cache.Apply(ev, &again, nullptr), WatchCache::Outcome::kApplied);
    }
  }
  EXPECT_TRUE(again.empty());
}

TEST(WatchCache, RecordedGoneIsExpiredAndRelistDiffsOnlyRealChanges) {
  WatchCache cache("v1", "Service");
  cache.Replace(Items(Json("03_list_services.json")), "202");
  std::vector<StoreEvent> changes;
  std::string why;
  const auto gone = Lines("05_watch_services_stale_rv202_after_apiserver_restart.ndjson");
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_EQ(cache.Apply(gone[0], &changes, &why), WatchCache::Outcome::kExpired);
  EXPECT_EQ(why, "too old resource version: 202 (217)");
  EXPECT_TRUE(changes.empty());

  // The relist after the restart: web-lb's status changed (209) while we were not watching;
  // web-temp came and went (never seen: no event at all); the rest is unchanged.
  const auto relist =
      cache.Replace(Items(Json("05_list_services_after_apiserver_restart.json")), "218");
  EXPECT_EQ(cache.version(), "218");
  for (const auto& e : relist) {
    EXPECT_NE(e.object.name, "web-temp");
    EXPECT_NE(e.object.name, "kubernetes");
  }
  bool web_lb_modified = false;
  for (const auto& e : relist)
    web_lb_modified |= e.object.name == "web-lb" && e.type == Type::kModified;
  EXPECT_TRUE(web_lb_modified);

  // The same list again is no change at all.
  EXPECT_TRUE(
      cache.Replace(Items(Json("05_list_services_after_apiserver_restart.json")), "218").empty());
  // And an object missing from a relist is reported deleted, at its last version.
  auto items = Items(Json("05_list_services_after_apiserver_restart.json"));
  const std::string last = items.back()["metadata"]["resourceVersion"];
  const std::string name = items.back()["metadata"]["name"];
  items.pop_back();
  EXPECT_EQ(cache.Replace(items, "219"),
            (std::vector<StoreEvent>{Ev(Type::kDeleted, "demo", name, last)}));
}

TEST(WatchCache, CustomResourcesListAndWatchAsRecorded) {
  WatchCache cache("metallb.io/v1beta1", "IPAddressPool");
  const auto added = cache.Replace(Items(Json("09_list_ipaddresspools.json")), "240");
  ASSERT_EQ(added.size(), 2u);
  for (const auto& [key, e] : cache.entries()) {
    EXPECT_TRUE(e.decoded.decode_errors.empty()) << key << ": " << e.decoded.decode_errors[0].str();
    EXPECT_EQ(e.decoded.pools.size(), 1u) << key;
  }
  std::vector<StoreEvent> changes;
  for (const auto& ev : Lines("09_watch_ipaddresspools.ndjson")) cache.Apply(ev, &changes, nullptr);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].type, Type::kModified);
  EXPECT_EQ(changes[0].object, (ObjectRef{"IPAddressPool", "demo", "pool-a"}));
  EXPECT_EQ(cache.version(), "242");
}

TEST(WatchCache, CoreKindsDecodeFromRecordedLists) {
  WatchCache nodes("v1", "Node");
  nodes.Replace(Items(Json("03_list_nodes.json")), "1");
  ASSERT_EQ(nodes.entries().size(), 2u);
  const auto& b = nodes.entries().at("node-b").decoded;
  ASSERT_EQ(b.nodes.size(), 1u);
  EXPECT_EQ(b.nodes[0].ready, std::optional<bool>(false));
  EXPECT_EQ(b.nodes[0].meta.labels.count("node.kubernetes.io/exclude-from-external-load-balancers"),
            1u);

  WatchCache slices("discovery.k8s.io/v1", "EndpointSlice");
  slices.Replace(Items(Json("03_list_endpointslices.json")), "1");
  ASSERT_EQ(slices.entries().size(), 1u);
  const auto& es = slices.entries().begin()->second.decoded;
  ASSERT_EQ(es.endpoint_slices.size(), 1u)
      << (es.decode_errors.empty() ? "" : es.decode_errors[0].str());
  EXPECT_EQ(es.endpoint_slices[0].endpoints.size(), 3u);
  EXPECT_EQ(es.endpoint_slices[0].service_name(), "web-lb");

  WatchCache namespaces("v1", "Namespace");
  namespaces.Replace(Items(Json("03_list_namespaces.json")), "1");
  EXPECT_EQ(namespaces.entries().size(), 5u);
}

TEST(WatchCache, BadObjectIsAnErrorOfItsOwnAndOtherEventsAreNotWatchEvents) {
  WatchCache cache("metallb.io/v1beta1", "IPAddressPool");
  nlohmann::json bad = {{"apiVersion", "metallb.io/v1beta1"},
                        {"kind", "IPAddressPool"},
                        {"metadata", {{"name", "p"}, {"namespace", "x"}, {"resourceVersion", "5"}}},
                        {"spec", {{"addresses", "not-a-list"}}}};
  std::vector<StoreEvent> changes;
  EXPECT_EQ(cache.Apply({{"type", "ADDED"}, {"object", bad}}, &changes, nullptr),
            WatchCache::Outcome::kApplied);
  const auto& d = cache.entries().at("x/p").decoded;
  ASSERT_EQ(d.decode_errors.size(), 1u);
  EXPECT_EQ(d.decode_errors[0].field, "spec.addresses");
  EXPECT_EQ(d.decode_errors[0].object.name, "p");

  std::string why;
  EXPECT_EQ(cache.Apply(nlohmann::json::parse("[1]"), &changes, &why), WatchCache::Outcome::kError);
  EXPECT_EQ(cache.Apply({{"type", "ERROR"},
                         {"object", {{"kind", "Status"}, {"code", 500}, {"message", "boom"}}}},
                        &changes, &why),
            WatchCache::Outcome::kError);
  EXPECT_EQ(why, "boom");
}

}  // namespace
}  // namespace ironlb::kube
