#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Two recorded cellular uplinks (issue 27): linkem replays Orange's 4G
# uplink (static set A, 2.4 Mbit/s on average) on up0 and T-Mobile's LTE
# uplink (3 Mbit/s at first, climbing) on up1, from mahimahi's recordings,
# with 20 and 15 ms each way, 4 ms of jitter and 150 ms drop-tail queues.
# mpstream at its defaults (rate control, the automatic budget) for 20 s: it must
# run through, lose no frame but those it dropped on purpose, and never stall
# the server for seconds. Its share of the capacity, its latency and the
# frames dropped are printed (the bench measures them against their goals,
# over minutes and several rounds: bench/run --only-recorded).
. "$(dirname "$0")/common.sh"
LINKEM=${LINKEM:?LINKEM: the path of linkem}
TRACES=$(readlink -f "$(dirname "$0")/../../linkem/traces")
command -v ethtool >/dev/null || { echo "FAIL: ethtool is missing (scripts/test installs it)"; exit 1; }

DURATION=20
lab_up 1gbit || { echo "FAIL: lab"; exit 1; }
lab_linkem 0 "mahimahi=$TRACES/orange-4G-A-180s.up,delay=20ms,jitter=4ms,queue=150ms" "delay=20ms,jitter=4ms" \
	--stats-interval 1 --seed 1 || { fail "linkem did not start on up0"; finish; }
lab_linkem 1 "mahimahi=$TRACES/TMobile-LTE-short.up,delay=15ms,jitter=4ms,queue=150ms" "delay=15ms,jitter=4ms" \
	--stats-interval 1 --seed 2 || { fail "linkem did not start on up1"; finish; }
ip netns exec "$LAB_SND" "$MPSTREAM" -u up0 -u up1 --duration $DURATION --stats "$LAB_DIR/stats.csv" \
	"$URL" 2>"$LAB_DIR/mpstream.log" &
pid=$!
sleep 1
probe_start $((DURATION - 2)) --max-gap 5000 --max-missing 100000
wait_stream $pid
lab_linkem_stop 0
lab_linkem_stop 1

# What linkem offered up (kbit/s, its 1 s lines) and what arrived (the probe's 1 s windows), from 4 s on.
cap=$(cat "$LAB_DIR/linkem0.out" "$LAB_DIR/linkem1.out" | awk '$2 == "up" && $1 > 4 && $1 <= 18 {
	sub("rate_kbps=", "", $3); s[$1] += $3 } END { for (t in s) { sum += s[t]; n++ } printf "%.2f", n ? sum / n / 1000 : 0 }')
arr=$(awk -F, 'NR > 1 && $1 > 3 && $1 <= 17 { s += $4; n++ } END { printf "%.2f", n ? s / n / 1e6 : 0 }' "$LAB_DIR/probe.csv")
echo "figure: the recorded uplinks offered $cap Mbit/s from 4 to 18 s, $arr Mbit/s of media arrived" \
	"($(awk -v a="$arr" -v c="$cap" 'BEGIN { if (c > 0) printf "%.0f", 100 * a / c; else printf "-" }') %)"
echo "figure: probe: $(cat "$LAB_DIR/probe.out")"
awk -v a="$arr" -v c="$cap" 'BEGIN { exit !(c > 0 && a > 0.2 * c) }' &&
	pass "the stream uses the recorded uplinks (over a fifth of them; generous)" || fail "only $arr of $cap Mbit/s"
check_lost_only_dropped
gap=$(grep -oE 'longest gap [0-9]+' "$LAB_DIR/probe.out" | grep -oE '[0-9]+')
[ "${gap:-99999}" -le 3000 ] && pass "longest arrival gap $gap ms (bound 3 s)" || fail "arrival gap ${gap:-?} ms"
check_no_key "$LAB_DIR/mpstream.log"
finish
