#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A server that does not speak MPTCP (nginx-rtmp not under mptcpize): the
# connection is plain TCP over one uplink. mpstream says which, and when that
# uplink is cut, it reconnects over the other one rather than knocking on the
# dead one again: the stream goes on (issue 14). Read from the --stats CSV:
# the uplink of the connection's one path, before and after.
. "$(dirname "$0")/common.sh"

LAB_NGINX_PLAIN=1 lab_up 4mbit || { echo "FAIL: lab"; exit 1; }
DURATION=40
ip netns exec "$LAB_SND" "$MPSTREAM" -u up0 -u up1 -b 1500k --duration "$DURATION" \
	--stats "$LAB_DIR/stats.csv" --stats-interval 0.5 "$URL" 2>"$LAB_DIR/mpstream.log" &
pid=$!
sleep 2
probe_start $((DURATION - 3)) --max-gap 30000 --max-missing 100000 --timeout 20
sleep 6
# The one path's uplink, from the CSV's subflow rows (not the total's).
path_uplinks() { awk -F, -v from="$1" '$1 >= from && $2 != "total" && $2 != "subflow" && $3 != "" { print $3 }' "$LAB_DIR/stats.csv" | sort | uniq -c | tr '\n' ' '; }
before=$(path_uplinks 0)
echo "figure: before the cut, rows per uplink: $before"
[ "$(awk -F, '$2 != "total" && $2 != "subflow" && $3 != "" { print $3 }' "$LAB_DIR/stats.csv" | sort -u)" = up0 ] &&
	pass "plain TCP: one path, over up0" || fail "paths before the cut: $before"
grep -q "plain TCP.*over uplink up0 from 10.1.0.2" "$LAB_DIR/mpstream.log" && pass "the log names the uplink in use" || fail "no line naming the uplink"

lab_cut 0
cut=$(date +%s%3N)
t_cut=$(awk -F, 'END { print $1 }' "$LAB_DIR/stats.csv")
b1=$(lab_tx_bytes 1)
back=none
for i in $(seq 1 300); do
	sleep 0.1
	if [ $(($(lab_tx_bytes 1) - b1)) -gt 300000 ]; then back=$(($(date +%s%3N) - cut)); break; fi
done
echo "figure: up0 cut: the stream runs over up1 ${back} ms later (the server drops the old publish after 5 s)"
[ "$back" != none ] && pass "the stream goes on over up1" || fail "the stream did not move to up1"
sleep 6
after=$(path_uplinks "$t_cut")
echo "figure: after the cut, rows per uplink: $after"
echo "$after" | grep -q " up1" && pass "the CSV shows the path over up1" || fail "no path over up1 after the cut: $after"
attempts=$(grep -c "reconnect attempt" "$LAB_DIR/mpstream.log")
echo "figure: $attempts reconnect attempt(s)"
grep -q "reconnect attempt 1 to" "$LAB_DIR/mpstream.log" && ! grep -q "reconnect attempt 1 failed: Connection timed out" "$LAB_DIR/mpstream.log" &&
	pass "the first attempt did not go over the dead uplink" || fail "the first reconnect attempt timed out (over the dead uplink?)"
wait "$pid"
rc=$?
wait "$probe"
[ "$rc" = 0 ] && pass "mpstream exited 0" || fail "mpstream exited $rc"
echo "figure: probe: $(cat "$LAB_DIR/probe.out")"
read -r frames dur gap <<<"$(lab_flv_summary "$LAB_DIR/rec/$KEY.flv")"
echo "figure: the last recording: ${frames:-0} frames, ${dur:-0} s"
[ "${frames:-0}" -ge 300 ] && pass "the stream after the cut was recorded (${frames} frames)" || fail "recording after the cut: ${frames:-0} frames"
check_no_key "$LAB_DIR/mpstream.log"
finish
