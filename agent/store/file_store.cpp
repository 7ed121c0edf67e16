#include "store/file_store.h"

#include <fcntl.h>
#include <malloc.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/post.hpp>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "config/decode.h"
#include "runtime/log.h"

namespace ironlb {

namespace fs = std::filesystem;

namespace {

constexpr uint32_t kWatchMask =
    IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE | IN_ATTRIB | IN_MODIFY;
// How long a file that may still be being written is left alone (see WriteWatch::Check).
constexpr auto kQuietTime = WriteWatch::kQuietTime;
// Larger files are refused whole with an error (their last version stays): a configuration
// directory holds objects, not bulk data, and decoding is memory-hungry.
constexpr uintmax_t kMaxFileBytes = 64u << 20;

template <typename T>
void Append(std::vector<T>* into, const std::vector<T>& from) {
  into->insert(into->end(), from.begin(), from.end());
}

// Calls fn(ref) for every object of every kind in `s`.
template <typename S, typename Fn>
void ForEachKind(S& s, Fn&& fn) {
  fn("IPAddressPool", s.pools);
  fn("L2Advertisement", s.l2_advertisements);
  fn("BGPAdvertisement", s.bgp_advertisements);
  fn("BGPPeer", s.peers);
  fn("BFDProfile", s.bfd_profiles);
  fn("Community", s.communities);
  fn("Service", s.services);
  fn("EndpointSlice", s.endpoint_slices);
  fn("Node", s.nodes);
  fn("Namespace", s.namespaces);
  fn("Secret", s.secrets);
}

// Calls fn(from_list, to_list) for each kind, the lists of `a` and `b` side by side.
template <typename Fn>
void ForEachKindPair(Snapshot& a, Snapshot& b, Fn&& fn) {
  fn(a.pools, b.pools);
  fn(a.l2_advertisements, b.l2_advertisements);
  fn(a.bgp_advertisements, b.bgp_advertisements);
  fn(a.peers, b.peers);
  fn(a.bfd_profiles, b.bfd_profiles);
  fn(a.communities, b.communities);
  fn(a.services, b.services);
  fn(a.endpoint_slices, b.endpoint_slices);
  fn(a.nodes, b.nodes);
  fn(a.namespaces, b.namespaces);
  fn(a.secrets, b.secrets);
}

std::set<ObjectRef> RefsOf(const Snapshot& s) {
  std::set<ObjectRef> out;
  ForEachKind(s, [&](const char* kind, const auto& list) {
    for (const auto& o : list) out.insert({kind, o.meta.ns, o.meta.name});
  });
  return out;
}

// Objects of `old` that `now` lacks are carried over into `now`: a document that failed to
// decode must not delete what it held before.
void KeepMissing(const Snapshot& old, Snapshot* now) {
  const std::set<ObjectRef> have = RefsOf(*now);
  ForEachKind(*now, [&](const char* kind, auto& list) {
    using List = std::remove_reference_t<decltype(list)>;
    const List* from = nullptr;
    ForEachKind(old, [&](const char* k, const auto& l) {
      if constexpr (std::is_same_v<std::remove_cvref_t<decltype(l)>, List>)
        if (std::strcmp(k, kind) == 0) from = &l;
    });
    for (const auto& o : *from)
      if (!have.count({kind, o.meta.ns, o.meta.name})) list.push_back(o);
  });
}

// Reads a regular file without blocking on FIFOs or devices. Returns nullopt with *error set.
std::optional<std::string> ReadRegularFile(const fs::path& p, struct stat* st, std::string* error) {
  const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    *error = std::string("cannot open: ") + std::strerror(errno);
    return std::nullopt;
  }
  std::string text;
  if (::fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
    *error = "not a regular file";
    ::close(fd);
    return std::nullopt;
  }
  if (static_cast<uintmax_t>(st->st_size) > kMaxFileBytes) {
    *error = "file is " + std::to_string(st->st_size) + " bytes, more than the limit of " +
             std::to_string(kMaxFileBytes);
    ::close(fd);
    return std::nullopt;
  }
  text.resize(static_cast<size_t>(st->st_size));
  size_t off = 0;
  while (off < text.size()) {
    const ssize_t n = ::read(fd, text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *error = std::string("cannot read: ") + std::strerror(errno);
      ::close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    off += static_cast<size_t>(n);
  }
  ::close(fd);
  if (off != text.size()) {
    *error = "file changed while it was read";
    return std::nullopt;
  }
  return text;
}

}  // namespace

// Writes status files on a thread of its own, newest version per Service, so that the event
// loop never waits for the disk (10,000 fsyncs at start-up took seconds).
class StatusWriter {
 public:
  explicit StatusWriter(std::string dir) : dir_(std::move(dir)), thread_([this] { Run(); }) {}
  ~StatusWriter() {
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();  // drains what is queued first
  }
  void Put(const std::string& key, std::optional<ServiceStatus> s) {
    {
      std::lock_guard<std::mutex> l(mu_);
      pending_[key] = std::move(s);
      ++queued_;
    }
    cv_.notify_all();
  }
  void Flush() {
    std::unique_lock<std::mutex> l(mu_);
    const uint64_t target = queued_;
    done_cv_.wait(l, [&] { return done_ >= target && pending_.empty(); });
  }

 private:
  void Run() {
    std::unique_lock<std::mutex> l(mu_);
    for (;;) {
      cv_.wait(l, [&] { return stop_ || !pending_.empty(); });
      if (pending_.empty() && stop_) return;
      auto batch = std::move(pending_);
      pending_.clear();
      const uint64_t upto = queued_;
      l.unlock();
      for (const auto& [key, s] : batch) {
        try {
          if (s) {
            WriteStatusFile(dir_, *s);
          } else {
            const auto slash = key.find('/');
            RemoveStatusFile(dir_, key.substr(0, slash), key.substr(slash + 1));
          }
        } catch (const std::exception& e) {
          log::Error("store", "cannot write status of " + key + ": " + e.what());
        }
      }
      l.lock();
      done_ = upto;
      done_cv_.notify_all();
    }
  }

  std::string dir_;
  std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  std::map<std::string, std::optional<ServiceStatus>> pending_;
  uint64_t queued_ = 0, done_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

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

// Runs decode jobs one at a time on a thread of its own. A job hands its result to the event loop
// through `post`, which checks under the lock that the store still exists: after ~BackgroundDecoder
// nothing reaches the loop. Shutdown does not wait for a large decode: the job is told to cancel
// (DecodeYaml stops at the next document) and, if it is still busy after a short grace, the
// thread is left to finish on its own, holding only its own state.
class BackgroundDecoder {
 public:
  struct Shared {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<std::function<void(Shared&)>> jobs;
    bool stop = false;
    bool exited = false;
    std::condition_variable exited_cv;
    std::atomic<bool> cancel{false};
  };

  BackgroundDecoder() : shared_(std::make_shared<Shared>()) {
    std::thread([s = shared_] { Run(*s); }).swap(thread_);
  }
  ~BackgroundDecoder() {
    {
      std::unique_lock lock(shared_->mu);
      shared_->stop = true;
      shared_->cancel = true;
      shared_->jobs.clear();
      shared_->cv.notify_all();
      if (!shared_->exited_cv.wait_for(lock, kGrace, [&] { return shared_->exited; })) {
        log::Warn("store", "shutting down with a YAML decode still running; not waiting for it");
        lock.unlock();
        thread_.detach();
        return;
      }
    }
    thread_.join();
  }
  BackgroundDecoder(const BackgroundDecoder&) = delete;
  BackgroundDecoder& operator=(const BackgroundDecoder&) = delete;

  void Submit(std::function<void(Shared&)> job) {
    std::lock_guard lock(shared_->mu);
    shared_->jobs.push_back(std::move(job));
    shared_->cv.notify_one();
  }

 private:
  static constexpr auto kGrace = std::chrono::milliseconds(300);

  static void Run(Shared& s) {
    std::unique_lock lock(s.mu);
    while (true) {
      s.cv.wait(lock, [&] { return s.stop || !s.jobs.empty(); });
      if (s.stop) break;
      auto job = std::move(s.jobs.front());
      s.jobs.pop_front();
      lock.unlock();
      job(s);
      lock.lock();
    }
    s.exited = true;
    s.exited_cv.notify_all();
  }

  std::shared_ptr<Shared> shared_;
  std::thread thread_;
};

FileStore::FileStore(boost::asio::io_context& io, std::string dir, std::chrono::milliseconds settle)
    : io_(io), dir_(std::move(dir)), settle_(settle), inotify_(io), settle_timer_(io) {}

FileStore::~FileStore() {
  *alive_ = false;
  decoder_.reset();  // first: no decode result may reach the loop once members start going
  boost::system::error_code ec;
  inotify_.close(ec);
}

bool IsConfigFile(const std::filesystem::path& p) {
  const auto name = p.filename().string();
  if (name.empty() || name.front() == '.') return false;  // editor swap files, our temp files
  return p.extension() == ".yaml" || p.extension() == ".yml";
}

void FileStore::Start(ChangeHandler on_change) {
  on_change_ = std::move(on_change);
  std::error_code ec;
  if (!fs::is_directory(dir_, ec)) {
    throw std::runtime_error("config directory " + dir_ + " does not exist or is not a directory");
  }
  inotify_fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_fd_ < 0) throw std::system_error(errno, std::generic_category(), "inotify_init1");
  inotify_.assign(inotify_fd_);
  AddWatches();
  writer_ = std::make_unique<StatusWriter>(status_dir());
  decoder_ = std::make_unique<BackgroundDecoder>();
  ArmRead();
  BeginRescan();
}

void FileStore::Stop() {
  stopped_ = true;
  settle_timer_.cancel();
  boost::system::error_code ec;
  inotify_.cancel(ec);
  decoder_.reset();
  if (writer_) writer_->Flush();
}

void FileStore::FlushStatus() {
  if (writer_) writer_->Flush();
}

void FileStore::AddWatches() {
  dir_wd_ = inotify_add_watch(inotify_fd_, dir_.c_str(), kWatchMask | IN_OPEN | IN_CLOSE_NOWRITE);
  if (dir_wd_ < 0) {
    throw std::system_error(errno, std::generic_category(), "inotify_add_watch " + dir_);
  }
  // status/ may not exist yet (first controller run); create it so speakers can watch it.
  std::error_code ec;
  fs::create_directories(status_dir(), ec);
  status_wd_ = inotify_add_watch(inotify_fd_, status_dir().c_str(), kWatchMask);
  if (status_wd_ < 0) {
    log::Warn("store", "cannot watch " + status_dir() + ": " + std::strerror(errno) +
                           " (status changes will be seen only with config changes)");
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

void FileStore::OnInotify(size_t bytes) {
  // Any change triggers a rescan, which stats every file and re-decodes only those whose mtime
  // or size moved; a burst is coalesced into one. The events themselves only say which files
  // are open for writing: modified (a truncation counts) and not yet closed.
  // An open is needed to tell a writer from `touch -m`, which reports IN_MODIFY with no open
  // and no close. Opens and read-only closes (the store's own reads among them) need no rescan,
  // and neither do changes in status/ once this process is its writer: it would otherwise
  // rescan after every batch of its own writes (10,000 Services kept the loop busy 20-40 s).
  bool changed = false;
  for (size_t off = 0; off + sizeof(inotify_event) <= bytes;) {
    inotify_event ev;
    std::memcpy(&ev, buf_.data() + off, sizeof ev);
    const size_t len = sizeof(inotify_event) + ev.len;
    if (off + len > bytes) break;
    off += len;
    if (ev.mask & IN_Q_OVERFLOW) watch_.Forget();  // events lost: the quiet time alone decides
    const bool own_status = wrote_status_ && ev.wd == status_wd_;
    if ((ev.mask & IN_Q_OVERFLOW) ||
        (!own_status && (ev.mask & ~(IN_OPEN | IN_CLOSE_NOWRITE | IN_ISDIR)) != 0))
      changed = true;
    if (ev.wd != dir_wd_ || ev.len == 0) continue;
    const std::string name(buf_.data() + off - len + sizeof(inotify_event));
    watch_.OnEvent(name, ev.mask, std::chrono::steady_clock::now());
  }
  if (changed) ScheduleRescan(settle_);
}

void FileStore::ScheduleRescan(std::chrono::milliseconds after) {
  if (stopped_) return;
  if (decoding_) {
    rescan_pending_ = true;  // one rescan after the running one covers every change meanwhile
    return;
  }
  if (settle_armed_) return;
  settle_armed_ = true;
  settle_timer_.expires_after(after);
  // Aborted: Stop() or the store's destruction, after which `this` must not be touched (a
  // store destroyed with a rescan armed, then its io_context run again, read freed memory).
  settle_timer_.async_wait([this, alive = alive_](const boost::system::error_code& ec) {
    if (ec || !*alive) return;
    settle_armed_ = false;
    BeginRescan();
  });
}

FileStore::Plan FileStore::ScanDirectory() {
  Plan plan;
  dir_errors_.clear();
  std::error_code ec;
  fs::directory_iterator it(dir_, ec), end;
  if (ec) {
    // Nothing can be told about any file: keep every one as it was (never read as "all gone").
    const std::string why = "cannot list the directory: " + ec.message() +
                            "; the last version of every file stays in force";
    // Logged too, once per episode: with descriptors exhausted the local API cannot answer.
    if (!list_failing_) log::Warn("store", dir_ + ": " + why);
    list_failing_ = true;
    dir_errors_.push_back({dir_, {}, "", why});
    plan.retry = true;
    plan.list_failed = true;
    return plan;
  }
  if (list_failing_) log::Info("store", dir_ + ": listed again");
  list_failing_ = false;
  for (; it != end; it.increment(ec)) {
    if (ec) break;
    const fs::path& p = it->path();
    if (!IsConfigFile(p)) continue;
    std::error_code sec;
    const auto type = it->status(sec).type();
    if (sec) {
      // A symlink loop or a dangling link. A new one holds no objects: name it. A file that
      // loaded before and now cannot be followed is read (and fails) below, so it keeps its
      // last version like any other unreadable file.
      if (files_.count(p.string())) {
        plan.paths.push_back(p);
      } else {
        dir_errors_.push_back({p.string(), {}, "", "cannot read: " + sec.message()});
      }
      continue;
    }
    if (type == fs::file_type::regular || files_.count(p.string())) plan.paths.push_back(p);
  }
  if (ec) {
    dir_errors_.push_back({dir_,
                           {},
                           "",
                           "listing the directory failed part way: " + ec.message() +
                               "; unlisted files keep their version"});
    for (const auto& [path, fe] : files_)
      if (std::find(plan.paths.begin(), plan.paths.end(), fs::path(path)) == plan.paths.end())
        plan.paths.push_back(path);
    plan.retry = true;
  }
  std::sort(plan.paths.begin(), plan.paths.end());
  const auto now = fs::file_time_type::clock::now();
  for (const auto& p : plan.paths) {
    const std::string key = p.string();
    auto old = files_.find(key);
    std::error_code sec;
    const auto mtime = fs::last_write_time(p, sec);
    const auto size = sec ? 0 : fs::file_size(p, sec);
    if (!sec && old != files_.end() && old->second.mtime == mtime && old->second.size == size) {
      continue;  // unchanged
    }
    const std::string name = p.filename().string();
    if (old != files_.end()) {
      // Unknown mtime: not recent (as before the quiet time adapted to closes).
      const auto ago =
          sec ? std::chrono::steady_clock::duration::max()
              : std::chrono::duration_cast<std::chrono::steady_clock::duration>(now - mtime);
      if (watch_.Check(name, ago, size, std::chrono::steady_clock::now()) ==
          WriteWatch::Verdict::kWait) {
        // Still being written: its last version stays; look again shortly (a close brings a
        // rescan of its own).
        plan.retry = true;
        continue;
      }
    }
    watch_.Read(name);
    plan.to_read.push_back({key, mtime});
  }
  return plan;
}

void FileStore::BeginRescan() {
  if (stopped_ || !decoder_) return;
  ++generation_;
  decoding_ = true;
  rescan_pending_ = false;
  Plan plan = ScanDirectory();
  const bool read_statuses = !wrote_status_;
  // The job owns copies of all it needs: it must not touch the store, which may be gone.
  decoder_->Submit([this, alive = alive_, plan = std::move(plan), read_statuses,
                    status_dir = status_dir(),
                    &io = io_](BackgroundDecoder::Shared& shared) mutable {
    const auto started = std::chrono::steady_clock::now();
    DecodeResult r;
    for (const auto& want : plan.to_read) {
      if (shared.cancel) return;
      Decoded d;
      d.key = want.key;
      d.mtime = want.mtime;
      struct stat st {};
      auto text = ReadRegularFile(want.key, &st, &d.error);
      if (text) {
        d.read_ok = true;
        d.size = static_cast<uintmax_t>(st.st_size);
        config::DecodeYaml(*text, want.key, &d.objects, &shared.cancel);
        r.bytes += text->size();
      }
      r.files.push_back(std::move(d));
    }
    if (read_statuses) {
      // Another process (the controller on another node) writes status/: follow it.
      r.read_statuses = true;
      for (auto& st : ReadStatusDir(status_dir, &r.status_errors)) {
        const std::string key = st.key();
        r.statuses[key] = std::move(st);
      }
    }
    // A decode's scratch (the parser's buffers, the document tree, a second thread's malloc
    // arena) is freed when it ends; hand those pages back rather than keep the largest decode's.
    if (r.bytes > (1u << 20)) malloc_trim(0);
    r.took = std::chrono::steady_clock::now() - started;
    std::lock_guard lock(shared.mu);
    if (shared.cancel) return;
    boost::asio::post(io, [this, alive, plan = std::move(plan), r = std::move(r)]() mutable {
      if (!*alive || stopped_) return;
      decoding_ = false;
      const bool first = !started_;
      content_changed_ = false;
      const bool retry = plan.retry;
      auto events = Apply(std::move(plan), std::move(r));
      started_ = true;
      if (rescan_pending_) {
        ScheduleRescan(settle_);
      } else if (retry) {
        ScheduleRescan(kQuietTime);
      }
      // Also without object events: a new decode error or a status change must reach the agent,
      // and the first load is the store's "synced".
      if ((first || !events.empty() || content_changed_) && on_change_) on_change_(events);
    });
  });
}

std::vector<StoreEvent> FileStore::Apply(Plan plan, DecodeResult result) {
  // Statuses read from disk by a rescan that began before this process first wrote one are
  // never used once it has (its own are in memory and newer). Counted as news, they turned
  // such a rescan into a full merge: the store's start-up rescan (status/ created) finishing
  // just after the controller's first write did that on a loaded machine.
  if (result.read_statuses && wrote_status_) {
    result.read_statuses = false;
    result.statuses.clear();
    result.status_errors.clear();
  }
  // A rescan that found nothing new (a retry, a touched file with the same size and mtime, a
  // status batch) must not cost a merge of every object: at 10,000 Services that is ~100 ms.
  const bool nothing_new = !plan.list_failed && result.files.empty() && !result.read_statuses &&
                           plan.paths.size() == files_.size() && dir_errors_ == last_dir_errors_ &&
                           std::all_of(plan.paths.begin(), plan.paths.end(),
                                       [&](const fs::path& p) { return files_.count(p.string()); });
  if (nothing_new) return {};
  if (auto events = ApplyStatusesOnly(plan, &result)) return std::move(*events);
  last_dir_errors_ = dir_errors_;
  const std::set<ObjectRef> before = RefsOf(merged_);
  std::set<ObjectRef> touched;
  std::map<std::string, Snapshot> objects = TakeObjects();
  if (plan.list_failed) {
    Merge(std::move(objects));
    return {};
  }
  std::map<std::string, Decoded*> decoded;
  for (auto& d : result.files) decoded[d.key] = &d;
  std::map<std::string, FileEntry> next;
  std::map<std::string, Snapshot> next_objects;
  for (const auto& p : plan.paths) {
    const std::string key = p.string();
    auto old = files_.find(key);
    auto d = decoded.find(key);
    if (d == decoded.end()) {
      // Unchanged, or deferred while being written: the last version stays.
      if (old != files_.end()) {
        next.emplace(key, std::move(old->second));
        next_objects[key] = std::move(objects[key]);
      }
      continue;
    }
    Decoded& got = *d->second;
    FileEntry fe;
    content_changed_ = true;  // errors count too: a new decode error must reach the agent
    if (!got.read_ok) {
      std::string error = got.error;
      if (old != files_.end()) {
        fe = std::move(old->second);
        next_objects[key] = std::move(objects[key]);
        error += "; its last version stays in force";
      }
      fe.errors = {{key, {}, "", error}};
      if (error.find("changed while") != std::string::npos) plan.retry = true;
      next.emplace(key, std::move(fe));
      continue;
    }
    fe.mtime = got.mtime;
    fe.size = got.size;
    Snapshot& now = next_objects[key];
    now = std::move(got.objects);
    fe.errors = std::move(now.decode_errors);
    now.decode_errors.clear();
    if (!fe.errors.empty() && old != files_.end()) {
      // A document that fails to decode keeps what it held: only deleting the file or the
      // document deletes objects (an object missing from an error-free file is deleted).
      KeepMissing(objects[key], &now);
    }
    for (const auto& r : RefsOf(now)) touched.insert(r);
    next.emplace(key, std::move(fe));
  }
  objects.clear();
  if (files_.size() != next.size()) content_changed_ = true;
  files_ = std::move(next);
  // Statuses read on the decoder thread count only if this process has not become the writer
  // since: its own writes are in memory and must not be replaced by a half-finished disk state.
  if (result.read_statuses && !wrote_status_) {
    for (const auto& e : result.status_errors)
      log::Warn("store", "ignoring unreadable status file " + e);
    std::map<std::string, ServiceStatus> before_st = std::move(statuses_);
    statuses_ = std::move(result.statuses);
    for (const auto& [key, st] : statuses_) {
      auto it = before_st.find(key);
      if (it == before_st.end() || !(it->second == st)) {
        touched.insert({"Service", st.ns, st.name});
        content_changed_ = true;
      }
    }
    for (const auto& [key, st] : before_st)
      if (!statuses_.count(key)) {
        touched.insert({"Service", st.ns, st.name});
        content_changed_ = true;
      }
  }
  Merge(std::move(next_objects));
  if (result.took > std::chrono::milliseconds(100))
    log::Info("store",
              "decoded " + std::to_string(result.bytes) + " bytes of YAML in " +
                  std::to_string(
                      std::chrono::duration_cast<std::chrono::milliseconds>(result.took).count()) +
                  " ms (off the event loop)");

  std::vector<StoreEvent> events;
  const std::string version = std::to_string(generation_);
  const std::set<ObjectRef> after = RefsOf(merged_);
  for (const auto& r : after) {
    if (!before.count(r)) {
      events.push_back({StoreEvent::Type::kAdded, r, version});
      versions_[r] = version;
    } else if (touched.count(r)) {
      events.push_back({StoreEvent::Type::kModified, r, version});
      versions_[r] = version;
    }
  }
  for (const auto& r : before) {
    if (after.count(r)) continue;
    events.push_back({StoreEvent::Type::kDeleted, r, versions_[r]});
    versions_.erase(r);
  }
  return events;
}

std::map<std::string, Snapshot> FileStore::TakeObjects() {
  // Statuses undone first: merged_ then holds exactly what the files decoded to.
  size_t i = 0;
  for (auto& [path, fe] : files_) {
    for (auto& d : fe.decoded) {
      Service& svc = merged_.services.at(i++);
      svc.ingress = std::move(d.ingress);
      if (d.pool) {
        svc.meta.annotations[kAllocatedFromPoolAnnotation] = std::move(*d.pool);
      } else {
        svc.meta.annotations.erase(kAllocatedFromPoolAnnotation);
      }
    }
    fe.decoded.clear();
  }
  std::map<std::string, Snapshot> out;
  std::array<size_t, kKinds> offset{};
  for (auto& [path, fe] : files_) {
    Snapshot& mine = out[path];
    size_t k = 0;
    ForEachKindPair(merged_, mine, [&](auto& from, auto& to) {
      const auto first = from.begin() + static_cast<std::ptrdiff_t>(offset[k]);
      const auto last = first + static_cast<std::ptrdiff_t>(fe.counts[k]);
      to.assign(std::make_move_iterator(first), std::make_move_iterator(last));
      offset[k] += fe.counts[k];
      ++k;
    });
  }
  merged_ = Snapshot{};
  return out;
}

std::optional<std::vector<StoreEvent>> FileStore::ApplyStatusesOnly(const Plan& plan,
                                                                    DecodeResult* result) {
  // A speaker follows the controller's status files: while 10,000 Services are being allocated
  // that is a rescan per batch of statuses, and a full merge of every object for each held the
  // event loop ~2 s (ASan). When no file changed and no status went away, the new statuses are
  // applied in place to the Services they name, as WriteStatus does.
  const bool files_same = !plan.list_failed && result->files.empty() &&
                          dir_errors_ == last_dir_errors_ && plan.paths.size() == files_.size() &&
                          std::all_of(plan.paths.begin(), plan.paths.end(),
                                      [&](const fs::path& p) { return files_.count(p.string()); });
  if (!files_same || !result->read_statuses || wrote_status_ || merges_ == 0) return std::nullopt;
  // A status that went away restores what the Service's own file says: the full merge does that.
  for (const auto& [key, st] : statuses_)
    if (!result->statuses.count(key)) return std::nullopt;
  for (const auto& e : result->status_errors)
    log::Warn("store", "ignoring unreadable status file " + e);
  std::vector<StoreEvent> events;
  const std::string version = std::to_string(generation_);
  for (auto& [key, st] : result->statuses) {
    auto it = statuses_.find(key);
    if (it != statuses_.end() && it->second == st) continue;
    content_changed_ = true;
    auto idx = service_index_.find(key);
    if (idx != service_index_.end()) {
      for (size_t i : idx->second) ApplyStatusToService(st, &merged_.services[i]);
      const ObjectRef ref{"Service", st.ns, st.name};
      events.push_back({StoreEvent::Type::kModified, ref, version});
      versions_[ref] = version;
    }
    statuses_[key] = std::move(st);
  }
  return events;
}

void FileStore::Merge(std::map<std::string, Snapshot> objects) {
  ++merges_;
  merged_ = Snapshot{};
  // Each list sized once, exactly: grown file by file it kept up to half its size again as
  // slack (10,000 Services in 10,000 files), for as long as the snapshot lives.
  std::array<size_t, kKinds> total{};
  for (auto& [path, fe] : files_) {
    size_t k = 0;
    ForEachKindPair(objects[path], merged_, [&](auto& from, auto&) { total[k++] += from.size(); });
  }
  {
    size_t k = 0;
    ForEachKindPair(merged_, merged_, [&](auto& to, auto&) { to.reserve(total[k++]); });
  }
  for (auto& [path, fe] : files_) {
    Snapshot& mine = objects[path];
    size_t k = 0;
    ForEachKindPair(mine, merged_, [&](auto& from, auto& to) {
      fe.counts[k++] = from.size();
      to.insert(to.end(), std::make_move_iterator(from.begin()),
                std::make_move_iterator(from.end()));
    });
    fe.decoded.clear();
    fe.decoded.reserve(fe.counts[kServicesKind]);
    for (size_t i = merged_.services.size() - fe.counts[kServicesKind]; i < merged_.services.size();
         ++i) {
      const Service& svc = merged_.services[i];
      DecodedStatusFields d{svc.ingress, std::nullopt};
      auto a = svc.meta.annotations.find(kAllocatedFromPoolAnnotation);
      if (a != svc.meta.annotations.end()) d.pool = a->second;
      fe.decoded.push_back(std::move(d));
    }
    Append(&merged_.decode_errors, fe.errors);
  }
  Append(&merged_.decode_errors, dir_errors_);
  service_index_.clear();
  for (size_t i = 0; i < merged_.services.size(); ++i) {
    Service& svc = merged_.services[i];
    service_index_[svc.key()].push_back(i);
    auto it = statuses_.find(svc.key());
    if (it != statuses_.end()) ApplyStatusToService(it->second, &svc);
  }
}

std::vector<ServiceStatus> FileStore::statuses() const {
  std::vector<ServiceStatus> out;
  out.reserve(statuses_.size());
  for (const auto& [key, s] : statuses_) out.push_back(s);
  return out;
}

void FileStore::WriteStatus(const ServiceStatus& s) {
  CheckStatusName(s.ns, s.name);
  wrote_status_ = true;
  statuses_[s.key()] = s;
  auto it = service_index_.find(s.key());
  if (it != service_index_.end())
    for (size_t i : it->second) ApplyStatusToService(s, &merged_.services[i]);
  writer_->Put(s.key(), s);
}

void FileStore::RemoveStatus(const std::string& ns, const std::string& name) {
  CheckStatusName(ns, name);
  wrote_status_ = true;
  const std::string key = ns + "/" + name;
  statuses_.erase(key);
  auto it = service_index_.find(key);
  if (it != service_index_.end())
    for (size_t i : it->second) ApplyStatusToService({ns, name, "", {}, ""}, &merged_.services[i]);
  writer_->Put(key, std::nullopt);
}

void FileStore::EmitEvent(const ObjectEvent& ev) {
  const std::string text = "event " + ev.about.str() + " " + ev.reason + ": " + ev.message;
  if (ev.type == ObjectEvent::Type::kWarning) {
    log::Warn("store", text);
  } else {
    log::Info("store", text);
  }
}

}  // namespace ironlb
