"""`ironlbctl convert FILE` turns MetalLB's legacy ConfigMaps into the same metallb.io objects as
MetalLB's own converter (configmaptocrs), whose output stands beside each fixture as *.expected.yaml."""
import glob
import os
import subprocess

import pytest
import yaml

from lib.agent import BIN

FIXTURES = os.environ.get("IRONLB_FIXTURES_DIR",
                          os.path.join(os.path.dirname(__file__), "../../../shared/fixtures"))
LEGACY = sorted(f for f in glob.glob(os.path.join(FIXTURES, "metallb/legacy/*.yaml"))
                if not f.endswith(".expected.yaml"))
WITH_EXPECTED = [f for f in LEGACY if os.path.exists(f[:-5] + ".expected.yaml")]


class Yaml12Loader(yaml.SafeLoader):
    """PyYAML implements YAML 1.1, where 64512:1 is a base-60 integer; Kubernetes and MetalLB read
    YAML 1.2 (a string). Drop the sexagesimal rule so both sides read communities as strings."""


Yaml12Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag not in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
        or not rx.match("1:0")]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.copy().items()}


def objects(text):
    out = {}
    for doc in yaml.load_all(text, Loader=Yaml12Loader):
        if not doc or not str(doc.get("apiVersion", "")).startswith("metallb.io/"):
            continue
        meta = doc.get("metadata", {})
        spec = doc.get("spec") or {}
        out[(doc["kind"], meta.get("namespace"), meta["name"])] = spec
    return out


def header(path, key):
    with open(path) as f:
        for line in f:
            if not line.startswith("#"):
                break
            if line.startswith(f"# {key}:"):
                return line.split(":", 1)[1].strip()
    return None


def expect(path):
    """accept or reject. A file v0.12.1 rejected but today's configmaptocrs converts (its header
    says so) is converted, as the current converter does."""
    h = header(path, "expect") or ""
    if h.startswith("reject") and "converts it anyway" not in h:
        return "reject"
    return "accept" if h.startswith(("accept", "reject")) else None


def convert(path):
    return subprocess.run([os.path.join(BIN, "ironlbctl"), "convert", path], capture_output=True,
                          text=True, timeout=30)


def test_found_the_fixtures():
    assert len(LEGACY) >= 20, LEGACY
    assert len(WITH_EXPECTED) >= 10, WITH_EXPECTED
    assert all(expect(f) in ("accept", "reject") for f in LEGACY)


@pytest.mark.parametrize("path", LEGACY, ids=os.path.basename)
def test_every_legacy_file_converts_or_is_rejected_clearly(path):
    r = convert(path)
    if expect(path) == "reject":
        assert r.returncode != 0, r.stdout
        assert os.path.basename(path) in r.stderr, r.stderr  # the error names the file
    else:
        assert r.returncode == 0, r.stderr
        assert objects(r.stdout), f"no metallb.io objects in the output:\n{r.stdout}"


@pytest.mark.parametrize("path", WITH_EXPECTED, ids=os.path.basename)
def test_convert_matches_metallb_converter(path):
    r = convert(path)
    assert r.returncode == 0, r.stderr
    # MetalLB's converter writes defaults out (autoAssign: true, peerPort: 179, ...) where ours
    # leaves them implicit: compare both in canonical form, i.e. read back by ironlbctl itself.
    canon_expected = convert(path[:-5] + ".expected.yaml")
    assert canon_expected.returncode == 0, canon_expected.stderr
    expected = objects(canon_expected.stdout)
    got = objects(r.stdout)
    assert sorted(got) == sorted(expected)
    for key in expected:
        assert got[key] == expected[key], key
