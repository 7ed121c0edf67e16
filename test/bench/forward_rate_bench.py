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
            mode (--xdp-mode native), as on a NIC
  ironlb-generic  (only when asked for) the same in generic mode, which the agent picks by itself
            on a veth uplink (kind, minikube)
  ironlb-nhcache  (only when asked for) native, with the next-hop cache on (--nexthop-cache-ms 1)

The generator, the node's work and the sinks all run on the CPU the generator is pinned to (veth
delivers on the sending CPU), so every figure is what one core does; the ratios are the result.

    /usr/bin/python3 test/bench/forward_rate_bench.py --bin build-rel/bin [--rounds 3]
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
EXTRA_MODES = ("ironlb-generic", "ironlb-nhcache")

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
-A KUBE-SEP-1 -p {proto} -m {proto} -j DNAT --to-destination 10.1.1.2:{target}
-A KUBE-SEP-2 -p {proto} -m {proto} -j DNAT --to-destination 10.1.2.2:{target}
-A KUBE-SEP-3 -p {proto} -m {proto} -j DNAT --to-destination 10.1.3.2:{target}
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
    meta l4proto {proto} dnat to 10.1.1.2:{target}
  }}
  chain endpoint-2 {{
    meta l4proto {proto} dnat to 10.1.2.2:{target}
  }}
  chain endpoint-3 {{
    meta l4proto {proto} dnat to 10.1.3.2:{target}
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


def ironlb_config():
    eps = "\n".join(f"- addresses: [10.1.{i}.2]\n  conditions: {{ready: true}}\n  nodeName: node-a"
                    for i in (1, 2, 3))
    return textwrap.dedent(f"""
        apiVersion: metallb.io/v1beta1
        kind: IPAddressPool
        metadata: {{name: bench, namespace: ironlb-system}}
        spec:
          addresses: [{VIP}/32]
        ---
        apiVersion: metallb.io/v1beta1
        kind: L2Advertisement
        metadata: {{name: bench, namespace: ironlb-system}}
        spec:
          ipAddressPools: [bench]
        ---
        apiVersion: v1
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
        """) + eps + "\n"


class Bench:
    def __init__(self, args):
        self.args = args
        self.pktgen = os.path.join(args.bin, "xdp_pktgen")
        self.tmp = tempfile.mkdtemp(prefix="ironlb-fwd-")
        self.lab = DataplaneLab(pods=3)
        self.sinks = []
        self.bpffs = os.path.join(self.tmp, "bpffs")

    def build(self):
        lab = self.lab
        lab.build()
        n = lab.node
        # Frames from the generator are XDP transmits into n0: the kernel modes need GRO there.
        sh("ethtool", "-K", "n0", "gro", "on", ns=n)
        for i, pod in enumerate(lab.pods, start=1):
            # The sinks drop IPv4, so the node's neighbour entries are fixed, not learnt.
            sh("ip", "neigh", "replace", f"10.1.{i}.2", "lladdr", lab.mac(pod, "eth0"), "dev",
               f"p{i}h", "nud", "permanent", ns=n)
            p = subprocess.Popen(["ip", "netns", "exec", pod, self.pktgen, "sink", "eth0"],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            assert p.stdout.readline().strip() == "ready", f"sink in {pod} did not start"
            self.sinks.append(p)
        os.makedirs(self.bpffs)
        subprocess.run(["mount", "-t", "bpf", "bpf", self.bpffs], check=True)
        self.confdir = os.path.join(self.tmp, "config")
        os.makedirs(os.path.join(self.confdir, "status"))
        with open(os.path.join(self.confdir, "bench.yaml"), "w") as f:
            f.write(ironlb_config())
        # The controller's part, written here: the benchmark is about the speaker's data plane.
        with open(os.path.join(self.confdir, "status", "bench_web.json"), "w") as f:
            json.dump({"apiVersion": "ironlb.io/v1alpha1", "kind": "ServiceStatus",
                       "service": {"namespace": "bench", "name": "web"}, "pool": "bench",
                       "ingress": [{"ip": VIP}]}, f)

    def counted(self):
        total = 0
        for p in self.sinks:
            p.stdin.write("count\n")
            p.stdin.flush()
            total += int(p.stdout.readline())
        return total

    # Each mode's setup returns its teardown.
    def mode_routing(self, proto):
        return lambda: None

    def mode_iptables(self, proto):
        rules = IPTABLES.format(vip=VIP, port=PORT, target=TARGET, proto=proto)
        subprocess.run(["ip", "netns", "exec", self.lab.node, "iptables-restore"], input=rules,
                       text=True, check=True)
        return lambda: (sh("iptables", "-t", "nat", "-F", ns=self.lab.node),
                        sh("iptables", "-t", "nat", "-X", ns=self.lab.node))

    def mode_nftables(self, proto):
        rules = NFTABLES.format(vip=VIP, port=PORT, target=TARGET, proto=proto)
        subprocess.run(["ip", "netns", "exec", self.lab.node, "nft", "-f", "-"], input=rules,
                       text=True, check=True)
        return lambda: sh("nft", "delete", "table", "ip", "kube-proxy", ns=self.lab.node)

    def mode_min_xdp(self, proto):
        lab = self.lab
        eps = [f"10.1.{i}.2,{TARGET},{lab.mac(pod, 'eth0')},p{i}h"
               for i, pod in enumerate(lab.pods, start=1)]
        p = subprocess.Popen(["ip", "netns", "exec", lab.node, self.pktgen, "mindnat", "n0", VIP,
                              str(PORT), proto, lab.mac(lab.node, "p1h"), *eps],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert p.stdout.readline().strip() == "ready", "mindnat did not attach"

        def stop():
            p.stdin.close()
            p.wait(timeout=10)
        return stop

    def mode_ironlb_generic(self, proto):
        return self.mode_ironlb(proto, ("--xdp-mode", "generic"))

    def mode_ironlb_nhcache(self, proto):
        return self.mode_ironlb(proto, ("--xdp-mode", "native", "--nexthop-cache-ms", "1"))

    def mode_ironlb(self, proto, flags=("--xdp-mode", "native")):
        agent = Agent(self.tmp, self.confdir, node="node-a", role="speaker", netns=self.lab.node,
                      extra=("--interface", "n0", "--bpffs", self.bpffs + "/ironlb", "--no-bgp",
                             *flags))
        agent.start()
        ctl = os.path.join(self.args.bin, "ironlbctl")
        wait_for(lambda: len(json.loads(sh(ctl, "--bpffs", self.bpffs + "/ironlb", "-j", "vip",
                                           "list"))) == 2, timeout=60, what="both VIP:ports")

        def stop():
            agent.stop()
            # The agent leaves its program and pins for a hitless restart; the next mode needs
            # neither.
            for kind in ("xdp", "xdpgeneric"):
                sh("ip", "link", "set", "dev", "n0", kind, "off", ns=self.lab.node, check=False)
            shutil.rmtree(self.bpffs + "/ironlb", ignore_errors=True)
        return stop

    def measure(self, mode, proto, flows):
        lab = self.lab
        teardown = getattr(self, "mode_" + mode.replace("-", "_"))(proto)
        try:
            dst = "10.1.1.2" if mode == "routing" else VIP
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
        subprocess.run(["umount", "-l", self.bpffs], capture_output=True)
        self.lab.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default="build-rel/bin", help="a Release build's bin directory")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=2.0, help="per measurement")
    ap.add_argument("--cpu", type=int, default=1, help="the CPU the generator is pinned to")
    ap.add_argument("--flows", default="1,10000,100000")
    ap.add_argument("--protos", default="udp,tcp")
    ap.add_argument("--modes", default=",".join(MODES),
                    help="of " + ", ".join(MODES + EXTRA_MODES))
    ap.add_argument("--json", help="write every sample here")
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
                        print(f"{'':12} {variant} = {med[variant] / med['ironlb']:.2f}x ironlb")
    if args.json:
        with open(args.json, "w") as f:
            json.dump([{"proto": p, "flows": n, "mode": m, "mpps": v}
                       for (p, n, m), v in samples.items()], f, indent=1)


if __name__ == "__main__":
    main()
