// Writes metallb.io objects back as apply-able YAML. Used by `ironlbctl convert` and to compare
// objects by content (two objects are the same when they encode the same).
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>

#include "config/decode.h"
#include "config/duration.h"
#include "config/encode_object.h"
#include "config/yaml_scalar.h"

namespace ironlb::config {
namespace {

// Scalars a YAML 1.1 reader would not read back as the same string ("64512:1" is a base-60
// integer there, "true" a boolean) are quoted.
void Str(YAML::Emitter& e, const std::string& s) {
  const bool plain_chars =
      !s.empty() && s[0] != '-' && s[0] != '.' && std::all_of(s.begin(), s.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
               c == '/';
      });
  if (plain_chars && !IsYamlBool(s) && !IsYamlNull(s) && !IsYamlNumber(s)) {
    e << s;
  } else {
    e << YAML::DoubleQuoted << s;
  }
}

void StrList(YAML::Emitter& e, const char* key, const std::vector<std::string>& v) {
  if (v.empty()) return;
  e << YAML::Key << key << YAML::Value << YAML::BeginSeq;
  for (const auto& s : v) Str(e, s);
  e << YAML::EndSeq;
}

void StrMap(YAML::Emitter& e, const char* key, const Labels& m) {
  if (m.empty()) return;
  e << YAML::Key << key << YAML::Value << YAML::BeginMap;
  for (const auto& [k, v] : m) {
    e << YAML::Key;
    Str(e, k);
    e << YAML::Value;
    Str(e, v);
  }
  e << YAML::EndMap;
}

void Selector(YAML::Emitter& e, const LabelSelector& s) {
  e << YAML::BeginMap;
  StrMap(e, "matchLabels", s.match_labels);
  if (!s.match_expressions.empty()) {
    e << YAML::Key << "matchExpressions" << YAML::Value << YAML::BeginSeq;
    for (const auto& r : s.match_expressions) {
      e << YAML::BeginMap << YAML::Key << "key" << YAML::Value;
      Str(e, r.key);
      e << YAML::Key << "operator" << YAML::Value << OpName(r.op);
      StrList(e, "values", r.values);
      e << YAML::EndMap;
    }
    e << YAML::EndSeq;
  }
  e << YAML::EndMap;
}

void Selectors(YAML::Emitter& e, const char* key, const std::vector<LabelSelector>& v) {
  if (v.empty()) return;
  e << YAML::Key << key << YAML::Value << YAML::BeginSeq;
  for (const auto& s : v) Selector(e, s);
  e << YAML::EndSeq;
}

void Header(YAML::Emitter& e, const char* api_version, const char* kind, const ObjectMeta& m) {
  e << YAML::Key << "apiVersion" << YAML::Value << api_version;
  e << YAML::Key << "kind" << YAML::Value << kind;
  e << YAML::Key << "metadata" << YAML::Value << YAML::BeginMap;
  e << YAML::Key << "name" << YAML::Value;
  Str(e, m.name);
  if (!m.ns.empty()) {
    e << YAML::Key << "namespace" << YAML::Value;
    Str(e, m.ns);
  }
  StrMap(e, "labels", m.labels);
  e << YAML::EndMap;
}

void Emit(YAML::Emitter& e, const IPAddressPool& p) {
  Header(e, "metallb.io/v1beta1", "IPAddressPool", p.meta);
  e << YAML::Key << "spec" << YAML::Value << YAML::BeginMap;
  StrList(e, "addresses", p.addresses);
  if (!p.auto_assign) e << YAML::Key << "autoAssign" << YAML::Value << false;
  if (p.avoid_buggy_ips) e << YAML::Key << "avoidBuggyIPs" << YAML::Value << true;
  if (p.service_allocation) {
    const ServiceAllocation& a = *p.service_allocation;
    e << YAML::Key << "serviceAllocation" << YAML::Value << YAML::BeginMap;
    if (a.priority != 0) e << YAML::Key << "priority" << YAML::Value << a.priority;
    StrList(e, "namespaces", a.namespaces);
    Selectors(e, "namespaceSelectors", a.namespace_selectors);
    Selectors(e, "serviceSelectors", a.service_selectors);
    e << YAML::EndMap;
  }
  e << YAML::EndMap;
}

void Emit(YAML::Emitter& e, const L2Advertisement& a) {
  Header(e, "metallb.io/v1beta1", "L2Advertisement", a.meta);
  e << YAML::Key << "spec" << YAML::Value << YAML::BeginMap;
  StrList(e, "ipAddressPools", a.ip_address_pools);
  Selectors(e, "ipAddressPoolSelectors", a.ip_address_pool_selectors);
  Selectors(e, "nodeSelectors", a.node_selectors);
  StrList(e, "interfaces", a.interfaces);
  Selectors(e, "serviceSelectors", a.service_selectors);
  if (!a.preferred_node_selectors.empty()) {
    e << YAML::Key << "preferredNodeSelectors" << YAML::Value << YAML::BeginSeq;
    for (const auto& p : a.preferred_node_selectors) {
      e << YAML::BeginMap << YAML::Key << "weight" << YAML::Value << p.weight;
      e << YAML::Key << "preference" << YAML::Value;
      Selector(e, p.preference);
      e << YAML::EndMap;
    }
    e << YAML::EndSeq;
  }
  e << YAML::EndMap;
}

void Emit(YAML::Emitter& e, const BGPAdvertisement& a) {
  Header(e, "metallb.io/v1beta1", "BGPAdvertisement", a.meta);
  e << YAML::Key << "spec" << YAML::Value << YAML::BeginMap;
  if (a.aggregation_length_set) {
    e << YAML::Key << "aggregationLength" << YAML::Value << a.aggregation_length;
  }
  if (a.aggregation_length_v6_set) {
    e << YAML::Key << "aggregationLengthV6" << YAML::Value << a.aggregation_length_v6;
  }
  if (a.local_pref != 0) e << YAML::Key << "localPref" << YAML::Value << a.local_pref;
  StrList(e, "communities", a.communities);
  StrList(e, "ipAddressPools", a.ip_address_pools);
  Selectors(e, "ipAddressPoolSelectors", a.ip_address_pool_selectors);
  Selectors(e, "nodeSelectors", a.node_selectors);
  StrList(e, "peers", a.peers);
  Selectors(e, "serviceSelectors", a.service_selectors);
  e << YAML::EndMap;
}

void Emit(YAML::Emitter& e, const BGPPeer& p) {
  Header(e, "metallb.io/v1beta2", "BGPPeer", p.meta);
  e << YAML::Key << "spec" << YAML::Value << YAML::BeginMap;
  e << YAML::Key << "myASN" << YAML::Value << p.my_asn;
  if (p.peer_asn != 0) e << YAML::Key << "peerASN" << YAML::Value << p.peer_asn;
  if (p.local_asn != 0) e << YAML::Key << "localASN" << YAML::Value << p.local_asn;
  auto str = [&](const char* key, const std::string& v) {
    if (v.empty()) return;
    e << YAML::Key << key << YAML::Value;
    Str(e, v);
  };
  str("dynamicASN", p.dynamic_asn);
  str("peerAddress", p.peer_address);
  str("interface", p.interface);
  str("sourceAddress", p.source_address);
  if (p.peer_port != BGPPeer{}.peer_port)
    e << YAML::Key << "peerPort" << YAML::Value << p.peer_port;
  auto dur = [&](const char* key, const std::optional<Duration>& d) {
    if (d) e << YAML::Key << key << YAML::Value << FormatGoDuration(*d);
  };
  dur("holdTime", p.hold_time);
  dur("keepaliveTime", p.keepalive_time);
  dur("connectTime", p.connect_time);
  str("routerID", p.router_id);
  Selectors(e, "nodeSelectors", p.node_selectors);
  str("password", p.password);
  if (!p.password_secret.empty()) {
    e << YAML::Key << "passwordSecret" << YAML::Value << YAML::BeginMap;
    str("name", p.password_secret.name);
    str("namespace", p.password_secret.ns);
    e << YAML::EndMap;
  }
  str("bfdProfile", p.bfd_profile);
  if (p.enable_graceful_restart) e << YAML::Key << "enableGracefulRestart" << YAML::Value << true;
  if (p.ebgp_multihop) e << YAML::Key << "ebgpMultiHop" << YAML::Value << true;
  str("vrf", p.vrf);
  if (p.disable_mp) e << YAML::Key << "disableMP" << YAML::Value << true;
  if (p.dual_stack_address_family) {
    e << YAML::Key << "dualStackAddressFamily" << YAML::Value << true;
  }
  e << YAML::EndMap;
}

void Emit(YAML::Emitter& e, const BFDProfile& b) {
  const BFDProfile defaults;
  Header(e, "metallb.io/v1beta1", "BFDProfile", b.meta);
  e << YAML::Key << "spec" << YAML::Value << YAML::BeginMap;
  auto num = [&](const char* key, uint32_t v, uint32_t def) {
    if (v != def) e << YAML::Key << key << YAML::Value << v;
  };
  num("receiveInterval", b.receive_interval_ms, defaults.receive_interval_ms);
  num("transmitInterval", b.transmit_interval_ms, defaults.transmit_interval_ms);
  num("detectMultiplier", b.detect_multiplier, defaults.detect_multiplier);
  num("echoInterval", b.echo_interval_ms, defaults.echo_interval_ms);
  if (b.echo_mode) e << YAML::Key << "echoMode" << YAML::Value << true;
  if (b.passive_mode) e << YAML::Key << "passiveMode" << YAML::Value << true;
  num("minimumTtl", b.minimum_ttl, defaults.minimum_ttl);
  e << YAML::EndMap;
}

void Emit(YAML::Emitter& e, const Community& c) {
  Header(e, "metallb.io/v1beta1", "Community", c.meta);
  e << YAML::Key << "spec" << YAML::Value << YAML::BeginMap;
  if (!c.communities.empty()) {
    e << YAML::Key << "communities" << YAML::Value << YAML::BeginSeq;
    for (const auto& a : c.communities) {
      e << YAML::BeginMap << YAML::Key << "name" << YAML::Value;
      Str(e, a.name);
      e << YAML::Key << "value" << YAML::Value;
      Str(e, a.value);
      e << YAML::EndMap;
    }
    e << YAML::EndSeq;
  }
  e << YAML::EndMap;
}

template <class T>
std::string EncodeOne(const T& obj) {
  YAML::Emitter e;
  e << YAML::BeginMap;
  Emit(e, obj);
  e << YAML::EndMap;
  return std::string(e.c_str()) + "\n";
}

}  // namespace

std::string EncodeObject(const IPAddressPool& o) {
  return EncodeOne(o);
}
std::string EncodeObject(const L2Advertisement& o) {
  return EncodeOne(o);
}
std::string EncodeObject(const BGPAdvertisement& o) {
  return EncodeOne(o);
}
std::string EncodeObject(const BGPPeer& o) {
  return EncodeOne(o);
}
std::string EncodeObject(const BFDProfile& o) {
  return EncodeOne(o);
}
std::string EncodeObject(const Community& o) {
  return EncodeOne(o);
}

std::string EncodeYaml(const Snapshot& snap) {
  std::string out;
  auto add = [&](const auto& list) {
    for (const auto& obj : list) out += "---\n" + EncodeObject(obj);
  };
  // configmaptocrs's order, so converted output reads the same way.
  add(snap.peers);
  add(snap.pools);
  add(snap.bgp_advertisements);
  add(snap.l2_advertisements);
  add(snap.bfd_profiles);
  add(snap.communities);
  return out;
}

}  // namespace ironlb::config
