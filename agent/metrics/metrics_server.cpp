// One connection: read one request head, answer, close (no keep-alive: a scrape every few
// seconds does not need it, and it keeps connections short-lived). The serialised text is built
// on this thread; prometheus-cpp's families lock around collection.
#include "metrics/metrics_server.h"

#include <prometheus/text_serializer.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <deque>
#include <iterator>
#include <stdexcept>

namespace ironlb {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr size_t kMaxRequestBytes = 8192;
constexpr auto kAcceptRetry = std::chrono::milliseconds(100);

tcp::endpoint ParseListen(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos)
    throw std::runtime_error("--metrics-addr " + listen + ": want host:port");
  std::string host = listen.substr(0, colon);
  const std::string port = listen.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "0.0.0.0";
  boost::system::error_code ec;
  const auto addr = asio::ip::make_address(host, ec);
  char* end = nullptr;
  const unsigned long p = std::strtoul(port.c_str(), &end, 10);
  if (ec || port.empty() || *end != '\0' || p > 65535)
    throw std::runtime_error("--metrics-addr " + listen + ": want an IP address and a port");
  return tcp::endpoint(addr, static_cast<uint16_t>(p));
}

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket s, prometheus::Registry& registry, const MetricsSources& sources)
      : sock_(std::move(s)),
        deadline_(sock_.get_executor()),
        registry_(registry),
        sources_(sources) {}

  void Run() {
    auto self = shared_from_this();
    deadline_.expires_after(kMetricsConnectionTimeout);
    deadline_.async_wait([self](boost::system::error_code ec) {
      if (!ec) self->Close();
    });
    parser_.header_limit(kMaxRequestBytes);
    parser_.body_limit(0);
    http::async_read(sock_, buf_, parser_, [self](boost::system::error_code ec, size_t) {
      if (ec) return self->Close();
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
    const auto& req = parser_.get();
    res_.version(req.version());
    res_.keep_alive(false);
    std::string target(req.target());
    if (const size_t q = target.find('?'); q != std::string::npos) target.resize(q);
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
      res_.result(http::status::method_not_allowed);
    } else if (target == "/metrics") {
      res_.result(http::status::ok);
      res_.set(http::field::content_type, "text/plain; version=0.0.4");
      if (req.method() == http::verb::get) {
        auto families = registry_.Collect();
        if (sources_.collect) {
          auto more = sources_.collect();
          std::move(more.begin(), more.end(), std::back_inserter(families));
        }
        res_.body() = prometheus::TextSerializer().Serialize(families);
      }
    } else if ((target == "/healthz" && sources_.healthz) ||
               (target == "/readyz" && sources_.readyz)) {
      const ProbeResult r = target == "/healthz" ? sources_.healthz() : sources_.readyz();
      res_.result(r.ok ? http::status::ok : http::status::service_unavailable);
      res_.set(http::field::content_type, "text/plain");
      if (req.method() == http::verb::get) res_.body() = r.detail + "\n";
    } else {
      res_.result(http::status::not_found);
      res_.set(http::field::content_type, "text/plain");
      res_.body() = "see /metrics, /healthz, /readyz\n";
    }
    res_.prepare_payload();
    auto self = shared_from_this();
    http::async_write(sock_, res_, [self](boost::system::error_code, size_t) {
      boost::system::error_code ignored;
      self->sock_.shutdown(tcp::socket::shutdown_both, ignored);
      self->Close();
    });
  }

  tcp::socket sock_;
  asio::steady_timer deadline_;
  prometheus::Registry& registry_;
  const MetricsSources& sources_;
  boost::beast::flat_buffer buf_{kMaxRequestBytes};
  http::request_parser<http::empty_body> parser_;
  http::response<http::string_body> res_;
};

}  // namespace

class MetricsServer::Impl {
 public:
  Impl(const tcp::endpoint& ep, std::shared_ptr<prometheus::Registry> registry,
       MetricsSources sources)
      : acceptor_(io_), retry_(io_), registry_(std::move(registry)), sources_(std::move(sources)) {
    acceptor_.open(ep.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    boost::system::error_code ec;
    acceptor_.bind(ep, ec);
    if (ec)
      throw std::runtime_error("metrics on " + ep.address().to_string() + ":" +
                               std::to_string(ep.port()) + ": " + ec.message());
    acceptor_.listen();
    Accept();
  }

  void Run() { io_.run(); }
  void Stop() {
    asio::post(io_, [this] {
      boost::system::error_code ec;
      acceptor_.close(ec);
      retry_.cancel();
      for (auto& w : connections_)
        if (auto c = w.lock()) c->Close();
    });
  }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }

 private:
  void Accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket s) {
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
      if (ec) {  // EMFILE and the like: the client waits in the backlog
        retry_.expires_after(kAcceptRetry);
        retry_.async_wait([this](boost::system::error_code tec) {
          if (!tec) Accept();
        });
        return;
      }
      std::erase_if(connections_, [](const auto& w) { return w.expired(); });
      while (connections_.size() >= kMetricsMaxConnections) {
        if (auto oldest = connections_.front().lock()) oldest->Close();
        connections_.pop_front();
      }
      auto c = std::make_shared<Connection>(std::move(s), *registry_, sources_);
      connections_.push_back(c);
      c->Run();
      Accept();
    });
  }

  asio::io_context io_;
  tcp::acceptor acceptor_;
  asio::steady_timer retry_;
  std::shared_ptr<prometheus::Registry> registry_;
  MetricsSources sources_;
  std::deque<std::weak_ptr<Connection>> connections_;
};

MetricsServer::MetricsServer(const std::string& listen,
                             std::shared_ptr<prometheus::Registry> registry, MetricsSources sources)
    : impl_(std::make_unique<Impl>(ParseListen(listen), std::move(registry), std::move(sources))),
      thread_([this] { impl_->Run(); }) {}

MetricsServer::~MetricsServer() {
  impl_->Stop();
  thread_.join();
}

uint16_t MetricsServer::port() const {
  return impl_->port();
}

}  // namespace ironlb
