// An HTTP/1.1 client for the Kubernetes API on the agent's io_context (Boost.Beast, OpenSSL):
// plain requests over a small pool of keep-alive connections, watch streams on their own
// connection, bearer/basic/client-certificate auth, and client-side rate limiting.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http/verb.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "kube/asio_coroutine.h"
#include "kube/cluster_config.h"
#include "kube/rate_limiter.h"

namespace ironlb::kube {

struct HttpResponse {
  unsigned status = 0;
  std::string body;
  std::string content_type;
  int retry_after_s = 0;  // Retry-After, when the server sent one (429, 504)
  std::string warning;    // Warning: 299 ... (e.g. a pruned unknown field)
};

// A response the caller did not expect, carrying the Status' reason and message when the body
// is a metav1.Status (404s for unknown groups are text/plain).
class ApiError : public std::runtime_error {
 public:
  ApiError(unsigned status, std::string reason, const std::string& message)
      : std::runtime_error(message), status_(status), reason_(std::move(reason)) {}
  static ApiError From(const std::string& what, const HttpResponse& r);
  unsigned status() const { return status_; }
  const std::string& reason() const { return reason_; }

 private:
  unsigned status_;
  std::string reason_;
};

class ApiClient {
 public:
  // Throws std::runtime_error when the TLS material in `cfg` is unusable.
  ApiClient(boost::asio::io_context& io, ClusterConfig cfg, RateLimit limit = {});
  ~ApiClient();
  ApiClient(const ApiClient&) = delete;
  ApiClient& operator=(const ApiClient&) = delete;

  // One request; the response whatever its status. Throws boost::system::system_error on
  // connection failures (after one retry on a fresh connection when a pooled one was stale).
  boost::asio::awaitable<HttpResponse> Request(boost::beast::http::verb method, std::string target,
                                               std::string body = "",
                                               std::string content_type = "application/json");

  // A watch: `on_line` gets every newline-terminated line of a 200 stream as it arrives; returns
  // when the server ends it (or Abort()). A non-200 answer is returned whole, not streamed.
  boost::asio::awaitable<HttpResponse> Stream(std::string target,
                                              std::function<void(std::string_view)> on_line);

  // Closes every open stream and idle connection (shutdown); later calls fail fast.
  void Abort();

  const ClusterConfig& config() const { return cfg_; }
  // Requests sent since start (watches and list pages included), for metrics and benchmarks.
  uint64_t requests_sent() const { return requests_sent_; }

 private:
  class Connection;
  boost::asio::awaitable<std::unique_ptr<Connection>> Connect();
  boost::asio::awaitable<void> Throttle();
  // At most kMaxConcurrentRequests plain requests at once (watches apart): a burst of thousands
  // of status writes queues here instead of opening thousands of connections.
  boost::asio::awaitable<void> AcquireSlot();
  void ReleaseSlot();
  std::string Authorization();

  boost::asio::io_context& io_;
  ClusterConfig cfg_;
  boost::asio::ssl::context ssl_;
  TokenBucket bucket_;
  TokenSource token_;
  std::vector<std::unique_ptr<Connection>> idle_;
  std::set<Connection*> streams_;
  std::deque<boost::asio::steady_timer*> slot_waiters_;
  size_t in_flight_ = 0;
  uint64_t requests_sent_ = 0;
  // Coroutine frames outlive the client when the io_context is destroyed with operations
  // pending; their guards check this before touching the client.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  bool aborted_ = false;
};

// Percent-encodes a query parameter's value (RFC 3986: unreserved characters pass).
std::string QueryEscape(const std::string& s);

}  // namespace ironlb::kube
