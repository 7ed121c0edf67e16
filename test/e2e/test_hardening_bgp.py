"""Hostile BGP peers against the real agent, with BIRD 2 as the well-behaved router beside them:
a peer that floods ROUTE-REFRESH and never reads must cost a bounded amount of memory, lose its
own session (logged, counted) and nothing else; the memory comes back once it is gone."""
import os
import sys
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from agent import Agent, write_atomic  # noqa: E402
from bgp_lab import Bird, Lab, same_session, wait_for  # noqa: E402

HOSTILE = os.path.join(os.path.dirname(__file__), "lib", "hostile_bgp.py")
VIP = "198.51.100.15"
# The agent's send queue limit is 16 MiB; ASan's quarantine is capped so RSS reflects the
# agent's own memory. Without the limit the queue grew by ~30 MB/s.
MAX_GROWTH_MB = 160

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists("/usr/sbin/bird"),
                                reason="needs root and BIRD 2")

BASE = f"""
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {{name: public, namespace: ironlb-system}}
spec:
  addresses: [{VIP}/32]
---
apiVersion: metallb.io/v1beta1
kind: BGPAdvertisement
metadata: {{name: public-bgp, namespace: ironlb-system}}
spec:
  ipAddressPools: [public]
---
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {{name: tor, namespace: ironlb-system}}
spec: {{myASN: 64512, peerASN: 64513, peerAddress: 10.0.0.1, holdTime: 9s, connectTime: 1s}}
---
apiVersion: v1
kind: Node
metadata:
  name: node-a
  labels: {{kubernetes.io/hostname: node-a}}
---
apiVersion: v1
kind: Service
metadata: {{name: web, namespace: demo}}
spec:
  type: LoadBalancer
  selector: {{app: web}}
  ports: [{{name: http, port: 80, protocol: TCP, targetPort: 8080}}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-1
  namespace: demo
  labels: {{kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{{name: http, port: 8080, protocol: TCP}}]
endpoints:
- addresses: [10.244.1.10]
  conditions: {{ready: true}}
  nodeName: node-a
"""

HOSTILE_PEER = """
---
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: hostile, namespace: ironlb-system}
spec: {myASN: 64512, peerASN: 64514, peerAddress: 10.0.1.1, holdTime: 90s, connectTime: 1s}
"""


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def sanitized(pid):
    with open(f"/proc/{pid}/maps") as f:
        return "libasan" in f.read()


def sessions(agent):
    return {s["name"]: s for s in agent.ctl("bgp", "show")["sessions"]}


@pytest.fixture
def lab():
    lab = Lab()
    try:
        yield lab
    finally:
        lab.close()


def test_peer_that_never_reads_costs_bounded_memory(lab, monkeypatch):
    r, h, n = lab.ns("r"), lab.ns("h"), lab.ns("n1")
    lab.link(r, "10.0.0.1/24", n, "10.0.0.2/24", 1)
    lab.link(h, "10.0.1.1/24", n, "10.0.1.2/24", 2)
    bird = Bird(lab, r, "10.0.0.1", 64513, [("10.0.0.2", 64512)])
    lab.spawn(h, ["/usr/bin/python3", HOSTILE, "10.0.1.1", "64514", "10.0.1.1"], log="hostile")
    cfg = os.path.join(lab.dir, "config")
    os.makedirs(cfg)
    write_atomic(os.path.join(cfg, "all.yaml"), BASE)
    monkeypatch.setenv("ASAN_OPTIONS", "quarantine_size_mb=8:allocator_release_to_os_interval_ms=200"
                       ":detect_leaks=0")
    agent = Agent(lab.dir, cfg, node="node-a", extra=["--no-dataplane"], netns=n).start()
    lab.agents.append(agent)
    assert wait_for(lambda: bird.route(f"{VIP}/32"), 30), agent.logs()
    since = bird.up_since()
    time.sleep(1)
    base = rss_mb(agent.proc.pid)

    write_atomic(os.path.join(cfg, "all.yaml"), BASE + HOSTILE_PEER)
    assert wait_for(lambda: "send queue over" in agent.logs(), 60), agent.logs()
    # The flood goes on (the hostile peer reconnects and floods again): memory stays bounded.
    peak, queued = base, 0
    end = time.monotonic() + 15
    while time.monotonic() < end:
        peak = max(peak, rss_mb(agent.proc.pid))
        s = sessions(agent).get("hostile", {})
        queued = max(queued, s.get("send_queue_bytes", 0))
        time.sleep(0.2)
    print(f"RSS baseline {base:.0f} MB, peak under the flood {peak:.0f} MB, "
          f"largest queue seen {queued / 2**20:.1f} MiB")
    assert queued <= 16 * 2**20
    assert peak - base < MAX_GROWTH_MB, (base, peak)
    assert sessions(agent)["hostile"]["send_queue_overflows"] >= 1
    assert wait_for(lambda: 'ironlb_bgp_send_queue_overflows_total{peer="10.0.1.1"}'
                    in agent.metrics(), 5), agent.metrics()
    logs = agent.logs()
    assert "peer hostile (10.0.1.1): send queue over 16 MiB" in logs, logs
    # The well-behaved router never noticed.
    assert bird.route(f"{VIP}/32")
    assert same_session(bird.up_since(), since), bird.cmd("show", "protocols", "all", "n0")

    # The peer deleted: its session, queue and metric series go, the memory comes back.
    write_atomic(os.path.join(cfg, "all.yaml"), BASE)
    assert wait_for(lambda: "hostile" not in sessions(agent), 10)
    assert wait_for(lambda: 'peer="10.0.1.1"' not in agent.metrics(), 5), agent.metrics()
    if sanitized(agent.proc.pid):
        # ASan keeps its shadow pages and size-class regions once touched: RSS says nothing
        # about our frees there. The queue itself is gone with the session.
        time.sleep(2)
        print(f"RSS after the peer was deleted: {rss_mb(agent.proc.pid):.0f} MB (ASan build)")
    else:
        after = wait_for(lambda: (lambda v: v if v - base < 20 else None)(
            rss_mb(agent.proc.pid)), 10)
        print(f"RSS after the peer was deleted: {rss_mb(agent.proc.pid):.0f} MB")
        assert after, (base, rss_mb(agent.proc.pid))
    assert same_session(bird.up_since(), since)


def list_bomb(levels):
    """Nested `kind: List` documents, each listing the previous one 9 times by alias."""
    y = ("apiVersion: v1\nkind: List\nitems:\n- &l0 {apiVersion: v1, kind: Service, metadata: "
         "{name: s, namespace: d}, spec: {type: LoadBalancer, ports: [{port: 80}]}}\n")
    for i in range(1, levels + 1):
        y += f"- &l{i} {{apiVersion: v1, kind: List, items: [" + ",".join([f"*l{i - 1}"] * 9) + "]}\n"
    return y


@pytest.mark.parametrize("levels", [9, 12])
def test_yaml_alias_bomb_is_rejected_and_bgp_never_notices(lab, levels):
    """The nested-List alias bomb used to take 6.5 GB and freeze the loop for 47 s, so BIRD
    dropped the session. Now it is one config error naming the file, and nothing else moves."""
    r, n = lab.ns("r"), lab.ns("n1")
    lab.link(r, "10.0.0.1/24", n, "10.0.0.2/24", 1)
    bird = Bird(lab, r, "10.0.0.1", 64513, [("10.0.0.2", 64512)])
    cfg = os.path.join(lab.dir, "config")
    os.makedirs(cfg)
    write_atomic(os.path.join(cfg, "all.yaml"), BASE)
    agent = Agent(lab.dir, cfg, node="node-a", extra=["--no-dataplane"], netns=n).start()
    lab.agents.append(agent)
    assert wait_for(lambda: bird.route(f"{VIP}/32"), 30), agent.logs()
    since = bird.up_since()
    base = rss_mb(agent.proc.pid)
    bomb = list_bomb(levels)
    t0 = time.monotonic()
    write_atomic(os.path.join(cfg, "bomb.yaml"), bomb)
    errs = wait_for(lambda: agent.ctl("config", "show")["errors"], 20)
    took = time.monotonic() - t0
    assert errs, agent.logs()
    e = errs[0]
    assert e["file"].endswith("bomb.yaml") and "aliases are expanded" in e["message"], e
    print(f"{len(bomb)}-byte bomb ({levels} levels) reported after {took * 1000:.0f} ms; "
          f"RSS {base:.0f} -> {rss_mb(agent.proc.pid):.0f} MB")
    assert rss_mb(agent.proc.pid) - base < 50
    time.sleep(1)
    assert bird.route(f"{VIP}/32")
    assert same_session(bird.up_since(), since), bird.cmd("show", "protocols", "all", "n0")
    assert agent.proc.poll() is None
