"""A real Prometheus scrapes real agents: the allocator's numbers from a controller, and from an
agent carrying traffic through XDP in a namespace lab the data plane's counters (read at scrape
time), the BGP/BFD series and the health probes. The shipped alert rules and Grafana dashboard
refer only to series a live agent exports, `promtool check rules` passes, `promtool check
metrics` finds nothing in ironlb's own series (MetalLB's keep their names, lint and all), and
Prometheus evaluates every rule and dashboard query without error."""
import json
import os
import re
import shutil
import subprocess
import urllib.parse
import urllib.request

import pytest
import yaml

from lib.agent import Agent, SOURCE, free_port, read_status, wait_for
from lib.netns_dp import sh
from lib.ops_lab import PEER, TCP_CONNECT, TCP_PORT, UDP_PORT, UDP_SEND, VIP, client, ops_lab

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
MONITORING = os.path.join(SOURCE, "kube", "deploy", "monitoring")
RULES = os.path.join(MONITORING, "ironlb.rules.yaml")
DASHBOARD = os.path.join(MONITORING, "grafana-dashboard.json")


def start_prometheus(tmp_path, target, netns=None, rules=()):
    """Prometheus scraping `target` every second, evaluating `rules`; returns (proc, query)."""
    assert os.path.exists(PROMETHEUS), "prometheus missing: run scripts/setup.sh"
    port = free_port()
    conf = {"global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": list(rules),
            "scrape_configs": [{"job_name": "ironlb", "static_configs": [{"targets": [target]}]}]}
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(conf))
    cmd = [PROMETHEUS, f"--config.file={tmp_path / 'prometheus.yml'}",
           f"--storage.tsdb.path={tmp_path / 'tsdb'}", f"--web.listen-address=127.0.0.1:{port}"]
    if netns:
        cmd = ["ip", "netns", "exec", netns, *cmd]
    log = open(tmp_path / "prometheus.log", "wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)

    def api(path, **params):
        url = f"http://127.0.0.1:{port}/api/v1/{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        if netns:
            out = sh("curl", "-s", "--max-time", "5", url, ns=netns)
        else:
            with urllib.request.urlopen(url, timeout=5) as r:
                out = r.read().decode()
        doc = json.loads(out)
        assert doc["status"] == "success", doc
        return doc["data"]

    return proc, api


def stop(proc):
    if proc and proc.poll() is None:
        proc.terminate()
        proc.wait(20)


def test_prometheus_scrapes_allocator_metrics(tmp_path):
    conf = tmp_path / "config"
    shutil.copytree(os.path.join(SOURCE, "examples"), conf)
    agent = Agent(str(tmp_path), str(conf), role="controller", extra=("--no-dataplane", "--no-bgp")).start()
    prom = None
    try:
        wait_for(lambda: len(read_status(str(conf))) == 6, what="allocations")
        prom, api = start_prometheus(tmp_path, f"127.0.0.1:{agent.metrics_port}")

        def query(q):
            return api("query", query=q)["result"]

        res = wait_for(lambda: query('metallb_allocator_addresses_in_use_total{pool="public"}'),
                       timeout=60, what="prometheus to scrape the agent")
        assert float(res[0]["value"][1]) == 5.0
        up = query('up{job="ironlb"}')
        assert float(up[0]["value"][1]) == 1.0
        loaded = query("metallb_k8s_client_config_loaded_bool")
        assert float(loaded[0]["value"][1]) == 1.0
        assert float(query("metallb_k8s_client_config_stale_bool")[0]["value"][1]) == 0.0
    finally:
        stop(prom)
        agent.stop()


# --- an agent carrying traffic -----------------------------------------------------------------

@pytest.fixture
def lab(tmp_path):
    yield from ops_lab(tmp_path)


def series_value(text, name, **labels):
    """The value of the series `name` with exactly these labels in exposition text, or None."""
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    prefix = f"{name}{{{want}}} " if labels else f"{name} "
    for line in text.splitlines():
        if line.startswith(prefix):
            return float(line[len(prefix):])
    return None


def families(text):
    """Every series name a scrape exports: families, and a histogram's _bucket/_sum/_count."""
    out = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            out.add(name)
            if kind == "histogram":
                out |= {name + "_bucket", name + "_sum", name + "_count"}
    return out


def referenced_series():
    """Every ironlb/metallb series the rules and the dashboard name, with where it is used."""
    refs = {}
    pattern = re.compile(r"\b((?:metallb|ironlb)_[a-z0-9_]+)")
    with open(RULES) as f:
        for group in yaml.safe_load(f)["groups"]:
            for rule in group["rules"]:
                for text in [rule["expr"], *rule.get("annotations", {}).values()]:
                    for name in pattern.findall(text):
                        refs.setdefault(name, set()).add(rule["alert"])
    with open(DASHBOARD) as f:
        dash = json.load(f)
    for panel in dash["panels"]:
        for t in panel.get("targets", []):
            for name in pattern.findall(t["expr"]):
                refs.setdefault(name, set()).add(panel["title"])
    for var in dash["templating"]["list"]:
        for name in pattern.findall(var.get("query", "") if isinstance(var.get("query"), str) else ""):
            refs.setdefault(name, set()).add("variable " + var["name"])
    return refs


def dashboard_queries():
    with open(DASHBOARD) as f:
        dash = json.load(f)
    for panel in dash["panels"]:
        for t in panel.get("targets", []):
            expr = (t["expr"].replace("$__rate_interval", "1m").replace('"$instance"', '".*"')
                    .replace('"$job"', '".*"'))
            yield panel["title"], expr


def test_rules_and_dashboard_use_only_series_a_live_agent_exports(lab):
    client(lab, TCP_CONNECT, VIP, TCP_PORT, 5)
    # The agent runs every role, L2 among them (the lab has an L2Advertisement): its per-VIP
    # series appear once it has elected the VIP's owner.
    text = wait_for(lambda: (lambda t: t if "ironlb_l2_vip_owner_changes_total{" in t else None)(
        lab.agent.metrics()), timeout=10, what="the L2 speaker's series in a scrape")
    exported = families(text)
    refs = referenced_series()
    assert len(refs) >= 15, refs  # the check itself found the expressions
    # Every alert the issue names is among those checked.
    checked = {where for wheres in refs.values() for where in wheres}
    for alert in ("IronlbAddressPoolExhausted", "IronlbBGPSessionDown", "IronlbBFDSessionDown",
                  "IronlbL2OwnerFlapping", "IronlbConfigStale", "IronlbConntrackNearlyFull",
                  "IronlbDropsRising"):
        assert alert in checked, (alert, checked)
    missing = {name: sorted(where) for name, where in refs.items() if name not in exported}
    assert not missing, f"not in a live scrape: {missing}\n{text}"


def test_promtool_finds_nothing_in_ironlb_series(lab):
    assert os.path.exists(PROMTOOL), "promtool missing: run scripts/setup.sh"
    client(lab, TCP_CONNECT, VIP, TCP_PORT, 3)
    text = lab.agent.metrics()
    r = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True, text=True,
                       timeout=30)
    problems = [l for l in (r.stdout + r.stderr).splitlines() if l.strip()]
    print("\n".join(problems))
    ours = [p for p in problems if not p.startswith("metallb_")]
    assert not ours, ours
    # MetalLB's own names are kept on purpose (its gauges end in _total): promtool says so.
    assert any(p.startswith("metallb_allocator_addresses_total") for p in problems), problems


def test_promtool_check_rules_passes():
    r = subprocess.run([PROMTOOL, "check", "rules", RULES], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr


def test_prometheus_rule_carries_the_same_groups_as_the_rules_file():
    with open(RULES) as f:
        plain = yaml.safe_load(f)
    with open(os.path.join(MONITORING, "prometheusrule.yaml")) as f:
        crd = yaml.safe_load(f)
    assert crd["kind"] == "PrometheusRule"
    assert crd["spec"]["groups"] == plain["groups"], \
        "kube/deploy/monitoring/prometheusrule.yaml differs from ironlb.rules.yaml"


def test_health_endpoints_follow_the_data_plane(lab):
    def get(path):
        r = subprocess.run(["ip", "netns", "exec", lab.node, "curl", "-s", "-w", "\n%{http_code}",
                            f"http://127.0.0.1:{lab.agent.metrics_port}{path}"],
                           capture_output=True, text=True, timeout=10)
        body, _, code = r.stdout.rpartition("\n")
        return int(code), body

    assert get("/healthz") == (200, "ok\n")
    assert wait_for(lambda: get("/readyz")[0] == 200, 10), get("/readyz")
    # Someone detaches XDP behind the agent's back: alive, but no longer ready, and it says why.
    # Both modes: --xdp-mode auto picks generic on a veth (its peer runs no XDP).
    sh("ip", "link", "set", "dev", "n0", "xdp", "off", ns=lab.node)
    sh("ip", "link", "set", "dev", "n0", "xdpgeneric", "off", ns=lab.node)
    code, body = wait_for(lambda: (lambda r: r if r[0] == 503 else None)(get("/readyz")), 10,
                          what="/readyz to fail")
    assert "XDP not attached on n0" in body, body
    assert get("/healthz")[0] == 200


def test_a_scrape_sees_the_packets_it_follows(lab):
    svc = f"{VIP}:{UDP_PORT}/UDP"
    before = series_value(lab.agent.metrics(), "ironlb_dataplane_service_packets_total", service=svc)
    client(lab, UDP_SEND, VIP, UDP_PORT, 7)
    # No waiting: the per-CPU counters are read and summed by this very scrape.
    after = series_value(lab.agent.metrics(), "ironlb_dataplane_service_packets_total", service=svc)
    assert after - before == 7, (before, after)


def test_prometheus_scrapes_an_agent_carrying_traffic_and_evaluates_rules(lab, tmp_path):
    prom, api = start_prometheus(tmp_path, f"127.0.0.1:{lab.agent.metrics_port}", netns=lab.node,
                                 rules=[RULES])
    try:
        svc = f"{VIP}:{UDP_PORT}/UDP"
        client(lab, UDP_SEND, VIP, UDP_PORT, 9)
        client(lab, TCP_CONNECT, VIP, TCP_PORT, 4)
        sent = series_value(lab.agent.metrics(), "ironlb_dataplane_service_packets_total", service=svc)
        assert sent == 9

        def value(q):
            res = api("query", query=q)["result"]
            return float(res[0]["value"][1]) if res else None

        wait_for(lambda: value(f'ironlb_dataplane_service_packets_total{{service="{svc}"}}') == 9,
                 timeout=60, what="prometheus to see the 9 datagrams")
        assert value('sum(ironlb_dataplane_backend_packets_total)') >= 9 + 4
        assert value(f'metallb_bgp_session_up{{peer="{PEER}"}}') == 0
        assert value(f'metallb_bfd_session_up{{peer="{PEER}"}}') == 0
        assert value(f'metallb_speaker_announced{{ip="{VIP}",protocol="bgp",node="node-a",'
                     f'service="demo/web"}}') == 1
        assert value('metallb_allocator_addresses_in_use_total{pool="lab"}') == 1
        assert value('ironlb_dataplane_conntrack_capacity') > 0

        # Every rule evaluates cleanly against the real series...
        def rules_evaluated():
            groups = api("rules")["groups"]
            rules = [r for g in groups for r in g["rules"]]
            # Never evaluated: lastEvaluation is Go's zero time, 0001-01-01.
            return rules if rules and all(r.get("lastEvaluation", "").startswith("20")
                                          for r in rules) else None
        rules = wait_for(rules_evaluated, timeout=30, what="every rule evaluated")
        bad = [(r["name"], r.get("lastError")) for r in rules if r["health"] != "ok"]
        assert not bad, bad
        # ...and the ones this lab provokes match: the peer is down, the one-address pool is full.
        alerts = wait_for(lambda: {a["labels"]["alertname"] for a in api("alerts")["alerts"]}
                          >= {"IronlbBGPSessionDown", "IronlbBFDSessionDown",
                              "IronlbAddressPoolExhausted"} and api("alerts")["alerts"],
                          timeout=30, what="alerts pending")
        names = {a["labels"]["alertname"] for a in alerts}
        assert "IronlbConfigStale" not in names and "IronlbDataplaneFull" not in names, names
        # Every dashboard query runs, and the ones about this lab's traffic have data (rates
        # need two samples in their window: retried until Prometheus has them).
        wanted = {"Traffic per VIP", "Traffic per endpoint", "Pool usage", "BGP sessions",
                  "BFD sessions", "Conntrack occupancy", "Services announced per node",
                  "Maglev tables written", "Packets by outcome", "L2 owner per VIP",
                  "L2 owner moves per VIP"}

        def empty_panels():
            empty = {title for title, expr in dashboard_queries()
                     if not api("query", query=expr)["result"]}
            return empty if not empty & wanted else None
        wait_for(lambda: empty_panels() is not None, timeout=30, what="dashboard data")
    finally:
        stop(prom)


def test_agent_log_says_how_xdp_attached_without_library_noise(lab):
    logs = lab.agent.logs()
    # libxdp's probes fail on purpose here (its dispatcher check); libbpf's raw lines about it
    # would read like failures, so they went to debug.
    for noise in ("BPF program load failed", "ulimit -l", "skipping unrecognized data section",
                  "libbpf:", "libxdp:"):
        assert noise not in logs, logs
    attach = [line for line in logs.splitlines() if "XDP attached in" in line]
    assert len(attach) == 1 and ": n0: XDP attached in " in attach[0], logs
    assert "--xdp-mode auto" in attach[0], attach
