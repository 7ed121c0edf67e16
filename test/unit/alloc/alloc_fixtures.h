// Builders shared by the allocator tests: pools from address strings and requests with
// sensible defaults, so each test states only what it is about.
#pragma once

#include <gtest/gtest.h>

#include <initializer_list>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "alloc/allocator.h"
#include "alloc/request.h"

namespace ironlb::alloc::testing {

inline IPAddr Ip(const std::string& s) {
  auto ip = IPAddr::Parse(s);
  EXPECT_TRUE(ip.has_value()) << s;
  return ip.value_or(IPAddr());
}

// "10.0.0.0/24" or "10.0.0.1-10.0.0.9", as written in IPAddressPool.spec.addresses.
inline IPRange Range(const std::string& s) {
  if (auto dash = s.find('-'); dash != std::string::npos) {
    return IPRange{Ip(s.substr(0, dash)), Ip(s.substr(dash + 1))};
  }
  auto p = IPPrefix::Parse(s);
  EXPECT_TRUE(p.has_value()) << s;
  return p ? IPRange{p->first(), p->last()} : IPRange{};
}

inline IPAddressPool Pool(const std::string& name, std::initializer_list<const char*> addrs) {
  IPAddressPool p;
  p.meta.name = name;
  for (const char* a : addrs) {
    p.addresses.push_back(a);
    p.ranges.push_back(Range(a));
  }
  return p;
}

inline std::map<std::string, IPAddressPool> Pools(std::initializer_list<IPAddressPool> list) {
  std::map<std::string, IPAddressPool> out;
  for (const auto& p : list) out.emplace(p.meta.name, p);
  return out;
}

inline Request Req(const std::string& key, std::vector<Family> families = {Family::kV4}) {
  Request r;
  r.key = key;
  r.ns = key.substr(0, key.find('/'));
  r.families = std::move(families);
  return r;
}

inline Request Shared(const std::string& key, const std::string& sharing_key,
                      std::vector<PortProto> ports) {
  Request r = Req(key);
  r.sharing_key = sharing_key;
  r.ports = std::move(ports);
  return r;
}

// The assignment, failing the test (with the allocator's reason) when there is none.
inline Assignment MustAssign(Allocator& a, const Request& r) {
  auto res = a.Assign(r);
  if (auto* why = std::get_if<std::string>(&res)) {
    ADD_FAILURE() << r.key << ": " << *why;
    return {};
  }
  return std::get<Assignment>(res);
}

inline std::string FirstIp(Allocator& a, const Request& r) {
  auto as = MustAssign(a, r);
  return as.ips.empty() ? "" : as.ips[0].str();
}

// The refusal reason, failing the test when the Service did get addresses.
inline std::string MustRefuse(Allocator& a, const Request& r) {
  auto res = a.Assign(r);
  if (auto* as = std::get_if<Assignment>(&res)) {
    ADD_FAILURE() << r.key << " unexpectedly got " << (as->ips.empty() ? "" : as->ips[0].str());
    return "";
  }
  return std::get<std::string>(res);
}

inline std::vector<std::string> Strs(const std::vector<IPAddr>& ips) {
  std::vector<std::string> out;
  for (const auto& ip : ips) out.push_back(ip.str());
  return out;
}

}  // namespace ironlb::alloc::testing
