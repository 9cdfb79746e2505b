#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A total outage (both uplinks blackholed for 5 s) and a server restart (nginx
# killed, started again 2 s later): mpstream reconnects each time, and the
# server records a new part that starts soon after the way is free again.
. "$(dirname "$0")/common.sh"

LAB_RECORD_UNIQUE=on # one recording per publish: KEY-<time>.flv
lab_up 4mbit || { echo "FAIL: lab"; exit 1; }
ms_of_day() { date +%s%3N; }
started=$(ms_of_day)
ip netns exec "$LAB_SND" "$MPSTREAM" --uplink up0 --uplink up1 --duration 32 \
	--stats "$LAB_DIR/stats.csv" --stats-interval 0.5 "$URL" 2>"$LAB_DIR/mpstream.log" &
pid=$!

# reconnected WHAT FREE_MS N: the stats CSV counts reconnect N (its reconnects
# column) within 6 s (2x the goal) of FREE_MS, when the way to the server was
# free again. Its times count from mpstream's start, a little after $started.
reconnected() {
	local t
	t=$(awk -F, -v n="$3" '$2 == "total" && $17 != "" && $17 >= n { printf "%.0f", $1 * 1000; exit }' "$LAB_DIR/stats.csv")
	if [ -z "$t" ]; then
		fail "$1: no reconnection in the stats"
		return
	fi
	t=$((started + t))
	echo "figure: $1: reconnected (reported) $((t - $2)) ms after the way was free"
	[ $((t - $2)) -le 6000 ] && pass "$1: reconnected within 6 s (2x the goal)" || fail "$1: reconnected after $((t - $2)) ms"
}

sleep 6
lab_cut 0 && lab_cut 1 || fail "cannot cut the uplinks"
sleep 5
lab_restore 0 && lab_restore 1
free1=$(ms_of_day)
sleep 8
reconnected outage "$free1" 1

lab_kill_nginx
sleep 2
free2=$(ms_of_day) # nginx listens within the next 100 ms
lab_start_nginx || fail "nginx did not start again"
sleep 6
reconnected "server restart" "$free2" 2
wait $pid
rc=$?
[ "$rc" = 0 ] && pass "mpstream exited 0" || fail "mpstream exited $rc"
grep -E "connection to .* lost|reconnect attempt|reconnected" "$LAB_DIR/mpstream.log" | cut -c1-140

# Three publishes: three recordings, each decodable, timestamps going on. (A
# publish that nginx refused, because it still held the dead connection's,
# leaves an empty file: not a part.)
n=0
prev_end=0
for f in $(ls "$LAB_DIR"/rec/"$KEY"-*.flv 2>/dev/null | sort); do
	[ -n "$(lab_video_times "$f" | head -1)" ] || { echo "(empty recording $(basename "$f"))"; continue; }
	n=$((n + 1))
	first=$(lab_video_times "$f" | head -1)
	read -r frames dur gap <<<"$(lab_flv_summary "$f")"
	echo "figure: part $n: $frames frames, starts at ${first}s, ${dur}s long, largest gap ${gap} ms"
	[ "$frames" -gt 30 ] && pass "part $n has frames" || fail "part $n: $frames frames"
	awk -v a="$first" -v b="$prev_end" 'BEGIN { exit !(a + 0 >= b) }' &&
		pass "part $n: timestamps go on" || fail "part $n starts at $first, before $prev_end"
	prev_end=$(lab_video_times "$f" | tail -1)
done
[ "$n" = 3 ] && pass "three recorded parts" || fail "$n recorded parts, expected 3"

# --reconnect 0: a lost connection ends the stream with exit 69.
ip netns exec "$LAB_SND" "$MPSTREAM" -u up0 -u up1 --reconnect 0 --duration 20 "$URL" \
	2>"$LAB_DIR/noreconnect.log" &
pid=$!
sleep 4
lab_kill_nginx
wait $pid
rc=$?
[ "$rc" = 69 ] && pass "--reconnect 0: exit 69 when the server goes" || fail "--reconnect 0: exit $rc"
grep -q "not reconnecting" "$LAB_DIR/noreconnect.log" && pass "--reconnect 0: says so" || fail "--reconnect 0: no line"

# --duration ends a stream whose server is gone for good: its duration of wall
# time and SND_DURATION_GRACE_MS (5 s) later, exit 69.
lab_start_nginx || fail "nginx did not start again"
t0=$(ms_of_day)
ip netns exec "$LAB_SND" "$MPSTREAM" -u up0 -u up1 --duration 6 "$URL" 2>"$LAB_DIR/duration.log" &
pid=$!
sleep 3
lab_kill_nginx
wait $pid
rc=$?
took=$(($(ms_of_day) - t0))
echo "figure: --duration 6 with the server gone at 3 s: ended after $took ms, exit $rc"
[ "$rc" = 69 ] && pass "--duration, server gone: exit 69" || fail "--duration, server gone: exit $rc"
[ "$took" -le 20000 ] && pass "--duration, server gone: it ends (within 20 s)" || fail "--duration, server gone: $took ms"
grep -q -- "--duration is over" "$LAB_DIR/duration.log" && pass "--duration, server gone: says so" || fail "--duration: no line"
check_no_key "$LAB_DIR/mpstream.log" "$LAB_DIR/noreconnect.log" "$LAB_DIR/duration.log"
finish
