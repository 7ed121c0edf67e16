"""A one-node data-plane lab in network namespaces: a client, a node whose uplink runs ironlb's
XDP program, and endpoint "pods" routed behind the node. Every name carries the test's pid, and
everything is removed on close() (namespaces by name, processes by PID).

    client (c0) ---- (n0) node (p<i>h) ---- (eth0) pod<i>
    10.0.0.2          10.0.0.1   10.1.<i>.1       10.1.<i>.2
    fd00:a::2         fd00:a::1  fd00:1:<i>::1    fd00:1:<i>::2
"""
import os
import subprocess
import sys

SERVER = r'''
import socket, sys, threading
name, port = sys.argv[1], int(sys.argv[2])
def tcp(family, addr):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((addr, port)); s.listen(128)
    while True:
        c, peer = s.accept()
        threading.Thread(target=serve, args=(c, peer), daemon=True).start()
def serve(c, peer):
    # Greets with who we are and who we see, then echoes until the client closes.
    try:
        c.sendall(f"{name} {peer[0]}\n".encode())
        while True:
            d = c.recv(4096)
            if not d: break
            c.sendall(d)
    except OSError:
        pass
    c.close()
def udp(family, addr):
    s = socket.socket(family, socket.SOCK_DGRAM)
    if family == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((addr, port))
    while True:
        d, peer = s.recvfrom(4096)
        s.sendto(f"{name} {peer[0]}\n".encode(), peer)
for f, a in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
    threading.Thread(target=tcp, args=(f, a), daemon=True).start()
    threading.Thread(target=udp, args=(f, a), daemon=True).start()
print("ready", flush=True)
threading.Event().wait()
'''


def sh(*args, ns=None, check=True, **kw):
    cmd = ["ip", "netns", "exec", ns, *args] if ns else list(args)
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {r.stderr}")
    return r.stdout


class DataplaneLab:
    def __init__(self, pods=2, xdp_pass_obj=None):
        tag = f"{os.getpid() % 100000}"
        self.client = f"dpc{tag}"
        self.node = f"dpn{tag}"
        self.pods = [f"dpp{tag}x{i}" for i in range(1, pods + 1)]
        self.procs = []
        self.namespaces = [self.client, self.node, *self.pods]
        self.xdp_pass_obj = xdp_pass_obj
        self.client_ip, self.client_ip6 = "10.0.0.2", "fd00:a::2"

    def pod_ip(self, i):
        return f"10.1.{i}.2"

    def pod_ip6(self, i):
        return f"fd00:1:{i}::2"

    def build(self):
        for ns in self.namespaces:
            sh("ip", "netns", "add", ns)
            sh("ip", "link", "set", "lo", "up", ns=ns)
        c, n = self.client, self.node
        sh("ip", "link", "add", "c0", "netns", c, "type", "veth", "peer", "name", "n0", "netns", n)
        sh("ip", "addr", "add", "10.0.0.2/24", "dev", "c0", ns=c)
        sh("ip", "addr", "add", "fd00:a::2/64", "dev", "c0", "nodad", ns=c)
        sh("ip", "link", "set", "c0", "up", ns=c)
        # The client's XDP-facing side computes full checksums: XDP rewrites wire frames, and a
        # partial (offloaded) checksum from a local veth is not one.
        sh("ethtool", "-K", "c0", "tx", "off", ns=c, check=False)
        # XDP_TX on the node's veth (ARP/NDP replies) is a transmit into c0: like a redirect, a
        # veth accepts it only when it runs XDP itself (or GRO). A physical NIC needs neither.
        self._accept_xdp_frames("c0", c)
        # VIPs are on-link for the client: its kernel must resolve them by ARP / NDP.
        sh("ip", "route", "add", "198.51.100.0/24", "dev", "c0", ns=c)
        sh("ip", "-6", "route", "add", "2001:db8:100::/64", "dev", "c0", ns=c)
        sh("ip", "addr", "add", "10.0.0.1/24", "dev", "n0", ns=n)
        sh("ip", "addr", "add", "fd00:a::1/64", "dev", "n0", "nodad", ns=n)
        sh("ip", "link", "set", "n0", "up", ns=n)
        sh("sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1",
           "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0", ns=n)
        for i, p in enumerate(self.pods, start=1):
            host = f"p{i}h"
            sh("ip", "link", "add", host, "netns", n, "type", "veth", "peer", "name", "eth0",
               "netns", p)
            sh("ip", "addr", "add", f"10.1.{i}.1/24", "dev", host, ns=n)
            sh("ip", "addr", "add", f"fd00:1:{i}::1/64", "dev", host, "nodad", ns=n)
            sh("ip", "link", "set", host, "up", ns=n)
            sh("ip", "addr", "add", f"10.1.{i}.2/24", "dev", "eth0", ns=p)
            sh("ip", "addr", "add", f"fd00:1:{i}::2/64", "dev", "eth0", "nodad", ns=p)
            sh("ip", "link", "set", "eth0", "up", ns=p)
            sh("ip", "route", "add", "default", "via", f"10.1.{i}.1", ns=p)
            sh("ip", "-6", "route", "add", "default", "via", f"fd00:1:{i}::1", ns=p)
            # A veth only takes XDP-redirected frames when its peer runs XDP (or GRO).
            self._accept_xdp_frames("eth0", p)
        return self

    def _accept_xdp_frames(self, dev, ns):
        if self.xdp_pass_obj:
            sh("ip", "link", "set", "dev", dev, "xdp", "obj", self.xdp_pass_obj, "sec", "xdp", ns=ns)
        else:
            sh("ethtool", "-K", dev, "gro", "on", ns=ns, check=False)

    def start_servers(self, port):
        for p in self.pods:
            proc = subprocess.Popen(["ip", "netns", "exec", p, sys.executable, "-c", SERVER, p,
                                     str(port)], stdout=subprocess.PIPE, text=True)
            assert proc.stdout.readline().strip() == "ready"
            self.procs.append(proc)

    def in_client(self, code, timeout=60):
        """Runs python `code` in the client namespace; returns its stdout."""
        return sh(sys.executable, "-c", code, ns=self.client, timeout=timeout)

    def client_popen(self, code):
        p = subprocess.Popen(["ip", "netns", "exec", self.client, sys.executable, "-c", code],
                             stdout=subprocess.PIPE, stdin=subprocess.PIPE, text=True)
        self.procs.append(p)
        return p

    def mac(self, ns, dev):
        return sh("cat", f"/sys/class/net/{dev}/address", ns=ns).strip()

    def node_mac(self):
        out = sh("ip", "-br", "link", "show", "n0", ns=self.node).split()
        return out[2]

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        for ns in self.namespaces:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
