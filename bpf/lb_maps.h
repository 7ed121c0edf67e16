// The one definition of every map key, value and counter index shared by ironlb's BPF programs
// (xdp_lb, tc_lb) and the agent / ironlbctl; C and C++ both include it. Never copy a struct.
#pragma once

#include <linux/types.h>

// Addresses are kept in network byte order as four 32-bit words; IPv4 uses word 0 and leaves
// the other three zero so one key type serves both families. Ports are network byte order too,
// so the data path never swaps bytes on the hot path.

// ---- sizes ----------------------------------------------------------------------------------
// Defaults sized for 10,000 Services x 10 endpoints; the agent's --max-services and
// --max-endpoints resize the maps at load time (map_ops reads the size back from the kernel).
#define LB_MAX_SERVICES 16384   // VIP:port/proto entries (also the per-VIP stats index space)
#define LB_MAX_BACKENDS 131072  // backend ids index lb_backends and lb_backend_stats
// All services' Maglev tables share one array: 16M entries (64 MiB) hold 10,000 services of up
// to 10 endpoints (1,021-entry tables) with room to double-buffer table replacements.
#define LB_MAGLEV_RING_ENTRIES 16777216
#define LB_CT_ENTRIES 262144  // conntrack LRU capacity
#define LB_MAX_L2_ENTRIES 16384
#define LB_MAX_IFACES 64

// Address families as stored in keys (AF_INET / AF_INET6 do not fit a u8 portably in BPF code).
#define LB_FAMILY_V4 4
#define LB_FAMILY_V6 6

// ---- service: VIP:port/proto -> service ---------------------------------------------------------
struct lb_vip_key {
  __be32 addr[4];
  __be16 port;
  __u8 proto;   // IPPROTO_TCP / IPPROTO_UDP
  __u8 family;  // LB_FAMILY_*
};

#define LB_SVC_F_NONE 0u

struct lb_service {
  __u32 id;             // index into lb_vip_stats; stable while the VIP:port exists
  __u32 flags;          // LB_SVC_F_*
  __u32 backend_count;  // ready backends in the Maglev table; 0 means drop (no endpoint)
  __u32 maglev_base;    // first slot of this service's table in lb_maglev
  __u32 maglev_size;    // table size (a prime); 0 when there is no table
  __u32 pad;
};

// ---- service ids: lb_service.id -> the VIP:port holding it now (lb_service_keys) ---------------
// Lets a conntrack hit confirm its service without the hash lookup in lb_services: the entry names
// its service by id (lb_ct_value.service_id), and the flow's own VIP:port must be what this array
// holds at that id. The agent writes a slot after the service it names and clears it before
// deleting that service, so an id handed to another VIP:port, or a VIP:port gone, fails the
// comparison and the packet takes the full path through lb_services. A zero slot names nothing.

// ---- backends: id -> endpoint --------------------------------------------------------------
// What to do with a flow once a backend is chosen.
#define LB_ACTION_NONE 0   // slot unused
#define LB_ACTION_LOCAL 1  // DNAT to addr:port, then route (FIB) to it
#define LB_ACTION_ENCAP 2  // on another node: the original packet, GUE-encapsulated to `tunnel`

#define LB_BACKEND_F_DRAINING 1u  // terminating: existing flows only, absent from Maglev tables

struct lb_backend {
  __be32 addr[4];
  __be32 tunnel[4];  // the endpoint's node (ENCAP); zero for LOCAL
  __be16 port;
  __u8 family;  // LB_FAMILY_*
  __u8 action;  // LB_ACTION_*
  __u32 flags;  // LB_BACKEND_F_*
};

// ---- conntrack: client 5-tuple towards the VIP -> backend --------------------------------------
struct lb_ct_key {
  __be32 src[4];  // client
  __be32 dst[4];  // VIP
  __be16 sport;
  __be16 dport;
  __u8 proto;
  __u8 family;
  __u8 pad[2];
};

struct lb_ct_value {
  __u32 backend_id;
  __u32 service_id;
  __u64 created_ns;    // CLOCK_MONOTONIC (bpf_ktime_get_coarse_ns, jiffy resolution) at insert
  __u64 last_seen_ns;  // refreshed at most once per LB_CT_TOUCH_NS to spare the cache line
};

#define LB_CT_TOUCH_NS 1000000000ull

// ---- flow cache: a per-CPU copy of IPv4 conntrack hits (xdp_lb only, never pinned) ------------
// At 10,000 flows and more a conntrack hit misses the CPU caches twice (bucket, then element);
// this array answers an established IPv4 flow from one cache line of its CPU's own slice. An entry
// is only ever a copy of a conntrack entry the program just read or wrote, and it is believed
// only while (a) its coarse second (`stamp`) is the current one -- the next second's first packet
// looks conntrack up again, which refreshes last_seen and the LRU as before and notices an entry
// the LRU evicted -- and (b) `gen` is lb_flow_gen's: whenever the program points an existing
// conntrack entry at another backend (a re-balance after its backend went, or a decapsulated
// flow naming another endpoint) it bumps lb_flow_gen, which retires every CPU's copies at once.
// A hit still confirms its service (lb_service_keys) and backend (lb_backends) as a conntrack hit
// does. Sets of two ways (64 bytes, one cache line); cfg_flow_cache_sets sets per CPU.
struct lb_flow_cache_entry {
  __be32 src;    // client
  __be32 dst;    // VIP
  __be32 ports;  // source and destination port, as on the wire
  __u8 proto;    // 0: the way is empty
  __u8 pad[3];
  __u32 backend_id;
  __u32 service_id;
  __u32 stamp;  // bpf_ktime_get_coarse_ns() >> 30 (about a second) when conntrack was read
  __u32 gen;    // lb_flow_gen when copied
};

struct lb_flow_cache_set {
  struct lb_flow_cache_entry way[2];
};

// Entries (two per set) the agent asks for unless --flow-cache-entries says otherwise: half
// conntrack's capacity, 4 MiB, shared out among the CPUs (each CPU's slice a power of two). Kept
// small on purpose: a slice is read at random, and one that outgrows the TLB's reach costs a page
// walk per packet (at 10,000 flows on one CPU a 2 MiB slice forwarded 7-9 % more than an 8 MiB
// one; docs/benchmarks-dataplane.md).
#define LB_FLOW_CACHE_DEFAULT_ENTRIES (LB_CT_ENTRIES / 2)

// ---- next-hop table (xdp_lb only; pinned, so every attached instance reads one copy) ----------
// The route and neighbour answer for each endpoint, indexed by backend id, written by the agent
// from rtnetlink route, neighbour, link and rule events (agent/dataplane/nexthop_table.cpp) so that
// the forwarding path skips bpf_fib_lookup. An empty slot (ifindex 0), one tagged with another
// address (the agent gives a freed id to another endpoint), a frame longer than `mtu`, or a table
// the agent stopped vouching for (lb_nexthop_live) sends the frame through bpf_fib_lookup.
struct lb_nexthop {
  __be32 addr[4];   // the endpoint address this answer is for (IPv4 in word 0)
  __u32 ifindex;    // egress interface; 0: no answer, ask the FIB
  __u16 mtu;        // the route's MTU: longer frames ask the FIB (which says "fragment needed")
  __u8 dmac[6];     // the neighbour's (the gateway's or the endpoint's own) MAC
  __u8 smac[6];     // the egress interface's MAC
  __u8 family;      // LB_FAMILY_*
  __u8 pad;
};

// The agent's promise that lb_nexthops is current, renewed every second: an agent that stopped
// (upgrade, crash) cannot follow route or neighbour changes, so after `until_ns` (the coarse
// CLOCK_MONOTONIC of bpf_ktime_get_coarse_ns) every frame asks the FIB again.
struct lb_nexthop_live {
  __u64 until_ns;
};

// ---- endpoints this node delivers to: addr:port/proto -> backend id, VIP:ports -----------------
// Encapsulated flows are accepted only for these (a GUE packet names its endpoint; without this
// check anyone reaching the port could have the node DNAT to any address). The VIP:ports are how
// tc_lb finds a reply's flow: it looks up conntrack for (client -> VIP:port) of each and takes the
// one whose entry names this endpoint. The endpoint alone cannot say which VIP (two Services may
// share it), and a reply that matches no VIP flow (the endpoint reached by its own address,
// traffic it starts) is never rewritten.
#define LB_ENDPOINT_VIPS 4  // VIP:ports served by one endpoint that replies are translated for

struct lb_endpoint_vip {
  __be32 vip[4];
  __be16 port;
  __u8 pad[2];
};

struct lb_endpoint_key {
  __be32 addr[4];
  __be16 port;
  __u8 proto;
  __u8 family;
};

struct lb_endpoint_value {
  __u32 backend_id;  // this node's slot for it (conntrack, counters, next-hop cache)
  __u32 vip_count;   // entries of vips in use, at most LB_ENDPOINT_VIPS
  struct lb_endpoint_vip vips[LB_ENDPOINT_VIPS];  // sorted
};

// ---- this node's own addresses, the outer source of encapsulated packets ----------------------
struct lb_node_addrs {
  __be32 v4;     // 0: no IPv4 address, no IPv4 encapsulation
  __be32 v6[4];  // all zero: none
};

// GUE (draft-ietf-intarea-gue, variant 0) over UDP: the outer UDP source port carries the flow
// hash (receivers' RSS spreads flows over queues), the GUE private data names the endpoint the
// sending node chose, so the receiving node DNATs to that very endpoint (the sender's conntrack
// may pin one that Maglev would no longer pick).
#define LB_GUE_PORT 6080
#define LB_GUE_SPORT_MIN 49152  // RFC 6335 dynamic range, as RFC 8086 asks of UDP encapsulation

struct lb_gue_hdr {
  __u8 hlen;     // version (2 bits, 0), C (1 bit, 0), header length in 32-bit words (5 bits)
  __u8 proto;    // inner protocol: IPPROTO_IPIP (IPv4) or IPPROTO_IPV6
  __be16 flags;  // none
};

struct lb_gue_priv4 {
  __be32 endpoint;
  __be16 port;
  __u8 pad[2];
};

struct lb_gue_priv6 {
  __be32 endpoint[4];
  __be16 port;
  __u8 pad[2];
};

// Bytes the encapsulation puts in front of the client's packet: outer IP header, UDP, GUE, and the
// private data (bpf/encap.h checks these against the structs).
#define LB_GUE4_OVERHEAD (20 + 8 + 4 + 8)
#define LB_GUE6_OVERHEAD (40 + 8 + 4 + 20)

// ---- XDP -> tc hand-off of an encapsulated frame whose next hop is unresolved ----------------
// XDP cannot queue a frame while the kernel resolves a neighbour. xdp_lb finishes the frame and
// passes it up with this in front (XDP metadata); tc_lb_ingress sends it on with
// bpf_redirect_neigh, which resolves the entry and queues meanwhile, as the kernel's output does.
#define LB_META_RESOLVE 0x69726e31  // "irn1": another XDP program's metadata is never taken for it
struct lb_xdp_meta {
  __u32 magic;        // LB_META_RESOLVE
  __u32 ifindex;      // where the FIB sends it
  __u32 family;       // AF_INET / AF_INET6 of `nexthop`
  __be32 nexthop[4];  // the FIB's next hop (the node itself on a shared segment)
};

// ---- TCP MSS clamping of VIP flows' SYN-ACKs (tc_lb's knob cfg_mss_clamp_mtu, bpf/mss.h) -------
// The value is the MTU the client's segments must fit once encapsulated: LB_MSS_CLAMP_AUTO takes
// the MTU of the interface the SYN-ACK leaves by (the uplink, which faces the same fabric the
// tunnel crosses), LB_MSS_CLAMP_OFF never clamps.
#define LB_MSS_CLAMP_OFF 0u
#define LB_MSS_CLAMP_AUTO 0xffffffffu

// ---- fragments: the first fragment's choice for the rest of its datagram --------------------
// Only the first fragment carries ports; the later ones find its endpoint here (RFC 791 / RFC 8200
// 4.5: the identification with source, destination and protocol names one datagram).
struct lb_frag_key {
  __be32 src[4];
  __be32 dst[4];
  __be32 id;  // IPv4: the 16-bit identification in the low-addressed half; IPv6: all 32 bits
  __u8 proto;
  __u8 family;
  __u8 pad[2];
};

struct lb_frag_value {
  __u32 backend_id;
};

#define LB_FRAG_ENTRIES 16384

// ---- VIP addresses, whatever the port: ping and ICMP errors about VIP flows ------------------
struct lb_vip_addr_key {
  __be32 addr[4];
  __u8 family;
  __u8 pad[3];
};

struct lb_vip_addr_value {
  __u32 services;  // VIP:port/proto entries on this address
};

// ---- L2 ownership: (VIP, ifindex) -> state ----------------------------------------------------
// ifindex 0 is a wildcard the program consults when no per-interface entry exists.
struct lb_l2_key {
  __be32 addr[4];
  __u32 ifindex;
  __u8 family;
  __u8 pad[3];
};

#define LB_L2_SILENT 1  // a VIP another node owns: drop ARP/NS for it so no kernel answers
#define LB_L2_OWNED 2   // answer ARP/NS for it from this interface

struct lb_l2_value {
  __u32 state;  // LB_L2_*
};

// Never stored: what l2_state() reports for an OWNED entry while the node is fenced.
#define LB_L2_FENCED 3

// ---- L2 fencing: the agent's liveness stamp (one entry, index 0) ------------------------------
// The L2 speaker refreshes it every heartbeat interval. Once it is older than max_age_ns the
// responder treats OWNED as silent: a dead or hung agent stops answering before the other nodes'
// detection time ends and a new owner starts, so two nodes never answer for one VIP.
struct lb_l2_live {
  __u64 stamp_ns;    // bpf_ktime_get_ns()'s clock (CLOCK_MONOTONIC)
  __u64 max_age_ns;  // 0: no L2 speaker fences this node, OWNED always answers
};

// ---- L2 per-VIP counters (key: lb_l2_key with ifindex 0; per CPU) ------------------------------
// ARP requests / Neighbor Solicitations that reached this node for a VIP it owns, and the
// answers it sent (MetalLB's metallb_layer2_requests_received / _responses_sent). xdp_lb creates
// an entry on a VIP's first request; the agent reads and prunes them.
struct lb_l2_counter {
  __u64 requests;
  __u64 responses;
};

// ---- interfaces the program runs on: ifindex -> MAC, tc_lb_ingress vouch -----------------------
// XDP cannot read its interface's address, and ARP/NDP replies must carry it. Nor can it see
// whether tc_lb_ingress runs on the interface, which a frame handed up for neighbour resolution
// (lb_xdp_meta) needs: without it the kernel drops the frame unseen. The agent checks the hook
// every second and, while tc_lb_ingress is there, renews `tc_ingress_until_ns`; xdp_lb hands a
// frame up only before that instant and otherwise drops it as drop_no_tc_ingress, counted.
struct lb_iface {
  __u8 mac[6];
  __u8 pad[2];
  __u64 tc_ingress_until_ns;  // bpf_ktime_get_ns()'s clock (CLOCK_MONOTONIC); 0: never vouched
};

// ---- per-CPU counters -------------------------------------------------------------------------
struct lb_counter {
  __u64 packets;
  __u64 bytes;
};

// Why the program did what it did: one per-CPU counter each in lb_reason_stats.
enum lb_reason {
  LB_R_PASS_NOT_VIP = 0,    // not VIP traffic (or not IP at all): kernel's business
  LB_R_PASS_ARP_NDP,        // ARP/NDP that is not a request for a VIP we know
  LB_R_PASS_UNSUPPORTED,    // fragments, IPv6 extension headers, QinQ: handed to the kernel
  LB_R_PASS_TTL,            // TTL / hop limit would expire: the kernel sends the ICMP error
  LB_R_TX_ARP_REPLY,        // answered an ARP request for an owned VIP
  LB_R_TX_NDP_ADVERT,       // answered a Neighbor Solicitation for an owned VIP
  LB_R_FWD_REDIRECT,        // DNAT'ed and redirected to the FIB's egress interface
  LB_R_FWD_KERNEL,          // DNAT'ed and passed to the kernel (FIB miss, no neighbour, VLAN)
  LB_R_DROP_ARP_NOT_OWNER,  // ARP request for a VIP another node owns
  LB_R_DROP_NS_NOT_OWNER,   // Neighbor Solicitation for a VIP another node owns
  LB_R_DROP_NO_BACKEND,     // service has no ready endpoint
  LB_R_DROP_BAD_BACKEND,    // Maglev / conntrack named a backend slot that is empty
  LB_R_DROP_MALFORMED_L2,   // truncated Ethernet / VLAN / ARP
  LB_R_DROP_MALFORMED_L3,   // bad IPv4/IPv6 header (version, IHL, lengths)
  LB_R_DROP_MALFORMED_L4,   // truncated TCP/UDP header to a VIP
  LB_R_CT_INSERT_SKIPPED,   // new flow not remembered: insert rate above the flood guard
  LB_R_REVNAT,              // tc: reply source rewritten to VIP:port
  LB_R_FWD_ENCAP,           // encapsulated (GUE) to the endpoint's node and sent out
  LB_R_DECAP,               // decapsulated for a local endpoint (also counted as it is forwarded)
  LB_R_DROP_ENCAP,          // cannot encapsulate: no own address, no route, VLAN
  LB_R_DROP_DECAP,          // GUE to this node that is not a VIP flow for one of its endpoints
  LB_R_TX_ICMP_TOO_BIG,     // too big once encapsulated: "fragmentation needed" sent to the client
  LB_R_TX_ICMP_ECHO_REPLY,  // ping to a VIP answered
  LB_R_FWD_ICMP_ERROR,      // ICMP error about a VIP flow sent on to the flow's endpoint
  LB_R_DROP_FRAGMENT,       // a later fragment to a VIP whose first fragment was not seen
  LB_R_DROP_L2_FENCED,      // ARP/NS for an owned VIP while the agent's liveness stamp is stale
  LB_R_PASS_OTHER_HOST,     // unicast to another host's MAC (a flooding switch): never forwarded
  LB_R_TCP_MSS_CLAMPED,     // tc: a VIP flow's SYN-ACK announced an MSS the tunnel cannot carry
  LB_R_DROP_NO_NEIGH,       // cannot encapsulate: next hop to the endpoint's node unresolved
  LB_R_FWD_ENCAP_RESOLVE,   // encapsulated, next hop unresolved: handed to tc to resolve and queue
  LB_R_DROP_NO_TC_INGRESS,  // next hop unresolved and no tc_lb_ingress vouched for on the interface
  LB_R_MAX,
};

// ---- knobs (read-only data of xdp_lb; the agent sets them before load) ------------------------
// Conntrack inserts per CPU per second above which new flows are routed by Maglev alone (a SYN
// flood then cannot evict established flows from the LRU, as Katran does).
#define LB_DEFAULT_MAX_CT_INSERTS_PER_SEC 125000u

// Per-CPU state of the flood guard.
struct lb_ct_rate {
  __u64 window_start_ns;
  __u64 inserts;
};

// Names of the pinned maps under the bpffs directory (the BPF map names, LIBBPF_PIN_BY_NAME).
#define LB_MAP_SERVICES "lb_services"
#define LB_MAP_SERVICE_KEYS "lb_service_keys"
#define LB_MAP_BACKENDS "lb_backends"
#define LB_MAP_MAGLEV "lb_maglev"
#define LB_MAP_CONNTRACK "lb_conntrack"
#define LB_MAP_ENDPOINTS "lb_endpoints"
#define LB_MAP_NODE "lb_node"
#define LB_MAP_VIP_ADDRS "lb_vip_addrs"
#define LB_MAP_L2 "lb_l2"
#define LB_MAP_IFACES "lb_ifaces"
#define LB_MAP_L2_LIVE "lb_l2_live"
#define LB_MAP_L2_STATS "lb_l2_stats"
#define LB_MAP_VIP_STATS "lb_vip_stats"
#define LB_MAP_BACKEND_STATS "lb_backend_stats"
#define LB_MAP_REASON_STATS "lb_reason_stats"
#define LB_MAP_NEXTHOPS "lb_nexthops"
#define LB_MAP_NEXTHOP_LIVE "lb_nexthop_live"
#define LB_MAP_FLOW_CACHE "lb_flow_cache"
#define LB_MAP_FLOW_GEN "lb_flow_gen"
