"""What the fake API server needs for a real `kubectl` (and so for `kubectl ironlb --node`):
discovery, label and field selectors on lists, and `pods/exec` over WebSocket.

Discovery answers with the recorded responses in shared/fixtures/kube (01_discovery_*, 09_...);
the group list at /apis has no recording and is built in the same shape as the apiserver's
APIGroupList. Exec speaks the channel protocol kubectl 1.30+ uses first (v5.channel.k8s.io, and
v4): binary frames whose first byte is the stream (1 stdout, 2 stderr, 3 the final Status). The
command is run by the test's `api.exec_handler(namespace, pod, container, argv) -> (rc, out, err)`.

/version stays unanswered (404) on purpose: the recorded one says v1.28, and kubectl sends exec to
servers older than 1.30 over SPDY, which this fake does not speak; with no version it tries
WebSocket first, as it does against a current cluster.
"""
import base64
import hashlib
import json
import os
import struct
from urllib.parse import parse_qs, urlsplit

FIXTURES = os.environ.get("IRONLB_KUBE_FIXTURES", os.path.join(
    os.path.dirname(__file__), "../../../../shared/fixtures/kube"))
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
# Group versions with a recorded APIResourceList.
DISCOVERY = {
    "/api": "01_discovery_api.json",
    "/api/v1": "01_discovery_core_v1.json",
    "/apis/discovery.k8s.io/v1": "01_discovery_discovery.k8s.io_v1.json",
    "/apis/coordination.k8s.io/v1": "01_discovery_coordination.k8s.io_v1.json",
    "/apis/metallb.io/v1beta1": "09_discovery_metallb.io_v1beta1.json",
}


def group_list():
    groups = []
    for path in DISCOVERY:
        if not path.startswith("/apis/"):  # /api, /api/v1
            continue
        name, version = path.split("/")[2:4]
        gv = {"groupVersion": f"{name}/{version}", "version": version}
        groups.append({"name": name, "versions": [gv], "preferredVersion": gv})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def serve_discovery(handler):
    """Answers a discovery path; False when the path is not one."""
    path = urlsplit(handler.path).path.rstrip("/")
    if path == "/apis":
        handler._send(200, group_list())
        return True
    if path not in DISCOVERY:
        return False
    with open(os.path.join(FIXTURES, DISCOVERY[path])) as f:
        handler._send(200, json.load(f))
    return True


def _field(obj, dotted):
    for part in dotted.split("."):
        obj = obj.get(part, {}) if isinstance(obj, dict) else {}
    return obj if isinstance(obj, str) else ""


def selected(obj, q):
    """labelSelector (k=v, k!=v, k) and fieldSelector (path=v, path!=v), comma-separated."""
    labels = obj.get("metadata", {}).get("labels") or {}
    for term in filter(None, q.get("labelSelector", [""])[0].split(",")):
        if "!=" in term:
            k, v = term.split("!=", 1)
            if labels.get(k) == v:
                return False
        elif "=" in term:
            k, v = term.replace("==", "=").split("=", 1)
            if labels.get(k) != v:
                return False
        elif term not in labels:
            return False
    for term in filter(None, q.get("fieldSelector", [""])[0].split(",")):
        if "!=" in term:
            k, v = term.split("!=", 1)
            if _field(obj, k) == v:
                return False
        else:
            k, v = term.replace("==", "=").split("=", 1)
            if _field(obj, k) != v:
                return False
    return True


def _frame(payload, opcode=0x2):
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 127, n)
    return head + payload


def serve_exec(handler, ns, pod, obj):
    """GET .../pods/NAME/exec with a WebSocket upgrade: runs the command, streams its output."""
    q = parse_qs(urlsplit(handler.path).query)
    protocols = [p.strip() for p in handler.headers.get("Sec-WebSocket-Protocol", "").split(",")]
    proto = next((p for p in ("v5.channel.k8s.io", "v4.channel.k8s.io") if p in protocols), None)
    if handler.headers.get("Upgrade", "").lower() != "websocket" or proto is None:
        # What the apiserver says to a client that asks for neither (kubectl then tries SPDY,
        # which this fake does not speak).
        handler._status(400, "BadRequest", "Upgrade request required")
        return
    container = q.get("container", [""])[0]
    names = [c["name"] for c in obj.get("spec", {}).get("containers", [])]
    if container and container not in names:
        handler._status(400, "BadRequest", f"container {container} is not valid for pod {pod}")
        return
    key = handler.headers["Sec-WebSocket-Key"]
    accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
    handler.send_response(101, "Switching Protocols")
    handler.send_header("Upgrade", "websocket")
    handler.send_header("Connection", "Upgrade")
    handler.send_header("Sec-WebSocket-Accept", accept)
    handler.send_header("Sec-WebSocket-Protocol", proto)
    handler.end_headers()
    handler._log(101)
    argv = q.get("command", [])
    rc, out, err = handler.api.exec_handler(ns, pod, container or names[0], argv)
    w = handler.wfile
    if out:
        w.write(_frame(b"\x01" + out))
    if err:
        w.write(_frame(b"\x02" + err))
    if rc == 0:
        status = {"metadata": {}, "status": "Success"}
    else:
        status = {"metadata": {}, "status": "Failure",
                  "message": f"command terminated with non-zero exit code: error executing "
                             f"command {argv}, exit code {rc}",
                  "reason": "NonZeroExitCode",
                  "details": {"causes": [{"reason": "ExitCode", "message": str(rc)}]}}
    w.write(_frame(b"\x03" + json.dumps(status).encode()))
    w.write(_frame(struct.pack("!H", 1000), opcode=0x8))
    w.flush()
    handler.close_connection = True
