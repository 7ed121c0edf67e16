#include "alloc/address_span.h"

#include <algorithm>

namespace ironlb::alloc {
namespace {

// An IPv4 /24 block is what the buggy-address rule counts in: its first and last octet values
// (network and directed-broadcast look-alikes) are skipped, leaving 254 usable ones.
constexpr u128 kBlockSize = 256;
constexpr u128 kUsablePerBlock = 254;
constexpr u128 kLowOctetMask = 0xff;
constexpr u128 kMaxValue = ~u128(0);

// Number of non-buggy IPv4 addresses strictly below `x` (x may be 2^32).
u128 DenseBelow(u128 x) {
  const u128 low = x & kLowOctetMask;
  return (x / kBlockSize) * kUsablePerBlock + (low == 0 ? 0 : low - 1);
}

u128 DenseToAddress(u128 d) {
  return (d / kUsablePerBlock) * kBlockSize + d % kUsablePerBlock + 1;
}

}  // namespace

bool ConfusesBuggyFirmware(const IPAddr& ip) {
  if (!ip.is_v4()) return false;
  const u128 low = ip.value() & kLowOctetMask;
  return low == 0 || low == kLowOctetMask;
}

AddressSpan::AddressSpan(const IPRange& range, bool avoid_buggy)
    : range_(range), dense_v4_(avoid_buggy && range.family() == Family::kV4) {
  if (dense_v4_) {
    base_ = DenseBelow(range_.first.value());
    const u128 end = DenseBelow(range_.last.value() + 1);
    size_ = end - base_;
    empty_ = size_ == 0;
    last_index_ = empty_ ? 0 : size_ - 1;
  } else {
    last_index_ = range_.last.value() - range_.first.value();
    size_ = last_index_ == kMaxValue ? kMaxValue : last_index_ + 1;
  }
}

std::optional<u128> AddressSpan::IndexOf(const IPAddr& ip) const {
  if (empty_ || !range_.contains(ip)) return std::nullopt;
  if (!dense_v4_) return ip.value() - range_.first.value();
  if (ConfusesBuggyFirmware(ip)) return std::nullopt;
  return DenseBelow(ip.value()) - base_;
}

IPAddr AddressSpan::AddressAt(u128 index) const {
  if (!dense_v4_) return IPAddr::FromValue(family(), range_.first.value() + index);
  return IPAddr::FromValue(Family::kV4, DenseToAddress(base_ + index));
}

std::optional<u128> AddressSpan::FirstFreeIndex() const {
  if (empty_) return std::nullopt;
  bool overflow = false;
  const u128 i = used_.LowestAbsent(&overflow);
  if (overflow || i > last_index_) return std::nullopt;
  return i;
}

std::optional<IPAddr> AddressSpan::FirstFree() const {
  auto i = FirstFreeIndex();
  if (!i) return std::nullopt;
  return AddressAt(*i);
}

bool AddressSpan::MarkUsed(const IPAddr& ip) {
  auto i = IndexOf(ip);
  return i && used_.Insert(*i);
}

bool AddressSpan::MarkFree(const IPAddr& ip) {
  auto i = IndexOf(ip);
  return i && used_.Erase(*i);
}

}  // namespace ironlb::alloc
