#!/usr/bin/python3
"""Prints what ran and what skipped, by ctest label, after scripts/test.sh's ctest run.

ctest counts a pytest file as one test and a skip inside it as a pass, so the counts come from
each test's own output: pytest's closing line and GoogleTest's [  SKIPPED ] marker.
usage: test_summary.py BUILD_DIR JUNIT_XML
"""
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict

PYTEST_COUNT = re.compile(r"(\d+) (passed|failed|skipped|error|errors|xfailed|xpassed|deselected)")


def labels_by_test(build_dir):
    out = subprocess.run(["ctest", "--show-only=json-v1"], cwd=build_dir, check=True,
                         capture_output=True, text=True).stdout
    labels = {}
    for t in json.loads(out).get("tests", []):
        names = []
        for p in t.get("properties", []):
            if p.get("name") == "LABELS":
                names = p.get("value") or []
        labels[t["name"]] = names or ["(none)"]
    return labels


def main():
    build_dir, junit = sys.argv[1], sys.argv[2]
    labels = labels_by_test(build_dir)
    # label -> counters; "cases" are the tests inside a pytest file or the gtest case itself.
    rows = defaultdict(lambda: defaultdict(int))
    skipped_names = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        name = case.get("name")
        status = case.get("status", "run")
        out = "".join(e.text or "" for e in case.iter("system-out"))
        failed = case.find("failure") is not None or status == "fail"
        skipped = case.find("skipped") is not None or status in ("notrun", "disabled")
        counts = {}
        tail = out.strip().splitlines()[-1:] if out.strip() else []
        if tail and (" in " in tail[0]) and PYTEST_COUNT.search(tail[0]):
            for n, what in PYTEST_COUNT.findall(tail[0]):
                counts[what.rstrip("s") if what.startswith("error") else what] = int(n)
        elif "[  SKIPPED ]" in out:
            counts = {"skipped": 1}
        else:
            counts = {"failed": 1} if failed else ({"skipped": 1} if skipped else {"passed": 1})
        if counts.get("skipped"):
            skipped_names.append(name)
        for label in labels.get(name, ["(none)"]):
            r = rows[label]
            r["entries"] += 1
            for k in ("passed", "failed", "skipped", "error"):
                r[k] += counts.get(k, 0)
    print(f"{'label':<8} {'ctest entries':>13} {'passed':>7} {'failed':>7} {'errors':>7} {'skipped':>8}")
    for label in sorted(rows):
        r = rows[label]
        print(f"{label:<8} {r['entries']:>13} {r['passed']:>7} {r['failed']:>7} {r['error']:>7} "
              f"{r['skipped']:>8}")
    if skipped_names:
        print("with skips:", ", ".join(sorted(skipped_names)))


if __name__ == "__main__":
    main()
