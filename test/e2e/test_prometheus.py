"""A real Prometheus scrapes the agent's metrics endpoint and sees the allocator's numbers."""
import json
import os
import shutil
import subprocess
import urllib.parse
import urllib.request

from lib.agent import Agent, SOURCE, free_port, read_status, wait_for

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"


def test_prometheus_scrapes_allocator_metrics(tmp_path):
    assert os.path.exists(PROMETHEUS), "prometheus missing: run scripts/setup.sh"
    conf = tmp_path / "config"
    shutil.copytree(os.path.join(SOURCE, "examples"), conf)
    agent = Agent(str(tmp_path), str(conf), role="controller", extra=("--no-dataplane", "--no-bgp")).start()
    prom = None
    try:
        wait_for(lambda: len(read_status(str(conf))) == 6, what="allocations")
        port = free_port()
        (tmp_path / "prometheus.yml").write_text(f"""
global:
  scrape_interval: 1s
scrape_configs:
- job_name: ironlb
  static_configs:
  - targets: ["127.0.0.1:{agent.metrics_port}"]
""")
        log = open(tmp_path / "prometheus.log", "wb")
        prom = subprocess.Popen([PROMETHEUS, f"--config.file={tmp_path / 'prometheus.yml'}",
                                 f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                                 f"--web.listen-address=127.0.0.1:{port}"],
                                stdout=log, stderr=subprocess.STDOUT)

        def query(q):
            url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": q})
            with urllib.request.urlopen(url, timeout=5) as r:
                return json.load(r)["data"]["result"]

        res = wait_for(lambda: query('metallb_allocator_addresses_in_use_total{pool="public"}'),
                       timeout=60, what="prometheus to scrape the agent")
        assert float(res[0]["value"][1]) == 5.0
        up = query('up{job="ironlb"}')
        assert float(up[0]["value"][1]) == 1.0
        loaded = query("metallb_k8s_client_config_loaded_bool")
        assert float(loaded[0]["value"][1]) == 1.0
    finally:
        if prom:
            prom.terminate()
            prom.wait(20)
        agent.stop()
