// MetricsServer: serves the registry on IPv4 and IPv6, answers while idle clients hold
// connections, refuses addresses it cannot parse, and serves HTTPS (rotation, mutual TLS).
#include "metrics/metrics_server.h"

#include <gtest/gtest.h>
#include <openssl/x509.h>
#include <prometheus/gauge.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>
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

// TLS: certificates are made at test time by the openssl CLI (Debian's openssl package).
namespace ironlb {
namespace {

namespace ssl = boost::asio::ssl;
namespace fs = std::filesystem;

class MetricsTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() /
          ("ironlb-tls-" + std::to_string(getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  void TearDown() override { fs::remove_all(dir); }

  void Sh(const std::string& cmd) {
    ASSERT_EQ(std::system(("cd " + dir.string() + " && (" + cmd + ") >/dev/null 2>&1").c_str()), 0)
        << cmd;
  }
  // A self-signed server certificate for 127.0.0.1 with common name `cn`.
  void SelfSigned(const std::string& cn, const std::string& cert, const std::string& key) {
    Sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
       "-subj /CN=" +
       cn + " -addext subjectAltName=IP:127.0.0.1 -keyout " + key + " -out " + cert);
  }
  std::string P(const std::string& name) const { return (dir / name).string(); }

  // GET over TLS, trusting `ca`; with a client certificate when `client_cert` is set. Returns
  // the response, or "" when the handshake fails; `*peer_cn` gets the server's common name.
  std::string GetTls(uint16_t port, const std::string& path, const std::string& ca,
                     std::string* peer_cn = nullptr, const std::string& client_cert = "",
                     const std::string& client_key = "") {
    asio::io_context io;
    ssl::context ctx(ssl::context::tls_client);
    ctx.load_verify_file(ca);
    ctx.set_verify_mode(ssl::verify_peer);
    if (!client_cert.empty()) {
      ctx.use_certificate_chain_file(client_cert);
      ctx.use_private_key_file(client_key, ssl::context::pem);
    }
    ssl::stream<tcp::socket> s(io, ctx);
    s.next_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    boost::system::error_code ec;
    s.handshake(ssl::stream_base::client, ec);
    if (ec) return "";
    if (peer_cn) {
      X509* cert = SSL_get1_peer_certificate(s.native_handle());
      char buf[256] = {};
      X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf, sizeof buf);
      X509_free(cert);
      *peer_cn = buf;
    }
    asio::write(s, asio::buffer("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n"), ec);
    std::string out;
    asio::read(s, asio::dynamic_buffer(out), ec);  // until close_notify
    return out;
  }

  fs::path dir;
};

TEST_F(MetricsTlsTest, ServesOverHttpsOnlyAndPlainHttpGetsNoMetrics) {
  SelfSigned("one", "c.pem", "k.pem");
  MetricsServer server("127.0.0.1:0", Registry(), {}, {P("c.pem"), P("k.pem"), ""});
  std::string cn;
  const std::string res = GetTls(server.port(), "/metrics", P("c.pem"), &cn);
  EXPECT_NE(res.find("200 OK"), std::string::npos) << res;
  EXPECT_NE(res.find("up_gauge 7"), std::string::npos) << res;
  EXPECT_EQ(cn, "one");
  EXPECT_EQ(Get("127.0.0.1", server.port(), "/metrics").find("up_gauge"), std::string::npos);
}

TEST_F(MetricsTlsTest, BadFilesStopTheStartNamingTheFile) {
  SelfSigned("one", "c.pem", "k.pem");
  SelfSigned("two", "c2.pem", "k2.pem");
  std::ofstream(P("junk.pem")) << "not a certificate\n";
  auto error_of = [&](const MetricsTls& tls) -> std::string {
    try {
      MetricsServer server("127.0.0.1:0", Registry(), {}, tls);
    } catch (const std::runtime_error& e) {
      return e.what();
    }
    return "";
  };
  std::string e = error_of({P("missing.pem"), P("k.pem"), ""});
  EXPECT_NE(e.find("--metrics-tls-cert " + P("missing.pem") + ": cannot read: No such file"),
            std::string::npos)
      << e;
  e = error_of({P("junk.pem"), P("k.pem"), ""});
  EXPECT_NE(e.find("--metrics-tls-cert " + P("junk.pem")), std::string::npos) << e;
  e = error_of({P("c.pem"), P("junk.pem"), ""});
  EXPECT_NE(e.find("--metrics-tls-key " + P("junk.pem")), std::string::npos) << e;
  e = error_of({P("c.pem"), P("k2.pem"), ""});
  EXPECT_NE(e.find("not the private key of the certificate in " + P("c.pem")), std::string::npos)
      << e;
  e = error_of({P("c.pem"), P("k.pem"), P("missing-ca.pem")});
  EXPECT_NE(e.find("--metrics-tls-client-ca " + P("missing-ca.pem")), std::string::npos) << e;
}

TEST_F(MetricsTlsTest, RotatedCertificateIsServedAndABrokenOneIgnored) {
  SelfSigned("one", "c.pem", "k.pem");
  SelfSigned("two", "c2.pem", "k2.pem");
  // Both names are trusted by the client, so only the common name tells which is served.
  Sh("cat c.pem c2.pem > both.pem");
  MetricsServer server("127.0.0.1:0", Registry(), {}, {P("c.pem"), P("k.pem"), ""});
  std::string cn;
  ASSERT_NE(GetTls(server.port(), "/metrics", P("both.pem"), &cn), "");
  EXPECT_EQ(cn, "one");
  // cert-manager's way: new files renamed into place.
  fs::copy_file(P("c2.pem"), P("c.tmp"));
  fs::copy_file(P("k2.pem"), P("k.tmp"));
  fs::rename(P("c.tmp"), P("c.pem"));
  fs::rename(P("k.tmp"), P("k.pem"));
  for (int i = 0; i < 40 && cn != "two"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ASSERT_NE(GetTls(server.port(), "/metrics", P("both.pem"), &cn), "");
  }
  EXPECT_EQ(cn, "two");
  // Half a rotation (a key that does not match): the last good pair stays in service.
  Sh("openssl genpkey -algorithm ec -pkeyopt ec_paramgen_curve:prime256v1 -out k.tmp && "
     "mv k.tmp k.pem");
  std::this_thread::sleep_for(kTlsReloadCheck + std::chrono::milliseconds(200));
  for (int i = 0; i < 3; ++i) {
    const std::string res = GetTls(server.port(), "/metrics", P("both.pem"), &cn);
    EXPECT_NE(res.find("up_gauge 7"), std::string::npos) << res;
    EXPECT_EQ(cn, "two");
  }
}

TEST_F(MetricsTlsTest, ClientCaRequiresAClientCertificateItSigned) {
  SelfSigned("server", "c.pem", "k.pem");
  SelfSigned("ca", "ca.pem", "ca.key");
  SelfSigned("other-ca", "other.pem", "other.key");
  Sh("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=prometheus "
     "-keyout client.key -out client.csr && openssl x509 -req -in client.csr -CA ca.pem -CAkey "
     "ca.key -CAcreateserial -days 2 -out client.pem");
  Sh("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=intruder "
     "-keyout bad.key -out bad.csr && openssl x509 -req -in bad.csr -CA other.pem -CAkey "
     "other.key -CAcreateserial -days 2 -out bad.pem");
  MetricsServer server("127.0.0.1:0", Registry(), {}, {P("c.pem"), P("k.pem"), P("ca.pem")});
  const std::string ok =
      GetTls(server.port(), "/metrics", P("c.pem"), nullptr, P("client.pem"), P("client.key"));
  EXPECT_NE(ok.find("up_gauge 7"), std::string::npos) << ok;
  // TLS 1.3 reports a refused client certificate after the handshake: no answer either way.
  EXPECT_EQ(GetTls(server.port(), "/metrics", P("c.pem")).find("up_gauge"), std::string::npos);
  EXPECT_EQ(GetTls(server.port(), "/metrics", P("c.pem"), nullptr, P("bad.pem"), P("bad.key"))
                .find("up_gauge"),
            std::string::npos);
}

}  // namespace
}  // namespace ironlb
