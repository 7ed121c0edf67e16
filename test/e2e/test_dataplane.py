"""The XDP data plane on one node with real kernels and real sockets: the client resolves VIPs by
ARP and NDP to the node's MAC, TCP and UDP to the VIP land on every endpoint with the client's own
address, removing an endpoint keeps the others' connections, and an agent restart under a stream
of connections loses none. Runs ironlb-agent (--role speaker, with the controller's assignments written by the test) on a standalone config in the node
namespace; maps are pinned on a private bpffs that is unmounted at the end."""
import json
import os
import subprocess
import textwrap
import time

import pytest

from lib.agent import BIN, Agent, wait_for
from lib.netns_dp import DataplaneLab, sh

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root for namespaces and XDP")

PORT, TCP_PORT_BACKEND = 80, 8080
UDP_PORT = 5353
VIP4, VIP6 = "198.51.100.10", "2001:db8:100::10"
VIP4_INTERNAL = "198.51.100.11"  # a second Service on the same endpoints


def config(pods, removed=()):
    eps4 = "\n".join(f"- addresses: [10.1.{i}.2]\n  conditions: {{ready: true}}\n  nodeName: node-a"
                     for i in range(1, pods + 1) if i not in removed)
    eps6 = "\n".join(f"- addresses: ['fd00:1:{i}::2']\n  conditions: {{ready: true}}\n  nodeName: node-a"
                     for i in range(1, pods + 1) if i not in removed)
    return textwrap.dedent("""
        apiVersion: metallb.io/v1beta1
        kind: IPAddressPool
        metadata: {name: lab, namespace: ironlb-system}
        spec:
          addresses: [198.51.100.10/32, 198.51.100.11/32, 2001:db8:100::10/128]
        ---
        apiVersion: metallb.io/v1beta1
        kind: L2Advertisement
        metadata: {name: lab, namespace: ironlb-system}
        spec:
          ipAddressPools: [lab]
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: web, namespace: demo}
        spec:
          type: LoadBalancer
          ports:
          - {name: http, port: 80, targetPort: 8080, protocol: TCP}
          - {name: dns, port: 5353, targetPort: 5353, protocol: UDP}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: web-internal, namespace: demo}
        spec:
          type: LoadBalancer
          ports:
          - {name: http, port: 80, targetPort: 8080, protocol: TCP}
          - {name: dns, port: 5353, targetPort: 5353, protocol: UDP}
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
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata:
          name: web-1
          namespace: demo
          labels: {kubernetes.io/service-name: web}
        addressType: IPv4
        ports:
        - {name: http, port: 8080, protocol: TCP}
        - {name: dns, port: 5353, protocol: UDP}
        endpoints:
        """) + textwrap.indent(eps4, "") + textwrap.dedent("""
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata:
          name: web-internal-1
          namespace: demo
          labels: {kubernetes.io/service-name: web-internal}
        addressType: IPv4
        ports:
        - {name: http, port: 8080, protocol: TCP}
        - {name: dns, port: 5353, protocol: UDP}
        endpoints:
        """) + eps4 + textwrap.dedent("""
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
        endpoints:
        """) + eps6 + "\n"


def write(path, text):
    tmp = path + ".tmp~"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


@pytest.fixture
def lab(tmp_path):
    obj = os.path.join(os.path.dirname(BIN), "bpf", "xdp_count.bpf.o")
    lab = DataplaneLab(pods=2, xdp_pass_obj=obj if os.path.exists(obj) else None)
    bpffs = str(tmp_path / "bpffs")
    os.makedirs(bpffs)
    subprocess.run(["mount", "-t", "bpf", "bpf", bpffs], check=True)
    lab.bpffs = bpffs + "/ironlb"
    lab.confdir = str(tmp_path / "config")
    os.makedirs(lab.confdir)
    write(os.path.join(lab.confdir, "lab.yaml"), config(2))
    # The controller's part, done here: this test is about the speaker's data plane.
    os.makedirs(os.path.join(lab.confdir, "status"))
    for name, ip in (("web", VIP4), ("web-internal", VIP4_INTERNAL), ("web6", VIP6)):
        write(os.path.join(lab.confdir, "status", f"demo_{name}.json"), json.dumps({
            "apiVersion": "ironlb.io/v1alpha1", "kind": "ServiceStatus",
            "service": {"namespace": "demo", "name": name}, "pool": "lab",
            "ingress": [{"ip": ip}]}))
    try:
        lab.build()
        lab.start_servers(TCP_PORT_BACKEND)
        lab.start_servers(UDP_PORT)
        lab.agent = start_agent(lab, tmp_path)
        yield lab
    finally:
        if getattr(lab, "agent", None):
            lab.agent.stop()
        lab.close()
        subprocess.run(["umount", "-l", bpffs], capture_output=True)


def start_agent(lab, tmp_path):
    a = Agent(str(tmp_path), lab.confdir, node="node-a", role="speaker", netns=lab.node,
              extra=("--interface", "n0", "--bpffs", lab.bpffs, "--no-bgp"))
    a.start()
    # Programmed when both services are in the maps.
    wait_for(lambda: len(ctl(lab, "vip", "list")) == 5, what="5 VIP:port entries in the maps")
    return a


def ctl(lab, *args):
    r = subprocess.run([os.path.join(BIN, "ironlbctl"), "--bpffs", lab.bpffs, "-j", *args],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


CONNECT = r'''
import socket, sys
family = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
seen = []
for i in range(int(sys.argv[3])):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect((sys.argv[1], int(sys.argv[2])))
    seen.append(s.makefile().readline().strip())
    s.close()
print("\n".join(seen))
'''

UDP_ASK = r'''
import socket, sys
seen = []
for i in range(int(sys.argv[3])):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(5)
    s.sendto(b"q", (sys.argv[1], int(sys.argv[2])))
    d, peer = s.recvfrom(4096)
    assert peer[0] == sys.argv[1], peer
    seen.append(d.decode().strip())
    s.close()
print("\n".join(seen))
'''


def run_client(lab, code, *args):
    return [l.split() for l in sh(os.environ.get("PYTHON", "/usr/bin/python3"), "-c", code,
                                  *map(str, args), ns=lab.client, timeout=120).splitlines()]


def test_vips_resolve_to_the_node_mac(lab):
    run_client(lab, CONNECT, VIP4, PORT, 1)
    run_client(lab, CONNECT, VIP6, PORT, 1)
    neigh4 = sh("ip", "neigh", "show", VIP4, ns=lab.client)
    neigh6 = sh("ip", "-6", "neigh", "show", VIP6, ns=lab.client)
    mac = lab.node_mac()
    assert mac in neigh4, neigh4
    assert mac in neigh6, neigh6
    stats = ctl(lab, "stats")["reasons"]
    assert stats["tx_arp_reply"]["packets"] >= 1 and stats["tx_ndp_advert"]["packets"] >= 1, stats


def test_tcp_reaches_every_endpoint_and_sees_the_client(lab):
    replies = run_client(lab, CONNECT, VIP4, PORT, 40)
    assert {r[0] for r in replies} == set(lab.pods)
    assert {r[1] for r in replies} == {lab.client_ip}
    replies6 = run_client(lab, CONNECT, VIP6, PORT, 40)
    assert {r[0] for r in replies6} == set(lab.pods)
    assert {r[1] for r in replies6} == {lab.client_ip6}


def test_two_vips_on_the_same_endpoints_both_answer(lab):
    """Replies are translated by their flow, not by the endpoint: with the endpoint alone, every
    reply left with the first VIP as source and the second VIP's clients got no answer."""
    for vip in (VIP4, VIP4_INTERNAL):
        replies = run_client(lab, CONNECT, vip, PORT, 20)
        assert {r[0] for r in replies} == set(lab.pods), (vip, replies)
        assert {r[1] for r in replies} == {lab.client_ip}
        udp = run_client(lab, UDP_ASK, vip, UDP_PORT, 10)  # asserts the reply's source is the VIP
        assert {r[1] for r in udp} == {lab.client_ip}


def test_endpoint_reached_directly_is_not_rewritten(lab):
    """A client that talks to an endpoint by its own address gets replies from that address."""
    sh("ip", "route", "add", "10.1.0.0/16", "via", "10.0.0.1", ns=lab.client)
    out = sh("/usr/bin/python3", "-c", CONNECT, lab.pod_ip(1), str(TCP_PORT_BACKEND), "3",
             ns=lab.client, timeout=60)
    assert out.split()[0] == lab.pods[0], out


def metric(text, name, label, value):
    """The value of series name{label="value"} in Prometheus text, or 0."""
    prefix = f'{name}{{{label}="{value}"}} '
    for line in text.splitlines():
        if line.startswith(prefix):
            return float(line[len(prefix):])
    return 0


def test_dataplane_counters_are_prometheus_metrics(lab):
    run_client(lab, CONNECT, VIP4, PORT, 10)
    svc = f"{VIP4}:{PORT}/TCP"
    ok = wait_for(lambda: metric(lab.agent.metrics(), "ironlb_dataplane_service_packets_total",
                                 "service", svc) >= 10, timeout=15, what="service packets metric")
    assert ok
    text = lab.agent.metrics()
    assert metric(text, "ironlb_dataplane_service_bytes_total", "service", svc) > 0, text
    fwd = sum(metric(text, "ironlb_dataplane_packets_total", "reason", r)
              for r in ("fwd_redirect", "fwd_kernel"))
    assert fwd >= 10, text
    backends = [line for line in text.splitlines()
                if line.startswith("ironlb_dataplane_backend_packets_total{")]
    assert len(backends) >= 2 and any(not line.endswith(" 0") for line in backends), backends


def test_udp_reaches_every_endpoint_and_replies_come_from_the_vip(lab):
    replies = run_client(lab, UDP_ASK, VIP4, UDP_PORT, 40)
    assert {r[0] for r in replies} == set(lab.pods)
    assert {r[1] for r in replies} == {lab.client_ip}


HOLD = r'''
import socket, sys
conns = []
for i in range(int(sys.argv[3])):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect((sys.argv[1], int(sys.argv[2])))
    conns.append((s, s.makefile().readline().split()[0]))
print(" ".join(p for _, p in conns), flush=True)
sys.stdin.readline()  # the test changes the endpoints now
alive = []
for s, pod in conns:
    try:
        s.sendall(b"ping\n")
        alive.append(pod + ("=ok" if s.recv(16) == b"ping\n" else "=bad"))
    except OSError as e:
        alive.append(pod + "=dead")
print(" ".join(alive), flush=True)
'''


def test_removing_an_endpoint_keeps_the_others_connections(lab):
    p = lab.client_popen(HOLD.replace("sys.argv[1]", f"'{VIP4}'").replace("sys.argv[2]", str(PORT))
                         .replace("sys.argv[3]", "30"))
    pods = p.stdout.readline().split()
    assert set(pods) == set(lab.pods), pods
    write(os.path.join(lab.confdir, "lab.yaml"), config(2, removed=(1,)))
    wait_for(lambda: not any(b["backend"].startswith(lab.pod_ip(1) + ":")
                             for b in ctl(lab, "backend", "list")),
             what="pod 1 gone from the backends")
    p.stdin.write("go\n")
    p.stdin.flush()
    result = p.stdout.readline().split()
    survivors = [r for r in result if r.startswith(lab.pods[1])]
    assert survivors and all(r.endswith("=ok") for r in survivors), result
    # New connections only reach the remaining endpoint.
    replies = run_client(lab, CONNECT, VIP4, PORT, 20)
    assert {r[0] for r in replies} == {lab.pods[1]}


STREAM = r'''
import socket, sys, time
ok = failed = 0
end = time.monotonic() + float(sys.argv[3])
while time.monotonic() < end:
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(3)
        s.connect((sys.argv[1], int(sys.argv[2])))
        if s.makefile().readline():
            ok += 1
        else:
            failed += 1
        s.close()
    except OSError:
        failed += 1
    time.sleep(0.01)
print(ok, failed)
'''


def test_agent_restart_loses_no_connection(lab, tmp_path):
    p = subprocess.Popen(["ip", "netns", "exec", lab.client, "/usr/bin/python3", "-c", STREAM,
                          VIP4, str(PORT), "8"], stdout=subprocess.PIPE, text=True)
    lab.procs.append(p)
    time.sleep(1.5)
    lab.agent.stop()
    time.sleep(1.0)  # nothing running in userspace: XDP and tc keep serving
    lab.agent = start_agent(lab, tmp_path)
    ok, failed = map(int, p.communicate(timeout=60)[0].split())
    assert ok > 50 and failed == 0, (ok, failed)
    assert lab.agent.proc.poll() is None
