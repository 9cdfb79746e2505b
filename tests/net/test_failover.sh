#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Every packet of uplink 0 (the first subflow's) dropped from 8 s on: the
# stream goes on over uplink 1, and the recording has no hole.
. "$(dirname "$0")/common.sh"

DURATION=20
lab_up 4mbit || { echo "FAIL: lab"; exit 1; }
# A 3 s latency budget: the cut stalls the stream about 1.3 s, and this test checks that
# nothing is lost (test_ratecontrol.sh checks the 1 s default, which drops frames).
ip netns exec "$LAB_SND" "$MPSTREAM" --uplink up0 --uplink up1 --duration $DURATION --bitrate 2500k --max-latency 3000 \
	--stats "$LAB_DIR/stats.csv" "$URL" 2>"$LAB_DIR/mpstream.log" &
pid=$!
sleep 2
# The receiver's view: arrival gaps, missing frames and latency, from the server's host.
ip netns exec "$LAB_SRV" "$MPSTREAM" probe --duration 16 --max-gap 3000 --csv "$LAB_DIR/probe.csv" \
	"rtmp://127.0.0.1/live/$KEY" >"$LAB_DIR/probe.out" 2>"$LAB_DIR/probe.log" &
probe=$!
sleep 6
lab_cut 0 || fail "cannot cut up0"
cut_at=$(date +%s.%N)
b1=$(lab_tx_bytes 1)
r0=$(lab_in_snd cat /sys/class/net/up0/statistics/rx_bytes)
wait $pid
rc=$?
wait $probe
prc=$?
end=$(date +%s.%N)
[ "$rc" = 0 ] && pass "mpstream exited 0 after losing up0" || fail "mpstream exited $rc"
after1=$(($(lab_tx_bytes 1) - b1))
rx0=$(($(lab_in_snd cat /sys/class/net/up0/statistics/rx_bytes) - r0))
[ "$rx0" -lt 2000 ] && pass "up0 really was cut (received $rx0 bytes after)" || fail "up0 still received $rx0 bytes after the cut"
echo "figure: up1 carried $after1 bytes after the cut ($(awk -v s="$cut_at" -v e="$end" 'BEGIN { printf "%.1f", e - s }') s)"
[ "$after1" -gt 2000000 ] && pass "up1 carried the stream after the cut" || fail "up1 carried only $after1 bytes"

rec="$LAB_DIR/rec/$KEY.flv"
[ -s "$rec" ] || { fail "nothing recorded"; finish; }
read -r frames dur gap <<<"$(lab_flv_summary "$rec")"
echo "figure: recorded $frames frames, $dur s of $DURATION s, largest timestamp gap $gap ms"
awk -v d="$dur" -v w="$DURATION" 'BEGIN { exit !(d >= 0.95 * w - 0.1) }' &&
	pass "at least 95 % of the wall time recorded" || fail "only $dur s of $DURATION s recorded"
[ "$gap" -le 100 ] && pass "no timestamp gap over 100 ms" || fail "timestamp gap $gap ms"
# After the cut the stats show traffic only on up1.
tail_up0=$(awk -F, -v t=14 '$1 > t && $3 == "up0" { s += $6 } END { printf "%d", s }' "$LAB_DIR/stats.csv")
tail_up1=$(awk -F, -v t=14 '$1 > t && $3 == "up1" { s += $6 } END { printf "%d", s }' "$LAB_DIR/stats.csv")
echo "figure: send rate summed after 14 s: up0 $tail_up0, up1 $tail_up1 bit/s"
[ "$tail_up1" -gt "$tail_up0" ] && pass "stats show up1 carrying the stream" || fail "stats: up0 $tail_up0 >= up1 $tail_up1"
echo "figure: probe: $(cat "$LAB_DIR/probe.out")"
[ "$prc" = 0 ] && pass "probe: no frame missing, no arrival gap over 3 s (generous bound)" || fail "probe exit $prc: $(cat "$LAB_DIR/probe.out")"
grep -q " 0 missing, 0 repeated" "$LAB_DIR/probe.out" && pass "probe: every frame arrived once" || fail "probe: frames missing or repeated"
check_no_key "$LAB_DIR/mpstream.log" "$LAB_DIR/probe.log" "$LAB_DIR/probe.out"
finish
