"""The metrics endpoint over HTTPS, against the real agent and Debian's real Prometheus: mutual
TLS with certificates made at test time by the openssl CLI, a rotation in place (as cert-manager
does it) picked up without a restart while Prometheus keeps scraping, clients without a
certificate refused, and a bad certificate stopping the start with the file named."""
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import urllib.parse
import urllib.request

import pytest
import yaml

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from agent import Agent, free_port, wait_for, write_atomic  # noqa: E402

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

CONFIG = """
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: public, namespace: ironlb-system}
spec:
  addresses: [198.51.100.10-198.51.100.19]
"""


def openssl(d, *args):
    subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)


def issue(d, name, cn, ca="ca", san=None):
    """A key and a certificate for `cn` signed by the CA `ca`."""
    openssl(d, "req", *EC, "-subj", f"/CN={cn}", "-keyout", f"{name}.key", "-out", f"{name}.csr")
    ext = []
    if san:
        with open(os.path.join(d, f"{name}.ext"), "w") as f:
            f.write(f"subjectAltName={san}\n")
        ext = ["-extfile", f"{name}.ext"]
    openssl(d, "x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
            "-CAcreateserial", "-days", "2", "-out", f"{name}.pem", *ext)


@pytest.fixture
def pki(tmp_path):
    d = str(tmp_path / "pki")
    os.makedirs(d)
    openssl(d, "req", "-x509", *EC, "-days", "2", "-subj", "/CN=test-ca", "-keyout", "ca.key",
            "-out", "ca.pem")
    issue(d, "server", "ironlb-one", san="IP:127.0.0.1")
    issue(d, "server2", "ironlb-two", san="IP:127.0.0.1")
    issue(d, "prometheus", "prometheus")
    return d


@pytest.fixture
def confdir(tmp_path):
    d = tmp_path / "config"
    d.mkdir()
    write_atomic(str(d / "all.yaml"), CONFIG)
    return str(d)


def tls_agent(tmp_path, confdir, pki, cert="server.pem", key="server.key"):
    live = os.path.join(pki, "live")  # what a Secret volume holds: tls.crt, tls.key
    os.makedirs(live, exist_ok=True)
    shutil.copy(os.path.join(pki, cert), os.path.join(live, "tls.crt"))
    shutil.copy(os.path.join(pki, key), os.path.join(live, "tls.key"))
    return Agent(str(tmp_path), confdir, extra=[
        "--no-dataplane", "--no-bgp", "--metrics-tls-cert", os.path.join(live, "tls.crt"),
        "--metrics-tls-key", os.path.join(live, "tls.key"),
        "--metrics-tls-client-ca", os.path.join(pki, "ca.pem")])


def served_cn(port, pki, client=True):
    """The common name of the certificate the agent serves, or None when refused."""
    ctx = ssl.create_default_context(cafile=os.path.join(pki, "ca.pem"))
    if client:
        ctx.load_cert_chain(os.path.join(pki, "prometheus.pem"), os.path.join(pki, "prometheus.key"))
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
                s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
                body = b""
                while chunk := s.recv(65536):
                    body += chunk
                cn = dict(x[0] for x in s.getpeercert()["subject"])["commonName"]
                return cn if b"metallb_k8s_client_config_loaded_bool" in body else None
    except (ssl.SSLError, OSError):
        return None


def test_prometheus_scrapes_over_mutual_tls_and_a_rotation_needs_no_restart(tmp_path, confdir,
                                                                              pki):
    assert os.path.exists(PROMETHEUS), "prometheus missing: run scripts/setup.sh"
    agent = tls_agent(tmp_path, confdir, pki).start()
    prom = None
    try:
        port = agent.metrics_port
        assert wait_for(lambda: served_cn(port, pki), what="HTTPS answers") == "ironlb-one"
        # Without a client certificate, or in plain HTTP, no metrics.
        assert served_cn(port, pki, client=False) is None
        with pytest.raises(Exception):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()

        prom_port = free_port()
        conf = {"global": {"scrape_interval": "1s"},
                "scrape_configs": [{
                    "job_name": "ironlb", "scheme": "https",
                    "tls_config": {"ca_file": os.path.join(pki, "ca.pem"),
                                   "cert_file": os.path.join(pki, "prometheus.pem"),
                                   "key_file": os.path.join(pki, "prometheus.key")},
                    "static_configs": [{"targets": [f"127.0.0.1:{port}"]}]}]}
        (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(conf))
        log = open(tmp_path / "prometheus.log", "wb")
        prom = subprocess.Popen([PROMETHEUS, f"--config.file={tmp_path / 'prometheus.yml'}",
                                 f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                                 f"--web.listen-address=127.0.0.1:{prom_port}"],
                                stdout=log, stderr=subprocess.STDOUT)

        def query(q):
            url = f"http://127.0.0.1:{prom_port}/api/v1/query?" + urllib.parse.urlencode({"query": q})
            with urllib.request.urlopen(url, timeout=5) as r:
                return json.loads(r.read())["data"]["result"]

        def value(q):
            res = query(q)
            return float(res[0]["value"][1]) if res else None

        wait_for(lambda: value("metallb_k8s_client_config_loaded_bool") == 1.0, timeout=60,
                 what="Prometheus to scrape over HTTPS")
        targets = json.loads(urllib.request.urlopen(
            f"http://127.0.0.1:{prom_port}/api/v1/targets", timeout=5).read())
        target = targets["data"]["activeTargets"][0]
        assert target["scrapeUrl"].startswith("https://") and target["health"] == "up", target

        # cert-manager's rotation: the new pair renamed into place; no restart.
        live = os.path.join(pki, "live")
        shutil.copy(os.path.join(pki, "server2.pem"), os.path.join(live, ".tls.crt.new"))
        shutil.copy(os.path.join(pki, "server2.key"), os.path.join(live, ".tls.key.new"))
        os.rename(os.path.join(live, ".tls.key.new"), os.path.join(live, "tls.key"))
        os.rename(os.path.join(live, ".tls.crt.new"), os.path.join(live, "tls.crt"))
        wait_for(lambda: served_cn(port, pki) == "ironlb-two", what="the new certificate served")
        n = value('count_over_time(up{job="ironlb"}[1h])')
        wait_for(lambda: value('count_over_time(up{job="ironlb"}[1h])') >= n + 3, timeout=30,
                 what="more scrapes after the rotation")
        assert value('min_over_time(up{job="ironlb"}[1h])') == 1.0, "a scrape failed"
        assert "reloaded" in agent.logs()
        assert agent.proc.poll() is None
    finally:
        if prom and prom.poll() is None:
            prom.terminate()
            prom.wait(20)
        agent.stop()


@pytest.mark.parametrize("cert,key,flag", [("missing.pem", "server.key", "--metrics-tls-cert"),
                                           ("server.pem", "server2.key", "--metrics-tls-key"),
                                           ("server.key", "server.key", "--metrics-tls-cert")])
def test_a_bad_certificate_stops_the_start_naming_the_file(tmp_path, confdir, pki, cert, key, flag):
    a = Agent(str(tmp_path), confdir, extra=[
        "--no-dataplane", "--no-bgp", "--metrics-tls-cert", os.path.join(pki, cert),
        "--metrics-tls-key", os.path.join(pki, key)])
    r = subprocess.run(a.cmd, capture_output=True, text=True, timeout=30)
    assert r.returncode == 1, r
    out = r.stdout + r.stderr
    assert f"{flag} {pki}" in out, out
    print(out.strip().splitlines()[-1])
