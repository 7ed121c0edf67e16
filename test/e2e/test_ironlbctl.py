"""ironlbctl against a real agent carrying traffic in a namespace lab: every command's JSON is
parsed and checked against the lab's known state, with the agent up and (map commands) down;
`explain` predicts, before a connection exists, the endpoint the XDP program then really picks,
and names the conntrack entry afterwards; conntrack filters, stats --watch rates, config check on
a directory, bpftool-style help and exit codes, the kubectl plugin name and the installed bash
completion."""
import json
import os
import shutil
import subprocess
import threading

import pytest

from lib.agent import BIN, SOURCE
from lib.ops_lab import (ENDPOINTS, PEER, TCP_PORT, UDP_PORT, UDP_SEND, VIP, client, ops_lab)

CTL = os.path.join(BIN, "ironlbctl")
SVC_TCP, SVC_UDP = f"{VIP}:{TCP_PORT}/TCP", f"{VIP}:{UDP_PORT}/UDP"

CONNECT_FROM = r'''
import socket, sys
vip, port = sys.argv[1], int(sys.argv[2])
for sport in map(int, sys.argv[3].split(",")):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("10.0.0.2", sport))
    s.settimeout(5)
    s.connect((vip, port))
    print(sport, s.makefile().readline().split()[0], flush=True)
    s.close()
'''


# Datagrams spread over a few seconds, so every interval of a --watch sees some.
UDP_PACED = r'''
import socket, sys, time
end = time.monotonic() + float(sys.argv[3])
while time.monotonic() < end:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(5)
    s.sendto(b"q", (sys.argv[1], int(sys.argv[2])))
    s.recvfrom(4096)
    s.close()
    time.sleep(0.01)
'''


@pytest.fixture
def lab(tmp_path):
    yield from ops_lab(tmp_path)


def run(*args, env=None, exe=CTL):
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=60, env=env)


def ctl(lab, *args, rc=0):
    """ironlbctl -j against the lab; returns the parsed JSON (and checks -p says the same)."""
    common = ["--bpffs", lab.bpffs, "--api-socket", lab.agent.sock]
    r = run(*common, "-j", *args)
    assert r.returncode == rc, (args, r.returncode, r.stderr)
    doc = json.loads(r.stdout)
    pretty = run(*common, "-p", *args)
    assert pretty.returncode == rc, (args, pretty.stderr)
    assert type(json.loads(pretty.stdout)) is type(doc) and (not doc or "\n  " in pretty.stdout)
    return doc


def endpoint_of(lab, pod):
    return f"{ENDPOINTS[lab.pods.index(pod)]}:8080"


def test_every_command_reports_the_lab_as_json(lab):
    client(lab, UDP_SEND, VIP, UDP_PORT, 3)
    vips = {v["service"]: v for v in ctl(lab, "vip", "list")}
    assert set(vips) == {SVC_TCP, SVC_UDP}, vips
    assert vips[SVC_TCP]["backends"] == 2 and vips[SVC_UDP]["stats"]["packets"] == 3
    backends = {b["backend"] for b in ctl(lab, "backend", "list")}
    assert backends == {f"{e}:{p}" for e in ENDPOINTS for p in (8080, UDP_PORT)}, backends
    mg = ctl(lab, "maglev", "show", SVC_TCP)
    assert mg["size"] == len(mg["entries"]) > 0
    assert {b["backend"] for b in mg["backends"]} == {f"{e}:8080" for e in ENDPOINTS}
    assert abs(sum(b["share"] for b in mg["backends"]) - 1) < 1e-9
    stats = ctl(lab, "stats")
    assert stats["reasons"]["fwd_redirect"]["packets"] + stats["reasons"]["fwd_kernel"]["packets"] >= 3
    ct = ctl(lab, "conntrack", "list")
    assert {c["protocol"] for c in ct} == {"UDP"} and len(ct) == 3, ct
    alloc = ctl(lab, "alloc", "show")
    assert [(a["service"]["name"], [i["ip"] for i in a["ingress"]]) for a in alloc] == [("web", [VIP])]
    cfg = ctl(lab, "config", "show")
    assert cfg["valid"] is True and cfg["pools"] == ["lab"] and cfg["peers"] == 1, cfg
    bgp = ctl(lab, "bgp", "show")
    assert [s["peer_address"] for s in bgp["sessions"]] == [PEER]
    assert bgp["announcements"] == {"tor": [f"{VIP}/32"]}, bgp
    ex = ctl(lab, "explain", SVC_TCP, "10.0.0.2:40000")
    assert ex["decision"] == "maglev" and ex["bgp"]["peers"][0]["peer"] == "tor", ex
    # The only node is the VIP's Layer 2 owner, as its L2 speaker elected it.
    assert ex["l2"]["owner"] == "node-a" and ex["l2"]["mine"] is True, ex
    assert ex["l2"]["owner"] == next(v["owner"] for v in ctl(lab, "l2", "show")["vips"]
                                     if v["vip"] == VIP)
    check = ctl(lab, "config", "check", lab.confdir)
    assert check["valid"] is True and check["objects"]["BGPPeer"] == 1, check


def test_map_commands_work_with_the_agent_down(lab):
    client(lab, UDP_SEND, VIP, UDP_PORT, 2)
    lab.agent.stop()
    assert {v["service"] for v in ctl(lab, "vip", "list")} == {SVC_TCP, SVC_UDP}
    assert len(ctl(lab, "backend", "list")) == 4
    assert ctl(lab, "maglev", "show", SVC_UDP)["size"] > 0
    assert len(ctl(lab, "conntrack", "list", "proto", "udp")) == 2
    assert ctl(lab, "stats")["reasons"]
    ex = ctl(lab, "explain", SVC_TCP, "10.0.0.2:40001")
    assert ex["backend"]["address"] in {f"{e}:8080" for e in ENDPOINTS}
    assert ex["bgp"]["available"] is False and ex["l2"]["available"] is False
    # Control-plane commands need the agent, and say so with exit status 1.
    r = run("--api-socket", lab.agent.sock, "-j", "alloc", "show")
    assert r.returncode == 1 and "cannot reach the agent" in r.stderr, r.stderr


def test_explain_predicts_where_real_connections_go(lab):
    ports = list(range(41000, 41024))
    predicted = {}
    for p in ports:
        ex = ctl(lab, "explain", SVC_TCP, f"10.0.0.2:{p}")
        assert ex["decision"] == "maglev" and ex["conntrack"] is None, ex
        predicted[p] = ex["backend"]["address"]
    assert len(set(predicted.values())) == 2, predicted  # both endpoints are exercised
    went = {}
    for line in client(lab, CONNECT_FROM, VIP, TCP_PORT, ",".join(map(str, ports))).splitlines():
        sport, pod = line.split()
        went[int(sport)] = endpoint_of(lab, pod)
    assert went == predicted
    # Now each flow has its conntrack entry, and explain names it.
    for p in ports[:4]:
        ex = ctl(lab, "explain", SVC_TCP, f"10.0.0.2:{p}")
        assert ex["decision"] == "conntrack" and ex["backend"]["address"] == went[p], ex
        assert ex["conntrack"]["backend_id"] == ex["backend"]["id"]


def test_conntrack_filters(lab):
    ports = [42000, 42001, 42002, 42003, 42004, 42005]
    went = dict(line.split() for line in
                client(lab, CONNECT_FROM, VIP, TCP_PORT, ",".join(map(str, ports))).splitlines())
    client(lab, UDP_SEND, VIP, UDP_PORT, 2)
    assert len(ctl(lab, "conntrack", "list")) == 8
    one = ctl(lab, "conntrack", "list", "client", "10.0.0.2:42003")
    assert len(one) == 1 and one[0]["backend"] == endpoint_of(lab, went["42003"]), one
    tcp = ctl(lab, "conntrack", "list", "vip", f"{VIP}:{TCP_PORT}")
    assert len(tcp) == 6 and all(c["protocol"] == "TCP" for c in tcp)
    assert len(ctl(lab, "conntrack", "list", "proto", "udp")) == 2
    for e in ENDPOINTS:
        mine = ctl(lab, "conntrack", "list", "backend", e, "proto", "tcp")
        assert len(mine) == sum(endpoint_of(lab, pod).startswith(e + ":") for pod in went.values())
    assert len(ctl(lab, "conntrack", "list", "limit", "3")) == 3
    r = run("--bpffs", lab.bpffs, "conntrack", "list", "vip", "not-an-address")
    assert r.returncode == 2 and "usage" in r.stderr, r.stderr


def test_stats_watch_prints_rates(lab):
    args = [CTL, "--bpffs", lab.bpffs, "-j", "stats", "--watch", "1", "--count", "3"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    sender = threading.Thread(target=lambda: client(lab, UDP_PACED, VIP, UDP_PORT, 4))
    sender.start()
    out, _ = proc.communicate(timeout=60)
    sender.join()
    assert proc.returncode == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert len(lines) == 3, out
    assert all(0.9 < d["interval_s"] < 2 for d in lines), lines
    rates = [v["rate"]["packets_per_s"] for d in lines for v in d["vips"] if v["service"] == SVC_UDP]
    assert len(rates) == 3 and all(r > 10 for r in rates), lines


def test_config_check_a_directory_offline(tmp_path):
    conf = tmp_path / "config"
    shutil.copytree(os.path.join(SOURCE, "examples"), conf)
    r = run("-j", "config", "check", str(conf))
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["valid"] and doc["objects"]["IPAddressPool"] >= 1 and doc["files"], doc
    (conf / "zz-bad.yaml").write_text(
        "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\n"
        "metadata: {name: broken, namespace: ironlb-system}\nspec:\n  addresses: [not-a-range]\n")
    (conf / ".swap.yaml").write_text("not: [yaml")  # an editor's file: skipped, as the agent does
    r = run("-j", "config", "check", str(conf))
    assert r.returncode == 3, r.stderr
    errors = json.loads(r.stdout)["errors"]
    assert any(e["file"].endswith("zz-bad.yaml") and e["name"] == "broken" and "addresses" in e["field"]
               for e in errors), errors
    assert not any(".swap" in e["file"] for e in errors), errors
    assert "zz-bad.yaml" in run("config", "check", str(conf)).stdout


def test_help_reads_like_a_man_page_and_exit_codes_hold():
    r = run("--help")
    assert r.returncode == 0
    for section in ("NAME", "SYNOPSIS", "OPTIONS", "COMMANDS", "EXIT STATUS", "EXAMPLES"):
        assert section in r.stdout, section
    for cmd in ("explain", "conntrack list", "stats", "config check", "bgp show", "alloc show"):
        assert cmd in r.stdout, cmd
    r = run("conntrack", "help")
    assert r.returncode == 0 and "vip A[:P]" in r.stdout and "Filters" in r.stdout
    assert run("nosuchobject").returncode == 2
    assert run("vip", "frobnicate").returncode == 2
    assert run("explain", SVC_TCP).returncode == 2  # the client is missing
    r = run("--bpffs", "/nonexistent-ironlb", "vip", "list")
    assert r.returncode == 1 and r.stderr, r.stderr


def test_kubectl_plugin_runs_the_same_binary(tmp_path):
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl missing: run scripts/setup.sh"
    assert os.path.islink(os.path.join(BIN, "kubectl-ironlb"))
    env = dict(os.environ, PATH=BIN + ":" + os.environ["PATH"], KUBECONFIG=str(tmp_path / "none"))
    conf = tmp_path / "config"
    shutil.copytree(os.path.join(SOURCE, "examples"), conf)
    r = subprocess.run([kubectl, "ironlb", "-j", "config", "check", str(conf)], capture_output=True,
                       text=True, timeout=60, env=env)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["valid"] is True
    r = subprocess.run([kubectl, "ironlb", "nosuchobject"], capture_output=True, text=True,
                       timeout=60, env=env)
    assert "kubectl ironlb" in r.stderr, r.stderr


def test_install_puts_binary_plugin_link_and_completion_in_place(tmp_path):
    build = os.path.dirname(os.path.abspath(BIN))
    # DESTDIR keeps every path, prefix-relative or not, inside tmp_path.
    r = subprocess.run(["cmake", "--install", build, "--prefix", "/usr"], capture_output=True,
                       text=True, timeout=120, env=dict(os.environ, DESTDIR=str(tmp_path)))
    assert r.returncode == 0, r.stderr
    usr = tmp_path / "usr"
    assert os.access(usr / "bin" / "ironlbctl", os.X_OK)
    assert os.readlink(usr / "bin" / "kubectl-ironlb") == "ironlbctl"
    comp = usr / "share" / "bash-completion" / "completions" / "ironlbctl"
    assert comp.exists()
    script = (f"source {comp}; COMP_WORDS=(ironlbctl conntrack list ''); COMP_CWORD=3; "
              "_ironlbctl; echo ${COMPREPLY[@]}; complete -p kubectl-ironlb")
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30).stdout
    assert {"vip", "backend", "client", "proto", "limit"} <= set(out.split()), out
    assert "_ironlbctl" in out
