// FileStore as an ObjectStore: watch events, and bad files that must never delete objects
// (a decode error, an unreadable file, a directory in a file's place, a symlink loop, a FIFO).
#include "store/file_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/steady_timer.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

namespace ironlb {
namespace {

namespace fs = std::filesystem;

constexpr const char* kTwoServices = R"(apiVersion: v1
kind: Service
metadata: {name: web, namespace: demo}
spec: {type: LoadBalancer, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: demo}
spec: {type: LoadBalancer, ports: [{port: 80}]}
)";

class FileStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() /
          ("ironlb-fs-" + std::to_string(getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  void TearDown() override {
    store.reset();
    fs::remove_all(dir);
  }
  void Write(const std::string& name, const std::string& text) {
    // Written beside the directory and renamed in: the store sees the whole file in one event.
    // (Written in place, a loaded machine let a rescan read it half-written or before its time
    // was set, and a test counting rebuilds saw two.)
    const fs::path tmp = dir.string() + ".tmp-" + name;
    std::ofstream(tmp) << text;
    // Older than the store's quiet time, so it is read at once rather than deferred.
    const auto old = fs::file_time_type::clock::now() - std::chrono::seconds(2);
    fs::last_write_time(tmp, old);
    fs::rename(tmp, dir / name);
  }
  void Open() {
    store = std::make_unique<FileStore>(io, dir.string(), std::chrono::milliseconds(5));
    store->Start([this](const std::vector<StoreEvent>& ev) { batches.push_back(ev); });
    // The first load runs on the decoder thread; synced() says it is in.
    for (int i = 0; i < 500 && !store->synced(); ++i) {
      io.run_for(std::chrono::milliseconds(10));
      io.restart();
    }
    ASSERT_TRUE(store->synced());
  }
  // Runs the loop until a batch of changes arrives (or a bound passes).
  bool WaitBatch() {
    const size_t have = batches.size();
    for (int i = 0; i < 200 && batches.size() == have; ++i) {
      io.run_for(std::chrono::milliseconds(20));
      io.restart();
    }
    return batches.size() > have;
  }
  std::set<std::string> Names() {
    std::set<std::string> out;
    for (const auto& s : store->snapshot().services) out.insert(s.meta.name);
    return out;
  }
  bool HasErrorMentioning(const std::string& text) {
    for (const auto& e : store->snapshot().decode_errors)
      if (e.str().find(text) != std::string::npos) return true;
    return false;
  }

  boost::asio::io_context io;
  fs::path dir;
  std::unique_ptr<FileStore> store;
  std::vector<std::vector<StoreEvent>> batches;
};

TEST_F(FileStoreTest, WatchReportsAddModifyDelete) {
  Write("a.yaml", kTwoServices);
  Open();
  EXPECT_EQ(Names(), (std::set<std::string>{"web", "api"}));
  Write("a.yaml", std::string(kTwoServices).substr(0, std::string(kTwoServices).find("---")));
  ASSERT_TRUE(WaitBatch());
  const auto& ev = batches.back();
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].type, StoreEvent::Type::kModified);
  EXPECT_EQ(ev[0].object, (ObjectRef{"Service", "demo", "web"}));
  EXPECT_EQ(ev[1].type, StoreEvent::Type::kDeleted);
  EXPECT_EQ(ev[1].object, (ObjectRef{"Service", "demo", "api"}));
}

TEST_F(FileStoreTest, DecodeErrorKeepsTheFilesLastObjects) {
  Write("a.yaml", kTwoServices);
  Open();
  // A wrong-typed field in one document, and a YAML syntax error, each keep every object.
  std::string typo = kTwoServices;
  typo.replace(typo.find("port: 80"), 8, "port: eighty");
  Write("a.yaml", typo);
  ASSERT_TRUE(WaitBatch());
  EXPECT_EQ(Names(), (std::set<std::string>{"web", "api"}));
  EXPECT_TRUE(HasErrorMentioning("a.yaml"));
  Write("a.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: [unclosed\n");
  io.run_for(std::chrono::milliseconds(300));
  EXPECT_EQ(Names(), (std::set<std::string>{"web", "api"}));
  // Fixed: the file is the truth again, and a document removed from a clean file is deleted.
  Write("a.yaml", std::string(kTwoServices).substr(0, std::string(kTwoServices).find("---")));
  io.run_for(std::chrono::milliseconds(300));
  EXPECT_EQ(Names(), (std::set<std::string>{"web"}));
  EXPECT_FALSE(HasErrorMentioning("a.yaml"));
}

TEST_F(FileStoreTest, UnreadableFileOrDirectoryInItsPlaceKeepsObjects) {
  Write("a.yaml", kTwoServices);
  Write("b.yaml",
        std::string(kTwoServices).replace(std::string(kTwoServices).find("web"), 3, "db"));
  Open();
  ASSERT_EQ(Names().size(), 3u);
  // Replaced by a directory of the same name.
  fs::remove(dir / "a.yaml");
  fs::create_directory(dir / "a.yaml");
  io.run_for(std::chrono::milliseconds(300));
  EXPECT_EQ(Names().count("web"), 1u);
  EXPECT_TRUE(HasErrorMentioning("a.yaml"));
  // A file that cannot be opened (mode 000 is not enough for root: a FIFO opened
  // non-blocking is refused as "not a regular file" just the same).
  fs::remove(dir / "b.yaml");
  ASSERT_EQ(mkfifo((dir / "b.yaml").c_str(), 0644), 0);
  io.run_for(std::chrono::milliseconds(300));
  EXPECT_EQ(Names().count("db"), 1u) << "a FIFO in a file's place neither blocks nor deletes";
  // Only deleting the path deletes the objects.
  fs::remove(dir / "a.yaml");
  fs::remove(dir / "b.yaml");
  io.run_for(std::chrono::milliseconds(300));
  EXPECT_TRUE(Names().empty());
}

TEST_F(FileStoreTest, SymlinkLoopIsNamedAndTheRestLoads) {
  Write("a.yaml", kTwoServices);
  fs::create_symlink(dir / "loop.yaml", dir / "loop.yaml");
  Open();
  EXPECT_EQ(Names().size(), 2u);
  EXPECT_TRUE(HasErrorMentioning("loop.yaml"));
}

TEST_F(FileStoreTest, FileBeingWrittenIsReadOnceQuiet) {
  Write("a.yaml", kTwoServices);
  Open();
  // Truncated as `>` does, and not yet rewritten: the last version stays meanwhile.
  std::ofstream(dir / "a.yaml", std::ios::trunc).flush();
  io.run_for(std::chrono::milliseconds(100));
  EXPECT_EQ(Names().size(), 2u);
}

TEST_F(FileStoreTest, FileReplacedByABrokenLinkKeepsItsObjects) {
  Write("a.yaml", kTwoServices);
  Open();
  ASSERT_EQ(Names().size(), 2u);
  // A link to itself (ELOOP) or to nothing (ENOENT) in place of a file that loaded before.
  for (const char* target : {"a.yaml", "missing.yaml"}) {
    fs::remove(dir / "a.yaml");
    fs::create_symlink(dir / target, dir / "a.yaml");
    io.run_for(std::chrono::milliseconds(300));
    io.restart();
    EXPECT_EQ(Names().size(), 2u) << "a link that cannot be followed deleted the file's objects";
    EXPECT_TRUE(HasErrorMentioning("a.yaml")) << target;
  }
}

TEST_F(FileStoreTest, FileOpenForWritingKeepsItsLastVersionUntilClosed) {
  Write("a.yaml", kTwoServices);
  Open();
  // `cmd > a.yaml` with a slow cmd: truncated, then nothing for longer than the quiet time.
  {
    std::ofstream out(dir / "a.yaml", std::ios::trunc);
    out.flush();
    for (int i = 0; i < 8; ++i) {
      io.run_for(std::chrono::milliseconds(100));
      io.restart();
    }
    EXPECT_EQ(Names().size(), 2u) << "an empty file still open for writing was taken as final";
    out << std::string(kTwoServices).substr(0, std::string(kTwoServices).find("---"));
  }
  // Closed: the file is the truth again (the second Service was removed from it).
  for (int i = 0; i < 10 && Names().size() != 1; ++i) {
    io.run_for(std::chrono::milliseconds(100));
    io.restart();
  }
  EXPECT_EQ(Names(), (std::set<std::string>{"web"}));
}

TEST_F(FileStoreTest, StatusIsSeenAtOnceAndWrittenInTheBackground) {
  Write("a.yaml", kTwoServices);
  Open();
  ServiceStatus st{"demo", "web", "public", {*IPAddr::Parse("192.0.2.1")}, ""};
  store->WriteStatus(st);
  const auto& svc = store->snapshot().services;
  auto web =
      std::find_if(svc.begin(), svc.end(), [](const Service& s) { return s.meta.name == "web"; });
  ASSERT_EQ(web->ingress.size(), 1u);
  EXPECT_EQ(web->ingress[0].ip, IPAddr::Parse("192.0.2.1"));
  store->FlushStatus();
  EXPECT_TRUE(fs::exists(dir / "status" / "demo_web.json"));
  // A name that is not a DNS-1123 name never becomes a path.
  EXPECT_THROW(store->WriteStatus({"demo", "../../etc", "", {}, ""}), std::invalid_argument);
  // A FIFO among the status files is skipped at start, without blocking.
  ASSERT_EQ(mkfifo((dir / "status" / "demo_x.json").c_str(), 0644), 0);
  store.reset();
  Open();
  EXPECT_EQ(store->statuses().size(), 1u);
}

TEST_F(FileStoreTest, OwnStatusWritesAndQuietRescansDoNotRebuildTheSnapshot) {
  Write("a.yaml", kTwoServices);
  Open();
  const uint64_t merges = store->merges();
  // The controller's writes land in status/, which the store watches for other writers.
  for (int i = 0; i < 3; ++i) {
    store->WriteStatus({"demo", "web", "public", {*IPAddr::Parse("192.0.2.1")}, ""});
    store->WriteStatus({"demo", "api", "public", {*IPAddr::Parse("192.0.2.2")}, ""});
    store->FlushStatus();
    io.run_for(std::chrono::milliseconds(100));  // 20 settle times
    io.restart();
  }
  EXPECT_EQ(store->merges(), merges);
  // A real edit still rebuilds it, once.
  Write("a.yaml", std::string(kTwoServices).substr(0, std::string(kTwoServices).find("---")));
  ASSERT_TRUE(WaitBatch());
  EXPECT_EQ(store->merges(), merges + 1);
}

// The objects live once, in the merged snapshot, with statuses applied over them; a rebuild
// (another file changed) must give back what each file decoded, then the statuses again.
TEST_F(FileStoreTest, RebuildKeepsFileOrderStatusesAndWhatEachFileDecoded) {
  Write("a.yaml", kTwoServices);
  Write("b.yaml", R"(apiVersion: v1
kind: Service
metadata: {name: db, namespace: demo, annotations: {metallb.io/ip-allocated-from-pool: mine}}
spec: {type: LoadBalancer, ports: [{port: 5432}]}
status: {loadBalancer: {ingress: [{ip: 192.0.2.9}]}}
---
apiVersion: v1
kind: Node
metadata: {name: n1}
)");
  Open();
  store->WriteStatus({"demo", "web", "public", {*IPAddr::Parse("192.0.2.1")}, ""});
  store->WriteStatus({"demo", "db", "public", {*IPAddr::Parse("192.0.2.2")}, ""});
  auto find = [&](const std::string& name) -> const Service& {
    const auto& v = store->snapshot().services;
    return *std::find_if(v.begin(), v.end(), [&](const Service& s) { return s.meta.name == name; });
  };
  auto names = [&] {
    std::vector<std::string> out;
    for (const auto& s : store->snapshot().services) out.push_back(s.meta.name);
    return out;
  };
  // a.yaml changes: b.yaml's objects are carried over, not decoded again.
  Write("a.yaml", std::string(kTwoServices) + R"(---
apiVersion: v1
kind: Service
metadata: {name: cache, namespace: demo}
spec: {type: LoadBalancer, ports: [{port: 6379}]}
)");
  ASSERT_TRUE(WaitBatch());
  EXPECT_EQ(names(), (std::vector<std::string>{"web", "api", "cache", "db"}));
  EXPECT_EQ(store->snapshot().nodes.size(), 1u);
  ASSERT_EQ(find("web").ingress.size(), 1u);
  EXPECT_EQ(find("web").ingress[0].ip, IPAddr::Parse("192.0.2.1"));
  ASSERT_EQ(find("db").ingress.size(), 1u);
  EXPECT_EQ(find("db").ingress[0].ip, IPAddr::Parse("192.0.2.2"));
  EXPECT_EQ(find("db").meta.annotations.at("metallb.io/ip-allocated-from-pool"), "public");
  // Its status gone, the next rebuild shows db as b.yaml has it.
  store->RemoveStatus("demo", "db");
  Write("a.yaml", kTwoServices);
  ASSERT_TRUE(WaitBatch());
  EXPECT_EQ(names(), (std::vector<std::string>{"web", "api", "db"}));
  ASSERT_EQ(find("db").ingress.size(), 1u);
  EXPECT_EQ(find("db").ingress[0].ip, IPAddr::Parse("192.0.2.9"));
  EXPECT_EQ(find("db").meta.annotations.at("metallb.io/ip-allocated-from-pool"), "mine");
  EXPECT_EQ(find("web").ingress[0].ip, IPAddr::Parse("192.0.2.1"));
  // A decode error in a.yaml keeps its objects, taken from the merged snapshot.
  Write("a.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: [unclosed\n");
  ASSERT_TRUE(WaitBatch());
  EXPECT_EQ(names(), (std::vector<std::string>{"web", "api", "db"}));
  EXPECT_EQ(find("web").ingress[0].ip, IPAddr::Parse("192.0.2.1"));
}

// A speaker follows the controller's status files. New statuses are applied to the Services in
// place (a full merge per batch of statuses held the loop ~2 s at 10,000 Services); a status that
// goes away takes the full merge, which restores what the Service's own file says.
TEST_F(FileStoreTest, AnotherWritersStatusesApplyInPlaceAndTheirRemovalMerges) {
  Write("a.yaml", kTwoServices);
  Open();
  FileStore controller(io, dir.string(), std::chrono::milliseconds(5));
  controller.Start([](const std::vector<StoreEvent>&) {});
  auto ingress = [&](const std::string& name) {
    for (const auto& s : store->snapshot().services)
      if (s.meta.name == name)
        return s.ingress.empty() ? std::string() : (s.ingress[0].ip ? s.ingress[0].ip->str() : "?");
    return std::string("(none)");
  };
  const uint64_t merges = store->merges();
  controller.WriteStatus({"demo", "web", "public", {*IPAddr::Parse("192.0.2.1")}, ""});
  controller.FlushStatus();
  while (ingress("web").empty() && WaitBatch()) {
  }
  EXPECT_EQ(ingress("web"), "192.0.2.1");
  EXPECT_EQ(ingress("api"), "");
  ASSERT_FALSE(batches.back().empty());
  EXPECT_EQ(batches.back().back().type, StoreEvent::Type::kModified);
  EXPECT_EQ(batches.back().back().object.name, "web");
  EXPECT_EQ(store->statuses().size(), 1u);
  EXPECT_EQ(store->merges(), merges);
  // Changed in place too.
  controller.WriteStatus({"demo", "web", "public", {*IPAddr::Parse("192.0.2.9")}, ""});
  controller.FlushStatus();
  while (ingress("web") != "192.0.2.9" && WaitBatch()) {
  }
  EXPECT_EQ(ingress("web"), "192.0.2.9");
  EXPECT_EQ(store->merges(), merges);
  controller.RemoveStatus("demo", "web");
  controller.FlushStatus();
  while (!ingress("web").empty() && WaitBatch()) {
  }
  EXPECT_EQ(ingress("web"), "");
  EXPECT_EQ(store->merges(), merges + 1);
  EXPECT_TRUE(store->statuses().empty());
  controller.Stop();
}

// A store destroyed while a rescan waits on its settle timer (a file changed moments before the
// agent reloads or exits): the cancelled wait completes later and must not touch the store. It
// once cleared a flag in the freed store first (found by the full suite under ASan, about one
// run in several, where a test reopened a store).
TEST_F(FileStoreTest, DestroyedWithARescanPendingTouchesNothingAfterwards) {
  store = std::make_unique<FileStore>(io, dir.string(), std::chrono::seconds(10));
  store->Start([this](const std::vector<StoreEvent>& ev) { batches.push_back(ev); });
  for (int i = 0; i < 500 && !store->synced(); ++i) {
    io.run_for(std::chrono::milliseconds(10));
    io.restart();
  }
  ASSERT_TRUE(store->synced());
  Write("late.yaml", kTwoServices);  // inotify: the rescan now waits 10 s on the settle timer
  io.run_for(std::chrono::milliseconds(200));
  io.restart();
  store.reset();
  // The aborted wait's handler runs here; ASan aborts the test if it writes to the freed store.
  io.run_for(std::chrono::milliseconds(50));
}

TEST_F(FileStoreTest, DecodeRunsOffTheLoopAndShutdownDoesNotWaitForIt) {
  // Enough documents that decoding takes far longer than the loop's timers below.
  std::string big;
  for (int i = 0; i < 20000; ++i)
    big += "---\napiVersion: v1\nkind: Service\nmetadata: {name: s" + std::to_string(i) +
           ", namespace: demo}\nspec: {type: LoadBalancer, ports: [{port: 80}]}\n";
  Write("big.yaml", big);
  store = std::make_unique<FileStore>(io, dir.string(), std::chrono::milliseconds(5));
  store->Start([this](const std::vector<StoreEvent>& ev) { batches.push_back(ev); });
  // The loop keeps serving (signals, the API, BGP keepalives) while the file decodes.
  int ticks = 0;
  boost::asio::steady_timer tick(io);
  std::function<void()> arm = [&] {
    tick.expires_after(std::chrono::milliseconds(10));
    tick.async_wait([&](const boost::system::error_code& ec) {
      if (ec || store->synced()) return;
      ++ticks;
      arm();
    });
  };
  arm();
  io.run_for(std::chrono::milliseconds(100));
  io.restart();
  EXPECT_GE(ticks, 3) << "the event loop stalled while YAML was decoded";
  ASSERT_FALSE(store->synced()) << "decode finished too fast for this test to mean anything";
  // Shutdown mid-decode: the decode is cancelled at a document boundary, not waited for.
  tick.cancel();
  const auto t0 = std::chrono::steady_clock::now();
  store->Stop();
  store.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
  io.run_for(std::chrono::milliseconds(50));
  EXPECT_TRUE(batches.empty()) << "no result reaches the loop after the store is gone";
}

}  // namespace
}  // namespace ironlb
