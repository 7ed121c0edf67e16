#include "kube/informer.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "runtime/log.h"

namespace ironlb::kube {
namespace {

namespace asio = boost::asio;
using asio::use_awaitable;
constexpr unsigned kHttpGone = 410;
constexpr int kMinWatchTimeoutS = 300;

}  // namespace

Informer::Informer(asio::io_context& io, ApiClient& client, Resource res, InformerOptions opts,
                   EventsHandler on_events)
    : io_(io),
      client_(client),
      res_(std::move(res)),
      opts_(opts),
      on_events_(std::move(on_events)),
      cache_(res_.api_version, res_.kind, opts.keep_raw),
      timer_(io),
      rng_(std::random_device{}()),
      backoff_(opts.backoff_initial) {}

void Informer::Start() {
  asio::co_spawn(io_, Run(), [kind = res_.kind](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      log::Error("kube", "informer " + kind + " stopped: " + ex.what());
    }
  });
}

void Informer::Stop() {
  stopped_ = true;
  timer_.cancel();
}

asio::awaitable<void> Informer::Backoff() {
  // Full jitter over [backoff, 2*backoff), like client-go's wait.Jitter(backoff, 1.0).
  std::uniform_real_distribution<double> jitter(1.0, 2.0);
  timer_.expires_after(
      std::chrono::duration_cast<std::chrono::milliseconds>(backoff_ * jitter(rng_)));
  backoff_ = std::min(backoff_ * 2, opts_.backoff_max);
  boost::system::error_code ec;
  co_await timer_.async_wait(asio::redirect_error(use_awaitable, ec));
}

asio::awaitable<void> Informer::Run() {
  // After every wait the informer may be gone (its store destroyed while a request was pending,
  // which then fails): `alive` lives in this frame and is checked before any member is touched.
  const std::shared_ptr<bool> alive = alive_;
  bool need_list = true;
  while (!stopped_) {
    try {
      if (need_list) {
        co_await List();
        if (!*alive) co_return;
        need_list = false;
      }
      need_list = co_await Watch();
      if (!*alive) co_return;
      backoff_ = opts_.backoff_initial;
      if (need_list) ++stats_.expired;
      continue;
    } catch (const ApiError& e) {
      if (!*alive) co_return;
      ++stats_.errors;
      if (e.status() == kHttpGone) {
        // The list's continue token (or resourceVersion) expired mid-way: start over.
        ++stats_.expired;
        need_list = true;
        continue;
      }
      if (!stopped_) log::Warn("kube", res_.kind + ": " + e.what());
    } catch (const boost::system::system_error& e) {
      if (!*alive) co_return;
      ++stats_.errors;
      if (!stopped_) log::Warn("kube", res_.kind + " " + res_.path + ": " + e.code().message());
    } catch (const std::exception& e) {
      if (!*alive) co_return;
      ++stats_.errors;
      if (!stopped_) log::Warn("kube", res_.kind + ": " + e.what());
    }
    if (stopped_) break;
    co_await Backoff();
    if (!*alive) co_return;
  }
}

asio::awaitable<void> Informer::List() {
  std::vector<nlohmann::json> items;
  std::string cont, version;
  do {
    // No resourceVersion: a consistent read, so a relist after 410 never goes back in time.
    std::string target = res_.path + "?limit=" + std::to_string(opts_.page_size);
    if (!opts_.selector.empty()) target += "&" + opts_.selector;
    if (!cont.empty()) target += "&continue=" + QueryEscape(cont);
    const HttpResponse r = co_await client_.Request(boost::beast::http::verb::get, target);
    ++stats_.lists;
    if (r.status != 200) throw ApiError::From("list " + res_.kind, r);
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    if (!j.is_object() || !j.contains("items")) {
      throw std::runtime_error("list " + res_.kind + ": response is not a list");
    }
    for (auto& item : j["items"]) items.push_back(std::move(item));
    const auto& meta = j["metadata"];
    cont = meta.is_object() ? meta.value("continue", std::string()) : "";
    version = meta.is_object() ? meta.value("resourceVersion", std::string()) : "";
  } while (!cont.empty() && !stopped_);
  if (stopped_) co_return;
  const auto events = cache_.Replace(items, version);
  const bool first = !synced_;
  synced_ = true;
  log::Debug("kube", res_.kind + ": listed " + std::to_string(items.size()) +
                         " at resourceVersion " + version);
  if (!events.empty() || first) on_events_(events);
}

asio::awaitable<bool> Informer::Watch() {
  int timeout = opts_.watch_timeout_s;
  if (timeout <= 0)
    timeout = std::uniform_int_distribution<int>(kMinWatchTimeoutS, 2 * kMinWatchTimeoutS)(rng_);
  const std::string target = res_.path +
                             "?watch=1&resourceVersion=" + QueryEscape(cache_.version()) +
                             "&allowWatchBookmarks=true&timeoutSeconds=" + std::to_string(timeout) +
                             (opts_.selector.empty() ? "" : "&" + opts_.selector);
  ++stats_.watches;
  bool expired = false;
  bool broken = false;
  std::string why;
  const HttpResponse r = co_await client_.Stream(target, [&](std::string_view line) {
    if (expired || broken || line.empty()) return;
    const auto ev = nlohmann::json::parse(line, nullptr, false);
    std::vector<StoreEvent> changes;
    switch (cache_.Apply(ev, &changes, &why)) {
      case WatchCache::Outcome::kApplied:
        if (!changes.empty()) on_events_(changes);
        break;
      case WatchCache::Outcome::kBookmark: break;
      case WatchCache::Outcome::kExpired: expired = true; break;
      case WatchCache::Outcome::kError: broken = true; break;
    }
  });
  if (r.status == kHttpGone) co_return true;
  if (r.status != 200) throw ApiError::From("watch " + res_.kind, r);
  if (expired) log::Info("kube", res_.kind + ": " + why + "; listing again");
  if (broken) throw std::runtime_error("watch " + res_.kind + ": " + why);
  co_return expired;
}

}  // namespace ironlb::kube
