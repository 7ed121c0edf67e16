// The L2 membership heartbeat on the wire: who sends it, its boot and sequence numbers, whether it
// can announce, the receiver's boot id it echoes, sealed with HMAC-SHA256 under the cluster's
// shared key. Pure: no sockets, no clock.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace ironlb::l2 {

// Layout (network byte order):
//   0  magic "ILBH"        4
//   4  version (1)         1
//   5  flags               1   kFlagAvailable: the sender may own VIPs (an uplink has carrier)
//   6  name length         2
//   8  boot id             8   the sender's start time (CLOCK_REALTIME ns): grows across restarts
//  16  sequence            8   grows by one per heartbeat within a boot
//  24  echo                8   the receiver's boot id as the sender last heard it (0: never)
//  32  node name           n
//  32+n HMAC-SHA256       32   over bytes [0, 32+n)
// Heartbeats are unicast, so each one carries the echo for its one receiver. Replay protection is
// the receiver's job (Membership): it accepts (boot, seq) only above the last pair it accepted
// from that node, and, before it has accepted any (first contact since it started), only a
// heartbeat that echoes its own current boot id, which no frame sent before it started can.
inline constexpr uint8_t kHeartbeatVersion = 2;
inline constexpr uint8_t kFlagAvailable = 0x01;
inline constexpr size_t kHeartbeatHeaderLen = 32;
inline constexpr size_t kHmacLen = 32;
inline constexpr size_t kMaxNodeNameLen = 253;  // a DNS subdomain, as Node names are
inline constexpr size_t kMinKeyLen = 16;

struct Heartbeat {
  std::string node;
  uint64_t boot_id = 0;
  uint64_t seq = 0;
  bool available = true;
  uint64_t echo = 0;
  bool operator==(const Heartbeat&) const = default;
};

enum class DecodeError { kTooShort, kBadMagic, kBadVersion, kBadLength, kBadMac };
const char* DecodeErrorName(DecodeError e);

// Throws std::invalid_argument for a name longer than kMaxNodeNameLen.
std::vector<uint8_t> EncodeHeartbeat(const Heartbeat& hb, std::span<const uint8_t> key);

// The heartbeat if the frame is well formed and its MAC verifies under `key` (compared in
// constant time); else why not. The MAC is checked before any field is trusted.
struct Decoded {
  std::optional<Heartbeat> heartbeat;
  DecodeError error = DecodeError::kTooShort;
};
Decoded DecodeHeartbeat(std::span<const uint8_t> frame, std::span<const uint8_t> key);

// Reads a key file: its bytes with trailing whitespace removed. Throws std::runtime_error when
// unreadable or shorter than kMinKeyLen bytes.
std::vector<uint8_t> LoadKeyFile(const std::string& path);

}  // namespace ironlb::l2
