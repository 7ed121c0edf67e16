#!/usr/bin/env bash
# The main job on the embedded default: build a lab of network namespaces (scripts/lab.sh),
# run ironlb-agent on two nodes with the configuration in examples/, send real traffic to the
# VIPs and show where it went. Everything runs inside namespaces this script creates, and is
# removed on exit (also on failure or Ctrl-C). Needs root.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${IRONLB_BIN:-$root/build/bin}"
if [ ! -x "$bin/ironlb-agent" ] || [ ! -x "$bin/ironlbctl" ]; then
  echo "demo: building first (scripts/setup.sh + scripts/build.sh)"
  bash "$root/scripts/setup.sh"
  IRONLB_SKIP_SETUP=1 bash "$root/scripts/build.sh"
fi
# shellcheck source=lab.sh
source "$root/scripts/lab.sh"
LAB_ID="demo$$"
LAB_XDP_PASS="$(dirname "$bin")/bpf/xdp_count.bpf.o"
work="$(mktemp -d /tmp/ironlb-demo.XXXXXX)"
pids=()
mounts=()
cleanup() {
  set +e
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  lab_down
  for m in "${mounts[@]}"; do umount "$m" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
ns() { lab_ns "$1"; }
ctl() { local node=$1; shift; "$bin/ironlbctl" --api-socket "$work/$node.sock" --bpffs "$work/bpf-$node" "$@"; }
wait_status() {  # wait until the controller has written n status files
  for _ in $(seq 1 200); do
    [ "$(ls "$work/config/status/"*.json 2>/dev/null | wc -l)" -ge "$1" ] && return 0
    sleep 0.05
  done
  echo "demo: controller did not settle"; cat "$work"/*.log; exit 1
}

step "lab: client, router, LAN client, node-a and node-b, two pods per node (namespaces *-$LAB_ID)"
lab_up
cp -r "$root/examples" "$work/config"
# The router speaks BGP to both nodes (AS 64500 <-> 64512, as examples/pools.yaml's BGPPeer says)
# and installs what it learns into its kernel, equal paths merged into one multipath route.
cat >"$work/bird.conf" <<'BIRD'
router id 10.255.0.1;
protocol device {}
protocol kernel { ipv4 { export all; }; merge paths on; }
protocol bgp node_a { neighbor 10.255.0.11 as 64512; local as 64500; ipv4 { import all; export none; }; }
protocol bgp node_b { neighbor 10.255.0.12 as 64512; local as 64500; ipv4 { import all; export none; }; }
BIRD
ip netns exec "$(ns router)" bird -f -c "$work/bird.conf" -s "$work/bird.ctl" >"$work/bird.log" 2>&1 &
pids+=($!)
for pod in a1 a2 b1 b2; do
  ip netns exec "$(ns pod-$pod)" /usr/bin/python3 "$root/scripts/lab_pod_server.py" "pod-$pod" &
  pids+=($!)
done

step "ironlb-agent on node-a (controller + speaker) and node-b (speaker), XDP on each node's eth0, BGP to the router"
for node in node-a node-b; do
  role=speaker
  [ "$node" = node-a ] && role=all
  # bpffs mounted in the root mount namespace so pins outlive the agent and ironlbctl sees them.
  mkdir -p "$work/bpf-$node"
  mount -t bpf bpf "$work/bpf-$node"
  mounts+=("$work/bpf-$node")
  ip netns exec "$(ns $node)" "$bin/ironlb-agent" --node "$node" --config "$work/config" \
    --role "$role" --interface eth0 --bpffs "$work/bpf-$node" \
    --api-socket "$work/$node.sock" --metrics-addr "" >"$work/$node.log" 2>&1 &
  pids+=($!)
done
wait_status 6
sleep 0.5
ctl node-a alloc show
ctl node-a config show

step "Layer 2: the LAN client's kernel resolves the L2 VIP 10.255.0.205 by ARP; XDP on node-a answers"
for i in 1 2 3; do ip netns exec "$(ns lan)" curl -s --max-time 3 http://10.255.0.205/; done
echo "LAN client's neighbour table:"
ip -n "$(ns lan)" neigh show 10.255.0.205
echo "node-a eth0 MAC: $(ip -n "$(ns node-a)" -br link show eth0 | awk '{print $3}')"

step "Forwarding: 198.51.100.11 (demo/web, externalTrafficPolicy Local) through node-a, straight to its local pod"
# The LAN client speaks no BGP: it routes the pool to node-a by hand.
ip -n "$(ns lan)" route add 198.51.100.0/24 via 10.255.0.11
for i in 1 2 3; do ip netns exec "$(ns lan)" curl -s --max-time 3 http://198.51.100.11/; done
ctl node-a maglev show 198.51.100.11:80/TCP | head -8 || true

step "BGP: both nodes announce 198.51.100.11 (web has a local pod on each); the router spreads flows by ECMP"
for _ in $(seq 1 300); do
  [ "$(ip -n "$(ns router)" route show 198.51.100.11 | grep -c nexthop)" -ge 2 ] && break
  sleep 0.1
done
ctl node-a bgp show
echo "router's kernel route:"
ip -n "$(ns router)" route show 198.51.100.11
echo "the outside client (172.30.0.2), one connection per source port:"
for i in $(seq 1 8); do
  ip netns exec "$(ns client)" curl -s --max-time 2 --local-port $((41000 + i)) http://198.51.100.11/ || echo "(no answer)"
done | sed "s/:[0-9]*$//" | sort | uniq -c

step "the data plane, from the pinned maps (works with the agent stopped too)"
ctl node-a vip list | head -12
ctl node-a stats | head -20 || true

step "a live edit: a second endpoint for demo/web on node-a (pod-a2:8081); traffic spreads by Maglev"
cat >"$work/config/web-more.yaml" <<'YAML'
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-more
  namespace: demo
  labels: {kubernetes.io/service-name: web}
addressType: IPv4
ports: [{name: http, port: 8081, protocol: TCP}]
endpoints:
- addresses: [10.244.1.11]
  conditions: {ready: true}
  nodeName: node-a
YAML
sleep 0.5
for i in $(seq 1 12); do ip netns exec "$(ns lan)" curl -s --max-time 2 http://198.51.100.11/ || echo "(no answer)"; done | sed "s/:[0-9]*$//" | sort | uniq -c

step "an operator's typo in a pool: the error names file, object and field; traffic keeps flowing"
sed -i 's/198.51.100.10-198.51.100.29/198.51.100.10-198.51.100.299/' "$work/config/pools.yaml"
sleep 0.5
ctl node-a config show || true
ip netns exec "$(ns lan)" curl -s --max-time 3 http://10.255.0.205/

step "agent logs (node-a)"
cat "$work/node-a.log"
