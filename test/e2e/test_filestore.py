"""The standalone store under a running agent: the controller follows file edits, additions and
removals; broken input is reported with file, object and field while every Service keeps its IP;
a restarted controller adopts existing assignments."""
import os
import shutil
import textwrap

import pytest

from lib.agent import Agent, SOURCE, ips, read_status, wait_for

CONTROL_ONLY = ("--no-dataplane", "--no-bgp")


@pytest.fixture
def confdir(tmp_path):
    d = tmp_path / "config"
    shutil.copytree(os.path.join(SOURCE, "examples"), d)
    return str(d)


@pytest.fixture
def agent(tmp_path, confdir):
    a = Agent(str(tmp_path), confdir, role="controller", extra=CONTROL_ONLY).start()
    yield a
    a.stop()


def write(path, text):
    # Write-then-rename, as editors and kubectl-style tools do.
    tmp = path + ".tmp~"
    with open(tmp, "w") as f:
        f.write(textwrap.dedent(text))
    os.rename(tmp, path)


def status_of(confdir, key):
    return read_status(confdir).get(key)


def test_examples_are_allocated(agent, confdir):
    st = wait_for(lambda: len(read_status(confdir)) == 6 and read_status(confdir), what="6 statuses")
    # Services are served in name order, each taking the first free address of its pool.
    # Shared key, disjoint ports: dns-tcp and dns-udp hold one address.
    assert ips(st["demo/dns-tcp"]) == ["198.51.100.10"] == ips(st["demo/dns-udp"])
    assert ips(st["demo/web"]) == ["198.51.100.11"]
    assert st["demo/web"]["pool"] == "public"
    assert ips(st["demo/api"]) == ["10.255.0.205", "fd00:255::205"]
    assert st["demo/api"]["pool"] == "reserved"
    assert ips(st["demo/web-dual"]) == ["198.51.100.12", "2001:db8:100::"]
    assert ips(st["demo/web6"]) == ["2001:db8:100::1"]
    shown = {f"{s['service']['namespace']}/{s['service']['name']}": s for s in agent.ctl("alloc", "show")}
    assert ips(shown["demo/web"]) == ["198.51.100.11"]


def test_add_edit_remove_files(agent, confdir):
    wait_for(lambda: status_of(confdir, "demo/web"), what="web assigned")
    extra = os.path.join(confdir, "extra.yaml")
    write(extra, """
        apiVersion: v1
        kind: Service
        metadata: {name: late, namespace: demo}
        spec:
          type: LoadBalancer
          ports: [{port: 81, protocol: TCP}]
        """)
    st = wait_for(lambda: status_of(confdir, "demo/late"), what="late assigned")
    assert st["pool"] == "public" and ips(st)

    # Edit: move it to the reserved pool by annotation.
    write(extra, """
        apiVersion: v1
        kind: Service
        metadata:
          name: late
          namespace: demo
          annotations: {metallb.universe.tf/address-pool: reserved}
        spec:
          type: LoadBalancer
          ports: [{port: 81, protocol: TCP}]
        """)
    st = wait_for(lambda: (s := status_of(confdir, "demo/late")) and s["pool"] == "reserved" and s,
                  what="late moved to reserved")
    assert ips(st)[0].startswith("10.255.0.2")

    os.remove(extra)
    wait_for(lambda: status_of(confdir, "demo/late") is None, what="late released")
    # The address is free again: a new Service asking for it gets it.
    write(extra, f"""
        apiVersion: v1
        kind: Service
        metadata:
          name: again
          namespace: demo
          annotations: {{metallb.io/loadBalancerIPs: "{ips(st)[0]}"}}
        spec:
          type: LoadBalancer
          ports: [{{port: 82, protocol: TCP}}]
        """)
    st2 = wait_for(lambda: status_of(confdir, "demo/again"), what="again assigned")
    assert ips(st2) == ips(st)


def test_broken_input_keeps_serving(agent, confdir):
    before = wait_for(lambda: len(read_status(confdir)) == 6 and read_status(confdir), what="initial")
    # 1. A YAML syntax error in a new file.
    write(os.path.join(confdir, "broken.yaml"), "apiVersion: v1\nkind: Service\nmetadata: [oops\n")
    # 2. An invalid edit of an existing pool: a typo in an address.
    pools = os.path.join(confdir, "pools.yaml")
    with open(pools) as f:
        text = f.read()
    write(pools, text.replace("198.51.100.10-198.51.100.29", "198.51.100.10-198.51.100.299"))

    def errors():
        doc = agent.ctl("config", "show")
        return (not doc["valid"]) and len(doc["errors"]) >= 2 and doc["errors"]

    errs = wait_for(errors, what="both errors reported")
    syntax = [e for e in errs if e["file"].endswith("broken.yaml")]
    assert syntax, errs
    pool_err = [e for e in errs if e["file"].endswith("pools.yaml")]
    assert pool_err, errs
    assert "public" in pool_err[0]["object"] and "IPAddressPool" in pool_err[0]["object"]
    assert pool_err[0]["field"].startswith("spec.addresses"), pool_err
    assert "198.51.100.299" in pool_err[0]["message"]
    # Nothing lost: every Service keeps its address (the last valid pool stays in force).
    after = read_status(confdir)
    assert {k: ips(v) for k, v in after.items()} == {k: ips(v) for k, v in before.items()}
    # And the rest keeps working: a new Service is still allocated from the kept pool.
    write(os.path.join(confdir, "new.yaml"), """
        apiVersion: v1
        kind: Service
        metadata: {name: during-error, namespace: demo}
        spec: {type: LoadBalancer, ports: [{port: 90, protocol: TCP}]}
        """)
    st = wait_for(lambda: status_of(confdir, "demo/during-error"), what="allocated during error")
    assert st["pool"] == "public"
    # The logs name the same things.
    assert "broken.yaml" in agent.logs() and "pools.yaml" in agent.logs()
    # Fixing the typo clears the pool error.
    write(pools, text)
    wait_for(lambda: not any(e["file"].endswith("pools.yaml") for e in agent.ctl("config", "show")["errors"]),
             what="pool error resolved")


def test_restart_adopts_existing_assignments(tmp_path, confdir):
    a = Agent(str(tmp_path), confdir, role="controller", extra=CONTROL_ONLY).start()
    try:
        wait_for(lambda: len(read_status(confdir)) == 6, what="initial")
    finally:
        a.stop()
    before = {k: ips(v) for k, v in read_status(confdir).items()}
    # A Service that sorts first and would take the first free address if nothing were adopted.
    write(os.path.join(confdir, "aaa.yaml"), """
        apiVersion: v1
        kind: Service
        metadata: {name: aaa, namespace: demo}
        spec: {type: LoadBalancer, ports: [{port: 80, protocol: TCP}]}
        """)
    b = Agent(str(tmp_path), confdir, role="controller", extra=CONTROL_ONLY).start()
    try:
        st = wait_for(lambda: status_of(confdir, "demo/aaa"), what="aaa assigned")
        after = {k: ips(v) for k, v in read_status(confdir).items()}
        for k, v in before.items():
            assert after[k] == v, f"{k} moved from {v} to {after[k]}"
        assert ips(st)[0] not in sum(before.values(), [])
        assert "adopted" in b.logs()
    finally:
        b.stop()


def test_metrics_report_pool_usage(agent, confdir):
    wait_for(lambda: len(read_status(confdir)) == 6, what="initial")

    def in_use():
        for line in agent.metrics().splitlines():
            if line.startswith('metallb_allocator_addresses_in_use_total{pool="public"}'):
                return float(line.split()[-1])
        return None

    # web, dns (shared: one address), web6, web-dual (two) = 5 addresses in use from public.
    assert wait_for(lambda: in_use() == 5, what="5 addresses in use")
    text = agent.metrics()
    assert "metallb_k8s_client_config_loaded_bool 1" in text


def test_speaker_reads_controller_status(tmp_path, confdir):
    """Controller and speaker as separate agents: the speaker learns assignments only from the
    status files the controller writes, as it would from the API server."""
    ctrl = Agent(str(tmp_path), confdir, node="node-a", role="controller", extra=CONTROL_ONLY).start()
    spk = Agent(str(tmp_path), confdir, node="node-b", role="speaker", extra=CONTROL_ONLY).start()
    try:
        def speaker_view():
            rows = spk.ctl("alloc", "show")
            return {f"{s['service']['namespace']}/{s['service']['name']}": ips(s) for s in rows}

        view = wait_for(lambda: len(speaker_view()) == 6 and speaker_view(), what="speaker view")
        assert view["demo/web"] == ["198.51.100.11"]
        write(os.path.join(confdir, "extra.yaml"), """
            apiVersion: v1
            kind: Service
            metadata: {name: later, namespace: demo}
            spec: {type: LoadBalancer, ports: [{port: 81, protocol: TCP}]}
            """)
        wait_for(lambda: speaker_view().get("demo/later"), what="speaker sees the new assignment")
        assert "controller" not in spk.logs().split("roles", 1)[1].splitlines()[0]
    finally:
        spk.stop()
        ctrl.stop()
