"""A three-node data-plane lab in network namespaces: a client, a router with an ECMP route for the
VIPs over three nodes on one fabric segment (a bridge in the router's namespace), and one endpoint
"pod" behind each node. Every name carries the test's pid; close() removes namespaces by name and
ends processes by PID.

    client (c0) -- (r0) router [br0: n1 n2 n3] -- (eth0) node<i> (p1h) -- (eth0) pod<i>
    10.0.0.2        10.0.0.1   203.0.113.1          203.0.113.1<i>  10.<i>.1.1   10.<i>.1.2
    fd00:a::2       fd00:a::1  fd00:f::1            fd00:f::1<i>    fd00:<i>:1::1 fd00:<i>:1::2

Both families: the router's multipath routes cover 198.51.100.0/24 and 2001:db8:100::/64.

The fabric's MTU is 1600, as an underlay sized for encapsulation would be, so full-size client
packets still fit once encapsulated. The veths facing XDP_TX and redirects run a pass-through XDP
program: a veth accepts XDP frames only then, as a NIC would without one.
"""
import os
import subprocess
import sys

from lib.netns_dp import SERVER, sh

FABRIC_MTU = 1600

# A UDP server whose every answer is 3000 bytes (first line: who answers, whom it saw): more than
# a pod's MTU, so the pod's kernel sends it in fragments.
BIG_UDP_SERVER = r'''
import socket, sys, threading
name, port = sys.argv[1], int(sys.argv[2])
def udp(family, addr):
    s = socket.socket(family, socket.SOCK_DGRAM)
    if family == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((addr, port))
    while True:
        d, peer = s.recvfrom(65535)
        head = f"{name} {peer[0]}\n".encode()
        s.sendto(head + b"r" * (3000 - len(head)), peer)
for f, a in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
    threading.Thread(target=udp, args=(f, a), daemon=True).start()
print("ready", flush=True)
threading.Event().wait()
'''


class DsrLab:
    def __init__(self, nodes=3, xdp_pass_obj=None):
        tag = f"{os.getpid() % 100000}"
        self.client = f"dsc{tag}"
        self.router = f"dsr{tag}"
        self.nodes = [f"dsn{tag}x{i}" for i in range(1, nodes + 1)]
        self.pods = [f"dsp{tag}x{i}" for i in range(1, nodes + 1)]
        self.namespaces = [self.client, self.router, *self.nodes, *self.pods]
        self.procs = []
        self.xdp_pass_obj = xdp_pass_obj
        self.client_ip = "10.0.0.2"
        self.client_ip6 = "fd00:a::2"
        self.dir = None  # where spawn()'s daemons keep their files

    @staticmethod
    def node_ip(i):
        return f"203.0.113.{10 + i}"

    @staticmethod
    def pod_ip(i):
        return f"10.{i}.1.2"

    @staticmethod
    def node_ip6(i):
        return f"fd00:f::{10 + i}"

    @staticmethod
    def pod_ip6(i):
        return f"fd00:{i}:1::2"

    def build(self):
        for ns in self.namespaces:
            sh("ip", "netns", "add", ns)
            sh("ip", "link", "set", "lo", "up", ns=ns)
        c, r = self.client, self.router
        sh("ip", "link", "add", "c0", "netns", c, "type", "veth", "peer", "name", "r0", "netns", r)
        sh("ip", "addr", "add", "10.0.0.2/24", "dev", "c0", ns=c)
        sh("ip", "link", "set", "c0", "up", ns=c)
        sh("ip", "route", "add", "default", "via", "10.0.0.1", ns=c)
        sh("ip", "addr", "add", "fd00:a::2/64", "dev", "c0", "nodad", ns=c)
        sh("ip", "-6", "route", "add", "default", "via", "fd00:a::1", ns=c)
        # Full checksums from the client: the nodes' XDP sees frames, not offloaded skbs.
        sh("ethtool", "-K", "c0", "tx", "off", ns=c, check=False)
        sh("ip", "addr", "add", "10.0.0.1/24", "dev", "r0", ns=r)
        sh("ip", "addr", "add", "fd00:a::1/64", "dev", "r0", "nodad", ns=r)
        sh("ip", "link", "set", "r0", "up", ns=r)
        sh("ip", "link", "add", "br0", "mtu", str(FABRIC_MTU), "type", "bridge", ns=r)
        sh("ip", "addr", "add", "203.0.113.1/24", "dev", "br0", ns=r)
        sh("ip", "addr", "add", "fd00:f::1/64", "dev", "br0", "nodad", ns=r)
        sh("ip", "link", "set", "br0", "up", ns=r)
        sh("sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv4.conf.all.rp_filter=0",
           "net.ipv4.conf.default.rp_filter=0", "net.ipv4.fib_multipath_hash_policy=1",
           "net.ipv6.conf.all.forwarding=1", "net.ipv6.fib_multipath_hash_policy=1", ns=r)
        for i, (n, p) in enumerate(zip(self.nodes, self.pods), start=1):
            port = f"n{i}"
            sh("ip", "link", "add", port, "netns", r, "mtu", str(FABRIC_MTU), "type", "veth",
               "peer", "name", "eth0", "netns", n, "mtu", str(FABRIC_MTU))
            sh("ip", "link", "set", port, "master", "br0", ns=r)
            sh("ip", "link", "set", port, "up", ns=r)
            self._accept_xdp_frames(port, r)
            sh("ip", "addr", "add", f"{self.node_ip(i)}/24", "dev", "eth0", ns=n)
            sh("ip", "link", "set", "eth0", "up", ns=n)
            sh("ip", "route", "add", "default", "via", "203.0.113.1", ns=n)
            sh("ip", "addr", "add", f"{self.node_ip6(i)}/64", "dev", "eth0", "nodad", ns=n)
            sh("ip", "-6", "route", "add", "default", "via", "fd00:f::1", ns=n)
            sh("sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv4.conf.all.rp_filter=0",
               "net.ipv4.conf.default.rp_filter=0", "net.ipv6.conf.all.forwarding=1", ns=n)
            sh("ip", "link", "add", "p1h", "netns", n, "type", "veth", "peer", "name", "eth0",
               "netns", p)
            sh("ip", "addr", "add", f"10.{i}.1.1/24", "dev", "p1h", ns=n)
            sh("ip", "addr", "add", f"fd00:{i}:1::1/64", "dev", "p1h", "nodad", ns=n)
            sh("ip", "link", "set", "p1h", "up", ns=n)
            sh("ip", "addr", "add", f"{self.pod_ip(i)}/24", "dev", "eth0", ns=p)
            sh("ip", "link", "set", "eth0", "up", ns=p)
            sh("ip", "route", "add", "default", "via", f"10.{i}.1.1", ns=p)
            sh("ip", "addr", "add", f"{self.pod_ip6(i)}/64", "dev", "eth0", "nodad", ns=p)
            sh("ip", "-6", "route", "add", "default", "via", f"fd00:{i}:1::1", ns=p)
            self._accept_xdp_frames("eth0", p)
        self.set_ecmp(range(1, len(self.nodes) + 1))
        return self

    def set_ecmp(self, nodes):
        """The router's multipath routes for the VIPs, over the given node numbers."""
        hops, hops6 = [], []
        for i in nodes:
            hops += ["nexthop", "via", self.node_ip(i)]
            hops6 += ["nexthop", "via", self.node_ip6(i), "dev", "br0"]
        sh("ip", "route", "replace", "198.51.100.0/24", *hops, ns=self.router)
        sh("ip", "-6", "route", "replace", "2001:db8:100::/64", *hops6, ns=self.router)

    def _accept_xdp_frames(self, dev, ns):
        if self.xdp_pass_obj:
            sh("ip", "link", "set", "dev", dev, "xdp", "obj", self.xdp_pass_obj, "sec", "xdp", ns=ns)
        else:
            sh("ethtool", "-K", dev, "gro", "on", ns=ns, check=False)

    def start_servers(self, port, server=SERVER):
        for p in self.pods:
            proc = subprocess.Popen(["ip", "netns", "exec", p, "/usr/bin/python3", "-c", server, p,
                                     str(port)], stdout=subprocess.PIPE, text=True)
            assert proc.stdout.readline().strip() == "ready"
            self.procs.append(proc)

    def spawn(self, ns, argv, env=None, log="proc"):
        """A daemon in a namespace (lib.bgp_lab.Bird starts BIRD with it), logging to
        `self.dir`/<log>.log (set `dir` first); ended by PID on close()."""
        out = open(os.path.join(self.dir, f"{log}.log"), "w")
        p = subprocess.Popen(["ip", "netns", "exec", ns, *argv], stdout=out,
                             stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
        self.procs.append(p)
        return p

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
