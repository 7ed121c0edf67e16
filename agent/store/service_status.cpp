#include "store/service_status.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <system_error>

namespace ironlb {

namespace fs = std::filesystem;

nlohmann::json ToJson(const ServiceStatus& s) {
  nlohmann::json j = {
      {"apiVersion", "ironlb.io/v1alpha1"},
      {"kind", "ServiceStatus"},
      {"service", {{"namespace", s.ns}, {"name", s.name}}},
      {"pool", s.pool},
      {"ingress", nlohmann::json::array()},
  };
  for (const auto& ip : s.ips) j["ingress"].push_back({{"ip", ip.str()}});
  if (!s.error.empty()) j["error"] = s.error;
  return j;
}

ServiceStatus ServiceStatusFromJson(const nlohmann::json& j) {
  auto need = [&](const nlohmann::json& obj, const char* field) -> const nlohmann::json& {
    if (!obj.is_object() || !obj.contains(field)) {
      throw std::runtime_error(std::string("missing field ") + field);
    }
    return obj.at(field);
  };
  ServiceStatus s;
  const auto& svc = need(j, "service");
  s.ns = need(svc, "namespace").get<std::string>();
  s.name = need(svc, "name").get<std::string>();
  s.pool = j.value("pool", "");
  s.error = j.value("error", "");
  if (j.contains("ingress")) {
    for (const auto& ing : j.at("ingress")) {
      const auto text = need(ing, "ip").get<std::string>();
      auto ip = IPAddr::Parse(text);
      if (!ip) throw std::runtime_error("ingress: \"" + text + "\" is not an IP address");
      s.ips.push_back(*ip);
    }
  }
  return s;
}

namespace {

bool IsDnsLabel(const std::string& s, size_t max = 63) {
  if (s.empty() || s.size() > max) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(s.front()) || !alnum(s.back())) return false;
  for (char c : s)
    if (!alnum(c) && c != '-') return false;
  return true;
}

bool IsDnsSubdomain(const std::string& s) {
  if (s.empty() || s.size() > 253) return false;
  size_t start = 0;
  while (true) {
    const size_t dot = s.find('.', start);
    if (!IsDnsLabel(s.substr(start, dot == std::string::npos ? std::string::npos : dot - start)))
      return false;
    if (dot == std::string::npos) return true;
    start = dot + 1;
  }
}

}  // namespace

void CheckStatusName(const std::string& ns, const std::string& name) {
  if (!IsDnsLabel(ns))
    throw std::invalid_argument("namespace \"" + ns + "\" is not a DNS-1123 label");
  if (!IsDnsSubdomain(name))
    throw std::invalid_argument("name \"" + name + "\" is not a DNS-1123 subdomain");
}

std::string StatusFileName(const std::string& ns, const std::string& name) {
  CheckStatusName(ns, name);
  return ns + "_" + name + ".json";
}

void WriteStatusFile(const std::string& dir, const ServiceStatus& s) {
  fs::create_directories(dir);
  const fs::path final_path = fs::path(dir) / StatusFileName(s.ns, s.name);
  // The temp name starts with '.' and does not end in .json, so readers never pick it up.
  const fs::path tmp = fs::path(dir) / ("." + StatusFileName(s.ns, s.name) + ".tmp");
  const std::string body = ToJson(s).dump(2) + "\n";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "open " + tmp.string());
  size_t off = 0;
  while (off < body.size()) {
    ssize_t n = ::write(fd, body.data() + off, body.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      throw std::system_error(e, std::generic_category(), "write " + tmp.string());
    }
    off += static_cast<size_t>(n);
  }
  ::fsync(fd);
  ::close(fd);
  fs::rename(tmp, final_path);
}

void RemoveStatusFile(const std::string& dir, const std::string& ns, const std::string& name) {
  std::error_code ec;
  fs::remove(fs::path(dir) / StatusFileName(ns, name), ec);
}

std::vector<ServiceStatus> ReadStatusDir(const std::string& dir, std::vector<std::string>* errors) {
  std::vector<ServiceStatus> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const auto& p = e.path();
    if (p.extension() != ".json" || p.filename().string().front() == '.') continue;
    // Opened without blocking and checked on the descriptor, so a FIFO put in a file's place
    // between listing and opening cannot stall the reader either.
    const int fd = ::open(p.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    struct stat st {};
    if (fd < 0 || ::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      if (fd >= 0) ::close(fd);
      if (errors) errors->push_back(p.string() + ": not a regular file");
      continue;
    }
    std::string text;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
      if (n > 0) text.append(buf, static_cast<size_t>(n));
    ::close(fd);
    try {
      out.push_back(ServiceStatusFromJson(nlohmann::json::parse(text)));
    } catch (const std::exception& ex) {
      if (errors) errors->push_back(p.string() + ": " + ex.what());
    }
  }
  std::sort(out.begin(), out.end(),
            [](const ServiceStatus& a, const ServiceStatus& b) { return a.key() < b.key(); });
  return out;
}

void ApplyStatusToService(const ServiceStatus& s, Service* svc) {
  svc->ingress.clear();
  for (const auto& ip : s.ips) svc->ingress.push_back({ip, "", "VIP"});
  if (s.pool.empty()) {
    svc->meta.annotations.erase(kAllocatedFromPoolAnnotation);
  } else {
    svc->meta.annotations[kAllocatedFromPoolAnnotation] = s.pool;
  }
}

}  // namespace ironlb
