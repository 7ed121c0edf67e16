"""`kubectl ironlb --node N` and `--all-nodes`: the plugin reaching agents through the cluster.

Real parts: kubectl itself (it finds the plugin on PATH, as it does on an operator's machine),
the fake API server speaking discovery, pod lists with label and field selectors, and pods/exec
over WebSocket (lib/fake_kubectl.py), and a real agent carrying traffic in a namespace lab. The
one stand-in is the kubelet: the API server runs the exec'd command here, against that agent's
socket and pins, as the container's defaults would point at them."""
import json
import os
import subprocess

import pytest

from lib.agent import BIN
from lib.fake_apiserver import FakeApiServer, write_kubeconfig
from lib.ops_lab import ops_lab

CTL = os.path.join(BIN, "ironlbctl")
NS = "ironlb-system"
LABELS = {"app.kubernetes.io/name": "ironlb", "app.kubernetes.io/component": "speaker"}


def pod(node, phase="Running"):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"ironlb-speaker-{node}", "namespace": NS, "labels": LABELS},
            "spec": {"nodeName": node, "containers": [{"name": "speaker", "image": "ironlb"}]},
            "status": {"phase": phase}}


@pytest.fixture
def cluster(tmp_path):
    gen = ops_lab(tmp_path)
    lab = next(gen)
    (tmp_path / "tls").mkdir()
    api = FakeApiServer(tls_dir=str(tmp_path / "tls"), token="operator-token")
    api.start()
    try:
        kubeconfig = str(tmp_path / "kubeconfig")
        write_kubeconfig(kubeconfig, api, token="operator-token", ca_file=api.tls[0])
        for node in ("node-a", "node-b"):
            api.apply(pod(node))
        api.apply(pod("node-c", phase="Pending"))
        execs = []

        def kubelet(ns, name, container, argv):
            # The image's ironlbctl with the container's paths: the agent's socket and pins.
            execs.append((ns, name, container, argv))
            assert argv[0] == "ironlbctl"
            r = subprocess.run([CTL, "--api-socket", lab.agent.sock, "--bpffs", lab.bpffs,
                                *argv[1:]], capture_output=True, timeout=60)
            return r.returncode, r.stdout, r.stderr
        api.exec_handler = kubelet
        lab.api, lab.kubeconfig, lab.execs = api, kubeconfig, execs
        yield lab
    finally:
        api.stop()
        gen.close()


def kubectl_ironlb(lab, *args):
    """`kubectl ironlb ...` exactly as an operator types it: kubectl finds kubectl-ironlb on PATH."""
    env = dict(os.environ, PATH=BIN + os.pathsep + os.environ["PATH"])
    return subprocess.run(["kubectl", "ironlb", "--kubeconfig", lab.kubeconfig, *args],
                          capture_output=True, text=True, timeout=120, env=env)


def local(lab, *args):
    r = subprocess.run([CTL, "--api-socket", lab.agent.sock, "--bpffs", lab.bpffs, *args],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_node_runs_the_command_in_that_nodes_speaker(cluster):
    lab = cluster
    for args in (["-j", "vip", "list"], ["-j", "alloc", "show"], ["vip", "list"]):
        r = kubectl_ironlb(lab, "--node", "node-b", *args)
        assert r.returncode == 0, r.stderr
        want = local(lab, *args)
        if "-j" in args:
            assert json.loads(r.stdout) == json.loads(want) and json.loads(want)
        else:
            assert r.stdout == want and want.startswith("SERVICE")
    # It found the pod by the DaemonSet's labels on that node, and exec'd into its container.
    lists = [p for _, m, p, c in lab.api.requests if m == "GET" and "/pods?" in p]
    assert lists and all("fieldSelector=spec.nodeName%3Dnode-b" in p for p in lists), lists
    assert all("labelSelector=app.kubernetes.io%2Fname%3Dironlb%2Capp.kubernetes.io%2Fcomponent"
               "%3Dspeaker" in p for p in lists), lists
    assert {(ns, name, c) for ns, name, c, _ in lab.execs} == {(NS, "ironlb-speaker-node-b",
                                                                "speaker")}
    assert lab.execs[0][3] == ["ironlbctl", "-j", "vip", "list"]


def test_all_nodes_merges_json_by_node_and_heads_tables(cluster):
    lab = cluster
    r = kubectl_ironlb(lab, "--all-nodes", "-j", "vip", "list")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    want = json.loads(local(lab, "-j", "vip", "list"))
    # node-c's speaker is not running: it is left out rather than failing the whole command.
    assert doc == {"node-a": want, "node-b": want}
    r = kubectl_ironlb(lab, "--all-nodes", "vip", "list")
    assert r.returncode == 0, r.stderr
    assert "== node-a (ironlb-speaker-node-a)" in r.stdout
    assert "== node-b (ironlb-speaker-node-b)" in r.stdout


def test_exit_status_and_errors_come_through(cluster, tmp_path):
    lab = cluster
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "pool.yaml").write_text("apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\n"
                                   "metadata: {name: p, namespace: ironlb-system}\n"
                                   "spec: {addresses: [not-an-address]}\n")
    # 3 = "answered, and the answer is not OK", from the remote ironlbctl through kubectl exec.
    r = kubectl_ironlb(lab, "--node", "node-a", "config", "check", str(bad))
    assert r.returncode == 3, (r.stdout, r.stderr)
    assert "not-an-address" in r.stdout + r.stderr
    r = kubectl_ironlb(lab, "--node", "node-z", "vip", "list")
    assert r.returncode == 1
    assert ("kubectl ironlb: no running ironlb speaker pod on node node-z in namespace "
            "ironlb-system") in r.stderr
    r = kubectl_ironlb(lab, "--namespace", "elsewhere", "--all-nodes", "vip", "list")
    assert r.returncode == 1 and "no running ironlb speaker pod in namespace elsewhere" in r.stderr
    r = kubectl_ironlb(lab, "--node", "node-a", "--all-nodes", "vip", "list")
    assert r.returncode == 2 and "exclude each other" in r.stderr
    # kubectl missing: the message says what --node needs.
    env = dict(os.environ, KUBECTL="/nonexistent/kubectl")
    r = subprocess.run([os.path.join(BIN, "kubectl-ironlb"), "--node", "node-a", "vip", "list"],
                       capture_output=True, text=True, env=env, timeout=30)
    assert r.returncode == 1 and "KUBECTL" in r.stderr, r.stderr
