// The agent's local API: read-only JSON over HTTP on a unix socket, for ironlbctl and for
// `curl --unix-socket`. Handlers run on the agent's io_context, so they may read agent state
// freely.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

namespace ironlb {

// A request must arrive and be answered within this time; ironlbctl takes milliseconds.
inline constexpr std::chrono::seconds kApiConnectionTimeout{5};
// Connections served at once; beyond it the oldest is closed to make room, so idle clients
// can neither exhaust the agent's descriptors nor keep ironlbctl out.
inline constexpr size_t kApiMaxConnections = 32;

class LocalApiConnection;

class LocalApi {
 public:
  using Handler = std::function<nlohmann::json()>;

  LocalApi(boost::asio::io_context& io, std::string socket_path);
  ~LocalApi();

  // GET `path` returns handler()'s JSON; register before Start().
  void Handle(const std::string& path, Handler h) { handlers_[path] = std::move(h); }
  // Binds the socket and starts accepting. A socket file nobody answers on (left by a crashed
  // agent) is replaced; one another agent answers on is an error (std::runtime_error), so a
  // second agent cannot take the first one's socket away.
  void Start();

 private:
  void Accept();
  void Track(const std::shared_ptr<LocalApiConnection>& c);

  boost::asio::io_context& io_;
  std::string path_;
  boost::asio::local::stream_protocol::acceptor acceptor_;
  boost::asio::steady_timer accept_retry_;
  bool bound_ = false;  // the socket file is ours to remove
  bool accept_failing_ = false;
  std::map<std::string, Handler> handlers_;
  std::deque<std::weak_ptr<LocalApiConnection>> connections_;  // oldest first
};

}  // namespace ironlb
