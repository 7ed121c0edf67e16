"""Bad files in the standalone store, against the real agent (`--role all`, and BGP to BIRD for the
large file): symlink loops, broken edits, unreadable files, files rewritten in place, FIFOs under
status/, names that climb out of the directory, and a 200 MB file. A Service never loses or
changes its IP because of any of them, and every error names the file (and object and field)."""
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from agent import Agent, ips, wait_for, write_atomic  # noqa: E402

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")

POOLS = """
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: public, namespace: ironlb-system}
spec:
  addresses: [198.51.100.10-198.51.100.19]
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: one, namespace: ironlb-system}
spec:
  addresses: [198.51.100.50/32]
  autoAssign: false
"""


def service(name, port=80, pool=None, kind="Service"):
    ann = f"\n  annotations: {{metallb.io/address-pool: {pool}}}" if pool else ""
    return f"""apiVersion: v1
kind: {kind}
metadata:
  name: {name}
  namespace: demo{ann}
spec:
  type: LoadBalancer
  ports: [{{name: http, port: {port}, protocol: TCP}}]
"""


SERVICES = "---\n".join([service("web"), service("api", 81)])


@pytest.fixture
def confdir(tmp_path):
    d = tmp_path / "config"
    d.mkdir()
    write_atomic(str(d / "pools.yaml"), POOLS)
    write_atomic(str(d / "services.yaml"), SERVICES)
    return str(d)


@pytest.fixture
def agents():
    started = []
    yield started
    for a in started:
        if a.proc and a.proc.poll() is None:
            a.stop()


def start(agents, tmp_path, confdir, wrap=(), role="all", node="node-a"):
    a = Agent(str(tmp_path), confdir, node=node, role=role, extra=["--no-dataplane", "--no-bgp"])
    a.cmd = [*wrap, *a.cmd]
    agents.append(a)
    return a.start()


def read_status(confdir):
    """lib.agent.read_status, skipping what is not a regular file (it would block on a FIFO)."""
    out = {}
    d = os.path.join(confdir, "status")
    for f in os.listdir(d) if os.path.isdir(d) else []:
        p = os.path.join(d, f)
        if f.endswith(".json") and not f.startswith(".") and os.path.isfile(p):
            with open(p) as fh:
                s = json.load(fh)
            out[f"{s['service']['namespace']}/{s['service']['name']}"] = s
    return out


def assigned(confdir):
    return {k: ips(v) for k, v in read_status(confdir).items() if ips(v)}


def errors(agent, file_suffix):
    return [e for e in agent.ctl("config", "show")["errors"] if e["file"].endswith(file_suffix)]


def test_symlink_loops_are_named_and_the_agent_restarts_with_them(tmp_path, confdir, agents):
    """Used to be an uncaught filesystem_error (SIGABRT), and the agent could not start again."""
    os.symlink("loop.yaml", os.path.join(confdir, "loop.yaml"))
    os.symlink("pong.yml", os.path.join(confdir, "ping.yml"))
    os.symlink("ping.yml", os.path.join(confdir, "pong.yml"))
    os.symlink("loop", os.path.join(confdir, "loop"))  # not a config name: not even looked at
    for attempt in range(2):  # the second start is the restart that used to fail
        a = start(agents, tmp_path, confdir)
        got = wait_for(lambda: assigned(confdir).keys() >= {"demo/web", "demo/api"} and
                       errors(a, ".yml") and errors(a, "loop.yaml"), what="services and errors")
        assert got
        for name in ("loop.yaml", "ping.yml", "pong.yml"):
            errs = errors(a, name)
            assert errs and "symbolic links" in errs[0]["message"], (name, errs)
        assert not errors(a, "/loop")
        # A loop made while it runs, in place of a file that loaded, keeps that file's Services.
        if attempt == 0:
            before = assigned(confdir)
            extra = os.path.join(confdir, "extra.yaml")
            write_atomic(extra, service("late", 82))
            wait_for(lambda: "demo/late" in assigned(confdir), what="late assigned")
            os.remove(extra)
            os.symlink("extra.yaml", extra)
            wait_for(lambda: errors(a, "extra.yaml"), what="the new loop reported")
            time.sleep(0.5)
            assert "demo/late" in assigned(confdir), a.logs()
            assert {k: v for k, v in assigned(confdir).items() if k != "demo/late"} == before
            assert any(s["service"]["name"] == "late" for s in a.ctl("alloc", "show"))
        assert a.stop() == 0, a.logs()


def test_broken_edits_keep_every_service_and_name_file_object_and_field(tmp_path, confdir, agents):
    """A syntax error, `port: eighty` and `kind: Servce` used to release the file's Services (the
    misspelt kind without any error); now the last valid version stays and the error says where."""
    a = start(agents, tmp_path, confdir)
    path = os.path.join(confdir, "services.yaml")
    before = wait_for(lambda: (s := assigned(confdir)).keys() >= {"demo/web", "demo/api"} and s,
                      what="both assigned")
    cases = [
        ("syntax", SERVICES.replace("ports: [{name: http, port: 80, protocol: TCP}]",
                                    "ports: [{name: http, port: 80, protocol: TCP}", 1),
         "", "YAML syntax error"),
        ("wrong type", SERVICES.replace("port: 80,", "port: eighty,", 1), "spec.ports[0].port",
         "eighty"),
        ("misspelt kind", "---\n".join([service("web", kind="Servce"), service("api", 81)]), "kind",
         "did you mean Service?"),
    ]
    for what, text, field, message in cases:
        write_atomic(path, text)
        errs = wait_for(lambda: errors(a, "services.yaml"), what=f"{what}: error reported")
        assert len(errs) == 1, (what, errs)
        assert errs[0]["object"].endswith(" demo/web"), (what, errs)  # the kind as written
        assert errs[0]["field"] == field, (what, errs)
        assert message in errs[0]["message"], (what, errs)
        time.sleep(0.5)  # a release would have been written by now
        assert assigned(confdir) == before, what
        shown = {s["service"]["name"]: ips(s) for s in a.ctl("alloc", "show")}
        assert shown["web"] == before["demo/web"] and shown["api"] == before["demo/api"], what
        write_atomic(path, SERVICES)
        wait_for(lambda: not errors(a, "services.yaml"), what=f"{what}: fixed")
    assert "services.yaml" in a.logs()
    # Only deleting a document deletes its object.
    write_atomic(path, service("web"))
    wait_for(lambda: "demo/api" not in assigned(confdir), what="api released once deleted")
    assert assigned(confdir)["demo/web"] == before["demo/web"]


def lowest_free_fd(pid):
    used = {int(f) for f in os.listdir(f"/proc/{pid}/fd")}
    return next(i for i in range(len(used) + 1) if i not in used)


def test_unreadable_files_keep_their_last_version(tmp_path, confdir, agents):
    """A directory in a file's place, a file the agent may not open, and no descriptors left:
    each used to read as empty (with descriptors exhausted, the whole directory, and the pools
    vanished). Now each is an error naming the path, and nothing is released."""
    # Root reads any file: without CAP_DAC_OVERRIDE/READ_SEARCH the agent meets permissions as
    # any daemon not running as root would.
    a = start(agents, tmp_path, confdir,
              wrap=["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--"])
    db = os.path.join(confdir, "db.yaml")
    write_atomic(db, service("db", 5432))
    before = wait_for(lambda: len(s := assigned(confdir)) == 3 and s, what="three assigned")

    # 1. A directory in place of the file.
    os.remove(db)
    os.mkdir(db)
    errs = wait_for(lambda: errors(a, "db.yaml"), what="directory reported")
    assert "not a regular file" in errs[0]["message"] or "directory" in errs[0]["message"], errs
    time.sleep(0.5)
    assert assigned(confdir) == before
    os.rmdir(db)
    write_atomic(db, service("db", 5432))
    wait_for(lambda: not errors(a, "db.yaml"), what="file back")

    # 2. An edit saved as another user with mode 0600: the agent cannot open it.
    with open(db + ".tmp", "w") as f:
        f.write(service("db", 5433))
    os.chown(db + ".tmp", 65534, 65534)
    os.chmod(db + ".tmp", 0o600)
    os.rename(db + ".tmp", db)
    errs = wait_for(lambda: errors(a, "db.yaml"), what="permission error reported")
    assert "Permission denied" in errs[0]["message"], errs
    time.sleep(0.5)
    assert assigned(confdir) == before
    os.chown(db, 0, 0)
    os.utime(db)
    wait_for(lambda: not errors(a, "db.yaml"), what="readable again")

    # 3. No descriptor can be had: the soft limit lowered below every free descriptor number
    # (what is open stays open; any new descriptor fails with EMFILE).
    pid = a.proc.pid
    soft = int(subprocess.run(["prlimit", "--pid", str(pid), "--nofile", "-o", "SOFT",
                               "--noheadings"], capture_output=True, text=True).stdout)
    assert lowest_free_fd(pid) > 3
    subprocess.run(["prlimit", "--pid", str(pid), "--nofile=3:"], check=True)
    try:
        write_atomic(os.path.join(confdir, "services.yaml"), SERVICES + "---\n" + service("late", 82))
        wait_for(lambda: "cannot list the directory: Too many open files" in a.logs(),
                 what="the failure seen")
        time.sleep(1.0)  # several rescans while no descriptor is free
        assert assigned(confdir) == before, a.logs()[-3000:]
    finally:
        subprocess.run(["prlimit", "--pid", str(pid), f"--nofile={soft}:"], check=True)
    # Descriptors back: the edit that waited is read, and nothing moved meanwhile.
    wait_for(lambda: "demo/late" in assigned(confdir), what="the waiting edit applied")
    after = assigned(confdir)
    assert {k: after[k] for k in before} == before


def test_file_rewritten_in_place_never_moves_an_ip(tmp_path, confdir, agents):
    """`>` redirection from a slow command truncates the file and writes it later. The Service in
    it used to be released, and a Service waiting on the exhausted pool took its IP."""
    first = os.path.join(confdir, "first.yaml")
    write_atomic(first, service("first", pool="one"))
    a = start(agents, tmp_path, confdir)
    wait_for(lambda: assigned(confdir).get("demo/first") == ["198.51.100.50"], what="first assigned")
    write_atomic(os.path.join(confdir, "second.yaml"), service("second", pool="one"))
    wait_for(lambda: "demo/second" in read_status(confdir), what="second waiting")
    assert not ips(read_status(confdir)["demo/second"])

    seen, stop = [], threading.Event()

    def watch():
        while not stop.is_set():
            st = read_status(confdir)
            seen.append((ips(st.get("demo/first", {})), ips(st.get("demo/second", {}))))
            time.sleep(0.02)

    def rescans():  # other files change meanwhile, so rescans run during the rewrite
        n = 0
        while not stop.is_set():
            write_atomic(os.path.join(confdir, "other.yaml"), service("other", 90 + n % 2))
            n += 1
            time.sleep(0.05)

    threads = [threading.Thread(target=watch), threading.Thread(target=rescans)]
    for t in threads:
        t.start()
    try:
        for n in range(3):
            # Each version adds a Service from the other pool, so its being read shows.
            new = "---\n".join([service("first", pool="one")] +
                               [service(f"first-{i}", 100 + i) for i in range(n + 1)])
            with open(first, "w") as f:  # truncated here
                f.flush()
                time.sleep(0.6)  # the slow command: longer than the store's quiet time
                f.write(new[:len(new) // 2])
                f.flush()
                time.sleep(0.1)
                f.write(new[len(new) // 2:])
            wait_for(lambda: f"demo/first-{n}" in assigned(confdir), what=f"version {n} read")
        time.sleep(0.5)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert seen
    moved = [s for s in seen if s[1] or s[0] != ["198.51.100.50"]]
    assert not moved, f"{len(moved)} of {len(seen)} readings: {moved[:5]}\n{a.logs()[-3000:]}"
    assert not errors(a, "first.yaml")


def test_fifo_in_status_never_blocks(tmp_path, confdir, agents):
    """A FIFO named *.json under status/ used to freeze the event loop until a writer came."""
    status = os.path.join(confdir, "status")
    os.makedirs(status)
    os.mkfifo(os.path.join(status, "demo_trap.json"))
    a = start(agents, tmp_path, confdir)
    wait_for(lambda: assigned(confdir).keys() >= {"demo/web", "demo/api"}, what="assigned")
    assert a.ctl("config", "show")["valid"]
    # A speaker follows status/ on every change: a FIFO made while it runs blocks nothing either.
    s = start(agents, tmp_path, confdir, role="speaker", node="node-b")
    wait_for(lambda: len(s.ctl("alloc", "show")) >= 2, what="speaker sees the assignments")
    os.mkfifo(os.path.join(status, "demo_trap2.json"))
    write_atomic(os.path.join(confdir, "late.yaml"), service("late", 82))
    wait_for(lambda: any(x["service"]["name"] == "late" and ips(x) for x in s.ctl("alloc", "show")),
             what="speaker sees a later assignment")
    assert s.ctl("config", "show") is not None and a.ctl("config", "show") is not None


def tree(root):
    out = set()
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            out.add(os.path.relpath(os.path.join(d, n), root))
    return out


def test_names_that_climb_out_write_nothing_outside(tmp_path, confdir, agents):
    """A Service named with ../ parts, with directories prepared under status/ for the path to
    resolve through, used to have its status file written outside the configuration directory."""
    status = os.path.join(confdir, "status")
    for d in ("demo_..", "demo_../..", "x_.."):
        os.makedirs(os.path.join(status, d), exist_ok=True)
    bad = [("../../../escaped", "demo"), ("..", "demo"), ("a/../../b", "demo"),
           ("escaped2", "../.."), ("..%2f..%2fx", "demo")]
    docs = [service("good")] + [service(n).replace("namespace: demo", f"namespace: {ns!r}")
                                .replace(f"name: {n}", f"name: {n!r}") for n, ns in bad]
    outside_before = tree(str(tmp_path))
    write_atomic(os.path.join(confdir, "services.yaml"), "---\n".join(docs))
    a = start(agents, tmp_path, confdir)
    wait_for(lambda: "demo/good" in assigned(confdir), what="good assigned")
    errs = wait_for(lambda: len(e := errors(a, "services.yaml")) == len(bad) and e,
                    what="one error per bad name")
    for e in errs:
        assert e["field"] in ("metadata.name", "metadata.namespace"), e
    time.sleep(0.5)
    new = tree(str(tmp_path)) - outside_before
    allowed = re.compile(r"^(config/status/[a-z0-9-]+_[a-z0-9.-]+\.json|config/services\.yaml|"
                         r"agent-node-a\.(log|sock))$")
    assert all(allowed.match(p) for p in new), sorted(new)
    assert set(assigned(confdir)) == {"demo/good"}


def many_services(n, start=0):
    """Service documents for a large file; ClusterIP, so they cost decoding and nothing else."""
    for i in range(start, start + n):
        yield (f"---\napiVersion: v1\nkind: Service\nmetadata: {{name: s{i}, namespace: bulk}}\n"
               f"spec: {{type: ClusterIP, ports: [{{port: 80, protocol: TCP}}]}}\n")


BGP_BASE = """
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: public, namespace: ironlb-system}
spec:
  addresses: [198.51.100.15/32]
---
apiVersion: metallb.io/v1beta1
kind: BGPAdvertisement
metadata: {name: public-bgp, namespace: ironlb-system}
spec:
  ipAddressPools: [public]
---
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: tor, namespace: ironlb-system}
spec: {myASN: 64512, peerASN: 64513, peerAddress: 10.0.0.1, holdTime: 9s, connectTime: 1s}
---
apiVersion: v1
kind: Node
metadata:
  name: node-a
  labels: {kubernetes.io/hostname: node-a}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: demo}
spec:
  type: LoadBalancer
  ports: [{name: http, port: 80, protocol: TCP, targetPort: 8080}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-1
  namespace: demo
  labels: {kubernetes.io/service-name: web}
addressType: IPv4
ports: [{name: http, port: 8080, protocol: TCP}]
endpoints:
- addresses: [10.244.1.10]
  conditions: {ready: true}
  nodeName: node-a
"""


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def write_big(path, mib):
    """About `mib` MiB of Service documents, written whole under a temporary name, then renamed."""
    with open(path + ".tmp", "w") as f:
        written, start = 0, 0
        while written < mib << 20:
            text = "".join(many_services(5000, start))
            f.write(text)
            written += len(text)
            start += 5000
    os.rename(path + ".tmp", path)
    return written


@pytest.mark.skipif(not os.path.exists("/usr/sbin/bird"), reason="needs BIRD 2")
@pytest.mark.parametrize("mib", [200, 15])
def test_large_file_never_drops_bgp_and_sigterm_is_honoured(tmp_path, mib):
    """A 200 MB Services file used to freeze the loop for 128 s (past BIRD's hold time: every
    route withdrawn) at 4.1 GB. 200 MB is refused by size; 15 MB is under the limit and decoded
    off the loop. Either way BIRD's session stays up, memory stays bounded, and SIGTERM in the
    middle ends the agent."""
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
    from bgp_lab import Bird, Lab, same_session  # noqa: E402
    from bgp_lab import wait_for as lab_wait

    lab = Lab()
    try:
        r, n = lab.ns("r"), lab.ns("n1")
        lab.link(r, "10.0.0.1/24", n, "10.0.0.2/24", 1)
        bird = Bird(lab, r, "10.0.0.1", 64513, [("10.0.0.2", 64512)])
        cfg = os.path.join(lab.dir, "config")
        os.makedirs(cfg)
        write_atomic(os.path.join(cfg, "all.yaml"), BGP_BASE)
        agent = Agent(lab.dir, cfg, node="node-a", extra=["--no-dataplane"], netns=n).start()
        lab.agents.append(agent)
        assert lab_wait(lambda: bird.route("198.51.100.15/32"), 30), agent.logs()
        since = bird.up_since()
        pid = agent.proc.pid
        base = rss_mb(pid)
        size = write_big(os.path.join(lab.dir, "big.yaml"), mib)
        peak, stop = [base], threading.Event()

        def sample():
            while not stop.is_set():
                peak[0] = max(peak[0], rss_mb(pid))
                time.sleep(0.02)

        sampler = threading.Thread(target=sample)
        sampler.start()
        t0 = time.monotonic()
        try:
            os.rename(os.path.join(lab.dir, "big.yaml"), os.path.join(cfg, "big.yaml"))
            if mib > 16:
                errs = wait_for(lambda: errors(agent, "big.yaml"), what="size error")
                assert "bytes" in errs[0]["message"] and "limit" in errs[0]["message"], errs
                print(f"{size >> 20} MiB file refused after {time.monotonic() - t0:.2f} s")
                time.sleep(2)
            else:
                # Past BIRD's 9 s hold time while it decodes: the loop keeps answering.
                end = time.monotonic() + 10
                while time.monotonic() < end and "decoded" not in agent.logs():
                    assert agent.ctl("config", "show") is not None
                    time.sleep(0.5)
                print(f"decoding still running after {time.monotonic() - t0:.1f} s: "
                      f"{'decoded' not in agent.logs()}")
            assert bird.route("198.51.100.15/32")
            assert same_session(bird.up_since(), since), bird.cmd("show", "protocols", "all", "n0")
            t1 = time.monotonic()
            agent.proc.send_signal(signal.SIGTERM)
            rc = agent.proc.wait(30)
            took = time.monotonic() - t1
        finally:
            stop.set()
            sampler.join()
        print(f"{size >> 20} MiB: RSS {base:.0f} MB before, peak {peak[0]:.0f} MB; "
              f"SIGTERM to exit {took * 1000:.0f} ms")
        assert rc == 0, agent.logs()[-3000:]
        # Bounded: the file is never held whole beside its parse (ASan build: generous bound).
        assert peak[0] - base < (300 if mib > 16 else 2500), (base, peak[0])
    finally:
        lab.close()
