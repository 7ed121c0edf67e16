#!/usr/bin/python3
"""L2 failover as the client sees it: three nodes and a client on one bridge (the e2e lab of
test/e2e/lib/l2_lab.py), an ironlb-agent per node with the default L2 flags (heartbeats 100 ms x
3, fence 200 ms) and a shared key. The client sends a steady UDP request stream to the VIP (one
request every 2 ms, rotating over 16 source ports so flows spread over every endpoint) and
records when each reply arrives. Then the owner is taken out by one of
  kill  SIGKILL of the owner's agent (node and XDP stay up),
  hang  SIGSTOP of the owner's agent,
  link  the owner's uplink set down (node cut off),
and the script reports, per run: the longest gap between two replies from endpoints that stay
reachable (from 0.1 s before the event to 3 s after), how long after the event the client's
neighbour entry for the VIP moved to the new owner's MAC (by its gratuitous ARP; the client sends
nothing but the stream meanwhile), and the detection time the flags promise (300 ms).
Not a pass/fail test:
  sudo /usr/bin/python3 test/bench/l2_failover_bench.py --bin build/bin [--runs 3] [--no-flood]
(--no-flood: the bridge drops unknown unicast like a switch that does not flood, so frames
for a cut-off node's MAC are lost instead of reaching every node.)
Every address used lives inside the namespaces created here; all is removed on exit."""
import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))

VIP, PORT, BACKEND_PORT = "198.51.100.10", 80, 8080
KEY = b"bench-l2-key-0123456789abcdef-0123456789"

STREAM = r'''
import json, select, socket, sys, time
vip, port, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(16)]
for s in socks:
    s.setblocking(False)
got = []
end = time.monotonic() + seconds
nxt = time.monotonic()
i = 0
print("ready", flush=True)
while time.monotonic() < end:
    now = time.monotonic()
    if now >= nxt:
        try:
            socks[i % 16].sendto(b"q", (vip, port))
        except OSError:
            pass
        i += 1
        nxt += 0.002
    r, _, _ = select.select(socks, [], [], max(0, nxt - time.monotonic()))
    for s in r:
        try:
            d = s.recv(256)
            got.append((time.monotonic(), d.decode().split()[0]))
        except OSError:
            pass
print(json.dumps({"sent": i, "replies": got}))
'''


def config():
    nodes = "".join(textwrap.dedent(f"""
        ---
        apiVersion: v1
        kind: Node
        metadata:
          name: node-{i}
          labels: {{kubernetes.io/hostname: node-{i}}}
        status:
          addresses:
          - {{type: InternalIP, address: 10.0.0.{i}}}
        """) for i in (1, 2, 3))
    eps = "".join(f"- addresses: [10.1.{i}.2]\n  conditions: {{ready: true}}\n"
                  f"  nodeName: node-{i}\n" for i in (1, 2, 3))
    return textwrap.dedent("""
        apiVersion: metallb.io/v1beta1
        kind: IPAddressPool
        metadata: {name: lab, namespace: ironlb-system}
        spec:
          addresses: [198.51.100.10/32]
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
          - {name: udp, port: 80, targetPort: 8080, protocol: UDP}
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata:
          name: web-1
          namespace: demo
          labels: {kubernetes.io/service-name: web}
        addressType: IPv4
        ports:
        - {name: udp, port: 8080, protocol: UDP}
        endpoints:
        """) + eps + nodes


def run_once(binpath, scenario, tmp, no_flood=False):
    from lib.agent import Agent, wait_for
    from lib.l2_lab import L2Lab
    from lib.netns_dp import sh
    lab = L2Lab(nodes=3)
    bpffs = os.path.join(tmp, "bpffs")
    os.makedirs(bpffs, exist_ok=True)
    subprocess.run(["mount", "-t", "bpf", "bpf", bpffs], check=True)
    conf = os.path.join(tmp, "config")
    os.makedirs(os.path.join(conf, "status"), exist_ok=True)
    with open(os.path.join(conf, "lab.yaml"), "w") as f:
        f.write(config())
    with open(os.path.join(conf, "status", "demo_web.json"), "w") as f:
        json.dump({"apiVersion": "ironlb.io/v1alpha1", "kind": "ServiceStatus",
                   "service": {"namespace": "demo", "name": "web"}, "pool": "lab",
                   "ingress": [{"ip": VIP}]}, f)
    keyfile = os.path.join(tmp, "l2.key")
    with open(keyfile, "wb") as f:
        f.write(KEY)
    agents = {}
    try:
        lab.build()
        if no_flood:
            # Like a switch that drops unknown unicast instead of flooding it: frames for a MAC
            # whose port went down are lost rather than delivered to every node.
            for k in range(1, 4):
                sh("bridge", "link", "set", "dev", f"bp{k}", "flood", "off", ns=lab.bridge_ns)
        lab.start_servers(BACKEND_PORT)
        for i, ns in enumerate(lab.nodes, start=1):
            a = Agent(tmp, conf, node=f"node-{i}", role="speaker", netns=ns,
                      extra=("--interface", "n0", "--bpffs", f"{bpffs}/node-{i}", "--no-bgp",
                             "--l2-key-file", keyfile))
            agents[i] = a.start()

        def owner():
            names = {agents[i].ctl("l2", "show")["vips"][0]["owner"] for i in agents
                     if agents[i].proc.poll() is None}
            return names.pop() if len(names) == 1 and "" not in names else None
        own = int(wait_for(owner, timeout=20, what="agreed owner").split("-")[1])
        stream = subprocess.Popen(["ip", "netns", "exec", lab.client, "/usr/bin/python3", "-c",
                                   STREAM, VIP, str(PORT), "5"], stdout=subprocess.PIPE, text=True)
        lab.procs.append(stream)
        assert stream.stdout.readline().strip() == "ready"
        time.sleep(1.5)
        old_mac = lab.node_mac(own)
        t_event = time.monotonic()
        if scenario == "kill":
            agents[own].proc.send_signal(signal.SIGKILL)
        elif scenario == "hang":
            agents[own].proc.send_signal(signal.SIGSTOP)
        else:
            sh("ip", "link", "set", "n0", "down", ns=lab.nodes[own - 1])
        moved = None
        while time.monotonic() < t_event + 3:
            e = lab.client_neigh(VIP)
            if e and e[0] and e[0] != old_mac:
                moved = time.monotonic() - t_event
                break
            time.sleep(0.005)
        out = json.loads(stream.communicate(timeout=30)[0].splitlines()[-1])
        lost_pod = lab.pods[own - 1] if scenario == "link" else None
        times = [t for t, pod in out["replies"]
                 if pod != lost_pod and t_event - 0.1 <= t <= t_event + 3]
        gap = max((b - a for a, b in zip(times, times[1:])), default=None)
        if scenario == "hang":
            agents[own].proc.send_signal(signal.SIGCONT)
        return {"scenario": scenario + ("/no-flood" if no_flood else ""), "owner": own, "max_gap_ms": gap and round(gap * 1000, 1),
                "neighbour_moved_ms": moved and round(moved * 1000, 1),
                "requests": out["sent"], "replies": len(out["replies"])}
    finally:
        for a in agents.values():
            if a.proc and a.proc.poll() is None:
                a.proc.send_signal(signal.SIGCONT)
            a.stop()
        lab.close()
        subprocess.run(["umount", "-l", bpffs], capture_output=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="build/bin")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--scenarios", default="kill,hang,link")
    ap.add_argument("--no-flood", action="store_true",
                    help="bridge ports do not flood unknown unicast (see docs/benchmarks.md)")
    args = ap.parse_args()
    binpath = os.path.abspath(args.bin)
    os.environ["IRONLB_BIN"] = binpath  # before lib.agent is imported: it reads it once
    results = []
    for scenario in args.scenarios.split(","):
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory() as tmp:
                r = run_once(binpath, scenario, tmp, args.no_flood)
            print(json.dumps(r), flush=True)
            results.append(r)
    print("detection time the defaults promise: 300 ms (100 ms x 3); fence: 200 ms")


if __name__ == "__main__":
    main()
