// The HTTP client on the recorded kube-apiserver responses, byte for byte: a chunked watch
// stream split at arbitrary points, chunked and Content-Length bodies, JSON Status errors and
// the text/plain 404 of an unknown group; and the request it sends.
#include "kube/api_client.h"

#include <gtest/gtest.h>

#include <boost/asio/buffers_iterator.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/use_future.hpp>
#include <fstream>
#include <sstream>
#include <thread>

namespace ironlb::kube {
namespace {

namespace asio = boost::asio;
using boost::beast::http::verb;

std::string Fixture(const std::string& name) {
  std::ifstream in(std::string(IRONLB_FIXTURES_DIR) + "/kube/" + name, std::ios::binary);
  EXPECT_TRUE(in) << name;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Chunked(const std::string& body) {
  std::ostringstream ss;
  ss << std::hex << body.size() << "\r\n" << body << "\r\n0\r\n\r\n";
  return ss.str();
}

// Answers one connection with `response`, written in pieces of `piece` bytes; keeps the request.
class CannedServer {
 public:
  CannedServer(std::string response, size_t piece)
      : acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
    thread_ = std::thread([this, response = std::move(response), piece] {
      asio::ip::tcp::socket s(io_);
      acceptor_.accept(s);
      asio::streambuf buf;
      asio::read_until(s, buf, "\r\n\r\n");
      request_.assign(asio::buffers_begin(buf.data()), asio::buffers_end(buf.data()));
      for (size_t at = 0; at < response.size(); at += piece) {
        asio::write(s, asio::buffer(response.data() + at, std::min(piece, response.size() - at)));
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
      boost::system::error_code ec;
      s.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    });
  }
  ~CannedServer() { thread_.join(); }
  ClusterConfig Config() const {
    ClusterConfig c;
    c.scheme = "http";
    c.host = "127.0.0.1";
    c.port = std::to_string(acceptor_.local_endpoint().port());
    c.token = "test-token";
    return c;
  }
  const std::string& request() const { return request_; }

 private:
  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  std::thread thread_;
  std::string request_;
};

TEST(ApiClient, RecordedChunkedWatchSplitAnywhereGivesEachEventOnce) {
  CannedServer server(Fixture("09_watch_ipaddresspools.headers") +
                          Fixture("09_watch_ipaddresspools_raw_chunked.bin"),
                      7);
  asio::io_context io;
  ApiClient client(io, server.Config(), {0, 0});
  std::vector<std::string> lines;
  auto fut = asio::co_spawn(
      io,
      client.Stream("/apis/metallb.io/v1beta1/ipaddresspools?watch=1&resourceVersion=240",
                    [&](std::string_view l) { lines.emplace_back(l); }),
      asio::use_future);
  io.run();
  EXPECT_EQ(fut.get().status, 200u);
  std::vector<std::string> want;
  std::istringstream nd(Fixture("09_watch_ipaddresspools.ndjson"));
  for (std::string l; std::getline(nd, l);) want.push_back(l);
  EXPECT_EQ(lines, want);
  EXPECT_NE(
      server.request().find(
          "GET /apis/metallb.io/v1beta1/ipaddresspools?watch=1&resourceVersion=240 HTTP/1.1\r\n"),
      std::string::npos);
  EXPECT_NE(server.request().find("Authorization: Bearer test-token\r\n"), std::string::npos);
  EXPECT_NE(server.request().find("Accept: application/json\r\n"), std::string::npos);
}

TEST(ApiClient, RecordedGoneInsideAWatchIsOneErrorLine) {
  CannedServer server(
      Fixture("05_watch_services_stale_rv202_after_apiserver_restart.headers") +
          Chunked(Fixture("05_watch_services_stale_rv202_after_apiserver_restart.ndjson")),
      1000);
  asio::io_context io;
  ApiClient client(io, server.Config(), {0, 0});
  std::vector<std::string> lines;
  auto fut = asio::co_spawn(
      io,
      client.Stream("/api/v1/services?watch=1", [&](std::string_view l) { lines.emplace_back(l); }),
      asio::use_future);
  io.run();
  EXPECT_EQ(fut.get().status, 200u);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("\"code\":410"), std::string::npos);
}

HttpResponse Get(const std::string& headers, const std::string& body) {
  CannedServer server(headers + body, 64);
  asio::io_context io;
  ApiClient client(io, server.Config(), {0, 0});
  auto fut = asio::co_spawn(io, client.Request(verb::get, "/x"), asio::use_future);
  io.run();
  return fut.get();
}

TEST(ApiClient, RecordedBodiesAndErrors) {
  // A chunked list (larger than 2 KiB) and a Content-Length one.
  const auto list =
      Get(Fixture("03_list_services.headers"), Chunked(Fixture("03_list_services.json")));
  EXPECT_EQ(list.status, 200u);
  EXPECT_EQ(list.body, Fixture("03_list_services.json"));
  const auto lease = Get(Fixture("07_get_lease.headers"), Fixture("07_get_lease.json"));
  EXPECT_EQ(lease.body, Fixture("07_get_lease.json"));

  const auto unauthorized = Get(Fixture("06_get_services_unauthorized_401.headers"),
                                Fixture("06_get_services_unauthorized_401.json"));
  EXPECT_EQ(unauthorized.status, 401u);
  const ApiError e401 = ApiError::From("list services", unauthorized);
  EXPECT_EQ(e401.reason(), "Unauthorized");
  EXPECT_STREQ(e401.what(), "list services: HTTP 401 Unauthorized: Unauthorized");

  const auto conflict = Get(Fixture("06_put_service_web_lb_status_stale_rv_conflict.headers"),
                            Fixture("06_put_service_web_lb_status_stale_rv_conflict.json"));
  EXPECT_EQ(ApiError::From("status", conflict).reason(), "Conflict");

  const auto no_crd = Get(Fixture("06_list_ipaddresspools_before_crd_404.headers"),
                          Fixture("06_list_ipaddresspools_before_crd_404.txt"));
  EXPECT_EQ(no_crd.status, 404u);
  EXPECT_STREQ(ApiError::From("list IPAddressPool", no_crd).what(),
               "list IPAddressPool: HTTP 404: 404 page not found");

  const auto too_large = Get(Fixture("05_list_services_future_rv_too_large.headers"),
                             Fixture("05_list_services_future_rv_too_large.json"));
  EXPECT_EQ(too_large.status, 504u);
  EXPECT_EQ(too_large.retry_after_s, 1);
}

}  // namespace
}  // namespace ironlb::kube
