// The MetalLB compatibility corpus (shared/fixtures/metallb): what MetalLB accepts loads cleanly,
// what it rejects is rejected with an error on the same object and field, and the legacy
// ConfigMaps convert to what MetalLB's configmaptocrs produces.
#include <gtest/gtest.h>

#include <cctype>
#include <set>

#include "fixture_util.h"

namespace ironlb::config::testing {
namespace {

// Sizes stated in the corpus README.
constexpr size_t kValidFiles = 60;
constexpr size_t kInvalidFiles = 44;
constexpr size_t kLegacyInputs = 21;
constexpr size_t kLegacyExpected = 12;

enum class How {
  kReject,       // Validate (or DecodeYaml) rejects it
  kClusterMode,  // rejected only with required_namespace = metallb-system
  kService,      // rejected by ValidateService
  kNativeOnly,   // MetalLB rejects it in native BGP mode only; ironlb's speaker supports it
};

struct Expectation {
  How how;
  std::string kind, name, field;
  // A word MetalLB's recorded error (the header's `error:` line) contains, tying the object or
  // field we name to the one MetalLB names.
  std::string metallb_mentions;
};

const std::map<std::string, Expectation>& InvalidExpectations() {
  static const std::map<std::string, Expectation> m = {
      {"bfdprofile-duplicate-name", {How::kReject, "BFDProfile", "foo", "metadata.name", "foo"}},
      {"bfdprofile-echo-with-ipv6-pool",
       {How::kReject, "BGPAdvertisement", "adv3", "spec.peers", "adv3"}},
      {"bfdprofile-receive-interval-too-low",
       {How::kReject, "BFDProfile", "default", "spec.receiveInterval", "receive interval"}},
      {"bgpadvertisement-aggregation-length-over-32",
       {How::kReject, "BGPAdvertisement", "testAdv", "spec.aggregationLength",
        "aggregation length"}},
      {"bgpadvertisement-aggregation-length-vs-cidr",
       {How::kReject, "BGPAdvertisement", "adv1", "spec.aggregationLength", "1.2.3.0/28"}},
      {"bgpadvertisement-aggregation-length-vs-range",
       {How::kReject, "BGPAdvertisement", "adv1", "spec.aggregationLength", "3.3.3.2-3.3.3.254"}},
      {"bgpadvertisement-community-asn-too-big",
       {How::kReject, "BGPAdvertisement", "testAdv", "spec.communities[0]", "99999999:1"}},
      {"bgpadvertisement-community-unknown-alias",
       {How::kReject, "BGPAdvertisement", "testAdv", "spec.communities[0]", "community"}},
      {"bgpadvertisement-duplicate-node-selector-expressions",
       {How::kReject, "BGPAdvertisement", "adv1", "spec.nodeSelectors[0].matchExpressions[1]",
        "match expressions"}},
      {"bgpadvertisement-duplicate-pools",
       {How::kReject, "BGPAdvertisement", "testAdv", "spec.ipAddressPools[1]", "testPool"}},
      {"bgpadvertisement-localpref-conflict",
       {How::kReject, "BGPAdvertisement", "adv2", "spec.localPref", "200"}},
      {"bgpadvertisement-serviceselectors-with-aggregation",
       {How::kReject, "BGPAdvertisement", "adv1", "spec.aggregationLength", "adv1"}},
      {"bgppeer-duplicate-address-frr",
       {How::kReject, "BGPPeer", "peer2", "spec.peerAddress", "1.2.3.4"}},
      {"bgppeer-ebgpmultihop-ibgp",
       {How::kReject, "BGPPeer", "peer1", "spec.ebgpMultiHop", "peer1"}},
      {"bgppeer-holdtime-too-short",
       {How::kReject, "BGPPeer", "peer1", "spec.holdTime", "hold time"}},
      {"bgppeer-invalid-address",
       {How::kReject, "BGPPeer", "peer1", "spec.peerAddress", "1.2.3.400"}},
      {"bgppeer-invalid-routerid",
       {How::kReject, "BGPPeer", "peer1", "spec.routerID", "router ID"}},
      {"bgppeer-keepalive-above-hold",
       {How::kReject, "BGPPeer", "peer1", "spec.keepaliveTime", "keepaliveTime"}},
      {"bgppeer-keepalive-only-too-short-hold",
       {How::kReject, "BGPPeer", "peer1", "spec.holdTime", "hold time"}},
      {"bgppeer-missing-bfdprofile",
       {How::kReject, "BGPPeer", "peer1", "spec.bfdProfile", "default"}},
      {"bgppeer-missing-myasn", {How::kReject, "BGPPeer", "peer1", "spec.myASN", "local ASN"}},
      {"bgppeer-missing-peerasn", {How::kReject, "BGPPeer", "peer1", "spec.peerASN", "peer ASN"}},
      {"bgppeer-no-address-no-interface",
       {How::kReject, "BGPPeer", "invalid", "spec.peerAddress", "Address or Interface"}},
      {"bgppeer-nodeselector-invalid-operator",
       {How::kReject, "BGPPeer", "peer1", "spec.nodeSelectors[0].matchExpressions[0].operator",
        "surrounds"}},
      {"bgppeer-password-and-secret",
       {How::kReject, "BGPPeer", "peer1", "spec.passwordSecret", "both password and secret"}},
      {"bgppeer-peerasn-and-dynamicasn",
       {How::kReject, "BGPPeer", "peer1", "spec.dynamicASN", "dynamicASN"}},
      {"bgppeer-routerid-mismatch-frr",
       {How::kReject, "BGPPeer", "peer3", "spec.routerID", "1.2.3.5"}},
      {"bgppeer-secret-wrong-type",
       {How::kReject, "BGPPeer", "peer1", "spec.passwordSecret", "secret type mismatch"}},
      {"bgppeer-v1beta1-keepalive-without-hold",
       {How::kReject, "BGPPeer", "peer-v1beta1", "spec.keepaliveTime", "keepaliveTime"}},
      {"community-duplicate-alias-across-crs",
       {How::kReject, "Community", "community2", "spec.communities[0].name", "bar"}},
      {"community-invalid-format",
       {How::kReject, "Community", "community", "spec.communities[0].value", "1234"}},
      {"ipaddresspool-cidr-leading-space",
       {How::kReject, "IPAddressPool", "pool1", "spec.addresses[0]", " 10.0.0.0/8"}},
      {"ipaddresspool-duplicate-name",
       {How::kReject, "IPAddressPool", "pool1", "metadata.name", "pool1"}},
      {"ipaddresspool-duplicate-namespace",
       {How::kReject, "IPAddressPool", "pool1", "spec.serviceAllocation.namespaces[1]",
        "namespaces"}},
      {"ipaddresspool-invalid-cidr",
       {How::kReject, "IPAddressPool", "pool1", "spec.addresses[0]", "100.200.300.400/24"}},
      {"ipaddresspool-no-addresses",
       {How::kReject, "IPAddressPool", "pool1", "spec.addresses", "no prefixes"}},
      {"ipaddresspool-overlap-inside-one-pool",
       {How::kReject, "IPAddressPool", "pool1", "spec.addresses[1]", "192.168.10.100/30"}},
      {"ipaddresspool-overlapping-cidrs",
       {How::kReject, "IPAddressPool", "pool2", "spec.addresses[0]", "pool2"}},
      {"ipaddresspool-range-start-after-end",
       {How::kReject, "IPAddressPool", "pool1", "spec.addresses[0]", "1.2.3.10-1.2.3.1"}},
      {"ipaddresspool-wrong-namespace",
       {How::kClusterMode, "IPAddressPool", "first-pool", "metadata.namespace", "metallb-system"}},
      {"l2advertisement-duplicate-pool-selectors",
       {How::kReject, "L2Advertisement", "adv1", "spec.ipAddressPoolSelectors[1]",
        "ipAddressPoolSelectors"}},
      {"l2advertisement-unknown-fields-docs-typo",
       {How::kReject, "L2Advertisement", "example-advertisement10", "spec.nodeSelector",
        "nodeSelector"}},
      // MetalLB's native speaker cannot announce IPv6 over BGP; ironlb's speaker can (FRR mode
      // accepts the same file), so ironlb accepts it.
      {"native-ipv6-bgp-pool", {How::kNativeOnly, "", "", "", "native bgp mode"}},
      {"service-annotation-and-loadbalancerip",
       {How::kService, "Service", "nginx", "metadata.annotations[metallb.io/loadBalancerIPs]",
        "loadBalancerIPs"}},
  };
  return m;
}

// Names of the objects rejected for their metadata.name alone.
std::set<std::string> InvalidNames(const std::vector<ConfigError>& errors) {
  std::set<std::string> out;
  for (const ConfigError& e : errors)
    if (e.field == "metadata.name" && e.message.find("is not a valid name") != std::string::npos)
      out.insert(e.object.name);
  return out;
}

bool Names(const ConfigError& e, const Expectation& x) {
  return e.object.kind == x.kind && e.object.name == x.name && e.field == x.field;
}

// Valid files MetalLB's webhook admits but its controller then reports (a TransientError until
// the referenced object exists). ironlb reports the same at once, on the same object and field;
// the file becomes valid once the missing object is there.
struct Pending {
  Expectation error;
  std::string missing_yaml;  // the object whose absence the error reports
};
const std::map<std::string, Pending>& PendingValid() {
  static const std::map<std::string, Pending> m = {
      {"bgppeer-passwordsecret-ref",
       {{How::kReject, "BGPPeer", "peer-with-secret", "spec.passwordSecret.name",
         "secret ref not found"},
        "apiVersion: v1\nkind: Secret\nmetadata: {name: secretname, namespace: metallb-system}\n"
        "type: kubernetes.io/basic-auth\ndata: {password: bm9wYXNz}\n"}},
  };
  return m;
}

TEST(Corpus, ValidFilesLoadWithoutErrors) {
  const auto files = YamlFiles("valid");
  EXPECT_EQ(files.size(), kValidFiles) << "corpus at " << kCorpus;
  for (const auto& f : files) {
    SCOPED_TRACE(f.filename().string());
    EXPECT_EQ(ReadHeader(f)["expect"], "accept");
    auto pending = PendingValid().find(f.stem().string());
    if (pending != PendingValid().end()) {
      const Expectation& x = pending->second.error;
      EXPECT_NE(ReadHeader(f).at("metallb").find(x.metallb_mentions), std::string::npos);
      Outcome o = LoadAndValidate(f);
      EXPECT_TRUE(std::any_of(o.state.errors.begin(), o.state.errors.end(),
                              [&](const ConfigError& e) { return Names(e, x); }))
          << Describe(o.state.errors);
      DecodeYaml(pending->second.missing_yaml, "missing.yaml", &o.snap);
      ConfigState state;
      Validate(o.snap, Config{}, ValidateOptions{}, &state);
      EXPECT_TRUE(state.valid()) << Describe(state.errors);
      continue;
    }
    Outcome o = LoadAndValidate(f);
    EXPECT_TRUE(o.state.valid()) << Describe(o.state.errors);
    for (const Service& svc : o.snap.services) {
      EXPECT_TRUE(ValidateService(svc).empty()) << Describe(ValidateService(svc));
    }
    // Every metallb.io object of a valid file is in force.
    EXPECT_EQ(o.config.pools.size(), o.snap.pools.size());
    EXPECT_EQ(o.config.peers.size(), o.snap.peers.size());
    EXPECT_EQ(o.config.bgp_advertisements.size(), o.snap.bgp_advertisements.size());
    EXPECT_EQ(o.config.l2_advertisements.size(), o.snap.l2_advertisements.size());
  }
}

TEST(Corpus, InvalidFilesAreRejectedOnTheObjectAndFieldMetalLBNames) {
  const auto files = YamlFiles("invalid");
  EXPECT_EQ(files.size(), kInvalidFiles) << "corpus at " << kCorpus;
  const auto& table = InvalidExpectations();
  EXPECT_EQ(table.size(), kInvalidFiles);
  for (const auto& f : files) {
    const std::string stem = f.stem().string();
    SCOPED_TRACE(stem);
    auto it = table.find(stem);
    ASSERT_NE(it, table.end()) << "no expectation for a new corpus file";
    const Expectation& x = it->second;
    const auto header = ReadHeader(f);
    EXPECT_EQ(header.at("expect"), "reject");
    EXPECT_NE(header.at("error").find(x.metallb_mentions), std::string::npos)
        << "MetalLB's error does not mention \"" << x.metallb_mentions
        << "\": " << header.at("error");

    switch (x.how) {
      case How::kReject: {
        Outcome o = LoadAndValidate(f);
        Expectation want = x;
        if (!InvalidNames(o.state.errors).empty()) {
          // MetalLB's webhook tests use names like testPool that the API server itself refuses
          // (not an RFC 1123 subdomain), and so does ironlb. The field check is then tested on
          // the same file with those names lower-cased everywhere.
          std::string text = ReadText(f);
          for (const std::string& name : InvalidNames(o.state.errors)) {
            std::string lower = name;
            for (char& c : lower)
              c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            for (size_t at = text.find(name); at != std::string::npos; at = text.find(name, at))
              text.replace(at, name.size(), lower);
            if (want.name == name) want.name = lower;
          }
          o = Outcome{};
          DecodeYaml(text, f.filename().string(), &o.snap);
          o.config = Validate(o.snap, Config{}, ValidateOptions{}, &o.state);
          EXPECT_TRUE(InvalidNames(o.state.errors).empty()) << Describe(o.state.errors);
        }
        EXPECT_TRUE(std::any_of(o.state.errors.begin(), o.state.errors.end(),
                                [&](const ConfigError& e) { return Names(e, want); }))
            << "want " << want.kind << " " << want.name << " " << want.field << ", got:\n"
            << Describe(o.state.errors);
        for (const ConfigError& e : o.state.errors) EXPECT_EQ(e.file, f.filename().string());
        break;
      }
      case How::kClusterMode: {
        EXPECT_TRUE(LoadAndValidate(f).state.valid()) << "standalone mode takes any namespace";
        Outcome o = LoadAndValidate(f, ValidateOptions{"metallb-system"});
        EXPECT_TRUE(std::any_of(o.state.errors.begin(), o.state.errors.end(),
                                [&](const ConfigError& e) { return Names(e, x); }))
            << Describe(o.state.errors);
        EXPECT_TRUE(o.config.pools.empty());
        break;
      }
      case How::kService: {
        Outcome o = LoadAndValidate(f);
        EXPECT_TRUE(o.state.valid()) << Describe(o.state.errors);
        ASSERT_EQ(o.snap.services.size(), 1u);
        const auto errs = ValidateService(o.snap.services[0]);
        EXPECT_TRUE(std::any_of(errs.begin(), errs.end(), [&](const ConfigError& e) {
          return Names(e, x);
        })) << Describe(errs);
        break;
      }
      case How::kNativeOnly: {
        EXPECT_NE(header.at("rejected-by").find("native"), std::string::npos);
        Outcome o = LoadAndValidate(f);
        EXPECT_TRUE(o.state.valid()) << Describe(o.state.errors);
        EXPECT_EQ(o.config.pools.size(), o.snap.pools.size());
        break;
      }
    }
  }
}

// Legacy inputs MetalLB itself refuses (the converter or the last ConfigMap-reading release).
const std::map<std::string, std::string>& LegacyRejected() {
  static const std::map<std::string, std::string> m = {
      {"v0.12.1-docs-addresspool-crd", "kind"},                       // kind removed in v0.14
      {"v0.7.3-example-config", "data.config.peers[0].hold-time"},    // "120" has no unit
      {"v0.12.1-example-config", "data.config.peers[0].bfdProfile"},  // not a legacy key
  };
  return m;
}

// Converted inputs compared with another input's expected output.
const std::map<std::string, std::string> kSameAs = {
    {"seeds-configmap-layer2-default-flow", "seeds-configmap-layer2-default"}};

TEST(Corpus, LegacyConfigMapsConvertLikeConfigmaptocrs) {
  size_t inputs = 0, expected = 0, compared = 0;
  for (const auto& f : YamlFiles("legacy")) {
    const std::string name = f.filename().string();
    if (name.size() > 14 && name.substr(name.size() - 14) == ".expected.yaml") {
      ++expected;
      continue;
    }
    ++inputs;
    const std::string stem = f.stem().string();
    SCOPED_TRACE(stem);
    Snapshot snap = DecodeFile(f);
    auto rejected = LegacyRejected().find(stem);
    if (rejected != LegacyRejected().end()) {
      EXPECT_NE(ReadHeader(f).at("expect").find("reject"), std::string::npos);
      ASSERT_EQ(snap.decode_errors.size(), 1u) << Describe(snap.decode_errors);
      EXPECT_EQ(snap.decode_errors[0].field, rejected->second) << snap.decode_errors[0].str();
      continue;
    }
    EXPECT_TRUE(snap.decode_errors.empty()) << Describe(snap.decode_errors);
    EXPECT_FALSE(EncodeYaml(snap).empty());
    auto same = kSameAs.find(stem);
    const auto want =
        kCorpus / "legacy" / ((same == kSameAs.end() ? stem : same->second) + ".expected.yaml");
    if (!std::filesystem::exists(want)) continue;
    Snapshot golden = DecodeFile(want);
    ASSERT_TRUE(golden.decode_errors.empty()) << Describe(golden.decode_errors);
    // Both sides parsed into the model, then written canonically: equal objects, equal text.
    EXPECT_EQ(EncodeYaml(snap), EncodeYaml(golden));
    ++compared;
  }
  EXPECT_EQ(inputs, kLegacyInputs);
  EXPECT_EQ(expected, kLegacyExpected);
  EXPECT_EQ(compared, kLegacyExpected + kSameAs.size());
}

}  // namespace
}  // namespace ironlb::config::testing

namespace ironlb::config::testing {
namespace {

// Bad input never crashes: every corpus file cut short at many points decodes and validates
// without throwing (errors are reported, not raised).
TEST(Corpus, TruncatedFilesNeverThrow) {
  constexpr size_t kStep = 23;
  size_t runs = 0;
  for (const char* dir : {"valid", "invalid", "legacy"}) {
    for (const auto& f : YamlFiles(dir)) {
      const std::string text = ReadText(f);
      for (size_t cut = 0; cut < text.size(); cut += kStep) {
        Snapshot snap;
        ConfigState state;
        EXPECT_NO_THROW({
          DecodeYaml(std::string_view(text).substr(0, cut), f.filename().string(), &snap);
          Validate(snap, Config{}, ValidateOptions{}, &state);
          for (const Service& svc : snap.services) ValidateService(svc);
        }) << f
           << " cut at " << cut;
        ++runs;
      }
    }
  }
  EXPECT_GT(runs, 1000u);
}

}  // namespace
}  // namespace ironlb::config::testing
