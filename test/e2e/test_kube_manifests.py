"""The deployment in kube/: the rendered ironlb.yaml is what `kubectl kustomize` makes of the
base, every overlay renders and every object parses, the CRDs accept MetalLB's objects as they
are, RBAC covers exactly what the informers and writers use, and the Containerfile and the
manifests only name binaries, flags and libraries the build really has."""
import json
import os
import re
import subprocess

import pytest
import yaml

from lib.agent import BIN, SOURCE

KUBE = os.path.join(SOURCE, "kube")
FIXTURES = os.environ.get("IRONLB_FIXTURES_DIR", os.path.join(SOURCE, "../shared/fixtures"))
METALLB_KINDS = {"IPAddressPool": ["v1beta1"], "L2Advertisement": ["v1beta1"],
                 "BGPAdvertisement": ["v1beta1"], "BGPPeer": ["v1beta1", "v1beta2"],
                 "BFDProfile": ["v1beta1"], "Community": ["v1beta1"]}
# MetalLB's status kinds, written by the agents (kube/status_objects.h).
STATUS_KINDS = {"ServiceL2Status": ["v1beta1"], "ServiceBGPStatus": ["v1beta1"],
                "ConfigurationState": ["v1beta1"]}


def render(path):
    r = subprocess.run(["kubectl", "kustomize", path], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout


def docs(text):
    return [d for d in yaml.safe_load_all(text) if d]


def test_rendered_manifest_is_in_sync_with_the_base():
    with open(os.path.join(KUBE, "ironlb.yaml")) as f:
        assert f.read() == render(os.path.join(KUBE, "deploy/base")), \
            "kube/ironlb.yaml is stale: kubectl kustomize kube/deploy/base > kube/ironlb.yaml"


@pytest.mark.parametrize("overlay", ["base", "overlays/l2", "overlays/bgp"])
def test_every_object_parses(overlay):
    objs = docs(render(os.path.join(KUBE, "deploy", overlay)))
    kinds = {o["kind"] for o in objs}
    assert {"CustomResourceDefinition", "Namespace", "Deployment", "DaemonSet", "ServiceAccount",
            "ClusterRole", "Role", "Service"} <= kinds
    for o in objs:
        assert o.get("apiVersion") and o["metadata"].get("name"), o
    ds = next(o for o in objs if o["kind"] == "DaemonSet")
    args = ds["spec"]["template"]["spec"]["containers"][0]["args"]
    assert ("--no-bgp" in args) == (overlay == "overlays/l2")
    # Kubelet probes the agent's health endpoints, on the metrics port.
    for o in objs:
        if o["kind"] not in ("Deployment", "DaemonSet"):
            continue
        c = o["spec"]["template"]["spec"]["containers"][0]
        assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}, o
        assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}, o
        assert {"name": "metrics", "containerPort": 7472} in c["ports"], c["ports"]


def test_monitoring_renders_rules_monitor_and_dashboard():
    objs = docs(render(os.path.join(KUBE, "deploy", "monitoring")))
    assert {o["kind"] for o in objs} == {"PrometheusRule", "ServiceMonitor", "ConfigMap"}
    cm = next(o for o in objs if o["kind"] == "ConfigMap")
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(cm["data"]["grafana-dashboard.json"])["uid"] == "ironlb-overview"


def crds():
    return {o["spec"]["names"]["kind"]: o for o in docs(render(os.path.join(KUBE, "deploy/base")))
            if o["kind"] == "CustomResourceDefinition"}


def test_crds_serve_metallb_kinds_and_versions():
    got = crds()
    assert set(got) == set(METALLB_KINDS) | set(STATUS_KINDS)
    for kind, versions in {**METALLB_KINDS, **STATUS_KINDS}.items():
        spec = got[kind]["spec"]
        assert spec["group"] == "metallb.io" and spec["scope"] == "Namespaced"
        assert [v["name"] for v in spec["versions"] if v["served"]] == versions
        assert sum(v["storage"] for v in spec["versions"]) == 1


def check_against_schema(value, schema, path):
    """Fails on a field the schema does not have (the API server would prune it) or a type it
    would reject."""
    t = schema.get("type")
    if t == "object":
        assert isinstance(value, dict), f"{path}: expected an object"
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        for k, v in value.items():
            if props is not None and k in props:
                check_against_schema(v, props[k], f"{path}.{k}")
            elif extra:
                check_against_schema(v, extra, f"{path}.{k}")
            elif props is not None and path.count(".") >= 1:
                pytest.fail(f"{path}.{k}: not in the CRD schema")
    elif t == "array":
        assert isinstance(value, list), f"{path}: expected a list"
        for i, v in enumerate(value):
            check_against_schema(v, schema["items"], f"{path}[{i}]")
    elif t == "string":
        assert isinstance(value, str), f"{path}: expected a string"
    elif t == "integer":
        assert isinstance(value, int) and not isinstance(value, bool), f"{path}: expected an integer"
    elif t == "boolean":
        assert isinstance(value, bool), f"{path}: expected a boolean"


def metallb_objects():
    out = []
    for f in sorted(os.listdir(os.path.join(SOURCE, "examples"))):
        if f.endswith(".yaml"):
            with open(os.path.join(SOURCE, "examples", f)) as fh:
                out += [(f, d) for d in yaml.safe_load_all(fh) if d and
                        str(d.get("apiVersion", "")).startswith("metallb.io/")]
    req = os.path.join(FIXTURES, "kube/requests/09_ipaddresspool_pool_a.request.json")
    with open(req) as fh:
        out.append((req, yaml.safe_load(fh)))
    return out


def test_metallb_objects_apply_unchanged():
    objs = metallb_objects()
    assert len(objs) >= 4, "no metallb.io objects found to check"
    got = crds()
    for where, o in objs:
        version = o["apiVersion"].split("/")[1]
        v = next((v for v in got[o["kind"]]["spec"]["versions"] if v["name"] == version), None)
        assert v and v["served"], f"{where}: {o['kind']} {version} not served"
        check_against_schema(o, v["schema"]["openAPIV3Schema"], o["kind"])


def rules_of(objs, kind, name):
    r = next(o for o in objs if o["kind"] == kind and o["metadata"]["name"] == name)
    return {(g, res, verb) for rule in r["rules"] for g in rule["apiGroups"]
            for res in rule["resources"] for verb in rule["verbs"]}


def test_rbac_is_what_the_code_uses():
    objs = docs(render(os.path.join(KUBE, "deploy/base")))
    with open(os.path.join(KUBE, "kube_store.cpp")) as f:
        src = f.read()
    # Every informer's resource is listed and watched by both roles, nothing more is read.
    watched = set()
    for gv, kind, path in re.findall(r'\{"([^"]+)", "(\w+)",\s*([^}]+)\}', src):
        group = gv.split("/")[0] if "/" in gv else ""
        watched.add((group, re.findall(r'([a-z0-9]+)"\s*$', path.strip())[0]))
    assert len(watched) == 11, watched
    for role in ("controller", "speaker"):
        allowed = rules_of(objs, "ClusterRole", f"ironlb:{role}") | rules_of(objs, "Role", role)
        for group, plural in watched:
            assert (group, plural, "list") in allowed and (group, plural, "watch") in allowed, \
                (role, group, plural)
        assert ("", "events", "create") in allowed
    controller = rules_of(objs, "ClusterRole", "ironlb:controller") | rules_of(objs, "Role", "controller")
    assert {a for a in controller if a[2] not in ("list", "watch")} == {
        ("", "services", "patch"), ("", "services/status", "patch"), ("", "events", "create"),
        ("", "secrets", "create"),
        ("coordination.k8s.io", "leases", "create"), ("coordination.k8s.io", "leases", "get"),
        ("coordination.k8s.io", "leases", "update"),
        # The webhook certificate and caBundles (kube/webhook.cpp), each limited by name below.
        ("", "secrets", "get"), ("", "secrets", "update"),
        ("admissionregistration.k8s.io", "validatingwebhookconfigurations", "get"),
        ("admissionregistration.k8s.io", "validatingwebhookconfigurations", "patch"),
        ("apiextensions.k8s.io", "customresourcedefinitions", "get"),
        ("apiextensions.k8s.io", "customresourcedefinitions", "patch")}
    by_name = {(g, res, verb): rule.get("resourceNames") for o in objs
               if o["kind"] in ("ClusterRole", "Role") and o["metadata"]["name"] in
               ("ironlb:controller", "controller") for rule in o["rules"]
               for g in rule["apiGroups"] for res in rule["resources"] for verb in rule["verbs"]}
    assert by_name[("", "secrets", "update")] == ["ironlb-webhook-cert"]
    assert by_name[("admissionregistration.k8s.io", "validatingwebhookconfigurations", "patch")] \
        == ["ironlb-webhook-configuration"]
    assert by_name[("apiextensions.k8s.io", "customresourcedefinitions", "patch")] == \
        ["bgppeers.metallb.io"]
    speaker = rules_of(objs, "ClusterRole", "ironlb:speaker") | rules_of(objs, "Role", "speaker")
    assert {a for a in speaker if a[2] not in ("list", "watch")} == {("", "events", "create")}


def containerfile():
    with open(os.path.join(KUBE, "Containerfile")) as f:
        return f.read().replace("\\\n", " ")


def test_containerfile_copies_only_what_exists():
    text = containerfile()
    installed = {}
    for line in text.splitlines():
        m = re.match(r"COPY --from=build (\S+) (\S+)", line)
        if m:
            assert m.group(1).startswith("/build/bin/"), line
            binary = os.path.basename(m.group(1))
            assert os.access(os.path.join(BIN, binary), os.X_OK), f"{binary} is not built"
            installed[m.group(2)] = binary
            continue
        m = re.match(r"COPY (\S+) (\S+)", line)
        if m:
            assert os.path.exists(os.path.join(SOURCE, m.group(1))), line
    assert set(installed) == {"/usr/bin/ironlb-agent", "/usr/bin/ironlbctl"}
    # Every command the manifests run is installed, and every flag it passes exists.
    help_text = subprocess.run([os.path.join(BIN, "ironlb-agent"), "--help"], capture_output=True,
                               text=True, timeout=10).stdout
    for overlay in ("base", "overlays/l2", "overlays/bgp"):
        for o in docs(render(os.path.join(KUBE, "deploy", overlay))):
            if o["kind"] not in ("Deployment", "DaemonSet"):
                continue
            for c in o["spec"]["template"]["spec"]["containers"]:
                assert c["command"][0] in installed, c["command"]
                for a in c.get("args", []):
                    flag = a.split("=")[0]
                    assert re.search(rf"^\s+{re.escape(flag)}\b", help_text, re.M), \
                        f"{o['metadata']['name']}: {flag} is not a flag of ironlb-agent"
                # And the agent parses them as written (--help last: everything before it is read).
                r = subprocess.run([os.path.join(BIN, "ironlb-agent"), *c.get("args", []), "--help"],
                                   capture_output=True, text=True, timeout=10)
                assert r.returncode == 0, (o["metadata"]["name"], r.stderr)


def package_of(path):
    """The Debian package owning a library, whichever of /lib and /usr/lib dpkg recorded."""
    candidates = []
    for p in (path, os.path.realpath(path)):
        candidates += [p, p.replace("/usr/lib/", "/lib/"), p.replace("/lib/", "/usr/lib/", 1)]
    for c in candidates:
        r = subprocess.run(["dpkg", "-S", c], capture_output=True, text=True)
        if r.returncode == 0:
            return r.stdout.split(":")[0]
    return None


def test_runtime_stage_has_every_library_the_agent_links():
    m = re.search(r"FROM debian:bookworm-slim.*?apt-get install -y --no-install-recommends(.*?)&&",
                  containerfile(), re.S)
    packages = set(m.group(1).split())
    ldd = subprocess.run(["ldd", os.path.join(BIN, "ironlb-agent")], capture_output=True, text=True,
                         check=True).stdout
    needed = set()
    for line in ldd.splitlines():
        lib = re.search(r"=> (\S+)", line)
        if not lib or re.search(r"lib(asan|ubsan|c|m|stdc\+\+|gcc_s)\.so", lib.group(1)):
            continue  # the sanitizer runtime of test builds, and what every Debian image has
        owner = package_of(lib.group(1))
        assert owner, f"no Debian package owns {lib.group(1)}"
        needed.add(owner)
    assert needed and needed <= packages, f"missing from the runtime stage: {needed - packages}"


def test_status_kinds_rbac_and_schema():
    """The status writer's verbs and nothing more (kube/kube_store.cpp ExecuteStatusWrite: POST,
    PATCH of the object and of /status, DELETE; informers list+watch); the objects it writes
    (shaped as kube/status_objects.cpp makes them) pass the CRDs' schemas."""
    objs = docs(render(os.path.join(KUBE, "deploy/base")))
    speaker = rules_of(objs, "Role", "speaker-status")
    controller = rules_of(objs, "Role", "controller-status")
    g = "metallb.io"
    per_service = {(g, p, v) for p in ("servicel2statuses", "servicebgpstatuses")
                   for v in ("list", "watch", "create", "patch", "delete")}
    config = {(g, "configurationstates", v) for v in ("list", "watch", "create", "patch")}
    status = {(g, f"{p}/status", "patch") for p in ("servicel2statuses", "servicebgpstatuses",
                                                    "configurationstates")}
    assert speaker == per_service | config | status
    assert controller == config | {(g, "configurationstates/status", "patch")}
    bindings = {o["metadata"]["name"]: o["subjects"][0]["name"] for o in objs
                if o["kind"] == "RoleBinding"}
    assert bindings["speaker-status"] == "speaker" and bindings["controller-status"] == "controller"
    for kind in ("Deployment", "DaemonSet"):
        o = next(o for o in objs if o["kind"] == kind)
        env = {e["name"]: e.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")
               for e in o["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert env["IRONLB_POD_NAME"] == "metadata.name" and env["IRONLB_POD_UID"] == "metadata.uid"
    got = crds()
    samples = [
        {"apiVersion": "metallb.io/v1beta1", "kind": "ServiceL2Status",
         "metadata": {"generateName": "l2-", "namespace": "ironlb-system"}, "spec": {},
         "status": {"node": "node-a", "serviceName": "web", "serviceNamespace": "demo",
                    "interfaces": [{"name": "eth0"}]}},
        {"apiVersion": "metallb.io/v1beta1", "kind": "ServiceBGPStatus",
         "metadata": {"generateName": "bgp-", "namespace": "ironlb-system"},
         "status": {"node": "node-a", "serviceName": "web", "serviceNamespace": "demo",
                    "peers": ["router"]}},
        {"apiVersion": "metallb.io/v1beta1", "kind": "ConfigurationState",
         "metadata": {"name": "speaker-node-a", "namespace": "ironlb-system"},
         "status": {"result": "Invalid", "errorSummary": "IPAddressPool ironlb-system/p: ...",
                    "conditions": [{"type": "configReconcilerValid", "status": "False",
                                    "reason": "ConfigurationError", "message": "...",
                                    "lastTransitionTime": "2026-12-03T13:00:00Z"}]}},
    ]
    for o in samples:
        v = got[o["kind"]]["spec"]["versions"][0]
        assert v["subresources"] == {"status": {}}, o["kind"]
        check_against_schema(o, v["schema"]["openAPIV3Schema"], o["kind"])
