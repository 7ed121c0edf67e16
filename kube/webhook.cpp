#include "kube/webhook.h"

#include <sys/stat.h>

#include <algorithm>
#include <boost/beast/core/detail/base64.hpp>
#include <boost/beast/http/verb.hpp>
#include <ctime>
#include <fstream>
#include <sstream>

#include "config/base64.h"
#include "kube/admission.h"
#include "kube/conversion.h"
#include "runtime/log.h"

namespace ironlb::kube {

namespace {
namespace asio = boost::asio;
using boost::beast::http::verb;
using nlohmann::json;

// The Secret is looked at in memory every tick; the leader reads it (and the caBundles) from
// the API every maintain period. Both scale with the certificate's lifetime, so that even a
// short one (tests) is renewed well before it expires.
constexpr auto kMinTick = std::chrono::milliseconds(100);
constexpr auto kMaxTick = std::chrono::seconds(1);
constexpr auto kMinMaintainPeriod = std::chrono::milliseconds(250);
constexpr auto kMaxMaintainPeriod = std::chrono::minutes(5);
constexpr auto kRetryAfterFailure = std::chrono::seconds(5);
constexpr const char* kMergePatch = "application/merge-patch+json";

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot read " + path);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

std::string MTime(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return "-";
  return std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + "/" +
         std::to_string(st.st_size);
}

WebhookServer::Reply JsonReply(unsigned status, const json& j) {
  return {status, j.dump()};
}
}  // namespace

std::string EncodeBase64(const std::string& s) {
  namespace b64 = boost::beast::detail::base64;
  std::string out(b64::encoded_size(s.size()), '\0');
  out.resize(b64::encode(out.data(), s.data(), s.size()));
  return out;
}

Webhook::Webhook(asio::io_context& io, ApiClient& client, const ObjectStore& store,
                 std::function<const Config&()> in_force, std::function<bool()> leader,
                 WebhookOptions opts)
    : io_(io),
      client_(client),
      store_(store),
      in_force_(std::move(in_force)),
      leader_(std::move(leader)),
      opts_(std::move(opts)),
      server_(io, [this](const std::string& p, const std::string& b) { return Handle(p, b); }),
      timer_(io) {
  policy_.dns_name = opts_.dns_name();
  policy_.validity = opts_.validity;
}

Webhook::~Webhook() {
  *alive_ = false;
}

void Webhook::Start() {
  server_.Listen(opts_.listen);
  log::Info(
      "webhook",
      "serving admission and conversion reviews on " + opts_.listen + " as " + opts_.dns_name() +
          (opts_.cert_file.empty() ? ", certificate from Secret " + opts_.ns + "/" + opts_.secret
                                   : ", certificate from " + opts_.cert_file));
  asio::co_spawn(io_, Run(), [](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      log::Error("webhook", std::string("stopped: ") + ex.what());
    }
  });
}

void Webhook::Stop() {
  stopped_ = true;
  timer_.cancel();
  server_.Stop();
}

WebhookServer::Reply Webhook::Handle(const std::string& path, const std::string& body) const {
  const json review = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (review.is_discarded()) return JsonReply(400, {{"error", "the body is not JSON"}});
  if (path == "/convert") return JsonReply(200, ReviewConversion(review));
  if (const AdmissionRoute* route = FindAdmissionRoute(path)) {
    config::ValidateOptions vo;
    vo.required_namespace = opts_.ns;
    json out = ReviewAdmission(*route, review, store_.snapshot(), in_force_(), vo);
    if (!store_.synced()) {
      // Judged against what is loaded so far: say so instead of refusing everything.
      out["response"]["warnings"] = json::array(
          {"ironlb has not loaded every existing object yet; conflicts with them are not checked"});
    }
    const auto req = review.is_object() ? review.find("request") : review.end();
    if (req != review.end() && req->is_object()) {
      log::Debug("webhook", route->kind + " " + req->value("operation", "") + " " +
                                req->value("namespace", "") + "/" + req->value("name", "") + ": " +
                                (out["response"].value("allowed", false) ? "allowed" : "refused"));
    }
    return JsonReply(200, out);
  }
  return JsonReply(404, {{"error", "no webhook at " + path}});
}

void Webhook::Use(const std::string& cert, const std::string& key, const std::string& from) {
  if (cert == serving_cert_ && key == serving_key_) return;
  try {
    server_.SetCertificate(cert, key);
  } catch (const std::exception& e) {
    log::Error("webhook", from + ": " + e.what());
    return;
  }
  serving_cert_ = cert;
  serving_key_ = key;
  const auto info = InspectCert(cert);
  char until[32] = "?";
  if (info) {
    std::tm tm{};
    gmtime_r(&info->not_after, &tm);
    std::strftime(until, sizeof until, "%Y-%m-%dT%H:%M:%SZ", &tm);
  }
  log::Info("webhook", "serving the certificate from " + from + " (serial " +
                           (info ? info->serial : "?") + ", valid until " + until + ")");
}

void Webhook::LoadCertificate() {
  if (!opts_.cert_file.empty()) {
    const std::string stamp = MTime(opts_.cert_file) + " " + MTime(opts_.key_file);
    if (stamp == files_stamp_) return;
    try {
      const std::string cert = ReadFile(opts_.cert_file), key = ReadFile(opts_.key_file);
      files_stamp_ = stamp;
      Use(cert, key, opts_.cert_file);
    } catch (const std::exception& e) {
      log::Warn("webhook", e.what());
    }
    return;
  }
  for (const Secret& s : store_.snapshot().secrets) {
    if (s.meta.ns != opts_.ns || s.meta.name != opts_.secret) continue;
    const auto c = s.data.find(kTlsCertKey), k = s.data.find(kTlsKeyKey);
    if (c == s.data.end() || k == s.data.end() || c->second.empty()) continue;
    // Only a change of the Secret counts: the leader serves what it wrote at once, and the
    // informer's older copy must not take that back before the watch shows the write.
    if (c->second == secret_cert_seen_) continue;
    secret_cert_seen_ = c->second;
    Use(c->second, k->second, "Secret " + opts_.ns + "/" + opts_.secret);
  }
}

asio::awaitable<void> Webhook::Run() {
  auto alive = alive_;
  using Duration = std::chrono::steady_clock::duration;
  const Duration twelfth = Duration(opts_.validity) / 12;
  const auto tick = std::clamp<Duration>(twelfth, kMinTick, kMaxTick);
  const auto period = std::clamp<Duration>(twelfth, kMinMaintainPeriod, kMaxMaintainPeriod);
  while (!stopped_) {
    LoadCertificate();
    const bool leader = leader_();
    if (opts_.cert_file.empty() && leader) {
      const auto now = std::chrono::steady_clock::now();
      if (!was_leader_ || now >= next_maintain_) {
        next_maintain_ = now + period;
        try {
          co_await Maintain();
        } catch (const std::exception& e) {
          if (!*alive) co_return;
          log::Warn("webhook", std::string("keeping the certificate: ") + e.what());
          next_maintain_ = std::min(next_maintain_, now + kRetryAfterFailure);
        }
        if (!*alive) co_return;
      }
    }
    was_leader_ = leader;
    timer_.expires_after(tick);
    boost::system::error_code ec;
    co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (!*alive) co_return;
  }
}

asio::awaitable<void> Webhook::Maintain() {
  auto alive = alive_;
  const std::string path = "/api/v1/namespaces/" + opts_.ns + "/secrets";
  const std::string name = opts_.ns + "/" + opts_.secret;
  // Read from the API, not the informer: the write below must be based on the latest version.
  const HttpResponse got = co_await client_.Request(verb::get, path + "/" + opts_.secret);
  if (!*alive) co_return;
  json secret;
  std::map<std::string, std::string> data;
  if (got.status == 200) {
    secret = json::parse(got.body);
    const json stored = secret.value("data", json::object());
    for (const auto& [k, v] : stored.items()) {
      if (auto d = v.is_string() ? config::DecodeBase64(v.get<std::string>()) : std::nullopt)
        data[k] = *d;
    }
  } else if (got.status != 404) {
    throw ApiError::From("get Secret " + name, got);
  }
  const auto want = PlanWebhookCerts(data, policy_, std::time(nullptr));
  const std::string bundle_b64 = EncodeBase64(want.at(kCaCertKey));
  const auto old_ca = data.find(kCaCertKey);
  if (old_ca != data.end() && old_ca->second != want.at(kCaCertKey)) {
    // A new CA: the API server must trust it before any replica serves a certificate it signed.
    log::Info("webhook", "renewing the webhook CA");
    if (!co_await PatchCaBundles(bundle_b64)) co_return;
    if (!*alive) co_return;
  }
  if (want != data) {
    json encoded = json::object();
    for (const auto& [k, v] : want) encoded[k] = EncodeBase64(v);
    HttpResponse w;
    if (got.status == 200) {
      secret["data"] = std::move(encoded);  // metadata.resourceVersion: no lost update
      w = co_await client_.Request(verb::put, path + "/" + opts_.secret, secret.dump());
    } else {
      const json body = {{"apiVersion", "v1"},
                         {"kind", "Secret"},
                         {"metadata",
                          {{"name", opts_.secret},
                           {"namespace", opts_.ns},
                           {"labels", {{"app.kubernetes.io/name", "ironlb"}}}}},
                         {"type", "Opaque"},
                         {"data", std::move(encoded)}};
      w = co_await client_.Request(verb::post, path, body.dump());
    }
    if (!*alive) co_return;
    if (w.status == 409) {
      log::Debug("webhook", "Secret " + name + " changed meanwhile; next round");
      co_return;
    }
    if (w.status / 100 != 2) throw ApiError::From("write Secret " + name, w);
    log::Info("webhook", std::string(data.count(kTlsCertKey) ? "renewed" : "created") +
                             " the webhook certificate in Secret " + name + " for " +
                             policy_.dns_name);
    Use(want.at(kTlsCertKey), want.at(kTlsKeyKey), "Secret " + name);
  }
  co_await PatchCaBundles(bundle_b64);
}

asio::awaitable<bool> Webhook::PatchCaBundles(const std::string& bundle_b64) {
  auto alive = alive_;
  bool ok = true;
  // The ValidatingWebhookConfiguration: a merge patch replaces the whole webhooks list, so send
  // the list as read with only caBundle changed, under its resourceVersion (409: next round).
  const std::string vwc = "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/" +
                          opts_.configuration;
  HttpResponse r = co_await client_.Request(verb::get, vwc);
  if (!*alive) co_return false;
  if (r.status == 200) {
    json cfg = json::parse(r.body);
    json hooks = cfg.value("webhooks", json::array());
    bool differs = false;
    for (auto& h : hooks) {
      json& cc = h["clientConfig"];
      if (cc.value("caBundle", "") != bundle_b64) {
        cc["caBundle"] = bundle_b64;
        differs = true;
      }
    }
    if (differs) {
      const json patch = {
          {"metadata", {{"resourceVersion", cfg["metadata"].value("resourceVersion", "")}}},
          {"webhooks", hooks}};
      r = co_await client_.Request(verb::patch, vwc, patch.dump(), kMergePatch);
      if (!*alive) co_return false;
      if (r.status / 100 == 2) {
        log::Info("webhook",
                  "caBundle patched into ValidatingWebhookConfiguration " + opts_.configuration);
      } else {
        log::Warn("webhook", ApiError::From("patch " + opts_.configuration, r).what());
        ok = false;
      }
    }
  } else {
    log::Warn(
        "webhook",
        ApiError::From("get ValidatingWebhookConfiguration " + opts_.configuration, r).what());
    ok = false;
  }
  // The CRD's conversion webhook: objects all the way down, so a merge patch of the one field.
  const std::string crd = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/" + opts_.crd;
  r = co_await client_.Request(verb::get, crd);
  if (!*alive) co_return false;
  if (r.status == 200) {
    const json c = json::parse(r.body);
    const json conv = c.value("spec", json::object()).value("conversion", json::object());
    if (conv.value("strategy", "") != "Webhook") {
      log::Debug("webhook", "CRD " + opts_.crd + " has no conversion webhook: not patched");
    } else if (conv.value("webhook", json::object())
                   .value("clientConfig", json::object())
                   .value("caBundle", "") != bundle_b64) {
      const json patch = {
          {"spec",
           {{"conversion", {{"webhook", {{"clientConfig", {{"caBundle", bundle_b64}}}}}}}}}};
      r = co_await client_.Request(verb::patch, crd, patch.dump(), kMergePatch);
      if (!*alive) co_return false;
      if (r.status / 100 == 2) {
        log::Info("webhook", "caBundle patched into the conversion webhook of CRD " + opts_.crd);
      } else {
        log::Warn("webhook", ApiError::From("patch CRD " + opts_.crd, r).what());
        ok = false;
      }
    }
  } else {
    log::Warn("webhook", ApiError::From("get CRD " + opts_.crd, r).what());
    ok = false;
  }
  co_return ok;
}

}  // namespace ironlb::kube
