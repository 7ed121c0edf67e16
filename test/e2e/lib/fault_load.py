"""A steady client load for the fault suite, run inside the client's namespace: for each target
VIP:port, a stream of new TCP connections (one echo each) and a few held connections that echo a
line every 100 ms (each its own thread). Controlled over stdin/stdout, one JSON line per command:

  reset          closes the held connections and opens fresh ones (replies with their endpoints)
  report T       counts since monotonic time T: new connections sent/failed (first and last
                 failure), held connections lost or misrouted and their longest stall
  quit

Every answer is checked: the greeting must name the client's own address (preserved) and the
echo must come back unchanged from the endpoint that greeted (nothing misrouted).
"""

LOAD = r'''
import json, socket, sys, threading, time

targets = [(t.split(":")[0], int(t.split(":")[1])) for t in sys.argv[1].split(",")]
client_ip, held_per_target = sys.argv[2], int(sys.argv[3])
lock = threading.Lock()
new_events = {t: [] for t in targets}    # (time, ok, why, client port, step)
held = {t: [] for t in targets}          # dicts: pod, sock, file, dead_at, bad, stalls
stop = threading.Event()


def greet(f):
    line = f.readline().decode().split()
    if len(line) != 2:
        raise OSError("no greeting")
    return line


def new_conns(t):
    while not stop.is_set():
        start = time.monotonic()
        ok, why, port, stage = True, "", 0, "connect"
        try:
            with socket.socket() as s:
                s.settimeout(1)
                s.bind((client_ip, 0))
                port = s.getsockname()[1]
                s.connect(t)
                stage = "greeting"
                f = s.makefile("rb")
                pod, seen = greet(f)
                stage = "echo"
                s.sendall(b"x\n")
                if f.readline() != b"x\n":
                    ok, why = False, "echo"
                elif seen != client_ip:
                    ok, why = False, f"client address {seen}"
        except OSError as e:
            ok, why = False, type(e).__name__
        with lock:
            new_events[t].append((start, ok, why, port, stage))
        time.sleep(max(0.0, 0.04 - (time.monotonic() - start)))


def open_held(t):
    out = []
    for _ in range(held_per_target):
        s = socket.create_connection(t, timeout=5)
        f = s.makefile("rb")
        pod, seen = greet(f)
        # Patient as a real client: TCP's own backoff after a 3 s outage resends at 6.2 s.
        s.settimeout(15)
        out.append({"pod": pod, "port": s.getsockname()[1], "sock": s, "file": f,
                    "dead_at": None, "bad": 0,
                    "last_ok": time.monotonic(), "stalls": [], "closed": False})
    return out


def ping_held(c):
    """One thread per held connection, so that one stalled connection delays no other."""
    seq = 0
    while not stop.is_set() and not c["closed"]:
        seq += 1
        try:
            c["sock"].sendall(f"{seq}\n".encode())
            if c["file"].readline() != f"{seq}\n".encode():
                c["bad"] += 1
                raise OSError("misrouted or short echo")
            now = time.monotonic()
            with lock:
                c["stalls"].append((c["last_ok"], now - c["last_ok"]))
            c["last_ok"] = now
        except (OSError, ValueError):
            if not c["closed"]:
                c["dead_at"] = time.monotonic()
            return
        time.sleep(0.1)


def report(since):
    out = {}
    with lock:
        for t in targets:
            ev = [e for e in new_events[t] if e[0] >= since]
            fails = [e for e in ev if not e[1]]
            hs = held[t]
            out[f"{t[0]}:{t[1]}"] = {
                "sent": len(ev), "failed": len(fails),
                "first_fail": min((e[0] - since for e in fails), default=None),
                "last_fail": max((e[0] - since for e in fails), default=None),
                "why": sorted({e[2] for e in fails}),
                # each failure: when (since `since`), the client port, the step it failed at
                # and the wall clock, to find it in a capture
                "fails": [(round(e[0] - since, 3), e[3], e[4], e[2],
                           round(time.time() - time.monotonic() + e[0], 3)) for e in fails][:50],
                # service is back: the first connection that answered after the last failure
                "back_at": min((e[0] - since for e in ev if e[1] and fails and e[0] > fails[-1][0]),
                               default=None),
                "held": len(hs), "held_pods": [c["pod"] for c in hs],
                "held_lost": [c["pod"] for c in hs if c["dead_at"] is not None],
                # the client ports, to find each held flow in the nodes' conntrack
                "held_ports": [c["port"] for c in hs],
                "held_lost_ports": [c["port"] for c in hs if c["dead_at"] is not None],
                "held_bad": sum(c["bad"] for c in hs),
                # the longest wait for an echo that did come back, since `since`
                "held_max_stall": max((d for c in hs for (t0, d) in c["stalls"] if t0 + d >= since),
                                      default=0.0),
            }
    return out


def reset():
    with lock:
        for t in targets:
            for c in held[t]:
                c["closed"] = True
                try:
                    c["sock"].shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                c["sock"].close()
            held[t] = []
    fresh = {t: open_held(t) for t in targets}
    with lock:
        held.update(fresh)
    for t in targets:
        for c in fresh[t]:
            threading.Thread(target=ping_held, args=(c,), daemon=True).start()
    return {f"{t[0]}:{t[1]}": [c["pod"] for c in fresh[t]] for t in targets}


for t in targets:
    threading.Thread(target=new_conns, args=(t,), daemon=True).start()
print(json.dumps({"ready": True}), flush=True)
for line in sys.stdin:
    cmd = line.split()
    try:
        if cmd[0] == "reset":
            print(json.dumps(reset()), flush=True)
        elif cmd[0] == "report":
            print(json.dumps(report(float(cmd[1]))), flush=True)
        elif cmd[0] == "quit":
            break
    except Exception as e:  # noqa: BLE001 - reported to the test, which fails on it
        print(json.dumps({"error": repr(e)}), flush=True)
stop.set()
'''
