#include "api/local_api.h"

#include <sys/stat.h>
#include <unistd.h>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <filesystem>
#include <stdexcept>

#include "runtime/log.h"

namespace ironlb {

namespace http = boost::beast::http;
using stream_protocol = boost::asio::local::stream_protocol;

namespace {

// A failed accept (EMFILE, ENFILE, ENOBUFS) leaves the connection in the backlog; trying again
// at once would spin on it.
constexpr auto kAcceptRetry = std::chrono::milliseconds(100);
// Invalid UTF-8 (in a name from a file, in an error quoting one) becomes U+FFFD instead of an
// exception: the API must answer exactly when the configuration is at its worst.
constexpr auto kInvalidUtf8 = nlohmann::json::error_handler_t::replace;
// The largest request head accepted: a GET line and a few headers.
constexpr size_t kMaxRequestBytes = 8192;

}  // namespace

// One connection: read one request, answer, close. Requests are tiny and rare (an operator
// typing ironlbctl), so no keep-alive.
class LocalApiConnection : public std::enable_shared_from_this<LocalApiConnection> {
 public:
  LocalApiConnection(stream_protocol::socket s, const std::map<std::string, LocalApi::Handler>& h)
      : sock_(std::move(s)), deadline_(sock_.get_executor()), handlers_(h) {}

  void Run() {
    auto self = shared_from_this();
    deadline_.expires_after(kApiConnectionTimeout);
    deadline_.async_wait([self](boost::system::error_code ec) {
      if (!ec) self->Close();
    });
    parser_.header_limit(kMaxRequestBytes);
    parser_.body_limit(0);
    http::async_read(sock_, buf_, parser_, [self](boost::system::error_code ec, size_t) {
      if (ec) return self->Close();
      self->req_ = self->parser_.release();
      self->Answer();
    });
  }

  void Close() {
    boost::system::error_code ignored;
    deadline_.cancel();
    sock_.close(ignored);
  }

 private:
  void Answer() {
    res_.version(req_.version());
    res_.keep_alive(false);
    res_.set(http::field::content_type, "application/json");
    std::string target(req_.target());
    auto q = target.find('?');
    if (q != std::string::npos) target.resize(q);
    auto it = handlers_.find(target);
    if (req_.method() != http::verb::get) {
      res_.result(http::status::method_not_allowed);
      res_.body() = R"({"error":"only GET is supported"})";
    } else if (it == handlers_.end()) {
      res_.result(http::status::not_found);
      nlohmann::json paths = nlohmann::json::array();
      for (const auto& [p, h] : handlers_) paths.push_back(p);
      res_.body() = nlohmann::json{{"error", "no such path " + target}, {"paths", paths}}.dump(
          -1, ' ', false, kInvalidUtf8);
    } else {
      try {
        res_.result(http::status::ok);
        res_.body() = it->second().dump(-1, ' ', false, kInvalidUtf8);
      } catch (const std::exception& e) {
        res_.result(http::status::internal_server_error);
        res_.body() = nlohmann::json{{"error", e.what()}}.dump(-1, ' ', false, kInvalidUtf8);
      }
    }
    res_.prepare_payload();
    auto self = shared_from_this();
    http::async_write(sock_, res_, [self](boost::system::error_code, size_t) {
      boost::system::error_code ignored;
      self->sock_.shutdown(stream_protocol::socket::shutdown_both, ignored);
      self->Close();
    });
  }

  stream_protocol::socket sock_;
  boost::asio::steady_timer deadline_;
  const std::map<std::string, LocalApi::Handler>& handlers_;
  boost::beast::flat_buffer buf_{kMaxRequestBytes};
  http::request_parser<http::empty_body> parser_;
  http::request<http::empty_body> req_;
  http::response<http::string_body> res_;
};

LocalApi::LocalApi(boost::asio::io_context& io, std::string socket_path)
    : io_(io), path_(std::move(socket_path)), acceptor_(io), accept_retry_(io) {}

LocalApi::~LocalApi() {
  boost::system::error_code ec;
  acceptor_.close(ec);
  accept_retry_.cancel();
  for (auto& w : connections_)
    if (auto c = w.lock()) c->Close();
  if (bound_) ::unlink(path_.c_str());
}

namespace {

// True when something accepts connections on the unix socket at `path`.
bool SomeoneAnswers(const std::string& path) {
  boost::asio::io_context probe_io;
  stream_protocol::socket probe(probe_io);
  boost::system::error_code ec;
  probe.connect(stream_protocol::endpoint(path), ec);
  return !ec;
}

}  // namespace

void LocalApi::Start() {
  std::filesystem::create_directories(std::filesystem::path(path_).parent_path());
  if (std::filesystem::exists(std::filesystem::symlink_status(path_))) {
    if (SomeoneAnswers(path_))
      throw std::runtime_error("another agent is answering on " + path_ +
                               " (stop it first, or give this one another --api-socket)");
    ::unlink(path_.c_str());  // stale: its agent is gone
  }
  stream_protocol::endpoint ep(path_);
  acceptor_.open(ep.protocol());
  acceptor_.bind(ep);
  bound_ = true;
  // Root-only: the API shows peer configuration and cluster state.
  ::chmod(path_.c_str(), 0600);
  acceptor_.listen();
  Accept();
}

void LocalApi::Track(const std::shared_ptr<LocalApiConnection>& c) {
  std::erase_if(connections_, [](const auto& w) { return w.expired(); });
  while (connections_.size() >= kApiMaxConnections) {
    if (auto oldest = connections_.front().lock()) oldest->Close();
    connections_.pop_front();
  }
  connections_.push_back(c);
}

void LocalApi::Accept() {
  acceptor_.async_accept([this](boost::system::error_code ec, stream_protocol::socket s) {
    if (ec == boost::asio::error::operation_aborted || !acceptor_.is_open()) return;  // shutdown
    if (ec) {
      // Out of descriptors (EMFILE) or memory: the client waits in the backlog; try again soon
      // rather than stop accepting for good.
      if (!accept_failing_)
        log::Warn("api", "accept on " + path_ + " failed: " + ec.message() + "; retrying");
      accept_failing_ = true;
      accept_retry_.expires_after(kAcceptRetry);
      accept_retry_.async_wait([this](boost::system::error_code tec) {
        if (!tec) Accept();
      });
      return;
    }
    if (accept_failing_) log::Info("api", "accepting on " + path_ + " again");
    accept_failing_ = false;
    auto c = std::make_shared<LocalApiConnection>(std::move(s), handlers_);
    Track(c);
    c->Run();
    Accept();
  });
}

}  // namespace ironlb
