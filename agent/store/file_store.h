// FileStore: the standalone object store. Reads every *.yaml in a directory (the same documents
// a user would `kubectl apply`), watches it with inotify, and plays the API server's part for status.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <array>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "model/snapshot.h"
#include "store/service_status.h"

namespace ironlb {

class FileStore {
 public:
  // `on_change` runs on the io_context after the directory or its status/ subdirectory changed
  // (changes are coalesced over `settle`, so an editor's write-rename-chmod is one event).
  FileStore(boost::asio::io_context& io, std::string dir, std::function<void()> on_change,
            std::chrono::milliseconds settle = std::chrono::milliseconds(50));
  ~FileStore();
  FileStore(const FileStore&) = delete;
  FileStore& operator=(const FileStore&) = delete;

  // Loads the directory once and starts watching. Throws if the directory cannot be read.
  void Start();

  // Everything decoded from the YAML files, in file-name order; undecodable documents are
  // listed in decode_errors. Services carry the assignment from status/ (see ApplyStatusToService).
  const Snapshot& snapshot() const { return merged_; }
  // The assignments currently recorded under status/.
  const std::vector<ServiceStatus>& statuses() const { return statuses_; }
  std::string status_dir() const { return dir_ + "/status"; }
  const std::string& dir() const { return dir_; }

  void WriteStatus(const ServiceStatus& s);
  void RemoveStatus(const std::string& ns, const std::string& name);

 private:
  struct FileEntry {
    std::filesystem::file_time_type mtime;
    uintmax_t size = 0;
    Snapshot objects;
  };
  void Reload();
  void ArmRead();
  void OnInotify(size_t n);
  void AddWatches();

  boost::asio::io_context& io_;
  std::string dir_;
  std::function<void()> on_change_;
  std::chrono::milliseconds settle_;
  int inotify_fd_ = -1;
  boost::asio::posix::stream_descriptor inotify_;
  boost::asio::steady_timer settle_timer_;
  bool settle_armed_ = false;
  std::array<char, 8192> buf_{};
  std::map<std::string, FileEntry> files_;  // path -> last decode
  Snapshot merged_;
  std::vector<ServiceStatus> statuses_;
};

// Appends every object of `from` to `into`.
void AppendSnapshot(Snapshot* into, const Snapshot& from);

}  // namespace ironlb
