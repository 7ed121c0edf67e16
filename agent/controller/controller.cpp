#include "controller/controller.h"

#include <algorithm>

#include "alloc/request.h"

namespace ironlb {

namespace {

bool SamePools(const std::map<std::string, IPAddressPool>& a,
               const std::map<std::string, IPAddressPool>& b) {
  if (a.size() != b.size()) return false;
  for (auto ia = a.begin(), ib = b.begin(); ia != a.end(); ++ia, ++ib) {
    const auto& pa = ia->second;
    const auto& pb = ib->second;
    if (ia->first != ib->first || pa.ranges != pb.ranges || pa.auto_assign != pb.auto_assign ||
        pa.avoid_buggy_ips != pb.avoid_buggy_ips || pa.meta.labels != pb.meta.labels)
      return false;
    const bool sa = pa.service_allocation.has_value(), sb = pb.service_allocation.has_value();
    if (sa != sb) return false;
    if (sa) {
      const auto &x = *pa.service_allocation, &y = *pb.service_allocation;
      if (x.priority != y.priority || x.namespaces != y.namespaces ||
          x.namespace_selectors != y.namespace_selectors ||
          x.service_selectors != y.service_selectors)
        return false;
    }
  }
  return true;
}

std::vector<IPAddr> HeldIPs(const Service& svc) {
  std::vector<IPAddr> ips;
  for (const auto& ing : svc.ingress) {
    if (ing.ip) ips.push_back(*ing.ip);
  }
  return ips;
}

}  // namespace

bool Controller::Owns(const Service& svc) const {
  return svc.type == "LoadBalancer" && svc.load_balancer_class == opts_.load_balancer_class;
}

ReconcileResult Controller::Reconcile(const Snapshot& snap, const Config& cfg) {
  ReconcileResult out;
  if (!SamePools(pools_, cfg.pools)) {
    for (const auto& key : alloc_.SetPools(cfg.pools)) {
      out.events.push_back(key + ": assignment no longer inside its pool, reassigning");
    }
    pools_ = cfg.pools;
  }

  std::map<std::string, Labels> ns_labels;
  for (const auto& ns : snap.namespaces) ns_labels[ns.meta.name] = ns.meta.labels;

  std::vector<const Service*> owned;
  for (const auto& svc : snap.services) {
    if (Owns(svc)) owned.push_back(&svc);
  }
  std::sort(owned.begin(), owned.end(),
            [](const Service* a, const Service* b) { return a->key() < b->key(); });

  // Release what is gone or no longer ours (deleted, type changed, class changed).
  std::map<std::string, const Service*> by_key;
  for (const auto* s : owned) by_key[s->key()] = s;
  for (auto it = last_.begin(); it != last_.end();) {
    if (!by_key.count(it->first)) {
      alloc_.Release(it->first);
      const auto& ips = it->second.ips;
      out.events.push_back(it->first + ": released " +
                           (ips.empty() ? std::string("nothing") : JoinIPs(ips)));
      it = last_.erase(it);
    } else {
      ++it;
    }
  }

  std::map<std::string, alloc::Request> requests;
  std::map<std::string, std::string> request_errors;
  for (const auto* svc : owned) {
    auto r = alloc::RequestFromService(*svc, ns_labels[svc->meta.ns]);
    if (auto* err = std::get_if<ConfigError>(&r)) {
      request_errors[svc->key()] = err->str();
    } else {
      requests.emplace(svc->key(), std::get<alloc::Request>(std::move(r)));
    }
  }

  // Adoption happens once, before any new allocation, so adopted IPs cannot be handed to
  // another Service first.
  if (!adopted_) {
    adopted_ = true;
    for (const auto* svc : owned) {
      auto rq = requests.find(svc->key());
      auto ips = HeldIPs(*svc);
      if (rq == requests.end() || ips.empty()) continue;
      std::string reason;
      if (alloc_.Adopt(rq->second, ips, &reason)) {
        out.events.push_back(svc->key() + ": adopted " + JoinIPs(ips));
      } else {
        out.events.push_back(svc->key() + ": cannot keep " + JoinIPs(ips) + ": " + reason);
      }
    }
  }

  for (const auto* svc : owned) {
    ServiceStatus st;
    st.ns = svc->meta.ns;
    st.name = svc->meta.name;
    auto err = request_errors.find(svc->key());
    if (err != request_errors.end()) {
      // An invalid request keeps nothing new, but a Service that already had an IP keeps it
      // (a typo in an annotation must not take a running Service offline).
      if (auto held = alloc_.Get(svc->key())) {
        st.pool = held->pool;
        st.ips = held->ips;
      }
      st.error = err->second;
    } else {
      auto res = alloc_.Assign(requests.at(svc->key()));
      if (auto* a = std::get_if<alloc::Assignment>(&res)) {
        st.pool = a->pool;
        st.ips = a->ips;
      } else {
        st.error = std::get<std::string>(res);
      }
    }
    auto prev = last_.find(st.key());
    if (prev == last_.end() || !(prev->second == st)) {
      if (!st.error.empty()) {
        out.events.push_back(st.key() + ": " + (st.ips.empty() ? "pending: " : "kept, but: ") +
                             st.error);
      } else {
        out.events.push_back(st.key() + ": assigned " + JoinIPs(st.ips) + " from pool " + st.pool);
      }
    }
    last_[st.key()] = st;
    out.desired.push_back(std::move(st));
  }
  return out;
}

}  // namespace ironlb
