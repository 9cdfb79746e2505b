#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A capacity step without loss: uplink 1 drops from 4 to 1 Mbit/s under a
# 6 Mbit/s stream. Its 50 kB router queue is then 400 ms deep, and the data
# of uplink 0 waits at the server for it (head-of-line blocking). mpstream must
# set uplink 1 aside for a while ("slow") and follow what uplink 0
# carries; a player at the server, started 3 s after the step, must see the
# latency under 2x the goal of 1 s, and nothing lost but frames dropped on
# purpose.
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
step=$(date +%s.%N)
sleep 3
probe_start 14 --max-latency 2000 --max-missing 60
wait_stream $pid

line=$(grep -m1 "uplink up1: slow" "$LAB_DIR/mpstream.log")
echo "figure: $line"
if [ -n "$line" ]; then
	at=$(date -d "$(echo "$line" | cut -d' ' -f1)" +%s.%N)
	echo "figure: up1 set aside $(awk -v a="$step" -v b="$at" 'BEGIN { printf "%.1f", b - a }') s after the step"
	pass "the slow uplink was set aside"
else
	fail "up1 never set aside"
fi
! grep -q "uplink up0: slow" "$LAB_DIR/mpstream.log" && pass "the fast uplink stayed" ||
	fail "up0 set aside"
check_lost_only_dropped
echo "figure: probe: $(cat "$LAB_DIR/probe.out")"
[ "$prc" = 0 ] && pass "probe: latency under 2000 ms from 3 s after the step on" || fail "probe exit $prc"
check_no_key "$LAB_DIR/mpstream.log" "$LAB_DIR/probe.log"
finish
