#include "kube/webhook_certs.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <memory>
#include <stdexcept>

namespace ironlb::kube {

namespace {

constexpr long kBackdateSeconds = 5 * 60;
constexpr int kSerialBytes = 16;

template <class T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const { F(p); }
};
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using KeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using StorePtr = std::unique_ptr<X509_STORE, Deleter<X509_STORE, X509_STORE_free>>;
using StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, Deleter<X509_STORE_CTX, X509_STORE_CTX_free>>;
using StackPtr =
    std::unique_ptr<STACK_OF(GENERAL_NAME), Deleter<STACK_OF(GENERAL_NAME), GENERAL_NAMES_free>>;

[[noreturn]] void Fail(const std::string& what) {
  throw std::runtime_error("webhook certificate: " + what + " failed");
}

BioPtr MemBio(const std::string& s) {
  return BioPtr(BIO_new_mem_buf(s.data(), static_cast<int>(s.size())));
}

std::string BioText(BIO* b) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(b, &data);
  return std::string(data, static_cast<size_t>(n));
}

X509Ptr ReadCert(const std::string& pem) {
  auto b = MemBio(pem);
  return X509Ptr(b ? PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr) : nullptr);
}

KeyPtr ReadKey(const std::string& pem) {
  auto b = MemBio(pem);
  return KeyPtr(b ? PEM_read_bio_PrivateKey(b.get(), nullptr, nullptr, nullptr) : nullptr);
}

std::string CertPem(X509* x) {
  BioPtr b(BIO_new(BIO_s_mem()));
  if (!b || PEM_write_bio_X509(b.get(), x) != 1) Fail("PEM_write_bio_X509");
  return BioText(b.get());
}

std::string KeyPem(EVP_PKEY* k) {
  BioPtr b(BIO_new(BIO_s_mem()));
  if (!b || PEM_write_bio_PrivateKey(b.get(), k, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    Fail("PEM_write_bio_PrivateKey");
  return BioText(b.get());
}

KeyPtr NewKey() {
  KeyPtr k(EVP_EC_gen("P-256"));
  if (!k) Fail("EVP_EC_gen");
  return k;
}

void AddExt(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (!ext) Fail("X509V3_EXT_conf_nid");
  const int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  if (ok != 1) Fail("X509_add_ext");
}

// A certificate for `key` with subject CN `cn`, valid from now - backdate until `not_after`.
X509Ptr NewCert(EVP_PKEY* key, const std::string& cn, std::time_t not_after) {
  X509Ptr x(X509_new());
  if (!x || X509_set_version(x.get(), 2) != 1) Fail("X509_new");
  unsigned char serial[kSerialBytes];
  if (RAND_bytes(serial, sizeof serial) != 1) Fail("RAND_bytes");
  serial[0] &= 0x7f;  // a positive INTEGER
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  const bool serial_ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x.get()));
  BN_free(bn);
  if (!serial_ok) Fail("serial number");
  std::time_t now = std::time(nullptr);
  if (!X509_time_adj_ex(X509_getm_notBefore(x.get()), 0, -kBackdateSeconds, &now) ||
      !X509_time_adj_ex(X509_getm_notAfter(x.get()), 0, 0, &not_after))
    Fail("validity");
  X509_NAME* name = X509_get_subject_name(x.get());
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                                 0) != 1 ||
      X509_set_pubkey(x.get(), key) != 1)
    Fail("subject");
  return x;
}

std::time_t AsTimeT(const ASN1_TIME* t) {
  struct tm tm {};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return timegm(&tm);
}

std::string Get(const std::map<std::string, std::string>& m, const char* k) {
  const auto it = m.find(k);
  return it == m.end() ? "" : it->second;
}

// A third of the lifetime `validity` or less is left (or it is already over).
bool DueForRenewal(const CertInfo& c, std::chrono::seconds validity, std::time_t now) {
  return 3 * (c.not_after - now) <= static_cast<std::time_t>(validity.count());
}

}  // namespace

PemPair MakeCa(const std::string& common_name, std::chrono::seconds validity) {
  KeyPtr key = NewKey();
  const std::time_t not_after = std::time(nullptr) + validity.count();
  X509Ptr x = NewCert(key.get(), common_name, not_after);
  if (X509_set_issuer_name(x.get(), X509_get_subject_name(x.get())) != 1) Fail("issuer");
  AddExt(x.get(), x.get(), NID_basic_constraints, "critical,CA:TRUE");
  AddExt(x.get(), x.get(), NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature");
  AddExt(x.get(), x.get(), NID_subject_key_identifier, "hash");
  if (X509_sign(x.get(), key.get(), EVP_sha256()) == 0) Fail("X509_sign");
  return {CertPem(x.get()), KeyPem(key.get())};
}

PemPair MakeServingCert(const PemPair& ca, const std::string& dns_name,
                        std::chrono::seconds validity) {
  X509Ptr ca_cert = ReadCert(ca.cert);
  KeyPtr ca_key = ReadKey(ca.key);
  if (!ca_cert || !ca_key) Fail("reading the CA");
  KeyPtr key = NewKey();
  std::time_t not_after = std::time(nullptr) + validity.count();
  not_after = std::min(not_after, AsTimeT(X509_get0_notAfter(ca_cert.get())));
  X509Ptr x = NewCert(key.get(), dns_name, not_after);
  if (X509_set_issuer_name(x.get(), X509_get_subject_name(ca_cert.get())) != 1) Fail("issuer");
  AddExt(x.get(), ca_cert.get(), NID_basic_constraints, "critical,CA:FALSE");
  AddExt(x.get(), ca_cert.get(), NID_key_usage, "critical,digitalSignature,keyEncipherment");
  AddExt(x.get(), ca_cert.get(), NID_ext_key_usage, "serverAuth");
  AddExt(x.get(), ca_cert.get(), NID_subject_alt_name, ("DNS:" + dns_name).c_str());
  AddExt(x.get(), ca_cert.get(), NID_authority_key_identifier, "keyid:always");
  if (X509_sign(x.get(), ca_key.get(), EVP_sha256()) == 0) Fail("X509_sign");
  return {CertPem(x.get()), KeyPem(key.get())};
}

std::optional<CertInfo> InspectCert(const std::string& pem) {
  X509Ptr x = ReadCert(pem);
  if (!x) return std::nullopt;
  CertInfo info;
  info.not_before = AsTimeT(X509_get0_notBefore(x.get()));
  info.not_after = AsTimeT(X509_get0_notAfter(x.get()));
  info.is_ca = X509_check_ca(x.get()) != 0;
  if (BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x.get()), nullptr)) {
    if (char* hex = BN_bn2hex(bn)) {
      info.serial = hex;
      OPENSSL_free(hex);
    }
    BN_free(bn);
  }
  StackPtr names(static_cast<STACK_OF(GENERAL_NAME)*>(
      X509_get_ext_d2i(x.get(), NID_subject_alt_name, nullptr, nullptr)));
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names.get(), i);
    if (n->type != GEN_DNS) continue;
    const unsigned char* s = ASN1_STRING_get0_data(n->d.dNSName);
    info.dns_names.emplace_back(reinterpret_cast<const char*>(s),
                                static_cast<size_t>(ASN1_STRING_length(n->d.dNSName)));
  }
  return info;
}

std::vector<std::string> SplitPemBundle(const std::string& pem) {
  static const std::string kEnd = "-----END CERTIFICATE-----";
  std::vector<std::string> out;
  size_t pos = 0;
  while (true) {
    const size_t begin = pem.find("-----BEGIN CERTIFICATE-----", pos);
    if (begin == std::string::npos) break;
    const size_t end = pem.find(kEnd, begin);
    if (end == std::string::npos) break;
    out.push_back(pem.substr(begin, end + kEnd.size() - begin) + "\n");
    pos = end + kEnd.size();
  }
  return out;
}

bool VerifiesWith(const std::string& cert_pem, const std::string& ca_bundle_pem,
                  const std::string& dns_name, std::time_t now) {
  X509Ptr leaf = ReadCert(cert_pem);
  StorePtr store(X509_STORE_new());
  if (!leaf || !store) return false;
  for (const auto& ca_pem : SplitPemBundle(ca_bundle_pem)) {
    X509Ptr ca = ReadCert(ca_pem);
    if (ca) X509_STORE_add_cert(store.get(), ca.get());
  }
  StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!ctx || X509_STORE_CTX_init(ctx.get(), store.get(), leaf.get(), nullptr) != 1) return false;
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_time(param, now);
  X509_VERIFY_PARAM_set1_host(param, dns_name.c_str(), dns_name.size());
  return X509_verify_cert(ctx.get()) == 1;
}

bool KeyMatches(const std::string& cert_pem, const std::string& key_pem) {
  X509Ptr x = ReadCert(cert_pem);
  KeyPtr k = ReadKey(key_pem);
  return x && k && X509_check_private_key(x.get(), k.get()) == 1;
}

std::map<std::string, std::string> PlanWebhookCerts(const std::map<std::string, std::string>& data,
                                                    const WebhookCertPolicy& policy,
                                                    std::time_t now) {
  const std::chrono::seconds ca_validity = policy.validity * policy.ca_lifetimes;
  const std::vector<std::string> bundle = SplitPemBundle(Get(data, kCaCertKey));
  PemPair ca{bundle.empty() ? "" : bundle.front(), Get(data, kCaKeyKey)};
  const auto ca_info = InspectCert(ca.cert);
  std::vector<std::string> keep_cas;  // older CAs still trusted in the bundle
  bool ca_renewed = false;
  if (!ca_info || !ca_info->is_ca || !KeyMatches(ca.cert, ca.key) ||
      DueForRenewal(*ca_info, ca_validity, now)) {
    if (ca_info && ca_info->is_ca && ca_info->not_after > now) keep_cas.push_back(ca.cert);
    ca = MakeCa("ironlb-webhook-ca", ca_validity);
    ca_renewed = true;
  } else {
    for (size_t i = 1; i < bundle.size(); ++i) {
      const auto old = InspectCert(bundle[i]);
      if (old && old->not_after > now) keep_cas.push_back(bundle[i]);
    }
  }
  std::string ca_bundle = ca.cert;
  for (const auto& c : keep_cas) ca_bundle += c;

  PemPair leaf{Get(data, kTlsCertKey), Get(data, kTlsKeyKey)};
  const auto leaf_info = InspectCert(leaf.cert);
  if (ca_renewed || !leaf_info || DueForRenewal(*leaf_info, policy.validity, now) ||
      !KeyMatches(leaf.cert, leaf.key) || !VerifiesWith(leaf.cert, ca.cert, policy.dns_name, now)) {
    leaf = MakeServingCert(ca, policy.dns_name, policy.validity);
  }
  std::map<std::string, std::string> out = data;
  out[kCaCertKey] = ca_bundle;
  out[kCaKeyKey] = ca.key;
  out[kTlsCertKey] = leaf.cert;
  out[kTlsKeyKey] = leaf.key;
  return out;
}

}  // namespace ironlb::kube
