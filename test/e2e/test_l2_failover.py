"""Layer-2 failover with real kernels: three nodes and a client on one bridge (plain veths,
default offloads), endpoints behind every node, an ironlb-agent per node (--role speaker on one
shared standalone config, heartbeats sealed with one key). The client's own kernel resolves the
VIP by ARP to the elected owner's MAC. When the owner's agent is killed (SIGKILL) or hung
(SIGSTOP), another node takes over: its gratuitous ARP moves the client's neighbour entry without
the client asking, exactly one MAC answers ARP afterwards (the old owner's XDP is fenced on its
stale liveness stamp), and TCP connections held across the move keep working. Forged and
replayed heartbeats are ignored."""
import base64
import json
import os
import signal
import subprocess
import textwrap
import time

import pytest

from lib.agent import Agent, wait_for
from lib.l2_lab import L2Lab, heartbeat, send_udp
from lib.netns_dp import sh

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root for namespaces and XDP")

VIP, VIP6, PORT, BACKEND_PORT, HB_PORT = "198.51.100.10", "2001:db8:100::10", 80, 8080, 7473
KEY = b"e2e-l2-key-0123456789abcdef-0123456789"


def config(nodes, policy="Cluster", eps_on=None, interfaces=None):
    ifaces = f"\n          interfaces: [{', '.join(interfaces)}]" if interfaces else ""
    eps_on = range(1, nodes + 1) if eps_on is None else eps_on
    node_docs = "".join(textwrap.dedent(f"""
        ---
        apiVersion: v1
        kind: Node
        metadata:
          name: node-{i}
          labels: {{kubernetes.io/hostname: node-{i}}}
        status:
          addresses:
          - {{type: InternalIP, address: 10.0.0.{i}}}
        """) for i in range(1, nodes + 1))
    eps = "".join(f"- addresses: [10.1.{i}.2]\n  conditions: {{ready: true}}\n"
                  f"  nodeName: node-{i}\n" for i in eps_on)
    return textwrap.dedent(f"""
        apiVersion: metallb.io/v1beta1
        kind: IPAddressPool
        metadata: {{name: lab, namespace: ironlb-system}}
        spec:
          addresses: [198.51.100.10/32, 2001:db8:100::10/128]
        ---
        apiVersion: metallb.io/v1beta1
        kind: L2Advertisement
        metadata: {{name: lab, namespace: ironlb-system}}
        spec:
          ipAddressPools: [lab]{ifaces}
        ---
        apiVersion: v1
        kind: Service
        metadata: {{name: web, namespace: demo}}
        spec:
          type: LoadBalancer
          externalTrafficPolicy: {policy}
          ports:
          - {{name: http, port: 80, targetPort: 8080, protocol: TCP}}
        ---
        apiVersion: v1
        kind: Service
        metadata: {{name: web6, namespace: demo}}
        spec:
          type: LoadBalancer
          ipFamilyPolicy: SingleStack
          ipFamilies: [IPv6]
          ports:
          - {{name: http, port: 80, targetPort: 8080, protocol: TCP}}
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata:
          name: web-1
          namespace: demo
          labels: {{kubernetes.io/service-name: web}}
        addressType: IPv4
        ports:
        - {{name: http, port: 8080, protocol: TCP}}
        endpoints:
        """) + eps + node_docs


def write(path, text):
    with open(path + ".tmp~", "w") as f:
        f.write(text)
    os.rename(path + ".tmp~", path)


@pytest.fixture
def lab(tmp_path):
    yield from run_lab(tmp_path)


@pytest.fixture
def lab2(tmp_path):
    """Two uplinks per node (two segments); the L2Advertisement selects n0 only."""
    yield from run_lab(tmp_path, second_segment=True, interfaces=["n0"])


@pytest.fixture
def lab_secret(tmp_path):
    """The key in MetalLB's memberlist Secret (secretkey) instead of a key file."""
    yield from run_lab(tmp_path, key_secret=True)


def memberlist_secret(key):
    return textwrap.dedent(f"""
        apiVersion: v1
        kind: Secret
        metadata: {{name: memberlist, namespace: ironlb-system}}
        type: Opaque
        data:
          secretkey: {base64.b64encode(key).decode()}
        """)


def run_lab(tmp_path, second_segment=False, interfaces=None, key_secret=False):
    lab = L2Lab(nodes=3, second_segment=second_segment)
    bpffs = str(tmp_path / "bpffs")
    os.makedirs(bpffs)
    subprocess.run(["mount", "-t", "bpf", "bpf", bpffs], check=True)
    lab.bpffs = bpffs
    lab.confdir = str(tmp_path / "config")
    os.makedirs(os.path.join(lab.confdir, "status"))
    write(os.path.join(lab.confdir, "lab.yaml"), config(3, interfaces=interfaces))
    # The controller's part, done here: this test is about the speakers.
    for name, ip in (("web", VIP), ("web6", VIP6)):
        write(os.path.join(lab.confdir, "status", f"demo_{name}.json"), json.dumps({
            "apiVersion": "ironlb.io/v1alpha1", "kind": "ServiceStatus",
            "service": {"namespace": "demo", "name": name}, "pool": "lab",
            "ingress": [{"ip": ip}]}))
    keyfile = str(tmp_path / "l2.key")
    with open(keyfile, "wb") as f:
        f.write(KEY + b"\n")
    if key_secret:
        write(os.path.join(lab.confdir, "secret.yaml"), memberlist_secret(KEY))
    key_args = (("--l2-key-secret", "ironlb-system/memberlist") if key_secret
                else ("--l2-key-file", keyfile))
    lab.agents = {}
    try:
        lab.build()
        lab.start_servers(BACKEND_PORT)
        for i, ns in enumerate(lab.nodes, start=1):
            uplinks = ("--interface", "n0") + (("--interface", "n1") if second_segment else ())
            a = Agent(str(tmp_path), lab.confdir, node=f"node-{i}", role="speaker", netns=ns,
                      extra=(*uplinks, "--bpffs", f"{bpffs}/node-{i}", "--no-bgp",
                             *key_args))
            lab.agents[i] = a.start()
        yield lab
    finally:
        for a in lab.agents.values():
            if a.proc and a.proc.poll() is None:
                a.proc.send_signal(signal.SIGCONT)
            a.stop()
        lab.close()
        subprocess.run(["umount", "-l", bpffs], capture_output=True)


def owners(lab, alive, vip=VIP):
    """The owner of the VIP as each agent in `alive` sees it."""
    out = {}
    for i in alive:
        doc = lab.agents[i].ctl("l2", "show")
        out[i] = {v["vip"]: v["owner"] for v in doc["vips"]}.get(vip)
    return out


def agreed_owner(lab, alive, vip=VIP):
    """The one owner every agent in `alive` names, once they agree on a node among them."""
    def agree():
        o = set(owners(lab, alive, vip).values())
        if len(o) == 1:
            name = o.pop()
            if name and int(name.split("-")[1]) in alive:
                return name
        return None
    return int(wait_for(agree, timeout=20, what=f"agents {alive} to agree on an owner")
               .split("-")[1])


HOLD = r'''
import socket, sys
conns = []
for i in range(int(sys.argv[3])):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect((sys.argv[1], int(sys.argv[2])))
    conns.append((s, s.makefile().readline().split()[0]))
print(" ".join(p for _, p in conns), flush=True)
while sys.stdin.readline():
    alive = []
    for s, pod in conns:
        try:
            s.sendall(b"ping\n")
            alive.append(pod + ("=ok" if s.recv(16) == b"ping\n" else "=bad"))
        except OSError:
            alive.append(pod + "=dead")
    print(" ".join(alive), flush=True)
'''


def check_held(p, lost_pods=()):
    """Every held connection still echoes, except those to endpoints in `lost_pods`."""
    p.stdin.write("check\n")
    p.stdin.flush()
    result = p.stdout.readline().split()
    kept = [r for r in result if r.split("=")[0] not in lost_pods]
    assert kept and all(r.endswith("=ok") for r in kept), result
    return result


def failover(lab, alive, sig, held, stop=None, lost_pods=()):
    """Stops the current owner's agent with `sig` (or calls stop(owner)); checks the takeover as
    the client sees it."""
    old = agreed_owner(lab, alive)
    old_mac = lab.node_mac(old)
    assert lab.client_neigh(VIP)[0] == old_mac
    if stop:
        stop(old)
    else:
        lab.agents[old].proc.send_signal(sig)
    rest = [i for i in alive if i != old]
    new = agreed_owner(lab, rest)
    new_mac = lab.node_mac(new)
    # No traffic from the client meanwhile: only a gratuitous ARP can move its entry.
    wait_for(lambda: lab.client_neigh(VIP)[0] == new_mac, timeout=10,
             what=f"client neighbour entry to move from node-{old} to node-{new}")
    replies = lab.arp_probe(VIP, n=3)
    assert replies and set(replies) == {new_mac}, (replies, old_mac, new_mac)
    check_held(held, lost_pods)
    # Metrics are mirrored from the speaker every second.
    wait_for(lambda: 'metallb_layer2_gratuitous_sent{ip="198.51.100.10"}'
             in lab.agents[new].metrics(), timeout=5, what="gratuitous metric")
    return old, new, rest


CONNECT_FROM = r'''
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[3], int(sys.argv[4])))
s.settimeout(5)
s.connect((sys.argv[1], int(sys.argv[2])))
print(s.makefile().readline().split()[0], flush=True)
'''


def explain(lab, i, sport):
    return lab.agents[i].ctl("--bpffs", f"{lab.bpffs}/node-{i}", "explain", f"{VIP}:{PORT}/TCP",
                             f"{lab.client_ip}:{sport}")


def test_kill_then_hang_the_owner(lab):
    # Default --xdp-mode auto on a plain veth whose peer runs no XDP: generic, and says why.
    assert "--xdp-mode auto picks generic: veth" in lab.agents[1].logs()
    owner = agreed_owner(lab, [1, 2, 3])
    # The client's kernel resolves the VIP (by ARP) to the owner's MAC, and reaches endpoints.
    held = lab.client_popen(HOLD, VIP, PORT, 12)
    pods = held.stdout.readline().split()
    assert len(set(pods)) >= 2, pods
    assert lab.client_neigh(VIP)[0] == lab.node_mac(owner)
    assert set(lab.arp_probe(VIP)) == {lab.node_mac(owner)}
    # Counted per VIP under MetalLB's names: three probes answered by the owner at least.
    wait_for(lambda: 'metallb_layer2_responses_sent{ip="198.51.100.10"}' in
             lab.agents[owner].metrics() and 'metallb_layer2_requests_received{ip="198.51.100.10"}'
             in lab.agents[owner].metrics(), timeout=5, what="layer2 request/response metrics")

    killed, new, rest = failover(lab, [1, 2, 3], signal.SIGKILL, held)

    # Forged (wrong key) and replayed (old sequence from the dead node's own address)
    # heartbeats change nothing: the dead node stays dead, the owner stays.
    for i in rest:
        send_udp(lab.client, lab.node_ip(i), HB_PORT,
                 heartbeat(b"not-the-key-0123456789", f"node-{killed}", 2**62, 1))
        send_udp(lab.nodes[killed - 1], lab.node_ip(i), HB_PORT,
                 heartbeat(KEY, f"node-{killed}", 1, 1))
    time.sleep(0.5)
    assert owners(lab, rest) == {i: f"node-{new}" for i in rest}
    for i in rest:
        doc = lab.agents[i].ctl("l2", "show")
        rejected = doc["heartbeats"]["rejected"]
        assert rejected.get("bad_mac", 0) >= 1 and rejected.get("replay", 0) >= 1, rejected
        assert not {p["name"]: p["healthy"] for p in doc["peers"]}[f"node-{killed}"]
    wait_for(lambda: 'ironlb_l2_heartbeats_rejected_total{reason="bad_mac"}'
             in lab.agents[new].metrics(), timeout=5, what="rejected heartbeats metric")

    # Now hang the new owner: the last node takes over, the hung one's XDP goes quiet by itself.
    hung, last, _ = failover(lab, rest, signal.SIGSTOP, held)
    doc = lab.agents[last].ctl("l2", "show")
    vip = next(v for v in doc["vips"] if v["vip"] == VIP)
    assert vip["mine"] and vip["previous"] == f"node-{hung}", vip
    assert f"node-{hung} failed" in vip["cause"], vip
    table = lab.agents[last].table("l2", "show")
    print(table)
    assert f"node-{last} (this node)" in table and f"node-{hung} -> node-{last}" in table, table
    def changes():
        for line in lab.agents[last].metrics().splitlines():
            if line.startswith("ironlb_l2_owner_changes_total "):
                return float(line.split()[1])
        return 0
    wait_for(lambda: changes() >= 2, timeout=5, what="the IPv4 VIP's two owner changes counted")
    lab.agents[hung].proc.send_signal(signal.SIGCONT)


def resolve(lab, vip):
    """Makes the client's kernel resolve `vip` by ARP/NDP (the ping itself need not be answered)."""
    subprocess.run(["ip", "netns", "exec", lab.client, "ping", "-6" if ":" in vip else "-4", "-c",
                    "1", "-W", "1", vip], capture_output=True)


def test_owner_link_down(lab):
    held = lab.client_popen(HOLD, VIP, PORT, 12)
    assert len(set(held.stdout.readline().split())) >= 2
    owner = agreed_owner(lab, [1, 2, 3])

    def link_down(i):
        sh("ip", "link", "set", "n0", "down", ns=lab.nodes[i - 1])

    # The owner's uplink goes down: it leaves the election (its own agent sees the carrier go),
    # the others stop hearing it; connections to endpoints behind other nodes are kept (the
    # endpoint behind the cut-off node is unreachable for everyone).
    old, new, rest = failover(lab, [1, 2, 3], None, held, stop=link_down,
                              lost_pods=(lab.pods[owner - 1],))
    wait_for(lambda: "carrier lost" in lab.agents[old].logs(), timeout=5, what="carrier event")
    assert not lab.agents[old].ctl("l2", "show")["available"]
    sh("ip", "link", "set", "n0", "up", ns=lab.nodes[old - 1])
    wait_for(lambda: lab.agents[old].ctl("l2", "show")["available"], timeout=10,
             what="node available again with carrier back")


def test_external_traffic_policy_local_follows_the_endpoints(lab):
    # Only nodes 2 and 3 hold a ready endpoint: node 1 is never the owner.
    write(os.path.join(lab.confdir, "lab.yaml"), config(3, policy="Local", eps_on=(2, 3)))
    wait_for(lambda: all(o in ("node-2", "node-3") for o in owners(lab, [1, 2, 3]).values()),
             timeout=20, what="owner among the nodes with a local endpoint")
    owner = agreed_owner(lab, [1, 2, 3])
    resolve(lab, VIP)
    wait_for(lambda: (lab.client_neigh(VIP) or (None,))[0] == lab.node_mac(owner), timeout=10,
             what="client resolved the VIP to the owner")
    other = 5 - owner  # 2 <-> 3
    # The owner's endpoint goes away: the VIP moves to the other node with one.
    write(os.path.join(lab.confdir, "lab.yaml"), config(3, policy="Local", eps_on=(other,)))
    wait_for(lambda: set(owners(lab, [1, 2, 3]).values()) == {f"node-{other}"}, timeout=20,
             what=f"every agent to name node-{other}")
    wait_for(lambda: lab.client_neigh(VIP)[0] == lab.node_mac(other), timeout=10,
             what="client entry moved by the new owner's gratuitous ARP")
    assert set(lab.arp_probe(VIP, n=2)) == {lab.node_mac(other)}
    vip = next(v for v in lab.agents[other].ctl("l2", "show")["vips"] if v["vip"] == VIP)
    assert vip["cause"] == "configuration changed" and vip["eligible"] == [f"node-{other}"], vip


def test_ipv6_owner_killed_unsolicited_na_moves_the_client(lab):
    owner = agreed_owner(lab, [1, 2, 3], VIP6)
    resolve(lab, VIP6)
    wait_for(lambda: (lab.client_neigh(VIP6) or (None,))[0] == lab.node_mac(owner), timeout=10,
             what="client resolved the IPv6 VIP to the owner")
    lab.agents[owner].proc.send_signal(signal.SIGKILL)
    rest = [i for i in (1, 2, 3) if i != owner]
    new = agreed_owner(lab, rest, VIP6)
    wait_for(lambda: lab.client_neigh(VIP6)[0] == lab.node_mac(new), timeout=10,
             what="client neighbour entry moved by the unsolicited NA")


def test_a_conflicting_claim_is_detected_and_counted(lab):
    owner = agreed_owner(lab, [1, 2, 3])
    lab.claim_from_client(VIP)
    wait_for(lambda: 'ironlb_l2_conflicts_total{ip="198.51.100.10"}' in
             lab.agents[owner].metrics(), timeout=5, what="conflict counted on the owner")
    vip = next(v for v in lab.agents[owner].ctl("l2", "show")["vips"] if v["vip"] == VIP)
    assert vip.get("conflicts", 0) >= 1, vip
    assert "conflict: " in lab.agents[owner].logs() and "claims 198.51.100.10" in \
        lab.agents[owner].logs()
    others = [i for i in (1, 2, 3) if i != owner]
    assert all("conflict: " not in lab.agents[i].logs() for i in others), "only the owner judges"


def test_a_partition_heals_to_one_owner(lab):
    owner = agreed_owner(lab, [1, 2, 3])
    others = [i for i in (1, 2, 3) if i != owner]
    resolve(lab, VIP)

    def partition(cmd):
        # Heartbeats (and anything else) between the owner and the other nodes go nowhere.
        for i in others:
            sh("ip", "route", cmd, "blackhole", f"{lab.node_ip(i)}/32", ns=lab.nodes[owner - 1])
            sh("ip", "route", cmd, "blackhole", f"{lab.node_ip(owner)}/32", ns=lab.nodes[i - 1])

    partition("add")
    # Each side elects among the nodes it hears: the old owner keeps the VIP, the others pick one
    # of themselves and announce it (a partition of one segment cannot avoid two owners).
    rival = agreed_owner(lab, others)
    assert owners(lab, [owner]) == {owner: f"node-{owner}"}
    wait_for(lambda: lab.client_neigh(VIP)[0] == lab.node_mac(rival), timeout=10,
             what="the rival's gratuitous ARP reaching the client during the partition")
    partition("del")
    # Healed: everyone agrees on the deterministic owner again, the rival goes quiet, and the
    # owner announces again (a node came back), which brings the client back without it asking.
    assert agreed_owner(lab, [1, 2, 3]) == owner
    wait_for(lambda: lab.client_neigh(VIP)[0] == lab.node_mac(owner), timeout=10,
             what="client entry back on the owner by its new announcement")
    assert set(lab.arp_probe(VIP, n=2)) == {lab.node_mac(owner)}


def test_sigterm_hands_over_and_a_restarted_agent_rejoins(lab):
    owner = agreed_owner(lab, [1, 2, 3])
    resolve(lab, VIP)
    # SIGTERM: the agent tells its peers it is leaving and goes quiet for the VIP at once.
    lab.agents[owner].stop()
    others = [i for i in (1, 2, 3) if i != owner]
    new = agreed_owner(lab, others)
    wait_for(lambda: lab.client_neigh(VIP)[0] == lab.node_mac(new), timeout=10,
             what="client moved to the new owner")
    assert set(lab.arp_probe(VIP, n=2)) == {lab.node_mac(new)}
    # The same node comes back with a new boot id: its heartbeats are accepted (not taken for
    # replays of its previous life), it is healthy again everywhere and takes its VIP back.
    lab.agents[owner].start()
    assert agreed_owner(lab, [1, 2, 3]) == owner
    for i in others:
        peers = {p["name"]: p["healthy"] for p in lab.agents[i].ctl("l2", "show")["peers"]}
        assert peers[f"node-{owner}"], peers
    wait_for(lambda: lab.client_neigh(VIP)[0] == lab.node_mac(owner), timeout=10,
             what="client back on the restarted owner")
    assert set(lab.arp_probe(VIP, n=2)) == {lab.node_mac(owner)}


def test_a_heartbeat_captured_before_the_receiver_started_is_not_accepted(lab):
    agreed_owner(lab, [1, 2, 3])
    # A real heartbeat node-3 sent node-1, taken off node-1's wire; then node-3 dies.
    captured = lab.capture_heartbeat(at=1, sender=3, port=HB_PORT)
    lab.agents[3].proc.send_signal(signal.SIGKILL)
    # node-1 restarts: it has no high-water mark for node-3 any more, the gap a bare (boot, seq)
    # check leaves open. node-2 and node-1 complete the handshake and see each other again.
    lab.agents[1].stop()
    lab.agents[1].start()

    def peers(i):
        return {p["name"]: p["healthy"] for p in lab.agents[i].ctl("l2", "show")["peers"]}
    wait_for(lambda: peers(1) == {"node-2": True, "node-3": False}, timeout=10,
             what="restarted node-1 to hear node-2 and to have given up on the dead node-3")
    before = lab.agents[1].ctl("l2", "show")["heartbeats"]
    replays = 6
    for _ in range(replays):
        send_udp(lab.nodes[2], lab.node_ip(1), HB_PORT, captured)
        # The replayed node-3 must not come back to life, not even for one detection time.
        assert not peers(1)["node-3"]
    after = wait_for(lambda: (lambda h: h if h["rejected"].get("unconfirmed", 0) >=
                              before["rejected"].get("unconfirmed", 0) + replays else None)(
        lab.agents[1].ctl("l2", "show")["heartbeats"]), timeout=5, what="replays counted")
    assert after["rejected"].get("replay", 0) == before["rejected"].get("replay", 0), after
    assert agreed_owner(lab, [1, 2]) in (1, 2)
    wait_for(lambda: 'ironlb_l2_heartbeats_rejected_total{reason="unconfirmed"}'
             in lab.agents[1].metrics(), timeout=5, what="unconfirmed heartbeats metric")


def test_a_conflicting_neighbor_advertisement_is_detected_and_counted(lab):
    owner = agreed_owner(lab, [1, 2, 3], VIP6)
    series = 'ironlb_l2_conflicts_total{ip="2001:db8:100::10"}'

    def counted():
        for line in lab.agents[owner].metrics().splitlines():
            if line.startswith(series):
                return float(line.split()[1])
        return 0
    lab.claim6_from_client(VIP6)
    lab.claim6_from_client(VIP6)
    wait_for(lambda: counted() >= 2, timeout=5, what="both NAs counted on the owner")
    vip = next(v for v in lab.agents[owner].ctl("l2", "show")["vips"] if v["vip"] == VIP6)
    assert vip.get("conflicts", 0) >= 2, vip
    client_mac = sh("cat", "/sys/class/net/c0/address", ns=lab.client).strip()
    logs = lab.agents[owner].logs()
    assert logs.count(f"conflict: {client_mac} claims {VIP6}") == 1, "logged once per MAC"
    others = [i for i in (1, 2, 3) if i != owner]
    assert all("conflict: " not in lab.agents[i].logs() for i in others), "only the owner judges"


def sample(text, series):
    """The value of one exact series in a scrape, or None."""
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[1])
    return None


def test_a_scrape_sees_the_arp_request_it_caused(lab):
    owner = agreed_owner(lab, [1, 2, 3])
    agent = lab.agents[owner]
    req = 'metallb_layer2_requests_received{ip="198.51.100.10"}'
    resp = 'metallb_layer2_responses_sent{ip="198.51.100.10"}'
    before = agent.metrics()
    # (The owner's gratuitous replies of its takeover may be among the replies seen.)
    assert set(lab.arp_probe(VIP, n=1)) == {lab.node_mac(owner)}
    # No waiting: the per-CPU counters are summed when the scrape asks, not copied on a timer.
    after = agent.metrics()
    assert (sample(after, req) or 0) >= (sample(before, req) or 0) + 1, (before, after)
    assert (sample(after, resp) or 0) >= (sample(before, resp) or 0) + 1, (before, after)


def test_the_owner_exports_speaker_announced_for_layer2(lab):
    owner = agreed_owner(lab, [1, 2, 3])
    owner6 = agreed_owner(lab, [1, 2, 3], VIP6)

    def announced(i):
        return {line.split(" ")[0] for line in lab.agents[i].metrics().splitlines()
                if line.startswith("metallb_speaker_announced{")}
    for i in (1, 2, 3):
        want = set()
        if i == owner:
            want.add(f'metallb_speaker_announced{{ip="{VIP}",node="node-{i}",'
                     'protocol="layer2",service="demo/web"}')
        if i == owner6:
            want.add(f'metallb_speaker_announced{{ip="{VIP6}",node="node-{i}",'
                     'protocol="layer2",service="demo/web6"}')
        wait_for(lambda: announced(i) == want, timeout=5,
                 what=f"node-{i} to export exactly {want}")


def test_explain_names_the_owner_the_client_reaches_and_the_endpoint_it_gets(lab):
    owner = agreed_owner(lab, [1, 2, 3])
    sport = 43210
    # Before any packet: every node's explain names the same L2 owner (its speaker's own
    # election), and only the owner says it answers.
    docs = {i: explain(lab, i, sport) for i in (1, 2, 3)}
    for i, ex in docs.items():
        l2 = ex["l2"]
        assert l2["available"] and l2["owner"] == f"node-{owner}", ex
        assert l2["mine"] == (i == owner) and l2["this_node"] == f"node-{i}", ex
        assert ex["bgp"]["available"] is False, ex  # --no-bgp: no BGP speaker to ask
    predicted = docs[owner]["backend"]["address"]
    # Reality: the client's kernel resolves the VIP to the owner's MAC, and the flow from that
    # very port lands on the endpoint the owner's explain predicted.
    out = subprocess.run(["ip", "netns", "exec", lab.client, "/usr/bin/python3", "-c",
                          CONNECT_FROM, VIP, str(PORT), lab.client_ip, str(sport)],
                         capture_output=True, text=True, timeout=30, check=True).stdout
    pod = out.split()[0]
    assert lab.client_neigh(VIP)[0] == lab.node_mac(owner)
    assert predicted == f"{lab.pod_ip(lab.pods.index(pod) + 1)}:{BACKEND_PORT}", (predicted, pod)
    again = explain(lab, owner, sport)
    assert again["decision"] == "conntrack" and again["backend"]["address"] == predicted, again
    # After a failover, the survivors' explain names the new owner, which the client now reaches.
    lab.agents[owner].proc.send_signal(signal.SIGKILL)
    rest = [i for i in (1, 2, 3) if i != owner]
    new = agreed_owner(lab, rest)
    for i in rest:
        assert explain(lab, i, sport + 1)["l2"]["owner"] == f"node-{new}"
    wait_for(lambda: lab.client_neigh(VIP)[0] == lab.node_mac(new), timeout=10,
             what="client moved to the new owner")


def test_only_the_interfaces_the_advertisement_selects_answer(lab2):
    lab = lab2
    owner = agreed_owner(lab, [1, 2, 3])
    owner6 = agreed_owner(lab, [1, 2, 3], VIP6)
    doc = lab.agents[owner].ctl("l2", "show")
    assert next(v for v in doc["vips"] if v["vip"] == VIP)["interfaces"] == ["n0"], doc
    assert {i["name"] for i in doc["interfaces"]} == {"n0", "n1"}, doc  # XDP runs on both
    # The selected segment: the owner answers, alone.
    assert set(lab.arp_probe(VIP, n=2, dev="c0")) == {lab.node_mac(owner)}
    assert set(lab.ndp_probe(VIP6, n=2, dev="c0")) == {lab.node_mac(owner6)}
    # The other uplink's segment: nobody answers ARP or NDP for the VIPs, not even the owner.
    assert lab.arp_probe(VIP, n=3, dev="c1") == []
    assert lab.ndp_probe(VIP6, n=3, dev="c1") == []
    # The owner's XDP saw those requests on n1 and silenced them (neither it nor the kernel
    # answered), as it does for a VIP another node owns.
    reasons = lab.agents[owner].ctl("--bpffs", f"{lab.bpffs}/node-{owner}", "stats")["reasons"]
    assert reasons["drop_arp_not_owner"]["packets"] >= 3, reasons
    reasons6 = lab.agents[owner6].ctl("--bpffs", f"{lab.bpffs}/node-{owner6}", "stats")["reasons"]
    assert reasons6["drop_ns_not_owner"]["packets"] >= 3, reasons6


def test_the_key_from_the_memberlist_secret_fails_over_and_rotates(lab_secret):
    lab = lab_secret
    owner = agreed_owner(lab, [1, 2, 3])
    for i in (1, 2, 3):
        hb = lab.agents[i].ctl("l2", "show")["heartbeats"]
        assert hb["enabled"] and hb["accepted"] > 0, hb
        assert "heartbeat key from Secret ironlb-system/memberlist" in lab.agents[i].logs()
    changes = {i: lab.agents[i].ctl("l2", "show")["owner_changes"] for i in (1, 2, 3)}
    # Rotation: each agent reloads the file on its own schedule; heartbeats sealed with the
    # previous key are still accepted meanwhile, so nobody is declared dead and nothing moves.
    write(os.path.join(lab.confdir, "secret.yaml"), memberlist_secret(b"rotated-" + KEY))
    for i in (1, 2, 3):
        wait_for(lambda: "heartbeat key changed" in lab.agents[i].logs(), timeout=20,
                 what=f"node-{i} to take the rotated key")
    time.sleep(0.5)
    for i in (1, 2, 3):
        doc = lab.agents[i].ctl("l2", "show")
        assert all(p["healthy"] for p in doc["peers"]), doc["peers"]
        assert doc["owner_changes"] == changes[i], (doc["owner_changes"], changes[i])
    # A heartbeat under neither the new key nor the previous one is still forged.
    send_udp(lab.client, lab.node_ip(owner), HB_PORT,
             heartbeat(b"a-third-key-0123456789abcdef", "node-1", 2**62, 1))
    wait_for(lambda: lab.agents[owner].ctl("l2", "show")["heartbeats"]["rejected"].get(
        "bad_mac", 0) >= 1, timeout=5, what="the third key rejected")
    # And failover works with the Secret's key, as with a key file.
    lab.agents[owner].proc.send_signal(signal.SIGKILL)
    rest = [i for i in (1, 2, 3) if i != owner]
    new = agreed_owner(lab, rest)
    assert new != owner
