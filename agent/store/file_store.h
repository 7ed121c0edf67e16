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
#include <string>
#include <vector>

#include "model/snapshot.h"
#include "store/object_store.h"
#include "store/service_status.h"

namespace ironlb {

class StatusWriter;

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

  // Loads the directory once and starts watching. Throws if the directory cannot be read.
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

 private:
  struct FileEntry {
    std::filesystem::file_time_type mtime;
    uintmax_t size = 0;
    Snapshot objects;  // the last version that decoded without errors, or what decoded of it
    std::vector<ConfigError> errors;
  };
  // Rescans the directory; returns the changes. `retry` is set when a file looked mid-write.
  std::vector<StoreEvent> Reload(bool* retry);
  void Merge();
  void ReadStatuses();
  void ArmRead();
  void OnInotify();
  void ScheduleRescan(std::chrono::milliseconds after);
  void AddWatches();

  boost::asio::io_context& io_;
  std::string dir_;
  ChangeHandler on_change_;
  std::chrono::milliseconds settle_;
  int inotify_fd_ = -1;
  boost::asio::posix::stream_descriptor inotify_;
  boost::asio::steady_timer settle_timer_;
  bool settle_armed_ = false;
  bool started_ = false;
  bool content_changed_ = false;  // set by Reload when any file or status was read anew
  bool wrote_status_ = false;     // this process writes status/ (controller role)
  uint64_t generation_ = 0;
  std::array<char, 8192> buf_{};
  std::map<std::string, FileEntry> files_;  // path -> last decode
  std::vector<ConfigError> dir_errors_;     // problems with the directory itself
  Snapshot merged_;
  std::map<std::string, ServiceStatus> statuses_;             // by "ns/name"
  std::map<std::string, std::vector<size_t>> service_index_;  // "ns/name" -> merged_.services
  std::map<ObjectRef, std::string> versions_;  // object -> generation it last changed in
  std::unique_ptr<StatusWriter> writer_;
};

// Appends every object of `from` to `into`.
void AppendSnapshot(Snapshot* into, const Snapshot& from);

}  // namespace ironlb
