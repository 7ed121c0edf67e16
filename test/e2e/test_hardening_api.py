"""Slow and hostile clients of the agent's two listeners, against the real agent: idle
connections by the thousand on the local API, the API with its descriptors exhausted, a second
agent on the same socket, idle TCP connections to /metrics, and names that are not UTF-8."""
import os
import resource
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from agent import Agent, wait_for, write_atomic  # noqa: E402

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")

CONFIG = """
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: public, namespace: ironlb-system}
spec:
  addresses: [198.51.100.10-198.51.100.19]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: demo}
spec:
  type: LoadBalancer
  ports: [{name: http, port: 80, protocol: TCP}]
"""


@pytest.fixture
def confdir(tmp_path):
    d = tmp_path / "config"
    d.mkdir()
    write_atomic(str(d / "all.yaml"), CONFIG)
    return str(d)


@pytest.fixture
def agents():
    started = []
    yield started
    for a in started:
        if a.proc and a.proc.poll() is None:
            a.stop()


def start(agents, tmp_path, confdir, wrap=(), **kw):
    a = Agent(str(tmp_path), confdir, extra=["--no-dataplane"], **kw)
    a.cmd = [*wrap, *a.cmd]
    agents.append(a)
    return a.start()


def idle_unix(path, n):
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_UNIX)
        s.setblocking(False)
        try:
            s.connect(path)
        except BlockingIOError:
            pass
        except OSError:  # backlog full: the agent is not accepting
            s.close()
            continue
        socks.append(s)
    return socks


def raise_own_nofile(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(n, hard), hard))


def test_api_answers_through_1100_idle_connections(agents, tmp_path, confdir):
    raise_own_nofile(4096)
    a = start(agents, tmp_path, confdir)
    wait_for(lambda: a.ctl("alloc", "show"), what="first answer")
    socks = idle_unix(a.sock, 1100)
    try:
        t0 = time.monotonic()
        wait_for(lambda: a.ctl("config", "show") is not None, 15, "an answer among idle clients")
        print(f"{len(socks)} idle connections open; ironlbctl answered after "
              f"{1000 * (time.monotonic() - t0):.0f} ms")
        assert a.proc.poll() is None
    finally:
        for s in socks:
            s.close()
    assert a.ctl("config", "show") is not None


def test_api_accepts_again_after_descriptors_run_out(agents, tmp_path, confdir):
    """EMFILE on accept used to end the accept loop for good. With the agent's descriptor
    limit a little above what it uses, idle clients exhaust it; once they are gone (closed by
    the client or by the agent's timeout), ironlbctl is answered again."""
    probe = start(agents, tmp_path, confdir, node="probe")
    wait_for(lambda: probe.ctl("alloc", "show"), what="first answer")
    in_use = len(os.listdir(f"/proc/{probe.proc.pid}/fd"))
    probe.stop()
    limit = in_use + 8
    a = start(agents, tmp_path, confdir, wrap=["prlimit", f"--nofile={limit}:{limit}", "--"])
    wait_for(lambda: a.ctl("alloc", "show"), what="first answer")
    socks = idle_unix(a.sock, 200)
    try:
        wait_for(lambda: "failed: Too many open files; retrying" in a.logs(), 10, "EMFILE")
    finally:
        for s in socks:
            s.close()
    wait_for(lambda: a.ctl("config", "show") is not None, 20, "an answer after EMFILE")
    wait_for(lambda: "accepting on" in a.logs() and "again" in a.logs(), 5, "recovery logged")
    assert a.proc.poll() is None


def test_second_agent_on_the_same_socket_refuses_to_start(agents, tmp_path, confdir):
    first = start(agents, tmp_path, confdir)
    wait_for(lambda: first.ctl("alloc", "show"), what="first agent")
    second = Agent(str(tmp_path), confdir, node="node-a", extra=["--no-dataplane"])
    second.log_path = os.path.join(str(tmp_path), "second.log")
    second.log = open(second.log_path, "ab")
    second.proc = subprocess.Popen(second.cmd, stdout=second.log, stderr=subprocess.STDOUT)
    agents.append(second)
    assert second.proc.wait(20) == 1, second.logs()
    assert "another agent is answering on " + first.sock in second.logs(), second.logs()
    # The first agent still has its socket.
    assert os.path.exists(first.sock)
    assert first.ctl("config", "show") is not None

    # A socket file left by an agent that died without cleaning up is taken over.
    first.stop(sig=signal.SIGKILL)
    assert os.path.exists(first.sock)
    third = start(agents, tmp_path, confdir)
    wait_for(lambda: third.ctl("alloc", "show"), what="agent on a stale socket")


def scrape(port, timeout=5):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=timeout) as r:
        return r.read().decode()


def test_metrics_answer_despite_idle_connections(agents, tmp_path, confdir):
    a = start(agents, tmp_path, confdir)
    wait_for(lambda: "ironlb_reconciles_total" in scrape(a.metrics_port), what="metrics")
    # More than the 64 connections served at once: the oldest idle ones make room.
    idle = [socket.create_connection(("127.0.0.1", a.metrics_port)) for _ in range(200)]
    try:
        times = []
        for _ in range(9):
            t0 = time.monotonic()
            assert "metallb_k8s_client_config_loaded_bool" in scrape(a.metrics_port)
            times.append(time.monotonic() - t0)
        print(f"9 scrapes with {len(idle)} idle connections: slowest "
              f"{1000 * max(times):.0f} ms")
        # Idle connections are dropped (request timeout 3 s, or evicted), not kept for ever.
        time.sleep(4)
        for s in idle:
            s.settimeout(2)
            assert s.recv(1) == b""
    finally:
        for s in idle:
            s.close()


def test_names_that_are_not_utf8_are_rejected_and_never_break_the_api(agents, tmp_path,
                                                                        confdir):
    # Raw bytes that are not UTF-8 are refused by the YAML reader (as go-yaml, Kubernetes' own
    # parser, does); a YAML escape makes valid UTF-8 that is still no DNS name.
    bad = CONFIG.replace("name: public,", "name: \"pub@@lic\",") + """---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: "esc\\xfeaped", namespace: ironlb-system}
spec: {addresses: [198.51.100.30/32]}
---
apiVersion: v1
kind: Service
metadata: {name: "../../etc", namespace: demo}
spec: {type: LoadBalancer, ports: [{port: 80}]}
"""
    with open(os.path.join(confdir, "bad.yaml"), "wb") as f:
        f.write(bad.encode("utf-8").replace(b"@@", b"\xff\xfe"))
    a = start(agents, tmp_path, confdir)
    errs = wait_for(lambda: a.ctl("config", "show")["errors"], 10, "config errors")
    text = "\n".join(f"{e['file']} {e['object']} {e['field']} {e['message']}" for e in errs)
    assert "bad.yaml" in text and "metadata.name" in text, text
    assert "invalid leading UTF-8 octet (byte 0xff)" in text and "at line 4," in text, text
    assert '"esc\\xc3\\xbeaped" is not a valid name' in text, text
    assert '"../../etc" is not a valid name' in text, text
    # The well-formed copies in all.yaml still serve; every scrape parses.
    body = scrape(a.metrics_port)
    body.encode("utf-8")
    assert 'metallb_allocator_addresses_total{pool="public"} 10' in body, body
    assert "\ufffd" not in body
