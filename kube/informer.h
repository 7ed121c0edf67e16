// Keeps a WatchCache of one resource in step with the API server: a paginated list, then a
// watch from the list's resourceVersion with bookmarks; on 410 Gone a relist; on errors a
// reconnect after exponential backoff with jitter. Runs as a coroutine on the io_context.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "kube/api_client.h"
#include "kube/asio_coroutine.h"
#include "kube/watch_cache.h"

namespace ironlb::kube {

// What to watch: e.g. {"v1", "Service", "/api/v1/services"} or a namespaced metallb.io path.
struct Resource {
  std::string api_version;
  std::string kind;
  std::string path;
};

struct InformerOptions {
  int page_size = 500;
  // Server-side watch timeout; 0 picks 5-10 minutes at random per watch, as client-go does, so
  // informers started together do not reconnect together.
  int watch_timeout_s = 0;
  std::chrono::milliseconds backoff_initial{800};
  std::chrono::milliseconds backoff_max{30000};
  // Query parameters narrowing the list and the watch (e.g. "labelSelector=..."), URL-encoded.
  std::string selector;
  // Keep objects as served rather than decoded into the model (see WatchCache).
  bool keep_raw = false;
};

struct InformerStats {
  uint64_t lists = 0;
  uint64_t watches = 0;
  uint64_t expired = 0;  // 410 Gone, on list or watch
  uint64_t errors = 0;
};

class Informer {
 public:
  using EventsHandler = std::function<void(const std::vector<StoreEvent>&)>;
  Informer(boost::asio::io_context& io, ApiClient& client, Resource res, InformerOptions opts,
           EventsHandler on_events);
  ~Informer() { *alive_ = false; }
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  void Start();
  void Stop();
  // The first full list has been applied.
  bool synced() const { return synced_; }
  const WatchCache& cache() const { return cache_; }
  const Resource& resource() const { return res_; }
  const InformerStats& stats() const { return stats_; }

 private:
  boost::asio::awaitable<void> Run();
  boost::asio::awaitable<void> List();
  // Returns true when the watch ended because its resourceVersion expired.
  boost::asio::awaitable<bool> Watch();
  boost::asio::awaitable<void> Backoff();

  boost::asio::io_context& io_;
  ApiClient& client_;
  Resource res_;
  InformerOptions opts_;
  EventsHandler on_events_;
  WatchCache cache_;
  boost::asio::steady_timer timer_;
  std::mt19937 rng_;
  std::chrono::milliseconds backoff_;
  InformerStats stats_;
  bool synced_ = false;
  bool stopped_ = false;
  // Run()'s coroutine frame outlives the informer when the store is torn down with a request in
  // flight: the frame keeps a copy and touches no member once this is false.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ironlb::kube
