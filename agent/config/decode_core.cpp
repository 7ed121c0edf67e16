// Core Kubernetes kinds ironlb reads. Decoded leniently where the API server would have added
// fields (status, managedFields, ...), but a field of the wrong type is still an error.
#include "config/base64.h"
#include "config/decode_kinds.h"

namespace ironlb::config {
namespace {

constexpr int64_t kMaxPort = 65535;
constexpr const char* kDefaultNamespace = "default";

uint16_t ReadPort(const YamlNode& n, const std::string& path) {
  return static_cast<uint16_t>(ReadInt(n, path, 0, kMaxPort));
}

ObjectMeta ReadNamespacedMeta(Document& doc) {
  ObjectMeta m = ReadMeta(doc);
  if (m.ns.empty()) m.ns = kDefaultNamespace;  // what kubectl apply does without -n
  return m;
}

std::optional<bool> ReadConditionStatus(const std::string& s) {
  if (s == "True") return true;
  if (s == "False") return false;
  return std::nullopt;  // "Unknown"
}

Service DecodeService(Document& doc) {
  Service svc;
  svc.meta = ReadNamespacedMeta(doc);
  Fields s(doc.top.Get("spec"), doc.top.Path("spec"));
  const std::string type = ReadString(s.Get("type"), s.Path("type"));
  if (!type.empty()) svc.type = type;
  ForEachItem(s.Get("ports"), s.Path("ports"), [&](const YamlNode& item, const std::string& p) {
    Fields f(item, p);
    ServicePort port;
    port.name = ReadString(f.Get("name"), f.Path("name"));
    const std::string proto = ReadString(f.Get("protocol"), f.Path("protocol"));
    if (!proto.empty()) port.protocol = proto;
    port.port = ReadPort(f.Get("port"), f.Path("port"));
    port.target_port = ReadIntOrString(f.Get("targetPort"), f.Path("targetPort"));
    if (port.target_port.empty()) port.target_port = std::to_string(port.port);
    port.node_port = ReadPort(f.Get("nodePort"), f.Path("nodePort"));
    svc.ports.push_back(std::move(port));
  });
  svc.selector = ReadStringMap(s.Get("selector"), s.Path("selector"));
  svc.cluster_ip = ReadString(s.Get("clusterIP"), s.Path("clusterIP"));
  svc.load_balancer_ip = ReadString(s.Get("loadBalancerIP"), s.Path("loadBalancerIP"));
  svc.load_balancer_class = ReadString(s.Get("loadBalancerClass"), s.Path("loadBalancerClass"));
  const std::string etp =
      ReadString(s.Get("externalTrafficPolicy"), s.Path("externalTrafficPolicy"));
  if (!etp.empty()) svc.external_traffic_policy = etp;
  svc.ip_families = ReadStringList(s.Get("ipFamilies"), s.Path("ipFamilies"));
  svc.ip_family_policy = ReadString(s.Get("ipFamilyPolicy"), s.Path("ipFamilyPolicy"));
  Fields status(doc.top.Get("status"), doc.top.Path("status"));
  Fields lb(status.Get("loadBalancer"), status.Path("loadBalancer"));
  ForEachItem(lb.Get("ingress"), lb.Path("ingress"),
              [&](const YamlNode& item, const std::string& p) {
                Fields f(item, p);
                LoadBalancerIngress ing;
                const std::string ip = ReadString(f.Get("ip"), f.Path("ip"));
                if (!ip.empty()) {
                  ing.ip = IPAddr::Parse(ip);
                  if (!ing.ip)
                    throw DecodeFailure(f.Path("ip"), "\"" + ip + "\" is not an IP address");
                }
                ing.hostname = ReadString(f.Get("hostname"), f.Path("hostname"));
                ing.ip_mode = ReadString(f.Get("ipMode"), f.Path("ipMode"));
                svc.ingress.push_back(std::move(ing));
              });
  return svc;
}

EndpointSlice DecodeEndpointSlice(Document& doc) {
  EndpointSlice es;
  es.meta = ReadNamespacedMeta(doc);
  es.address_type = ReadString(doc.top.Get("addressType"), doc.top.Path("addressType"));
  ForEachItem(doc.top.Get("endpoints"), doc.top.Path("endpoints"),
              [&](const YamlNode& item, const std::string& p) {
                Fields f(item, p);
                Endpoint ep;
                ep.addresses = ReadStringList(f.Get("addresses"), f.Path("addresses"));
                Fields c(f.Get("conditions"), f.Path("conditions"));
                auto cond = [&](const char* key) -> std::optional<bool> {
                  const YamlNode n = c.Get(key);
                  if (!IsSet(n)) return std::nullopt;
                  return ReadBool(n, c.Path(key));
                };
                ep.conditions.ready = cond("ready");
                ep.conditions.serving = cond("serving");
                ep.conditions.terminating = cond("terminating");
                ep.node_name = ReadString(f.Get("nodeName"), f.Path("nodeName"));
                ep.zone = ReadString(f.Get("zone"), f.Path("zone"));
                ep.hostname = ReadString(f.Get("hostname"), f.Path("hostname"));
                es.endpoints.push_back(std::move(ep));
              });
  ForEachItem(doc.top.Get("ports"), doc.top.Path("ports"),
              [&](const YamlNode& item, const std::string& p) {
                Fields f(item, p);
                EndpointPort port;
                port.name = ReadString(f.Get("name"), f.Path("name"));
                const std::string proto = ReadString(f.Get("protocol"), f.Path("protocol"));
                if (!proto.empty()) port.protocol = proto;
                port.port = ReadPort(f.Get("port"), f.Path("port"));
                es.ports.push_back(std::move(port));
              });
  // Kept for as long as the slice is: without the growth slack (up to half as much again).
  es.endpoints.shrink_to_fit();
  es.ports.shrink_to_fit();
  return es;
}

Node DecodeNode(Document& doc) {
  Node node;
  node.meta = ReadMeta(doc);
  Fields spec(doc.top.Get("spec"), doc.top.Path("spec"));
  node.unschedulable = ReadBool(spec.Get("unschedulable"), spec.Path("unschedulable"));
  Fields status(doc.top.Get("status"), doc.top.Path("status"));
  ForEachItem(
      status.Get("addresses"), status.Path("addresses"),
      [&](const YamlNode& item, const std::string& p) {
        Fields f(item, p);
        node.addresses.push_back(NodeAddress{ReadString(f.Get("type"), f.Path("type")),
                                             ReadString(f.Get("address"), f.Path("address"))});
      });
  ForEachItem(status.Get("conditions"), status.Path("conditions"),
              [&](const YamlNode& item, const std::string& p) {
                Fields f(item, p);
                const std::string type = ReadString(f.Get("type"), f.Path("type"));
                const auto value =
                    ReadConditionStatus(ReadString(f.Get("status"), f.Path("status")));
                if (type == "Ready") node.ready = value;
                if (type == "NetworkUnavailable") node.network_unavailable = value;
              });
  return node;
}

Secret DecodeSecret(Document& doc) {
  Secret secret;
  secret.meta = ReadNamespacedMeta(doc);
  secret.type = ReadString(doc.top.Get("type"), doc.top.Path("type"));
  if (secret.type.empty()) secret.type = "Opaque";
  const Labels data = ReadStringMap(doc.top.Get("data"), doc.top.Path("data"));
  for (const auto& [key, encoded] : data) {
    auto decoded = DecodeBase64(encoded);
    if (!decoded) {
      throw DecodeFailure(JoinPath(doc.top.Path("data"), key),
                          "not valid base64 (use stringData for plain text)");
    }
    secret.data[key] = *decoded;
  }
  // stringData is write-only convenience; the API server merges it over data.
  for (const auto& [key, value] :
       ReadStringMap(doc.top.Get("stringData"), doc.top.Path("stringData"))) {
    secret.data[key] = value;
  }
  return secret;
}

}  // namespace

bool DecodeCoreKind(Document& doc, Snapshot* out) {
  const std::string& k = doc.kind;
  if (doc.api_version == "v1") {
    if (k == "Service") {
      out->services.push_back(DecodeService(doc));
    } else if (k == "Node") {
      out->nodes.push_back(DecodeNode(doc));
    } else if (k == "Namespace") {
      Namespace ns;
      ns.meta = ReadMeta(doc);
      out->namespaces.push_back(std::move(ns));
    } else if (k == "Secret") {
      out->secrets.push_back(DecodeSecret(doc));
    } else {
      return false;
    }
    return true;
  }
  if (doc.api_version == "discovery.k8s.io/v1" && k == "EndpointSlice") {
    out->endpoint_slices.push_back(DecodeEndpointSlice(doc));
    return true;
  }
  return false;
}

namespace {

// Every kind the API server serves in the core group (kubectl api-resources, Kubernetes 1.29),
// plus List: a document of any of these is someone else's, not a typo.
constexpr const char* kCoreV1Kinds[] = {"Binding",
                                        "ComponentStatus",
                                        "ConfigMap",
                                        "Endpoints",
                                        "Event",
                                        "LimitRange",
                                        "List",
                                        "Namespace",
                                        "Node",
                                        "PersistentVolume",
                                        "PersistentVolumeClaim",
                                        "Pod",
                                        "PodTemplate",
                                        "ReplicationController",
                                        "ResourceQuota",
                                        "Secret",
                                        "Service",
                                        "ServiceAccount",
                                        "Status"};
constexpr const char* kReadCoreKinds[] = {"Service", "Node", "Namespace", "Secret", "ConfigMap"};

}  // namespace

void RejectUnknownCoreKind(Document& doc) {
  // ServiceList, PodList, ...: typed lists are real kinds too (only v1 List is read).
  const std::string k = doc.kind.size() > 4 && doc.kind.ends_with("List")
                            ? doc.kind.substr(0, doc.kind.size() - 4)
                            : doc.kind;
  std::string group_kinds;
  if (doc.api_version == "v1") {
    for (const char* c : kCoreV1Kinds)
      if (k == c) return;
    group_kinds = "Service, Node, Namespace, Secret, ConfigMap";
  } else if (doc.api_version == "discovery.k8s.io/v1") {
    if (k == "EndpointSlice") return;
    group_kinds = "EndpointSlice";
  } else {
    return;
  }
  std::string near;
  size_t best = 4;  // further than a few typos is no suggestion
  auto consider = [&](const char* c) {
    if (const size_t d = EditDistance(k, c); d < best) best = d, near = c;
  };
  if (doc.api_version == "v1") {
    for (const char* c : kReadCoreKinds) consider(c);
  } else {
    consider("EndpointSlice");
  }
  std::string msg = "unknown kind '" + doc.kind + "' in " + doc.api_version;
  msg += near.empty() ? " (ironlb reads " + group_kinds + ")" : ": did you mean " + near + "?";
  throw DecodeFailure(doc.top.Path("kind"), msg);
}

}  // namespace ironlb::config
