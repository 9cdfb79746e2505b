#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The relay against hostile clients (issue 28, items 3 and 4), on loopback:
#   tests/hostile/relay.sh PATH/TO/mpstream
# 1. Under `ulimit -n 128`, --max-conn 200 and 60 clients: --max-conn is
#    lowered to what fits, in one line, and the relay does not spin (before:
#    accept4 failed with EMFILE on a level-triggered listener, a core's worth
#    of CPU and a log line per wake-up).
# 2. --max-conn 4: four clients trickling a byte every 0.3 s from four
#    addresses are closed by the handshake deadline, and a fifth gets in.
. "$(dirname "$0")/common.sh"
bin=$1

UP=$(free_port)
$CLIENTS upstream "$UP" "$T/up.count" &
PIDS+=($!)
sleep 0.3

# --- 1. The descriptor limit. accept4 fails only when not one descriptor is
# free, which depends on the limit modulo 6 (a connection's descriptors): six
# limits in a row.
for k in 0 1 2 3 4 5; do
	P=$(free_port)
	(
		ulimit -n $((100 + k))
		exec "$bin" relay --listen "127.0.0.1:$P" --to "127.0.0.1:$UP" --max-conn 200
	) 2>"$T/relay1.log" &
	R=$!
	PIDS+=($R)
	wait_for "$T/relay1.log" "listening on"
	grep -q -- "--max-conn 200 needs about [0-9]* descriptors.* at most [0-9]* connections" \
		"$T/relay1.log" || fail "--max-conn 200 under ulimit -n $((100 + k)): no line about the limit"
	t0=$(cpu_ticks "$R")
	$CLIENTS hold "127.0.0.1:$P" 40 1.5 >"$T/held1"
	t1=$(cpu_ticks "$R")
	lines=$(wc -l <"$T/relay1.log")
	echo "figure: ulimit -n $((100 + k)), 40 clients held 1.5 s: $((t1 - t0)) ticks of CPU (1/100 s), $lines log lines"
	[ $((t1 - t0)) -lt 40 ] || fail "ulimit -n $((100 + k)): the relay spun: $((t1 - t0)) ticks in 1.5 s"
	[ "$lines" -lt 200 ] || fail "ulimit -n $((100 + k)): $lines log lines in 1.5 s"
	kill "$R"
	wait "$R" 2>/dev/null
done
[ "$FAILS" = 0 ] && pass "under ulimit -n 100 to 105: --max-conn lowered in one line, no spin, a short log"

# --- 2. Trickling clients and the handshake deadline.
P=$(free_port)
"$bin" relay --listen "127.0.0.1:$P" --to "127.0.0.1:$UP" --max-conn 4 --handshake-timeout 1 \
	2>"$T/relay2.log" &
R=$!
PIDS+=($R)
wait_for "$T/relay2.log" "listening on"
before=$(cat "$T/up.count")
# Four clients, one from each of 127.0.0.2 to .5, a byte every 0.3 s for 8 s.
for i in 0 1 2 3; do
	python3 -c "
import socket, time
s = socket.socket(); s.bind(('127.0.0.$((2 + i))', 0)); s.connect(('127.0.0.1', $P))
end = time.time() + 8
while time.time() < end:
    try: s.send(b'x')
    except OSError: break
    time.sleep(0.3)
" &
	PIDS+=($!)
done
# All four relayed (the upstream has them), then past their deadline.
for _ in $(seq 50); do
	[ "$(cat "$T/up.count")" -ge $((before + 4)) ] && break
	sleep 0.1
done
sleep 1.5
$CLIENTS hold "127.0.0.1:$P" 1 1 >/dev/null
sleep 0.3
after=$(cat "$T/up.count")
echo "figure: the upstream saw $((after - before)) connections (4 tricklers, then one more)"
[ "$((after - before))" -ge 5 ] && pass "a client gets in after trickling clients held --max-conn 4" ||
	fail "locked out: the fifth client never reached the upstream"
grep -q "no handshake within 1.0 s" "$T/relay2.log" && pass "the trickling clients closed with a log line" ||
	fail "no log line for the trickling clients"
exit $((FAILS > 0))
