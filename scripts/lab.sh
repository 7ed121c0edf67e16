#!/usr/bin/env bash
# The demo lab, built from network namespaces, veth pairs and one bridge (nothing outside them
# is ever addressed). Source it and call lab_up / lab_down, or run it: `scripts/lab.sh up|down ID`.
#
#   client (172.30.0.2) ── router (172.30.0.1 | br-lan 10.255.0.1, runs BIRD 2, AS 64500)
#                                        │ bridge ── lan (10.255.0.100: a client on the nodes' LAN)
#                         ┌──────────────┴──────────────┐
#              node-a eth0 10.255.0.11          node-b eth0 10.255.0.12   (AS 64512, XDP on eth0)
#                 └ pod-a1 10.244.1.10             └ pod-b1 10.244.2.10
#                 └ pod-a2 10.244.1.11             └ pod-b2 10.244.2.11
#
# Pod networks are routed between nodes host-gw style (node-a: 10.244.2.0/24 via node-b).
# Namespaces are named "<role>-$LAB_ID" so several runs never collide.
#
# Two veth facts the lab works around (a physical NIC needs neither):
#  - a frame an XDP program sends with XDP_TX or bpf_redirect into a veth is dropped unless the
#    receiving end runs an XDP program itself: set LAB_XDP_PASS to an object with an XDP_PASS
#    program in section "xdp" (build/bpf/xdp_count.bpf.o) and the lab attaches it there;
#  - a veth sends partial (offloaded) checksums, which are not wire checksums once XDP rewrites
#    the frame: the lab turns tx checksum offload off on every veth.

lab_ns() { echo "il-$1-$LAB_ID"; }

lab_veth() {  # lab_veth NS_A IF_A NS_B IF_B : a veth pair between two namespaces
  local tmp_a="ila$RANDOM$RANDOM" tmp_b="ilb$RANDOM$RANDOM"
  ip link add "$tmp_a" type veth peer name "$tmp_b"
  ip link set "$tmp_a" netns "$1"
  ip link set "$tmp_b" netns "$3"
  ip -n "$1" link set "$tmp_a" name "$2"
  ip -n "$3" link set "$tmp_b" name "$4"
  ip -n "$1" link set "$2" up
  ip -n "$3" link set "$4" up
  ip netns exec "$1" ethtool -K "$2" tx off >/dev/null 2>&1 || true
  ip netns exec "$3" ethtool -K "$4" tx off >/dev/null 2>&1 || true
}

lab_accept_xdp() {  # lab_accept_xdp NS DEV : let DEV receive frames XDP sends into its peer
  if [ -n "${LAB_XDP_PASS:-}" ]; then
    ip -n "$1" link set dev "$2" xdp obj "$LAB_XDP_PASS" sec xdp
  else
    ip netns exec "$1" ethtool -K "$2" gro on >/dev/null 2>&1 || true
  fi
}

lab_up() {
  : "${LAB_ID:?LAB_ID must be set}"
  local client router
  client=$(lab_ns client) router=$(lab_ns router)
  for ns in "$client" "$router"; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
  lab_veth "$client" eth0 "$router" eth-client
  ip -n "$client" addr add 172.30.0.2/24 dev eth0
  ip -n "$client" route add default via 172.30.0.1
  ip -n "$router" addr add 172.30.0.1/24 dev eth-client
  ip -n "$router" link add br-lan type bridge
  ip -n "$router" link set br-lan up
  ip -n "$router" addr add 10.255.0.1/24 dev br-lan
  ip netns exec "$router" sysctl -qw net.ipv4.ip_forward=1
  # Multipath: hash on L4 so different client ports spread over the nodes.
  ip netns exec "$router" sysctl -qw net.ipv4.fib_multipath_hash_policy=1

  local lan
  lan=$(lab_ns lan)
  ip netns add "$lan"
  ip -n "$lan" link set lo up
  lab_veth "$lan" eth0 "$router" lan-client
  ip -n "$router" link set lan-client master br-lan
  ip -n "$lan" addr add 10.255.0.100/24 dev eth0

  local i=0
  for n in a b; do
    i=$((i + 1))
    local node pod_net="10.244.$i"
    node=$(lab_ns "node-$n")
    ip netns add "$node"
    ip -n "$node" link set lo up
    lab_veth "$node" eth0 "$router" "lan-$n"
    ip -n "$router" link set "lan-$n" master br-lan
    lab_accept_xdp "$router" "lan-$n"  # ARP/NDP replies XDP_TX'd by the node
    ip -n "$node" addr add "10.255.0.1$i/24" dev eth0
    ip -n "$node" route add default via 10.255.0.1
    ip netns exec "$node" sysctl -qw net.ipv4.ip_forward=1
    local p=0
    for pod in 1 2; do
      local podns
      podns=$(lab_ns "pod-$n$pod")
      ip netns add "$podns"
      ip -n "$podns" link set lo up
      lab_veth "$podns" eth0 "$node" "pod$pod"
      lab_accept_xdp "$podns" eth0  # frames the node's XDP redirects to the pod
      ip -n "$podns" addr add "$pod_net.1$p/32" dev eth0
      ip -n "$podns" route add 169.254.1.1 dev eth0
      ip -n "$podns" route add default via 169.254.1.1
      # Calico-style /32 routes: the node answers for the pod's gateway by proxy ARP.
      ip -n "$node" route add "$pod_net.1$p/32" dev "pod$pod"
      ip netns exec "$node" sysctl -qw "net.ipv4.conf.pod$pod.proxy_arp=1"
      p=$((p + 1))
    done
  done
  ip -n "$(lab_ns node-a)" route add 10.244.2.0/24 via 10.255.0.12
  ip -n "$(lab_ns node-b)" route add 10.244.1.0/24 via 10.255.0.11
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
