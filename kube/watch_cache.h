// The informer's state machine without sockets: a cache of one kind's objects keyed by
// namespace/name, fed by full lists and watch events, that reports each real change once.
// A relist after 410 Gone is diffed against the cache, so nothing is missed or repeated.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "model/snapshot.h"
#include "store/object_store.h"

namespace ironlb::kube {

class WatchCache {
 public:
  struct Entry {
    std::string version;  // metadata.resourceVersion
    Snapshot decoded;     // exactly one object, or one decode error
    nlohmann::json raw;   // the object as served instead, when the cache keeps it raw
  };
  enum class Outcome {
    kApplied,   // an ADDED/MODIFIED/DELETED (maybe no change: a replay of what we hold)
    kBookmark,  // resourceVersion advanced, nothing changed
    kExpired,   // ERROR 410 Gone: the watch's resourceVersion is too old; list again
    kError,     // another ERROR event, or a line that is not an event; watch again
  };

  // `keep_raw`: hold each object as served (minus managedFields) instead of decoding it into the
  // model, for kinds the agent writes rather than reads (MetalLB's status kinds).
  WatchCache(std::string api_version, std::string kind, bool keep_raw = false)
      : api_version_(std::move(api_version)), kind_(std::move(kind)), keep_raw_(keep_raw) {}

  // A complete list (all pages) at `list_version` replaces the cache; returns what differs
  // from before: objects with a new resourceVersion, new objects, and the ones that are gone.
  std::vector<StoreEvent> Replace(const std::vector<nlohmann::json>& items,
                                  const std::string& list_version);
  // One watch event ({"type":..., "object":...}). Appends the changes to *out; *error gets the
  // Status message of an ERROR event.
  Outcome Apply(const nlohmann::json& event, std::vector<StoreEvent>* out, std::string* error);

  // Where the next watch starts: the list's resourceVersion, advanced by every event and bookmark.
  const std::string& version() const { return version_; }
  const std::map<std::string, Entry>& entries() const { return entries_; }
  const std::string& kind() const { return kind_; }

 private:
  StoreEvent Event(StoreEvent::Type t, const std::string& key, const std::string& version) const;
  // Returns false when the cache already holds this version (a replay).
  bool Upsert(const nlohmann::json& obj, std::vector<StoreEvent>* out);

  std::string api_version_;
  std::string kind_;
  bool keep_raw_ = false;
  std::string version_;
  std::map<std::string, Entry> entries_;
};

}  // namespace ironlb::kube
