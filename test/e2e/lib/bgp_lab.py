"""Network-namespace lab for the BGP interop tests: a router namespace running a real BGP
daemon (BIRD 2, GoBGP or FRR) and node namespaces running ironlb-agent, joined by veth pairs.
Every name carries the pid; everything is removed on close, even after failures."""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time


def sh(*args, check=True):
    return subprocess.run(args, check=check, capture_output=True, text=True)


class Lab:
    def __init__(self):
        self.tag = f"ilb{os.getpid() % 100000}"
        self.dir = tempfile.mkdtemp(prefix=f"{self.tag}-")
        self.netns = []
        self.procs = []
        self.agents = []  # agent.Agent objects, stopped (SIGCONT first, in case) on close

    def ns(self, name):
        full = f"{self.tag}-{name}"
        sh("ip", "netns", "add", full)
        self.netns.append(full)
        sh("ip", "-n", full, "link", "set", "lo", "up")
        return full

    def link(self, a, a_addr, b, b_addr, idx):
        va, vb = f"{self.tag}a{idx}", f"{self.tag}b{idx}"
        sh("ip", "link", "add", va, "netns", a, "type", "veth", "peer", "name", vb, "netns", b)
        for ns_, dev, addr in ((a, va, a_addr), (b, vb, b_addr)):
            sh("ip", "-n", ns_, "addr", "add", addr, "dev", dev, "nodad") if ":" in addr else \
                sh("ip", "-n", ns_, "addr", "add", addr, "dev", dev)
            sh("ip", "-n", ns_, "link", "set", dev, "up")
        return va, vb

    def spawn(self, ns_, argv, env=None, log="proc"):
        out = open(os.path.join(self.dir, f"{log}.log"), "w")
        p = subprocess.Popen(["ip", "netns", "exec", ns_] + argv, stdout=out, stderr=subprocess.STDOUT,
                             env={**os.environ, **(env or {})})
        self.procs.append(p)
        return p

    def close(self):
        for a in self.agents:
            if a.proc and a.proc.poll() is None:
                a.proc.send_signal(signal.SIGCONT)  # a frozen agent cannot act on SIGTERM
            a.stop()
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=3)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        for n in self.netns:
            sh("ip", "netns", "del", n, check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


class Bird:
    """BIRD 2 in a namespace with its own config and control socket."""

    def __init__(self, lab, ns_, router_id, asn, neighbors, passwords=None):
        self.lab, self.sock = lab, os.path.join(lab.dir, "bird.ctl")
        conf = [f"router id {router_id};", "protocol device {}",
                "protocol kernel k4 { ipv4 { export all; }; merge paths on; }",
                "protocol kernel k6 { ipv6 { export all; }; merge paths on; }"]
        for i, (addr, peer_as) in enumerate(neighbors):
            fam = "ipv6" if ":" in addr else "ipv4"
            pw = f'password "{passwords[i]}";' if passwords and passwords[i] else ""
            conf.append(f"protocol bgp n{i} {{ neighbor {addr} as {peer_as}; local as {asn}; "
                        f"hold time 9; {pw} {fam} {{ import all; export none; }}; }}")
        path = os.path.join(lab.dir, "bird.conf")
        with open(path, "w") as f:
            f.write("\n".join(conf) + "\n")
        self.proc = lab.spawn(ns_, ["/usr/sbin/bird", "-f", "-c", path, "-s", self.sock], log="bird")

    def cmd(self, *args):
        return sh("birdc", "-s", self.sock, *args, check=False).stdout

    def established(self, proto="n0"):
        return "Established" in self.cmd("show", "protocols", proto)

    def up_since(self, proto="n0"):
        """When the session last came up (seconds of the day), None while down. BIRD prints it
        to the millisecond and the printed value wobbles by one: compare with same_session()."""
        for line in self.cmd("show", "protocols", proto).splitlines():
            f = line.split()
            if f and f[0] == proto and len(f) > 4 and f[3] == "up":
                h, m, sec = f[4].split(":")
                return int(h) * 3600 + int(m) * 60 + float(sec)
        return None

    def route(self, prefix):
        out = self.cmd("show", "route", "all", "for", prefix)
        return out if prefix.split("/")[0] in out else ""


def same_session(a, b):
    """Two Bird.up_since() readings of one session (not reset in between)."""
    return a is not None and b is not None and abs(a - b) < 0.5


def wait_for(pred, timeout=30.0, step=0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


class GoBgp:
    """gobgpd in a namespace; its gRPC API listens on the namespace's own loopback."""

    def __init__(self, lab, ns_, router_id, asn, neighbors):
        self.ns = ns_
        conf = [f'[global.config]\n  as = {asn}\n  router-id = "{router_id}"\n']
        for addr, peer_as in neighbors:
            fam = "ipv6-unicast" if ":" in addr else "ipv4-unicast"
            conf.append(f'[[neighbors]]\n  [neighbors.config]\n    neighbor-address = "{addr}"\n'
                        f'    peer-as = {peer_as}\n  [neighbors.timers.config]\n    hold-time = 9\n'
                        f'  [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n'
                        f'      afi-safi-name = "{fam}"\n')
        path = os.path.join(lab.dir, "gobgpd.toml")
        with open(path, "w") as f:
            f.write("\n".join(conf))
        self.proc = lab.spawn(ns_, ["/usr/bin/gobgpd", "-f", path, "-t", "toml",
                                    "--api-hosts=127.0.0.1:50051"], log="gobgpd")

    def cmd(self, *args):
        return sh("ip", "netns", "exec", self.ns, "gobgp", "-u", "127.0.0.1", "-p", "50051",
                  *args, check=False).stdout

    def established(self):
        return "Establ" in self.cmd("neighbor")

    def route(self, prefix, family="ipv4"):
        out = self.cmd("global", "rib", "-a", family, prefix)
        return out if prefix.split("/")[0] in out else ""


class Frr:
    """FRR bgpd (+ zebra, so routes reach the namespace's kernel) with private sockets."""

    def __init__(self, lab, ns_, router_id, asn, neighbors):
        self.ns, self.vty = ns_, os.path.join(lab.dir, "frr")
        os.chmod(lab.dir, 0o755)  # the daemons run as user frr and read their config here
        os.makedirs(self.vty, exist_ok=True)
        os.chmod(self.vty, 0o777)
        conf = [f"router bgp {asn}", f" bgp router-id {router_id}", " no bgp ebgp-requires-policy",
                " bgp bestpath as-path multipath-relax"]
        for addr, peer_as in neighbors:
            conf.append(f" neighbor {addr} remote-as {peer_as}")
            conf.append(f" neighbor {addr} timers 3 9")
        conf += [" address-family ipv6 unicast"] + \
            [f"  neighbor {a} activate" for a, _ in neighbors if ":" in a] + [" exit-address-family"]
        path = os.path.join(lab.dir, "bgpd.conf")
        with open(path, "w") as f:
            f.write("\n".join(conf) + "\n")
        zsock = os.path.join(self.vty, "zserv.api")
        # vtysh needs the daemon user in FRR's vty group (frrvty): run as frr, not root.
        common = ["--vty_socket", self.vty, "-z", zsock, "-u", "frr", "-g", "frr"]
        lab.spawn(ns_, ["/usr/lib/frr/zebra", "-i", os.path.join(self.vty, "zebra.pid")] + common
                  + ["-f", "/dev/null"], log="zebra")
        wait_for(lambda: os.path.exists(zsock), 10)
        self.proc = lab.spawn(ns_, ["/usr/lib/frr/bgpd", "-i", os.path.join(self.vty, "bgpd.pid"),
                                    "-f", path, "-p", "179"] + common, log="bgpd")

    def cmd(self, command):
        return sh("ip", "netns", "exec", self.ns, "vtysh", "--vty_socket", self.vty, "-c", command,
                  check=False).stdout

    def established(self, neighbor):
        try:
            peer = json.loads(self.cmd(f"show bgp neighbors {neighbor} json")).get(neighbor, {})
        except ValueError:
            return False
        return peer.get("bgpState") == "Established"

    def route(self, prefix):
        out = self.cmd(f"show bgp {'ipv6' if ':' in prefix else 'ipv4'} unicast {prefix}")
        return out if "Paths:" in out and "Network not in table" not in out else ""


class AgentNode:
    """ironlb-agent (controller + BGP speaker, no XDP) on a node namespace, configured the way an
    operator would: an IPAddressPool, a BGPAdvertisement, a BGPPeer, a Node, and one
    LoadBalancer Service (asking for its VIP) with a ready endpoint per VIP."""

    def __init__(self, lab, ns_, name, peer, vips, node_addr="10.0.0.2", my_asn=64512,
                 peer_asn=64513, communities=(), password=""):
        from agent import Agent  # the e2e lib's agent runner
        self.cfg = os.path.join(lab.dir, f"config-{name}")
        os.makedirs(self.cfg)
        self.name = name
        comm = "[" + ", ".join(f'"{c}"' for c in communities) + "]"
        pw = f"\n  password: \"{password}\"" if password else ""
        self._write("metallb.yaml", f"""apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {{name: vips, namespace: ironlb-system}}
spec:
  addresses: [192.0.2.0/24, "2001:db8::/64"]
---
apiVersion: metallb.io/v1beta1
kind: BGPAdvertisement
metadata: {{name: vips, namespace: ironlb-system}}
spec:
  ipAddressPools: [vips]
  communities: {comm}
---
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {{name: router, namespace: ironlb-system}}
spec:
  myASN: {my_asn}
  peerASN: {peer_asn}
  peerAddress: "{peer}"
  holdTime: 9s
  connectTime: 1s{pw}
---
apiVersion: v1
kind: Node
metadata:
  name: {name}
  labels: {{kubernetes.io/hostname: {name}}}
status:
  addresses: [{{type: InternalIP, address: "{node_addr}"}}]
""")
        self.set_vips(vips)
        self.agent = Agent(lab.dir, self.cfg, node=name, extra=["--no-dataplane"], netns=ns_)
        lab.agents.append(self.agent)
        self.agent.start()

    def _write(self, fname, text):
        from agent import write_atomic
        write_atomic(os.path.join(self.cfg, fname), text)

    def set_vips(self, vips):
        """One Service per VIP (the same on every node), each with a ready endpoint here."""
        docs = []
        for i, vip in enumerate(vips):
            fam = "IPv6" if ":" in vip else "IPv4"
            ep = "fd00:244::10" if fam == "IPv6" else "10.244.0.10"
            docs.append(f"""apiVersion: v1
kind: Service
metadata:
  name: svc{i}
  namespace: default
  annotations: {{metallb.io/loadBalancerIPs: "{vip}"}}
spec:
  type: LoadBalancer
  ipFamilies: [{fam}]
  ports: [{{name: http, port: 80, protocol: TCP}}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: svc{i}-1
  namespace: default
  labels: {{kubernetes.io/service-name: svc{i}}}
addressType: {fam}
ports: [{{name: http, port: 80, protocol: TCP}}]
endpoints:
- addresses: ["{ep}"]
  conditions: {{ready: true}}
  nodeName: {self.name}
""")
        self._write("services.yaml", "---\n".join(docs) if docs else "")

    def stop(self):
        """SIGTERM, as the kubelet sends it: Cease/Administrative Shutdown to the router."""
        return self.agent.stop()
