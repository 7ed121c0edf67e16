// The agent's local API: read-only JSON over HTTP on a unix socket, for ironlbctl and for
// `curl --unix-socket`. Handlers run on the agent's io_context, so they may read agent state freely.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

namespace ironlb {

class LocalApi {
 public:
  using Handler = std::function<nlohmann::json()>;

  LocalApi(boost::asio::io_context& io, std::string socket_path);
  ~LocalApi();

  // GET `path` returns handler()'s JSON; register before Start().
  void Handle(const std::string& path, Handler h) { handlers_[path] = std::move(h); }
  // Binds the socket (replacing a stale one left by a crashed agent) and starts accepting.
  void Start();

 private:
  void Accept();

  boost::asio::io_context& io_;
  std::string path_;
  boost::asio::local::stream_protocol::acceptor acceptor_;
  std::map<std::string, Handler> handlers_;
};

}  // namespace ironlb
