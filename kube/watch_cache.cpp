#include "kube/watch_cache.h"

#include "kube/api_object.h"

namespace ironlb::kube {

// The HTTP status a Status object carries when a resourceVersion is compacted away.
constexpr int kStatusGone = 410;

StoreEvent WatchCache::Event(StoreEvent::Type t, const std::string& key,
                             const std::string& version) const {
  StoreEvent ev;
  ev.type = t;
  ev.object.kind = kind_;
  const auto slash = key.find('/');
  if (slash == std::string::npos) {
    ev.object.name = key;
  } else {
    ev.object.ns = key.substr(0, slash);
    ev.object.name = key.substr(slash + 1);
  }
  ev.version = version;
  return ev;
}

bool WatchCache::Upsert(const nlohmann::json& obj, std::vector<StoreEvent>* out) {
  const std::string key = KeyOf(obj);
  const std::string version = ResourceVersionOf(obj);
  auto it = entries_.find(key);
  if (it != entries_.end() && it->second.version == version) return false;
  const bool added = it == entries_.end();
  Entry e;
  e.version = version;
  if (keep_raw_) {
    e.raw = obj;
    if (auto m = e.raw.find("metadata"); m != e.raw.end() && m->is_object())
      m->erase("managedFields");
  } else {
    e.decoded = DecodeApiObject(obj, api_version_, kind_);
  }
  if (added) {
    entries_.emplace(key, std::move(e));
  } else {
    it->second = std::move(e);
  }
  out->push_back(
      Event(added ? StoreEvent::Type::kAdded : StoreEvent::Type::kModified, key, version));
  return true;
}

std::vector<StoreEvent> WatchCache::Replace(const std::vector<nlohmann::json>& items,
                                            const std::string& list_version) {
  std::vector<StoreEvent> out;
  std::map<std::string, Entry> before = std::move(entries_);
  entries_.clear();
  for (const auto& item : items) {
    const std::string key = KeyOf(item);
    auto old = before.find(key);
    if (old != before.end()) {
      entries_.emplace(key, std::move(old->second));
      before.erase(old);
    }
    Upsert(item, &out);
  }
  for (const auto& [key, gone] : before)
    out.push_back(Event(StoreEvent::Type::kDeleted, key, gone.version));
  version_ = list_version;
  return out;
}

WatchCache::Outcome WatchCache::Apply(const nlohmann::json& event, std::vector<StoreEvent>* out,
                                      std::string* error) {
  if (!event.is_object() || !event.contains("type") || !event["type"].is_string() ||
      !event.contains("object") || !event["object"].is_object()) {
    if (error) *error = "not a watch event";
    return Outcome::kError;
  }
  const std::string type = event["type"].get<std::string>();
  const nlohmann::json& obj = event["object"];
  if (type == "ERROR") {
    if (error) *error = obj.value("message", std::string("watch error"));
    return obj.value("code", 0) == kStatusGone ? Outcome::kExpired : Outcome::kError;
  }
  const std::string version = ResourceVersionOf(obj);
  if (type == "BOOKMARK") {
    if (!version.empty()) version_ = version;
    return Outcome::kBookmark;
  }
  if (type == "ADDED" || type == "MODIFIED") {
    Upsert(obj, out);
  } else if (type == "DELETED") {
    auto it = entries_.find(KeyOf(obj));
    if (it != entries_.end()) {
      entries_.erase(it);
      out->push_back(Event(StoreEvent::Type::kDeleted, KeyOf(obj), version));
    }
  } else {
    if (error) *error = "unknown watch event type " + type;
    return Outcome::kError;
  }
  if (!version.empty()) version_ = version;
  return Outcome::kApplied;
}

}  // namespace ironlb::kube
