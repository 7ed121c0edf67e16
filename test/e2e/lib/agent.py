"""Start and stop ironlb-agent for end-to-end tests, and read its state.

Processes are ended by PID only; every path lives in a per-test temporary directory.
"""
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request

BIN = os.environ.get("IRONLB_BIN", os.path.join(os.path.dirname(__file__), "../../../build/bin"))
SOURCE = os.environ.get("IRONLB_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "../../.."))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(pred, timeout=20.0, what="condition"):
    """Polls pred() until it returns a truthy value; fails the test with `what` on timeout."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = pred()
            if last:
                return last
        except Exception as e:  # noqa: BLE001 - retried until the deadline
            last = e
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


class Agent:
    def __init__(self, workdir, config_dir, node="node-a", role="all", extra=(), netns=None):
        self.workdir = workdir
        self.config_dir = config_dir
        self.sock = os.path.join(workdir, f"agent-{node}.sock")
        self.metrics_port = free_port()
        self.log_path = os.path.join(workdir, f"agent-{node}.log")
        self.netns = netns
        self.cmd = [os.path.join(BIN, "ironlb-agent"), "--node", node, "--config", config_dir,
                    "--role", role, "--api-socket", self.sock,
                    "--metrics-addr", f"127.0.0.1:{self.metrics_port}", *extra]
        if netns:
            self.cmd = ["ip", "netns", "exec", netns, *self.cmd]
        self.proc = None

    def start(self):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.cmd, stdout=self.log, stderr=subprocess.STDOUT)
        wait_for(lambda: os.path.exists(self.sock) or self.proc.poll() is not None,
                 what="agent socket")
        assert self.proc.poll() is None, f"agent exited: {self.logs()}"
        return self

    def stop(self, sig=signal.SIGTERM, timeout=10):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log.close()
        return self.proc.returncode if self.proc else None

    def logs(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def ctl(self, *args, check=True):
        """Runs ironlbctl against this agent and returns the parsed JSON."""
        r = subprocess.run([os.path.join(BIN, "ironlbctl"), "--api-socket", self.sock, "-j", *args],
                           capture_output=True, text=True, timeout=30)
        if check and r.returncode not in (0, 3):
            raise AssertionError(f"ironlbctl {args} failed ({r.returncode}): {r.stderr}")
        return json.loads(r.stdout) if r.stdout.strip() else None

    def table(self, *args):
        """Runs ironlbctl for people (no -j) and returns what it printed."""
        return subprocess.run([os.path.join(BIN, "ironlbctl"), "--api-socket", self.sock, *args],
                              capture_output=True, text=True, timeout=30).stdout

    def metrics(self):
        """The Prometheus text the agent serves (from inside its namespace, if it has one)."""
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        if self.netns:
            return subprocess.run(["ip", "netns", "exec", self.netns, "curl", "-s", url],
                                  capture_output=True, text=True, timeout=10).stdout
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.read().decode()


def write_atomic(path, text):
    """Writes a config file the way an editor or kubectl would leave it: whole, by rename."""
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.rename(path + ".tmp", path)


def read_status(config_dir):
    """Map ns/name -> status JSON, as the controller wrote it under status/."""
    out = {}
    d = os.path.join(config_dir, "status")
    if not os.path.isdir(d):
        return out
    for f in os.listdir(d):
        if f.endswith(".json") and not f.startswith("."):
            with open(os.path.join(d, f)) as fh:
                s = json.load(fh)
            out[f"{s['service']['namespace']}/{s['service']['name']}"] = s
    return out


def ips(status):
    return [i["ip"] for i in status.get("ingress", [])]
