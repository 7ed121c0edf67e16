"""The real ironlb-agent in cluster mode (--kubeconfig over TLS, token file) against the fake API
server (test/e2e/lib/fake_apiserver.py, shaped like kube-apiserver v1.28's recorded responses):
a LoadBalancer Service gets an IP from the pool, its status and pool annotation are patched and
an IPAllocated Event is posted; a dropped watch, a compacted history (410) and an API server
restart cause no missed and no repeated change and never clear an assignment; a rotated token
file is picked up."""
import os
import time

import pytest

from lib.agent import Agent, wait_for
from lib.fake_apiserver import FakeApiServer, write_kubeconfig

NS = "ironlb-system"


def obj(api_version, kind, name, ns=None, **rest):
    meta = {"name": name}
    if ns:
        meta["namespace"] = ns
    return {"apiVersion": api_version, "kind": kind, "metadata": meta, **rest}


def lb_service(name, **spec):
    return obj("v1", "Service", name, "demo",
               spec={"type": "LoadBalancer", "ports": [{"port": 80, "protocol": "TCP"}], **spec},
               status={"loadBalancer": {}})


@pytest.fixture
def cluster(tmp_path):
    api = FakeApiServer(tls_dir=str(tmp_path), token="token-1").start()
    for o in (obj("v1", "Namespace", "demo"), obj("v1", "Namespace", NS),
              obj("v1", "Node", "node-a", status={"conditions": [{"type": "Ready", "status": "True"}],
                                                   "addresses": [{"type": "InternalIP", "address": "192.0.2.1"}]}),
              obj("metallb.io/v1beta1", "IPAddressPool", "pool-a", NS,
                  spec={"addresses": ["198.51.100.0/29"]}),
              obj("metallb.io/v1beta1", "L2Advertisement", "l2", NS, spec={})):
        api.apply(o)
    token = tmp_path / "token"
    token.write_text("token-1\n")
    kubeconfig = write_kubeconfig(str(tmp_path / "kubeconfig"), api, token_file=str(token),
                                  ca_file=api.tls[0])
    agent = Agent(str(tmp_path), None, node="node-a", role="controller",
                  extra=("--namespace", NS, "--no-dataplane", "--no-bgp", "--kube-qps", "0"))
    i = agent.cmd.index("--config")
    agent.cmd[i:i + 2] = ["--kubeconfig", kubeconfig]
    agent.start()
    try:
        yield api, agent, token
    finally:
        agent.stop()
        api.stop()


def ingress(api, name):
    svc = api.get("v1", "Service", "demo", name) or {}
    return [i.get("ip") for i in svc.get("status", {}).get("loadBalancer", {}).get("ingress", [])]


def events(api, reason):
    return [e for e in api.items("v1", "Event") if e.get("reason") == reason]


def test_service_gets_ip_status_annotation_and_event(cluster):
    api, agent, _ = cluster
    api.apply(lb_service("web"))
    ips = wait_for(lambda: ingress(api, "web"), what="status.loadBalancer.ingress")
    assert ips[0].startswith("198.51.100."), ips
    svc = api.get("v1", "Service", "demo", "web")
    assert svc["metadata"]["annotations"]["metallb.io/ip-allocated-from-pool"] == "pool-a"
    ev = wait_for(lambda: events(api, "IPAllocated"), what="IPAllocated event")[0]
    assert ev["involvedObject"]["name"] == "web" and ev["involvedObject"]["uid"] == svc["metadata"]["uid"]
    assert api.count("PATCH", "/services/web/status") == 1


def test_watch_drop_gone_and_restart_change_nothing(cluster):
    api, agent, _ = cluster
    for n in ("a", "b", "c"):
        api.apply(lb_service(n))
    wait_for(lambda: all(ingress(api, n) for n in ("a", "b", "c")), what="three allocations")
    before = {n: ingress(api, n) for n in ("a", "b", "c")}
    patches = api.count("PATCH", "/services/")

    api.drop_watches()
    api.apply(lb_service("d"))                     # made while the watch is down
    wait_for(lambda: ingress(api, "d"), what="allocation after a dropped watch")
    api.compact()
    api.drop_watches()                              # the re-watch now gets 410 and relists
    api.apply(lb_service("e"))
    wait_for(lambda: ingress(api, "e"), what="allocation after 410")
    api.restart(down_for=1.0)                       # watch cache lost, objects kept
    api.apply(lb_service("f"))
    wait_for(lambda: ingress(api, "f"), what="allocation after a restart")
    time.sleep(1)
    assert {n: ingress(api, n) for n in ("a", "b", "c")} == before
    # Exactly the annotation and status patches of d, e and f: nothing re-written, nothing cleared.
    assert api.count("PATCH", "/services/") - patches == 6, \
        [r for r in api.requests if r[1] == "PATCH"]
    assert "no longer" not in agent.logs()


def test_rotated_token_is_used(cluster):
    api, agent, token = cluster
    api.apply(lb_service("before"))
    wait_for(lambda: ingress(api, "before"), what="allocation")
    token.write_text("token-2\n")
    api.token = "token-2"
    api.drop_watches()
    api.apply(lb_service("after"))
    wait_for(lambda: ingress(api, "after"), what="allocation with the rotated token")
    assert api.tokens_seen[-1] == "token-2"


def lease_holder(api):
    lease = api.get("coordination.k8s.io/v1", "Lease", NS, "ironlb-controller") or {}
    return lease.get("spec", {}).get("holderIdentity", "")


def test_two_controllers_one_lease_and_fast_handover(tmp_path):
    """Two controller replicas: only the Lease holder allocates (each Service patched once, never
    two different IPs); SIGTERM releases the Lease and the standby takes it over and allocates."""
    api = FakeApiServer(tls_dir=str(tmp_path), token="token-1").start()
    agents = []
    try:
        for o in (obj("v1", "Namespace", "demo"), obj("v1", "Namespace", NS),
                  obj("metallb.io/v1beta1", "IPAddressPool", "pool-a", NS,
                      spec={"addresses": ["198.51.100.0/29"]})):
            api.apply(o)
        (tmp_path / "token").write_text("token-1\n")
        kubeconfig = write_kubeconfig(str(tmp_path / "kubeconfig"), api,
                                      token_file=str(tmp_path / "token"), ca_file=api.tls[0])
        for node in ("node-a", "node-b"):
            a = Agent(str(tmp_path), None, node=node, role="controller",
                      extra=("--namespace", NS, "--no-dataplane", "--no-bgp", "--kube-qps", "0"))
            i = a.cmd.index("--config")
            a.cmd[i:i + 2] = ["--kubeconfig", kubeconfig]
            agents.append(a.start())
        holder = wait_for(lambda: lease_holder(api), what="a Lease holder")
        leader = next(a for a in agents if holder.startswith(a.cmd[a.cmd.index("--node") + 1] + "_"))
        standby = next(a for a in agents if a is not leader)
        for n in ("a", "b", "c"):
            api.apply(lb_service(n))
        wait_for(lambda: all(ingress(api, n) for n in ("a", "b", "c")), what="three allocations")
        time.sleep(1)  # room for a second writer to show itself
        # (ConfigurationState writes aside: test_kube_status.py)
        service_status = [r for r in api.requests
                          if r[1] == "PATCH" and "/services/" in r[2] and r[2].endswith("/status")]
        assert len(service_status) == 3, [r for r in api.requests if r[1] == "PATCH"]
        assert "became leader" in leader.logs() and "became leader" not in standby.logs()

        before = {n: ingress(api, n) for n in ("a", "b", "c")}
        assert leader.stop() == 0
        # Released, not left to expire: with a 15 s lease renewed every 2 s, right after the stop
        # the Lease is either free or already the standby's, never still the old holder's.
        assert lease_holder(api) != holder, "SIGTERM releases the Lease"
        assert "released Lease" in leader.logs()
        wait_for(lambda: lease_holder(api) not in ("", holder), what="the standby taking the Lease")
        api.apply(lb_service("d"))
        wait_for(lambda: ingress(api, "d"), what="allocation by the new leader")
        assert {n: ingress(api, n) for n in ("a", "b", "c")} == before, "the new leader keeps them"
    finally:
        for a in agents:
            a.stop()
        api.stop()


def test_controllers_create_the_l2_key_secret_once_and_keep_it(tmp_path):
    """--l2-key-secret on the controller: MetalLB's memberlist Secret is created with a random
    key when missing, by one replica (the other's create meets 409), and never replaced."""
    import base64
    api = FakeApiServer(tls_dir=str(tmp_path), token="token-1").start()
    agents = []
    try:
        for o in (obj("v1", "Namespace", "demo"), obj("v1", "Namespace", NS)):
            api.apply(o)
        (tmp_path / "token").write_text("token-1\n")
        kubeconfig = write_kubeconfig(str(tmp_path / "kubeconfig"), api,
                                      token_file=str(tmp_path / "token"), ca_file=api.tls[0])

        def controller(node):
            a = Agent(str(tmp_path), None, node=node, role="controller",
                      extra=("--namespace", NS, "--no-dataplane", "--no-bgp", "--kube-qps", "0",
                             "--l2-key-secret", f"{NS}/memberlist"))
            i = a.cmd.index("--config")
            a.cmd[i:i + 2] = ["--kubeconfig", kubeconfig]
            return a.start()
        agents += [controller("node-a"), controller("node-b")]
        secret = wait_for(lambda: api.get("v1", "Secret", NS, "memberlist"), what="the Secret")
        key = base64.b64decode(secret["data"]["secretkey"])
        assert len(key) >= 64 and base64.b64decode(key), key  # base64 text of 64 random bytes
        wait_for(lambda: api.count("POST", "/secrets") == 2, what="both replicas' create")
        assert sum("created Secret ironlb-system/memberlist" in a.logs() for a in agents) == 1
        version = secret["metadata"]["resourceVersion"]
        # A restarted controller keeps the existing key (create only, never replace).
        agents[0].stop()
        agents[0].start()
        wait_for(lambda: api.count("POST", "/secrets") == 3, what="the restarted replica's create")
        again = api.get("v1", "Secret", NS, "memberlist")
        assert again["metadata"]["resourceVersion"] == version and \
            again["data"]["secretkey"] == secret["data"]["secretkey"]
    finally:
        for a in agents:
            a.stop()
        api.stop()
