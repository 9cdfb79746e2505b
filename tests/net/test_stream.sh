#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 20 s at 2.5 Mbit/s over two 4 Mbit/s uplinks: both carry traffic, the
# recording is complete and decodes without a timestamp gap.
. "$(dirname "$0")/common.sh"

lab_up 4mbit || { echo "FAIL: lab"; exit 1; }
b0=$(lab_tx_bytes 0); b1=$(lab_tx_bytes 1)
lab_in_snd "$MPSTREAM" --uplink up0 --uplink up1 --duration 20 --bitrate 2500k \
	--stats "$LAB_DIR/stats.csv" "$URL" 2>"$LAB_DIR/mpstream.log"
rc=$?
[ "$rc" = 0 ] && pass "mpstream exited 0" || fail "mpstream exited $rc"
grep -q "over MPTCP" "$LAB_DIR/mpstream.log" && pass "the connection is MPTCP" || fail "not an MPTCP connection"
s0=$(($(lab_tx_bytes 0) - b0)); s1=$(($(lab_tx_bytes 1) - b1))
total=$((s0 + s1))
echo "figure: bytes on up0=$s0 up1=$s1 share up0=$((100 * s0 / total))% up1=$((100 * s1 / total))%"
[ $((100 * s0)) -ge $((20 * total)) ] && pass "up0 carries >= 20 %" || fail "up0 carries $((100 * s0 / total)) %"
[ $((100 * s1)) -ge $((20 * total)) ] && pass "up1 carries >= 20 %" || fail "up1 carries $((100 * s1 / total)) %"

rec="$LAB_DIR/rec/$KEY.flv"
[ -s "$rec" ] || { fail "nothing recorded"; finish; }
read -r frames dur gap <<<"$(lab_flv_summary "$rec")"
echo "figure: recorded $frames video frames, $dur s, largest timestamp gap $gap ms"
[ "$frames" -ge 590 ] && pass "600 frames recorded" || fail "only $frames frames recorded"
[ "$gap" -le 100 ] && pass "no timestamp gap over 100 ms" || fail "timestamp gap $gap ms"
errors=$(ffmpeg -v error -i "$rec" -f null - 2>&1 | wc -l)
[ "$errors" = 0 ] && pass "recording decodes without error" || fail "$errors decode errors"

# The statistics name both uplinks, and their CSV agrees with the interface counters.
grep -q ',up0,' "$LAB_DIR/stats.csv" && grep -q ',up1,' "$LAB_DIR/stats.csv" &&
	pass "stats CSV has rows for up0 and up1" || fail "stats CSV lacks an uplink"
grep -q 'stats .*#[0-9]* up0.*#[0-9]* up1' "$LAB_DIR/mpstream.log" &&
	pass "stats log line shows both subflows" || fail "no stats line with both subflows"
avg=$(awk -F, '$2 == "total" { s += $6; n++ } END { printf "%d", n ? s / n : 0 }' "$LAB_DIR/stats.csv")
echo "figure: mean total send rate from the stats CSV $avg bit/s"
[ "$avg" -gt 2000000 ] && [ "$avg" -lt 4000000 ] && pass "CSV rate is plausible" || fail "CSV rate $avg"
check_no_key "$LAB_DIR/mpstream.log"
finish
