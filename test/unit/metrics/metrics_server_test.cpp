// MetricsServer: serves the registry on IPv4 and IPv6, answers while idle clients hold
// connections, and refuses addresses it cannot parse.
#include "metrics/metrics_server.h"

#include <gtest/gtest.h>
#include <prometheus/gauge.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <vector>

namespace ironlb {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

std::string Get(const std::string& host, uint16_t port, const std::string& path) {
  asio::io_context io;
  tcp::socket s(io);
  s.connect(tcp::endpoint(asio::ip::make_address(host), port));
  asio::write(s, asio::buffer("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::string out;
  boost::system::error_code ec;
  asio::read(s, asio::dynamic_buffer(out), ec);  // until the server closes
  return out;
}

std::shared_ptr<prometheus::Registry> Registry() {
  auto reg = std::make_shared<prometheus::Registry>();
  prometheus::BuildGauge().Name("up_gauge").Help("h").Register(*reg).Add({}).Set(7);
  return reg;
}

TEST(MetricsServer, ServesTheRegistryOnV4AndV6) {
  for (const std::string host : {"127.0.0.1", "::1"}) {
    MetricsServer server(host.find(':') != std::string::npos ? "[" + host + "]:0" : host + ":0",
                         Registry());
    const std::string res = Get(host, server.port(), "/metrics");
    EXPECT_NE(res.find("200 OK"), std::string::npos) << res;
    EXPECT_NE(res.find("up_gauge 7"), std::string::npos) << res;
    EXPECT_NE(Get(host, server.port(), "/other").find("404"), std::string::npos);
  }
}

TEST(MetricsServer, AnswersWhileIdleClientsHoldConnections) {
  MetricsServer server("127.0.0.1:0", Registry());
  asio::io_context io;
  std::vector<tcp::socket> idle;
  for (size_t i = 0; i < kMetricsMaxConnections + 10; ++i) {
    idle.emplace_back(io);
    idle.back().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server.port()));
  }
  EXPECT_NE(Get("127.0.0.1", server.port(), "/metrics").find("up_gauge 7"), std::string::npos);
}

TEST(MetricsServer, RefusesWhatItCannotBind) {
  EXPECT_THROW(MetricsServer("no-port", Registry()), std::runtime_error);
  EXPECT_THROW(MetricsServer("example.com:7472", Registry()), std::runtime_error);
  EXPECT_THROW(MetricsServer("127.0.0.1:99999", Registry()), std::runtime_error);
}

}  // namespace
}  // namespace ironlb

namespace ironlb {
namespace {

TEST(MetricsServer, HealthProbesAnswer200Or503WithTheirDetail) {
  std::atomic<bool> ready = false;
  MetricsSources sources;
  sources.healthz = [] { return ProbeResult{true, "ok"}; };
  sources.readyz = [&ready] { return ProbeResult{ready, ready ? "ok" : "not ready: no config"}; };
  MetricsServer server("127.0.0.1:0", Registry(), sources);
  EXPECT_NE(Get("127.0.0.1", server.port(), "/healthz").find("200 OK"), std::string::npos);
  const std::string res = Get("127.0.0.1", server.port(), "/readyz");
  EXPECT_NE(res.find("503"), std::string::npos) << res;
  EXPECT_NE(res.find("no config"), std::string::npos) << res;
  ready = true;
  EXPECT_NE(Get("127.0.0.1", server.port(), "/readyz").find("200 OK"), std::string::npos);
}

TEST(MetricsServer, ScrapeTimeFamiliesAreReadOnEveryScrape) {
  int scrapes = 0;
  MetricsSources sources;
  sources.collect = [&scrapes] {
    prometheus::MetricFamily f;
    f.name = "scrapes_total";
    f.help = "h";
    f.type = prometheus::MetricType::Counter;
    prometheus::ClientMetric m;
    m.counter.value = ++scrapes;
    f.metric.push_back(m);
    return std::vector<prometheus::MetricFamily>{f};
  };
  MetricsServer server("127.0.0.1:0", Registry(), sources);
  EXPECT_NE(Get("127.0.0.1", server.port(), "/metrics").find("scrapes_total 1"), std::string::npos);
  const std::string res = Get("127.0.0.1", server.port(), "/metrics");
  EXPECT_NE(res.find("scrapes_total 2"), std::string::npos) << res;
  EXPECT_NE(res.find("up_gauge 7"), std::string::npos) << res;
}

}  // namespace
}  // namespace ironlb
