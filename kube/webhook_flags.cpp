#include "kube/webhook_flags.h"

#include "config/duration.h"

namespace ironlb::kube {

const char* const kWebhookUsage = R"(
Webhooks (controller role on a cluster; docs/kubernetes.md):
  --webhook-addr ADDR:PORT
                         serve MetalLB's validating webhooks and the BGPPeer conversion
                         webhook over HTTPS here (e.g. 0.0.0.0:9443); default: not served
  --webhook-service NAME the webhook Service in --namespace; the certificate is for
                         NAME.NAMESPACE.svc (default ironlb-webhook-service)
  --webhook-secret NAME  Secret in --namespace holding the generated CA and certificate;
                         the Lease holder creates and renews it, every replica serves it
                         (default ironlb-webhook-cert)
  --webhook-configuration NAME
                         ValidatingWebhookConfiguration whose caBundle the Lease holder
                         patches, with the bgppeers.metallb.io CRD's conversion webhook
                         (default ironlb-webhook-configuration)
  --webhook-cert FILE, --webhook-key FILE
                         serve this certificate instead (re-read when the files change);
                         no Secret is written, no caBundle patched
  --webhook-cert-validity DURATION
                         lifetime of a generated certificate, renewed with a third left;
                         the CA lives five times longer (default 8760h)
)";

bool TakeWebhookFlags(std::vector<std::string>* args, WebhookOptions* opts, std::string* error) {
  std::vector<std::string> rest;
  for (size_t i = 0; i < args->size(); ++i) {
    std::string flag = (*args)[i];
    if (flag.rfind("--webhook-", 0) != 0) {
      rest.push_back(flag);
      continue;
    }
    std::string value;
    if (const auto eq = flag.find('='); eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag.resize(eq);
    } else if (i + 1 < args->size()) {
      value = (*args)[++i];
    } else {
      *error = flag + " needs a value";
      return false;
    }
    if (value.empty()) {
      *error = flag + " needs a value";
      return false;
    }
    if (flag == "--webhook-addr") {
      opts->listen = value;
    } else if (flag == "--webhook-service") {
      opts->service = value;
    } else if (flag == "--webhook-secret") {
      opts->secret = value;
    } else if (flag == "--webhook-configuration") {
      opts->configuration = value;
    } else if (flag == "--webhook-cert") {
      opts->cert_file = value;
    } else if (flag == "--webhook-key") {
      opts->key_file = value;
    } else if (flag == "--webhook-cert-validity") {
      std::string why;
      const auto d = config::ParseGoDuration(value, &why);
      if (!d || *d < std::chrono::seconds(3)) {
        *error = "--webhook-cert-validity: " + (d ? "at least 3s" : why);
        return false;
      }
      opts->validity = std::chrono::duration_cast<std::chrono::seconds>(*d);
    } else {
      *error = "unknown argument '" + flag + "'";
      return false;
    }
  }
  if (opts->cert_file.empty() != opts->key_file.empty()) {
    *error = "--webhook-cert and --webhook-key go together";
    return false;
  }
  *args = std::move(rest);
  return true;
}

}  // namespace ironlb::kube
