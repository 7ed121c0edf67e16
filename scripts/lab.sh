#!/usr/bin/env bash
# The demo lab, built from network namespaces, veth pairs and one bridge (nothing outside them
# is ever addressed). Source it and call lab_up / lab_down, or run it: `scripts/lab.sh up|down ID`.
#
#   client 172.30.0.2 ── router 172.30.0.1 | br-lan 10.255.0.1  (BIRD 2, AS 64500, ECMP)
#   fd00:172:30::2          fd00:172:30::1 |        fd00:255::1
#                                          │ bridge ── lan 10.255.0.100 fd00:255::100 (LAN client)
#            ┌─────────────────────────────┼─────────────────────────────┐
#   node-a eth0 10.255.0.11       node-b eth0 10.255.0.12       node-c eth0 10.255.0.13
#               fd00:255::11                  fd00:255::12                  fd00:255::13
#     └ pod-a1 10.244.1.10 fd00:244:1::10  └ pod-b1 10.244.2.10 ...   └ pod-c1 10.244.3.10 ...
#     └ pod-a2 10.244.1.11 fd00:244:1::11  └ pod-b2 10.244.2.11 ...   └ pod-c2 10.244.3.11 ...
#
# Nodes run ironlb-agent (AS 64512, XDP on eth0). Pod networks are routed between nodes host-gw
# style (10.244.<i>.0/24 and fd00:244:<i>::/64 via node i). Namespaces are named
# "il-<role>-$LAB_ID" so several runs never collide. LAB_NODES (default "a b c") picks the nodes.
#
# Plain veths with their default offloads: ironlb-agent's --xdp-mode auto runs XDP in generic
# mode on a veth, which needs nothing from the peer. For native mode on veths, set LAB_XDP_PASS
# to an object with an XDP_PASS program in section "xdp" (build/bpf/xdp_count.bpf.o): the lab
# then attaches it on every veth end that receives frames XDP sends (a veth drops XDP_TX'd and
# redirected frames otherwise) and turns tx checksum offload off (partial checksums are not wire
# checksums once XDP rewrites a frame).

lab_ns() { echo "il-$1-$LAB_ID"; }

lab_nodes() { echo "${LAB_NODES:-a b c}"; }

lab_veth() {  # lab_veth NS_A IF_A NS_B IF_B : a veth pair between two namespaces
  local tmp_a="ila$RANDOM$RANDOM" tmp_b="ilb$RANDOM$RANDOM"
  ip link add "$tmp_a" type veth peer name "$tmp_b"
  ip link set "$tmp_a" netns "$1"
  ip link set "$tmp_b" netns "$3"
  ip -n "$1" link set "$tmp_a" name "$2"
  ip -n "$3" link set "$tmp_b" name "$4"
  ip -n "$1" link set "$2" up
  ip -n "$3" link set "$4" up
  if [ -n "${LAB_XDP_PASS:-}" ]; then
    ip netns exec "$1" ethtool -K "$2" tx off >/dev/null 2>&1 || true
    ip netns exec "$3" ethtool -K "$4" tx off >/dev/null 2>&1 || true
  fi
}

lab_accept_xdp() {  # lab_accept_xdp NS DEV : let DEV receive frames XDP sends into its peer
  if [ -n "${LAB_XDP_PASS:-}" ]; then
    ip -n "$1" link set dev "$2" xdp obj "$LAB_XDP_PASS" sec xdp
  fi
}

lab_forwarding() {  # lab_forwarding NS : a router: forward both families, hash flows on L4
  ip netns exec "$1" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
    net.ipv4.fib_multipath_hash_policy=1 net.ipv6.fib_multipath_hash_policy=1 \
    net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
}

lab_up() {
  : "${LAB_ID:?LAB_ID must be set}"
  local client router lan
  client=$(lab_ns client) router=$(lab_ns router) lan=$(lab_ns lan)
  for ns in "$client" "$router" "$lan"; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
  lab_veth "$client" eth0 "$router" eth-client
  ip -n "$client" addr add 172.30.0.2/24 dev eth0
  ip -n "$client" addr add fd00:172:30::2/64 dev eth0 nodad
  ip -n "$client" route add default via 172.30.0.1
  ip -n "$client" -6 route add default via fd00:172:30::1
  ip -n "$router" addr add 172.30.0.1/24 dev eth-client
  ip -n "$router" addr add fd00:172:30::1/64 dev eth-client nodad
  ip -n "$router" link add br-lan type bridge
  ip -n "$router" link set br-lan up
  ip -n "$router" addr add 10.255.0.1/24 dev br-lan
  ip -n "$router" addr add fd00:255::1/64 dev br-lan nodad
  lab_forwarding "$router"

  lab_veth "$lan" eth0 "$router" lan-client
  ip -n "$router" link set lan-client master br-lan
  ip -n "$lan" addr add 10.255.0.100/24 dev eth0
  ip -n "$lan" addr add fd00:255::100/64 dev eth0 nodad

  local i=0 n
  for n in $(lab_nodes); do
    i=$((i + 1))
    local node
    node=$(lab_ns "node-$n")
    ip netns add "$node"
    ip -n "$node" link set lo up
    lab_veth "$node" eth0 "$router" "lan-$n"
    ip -n "$router" link set "lan-$n" master br-lan
    lab_accept_xdp "$router" "lan-$n"  # ARP/NDP replies XDP_TX'd by the node
    ip -n "$node" addr add "10.255.0.1$i/24" dev eth0
    ip -n "$node" addr add "fd00:255::1$i/64" dev eth0 nodad
    ip -n "$node" route add default via 10.255.0.1
    ip -n "$node" -6 route add default via fd00:255::1
    lab_forwarding "$node"
    local p=0 pod
    for pod in 1 2; do
      local podns
      podns=$(lab_ns "pod-$n$pod")
      ip netns add "$podns"
      ip -n "$podns" link set lo up
      lab_veth "$podns" eth0 "$node" "pod$pod"
      lab_accept_xdp "$podns" eth0  # frames the node's XDP redirects to the pod
      ip -n "$podns" addr add "10.244.$i.1$p/32" dev eth0
      ip -n "$podns" addr add "fd00:244:$i::1$p/128" dev eth0 nodad
      ip -n "$podns" route add 169.254.1.1 dev eth0
      ip -n "$podns" route add default via 169.254.1.1
      ip -n "$podns" -6 route add default via fe80::1 dev eth0
      # Calico-style /32 routes: the node answers for the pod's gateway by proxy ARP (IPv4)
      # and owns the pod's IPv6 gateway fe80::1 on the pod's link.
      ip -n "$node" addr add fe80::1/64 dev "pod$pod" nodad
      ip -n "$node" route add "10.244.$i.1$p/32" dev "pod$pod"
      ip -n "$node" -6 route add "fd00:244:$i::1$p/128" dev "pod$pod"
      ip netns exec "$node" sysctl -qw "net.ipv4.conf.pod$pod.proxy_arp=1"
      p=$((p + 1))
    done
  done
  local j
  i=0
  for n in $(lab_nodes); do
    i=$((i + 1)) j=0
    for _ in $(lab_nodes); do
      j=$((j + 1))
      [ "$i" = "$j" ] && continue
      ip -n "$(lab_ns "node-$n")" route add "10.244.$j.0/24" via "10.255.0.1$j"
      ip -n "$(lab_ns "node-$n")" -6 route add "fd00:244:$j::/64" via "fd00:255::1$j"
    done
  done
}

lab_down() {
  : "${LAB_ID:?LAB_ID must be set}"
  local ns
  for ns in $(ip netns list | awk '{print $1}' | grep -E -- "^il-.*-$LAB_ID\$"); do
    # Processes started inside (routers, servers, agents) are ended by the caller by PID; this
    # only removes the namespaces, which also removes their veths and the bridge.
    ip netns del "$ns" 2>/dev/null || true
  done
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  LAB_ID="${2:?usage: scripts/lab.sh up|down ID}"
  case "$1" in
    up) lab_up ;;
    down) lab_down ;;
    *) echo "usage: scripts/lab.sh up|down ID" >&2; exit 2 ;;
  esac
fi
