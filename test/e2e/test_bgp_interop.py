"""Interop of ironlb-agent's BGP speaker with BIRD 2, GoBGP and FRR in network namespaces: the
real agent (controller + speaker, no XDP) on each node, configured with the metallb.io objects,
against each router. test_agent_bgp.py covers the operator's side (ironlbctl, metrics, edits),
test_bfd.py BFD."""
import os
import sys
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from agent import BIN  # noqa: E402
from bgp_lab import AgentNode, Bird, Frr, GoBgp, Lab, same_session, wait_for  # noqa: E402

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists("/usr/sbin/bird"),
                                reason="needs root and BIRD 2")
COMMUNITIES = ("65000:100", "large:64512:1:2")


@pytest.fixture
def lab():
    assert os.path.exists(os.path.join(BIN, "ironlb-agent")), "ironlb-agent not built"
    lab_ = Lab()
    try:
        yield lab_
    finally:
        lab_.close()


def three_nodes(lab):
    """A router namespace and three node namespaces, node i on 10.0.i.0/24. Returns the router,
    its (neighbor address, AS) list and each node's (namespace, router address)."""
    r = lab.ns("r")
    neighbors, nodes = [], []
    for i in range(1, 4):
        n = lab.ns(f"n{i}")
        lab.link(r, f"10.0.{i}.1/24", n, f"10.0.{i}.2/24", i)
        neighbors.append((f"10.0.{i}.2", 64512))
        nodes.append((n, f"10.0.{i}.1"))
    return r, neighbors, nodes


def test_bird_routes_communities_and_shutdown(lab):
    r, n = lab.ns("r"), lab.ns("n1")
    lab.link(r, "10.0.0.1/24", n, "10.0.0.2/24", 1)
    bird = Bird(lab, r, "10.0.0.1", 64513, [("10.0.0.2", 64512)])
    node = AgentNode(lab, n, "node-1", "10.0.0.1", ["192.0.2.10", "192.0.2.11"],
                     communities=COMMUNITIES)
    assert wait_for(bird.established, 30), bird.cmd("show", "protocols", "all", "n0")
    route = wait_for(lambda: bird.route("192.0.2.10/32"), 10)
    assert "10.0.0.2" in route, route
    assert "(65000,100)" in route, route
    assert "(64512, 1, 2)" in route, route
    assert "BGP.as_path: 64512" in route, route
    # Administrative shutdown: the router drops the routes at once, not after the hold timer.
    t0 = time.monotonic()
    assert node.stop() == 0
    assert wait_for(lambda: not bird.route("192.0.2.10/32"), 5)
    gone = time.monotonic() - t0
    print(f"route gone {gone * 1000:.0f} ms after shutdown")
    assert "Administrative shutdown" in bird.cmd("show", "protocols", "all", "n0") or \
        "Cease" in bird.cmd("show", "protocols", "all", "n0")


def test_bird_md5(lab):
    r, n = lab.ns("r"), lab.ns("n1")
    lab.link(r, "10.0.0.1/24", n, "10.0.0.2/24", 1)
    bird = Bird(lab, r, "10.0.0.1", 64513, [("10.0.0.2", 64512)], passwords=["s3cret"])
    bad = AgentNode(lab, n, "node-bad", "10.0.0.1", ["192.0.2.10"], password="wrong")
    assert not wait_for(bird.established, 6)
    bad.stop()
    AgentNode(lab, n, "node-good", "10.0.0.1", ["192.0.2.10"], password="s3cret")
    assert wait_for(bird.established, 30)
    assert wait_for(lambda: bird.route("192.0.2.10/32"), 10)


def test_bird_ecmp_three_nodes(lab):
    r, neighbors, nodes = three_nodes(lab)
    bird = Bird(lab, r, "10.0.0.1", 64513, neighbors)
    for i, (n, peer) in enumerate(nodes):
        AgentNode(lab, n, f"node-{i + 1}", peer, ["192.0.2.10"], node_addr=f"10.0.{i + 1}.2")

    def kernel_hops():
        out = os.popen(f"ip -n {r} route show 192.0.2.10").read()
        return out if out.count("nexthop") == 3 else ""
    out = wait_for(kernel_hops, 40)
    assert out, os.popen(f"ip -n {r} route").read() + bird.cmd("show", "protocols")
    for i in range(1, 4):
        assert f"10.0.{i}.2" in out


def test_bird_ipv6_mp_bgp(lab):
    r, n = lab.ns("r"), lab.ns("n1")
    lab.link(r, "fd00::1/64", n, "fd00::2/64", 1)
    bird = Bird(lab, r, "10.0.0.1", 64513, [("fd00::2", 64512)])
    AgentNode(lab, n, "node-1", "fd00::1", ["2001:db8::10"])
    assert wait_for(bird.established, 30), bird.cmd("show", "protocols", "all", "n0")
    route = wait_for(lambda: bird.route("2001:db8::10/128"), 10)
    assert "fd00::2" in route, route


def test_bird_service_delete_withdraws_without_reset(lab):
    r, n = lab.ns("r"), lab.ns("n1")
    lab.link(r, "10.0.0.1/24", n, "10.0.0.2/24", 1)
    bird = Bird(lab, r, "10.0.0.1", 64513, [("10.0.0.2", 64512)])
    node = AgentNode(lab, n, "node-1", "10.0.0.1", ["192.0.2.10", "192.0.2.11"])
    assert wait_for(bird.established, 30)
    assert wait_for(lambda: bird.route("192.0.2.11/32"), 10)
    since = bird.up_since()
    node.set_vips(["192.0.2.10"])
    assert wait_for(lambda: not bird.route("192.0.2.11/32"), 10)
    assert bird.route("192.0.2.10/32")
    assert same_session(bird.up_since(), since), bird.cmd("show", "protocols", "all", "n0")


def test_bird_four_octet_asn(lab):
    r, n = lab.ns("r"), lab.ns("n1")
    lab.link(r, "10.0.0.1/24", n, "10.0.0.2/24", 1)
    bird = Bird(lab, r, "10.0.0.1", 4200000001, [("10.0.0.2", 4200000000)])
    AgentNode(lab, n, "node-1", "10.0.0.1", ["192.0.2.10"], my_asn=4200000000,
              peer_asn=4200000001)
    assert wait_for(bird.established, 30), bird.cmd("show", "protocols", "all", "n0")
    route = wait_for(lambda: bird.route("192.0.2.10/32"), 10)
    assert "BGP.as_path: 4200000000" in route, route


@pytest.mark.skipif(not os.path.exists("/usr/bin/gobgpd"), reason="needs GoBGP")
def test_gobgp_routes_and_shutdown(lab):
    r, n = lab.ns("r"), lab.ns("n1")
    lab.link(r, "10.0.0.1/24", n, "10.0.0.2/24", 1)
    gobgp = GoBgp(lab, r, "10.0.0.1", 64513, [("10.0.0.2", 64512)])
    node = AgentNode(lab, n, "node-1", "10.0.0.1", ["192.0.2.10"], communities=COMMUNITIES)
    assert wait_for(gobgp.established, 40), gobgp.cmd("neighbor")
    route = wait_for(lambda: gobgp.route("192.0.2.10/32"), 10)
    assert "10.0.0.2" in route, route
    assert "65000:100" in route, route
    assert "64512:1:2" in route, route
    assert node.stop() == 0
    assert wait_for(lambda: not gobgp.route("192.0.2.10/32"), 5)


@pytest.mark.skipif(not os.path.exists("/usr/lib/frr/bgpd"), reason="needs FRR")
def test_frr_routes_ecmp_and_shutdown(lab):
    r, neighbors, nodes = three_nodes(lab)
    frr = Frr(lab, r, "10.0.0.1", 64513, neighbors)
    agents = [AgentNode(lab, n, f"node-{i + 1}", peer, ["192.0.2.10"], node_addr=f"10.0.{i + 1}.2",
                        communities=COMMUNITIES) for i, (n, peer) in enumerate(nodes)]
    assert wait_for(lambda: all(frr.established(a) for a, _ in neighbors), 60), \
        frr.cmd("show bgp summary")
    route = wait_for(lambda: frr.route("192.0.2.10/32"), 10)
    assert route, frr.cmd("show bgp summary")
    assert "65000:100" in route and "64512:1:2" in route, route
    assert "Paths: (3 available" in route, route

    def kernel_hops():
        out = os.popen(f"ip -n {r} route show 192.0.2.10").read()
        return out if out.count("nexthop") == 3 else ""
    assert wait_for(kernel_hops, 30), os.popen(f"ip -n {r} route").read() + route
    for a in agents:
        assert a.stop() == 0
    assert wait_for(lambda: not os.popen(f"ip -n {r} route show 192.0.2.10").read(), 5)
    assert not frr.route("192.0.2.10/32")
