"""MetalLB's status objects written by real agents in cluster mode: two speakers on an L2 segment
of network namespaces (XDP on veths, heartbeats between them, BGP speaker on) and a controller,
all with --kubeconfig against the fake API server (test/e2e/lib/fake_apiserver.py), which listens
inside the lab's client namespace so the agents reach it over the segment.

- L2: the owner's ServiceL2Status appears (MetalLB's labels, status, the pod as owner); when the
  owner is killed the survivor takes the VIP and the status follows it (the dead node's object
  is removed by the new owner); a stale object a node left behind is gone after its start; a
  quiet cluster causes no status writes.
- BGP: a ServiceBGPStatus per announcing node lists the BGPPeer; it goes with the Service.
- ConfigurationState for each speaker and the controller: Valid; a bad pool makes them Invalid
  with an error naming the object and the field; fixed, Valid again."""
import contextlib
import ctypes
import os
import signal
import subprocess
import time

import pytest

from lib.agent import Agent, wait_for
from lib.fake_apiserver import FakeApiServer, write_kubeconfig
from lib.l2_lab import L2Lab

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root for namespaces and XDP")

NS = "ironlb-system"
V1B1 = "metallb.io/v1beta1"
L2_VIP, BGP_VIP = "198.51.100.10", "203.0.113.10"
KEY = b"e2e-status-key-0123456789abcdef-01234"
CLONE_NEWNET = 0x40000000


@contextlib.contextmanager
def in_netns(name):
    """Runs the block with this thread in network namespace `name`: sockets made there stay
    there (the fake API server's listener), and the thread comes back after."""
    libc = ctypes.CDLL(None, use_errno=True)
    with open("/proc/thread-self/ns/net") as home, open(f"/var/run/netns/{name}") as target:
        if libc.setns(target.fileno(), CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns into " + name)
        try:
            yield
        finally:
            if libc.setns(home.fileno(), CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns back")


def obj(api_version, kind, name, ns=None, **rest):
    meta = {"name": name}
    if ns:
        meta["namespace"] = ns
    return {"apiVersion": api_version, "kind": kind, "metadata": meta, **rest}


def node(i):
    return obj("v1", "Node", f"node-{i}",
               status={"conditions": [{"type": "Ready", "status": "True"}],
                       "addresses": [{"type": "InternalIP", "address": f"10.0.0.{i}"}]})


def service(name, pool):
    s = obj("v1", "Service", name, "demo",
            spec={"type": "LoadBalancer", "externalTrafficPolicy": "Cluster",
                  "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}]},
            status={"loadBalancer": {}})
    s["metadata"]["annotations"] = {"metallb.io/address-pool": pool}
    return s


def slice_of(svc):
    s = obj("discovery.k8s.io/v1", "EndpointSlice", f"{svc}-1", "demo", addressType="IPv4",
            ports=[{"name": "http", "port": 8080, "protocol": "TCP"}],
            endpoints=[{"addresses": ["10.1.1.2"], "conditions": {"ready": True},
                        "nodeName": "node-1"}])
    s["metadata"]["labels"] = {"kubernetes.io/service-name": svc}
    return s


def seed(api):
    for o in (obj("v1", "Namespace", "demo"), obj("v1", "Namespace", NS), node(1), node(2),
              obj(V1B1, "IPAddressPool", "l2pool", NS, spec={"addresses": [f"{L2_VIP}/32"],
                                                             "autoAssign": False}),
              obj(V1B1, "L2Advertisement", "l2", NS,
                  spec={"ipAddressPools": ["l2pool"], "interfaces": ["n0"]}),
              obj(V1B1, "IPAddressPool", "bgppool", NS, spec={"addresses": [f"{BGP_VIP}/32"],
                                                              "autoAssign": False}),
              obj(V1B1, "BGPAdvertisement", "bgp", NS, spec={"ipAddressPools": ["bgppool"]}),
              obj("metallb.io/v1beta2", "BGPPeer", "router", NS,
                  spec={"myASN": 64512, "peerASN": 64513, "peerAddress": "10.0.0.100"})):
        api.apply(o)
    # Left by node-2 in an earlier life, for a Service it no longer announces.
    stale = obj(V1B1, "ServiceL2Status", "l2-stale", NS,
                status={"node": "node-2", "serviceName": "gone", "serviceNamespace": "demo"})
    stale["metadata"]["labels"] = {"metallb.io/node": "node-2", "metallb.io/service-name": "gone",
                                   "metallb.io/service-namespace": "demo"}
    api.apply(stale)


@pytest.fixture
def lab(tmp_path):
    lab = L2Lab(nodes=2)
    bpffs = str(tmp_path / "bpffs")
    os.makedirs(bpffs)
    subprocess.run(["mount", "-t", "bpf", "bpf", bpffs], check=True)
    keyfile = str(tmp_path / "l2.key")
    with open(keyfile, "wb") as f:
        f.write(KEY + b"\n")
    lab.agents = {}
    api = None
    try:
        lab.build()
        api = FakeApiServer(host=lab.client_ip, token="status-token")
        with in_netns(lab.client):
            api.start()
        seed(api)
        kubeconfig = write_kubeconfig(str(tmp_path / "kubeconfig"), api, token="status-token")

        def agent(name, ns, role, extra, pod=None):
            a = Agent(str(tmp_path), None, node=name, role=role, netns=ns,
                      extra=("--namespace", NS, "--kube-qps", "0", *extra))
            i = a.cmd.index("--config")
            a.cmd[i:i + 2] = ["--kubeconfig", kubeconfig]
            if pod:  # as the manifests' downward API sets them
                j = a.cmd.index(ns) + 1
                a.cmd[j:j] = ["env", f"IRONLB_POD_NAME={pod}", f"IRONLB_POD_UID=uid-{pod}"]
            return a.start()
        lab.agents["ctrl"] = agent("ctrl", lab.nodes[0], "controller",
                                   ("--no-dataplane", "--no-bgp"), pod="controller-abc")
        for i, ns in enumerate(lab.nodes, start=1):
            lab.agents[i] = agent(f"node-{i}", ns, "speaker",
                                  ("--interface", "n0", "--bpffs", f"{bpffs}/node-{i}",
                                   "--l2-key-file", keyfile), pod=f"speaker-{i}")
        lab.api = api
        yield lab
    finally:
        for a in lab.agents.values():
            a.stop()
        if api:
            api.stop()
        lab.close()
        subprocess.run(["umount", "-l", bpffs], capture_output=True)


def statuses(api, kind, svc):
    return [o for o in api.items(V1B1, kind)
            if o["metadata"].get("labels", {}).get("metallb.io/service-name") == svc]


def ingress(api, name):
    svc = api.get("v1", "Service", "demo", name) or {}
    return [i.get("ip") for i in svc.get("status", {}).get("loadBalancer", {}).get("ingress", [])]


def l2_owner(lab):
    """The owner both speakers name for the L2 VIP, once they agree."""
    def agree():
        seen = set()
        for i in (1, 2):
            if lab.agents[i].proc.poll() is None:
                vips = {v["vip"]: v["owner"] for v in lab.agents[i].ctl("l2", "show")["vips"]}
                seen.add(vips.get(L2_VIP))
        return seen.pop() if len(seen) == 1 and None not in seen else None
    return wait_for(agree, what="the speakers to agree on the VIP's owner")


def only_l2_status_on(api, owner):
    s = statuses(api, "ServiceL2Status", "web")
    return s[0] if len(s) == 1 and s[0]["status"].get("node") == owner else None


def status_writes(api):
    return sum(api.count(m, f"/namespaces/{NS}/{p}") for m in ("POST", "PATCH", "DELETE")
               for p in ("servicel2statuses", "servicebgpstatuses", "configurationstates"))


def settle_writes(api, quiet, timeout):
    deadline = time.monotonic() + timeout
    last, since = status_writes(api), time.monotonic()
    while time.monotonic() - since < quiet:
        assert time.monotonic() < deadline, f"status writes did not stop for {quiet} s in {timeout} s"
        time.sleep(0.1)
        now = status_writes(api)
        if now != last:
            last, since = now, time.monotonic()


def test_l2_status_follows_the_owner(lab):
    api = lab.api
    api.apply(slice_of("web"))
    api.apply(service("web", "l2pool"))
    wait_for(lambda: ingress(api, "web") == [L2_VIP], what="the controller's allocation")
    owner = l2_owner(lab)
    st = wait_for(lambda: only_l2_status_on(api, owner), what=f"ServiceL2Status on {owner}")
    assert st["metadata"]["name"].startswith("l2-")
    assert st["metadata"]["labels"] == {"metallb.io/node": owner, "metallb.io/service-name": "web",
                                        "metallb.io/service-namespace": "demo"}
    assert st["status"] == {"node": owner, "serviceName": "web", "serviceNamespace": "demo",
                            "interfaces": [{"name": "n0"}]}
    i = int(owner.split("-")[1])
    assert st["metadata"]["ownerReferences"] == [
        {"apiVersion": "v1", "kind": "Pod", "name": f"speaker-{i}", "uid": f"uid-speaker-{i}"}]
    # node-2 removed what it had left behind for a Service it does not announce.
    wait_for(lambda: not statuses(api, "ServiceL2Status", "gone"), what="the stale status deleted")

    # Quiet: every speaker re-evaluates each second and every pass reports; nothing is rewritten.
    # Each component's first ConfigurationState is a creation, not a rewrite: under load one can
    # land late, so the window opens once all three exist.
    for n in ("speaker-node-1", "speaker-node-2", "controller"):
        wait_for(lambda: config_state(api, n).get("result"), what=f"ConfigurationState {n}")
    # Under load the last of the start-up writes (a late first report) can still be on its way:
    # the window opens after 1.5 s without one. A rewrite on every pass (each second) never lets
    # it open, and fails here.
    settle_writes(api, quiet=1.5, timeout=30)
    before = status_writes(api)
    start = len(api.requests)
    time.sleep(3)
    assert status_writes(api) == before, [r for r in list(api.requests)[start:]
                                          if r[1] in ("POST", "PATCH", "DELETE")]

    # The owner dies without a word: the other node takes the VIP and the status with it.
    lab.agents[i].proc.send_signal(signal.SIGKILL)
    lab.agents[i].proc.wait()
    survivor = f"node-{3 - i}"
    wait_for(lambda: lab.agents[3 - i].ctl("l2", "show") and
             {v["vip"]: v["owner"] for v in lab.agents[3 - i].ctl("l2", "show")["vips"]}
             .get(L2_VIP) == survivor, what="the survivor to own the VIP")
    st = wait_for(lambda: only_l2_status_on(api, survivor), what=f"the status to move to {survivor}")
    assert st["metadata"]["labels"]["metallb.io/node"] == survivor
    assert st["metadata"]["ownerReferences"][0]["name"] == f"speaker-{3 - i}"


def config_state(api, name):
    return (api.get(V1B1, "ConfigurationState", NS, name) or {}).get("status", {})


def test_bgp_status_and_configuration_state(lab):
    api = lab.api
    api.apply(slice_of("bgpweb"))
    api.apply(service("bgpweb", "bgppool"))
    wait_for(lambda: ingress(api, "bgpweb") == [BGP_VIP], what="the controller's allocation")
    # One per announcing node, each listing the peer (configured; no session is needed).
    got = wait_for(lambda: (lambda s: s if len(s) == 2 and all(o.get("status") for o in s)
                            else None)(statuses(api, "ServiceBGPStatus", "bgpweb")),
                   what="a ServiceBGPStatus per node")
    assert sorted(o["status"]["node"] for o in got) == ["node-1", "node-2"]
    for o in got:
        assert o["metadata"]["name"].startswith("bgp-")
        assert o["status"]["peers"] == ["router"]
        assert o["status"]["serviceName"] == "bgpweb" and o["status"]["serviceNamespace"] == "demo"
        assert o["metadata"]["labels"]["metallb.io/node"] == o["status"]["node"]
    assert not statuses(api, "ServiceL2Status", "bgpweb")

    names = ("speaker-node-1", "speaker-node-2", "controller")
    for n in names:
        st = wait_for(lambda: config_state(api, n).get("result") == "Valid" and config_state(api, n),
                      what=f"ConfigurationState {n} Valid")
        assert "errorSummary" not in st
        assert st["conditions"][0]["type"] == "configReconcilerValid"
    cs = api.get(V1B1, "ConfigurationState", NS, "speaker-node-1")
    assert cs["metadata"]["labels"] == {"metallb.io/component-type": "speaker",
                                        "metallb.io/node-name": "node-1"}
    assert api.get(V1B1, "ConfigurationState", NS, "controller")["metadata"]["labels"] == {
        "metallb.io/component-type": "controller"}

    api.apply(obj(V1B1, "IPAddressPool", "broken", NS, spec={"addresses": ["198.51.100.300/32"]}))
    for n in names:
        st = wait_for(lambda: config_state(api, n).get("result") == "Invalid" and config_state(api, n),
                      what=f"ConfigurationState {n} Invalid")
        assert "IPAddressPool ironlb-system/broken" in st["errorSummary"], st
        assert "spec.addresses" in st["errorSummary"], st
        assert st["conditions"][0]["status"] == "False"
        assert st["conditions"][0]["reason"] == "ConfigurationError"
    api.apply(obj(V1B1, "IPAddressPool", "broken", NS, spec={"addresses": ["198.51.100.30/32"]}))
    for n in names:
        wait_for(lambda: config_state(api, n).get("result") == "Valid" and
                 "errorSummary" not in config_state(api, n), what=f"ConfigurationState {n} fixed")

    api.delete("v1", "Service", "demo", "bgpweb")
    wait_for(lambda: not statuses(api, "ServiceBGPStatus", "bgpweb"),
             what="the ServiceBGPStatus objects to go with the Service")
