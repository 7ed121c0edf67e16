// Big-endian readers and writers over byte spans, bounds-checked, for the BGP and BFD codecs.
// The reader never throws: a short read sets a flag the caller turns into a protocol error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace ironlb::bgp {

using ByteSpan = std::span<const uint8_t>;

class Reader {
 public:
  explicit Reader(ByteSpan data) : data_(data) {}
  size_t remaining() const { return data_.size() - pos_; }
  bool empty() const { return remaining() == 0; }
  bool failed() const { return failed_; }
  size_t position() const { return pos_; }

  uint8_t U8() { return static_cast<uint8_t>(Take(1)); }
  uint16_t U16() { return static_cast<uint16_t>(Take(2)); }
  uint32_t U32() { return static_cast<uint32_t>(Take(4)); }
  // The next n bytes as a span; empty and failed() when fewer remain.
  ByteSpan Bytes(size_t n) {
    if (n > remaining()) {
      failed_ = true;
      pos_ = data_.size();
      return {};
    }
    ByteSpan s = data_.subspan(pos_, n);
    pos_ += n;
    return s;
  }
  ByteSpan Rest() { return Bytes(remaining()); }

 private:
  uint64_t Take(size_t n) {
    if (n > remaining()) {
      failed_ = true;
      pos_ = data_.size();
      return 0;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v = (v << 8) | data_[pos_ + i];
    pos_ += n;
    return v;
  }
  ByteSpan data_;
  size_t pos_ = 0;
  bool failed_ = false;
};

class Writer {
 public:
  explicit Writer(std::vector<uint8_t>& out) : out_(out) {}
  void U8(uint8_t v) { out_.push_back(v); }
  void U16(uint16_t v) {
    out_.push_back(static_cast<uint8_t>(v >> 8));
    out_.push_back(static_cast<uint8_t>(v));
  }
  void U32(uint32_t v) {
    U16(static_cast<uint16_t>(v >> 16));
    U16(static_cast<uint16_t>(v));
  }
  void Bytes(ByteSpan b) { out_.insert(out_.end(), b.begin(), b.end()); }
  size_t size() const { return out_.size(); }
  // Writes a 16-bit placeholder and returns its offset, to be filled by Patch16.
  size_t Reserve16() {
    size_t at = out_.size();
    U16(0);
    return at;
  }
  void Patch16(size_t at, uint16_t v) {
    out_[at] = static_cast<uint8_t>(v >> 8);
    out_[at + 1] = static_cast<uint8_t>(v);
  }
  void Patch8(size_t at, uint8_t v) { out_[at] = v; }

 private:
  std::vector<uint8_t>& out_;
};

}  // namespace ironlb::bgp
