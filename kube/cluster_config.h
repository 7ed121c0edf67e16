// Where the API server is and how to authenticate to it: read from a kubeconfig file the way
// kubectl reads it, or from the in-cluster service-account mount.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

namespace ironlb::kube {

struct ClusterConfig {
  std::string scheme = "https";  // "https", or "http" only when the kubeconfig says so
  std::string host;              // name or address (IPv6 without brackets)
  std::string port;              // always set: 443 / 80 when the URL has none
  std::string base_path;         // a server URL's path prefix ("" or "/k8s"), no trailing '/'
  std::string tls_server_name;   // SNI and verification name; defaults to host
  std::string ca_pem;            // empty: the system's trust store
  bool insecure_skip_verify = false;
  std::string client_cert_pem;
  std::string client_key_pem;
  std::string token;               // static bearer token
  std::string token_file;          // re-read when it changes (service-account tokens rotate)
  std::string username, password;  // basic auth (old kubeconfigs)
  std::string ns;                  // the context's namespace, if any
  std::string source;              // "kubeconfig FILE (context C)" or "in-cluster", for logs

  std::string url() const;  // "https://host:port/base"
};

// Reads `path` as kubectl does: the current-context (or `context` when set), its cluster and
// user; relative file paths are relative to the kubeconfig's directory; *-data fields are
// base64. Throws std::runtime_error naming the file and the field on anything unusable
// (missing context, exec/auth-provider plugins, unreadable CA file, ...).
ClusterConfig LoadKubeconfig(const std::string& path, const std::string& context = "");

// The in-cluster configuration: KUBERNETES_SERVICE_HOST/PORT, and the token, CA bundle and
// namespace under `sa_dir`. `getenv` is injectable for tests. Throws when not in a cluster.
inline constexpr const char* kServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount";
ClusterConfig InClusterConfig(
    const std::string& sa_dir = kServiceAccountDir,
    const std::function<std::optional<std::string>(const char*)>& getenv = nullptr);

// The bearer token to send now: the static token, or the token file's content re-read whenever
// its modification time or size changed (kubelet rewrites projected tokens by rename).
class TokenSource {
 public:
  explicit TokenSource(const ClusterConfig& c,
                       std::chrono::milliseconds recheck = std::chrono::seconds(1))
      : token_(c.token), file_(c.token_file), recheck_(recheck) {}
  // Empty when neither is configured. Throws std::runtime_error if the file cannot be read.
  std::string Get();

 private:
  std::string token_;
  std::string file_;
  std::chrono::milliseconds recheck_;
  std::filesystem::file_time_type mtime_{};
  uintmax_t size_ = 0;
  std::chrono::steady_clock::time_point checked_{};
};

}  // namespace ironlb::kube
