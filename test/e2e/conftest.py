"""Shared pytest settings for the end-to-end tests.

In CI (CI=true, set by .ci/run) a test that skips for want of a tool, a capability or a peer is a
failure: a broken scripts/setup.sh must never hide behind a green run. Elsewhere a skip stays a
skip, and scripts/test.sh reports how many there were.
"""
import os

import pytest


def pytest_configure(config):
    config.addinivalue_line("markers", "bench: a benchmark (numbers for docs/), run only with "
                                       "IRONLB_BENCH=1")


def pytest_collection_modifyitems(config, items):
    # Benchmarks are deselected, not skipped: they are measurements an operator asks for, not
    # tests a missing tool could hide.
    if os.environ.get("IRONLB_BENCH") or os.environ.get("IRONLB_BFD_BENCH"):
        return
    keep = [i for i in items if i.get_closest_marker("bench") is None]
    dropped = [i for i in items if i.get_closest_marker("bench") is not None]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not _in_ci() or not report.skipped:
        return
    # An expected failure (xfail) is reported as skipped too; it is a decision, not a missing tool.
    if hasattr(report, "wasxfail"):
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    report.outcome = "failed"
    report.longrepr = f"skipped under CI=true, which counts as a failure: {reason}"
