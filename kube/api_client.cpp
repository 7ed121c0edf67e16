#include "kube/api_client.h"

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/core/detail/base64.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <nlohmann/json.hpp>

#include "runtime/log.h"

namespace ironlb::kube {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::use_awaitable;

constexpr auto kConnectTimeout = std::chrono::seconds(10);
constexpr auto kRequestTimeout = std::chrono::seconds(60);
// A watch is ended by the server at its timeoutSeconds; silence much longer than that means
// the connection is dead (a server that vanished without a FIN).
constexpr auto kStreamIdleTimeout = std::chrono::seconds(15 * 60);
constexpr size_t kMaxIdleConnections = 8;
constexpr size_t kMaxConcurrentRequests = 8;
constexpr uint64_t kMaxBody = 512ull << 20;  // a list page of 500 large objects stays far below
constexpr const char* kUserAgent = "ironlb-agent/0.1 (linux) kubernetes";

bool IsIpLiteral(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

HttpResponse ToResponse(const http::response<http::string_body>& res) {
  HttpResponse out;
  out.status = res.result_int();
  out.body = res.body();
  out.content_type = std::string(res[http::field::content_type]);
  out.warning = std::string(res[http::field::warning]);
  const auto ra = res[http::field::retry_after];
  if (!ra.empty()) {
    try {
      out.retry_after_s = std::stoi(std::string(ra));
    } catch (const std::exception&) {
    }
  }
  return out;
}

}  // namespace

ApiError ApiError::From(const std::string& what, const HttpResponse& r) {
  std::string reason, message;
  if (r.content_type.find("json") != std::string::npos) {
    const auto j = nlohmann::json::parse(r.body, nullptr, false);
    if (j.is_object() && j.value("kind", "") == "Status") {
      reason = j.value("reason", "");
      message = j.value("message", "");
    }
  }
  if (message.empty()) {
    message = r.body.substr(0, 200);
    while (!message.empty() && (message.back() == '\n' || message.back() == '\r'))
      message.pop_back();
  }
  return ApiError(r.status, reason,
                  what + ": HTTP " + std::to_string(r.status) +
                      (reason.empty() ? "" : " " + reason) + ": " + message);
}

// One TCP (and TLS) connection; the pool and the streams hold these.
class ApiClient::Connection {
 public:
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls;
  std::unique_ptr<beast::tcp_stream> plain;
  beast::flat_buffer buf;

  beast::tcp_stream& tcp() { return tls ? beast::get_lowest_layer(*tls) : *plain; }
  void Close() {
    boost::system::error_code ec;
    tcp().socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    tcp().socket().close(ec);
  }
  template <class Msg>
  asio::awaitable<void> Write(Msg& m) {
    if (tls) {
      co_await http::async_write(*tls, m, use_awaitable);
    } else {
      co_await http::async_write(*plain, m, use_awaitable);
    }
  }
  template <class Parser>
  asio::awaitable<void> Read(Parser& p) {
    if (tls) {
      co_await http::async_read(*tls, buf, p, use_awaitable);
    } else {
      co_await http::async_read(*plain, buf, p, use_awaitable);
    }
  }
  template <class Parser>
  asio::awaitable<void> ReadHeader(Parser& p) {
    if (tls) {
      co_await http::async_read_header(*tls, buf, p, use_awaitable);
    } else {
      co_await http::async_read_header(*plain, buf, p, use_awaitable);
    }
  }
  template <class Parser>
  asio::awaitable<void> ReadSome(Parser& p) {
    if (tls) {
      co_await http::async_read_some(*tls, buf, p, use_awaitable);
    } else {
      co_await http::async_read_some(*plain, buf, p, use_awaitable);
    }
  }
};

ApiClient::ApiClient(asio::io_context& io, ClusterConfig cfg, RateLimit limit)
    : io_(io),
      cfg_(std::move(cfg)),
      ssl_(asio::ssl::context::tls_client),
      bucket_(limit, TokenBucket::Clock::now()),
      token_(cfg_) {
  if (cfg_.scheme != "https") return;
  ssl_.set_options(asio::ssl::context::no_sslv2 | asio::ssl::context::no_sslv3 |
                   asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
  try {
    if (cfg_.insecure_skip_verify) {
      ssl_.set_verify_mode(asio::ssl::verify_none);
    } else {
      ssl_.set_verify_mode(asio::ssl::verify_peer);
      if (cfg_.ca_pem.empty()) {
        ssl_.set_default_verify_paths();
      } else {
        ssl_.add_certificate_authority(asio::buffer(cfg_.ca_pem));
      }
    }
    if (!cfg_.client_cert_pem.empty()) {
      ssl_.use_certificate_chain(asio::buffer(cfg_.client_cert_pem));
      ssl_.use_private_key(asio::buffer(cfg_.client_key_pem), asio::ssl::context::pem);
    }
  } catch (const boost::system::system_error& e) {
    throw std::runtime_error(cfg_.source + ": unusable TLS material: " + e.what());
  }
}

ApiClient::~ApiClient() {
  Abort();
  // Coroutines still suspended in the loop hold a copy of this flag: once false they must not
  // touch the client again (they end with operation_aborted when they next resume).
  *alive_ = false;
}

namespace {
// After every suspension of a coroutine of the client: the client may have been destroyed
// while it waited (shutdown with requests in flight).
void ThrowIfGone(const std::shared_ptr<bool>& alive) {
  if (!*alive) throw boost::system::system_error(asio::error::operation_aborted);
}
}  // namespace

void ApiClient::Abort() {
  aborted_ = true;
  for (auto* t : slot_waiters_) t->cancel();
  slot_waiters_.clear();
  for (Connection* c : streams_) c->Close();
  for (auto& c : idle_) c->Close();
  idle_.clear();
}

std::string ApiClient::Authorization() {
  const std::string token = token_.Get();
  if (!token.empty()) return "Bearer " + token;
  if (!cfg_.username.empty()) {
    const std::string plain = cfg_.username + ":" + cfg_.password;
    std::string enc(beast::detail::base64::encoded_size(plain.size()), '\0');
    enc.resize(beast::detail::base64::encode(enc.data(), plain.data(), plain.size()));
    return "Basic " + enc;
  }
  return "";
}

asio::awaitable<void> ApiClient::Throttle() {
  ++requests_sent_;
  const auto wait = bucket_.Reserve(TokenBucket::Clock::now());
  if (wait <= TokenBucket::Clock::duration::zero()) co_return;
  auto alive = alive_;
  asio::steady_timer t(io_);
  t.expires_after(wait);
  co_await t.async_wait(use_awaitable);
  ThrowIfGone(alive);
}

asio::awaitable<void> ApiClient::AcquireSlot() {
  auto alive = alive_;
  while (in_flight_ >= kMaxConcurrentRequests) {
    if (aborted_) throw boost::system::system_error(asio::error::operation_aborted);
    asio::steady_timer wake(io_, asio::steady_timer::time_point::max());
    // The queue holds a pointer into this frame: it must leave the queue with the frame, also
    // when the frame is destroyed without resuming (the loop torn down during shutdown).
    struct Queued {
      std::deque<asio::steady_timer*>& q;
      asio::steady_timer* t;
      std::shared_ptr<bool> alive;
      ~Queued() {
        if (*alive) q.erase(std::remove(q.begin(), q.end(), t), q.end());
      }
    } queued{slot_waiters_, &wake, alive};
    slot_waiters_.push_back(&wake);
    boost::system::error_code ec;
    co_await wake.async_wait(asio::redirect_error(use_awaitable, ec));
    ThrowIfGone(alive);
  }
  ++in_flight_;
}

void ApiClient::ReleaseSlot() {
  --in_flight_;
  if (slot_waiters_.empty()) return;
  slot_waiters_.front()->cancel();
  slot_waiters_.pop_front();
}

asio::awaitable<std::unique_ptr<ApiClient::Connection>> ApiClient::Connect() {
  if (aborted_) throw boost::system::system_error(asio::error::operation_aborted);
  auto alive = alive_;
  asio::ip::tcp::resolver resolver(io_);
  const auto endpoints = co_await resolver.async_resolve(cfg_.host, cfg_.port, use_awaitable);
  ThrowIfGone(alive);
  auto c = std::make_unique<Connection>();
  if (cfg_.scheme == "https") {
    c->tls = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(io_, ssl_);
    if (!IsIpLiteral(cfg_.tls_server_name)) {
      SSL_set_tlsext_host_name(c->tls->native_handle(), cfg_.tls_server_name.c_str());
    }
    if (!cfg_.insecure_skip_verify) {
      c->tls->set_verify_callback(asio::ssl::host_name_verification(cfg_.tls_server_name));
    }
  } else {
    c->plain = std::make_unique<beast::tcp_stream>(io_);
  }
  c->tcp().expires_after(kConnectTimeout);
  co_await c->tcp().async_connect(endpoints, use_awaitable);
  ThrowIfGone(alive);
  c->tcp().socket().set_option(asio::ip::tcp::no_delay(true));
  if (c->tls) co_await c->tls->async_handshake(asio::ssl::stream_base::client, use_awaitable);
  ThrowIfGone(alive);
  co_return c;
}

asio::awaitable<HttpResponse> ApiClient::Request(http::verb method, std::string target,
                                                 std::string body, std::string content_type) {
  auto alive = alive_;
  co_await AcquireSlot();
  struct Slot {
    ApiClient* c;
    std::shared_ptr<bool> alive;
    ~Slot() {
      if (*alive) c->ReleaseSlot();
    }
  } slot{this, alive};
  co_await Throttle();
  http::request<http::string_body> req{method, cfg_.base_path + target, 11};
  req.set(http::field::host, cfg_.host);
  req.set(http::field::user_agent, kUserAgent);
  req.set(http::field::accept, "application/json");
  const std::string auth = Authorization();
  if (!auth.empty()) req.set(http::field::authorization, auth);
  if (!body.empty() || method == http::verb::post || method == http::verb::put ||
      method == http::verb::patch) {
    req.set(http::field::content_type, content_type);
    req.body() = std::move(body);
  }
  req.keep_alive(true);
  req.prepare_payload();
  for (int attempt = 0;; ++attempt) {
    std::unique_ptr<Connection> c;
    bool reused = false;
    if (!idle_.empty()) {
      c = std::move(idle_.back());
      idle_.pop_back();
      reused = true;
    } else {
      c = co_await Connect();
    }
    bool retry = false;
    try {
      c->tcp().expires_after(kRequestTimeout);
      co_await c->Write(req);
      ThrowIfGone(alive);
      http::response_parser<http::string_body> parser;
      parser.body_limit(kMaxBody);
      co_await c->Read(parser);
      ThrowIfGone(alive);
      HttpResponse out = ToResponse(parser.get());
      if (parser.get().keep_alive() && !aborted_ && idle_.size() < kMaxIdleConnections) {
        c->tcp().expires_never();
        idle_.push_back(std::move(c));
      }
      co_return out;
    } catch (const boost::system::system_error&) {
      // A pooled connection the server closed while idle fails on first use; that is no
      // failure of the request, so it gets one more try on a fresh connection.
      if (!*alive || !reused || attempt > 0 || aborted_) throw;
      retry = true;
    }
    (void)retry;
  }
}

asio::awaitable<HttpResponse> ApiClient::Stream(std::string target,
                                                std::function<void(std::string_view)> on_line) {
  auto alive = alive_;
  co_await Throttle();
  std::unique_ptr<Connection> c = co_await Connect();
  ThrowIfGone(alive);
  streams_.insert(c.get());
  struct Unregister {
    std::set<Connection*>& set;
    Connection* c;
    std::shared_ptr<bool> alive;
    ~Unregister() {
      if (*alive) set.erase(c);
    }
  } unregister{streams_, c.get(), alive};

  http::request<http::empty_body> req{http::verb::get, cfg_.base_path + target, 11};
  req.set(http::field::host, cfg_.host);
  req.set(http::field::user_agent, kUserAgent);
  req.set(http::field::accept, "application/json");
  const std::string auth = Authorization();
  if (!auth.empty()) req.set(http::field::authorization, auth);
  c->tcp().expires_after(kRequestTimeout);
  co_await c->Write(req);

  http::response_parser<http::string_body> parser;
  parser.body_limit(boost::none);
  co_await c->ReadHeader(parser);
  if (parser.get().result() != http::status::ok || !parser.chunked()) {
    // An error (403, 410, ...) or a server that does not chunk: read it whole.
    parser.body_limit(kMaxBody);
    co_await c->Read(parser);
    HttpResponse out = ToResponse(parser.get());
    if (out.status == 200) {
      std::string_view rest(out.body);
      for (size_t nl; (nl = rest.find('\n')) != std::string_view::npos;
           rest.remove_prefix(nl + 1)) {
        on_line(rest.substr(0, nl));
      }
      if (!rest.empty()) on_line(rest);
      out.body.clear();
    }
    co_return out;
  }
  // Events are newline-delimited JSON; a chunk may hold several or part of one.
  std::string pending;
  auto on_chunk = [&](std::uint64_t, beast::string_view data, boost::system::error_code&) {
    pending.append(data.data(), data.size());
    size_t start = 0;
    for (size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1) {
      on_line(std::string_view(pending).substr(start, nl - start));
    }
    pending.erase(0, start);
    return data.size();
  };
  parser.on_chunk_body(on_chunk);
  while (!parser.is_done()) {
    c->tcp().expires_after(kStreamIdleTimeout);
    co_await c->ReadSome(parser);
  }
  if (!pending.empty()) on_line(pending);
  HttpResponse out = ToResponse(parser.get());
  out.body.clear();
  co_return out;
}

std::string QueryEscape(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char ch : s) {
    if (isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
      out += static_cast<char>(ch);
    } else {
      out += '%';
      out += hex[ch >> 4];
      out += hex[ch & 15];
    }
  }
  return out;
}

}  // namespace ironlb::kube
