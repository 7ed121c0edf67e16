// An in-memory ObjectStore for component tests of the agent: objects are set by the test,
// status writes and events are recorded, and nothing touches files or sockets.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "store/object_store.h"
#include "store/service_status.h"

namespace ironlb {

class FakeStore : public ObjectStore {
 public:
  void Start(ChangeHandler on_change) override { on_change_ = std::move(on_change); }
  const Snapshot& snapshot() const override { return snap; }
  bool synced() const override { return is_synced; }
  std::string description() const override { return "fake"; }
  std::vector<ServiceStatus> statuses() const override {
    std::vector<ServiceStatus> out;
    for (const auto& [k, s] : recorded) out.push_back(s);
    return out;
  }
  void WriteStatus(const ServiceStatus& s) override {
    recorded[s.key()] = s;
    writes.push_back(s);
  }
  void RemoveStatus(const std::string& ns, const std::string& name) override {
    recorded.erase(ns + "/" + name);
    removals.push_back(ns + "/" + name);
  }
  void EmitEvent(const ObjectEvent& ev) override { events.push_back(ev); }
  void ReportAnnouncements(const NodeAnnouncements& a) override { announcements.push_back(a); }
  bool WantsAnnouncements() const override { return true; }
  void ReportConfig(const ConfigReport& r) override { config_reports.push_back(r); }

  // What a watch would deliver: the test edits `snap`, then calls Changed().
  void Changed(const std::vector<StoreEvent>& batch = {}) {
    if (on_change_) on_change_(batch);
  }

  Snapshot snap;
  bool is_synced = true;  // false: as a KubeStore before its informers' first list
  std::map<std::string, ServiceStatus> recorded;
  std::vector<ServiceStatus> writes;
  std::vector<std::string> removals;
  std::vector<ObjectEvent> events;
  std::vector<NodeAnnouncements> announcements;
  std::vector<ConfigReport> config_reports;

 private:
  ChangeHandler on_change_;
};

}  // namespace ironlb
