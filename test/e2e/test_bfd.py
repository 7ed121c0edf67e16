"""BFD (RFC 5880/5881) interop of ironlb's BGP speaker with FRR (bgpd + bfdd) and BIRD 2, in
network namespaces: router -- bridge in a switch namespace -- node. BFD comes Up beside BGP;
when the node's speaker freezes (SIGSTOP) or the node's link goes down, the router withdraws
the node's route because of BFD, long before the 9 s hold timer would. The bridge keeps the
router's own link up, so only BFD can notice a node-side link-down.

The node side is the real ironlb-agent on a standalone configuration (BGPPeer + BFDProfile)."""
import json
import os
import re
import signal
import sys
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from agent import BIN, Agent  # noqa: E402
from bgp_lab import Bird, Lab, same_session, sh, wait_for  # noqa: E402

AGENT = os.path.join(BIN, "ironlb-agent")
HOLD_S = 9
# BFD at 100 ms x 3 detects in about 0.3 s. The bound is generous for a loaded machine, and
# still far below the hold timer, which is what tells BFD from BGP's own detection.
BFD_BOUND_S = 4.0
VIP = "198.51.100.15"
ROUTER_ADDR, NODE_ADDR = "10.0.0.1", "10.0.0.2"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (network namespaces)")


def switched(lab, r, r_addr, n, n_addr):
    """Joins r and n through a bridge in a third namespace; returns the node's device."""
    sw = lab.ns("sw")
    sh("ip", "-n", sw, "link", "add", "br0", "type", "bridge")
    sh("ip", "-n", sw, "link", "set", "br0", "up")
    devs = {}
    for i, (ns_, addr) in enumerate(((r, r_addr), (n, n_addr)), 1):
        inner, outer = f"{lab.tag}e{i}", f"{lab.tag}s{i}"
        sh("ip", "link", "add", inner, "netns", ns_, "type", "veth", "peer", "name", outer,
           "netns", sw)
        sh("ip", "-n", sw, "link", "set", outer, "master", "br0")
        sh("ip", "-n", sw, "link", "set", outer, "up")
        sh("ip", "-n", ns_, "addr", "add", addr, "dev", inner)
        sh("ip", "-n", ns_, "link", "set", inner, "up")
        devs[ns_] = inner
    return devs[n]


def node_config(bfd):
    """The node's standalone configuration; `bfd` "rx,tx,mult" adds a BFDProfile to the peer."""
    peer_bfd, profile = "", ""
    if bfd:
        rx, tx, mult = bfd.split(",")
        peer_bfd = "\n  bfdProfile: fast"
        profile = f"""
---
apiVersion: metallb.io/v1beta1
kind: BFDProfile
metadata: {{name: fast, namespace: ironlb-system}}
spec: {{receiveInterval: {rx}, transmitInterval: {tx}, detectMultiplier: {mult}}}"""
    return f"""
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {{name: public, namespace: ironlb-system}}
spec:
  addresses: [{VIP}/32]
---
apiVersion: metallb.io/v1beta1
kind: BGPAdvertisement
metadata: {{name: public-bgp, namespace: ironlb-system}}
spec:
  ipAddressPools: [public]
---
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {{name: tor, namespace: ironlb-system}}
spec:
  myASN: 64512
  peerASN: 64513
  peerAddress: {ROUTER_ADDR}
  holdTime: {HOLD_S}s
  connectTime: 1s{peer_bfd}{profile}
---
apiVersion: v1
kind: Node
metadata:
  name: node-a
  labels: {{kubernetes.io/hostname: node-a}}
status:
  addresses: [{{type: InternalIP, address: {NODE_ADDR}}}]
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: demo
  annotations: {{metallb.io/loadBalancerIPs: {VIP}}}
spec:
  type: LoadBalancer
  selector: {{app: web}}
  ports: [{{name: http, port: 80, protocol: TCP, targetPort: 8080}}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-1
  namespace: demo
  labels: {{kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{{name: http, port: 8080, protocol: TCP}}]
endpoints:
- addresses: [10.244.1.10]
  conditions: {{ready: true}}
  nodeName: node-a
"""


class Node:
    """ironlb-agent (controller + speaker, no XDP) on the node, with BFD profile "rx,tx,mult"
    (None: no BFD)."""

    def __init__(self, lab, ns_, bfd):
        self.cfg = os.path.join(lab.dir, "config")
        os.makedirs(self.cfg, exist_ok=True)
        self.set_bfd(bfd)
        self.agent = Agent(lab.dir, self.cfg, node="node-a", extra=["--no-dataplane"], netns=ns_)
        lab.agents.append(self.agent)
        self.agent.start()
        self.proc = self.agent.proc

    def status(self):
        """The peer's entry of `ironlbctl bgp show` (never call it while the agent is frozen)."""
        try:
            return self.agent.ctl("bgp", "show")["sessions"][0]
        except (AssertionError, ValueError, KeyError, IndexError, TypeError):
            return {}

    def bfd(self):
        return self.status().get("bfd", {})

    def bfd_settled(self, ms, remote_ms=None):
        """Up, no Poll pending, sending every `ms`, the router sending every `remote_ms`."""
        b = self.bfd()
        return b.get("state") == "Up" and not b.get("poll_active") and \
            b.get("transmit_interval_ms") == ms and \
            b.get("remote_desired_min_tx_ms") == (remote_ms or ms)

    def set_bfd(self, spec):
        path = os.path.join(self.cfg, "metallb.yaml")
        with open(path + ".tmp", "w") as f:
            f.write(node_config(spec))
        os.rename(path + ".tmp", path)


class FrrBfd:
    """FRR zebra + bfdd + bgpd with private sockets; the neighbor uses BFD profile "fast"."""

    def __init__(self, lab, ns_, bfd_ms=100, mult=3, bfd=True):
        self.ns, self.vty = ns_, os.path.join(lab.dir, "frr")
        os.chmod(lab.dir, 0o755)  # the daemons run as user frr and read their configs here
        os.makedirs(self.vty, exist_ok=True)
        os.chmod(self.vty, 0o777)
        bfdd_conf = os.path.join(lab.dir, "bfdd.conf")
        with open(bfdd_conf, "w") as f:
            f.write(f"bfd\n profile fast\n  receive-interval {bfd_ms}\n"
                    f"  transmit-interval {bfd_ms}\n  detect-multiplier {mult}\n !\n!\n")
        bgpd_conf = os.path.join(lab.dir, "bgpd.conf")
        with open(bgpd_conf, "w") as f:
            f.write(f"router bgp 64513\n bgp router-id {ROUTER_ADDR}\n no bgp ebgp-requires-policy\n"
                    f" neighbor {NODE_ADDR} remote-as 64512\n neighbor {NODE_ADDR} timers 3 {HOLD_S}\n"
                    f" neighbor {NODE_ADDR} timers connect 1\n"
                    + (f" neighbor {NODE_ADDR} bfd profile fast\n" if bfd else ""))
        zsock = os.path.join(self.vty, "zserv.api")
        # FRR's vty group (frrvty) must contain the daemon user: run as frr, not root.
        common = ["--vty_socket", self.vty, "-z", zsock, "-u", "frr", "-g", "frr"]
        lab.spawn(ns_, ["/usr/lib/frr/zebra", "-i", os.path.join(self.vty, "zebra.pid"),
                        "-f", "/dev/null"] + common, log="zebra")
        assert wait_for(lambda: os.path.exists(zsock), 10)
        lab.spawn(ns_, ["/usr/lib/frr/bfdd", "-i", os.path.join(self.vty, "bfdd.pid"),
                        "-f", bfdd_conf, "--bfdctl", os.path.join(self.vty, "bfdd.sock")]
                  + common, log="bfdd")
        lab.spawn(ns_, ["/usr/lib/frr/bgpd", "-i", os.path.join(self.vty, "bgpd.pid"),
                        "-f", bgpd_conf, "-p", "179"] + common, log="bgpd")

    def cmd(self, command):
        return sh("ip", "netns", "exec", self.ns, "vtysh", "--vty_socket", self.vty, "-c", command,
                  check=False).stdout

    def json(self, command):
        try:
            return json.loads(self.cmd(command + " json"))
        except ValueError:
            return {}

    def established(self):
        peer = self.json("show bgp neighbors " + NODE_ADDR).get(NODE_ADDR, {})
        return peer.get("bgpState") == "Established"

    def route(self, prefix):
        out = self.cmd(f"show bgp ipv4 unicast {prefix}")
        return out if "Paths:" in out and "not in table" not in out else ""

    def bfd_peer(self):
        peers = self.json("show bfd peers")
        return next((p for p in peers if p.get("peer") == NODE_ADDR), {}) \
            if isinstance(peers, list) else {}

    def bfd_up(self):
        return self.bfd_peer().get("status") == "up"

    def bfd_detail(self):
        return self.cmd("show bfd peers") + self.cmd("show bgp neighbors " + NODE_ADDR)

    def down_by_bfd(self):
        # FRR tells the peer with Cease/BFD Down (RFC 9384) and records that as the reset.
        peer = self.json("show bgp neighbors " + NODE_ADDR).get(NODE_ADDR, {})
        return peer.get("lastResetDueTo") == "BFD down received" or \
            peer.get("lastNotificationReason") == "Cease/BFD Down"


class BirdBfd:
    """BIRD 2 with `protocol bfd` and `bfd on` on the BGP protocol."""

    def __init__(self, lab, ns_, bfd_ms=100, mult=3, bfd=True):
        self.sock = os.path.join(lab.dir, "bird.ctl")
        conf = [f"router id {ROUTER_ADDR};", "protocol device {}",
                "protocol kernel k4 { ipv4 { export all; }; }"]
        if bfd:
            conf.append(f'protocol bfd {{ interface "*" {{ min rx interval {bfd_ms} ms; '
                        f"min tx interval {bfd_ms} ms; multiplier {mult}; }}; }}")
        # Short error wait so the session comes back within the test after BFD took it down.
        conf.append(f"protocol bgp n0 {{ neighbor {NODE_ADDR} as 64512; local as 64513; "
                    f"hold time {HOLD_S}; error wait time 1, 5; connect retry time 1; "
                    f"{'bfd on;' if bfd else ''} ipv4 {{ import all; export none; }}; }}")
        path = os.path.join(lab.dir, "bird.conf")
        with open(path, "w") as f:
            f.write("\n".join(conf) + "\n")
        lab.spawn(ns_, ["/usr/sbin/bird", "-f", "-c", path, "-s", self.sock], log="bird")

    def cmd(self, *args):
        return sh("birdc", "-s", self.sock, *args, check=False).stdout

    def established(self):
        return "Established" in self.cmd("show", "protocols", "n0")

    up_since = Bird.up_since

    def route(self, prefix):
        out = self.cmd("show", "route", "all", "for", prefix)
        return out if prefix.split("/")[0] in out else ""

    def bfd_up(self):
        return any(NODE_ADDR in line and " Up " in line
                   for line in self.cmd("show", "bfd", "sessions").splitlines())

    def bfd_interval(self):
        for line in self.cmd("show", "bfd", "sessions").splitlines():
            if NODE_ADDR in line:
                return line.split()[-2]  # "Interval" column, seconds
        return ""

    def bfd_detail(self):
        return self.cmd("show", "bfd", "sessions") + self.cmd("show", "protocols", "all", "n0")

    def down_by_bfd(self):
        return "BFD session down" in self.cmd("show", "protocols", "all", "n0")


ROUTERS = {
    "frr": (FrrBfd, "/usr/lib/frr/bfdd"),
    "bird": (BirdBfd, "/usr/sbin/bird"),
}


@pytest.fixture
def lab():
    assert os.path.exists(AGENT), f"agent not built: {AGENT}"
    lab_ = Lab()
    lab_.agents = []
    try:
        yield lab_
    finally:
        for a in lab_.agents:
            if a.proc and a.proc.poll() is None:
                a.proc.send_signal(signal.SIGCONT)  # a frozen agent cannot act on SIGTERM
            a.stop()
        lab_.close()


def build_lab(lab, router, bfd_ms=100, mult=3, node_bfd="100,100,3"):
    cls, binary = ROUTERS[router]
    if not os.path.exists(binary):
        pytest.skip(f"needs {binary}")
    r, n = lab.ns("r"), lab.ns("n")
    node_dev = switched(lab, r, f"{ROUTER_ADDR}/24", n, f"{NODE_ADDR}/24")
    rt = cls(lab, r, bfd_ms, mult, bfd=node_bfd is not None)
    node = Node(lab, n, node_bfd)
    assert wait_for(rt.established, 60), rt.bfd_detail()
    assert wait_for(lambda: rt.route(f"{VIP}/32"), 20), rt.bfd_detail()
    return rt, node, n, node_dev


class Failure:
    """Freezes the speaker or downs the node's link; undone on exit, whatever happened."""

    def __init__(self, kind, node, ns_, dev):
        self.kind, self.node, self.ns, self.dev = kind, node, ns_, dev

    def __enter__(self):
        if self.kind == "freeze":
            self.node.proc.send_signal(signal.SIGSTOP)
        else:
            sh("ip", "-n", self.ns, "link", "set", self.dev, "down")
        return time.monotonic()

    def __exit__(self, *exc):
        if self.kind == "freeze":
            self.node.proc.send_signal(signal.SIGCONT)
        else:
            sh("ip", "-n", self.ns, "link", "set", self.dev, "up", check=False)
        return False


@pytest.mark.parametrize("failure", ["freeze", "link_down"])
@pytest.mark.parametrize("router", ["frr", "bird"])
def test_bfd_withdraws_before_hold_timer(lab, router, failure):
    rt, node, n, dev = build_lab(lab, router)
    assert wait_for(rt.bfd_up, 20), rt.bfd_detail()
    assert wait_for(lambda: node.bfd_settled(100), 20), node.status()
    with Failure(failure, node, n, dev) as t0:
        gone = wait_for(lambda: not rt.route(f"{VIP}/32"), BFD_BOUND_S)
        elapsed = time.monotonic() - t0
        detail = rt.bfd_detail()
    print(f"{router}/{failure}: route withdrawn {elapsed * 1000:.0f} ms after the failure")
    assert gone, f"route still present {BFD_BOUND_S} s after {failure} (hold {HOLD_S} s)\n{detail}"
    assert elapsed < HOLD_S, elapsed
    assert rt.down_by_bfd(), detail
    # Afterwards both BFD and BGP recover and the route is back.
    assert wait_for(lambda: rt.route(f"{VIP}/32"), 60), rt.bfd_detail()
    assert wait_for(rt.bfd_up, 30), rt.bfd_detail()
    if failure == "link_down":
        # The node noticed by BFD too, and says why its BGP session went down.
        assert "Control Detection Time Expired" in node.bfd().get("last_down_reason", ""), \
            node.status()


def test_bfd_node_status_reports_negotiation(lab):
    rt, node, _, _ = build_lab(lab, "bird", bfd_ms=200, mult=4)
    assert wait_for(lambda: node.bfd_settled(200), 20), node.status()
    b = node.bfd()
    # Ours: 100 ms x 3 asked; BIRD asks 200 ms both ways, x 4.
    assert b["remote_detect_mult"] == 4, b
    assert b["transmit_interval_ms"] == 200, b       # max(our 100, BIRD's required 200)
    assert b["detection_time_ms"] == 800, b          # 4 x max(our rx 100, BIRD's tx 200)
    assert b["remote_discriminator"] != 0 and b["diag"] == "No Diagnostic", b
    assert node.status()["state"] == "Established"
    # The operator's view: the table and the metric.
    table = node.agent.table("bgp", "show")
    assert re.search(r"Established\s+\S+\s+1/1\s+Up 800ms\s", table), table
    assert wait_for(lambda: f'metallb_bfd_session_up{{peer="{ROUTER_ADDR}"}} 1' in node.agent.metrics(), 5), \
        node.agent.metrics()


def test_bfd_profile_edit_keeps_bgp_session(lab):
    rt, node, _, _ = build_lab(lab, "bird", node_bfd="300,300,3")
    assert wait_for(lambda: node.bfd_settled(300, 100), 20), node.status()
    assert wait_for(lambda: rt.bfd_interval() == "0.300", 10), rt.bfd_detail()
    up_since = rt.up_since()
    node.set_bfd("100,100,3")
    # The router follows the Poll Sequence to 100 ms; neither BFD nor BGP restarts.
    assert wait_for(lambda: rt.bfd_interval() == "0.100", 10), rt.bfd_detail()
    assert wait_for(lambda: node.bfd_settled(100), 10), node.status()
    # BIRD prints "since" to the millisecond and the last digit wobbles between reads.
    assert same_session(rt.up_since(), up_since), rt.cmd("show", "protocols", "n0")
    assert node.bfd()["last_down_reason"] == "", node.bfd()


@pytest.mark.parametrize("router", ["frr", "bird"])
def test_bfd_removed_from_peer_sends_admin_down(lab, router):
    """Dropping bfdProfile from the BGPPeer ends our BFD session with AdminDown (RFC 5880
    6.8.16) and keeps our BGP session. RFC 5882 3.2 says the router should not take AdminDown
    as a failure, but FRR 8.4 and BIRD 2.0.12 both reset BGP on it (observed here), so this
    asserts only what ironlb controls and that BGP and the route are there afterwards."""
    rt, node, _, _ = build_lab(lab, router)
    assert wait_for(rt.bfd_up, 20), rt.bfd_detail()
    assert wait_for(lambda: node.bfd_settled(100), 20), node.status()
    node.set_bfd(None)
    assert wait_for(lambda: node.status() and "bfd" not in node.status(), 10), node.status()
    assert wait_for(lambda: not rt.bfd_up(), 10), rt.bfd_detail()
    if router == "frr":
        assert rt.bfd_peer().get("remote-diagnostic") == "administratively down", rt.bfd_detail()
    assert wait_for(lambda: rt.established() and rt.route(f"{VIP}/32"), 30), rt.bfd_detail()
    time.sleep(1)
    assert not rt.bfd_up(), rt.bfd_detail()  # nothing of ours answers any more
    assert node.status()["state"] == "Established", node.status()


SPOOF = """
import struct, sys
from scapy.all import IP, UDP, Raw, send
ttl, my_discr, your_discr = (int(a) for a in sys.argv[1:4])
# RFC 5880 4.1: version 1, state Down, detect mult 3, 24 bytes, 1 s intervals.
bfd = struct.pack("!BBBBIIIII", 1 << 5, 1 << 6, 3, 24, my_discr, your_discr, 10**6, 10**6, 0)
send(IP(src="%s", dst="%s", ttl=ttl) / UDP(sport=49152, dport=3784) / Raw(bfd), verbose=0)
""" % (ROUTER_ADDR, NODE_ADDR)


def test_bfd_single_hop_drops_ttl_below_255(lab):
    """RFC 5881 section 5: a single-hop packet must arrive with TTL 255, whatever minimumTtl
    says (that field is multihop's). A spoofed Down with the right discriminators and TTL 254
    is dropped and counted; the same packet with TTL 255 does bring the session down, which
    shows the spoof was otherwise good."""
    rt, node, n, _ = build_lab(lab, "bird")
    path = os.path.join(node.cfg, "metallb.yaml")
    with open(path + ".tmp", "w") as f:
        f.write(node_config("100,100,3").replace("detectMultiplier: 3}",
                                                 "detectMultiplier: 3, minimumTtl: 1}"))
    os.rename(path + ".tmp", path)
    assert wait_for(lambda: node.bfd_settled(100), 20), node.status()
    b = node.bfd()
    r = lab.netns[0]

    def spoof(ttl):
        sh("ip", "netns", "exec", r, "/usr/bin/python3", "-c", SPOOF, str(ttl),
           str(b["remote_discriminator"]), str(b["local_discriminator"]))

    for _ in range(5):
        spoof(254)
    time.sleep(0.5)
    assert node.bfd()["state"] == "Up" and node.bfd()["last_down_reason"] == "", node.status()
    drops = node.agent.ctl("bgp", "show")["bfd"]["drops"]
    assert drops.get("ttl not 255", 0) >= 5, drops
    assert node.status()["state"] == "Established" and rt.route(f"{VIP}/32")

    spoof(255)
    assert wait_for(lambda: node.bfd().get("last_down_reason"), 5), node.status()


# ---- measurement, not a pass/fail test: IRONLB_BFD_BENCH=1 pytest -s -k measure ----

BENCH = [("BFD 100ms x 3", 100, "100,100,3"), ("BFD 300ms x 3", 300, "300,300,3"),
         (f"hold timer only ({HOLD_S} s)", 100, None)]


@pytest.mark.bench  # a measurement, not a test: run with IRONLB_BENCH=1 (conftest.py)
@pytest.mark.parametrize("failure", ["freeze", "link_down"])
@pytest.mark.parametrize("router", ["frr", "bird"])
@pytest.mark.parametrize("config", BENCH, ids=["bfd100", "bfd300", "hold"])
def test_measure_failover(lab, router, failure, config):
    name, ms, spec = config
    rt, node, n, dev = build_lab(lab, router, bfd_ms=ms, node_bfd=spec)
    if spec:
        assert wait_for(lambda: node.bfd_settled(ms), 20), node.status()
        assert wait_for(rt.bfd_up, 20)
    time.sleep(1)
    with Failure(failure, node, n, dev) as t0:
        gone = wait_for(lambda: not rt.route(f"{VIP}/32"), 3 * HOLD_S, step=0.01)
        elapsed = time.monotonic() - t0
    line = f"BENCH {router} {failure} {name}: {elapsed * 1000:.0f} ms" if gone else \
        f"BENCH {router} {failure} {name}: not withdrawn in {3 * HOLD_S} s"
    print(line)
    with open(os.environ.get("IRONLB_BFD_BENCH_OUT", "/tmp/ironlb_bfd_bench.txt"), "a") as f:
        f.write(line + "\n")
