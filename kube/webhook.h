// The controller's webhooks on a cluster: MetalLB's validating webhook and the BGPPeer
// conversion webhook served over HTTPS by every controller replica, with the serving certificate
// kept, as MetalLB's cert-controller keeps it, in a Secret that the Lease holder creates and
// rotates and whose CA it patches into the ValidatingWebhookConfiguration and the BGPPeer CRD.
// Every replica reads the Secret from the store (its informer), so all serve the same
// certificate and the Service may send a review to any of them.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "config/validate.h"
#include "kube/api_client.h"
#include "kube/asio_coroutine.h"
#include "kube/webhook_certs.h"
#include "kube/webhook_server.h"
#include "store/object_store.h"

namespace ironlb::kube {

struct WebhookOptions {
  std::string listen;  // host:port to serve on; empty: no webhook
  std::string ns = "ironlb-system";
  std::string service = "ironlb-webhook-service";  // its DNS name is the certificate's
  std::string secret = "ironlb-webhook-cert";
  std::string configuration = "ironlb-webhook-configuration";  // ValidatingWebhookConfiguration
  std::string crd = "bgppeers.metallb.io";                     // its conversion webhook
  // A certificate of the operator's (e.g. cert-manager's, mounted from a Secret): served as it
  // is, re-read when the files change; no Secret is written and nothing patched.
  std::string cert_file, key_file;
  std::chrono::seconds validity{365 * 24 * 3600};  // of a generated serving certificate
  std::string dns_name() const { return service + "." + ns + ".svc"; }
};

class Webhook {
 public:
  // `store` (the KubeStore) gives the existing objects and the Secret; `in_force` the
  // configuration the agent runs; `leader` whether this replica holds the controller Lease.
  // All must outlive the Webhook.
  Webhook(boost::asio::io_context& io, ApiClient& client, const ObjectStore& store,
          std::function<const Config&()> in_force, std::function<bool()> leader,
          WebhookOptions opts);
  ~Webhook();
  // Binds the listener (throws when it cannot) and starts keeping the certificate.
  void Start();
  void Stop();

  // The handler behind the server, for tests: path and body in, status and JSON out.
  WebhookServer::Reply Handle(const std::string& path, const std::string& body) const;
  uint16_t port() const { return server_.port(); }
  const std::string& serving_cert() const { return serving_cert_; }

 private:
  boost::asio::awaitable<void> Run();
  // Serves what the Secret (or the operator's files) holds, when it changed.
  void LoadCertificate();
  // The leader's round: the Secret renewed when due, the caBundles patched when they differ.
  boost::asio::awaitable<void> Maintain();
  boost::asio::awaitable<bool> PatchCaBundles(const std::string& bundle_b64);
  void Use(const std::string& cert, const std::string& key, const std::string& from);

  boost::asio::io_context& io_;
  ApiClient& client_;
  const ObjectStore& store_;
  std::function<const Config&()> in_force_;
  std::function<bool()> leader_;
  WebhookOptions opts_;
  WebhookCertPolicy policy_;
  WebhookServer server_;
  boost::asio::steady_timer timer_;
  std::string serving_cert_, serving_key_;
  std::string secret_cert_seen_;  // tls.crt of the store's Secret when last looked at
  std::chrono::steady_clock::time_point next_maintain_{};
  bool was_leader_ = false;
  bool stopped_ = false;
  std::string files_stamp_;  // mtimes of the operator's files when last read
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// Standard base64 of `s` (Secret data, caBundle).
std::string EncodeBase64(const std::string& s);

}  // namespace ironlb::kube
