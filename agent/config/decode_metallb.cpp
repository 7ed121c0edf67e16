// metallb.io kinds, decoded strictly as MetalLB's typed Go structs are (unknown spec fields and
// wrong types are errors), with MetalLB's defaults. BGPPeer v1beta1 is converted to the v1beta2
// hub exactly as MetalLB's ConvertTo does.
#include <algorithm>
#include <cctype>
#include <limits>
#include <vector>

#include "config/decode_kinds.h"

namespace ironlb::config {
namespace {

constexpr std::string_view kGroup = "metallb.io/";
constexpr int64_t kMaxPort = 65535;

// The top-level fields every metallb.io object may have; the rest are typos.
Fields OpenSpec(Document& doc) {
  doc.top.Get("apiVersion");
  doc.top.Get("kind");
  doc.top.Get("metadata");
  doc.top.Get("status");  // written by MetalLB itself; never configuration
  Fields spec(doc.top.Get("spec"), doc.top.Path("spec"));
  doc.top.RejectUnknown();
  return spec;
}

void RequireVersion(Document& doc, std::initializer_list<std::string_view> versions) {
  for (std::string_view v : versions) {
    if (doc.api_version == std::string(kGroup) + std::string(v)) return;
  }
  std::string want;
  for (std::string_view v : versions)
    want += (want.empty() ? "" : " or ") + std::string(kGroup) + std::string(v);
  throw DecodeFailure(doc.top.Path("apiVersion"), "unsupported apiVersion \"" + doc.api_version +
                                                      "\" for " + doc.kind + " (expected " + want +
                                                      ")");
}

IPAddressPool DecodePool(Document& doc) {
  RequireVersion(doc, {"v1beta1"});
  IPAddressPool p;
  p.meta = ReadMeta(doc);
  Fields s = OpenSpec(doc);
  p.addresses = ReadStringList(s.Get("addresses"), s.Path("addresses"));
  const YamlNode auto_assign = s.Get("autoAssign");
  if (IsSet(auto_assign)) p.auto_assign = ReadBool(auto_assign, s.Path("autoAssign"));
  p.avoid_buggy_ips = ReadBool(s.Get("avoidBuggyIPs"), s.Path("avoidBuggyIPs"));
  const YamlNode alloc = s.Get("serviceAllocation");
  if (IsSet(alloc)) {
    Fields a(alloc, s.Path("serviceAllocation"));
    ServiceAllocation sa;
    sa.priority = static_cast<int>(ReadInt(a.Get("priority"), a.Path("priority"),
                                           std::numeric_limits<int32_t>::min(),
                                           std::numeric_limits<int32_t>::max()));
    sa.namespaces = ReadStringList(a.Get("namespaces"), a.Path("namespaces"));
    sa.namespace_selectors =
        ReadLabelSelectors(a.Get("namespaceSelectors"), a.Path("namespaceSelectors"));
    sa.service_selectors =
        ReadLabelSelectors(a.Get("serviceSelectors"), a.Path("serviceSelectors"));
    a.RejectUnknown();
    p.service_allocation = std::move(sa);
  }
  s.RejectUnknown();
  return p;
}

L2Advertisement DecodeL2(Document& doc) {
  RequireVersion(doc, {"v1beta1"});
  L2Advertisement a;
  a.meta = ReadMeta(doc);
  Fields s = OpenSpec(doc);
  a.ip_address_pools = ReadStringList(s.Get("ipAddressPools"), s.Path("ipAddressPools"));
  a.ip_address_pool_selectors =
      ReadLabelSelectors(s.Get("ipAddressPoolSelectors"), s.Path("ipAddressPoolSelectors"));
  a.node_selectors = ReadLabelSelectors(s.Get("nodeSelectors"), s.Path("nodeSelectors"));
  a.interfaces = ReadStringList(s.Get("interfaces"), s.Path("interfaces"));
  a.service_selectors = ReadLabelSelectors(s.Get("serviceSelectors"), s.Path("serviceSelectors"));
  ForEachItem(s.Get("preferredNodeSelectors"), s.Path("preferredNodeSelectors"),
              [&](const YamlNode& item, const std::string& p) {
                Fields f(item, p);
                PreferredNodeSelector pref;
                pref.weight = static_cast<int>(ReadInt(f.Get("weight"), f.Path("weight"),
                                                       std::numeric_limits<int32_t>::min(),
                                                       std::numeric_limits<int32_t>::max()));
                pref.preference = ReadLabelSelector(f.Get("preference"), f.Path("preference"));
                f.RejectUnknown();
                a.preferred_node_selectors.push_back(std::move(pref));
              });
  s.RejectUnknown();
  return a;
}

BGPAdvertisement DecodeBGPAdv(Document& doc) {
  RequireVersion(doc, {"v1beta1"});
  BGPAdvertisement a;
  a.meta = ReadMeta(doc);
  Fields s = OpenSpec(doc);
  const YamlNode len = s.Get("aggregationLength");
  if (IsSet(len)) {
    a.aggregation_length = static_cast<int>(ReadInt(len, s.Path("aggregationLength"),
                                                    std::numeric_limits<int32_t>::min(),
                                                    std::numeric_limits<int32_t>::max()));
    a.aggregation_length_set = true;
  }
  const YamlNode len6 = s.Get("aggregationLengthV6");
  if (IsSet(len6)) {
    a.aggregation_length_v6 = static_cast<int>(ReadInt(len6, s.Path("aggregationLengthV6"),
                                                       std::numeric_limits<int32_t>::min(),
                                                       std::numeric_limits<int32_t>::max()));
    a.aggregation_length_v6_set = true;
  }
  a.local_pref = ReadUint32(s.Get("localPref"), s.Path("localPref"));
  a.communities = ReadStringList(s.Get("communities"), s.Path("communities"));
  a.ip_address_pools = ReadStringList(s.Get("ipAddressPools"), s.Path("ipAddressPools"));
  a.ip_address_pool_selectors =
      ReadLabelSelectors(s.Get("ipAddressPoolSelectors"), s.Path("ipAddressPoolSelectors"));
  a.node_selectors = ReadLabelSelectors(s.Get("nodeSelectors"), s.Path("nodeSelectors"));
  a.peers = ReadStringList(s.Get("peers"), s.Path("peers"));
  a.service_selectors = ReadLabelSelectors(s.Get("serviceSelectors"), s.Path("serviceSelectors"));
  s.RejectUnknown();
  return a;
}

// Fields v1beta1 and v1beta2 share.
void DecodePeerCommon(Fields& s, BGPPeer* p) {
  p->my_asn = ReadUint32(s.Get("myASN"), s.Path("myASN"));
  p->peer_asn = ReadUint32(s.Get("peerASN"), s.Path("peerASN"));
  p->peer_address = ReadString(s.Get("peerAddress"), s.Path("peerAddress"));
  p->source_address = ReadString(s.Get("sourceAddress"), s.Path("sourceAddress"));
  const YamlNode port = s.Get("peerPort");
  if (IsSet(port))
    p->peer_port = static_cast<uint16_t>(ReadInt(port, s.Path("peerPort"), 0, kMaxPort));
  p->router_id = ReadString(s.Get("routerID"), s.Path("routerID"));
  p->node_selectors = ReadLabelSelectors(s.Get("nodeSelectors"), s.Path("nodeSelectors"));
  p->password = ReadString(s.Get("password"), s.Path("password"));
  p->bfd_profile = ReadString(s.Get("bfdProfile"), s.Path("bfdProfile"));
  p->ebgp_multihop = ReadBool(s.Get("ebgpMultiHop"), s.Path("ebgpMultiHop"));
}

BGPPeer DecodePeer(Document& doc) {
  RequireVersion(doc, {"v1beta2", "v1beta1"});
  const bool v1beta1 = doc.api_version == "metallb.io/v1beta1";
  BGPPeer p;
  p.meta = ReadMeta(doc);
  Fields s = OpenSpec(doc);
  DecodePeerCommon(s, &p);
  std::optional<Duration> hold, keepalive;
  if (IsSet(s.Get("holdTime"))) hold = ReadDuration(s.Get("holdTime"), s.Path("holdTime"));
  if (IsSet(s.Get("keepaliveTime"))) {
    keepalive = ReadDuration(s.Get("keepaliveTime"), s.Path("keepaliveTime"));
  }
  if (v1beta1) {
    // MetalLB's ConvertTo always points the hub's timers at the v1beta1 values, so absent
    // timers become 0s (hold timer off) instead of staying unset.
    p.hold_time = hold.value_or(Duration(0));
    p.keepalive_time = keepalive.value_or(Duration(0));
    if (p.peer_port == 0) p.peer_port = BGPPeer{}.peer_port;
    s.RejectUnknown();
    return p;
  }
  p.hold_time = hold;
  p.keepalive_time = keepalive;
  if (IsSet(s.Get("connectTime")))
    p.connect_time = ReadDuration(s.Get("connectTime"), s.Path("connectTime"));
  p.local_asn = ReadUint32(s.Get("localASN"), s.Path("localASN"));
  p.dynamic_asn = ReadString(s.Get("dynamicASN"), s.Path("dynamicASN"));
  p.interface = ReadString(s.Get("interface"), s.Path("interface"));
  Fields secret(s.Get("passwordSecret"), s.Path("passwordSecret"));
  p.password_secret.name = ReadString(secret.Get("name"), secret.Path("name"));
  p.password_secret.ns = ReadString(secret.Get("namespace"), secret.Path("namespace"));
  secret.RejectUnknown();
  p.enable_graceful_restart =
      ReadBool(s.Get("enableGracefulRestart"), s.Path("enableGracefulRestart"));
  p.vrf = ReadString(s.Get("vrf"), s.Path("vrf"));
  p.disable_mp = ReadBool(s.Get("disableMP"), s.Path("disableMP"));
  p.dual_stack_address_family =
      ReadBool(s.Get("dualStackAddressFamily"), s.Path("dualStackAddressFamily"));
  s.RejectUnknown();
  return p;
}

BFDProfile DecodeBFD(Document& doc) {
  RequireVersion(doc, {"v1beta1"});
  BFDProfile b;
  b.meta = ReadMeta(doc);
  Fields s = OpenSpec(doc);
  auto opt_uint = [&](const char* key, uint32_t* field) {
    const YamlNode n = s.Get(key);
    if (IsSet(n)) *field = ReadUint32(n, s.Path(key));
  };
  opt_uint("receiveInterval", &b.receive_interval_ms);
  opt_uint("transmitInterval", &b.transmit_interval_ms);
  opt_uint("detectMultiplier", &b.detect_multiplier);
  opt_uint("echoInterval", &b.echo_interval_ms);
  opt_uint("minimumTtl", &b.minimum_ttl);
  b.echo_mode = ReadBool(s.Get("echoMode"), s.Path("echoMode"));
  b.passive_mode = ReadBool(s.Get("passiveMode"), s.Path("passiveMode"));
  s.RejectUnknown();
  return b;
}

Community DecodeCommunity(Document& doc) {
  RequireVersion(doc, {"v1beta1"});
  Community c;
  c.meta = ReadMeta(doc);
  Fields s = OpenSpec(doc);
  ForEachItem(s.Get("communities"), s.Path("communities"),
              [&](const YamlNode& item, const std::string& p) {
                Fields f(item, p);
                CommunityAlias alias;
                alias.name = ReadString(f.Get("name"), f.Path("name"));
                alias.value = ReadString(f.Get("value"), f.Path("value"));
                f.RejectUnknown();
                c.communities.push_back(std::move(alias));
              });
  s.RejectUnknown();
  return c;
}

constexpr const char* kConfigKinds =
    "IPAddressPool, L2Advertisement, BGPAdvertisement, BGPPeer, BFDProfile, Community";

bool IsMetalLBStatusKind(const std::string& k) {
  return k == "ServiceL2Status" || k == "ServiceBGPStatus" || k == "ConfigurationState" ||
         k == "BGPSessionState";
}

}  // namespace

// "IPAdressPool" and "ipaddresspool" are both near IPAddressPool.
size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      const bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                        std::tolower(static_cast<unsigned char>(b[j - 1]));
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (same ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

namespace {

std::string NearestKind(const std::string& k) {
  static const char* const kinds[] = {"IPAddressPool", "L2Advertisement", "BGPAdvertisement",
                                      "BGPPeer",       "BFDProfile",      "Community"};
  std::string best;
  size_t best_d = 4;  // further than a few typos is no suggestion
  for (const char* c : kinds) {
    const size_t d = EditDistance(k, c);
    if (d < best_d) best_d = d, best = c;
  }
  return best;
}

}  // namespace

bool DecodeMetalLBKind(Document& doc, Snapshot* out) {
  if (doc.api_version.rfind(kGroup, 0) != 0) return false;
  const std::string& k = doc.kind;
  if (k == "IPAddressPool") {
    out->pools.push_back(DecodePool(doc));
  } else if (k == "L2Advertisement") {
    out->l2_advertisements.push_back(DecodeL2(doc));
  } else if (k == "BGPAdvertisement") {
    out->bgp_advertisements.push_back(DecodeBGPAdv(doc));
  } else if (k == "BGPPeer") {
    out->peers.push_back(DecodePeer(doc));
  } else if (k == "BFDProfile") {
    out->bfd_profiles.push_back(DecodeBFD(doc));
  } else if (k == "Community") {
    out->communities.push_back(DecodeCommunity(doc));
  } else if (k == "AddressPool") {
    throw DecodeFailure(doc.top.Path("kind"),
                        "AddressPool was removed in MetalLB v0.14; write an IPAddressPool plus an "
                        "L2Advertisement or BGPAdvertisement instead");
  } else if (!IsMetalLBStatusKind(k)) {
    // A misspelt kind would otherwise vanish without a word, and with it the pool or peer the
    // user meant to configure.
    std::string msg = "unknown kind '" + k + "' in " + doc.api_version;
    const std::string near = NearestKind(k);
    msg += near.empty() ? " (ironlb reads " + std::string(kConfigKinds) + ")"
                        : ": did you mean " + near + "?";
    throw DecodeFailure(doc.top.Path("kind"), msg);
  }
  // Status kinds (ServiceL2Status, ServiceBGPStatus, ConfigurationState) are MetalLB's output.
  return true;
}

}  // namespace ironlb::config
