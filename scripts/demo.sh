#!/usr/bin/env bash
# The main job on the embedded default: build a lab of network namespaces (scripts/lab.sh), run
# ironlb-agent on three nodes with the configuration in examples/, send real traffic to the VIPs
# and show where it went; then kill the Layer 2 owner and a BGP node and show traffic moving while
# held connections survive. Everything runs inside namespaces this script creates, and is removed
# on exit (also on failure or Ctrl-C). Needs root.
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
work="$(mktemp -d /tmp/ironlb-demo.XXXXXX)"
started=$(date +%s.%N)
pids=()
holders=()
declare -A agent_pid
mounts=()
cleanup() {
  set +e
  trap - EXIT INT TERM
  for p in "${holders[@]}" "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${holders[@]}" "${pids[@]}"; do wait "$p" 2>/dev/null; done
  lab_down
  for m in "${mounts[@]}"; do umount "$m" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'echo; echo "demo: interrupted, cleaning up"; exit 130' INT TERM

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
ns() { lab_ns "$1"; }
ctl() { local node=$1; shift; "$bin/ironlbctl" --api-socket "$work/$node.sock" --bpffs "$work/bpf-$node" "$@"; }
client() { local where=$1; shift; ip netns exec "$(ns "$where")" /usr/bin/python3 "$root/scripts/lab_client.py" "$@"; }
now() { date +%s.%N; }
ingress() {  # ingress VIP: which nodes' XDP took the VIP's packets in since the last look
  local specs=() n
  for n in $(lab_nodes); do specs+=("node-$n=$work/bpf-node-$n"); done
  /usr/bin/python3 "$root/scripts/lab_client.py" ingress "$work/ingress-$1" "$1" "$bin/ironlbctl" "${specs[@]}"
}
sent_total=0 failed_total=0
requests() {  # requests WHERE http|udp VIP PORT N: a batch of requests, tallied for the summary
  local out
  out=$(client "$@")
  echo "$out"
  sent_total=$((sent_total + $(awk '/ sent, / {print $1}' <<<"$out")))
  failed_total=$((failed_total + $(awk '/ sent, / {print $5}' <<<"$out")))
}
elapsed() { /usr/bin/python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$1" "$2"; }
wait_until() {  # wait_until WHAT SECONDS CMD...: poll CMD every 20 ms
  local what=$1 secs=$2 n
  shift 2
  for n in $(seq 1 $((secs * 50))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.02; done
  echo "demo: timed out waiting for $what"
  for n in "$work"/node-*.log; do echo "--- $n"; tail -20 "$n"; done
  exit 1
}
paths() {  # how many next hops the router's kernel holds for a VIP
  local out
  out=$(ip -n "$(ns router)" "$1" route show "$2")
  if grep -q nexthop <<<"$out"; then grep -c nexthop <<<"$out"; elif [ -n "$out" ]; then echo 1; else echo 0; fi
}
has_nexthops() { [ "$(paths "$1" "$2")" -eq "$3" ]; }
mac_of() { ip -n "$(ns "$1")" -br link show eth0 | awk '{print $3}'; }
lan_mac_for() { ip -n "$(ns lan)" neigh show "$1" | awk '{for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1)}'; }
node_with_mac() { local n; for n in $(lab_nodes); do [ "$(mac_of "node-$n")" = "$1" ] && echo "node-$n"; done; }
l2_owner() { ctl "$1" -j l2 show | /usr/bin/python3 -c \
  "import json,sys; print({v['vip']: v['owner'] for v in json.load(sys.stdin)['vips']}.get('$2', ''))"; }
owner_is() { [ "$(l2_owner "$1" "$2")" = "$3" ]; }
lan_resolves_to() { [ "$(lan_mac_for "$1")" = "$(mac_of "$2")" ]; }
held_ok() {  # every held connection answering, the last tally newer than the kill
  /usr/bin/python3 -c "
import json, sys, time
d = json.load(open(sys.argv[1]))
ok = all(not c['dead'] and d['at'] - c['last_ok'] < 0.5 for c in d['conns'])
sys.exit(0 if ok and d['at'] > float(sys.argv[2]) else 1)" "$1" "$2"
}
held_summary() { /usr/bin/python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
c = d['conns']
print(f\"{sum(not x['dead'] for x in c)}/{len(c)} alive, {sum(x['failed'] for x in c)} echoes failed\")" "$1"; }

VIP4=198.51.100.11 VIP6=2001:db8:100::1 L2VIP4=10.255.0.205 L2VIP6=fd00:255::205 DNSVIP=198.51.100.10

step "lab: outside client, router (BIRD, ECMP), LAN client, node-a/b/c, two pods per node (namespaces il-*-$LAB_ID)"
lab_up
cp -r "$root/examples" "$work/config"
# Heartbeats between the agents are sealed with a key the nodes share: a fresh one per run.
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$work/l2.key"
chmod 600 "$work/l2.key"
# The router speaks BGP to the three nodes over IPv4 and IPv6 (AS 64500 <-> 64512, as
# examples/pools.yaml's BGPPeers say) and installs what it learns into its kernel, equal paths
# merged into one multipath route.
{
  echo "router id 10.255.0.1;"
  echo "protocol device {}"
  echo "protocol kernel { ipv4 { export all; }; merge paths on; }"
  echo "protocol kernel { ipv6 { export all; }; merge paths on; }"
  i=0
  for n in $(lab_nodes); do
    i=$((i + 1))
    echo "protocol bgp node_${n}4 { neighbor 10.255.0.1$i as 64512; local as 64500; ipv4 { import all; export none; }; }"
    echo "protocol bgp node_${n}6 { neighbor fd00:255::1$i as 64512; local as 64500; ipv6 { import all; export none; }; }"
  done
} >"$work/bird.conf"
ip netns exec "$(ns router)" bird -f -c "$work/bird.conf" -s "$work/bird.ctl" >"$work/bird.log" 2>&1 &
pids+=($!)
for n in $(lab_nodes); do
  for p in 1 2; do
    ip netns exec "$(ns "pod-$n$p")" /usr/bin/python3 "$root/scripts/lab_pod_server.py" "pod-$n$p" &
    pids+=($!)
  done
done

step "ironlb-agent on every node: node-a runs the controller too; XDP on eth0, BGP to the router, L2 heartbeats"
for n in $(lab_nodes); do
  node="node-$n"
  role=speaker
  [ "$node" = node-a ] && role=all
  # bpffs mounted in the root mount namespace so pins outlive the agent and ironlbctl sees them.
  mkdir -p "$work/bpf-$node"
  mount -t bpf bpf "$work/bpf-$node"
  mounts+=("$work/bpf-$node")
  ip netns exec "$(ns "$node")" "$bin/ironlb-agent" --node "$node" --config "$work/config" \
    --role "$role" --interface eth0 --bpffs "$work/bpf-$node" --l2-key-file "$work/l2.key" \
    --api-socket "$work/$node.sock" --metrics-addr "" >"$work/$node.log" 2>&1 &
  agent_pid[$node]=$!
  pids+=($!)
done
wait_until "the controller's 6 assignments" 10 bash -c "[ \$(ls '$work'/config/status/*.json | wc -l) -ge 6 ]"
ctl node-a alloc show
wait_until "three BGP paths to $VIP4" 30 has_nexthops -4 "$VIP4" 3
wait_until "three BGP paths to $VIP6" 30 has_nexthops -6 "$VIP6" 3
for n in $(lab_nodes); do wait_until "node-$n to agree on the L2 owner" 10 owner_is "node-$n" "$L2VIP4" "$(l2_owner node-a "$L2VIP4")"; done

step "BGP: every node announces demo/web; the router's kernel spreads flows over three paths (ECMP)"
ctl node-a bgp show
echo
echo "router: ip route show $VIP4 / ip -6 route show $VIP6"
ip -n "$(ns router)" route show "$VIP4"
ip -n "$(ns router)" -6 route show "$VIP6" | sed 's/ proto bird.*//; s/ pref medium//'

step "outside client 172.30.0.2 -> demo/web $VIP4:80 (IPv4, externalTrafficPolicy Cluster), 24 connections"
ingress "$VIP4" >/dev/null
requests client http "$VIP4" 80 24
ingress "$VIP4"
step "outside client fd00:172:30::2 -> demo/web6 [$VIP6]:80 (IPv6), 24 connections"
requests client http "$VIP6" 80 24
step "outside client -> demo/dns-udp $DNSVIP:53/UDP (shares its address with demo/dns-tcp $DNSVIP:53/TCP)"
requests client udp "$DNSVIP" 53 12
echo "... and TCP to the same address, port 53 (demo/dns-tcp):"
requests client http "$DNSVIP" 53 6

step "Layer 2: demo/api $L2VIP4 and [$L2VIP6] (same endpoints as demo/web); one node answers ARP/NDP, in XDP"
ingress "$L2VIP4" >/dev/null
requests lan http "$L2VIP4" 80 12
ingress "$L2VIP4"
requests lan http "$L2VIP6" 80 12
ctl node-a l2 show
owner=$(l2_owner node-a "$L2VIP4")
echo
echo "LAN client's neighbour table (its own kernel resolved the VIPs):"
ip -n "$(ns lan)" neigh show "$L2VIP4"
ip -n "$(ns lan)" -6 neigh show "$L2VIP6"
for n in $(lab_nodes); do echo "node-$n eth0 MAC: $(mac_of "node-$n")"; done
echo "-> the LAN client sends $L2VIP4 to $(node_with_mac "$(lan_mac_for "$L2VIP4")"), the elected owner ($owner)"

step "held connections: 12 from the outside client to $VIP4:9000, 6 from the LAN client to $L2VIP4:9000, each echoing every 100 ms"
ip netns exec "$(ns client)" /usr/bin/python3 "$root/scripts/lab_client.py" hold "$VIP4" 9000 12 "$work/held-bgp.json" &
holders+=($!)
ip netns exec "$(ns lan)" /usr/bin/python3 "$root/scripts/lab_client.py" hold "$L2VIP4" 9000 6 "$work/held-l2.json" &
holders+=($!)
t0=$(now)
wait_until "held connections" 10 held_ok "$work/held-bgp.json" "$t0"
wait_until "held connections" 10 held_ok "$work/held-l2.json" "$t0"
client client held "$work/held-bgp.json"
client client held "$work/held-l2.json"
echo
echo "node-a's view of one held flow (ironlbctl conntrack list, from the pinned maps):"
ctl node-a conntrack list vip "$VIP4:9000" limit 3 2>/dev/null || ctl node-a conntrack list | head -5 || true
port=$(/usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['conns'][0]['local'])" "$work/held-bgp.json")
echo
echo "ironlbctl explain: where node-b would send the first held flow (172.30.0.2:$port), and why:"
ctl node-b explain "$VIP4:9000/TCP" "172.30.0.2:$port" || true

step "FAULT 1: the L2 owner's agent ($owner) is killed (SIGKILL)"
t_kill1=$(now)
{ kill -KILL "${agent_pid[$owner]}"; wait "${agent_pid[$owner]}"; } 2>/dev/null || true
survivors=()
for n in $(lab_nodes); do [ "node-$n" != "$owner" ] && survivors+=("node-$n"); done
new_owner_elected() { local o; o=$(l2_owner "${survivors[0]}" "$L2VIP4"); [ -n "$o" ] && [ "$o" != "$owner" ]; }
wait_until "a new L2 owner" 10 new_owner_elected
new_owner=$(l2_owner "${survivors[0]}" "$L2VIP4")
wait_until "the LAN client's entry to move to $new_owner" 10 lan_resolves_to "$L2VIP4" "$new_owner"
t_l2=$(now)
wait_until "the router to drop $owner's path" 10 has_nexthops -4 "$VIP4" 2
t_bgp1=$(now)
wait_until "held connections after the kill" 10 held_ok "$work/held-l2.json" "$t_l2"
wait_until "held connections after the kill" 10 held_ok "$work/held-bgp.json" "$t_bgp1"
echo "L2 owner moved $owner -> $new_owner; the LAN client's kernel followed the gratuitous ARP" \
  "$(elapsed "$t_kill1" "$t_l2") s after the kill (heartbeats 100 ms x 3)"
echo "router dropped $owner's BGP path $(elapsed "$t_kill1" "$t_bgp1") s after the kill (its TCP session closed):"
ip -n "$(ns router)" route show "$VIP4"
ctl "$new_owner" l2 show
echo
ingress "$L2VIP4" >/dev/null
requests lan http "$L2VIP4" 80 12
ingress "$L2VIP4"
ingress "$VIP4" >/dev/null
requests client http "$VIP4" 80 12
ingress "$VIP4"
client client held "$work/held-bgp.json"
client client held "$work/held-l2.json"

bgp_victim=""
for n in "${survivors[@]}"; do [ "$n" != "$new_owner" ] && bgp_victim=$n; done
step "FAULT 2: a BGP node's agent ($bgp_victim) is killed (SIGKILL); only $new_owner is left"
t_kill2=$(now)
{ kill -KILL "${agent_pid[$bgp_victim]}"; wait "${agent_pid[$bgp_victim]}"; } 2>/dev/null || true
wait_until "the router to drop $bgp_victim's path" 10 has_nexthops -4 "$VIP4" 1
t_bgp2=$(now)
wait_until "held connections after the second kill" 10 held_ok "$work/held-bgp.json" "$t_bgp2"
echo "router dropped $bgp_victim's path $(elapsed "$t_kill2" "$t_bgp2") s after the kill; one path left:"
ip -n "$(ns router)" route show "$VIP4"
ctl "$new_owner" bgp show
echo
ingress "$VIP4" >/dev/null
requests client http "$VIP4" 80 24
ingress "$VIP4"
requests client http "$VIP6" 80 12
client client held "$work/held-bgp.json"
client client held "$work/held-l2.json"

step "an operator's typo in a pool: the error names file, object and field; what serves keeps serving"
sed -i 's/198.51.100.10-198.51.100.29/198.51.100.10-198.51.100.299/' "$work/config/pools.yaml"
sleep 0.5
ctl "$new_owner" config show 2>&1 | grep -i -E "error|pools.yaml" | head -4 || true
requests client http "$VIP4" 80 6

step "summary"
bgp_line=$(held_summary "$work/held-bgp.json")
l2_line=$(held_summary "$work/held-l2.json")
for h in "${holders[@]}"; do kill -TERM "$h" 2>/dev/null; done
cat <<EOF
  nodes                      node-a, node-b, node-c (ironlb-agent each; XDP on eth0, generic mode on veth)
  BGP VIPs                   $VIP4 and $VIP6 (demo/web, web6): ECMP over 3 nodes, client address kept
  L2 VIPs                    $L2VIP4 and $L2VIP6 (demo/api): owner $owner, one MAC answering
  shared address             $DNSVIP: dns-udp (UDP) and dns-tcp (TCP)
  fault 1: kill L2 owner     $owner -> $new_owner; LAN client moved in $(elapsed "$t_kill1" "$t_l2") s; BGP path gone in $(elapsed "$t_kill1" "$t_bgp1") s
  fault 2: kill BGP node     $bgp_victim; BGP path gone in $(elapsed "$t_kill2" "$t_bgp2") s; $new_owner carries everything
  requests (new connections) $sent_total sent, $failed_total failed
  ECMP paths to $VIP4  3 -> 2 -> 1
  held via BGP (outside)     $bgp_line
  held via L2 (LAN)          $l2_line
  wall time                  $(elapsed "$started" "$(now)") s
EOF
