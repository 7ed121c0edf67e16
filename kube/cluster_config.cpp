#include "kube/cluster_config.h"

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "config/base64.h"

namespace ironlb::kube {
namespace {

namespace fs = std::filesystem;

std::string ReadWholeFile(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + what + " " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string TrimSpace(std::string s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

// Splits "scheme://host[:port][/path]" into the config; the error names `where`.
void ParseServerUrl(const std::string& url, const std::string& where, ClusterConfig* c) {
  const auto sep = url.find("://");
  if (sep == std::string::npos)
    throw std::runtime_error(where + ": server \"" + url + "\" has no scheme");
  c->scheme = url.substr(0, sep);
  if (c->scheme != "https" && c->scheme != "http") {
    throw std::runtime_error(where + ": server scheme must be https or http, not " + c->scheme);
  }
  std::string rest = url.substr(sep + 3);
  const auto slash = rest.find('/');
  if (slash != std::string::npos) {
    c->base_path = rest.substr(slash);
    while (!c->base_path.empty() && c->base_path.back() == '/') c->base_path.pop_back();
    rest = rest.substr(0, slash);
  }
  if (!rest.empty() && rest[0] == '[') {
    const auto close = rest.find(']');
    if (close == std::string::npos) throw std::runtime_error(where + ": bad IPv6 host in " + url);
    c->host = rest.substr(1, close - 1);
    if (close + 1 < rest.size() && rest[close + 1] == ':') c->port = rest.substr(close + 2);
  } else {
    const auto colon = rest.rfind(':');
    c->host = rest.substr(0, colon);
    if (colon != std::string::npos) c->port = rest.substr(colon + 1);
  }
  if (c->host.empty()) throw std::runtime_error(where + ": server \"" + url + "\" has no host");
  if (c->port.empty()) c->port = c->scheme == "https" ? "443" : "80";
}

// Named entry `name` of a kubeconfig list (clusters, users, contexts): its inner map.
YAML::Node FindNamed(const YAML::Node& root, const char* list, const char* inner,
                     const std::string& name, const std::string& file) {
  const YAML::Node items = root[list];
  if (items && items.IsSequence()) {
    for (const auto& it : items) {
      if (it["name"] && it["name"].as<std::string>() == name) {
        const YAML::Node n = it[inner];
        if (!n || n.IsNull()) return YAML::Node(YAML::NodeType::Map);
        if (!n.IsMap())
          throw std::runtime_error(file + ": " + list + "[" + name + "]." + inner +
                                   " is not a mapping");
        return n;
      }
    }
  }
  throw std::runtime_error(file + ": " + list + " has no entry named \"" + name + "\"");
}

std::string Str(const YAML::Node& m, const char* key) {
  const YAML::Node n = m[key];
  if (!n || n.IsNull()) return "";
  if (!n.IsScalar()) throw std::runtime_error(std::string(key) + " is not a string");
  return n.Scalar();
}

// A "X-data" (base64) or "X" (file path) pair, as kubectl reads them: data wins.
std::string DataOrFile(const YAML::Node& m, const char* data_key, const char* file_key,
                       const fs::path& base, const std::string& where) {
  const std::string data = Str(m, data_key);
  if (!data.empty()) {
    auto decoded = config::DecodeBase64(data);
    if (!decoded) throw std::runtime_error(where + "." + data_key + ": not valid base64");
    return *decoded;
  }
  const std::string file = Str(m, file_key);
  if (file.empty()) return "";
  const fs::path p = fs::path(file).is_absolute() ? fs::path(file) : base / file;
  return ReadWholeFile(p.string(), where + "." + file_key);
}

}  // namespace

std::string ClusterConfig::url() const {
  const bool v6 = host.find(':') != std::string::npos;
  return scheme + "://" + (v6 ? "[" + host + "]" : host) + ":" + port + base_path;
}

ClusterConfig LoadKubeconfig(const std::string& path, const std::string& context) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    throw std::runtime_error("cannot read kubeconfig " + path);
  } catch (const YAML::Exception& e) {
    throw std::runtime_error(path + ": not a kubeconfig: " + e.what());
  }
  if (!root.IsMap()) throw std::runtime_error(path + ": not a kubeconfig (expected a mapping)");
  try {
    const fs::path base = fs::absolute(path).parent_path();
    const std::string ctx_name = context.empty() ? Str(root, "current-context") : context;
    if (ctx_name.empty()) throw std::runtime_error(path + ": current-context is not set");
    const YAML::Node ctx = FindNamed(root, "contexts", "context", ctx_name, path);
    ClusterConfig c;
    c.source = "kubeconfig " + path + " (context " + ctx_name + ")";
    c.ns = Str(ctx, "namespace");
    const std::string cluster_name = Str(ctx, "cluster");
    if (cluster_name.empty())
      throw std::runtime_error(path + ": context " + ctx_name + " has no cluster");
    const YAML::Node cl = FindNamed(root, "clusters", "cluster", cluster_name, path);
    const std::string cwhere = path + ": clusters[" + cluster_name + "].cluster";
    const std::string server = Str(cl, "server");
    if (server.empty()) throw std::runtime_error(cwhere + ".server is not set");
    ParseServerUrl(server, cwhere + ".server", &c);
    c.tls_server_name = Str(cl, "tls-server-name");
    if (c.tls_server_name.empty()) c.tls_server_name = c.host;
    const YAML::Node insecure = cl["insecure-skip-tls-verify"];
    c.insecure_skip_verify = insecure && insecure.IsScalar() && insecure.as<bool>();
    c.ca_pem = DataOrFile(cl, "certificate-authority-data", "certificate-authority", base, cwhere);
    if (c.insecure_skip_verify && !c.ca_pem.empty()) {
      // kubectl refuses this combination too; silently preferring one would surprise.
      throw std::runtime_error(
          cwhere + ": insecure-skip-tls-verify and a certificate authority are exclusive");
    }
    const std::string user_name = Str(ctx, "user");
    if (!user_name.empty()) {
      const YAML::Node u = FindNamed(root, "users", "user", user_name, path);
      const std::string uwhere = path + ": users[" + user_name + "].user";
      if (u["exec"] || u["auth-provider"]) {
        throw std::runtime_error(uwhere +
                                 ": exec and auth-provider plugins are not supported; "
                                 "use a token, tokenFile or client certificate");
      }
      c.token = Str(u, "token");
      const std::string token_file = Str(u, "tokenFile");
      if (!token_file.empty()) {
        c.token_file =
            fs::path(token_file).is_absolute() ? token_file : (base / token_file).string();
      }
      c.client_cert_pem =
          DataOrFile(u, "client-certificate-data", "client-certificate", base, uwhere);
      c.client_key_pem = DataOrFile(u, "client-key-data", "client-key", base, uwhere);
      if (c.client_cert_pem.empty() != c.client_key_pem.empty()) {
        throw std::runtime_error(
            uwhere + ": a client certificate needs its key (and the key its certificate)");
      }
      c.username = Str(u, "username");
      c.password = Str(u, "password");
    }
    return c;
  } catch (const YAML::Exception& e) {
    throw std::runtime_error(path + ": " + e.what());
  }
}

ClusterConfig InClusterConfig(
    const std::string& sa_dir,
    const std::function<std::optional<std::string>(const char*)>& getenv_fn) {
  auto env = [&](const char* name) -> std::string {
    if (getenv_fn) return getenv_fn(name).value_or("");
    const char* v = std::getenv(name);
    return v ? v : "";
  };
  ClusterConfig c;
  c.host = env("KUBERNETES_SERVICE_HOST");
  c.port = env("KUBERNETES_SERVICE_PORT");
  if (c.host.empty() || c.port.empty()) {
    throw std::runtime_error(
        "not running in a cluster (KUBERNETES_SERVICE_HOST/PORT unset); pass --kubeconfig");
  }
  c.tls_server_name = c.host;
  c.source = "in-cluster";
  c.token_file = sa_dir + "/token";
  c.ca_pem = ReadWholeFile(sa_dir + "/ca.crt", "service-account CA bundle");
  std::error_code ec;
  if (fs::exists(sa_dir + "/namespace", ec)) {
    c.ns = TrimSpace(ReadWholeFile(sa_dir + "/namespace", "service-account namespace"));
  }
  TokenSource(c).Get();  // fail now, not on the first request, when the token is missing
  return c;
}

std::string TokenSource::Get() {
  if (file_.empty()) return token_;
  // A stat a second at most: requests come in bursts, rotation happens hourly.
  const auto now = std::chrono::steady_clock::now();
  if (!token_.empty() && now - checked_ < recheck_) return token_;
  checked_ = now;
  std::error_code ec;
  const auto mtime = fs::last_write_time(file_, ec);
  const auto size = ec ? 0 : fs::file_size(file_, ec);
  if (ec) {
    if (!token_.empty()) return token_;  // keep the last good token through a rename window
    throw std::runtime_error("cannot read token file " + file_ + ": " + ec.message());
  }
  if (token_.empty() || mtime != mtime_ || size != size_) {
    std::string t = TrimSpace(ReadWholeFile(file_, "token file"));
    if (!t.empty()) token_ = std::move(t);
    mtime_ = mtime;
    size_ = size;
  }
  return token_;
}

}  // namespace ironlb::kube
