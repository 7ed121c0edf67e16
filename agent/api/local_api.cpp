#include "api/local_api.h"

#include <sys/stat.h>
#include <unistd.h>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <filesystem>

namespace ironlb {

namespace http = boost::beast::http;
using stream_protocol = boost::asio::local::stream_protocol;

namespace {

// One connection: read one request, answer, close. Requests are tiny and rare (an operator
// typing ironlbctl), so no keep-alive.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(stream_protocol::socket s, const std::map<std::string, LocalApi::Handler>& h)
      : sock_(std::move(s)), handlers_(h) {}

  void Run() {
    auto self = shared_from_this();
    http::async_read(sock_, buf_, req_, [self](boost::system::error_code ec, size_t) {
      if (!ec) self->Answer();
    });
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
      res_.body() = nlohmann::json{{"error", "no such path " + target}, {"paths", paths}}.dump();
    } else {
      try {
        res_.result(http::status::ok);
        res_.body() = it->second().dump();
      } catch (const std::exception& e) {
        res_.result(http::status::internal_server_error);
        res_.body() = nlohmann::json{{"error", e.what()}}.dump();
      }
    }
    res_.prepare_payload();
    auto self = shared_from_this();
    http::async_write(sock_, res_, [self](boost::system::error_code, size_t) {
      boost::system::error_code ignored;
      self->sock_.shutdown(stream_protocol::socket::shutdown_both, ignored);
    });
  }

  stream_protocol::socket sock_;
  const std::map<std::string, LocalApi::Handler>& handlers_;
  boost::beast::flat_buffer buf_;
  http::request<http::empty_body> req_;
  http::response<http::string_body> res_;
};

}  // namespace

LocalApi::LocalApi(boost::asio::io_context& io, std::string socket_path)
    : io_(io), path_(std::move(socket_path)), acceptor_(io) {}

LocalApi::~LocalApi() {
  boost::system::error_code ec;
  acceptor_.close(ec);
  ::unlink(path_.c_str());
}

void LocalApi::Start() {
  std::filesystem::create_directories(std::filesystem::path(path_).parent_path());
  ::unlink(path_.c_str());
  stream_protocol::endpoint ep(path_);
  acceptor_.open(ep.protocol());
  acceptor_.bind(ep);
  // Root-only: the API shows peer configuration and cluster state.
  ::chmod(path_.c_str(), 0600);
  acceptor_.listen();
  Accept();
}

void LocalApi::Accept() {
  acceptor_.async_accept([this](boost::system::error_code ec, stream_protocol::socket s) {
    if (ec) return;  // closed on shutdown
    std::make_shared<Connection>(std::move(s), handlers_)->Run();
    Accept();
  });
}

}  // namespace ironlb
