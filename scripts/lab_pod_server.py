#!/usr/bin/python3
"""A pod for the lab: answers HTTP GET on :8080, UDP on :5353 and a line echo on :9000 (IPv4 and
IPv6) with its name and the client address it saw, so the demo shows where each flow landed and
that the client address was preserved. The echo keeps its connection open: held connections show
that a flow stays on its endpoint while nodes come and go."""
import http.server
import socket
import sys
import threading

NAME = sys.argv[1]


def seen(addr):
    return f"{NAME} answered {addr[0]}:{addr[1]}\n"


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = seen(self.client_address).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


class Server6(Server):
    address_family = socket.AF_INET6

    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        super().server_bind()


def udp(family, addr):
    s = socket.socket(family, socket.SOCK_DGRAM)
    if family == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((addr, 5353))
    while True:
        data, peer = s.recvfrom(2048)
        s.sendto(seen(peer).encode(), peer)


def echo(family, addr):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((addr, 9000))
    s.listen(64)
    while True:
        c, peer = s.accept()
        threading.Thread(target=echo_one, args=(c, peer), daemon=True).start()


def echo_one(c, peer):
    try:
        c.sendall(seen(peer).encode())
        f = c.makefile("rb")
        for line in f:
            c.sendall(f"{NAME} {line.decode(errors='replace')}".encode())
    except OSError:
        pass
    c.close()


for fam, addr in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
    threading.Thread(target=udp, args=(fam, addr), daemon=True).start()
    threading.Thread(target=echo, args=(fam, addr), daemon=True).start()
threading.Thread(target=Server6(("::", 8080), Handler).serve_forever, daemon=True).start()
Server(("0.0.0.0", 8080), Handler).serve_forever()
