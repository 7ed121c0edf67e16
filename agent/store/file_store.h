// FileStore: the standalone ObjectStore. Reads every *.yaml in a directory (the same documents a
// user would `kubectl apply`), watches it with inotify, and plays the API server's part for status.
#pragma once

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "model/snapshot.h"
#include "store/object_store.h"
#include "store/service_status.h"
#include "store/write_watch.h"

namespace ironlb {

class StatusWriter;
class BackgroundDecoder;

// Whether FileStore reads `p` from its directory: *.yaml and *.yml, not hidden (editors' swap
// files, temporary files). `ironlbctl config check DIR` picks files by the same rule.
bool IsConfigFile(const std::filesystem::path& p);

class FileStore : public ObjectStore {
 public:
  // Changes are coalesced over `settle`, so an editor's write-rename-chmod is one batch.
  FileStore(boost::asio::io_context& io, std::string dir,
            std::chrono::milliseconds settle = std::chrono::milliseconds(50));
  ~FileStore() override;
  FileStore(const FileStore&) = delete;
  FileStore& operator=(const FileStore&) = delete;

  // Starts watching and begins the first load. Files are read and decoded on a thread of their
  // own (a large directory takes seconds), so the event loop — signals, the local API, BGP
  // keepalives — never waits for YAML: synced() turns true, and `on_change` is called, when the
  // first load is in. Throws if the directory does not exist.
  void Start(ChangeHandler on_change) override;
  void Stop() override;

  // Everything decoded from the YAML files, in file-name order. A file that cannot be read or
  // decoded keeps the objects of its last good version (errors in decode_errors say so). Services
  // carry the assignment recorded under status/ (see ApplyStatusToService).
  const Snapshot& snapshot() const override { return merged_; }
  bool synced() const override { return started_; }
  std::string description() const override { return "directory " + dir_; }

  std::vector<ServiceStatus> statuses() const override;
  // Recorded in memory at once (the next snapshot shows it); the file is written by a
  // background thread (temp + fsync + rename), so the event loop never waits on the disk.
  void WriteStatus(const ServiceStatus& s) override;
  void RemoveStatus(const std::string& ns, const std::string& name) override;
  // Standalone has no Event API: events go to the log.
  void EmitEvent(const ObjectEvent& ev) override;

  std::string status_dir() const { return dir_ + "/status"; }
  const std::string& dir() const { return dir_; }
  // Waits until every status write queued so far is on disk (tests, shutdown).
  void FlushStatus();
  // How often the merged snapshot was rebuilt: a rescan that finds nothing new, or the writer's
  // own status files appearing, must not rebuild it (10,000 Services cost ~100 ms a rebuild).
  uint64_t merges() const { return merges_; }

 private:
  // What a Service held as decoded, before a status was applied over it.
  struct DecodedStatusFields {
    std::vector<LoadBalancerIngress> ingress;
    std::optional<std::string> pool;  // the pool annotation
  };
  static constexpr size_t kKinds = 11;  // the lists of a Snapshot, in ForEachKindPair's order
  static constexpr size_t kServicesKind = 6;
  struct FileEntry {
    std::filesystem::file_time_type mtime;
    uintmax_t size = 0;
    // The last version that decoded without errors, or what decoded of it. Its objects live in
    // merged_ only, as this file's slice of each kind (files in path order): held per file too,
    // they were a second copy of every object (~25 MB at 10,000 Services × 10 endpoints).
    std::array<size_t, kKinds> counts{};
    std::vector<DecodedStatusFields> decoded;  // one per Service of the slice
    std::vector<ConfigError> errors;
  };
  // A rescan in three steps: list and stat on the loop (cheap), read and decode the files that
  // changed on the decoder thread, apply the result on the loop.
  struct ToRead {
    std::string key;
    std::filesystem::file_time_type mtime;
  };
  struct Plan {
    std::vector<std::filesystem::path> paths;  // every config file, sorted
    std::vector<ToRead> to_read;               // those that changed and must be decoded
    bool retry = false;                        // a file looked mid-write, or listing failed
    bool list_failed = false;                  // nothing is known: keep everything
  };
  struct Decoded {
    std::string key;
    std::filesystem::file_time_type mtime;
    bool read_ok = false;
    std::string error;  // when !read_ok
    uintmax_t size = 0;
    Snapshot objects;
  };
  struct DecodeResult {
    std::vector<Decoded> files;
    bool read_statuses = false;
    std::map<std::string, ServiceStatus> statuses;
    std::vector<std::string> status_errors;
    size_t bytes = 0;
    std::chrono::steady_clock::duration took{};
  };
  Plan ScanDirectory();
  void BeginRescan();
  // Applies what the decoder produced; returns the changes.
  std::vector<StoreEvent> Apply(Plan plan, DecodeResult result);
  // Takes every file's objects out of merged_ (statuses undone), leaving it empty.
  std::map<std::string, Snapshot> TakeObjects();
  // merged_ from `objects` (one entry per file of files_), statuses applied over it.
  void Merge(std::map<std::string, Snapshot> objects);
  // Applies a rescan that read nothing but new or changed statuses to the merged snapshot in
  // place; nullopt when it was more than that (the caller merges in full).
  std::optional<std::vector<StoreEvent>> ApplyStatusesOnly(const Plan& plan, DecodeResult* result);
  void ArmRead();
  void OnInotify(size_t bytes);
  void ScheduleRescan(std::chrono::milliseconds after);
  void AddWatches();

  boost::asio::io_context& io_;
  std::string dir_;
  ChangeHandler on_change_;
  std::chrono::milliseconds settle_;
  int inotify_fd_ = -1;
  int status_wd_ = -1;  // the watch on status/
  uint64_t merges_ = 0;
  int dir_wd_ = -1;
  boost::asio::posix::stream_descriptor inotify_;
  boost::asio::steady_timer settle_timer_;
  bool settle_armed_ = false;
  bool decoding_ = false;        // a rescan is on the decoder thread
  bool rescan_pending_ = false;  // a change arrived meanwhile: rescan again when it is in
  bool stopped_ = false;
  bool started_ = false;
  bool content_changed_ = false;              // set by Reload when any file or status was read anew
  bool wrote_status_ = false;                 // this process writes status/ (controller role)
  bool list_failing_ = false;                 // the last listing of dir_ failed (logged once)
  std::vector<ConfigError> last_dir_errors_;  // dir_errors_ as of the last merge
  uint64_t generation_ = 0;
  std::array<char, 8192> buf_{};
  std::map<std::string, FileEntry> files_;  // path -> last decode
  WriteWatch watch_;  // which files in dir_ are being written, from inotify's events
  std::vector<ConfigError> dir_errors_;  // problems with the directory itself
  Snapshot merged_;
  std::map<std::string, ServiceStatus> statuses_;             // by "ns/name"
  std::map<std::string, std::vector<size_t>> service_index_;  // "ns/name" -> merged_.services
  std::map<ObjectRef, std::string> versions_;  // object -> generation it last changed in
  std::unique_ptr<StatusWriter> writer_;
  std::unique_ptr<BackgroundDecoder> decoder_;
  // A decode result already queued on the loop when the store goes checks this first.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// Appends every object of `from` to `into`.
void AppendSnapshot(Snapshot* into, const Snapshot& from);

}  // namespace ironlb
