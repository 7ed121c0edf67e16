#!/usr/bin/python3
"""The demo's clients, run inside the lab's client namespaces (scripts/demo.sh).

  lab_client.py http VIP PORT N       N new connections, one GET each: a table of which endpoint
                                      (and node) answered and the client address it saw
  lab_client.py udp VIP PORT N        the same with N datagrams, each from a fresh socket
  lab_client.py hold VIP PORT N FILE  opens N connections to the echo port and keeps them open,
                                      sending a line on each every 100 ms; writes the tally to
                                      FILE (JSON, replaced whole) until SIGTERM
  lab_client.py held FILE             prints that tally as a table
  lab_client.py ingress STATE VIP CTL NODE=BPFFS...
                                      packets each node's XDP took in for VIP (from its pinned
                                      maps, with ironlbctl CTL; works with the agent dead) since
                                      the last call with the same STATE file
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time


def family(vip):
    return socket.AF_INET6 if ":" in vip else socket.AF_INET


def node_of(pod):
    return "node-" + pod.split("-")[1][0] if pod.startswith("pod-") else "?"


def table(rows, head):
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
    line = lambda r: "  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip()
    print(line(head))
    print(line(["-" * w for w in widths]))
    for r in rows:
        print(line(r))


def tally(answers, n):
    """answers: list of 'pod-x1 answered ADDR:PORT' or None."""
    counts = {}
    for a in answers:
        if a is None:
            key = ("(no answer)", "", "")
        else:
            pod, _, seen = a.split()[:3]
            key = (pod, node_of(pod), seen.rsplit(":", 1)[0])
        counts[key] = counts.get(key, 0) + 1
    rows = [list(k) + [c] for k, c in sorted(counts.items())]
    table(rows, ["endpoint", "its node", "client address it saw", "answers"])
    failed = counts.get(("(no answer)", "", ""), 0)
    print(f"{n} sent, {n - failed} answered, {failed} failed")


def http(vip, port, n):
    answers = []
    for _ in range(n):
        try:
            with socket.socket(family(vip), socket.SOCK_STREAM) as s:
                s.settimeout(2)
                s.connect((vip, port))
                s.sendall(f"GET / HTTP/1.0\r\nHost: {vip}\r\n\r\n".encode())
                data = b""
                while chunk := s.recv(4096):
                    data += chunk
                answers.append(data.decode().split("\r\n\r\n", 1)[1].strip())
        except (OSError, IndexError):
            answers.append(None)
    tally(answers, n)


def udp(vip, port, n):
    answers = []
    for _ in range(n):
        with socket.socket(family(vip), socket.SOCK_DGRAM) as s:
            s.settimeout(2)
            try:
                s.sendto(b"q", (vip, port))
                d, peer = s.recvfrom(2048)
                answers.append(d.decode().strip() if peer[0] == vip else None)
            except OSError:
                answers.append(None)
    tally(answers, n)


def hold(vip, port, n, out):
    conns = []
    for _ in range(n):
        s = socket.socket(family(vip), socket.SOCK_STREAM)
        s.settimeout(5)  # TCP's own retransmissions ride out a failover well within this
        s.connect((vip, port))
        f = s.makefile("rb")
        pod, _, seen = f.readline().decode().split()[:3]
        conns.append({"s": s, "f": f, "pod": pod, "seen": seen, "local": s.getsockname()[1],
                      "ok": 0, "failed": 0, "dead": False, "last_ok": 0.0})
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    seq = 0
    while not stop:
        seq += 1
        for c in conns:
            if c["dead"]:
                continue
            try:
                c["s"].sendall(f"ping {seq}\n".encode())
                if c["f"].readline().decode().split() == [c["pod"], "ping", str(seq)]:
                    c["ok"] += 1
                    c["last_ok"] = time.time()
                else:
                    c["failed"] += 1
            except OSError:  # a timeout too: the stream is out of step, a real client gives up
                c["failed"] += 1
                c["dead"] = True
        doc = [{k: v for k, v in c.items() if k not in ("s", "f")} for c in conns]
        with open(out + ".tmp", "w") as fh:
            json.dump({"vip": vip, "port": port, "at": time.time(), "conns": doc}, fh)
        os.rename(out + ".tmp", out)
        time.sleep(0.1)


def held(path):
    with open(path) as fh:
        doc = json.load(fh)
    rows = []
    now = doc["at"]
    for c in doc["conns"]:
        state = "dead" if c["dead"] else ("answering" if now - c["last_ok"] < 1 else "silent")
        rows.append([c["local"], c["pod"], node_of(c["pod"]), c["seen"].rsplit(":", 1)[0],
                     c["ok"], c["failed"], state])
    vip = f"[{doc['vip']}]" if ":" in doc["vip"] else doc["vip"]
    print(f"held connections to {vip}:{doc['port']}")
    table(rows, ["client port", "endpoint", "its node", "client address it saw", "echoes ok",
                 "failed", "now"])


def ingress(state, vip, ctl, nodes):
    now = {}
    for spec in nodes:
        node, bpffs = spec.split("=", 1)
        r = subprocess.run([ctl, "--bpffs", bpffs, "-j", "stats"], capture_output=True, text=True)
        doc = json.loads(r.stdout) if r.returncode == 0 and r.stdout.strip() else {"vips": []}
        now[node] = sum(v["stats"]["packets"] for v in doc.get("vips", [])
                        if v["service"].startswith((vip + ":", f"[{vip}]:")))
    if os.path.exists(state):
        with open(state) as fh:
            before = json.load(fh)
        rows = [[n, now[n] - before.get(n, 0)] for n in sorted(now)]
        print(f"packets for {vip} taken in by each node's XDP (router's ECMP / L2 owner):")
        table(rows, ["node", "packets"])
    with open(state, "w") as fh:
        json.dump(now, fh)


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "http":
        http(args[0], int(args[1]), int(args[2]))
    elif cmd == "udp":
        udp(args[0], int(args[1]), int(args[2]))
    elif cmd == "hold":
        hold(args[0], int(args[1]), int(args[2]), args[3])
    elif cmd == "held":
        held(args[0])
    elif cmd == "ingress":
        ingress(args[0], args[1], args[2], args[3:])
    else:
        sys.exit(__doc__)
