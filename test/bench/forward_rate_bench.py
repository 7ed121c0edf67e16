#!/usr/bin/python3
"""Forwarding rate through a node namespace, ironlb against its peers in the same run.

    client (c0) --- (n0) node (p<i>h) --- (eth0) pod<i>, i = 1..3

The client sends 60-byte frames to a VIP at the rate one CPU can make them (BPF_PROG_TEST_RUN with
live frames, `xdp_pktgen gen`), cycling through N flows (source address and port). The node
forwards them to three endpoint namespaces, whose XDP sink counts and drops them. Modes alternate
in every round, so a busy machine slows all of them alike:

  routing   the node's kernel routes frames sent straight to an endpoint (no load balancing)
  iptables  kube-proxy's iptables rules for a LoadBalancer Service (externalTrafficPolicy Cluster):
            KUBE-SERVICES -> KUBE-EXT (mark for masquerade) -> KUBE-SVC (statistic random) ->
            KUBE-SEP (DNAT), and the masquerade in POSTROUTING
  nftables  kube-proxy's nftables mode: a verdict map on VIP . proto . port, `numgen random mod 3`,
            dnat, and the masquerade on the mark
  min-xdp   the project's minimal XDP DNAT + redirect (test/bench/bpf/min_dnat.bpf.c): the ceiling
  ironlb    the real ironlb-agent (--role speaker) on a standalone configuration, XDP in native
            mode (--xdp-mode native), as on a NIC (next-hop table off, the default)
  ironlb-generic  (only when asked for) the same in generic mode, which the agent picks by itself
            on a veth uplink (kind, minikube)
  ironlb-nhtable  (only when asked for) native, --nexthop-table on: next hops from the agent's table
  ironlb-fib  (only when asked for) native, --nexthop-table off: bpf_fib_lookup for every packet
  ironlb-nocache  (only when asked for) native, --flow-cache-entries 0: every packet reads conntrack
  ironlb-base  (only when asked for, with --baseline-bin DIR) the same as ironlb with DIR's agent
            (another build's data plane, e.g. main's), measured in the same rounds
  min-xdp-ct  (only when asked for) the minimal program plus one per-flow record: an LRU hash
            shaped as ironlb's conntrack (40-byte key, 24-byte value, 262,144 entries), looked up
            for every frame and filled on a miss -- the ceiling of any design that keeps a record
            per flow, as ironlb must
  min-xdp-ct4 (only when asked for) the same with an IPv4-only 16-byte key
  min-xdp-fc  (only when asked for) min-xdp-ct behind a per-CPU two-way cache of IPv4 flows
            (MINDNAT_FC_SETS sets of 64 bytes per CPU, 65536 unless set), the LRU touched once a
            second per flow

With --across the endpoints sit behind a second node (client -- node-1 -- node-2 -- pods): ironlb
encapsulates at node-1 (GUE) and decapsulates at node-2, both in XDP; kube-proxy's rules DNAT at
node-1 and the kernel routes on; min-xdp runs the minimal program on both nodes (node-1 only
forwards to node-2, node-2 DNATs to its pods): no encapsulation and no state, so it bounds what
any XDP data plane can forward on this two-hop path.

The generator, the nodes' work and the sinks all run on the CPU the generator is pinned to (veth
delivers on the sending CPU), so every figure is what one core does; the ratios are the result.

    /usr/bin/python3 test/bench/forward_rate_bench.py --bin build-bench/bin [--rounds 3] [--across]
    (or scripts/bench.sh forward_rate, which builds build-bench/ first)
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap

VIP, PORT, TARGET = "198.51.100.10", 80, 8080
MODES = ("routing", "iptables", "nftables", "min-xdp", "ironlb")
EXTRA_MODES = ("ironlb-generic", "ironlb-nhtable", "ironlb-fib", "ironlb-nocache", "ironlb-base",
               "min-xdp-ct", "min-xdp-ct4", "min-xdp-fc")

IPTABLES = """*nat
:PREROUTING ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-EXT-WEB - [0:0]
:KUBE-SVC-WEB - [0:0]
:KUBE-SEP-1 - [0:0]
:KUBE-SEP-2 - [0:0]
:KUBE-SEP-3 - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0
-A KUBE-POSTROUTING -j MASQUERADE --random-fully
-A KUBE-SERVICES -d {vip}/32 -p {proto} -m {proto} --dport {port} -j KUBE-EXT-WEB
-A KUBE-EXT-WEB -j KUBE-MARK-MASQ
-A KUBE-EXT-WEB -j KUBE-SVC-WEB
-A KUBE-SVC-WEB -m statistic --mode random --probability 0.33333333349 -j KUBE-SEP-1
-A KUBE-SVC-WEB -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-2
-A KUBE-SVC-WEB -j KUBE-SEP-3
-A KUBE-SEP-1 -p {proto} -m {proto} -j DNAT --to-destination {ep1}:{target}
-A KUBE-SEP-2 -p {proto} -m {proto} -j DNAT --to-destination {ep2}:{target}
-A KUBE-SEP-3 -p {proto} -m {proto} -j DNAT --to-destination {ep3}:{target}
COMMIT
"""

NFTABLES = """table ip kube-proxy {{
  map service-ips {{
    type ipv4_addr . inet_proto . inet_service : verdict
    elements = {{ {vip} . {proto} . {port} : goto external-web }}
  }}
  chain nat-prerouting {{
    type nat hook prerouting priority dstnat; policy accept;
    jump services
  }}
  chain services {{
    ip daddr . meta l4proto . th dport vmap @service-ips
  }}
  chain mark-for-masquerade {{
    meta mark set meta mark | 0x4000
  }}
  chain external-web {{
    jump mark-for-masquerade
    goto service-web
  }}
  chain service-web {{
    numgen random mod 3 vmap {{ 0 : goto endpoint-1, 1 : goto endpoint-2, 2 : goto endpoint-3 }}
  }}
  chain endpoint-1 {{
    meta l4proto {proto} dnat to {ep1}:{target}
  }}
  chain endpoint-2 {{
    meta l4proto {proto} dnat to {ep2}:{target}
  }}
  chain endpoint-3 {{
    meta l4proto {proto} dnat to {ep3}:{target}
  }}
  chain nat-postrouting {{
    type nat hook postrouting priority srcnat; policy accept;
    jump masquerading
  }}
  chain masquerading {{
    meta mark & 0x4000 == 0 return
    meta mark set meta mark ^ 0x4000
    masquerade fully-random
  }}
}}
"""


def ironlb_config(endpoints, endpoint_node, nodes):
    """endpoints: their addresses, all on `endpoint_node`; nodes: name -> InternalIP. One node
    answers ARP for the VIP (Layer 2); across nodes the VIP is routed to the entry node, as a
    router does with BGP, and no advertisement is needed."""
    l2 = ("apiVersion: metallb.io/v1beta1\n        kind: L2Advertisement\n        "
          "metadata: {name: bench, namespace: ironlb-system}\n        "
          "spec: {ipAddressPools: [bench]}\n        ---\n        ") if len(nodes) == 1 else ""
    eps = "\n".join(f"- addresses: [{ip}]\n  conditions: {{ready: true}}\n"
                    f"  nodeName: {endpoint_node}" for ip in endpoints)
    node_objs = "".join(textwrap.dedent(f"""
        ---
        apiVersion: v1
        kind: Node
        metadata:
          name: {name}
          labels: {{kubernetes.io/hostname: {name}}}
        status:
          addresses: [{{type: InternalIP, address: {ip}}}]
        """) for name, ip in nodes.items())
    return textwrap.dedent(f"""
        apiVersion: metallb.io/v1beta1
        kind: IPAddressPool
        metadata: {{name: bench, namespace: ironlb-system}}
        spec:
          addresses: [{VIP}/32]
        ---
        {l2}apiVersion: v1
        kind: Service
        metadata: {{name: web, namespace: bench}}
        spec:
          type: LoadBalancer
          ports:
          - {{name: tcp, port: {PORT}, targetPort: {TARGET}, protocol: TCP}}
          - {{name: udp, port: {PORT}, targetPort: {TARGET}, protocol: UDP}}
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata:
          name: web-1
          namespace: bench
          labels: {{kubernetes.io/service-name: web}}
        addressType: IPv4
        ports:
        - {{name: tcp, port: {TARGET}, protocol: TCP}}
        - {{name: udp, port: {TARGET}, protocol: UDP}}
        endpoints:
        """) + eps + "\n" + node_objs


class Bench:
    """One node (`across` false): client -- node-1 -- three endpoints. Across nodes: client --
    node-1 -- node-2 -- three endpoints, so every frame crosses node-1 (the VIP's entry, which
    load-balances) and node-2 (the endpoints' node): kube-proxy DNATs at node-1 and routes on,
    ironlb encapsulates at node-1 and decapsulates at node-2."""

    def __init__(self, args):
        self.args = args
        self.across = args.across
        self.pktgen = os.path.join(args.bin, "xdp_pktgen")
        self.tmp = tempfile.mkdtemp(prefix="ironlb-fwd-")
        self.lab = DataplaneLab(pods=3)
        self.node2 = self.lab.node + "b"
        self.sinks = []
        self.eps = [f"10.{2 if self.across else 1}.{i}.2" for i in (1, 2, 3)]

    def build(self):
        lab = self.lab
        lab.build()
        n = lab.node
        # Frames from the generator are XDP transmits into n0: the kernel modes need GRO there.
        sh("ethtool", "-K", "n0", "gro", "on", ns=n)
        if self.across:
            self._second_node()
        for i, pod in enumerate(lab.pods, start=1):
            node, dev = (self.node2, f"q{i}h") if self.across else (n, f"p{i}h")
            # The sinks drop IPv4, so the node's neighbour entries are fixed, not learnt.
            sh("ip", "neigh", "replace", self.eps[i - 1], "lladdr", lab.mac(pod, "eth0"), "dev",
               dev, "nud", "permanent", ns=node)
            p = subprocess.Popen(["ip", "netns", "exec", pod, self.pktgen, "sink", "eth0"],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            assert p.stdout.readline().strip() == "ready", f"sink in {pod} did not start"
            self.sinks.append(p)
        self.nodes = {"node-1": n} if not self.across else {"node-1": n, "node-2": self.node2}
        self.mounts = {}
        for name in self.nodes:
            self.mounts[name] = os.path.join(self.tmp, "bpffs-" + name)
            os.makedirs(self.mounts[name])
            subprocess.run(["mount", "-t", "bpf", "bpf", self.mounts[name]], check=True)
        self.confdir = os.path.join(self.tmp, "config")
        os.makedirs(os.path.join(self.confdir, "status"))
        addrs = {"node-1": "203.0.113.11", "node-2": "203.0.113.12"} if self.across else \
            {"node-1": "10.0.0.1"}
        with open(os.path.join(self.confdir, "bench.yaml"), "w") as f:
            f.write(ironlb_config(self.eps, "node-2" if self.across else "node-1", addrs))
        # The controller's part, written here: the benchmark is about the speaker's data plane.
        with open(os.path.join(self.confdir, "status", "bench_web.json"), "w") as f:
            json.dump({"apiVersion": "ironlb.io/v1alpha1", "kind": "ServiceStatus",
                       "service": {"namespace": "bench", "name": "web"}, "pool": "bench",
                       "ingress": [{"ip": VIP}]}, f)

    def _second_node(self):
        """node-1's endpoints move behind node-2, reached over a fabric link (f0 -- f0)."""
        lab, n, n2 = self.lab, self.lab.node, self.node2
        sh("ip", "netns", "add", n2)
        lab.namespaces.append(n2)
        sh("ip", "link", "set", "lo", "up", ns=n2)
        sh("ip", "link", "add", "f0", "netns", n, "type", "veth", "peer", "name", "f0", "netns", n2)
        for ns, addr in ((n, "203.0.113.11/24"), (n2, "203.0.113.12/24")):
            sh("ip", "addr", "add", addr, "dev", "f0", ns=ns)
            sh("ip", "link", "set", "f0", "up", ns=ns)
            # Kernel modes: frames node-1's XDP would redirect need GRO (or XDP) at the peer.
            sh("ethtool", "-K", "f0", "gro", "on", ns=ns)
        sh("sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv4.conf.all.rp_filter=0",
           "net.ipv4.conf.default.rp_filter=0", ns=n2)
        sh("ip", "route", "add", "10.0.0.0/24", "via", "203.0.113.11", ns=n2)
        sh("ip", "route", "add", "10.2.0.0/16", "via", "203.0.113.12", ns=n)
        sh("ip", "neigh", "replace", "203.0.113.12", "lladdr", lab.mac(n2, "f0"), "dev", "f0",
           "nud", "permanent", ns=n)
        sh("ip", "neigh", "replace", "203.0.113.11", "lladdr", lab.mac(n, "f0"), "dev", "f0",
           "nud", "permanent", ns=n2)
        for i, pod in enumerate(lab.pods, start=1):
            # The pod's link moves from node-1 to node-2 (new addresses in 10.2.i.0/24).
            sh("ip", "link", "del", f"p{i}h", ns=n)
            sh("ip", "link", "add", f"q{i}h", "netns", n2, "type", "veth", "peer", "name", "eth0",
               "netns", pod)
            sh("ip", "addr", "add", f"10.2.{i}.1/24", "dev", f"q{i}h", ns=n2)
            sh("ip", "link", "set", f"q{i}h", "up", ns=n2)
            sh("ip", "addr", "add", f"10.2.{i}.2/24", "dev", "eth0", ns=pod)
            sh("ip", "link", "set", "eth0", "up", ns=pod)

    def counted(self):
        total = 0
        for p in self.sinks:
            p.stdin.write("count\n")
            p.stdin.flush()
            total += int(p.stdout.readline())
        return total

    def rules(self, template, proto):
        return template.format(vip=VIP, port=PORT, target=TARGET, proto=proto, ep1=self.eps[0],
                               ep2=self.eps[1], ep3=self.eps[2])

    # Each mode's setup returns its teardown.
    def mode_routing(self, proto):
        return lambda: None

    def mode_iptables(self, proto):
        subprocess.run(["ip", "netns", "exec", self.lab.node, "iptables-restore"],
                       input=self.rules(IPTABLES, proto), text=True, check=True)
        return lambda: (sh("iptables", "-t", "nat", "-F", ns=self.lab.node),
                        sh("iptables", "-t", "nat", "-X", ns=self.lab.node))

    def mode_nftables(self, proto):
        subprocess.run(["ip", "netns", "exec", self.lab.node, "nft", "-f", "-"],
                       input=self.rules(NFTABLES, proto), text=True, check=True)
        return lambda: sh("nft", "delete", "table", "ip", "kube-proxy", ns=self.lab.node)

    def mode_min_xdp(self, proto, variant="plain"):
        lab = self.lab
        if self.across and variant != "plain":
            raise SystemExit(f"min-xdp-{variant} measures one node; it has no --across form")
        if not self.across:
            eps = [f"{ip},{TARGET},{lab.mac(pod, 'eth0')},p{i}h"
                   for i, (ip, pod) in enumerate(zip(self.eps, lab.pods), start=1)]
            return self._mindnat(lab.node, "n0", proto, lab.mac(lab.node, "p1h"), eps, variant)
        # Across nodes, the ceiling of any XDP data plane on this path: node-1 only forwards the
        # VIP's frames to node-2 (the same program with one "endpoint" that is the VIP itself, so
        # the rewrite changes nothing but the TTL and the MACs), node-2 DNATs them to its pods.
        # Two minimal programs, no encapsulation, no state.
        stop1 = self._mindnat(lab.node, "n0", proto, lab.mac(lab.node, "f0"),
                              [f"{VIP},{PORT},{lab.mac(self.node2, 'f0')},f0"])
        try:
            eps = [f"{ip},{TARGET},{lab.mac(pod, 'eth0')},q{i}h"
                   for i, (ip, pod) in enumerate(zip(self.eps, lab.pods), start=1)]
            stop2 = self._mindnat(self.node2, "f0", proto, lab.mac(self.node2, "q1h"), eps)
        except BaseException:
            stop1()
            raise
        return lambda: (stop2(), stop1())

    def mode_min_xdp_ct(self, proto):
        return self.mode_min_xdp(proto, variant="ct")

    def mode_min_xdp_ct4(self, proto):
        return self.mode_min_xdp(proto, variant="ct4")

    def mode_min_xdp_fc(self, proto):
        return self.mode_min_xdp(proto, variant="fc")

    def _mindnat(self, ns, dev, proto, src_mac, eps, variant="plain"):
        """The minimal DNAT + redirect program on `dev` in `ns` until the returned stop()."""
        p = subprocess.Popen(["ip", "netns", "exec", ns, self.pktgen, "mindnat", dev, VIP,
                              str(PORT), proto, src_mac, *eps],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                             env=dict(os.environ, MINDNAT_VARIANT=variant))
        assert p.stdout.readline().strip() == "ready", f"mindnat did not attach to {dev} in {ns}"

        def stop():
            p.stdin.close()
            p.wait(timeout=10)
        return stop

    def mode_ironlb_generic(self, proto):
        return self.mode_ironlb(proto, ("--xdp-mode", "generic"))

    def mode_ironlb_nhtable(self, proto):
        return self.mode_ironlb(proto, ("--xdp-mode", "native", "--nexthop-table", "on"))

    def mode_ironlb_fib(self, proto):
        return self.mode_ironlb(proto, ("--xdp-mode", "native", "--nexthop-table", "off"))

    def mode_ironlb_nocache(self, proto):
        return self.mode_ironlb(proto, ("--xdp-mode", "native", "--flow-cache-entries", "0"))

    def mode_ironlb_base(self, proto):
        if not self.args.baseline_bin:
            raise SystemExit("ironlb-base needs --baseline-bin")
        return self.mode_ironlb(proto, agent_bin=self.args.baseline_bin)

    def mode_ironlb(self, proto, flags=("--xdp-mode", "native"), agent_bin=None):
        uplinks = {"node-1": "n0", "node-2": "f0"}
        agents = []
        ctl = os.path.join(self.args.bin, "ironlbctl")
        try:
            for name, ns in self.nodes.items():
                bpffs = self.mounts[name] + "/ironlb"
                agent = Agent(self.tmp, self.confdir, node=name, role="speaker", netns=ns,
                              extra=("--interface", uplinks[name], "--bpffs", bpffs, "--no-bgp",
                                     *flags))
                if agent_bin:  # the command may start with `ip netns exec NS`
                    agent.cmd = [os.path.join(agent_bin, "ironlb-agent")
                                 if os.path.basename(c) == "ironlb-agent" else c
                                 for c in agent.cmd]
                agents.append(agent.start())
                wait_for(lambda: len(json.loads(sh(ctl, "--bpffs", bpffs, "-j", "vip",
                                                   "list"))) == 2, timeout=60,
                         what=f"both VIP:ports on {name}")
        except BaseException:
            self._stop_ironlb(agents)
            raise
        return lambda: self._stop_ironlb(agents)

    def _stop_ironlb(self, agents):
        uplinks = {"node-1": "n0", "node-2": "f0"}
        for a in agents:
            a.stop()
        # The agent leaves its program and pins for a hitless restart; the next mode needs
        # neither.
        for name, ns in self.nodes.items():
            for kind in ("xdp", "xdpgeneric"):
                sh("ip", "link", "set", "dev", uplinks[name], kind, "off", ns=ns, check=False)
            shutil.rmtree(self.mounts[name] + "/ironlb", ignore_errors=True)

    def measure(self, mode, proto, flows):
        lab = self.lab
        teardown = getattr(self, "mode_" + mode.replace("-", "_"))(proto)
        try:
            dst = self.eps[0] if mode == "routing" else VIP
            dport = TARGET if mode == "routing" else PORT
            before = self.counted()
            out = sh("taskset", "-c", str(self.args.cpu), self.pktgen, "gen", "c0",
                     lab.mac(lab.client, "c0"), lab.mac(lab.node, "n0"), "10.0.0.2", dst,
                     str(dport), proto, str(flows), str(self.args.seconds), ns=lab.client)
            sent, elapsed = out.split()
            got = self.counted() - before
            return got / float(elapsed) / 1e6, int(sent) / float(elapsed) / 1e6
        finally:
            teardown()
            # A NAT binding left in conntrack would spare the next mode its own rules.
            sh("conntrack", "-F", ns=lab.node, check=False)

    def close(self):
        for p in self.sinks:
            p.stdin.close()
            p.wait(timeout=10)
        for m in getattr(self, "mounts", {}).values():
            subprocess.run(["umount", "-l", m], capture_output=True)
        self.lab.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default="build-bench/bin", help="a Release build's bin directory")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=2.0, help="per measurement")
    ap.add_argument("--cpu", type=int, default=1, help="the CPU the generator is pinned to")
    ap.add_argument("--flows", default="1,10000,100000")
    ap.add_argument("--protos", default="udp,tcp")
    ap.add_argument("--modes", default=",".join(MODES),
                    help="of " + ", ".join(MODES + EXTRA_MODES))
    ap.add_argument("--across", action="store_true",
                    help="endpoints on a second node: ironlb encapsulates, kube-proxy routes on")
    ap.add_argument("--json", help="write every sample here")
    ap.add_argument("--baseline-bin", help="ironlb-base mode: another build's bin directory")
    args = ap.parse_args()
    args.bin = os.path.abspath(args.bin)
    os.environ["IRONLB_BIN"] = args.bin
    global Agent, wait_for, DataplaneLab, sh
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
    from lib.agent import Agent, wait_for
    from lib.netns_dp import DataplaneLab, sh

    modes = args.modes.split(",")
    samples = {}
    bench = Bench(args)
    try:
        bench.build()
        for r in range(args.rounds):
            for proto in args.protos.split(","):
                for flows in map(int, args.flows.split(",")):
                    for mode in modes:
                        mpps, offered = bench.measure(mode, proto, flows)
                        samples.setdefault((proto, flows, mode), []).append(mpps)
                        print(f"round {r + 1} {proto} {flows:>6} flows {mode:>8}: "
                              f"{mpps:5.2f} Mpps forwarded ({offered:5.2f} offered)", flush=True)
    finally:
        bench.close()

    print("\nmedian Mpps forwarded [min-max], and the ratio to min-xdp and to iptables")
    print(f"{'proto':5} {'flows':>6} " + " ".join(f"{m:>22}" for m in modes))
    for proto in args.protos.split(","):
        for flows in map(int, args.flows.split(",")):
            med = {m: statistics.median(samples[(proto, flows, m)]) for m in modes}
            cells = []
            for m in modes:
                s = samples[(proto, flows, m)]
                cells.append(f"{med[m]:4.2f} [{min(s):4.2f}-{max(s):4.2f}]")
            print(f"{proto:5} {flows:>6} " + " ".join(f"{c:>22}" for c in cells))
            if "ironlb" in med:
                ratios = []
                for peer in ("min-xdp", "iptables", "nftables", "routing"):
                    if med.get(peer):
                        ratios.append(f"{med['ironlb'] / med[peer]:.2f}x {peer}")
                print(f"{'':12} ironlb = " + ", ".join(ratios))
                for variant in EXTRA_MODES:
                    if med.get(variant):
                        print(f"{'':12} {variant} = {med[variant] / med['ironlb']:.2f}x ironlb"
                              + (f", {med[variant] / med['min-xdp']:.2f}x min-xdp"
                                 if variant.startswith("min-xdp-") and med.get("min-xdp") else ""))
    if args.json:
        with open(args.json, "w") as f:
            json.dump([{"proto": p, "flows": n, "mode": m, "mpps": v}
                       for (p, n, m), v in samples.items()], f, indent=1)


if __name__ == "__main__":
    main()
