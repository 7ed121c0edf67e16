"""A fake Kubernetes API server for tests: the real protocol (HTTP/1.1 over TLS or plain HTTP),
shaped exactly like the responses recorded from kube-apiserver v1.28 in shared/fixtures/kube.

It keeps objects in memory with one resourceVersion counter (like etcd's revision) and a
history of changes (like the apiserver's watch cache), and serves: LIST with limit/continue,
WATCH as chunked newline-delimited JSON from a resourceVersion with BOOKMARKs, 410 Gone (an
ERROR event on a watch, an HTTP 410 Status on a list), GET/POST/PUT/DELETE, merge PATCH, the
/status subresource, 409 on a stale resourceVersion, Leases and Events. Tests drive it from the
same process (create/update/delete, compact, restart, drop watches, rotate the token) and read
the request log it keeps.

Only the standard library; TLS material is made by the openssl CLI (make_tls).
"""
import base64
import bisect
import copy
import datetime
import http.server
import json
import os
import socket
import socketserver
import ssl
import subprocess
import threading
import time
import uuid
from urllib.parse import parse_qs, urlsplit

try:
    from lib import fake_kubectl
except ImportError:  # run as a script (the C++ tests): this directory is on sys.path instead
    import fake_kubectl

# group/version -> plural -> (kind, namespaced). Built-in kinds list without kind/apiVersion on
# items and keep struct order; custom resources carry both and sort their keys.
RESOURCES = {
    "v1": {"services": ("Service", True), "nodes": ("Node", False), "pods": ("Pod", True),
           "namespaces": ("Namespace", False), "secrets": ("Secret", True),
           "events": ("Event", True), "configmaps": ("ConfigMap", True)},
    "discovery.k8s.io/v1": {"endpointslices": ("EndpointSlice", True)},
    "coordination.k8s.io/v1": {"leases": ("Lease", True)},
    "metallb.io/v1beta1": {"ipaddresspools": ("IPAddressPool", True),
                           "l2advertisements": ("L2Advertisement", True),
                           "bgpadvertisements": ("BGPAdvertisement", True),
                           "bfdprofiles": ("BFDProfile", True),
                           "communities": ("Community", True),
                           "bgppeers": ("BGPPeer", True),
                           # MetalLB's status kinds (written by the agents, read by tools)
                           "servicel2statuses": ("ServiceL2Status", True),
                           "servicebgpstatuses": ("ServiceBGPStatus", True),
                           "configurationstates": ("ConfigurationState", True)},
    "metallb.io/v1beta2": {"bgppeers": ("BGPPeer", True)},
}
CUSTOM_GROUPS = ("metallb.io",)
# Subresources with their own status: writes to the object leave status alone and vice versa.
HAS_STATUS = {"services", "nodes", "ipaddresspools", "servicel2statuses", "servicebgpstatuses",
              "configurationstates"}
CHUNKED_ABOVE = 2048  # Go's net/http chunks any response body larger than its 2 KiB buffer


def compact(obj):
    return json.dumps(obj, separators=(",", ":"))


def now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def status_body(code, reason, message, details=None, meta=None):
    """A metav1.Status exactly as kube-apiserver 1.28 orders its fields."""
    s = {"kind": "Status", "apiVersion": "v1", "metadata": meta or {}, "status": "Failure",
         "message": message, "reason": reason}
    if details is not None:
        s["details"] = details
    s["code"] = code
    return s


def merge_patch(target, patch):
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def make_tls(directory, host="127.0.0.1"):
    """A self-signed CA and a server certificate for `host` (IP SAN), made with openssl.
    Returns (ca_pem_path, cert_path, key_path)."""
    ca_key, ca_crt = os.path.join(directory, "ca.key"), os.path.join(directory, "ca.crt")
    key, csr, crt = (os.path.join(directory, n) for n in ("server.key", "server.csr", "server.crt"))
    ext = os.path.join(directory, "san.ext")
    run = lambda *a: subprocess.run(a, check=True, capture_output=True)  # noqa: E731
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out",
        ca_crt, "-days", "2", "-subj", "/CN=fake-apiserver-ca")
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj",
        "/CN=kube-apiserver")
    with open(ext, "w") as f:
        f.write(f"subjectAltName=IP:{host},DNS:localhost\n")
    run("openssl", "x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key, "-CAcreateserial",
        "-out", crt, "-days", "2", "-extfile", ext)
    return ca_crt, crt, key


class Store:
    """Objects and their change history under one lock; `changed` wakes the watches."""

    def __init__(self):
        self.lock = threading.Condition()
        self.rv = 100
        self.objects = {}   # (gv, plural) -> {key: obj}
        self.history = []   # (rv, gv, plural, type, obj) since `oldest`
        self.oldest = 100   # watches from before this resourceVersion get 410
        self.list_snapshots = {}  # rv -> {(gv, plural): [items]} for continue tokens
        self.compacted = 0  # continue tokens at or below this resourceVersion get 410

    def table(self, gv, plural):
        # One table for every version of a group's kind (metallb.io v1beta1/v1beta2 BGPPeer).
        group = gv.split("/")[0] if "/" in gv else ""
        return self.objects.setdefault((group, plural), {})


class FakeApiServer:
    def __init__(self, tls_dir=None, token=None, host="127.0.0.1"):
        self.host = host
        self.store = Store()
        self.token = token           # required bearer token (None: no authentication)
        self.tokens_seen = []        # every distinct bearer token, in order of first use
        self.requests = []           # (time, method, path with query, status)
        self.tls = make_tls(tls_dir, host) if tls_dir else None
        self.bookmark_interval = None  # seconds; None: only ~2 s before a watch's timeout
        self.fail_next = []          # [(method, path-substring, status)] to answer once with an error
        self.exec_handler = None     # pods/exec: (ns, pod, container, argv) -> (rc, out, err)
        self._httpd = None
        self._thread = None
        self._streams = set()
        self.port = None

    # ---- lifecycle ---------------------------------------------------------------------

    @property
    def url(self):
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    def start(self, port=0):
        server = self

        class Handler(_Handler):
            api = server

        class Httpd(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._httpd = Httpd((self.host, port or self.port or 0), Handler)
        if self.tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(self.tls[1], self.tls[2])
            self._httpd.socket = ctx.wrap_socket(self._httpd.socket, server_side=True)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        self.drop_watches()

    def restart(self, lose_watch_cache=True, down_for=0.0):
        """Like restarting kube-apiserver with etcd kept: objects and resourceVersions stay, but
        the rebuilt watch cache holds no history, so older watches get 410."""
        self.stop()
        with self.store.lock:
            if lose_watch_cache:
                self.store.rv += 1  # the apiserver's own writes on start (its endpoints lease)
                self.store.history.clear()
                self.store.oldest = self.store.rv
        time.sleep(down_for)
        self.start(self.port)

    def drop_watches(self):
        """Ends every open watch connection abruptly (no final chunk), as a dying proxy would."""
        for conn in list(self._streams):
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def compact(self):
        """Forgets the change history (watch cache eviction + etcd compaction): watches and
        continue tokens from before now get 410."""
        with self.store.lock:
            self.store.history.clear()
            self.store.oldest = self.store.rv
            self.store.compacted = self.store.rv
            self.store.list_snapshots.clear()

    def count(self, method=None, contains=""):
        return sum(1 for r in list(self.requests)
                   if (method is None or r[1] == method) and contains in r[2])

    # ---- objects (for tests) -----------------------------------------------------------

    def apply(self, obj, quiet=False):
        """Creates or replaces `obj` (a dict with apiVersion/kind/metadata), like kubectl apply."""
        gv, plural = self._resource_of(obj)
        key = _key(obj)
        with self.store.lock:
            table = self.store.table(gv, plural)
            old = table.get(key)
            new = self._stamp(copy.deepcopy(obj), old)
            if old is not None and HAS_STATUS.intersection({plural}) and "status" not in obj:
                new["status"] = copy.deepcopy(old.get("status", {}))
            self._commit(gv, plural, key, new, "MODIFIED" if old else "ADDED")
            return copy.deepcopy(new)

    def delete(self, api_version, kind, ns, name):
        gv, plural = self._resource_of({"apiVersion": api_version, "kind": kind})
        key = f"{ns}/{name}" if ns else name
        with self.store.lock:
            old = self.store.table(gv, plural).get(key)
            if old is None:
                return None
            gone = copy.deepcopy(old)
            self._commit(gv, plural, key, gone, "DELETED")
            return gone

    def get(self, api_version, kind, ns, name):
        gv, plural = self._resource_of({"apiVersion": api_version, "kind": kind})
        with self.store.lock:
            o = self.store.table(gv, plural).get(f"{ns}/{name}" if ns else name)
            return copy.deepcopy(o)

    def items(self, api_version, kind):
        gv, plural = self._resource_of({"apiVersion": api_version, "kind": kind})
        with self.store.lock:
            return [copy.deepcopy(o) for o in self.store.table(gv, plural).values()]

    def seed_list(self, list_body, api_version, kind):
        """Loads the items of a recorded list (e.g. 03_list_services.json) as they are,
        keeping their uids, timestamps and managedFields."""
        for item in list_body["items"]:
            obj = dict(item)
            obj.setdefault("apiVersion", api_version)
            obj.setdefault("kind", kind)
            self.apply(obj)

    # ---- internals ---------------------------------------------------------------------

    def _resource_of(self, obj):
        gv, kind = obj["apiVersion"], obj["kind"]
        for plural, (k, _) in RESOURCES.get(gv, {}).items():
            if k == kind:
                return gv, plural
        raise KeyError(f"fake apiserver does not serve {gv} {kind}")

    def _stamp(self, obj, old):
        meta = obj.setdefault("metadata", {})
        self.store.rv += 1
        meta["resourceVersion"] = str(self.store.rv)
        if old is not None:
            meta["uid"] = old["metadata"]["uid"]
            meta["creationTimestamp"] = old["metadata"]["creationTimestamp"]
        else:
            meta.setdefault("uid", str(uuid.uuid4()))
            meta.setdefault("creationTimestamp", now_rfc3339())
        if obj["apiVersion"].split("/")[0] in CUSTOM_GROUPS:
            gen = (old or {}).get("metadata", {}).get("generation", 0)
            if old is None or old.get("spec") != obj.get("spec"):
                gen += 1
            meta["generation"] = gen
        return obj

    def _commit(self, gv, plural, key, obj, typ):
        table = self.store.table(gv, plural)
        if typ == "DELETED":
            table.pop(key, None)
            self.store.rv += 1
            obj["metadata"]["resourceVersion"] = str(self.store.rv)
        else:
            table[key] = obj
        self.store.history.append((self.store.rv, gv, plural, typ, copy.deepcopy(obj)))
        self.store.lock.notify_all()


def _key(obj):
    m = obj["metadata"]
    return f"{m['namespace']}/{m['name']}" if m.get("namespace") else m["name"]


def _for_wire(obj, gv):
    """Custom resources serialise with sorted keys (apiVersion first); built-ins keep order."""
    if gv.split("/")[0] in CUSTOM_GROUPS:
        return json.loads(json.dumps(obj, sort_keys=True))
    out = {"kind": obj.get("kind"), "apiVersion": obj.get("apiVersion")}
    out.update({k: v for k, v in obj.items() if k not in ("kind", "apiVersion")})
    return out


def _bookmark(gv, kind, rv):
    if gv.split("/")[0] in CUSTOM_GROUPS:
        return {"apiVersion": gv, "kind": kind, "metadata": {"resourceVersion": rv}}
    b = {"kind": kind, "apiVersion": gv, "metadata": {"resourceVersion": rv, "creationTimestamp": None}}
    if kind == "Service":
        b.update({"spec": {}, "status": {"loadBalancer": {}}})
    return b


def _continue_token(rv, start):
    raw = compact({"v": "meta.k8s.io/v1", "rv": rv, "start": start + "\u0000"})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _parse_continue(tok):
    pad = "=" * (-len(tok) % 4)
    return json.loads(base64.urlsafe_b64decode(tok + pad))


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    api = None  # set by FakeApiServer.start

    def log_message(self, *args):  # quiet: tests read api.requests instead
        pass

    # ---- plumbing ----------------------------------------------------------------------

    def _headers(self, code, ctype="application/json", extra=()):
        self.send_response(code)
        self.send_header("Audit-Id", str(uuid.uuid4()))
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Content-Type", ctype)
        for k, v in extra:
            self.send_header(k, v)
        self.send_header("X-Kubernetes-Pf-Flowschema-Uid", "172d5bc2-982f-453d-aad1-938a77577b61")
        self.send_header("X-Kubernetes-Pf-Prioritylevel-Uid", "01335e79-08e8-48a9-b0d1-58d22908f32c")

    def _send(self, code, body, ctype="application/json", extra=()):
        data = (compact(body) + "\n").encode() if not isinstance(body, (bytes, str)) else (
            body.encode() if isinstance(body, str) else body)
        self._headers(code, ctype, extra)
        if len(data) > CHUNKED_ABOVE:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(data), data))
        else:
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        self._log(code)

    def _log(self, code):
        if not self.path.startswith("/fake/"):
            self.api.requests.append((time.monotonic(), self.command, self.path, code))

    def _status(self, code, reason, message, details=None, meta=None, extra=()):
        self._send(code, status_body(code, reason, message, details, meta), extra=extra)

    def _auth_ok(self):
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            tok = auth[len("Bearer "):]
            if tok not in self.api.tokens_seen:
                self.api.tokens_seen.append(tok)
        if self.api.token is None or auth == f"Bearer {self.api.token}":
            return True
        self._headers(401)
        body = (compact(status_body(401, "Unauthorized", "Unauthorized")) + "\n").encode()
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self._log(401)
        return False

    def _body(self):
        # Read once per request (admission reads it before the handler does).
        if getattr(self, "_body_of", None) is not self.headers:
            n = int(self.headers.get("Content-Length", "0"))
            self._body_raw, self._body_of = (self.rfile.read(n) if n else b""), self.headers
        return json.loads(self._body_raw) if self._body_raw else None

    def _route(self):
        """-> (gv, plural, ns, name, sub) or None for an unknown path."""
        parts = [p for p in urlsplit(self.path).path.split("/") if p]
        if parts[:2] == ["api", "v1"]:
            gv, rest = "v1", parts[2:]
        elif len(parts) >= 3 and parts[0] == "apis":
            gv, rest = f"{parts[1]}/{parts[2]}", parts[3:]
        else:
            return None
        if gv not in RESOURCES or not rest:
            return None
        ns = None
        if rest[0] == "namespaces" and len(rest) >= 3:
            ns, rest = rest[1], rest[2:]
        plural = rest[0]
        if plural not in RESOURCES[gv]:
            return None
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        return gv, plural, ns, name, sub

    def _failure_injected(self):
        for i, (method, frag, code) in enumerate(self.api.fail_next):
            if method == self.command and frag in self.path:
                del self.api.fail_next[i]
                if code == 409:
                    self._status(409, "Conflict", "Operation cannot be fulfilled: the object has "
                                 "been modified; please apply your changes to the latest version "
                                 "and try again")
                else:
                    self._status(code, "InternalError", "injected failure")
                return True
        return False

    def _control(self):
        """/fake/*: drives the server from another process (the C++ tests); no auth."""
        what = urlsplit(self.path).path[len("/fake/"):]
        api, body = self.api, self._body()
        if what == "apply":
            self._send(200, api.apply(body))
        elif what == "delete":
            self._send(200, api.delete(body["apiVersion"], body["kind"], body.get("namespace"),
                                       body["name"]) or {})
        elif what == "get":
            self._send(200, api.get(body["apiVersion"], body["kind"], body.get("namespace"),
                                    body["name"]) or {})
        elif what == "compact":
            api.compact()
            self._send(200, {})
        elif what == "drop-watches":
            self._send(200, {})
            api.drop_watches()
        elif what == "restart":
            self._send(200, {})
            threading.Thread(target=api.restart, kwargs={"down_for": (body or {}).get("down_for", 0.3)},
                             daemon=True).start()
        elif what == "token":
            api.token = body["token"]
            self._send(200, {})
        elif what == "requests":
            self._send(200, [[m, p, c] for _, m, p, c in list(api.requests)])
        elif what == "tokens":
            self._send(200, api.tokens_seen)
        else:
            self._send(404, {"error": what})

    def _dispatch(self):
        if self.path.startswith("/fake/"):
            self._control()
            return
        if not self._auth_ok():
            return
        if self.command == "GET" and fake_kubectl.serve_discovery(self):
            return
        r = self._route()
        if r is None:
            self._send(404, "404 page not found\n", ctype="text/plain; charset=utf-8",
                       extra=(("X-Content-Type-Options", "nosniff"),))
            return
        if self._failure_injected():
            return
        gv, plural, ns, name, sub = r
        kind, namespaced = RESOURCES[gv][plural]
        q = parse_qs(urlsplit(self.path).query)
        if self.command != "GET" and not _admitted(self, gv, plural, ns, name, sub):
            return
        if self.command == "GET" and name is None:
            if q.get("watch", ["0"])[0] in ("1", "true"):
                self._watch(gv, plural, kind, ns, q)
            else:
                self._list(gv, plural, kind, ns, q)
        elif self.command == "GET" and plural == "pods" and sub == "exec":
            with self.api.store.lock:
                pod = copy.deepcopy(self.api.store.table(gv, plural).get(f"{ns}/{name}"))
            if pod is None:
                self._not_found(gv, plural, name)
            else:
                fake_kubectl.serve_exec(self, ns, name, pod)
        elif self.command == "GET":
            self._get(gv, plural, ns, name)
        elif self.command == "POST" and name is None:
            self._create(gv, plural, kind, ns)
        elif self.command in ("PUT", "PATCH") and name:
            self._update(gv, plural, ns, name, sub)
        elif self.command == "DELETE" and name:
            self._delete(gv, plural, ns, name)
        else:
            self._status(405, "MethodNotAllowed", "the server does not allow this method")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _dispatch

    def _resource_name(self, gv, plural):
        return plural if "/" not in gv else f"{plural}.{gv.split('/')[0]}"

    def _not_found(self, gv, plural, name):
        details = {"name": name, "kind": plural}
        if "/" in gv:
            details = {"name": name, "group": gv.split("/")[0], "kind": plural}
        self._status(404, "NotFound", f"{self._resource_name(gv, plural)} \"{name}\" not found", details)

    # ---- verbs -------------------------------------------------------------------------

    def _matching(self, gv, plural, ns, q=None):
        table = self.api.store.table(gv, plural)
        return [table[k] for k in sorted(table)
                if (ns is None or table[k]["metadata"].get("namespace") == ns)
                and _labels_match(table[k], q)]

    def _list(self, gv, plural, kind, ns, q):
        st = self.api.store
        limit = int(q.get("limit", ["0"])[0] or 0)
        cont = q.get("continue", [""])[0]
        with st.lock:
            if cont:
                tok = _parse_continue(cont)
                rv = tok["rv"]
                snap = st.list_snapshots.get((rv, gv, plural, ns))
                if rv <= st.compacted or snap is None:
                    fresh = _continue_token(-1, tok["start"].rstrip("\u0000"))
                    self._status(410, "Expired", "The provided continue parameter is too old to "
                                 "display a consistent list result. You can start a new list without "
                                 "the continue parameter, or use the continue token in this response "
                                 "to retrieve the remainder of the results. Continuing with the "
                                 "provided token results in an inconsistent list - objects that were "
                                 "created, modified, or deleted between the time the first chunk was "
                                 "returned and now may show up in the list.", meta={"continue": fresh})
                    return
                start = tok["start"].rstrip("\u0000")
                items = [o for o in snap if _key(o) > start]
            else:
                rv = st.rv
                items = [copy.deepcopy(o) for o in self._matching(gv, plural, ns, q)]
                if limit:
                    st.list_snapshots[(rv, gv, plural, ns)] = items
        meta = {"resourceVersion": str(rv)}
        page = items
        if limit and len(items) > limit:
            page = items[:limit]
            meta["continue"] = _continue_token(rv, _key(page[-1]))
            meta["remainingItemCount"] = len(items) - limit
        custom = gv.split("/")[0] in CUSTOM_GROUPS
        if custom:
            body = {"apiVersion": gv, "items": [_for_wire(o, gv) for o in page],
                    "kind": kind + "List", "metadata": {"continue": meta.get("continue", ""), **meta}}
            if not limit or len(items) <= limit:
                body["metadata"] = {"continue": "", "resourceVersion": str(rv)}
        else:
            body = {"kind": kind + "List", "apiVersion": gv, "metadata": meta,
                    "items": [{k: v for k, v in o.items() if k not in ("kind", "apiVersion")} for o in page]}
        self._send(200, body)

    def _watch(self, gv, plural, kind, ns, q):
        st = self.api.store
        since = int(q.get("resourceVersion", ["0"])[0] or 0)
        timeout = float(q.get("timeoutSeconds", ["1800"])[0])
        bookmarks = q.get("allowWatchBookmarks", ["false"])[0] in ("1", "true")
        deadline = time.monotonic() + timeout
        self._headers(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self._log(200)
        conn = self.connection
        self.api._streams.add(conn)

        def chunk(event):
            data = (compact(event) + "\n").encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

        def matches(obj):
            return (ns is None or obj["metadata"].get("namespace") == ns) and _labels_match(obj, q)

        try:
            with st.lock:
                if since == 0:
                    # resourceVersion 0: the current state as synthetic ADDED events.
                    for o in self._matching(gv, plural, ns, q):
                        chunk({"type": "ADDED", "object": _for_wire(o, gv)})
                    last = st.rv
                elif since < st.oldest:
                    chunk({"type": "ERROR", "object": status_body(
                        410, "Expired", f"too old resource version: {since} ({st.oldest})")})
                    self.wfile.write(b"0\r\n\r\n")
                    return
                else:
                    last = since
                scanned = last  # resourceVersion of the last history entry looked at (any kind)
                start_rv = last
                next_bookmark = deadline - 2 if self.api.bookmark_interval is None else \
                    time.monotonic() + self.api.bookmark_interval
                group = gv.split("/")[0] if "/" in gv else ""
                while True:
                    pos = bisect.bisect_right(st.history, scanned, key=lambda h: h[0])
                    for rv, hgv, hplural, typ, obj in st.history[pos:]:
                        scanned = rv
                        hgroup = hgv.split("/")[0] if "/" in hgv else ""
                        if hgroup == group and hplural == plural:
                            last = rv
                            if matches(obj):
                                wire = dict(obj)
                                wire["apiVersion"] = gv  # served at the version asked for
                                chunk({"type": typ, "object": _for_wire(wire, gv)})
                    now = time.monotonic()
                    if now >= deadline:
                        break
                    if bookmarks and now >= next_bookmark:
                        # Like the 1.28 watch cache: only once the resource moved past the start.
                        if last > start_rv:
                            chunk({"type": "BOOKMARK", "object": _bookmark(gv, kind, str(last))})
                        next_bookmark = deadline if self.api.bookmark_interval is None else \
                            now + self.api.bookmark_interval
                    st.lock.wait(timeout=min(0.2, max(0.0, min(deadline, next_bookmark) - now)))
                    if self.api._httpd is None:
                        return
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, OSError, ValueError):
            pass
        finally:
            self.api._streams.discard(conn)
            self.close_connection = True

    def _get(self, gv, plural, ns, name):
        with self.api.store.lock:
            o = self.api.store.table(gv, plural).get(f"{ns}/{name}" if ns else name)
            o = copy.deepcopy(o)
        if o is None:
            self._not_found(gv, plural, name)
        else:
            self._send(200, _for_wire(o, gv))

    def _create(self, gv, plural, kind, ns):
        body = self._body() or {}
        body.setdefault("apiVersion", gv)
        body.setdefault("kind", kind)
        meta = body.setdefault("metadata", {})
        if ns:
            meta["namespace"] = ns
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
        _drop_status_on_create(plural, body)
        st = self.api.store
        with st.lock:
            table = st.table(gv, plural)
            key = _key(body)
            if key in table:
                details = {"name": meta["name"], "kind": plural}
                if "/" in gv:
                    details = {"name": meta["name"], "group": gv.split("/")[0], "kind": plural}
                self._status(409, "AlreadyExists",
                             f"{self._resource_name(gv, plural)} \"{meta['name']}\" already exists", details)
                return
            meta.pop("resourceVersion", None)
            obj = self.api._stamp(body, None)
            self.api._commit(gv, plural, key, obj, "ADDED")
            out = copy.deepcopy(obj)
        self._send(201, _for_wire(out, gv))

    def _update(self, gv, plural, ns, name, sub):
        body = self._body()
        ctype = self.headers.get("Content-Type", "")
        st = self.api.store
        with st.lock:
            table = st.table(gv, plural)
            key = f"{ns}/{name}" if ns else name
            old = table.get(key)
            if old is None:
                self._not_found(gv, plural, name)
                return
            if self.command == "PATCH":
                if "merge-patch" not in ctype:
                    self._status(415, "UnsupportedMediaType", f"the body of the request was in an "
                                 f"unknown format - accepted media types include: "
                                 f"application/merge-patch+json")
                    return
                new = merge_patch(old, body)
                want_rv = (body or {}).get("metadata", {}).get("resourceVersion")
            else:
                new = body
                want_rv = new.get("metadata", {}).get("resourceVersion")
            if want_rv and want_rv != old["metadata"]["resourceVersion"]:
                details = {"name": name, "kind": plural}
                if "/" in gv:
                    details = {"name": name, "group": gv.split("/")[0], "kind": plural}
                self._status(409, "Conflict", f"Operation cannot be fulfilled on "
                             f"{self._resource_name(gv, plural)} \"{name}\": the object has been "
                             f"modified; please apply your changes to the latest version and try again",
                             details)
                return
            if plural in HAS_STATUS:
                if sub == "status":  # only status changes; the rest of the object stays
                    merged = copy.deepcopy(old)
                    merged["status"] = new.get("status", {})
                    new = merged
                else:
                    new["status"] = copy.deepcopy(old.get("status", {}))
            new["apiVersion"], new["kind"] = old["apiVersion"], old["kind"]
            new["metadata"]["name"], new["metadata"]["namespace"] = name, ns
            if not ns:
                new["metadata"].pop("namespace", None)
            if _strip_rv(new) == _strip_rv(old):
                out = copy.deepcopy(old)  # no-op writes do not bump the resourceVersion
            else:
                obj = self.api._stamp(new, old)
                self.api._commit(gv, plural, key, obj, "MODIFIED")
                out = copy.deepcopy(obj)
        self._send(200, _for_wire(out, gv))

    def _delete(self, gv, plural, ns, name):
        st = self.api.store
        with st.lock:
            key = f"{ns}/{name}" if ns else name
            old = st.table(gv, plural).get(key)
            if old is None:
                self._not_found(gv, plural, name)
                return
            gone = copy.deepcopy(old)
            self.api._commit(gv, plural, key, gone, "DELETED")
        self._send(200, _for_wire(gone, gv))


def _labels_match(obj, q):
    """labelSelector and fieldSelector of a list or watch (lib/fake_kubectl.py); none matches
    all."""
    return fake_kubectl.selected(obj, q or {})


def _drop_status_on_create(plural, body):
    """With a status subresource the apiserver ignores status in a create (a second write, to
    /status, sets it), as MetalLB's CreateOrPatch has to do too."""
    if plural in HAS_STATUS:
        body.pop("status", None)


def _seed_from_file(server, path):
    """Applies every object of a JSON list (benchmarks build their cluster this way)."""
    with open(path) as f:
        for o in json.load(f):
            server.apply(o)


def _strip_rv(o):
    o = copy.deepcopy(o)
    o.get("metadata", {}).pop("resourceVersion", None)
    o.get("metadata", {}).pop("generation", None)
    return o


def write_kubeconfig(path, server, token=None, token_file=None, ca_file=None, insecure=False):
    """A kubeconfig as kubectl writes one (YAML; JSON is YAML too, so plain json.dump)."""
    user = {}
    if token:
        user["token"] = token
    if token_file:
        user["tokenFile"] = token_file
    cluster = {"server": server.url}
    if ca_file:
        cluster["certificate-authority"] = ca_file
    if insecure:
        cluster["insecure-skip-tls-verify"] = True
    cfg = {"apiVersion": "v1", "kind": "Config", "current-context": "test",
           "clusters": [{"name": "fake", "cluster": cluster}],
           "users": [{"name": "agent", "user": user}],
           "contexts": [{"name": "test", "context": {"cluster": "fake", "user": "agent"}}]}
    with open(path, "w") as f:
        json.dump(cfg, f, indent=1)
    return path


# ---- admission and conversion webhooks: the API server's side ----------------------------
# Tests register where a webhook Service's endpoints are: api.webhook_endpoints[(ns, name)] =
# (host, port), as kube-proxy would route Service port 443 to a pod.

RESOURCES["admissionregistration.k8s.io/v1"] = {
    "validatingwebhookconfigurations": ("ValidatingWebhookConfiguration", False)}
RESOURCES["apiextensions.k8s.io/v1"] = {
    "customresourcedefinitions": ("CustomResourceDefinition", False)}


def call_webhook(api, client_config, body, timeout=10):
    """POSTs `body` to a webhook as kube-apiserver does: TLS to the Service's endpoint, the
    certificate verified with the clientConfig's caBundle for <service>.<namespace>.svc.
    Returns (parsed JSON, the server's certificate in DER)."""
    import http.client
    svc = client_config["service"]
    host, port = api.webhook_endpoints[(svc["namespace"], svc["name"])]
    ctx = ssl.create_default_context(cadata=base64.b64decode(client_config["caBundle"]).decode())
    server_name = f"{svc['name']}.{svc['namespace']}.svc"
    raw = socket.create_connection((host, port), timeout=timeout)
    conn = http.client.HTTPConnection(server_name, timeout=timeout)
    conn.sock = ctx.wrap_socket(raw, server_hostname=server_name)
    try:
        der = conn.sock.getpeercert(binary_form=True)
        conn.request("POST", svc.get("path", "/") + f"?timeout={timeout}s", compact(body),
                     {"Content-Type": "application/json", "Accept": "application/json, */*"})
        r = conn.getresponse()
        data = r.read()
        if r.status != 200:
            raise RuntimeError(f"webhook answered HTTP {r.status}: {data[:200]!r}")
        return json.loads(data), der
    finally:
        conn.close()


def _rule_matches(rule, group, version, plural, op):
    return all(want in rule.get(field, []) or "*" in rule.get(field, [])
               for field, want in (("apiGroups", group), ("apiVersions", version),
                                   ("resources", plural), ("operations", op)))


def admission_review(gv, plural, kind, op, obj, old, ns, name):
    """An admission.k8s.io/v1 AdmissionReview as kube-apiserver 1.28 sends it."""
    group, version = gv.split("/") if "/" in gv else ("", gv)
    gvk = {"group": group, "version": version, "kind": kind}
    gvr = {"group": group, "version": version, "resource": plural}
    options = {"CREATE": {"kind": "CreateOptions", "apiVersion": "meta.k8s.io/v1",
                          "fieldManager": "kubectl-client-side-apply", "fieldValidation": "Strict"},
               "UPDATE": {"kind": "UpdateOptions", "apiVersion": "meta.k8s.io/v1",
                          "fieldManager": "kubectl-client-side-apply", "fieldValidation": "Strict"},
               "DELETE": {"kind": "DeleteOptions", "apiVersion": "meta.k8s.io/v1",
                          "propagationPolicy": "Background"}}[op]
    req = {"uid": str(uuid.uuid4()), "kind": gvk, "resource": gvr, "requestKind": gvk,
           "requestResource": gvr}
    if name:
        req["name"] = name
    if ns:
        req["namespace"] = ns
    req.update({"operation": op, "userInfo": {"username": "kubernetes-admin",
                                              "groups": ["system:masters", "system:authenticated"]},
                "object": obj, "oldObject": old, "dryRun": False, "options": options})
    return {"kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v1", "request": req}


def _admitted(handler, gv, plural, ns, name, sub):
    """Runs the ValidatingWebhookConfigurations' webhooks on a write, as the API server does
    before storing; answers the client with the refusal and returns False when one denies.
    Rules match the request's own version (no matchPolicy: Equivalent conversion here)."""
    api = handler.api
    with api.store.lock:
        configs = copy.deepcopy(list(api.store.table("admissionregistration.k8s.io/v1",
                                                     "validatingwebhookconfigurations").values()))
        old = copy.deepcopy(api.store.table(gv, plural).get(f"{ns}/{name}" if ns else name))
    if not configs or sub:
        return True
    op = {"POST": "CREATE", "PUT": "UPDATE", "PATCH": "UPDATE", "DELETE": "DELETE"}[handler.command]
    group, version = gv.split("/") if "/" in gv else ("", gv)
    kind = RESOURCES[gv][plural][0]
    obj = None
    if op == "CREATE":
        obj = handler._body() or {}
        obj.setdefault("apiVersion", gv)
        obj.setdefault("kind", kind)
        obj.setdefault("metadata", {})["namespace"] = ns
        name, old = obj["metadata"].get("name"), None
    elif op == "UPDATE":
        if old is None:
            return True  # the handler answers 404
        obj = merge_patch(old, handler._body()) if handler.command == "PATCH" else handler._body()
    for cfg in configs:
        for wh in cfg.get("webhooks", []):
            if not any(_rule_matches(r, group, version, plural, op) for r in wh.get("rules", [])):
                continue
            review = admission_review(gv, plural, kind, op, obj, old, ns, name)
            try:
                out, _ = call_webhook(api, wh["clientConfig"], review, wh.get("timeoutSeconds", 10))
                resp = out["response"]
                assert resp["uid"] == review["request"]["uid"], "response for another request"
            except Exception as e:  # noqa: BLE001 - any failure is the webhook's failure
                api.__dict__.setdefault("webhook_failures", []).append((wh["name"], repr(e)))
                if wh.get("failurePolicy", "Fail") == "Ignore":
                    continue
                handler._status(500, "InternalError", f"Internal error occurred: failed calling "
                                f"webhook \"{wh['name']}\": {e}")
                return False
            if not resp.get("allowed"):
                st = resp.get("status") or {}
                code = max(int(st.get("code") or 400), 400)
                handler._status(code, st.get("reason", ""),
                                f"admission webhook \"{wh['name']}\" denied the request: "
                                f"{st.get('message') or 'without explanation'}")
                return False
    return True


def convert(api, objects, desired_api_version, crd_name="bgppeers.metallb.io"):
    """Converts `objects` through the CRD's conversion webhook as kube-apiserver does, with its
    checks on the answer (same uid, same count, the desired apiVersion, metadata unchanged but
    labels and annotations)."""
    crd = api.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", None, crd_name)
    conv = crd["spec"]["conversion"]
    assert conv["strategy"] == "Webhook", conv
    review = {"kind": "ConversionReview", "apiVersion": "apiextensions.k8s.io/v1",
              "request": {"uid": str(uuid.uuid4()), "desiredAPIVersion": desired_api_version,
                          "objects": objects}}
    out, _ = call_webhook(api, conv["webhook"]["clientConfig"], review)
    resp = out["response"]
    assert resp["uid"] == review["request"]["uid"], resp
    if resp["result"]["status"] != "Success":
        raise RuntimeError(f"conversion webhook for {crd_name} failed: {resp['result']}")
    got = resp["convertedObjects"]
    assert len(got) == len(objects), resp
    for before, after in zip(objects, got):
        assert after["apiVersion"] == desired_api_version, after
        strip = lambda m: {k: v for k, v in m.items() if k not in ("labels", "annotations")}  # noqa: E731
        assert strip(after["metadata"]) == strip(before["metadata"]), (before, after)
    return got


if __name__ == "__main__":
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--tls-dir")
    ap.add_argument("--token")
    ap.add_argument("--bookmark-interval", type=float)
    ap.add_argument("--seed-services", type=int, default=0,
                    help="N LoadBalancer Services in namespace bench, each with an EndpointSlice")
    ap.add_argument("--seed-file", help="a JSON list of objects to apply before serving")
    a = ap.parse_args()
    s = FakeApiServer(tls_dir=a.tls_dir, token=a.token)
    s.bookmark_interval = a.bookmark_interval
    if a.seed_file:
        _seed_from_file(s, a.seed_file)
    for i in range(a.seed_services):
        name = f"svc-{i:05d}"
        s.apply({"apiVersion": "v1", "kind": "Service",
                 "metadata": {"name": name, "namespace": "bench", "labels": {"app": name}},
                 "spec": {"type": "LoadBalancer", "selector": {"app": name},
                          "ports": [{"name": "http", "protocol": "TCP", "port": 80, "targetPort": 8080}],
                          "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
                          "externalTrafficPolicy": "Cluster"},
                 "status": {"loadBalancer": {}}})
        s.apply({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                 "metadata": {"name": f"{name}-abcde", "namespace": "bench",
                              "labels": {"kubernetes.io/service-name": name}},
                 "addressType": "IPv4",
                 "endpoints": [{"addresses": [f"10.{1 + i // 65536}.{(i // 256) % 256}.{i % 256}"],
                                "conditions": {"ready": True, "serving": True, "terminating": False},
                                "nodeName": "node-a"}],
                 "ports": [{"name": "http", "protocol": "TCP", "port": 8080}]})
    s.start(a.port)
    print(s.url, flush=True)
    threading.Event().wait()
