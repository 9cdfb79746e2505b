#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# mpstream relay in front of an ingest that does not speak MPTCP:
# 1. mpstream -> relay (MPTCP, both uplinks) -> nginx-rtmp NOT under mptcpize;
#    uplink 0 is cut mid-stream; the recording is complete, without a gap.
# 2. 50 connections at once carrying random data, each checked end to end.
# 3. The upstream resetting one connection, then refusing: those clients are
#    closed with a log line; the relay keeps serving the others.
# 4. --max-conn: the connection over the limit is closed with a log line.
# 5. An upstream that never answers (blackholed): the relay sleeps while the
#    connect is pending (its CPU time, from /proc), and --connect-timeout
#    closes the client with a log line.
# 6. Silent clients that take every place of --max-conn are closed after
#    --handshake-timeout, and a real client gets through.
# 7. --listen without an address: one socket for IPv6 and IPv4 clients.
# 8. --to by name, the name moved to another address: followed.
. "$(dirname "$0")/common.sh"
PEER=${RELAY_PEER:?RELAY_PEER: the relay_peer test tool}

LAB_NGINX_PLAIN=1 lab_up 4mbit || { echo "FAIL: lab"; exit 1; }
lab_in_srv ss -Hltnp 'sport = :1935' | grep -q nginx || fail "nginx is not listening"
start_relay() { # start_relay LOG ARGS...: sets $relay
	local log=$1
	shift
	ip netns exec "$LAB_SRV" "$MPSTREAM" relay --listen "$LAB_SERVER_IP:1940" "$@" 2>"$log" &
	relay=$!
	lab_wait_listen srv 1940 5 && return 0
	fail "the relay did not listen: $(cat "$log")"
}
stop_relay() { kill -TERM "$relay" 2>/dev/null; wait "$relay"; }

# --- 1: a stream through the relay, uplink 0 cut at 8 s.
start_relay "$LAB_DIR/relay.log" --to 127.0.0.1:1935 --stats-interval 2
grep -q "MPTCP limits: subflows 8" "$LAB_DIR/relay.log" && pass "relay: reads the host's MPTCP limits" ||
	fail "relay: no limits line: $(head -3 "$LAB_DIR/relay.log")"
DURATION=20
lab_in_snd "$MPSTREAM" -u up0 -u up1 --duration $DURATION --bitrate 2500k --max-latency 3000 \
	"rtmp://$LAB_SERVER_IP:1940/live/$KEY" 2>"$LAB_DIR/mpstream.log" &
pid=$!
sleep 8
lab_cut 0 || fail "cannot cut up0"
wait $pid
rc=$?
sleep 1
[ "$rc" = 0 ] && pass "mpstream through the relay exited 0" || fail "mpstream exited $rc"
grep -q "streaming over MPTCP" "$LAB_DIR/mpstream.log" && pass "mpstream -> relay is MPTCP" || fail "not MPTCP to the relay"
grep -E "#1 .*relaying to 127.0.0.1:1935 \(MPTCP" "$LAB_DIR/relay.log" | head -1 | sed 's/^/figure: /'
grep -qE "#1 .*in [0-9.]+ Mbit/s, 2 subflows" "$LAB_DIR/relay.log" && pass "relay: the client's 2 subflows seen" ||
	fail "relay: no line with 2 subflows"
grep -E "#1 .*closed after" "$LAB_DIR/relay.log" | sed 's/^/figure: /'
rec="$LAB_DIR/rec/$KEY.flv"
read -r frames dur gap <<<"$(lab_flv_summary "$rec")"
echo "figure: recorded through the relay: ${frames:-0} frames, ${dur:-0} s of $DURATION s, largest timestamp gap ${gap:--} ms"
awk -v d="${dur:-0}" -v w="$DURATION" 'BEGIN { exit !(d >= 0.95 * w - 0.1) }' &&
	pass "the recording is complete" || fail "only ${dur:-0} s recorded"
[ "${gap:-9999}" -le 100 ] && pass "no timestamp gap over 100 ms" || fail "timestamp gap ${gap:-?} ms"
stop_relay
lab_restore 0

# --- 2: 50 connections at once, 2 MB each, through a checksum sink. The
#        clients run in the router's namespace, where nothing limits the rate.
ip netns exec "$LAB_SRV" "$PEER" sink 1950 &
sink=$!
sleep 0.3
start_relay "$LAB_DIR/relay2.log" --to 127.0.0.1:1950 --max-conn 64
t0=$(date +%s.%N)
lab_in_rtr "$PEER" send "$LAB_SERVER_IP" 1940 50 2000000 >"$LAB_DIR/peer.out" 2>&1
prc=$?
t1=$(date +%s.%N)
tail -1 "$LAB_DIR/peer.out" | sed 's/^/figure: /'
echo "figure: 100 MB through the relay in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"
[ "$prc" = 0 ] && pass "50 concurrent connections: every byte arrived, in order (checksums)" ||
	fail "checksums: $(grep bad "$LAB_DIR/peer.out" | head -3)"
closed=$(grep -c "closed after" "$LAB_DIR/relay2.log")
[ "$closed" = 50 ] && pass "relay: 50 connections logged as closed cleanly" || fail "relay: $closed closed lines"
grep -q " warn " "$LAB_DIR/relay2.log" && fail "relay: warnings: $(grep " warn " "$LAB_DIR/relay2.log" | head -2)"

# --- 3: the upstream resets one connection (its first byte is 'K'); the others go on.
lab_in_rtr "$PEER" send "$LAB_SERVER_IP" 1940 5 500000 K >"$LAB_DIR/peer3.out" 2>&1
ok=$(grep -c '^ok' "$LAB_DIR/peer3.out")
grep -q '^bad 0' "$LAB_DIR/peer3.out" && [ "$ok" = 4 ] &&
	pass "upstream reset one connection: it was closed, the 4 others checked out" ||
	fail "reset: $(cat "$LAB_DIR/peer3.out")"
grep -qE "closed: (upstream: )?(Connection reset by peer|Broken pipe)" "$LAB_DIR/relay2.log" &&
	pass "relay: the reset logged: $(grep -oE "closed: (upstream: )?(Connection reset by peer|Broken pipe)" "$LAB_DIR/relay2.log" | head -1)" ||
	fail "relay: no line for the reset"
# ... and refuses: the sink is gone.
kill "$sink"
wait "$sink" 2>/dev/null
lab_in_rtr "$PEER" send "$LAB_SERVER_IP" 1940 1 1000 >"$LAB_DIR/peer4.out" 2>&1
grep -q '^bad 0' "$LAB_DIR/peer4.out" && pass "upstream refusing: the client's connection was closed" ||
	fail "refusing: $(cat "$LAB_DIR/peer4.out")"
grep -q "upstream 127.0.0.1:1950: Connection refused" "$LAB_DIR/relay2.log" &&
	pass "relay: logged the refusal" || fail "relay: no refusal line"
kill -0 "$relay" 2>/dev/null && pass "the relay keeps serving" || fail "the relay died"
ip netns exec "$LAB_SRV" "$PEER" sink 1950 &
sink=$!
sleep 0.3
lab_in_rtr "$PEER" send "$LAB_SERVER_IP" 1940 3 100000 >"$LAB_DIR/peer5.out" 2>&1 &&
	pass "the sink back: connections through the same relay check out" || fail "after: $(cat "$LAB_DIR/peer5.out")"
stop_relay

# --- 4: --max-conn 5 against 8 clients at once.
start_relay "$LAB_DIR/relay3.log" --to 127.0.0.1:1950 --max-conn 5
lab_in_rtr "$PEER" send "$LAB_SERVER_IP" 1940 8 20000000 >"$LAB_DIR/peer6.out" 2>&1
ok=$(grep -c '^ok' "$LAB_DIR/peer6.out")
refused=$(grep -c "refused, 5 connections already (--max-conn)" "$LAB_DIR/relay3.log")
echo "figure: --max-conn 5, 8 clients: $ok checked out, $refused refused"
[ "$refused" -ge 1 ] && [ $((ok + refused)) = 8 ] && pass "--max-conn: the ones over were closed with a log line" ||
	fail "--max-conn: ok $ok, refused $refused"
stop_relay
kill "$sink"
wait "$sink" 2>/dev/null
grep -q "stopped" "$LAB_DIR/relay3.log" && pass "relay: stops cleanly on SIGTERM" || fail "relay: no clean stop"

# --- 5: the ingest blackholed; a client sends RTMP's C0+C1 and waits.
lab_in_srv nft add table inet hole
lab_in_srv nft add chain inet hole in '{ type filter hook input priority 0; policy accept; }'
lab_in_srv nft add rule inet hole in tcp dport 1960 drop
start_relay "$LAB_DIR/relay4.log" --to 127.0.0.1:1960 --connect-timeout 4
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$relay/stat"; }
lab_in_rtr bash -c "exec 3<>/dev/tcp/$LAB_SERVER_IP/1940; head -c 1537 /dev/zero >&3; cat <&3 >/dev/null; echo closed \$SECONDS" \
	>"$LAB_DIR/client.out" 2>&1 &
client=$!
sleep 0.5
before=$(cpu_ticks)
sleep 3
used=$(($(cpu_ticks) - before))
echo "figure: relay CPU with an upstream connect pending: $used of $((3 * $(getconf CLK_TCK))) ticks in 3 s"
[ "$used" -le 30 ] && pass "relay: asleep while the upstream connect is pending" || fail "relay: $used CPU ticks in 3 s"
wait "$client"
grep -q "closed" "$LAB_DIR/client.out" && pass "the client was closed: after $(awk '/^closed/ {print $2}' "$LAB_DIR/client.out") s" ||
	fail "client: $(cat "$LAB_DIR/client.out")"
grep -q "upstream 127.0.0.1:1960: no answer within 4.0 s" "$LAB_DIR/relay4.log" &&
	pass "relay: logged the timeout" || fail "relay: no timeout line: $(tail -2 "$LAB_DIR/relay4.log")"
stop_relay

# --- 6: five connections that never send, against --max-conn 5.
ip netns exec "$LAB_SRV" "$PEER" sink 1950 &
sink=$!
start_relay "$LAB_DIR/relay5.log" --to 127.0.0.1:1950 --max-conn 5 --handshake-timeout 2
silent=()
for i in 1 2 3 4 5; do
	lab_in_rtr bash -c "exec 3<>/dev/tcp/$LAB_SERVER_IP/1940; sleep 8" 2>/dev/null &
	silent+=($!)
done
sleep 1
lab_in_rtr "$PEER" send "$LAB_SERVER_IP" 1940 1 1000 >"$LAB_DIR/peer7.out" 2>&1
grep -q "refused, 5 connections already" "$LAB_DIR/relay5.log" &&
	pass "the silent clients hold every place at first" || fail "no lockout to begin with?"
sleep 2.5
lab_in_rtr "$PEER" send "$LAB_SERVER_IP" 1940 1 100000 >"$LAB_DIR/peer8.out" 2>&1 &&
	pass "after the handshake timeout a real client gets through" || fail "still locked out: $(cat "$LAB_DIR/peer8.out")"
silent=$(grep -c "no handshake within 2.0 s (0 bytes from the client" "$LAB_DIR/relay5.log")
echo "figure: $silent silent connections closed after 2 s"
[ "$silent" = 5 ] && pass "the silent clients were closed with a log line" || fail "$silent silent clients closed"
stop_relay
wait "${silent[@]}"

# --- 7: --listen PORT alone: every address, IPv6 and IPv4, on one socket.
ip netns exec "$LAB_SRV" "$MPSTREAM" relay --listen 1941 --to 127.0.0.1:1950 2>"$LAB_DIR/relay7.log" &
relay=$!
lab_wait_listen srv 1941 5
grep -q "listening on \[::\]:1941" "$LAB_DIR/relay7.log" && pass "relay: listens on [::]:1941" ||
	fail "relay: $(head -2 "$LAB_DIR/relay7.log")"
lab_in_srv "$PEER" send ::1 1941 3 200000 >"$LAB_DIR/peer9.out" 2>&1 &&
	lab_in_srv "$PEER" send 127.0.0.1 1941 3 200000 >>"$LAB_DIR/peer9.out" 2>&1 &&
	pass "relay on [::]: clients over IPv6 and IPv4 relayed, checksums right" ||
	fail "dual stack: $(grep -v '^ok' "$LAB_DIR/peer9.out" | head -3)"
stop_relay

# --- 8: --to by name, and the name moves: the relay follows it (resolved
#        again after each connection, in the background).
mkdir -p "/etc/netns/$LAB_SRV"
echo "127.0.0.1 ingest.test" >"/etc/netns/$LAB_SRV/hosts"
ip netns exec "$LAB_SRV" "$MPSTREAM" relay --listen "$LAB_SERVER_IP:1942" --to ingest.test:1950 \
	2>"$LAB_DIR/relay8.log" &
relay=$!
lab_wait_listen srv 1942 5
lab_in_rtr "$PEER" send "$LAB_SERVER_IP" 1942 1 100000 >"$LAB_DIR/peer10.out" 2>&1 || fail "by name: $(cat "$LAB_DIR/peer10.out")"
echo "$LAB_SERVER_IP ingest.test" >"/etc/netns/$LAB_SRV/hosts"
lab_in_rtr "$PEER" send "$LAB_SERVER_IP" 1942 1 100000 >>"$LAB_DIR/peer10.out" 2>&1
sleep 0.5
lab_in_rtr "$PEER" send "$LAB_SERVER_IP" 1942 1 100000 >>"$LAB_DIR/peer10.out" 2>&1 ||
	fail "after the move: $(tail -2 "$LAB_DIR/peer10.out")"
grep -E "now at|accepted" "$LAB_DIR/relay8.log" | cut -d' ' -f3- | sed 's/^/figure: /'
grep -q "the ingest is now at $LAB_SERVER_IP:1950 (was 127.0.0.1:1950)" "$LAB_DIR/relay8.log" &&
	grep -qE "#3 .*accepted .*to $LAB_SERVER_IP:1950" "$LAB_DIR/relay8.log" &&
	pass "relay: the ingest's new address followed, from the next connection" ||
	fail "relay: the new address not followed: $(grep -E 'now at|accepted' "$LAB_DIR/relay8.log" | tail -3)"
stop_relay
kill "$sink"
wait "$sink" 2>/dev/null
check_no_key "$LAB_DIR/mpstream.log" "$LAB_DIR/relay.log"
finish
