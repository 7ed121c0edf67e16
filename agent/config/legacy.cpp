#include "config/legacy.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>

#include "config/decode_kinds.h"
#include "config/duration.h"
#include "config/yaml_fields.h"
#include "config/yaml_limits.h"

namespace ironlb::config {
namespace {

constexpr const char* kSections[] = {"peers", "address-pools", "bgp-communities", "bfd-profiles"};
constexpr size_t kMaxK8sName = 63;  // RFC 1123 label length, as configmaptocrs truncates
constexpr Duration kDefaultHoldTime = std::chrono::seconds(90);  // RFC 4271 suggested value
constexpr Duration kMinHoldTime = std::chrono::seconds(3);       // RFC 4271 section 4.2

// The old format's strings were read by a YAML decoder that took any scalar as a string.
std::string ReadLegacyString(const YamlNode& n, const std::string& path) {
  if (!IsSet(n)) return "";
  if (!n.IsScalar()) throw DecodeFailure(path, "expected a string");
  return std::string(n.Scalar());
}

// configmaptocrs keeps whole seconds only.
Duration WholeSeconds(Duration d) {
  return std::chrono::duration_cast<std::chrono::seconds>(d);
}

Duration ReadLegacyTimer(const YamlNode& n, const std::string& path, const char* what) {
  const std::string text = ReadLegacyString(n, path);
  std::string error;
  auto d = ParseGoDuration(text, &error);
  if (!d) {
    throw DecodeFailure(path, std::string("invalid ") + what + " \"" + text + "\": " + error +
                                  " (write it with a unit, e.g. \"120s\")");
  }
  return WholeSeconds(*d);
}

LabelSelector ReadLegacySelector(const YamlNode& n, const std::string& path) {
  Fields f(n, path);
  // Same shape as a metav1.LabelSelector, with dashed keys.
  const YamlNode labels = f.Get("match-labels");
  const YamlNode exprs = f.Get("match-expressions");
  f.RejectUnknown();
  LabelSelector sel;
  sel.match_labels = ReadStringMap(labels, f.Path("match-labels"));
  // Each expression has the metav1 shape (key/operator/values).
  ForEachItem(exprs, f.Path("match-expressions"), [&](const YamlNode& item, const std::string& p) {
    sel.match_expressions.push_back(ReadLabelRequirement(item, p));
  });
  return sel;
}

BGPPeer ConvertPeer(const YamlNode& n, const std::string& path, size_t index,
                    const ObjectMeta& base) {
  Fields f(n, path);
  BGPPeer p;
  p.meta = base;
  p.meta.api_version = "metallb.io/v1beta2";
  p.meta.name = "peer" + std::to_string(index + 1);
  p.my_asn = ReadUint32(f.Get("my-asn"), f.Path("my-asn"));
  p.peer_asn = ReadUint32(f.Get("peer-asn"), f.Path("peer-asn"));
  p.peer_address = ReadLegacyString(f.Get("peer-address"), f.Path("peer-address"));
  p.source_address = ReadLegacyString(f.Get("source-address"), f.Path("source-address"));
  const uint16_t port =
      static_cast<uint16_t>(ReadInt(f.Get("peer-port"), f.Path("peer-port"), 0, 65535));
  if (port != 0) p.peer_port = port;
  const YamlNode hold = f.Get("hold-time");
  Duration hold_time = kDefaultHoldTime;
  if (IsSet(hold)) hold_time = ReadLegacyTimer(hold, f.Path("hold-time"), "hold time");
  if (hold_time != Duration(0) && hold_time < kMinHoldTime) {
    throw DecodeFailure(f.Path("hold-time"), "invalid hold time: must be 0 or at least 3s");
  }
  p.hold_time = hold_time;
  const YamlNode keepalive = f.Get("keepalive-time");
  if (IsSet(keepalive)) {
    p.keepalive_time = ReadLegacyTimer(keepalive, f.Path("keepalive-time"), "keepalive time");
  }
  p.router_id = ReadLegacyString(f.Get("router-id"), f.Path("router-id"));
  ForEachItem(f.Get("node-selectors"), f.Path("node-selectors"),
              [&](const YamlNode& item, const std::string& sp) {
                p.node_selectors.push_back(ReadLegacySelector(item, sp));
              });
  p.password = ReadLegacyString(f.Get("password"), f.Path("password"));
  p.bfd_profile = ReadLegacyString(f.Get("bfd-profile"), f.Path("bfd-profile"));
  if (!p.bfd_profile.empty()) p.bfd_profile = LegacyNameToK8s(p.bfd_profile);
  p.ebgp_multihop = ReadBool(f.Get("ebgp-multihop"), f.Path("ebgp-multihop"));
  f.RejectUnknown();
  return p;
}

BFDProfile ConvertBFD(const YamlNode& n, const std::string& path, const ObjectMeta& base) {
  Fields f(n, path);
  BFDProfile b;
  b.meta = base;
  b.meta.api_version = "metallb.io/v1beta1";
  const std::string name = ReadLegacyString(f.Get("name"), f.Path("name"));
  b.meta.name = LegacyNameToK8s(name);
  if (b.meta.name.empty()) {
    throw DecodeFailure(f.Path("name"), "BFD profile name \"" + name +
                                            "\" has no letter to make a "
                                            "Kubernetes name from");
  }
  auto opt_uint = [&](const char* key, uint32_t* field) {
    const YamlNode v = f.Get(key);
    if (IsSet(v)) *field = ReadUint32(v, f.Path(key));
  };
  opt_uint("receive-interval", &b.receive_interval_ms);
  opt_uint("transmit-interval", &b.transmit_interval_ms);
  opt_uint("detect-multiplier", &b.detect_multiplier);
  opt_uint("echo-interval", &b.echo_interval_ms);
  opt_uint("minimum-ttl", &b.minimum_ttl);
  b.echo_mode = ReadBool(f.Get("echo-mode"), f.Path("echo-mode"));
  b.passive_mode = ReadBool(f.Get("passive-mode"), f.Path("passive-mode"));
  f.RejectUnknown();
  return b;
}

struct ConvertedPool {
  IPAddressPool pool;
  std::string protocol;
  std::vector<BGPAdvertisement> advertisements;  // names filled in later, in file order
};

ConvertedPool ConvertPool(const YamlNode& n, const std::string& path, const ObjectMeta& base) {
  Fields f(n, path);
  ConvertedPool out;
  IPAddressPool& p = out.pool;
  p.meta = base;
  p.meta.api_version = "metallb.io/v1beta1";
  const std::string name = ReadLegacyString(f.Get("name"), f.Path("name"));
  if (name.empty()) throw DecodeFailure(f.Path("name"), "address pool has no name");
  p.meta.name = LegacyNameToK8s(name);
  if (p.meta.name.empty()) {
    throw DecodeFailure(f.Path("name"),
                        "pool name \"" + name + "\" has no letter to make a Kubernetes name from");
  }
  out.protocol = ReadLegacyString(f.Get("protocol"), f.Path("protocol"));
  // "l2" was never valid, but configmaptocrs converts it (without an L2Advertisement); keep
  // that so its output is reproduced exactly.
  if (out.protocol != "bgp" && out.protocol != "layer2" && out.protocol != "l2") {
    throw DecodeFailure(f.Path("protocol"),
                        "unknown protocol \"" + out.protocol + "\" (use bgp or layer2)");
  }
  ForEachItem(f.Get("addresses"), f.Path("addresses"),
              [&](const YamlNode& a, const std::string& ap) {
                p.addresses.push_back(ReadLegacyString(a, ap));
              });
  const YamlNode auto_assign = f.Get("auto-assign");
  if (IsSet(auto_assign)) p.auto_assign = ReadBool(auto_assign, f.Path("auto-assign"));
  p.avoid_buggy_ips = ReadBool(f.Get("avoid-buggy-ips"), f.Path("avoid-buggy-ips"));
  ForEachItem(
      f.Get("bgp-advertisements"), f.Path("bgp-advertisements"),
      [&](const YamlNode& item, const std::string& ip) {
        Fields a(item, ip);
        BGPAdvertisement adv;
        adv.meta = base;
        adv.meta.api_version = "metallb.io/v1beta1";
        const YamlNode len = a.Get("aggregation-length");
        if (IsSet(len)) {
          adv.aggregation_length =
              static_cast<int>(ReadInt(len, a.Path("aggregation-length"), -(1 << 30), 1 << 30));
          adv.aggregation_length_set = true;
        }
        const YamlNode len6 = a.Get("aggregation-length-v6");
        if (IsSet(len6)) {
          adv.aggregation_length_v6 =
              static_cast<int>(ReadInt(len6, a.Path("aggregation-length-v6"), -(1 << 30), 1 << 30));
          adv.aggregation_length_v6_set = true;
        }
        adv.local_pref = ReadUint32(a.Get("localpref"), a.Path("localpref"));
        ForEachItem(a.Get("communities"), a.Path("communities"),
                    [&](const YamlNode& c, const std::string& cp) {
                      adv.communities.push_back(ReadLegacyString(c, cp));
                    });
        adv.ip_address_pools = {p.meta.name};
        a.RejectUnknown();
        out.advertisements.push_back(std::move(adv));
      });
  f.RejectUnknown();
  return out;
}

// Copies a yaml-cpp node into *tree as the libyaml loader would have built it. Aliases are copied
// in full, so the copy stops past kMaxYamlExpandedNodes (a few lines of nested aliases would
// otherwise fill the memory).
class TreeCopy {
 public:
  TreeCopy(YamlTree* tree, const std::string& path) : tree_(tree), path_(path) {}

  uint32_t Copy(const YAML::Node& n) {
    if (++nodes_ > kMaxYamlExpandedNodes) {
      throw DecodeFailure(path_, "the embedded configuration has more than " +
                                     std::to_string(kMaxYamlExpandedNodes) +
                                     " nodes once aliases are expanded");
    }
    switch (n.Type()) {
      case YAML::NodeType::Scalar:
        return tree_->AddScalar(YamlTree::Kind::kScalar, n.Scalar(), n.Tag());
      case YAML::NodeType::Sequence: {
        const uint32_t index = tree_->AddCollection(YamlTree::Kind::kSequence, "");
        std::vector<uint32_t> children;
        for (const YAML::Node& item : n) children.push_back(Copy(item));
        tree_->SetChildren(index, children.data(), children.size());
        return index;
      }
      case YAML::NodeType::Map: {
        const uint32_t index = tree_->AddCollection(YamlTree::Kind::kMap, "");
        std::vector<uint32_t> children;
        for (const auto& kv : n) {
          children.push_back(Copy(kv.first));
          children.push_back(Copy(kv.second));
        }
        tree_->SetChildren(index, children.data(), children.size());
        return index;
      }
      default: return tree_->AddScalar(YamlTree::Kind::kNull, "", "");
    }
  }

 private:
  YamlTree* tree_;
  const std::string& path_;
  size_t nodes_ = 0;
};

YamlNode LoadEmbeddedYaml(std::string_view text, YamlTree* tree, const std::string& path) {
  YAML::Node config;
  try {
    config = YAML::Load(std::string(text));
  } catch (const YAML::ParserException& e) {
    throw DecodeFailure(path, "YAML syntax error at line " + std::to_string(e.mark.line + 1) +
                                  " of the embedded configuration: " + e.msg);
  }
  return tree->node(TreeCopy(tree, path).Copy(config));
}

}  // namespace

bool LooksLikeLegacyConfig(const YamlNode& root) {
  if (!root.IsMap() || root.size() == 0) return false;
  for (const auto& kv : root) {
    if (!kv.first.IsScalar()) return false;
    const std::string_view key = kv.first.Scalar();
    if (std::none_of(std::begin(kSections), std::end(kSections),
                     [&](const char* s) { return key == s; })) {
      return false;
    }
  }
  return true;
}

std::string LegacyNameToK8s(const std::string& name) {
  auto lower = [](char c) { return c >= 'a' && c <= 'z'; };
  auto lower_digit = [&](char c) { return lower(c) || (c >= '0' && c <= '9'); };
  const bool valid =
      name.size() >= 2 && name.size() <= kMaxK8sName && lower(name.front()) &&
      lower_digit(name.back()) &&
      std::all_of(name.begin(), name.end(), [&](char c) { return lower_digit(c) || c == '-'; });
  if (valid) return name;
  std::string s = name.substr(0, std::min(name.size(), kMaxK8sName));
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) {
    return c == '_' ? '-' : static_cast<char>(std::tolower(c));
  });
  const size_t first = s.find_first_of("abcdefghijklmnopqrstuvwxyz");
  return first == std::string::npos ? "" : s.substr(first);
}

void DecodeLegacyData(const YamlNode& config, const std::string& file, const std::string& path,
                      const ObjectMeta& configmap, Snapshot* out) {
  Fields top(config, path);
  ObjectMeta base;
  base.ns = configmap.ns.empty() ? kMetalLBNamespace : configmap.ns;
  base.source = file;

  Snapshot converted;
  ForEachItem(top.Get("peers"), top.Path("peers"), [&](const YamlNode& n, const std::string& p) {
    converted.peers.push_back(ConvertPeer(n, p, converted.peers.size(), base));
  });
  ForEachItem(top.Get("bfd-profiles"), top.Path("bfd-profiles"),
              [&](const YamlNode& n, const std::string& p) {
                converted.bfd_profiles.push_back(ConvertBFD(n, p, base));
              });
  std::vector<ConvertedPool> pools;
  ForEachItem(
      top.Get("address-pools"), top.Path("address-pools"),
      [&](const YamlNode& n, const std::string& p) { pools.push_back(ConvertPool(n, p, base)); });
  const Labels aliases = [&] {
    // Alias values such as 64512:1 must stay strings whatever the YAML resolver thinks.
    Labels m;
    const YamlNode n = top.Get("bgp-communities");
    if (!IsSet(n)) return m;
    if (!n.IsMap()) throw DecodeFailure(top.Path("bgp-communities"), "expected a mapping");
    for (const auto& kv : n) {
      const std::string key(kv.first.Scalar());
      m[key] = ReadLegacyString(kv.second, JoinPath(top.Path("bgp-communities"), key));
    }
    return m;
  }();
  top.RejectUnknown();

  int bgp_index = 1;
  int l2_index = 1;
  for (ConvertedPool& cp : pools) {
    converted.pools.push_back(cp.pool);
    for (BGPAdvertisement& adv : cp.advertisements) {
      adv.meta.name = "bgpadvertisement" + std::to_string(bgp_index++);
      converted.bgp_advertisements.push_back(adv);
    }
    if (cp.advertisements.empty() && cp.protocol == "bgp") {
      BGPAdvertisement adv;
      adv.meta = base;
      adv.meta.api_version = "metallb.io/v1beta1";
      adv.meta.name = "bgpadvertisement" + std::to_string(bgp_index++);
      adv.ip_address_pools = {cp.pool.meta.name};
      converted.bgp_advertisements.push_back(adv);
    }
  }
  for (const ConvertedPool& cp : pools) {
    if (cp.protocol != "layer2") continue;
    L2Advertisement adv;
    adv.meta = base;
    adv.meta.api_version = "metallb.io/v1beta1";
    adv.meta.name = "l2advertisement" + std::to_string(l2_index++);
    adv.ip_address_pools = {cp.pool.meta.name};
    converted.l2_advertisements.push_back(adv);
  }
  if (!aliases.empty()) {
    Community c;
    c.meta = base;
    c.meta.api_version = "metallb.io/v1beta1";
    c.meta.name = "communities";
    for (const auto& [name, value] : aliases) c.communities.push_back(CommunityAlias{name, value});
    converted.communities.push_back(std::move(c));
  }

  auto append = [](auto& to, auto& from) { to.insert(to.end(), from.begin(), from.end()); };
  append(out->peers, converted.peers);
  append(out->bfd_profiles, converted.bfd_profiles);
  append(out->pools, converted.pools);
  append(out->bgp_advertisements, converted.bgp_advertisements);
  append(out->l2_advertisements, converted.l2_advertisements);
  append(out->communities, converted.communities);
}

bool DecodeLegacyConfigMap(Document& doc, Snapshot* out) {
  if (doc.api_version != "v1" || doc.kind != "ConfigMap") return false;
  const ObjectMeta meta = ReadMeta(doc);
  Fields data(doc.top.Get("data"), doc.top.Path("data"));
  const YamlNode text = data.Get("config");
  if (!IsSet(text) || !text.IsScalar()) return true;  // some other ConfigMap: not ours
  // yaml-cpp's parser still reads the embedded text (its syntax errors and its leniency, e.g.
  // about duplicate keys, are what users of this path have seen); its tree is copied into ours.
  YamlTree tree;
  const YamlNode config = LoadEmbeddedYaml(text.Scalar(), &tree, data.Path("config"));
  if (!LooksLikeLegacyConfig(config)) {
    // A ConfigMap named like MetalLB's but with other keys is a mistake worth reporting; any
    // other ConfigMap with a `config` key belongs to someone else.
    if (meta.name == "config" && meta.ns == kMetalLBNamespace && config.IsMap()) {
      Fields f(config, data.Path("config"));
      for (const char* s : kSections) f.Get(s);
      f.RejectUnknown();
    }
    return true;
  }
  DecodeLegacyData(config, doc.file, data.Path("config"), meta, out);
  return true;
}

}  // namespace ironlb::config
