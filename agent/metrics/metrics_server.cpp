// One connection: read one request head, answer, close (no keep-alive: a scrape every few
// seconds does not need it, and it keeps connections short-lived). With TLS the same, after the
// handshake, through Asio's OpenSSL stream. The serialised text is built
// on this thread; prometheus-cpp's families lock around collection.
#include "metrics/metrics_server.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <prometheus/text_serializer.h>
#include <sys/stat.h>

#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <iterator>
#include <stdexcept>
#include <type_traits>

#include "runtime/log.h"

namespace ironlb {

namespace asio = boost::asio;
namespace http = boost::beast::http;
namespace ssl = boost::asio::ssl;
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

using Request = http::request<http::empty_body>;
using Response = http::response<http::string_body>;

void BuildResponse(const Request& req, Response& res, prometheus::Registry& registry,
                   const MetricsSources& sources) {
  res.version(req.version());
  res.keep_alive(false);
  std::string target(req.target());
  if (const size_t q = target.find('?'); q != std::string::npos) target.resize(q);
  if (req.method() != http::verb::get && req.method() != http::verb::head) {
    res.result(http::status::method_not_allowed);
  } else if (target == "/metrics") {
    res.result(http::status::ok);
    res.set(http::field::content_type, "text/plain; version=0.0.4");
    if (req.method() == http::verb::get) {
      auto families = registry.Collect();
      if (sources.collect) {
        auto more = sources.collect();
        std::move(more.begin(), more.end(), std::back_inserter(families));
      }
      res.body() = prometheus::TextSerializer().Serialize(families);
    }
  } else if ((target == "/healthz" && sources.healthz) || (target == "/readyz" && sources.readyz)) {
    const ProbeResult r = target == "/healthz" ? sources.healthz() : sources.readyz();
    res.result(r.ok ? http::status::ok : http::status::service_unavailable);
    res.set(http::field::content_type, "text/plain");
    if (req.method() == http::verb::get) res.body() = r.detail + "\n";
  } else {
    res.result(http::status::not_found);
    res.set(http::field::content_type, "text/plain");
    res.body() = "see /metrics, /healthz, /readyz\n";
  }
  res.prepare_payload();
}

class ConnectionBase {
 public:
  virtual ~ConnectionBase() = default;
  virtual void Run() = 0;
  virtual void Close() = 0;
};

// Stream is a TCP socket, or a TLS stream over one (then the handshake comes first, and the
// deadline covers it too: a client that connects and never says hello is closed like any other).
template <class Stream>
class Connection : public ConnectionBase, public std::enable_shared_from_this<Connection<Stream>> {
  static constexpr bool kTls = !std::is_same_v<Stream, tcp::socket>;

 public:
  Connection(Stream s, prometheus::Registry& registry, const MetricsSources& sources,
             std::shared_ptr<ssl::context> tls = nullptr)
      : tls_(std::move(tls)),
        stream_(std::move(s)),
        deadline_(stream_.get_executor()),
        registry_(registry),
        sources_(sources) {}

  void Run() override {
    auto self = this->shared_from_this();
    deadline_.expires_after(kMetricsConnectionTimeout);
    deadline_.async_wait([self](boost::system::error_code ec) {
      if (!ec) self->Close();
    });
    if constexpr (kTls) {
      stream_.async_handshake(ssl::stream_base::server, [self](boost::system::error_code ec) {
        if (ec) return self->Close();
        self->Read();
      });
    } else {
      Read();
    }
  }

  void Close() override {
    boost::system::error_code ignored;
    deadline_.cancel();
    Socket().close(ignored);
  }

 private:
  tcp::socket& Socket() {
    if constexpr (kTls) {
      return stream_.next_layer();
    } else {
      return stream_;
    }
  }

  void Read() {
    auto self = this->shared_from_this();
    parser_.header_limit(kMaxRequestBytes);
    parser_.body_limit(0);
    http::async_read(stream_, buf_, parser_, [self](boost::system::error_code ec, size_t) {
      if (ec) return self->Close();
      self->Answer();
    });
  }

  void Answer() {
    BuildResponse(parser_.get(), res_, registry_, sources_);
    auto self = this->shared_from_this();
    http::async_write(stream_, res_, [self](boost::system::error_code, size_t) {
      if constexpr (kTls) {
        // close_notify, so the client knows the answer is whole; the deadline bounds the wait.
        self->stream_.async_shutdown([self](boost::system::error_code) { self->Close(); });
      } else {
        boost::system::error_code ignored;
        self->stream_.shutdown(tcp::socket::shutdown_both, ignored);
        self->Close();
      }
    });
  }

  std::shared_ptr<ssl::context> tls_;  // outlives the stream that uses it
  Stream stream_;
  asio::steady_timer deadline_;
  prometheus::Registry& registry_;
  const MetricsSources& sources_;
  boost::beast::flat_buffer buf_{kMaxRequestBytes};
  http::request_parser<http::empty_body> parser_;
  Response res_;
};

// Which version of a file was loaded: a rotation (rename over, or a Kubernetes Secret volume's
// symlink swap) changes inode or mtime.
struct FileStamp {
  dev_t dev = 0;
  ino_t ino = 0;
  int64_t mtime_ns = 0;
  off_t size = 0;
  bool operator==(const FileStamp&) const = default;
};

std::vector<FileStamp> StampOf(const MetricsTls& tls) {
  std::vector<FileStamp> out;
  for (const std::string* f : {&tls.cert_file, &tls.key_file, &tls.client_ca}) {
    struct stat st {};
    FileStamp s;
    if (!f->empty() && ::stat(f->c_str(), &st) == 0) {
      s = {st.st_dev, st.st_ino,
           static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec, st.st_size};
    }
    out.push_back(s);
  }
  return out;
}

// OpenSSL's reasons ("no start line", "key values mismatch") say little without the file.
std::string Explain(const std::string& flag, const std::string& file,
                    const boost::system::error_code& ec) {
  std::string why = ec.message();
  if (why.find("no start line") != std::string::npos) why = "no PEM block in it (" + why + ")";
  if (std::FILE* f = std::fopen(file.c_str(), "r")) {
    std::fclose(f);
  } else {
    why = std::string("cannot read: ") + std::strerror(errno);
  }
  return flag + " " + file + ": " + why;
}

std::shared_ptr<ssl::context> LoadTls(const MetricsTls& tls) {
  if (tls.key_file.empty()) throw std::runtime_error("--metrics-tls-cert needs --metrics-tls-key");
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                   ssl::context::single_dh_use);
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(tls.cert_file, ec);
  if (ec) throw std::runtime_error(Explain("--metrics-tls-cert", tls.cert_file, ec));
  ctx->use_private_key_file(tls.key_file, ssl::context::pem, ec);
  const bool mismatch = ec && ec.message().find("key values mismatch") != std::string::npos;
  if (ec && !mismatch) throw std::runtime_error(Explain("--metrics-tls-key", tls.key_file, ec));
  if (mismatch || SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
    ERR_clear_error();
    throw std::runtime_error("--metrics-tls-key " + tls.key_file +
                             ": not the private key of the certificate in " + tls.cert_file);
  }
  if (!tls.client_ca.empty()) {
    ctx->load_verify_file(tls.client_ca, ec);
    if (ec) throw std::runtime_error(Explain("--metrics-tls-client-ca", tls.client_ca, ec));
    // Tell clients which CAs are accepted, so one holding several certificates picks right.
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(tls.client_ca.c_str()))
      SSL_CTX_set_client_CA_list(ctx->native_handle(), names);
    ctx->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  }
  return ctx;
}

}  // namespace

class MetricsServer::Impl {
 public:
  Impl(const tcp::endpoint& ep, std::shared_ptr<prometheus::Registry> registry,
       MetricsSources sources, MetricsTls tls)
      : acceptor_(io_),
        retry_(io_),
        registry_(std::move(registry)),
        sources_(std::move(sources)),
        tls_(std::move(tls)) {
    if (tls_.enabled()) {
      tls_stamp_ = StampOf(tls_);
      tls_ctx_ = LoadTls(tls_);  // a bad file stops the start, with its name
      tls_checked_ = std::chrono::steady_clock::now();
    }
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
      std::shared_ptr<ConnectionBase> c;
      if (tls_.enabled()) {
        MaybeReloadTls();
        c = std::make_shared<Connection<ssl::stream<tcp::socket>>>(
            ssl::stream<tcp::socket>(std::move(s), *tls_ctx_), *registry_, sources_, tls_ctx_);
      } else {
        c = std::make_shared<Connection<tcp::socket>>(std::move(s), *registry_, sources_);
      }
      connections_.push_back(c);
      c->Run();
      Accept();
    });
  }

  // Connections already open keep the context they started with.
  void MaybeReloadTls() {
    const auto now = std::chrono::steady_clock::now();
    if (now - tls_checked_ < kTlsReloadCheck) return;
    tls_checked_ = now;
    auto stamp = StampOf(tls_);
    if (stamp == tls_stamp_) return;
    tls_stamp_ = std::move(stamp);  // a failed version is not retried until it changes again
    try {
      tls_ctx_ = LoadTls(tls_);
      log::Info("metrics", "TLS certificate " + tls_.cert_file + " changed on disk: reloaded");
    } catch (const std::exception& e) {
      log::Warn("metrics", std::string("TLS files changed but do not load, keeping the previous "
                                       "certificate: ") +
                               e.what());
    }
  }

  asio::io_context io_;
  tcp::acceptor acceptor_;
  asio::steady_timer retry_;
  std::shared_ptr<prometheus::Registry> registry_;
  MetricsSources sources_;
  MetricsTls tls_;
  std::shared_ptr<ssl::context> tls_ctx_;
  std::vector<FileStamp> tls_stamp_;
  std::chrono::steady_clock::time_point tls_checked_;
  std::deque<std::weak_ptr<ConnectionBase>> connections_;
};

MetricsServer::MetricsServer(const std::string& listen,
                             std::shared_ptr<prometheus::Registry> registry, MetricsSources sources,
                             MetricsTls tls)
    : impl_(std::make_unique<Impl>(ParseListen(listen), std::move(registry), std::move(sources),
                                   std::move(tls))),
      thread_([this] { impl_->Run(); }) {}

MetricsServer::~MetricsServer() {
  impl_->Stop();
  thread_.join();
}

uint16_t MetricsServer::port() const {
  return impl_->port();
}

}  // namespace ironlb
