// The HTTPS endpoint the API server calls for admission and conversion (Boost.Beast + OpenSSL on
// the agent's io_context): POST requests in, a handler's JSON out. The serving certificate can
// be replaced at any time; connections opened afterwards use the new one.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "kube/asio_coroutine.h"

namespace ironlb::kube {

class WebhookServer {
 public:
  struct Reply {
    unsigned status = 200;
    std::string body;  // JSON
  };
  // Called on the io_context for every POST: the path (query dropped) and the body.
  using Handler = std::function<Reply(const std::string& path, const std::string& body)>;

  WebhookServer(boost::asio::io_context& io, Handler handler);
  ~WebhookServer();
  WebhookServer(const WebhookServer&) = delete;
  WebhookServer& operator=(const WebhookServer&) = delete;

  // Binds `host:port` ("0.0.0.0:9443", "[::]:9443"; port 0 picks one) and accepts. Connections
  // before the first SetCertificate are closed at once. Throws on a bad address or bind failure.
  void Listen(const std::string& host_port);
  // Throws std::runtime_error when the PEM pair is unusable; the previous one stays then.
  void SetCertificate(const std::string& cert_pem, const std::string& key_pem);
  bool has_certificate() const { return tls_ != nullptr; }
  uint16_t port() const { return port_; }
  uint64_t requests() const { return requests_; }
  void Stop();

 private:
  boost::asio::awaitable<void> Accept();
  boost::asio::awaitable<void> Serve(boost::asio::ip::tcp::socket socket,
                                     std::shared_ptr<boost::asio::ssl::context> tls);

  boost::asio::io_context& io_;
  Handler handler_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
  uint16_t port_ = 0;
  uint64_t requests_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ironlb::kube
