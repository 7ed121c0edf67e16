#include "dataplane/reasons.h"

#include <cstring>
#include <vector>

namespace ironlb::dataplane {

const char* ReasonName(uint32_t reason) {
  static constexpr const char* kNames[LB_R_MAX] = {"pass_not_vip",
                                                   "pass_arp_ndp",
                                                   "pass_unsupported",
                                                   "pass_ttl",
                                                   "tx_arp_reply",
                                                   "tx_ndp_advert",
                                                   "fwd_redirect",
                                                   "fwd_kernel",
                                                   "drop_arp_not_owner",
                                                   "drop_ns_not_owner",
                                                   "drop_no_backend",
                                                   "drop_bad_backend",
                                                   "drop_malformed_l2",
                                                   "drop_malformed_l3",
                                                   "drop_malformed_l4",
                                                   "ct_insert_skipped",
                                                   "revnat",
                                                   "fwd_encap",
                                                   "decap",
                                                   "drop_encap",
                                                   "drop_decap",
                                                   "tx_icmp_too_big",
                                                   "tx_icmp_echo_reply",
                                                   "fwd_icmp_error",
                                                   "drop_fragment",
                                                   "drop_l2_fenced",
                                                   "pass_other_host",
                                                   "tcp_mss_clamped",
                                                   "drop_no_neigh",
                                                   "fwd_encap_resolve",
                                                   "drop_no_tc_ingress"};
  static_assert(LB_R_DROP_NO_TC_INGRESS == 30 && LB_R_MAX == 31,
                "update the names with enum lb_reason");
  return reason < LB_R_MAX ? kNames[reason] : "unknown";
}

lb_counter SumCounters(const MapOps& ops, MapId map, uint32_t index) {
  lb_counter sum{};
  const auto v = ops.Lookup(map, ToBytes(index));
  if (!v) return sum;
  // One lb_counter per CPU (16 bytes: already a multiple of 8, so no padding between them).
  for (size_t off = 0; off + sizeof(lb_counter) <= v->size(); off += sizeof(lb_counter)) {
    lb_counter c;
    std::memcpy(&c, v->data() + off, sizeof c);
    sum.packets += c.packets;
    sum.bytes += c.bytes;
  }
  return sum;
}

}  // namespace ironlb::dataplane
