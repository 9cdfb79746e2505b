#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The operator's page and the metrics against trickling clients (issue 28,
# item 4), on loopback, with mpstream in standby (no uplink, no connection):
#   tests/hostile/web.sh PATH/TO/mpstream
# 70 connections to --http and 66 to --metrics, from 127.0.0.2 to .11 (7 a
# host), each sending one byte of a request every second: the operator's
# reads from 127.0.0.1 are still answered at once, and the trickling
# connections are closed at the request deadline (10 s) with a log line.
# Before: libmicrohttpd's 64 connections were all taken and its timeout
# restarted on every byte, so every request timed out for as long as they
# went on.
. "$(dirname "$0")/common.sh"
bin=$1

P=$(free_port)
M=$(free_port)
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$T/token"
chmod 600 "$T/token"
"$bin" --standby --http "127.0.0.1:$P" --metrics "127.0.0.1:$M" --http-token-file "$T/token" \
	rtmp://127.0.0.1:1/live/k 2>"$T/mpstream.log" &
PIDS+=($!)
wait_for "$T/mpstream.log" "standby: waiting" || fail "mpstream did not start"

trickle() { # trickle PORT N: N connections 7 a host, a byte a second for 16 s; how many lived
	python3 - "$1" "$2" <<'PY'
import socket, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
req = b"GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X-Slow: a\r\n" * 100
socks = []
for i in range(n):
    s = socket.socket()
    s.bind(("127.0.0.%d" % (2 + i // 7), 0))
    s.settimeout(2)
    try:
        s.connect(("127.0.0.1", port))
        socks.append(s)
    except OSError:
        pass
for t in range(16):
    for s in list(socks):
        try:
            s.send(req[t:t + 1])
        except OSError:
            socks.remove(s)
    time.sleep(1)
# Alive: no end seen (a read would block).
alive = 0
for s in socks:
    s.setblocking(False)
    try:
        alive += s.recv(1) == b"" and 0
    except BlockingIOError:
        alive += 1
    except OSError:
        pass
print(alive)
PY
}
trickle "$P" 70 >"$T/http.alive" &
A=$!
trickle "$M" 66 >"$T/metrics.alive" &
B=$!
sleep 3
code=$($CLIENTS get "127.0.0.1:$P" /api/status 5)
[ "$code" = 200 ] && pass "the page's API answers while 70 connections trickle: $code" ||
	fail "the operator is locked out of the API: $code"
code=$($CLIENTS get "127.0.0.1:$M" /metrics 5)
[ "$code" = 200 ] && pass "--metrics answers while 66 connections trickle: $code" ||
	fail "--metrics scrapes are locked out: $code"
wait "$A" "$B"
echo "figure: trickling connections alive after 16 s: $(cat "$T/http.alive") of 70 (--http), $(cat "$T/metrics.alive") of 66 (--metrics)"
[ "$(cat "$T/http.alive")" = 0 ] && [ "$(cat "$T/metrics.alive")" = 0 ] &&
	pass "every trickling connection closed at the request deadline" ||
	fail "trickling connections held on past the deadline"
grep -q "no whole request within 10 s" "$T/mpstream.log" && pass "a log line for them" ||
	fail "no log line for the trickling connections"
exit $((FAILS > 0))
