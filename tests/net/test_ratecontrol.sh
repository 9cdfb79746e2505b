#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Rate control: a stream started above what one uplink carries (6 Mbit/s over
# two 4 Mbit/s uplinks) loses uplink 0 at 10 s. The bit rate must come down
# within the remaining capacity and the latency seen by a player at the server
# must come back under a bound: `mpstream probe --max-latency`, started 3 s
# after the cut, with 2x the goal (2000 ms) as the bound.
. "$(dirname "$0")/common.sh"

DURATION=32
CUT_AT=10
lab_up 4mbit || { echo "FAIL: lab"; exit 1; }
t0=$(date +%s.%N)
ip netns exec "$LAB_SND" "$MPSTREAM" --uplink up0 --uplink up1 --duration $DURATION \
	--bitrate 6M --max-latency 1000 --stats-interval "${STATS_INTERVAL:-0.5}" --stats "$LAB_DIR/stats.csv" "$URL" \
	2>"$LAB_DIR/mpstream.log" &
pid=$!
sleep $CUT_AT
lab_cut 0 || fail "cannot cut up0"
cut_s=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
sleep 3
# Frames mpstream drops on purpose to cut the delay are missing at the probe: up to 2 s of them.
probe_start 16 --max-latency 2000 --max-missing 60
wait_stream $pid

csv="$LAB_DIR/stats.csv"
# Before the cut the stream ran above what one uplink carries, so the cut must bring it down.
before=$(awk -F, -v c="$cut_s" '$2 == "total" && $1 > c - 3 && $1 <= c && $11 > m { m = $11 } END { printf "%d", m }' "$csv")
echo "figure: highest target in the 3 s before the cut: $before bit/s"
[ "$before" -ge 4000000 ] && pass "before the cut: above one uplink's capacity" || fail "before the cut: only $before bit/s"
# After it: the first time the target is within the remaining ~3.8 Mbit/s of payload.
within=$(awk -F, -v c="$cut_s" '$2 == "total" && $1 > c && $11 != "" && $11 + 140000 <= 3800000 { printf "%.2f", $1 - c; exit }' "$csv")
echo "figure: bit rate within the remaining capacity ${within:-never} s after the cut (goal 2 s)"
[ -n "$within" ] && awk -v w="$within" 'BEGIN { exit !(w <= 6) }' &&
	pass "bit rate within the remaining capacity (generous bound 6 s)" || fail "bit rate not within the remaining capacity"
late=$(awk -F, -v c="$cut_s" '$2 == "total" && $1 > c + 8 && $11 != "" { s += $11; n++ } END { printf "%d", n ? s / n : 0 }' "$csv")
echo "figure: mean target from 8 s after the cut on: $late bit/s"
[ "$late" -ge 1500000 ] && pass "it did not collapse: at least 1.5 Mbit/s on one 4 Mbit/s uplink" || fail "collapsed to $late bit/s"
grep -E "bit rate [0-9.]+ Mbit/s: " "$LAB_DIR/mpstream.log" | head -3 | sed 's/^/figure: /'
check_lost_only_dropped

echo "figure: probe: $(cat "$LAB_DIR/probe.out")"
[ "$prc" = 0 ] && pass "probe: latency under 2000 ms from 3 s after the cut on" || fail "probe exit $prc"
check_no_key "$LAB_DIR/mpstream.log" "$LAB_DIR/probe.log"
finish
