#include "kube/webhook_server.h"

#include <boost/asio/detached.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <stdexcept>

#include "model/model.h"
#include "runtime/log.h"

namespace ironlb::kube {

namespace {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using asio::use_awaitable;
using asio::ip::tcp;

// The API server gives a webhook at most 30 s (timeoutSeconds); an idle keep-alive connection
// is closed after a while so that a rotated certificate reaches every client.
constexpr auto kHandshakeTimeout = std::chrono::seconds(10);
constexpr auto kIdleTimeout = std::chrono::seconds(60);
// The API server's request size limit is 3 MiB per object; a review carries two of them.
constexpr uint64_t kMaxBody = 8ull << 20;
}  // namespace

WebhookServer::WebhookServer(asio::io_context& io, Handler handler)
    : io_(io), handler_(std::move(handler)), acceptor_(io) {}

WebhookServer::~WebhookServer() {
  *alive_ = false;
  Stop();
}

void WebhookServer::Listen(const std::string& host_port) {
  const auto hp = ParseHostPort(host_port);
  if (!hp) throw std::runtime_error("webhook address \"" + host_port + "\" is not host:port");
  boost::system::error_code ec;
  const auto addr = asio::ip::make_address(hp->host.empty() ? "0.0.0.0" : hp->host, ec);
  if (ec) throw std::runtime_error("webhook address \"" + host_port + "\": " + ec.message());
  const tcp::endpoint ep(addr, hp->port);
  acceptor_.open(ep.protocol());
  acceptor_.set_option(tcp::acceptor::reuse_address(true));
  acceptor_.bind(ep, ec);
  if (ec) throw std::runtime_error("webhook cannot listen on " + host_port + ": " + ec.message());
  acceptor_.listen();
  port_ = acceptor_.local_endpoint().port();
  asio::co_spawn(io_, Accept(), asio::detached);
}

void WebhookServer::SetCertificate(const std::string& cert_pem, const std::string& key_pem) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  try {
    ctx->use_certificate_chain(asio::buffer(cert_pem));
    ctx->use_private_key(asio::buffer(key_pem), ssl::context::pem);
  } catch (const boost::system::system_error& e) {
    throw std::runtime_error(std::string("unusable webhook certificate or key: ") + e.what());
  }
  tls_ = std::move(ctx);
}

void WebhookServer::Stop() {
  boost::system::error_code ec;
  acceptor_.close(ec);
}

asio::awaitable<void> WebhookServer::Accept() {
  auto alive = alive_;
  while (true) {
    boost::system::error_code ec;
    tcp::socket s = co_await acceptor_.async_accept(asio::redirect_error(use_awaitable, ec));
    if (!*alive || ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
    if (ec) continue;  // e.g. out of descriptors for a moment
    if (!tls_) {
      s.close(ec);  // no certificate yet: the API server's failurePolicy decides
      continue;
    }
    asio::co_spawn(io_, Serve(std::move(s), tls_), asio::detached);
  }
}

asio::awaitable<void> WebhookServer::Serve(tcp::socket socket, std::shared_ptr<ssl::context> tls) {
  auto alive = alive_;
  beast::ssl_stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)), *tls);
  beast::flat_buffer buf;
  try {
    beast::get_lowest_layer(stream).expires_after(kHandshakeTimeout);
    co_await stream.async_handshake(ssl::stream_base::server, use_awaitable);
    while (true) {
      beast::get_lowest_layer(stream).expires_after(kIdleTimeout);
      http::request_parser<http::string_body> parser;
      parser.body_limit(kMaxBody);
      co_await http::async_read(stream, buf, parser, use_awaitable);
      if (!*alive) co_return;
      const auto& req = parser.get();
      std::string path(req.target());
      if (const auto q = path.find('?'); q != std::string::npos) path.resize(q);
      http::response<http::string_body> res;
      res.version(req.version());
      res.keep_alive(req.keep_alive());
      res.set(http::field::server, "ironlb-agent");
      if (req.method() != http::verb::post) {
        res.result(http::status::method_not_allowed);
        res.set(http::field::content_type, "text/plain");
        res.body() = "only POST\n";
      } else {
        ++requests_;
        Reply r = handler_(path, req.body());
        res.result(r.status);
        res.set(http::field::content_type, "application/json");
        res.body() = std::move(r.body);
      }
      res.prepare_payload();
      beast::get_lowest_layer(stream).expires_after(kIdleTimeout);
      co_await http::async_write(stream, res, use_awaitable);
      if (!res.keep_alive()) break;
    }
    beast::get_lowest_layer(stream).expires_after(kHandshakeTimeout);
    co_await stream.async_shutdown(use_awaitable);
  } catch (const boost::system::system_error& e) {
    // Peers that go away, probes that only open a connection, idle timeouts: not errors.
    if (*alive && e.code() != http::error::end_of_stream && e.code() != beast::error::timeout &&
        e.code() != asio::error::eof && e.code() != asio::ssl::error::stream_truncated)
      log::Debug("webhook", std::string("connection: ") + e.code().message());
  }
}

}  // namespace ironlb::kube
