"""ironlb-agent announcing by BGP, end to end: the real agent (controller + speaker, no XDP) in
a node namespace reads a standalone configuration, assigns a VIP and announces it to BIRD 2 in
a router namespace. Checks what an operator would: the route and its attributes at the router,
`ironlbctl bgp show`, the BGP metrics, Service edits that never reset the session, and SIGTERM
withdrawing at once."""
import os
import re
import sys
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from agent import Agent, read_status, write_atomic  # noqa: E402
from bgp_lab import Bird, Lab, same_session, wait_for  # noqa: E402

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists("/usr/sbin/bird"),
                                reason="needs root and BIRD 2")

CONFIG = """
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: public, namespace: ironlb-system}
spec:
  addresses: [198.51.100.10-198.51.100.19]
---
apiVersion: metallb.io/v1beta1
kind: BGPAdvertisement
metadata: {name: public-bgp, namespace: ironlb-system}
spec:
  ipAddressPools: [public]
  communities: [no-export, "65000:100"]
---
apiVersion: metallb.io/v1beta1
kind: Community
metadata: {name: well-known, namespace: ironlb-system}
spec:
  communities: [{name: no-export, value: "65535:65281"}]
---
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: tor, namespace: ironlb-system}
spec:
  myASN: 64512
  peerASN: 64513
  peerAddress: 10.0.0.1
  holdTime: 9s
  connectTime: 1s
---
apiVersion: v1
kind: Node
metadata:
  name: node-a
  labels: {kubernetes.io/hostname: node-a}
status:
  addresses: [{type: InternalIP, address: 10.0.0.2}]
"""


def service(name, ip=None):
    ann = f"\n  annotations: {{metallb.io/loadBalancerIPs: {ip}}}" if ip else ""
    return f"""
apiVersion: v1
kind: Service
metadata:
  name: {name}
  namespace: demo{ann}
spec:
  type: LoadBalancer
  selector: {{app: {name}}}
  ports: [{{name: http, port: 80, protocol: TCP, targetPort: 8080}}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: {name}-1
  namespace: demo
  labels: {{kubernetes.io/service-name: {name}}}
addressType: IPv4
ports: [{{name: http, port: 8080, protocol: TCP}}]
endpoints:
- addresses: [10.244.1.10]
  conditions: {{ready: true}}
  nodeName: node-a
"""


@pytest.fixture
def env():
    lab = Lab()
    agents = []
    try:
        r, n = lab.ns("r"), lab.ns("n1")
        lab.link(r, "10.0.0.1/24", n, "10.0.0.2/24", 1)
        bird = Bird(lab, r, "10.0.0.1", 64513, [("10.0.0.2", 64512)])
        cfg = os.path.join(lab.dir, "config")
        os.makedirs(cfg)
        write_atomic(os.path.join(cfg, "metallb.yaml"), CONFIG)
        write_atomic(os.path.join(cfg, "web.yaml"), service("web", "198.51.100.15"))

        def start():
            a = Agent(lab.dir, cfg, node="node-a", extra=["--no-dataplane"], netns=n).start()
            agents.append(a)
            return a
        yield lab, n, bird, cfg, start
    finally:
        for a in agents:
            a.stop()
        lab.close()


def test_agent_announces_and_withdraws(env):
    lab, n, bird, cfg, start = env
    agent = start()
    assert wait_for(bird.established, 30), bird.cmd("show", "protocols", "all", "n0") + agent.logs()
    route = wait_for(lambda: bird.route("198.51.100.15/32"), 15)
    assert route, agent.logs()
    assert "via 10.0.0.2" in route, route
    assert "(65000,100)" in route and "(65535,65281)" in route, route  # no-export = 65535:65281
    assert "BGP.as_path: 64512" in route, route

    # The operator's view.
    st = agent.ctl("bgp", "show")
    sess = {s["name"]: s for s in st["sessions"]}
    assert sess["tor"]["state"] == "Established", st
    assert sess["tor"]["prefixes_sent"] == 1 and sess["tor"]["local_address"] == "10.0.0.2", st
    table = agent.table("bgp", "show")
    assert re.search(r"tor\s+10\.0\.0\.1\s+64513\s+Established\s+\S+\s+1/1", table), table
    assert wait_for(lambda: 'metallb_bgp_session_up{peer="10.0.0.1"} 1' in agent.metrics() and
                    'metallb_bgp_announced_prefixes_total{peer="10.0.0.1"} 1' in agent.metrics()
                    and 'metallb_bgp_pending_prefixes_total{peer="10.0.0.1"} 1' in agent.metrics()
                    and re.search(r'metallb_speaker_announced\{ip="198.51.100.15",node="node-a",'
                                  r'protocol="bgp",service="[^"]+"\} 1', agent.metrics()), 5), \
        agent.metrics()

    # A second Service and then its removal: minimal UPDATEs, the session is never reset.
    since = bird.up_since()
    write_atomic(os.path.join(cfg, "api.yaml"), service("api"))
    assert wait_for(lambda: read_status(cfg).get("demo/api"), 10)
    api_ip = read_status(cfg)["demo/api"]["ingress"][0]["ip"]
    assert wait_for(lambda: bird.route(f"{api_ip}/32"), 10), agent.logs()
    os.unlink(os.path.join(cfg, "api.yaml"))
    assert wait_for(lambda: not bird.route(f"{api_ip}/32"), 10)
    assert bird.route("198.51.100.15/32")
    assert same_session(bird.up_since(), since), bird.cmd("show", "protocols", "all", "n0")

    # A Service without a ready endpoint anywhere is not announced (externalTrafficPolicy Cluster).
    write_atomic(os.path.join(cfg, "web.yaml"), service("web", "198.51.100.15").replace(
        "conditions: {ready: true}", "conditions: {ready: false}"))
    assert wait_for(lambda: not bird.route("198.51.100.15/32"), 10), agent.logs()
    write_atomic(os.path.join(cfg, "web.yaml"), service("web", "198.51.100.15"))
    assert wait_for(lambda: bird.route("198.51.100.15/32"), 10)

    # SIGTERM: Cease/Administrative Shutdown, so the router drops the route at once.
    t0 = time.monotonic()
    assert agent.stop() == 0, agent.logs()
    assert wait_for(lambda: not bird.route("198.51.100.15/32"), 3)
    print(f"route gone {1000 * (time.monotonic() - t0):.0f} ms after SIGTERM")
    out = bird.cmd("show", "protocols", "all", "n0")
    assert "Administrative shutdown" in out or "Cease" in out, out
    # What the operator reads in the agent's log.
    logs = agent.logs()
    assert "peer tor (10.0.0.1, AS 64513): Established" in logs, logs
    assert "peer tor (10.0.0.1): session down (administratively stopped)" in logs, logs


def test_agent_bad_peer_edit_keeps_session(env):
    """A typo in a BGPPeer being served must not drop the session or its routes."""
    lab, n, bird, cfg, start = env
    agent = start()
    assert wait_for(lambda: bird.route("198.51.100.15/32"), 30), agent.logs()
    since = bird.up_since()
    write_atomic(os.path.join(cfg, "metallb.yaml"), CONFIG.replace("peerASN: 64513", "peerASN: banana"))
    assert wait_for(lambda: agent.ctl("config", "show")["errors"], 10)
    err = agent.ctl("config", "show")["errors"][0]
    assert "tor" in err["object"] and "peerASN" in err["field"], err
    time.sleep(1.5)
    assert bird.route("198.51.100.15/32")
    assert same_session(bird.up_since(), since)
    assert agent.ctl("bgp", "show")["sessions"][0]["state"] == "Established"


def test_agent_graceful_restart_keeps_routes_across_restart(env):
    """enableGracefulRestart: an agent restart (upgrade) closes without a Cease, the router keeps
    the route as stale while forwarding goes on, and the restarted agent's End-of-RIB flushes
    whatever it no longer announces."""
    lab, n, bird, cfg, start = env
    write_atomic(os.path.join(cfg, "metallb.yaml"),
          CONFIG.replace("  connectTime: 1s\n", "  connectTime: 1s\n  enableGracefulRestart: true\n"))
    write_atomic(os.path.join(cfg, "api.yaml"), service("api", "198.51.100.16"))
    agent = start()
    for ip in ("198.51.100.15", "198.51.100.16"):
        assert wait_for(lambda: bird.route(f"{ip}/32"), 30), agent.logs()
    assert agent.stop() == 0, agent.logs()
    # Down, but the route stays: RFC 4724 receiving speaker.
    assert wait_for(lambda: not bird.established(), 5)
    end = time.monotonic() + 3
    while time.monotonic() < end:
        assert bird.route("198.51.100.15/32"), bird.cmd("show", "protocols", "all", "n0")
        time.sleep(0.1)

    # The restarted agent no longer has demo/api: its End-of-RIB makes BIRD drop that stale
    # route at once, long before the 120 s restart time, and keep the refreshed one.
    os.unlink(os.path.join(cfg, "api.yaml"))
    agent = start()
    assert wait_for(bird.established, 30), agent.logs()
    assert wait_for(lambda: not bird.route("198.51.100.16/32"), 10), \
        bird.cmd("show", "route", "all", "for", "198.51.100.16/32")
    assert bird.route("198.51.100.15/32")


def test_agent_peer_edits_reach_the_session(env):
    """Editing a BGPPeer's holdTime or enableGracefulRestart on a running agent restarts the
    session with the new values, as BIRD sees them (a hand-written comparison once ignored
    graceful restart, so that edit never reached the wire). BIRD is configured with hold 9, so
    the negotiated hold shows ours only when ours is lower."""
    lab, n, bird, cfg, start = env
    agent = start()
    assert wait_for(lambda: bird.route("198.51.100.15/32"), 30), agent.logs()

    def show():
        return bird.cmd("show", "protocols", "all", "n0")

    def hold():
        m = re.search(r"Hold timer:\s+[\d.]+/(\d+)", show())
        return int(m.group(1)) if m else None

    def neighbor_caps():
        out = show()
        if "Neighbor capabilities" not in out:
            return ""
        return out.split("Neighbor capabilities")[1].split("Session:")[0]

    assert wait_for(lambda: hold() == 9, 10), show()
    assert "Graceful restart" not in neighbor_caps(), show()
    write_atomic(os.path.join(cfg, "metallb.yaml"), CONFIG.replace("holdTime: 9s", "holdTime: 6s"))
    assert wait_for(lambda: hold() == 6, 30), show() + agent.logs()
    write_atomic(os.path.join(cfg, "metallb.yaml"), CONFIG.replace(
        "holdTime: 9s", "holdTime: 6s\n  enableGracefulRestart: true"))
    assert wait_for(lambda: "Graceful restart" in neighbor_caps(), 30), show() + agent.logs()
    assert wait_for(lambda: bird.route("198.51.100.15/32"), 30), agent.logs()
