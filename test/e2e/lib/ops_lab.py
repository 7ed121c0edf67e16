"""One node carrying traffic for the operability tests (metrics, alerts, ironlbctl): the
DataplaneLab namespaces, an agent running every role with XDP on the node's uplink, a BGP peer
(the client, which runs no BGP: its session stays down) with a BFD profile, and one Service with
two endpoints on TCP and UDP. Everything is removed on exit, also on failure."""
import os
import subprocess
import textwrap

import pytest

from lib.agent import BIN, Agent, wait_for
from lib.netns_dp import DataplaneLab, sh

VIP, TCP_PORT, UDP_PORT = "198.51.100.10", 80, 5353
PEER = "10.0.0.2"  # the lab's client: no BGP speaker there, so the session stays down
ENDPOINTS = ("10.1.1.2", "10.1.2.2")

LAB_CONFIG = textwrap.dedent(f"""
    apiVersion: metallb.io/v1beta1
    kind: IPAddressPool
    metadata: {{name: lab, namespace: ironlb-system}}
    spec:
      addresses: [{VIP}/32]
    ---
    apiVersion: metallb.io/v1beta1
    kind: L2Advertisement
    metadata: {{name: lab, namespace: ironlb-system}}
    spec:
      ipAddressPools: [lab]
    ---
    apiVersion: metallb.io/v1beta1
    kind: BGPAdvertisement
    metadata: {{name: lab, namespace: ironlb-system}}
    spec:
      ipAddressPools: [lab]
    ---
    apiVersion: metallb.io/v1beta2
    kind: BGPPeer
    metadata: {{name: tor, namespace: ironlb-system}}
    spec:
      myASN: 64512
      peerASN: 64513
      peerAddress: {PEER}
      connectTime: 1s
      bfdProfile: fast
    ---
    apiVersion: metallb.io/v1beta1
    kind: BFDProfile
    metadata: {{name: fast, namespace: ironlb-system}}
    spec: {{receiveInterval: 300, transmitInterval: 300, detectMultiplier: 3}}
    ---
    apiVersion: v1
    kind: Service
    metadata: {{name: web, namespace: demo}}
    spec:
      type: LoadBalancer
      ports:
      - {{name: http, port: {TCP_PORT}, targetPort: 8080, protocol: TCP}}
      - {{name: dns, port: {UDP_PORT}, targetPort: {UDP_PORT}, protocol: UDP}}
    ---
    apiVersion: discovery.k8s.io/v1
    kind: EndpointSlice
    metadata:
      name: web-1
      namespace: demo
      labels: {{kubernetes.io/service-name: web}}
    addressType: IPv4
    ports:
    - {{name: http, port: 8080, protocol: TCP}}
    - {{name: dns, port: {UDP_PORT}, protocol: UDP}}
    endpoints:
    - addresses: [10.1.1.2]
      conditions: {{ready: true}}
      nodeName: node-a
    - addresses: [10.1.2.2]
      conditions: {{ready: true}}
      nodeName: node-a
    """)

UDP_SEND = r'''
import socket, sys
for i in range(int(sys.argv[3])):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(5)
    s.sendto(b"q", (sys.argv[1], int(sys.argv[2])))
    s.recvfrom(4096)
    s.close()
'''

TCP_CONNECT = r'''
import socket, sys
for i in range(int(sys.argv[3])):
    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
    s.makefile().readline()
    s.close()
'''


def ops_lab(tmp_path):
    """Generator for a pytest fixture: yields the lab with .agent, .bpffs and .confdir."""
    if os.geteuid() != 0:
        pytest.skip("needs root for namespaces and XDP")
    # As test_dataplane: veths take XDP_TX/redirected frames when their peer runs XDP.
    obj = os.path.join(os.path.dirname(BIN), "bpf", "xdp_count.bpf.o")
    lab = DataplaneLab(pods=2, xdp_pass_obj=obj if os.path.exists(obj) else None)
    bpffs = str(tmp_path / "bpffs")
    os.makedirs(bpffs)
    subprocess.run(["mount", "-t", "bpf", "bpf", bpffs], check=True)
    lab.bpffs = bpffs + "/ironlb"
    conf = tmp_path / "config"
    conf.mkdir()
    (conf / "lab.yaml").write_text(LAB_CONFIG)
    lab.confdir = str(conf)
    lab.agent = None
    try:
        lab.build()
        lab.start_servers(8080)
        lab.start_servers(UDP_PORT)
        lab.agent = Agent(str(tmp_path), str(conf), node="node-a", role="all", netns=lab.node,
                          extra=("--interface", "n0", "--bpffs", lab.bpffs)).start()
        wait_for(lambda: f"{VIP}:{UDP_PORT}/UDP" in lab.agent.metrics()
                 and f"{VIP}:{TCP_PORT}/TCP" in lab.agent.metrics(), timeout=30,
                 what="the VIP in the data plane")
        yield lab
    finally:
        if lab.agent:
            lab.agent.stop()
        lab.close()
        subprocess.run(["umount", "-l", bpffs], capture_output=True)


def client(lab, code, *args):
    """Runs python `code` with `args` in the client namespace; returns its stdout."""
    return sh("/usr/bin/python3", "-c", code, *map(str, args), ns=lab.client, timeout=120)
