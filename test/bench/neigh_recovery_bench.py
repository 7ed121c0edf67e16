#!/usr/bin/python3
"""How long after a link flap a node can again send flows to the other nodes' endpoints: the DSR
lab of test/e2e/test_dsr.py (three nodes, an agent on each), node 1's uplink losing and regaining
its carrier, and the time from the carrier's return until node 1's neighbour entries for nodes 2
and 3 are usable by XDP again (reachable, stale, delay or probe). Until then every packet node 1
encapsulates to them takes the slower way through tc's bpf_redirect_neigh (fwd_encap_resolve;
before that hand-off existed, they were dropped as drop_no_neigh). Root; run it against two builds
to compare:

    test/bench/neigh_recovery_bench.py --bin build/bin [--rounds 10] [--json out.json]
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

USABLE = ("REACHABLE", "STALE", "DELAY", "PROBE")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--json")
    args = ap.parse_args()
    os.environ["IRONLB_BIN"] = os.path.abspath(args.bin)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "e2e"))
    from test_dsr import DsrLab, neighbours, running_lab, sh

    samples = []
    with tempfile.TemporaryDirectory(prefix="neighbench-") as tmp:
        lab_gen = running_lab(Path(tmp))
        lab = next(lab_gen)
        try:
            n1, peers = lab.nodes[0], (DsrLab.node_ip(2), DsrLab.node_ip(3))
            for _ in range(args.rounds):
                sh("ip", "link", "set", "n1", "down", ns=lab.router)
                time.sleep(0.5)
                sh("ip", "link", "set", "n1", "up", ns=lab.router)
                t0 = time.monotonic()
                while time.monotonic() - t0 < 10:
                    st = neighbours(n1)
                    if all(st.get(a, ("",))[0] in USABLE for a in peers):
                        break
                    time.sleep(0.002)
                samples.append((time.monotonic() - t0) * 1000)
                time.sleep(1)
        finally:
            lab_gen.close()
    result = {"rounds": len(samples), "median_ms": statistics.median(samples),
              "min_ms": min(samples), "max_ms": max(samples), "samples_ms": samples}
    print(f"entries usable again after the carrier returned: median {result['median_ms']:.0f} ms, "
          f"range {result['min_ms']:.0f}-{result['max_ms']:.0f} ms over {len(samples)} flaps")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
