#!/usr/bin/python3
"""The whole agent on the Kubernetes API at scale: N LoadBalancer Services, each with an
EndpointSlice of E endpoints, served by the fake API server (test/e2e/lib/fake_apiserver.py,
plain HTTP) to one real ironlb-agent (--kubeconfig, --role all, XDP on a veth in generic mode),
both inside a network namespace this script creates. The sibling of agent_scale_bench.py (the
same Services from a directory of YAML). Reports, from one run:
  - time from the agent's start to every VIP and every endpoint in the pinned XDP maps,
  - fresh cluster: time until the controller has written every Service's status (two writes
    each: the pool annotation and /status), counted at the fake server,
  - the API load the agent causes: requests by kind during start, then requests per second at
    steady state (a window after everything is done), both counted by the fake server.
--preallocated seeds each Service with the status a controller wrote before (an agent restart
on a populated cluster): nothing to write, only the reads. Not a pass/fail test. Use a Release
build:
  sudo /usr/bin/python3 test/bench/agent_kube_bench.py --bin build-rel/bin --services 10000 \\
      --endpoints 10 [--preallocated] [--steady 30]
Every address used lives inside the namespace created here; all is removed on exit."""
import argparse
import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FAKE = os.path.join(SOURCE, "test/e2e/lib/fake_apiserver.py")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from agent_scale_bench import percentile, sh, stop  # noqa: E402  (the sibling: one lab, one way to end it)



def objects(n, per, preallocated):
    def o(api_version, kind, name, ns=None, **rest):
        meta = {"name": name}
        if ns:
            meta["namespace"] = ns
        return {"apiVersion": api_version, "kind": kind, "metadata": meta, **rest}
    out = [o("v1", "Namespace", "bench"), o("v1", "Namespace", "ironlb-system"),
           o("v1", "Node", "node-a", status={
               "conditions": [{"type": "Ready", "status": "True"}],
               "addresses": [{"type": "InternalIP", "address": "10.0.0.2"}]}),
           o("metallb.io/v1beta1", "IPAddressPool", "scale", "ironlb-system",
             spec={"addresses": ["100.64.0.0/16"]}),
           o("metallb.io/v1beta1", "BGPAdvertisement", "scale", "ironlb-system",
             spec={"ipAddressPools": ["scale"]})]
    for i in range(n):
        svc = o("v1", "Service", f"s{i}", "bench",
                spec={"type": "LoadBalancer", "externalTrafficPolicy": "Cluster",
                      "ports": [{"name": "http", "port": 80, "protocol": "TCP",
                                 "targetPort": 8080}]},
                status={"loadBalancer": {}})
        if preallocated:
            # What the controller wrote before: the pool annotation and the ingress IP, in the
            # order it allocates (the first addresses of the pool, .0 included as MetalLB does).
            svc["metadata"]["annotations"] = {"metallb.io/ip-allocated-from-pool": "scale"}
            svc["status"] = {"loadBalancer": {"ingress": [{"ip": f"100.64.{i // 256}.{i % 256}"}]}}
        eps = [{"addresses": [f"10.{100 + k}.{i // 256 % 256}.{i % 256}"],
                "conditions": {"ready": True}, "nodeName": "node-a"} for k in range(per)]
        sl = o("discovery.k8s.io/v1", "EndpointSlice", f"s{i}-1", "bench", addressType="IPv4",
               ports=[{"name": "http", "port": 8080, "protocol": "TCP"}], endpoints=eps)
        sl["metadata"]["labels"] = {"kubernetes.io/service-name": f"s{i}"}
        out += [svc, sl]
    return out


def kind_of(path):
    """'LIST services', 'WATCH endpointslices', 'PATCH services/status', ..."""
    p, _, q = path.partition("?")
    parts = [x for x in p.split("/") if x]
    if "namespaces" in parts and parts.index("namespaces") + 2 < len(parts):
        parts = parts[parts.index("namespaces") + 2:]
    elif parts[:2] == ["api", "v1"]:
        parts = parts[2:]
    else:
        parts = parts[3:]
    res = parts[0] if parts else p
    sub = parts[2] if len(parts) > 2 else ""
    return res + ("/" + sub if sub else ""), "watch=1" in q


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="build-rel/bin")
    ap.add_argument("--services", type=int, default=10000)
    ap.add_argument("--endpoints", type=int, default=10)
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--steady", type=float, default=30, help="seconds of the steady-state window")
    ap.add_argument("--changes", type=int, default=0,
                    help="then remove or restore one endpoint of Service s0 N times (its "
                    "EndpointSlice applied at the fake server) and time each until its Maglev "
                    "table in the pinned maps has the new count")
    ap.add_argument("--preallocated", action="store_true")
    ap.add_argument("--kube-qps", default="0", help="the agent's --kube-qps (0: unlimited)")
    args = ap.parse_args()
    binp = os.path.abspath(args.bin)
    tag = f"ilbk{os.getpid() % 100000}"
    work = tempfile.mkdtemp(prefix=f"{tag}-")
    node, peer = f"{tag}-n", f"{tag}-p"
    procs, mounted = [], None
    try:
        for ns in (node, peer):
            sh("ip", "netns", "add", ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "link", "add", f"{tag}a", "netns", node, "type", "veth", "peer", "name",
           f"{tag}b", "netns", peer)
        sh("ip", "-n", node, "addr", "add", "10.0.0.2/24", "dev", f"{tag}a")
        sh("ip", "-n", peer, "addr", "add", "10.0.0.1/24", "dev", f"{tag}b")
        sh("ip", "-n", node, "link", "set", f"{tag}a", "up")
        sh("ip", "-n", peer, "link", "set", f"{tag}b", "up")

        t = time.monotonic()
        seed = os.path.join(work, "seed.json")
        with open(seed, "w") as f:
            json.dump(objects(args.services, args.endpoints, args.preallocated), f)
        fake = subprocess.Popen(["ip", "netns", "exec", node, "/usr/bin/python3", FAKE,
                                 "--seed-file", seed], stdout=subprocess.PIPE, text=True)
        procs.append(fake)
        url = fake.stdout.readline().strip()
        print(f"fake API server {url}: {args.services} Services + EndpointSlices loaded in "
              f"{time.monotonic() - t:.1f} s", flush=True)
        kubeconfig = os.path.join(work, "kubeconfig")
        with open(kubeconfig, "w") as f:
            json.dump({"apiVersion": "v1", "kind": "Config", "current-context": "b",
                       "clusters": [{"name": "f", "cluster": {"server": url}}],
                       "users": [{"name": "u", "user": {}}],
                       "contexts": [{"name": "b", "context": {"cluster": "f", "user": "u"}}]}, f)

        def fake(what, body=None):
            """POST /fake/WHAT (the server's control interface) with a JSON body; its answer."""
            r = sh("ip", "netns", "exec", node, "curl", "-s", "-X", "POST", "-d",
                   json.dumps(body or {}), f"{url}/fake/{what}", check=False)
            return json.loads(r.stdout or "{}")

        def requests():
            try:
                return fake("requests") or []
            except ValueError:
                return []

        bpffs = os.path.join(work, "bpf")
        os.makedirs(bpffs)
        sh("mount", "-t", "bpf", "bpf", bpffs)
        mounted = bpffs
        log = open(os.path.join(work, "agent.log"), "w")
        t0 = time.monotonic()
        agent = subprocess.Popen(
            ["ip", "netns", "exec", node, os.path.join(binp, "ironlb-agent"), "--node", "node-a",
             "--kubeconfig", kubeconfig, "--namespace", "ironlb-system", "--role", "all",
             "--interface", f"{tag}a", "--xdp-mode", "generic", "--no-bgp", "--no-l2",
             "--kube-qps", args.kube_qps, "--bpffs", bpffs,
             "--api-socket", os.path.join(work, "agent.sock"), "--metrics-addr", "",
             "--log-level", "info"], stdout=log, stderr=subprocess.STDOUT)
        procs.append(agent)

        def pinned(obj):
            r = sh(os.path.join(binp, "ironlbctl"), "--bpffs", bpffs, "-j", obj, "list",
                   check=False)
            try:
                return len(json.loads(r.stdout))
            except ValueError:
                return 0

        def status_patches():
            return sum(1 for m, p, c in requests()
                       if m == "PATCH" and "/services/" in p and p.endswith("/status") and c == 200)

        marks, last_req_poll = {}, 0.0
        checks = {"in XDP maps": lambda: pinned("vip") >= args.services,
                  "XDP maps complete": lambda: "in XDP maps" in marks and
                  pinned("backend") >= args.services * args.endpoints}
        if not args.preallocated:
            checks["every status written"] = lambda: status_patches() >= args.services
        while len(marks) < len(checks) and time.monotonic() - t0 < args.timeout:
            if agent.poll() is not None:
                sys.exit(f"agent exited {agent.returncode}; see {work}/agent.log")
            for name, pred in checks.items():
                if name in marks:
                    continue
                if name == "every status written":  # the request log is large: every 2 s
                    if time.monotonic() - last_req_poll < 2:
                        continue
                    last_req_poll = time.monotonic()
                if pred():
                    marks[name] = round(time.monotonic() - t0, 1)
                    print(f"{name}: {marks[name]:.1f} s", flush=True)
            time.sleep(0.05)
        start_log = requests()
        time.sleep(3)  # let the last writes' watch events settle
        a = requests()
        time.sleep(args.steady)
        b = requests()
        steady = collections.Counter(
            f"{m} {kind_of(p)[0]}{' (watch)' if kind_of(p)[1] else ''}" for m, p, _ in b[len(a):])
        started = collections.Counter(
            f"{m} {kind_of(p)[0]}{' (watch)' if kind_of(p)[1] else ''}" for m, p, _ in start_log)
        changes = []
        if args.changes:
            svc = fake("get", {"apiVersion": "v1", "kind": "Service", "namespace": "bench",
                               "name": "s0"})
            vip = svc["status"]["loadBalancer"]["ingress"][0]["ip"]
            slice0 = next(x for x in objects(1, args.endpoints, False)
                          if x["kind"] == "EndpointSlice")

            def backends():
                r = sh(os.path.join(binp, "ironlbctl"), "--bpffs", bpffs, "-j", "maglev", "show",
                       f"{vip}:80/TCP", check=False)
                try:
                    return len(json.loads(r.stdout)["backends"])
                except (ValueError, KeyError):
                    return -1
            for i in range(args.changes):
                want = args.endpoints - 1 if i % 2 == 0 else args.endpoints
                sl = json.loads(json.dumps(slice0))
                sl["endpoints"] = sl["endpoints"][:want]
                t = time.monotonic()
                fake("apply", sl)
                while backends() != want and time.monotonic() - t < 30:
                    time.sleep(0.002)
                changes.append(time.monotonic() - t)
            print(f"one endpoint removed/restored, {len(changes)} times: p50 "
                  f"{percentile(changes, 0.5) * 1000:.0f} ms, p99 "
                  f"{percentile(changes, 0.99) * 1000:.0f} ms, max {max(changes) * 1000:.0f} ms",
                  flush=True)
        result = {"services": args.services, "endpoints_each": args.endpoints,
                  "preallocated": args.preallocated, "seconds": marks,
                  "requests_until_done": len(start_log),
                  "requests_until_done_by_kind": dict(sorted(started.items())),
                  "steady_window_s": args.steady,
                  "steady_requests_per_s": round((len(b) - len(a)) / args.steady, 3),
                  "steady_requests_by_kind": dict(sorted(steady.items())),
                  "endpoint_change_ms": ({"p50": round(percentile(changes, 0.5) * 1000),
                                          "p99": round(percentile(changes, 0.99) * 1000),
                                          "max": round(max(changes) * 1000)} if changes else {})}
        print(json.dumps(result, indent=1), flush=True)
        return result
    finally:
        stop(procs)
        for ns in (node, peer):
            sh("ip", "netns", "del", ns, check=False)
        if mounted:
            sh("umount", mounted, check=False)
        if os.environ.get("IRONLB_BENCH_KEEP_LOG"):
            shutil.copy(os.path.join(work, "agent.log"), os.environ["IRONLB_BENCH_KEEP_LOG"])
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
