#include "l2/heartbeat.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace ironlb::l2 {
namespace {

constexpr uint8_t kMagic[4] = {'I', 'L', 'B', 'H'};

void PutU16(std::vector<uint8_t>& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}

void PutU64(std::vector<uint8_t>& b, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) b.push_back(static_cast<uint8_t>(v >> shift));
}

uint64_t GetU64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}

std::array<uint8_t, kHmacLen> Mac(std::span<const uint8_t> data, std::span<const uint8_t> key) {
  std::array<uint8_t, kHmacLen> out{};
  unsigned int len = 0;
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), data.data(), data.size(),
            out.data(), &len) ||
      len != kHmacLen)
    throw std::runtime_error("HMAC-SHA256 failed");
  return out;
}

}  // namespace

const char* DecodeErrorName(DecodeError e) {
  switch (e) {
    case DecodeError::kTooShort: return "too_short";
    case DecodeError::kBadMagic: return "bad_magic";
    case DecodeError::kBadVersion: return "bad_version";
    case DecodeError::kBadLength: return "bad_length";
    case DecodeError::kBadMac: return "bad_mac";
  }
  return "unknown";
}

std::vector<uint8_t> EncodeHeartbeat(const Heartbeat& hb, std::span<const uint8_t> key) {
  if (hb.node.size() > kMaxNodeNameLen) throw std::invalid_argument("node name too long");
  std::vector<uint8_t> b(std::begin(kMagic), std::end(kMagic));
  b.push_back(kHeartbeatVersion);
  b.push_back(hb.available ? kFlagAvailable : 0);
  PutU16(b, static_cast<uint16_t>(hb.node.size()));
  PutU64(b, hb.boot_id);
  PutU64(b, hb.seq);
  PutU64(b, hb.echo);
  b.insert(b.end(), hb.node.begin(), hb.node.end());
  const auto mac = Mac(b, key);
  b.insert(b.end(), mac.begin(), mac.end());
  return b;
}

Decoded DecodeHeartbeat(std::span<const uint8_t> frame, std::span<const uint8_t> key) {
  Decoded d;
  if (frame.size() < kHeartbeatHeaderLen + kHmacLen) return d;
  if (std::memcmp(frame.data(), kMagic, sizeof(kMagic)) != 0) {
    d.error = DecodeError::kBadMagic;
    return d;
  }
  if (frame[4] != kHeartbeatVersion) {
    d.error = DecodeError::kBadVersion;
    return d;
  }
  const size_t name_len = (size_t{frame[6]} << 8) | frame[7];
  if (name_len == 0 || name_len > kMaxNodeNameLen ||
      frame.size() != kHeartbeatHeaderLen + name_len + kHmacLen) {
    d.error = DecodeError::kBadLength;
    return d;
  }
  const size_t signed_len = kHeartbeatHeaderLen + name_len;
  const auto want = Mac(frame.first(signed_len), key);
  if (CRYPTO_memcmp(want.data(), frame.data() + signed_len, kHmacLen) != 0) {
    d.error = DecodeError::kBadMac;
    return d;
  }
  Heartbeat hb;
  hb.available = (frame[5] & kFlagAvailable) != 0;
  hb.boot_id = GetU64(frame.data() + 8);
  hb.seq = GetU64(frame.data() + 16);
  hb.echo = GetU64(frame.data() + 24);
  hb.node.assign(reinterpret_cast<const char*>(frame.data()) + kHeartbeatHeaderLen, name_len);
  d.heartbeat = std::move(hb);
  return d;
}

std::vector<uint8_t> LoadKeyFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read L2 key file " + path);
  std::vector<uint8_t> key((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!key.empty() &&
         (key.back() == '\n' || key.back() == '\r' || key.back() == ' ' || key.back() == '\t'))
    key.pop_back();
  if (key.size() < kMinKeyLen)
    throw std::runtime_error("L2 key file " + path + " holds fewer than " +
                             std::to_string(kMinKeyLen) + " bytes");
  return key;
}

}  // namespace ironlb::l2
