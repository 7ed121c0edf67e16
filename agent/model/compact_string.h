// A string of 8 bytes for object fields that are usually empty (an endpoint's zone, hostname):
// one pointer, null when empty, instead of std::string's 32 bytes held inline by every object.
#pragma once

#include <cstring>
#include <memory>
#include <string>
#include <string_view>

namespace ironlb {

class CompactString {
 public:
  CompactString() = default;
  explicit CompactString(std::string_view s) { Assign(s); }
  CompactString(const std::string& s) { Assign(s); }
  CompactString(const CompactString& o) { Assign(o.view()); }
  CompactString(CompactString&&) noexcept = default;
  CompactString& operator=(const CompactString& o) {
    if (this != &o) Assign(o.view());
    return *this;
  }
  CompactString& operator=(CompactString&&) noexcept = default;

  bool empty() const { return !p_; }
  size_t size() const { return view().size(); }
  std::string_view view() const {
    if (!p_) return {};
    size_t n;
    std::memcpy(&n, p_.get(), sizeof(n));
    return {p_.get() + sizeof(n), n};
  }
  operator std::string_view() const { return view(); }
  std::string str() const { return std::string(view()); }

  friend bool operator==(const CompactString& a, const CompactString& b) {
    return a.view() == b.view();
  }
  friend bool operator==(const CompactString& a, std::string_view b) { return a.view() == b; }
  friend bool operator==(const CompactString& a, const std::string& b) { return a.view() == b; }
  friend bool operator==(const CompactString& a, const char* b) { return a.view() == b; }

 private:
  // The length, then the characters, in one allocation.
  void Assign(std::string_view s) {
    if (s.empty()) {
      p_.reset();
      return;
    }
    const size_t n = s.size();
    p_ = std::make_unique_for_overwrite<char[]>(sizeof(n) + n);
    std::memcpy(p_.get(), &n, sizeof(n));
    std::memcpy(p_.get() + sizeof(n), s.data(), n);
  }
  std::unique_ptr<char[]> p_;
};

}  // namespace ironlb
