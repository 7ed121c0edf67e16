#!/usr/bin/python3
"""Scale benchmark of the whole agent: N LoadBalancer Services (one port, E endpoints each)
handed to a real ironlb-agent (controller + speaker, XDP on a veth, BGP to BIRD 2) inside network
namespaces this script creates. Reports, from one run:
  - time until the controller has written every Service's status (allocation),
  - time until the XDP maps hold every VIP (read from the pinned maps with ironlbctl),
  - time until BIRD holds every route (BGP announcement of N VIPs),
  - the agent's resident memory: peak (VmHWM) and at rest once everything has settled;
then, as a ratio against a peer measured in the same run, the time to send the N routes over a
fresh session (from the session coming up to the router holding all N): BIRD resets its session with the agent, and separately its session with a second
BIRD that originates the same number of static routes; each is timed from the reset until the
router holds all N routes from that neighbour. Five resets each, median ratio. Last, the time
from SIGTERM to the router holding none of the agent's routes.
Not a pass/fail test. Use a Release build (`scripts/build.sh` into build-rel):
  sudo /usr/bin/python3 test/bench/agent_scale_bench.py --bin build-rel/bin --services 10000 \
      --endpoints 10 [--bin-before OLD/bin] [--no-resend] [--changes 100] [--adds 10]
With --bin-before the same measurements run first with that build (e.g. the previous commit),
so both sets of numbers come from one run on one machine.
Every address used lives inside the namespaces created here; all is removed on exit."""
import argparse
import datetime
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


def stop(procs):
    """SIGTERM to the processes this script started, newest first; SIGKILL after 10 s."""
    for p in reversed(procs):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def rss_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def config(n, per):
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
        docs.append(service_doc(f"s{i}", [f"10.{100 + k}.{i // 256 % 256}.{i % 256}"
                                          for k in range(per)]))
    return "---\n".join(docs)


def service_doc(name, endpoints, vip=None):
    """A LoadBalancer Service and its EndpointSlice (every endpoint ready, on node-a)."""
    eps = "".join(f"- {{addresses: [{a}], conditions: {{ready: true}}, nodeName: node-a}}\n"
                  for a in endpoints)
    lb_ip = f"\n  loadBalancerIP: {vip}" if vip else ""
    return f"""apiVersion: v1
kind: Service
metadata: {{name: {name}, namespace: bench}}
spec:
  type: LoadBalancer{lb_ip}
  ports: [{{name: http, port: 80, protocol: TCP, targetPort: 8080}}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {{name: {name}-1, namespace: bench, labels: {{kubernetes.io/service-name: {name}}}}}
addressType: IPv4
ports: [{{name: http, port: 8080, protocol: TCP}}]
endpoints:
{eps}"""


def probe(n_endpoints):
    """One more Service, in a file of its own, whose endpoints the change phase edits."""
    return service_doc("probe", [f"10.99.0.{k + 1}" for k in range(n_endpoints)])


def probe_files(n_endpoints, together):
    """The probe as files: {name: text}. Apart (the default), the Service and its EndpointSlice
    are two files and a change rewrites the slice's alone, as Kubernetes changes a slice and
    not its Service; together, one file holds both and every change re-reads the Service too."""
    if together:
        return {"probe.yaml": probe(n_endpoints)}
    svc, sl = probe(n_endpoints).split("\n---\n")
    return {"probe.yaml": svc + "\n", "probe-slice.yaml": sl}


def added(i, vip, n_endpoints):
    """A Service that appears after the N are served, in a file of its own, asking for `vip`."""
    return service_doc(f"added{i}", [f"10.98.{i}.{k + 1}" for k in range(n_endpoints)], vip)


def decode_phases(log_path):
    """The YAML decodes the agent logged (each over 100 ms), in ms, in the order they ran."""
    out = []
    with open(log_path, errors="replace") as f:
        for line in f:
            at = line.find(" bytes of YAML in ")
            if at >= 0:
                out.append(int(line[at + len(" bytes of YAML in "):].split()[0]))
    return out


def percentile(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="build-rel/bin")
    ap.add_argument("--services", type=int, default=10000)
    ap.add_argument("--endpoints", type=int, default=10)
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--bin-before", default="")
    ap.add_argument("--no-resend", action="store_true")
    ap.add_argument("--wrap", default="",
                    help="run the agent under this command (profiling: 'heaptrack -o FILE', "
                    "'perf record -g -o FILE --'); its RSS numbers are then the wrapper's")
    ap.add_argument("--adds", type=int, default=0,
                    help="then add N Services one at a time (a file each) and time each until "
                    "its Maglev table is in the pinned maps and its route at BIRD")
    ap.add_argument("--probe-together", action="store_true",
                    help="the changed endpoints' Service and EndpointSlice in one file, so each "
                    "change re-reads the Service too (the layout before 2026-12-04 night)")
    ap.add_argument("--changes", type=int, default=0,
                    help="then add or remove one endpoint of one Service N times (own file) and "
                    "time each until its Maglev table in the pinned maps has the new count")
    args = ap.parse_args()
    results = []
    for label, b in (("before", args.bin_before), ("this build", args.bin)):
        if b:
            print(f"== {label}: {b}", flush=True)
            results.append((label, run(args, os.path.abspath(b))))
    for label, r in results:
        print(f"{label}: {json.dumps(r)}")


def run(args, binp):
    tag = f"ilbs{os.getpid() % 100000}"
    work = tempfile.mkdtemp(prefix=f"{tag}-")
    node, router, peer = f"{tag}-n", f"{tag}-r", f"{tag}-p"
    procs, mounted = [], None
    try:
        for ns in (node, router, peer):
            sh("ip", "netns", "add", ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "link", "add", f"{tag}a", "netns", node, "type", "veth", "peer", "name",
           f"{tag}b", "netns", router)
        sh("ip", "-n", node, "addr", "add", "10.0.0.2/24", "dev", f"{tag}a")
        sh("ip", "-n", router, "addr", "add", "10.0.0.1/24", "dev", f"{tag}b")
        sh("ip", "link", "add", f"{tag}c", "netns", peer, "type", "veth", "peer", "name",
           f"{tag}d", "netns", router)
        sh("ip", "-n", peer, "addr", "add", "10.0.1.2/24", "dev", f"{tag}c")
        sh("ip", "-n", router, "addr", "add", "10.0.1.1/24", "dev", f"{tag}d")
        for ns, dev in ((node, f"{tag}a"), (router, f"{tag}b"), (peer, f"{tag}c"),
                        (router, f"{tag}d")):
            sh("ip", "-n", ns, "link", "set", dev, "up")
        bird_conf = os.path.join(work, "bird.conf")
        with open(bird_conf, "w") as f:
            f.write("router id 10.0.0.1;\nprotocol device {}\n"
                    "protocol bgp node { neighbor 10.0.0.2 as 64512; local as 64513;"
                    " ipv4 { import all; export none; }; }\n"
                    "protocol bgp peer { neighbor 10.0.1.2 as 64514; local as 64513;"
                    " ipv4 { import all; export none; }; }\n")
        # The peer: a second BIRD originating as many routes as the agent announces.
        peer_conf = os.path.join(work, "peer.conf")
        with open(peer_conf, "w") as f:
            f.write("router id 10.0.1.2;\nprotocol device {}\nprotocol static { ipv4;\n")
            f.writelines(f"  route 100.65.{i // 256}.{i % 256}/32 blackhole;\n"
                         for i in range(args.services))
            f.write("}\nprotocol bgp { neighbor 10.0.1.1 as 64513; local as 64514;"
                    " ipv4 { import none; export all; }; }\n")
        procs.append(subprocess.Popen(["ip", "netns", "exec", peer, "bird", "-f", "-c", peer_conf,
                                       "-s", os.path.join(work, "peer.ctl")],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        bird_sock = os.path.join(work, "bird.ctl")
        procs.append(subprocess.Popen(["ip", "netns", "exec", router, "bird", "-f", "-c", bird_conf,
                                       "-s", bird_sock], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL))
        cfg = os.path.join(work, "config")
        os.makedirs(cfg)
        t = time.monotonic()
        with open(os.path.join(cfg, "all.yaml"), "w") as f:
            f.write(config(args.services, args.endpoints))
        for name, text in probe_files(3, args.probe_together).items():
            with open(os.path.join(cfg, name), "w") as f:
                f.write(text)
        print(f"config: {args.services} Services + EndpointSlices written in "
              f"{time.monotonic() - t:.1f} s", flush=True)
        bpffs = os.path.join(work, "bpf")
        os.makedirs(bpffs)
        sh("mount", "-t", "bpf", "bpf", bpffs)
        mounted = bpffs
        sock = os.path.join(work, "agent.sock")
        log = open(os.path.join(work, "agent.log"), "w")
        t0 = time.monotonic()
        agent = subprocess.Popen(["ip", "netns", "exec", node] + args.wrap.split() +
                                 [os.path.join(binp, "ironlb-agent"),
                                  "--node", "node-a", "--config", cfg, "--role", "all",
                                  "--interface", f"{tag}a", "--xdp-mode", "generic",
                                  "--bpffs", bpffs, "--api-socket", sock, "--metrics-addr", "",
                                  "--log-level", "info"], stdout=log, stderr=subprocess.STDOUT,
                                 start_new_session=bool(args.wrap))
        procs.append(agent)

        def agent_pid():
            """The agent itself: under --wrap, the ironlb-agent in the wrapper's process group
            (the wrapper, a shell script, would not pass SIGTERM on)."""
            if not args.wrap:
                return agent.pid
            for d in os.listdir("/proc"):
                try:
                    with open(f"/proc/{d}/stat") as f:
                        st = f.read()
                except (OSError, ValueError):
                    continue
                comm = st[st.index("(") + 1:st.rindex(")")]
                if comm == "ironlb-agent" and int(st[st.rindex(")") + 2:].split()[2]) == agent.pid:
                    return int(d)
            return agent.pid
        marks, peak = {}, 0

        def pinned(obj):
            """How many entries `ironlbctl OBJ list` reads from the pinned maps (0 until they
            exist)."""
            r = sh(os.path.join(binp, "ironlbctl"), "--bpffs", bpffs, "-j", obj, "list",
                   check=False)
            try:
                return len(json.loads(r.stdout))
            except ValueError:
                return 0

        def routes(proto="node"):
            out = sh("birdc", "-s", bird_sock, "show", "route", "protocol", proto, "count",
                     check=False).stdout
            for line in out.splitlines():
                if "of" in line and "routes" in line:
                    return int(line.split()[0])
            return 0

        def established_at(proto):
            """When BIRD's session with `proto` came up, as seconds of the day (BIRD prints
            local time to the millisecond), or None while it is not up."""
            out = sh("birdc", "-s", bird_sock, "show", "protocols", proto, check=False).stdout
            for line in out.splitlines():
                f = line.split()
                if f and f[0] == proto and len(f) > 4 and f[3] == "up":
                    h, m, sec = f[4].split(":")
                    return int(h) * 3600 + int(m) * 60 + float(sec)
            return None

        def now_of_day():
            n = datetime.datetime.now()
            return n.hour * 3600 + n.minute * 60 + n.second + n.microsecond / 1e6

        def resend(proto):
            """Resets the router's session with `proto`; seconds from the session coming up
            again to the router holding all N routes (the transfer, without either side's
            reconnect delays; polled every 5 ms)."""
            sh("birdc", "-s", bird_sock, "restart", proto)
            t = time.monotonic()
            while routes(proto) > 0 and time.monotonic() - t < 5:
                time.sleep(0.005)  # until the reset has flushed them
            while routes(proto) < args.services:
                if time.monotonic() - t > args.timeout:
                    return float("nan")
                time.sleep(0.005)
            done = now_of_day()
            up = established_at(proto)
            return done - up if up is not None else float("nan")

        statusdir = os.path.join(cfg, "status")
        checks = {"allocated": lambda: os.path.isdir(statusdir) and
                  len(os.listdir(statusdir)) >= args.services,
                  "in XDP maps": lambda: pinned("vip") >= args.services,
                  "XDP maps complete": lambda: "in XDP maps" in marks and
                  pinned("backend") >= args.services * args.endpoints,
                  "announced to BIRD": lambda: routes() >= args.services}
        while len(marks) < len(checks) and time.monotonic() - t0 < args.timeout:
            if agent.poll() is not None:
                sys.exit(f"agent exited {agent.returncode}; see {work}/agent.log")
            peak = max(peak, rss_kib(agent_pid(), "VmRSS"))
            for name, pred in checks.items():
                if name not in marks and pred():
                    marks[name] = time.monotonic() - t0
                    print(f"{name}: {marks[name]:.1f} s", flush=True)
            time.sleep(0.05)
        time.sleep(3)
        rest = rss_kib(agent_pid(), "VmRSS")
        anon = rss_kib(agent_pid(), "RssAnon")  # the agent's own heap, without mapped files/maps
        hwm = rss_kib(agent_pid(), "VmHWM")
        while routes("peer") < args.services and time.monotonic() - t0 < args.timeout:
            time.sleep(0.2)
        changes = []
        ctl = os.path.join(binp, "ironlbctl")

        def backends(vip):
            r = sh(ctl, "--bpffs", bpffs, "-j", "maglev", "show", f"{vip}:80/TCP", check=False)
            try:
                return len(json.loads(r.stdout)["backends"])
            except (ValueError, KeyError):
                return -1
        if args.changes:
            with open(os.path.join(cfg, "status", "bench_probe.json")) as f:
                vip = json.load(f)["ingress"][0]["ip"]
            for i in range(args.changes):
                want = 4 if i % 2 == 0 else 3
                t = time.monotonic()
                files = probe_files(want, args.probe_together)
                name = "probe.yaml" if args.probe_together else "probe-slice.yaml"
                with open(os.path.join(cfg, name), "w") as f:
                    f.write(files[name])
                while backends(vip) != want and time.monotonic() - t < 30:
                    time.sleep(0.002)
                changes.append(time.monotonic() - t)
            print(f"one endpoint added/removed, {len(changes)} times: p50 "
                  f"{percentile(changes, 0.5) * 1000:.0f} ms, p99 "
                  f"{percentile(changes, 0.99) * 1000:.0f} ms, max {max(changes) * 1000:.0f} ms",
                  flush=True)
        adds = []
        for i in range(args.adds):
            vip = f"100.64.250.{i + 1}"  # inside the pool, beyond what the N Services take
            t = time.monotonic()
            with open(os.path.join(cfg, f"added{i}.yaml"), "w") as f:
                f.write(added(i, vip, args.endpoints))
            in_maps = in_bird = None
            while (in_maps is None or in_bird is None) and time.monotonic() - t < 30:
                if in_maps is None and backends(vip) == args.endpoints:
                    in_maps = time.monotonic() - t
                if in_bird is None and f"{vip}/32" in sh(
                        "birdc", "-s", bird_sock, "show", "route", f"{vip}/32",
                        check=False).stdout:
                    in_bird = time.monotonic() - t
                time.sleep(0.002)
            adds.append({"maps_ms": round(in_maps * 1000) if in_maps is not None else None,
                         "bird_ms": round(in_bird * 1000) if in_bird is not None else None})
            print(f"one Service added ({i + 1} of {args.adds}): in the maps "
                  f"{adds[-1]['maps_ms']} ms, at BIRD {adds[-1]['bird_ms']} ms", flush=True)
        runs = {"ironlb": [], "bird": []}
        for _ in range(0 if args.no_resend else 5):
            runs["ironlb"].append(resend("node"))
            runs["bird"].append(resend("peer"))
        for who, xs in runs.items():
            print(f"{args.services} routes over a fresh session from {who}: "
                  + " ".join(f"{x:.2f}" for x in xs) + " s", flush=True)
        ratio = (sorted(runs["ironlb"])[2] / sorted(runs["bird"])[2]
                 if runs["bird"] else float("nan"))
        # SIGTERM: Cease/Administrative Shutdown, and the router drops every route at once.
        t = time.monotonic()
        os.kill(agent_pid(), signal.SIGTERM)
        while routes("node") > 0 and time.monotonic() - t < 30:
            time.sleep(0.002)
        withdrawn = time.monotonic() - t
        agent.wait(timeout=120)  # a profiler may take a while to write its file
        print(f"SIGTERM to all {args.services} routes gone at the router: {withdrawn * 1000:.0f} ms",
              flush=True)
        result = {"services": args.services, "endpoints_each": args.endpoints, "seconds": marks,
                  "rss_anon_at_rest_mib": round(anon / 1024, 1),
                  "endpoint_change_ms": {"p50": round(percentile(changes, 0.5) * 1000),
                                         "p99": round(percentile(changes, 0.99) * 1000)}
                  if changes else {},
                  "service_added_ms": adds,
                  "rss_at_rest_mib":
                          round(rest / 1024, 1), "rss_peak_mib": round(max(hwm, peak) / 1024, 1),
                          "resend_s": runs, "resend_ratio_ironlb_to_bird_median":
                          round(ratio, 2), "sigterm_to_withdrawn_ms": round(withdrawn * 1000)}
        result["decode_ms"] = decode_phases(os.path.join(work, "agent.log"))
        print(json.dumps(result), flush=True)
        return result
    finally:
        stop(procs)
        for ns in (node, router, peer):
            sh("ip", "netns", "del", ns, check=False)
        if mounted:
            sh("umount", mounted, check=False)
        if os.environ.get("IRONLB_BENCH_KEEP_LOG"):
            shutil.copy(os.path.join(work, "agent.log"), os.environ["IRONLB_BENCH_KEEP_LOG"])
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
