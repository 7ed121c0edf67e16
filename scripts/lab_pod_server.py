#!/usr/bin/python3
"""A pod for the lab: answers HTTP GET on :8080 and :8081 and UDP on :5353 with its name and the client
address it saw, so the demo shows where each flow landed and that the client IP was preserved."""
import http.server
import socket
import sys
import threading

NAME = sys.argv[1]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = f"{NAME} answered {self.client_address[0]}:{self.client_address[1]}\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def udp_echo():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", 5353))
    while True:
        data, addr = s.recvfrom(2048)
        s.sendto(f"{NAME} answered {addr[0]}:{addr[1]}\n".encode(), addr)


threading.Thread(target=udp_echo, daemon=True).start()
second = http.server.ThreadingHTTPServer(("0.0.0.0", 8081), Handler)
threading.Thread(target=second.serve_forever, daemon=True).start()
http.server.ThreadingHTTPServer(("0.0.0.0", 8080), Handler).serve_forever()
