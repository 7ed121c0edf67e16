"""A layer-2 segment in network namespaces: one bridge, a client and N nodes on it (plain veths,
default offloads), each node routing to an endpoint "pod" behind it and to the other nodes' pods.
Every name carries the test's pid; close() removes namespaces by name and processes by PID.

    (and fd00:a::<last octet>/64 on the bridge for NDP)
    client (c0) 10.0.0.100 ─┐
    node-1 (n0) 10.0.0.1  ──┤ bridge br0 (namespace <tag>b)     node-i ── (p1h) 10.1.i.1
    node-2 (n0) 10.0.0.2  ──┤                                          └─ pod-i (eth0) 10.1.i.2
    node-3 (n0) 10.0.0.3  ──┘
"""
import json
import os
import struct
import subprocess

from lib.netns_dp import SERVER, sh

# Probes ARP from inside the client namespace: sends `n` requests for the VIP from c0 and prints
# the sender MACs of every reply that claims the VIP, as JSON.
ARP_PROBE = r'''
import json, socket, struct, sys, time
vip, src_ip, n, dev = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0806))
s.bind((dev, 0))
mac = s.getsockname()[4]
req = (b"\xff" * 6 + mac + b"\x08\x06" + struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + mac +
       socket.inet_aton(src_ip) + b"\x00" * 6 + socket.inet_aton(vip))
seen = []
s.settimeout(0.05)
for i in range(n):
    s.send(req)
    end = time.monotonic() + 0.3
    while time.monotonic() < end:
        try:
            f = s.recv(2048)
        except socket.timeout:
            continue
        op = struct.unpack("!H", f[20:22])[0]
        if op == 2 and f[28:32] == socket.inet_aton(vip):
            seen.append(f[22:28].hex(":"))
print(json.dumps(seen))
'''


# Probes NDP from inside the client namespace: sends `n` Neighbor Solicitations for the IPv6 VIP
# from `dev` and prints the sender MACs of every Neighbor Advertisement for it, as JSON.
NDP_PROBE = r'''
import json, socket, sys, time
from scapy.all import (AsyncSniffer, Ether, IPv6, ICMPv6ND_NA, ICMPv6ND_NS, ICMPv6NDOptSrcLLAddr,
                       get_if_hwaddr, in6_getnsma, in6_getnsmac, sendp)
vip, src, n, dev = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
mac = get_if_hwaddr(dev)
nsma = in6_getnsma(socket.inet_pton(socket.AF_INET6, vip))
sniffer = AsyncSniffer(iface=dev, lfilter=lambda p: ICMPv6ND_NA in p and p[ICMPv6ND_NA].tgt == vip)
sniffer.start()
time.sleep(0.3)
for _ in range(n):
    sendp(Ether(src=mac, dst=in6_getnsmac(nsma)) /
          IPv6(src=src, dst=socket.inet_ntop(socket.AF_INET6, nsma), hlim=255) /
          ICMPv6ND_NS(tgt=vip) / ICMPv6NDOptSrcLLAddr(lladdr=mac), iface=dev, verbose=False)
    time.sleep(0.3)
sniffer.stop()
print(json.dumps([p[Ether].src for p in sniffer.results]))
'''


# Sends a gratuitous ARP from the client claiming `vip` with the client's own MAC.
GARP = r'''
import socket, struct, sys
vip = socket.inet_aton(sys.argv[1])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0806))
s.bind(("c0", 0))
mac = s.getsockname()[4]
s.send(b"\xff" * 6 + mac + b"\x08\x06" + struct.pack("!HHBBH", 1, 0x0800, 6, 4, 2) + mac + vip +
       mac + vip)
'''


# Sends an unsolicited Neighbor Advertisement (override flag) from the client claiming the IPv6
# `vip` with the client's own MAC, as a host with that address configured would.
NA_CLAIM = r'''
import sys
from scapy.all import Ether, IPv6, ICMPv6ND_NA, ICMPv6NDOptDstLLAddr, get_if_hwaddr, sendp
mac = get_if_hwaddr("c0")
sendp(Ether(src=mac, dst="33:33:00:00:00:01") / IPv6(src=sys.argv[2], dst="ff02::1", hlim=255) /
      ICMPv6ND_NA(tgt=sys.argv[1], R=0, S=0, O=1) / ICMPv6NDOptDstLLAddr(lladdr=mac),
      iface="c0", verbose=False)
'''


# Captures one UDP payload sent to `port` from `src` as it arrives on n0 (run in the receiving
# node's namespace), printed as hex: a heartbeat exactly as it was on the wire.
CAPTURE_UDP = r'''
import socket, struct, sys
src, port = socket.inet_aton(sys.argv[1]), int(sys.argv[2])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
s.bind(("n0", 0))
s.settimeout(10)
while True:
    f = s.recv(4096)
    ip = f[14:]
    ihl = (ip[0] & 0x0f) * 4
    if ip[9] == 17 and ip[12:16] == src and struct.unpack("!H", ip[ihl + 2:ihl + 4])[0] == port:
        print(ip[ihl + 8:].hex(), flush=True)
        break
'''


class L2Lab:
    """`second_segment`: a second bridge br1 (10.0.1.0/24) with a second uplink n1 on every node
    and a second client interface c1, for tests of which interfaces answer."""

    def __init__(self, nodes=3, second_segment=False):
        tag = f"{os.getpid() % 100000}"
        self.tag = tag
        self.bridge_ns = f"l2b{tag}"
        self.client = f"l2c{tag}"
        self.nodes = [f"l2n{tag}x{i}" for i in range(1, nodes + 1)]
        self.pods = [f"l2p{tag}x{i}" for i in range(1, nodes + 1)]
        self.namespaces = [self.bridge_ns, self.client, *self.nodes, *self.pods]
        self.procs = []
        self.client_ip = "10.0.0.100"
        self.second_segment = second_segment

    def node_ip(self, i):
        return f"10.0.0.{i}"

    def pod_ip(self, i):
        return f"10.1.{i}.2"

    def build(self):
        for ns in self.namespaces:
            sh("ip", "netns", "add", ns)
            sh("ip", "link", "set", "lo", "up", ns=ns)
        b = self.bridge_ns
        sh("ip", "link", "add", "br0", "type", "bridge", ns=b)
        sh("ip", "link", "set", "br0", "up", ns=b)
        ports = [("c0", self.client, self.client_ip)] + [
            ("n0", ns, self.node_ip(i)) for i, ns in enumerate(self.nodes, start=1)]
        for k, (dev, ns, ip) in enumerate(ports):
            port = f"bp{k}"
            sh("ip", "link", "add", port, "netns", b, "type", "veth", "peer", "name", dev,
               "netns", ns)
            sh("ip", "link", "set", port, "master", "br0", ns=b)
            sh("ip", "link", "set", port, "up", ns=b)
            sh("ip", "addr", "add", f"{ip}/24", "dev", dev, ns=ns)
            sh("ip", "addr", "add", f"fd00:a::{ip.split('.')[-1]}/64", "dev", dev, "nodad", ns=ns)
            sh("ip", "link", "set", dev, "up", ns=ns)
        if self.second_segment:
            sh("ip", "link", "add", "br1", "type", "bridge", ns=b)
            sh("ip", "link", "set", "br1", "up", ns=b)
            ports = [("c1", self.client, "10.0.1.100")] + [
                ("n1", ns, f"10.0.1.{i}") for i, ns in enumerate(self.nodes, start=1)]
            for k, (dev, ns, ip) in enumerate(ports):
                port = f"bq{k}"
                sh("ip", "link", "add", port, "netns", b, "type", "veth", "peer", "name", dev,
                   "netns", ns)
                sh("ip", "link", "set", port, "master", "br1", ns=b)
                sh("ip", "link", "set", port, "up", ns=b)
                sh("ip", "addr", "add", f"{ip}/24", "dev", dev, ns=ns)
                sh("ip", "addr", "add", f"fd00:b::{ip.split('.')[-1]}/64", "dev", dev, "nodad",
                   ns=ns)
                sh("ip", "link", "set", dev, "up", ns=ns)
        c = self.client
        sh("ip", "route", "add", "198.51.100.0/24", "dev", "c0", ns=c)
        sh("ip", "-6", "route", "add", "2001:db8:100::/64", "dev", "c0", ns=c)
        # The client's kernel must not ask again on its own during a test: an entry that moves
        # does so because a gratuitous ARP moved it.
        sh("sysctl", "-qw", "net.ipv4.neigh.c0.base_reachable_time_ms=600000",
           "net.ipv4.neigh.c0.gc_stale_time=600", "net.ipv6.neigh.c0.base_reachable_time_ms=600000",
           "net.ipv6.neigh.c0.gc_stale_time=600", ns=c)
        for i, (n, p) in enumerate(zip(self.nodes, self.pods), start=1):
            sh("sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv4.conf.all.rp_filter=0",
               "net.ipv4.conf.default.rp_filter=0", "net.ipv4.conf.all.send_redirects=0",
               "net.ipv4.conf.n0.send_redirects=0", ns=n)
            sh("ip", "link", "add", "p1h", "netns", n, "type", "veth", "peer", "name", "eth0",
               "netns", p)
            sh("ip", "addr", "add", f"10.1.{i}.1/24", "dev", "p1h", ns=n)
            sh("ip", "link", "set", "p1h", "up", ns=n)
            sh("ip", "addr", "add", f"10.1.{i}.2/24", "dev", "eth0", ns=p)
            sh("ip", "link", "set", "eth0", "up", ns=p)
            sh("ip", "route", "add", "default", "via", f"10.1.{i}.1", ns=p)
            for j in range(1, len(self.nodes) + 1):
                if j != i:
                    sh("ip", "route", "add", f"10.1.{j}.0/24", "via", self.node_ip(j), ns=n)
        return self

    def start_servers(self, port):
        for p in self.pods:
            proc = subprocess.Popen(["ip", "netns", "exec", p, "/usr/bin/python3", "-c", SERVER, p,
                                     str(port)], stdout=subprocess.PIPE, text=True)
            assert proc.stdout.readline().strip() == "ready"
            self.procs.append(proc)

    def node_mac(self, i):
        return sh("cat", "/sys/class/net/n0/address", ns=self.nodes[i - 1]).strip()

    def client_neigh(self, vip):
        """The client's neighbour entry for `vip`: (lladdr, state) or None."""
        fam = "-6" if ":" in vip else "-4"
        out = json.loads(sh("ip", fam, "-j", "neigh", "show", vip, "dev", "c0", ns=self.client)
                         or "[]")
        if not out:
            return None
        return out[0].get("lladdr"), out[0].get("state", [])

    def arp_probe(self, vip, n=3, dev="c0"):
        """Sender MACs of every ARP reply for `vip` to `n` requests from the client's `dev`."""
        src = self.client_ip if dev == "c0" else "10.0.1.100"
        return json.loads(sh("/usr/bin/python3", "-c", ARP_PROBE, vip, src, str(n), dev,
                             ns=self.client, timeout=30))

    def ndp_probe(self, vip, n=3, dev="c0"):
        """Sender MACs of every NA for the IPv6 `vip` to `n` solicitations from the client's
        `dev`."""
        src = "fd00:a::100" if dev == "c0" else "fd00:b::100"
        return json.loads(sh("/usr/bin/python3", "-c", NDP_PROBE, vip, src, str(n), dev,
                             ns=self.client, timeout=60))

    def claim_from_client(self, vip):
        """A gratuitous ARP reply from the client claiming `vip` (a conflicting host)."""
        sh("/usr/bin/python3", "-c", GARP, vip, ns=self.client, timeout=30)

    def claim6_from_client(self, vip):
        """An unsolicited NA from the client claiming the IPv6 `vip` (a conflicting host)."""
        sh("/usr/bin/python3", "-c", NA_CLAIM, vip, "fd00:a::100", ns=self.client, timeout=60)

    def capture_heartbeat(self, at, sender, port):
        """One heartbeat node `sender` sent to node `at`, as bytes, captured on `at`'s uplink."""
        out = sh("/usr/bin/python3", "-c", CAPTURE_UDP, self.node_ip(sender), str(port),
                 ns=self.nodes[at - 1], timeout=30)
        return bytes.fromhex(out.strip())

    def client_popen(self, code, *args):
        p = subprocess.Popen(["ip", "netns", "exec", self.client, "/usr/bin/python3", "-c", code,
                              *map(str, args)],
                             stdout=subprocess.PIPE, stdin=subprocess.PIPE, text=True)
        self.procs.append(p)
        return p

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        for ns in self.namespaces:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def heartbeat(key, node, boot_id, seq, available=True, echo=0):
    """An ironlb L2 heartbeat (agent/l2/heartbeat.h), sealed with `key`."""
    import hashlib
    import hmac
    name = node.encode()
    body = (b"ILBH" + bytes([2, 1 if available else 0]) + struct.pack("!H", len(name)) +
            struct.pack("!QQQ", boot_id, seq, echo) + name)
    return body + hmac.new(key, body, hashlib.sha256).digest()


def send_udp(ns, dst, port, payload):
    code = ("import socket,sys; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
            "s.sendto(bytes.fromhex(sys.argv[3]), (sys.argv[1], int(sys.argv[2])))")
    sh("/usr/bin/python3", "-c", code, dst, str(port), payload.hex(), ns=ns)


