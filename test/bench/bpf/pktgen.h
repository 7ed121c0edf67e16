// Configuration of the forwarding-rate benchmark's traffic generator (pktgen.bpf.c), shared by the
// BPF side and xdp_pktgen. Benchmark-only; not a product layout.
#pragma once

#include <linux/types.h>

#define PKTGEN_FRAME_LEN 60  // the smallest Ethernet frame without its FCS

struct pktgen_config {
  __u32 flows;         // distinct flows cycled through, one per frame
  __u32 ports_per_ip;  // source ports used per source address before the next address
  __be32 saddr_base;   // the template's source address (flow 0)
  __u16 sport_base;    // the template's source port, host order
  __u16 ip_check;      // the template's IPv4 header checksum (as on the wire)
  __u16 l4_check;      // the template's TCP checksum; UDP frames carry none (0)
  __u8 proto;          // IPPROTO_UDP or IPPROTO_TCP
  __u8 pad;
  __u8 frame[PKTGEN_FRAME_LEN];  // the template: flow 0
};
