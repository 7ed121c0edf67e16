#include "model/model.h"

#include <algorithm>
#include <charconv>

namespace ironlb {

Model::Model(const Config& cfg, const Snapshot& snap,
             const std::map<std::string, ServiceStatus>* assigned)
    : cfg_(cfg), snap_(snap), assigned_(assigned) {
  // Built once per pass: without them every speaker scanned every slice for every Service port,
  // which is quadratic in the cluster's size.
  for (const EndpointSlice& s : snap.endpoint_slices) {
    const std::string svc = s.service_name();
    if (!svc.empty()) slices_[{s.meta.ns, svc}].push_back(&s);
  }
  for (const Node& n : snap.nodes) nodes_.emplace(n.meta.name, &n);
}

std::vector<IPAddr> Model::Ingress(const Service& svc) const {
  if (assigned_) {
    auto it = assigned_->find(svc.key());
    if (it != assigned_->end()) return it->second.ips;
  }
  std::vector<IPAddr> out;
  for (const LoadBalancerIngress& ing : svc.ingress)
    if (ing.ip) out.push_back(*ing.ip);
  return out;
}

const IPAddressPool* Model::PoolOf(const Service& svc, const IPAddr& ip) const {
  std::optional<std::string> recorded;
  if (assigned_) {
    auto it = assigned_->find(svc.key());
    if (it != assigned_->end() && !it->second.pool.empty()) recorded = it->second.pool;
  }
  if (!recorded) recorded = MetalLBAnnotation(svc.meta, "ip-allocated-from-pool");
  if (recorded) {
    auto it = cfg_.pools.find(*recorded);
    if (it != cfg_.pools.end()) return &it->second;
  }
  for (const auto& [name, pool] : cfg_.pools)
    for (const IPRange& r : pool.ranges)
      if (r.contains(ip)) return &pool;
  return nullptr;
}

const std::vector<const EndpointSlice*>& Model::Slices(const Service& svc) const {
  static const std::vector<const EndpointSlice*> kNone;
  auto it = slices_.find({svc.meta.ns, svc.meta.name});
  return it == slices_.end() ? kNone : it->second;
}

std::vector<std::string> Model::NodeNames(const std::string& self) const {
  std::vector<std::string> out;
  for (const auto& [name, n] : nodes_) out.push_back(name);
  if (!nodes_.count(self)) out.insert(std::upper_bound(out.begin(), out.end(), self), self);
  return out;
}

const Node* Model::FindNode(const std::string& name) const {
  auto it = nodes_.find(name);
  return it == nodes_.end() ? nullptr : it->second;
}

Labels Model::NodeLabels(const std::string& name) const {
  if (const Node* n = FindNode(name)) return n->meta.labels;
  return {{kHostnameLabel, name}};
}

bool Model::NodeMayAnnounce(const std::string& name) const {
  const Node* n = FindNode(name);
  if (!n) return true;
  if (n->meta.labels.count(kExcludeFromLBLabel)) return false;
  return !n->network_unavailable.value_or(false);
}

bool SelectsPool(const std::vector<std::string>& names, const std::vector<LabelSelector>& selectors,
                 const IPAddressPool& pool) {
  if (names.empty() && selectors.empty()) return true;
  if (std::find(names.begin(), names.end(), pool.meta.name) != names.end()) return true;
  return std::any_of(selectors.begin(), selectors.end(),
                     [&](const LabelSelector& s) { return s.Matches(pool.meta.labels); });
}

std::optional<HostPort> ParseHostPort(const std::string& s) {
  const auto colon = s.rfind(':');
  if (colon == std::string::npos || colon + 1 == s.size()) return std::nullopt;
  HostPort hp;
  hp.host = s.substr(0, colon);
  if (hp.host.size() >= 2 && hp.host.front() == '[' && hp.host.back() == ']') {
    hp.host = hp.host.substr(1, hp.host.size() - 2);
  } else if (hp.host.find(':') != std::string::npos) {
    return std::nullopt;  // an IPv6 literal needs brackets
  }
  const char* first = s.data() + colon + 1;
  const char* last = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(first, last, hp.port);
  if (ec != std::errc() || ptr != last) return std::nullopt;
  return hp;
}

std::string FormatHostPort(const IPAddr& a, uint16_t port) {
  return (a.is_v6() ? "[" + a.str() + "]" : a.str()) + ":" + std::to_string(port);
}

}  // namespace ironlb
