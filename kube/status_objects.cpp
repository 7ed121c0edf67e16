#include "kube/status_objects.h"

#include <algorithm>
#include <set>

namespace ironlb::kube {
namespace {

// MetalLB's condition type and reasons (internal/k8s/controllers/values.go).
constexpr const char* kConditionConfigValid = "configReconcilerValid";
constexpr const char* kReasonReconciled = "Reconciled";
constexpr const char* kReasonConfigurationError = "ConfigurationError";
// A condition's message may hold at most this much (metav1.Condition's schema); the summary is
// cut to the same so one bad object among thousands cannot make the object too large to store.
constexpr size_t kMaxMessage = 32768;

std::string Label(const StatusObject& o, const char* key) {
  auto it = o.labels.find(key);
  return it == o.labels.end() ? "" : it->second;
}

// A merge patch turning `have` into `want`: keys of `have` that `want` lacks are nulled.
nlohmann::json StatusPatch(const nlohmann::json& want, const nlohmann::json& have) {
  nlohmann::json patch = want;
  if (have.is_object()) {
    for (const auto& [k, v] : have.items()) {
      if (!want.contains(k)) patch[k] = nullptr;
    }
  }
  return {{"status", std::move(patch)}};
}

nlohmann::json Metadata(const std::string& ns, const std::map<std::string, std::string>& labels,
                        const std::optional<PodOwner>& owner) {
  nlohmann::json meta = {{"namespace", ns}, {"labels", labels}};
  if (owner) meta["ownerReferences"] = nlohmann::json::array({owner->Reference()});
  return meta;
}

// Labels and owner as wanted (a restarted pod adopts its node's objects: the old pod's
// reference would let the garbage collector take them).
std::optional<StatusWrite> MetaWrite(StatusKind kind, const StatusObject& have,
                                     const std::map<std::string, std::string>& labels,
                                     const std::optional<PodOwner>& owner,
                                     const std::string& about) {
  nlohmann::json meta = nlohmann::json::object();
  for (const auto& [k, v] : labels) {
    if (Label(have, k.c_str()) != v) meta["labels"][k] = v;
  }
  if (owner) {
    const nlohmann::json refs = nlohmann::json::array({owner->Reference()});
    if (have.owner_refs != refs) meta["ownerReferences"] = refs;
  }
  if (meta.empty()) return std::nullopt;
  StatusWrite w;
  w.op = StatusWrite::Op::kPatchMeta;
  w.kind = kind;
  w.name = have.name;
  w.patch = {{"metadata", std::move(meta)}};
  w.about = about;
  return w;
}

StatusWrite Delete(StatusKind kind, const StatusObject& o, const std::string& about) {
  StatusWrite w;
  w.op = StatusWrite::Op::kDelete;
  w.kind = kind;
  w.name = o.name;
  w.about = about;
  return w;
}

nlohmann::json ServiceStatusBody(const ServiceAnnouncement& s, const std::string& node,
                                 NodeAnnouncements::Protocol p) {
  nlohmann::json st = {{"node", node}, {"serviceName", s.name}, {"serviceNamespace", s.ns}};
  if (p == NodeAnnouncements::Protocol::kL2) {
    if (!s.interfaces.empty()) {
      nlohmann::json ifs = nlohmann::json::array();
      for (const auto& i : s.interfaces) ifs.push_back({{"name", i}});
      st["interfaces"] = std::move(ifs);
    }
  } else if (!s.peers.empty()) {
    st["peers"] = s.peers;
  }
  return st;
}

std::string Cut(std::string s) {
  if (s.size() > kMaxMessage) {
    s.resize(kMaxMessage - 4);
    s += " ...";
  }
  return s;
}

}  // namespace

const char* KindName(StatusKind k) {
  switch (k) {
    case StatusKind::kL2: return "ServiceL2Status";
    case StatusKind::kBgp: return "ServiceBGPStatus";
    case StatusKind::kConfig: return "ConfigurationState";
  }
  return "";
}

const char* Plural(StatusKind k) {
  switch (k) {
    case StatusKind::kL2: return "servicel2statuses";
    case StatusKind::kBgp: return "servicebgpstatuses";
    case StatusKind::kConfig: return "configurationstates";
  }
  return "";
}

nlohmann::json PodOwner::Reference() const {
  return {{"apiVersion", "v1"}, {"kind", "Pod"}, {"name", name}, {"uid", uid}};
}

StatusObject StatusObject::FromJson(const nlohmann::json& obj) {
  StatusObject o;
  if (!obj.is_object()) return o;
  if (auto m = obj.find("metadata"); m != obj.end() && m->is_object()) {
    o.name = m->value("name", std::string());
    o.version = m->value("resourceVersion", std::string());
    if (auto l = m->find("labels"); l != m->end() && l->is_object()) {
      for (const auto& [k, v] : l->items()) {
        if (v.is_string()) o.labels[k] = v.get<std::string>();
      }
    }
    if (auto r = m->find("ownerReferences"); r != m->end() && r->is_array()) {
      // Only what ironlb sets, so a reference the server completed compares equal.
      for (const auto& ref : *r) {
        if (!ref.is_object()) continue;
        o.owner_refs.push_back({{"apiVersion", ref.value("apiVersion", std::string())},
                                {"kind", ref.value("kind", std::string())},
                                {"name", ref.value("name", std::string())},
                                {"uid", ref.value("uid", std::string())}});
      }
    }
  }
  if (auto s = obj.find("status"); s != obj.end() && s->is_object()) o.status = *s;
  return o;
}

std::vector<StatusWrite> PlanServiceStatuses(const NodeAnnouncements& want,
                                             const std::vector<StatusObject>& existing,
                                             const std::string& ns,
                                             const std::optional<PodOwner>& owner) {
  const bool l2 = want.protocol == NodeAnnouncements::Protocol::kL2;
  const StatusKind kind = l2 ? StatusKind::kL2 : StatusKind::kBgp;
  std::map<std::string, const ServiceAnnouncement*> wanted;
  for (const auto& s : want.services) wanted[s.key()] = &s;

  std::vector<const StatusObject*> sorted;
  for (const auto& o : existing) sorted.push_back(&o);
  std::sort(sorted.begin(), sorted.end(),
            [](const StatusObject* a, const StatusObject* b) { return a->name < b->name; });

  std::vector<StatusWrite> out;
  std::map<std::string, const StatusObject*> kept;  // this node's object per Service
  for (const StatusObject* o : sorted) {
    const std::string node = Label(*o, kLabelAnnounceNode);
    const std::string key = Label(*o, kLabelServiceNamespace) + "/" + Label(*o, kLabelServiceName);
    const std::string about = "Service " + key + " on " + node;
    if (node.empty()) continue;  // not a status object any speaker writes (MetalLB skips them too)
    auto w = wanted.find(key);
    if (node == want.node) {
      if (w == wanted.end() || kept.count(key)) {
        out.push_back(Delete(kind, *o, about));
      } else {
        kept[key] = o;
      }
    } else if (l2 && w != wanted.end()) {
      // This node answers for the Service now; the other node's object is stale unless it still
      // owns another of the Service's addresses (per-VIP election can split a dual-stack one).
      const auto& owners = w->second->owners;
      if (std::find(owners.begin(), owners.end(), node) == owners.end())
        out.push_back(Delete(kind, *o, about));
    }
  }
  for (const auto& [key, s] : wanted) {
    const std::map<std::string, std::string> labels = {{kLabelAnnounceNode, want.node},
                                                       {kLabelServiceName, s->name},
                                                       {kLabelServiceNamespace, s->ns}};
    const nlohmann::json body = ServiceStatusBody(*s, want.node, want.protocol);
    const std::string about = "Service " + key + " on " + want.node;
    auto k = kept.find(key);
    if (k == kept.end()) {
      StatusWrite w;
      w.op = StatusWrite::Op::kCreate;
      w.kind = kind;
      nlohmann::json meta = Metadata(ns, labels, owner);
      meta["generateName"] = l2 ? "l2-" : "bgp-";
      w.object = {{"apiVersion", kStatusApiVersion}, {"kind", KindName(kind)}, {"metadata", meta}};
      w.patch = StatusPatch(body, nullptr);
      w.about = about;
      out.push_back(std::move(w));
      continue;
    }
    const StatusObject& have = *k->second;
    if (auto m = MetaWrite(kind, have, labels, owner, about)) out.push_back(std::move(*m));
    if (have.status != body) {
      StatusWrite w;
      w.op = StatusWrite::Op::kPatchStatus;
      w.kind = kind;
      w.name = have.name;
      w.patch = StatusPatch(body, have.status);
      w.about = about;
      out.push_back(std::move(w));
    }
  }
  return out;
}

std::string ConfigurationStateName(const ConfigReport& r) {
  return r.component == ConfigReport::Component::kController ? "controller" : "speaker-" + r.node;
}

std::vector<StatusWrite> PlanConfigurationState(const ConfigReport& report,
                                                const std::vector<StatusObject>& existing,
                                                const std::string& ns,
                                                const std::optional<PodOwner>& owner,
                                                const std::string& now) {
  const std::string name = ConfigurationStateName(report);
  std::map<std::string, std::string> labels;
  if (report.component == ConfigReport::Component::kController) {
    labels[kLabelComponentType] = "controller";
  } else {
    labels[kLabelComponentType] = "speaker";
    labels[kLabelNodeName] = report.node;
  }
  std::string summary;
  for (const auto& e : report.errors) summary += (summary.empty() ? "" : "\n") + e;
  summary = Cut(std::move(summary));
  const bool valid = report.valid();
  nlohmann::json condition = {{"type", kConditionConfigValid},
                              {"status", valid ? "True" : "False"},
                              {"reason", valid ? kReasonReconciled : kReasonConfigurationError},
                              {"message", summary},
                              {"lastTransitionTime", now}};
  nlohmann::json body = {{"result", valid ? "Valid" : "Invalid"},
                         {"conditions", nlohmann::json::array({condition})}};
  if (!valid) body["errorSummary"] = summary;

  const StatusObject* have = nullptr;
  for (const auto& o : existing)
    if (o.name == name) have = &o;
  std::vector<StatusWrite> out;
  if (!have) {
    StatusWrite w;
    w.op = StatusWrite::Op::kCreate;
    w.kind = StatusKind::kConfig;
    nlohmann::json meta = Metadata(ns, labels, owner);
    meta["name"] = name;
    w.object = {{"apiVersion", kStatusApiVersion},
                {"kind", KindName(StatusKind::kConfig)},
                {"metadata", meta}};
    w.patch = StatusPatch(body, nullptr);
    w.about = name;
    out.push_back(std::move(w));
    return out;
  }
  if (auto m = MetaWrite(StatusKind::kConfig, *have, labels, owner, name))
    out.push_back(std::move(*m));
  // The same result, summary and condition (its time aside) is no change: nothing is written.
  const nlohmann::json& st = have->status;
  bool same = st.value("result", std::string()) == body["result"] &&
              st.value("errorSummary", std::string()) == (valid ? "" : summary);
  if (same) {
    const auto conds = st.find("conditions");
    same = conds != st.end() && conds->is_array() && conds->size() == 1;
    if (same) {
      const auto& c = (*conds)[0];
      for (const char* k : {"type", "status", "reason", "message"})
        same = same && c.is_object() && c.value(k, std::string()) == condition[k];
    }
  }
  if (!same) {
    StatusWrite w;
    w.op = StatusWrite::Op::kPatchStatus;
    w.kind = StatusKind::kConfig;
    w.name = name;
    w.patch = StatusPatch(body, st);
    w.about = name;
    out.push_back(std::move(w));
  }
  return out;
}

}  // namespace ironlb::kube
