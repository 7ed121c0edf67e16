// The webhook's TLS material, as MetalLB's cert-controller keeps it in a Secret: a self-signed
// CA and a serving certificate for the webhook Service's DNS name, made and renewed with OpenSSL.
// The renewal decision (PlanWebhookCerts) is a pure function of the Secret's data and the clock.
#pragma once

#include <chrono>
#include <ctime>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ironlb::kube {

// Data keys of the Secret (cert-controller's names, so MetalLB's Secret reads the same).
inline constexpr const char* kCaCertKey = "ca.crt";  // PEM bundle: current CA first, then an
                                                     // older one still valid (CA rotation)
inline constexpr const char* kCaKeyKey = "ca.key";
inline constexpr const char* kTlsCertKey = "tls.crt";
inline constexpr const char* kTlsKeyKey = "tls.key";

struct PemPair {
  std::string cert;  // PEM
  std::string key;   // PEM, PKCS#8
};

struct CertInfo {
  std::time_t not_before = 0;
  std::time_t not_after = 0;
  std::vector<std::string> dns_names;  // subjectAltName DNS entries
  std::string serial;                  // hex
  bool is_ca = false;
};

// A self-signed CA (ECDSA P-256), valid from 5 minutes ago (API servers' clocks differ a little)
// for `validity`. Throws std::runtime_error when OpenSSL fails.
PemPair MakeCa(const std::string& common_name, std::chrono::seconds validity);
// A serving certificate for `dns_name` signed by `ca`, valid for `validity` but never past the
// CA's own expiry.
PemPair MakeServingCert(const PemPair& ca, const std::string& dns_name,
                        std::chrono::seconds validity);

// The first certificate of a PEM text; nullopt when there is none or it does not parse.
std::optional<CertInfo> InspectCert(const std::string& pem);
// Every certificate of a PEM bundle, in order.
std::vector<std::string> SplitPemBundle(const std::string& pem);
// Whether `cert_pem` verifies against the CAs in `ca_bundle_pem` at `now` for `dns_name`.
bool VerifiesWith(const std::string& cert_pem, const std::string& ca_bundle_pem,
                  const std::string& dns_name, std::time_t now);
// Whether `key_pem` is the private key of `cert_pem`.
bool KeyMatches(const std::string& cert_pem, const std::string& key_pem);

struct WebhookCertPolicy {
  std::string dns_name;                            // "ironlb-webhook-service.ironlb-system.svc"
  std::chrono::seconds validity{365 * 24 * 3600};  // of the serving certificate
  // The CA lives this many times longer, so a leaf renewal leaves the caBundle unchanged (and
  // a leaf, renewed with a third left, is never cut short by its CA's expiry).
  int ca_lifetimes = 5;
};

// What the Secret should hold at `now`, given what it holds (`data`: its decoded data, empty
// when it does not exist): the same data when it is still good; else renewed material. A
// certificate is renewed once a third of its lifetime or less is left, or when it is
// missing, unparsable, for another name, not signed by the CA, or not matching its key. A
// renewed CA keeps the previous one in ca.crt until that expires, so API servers that still
// hold the old caBundle keep trusting replicas that still serve the old certificate.
std::map<std::string, std::string> PlanWebhookCerts(const std::map<std::string, std::string>& data,
                                                    const WebhookCertPolicy& policy,
                                                    std::time_t now);

}  // namespace ironlb::kube
