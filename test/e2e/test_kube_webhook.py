"""The controller's webhooks against the fake API server acting as kube-apiserver: the agent
makes the certificate, stores it in the Secret and patches its CA into the shipped
ValidatingWebhookConfiguration and the bgppeers CRD; the fake then calls the webhook over real
TLS verified with that caBundle for ironlb-webhook-service.ironlb-system.svc. A pool overlapping
another is refused with a message naming the object and the field, a good one is stored; a
BGPPeer round-trips v1beta2 -> v1beta1 -> v1beta2; a short-lived certificate (and its CA) is
renewed and the webhook keeps answering; both controller replicas serve the one certificate;
with no controller answering, failurePolicy Ignore admits the object; an operator's certificate
files are served and re-read, and then nothing is written."""
import base64
import json
import os
import ssl
import subprocess
import time
import urllib.error
import urllib.request

import pytest
import yaml

from lib.agent import SOURCE, Agent, free_port, wait_for
from lib.fake_apiserver import FakeApiServer, call_webhook, convert, write_kubeconfig

NS = "ironlb-system"
SERVICE = (NS, "ironlb-webhook-service")
VWC = ("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration", None,
       "ironlb-webhook-configuration")
CRD = ("apiextensions.k8s.io/v1", "CustomResourceDefinition", None, "bgppeers.metallb.io")


def shipped_objects():
    """The webhook configuration, the bgppeers CRD and the empty Secret as kube/ironlb.yaml ships
    them (kube/ironlb.yaml is kept equal to the kustomize base by test_kube_manifests)."""
    with open(os.path.join(SOURCE, "kube", "ironlb.yaml")) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    want = {("ValidatingWebhookConfiguration", "ironlb-webhook-configuration"),
            ("CustomResourceDefinition", "bgppeers.metallb.io"), ("Secret", "ironlb-webhook-cert")}
    got = [d for d in docs if (d["kind"], d["metadata"]["name"]) in want]
    assert len(got) == 3, [(d["kind"], d["metadata"]["name"]) for d in got]
    return got


def obj(api_version, kind, name, ns=None, **rest):
    meta = {"name": name}
    if ns:
        meta["namespace"] = ns
    return {"apiVersion": api_version, "kind": kind, "metadata": meta, **rest}


def pool(name, *addresses):
    return obj("metallb.io/v1beta1", "IPAddressPool", name, NS, spec={"addresses": list(addresses)})


def make_cert(directory, tag):
    """An operator's CA and serving certificate for the webhook Service (openssl CLI, as
    cert-manager would issue them). Returns (ca_pem, cert_path, key_path)."""
    d = os.path.join(directory, tag)
    os.makedirs(d, exist_ok=True)
    run = lambda *a: subprocess.run(a, check=True, capture_output=True)  # noqa: E731
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-nodes", "-keyout", f"{d}/ca.key", "-out", f"{d}/ca.crt", "-days", "1",
        "-subj", f"/CN=operator-ca-{tag}")
    run("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", f"{d}/tls.key", "-out", f"{d}/tls.csr", "-subj", "/CN=webhook")
    with open(f"{d}/san.ext", "w") as f:
        f.write("subjectAltName=DNS:ironlb-webhook-service.ironlb-system.svc\n")
    run("openssl", "x509", "-req", "-in", f"{d}/tls.csr", "-CA", f"{d}/ca.crt", "-CAkey",
        f"{d}/ca.key", "-CAcreateserial", "-out", f"{d}/tls.crt", "-days", "1",
        "-extfile", f"{d}/san.ext")
    with open(f"{d}/ca.crt") as f:
        return f.read(), f"{d}/tls.crt", f"{d}/tls.key"


class Cluster:
    def __init__(self, tmp_path, replicas=1, validity=None, extra=()):
        self.tmp = tmp_path
        self.api = FakeApiServer(tls_dir=str(tmp_path), token="token-1").start()
        self.api.webhook_endpoints = {}
        for o in (obj("v1", "Namespace", NS), pool("pool-a", "198.51.100.0/28"),
                  *shipped_objects()):
            self.api.apply(o)
        kubeconfig = write_kubeconfig(str(tmp_path / "kubeconfig"), self.api, token="token-1",
                                      ca_file=self.api.tls[0])
        self.agents, self.ports = [], []
        more = list(extra)
        for i in range(replicas):
            port = free_port()
            extra = ["--namespace", NS, "--no-dataplane", "--no-bgp", "--kube-qps", "0",
                     "--webhook-addr", f"127.0.0.1:{port}"]
            if validity:
                extra += ["--webhook-cert-validity", validity]
            a = Agent(str(tmp_path), None, node=f"node-{i}", role="controller",
                      extra=[*extra, *more])
            j = a.cmd.index("--config")
            a.cmd[j:j + 2] = ["--kubeconfig", kubeconfig]
            self.agents.append(a.start())
            self.ports.append(port)
        self.route_to(0)

    def wait_synced(self):
        """Until every agent is ready (informers synced): reviews before that see only part
        of the existing objects and carry a warning saying so."""
        def ready(a):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{a.metrics_port}/readyz",
                                            timeout=2) as r:
                    return r.status == 200
            except urllib.error.URLError:
                return False
        for a in self.agents:
            wait_for(lambda a=a: ready(a), what="agent ready")

    def route_to(self, i):
        self.api.webhook_endpoints[SERVICE] = ("127.0.0.1", self.ports[i])

    def ca_bundle(self):
        return self.api.get(*VWC)["webhooks"][0]["clientConfig"].get("caBundle", "")

    def wait_ready(self):
        """Until every webhook and the CRD carry the CA of the Secret's certificate."""
        def ready():
            vwc, crd = self.api.get(*VWC), self.api.get(*CRD)
            bundles = {w["clientConfig"].get("caBundle") for w in vwc["webhooks"]}
            bundles.add(crd["spec"]["conversion"]["webhook"]["clientConfig"].get("caBundle"))
            secret = self.api.get("v1", "Secret", NS, "ironlb-webhook-cert").get("data", {})
            return len(bundles) == 1 and None not in bundles and \
                bundles == {secret.get("ca.crt")} and bundles.pop()
        return wait_for(ready, timeout=30, what="caBundle patched from the Secret")

    def request(self, method, path, body):
        """A client of the fake API server (kubectl's part): returns (HTTP status, JSON)."""
        ctx = ssl.create_default_context(cafile=self.api.tls[0])
        req = urllib.request.Request(self.api.url + path, method=method,
                                     data=json.dumps(body).encode(),
                                     headers={"Authorization": "Bearer token-1",
                                              "Content-Type": "application/merge-patch+json"
                                              if method == "PATCH" else "application/json"})
        try:
            with urllib.request.urlopen(req, context=ctx, timeout=30) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def create_pool(self, p):
        return self.request("POST", f"/apis/metallb.io/v1beta1/namespaces/{NS}/ipaddresspools", p)

    def close(self):
        for a in self.agents:
            a.stop()
        self.api.stop()


@pytest.fixture
def cluster(tmp_path):
    c = Cluster(tmp_path)
    try:
        yield c
    finally:
        c.close()


def test_bad_pool_refused_naming_object_and_field_good_pool_stored(cluster):
    cluster.wait_ready()
    code, body = cluster.create_pool(pool("pool-b", "203.0.113.0/28", "198.51.100.8/29"))
    assert code == 403, body
    assert body["kind"] == "Status" and body["reason"] == "Forbidden", body
    msg = body["message"]
    assert msg.startswith('admission webhook "ipaddresspoolvalidationwebhook.metallb.io" denied '
                          'the request: IPAddressPool ironlb-system/pool-b: spec.addresses[1]: '), msg
    assert "pool-a" in msg, msg
    assert cluster.api.get("metallb.io/v1beta1", "IPAddressPool", NS, "pool-b") is None
    # A malformed address: the same words as `ironlbctl config show` would give.
    code, body = cluster.create_pool(pool("pool-c", "203.0.113.0/33"))
    assert code == 403 and "IPAddressPool ironlb-system/pool-c: spec.addresses[0]: " in \
        body["message"], body
    code, body = cluster.create_pool(pool("pool-b", "203.0.113.0/28"))
    assert code == 201, body
    assert cluster.api.get("metallb.io/v1beta1", "IPAddressPool", NS, "pool-b")
    # An update that makes pool-b overlap pool-a is refused too (merge patch, as kubectl edit).
    code, body = cluster.request(
        "PATCH", f"/apis/metallb.io/v1beta1/namespaces/{NS}/ipaddresspools/pool-b",
        {"spec": {"addresses": ["198.51.100.0/27"]}})
    assert code == 403 and "IPAddressPool ironlb-system/pool-b: spec.addresses[0]: " in \
        body["message"], body
    assert not getattr(cluster.api, "webhook_failures", []), cluster.api.webhook_failures
    # A delete is never reviewed for pools.
    code, body = cluster.request("DELETE", f"/apis/metallb.io/v1beta1/namespaces/{NS}/"
                                 "ipaddresspools/pool-b", {})
    assert code == 200, body


def test_bgppeer_round_trips_through_the_conversion_webhook(cluster):
    cluster.wait_ready()
    peer = cluster.api.apply(obj(
        "metallb.io/v1beta2", "BGPPeer", "router", NS,
        spec={"myASN": 64512, "peerASN": 64513, "peerAddress": "192.0.2.254", "vrf": "red",
              "keepaliveTime": "10s", "passwordSecret": {"name": "bgp", "namespace": NS},
              "nodeSelectors": [{"matchLabels": {"rack": "r1"}}]}))
    [v1] = convert(cluster.api, [peer], "metallb.io/v1beta1")
    assert v1["spec"]["peerAddress"] == "192.0.2.254" and "vrf" not in v1["spec"], v1
    assert v1["spec"]["nodeSelectors"] == [{"matchLabels": {"rack": "r1"}}], v1
    [back] = convert(cluster.api, [v1], "metallb.io/v1beta2")
    assert back == peer
    # An object written as v1beta1 gets MetalLB's defaults for the timers it lacks.
    old = obj("metallb.io/v1beta1", "BGPPeer", "old", NS,
              spec={"myASN": 64512, "peerASN": 64513, "peerAddress": "192.0.2.1"})
    [up] = convert(cluster.api, [old], "metallb.io/v1beta2")
    assert up["spec"]["holdTime"] == "0s" and up["spec"]["keepaliveTime"] == "0s", up


def served_cert(c, port):
    c.api.webhook_endpoints[SERVICE] = ("127.0.0.1", port)
    review = {"kind": "ConversionReview", "apiVersion": "apiextensions.k8s.io/v1",
              "request": {"uid": "u", "desiredAPIVersion": "metallb.io/v1beta2", "objects": []}}
    out, der = call_webhook(c.api, c.api.get(*CRD)["spec"]["conversion"]["webhook"]["clientConfig"],
                            review)
    assert out["response"]["result"]["status"] == "Success", out
    return der


def test_short_lived_certificate_and_ca_are_renewed(tmp_path):
    """6 s certificates: renewed with a third of their life left, from the same CA (caBundle
    unchanged); the CA (five lifetimes, 30 s) is renewed at 20 s with the old one kept in the
    bundle; every call in between verifies against the caBundle the API server holds."""
    c = Cluster(tmp_path, validity="6s")
    try:
        first_bundle = c.wait_ready()
        seen, bundles = [], {first_bundle}
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and not (len(seen) >= 4 and len(bundles) >= 2):
            der = served_cert(c, c.ports[0])
            if not seen or seen[-1] != der:
                seen.append(der)
            bundles.add(c.ca_bundle())
            time.sleep(0.3)
        assert len(seen) >= 4, f"{len(seen)} distinct certificates served in 40 s"
        assert len(bundles) >= 2, "the CA was not renewed"
        now = c.ca_bundle()
        cas = base64.b64decode(now).decode().count("BEGIN CERTIFICATE")
        assert cas == 2, f"the renewed bundle holds {cas} CA(s), not the new and the old one"
        logs = c.agents[0].logs()
        assert "renewing the webhook CA" in logs and "renewed the webhook certificate" in logs, logs
    finally:
        c.close()


def test_both_replicas_serve_the_one_certificate(tmp_path):
    c = Cluster(tmp_path, replicas=2)
    try:
        c.wait_ready()
        certs = [wait_for(lambda p=p: served_cert(c, p), what=f"webhook on {p}") for p in c.ports]
        assert certs[0] == certs[1]
        for i in range(2):
            c.route_to(i)
            code, body = c.create_pool(pool(f"bad-{i}", "198.51.100.0/30"))
            assert code == 403 and f"IPAddressPool ironlb-system/bad-{i}: spec.addresses[0]" in \
                body["message"], body
        # Only the Lease holder wrote the Secret.
        creators = [a for a in c.agents if "the webhook certificate in Secret" in a.logs()]
        assert len(creators) == 1, [a.logs() for a in c.agents]
    finally:
        c.close()


def test_no_controller_answering_never_blocks_the_cluster(cluster):
    cluster.wait_ready()
    cluster.agents[0].stop()
    code, body = cluster.create_pool(pool("pool-b", "198.51.100.0/30"))
    assert code == 201, body  # failurePolicy: Ignore
    assert cluster.api.webhook_failures, "the API server did not try the webhook"


def test_operators_certificate_is_served_and_reread_nothing_written(tmp_path):
    """--webhook-cert/--webhook-key (e.g. cert-manager's Secret mounted): served as they are,
    re-read when the files change; the agent writes no Secret and patches no caBundle (the
    operator's CA injector does; here the test plays it)."""
    ca1, crt, key = make_cert(str(tmp_path), "one")
    live_crt, live_key = str(tmp_path / "tls.crt"), str(tmp_path / "tls.key")
    for src, dst in ((crt, live_crt), (key, live_key)):
        with open(src, "rb") as f, open(dst, "wb") as g:
            g.write(f.read())
    c = Cluster(tmp_path, extra=("--webhook-cert", live_crt, "--webhook-key", live_key))
    try:
        def inject(ca_pem):
            b64 = base64.b64encode(ca_pem.encode()).decode()
            for what in (VWC, CRD):
                o = c.api.get(*what)
                hooks = o["webhooks"] if what is VWC else [o["spec"]["conversion"]["webhook"]]
                for h in hooks:
                    h["clientConfig"]["caBundle"] = b64
                c.api.apply(o)
        inject(ca1)
        c.wait_synced()
        first = wait_for(lambda: served_cert(c, c.ports[0]), what="the operator's certificate")
        code, body = c.create_pool(pool("bad", "198.51.100.0/30"))
        assert code == 403 and "IPAddressPool ironlb-system/bad: spec.addresses[0]" in \
            body["message"], body
        # A renewal by the operator: new files (and CA), picked up without a restart.
        ca2, crt2, key2 = make_cert(str(tmp_path), "two")
        for src, dst in ((key2, live_key), (crt2, live_crt)):
            with open(src, "rb") as f, open(dst, "wb") as g:
                g.write(f.read())
        inject(ca2)
        wait_for(lambda: served_cert(c, c.ports[0]) != first, what="the renewed files served")
        secret = c.api.get("v1", "Secret", NS, "ironlb-webhook-cert")
        assert not secret.get("data"), "the agent wrote the Secret"
        assert c.api.count("PATCH", "validatingwebhookconfigurations") == 0
        assert c.api.count("PATCH", "customresourcedefinitions") == 0
    finally:
        c.close()
