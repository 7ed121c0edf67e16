#!/usr/bin/python3
"""Cost of a /metrics scrape now that the data plane's per-CPU counters are read at scrape time.
One node of the operability lab (test/e2e/lib/ops_lab.py: namespaces, an agent with every role,
XDP on a veth) carries N UDP flows from distinct client ports, so the conntrack LRU holds N
entries; then, in the same run:
  - the scrape of that agent (registry + per-CPU maps summed + conntrack walked in batches),
  - the scrape of a second agent on the same configuration without a data plane (the peer:
    the registry alone),
each timed over R scrapes from inside the node namespace (median, p90), and the ratio of the
medians. Also `ironlbctl -j explain` (maps + flow hash) and `ironlbctl -j stats`.
Not a pass/fail test:
  sudo /usr/bin/python3 test/bench/scrape_bench.py --bin build/bin --flows 20000 --scrapes 50
Every address used lives inside the namespaces created here; all is removed on exit."""
import argparse
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))

FLOWS = r'''
import socket, sys
n, vip, port = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
s = []
for i in range(n):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("10.0.0.2", 0))
    u.sendto(b"q", (vip, port))
    s.append(u)
    if len(s) >= 512:
        for x in s: x.close()
        s = []
'''


def timed(cmd, runs):
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True)
        out.append(time.perf_counter() - t0)
    out.sort()
    return statistics.median(out), out[int(len(out) * 0.9) - 1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="build/bin")
    ap.add_argument("--flows", type=int, default=20000)
    ap.add_argument("--scrapes", type=int, default=50)
    a = ap.parse_args()
    os.environ["IRONLB_BIN"] = os.path.abspath(a.bin)
    os.environ["IRONLB_SOURCE_DIR"] = str(pathlib.Path(__file__).resolve().parents[2])
    from lib.agent import Agent, wait_for
    from lib.ops_lab import UDP_PORT, VIP, client, ops_lab
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="ironlb-scrape-"))
    gen = ops_lab(tmp)
    lab = next(gen)
    try:
        client(lab, FLOWS, a.flows, VIP, UDP_PORT)
        ct = int(float(next(line.split()[1] for line in lab.agent.metrics().splitlines()
                            if line.startswith("ironlb_dataplane_conntrack_entries "))))
        peer_dir = tmp / "peer"
        peer_dir.mkdir()
        peer = Agent(str(peer_dir), lab.confdir, node="node-a", role="all", netns=lab.node,
                     extra=("--no-dataplane", "--no-bgp")).start()
        try:
            wait_for(lambda: "metallb_k8s_client_config_loaded_bool 1" in peer.metrics(), 20)
            scrape = ["ip", "netns", "exec", lab.node, "curl", "-s", "-o", "/dev/null"]
            with_dp = timed(scrape + [f"http://127.0.0.1:{lab.agent.metrics_port}/metrics"], a.scrapes)
            without = timed(scrape + [f"http://127.0.0.1:{peer.metrics_port}/metrics"], a.scrapes)
        finally:
            peer.stop()
        ctl = [os.path.join(a.bin, "ironlbctl"), "--bpffs", lab.bpffs, "-j"]
        explain = timed(ctl + ["explain", f"{VIP}:80/TCP", "10.0.0.2:40000"], 20)
        stats = timed(ctl + ["stats"], 20)
        print(f"conntrack entries: {ct} (asked for {a.flows} flows)")
        print(f"scrape with data plane:   median {with_dp[0] * 1e3:.1f} ms, p90 {with_dp[1] * 1e3:.1f} ms")
        print(f"scrape without (peer):    median {without[0] * 1e3:.1f} ms, p90 {without[1] * 1e3:.1f} ms")
        print(f"ratio of medians:         {with_dp[0] / without[0]:.2f}")
        print(f"ironlbctl -j explain:     median {explain[0] * 1e3:.1f} ms")
        print(f"ironlbctl -j stats:       median {stats[0] * 1e3:.1f} ms")
    finally:
        try:
            next(gen)
        except StopIteration:
            pass


if __name__ == "__main__":
    main()
