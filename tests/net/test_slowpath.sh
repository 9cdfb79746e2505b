#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A capacity step without loss: uplink 1 drops from 4 to 1 Mbit/s under a
# 6 Mbit/s stream. Its 50 kB router queue can then be 400 ms deep, and the
# data of uplink 0 would wait at the server for it (head-of-line blocking).
# mpstream must follow what the uplinks carry, and either keep uplink 1's
# queue short (the cap on unacknowledged data and the lower rate do that with
# cubic) or set it aside for a while ("slow"); a player at the server, started
# 3 s after the step, must see the latency under 2x the goal of 1 s, and
# nothing lost but frames dropped on purpose.
. "$(dirname "$0")/common.sh"

DURATION=28
STEP_AT=10
lab_up 4mbit || { echo "FAIL: lab"; exit 1; }
ip netns exec "$LAB_SND" "$MPSTREAM" --uplink up0 --uplink up1 --duration $DURATION \
	--bitrate 6M --max-latency 1000 --stats "$LAB_DIR/stats.csv" "$URL" \
	2>"$LAB_DIR/mpstream.log" &
pid=$!
sleep $STEP_AT
lab_rate 1 1mbit || fail "cannot slow up1 down"
sleep 3
probe_start 14 --max-latency 2000 --max-missing 60
wait_stream $pid

# The uplinks' states, from the CSV's total rows (last column).
at=$(awk -F, '$2 == "total" && $18 ~ /up1=slow/ { print $1; exit }' "$LAB_DIR/stats.csv")
if [ -n "$at" ]; then
	echo "figure: up1 set aside $(awk -v a="$STEP_AT" -v b="$at" 'BEGIN { printf "%.1f", b - a }') s after the step (stats at $at s)"
	grep -m1 "uplink up1: slow" "$LAB_DIR/mpstream.log" | sed 's/^/figure: /'
	pass "the slow uplink was set aside"
else
	# Kept: its queue must stay short, or the others' data waits for it.
	rtt1=$(awk -F, -v from=$((STEP_AT + 8)) '$3 == "up1" && $1 > from && $9 > 0 { print $9 }' "$LAB_DIR/stats.csv" |
		sort -n | awk '{ v[NR] = $1 } END { if (NR) printf "%.0f", v[int((NR + 1) / 2)]; else print "none" }')
	echo "figure: up1 kept; its median RTT from 8 s after the step: $rtt1 ms (its full queue: 400 ms)"
	[ "$rtt1" != none ] && [ "$rtt1" -lt 300 ] && pass "up1 kept with a short queue" ||
		fail "up1 neither set aside nor its queue short (median RTT $rtt1 ms)"
fi
# The rate follows the 5 Mbit/s left (less audio and overhead), from 5 s after the step.
mean=$(awk -F, -v from=$((STEP_AT + 5)) '$2 == "total" && $1 > from && $11 != "" { s += $11; n++ } END { if (n) printf "%.0f", s / n / 1000; else print 0 }' "$LAB_DIR/stats.csv")
echo "figure: mean target from 5 s after the step: $mean kbit/s (the uplinks: 5000)"
[ "$mean" -ge 2000 ] && [ "$mean" -le 5000 ] && pass "the rate follows the capacity" ||
	fail "mean target $mean kbit/s after the step (want 2000 to 5000)"
! awk -F, '$2 == "total" && $18 ~ /up0=slow/ { f = 1 } END { exit !f }' "$LAB_DIR/stats.csv" &&
	pass "the fast uplink stayed" || fail "up0 set aside"
check_lost_only_dropped
echo "figure: probe: $(cat "$LAB_DIR/probe.out")"
[ "$prc" = 0 ] && pass "probe: latency under 2000 ms from 3 s after the step on" || fail "probe exit $prc"
check_no_key "$LAB_DIR/mpstream.log" "$LAB_DIR/probe.log"
finish
