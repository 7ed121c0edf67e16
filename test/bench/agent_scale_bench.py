#!/usr/bin/python3
"""Scale benchmark of the whole agent: N LoadBalancer Services (one port, three endpoints each)
handed to a real ironlb-agent (controller + speaker, XDP on a veth, BGP to BIRD 2) inside network
namespaces this script creates. Reports, from one run:
  - time until the controller has written every Service's status (allocation),
  - time until the XDP maps hold every VIP (read from the pinned maps with ironlbctl),
  - time until BIRD holds every route (BGP announcement of N VIPs),
  - the agent's resident memory: peak (VmHWM) and at rest once everything has settled.
Not a pass/fail test. Use a Release build (`scripts/build.sh` into build-rel):
  sudo /usr/bin/python3 test/bench/agent_scale_bench.py --bin build-rel/bin --services 10000
Every address used lives inside the namespaces created here; all is removed on exit."""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time


def sh(*a, check=True):
    return subprocess.run(a, check=check, capture_output=True, text=True)


def rss_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def config(n):
    head = """apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: scale, namespace: ironlb-system}
spec: {addresses: [100.64.0.0/16]}
---
apiVersion: metallb.io/v1beta1
kind: BGPAdvertisement
metadata: {name: scale, namespace: ironlb-system}
spec: {ipAddressPools: [scale]}
---
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: router, namespace: ironlb-system}
spec: {myASN: 64512, peerASN: 64513, peerAddress: 10.0.0.1, connectTime: 1s}
---
apiVersion: v1
kind: Node
metadata: {name: node-a, labels: {kubernetes.io/hostname: node-a}}
status: {addresses: [{type: InternalIP, address: 10.0.0.2}]}
"""
    docs = [head]
    for i in range(n):
        eps = "".join(
            f"- {{addresses: [10.{200 + k}.{i // 256 % 256}.{i % 256}], conditions: {{ready: true}},"
            f" nodeName: node-a}}\n" for k in range(3))
        docs.append(f"""apiVersion: v1
kind: Service
metadata: {{name: s{i}, namespace: bench}}
spec:
  type: LoadBalancer
  ports: [{{name: http, port: 80, protocol: TCP, targetPort: 8080}}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {{name: s{i}-1, namespace: bench, labels: {{kubernetes.io/service-name: s{i}}}}}
addressType: IPv4
ports: [{{name: http, port: 8080, protocol: TCP}}]
endpoints:
{eps}""")
    return "---\n".join(docs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="build-rel/bin")
    ap.add_argument("--services", type=int, default=10000)
    ap.add_argument("--timeout", type=float, default=600)
    args = ap.parse_args()
    binp = os.path.abspath(args.bin)
    tag = f"ilbs{os.getpid() % 100000}"
    work = tempfile.mkdtemp(prefix=f"{tag}-")
    node, router = f"{tag}-n", f"{tag}-r"
    procs, mounted = [], None
    try:
        for ns in (node, router):
            sh("ip", "netns", "add", ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "link", "add", f"{tag}a", "netns", node, "type", "veth", "peer", "name",
           f"{tag}b", "netns", router)
        sh("ip", "-n", node, "addr", "add", "10.0.0.2/24", "dev", f"{tag}a")
        sh("ip", "-n", router, "addr", "add", "10.0.0.1/24", "dev", f"{tag}b")
        for ns, dev in ((node, f"{tag}a"), (router, f"{tag}b")):
            sh("ip", "-n", ns, "link", "set", dev, "up")
        bird_conf = os.path.join(work, "bird.conf")
        with open(bird_conf, "w") as f:
            f.write("router id 10.0.0.1;\nprotocol device {}\n"
                    "protocol bgp node { neighbor 10.0.0.2 as 64512; local as 64513;"
                    " ipv4 { import all; export none; }; }\n")
        bird_sock = os.path.join(work, "bird.ctl")
        procs.append(subprocess.Popen(["ip", "netns", "exec", router, "bird", "-f", "-c", bird_conf,
                                       "-s", bird_sock], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL))
        cfg = os.path.join(work, "config")
        os.makedirs(cfg)
        t = time.monotonic()
        with open(os.path.join(cfg, "all.yaml"), "w") as f:
            f.write(config(args.services))
        print(f"config: {args.services} Services + EndpointSlices written in "
              f"{time.monotonic() - t:.1f} s", flush=True)
        bpffs = os.path.join(work, "bpf")
        os.makedirs(bpffs)
        sh("mount", "-t", "bpf", "bpf", bpffs)
        mounted = bpffs
        sock = os.path.join(work, "agent.sock")
        log = open(os.path.join(work, "agent.log"), "w")
        t0 = time.monotonic()
        agent = subprocess.Popen(["ip", "netns", "exec", node, os.path.join(binp, "ironlb-agent"),
                                  "--node", "node-a", "--config", cfg, "--role", "all",
                                  "--interface", f"{tag}a", "--xdp-mode", "generic",
                                  "--bpffs", bpffs, "--api-socket", sock, "--metrics-addr", "",
                                  "--log-level", "warn"], stdout=log, stderr=subprocess.STDOUT)
        procs.append(agent)
        marks, peak = {}, 0

        def vips():
            r = sh(os.path.join(binp, "ironlbctl"), "--bpffs", bpffs, "-j", "vip", "list",
                   check=False)
            try:
                return len(json.loads(r.stdout))
            except ValueError:
                return 0

        def routes():
            out = sh("birdc", "-s", bird_sock, "show", "route", "count", check=False).stdout
            for line in out.splitlines():
                if "of" in line and "routes" in line:
                    return int(line.split()[0])
            return 0

        statusdir = os.path.join(cfg, "status")
        checks = {"allocated": lambda: os.path.isdir(statusdir) and
                  len(os.listdir(statusdir)) >= args.services,
                  "in XDP maps": lambda: vips() >= args.services,
                  "announced to BIRD": lambda: routes() >= args.services}
        while len(marks) < len(checks) and time.monotonic() - t0 < args.timeout:
            if agent.poll() is not None:
                sys.exit(f"agent exited {agent.returncode}; see {work}/agent.log")
            peak = max(peak, rss_kib(agent.pid, "VmRSS"))
            for name, pred in checks.items():
                if name not in marks and pred():
                    marks[name] = time.monotonic() - t0
                    print(f"{name}: {marks[name]:.1f} s", flush=True)
            time.sleep(0.5)
        time.sleep(3)
        rest = rss_kib(agent.pid, "VmRSS")
        hwm = rss_kib(agent.pid, "VmHWM")
        print(json.dumps({"services": args.services, "seconds": marks, "rss_at_rest_mib":
                          round(rest / 1024, 1), "rss_peak_mib": round(max(hwm, peak) / 1024, 1)}))
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        for ns in (node, router):
            sh("ip", "netns", "del", ns, check=False)
        if mounted:
            sh("umount", mounted, check=False)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
