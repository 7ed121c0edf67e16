// The webhook's pure parts with reviews shaped exactly as kube-apiserver v1.28 sends them:
// admission (MetalLB's paths; verdicts from config::Validate over the existing objects), the
// BGPPeer v1beta1 <-> v1beta2 conversion, the certificate plan (create, keep, renew, CA
// rotation) and the --webhook-* flags.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "config/decode.h"
#include "kube/admission.h"
#include "kube/conversion.h"
#include "kube/webhook_certs.h"
#include "kube/webhook_flags.h"

namespace ironlb::kube {
namespace {

using nlohmann::json;

constexpr const char* kNs = "ironlb-system";

json Fixture(const std::string& name) {
  std::ifstream f(std::string(IRONLB_FIXTURES_DIR) + "/kube/" + name);
  std::stringstream s;
  s << f.rdbuf();
  return json::parse(s.str());
}

// An AdmissionReview as the API server posts it for `op` by kubectl (field order and the
// null oldObject of a CREATE as encoded by k8s.io/api/admission/v1).
json Review(const std::string& op, const std::string& version, const std::string& kind,
            const std::string& resource, const json& object, const json& old_object = nullptr) {
  const json& named = object.is_null() ? old_object : object;
  const json gvk = {{"group", "metallb.io"}, {"version", version}, {"kind", kind}};
  const json gvr = {{"group", "metallb.io"}, {"version", version}, {"resource", resource}};
  const char* options_kind = op == "CREATE"   ? "CreateOptions"
                             : op == "UPDATE" ? "UpdateOptions"
                                              : "DeleteOptions";
  json options = {{"kind", options_kind}, {"apiVersion", "meta.k8s.io/v1"}};
  if (op != "DELETE") {
    options["fieldManager"] = "kubectl-client-side-apply";
    options["fieldValidation"] = "Strict";
  } else {
    options["propagationPolicy"] = "Background";
  }
  return {{"kind", "AdmissionReview"},
          {"apiVersion", "admission.k8s.io/v1"},
          {"request",
           {{"uid", "7b8a9d0c-2e4f-4d1a-9c3b-5e6f7a8b9c0d"},
            {"kind", gvk},
            {"resource", gvr},
            {"requestKind", gvk},
            {"requestResource", gvr},
            {"name", named["metadata"]["name"]},
            {"namespace", named["metadata"]["namespace"]},
            {"operation", op},
            {"userInfo",
             {{"username", "kubernetes-admin"},
              {"groups", {"system:masters", "system:authenticated"}}}},
            {"object", object},
            {"oldObject", old_object},
            {"dryRun", false},
            {"options", options}}}};
}

// The fixture's IPAddressPool (a real create response), moved to `name` in ironlb-system, as
// the object of a CREATE: no resourceVersion yet.
json Pool(const std::string& name, const json& addresses) {
  json p = Fixture("09_create_ipaddresspool_pool_a.json");
  p["metadata"]["name"] = name;
  p["metadata"]["namespace"] = kNs;
  p["metadata"].erase("resourceVersion");
  p["spec"]["addresses"] = addresses;
  return p;
}

Snapshot Existing(const std::string& yaml) {
  Snapshot s;
  config::DecodeYaml(yaml, "api", &s);
  EXPECT_TRUE(s.decode_errors.empty()) << s.decode_errors.front().str();
  return s;
}

const char* const kExisting = R"(
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: pool-a, namespace: ironlb-system}
spec: {addresses: [198.51.100.0/28]}
---
apiVersion: metallb.io/v1beta1
kind: Community
metadata: {name: communities, namespace: ironlb-system}
spec:
  communities:
  - {name: gold, value: "65535:65281"}
---
apiVersion: metallb.io/v1beta1
kind: BGPAdvertisement
metadata: {name: adv, namespace: ironlb-system}
spec: {communities: [gold]}
---
apiVersion: metallb.io/v1beta1
kind: BFDProfile
metadata: {name: fast, namespace: ironlb-system}
spec: {receiveInterval: 100}
---
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: router, namespace: ironlb-system}
spec: {myASN: 64512, peerASN: 64513, peerAddress: 192.0.2.254, bfdProfile: fast}
)";

json Admit(const std::string& path, const json& review, const Snapshot& existing) {
  config::ValidateOptions vo;
  vo.required_namespace = kNs;
  ConfigState st;
  const Config in_force = config::Validate(existing, Config{}, vo, &st);
  const AdmissionRoute* route = FindAdmissionRoute(path);
  EXPECT_NE(route, nullptr) << path;
  return ReviewAdmission(*route, review, existing, in_force, vo);
}

const char* const kPoolPath = "/validate-metallb-io-v1beta1-ipaddresspool";

TEST(Admission, RoutesAreMetalLBsPaths) {
  ASSERT_EQ(AdmissionRoutes().size(), 6u);
  for (const char* p :
       {"/validate-metallb-io-v1beta1-ipaddresspool", "/validate-metallb-io-v1beta2-bgppeer",
        "/validate-metallb-io-v1beta1-bgpadvertisement",
        "/validate-metallb-io-v1beta1-l2advertisement", "/validate-metallb-io-v1beta1-community",
        "/validate-metallb-io-v1beta1-bfdprofile"})
    EXPECT_NE(FindAdmissionRoute(p), nullptr) << p;
  EXPECT_EQ(FindAdmissionRoute("/convert"), nullptr);
}

TEST(Admission, GoodPoolIsAllowedWithTheRequestUid) {
  const json out = Admit(kPoolPath,
                         Review("CREATE", "v1beta1", "IPAddressPool", "ipaddresspools",
                                Pool("pool-b", {"203.0.113.0/28"})),
                         Existing(kExisting));
  EXPECT_EQ(out["kind"], "AdmissionReview");
  EXPECT_EQ(out["apiVersion"], "admission.k8s.io/v1");
  EXPECT_EQ(out["response"]["uid"], "7b8a9d0c-2e4f-4d1a-9c3b-5e6f7a8b9c0d");
  EXPECT_EQ(out["response"]["allowed"], true) << out.dump();
}

TEST(Admission, PoolOverlappingAnExistingOneIsRefusedNamingObjectAndField) {
  const json out = Admit(kPoolPath,
                         Review("CREATE", "v1beta1", "IPAddressPool", "ipaddresspools",
                                Pool("pool-b", {"203.0.113.0/28", "198.51.100.8/29"})),
                         Existing(kExisting));
  const json& r = out["response"];
  EXPECT_EQ(r["allowed"], false);
  EXPECT_EQ(r["status"]["code"], 403);
  EXPECT_EQ(r["status"]["reason"], "Forbidden");
  const std::string msg = r["status"]["message"];
  EXPECT_EQ(msg.rfind("IPAddressPool ironlb-system/pool-b: spec.addresses[1]: ", 0), 0u) << msg;
  EXPECT_NE(msg.find("IPAddressPool pool-a"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("api: "), std::string::npos) << msg;
}

TEST(Admission, BadAddressIsRefusedWithTheFieldPath) {
  const json out = Admit(kPoolPath,
                         Review("CREATE", "v1beta1", "IPAddressPool", "ipaddresspools",
                                Pool("pool-b", {"203.0.113.0/33"})),
                         Existing(kExisting));
  EXPECT_EQ(out["response"]["allowed"], false);
  const std::string msg = out["response"]["status"]["message"];
  EXPECT_EQ(msg.rfind("IPAddressPool ironlb-system/pool-b: spec.addresses[0]: ", 0), 0u) << msg;
}

TEST(Admission, WrongFieldTypeIsADecodeErrorNamingTheField) {
  json pool = Pool("pool-b", {"203.0.113.0/28"});
  pool["spec"]["autoAssign"] = "yes";
  const json out =
      Admit(kPoolPath, Review("CREATE", "v1beta1", "IPAddressPool", "ipaddresspools", pool),
            Existing(kExisting));
  EXPECT_EQ(out["response"]["allowed"], false);
  const std::string msg = out["response"]["status"]["message"];
  EXPECT_NE(msg.find("spec.autoAssign"), std::string::npos) << msg;
}

TEST(Admission, ObjectOutsideTheNamespaceIsRefused) {
  json pool = Pool("pool-b", {"203.0.113.0/28"});
  pool["metadata"]["namespace"] = "default";
  const json out =
      Admit(kPoolPath, Review("CREATE", "v1beta1", "IPAddressPool", "ipaddresspools", pool),
            Existing(kExisting));
  EXPECT_EQ(out["response"]["allowed"], false);
  const std::string msg = out["response"]["status"]["message"];
  EXPECT_NE(msg.find("metadata.namespace"), std::string::npos) << msg;
}

TEST(Admission, UpdateOfAPoolDoesNotOverlapItself) {
  const Snapshot existing = Existing(kExisting);
  json old = Pool("pool-a", {"198.51.100.0/28"});
  old["metadata"]["resourceVersion"] = "240";
  json now = old;
  now["spec"]["addresses"] = {"198.51.100.0/27"};
  const json out =
      Admit(kPoolPath, Review("UPDATE", "v1beta1", "IPAddressPool", "ipaddresspools", now, old),
            existing);
  EXPECT_EQ(out["response"]["allowed"], true) << out.dump();
}

TEST(Admission, EditThatBreaksAnotherObjectIsRefusedNamingThatObject) {
  const char* const path = "/validate-metallb-io-v1beta1-community";
  json old = {{"apiVersion", "metallb.io/v1beta1"},
              {"kind", "Community"},
              {"metadata", {{"name", "communities"}, {"namespace", kNs}, {"resourceVersion", "7"}}},
              {"spec", {{"communities", {{{"name", "gold"}, {"value", "65535:65281"}}}}}}};
  json now = old;
  now["spec"]["communities"][0]["name"] = "silver";
  const json out = Admit(path, Review("UPDATE", "v1beta1", "Community", "communities", now, old),
                         Existing(kExisting));
  EXPECT_EQ(out["response"]["allowed"], false) << out.dump();
  const std::string msg = out["response"]["status"]["message"];
  EXPECT_NE(msg.find("BGPAdvertisement ironlb-system/adv: spec.communities"), std::string::npos)
      << msg;
}

TEST(Admission, DeleteIsAllowedButNotOfABFDProfileInUse) {
  const Snapshot existing = Existing(kExisting);
  json pool = Pool("pool-a", {"198.51.100.0/28"});
  EXPECT_EQ(Admit(kPoolPath,
                  Review("DELETE", "v1beta1", "IPAddressPool", "ipaddresspools", nullptr, pool),
                  existing)["response"]["allowed"],
            true);
  const json bfd = {{"apiVersion", "metallb.io/v1beta1"},
                    {"kind", "BFDProfile"},
                    {"metadata", {{"name", "fast"}, {"namespace", kNs}}},
                    {"spec", {{"receiveInterval", 100}}}};
  const json out =
      Admit("/validate-metallb-io-v1beta1-bfdprofile",
            Review("DELETE", "v1beta1", "BFDProfile", "bfdprofiles", nullptr, bfd), existing);
  EXPECT_EQ(out["response"]["allowed"], false);
  const std::string msg = out["response"]["status"]["message"];
  EXPECT_NE(msg.find("BGPPeer ironlb-system/router"), std::string::npos) << msg;
}

TEST(Admission, BGPPeerNamingAMissingBFDProfileIsRefused) {
  const json peer = {{"apiVersion", "metallb.io/v1beta2"},
                     {"kind", "BGPPeer"},
                     {"metadata", {{"name", "r2"}, {"namespace", kNs}}},
                     {"spec",
                      {{"myASN", 64512},
                       {"peerASN", 64514},
                       {"peerAddress", "192.0.2.253"},
                       {"bfdProfile", "missing"}}}};
  const json out =
      Admit("/validate-metallb-io-v1beta2-bgppeer",
            Review("CREATE", "v1beta2", "BGPPeer", "bgppeers", peer), Existing(kExisting));
  EXPECT_EQ(out["response"]["allowed"], false);
  const std::string msg = out["response"]["status"]["message"];
  EXPECT_EQ(msg.rfind("BGPPeer ironlb-system/r2: spec.bfdProfile: ", 0), 0u) << msg;
}

TEST(Admission, NotAReviewIsABadRequest) {
  const json out = Admit(kPoolPath, json{{"kind", "Pod"}}, Existing(kExisting));
  EXPECT_EQ(out["response"]["allowed"], false);
  EXPECT_EQ(out["response"]["status"]["code"], 400);
  // A review of another kind sent to the pool's path.
  const json peer = Review("CREATE", "v1beta2", "BGPPeer", "bgppeers",
                           {{"metadata", {{"name", "x"}, {"namespace", kNs}}}});
  EXPECT_EQ(Admit(kPoolPath, peer, Existing(kExisting))["response"]["status"]["code"], 400);
}

// ---- conversion --------------------------------------------------------------------------

// A ConversionReview as the API server posts it (apiextensions.k8s.io/v1; objects as stored,
// custom resources with sorted keys).
json ConversionRequest(const std::string& desired, const json& objects) {
  return {{"kind", "ConversionReview"},
          {"apiVersion", "apiextensions.k8s.io/v1"},
          {"request",
           {{"uid", "0b6a7c1e-8f2d-4e3a-b5c4-d6e7f8091a2b"},
            {"desiredAPIVersion", desired},
            {"objects", objects}}}};
}

json V1beta2Peer() {
  return json::parse(R"({"apiVersion":"metallb.io/v1beta2","kind":"BGPPeer","metadata":{
    "creationTimestamp":"2026-11-22T00:39:02Z","generation":1,"name":"router",
    "namespace":"ironlb-system","resourceVersion":"301","uid":"5d0e3c6a-1b2f-4a7e-8c9d-0e1f2a3b4c5d"},
    "spec":{"myASN":64512,"peerASN":64513,"peerAddress":"192.0.2.254","peerPort":1179,
    "keepaliveTime":"10s","vrf":"red","passwordSecret":{"name":"bgp","namespace":"ironlb-system"},
    "enableGracefulRestart":true,"nodeSelectors":[{"matchLabels":{"rack":"r1"}}]},"status":{}})");
}

TEST(Conversion, V1beta2ToV1beta1AndBackIsLossless) {
  const json v2 = V1beta2Peer();
  const json v1 = ConvertBGPPeer(v2, kBGPPeerV1beta1);
  EXPECT_EQ(v1["apiVersion"], "metallb.io/v1beta1");
  EXPECT_EQ(v1["metadata"]["uid"], v2["metadata"]["uid"]);
  EXPECT_EQ(v1["spec"]["peerPort"], 1179);
  EXPECT_EQ(v1["spec"]["keepaliveTime"], "10s");
  EXPECT_FALSE(v1["spec"].contains("holdTime"));  // unset: not MetalLB's "0s" (hold timer off)
  EXPECT_FALSE(v1["spec"].contains("vrf"));       // v1beta1 has no such field
  EXPECT_EQ(v1["spec"]["nodeSelectors"], v2["spec"]["nodeSelectors"]);
  EXPECT_TRUE(v1["metadata"]["annotations"].contains(kV1beta2FieldsAnnotation));
  EXPECT_EQ(ConvertBGPPeer(v1, kBGPPeerV1beta2), v2);
}

TEST(Conversion, V1beta1ToV1beta2AsMetalLB) {
  const json v1 = json::parse(R"({"apiVersion":"metallb.io/v1beta1","kind":"BGPPeer",
    "metadata":{"name":"old","namespace":"ironlb-system"},
    "spec":{"myASN":64512,"peerASN":64513,"peerAddress":"192.0.2.1","holdTime":"90s",
    "nodeSelectors":[{"matchExpressions":[{"key":"rack","operator":"In","values":["r1"]}]}]}})");
  const json v2 = ConvertBGPPeer(v1, kBGPPeerV1beta2);
  EXPECT_EQ(v2["apiVersion"], "metallb.io/v1beta2");
  EXPECT_EQ(v2["spec"]["holdTime"], "90s");
  EXPECT_EQ(v2["spec"]["keepaliveTime"], "0s");  // MetalLB's ConvertTo: v1beta1's zero value
  EXPECT_EQ(v2["spec"]["nodeSelectors"], v1["spec"]["nodeSelectors"]);
  EXPECT_FALSE(v2["metadata"].contains("annotations"));
  // And back: v1beta1 -> v1beta2 -> v1beta1 keeps every v1beta1 field.
  const json back = ConvertBGPPeer(v2, kBGPPeerV1beta1);
  EXPECT_EQ(back["spec"]["holdTime"], "90s");
  EXPECT_EQ(back["spec"]["nodeSelectors"], v1["spec"]["nodeSelectors"]);
  EXPECT_EQ(back["spec"]["peerAddress"], "192.0.2.1");
}

TEST(Conversion, ATimerSetWhileV1beta1WinsOverTheUnsetMark) {
  json v1 = ConvertBGPPeer(V1beta2Peer(), kBGPPeerV1beta1);
  v1["spec"]["holdTime"] = "30s";  // kubectl edit of the v1beta1 view
  const json v2 = ConvertBGPPeer(v1, kBGPPeerV1beta2);
  EXPECT_EQ(v2["spec"]["holdTime"], "30s");
  EXPECT_EQ(v2["spec"]["vrf"], "red");
}

TEST(Conversion, ReviewConvertsEveryObjectWithTheUid) {
  const json out =
      ReviewConversion(ConversionRequest("metallb.io/v1beta1", {V1beta2Peer(), V1beta2Peer()}));
  EXPECT_EQ(out["kind"], "ConversionReview");
  EXPECT_EQ(out["apiVersion"], "apiextensions.k8s.io/v1");
  const json& r = out["response"];
  EXPECT_EQ(r["uid"], "0b6a7c1e-8f2d-4e3a-b5c4-d6e7f8091a2b");
  EXPECT_EQ(r["result"]["status"], "Success");
  ASSERT_EQ(r["convertedObjects"].size(), 2u);
  EXPECT_EQ(r["convertedObjects"][1]["apiVersion"], "metallb.io/v1beta1");
}

TEST(Conversion, ReviewOfAnotherKindFails) {
  json pool = Fixture("09_create_ipaddresspool_pool_a.json");
  const json out = ReviewConversion(ConversionRequest("metallb.io/v1beta2", json::array({pool})));
  EXPECT_EQ(out["response"]["result"]["status"], "Failed");
  EXPECT_NE(out["response"]["result"]["message"].get<std::string>().find("objects[0]"),
            std::string::npos);
  EXPECT_FALSE(out["response"].contains("convertedObjects"));
  EXPECT_EQ(ReviewConversion(json::array())["response"]["result"]["status"], "Failed");
}

// ---- certificates ------------------------------------------------------------------------

constexpr const char* kDns = "ironlb-webhook-service.ironlb-system.svc";

TEST(WebhookCerts, ServingCertificateVerifiesWithItsCaForTheServiceName) {
  const PemPair ca = MakeCa("test-ca", std::chrono::hours(24));
  const PemPair leaf = MakeServingCert(ca, kDns, std::chrono::hours(1));
  const std::time_t now = std::time(nullptr);
  EXPECT_TRUE(VerifiesWith(leaf.cert, ca.cert, kDns, now));
  EXPECT_FALSE(VerifiesWith(leaf.cert, ca.cert, "other.ironlb-system.svc", now));
  EXPECT_FALSE(VerifiesWith(leaf.cert, MakeCa("other", std::chrono::hours(1)).cert, kDns, now));
  EXPECT_FALSE(VerifiesWith(leaf.cert, ca.cert, kDns, now + 2 * 3600));  // expired
  EXPECT_TRUE(KeyMatches(leaf.cert, leaf.key));
  EXPECT_FALSE(KeyMatches(leaf.cert, ca.key));
  const auto info = InspectCert(leaf.cert);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->dns_names, std::vector<std::string>{kDns});
  EXPECT_FALSE(info->is_ca);
  EXPECT_TRUE(InspectCert(ca.cert)->is_ca);
  EXPECT_NEAR(static_cast<double>(info->not_after - now), 3600, 5);
}

TEST(WebhookCerts, PlanCreatesKeepsAndRenews) {
  WebhookCertPolicy policy;
  policy.dns_name = kDns;
  policy.validity = std::chrono::seconds(900);
  const std::time_t now = std::time(nullptr);
  const auto first = PlanWebhookCerts({}, policy, now);
  ASSERT_EQ(first.size(), 4u);
  EXPECT_TRUE(VerifiesWith(first.at(kTlsCertKey), first.at(kCaCertKey), kDns, now));
  // Still good: nothing changes (no write, no patch).
  EXPECT_EQ(PlanWebhookCerts(first, policy, now + 500), first);
  // Less than a third left: a new serving certificate from the same CA, caBundle unchanged.
  const auto renewed = PlanWebhookCerts(first, policy, now + 700);
  EXPECT_NE(renewed.at(kTlsCertKey), first.at(kTlsCertKey));
  EXPECT_EQ(renewed.at(kCaCertKey), first.at(kCaCertKey));
  EXPECT_TRUE(VerifiesWith(renewed.at(kTlsCertKey), renewed.at(kCaCertKey), kDns, now));
  // Another Service name: reissued.
  policy.dns_name = "renamed.ironlb-system.svc";
  EXPECT_NE(PlanWebhookCerts(first, policy, now).at(kTlsCertKey), first.at(kTlsCertKey));
}

TEST(WebhookCerts, RenewedCaKeepsTheOldOneInTheBundleUntilItExpires) {
  WebhookCertPolicy policy;
  policy.dns_name = kDns;
  policy.validity = std::chrono::seconds(300);
  policy.ca_lifetimes = 1;  // CA 300 s too: due with 100 s left, while the old leaf is valid
  const std::time_t now = std::time(nullptr);
  const auto first = PlanWebhookCerts({}, policy, now);
  const auto later = PlanWebhookCerts(first, policy, now + 250);
  const auto cas = SplitPemBundle(later.at(kCaCertKey));
  ASSERT_EQ(cas.size(), 2u);
  EXPECT_EQ(cas[1], first.at(kCaCertKey));  // the old CA still trusted
  EXPECT_NE(cas[0], first.at(kCaCertKey));
  // A replica still serving the old certificate is trusted through the new bundle.
  EXPECT_TRUE(VerifiesWith(first.at(kTlsCertKey), later.at(kCaCertKey), kDns, now + 250));
  EXPECT_TRUE(VerifiesWith(later.at(kTlsCertKey), cas[0], kDns, now));
  EXPECT_FALSE(VerifiesWith(later.at(kTlsCertKey), first.at(kCaCertKey), kDns, now));
  // Past every expiry: a fresh CA alone, nothing expired kept in the bundle.
  EXPECT_EQ(SplitPemBundle(PlanWebhookCerts(later, policy, now + 301).at(kCaCertKey)).size(), 1u);
  // Garbage in the Secret is replaced, not trusted.
  auto bad = first;
  bad[kTlsKeyKey] = "not a key";
  const auto fixed = PlanWebhookCerts(bad, policy, now);
  EXPECT_NE(fixed.at(kTlsCertKey), first.at(kTlsCertKey));
  EXPECT_TRUE(KeyMatches(fixed.at(kTlsCertKey), fixed.at(kTlsKeyKey)));
}

// ---- flags -------------------------------------------------------------------------------

TEST(WebhookFlags, TakesOnlyTheWebhookFlags) {
  std::vector<std::string> args = {
      "--role", "controller", "--webhook-addr=0.0.0.0:9443", "--webhook-cert-validity", "90s",
      "--node", "a"};
  WebhookOptions o;
  std::string error;
  ASSERT_TRUE(TakeWebhookFlags(&args, &o, &error)) << error;
  EXPECT_EQ(args, (std::vector<std::string>{"--role", "controller", "--node", "a"}));
  EXPECT_EQ(o.listen, "0.0.0.0:9443");
  EXPECT_EQ(o.validity, std::chrono::seconds(90));
  EXPECT_EQ(o.dns_name(), kDns);
  std::vector<std::string> bad = {"--webhook-cert", "a.pem"};
  EXPECT_FALSE(TakeWebhookFlags(&bad, &o, &error));
  EXPECT_NE(error.find("--webhook-key"), std::string::npos);
  bad = {"--webhook-bogus=1"};
  EXPECT_FALSE(TakeWebhookFlags(&bad, &o, &error));
  bad = {"--webhook-cert-validity=1s"};
  WebhookOptions o2;
  EXPECT_FALSE(TakeWebhookFlags(&bad, &o2, &error));
}

}  // namespace
}  // namespace ironlb::kube
