#include "store/file_store.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <cstring>

#include <boost/asio/post.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "config/decode.h"

namespace ironlb {

namespace fs = std::filesystem;

namespace {

constexpr uint32_t kWatchMask =
    IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE | IN_ATTRIB;

template <typename T>
void Append(std::vector<T>* into, const std::vector<T>& from) {
  into->insert(into->end(), from.begin(), from.end());
}

bool IsConfigFile(const fs::path& p) {
  const auto name = p.filename().string();
  if (name.empty() || name.front() == '.') return false;  // editor swap files, our temp files
  return p.extension() == ".yaml" || p.extension() == ".yml";
}

}  // namespace

void AppendSnapshot(Snapshot* into, const Snapshot& from) {
  Append(&into->pools, from.pools);
  Append(&into->l2_advertisements, from.l2_advertisements);
  Append(&into->bgp_advertisements, from.bgp_advertisements);
  Append(&into->peers, from.peers);
  Append(&into->bfd_profiles, from.bfd_profiles);
  Append(&into->communities, from.communities);
  Append(&into->services, from.services);
  Append(&into->endpoint_slices, from.endpoint_slices);
  Append(&into->nodes, from.nodes);
  Append(&into->namespaces, from.namespaces);
  Append(&into->secrets, from.secrets);
  Append(&into->decode_errors, from.decode_errors);
}

FileStore::FileStore(boost::asio::io_context& io, std::string dir, std::function<void()> on_change,
                     std::chrono::milliseconds settle)
    : io_(io),
      dir_(std::move(dir)),
      on_change_(std::move(on_change)),
      settle_(settle),
      inotify_(io),
      settle_timer_(io) {}

FileStore::~FileStore() {
  boost::system::error_code ec;
  inotify_.close(ec);
}

void FileStore::Start() {
  if (!fs::is_directory(dir_)) {
    throw std::runtime_error("config directory " + dir_ + " does not exist or is not a directory");
  }
  inotify_fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_fd_ < 0) throw std::system_error(errno, std::generic_category(), "inotify_init1");
  inotify_.assign(inotify_fd_);
  AddWatches();
  Reload();
  ArmRead();
}

void FileStore::AddWatches() {
  if (inotify_add_watch(inotify_fd_, dir_.c_str(), kWatchMask) < 0) {
    throw std::system_error(errno, std::generic_category(), "inotify_add_watch " + dir_);
  }
  // status/ may not exist yet (first controller run); create it so speakers can watch it.
  std::error_code ec;
  fs::create_directories(status_dir(), ec);
  if (inotify_add_watch(inotify_fd_, status_dir().c_str(), kWatchMask) < 0) {
    std::cerr << "ironlb: cannot watch " << status_dir() << ": " << strerror(errno)
              << " (status changes will be seen only with config changes)\n";
  }
}

void FileStore::ArmRead() {
  inotify_.async_read_some(boost::asio::buffer(buf_),
                           [this](const boost::system::error_code& ec, size_t n) {
                             if (ec) return;  // closed on shutdown
                             OnInotify(n);
                             ArmRead();
                           });
}

void FileStore::OnInotify(size_t /*n*/) {
  // The event contents do not matter: any change triggers a rescan, which stats every file and
  // re-decodes only those whose mtime or size moved. Coalesce a burst into one rescan.
  if (settle_armed_) return;
  settle_armed_ = true;
  settle_timer_.expires_after(settle_);
  settle_timer_.async_wait([this](const boost::system::error_code& ec) {
    settle_armed_ = false;
    if (ec) return;
    Reload();
    if (on_change_) on_change_();
  });
}

void FileStore::Reload() {
  std::map<std::string, FileEntry> next;
  std::vector<fs::path> paths;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_, ec)) {
    if (e.is_regular_file() && IsConfigFile(e.path())) paths.push_back(e.path());
  }
  std::sort(paths.begin(), paths.end());
  for (const auto& p : paths) {
    const std::string key = p.string();
    std::error_code sec;
    const auto mtime = fs::last_write_time(p, sec);
    const auto size = fs::file_size(p, sec);
    if (sec) continue;  // vanished between listing and stat
    auto old = files_.find(key);
    if (old != files_.end() && old->second.mtime == mtime && old->second.size == size) {
      next.emplace(key, std::move(old->second));
      continue;
    }
    FileEntry fe{mtime, size, {}};
    std::ifstream in(p, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    config::DecodeYaml(text.str(), key, &fe.objects);
    next.emplace(key, std::move(fe));
  }
  files_ = std::move(next);

  merged_ = Snapshot{};
  for (const auto& [path, fe] : files_) AppendSnapshot(&merged_, fe.objects);

  std::vector<std::string> errors;
  statuses_ = ReadStatusDir(status_dir(), &errors);
  for (const auto& e : errors) std::cerr << "ironlb: ignoring unreadable status file " << e << "\n";
  std::map<std::string, const ServiceStatus*> by_key;
  for (const auto& s : statuses_) by_key[s.key()] = &s;
  for (auto& svc : merged_.services) {
    auto it = by_key.find(svc.key());
    if (it != by_key.end()) ApplyStatusToService(*it->second, &svc);
  }
}

void FileStore::WriteStatus(const ServiceStatus& s) { WriteStatusFile(status_dir(), s); }

void FileStore::RemoveStatus(const std::string& ns, const std::string& name) {
  RemoveStatusFile(status_dir(), ns, name);
}

}  // namespace ironlb
