#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Type a SIM PIN into the operator's page in a running headless Chromium (for netns_modem_page).

    page_pin.py PORT URL UPLINK PIN

Chromium runs with --remote-debugging-port=PORT; this speaks the DevTools
protocol to it over a WebSocket (a client of a few lines here: Debian 12's
python3 has none in the standard library). It loads URL (the page, with
#token=...), waits for UPLINK's card to show its PIN form, types PIN into the
field and submits the form as a person would (requestSubmit()), then waits
for the answer next to the field. Prints one JSON object: the field's value
right after the submit, the answer, the attempts left the card shows once
polled again, and whether the PIN is anywhere in the DOM or in localStorage.
"""
import base64
import json
import os
import socket
import struct
import sys
import time
import urllib.request
from urllib.parse import urlparse


class WebSocket:
    """A WebSocket client, text frames only (RFC 6455): what DevTools needs."""

    def __init__(self, url):
        u = urlparse(url)
        self.sock = socket.create_connection((u.hostname, u.port), timeout=15)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {u.path} HTTP/1.1\r\nHost: {u.hostname}:{u.port}\r\n"
                           f"Upgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
                          .encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise EOFError("DevTools closed the connection")
            head += chunk
        head, self.buf = head.split(b"\r\n\r\n", 1)
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise RuntimeError("no WebSocket: " + head.split(b"\r\n")[0].decode())

    def send(self, text):
        data, mask = text.encode(), os.urandom(4)
        n = len(data)
        head = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else
                                bytes([0x80 | 126]) + struct.pack(">H", n) if n < 65536 else
                                bytes([0x80 | 127]) + struct.pack(">Q", n))
        self.sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("DevTools closed the connection")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv(self):
        msg = b""
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7f
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            data = self._read(n)  # a server's frames are not masked
            if b0 & 0x0f in (0x9, 0xa):  # ping, pong
                continue
            msg += data
            if b0 & 0x80:
                return msg.decode()


class DevTools:
    def __init__(self, ws):
        self.ws, self.n = ws, 0

    def call(self, method, **params):
        self.n += 1
        self.ws.send(json.dumps({"id": self.n, "method": method, "params": params}))
        while True:
            m = json.loads(self.ws.recv())
            if m.get("id") == self.n:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})

    def eval(self, expr):
        r = self.call("Runtime.evaluate", expression=expr, awaitPromise=True, returnByValue=True)
        return r.get("result", {}).get("value")

    def until(self, expr, bound_s=10.0):
        end = time.monotonic() + bound_s
        while time.monotonic() < end:
            v = self.eval(expr)
            if v:
                return v
            time.sleep(0.1)
        raise RuntimeError(f"not within {bound_s} s: {expr}")


def page_target(port):
    end = time.monotonic() + 15
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=2) as r:
                pages = [t for t in json.load(r) if t.get("type") == "page"]
            if pages:
                return pages[0]["webSocketDebuggerUrl"]
        except OSError:
            pass
        if time.monotonic() > end:
            raise RuntimeError("Chromium's DevTools did not answer")
        time.sleep(0.2)


def main():
    port, url, uplink, pin = sys.argv[1:5]
    dt = DevTools(WebSocket(page_target(port)))
    dt.call("Page.enable")
    dt.call("Page.navigate", url=url)
    card = json.dumps(f"#uplink-{uplink} .pinform")
    dt.until(f"(() => {{ const f = document.querySelector({card}); return f && !f.hidden; }})()")
    after = dt.eval(f"""(() => {{
        const f = document.querySelector({card}), field = f.querySelector(".pin");
        field.focus();
        field.value = {json.dumps(pin)};
        f.requestSubmit();
        return field.value;
    }})()""")
    answer = dt.until(f"""(() => {{
        const a = document.querySelector({card}).querySelector(".answer").textContent;
        return a && a !== "sent…" ? a : "";
    }})()""")
    # The card polled again after the answer: the attempts left it shows by then.
    time.sleep(1.5)
    facts = dt.eval(f"""(() => {{
        const f = document.querySelector({card});
        return {{ left: f.querySelector(".left").textContent,
                 field: f.querySelector(".pin").value,
                 in_dom: document.documentElement.outerHTML.includes({json.dumps(pin)}),
                 in_storage: JSON.stringify(Object.assign({{}}, localStorage)).includes(
                     {json.dumps(pin)}),
                 type: f.querySelector(".pin").type }};
    }})()""")
    facts.update(after_submit=after, answer=answer)
    print(json.dumps(facts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
