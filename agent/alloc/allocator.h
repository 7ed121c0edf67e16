// The IP allocator (controller role): LoadBalancer addresses from IPAddressPools with MetalLB's
// semantics. An in-memory state machine, no I/O, no clocks; the controller writes the results.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "alloc/pool_space.h"
#include "alloc/request.h"
#include "alloc/sharing.h"
#include "model/objects.h"

namespace ironlb::alloc {

struct Assignment {
  std::string pool;
  std::vector<IPAddr> ips;  // in the Service's family order, at most one per family
  bool operator==(const Assignment&) const = default;
};

// For metrics (MetalLB exports the same per pool and family). Sizes saturate at 2^128-1.
struct PoolUsage {
  u128 size = 0;
  u128 size_v4 = 0;
  u128 size_v6 = 0;
  u128 assigned_ips = 0;  // distinct addresses in use; a shared address counts once
  u128 assigned_v4 = 0;
  u128 assigned_v6 = 0;
  size_t services = 0;  // Services holding addresses of this pool
};

class Allocator {
 public:
  // Replaces the pools (keyed by name; `ranges` already parsed). Assignments whose addresses
  // are no longer in any pool (pool removed, or shrunk from under them) are released and their
  // keys returned, sorted: the caller must Assign them again. Changes to autoAssign or to
  // serviceAllocation do not evict here (Assign re-checks the latter, as MetalLB does).
  std::vector<std::string> SetPools(const std::map<std::string, IPAddressPool>& pools);

  // Gives the Service addresses, or says why not. Idempotent: a Service whose current
  // assignment still fits the request (pool, serviceAllocation, families, requested IPs and
  // pool, sharing) keeps it; otherwise it is released and a new one is chosen.
  std::variant<Assignment, std::string> Assign(const Request& req);

  // Claims addresses a Service already holds (from its status, at restart), before any new
  // allocation, so running Services keep their IPs. False (with the reason) when they no
  // longer fit; the caller then calls Assign.
  bool Adopt(const Request& req, const std::vector<IPAddr>& ips, std::string* reason);

  void Release(const std::string& key);

  std::optional<Assignment> Get(const std::string& key) const;
  std::map<std::string, Assignment> Assignments() const;
  // Services using an address (several when it is shared).
  std::vector<std::string> ServicesOn(const IPAddr& ip) const;
  std::optional<PoolUsage> Usage(const std::string& pool) const;
  std::map<std::string, PoolUsage> AllUsage() const;

 private:
  struct Held {
    std::string pool;
    std::vector<IPAddr> ips;
    std::vector<PortProto> ports;
    std::string sharing_key;
    std::string backend_key;
  };
  struct Choice {
    std::string pool;
    std::vector<IPAddr> ips;
  };
  using GroupKey = std::pair<std::string, std::string>;  // sharing key, backend key
  struct IPAddrHash {
    size_t operator()(const IPAddr& ip) const {
      const u128 v = ip.value();
      return std::hash<uint64_t>()(static_cast<uint64_t>(v) ^ static_cast<uint64_t>(v >> 64) ^
                                   static_cast<uint64_t>(ip.family()));
    }
  };

  const PoolSpace* PoolFor(const std::vector<IPAddr>& ips, const std::string& prefer) const;
  std::optional<std::string> Check(const Request& req, const std::vector<IPAddr>& ips,
                                   const std::string& prefer_pool, std::string* pool) const;
  std::optional<IPAddr> Candidate(const PoolSpace& pool, Family f, const Request& req) const;
  std::optional<Choice> BestPool(const std::vector<std::string>& names, const Request& req,
                                 std::vector<std::string>* misses) const;
  std::variant<Assignment, std::string> AllocateNew(const Request& req);
  void MaybeAddMissingFamily(const Request& req);
  // Replaces the Service's assignment; returns the new one.
  Assignment Commit(const std::string& key, Held held);
  void AddUse(const IPAddr& ip, const std::string& key, const Held& held);
  void DropUse(const IPAddr& ip, const std::string& key);
  void Group(const IPAddr& ip, const IpUse& use);
  void Ungroup(const IPAddr& ip, const IpUse& use);

  std::map<std::string, PoolSpace> pools_;
  // Hashed: these are touched on every allocation; ordered views are built on demand.
  std::unordered_map<std::string, Held> held_;
  std::unordered_map<IPAddr, IpUse, IPAddrHash> ips_;
  // Addresses in use per sharing group, so a sharing Service finds its peers' addresses
  // without scanning the pool.
  std::map<GroupKey, std::set<IPAddr>> groups_;
  std::map<std::string, size_t> services_per_pool_;
};

}  // namespace ironlb::alloc
