"""`kubectl ironlb --node NODE ...` reaches the node's speaker through the cluster: the plugin
(the real kubectl-ironlb, as kubectl runs it) finds the speaker pod on that node with kubectl's
label and field selectors and runs the same ironlbctl command in it with `kubectl exec`. kubectl
here is a stand-in on PATH that logs its arguments, answers the pod list, and runs an exec'd
command locally, as the pod would; the command's output must be the real ironlbctl's."""
import json
import os
import stat
import subprocess

import pytest

from lib.agent import BIN, SOURCE

FAKE_KUBECTL = r'''#!/usr/bin/python3
import json, os, sys
args = sys.argv[1:]
with open(os.environ["KUBECTL_LOG"], "a") as f:
    f.write(json.dumps(args) + "\n")
if args[:2] == ["get", "pods"]:
    node = args[args.index("--field-selector") + 1].split("=", 1)[1]
    print("speaker-x7k2p speaker-old" if node == "node-a" else "", end="")
elif args[0] == "exec":
    cmd = args[args.index("--") + 1:]
    os.execvp(cmd[0], cmd)
else:
    sys.exit("unexpected kubectl call")
'''


@pytest.fixture
def kubectl(tmp_path):
    d = tmp_path / "bin"
    d.mkdir()
    k = d / "kubectl"
    k.write_text(FAKE_KUBECTL)
    k.chmod(k.stat().st_mode | stat.S_IEXEC)
    log = tmp_path / "kubectl.log"
    env = dict(os.environ, PATH=f"{d}:{BIN}:{os.environ.get('PATH', '')}", KUBECTL_LOG=str(log))
    env.pop("KUBECTL", None)
    return env, log


def plugin(env, *args):
    return subprocess.run([os.path.join(BIN, "kubectl-ironlb"), *args], env=env,
                          capture_output=True, text=True, timeout=60)


def calls(log):
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_node_runs_the_command_in_that_nodes_speaker_pod(kubectl):
    env, log = kubectl
    examples = os.path.join(SOURCE, "examples")
    direct = subprocess.run([os.path.join(BIN, "ironlbctl"), "-j", "config", "check", examples],
                            capture_output=True, text=True, timeout=60)
    r = plugin(env, "--node", "node-a", "-j", "config", "check", examples)
    assert r.returncode == direct.returncode, r.stderr
    assert json.loads(r.stdout) == json.loads(direct.stdout)
    get, exe = calls(log)
    assert get == ["get", "pods", "--namespace", "ironlb-system", "--selector",
                   "app.kubernetes.io/name=ironlb,app.kubernetes.io/component=speaker",
                   "--field-selector", "spec.nodeName=node-a", "--output",
                   "jsonpath={.items[*].metadata.name}"]
    assert exe == ["exec", "--namespace", "ironlb-system", "speaker-x7k2p", "--container",
                   "speaker", "--", "ironlbctl", "-j", "config", "check", examples]


def test_namespace_and_a_node_without_a_speaker(kubectl):
    env, log = kubectl
    r = plugin(env, "-n", "metallb-system", "--node=node-b", "vip", "list")
    assert r.returncode == 1
    assert "no ironlb speaker pod on node node-b (namespace metallb-system)" in r.stderr
    assert calls(log)[0][2:4] == ["--namespace", "metallb-system"]
    assert len(calls(log)) == 1, "nothing is exec'd without a pod"
