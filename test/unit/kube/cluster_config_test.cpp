// Kubeconfig and in-cluster configuration read as kubectl and client-go read them, and the
// service-account token re-read when the kubelet rotates it.
#include "kube/cluster_config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace ironlb::kube {
namespace {

namespace fs = std::filesystem;

class ConfigDir : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() /
          ("ironlb-kubeconfig-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    fs::create_directories(dir / "certs");
  }
  void TearDown() override { fs::remove_all(dir); }
  std::string Write(const std::string& name, const std::string& text) {
    std::ofstream(dir / name) << text;
    return (dir / name).string();
  }
  fs::path dir;
};

// "-----BEGIN CERTIFICATE-----\nX\n" in base64, standing in for PEM (parsing is the TLS layer's).
constexpr const char* kCaData = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tClgK";

TEST_F(ConfigDir, CurrentContextWithDataAndToken) {
  const auto path = Write("config", R"(apiVersion: v1
kind: Config
current-context: prod
clusters:
- name: other
  cluster: {server: "https://10.0.0.1"}
- name: prod-cluster
  cluster:
    server: https://[2001:db8::1]:6443/prefix/
    certificate-authority-data: )" + std::string(kCaData) +
                                        R"(
    tls-server-name: api.prod
contexts:
- name: other
  context: {cluster: other, user: other}
- name: prod
  context: {cluster: prod-cluster, user: admin, namespace: metallb-system}
users:
- name: other
  user: {token: nope}
- name: admin
  user:
    token: secret-token
)");
  const ClusterConfig c = LoadKubeconfig(path);
  EXPECT_EQ(c.scheme, "https");
  EXPECT_EQ(c.host, "2001:db8::1");
  EXPECT_EQ(c.port, "6443");
  EXPECT_EQ(c.base_path, "/prefix");
  EXPECT_EQ(c.tls_server_name, "api.prod");
  EXPECT_EQ(c.ca_pem, "-----BEGIN CERTIFICATE-----\nX\n");
  EXPECT_EQ(c.token, "secret-token");
  EXPECT_EQ(c.ns, "metallb-system");
  EXPECT_EQ(c.url(), "https://[2001:db8::1]:6443/prefix");
  // --context picks another one.
  const ClusterConfig o = LoadKubeconfig(path, "other");
  EXPECT_EQ(o.host, "10.0.0.1");
  EXPECT_EQ(o.port, "443");
  EXPECT_EQ(o.token, "nope");
}

TEST_F(ConfigDir, FilesAreRelativeToTheKubeconfig) {
  Write("certs/ca.crt", "CA");
  Write("certs/client.crt", "CERT");
  Write("certs/client.key", "KEY");
  Write("certs/token", "from-file\n");
  const auto path = Write("config", R"(current-context: c
clusters: [{name: k, cluster: {server: "http://127.0.0.1:8080", certificate-authority: certs/ca.crt}}]
users: [{name: u, user: {client-certificate: certs/client.crt, client-key: certs/client.key, tokenFile: certs/token}}]
contexts: [{name: c, context: {cluster: k, user: u}}]
)");
  const ClusterConfig c = LoadKubeconfig(path);
  EXPECT_EQ(c.scheme, "http");
  EXPECT_EQ(c.ca_pem, "CA");
  EXPECT_EQ(c.client_cert_pem, "CERT");
  EXPECT_EQ(c.client_key_pem, "KEY");
  EXPECT_EQ(c.token_file, (dir / "certs/token").string());
  EXPECT_EQ(TokenSource(c).Get(), "from-file");
}

TEST_F(ConfigDir, ErrorsNameTheFileAndTheField) {
  auto expect_error = [&](const std::string& text, const std::string& needle) {
    const auto path = Write("config", text);
    try {
      LoadKubeconfig(path);
      ADD_FAILURE() << "accepted: " << text;
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_error("clusters: []\n", "current-context");
  expect_error("current-context: x\ncontexts: []\n", "no entry named \"x\"");
  expect_error(R"(current-context: c
clusters: [{name: k, cluster: {server: "ftp://x"}}]
contexts: [{name: c, context: {cluster: k}}]
)",
               "clusters[k].cluster.server");
  expect_error(R"(current-context: c
clusters: [{name: k, cluster: {server: "https://x", certificate-authority: missing.crt}}]
contexts: [{name: c, context: {cluster: k}}]
)",
               "certificate-authority");
  expect_error(R"(current-context: c
clusters: [{name: k, cluster: {server: "https://x"}}]
users: [{name: u, user: {exec: {command: aws}}}]
contexts: [{name: c, context: {cluster: k, user: u}}]
)",
               "users[u].user: exec");
  expect_error(R"(current-context: c
clusters: [{name: k, cluster: {server: "https://x"}}]
users: [{name: u, user: {client-certificate-data: Q0VSVA==}}]
contexts: [{name: c, context: {cluster: k, user: u}}]
)",
               "needs its key");
  expect_error("- not a mapping\n", "not a kubeconfig");
}

TEST_F(ConfigDir, InClusterReadsTheServiceAccountMount) {
  Write("ca.crt", "CA");
  Write("token", "sa-token\n");
  Write("namespace", "ironlb-system\n");
  auto env = [](const char* name) -> std::optional<std::string> {
    if (std::string(name) == "KUBERNETES_SERVICE_HOST") return "10.96.0.1";
    if (std::string(name) == "KUBERNETES_SERVICE_PORT") return "443";
    return std::nullopt;
  };
  const ClusterConfig c = InClusterConfig(dir.string(), env);
  EXPECT_EQ(c.url(), "https://10.96.0.1:443");
  EXPECT_EQ(c.ca_pem, "CA");
  EXPECT_EQ(c.ns, "ironlb-system");
  EXPECT_EQ(TokenSource(c).Get(), "sa-token");
  EXPECT_THROW(InClusterConfig(dir.string(), [](const char*) { return std::nullopt; }),
               std::runtime_error);
}

TEST_F(ConfigDir, RotatedTokenFileIsReRead) {
  ClusterConfig c;
  c.token = "static";  // a token file wins over a token, as in client-go
  c.token_file = Write("token", "first");
  TokenSource src(c, std::chrono::milliseconds(0));
  EXPECT_EQ(src.Get(), "first");
  // The kubelet writes the new token beside the old and renames it over.
  Write("token.new", "second-token");
  fs::rename(dir / "token.new", dir / "token");
  EXPECT_EQ(src.Get(), "second-token");
  // While the file is briefly missing the last good token is kept.
  fs::remove(dir / "token");
  EXPECT_EQ(src.Get(), "second-token");
}

}  // namespace
}  // namespace ironlb::kube
