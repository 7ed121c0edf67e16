"""The data plane across nodes with real kernels and sockets: a router spreads VIP flows over three
nodes by ECMP, each node runs ironlb-agent (speaker) with XDP on its fabric uplink, and every node
has one endpoint. A flow reaching a node whose endpoint is elsewhere is GUE-encapsulated to the
endpoint's node, which decapsulates it, delivers it with the client's address intact, and sends the
reply straight to the client as the VIP. Two Services with different VIPs share the endpoints.
Changing the router's multipath route under live connections keeps them alive: every node holds the
same Maglev table, and the endpoint's node holds the flow's record. The lab is dual-stack: one more
Service has an IPv6 VIP over the same pods' IPv6 addresses."""
import json
import os
import signal
import subprocess
import textwrap
import time

import pytest

from lib.agent import BIN, Agent, wait_for
from lib.bgp_lab import Bird
from lib.netns_dp import sh
from lib.netns_dsr import BIG_UDP_SERVER, DsrLab

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root for namespaces and XDP")

PORT, BACKEND_PORT, UDP_PORT = 80, 8080, 5353
BIG_PORT = 5354  # UDP whose answers are fragmented by the pods' kernels
VIP, VIP_INTERNAL = "198.51.100.10", "198.51.100.11"
VIP6 = "2001:db8:100::10"
NODES = 3
# The BIRD variant: the router's BGP (AS numbers as a lab's) and a Service for bulk transfers.
ROUTER_IP, ASN_ROUTER, ASN_NODES = "203.0.113.1", 64500, 64512
VIP_BULK = "198.51.100.12"
IPERF_PORT, HTTP_PORT = 5201, 8000


def config(endpoint_nodes=range(1, NODES + 1)):
    nodes = "".join(textwrap.dedent(f"""
        ---
        apiVersion: v1
        kind: Node
        metadata:
          name: node-{i}
          labels: {{kubernetes.io/hostname: node-{i}}}
        status:
          addresses: [{{type: InternalIP, address: {DsrLab.node_ip(i)}}},
                      {{type: InternalIP, address: "{DsrLab.node_ip6(i)}"}}]
        """) for i in range(1, NODES + 1))
    eps = "".join(f"\n- addresses: [{DsrLab.pod_ip(i)}]\n  conditions: {{ready: true}}\n"
                  f"  nodeName: node-{i}" for i in endpoint_nodes)
    services = ""
    for name in ("web", "web-internal"):
        services += textwrap.dedent(f"""
            ---
            apiVersion: v1
            kind: Service
            metadata: {{name: {name}, namespace: demo}}
            spec:
              type: LoadBalancer
              ports:
              - {{name: http, port: 80, targetPort: 8080, protocol: TCP}}
              - {{name: dns, port: 5353, targetPort: 5353, protocol: UDP}}
              - {{name: big, port: 5354, targetPort: 5354, protocol: UDP}}
            ---
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata:
              name: {name}-1
              namespace: demo
              labels: {{kubernetes.io/service-name: {name}}}
            addressType: IPv4
            ports:
            - {{name: http, port: 8080, protocol: TCP}}
            - {{name: dns, port: 5353, protocol: UDP}}
            - {{name: big, port: 5354, protocol: UDP}}
            endpoints:""") + eps + "\n"
    eps6 = "".join(f"\n- addresses: [\"{DsrLab.pod_ip6(i)}\"]\n  conditions: {{ready: true}}\n"
                   f"  nodeName: node-{i}" for i in endpoint_nodes)
    services += textwrap.dedent("""
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: web6, namespace: demo}
        spec:
          type: LoadBalancer
          ipFamilyPolicy: SingleStack
          ipFamilies: [IPv6]
          ports:
          - {name: http, port: 80, targetPort: 8080, protocol: TCP}
          - {name: dns, port: 5353, targetPort: 5353, protocol: UDP}
          - {name: big, port: 5354, targetPort: 5354, protocol: UDP}
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata:
          name: web6-1
          namespace: demo
          labels: {kubernetes.io/service-name: web6}
        addressType: IPv6
        ports:
        - {name: http, port: 8080, protocol: TCP}
        - {name: dns, port: 5353, protocol: UDP}
        - {name: big, port: 5354, protocol: UDP}
        endpoints:""") + eps6 + "\n"
    return textwrap.dedent("""
        apiVersion: metallb.io/v1beta1
        kind: IPAddressPool
        metadata: {name: lab, namespace: ironlb-system}
        spec:
          addresses: [198.51.100.10/32, 198.51.100.11/32, 198.51.100.12/32, 2001:db8:100::10/128]
        """) + nodes + services


def bird_config():
    """BGP to the router for every node, and the "bulk" Service: iperf3 and a bulk HTTP server on
    pod 3 alone (iperf3's control and data connections must meet one server), so every flow
    entering at node 1 or 2 crosses the tunnel."""
    return textwrap.dedent(f"""
        apiVersion: metallb.io/v1beta2
        kind: BGPPeer
        metadata: {{name: router, namespace: ironlb-system}}
        spec: {{myASN: {ASN_NODES}, peerASN: {ASN_ROUTER}, peerAddress: {ROUTER_IP},
               holdTime: 9s, connectTime: 1s}}
        ---
        apiVersion: metallb.io/v1beta1
        kind: BGPAdvertisement
        metadata: {{name: lab, namespace: ironlb-system}}
        spec: {{ipAddressPools: [lab]}}
        ---
        apiVersion: v1
        kind: Service
        metadata: {{name: bulk, namespace: demo}}
        spec:
          type: LoadBalancer
          ports:
          - {{name: iperf, port: {IPERF_PORT}, targetPort: {IPERF_PORT}, protocol: TCP}}
          - {{name: http, port: {HTTP_PORT}, targetPort: {HTTP_PORT}, protocol: TCP}}
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata:
          name: bulk-1
          namespace: demo
          labels: {{kubernetes.io/service-name: bulk}}
        addressType: IPv4
        ports:
        - {{name: iperf, port: {IPERF_PORT}, protocol: TCP}}
        - {{name: http, port: {HTTP_PORT}, protocol: TCP}}
        endpoints:
        - addresses: [{DsrLab.pod_ip(3)}]
          conditions: {{ready: true}}
          nodeName: node-3
        """)


# An HTTP server for bodies of any size: GET /N answers N bytes of a fixed pattern; POST answers
# who served it, whom it saw, and the length and SHA-256 of the body it received.
BULK_HTTP_SERVER = r'''
import hashlib, http.server, sys
name, port = sys.argv[1], int(sys.argv[2])
PATTERN = bytes(i % 251 for i in range(1 << 16))
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        n = int(self.path.strip("/"))
        self.send_response(200)
        self.send_header("Content-Length", str(n))
        self.end_headers()
        while n:
            chunk = PATTERN[:min(n, len(PATTERN))]
            self.wfile.write(chunk)
            n -= len(chunk)
    def do_POST(self):
        left, h = int(self.headers["Content-Length"]), hashlib.sha256()
        total = left
        while left:
            d = self.rfile.read(min(left, 1 << 16))
            h.update(d)
            left -= len(d)
        body = f"{name} {self.client_address[0]} {total} {h.hexdigest()}\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
srv = http.server.ThreadingHTTPServer(("0.0.0.0", port), H)
print("ready", flush=True)
srv.serve_forever()
'''


def write(path, text):
    with open(path + ".tmp~", "w") as f:
        f.write(text)
    os.rename(path + ".tmp~", path)


def ctl(bpffs, *args):
    r = subprocess.run([os.path.join(BIN, "ironlbctl"), "--bpffs", bpffs, "-j", *args],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def running_lab(tmp_path, extra_args=(), bird=False):
    """The lab with an agent on every node. With `bird`, the router runs BIRD 2 and its ECMP
    routes for the VIPs are what the agents announce over BGP (multipath), instead of static
    ones; the BIRD-only "bulk" Service adds iperf3 and a bulk HTTP server on every pod."""
    obj = os.path.join(os.path.dirname(BIN), "bpf", "xdp_count.bpf.o")
    lab = DsrLab(NODES, xdp_pass_obj=obj if os.path.exists(obj) else None)
    lab.dir = str(tmp_path)
    lab.agents, lab.bpffs, mounts = [], [], []
    confdir = lab.confdir = str(tmp_path / "config")
    os.makedirs(os.path.join(confdir, "status"))
    write(os.path.join(confdir, "lab.yaml"), config())
    services = [("web", VIP), ("web-internal", VIP_INTERNAL), ("web6", VIP6)]
    if bird:
        write(os.path.join(confdir, "bird.yaml"), bird_config())
        services.append(("bulk", VIP_BULK))
    for name, ip in services:
        write(os.path.join(confdir, "status", f"demo_{name}.json"), json.dumps({
            "apiVersion": "ironlb.io/v1alpha1", "kind": "ServiceStatus",
            "service": {"namespace": "demo", "name": name}, "pool": "lab",
            "ingress": [{"ip": ip}]}))
    try:
        lab.build()
        lab.start_servers(BACKEND_PORT)
        lab.start_servers(UDP_PORT)
        lab.start_servers(BIG_PORT, BIG_UDP_SERVER)
        bgp = ()
        if bird:
            # BGP's job from here on: BIRD installs what the agents announce.
            sh("ip", "route", "del", "198.51.100.0/24", ns=lab.router)
            lab.bird = Bird(lab, lab.router, ROUTER_IP, ASN_ROUTER,
                            [(DsrLab.node_ip(i), ASN_NODES) for i in range(1, NODES + 1)])
            lab.start_servers(HTTP_PORT, BULK_HTTP_SERVER)
            for p in lab.pods:
                lab.spawn(p, ["iperf3", "-s", "-p", str(IPERF_PORT)], log=f"iperf3-{p}")
        else:
            bgp = ("--no-bgp",)
        for i, ns in enumerate(lab.nodes, start=1):
            mnt = str(tmp_path / f"bpffs{i}")
            os.makedirs(mnt)
            subprocess.run(["mount", "-t", "bpf", "bpf", mnt], check=True)
            mounts.append(mnt)
            bpffs = mnt + "/ironlb"
            lab.bpffs.append(bpffs)
            workdir = tmp_path / f"node{i}"
            os.makedirs(workdir)
            a = Agent(str(workdir), confdir, node=f"node-{i}", role="speaker", netns=ns,
                      extra=("--interface", "eth0", "--bpffs", bpffs, *bgp, *extra_args))
            lab.agents.append(a.start())
        entries = 9 + (2 if bird else 0)
        for bpffs in lab.bpffs:
            wait_for(lambda: len(ctl(bpffs, "vip", "list")) == entries,
                     what=f"{entries} VIP:port entries")
        # The agents' managed entries for each other's next hops: one made while the other
        # node's agent was still attaching can stay unresolved until the kernel's next try
        # (IPv6 took up to ~5 s here); packets towards that node meanwhile are dropped as
        # drop_no_neigh. The tests below are about what follows.
        for ns in lab.nodes:
            wait_for(lambda: all(state in ("REACHABLE", "STALE", "DELAY", "PROBE")
                                 for state, proto, _ in neighbours(ns).values() if proto == OURS),
                     timeout=30, what=f"{ns}'s next hops to the other nodes resolved")
        yield lab
    finally:
        for a in lab.agents:
            a.stop()
        lab.close()
        for m in mounts:
            subprocess.run(["umount", "-l", m], capture_output=True)


@pytest.fixture
def lab(tmp_path, request):
    """The lab with static ECMP routes; indirect parametrization adds agent arguments."""
    yield from running_lab(tmp_path, tuple(getattr(request, "param", ())))


@pytest.fixture
def bird_lab(tmp_path):
    yield from running_lab(tmp_path, bird=True)


CONNECT = r'''
import socket, sys
seen = []
for i in range(int(sys.argv[3])):
    s = socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET)
    s.settimeout(5)
    s.connect((sys.argv[1], int(sys.argv[2])))
    seen.append(s.makefile().readline().strip())
    s.close()
print("\n".join(seen))
'''

# Each answer's first line; with a 4th argument, followed by the answer's length in bytes.
UDP_ASK = r'''
import socket, sys
seen = []
for i in range(int(sys.argv[3])):
    s = socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(5)
    s.sendto(b"q", (sys.argv[1], int(sys.argv[2])))
    d, peer = s.recvfrom(65535)
    assert peer[0] == sys.argv[1], peer
    seen.append(d.split(b"\n")[0].decode() + (f" {len(d)}" if len(sys.argv) > 4 else ""))
    s.close()
print("\n".join(seen))
'''


def run_client(lab, code, *args):
    out = sh("/usr/bin/python3", "-c", code, *map(str, args), ns=lab.client, timeout=180)
    return [line.split() for line in out.splitlines()]


def reasons(lab):
    total = {}
    for bpffs in lab.bpffs:
        for name, c in ctl(bpffs, "stats")["reasons"].items():
            total[name] = total.get(name, 0) + c["packets"]
    return total


def assert_tcp_crosses_nodes_to_every_pod(lab):
    """60 connections to each of the two VIPs reach all three pods with the client's address,
    and the tunnel carried some of them; returns the nodes' reason counters."""
    for vip in (VIP, VIP_INTERNAL):
        replies = run_client(lab, CONNECT, vip, PORT, 60)
        assert {r[0] for r in replies} == set(lab.pods), (vip, replies)
        assert {r[1] for r in replies} == {lab.client_ip}, "client address preserved"
    r = reasons(lab)
    assert r.get("fwd_encap", 0) > 0 and r.get("decap", 0) > 0, r
    return r


def test_tcp_reaches_endpoints_on_every_node_with_the_client_address(lab):
    r = assert_tcp_crosses_nodes_to_every_pod(lab)
    assert r.get("drop_encap", 0) == 0, r
    # Each node sends to its own pod and encapsulates to the others' nodes.
    backends = {b["backend"]: b for b in ctl(lab.bpffs[0], "backend", "list")}
    assert backends[f"{DsrLab.pod_ip(1)}:{BACKEND_PORT}"]["action"] == "local", backends
    for i in (2, 3):
        b = backends[f"{DsrLab.pod_ip(i)}:{BACKEND_PORT}"]
        assert b["action"] == "encap" and b["node"] == DsrLab.node_ip(i), backends


def test_udp_replies_come_from_the_vip_across_nodes(lab):
    for vip in (VIP, VIP_INTERNAL):
        replies = run_client(lab, UDP_ASK, vip, UDP_PORT, 40)
        assert {r[0] for r in replies} == set(lab.pods), (vip, replies)
        assert {r[1] for r in replies} == {lab.client_ip}


HOLD = r'''
import socket, sys
conns = []
for i in range(int(sys.argv[3])):
    s = socket.socket()
    s.settimeout(5)
    s.connect((sys.argv[1], int(sys.argv[2])))
    conns.append((s, s.makefile().readline().split()[0]))
print(" ".join(p for _, p in conns), flush=True)
sys.stdin.readline()  # the test changes the router's route now
alive = []
for s, pod in conns:
    try:
        s.sendall(b"ping\n")
        alive.append(pod + ("=ok" if s.recv(16) == b"ping\n" else "=bad"))
    except OSError:
        alive.append(pod + "=dead")
print(" ".join(alive), flush=True)
'''


def test_multipath_change_keeps_live_connections(lab):
    p = lab.client_popen(HOLD, VIP, PORT, 40)
    pods = p.stdout.readline().split()
    assert set(pods) == set(lab.pods), pods
    before = reasons(lab)
    lab.set_ecmp([1, 2])  # node 3 leaves the multipath route (still up, as after a BGP flap)
    p.stdin.write("go\n")
    p.stdin.flush()
    result = p.stdout.readline().split()
    assert len(result) == 40 and all(x.endswith("=ok") for x in result), result
    # Flows that entered at node 3 now enter at nodes 1 and 2; pod 3's flows are encapsulated.
    after = reasons(lab)
    assert after.get("fwd_encap", 0) > before.get("fwd_encap", 0), (before, after)
    replies = run_client(lab, CONNECT, VIP, PORT, 40)
    assert {r[0] for r in replies} == set(lab.pods), replies
    lab.set_ecmp([2, 3])
    replies = run_client(lab, CONNECT, VIP, PORT, 40)
    assert {r[0] for r in replies} == set(lab.pods), replies


ECHO_BULK = r'''
import socket, sys, threading
size = int(sys.argv[3])
s = socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET)
s.settimeout(30)
s.connect((sys.argv[1], int(sys.argv[2])))
f = s.makefile("rb")
who = f.readline().split()
data = bytes((i * 7) % 251 for i in range(size))
threading.Thread(target=s.sendall, args=(data,), daemon=True).start()
got = f.read(size)
print(who[0].decode(), who[1].decode(), len(got), got == data)
'''


def echo_until_every_pod_answered(lab, size):
    """Bulk echoes to the VIP until each node's pod has served one (the router and Maglev choose at
    random; up to 40 tries, as 12 missed a pod in about one run of 40), each checked byte for byte
    with the client's address seen by the pod."""
    seen = set()
    for _ in range(40):
        pod, peer, n, same = run_client(lab, ECHO_BULK, VIP, PORT, size)[0]
        assert peer == lab.client_ip and n == str(size) and same == "True", (pod, peer, n, same)
        seen.add(pod)
        if seen == set(lab.pods):
            return
    assert seen == set(lab.pods), seen


def test_full_size_segments_cross_the_encapsulated_path(lab):
    """Client-to-VIP segments of the full 1500-byte MTU, once encapsulated, still fit the fabric;
    the echo checks every byte both ways on connections to every node's endpoint."""
    echo_until_every_pod_answered(lab, 2_000_000)
    assert reasons(lab).get("drop_encap", 0) == 0


def narrow_the_fabric(lab, mtu=1500):
    """The fabric at the clients' own MTU: full-size client packets no longer fit encapsulated."""
    for i, ns in enumerate(lab.nodes, start=1):
        sh("ip", "link", "set", "eth0", "mtu", str(mtu), ns=ns)
        sh("ip", "link", "set", f"n{i}", "mtu", str(mtu), ns=lab.router)
    sh("ip", "link", "set", "br0", "mtu", str(mtu), ns=lab.router)


@pytest.mark.parametrize("lab", [("--tcp-mss-clamp", "off")], indirect=True)
def test_path_mtu_discovery_through_the_vip(lab):
    """With a fabric of the clients' own MTU, full-size segments no longer fit once encapsulated:
    the node answers "fragmentation needed" from the VIP, the client's TCP lowers its segment size
    and the transfer completes -- path-MTU discovery works through the VIP. (MSS clamping, on by
    default, would have the client send segments that fit from the start: off here.)"""
    narrow_the_fabric(lab)
    echo_until_every_pod_answered(lab, 500_000)
    assert reasons(lab).get("tx_icmp_too_big", 0) > 0
    cached = sh("ip", "route", "get", VIP, ns=lab.client)
    assert "mtu 1460" in cached, cached


def test_ping_to_a_vip_is_answered(lab):
    out = sh("ping", "-c", "3", "-i", "0.2", "-W", "2", VIP_INTERNAL, ns=lab.client)
    assert "3 received" in out, out
    assert reasons(lab).get("tx_icmp_echo_reply", 0) >= 3


def test_fragmentation_needed_on_the_reply_path_reaches_the_endpoint(lab):
    """A link towards the client narrower than the endpoints' replies (the router's route to the
    client: MTU 1400): the router's "fragmentation needed" goes to the VIP, a node finds the flow's
    endpoint from the quoted reply and sends it there (through the tunnel if need be), the
    endpoint's kernel lowers its path MTU, and the data still arrives."""
    sh("ip", "route", "add", f"{lab.client_ip}/32", "dev", "r0", "mtu", "lock", "1400",
       ns=lab.router)
    echo_until_every_pod_answered(lab, 300_000)
    assert reasons(lab).get("fwd_icmp_error", 0) > 0
    for pod in lab.pods:
        cached = sh("ip", "route", "get", lab.client_ip, ns=pod)
        assert "mtu 1400" in cached, (pod, cached)


UDP_BIG = r'''
import socket, sys
seen = []
for i in range(int(sys.argv[3])):
    s = socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(5)
    s.sendto(b"x" * 4000, (sys.argv[1], int(sys.argv[2])))  # three fragments at MTU 1500
    d, peer = s.recvfrom(4096)
    assert peer[0] == sys.argv[1], peer
    seen.append(d.decode().strip())
    s.close()
print("\n".join(seen))
'''


def test_fragmented_udp_reaches_one_endpoint(lab):
    """Every fragment of a datagram reaches the same endpoint (which reassembles it and answers),
    across nodes too; without that, the later fragments of most datagrams went elsewhere."""
    replies = run_client(lab, UDP_BIG, VIP, UDP_PORT, 30)
    assert len(replies) == 30
    assert {r[0] for r in replies} == set(lab.pods), replies
    assert {r[1] for r in replies} == {lab.client_ip}
    assert reasons(lab).get("drop_fragment", 0) == 0


def test_ipv6_across_nodes(lab):
    """The IPv6 VIP: TCP and UDP reach the endpoints on every node with the client's address intact,
    through the tunnel over IPv6 for the other nodes' endpoints; replies come from the VIP."""
    replies = run_client(lab, CONNECT, VIP6, PORT, 60)
    assert {r[0] for r in replies} == set(lab.pods), replies
    assert {r[1] for r in replies} == {lab.client_ip6}, "client address preserved"
    replies = run_client(lab, UDP_ASK, VIP6, UDP_PORT, 40)
    assert {r[0] for r in replies} == set(lab.pods), replies
    assert {r[1] for r in replies} == {lab.client_ip6}
    r = reasons(lab)
    assert r.get("fwd_encap", 0) > 0 and r.get("decap", 0) > 0, r
    assert r.get("drop_encap", 0) == 0 and r.get("drop_decap", 0) == 0, r
    backends = {b["backend"]: b for b in ctl(lab.bpffs[0], "backend", "list")}
    for i in (2, 3):
        b = backends[f"[{DsrLab.pod_ip6(i)}]:{BACKEND_PORT}"]
        assert b["action"] == "encap" and b["node"] == DsrLab.node_ip6(i), backends


def test_fragmented_udp_over_ipv6_reaches_one_endpoint(lab):
    """IPv6 datagrams of 4000 bytes leave the client in three fragments (Fragment header); every
    fragment reaches the endpoint of its first one -- across nodes through the tunnel -- which
    reassembles the datagram and answers. Before, IPv6 fragments went to the nodes' kernels, which
    had no route for a VIP but back to the router."""
    replies = run_client(lab, UDP_BIG, VIP6, UDP_PORT, 30)
    assert len(replies) == 30
    assert {r[0] for r in replies} == set(lab.pods), replies
    assert {r[1] for r in replies} == {lab.client_ip6}
    r = reasons(lab)
    assert r.get("drop_fragment", 0) == 0 and r.get("decap", 0) > 0, r


MSS_ECHO = r'''
import socket, sys, threading
size = int(sys.argv[3])
s = socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET)
s.settimeout(30)
s.connect((sys.argv[1], int(sys.argv[2])))
f = s.makefile("rb")
who = f.readline().split()
mss = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG)
data = bytes((i * 7) % 251 for i in range(size))
threading.Thread(target=s.sendall, args=(data,), daemon=True).start()
got = f.read(size)
print(who[0].decode(), mss, got == data)
'''


@pytest.mark.parametrize("vip,clamped", [(VIP, 1500 - 40 - 20 - 20), (VIP6, 1500 - 72 - 40 - 20)])
def test_tcp_mss_is_clamped_to_what_fits_the_tunnel(lab, vip, clamped):
    """With a fabric of the clients' MTU and clamping on (the default, "auto": from the uplink's
    MTU), every VIP connection's SYN-ACK announces at most what fits once encapsulated: the client's
    TCP sends segments that fit from the first one, on connections to every node's endpoint, and
    no node has to answer "fragmentation needed". The client's socket shows the announced MSS less
    the 12 bytes of its timestamp option."""
    narrow_the_fabric(lab)
    seen = set()
    for _ in range(40):
        pod, mss, same = run_client(lab, MSS_ECHO, vip, PORT, 300_000)[0]
        assert same == "True", (pod, mss)
        assert int(mss) == clamped - 12, (pod, mss)
        seen.add(pod)
        if seen == set(lab.pods):
            break
    assert seen == set(lab.pods), seen
    r = {k: v for k, v in reasons(lab).items() if v}
    assert r.get("tcp_mss_clamped", 0) >= len(lab.pods), json.dumps(r)
    assert r.get("tx_icmp_too_big", 0) == 0, r




@pytest.mark.parametrize("vip", [VIP, VIP6])
def test_fragmented_replies_leave_as_the_vip(lab, vip):
    """Answers of 3000 bytes leave the pods' kernels in fragments; every fragment leaves the
    endpoint's node from the VIP (the later ones after the first, which alone carries the ports),
    so the client reassembles each answer. Before, only the first fragment was translated."""
    replies = run_client(lab, UDP_ASK, vip, BIG_PORT, 30, "length")
    assert len(replies) == 30
    assert {r[0] for r in replies} == set(lab.pods), replies
    assert {r[2] for r in replies} == {"3000"}, replies


def neighbours(ns):
    """A node's neighbour entries on its uplink: address -> (state, protocol, managed)."""
    out = {}
    for line in sh("ip", "-d", "neigh", "show", "dev", "eth0", ns=ns).splitlines():
        words = line.split()
        proto = words[words.index("proto") + 1] if "proto" in words else ""
        states = [w for w in words if w.isupper()]
        out[words[0]] = (states[-1] if states else "", proto, "managed" in words)
    return out


OURS = "177"  # dataplane::kNeighbourProtocol


def test_nodes_next_hops_are_kept_in_managed_entries_of_ours_only(lab):
    """Each agent keeps a managed neighbour entry (the kernel resolves it and keeps it resolved)
    for every other node endpoints are encapsulated to, both families, marked as ironlb's,
    wherever the kernel has no entry of its own (it learns one from a peer's ARP or NDP request,
    and keeps it: ironlb leaves those alone; a flush, as a link flap does, removes them all). An
    operator's permanent entry is left as it is, and when a node's endpoints go, only the entries
    ironlb made for it are removed."""
    others = {1: (2, 3), 2: (1, 3), 3: (1, 2)}
    for ns in lab.nodes:
        # Never "complete" (ip retries 10 times): the agent re-creates its entries as they go.
        sh("ip", "neigh", "flush", "dev", "eth0", ns=ns, check=False)
    for i, ns in enumerate(lab.nodes, start=1):
        want = [DsrLab.node_ip(j) for j in others[i]] + [DsrLab.node_ip6(j) for j in others[i]]
        wait_for(lambda: all(neighbours(ns).get(a, ("",))[0] == "REACHABLE" for a in want),
                 what=f"node {i}'s entries for the other nodes resolved")
        have = neighbours(ns)
        for a in want:
            assert have[a][1:] == (OURS, True), (i, a, have)
    # An operator pins node 3's MAC on node 1 by hand: not ironlb's, never touched.
    n1, n3_ip = lab.nodes[0], DsrLab.node_ip(3)
    mac3 = sh("cat", "/sys/class/net/eth0/address", ns=lab.nodes[2]).strip()
    sh("ip", "neigh", "replace", n3_ip, "dev", "eth0", "lladdr", mac3, "nud", "permanent",
       "proto", "static", ns=n1)
    # Node 3's endpoints go: nothing is encapsulated to node 3 any more.
    write(os.path.join(lab.confdir, "lab.yaml"), config(endpoint_nodes=(1, 2)))
    n2 = lab.nodes[1]
    wait_for(lambda: n3_ip not in neighbours(n2) and DsrLab.node_ip6(3) not in neighbours(n2),
             what="node 2's entries for node 3 removed")
    assert neighbours(n2)[DsrLab.node_ip(1)][1:] == (OURS, True)
    wait_for(lambda: DsrLab.node_ip6(3) not in neighbours(n1), what="node 1's own entry removed")
    assert neighbours(n1)[n3_ip] == ("PERMANENT", "static", False), neighbours(n1)
    assert neighbours(n1)[DsrLab.node_ip(2)][1:] == (OURS, True)


def test_flows_cross_nodes_right_after_a_link_flap(lab):
    """A flap of node 1's uplink flushes its neighbour entries, the other nodes' included, and XDP
    cannot resolve them itself. The agent re-creates them as they go and has the kernel ask again
    the moment the link is back, so UDP that node 1 sends on to the other nodes' endpoints right
    after the flap all arrives; before, every such datagram was dropped until the agent's next
    5-second probe."""
    lab.set_ecmp([1])  # every flow enters at node 1: two in three cross to another node
    run_client(lab, UDP_ASK, VIP, UDP_PORT, 10)
    before = reasons(lab)
    sh("ip", "link", "set", "n1", "down", ns=lab.router)
    wait_for(lambda: not neighbours(lab.nodes[0]).get(DsrLab.node_ip(2), ("",))[0] == "REACHABLE",
             what="node 1's entries flushed")
    sh("ip", "link", "set", "n1", "up", ns=lab.router)
    replies = run_client(lab, UDP_ASK, VIP, UDP_PORT, 30)  # fails on the first lost datagram
    assert {r[0] for r in replies} == set(lab.pods), replies
    after = reasons(lab)
    assert after.get("fwd_encap", 0) > before.get("fwd_encap", 0), (before, after)
    assert after.get("drop_no_neigh", 0) == 0, after
    assert neighbours(lab.nodes[0])[DsrLab.node_ip(2)][1:] == (OURS, True)


# Drops the ARP requests and Neighbor Solicitations a node receives, so that the others' entries
# for it cannot resolve while it is in place.
HOLD_RESOLUTION = """
table arp ironlb_hold {
  chain in {
    type filter hook input priority 0;
    arp operation request drop
  }
}
table ip6 ironlb_hold {
  chain in {
    type filter hook input priority -300;
    icmpv6 type nd-neighbor-solicit drop
  }
}
"""

# Every question sent at once, each from its own socket (a new flow), then every answer awaited:
# "udp" sends one datagram each, "tcp" connects each. Prints who answered and whom they saw.
FIRST_PACKETS = r"""
import socket, sys, threading
vip, port, n, kind = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
family = socket.AF_INET6 if ":" in vip else socket.AF_INET
answers, errors = [None] * n, []
def ask(i):
    try:
        s = socket.socket(family, socket.SOCK_DGRAM if kind == "udp" else socket.SOCK_STREAM)
        s.settimeout(5)
        if kind == "udp":
            s.sendto(b"q", (vip, port))
            d, peer = s.recvfrom(65535)
            assert peer[0] == vip, peer
            answers[i] = d.split(b"\n")[0].decode()
        else:
            s.connect((vip, port))
            answers[i] = s.makefile().readline().strip()
        s.close()
    except Exception as e:
        errors.append(f"{i}: {e!r}")
threads = [threading.Thread(target=ask, args=(i,)) for i in range(n)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("\n".join(errors) if errors else "\n".join(answers))
"""


def hold_resolution_and_flush(lab):
    """Node 1's neighbour entries flushed while the other nodes do not answer ARP or NDP: every
    next hop towards them is unresolved. Returns the hold to release (a callable)."""
    others = lab.nodes[1:]

    def release():
        for ns in others:
            sh("nft", "delete", "table", "arp", "ironlb_hold", ns=ns, check=False)
            sh("nft", "delete", "table", "ip6", "ironlb_hold", ns=ns, check=False)
    try:
        for ns in others:
            sh("nft", "-f", "-", ns=ns, input=HOLD_RESOLUTION)
        sh("ip", "neigh", "flush", "dev", "eth0", ns=lab.nodes[0], check=False)
        hops = [DsrLab.node_ip(i) for i in (2, 3)] + [DsrLab.node_ip6(i) for i in (2, 3)]
        have = neighbours(lab.nodes[0])
        assert all(have.get(a, ("",))[0] not in ("REACHABLE", "STALE", "DELAY", "PROBE")
                   for a in hops), have
    except BaseException:
        release()
        raise
    return release


def assert_first_packets_cross_nodes_while_resolving(lab):
    """With node 1's next hops unresolved, the first UDP datagram and TCP SYN of each new flow
    (IPv4 and IPv6) are delivered across nodes and answered, by way of the hand-off to tc."""
    before = reasons(lab)
    release = hold_resolution_and_flush(lab)
    try:
        clients = [(vip, kind, lab.client_popen(FIRST_PACKETS, vip, port, 12, kind))
                   for vip in (VIP, VIP6)
                   for kind, port in (("udp", UDP_PORT), ("tcp", PORT))]
        time.sleep(0.5)
    finally:
        release()
    for vip, kind, p in clients:
        out, _ = p.communicate(timeout=30)
        answers = [line.split() for line in out.splitlines()]
        assert answers and all(len(a) == 2 and a[0] in lab.pods for a in answers), (vip, kind, out)
        client = lab.client_ip6 if ":" in vip else lab.client_ip
        assert {a[1] for a in answers} == {client}, (vip, kind, out)
        assert {a[0] for a in answers} - {lab.pods[0]}, (vip, kind, "no flow crossed nodes", out)
    after = reasons(lab)
    assert after.get("fwd_encap_resolve", 0) > before.get("fwd_encap_resolve", 0), after
    assert after.get("drop_no_neigh", 0) == before.get("drop_no_neigh", 0), after
    assert after.get("drop_no_tc_ingress", 0) == before.get("drop_no_tc_ingress", 0), after


def test_first_packets_cross_nodes_while_the_next_hop_resolves(lab):
    """A fresh neighbour table on node 1 (flushed, as after a reboot or a link flap), with the other
    nodes not answering ARP or NDP for half a second: every flow node 1 sends to another node's
    endpoint meets an unresolved next hop. XDP cannot queue while the kernel resolves; it hands the
    encapsulated frame to tc, whose bpf_redirect_neigh queues it until the entry resolves. So the
    very first UDP datagram and TCP SYN of each flow are delivered and answered, IPv4 and IPv6,
    and nothing is dropped as drop_no_neigh (before, each such first packet was: no UDP answer)."""
    lab.set_ecmp([1])  # every flow enters at node 1: two in three cross to another node
    assert_first_packets_cross_nodes_while_resolving(lab)


def tc_ingress_attached(ns):
    return "tc_lb_ingress" in sh("tc", "filter", "show", "dev", "eth0", "ingress", ns=ns)


def iface_list(lab, i):
    """`ironlbctl iface list` for node i, run in its namespace (interfaces are per namespace)."""
    out = sh(os.path.join(BIN, "ironlbctl"), "--bpffs", lab.bpffs[i - 1], "-j", "iface", "list",
             ns=lab.nodes[i - 1], timeout=30)
    return {e["interface"]: e for e in json.loads(out)}


def api_get(agent, path):
    out = subprocess.run(["curl", "-s", "--unix-socket", agent.sock, "http://agent" + path],
                         capture_output=True, text=True, timeout=30, check=True).stdout
    return json.loads(out)


def test_a_removed_tc_ingress_filter_is_put_back_and_hand_offs_work_again(lab):
    """Someone deletes ironlb's tc ingress filter on node 1's uplink while it runs. The agent checks
    its tc hooks every second: the filter is back within a few seconds (logged, counted in
    ironlb_dataplane_tc_reattached_total, shown by `ironlbctl iface list` and /v1/dataplane), and
    the first packets of flows whose next hop is resolving cross nodes again."""
    lab.set_ecmp([1])
    n1, agent = lab.nodes[0], lab.agents[0]
    assert tc_ingress_attached(n1)
    sh("tc", "filter", "del", "dev", "eth0", "ingress", ns=n1)
    wait_for(lambda: tc_ingress_attached(n1), timeout=15, what="tc_lb_ingress attached again")
    wait_for(lambda: 'ironlb_dataplane_tc_reattached_total{hook="ingress",interface="eth0"} 1'
             in agent.metrics(), timeout=15, what="the reattachment counted")
    assert 'ironlb_dataplane_tc_attached{hook="ingress",interface="eth0"} 1' in agent.metrics()
    tc = {t["name"]: t for t in api_get(agent, "/v1/dataplane")["tc"]}
    assert tc["eth0"]["ingress"] and tc["eth0"]["egress"], tc
    assert tc["eth0"]["reattached"]["ingress"] == 1 and tc["eth0"]["ingress_vouched_ms"] > 0, tc
    row = iface_list(lab, 1)["eth0"]
    assert row["tc"] == {"ingress": True, "egress": True} and row["ingress_vouched_ms"] > 0, row
    assert "tc ingress: ironlb's program was missing" in agent.logs()
    assert_first_packets_cross_nodes_while_resolving(lab)


def agent_pid(agent):
    """The agent's own PID: `ip netns exec` may run it as its child."""
    pid = agent.proc.pid
    for _ in range(3):
        with open(f"/proc/{pid}/comm") as f:
            if f.read().strip() == "ironlb-agent":
                return pid
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            children = f.read().split()
        assert len(children) == 1, (pid, children)
        pid = int(children[0])
    raise AssertionError("ironlb-agent not found under " + str(agent.proc.pid))


def test_a_stopped_agent_lets_the_vouch_lapse_and_xdp_drops_by_name(lab):
    """Node 1's agent is stopped (SIGSTOP: hung) and cannot vouch for its tc ingress filter any
    more. Once the vouch lapses (10 s) and the filter is gone, XDP no longer hands frames whose next
    hop is unresolved to tc, where the kernel would drop them unseen while counting them as handed
    off: it drops them as drop_no_tc_ingress, and fwd_encap_resolve stays flat. Resumed, the agent
    attaches the filter again and the hand-off works."""
    lab.set_ecmp([1])
    n1 = lab.nodes[0]
    pid = agent_pid(lab.agents[0])
    os.kill(pid, signal.SIGSTOP)
    try:
        wait_for(lambda: iface_list(lab, 1)["eth0"]["ingress_vouched_ms"] < 0, timeout=25,
                 what="node 1's tc_lb_ingress vouch lapsed")
        sh("tc", "filter", "del", "dev", "eth0", "ingress", ns=n1)
        row = iface_list(lab, 1)["eth0"]
        assert row["tc"]["ingress"] is False and row["tc"]["egress"] is True, row
        before = reasons(lab)
        release = hold_resolution_and_flush(lab)
        try:
            p = lab.client_popen(FIRST_PACKETS, VIP, UDP_PORT, 12, "udp")
            p.communicate(timeout=30)  # some answer (node 1's own pod), the rest time out
        finally:
            release()
        after = reasons(lab)
        assert after.get("drop_no_tc_ingress", 0) > before.get("drop_no_tc_ingress", 0), after
        assert after.get("fwd_encap_resolve", 0) == before.get("fwd_encap_resolve", 0), after
    finally:
        os.kill(pid, signal.SIGCONT)
    wait_for(lambda: tc_ingress_attached(n1), timeout=15, what="tc_lb_ingress attached again")
    wait_for(lambda: iface_list(lab, 1)["eth0"]["ingress_vouched_ms"] > 0, timeout=15,
             what="the vouch renewed")
    # The resumed agent re-creates its managed neighbour entries; then hand-offs work again.
    wait_for(lambda: all(state in ("REACHABLE", "STALE", "DELAY", "PROBE")
                         for state, proto, _ in neighbours(n1).values() if proto == OURS),
             timeout=30, what="node 1's next hops resolved again")
    assert_first_packets_cross_nodes_while_resolving(lab)


def encap_bytes(lab):
    """Bytes the nodes have sent through the tunnel so far."""
    return sum(ctl(b, "stats")["reasons"].get("fwd_encap", {}).get("bytes", 0) for b in lab.bpffs)


def bird_paths(lab, vip):
    out = sh("ip", "route", "show", vip, ns=lab.router)
    return out if "proto bird" in out and out.count("nexthop") == NODES else ""


def test_bird_ecmp_from_the_agents_carries_tcp_across_nodes(bird_lab):
    """The router is BIRD 2: the VIPs' routes are what the three agents announce over BGP, merged
    into one multipath route. Real TCP through it reaches the endpoints on every node with the
    client's address intact, the tunnel carrying the flows that enter away from their endpoint."""
    lab = bird_lab
    for vip in (VIP, VIP_INTERNAL, VIP_BULK):
        wait_for(lambda: bird_paths(lab, vip), timeout=60, what=f"BIRD's three paths to {vip}")
    for i in range(1, NODES + 1):
        assert DsrLab.node_ip(i) in bird_paths(lab, VIP)
    r = assert_tcp_crosses_nodes_to_every_pod(lab)
    assert r.get("drop_encap", 0) == 0 and r.get("drop_no_neigh", 0) == 0, r


HTTP_BULK = r'''
import hashlib, sys, urllib.request
url, size = sys.argv[1], int(sys.argv[2])
pattern = bytes(i % 251 for i in range(1 << 16))
body = (pattern * (size // len(pattern) + 1))[:size]
web = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # straight to the VIP
with web.open(urllib.request.Request(url, data=body), timeout=60) as r:
    print(r.read().decode().strip(), hashlib.sha256(body).hexdigest())
with web.open(f"{url}{size}", timeout=60) as r:
    got = r.read()
print(len(got), got == body)
'''


def test_bird_full_mtu_iperf3_and_large_http_bodies_cross_the_tunnel(bird_lab):
    """Full-size segments (MSS 1460: the clients' 1500-byte MTU) through BIRD's multipath route:
    iperf3 both ways and 8 MB HTTP bodies up and down, against pod 3, each run repeated until
    it entered at node 1 or 2 (ECMP chooses by the flow) so that the tunnel carried it."""
    lab = bird_lab
    wait_for(lambda: bird_paths(lab, VIP_BULK), timeout=60, what="BIRD's three paths")
    crossed = {"iperf3": False, "iperf3 -R": False, "http": False}
    for _ in range(8):
        for kind in [k for k, done in crossed.items() if not done]:
            before = encap_bytes(lab)
            if kind.startswith("iperf3"):
                args = ["iperf3", "-c", VIP_BULK, "-p", str(IPERF_PORT), "-t", "2", "-J"]
                out = json.loads(sh(*args, *(["-R"] if kind.endswith("-R") else []),
                                    ns=lab.client, timeout=60))
                assert "error" not in out, out.get("error")
                assert out["start"]["tcp_mss_default"] == 1460 - 12, out["start"]
                sent, got = out["end"]["sum_sent"]["bytes"], out["end"]["sum_received"]["bytes"]
                # What was still in flight when the sender stopped counting is not received.
                assert 1_000_000 < got <= sent, (kind, sent, got)
                moved = got
            else:
                size = 8 << 20
                out = sh("/usr/bin/python3", "-c", HTTP_BULK, f"http://{VIP_BULK}:{HTTP_PORT}/",
                         str(size), ns=lab.client, timeout=120).split()
                pod, peer, n, digest, want, n_back, same = out
                assert (pod, peer, int(n), digest) == (lab.pods[2], lab.client_ip, size, want), out
                assert (int(n_back), same) == (size, "True"), out
                moved = size
            # Client-to-pod bytes go through the tunnel (pod-to-client ones leave node 3 straight).
            if kind != "iperf3 -R" and encap_bytes(lab) - before >= moved:
                crossed[kind] = True
            if kind == "iperf3 -R" and encap_bytes(lab) - before > 0:
                crossed[kind] = True  # its ACKs entered away from node 3
        if all(crossed.values()):
            break
    assert all(crossed.values()), crossed
    r = reasons(lab)
    assert r.get("drop_encap", 0) == 0 and r.get("tx_icmp_too_big", 0) == 0, r
