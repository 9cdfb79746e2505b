#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The page's per-host connection limit over IPv6 (issue 28, item 4): one host
# on the van's Wi-Fi has a /64 of addresses, and libmicrohttpd counts each
# address apart. In a private network namespace of its own (unshare -n: it
# goes with this script, nothing to clean up), with fd00:64::/64 and
# fd00:65::1 on lo, mpstream in standby serves --http [::]:PORT; 20
# connections come from 20 addresses of fd00:64::/64 and send half a
# request; then the operator asks from fd00:65::1.
#   tests/hostile/web6.sh PATH/TO/mpstream
# Before: all 20 held (the /64 could take all 256 connections); now 8, the
# others closed at once with a log line, and the operator is answered.
if [ -z "${MPS_IN_NETNS:-}" ]; then
	MPS_IN_NETNS=1 exec unshare -n "$0" "$@" || exit 77
fi
. "$(dirname "$0")/common.sh"
bin=$1

ip link set lo up
ip -6 addr add fd00:65::1/128 dev lo nodad
for i in $(seq 10 29); do ip -6 addr add "fd00:64::$i/128" dev lo nodad; done
P=$(free_port)
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$T/token"
chmod 600 "$T/token"
"$bin" --standby --http "[::]:$P" --http-token-file "$T/token" rtmp://127.0.0.1:1/live/k \
	2>"$T/mpstream.log" &
PIDS+=($!)
wait_for "$T/mpstream.log" "standby: waiting" || fail "mpstream did not start: $(cat "$T/mpstream.log")"

# 20 connections from one /64, each half a request; how many the server kept after 1 s.
python3 - "$P" >"$T/held" <<'PY' &
import socket, sys, time
port = int(sys.argv[1])
socks = []
for i in range(10, 30):
    s = socket.socket(socket.AF_INET6)
    s.bind(("fd00:64::%d" % i, 0))
    s.settimeout(2)
    try:
        s.connect(("fd00:65::1", port))
        s.send(b"GET /api/status HTTP/1.1\r\n")
        socks.append(s)
    except OSError:
        pass
time.sleep(1)
alive = 0
for s in socks:
    s.setblocking(False)
    try:
        alive += 0 if s.recv(1) == b"" else 1
    except BlockingIOError:
        alive += 1
    except OSError:
        pass
print(alive, flush=True)
time.sleep(3)  # still held while the operator asks
PY
clients=$!
sleep 2
code=$(curl -gs -o /dev/null -w '%{http_code}' -m 5 --interface fd00:65::1 \
	-H "Authorization: Bearer $(cat "$T/token")" "http://[fd00:65::1]:$P/api/status")
wait "$clients"
held=$(cat "$T/held")
echo "figure: of 20 connections from fd00:64::/64, $held held; the operator from fd00:65::1 got $code"
[ "$held" -le 8 ] && pass "one /64 holds at most 8 connections ($held)" ||
	fail "one /64 held $held connections (8 a host)"
[ "$code" = 200 ] && pass "the operator from another host is answered: $code" ||
	fail "the operator from another host: $code"
grep -q "refused a connection from fd00:64::/64" "$T/mpstream.log" &&
	pass "a log line names the /64" || fail "no log line for the /64: $(grep -m2 warn "$T/mpstream.log")"
exit $((FAILS > 0))
