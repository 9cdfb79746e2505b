#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Hostile clients for tests/hostile/*.sh, on loopback.

  clients.py upstream PORT COUNTFILE      accept, read, never answer; the number
                                          of connections accepted so far in COUNTFILE
  clients.py hold HOST:PORT N SECONDS     N connections from 127.0.0.2, .3, ...
                                          (at most 8 from each), held SECONDS
  clients.py get HOST:PORT PATH TIMEOUT   one GET from 127.0.0.1: prints the status
                                          (000: no answer within TIMEOUT s)
"""
import socket
import sys
import threading
import time

def addr(s):
    host, port = s.rsplit(":", 1)
    return host, int(port)


def upstream(port, countfile):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(512)
    conns = []

    def reader(c):
        try:
            while c.recv(65536):
                pass
        except OSError:
            pass

    while True:
        c, _ = ls.accept()
        conns.append(c)
        threading.Thread(target=reader, args=(c,), daemon=True).start()
        with open(countfile, "w") as f:
            f.write("%d\n" % len(conns))


def connect(to, i, per_host=8):
    s = socket.socket()
    s.bind(("127.0.0.%d" % (2 + i // per_host), 0))
    s.settimeout(5)
    s.connect(to)
    return s


def hold(to, n, seconds):
    socks = []
    for i in range(n):
        try:
            socks.append(connect(to, i))
        except OSError:
            pass
    time.sleep(seconds)
    print(len(socks))


def get(to, path, timeout):
    s = socket.socket()
    s.settimeout(timeout)
    try:
        s.connect(to)
        s.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n" % path).encode())
        head = s.recv(64).decode(errors="replace")
        print(head.split(" ")[1] if head.startswith("HTTP/") else "000")
    except OSError:
        print("000")


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "upstream":
        upstream(int(sys.argv[2]), sys.argv[3])
    elif cmd == "hold":
        hold(addr(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]))
    elif cmd == "get":
        get(addr(sys.argv[2]), sys.argv[3], float(sys.argv[4]))
