// The data plane's desired state as a pure function of the model: which VIP:port/proto exist,
// their endpoints (ready ones in the Maglev table, terminating ones kept only for live flows),
// No I/O; the Dataplane applies it by diff. (Who answers ARP/NDP is the L2 speaker's, agent/l2/.)
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "dataplane/maglev.h"
#include "model/ip.h"
#include "model/model.h"

namespace ironlb::dataplane {

enum class Proto : uint8_t { kTCP = 6, kUDP = 17 };

struct DesiredBackend {
  IPAddr addr;
  uint16_t port = 0;
  bool draining = false;  // terminating: keeps its live flows, gets no new ones
  uint32_t weight = 1;
  // The address of the endpoint's node when that is another node: flows are encapsulated there.
  // Unset for this node's endpoints, and for endpoints whose node is unknown or has no address
  // of the family (then they are DNAT'ed and routed from here, as on one node).
  std::optional<IPAddr> tunnel;
  // Identity every node spells alike: "10.1.0.5:8080/TCP", "[fd00::5]:8080/TCP".
  std::string id(Proto proto) const;
  auto operator<=>(const DesiredBackend&) const = default;
};

// A vector shared by its copies until one is written to (then that copy gets its own): the
// desired state of a pass copies every Service's endpoints from the cache of the last one, and
// 100,000 endpoints copied per pass were as much memory as the cache itself. Reads (const)
// never copy, so two threads may read one while neither writes.
template <typename T>
class SharedVector {
 public:
  SharedVector() = default;
  SharedVector(std::vector<T> v) : p_(std::make_shared<std::vector<T>>(std::move(v))) {}
  SharedVector(std::initializer_list<T> l) : SharedVector(std::vector<T>(l)) {}

  const std::vector<T>& get() const { return p_ ? *p_ : Empty(); }
  operator const std::vector<T>&() const { return get(); }
  size_t size() const { return get().size(); }
  bool empty() const { return get().empty(); }
  const T& operator[](size_t i) const { return get()[i]; }
  const T& at(size_t i) const { return get().at(i); }
  auto begin() const { return get().begin(); }
  auto end() const { return get().end(); }
  // Writes: this copy's own vector first.
  std::vector<T>& mut() {
    if (!p_) {
      p_ = std::make_shared<std::vector<T>>();
    } else if (p_.use_count() > 1) {
      p_ = std::make_shared<std::vector<T>>(*p_);
    }
    return *p_;
  }
  T& operator[](size_t i) { return mut()[i]; }
  auto begin() { return mut().begin(); }
  auto end() { return mut().end(); }
  void push_back(T v) { mut().push_back(std::move(v)); }
  template <typename... A>
  T& emplace_back(A&&... a) {
    return mut().emplace_back(std::forward<A>(a)...);
  }
  void reserve(size_t n) { mut().reserve(n); }
  void clear() { p_.reset(); }
  bool operator==(const SharedVector& o) const { return get() == o.get(); }

 private:
  static const std::vector<T>& Empty() {
    static const std::vector<T> kEmpty;
    return kEmpty;
  }
  std::shared_ptr<std::vector<T>> p_;
};

struct DesiredService {
  ObjectRef service;  // the Service it comes from (for events about it)
  std::string name;   // "ns/name:portname" for logs and ironlbctl
  IPAddr vip;
  uint16_t port = 0;
  Proto proto = Proto::kTCP;
  SharedVector<DesiredBackend> backends;  // all endpoints, ready and draining, sorted
  // A fingerprint of everything above (Fingerprint()), so the map sync can skip a Service it
  // applied as it is: one that changed only in one of 10,000 costs then one Service's diff, not
  // 100,000 endpoints'. 0 means unknown: the sync then diffs every Service in full.
  uint64_t revision = 0;
  std::string key() const;  // "198.51.100.10:80/TCP"
  // The Maglev table over the ready backends. Derived, not stored: a table is ~4 KiB per
  // Service, so it is built only when the map sync finds the ready set changed.
  maglev::Table BuildTable() const;
  // The same, from ids[i] == backends[i].id(proto) already formatted by the caller.
  maglev::Table BuildTable(const std::vector<std::string>& ids) const;
};

struct DesiredDataplane {
  std::vector<DesiredService> services;  // sorted by VIP, port, protocol; one per key()
  // This node's own addresses (its Node object's), the outer source of encapsulated flows and
  // the destination other nodes encapsulate to. Without one, endpoints elsewhere are routed.
  std::optional<IPAddr> node_v4, node_v6;
};

const char* ProtoName(Proto p);
// The address other nodes reach `node` at for `family`: its first InternalIP of the family, else
// its first ExternalIP; nullopt without a Node object or such an address.
std::optional<IPAddr> NodeAddressFor(const Model& model, const std::string& node, Family family);
std::string VipKey(const IPAddr& vip, uint16_t port, Proto proto);
// A 64-bit hash of a DesiredService's content (all but `revision`), never 0.
uint64_t Fingerprint(const DesiredService& s);

// Services of type LoadBalancer with the addresses they hold (Model::Ingress) and their
// EndpointSlices (an endpoint's nodeName and that Node's addresses say where it is), as `node`
// serves them. Layer 2 answering is the L2 speaker's (agent/l2/).
DesiredDataplane ComputeDesired(const Model& model, const std::string& node);

// ComputeDesired kept per Service between passes: a Service whose inputs (its ports, the
// addresses it holds, its EndpointSlices) hash as they did last time gives the DesiredServices
// it gave then, endpoints shared, not re-read; so a pass after one endpoint change reads one
// Service's slices, not 100,000 endpoints. Any change to the Nodes (their addresses decide
// where an endpoint is) or to `node` recomputes every Service. Same result as ComputeDesired
// (DesiredCacheTest checks it over random edits). The inputs are compared by a 64-bit hash.
class DesiredCache {
 public:
  DesiredDataplane Compute(const Model& model, const std::string& node);
  // Services whose DesiredServices the last Compute built anew.
  size_t recomputed() const { return recomputed_; }

 private:
  struct Entry {
    uint64_t inputs = 0;
    std::vector<DesiredService> out;
    uint64_t pass = 0;  // the last Compute that saw the Service
  };
  std::unordered_map<std::string, Entry> services_;  // by "ns/name"
  uint64_t context_ = 0;                             // this node's name and every Node's addresses
  uint64_t pass_ = 0;
  size_t recomputed_ = 0;
};

}  // namespace ironlb::dataplane
