#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 4. An uplink named at start but created 5 s later joins the stream.
# 6. --uplink IFACE:backup carries under 5 % of the bytes while the other
#    uplink works, and carries the stream when the other is lost.
. "$(dirname "$0")/common.sh"

lab_up 4mbit || { echo "FAIL: lab"; exit 1; }

# --- 4: up1 does not exist yet.
lab_in_snd ip link del up1
ip netns exec "$LAB_SND" "$MPSTREAM" -u up0 -u up1 --duration 14 --stats "$LAB_DIR/late.csv" \
	"$URL" 2>"$LAB_DIR/late.log" &
pid=$!
sleep 5
ip link add up1 netns "$LAB_SND" type veth peer name r1 netns "$LAB_RTR"
lab_in_snd ip addr add 10.2.0.2/24 dev up1
lab_in_rtr ip addr add 10.2.0.1/24 dev r1
lab_in_snd ip link set up1 up
lab_in_rtr ip link set r1 up
lab_in_rtr sysctl -qw net.ipv4.conf.r1.rp_filter=1
# Its rate is limited in the router already (by source subnet).
lab_in_snd ip route add default via 10.2.0.1 dev up1 metric 200
created=$(date +%s%3N)
b1=$(lab_tx_bytes 1)
joined=none
for i in $(seq 1 60); do
	if grep -q "sub_established 10.2.0.2:" "$LAB_DIR/late.log"; then joined=$(($(date +%s%3N) - created)); break; fi
	sleep 0.1
done
wait $pid
rc=$?
grep -q "uplink up1: no such interface" "$LAB_DIR/late.log" && pass "late uplink: warned at start" || fail "late uplink: no warning"
[ "$rc" = 0 ] && pass "late uplink: exit 0" || fail "late uplink: exit $rc"
echo "figure: late uplink: a subflow on up1 ${joined} ms after it was created"
[ "$joined" != none ] && pass "late uplink joined" || fail "late uplink never joined"
sent1=$(($(lab_tx_bytes 1) - b1))
echo "figure: late uplink: up1 carried $sent1 bytes"
[ "$sent1" -gt 500000 ] && pass "late uplink carries traffic" || fail "late uplink carried $sent1 bytes"
grep -q "uplink up1: added 10.2.0.2/24" "$LAB_DIR/late.log" && pass "late uplink: logged when added" || fail "no 'added' line"

# --- 6: up1 as a backup.
b0=$(lab_tx_bytes 0); b1=$(lab_tx_bytes 1)
# A 3 s latency budget: nothing may be dropped on purpose here (see test_ratecontrol.sh).
ip netns exec "$LAB_SND" "$MPSTREAM" -u up0 -u up1:backup --duration 20 --max-latency 3000 --stats "$LAB_DIR/backup.csv" \
	"$URL" 2>"$LAB_DIR/backup.log" &
pid=$!
sleep 2
# nginx-rtmp's live module may skip frames to a player that falls behind after
# a stall; the recording (checked below) is what proves nothing was lost.
ip netns exec "$LAB_SRV" "$MPSTREAM" probe --duration 16 --max-gap 3000 --max-missing 30 \
	"rtmp://127.0.0.1/live/$KEY" >"$LAB_DIR/probe.out" 2>"$LAB_DIR/probe.log" &
probe=$!
sleep 6
s0=$(($(lab_tx_bytes 0) - b0)); s1=$(($(lab_tx_bytes 1) - b1))
echo "figure: backup: while up0 works, up0 $s0 bytes, up1 (backup) $s1 bytes ($((100 * s1 / (s0 + s1))) %)"
[ $((100 * s1)) -lt $((5 * (s0 + s1))) ] && pass "the backup carries under 5 % while up0 works" || fail "the backup carried $((100 * s1 / (s0 + s1))) %"
lab_cut 0
cut=$(date +%s%3N)
b1=$(lab_tx_bytes 1)
wait $pid
rc=$?
wait $probe
prc=$?
after1=$(($(lab_tx_bytes 1) - b1))
echo "figure: backup: after up0's loss, up1 carried $after1 bytes in $(( ($(date +%s%3N) - cut) / 1000 )) s"
[ "$rc" = 0 ] && pass "backup: exit 0" || fail "backup: exit $rc"
[ "$after1" -gt 2000000 ] && pass "the backup carried the stream after up0's loss" || fail "backup carried $after1 bytes"
echo "figure: backup: probe: $(cat "$LAB_DIR/probe.out")"
[ "$prc" = 0 ] && pass "backup: the stream survived (no arrival gap over 3 s)" || fail "probe: $(cat "$LAB_DIR/probe.out")"
read -r frames dur gap <<<"$(lab_flv_summary "$LAB_DIR/rec/$KEY.flv")"
dropped=$(lab_dropped_frames "$LAB_DIR/backup.csv")
echo "figure: backup: recorded ${frames:-0} frames, ${dur:-0} s, largest timestamp gap ${gap:--} ms; mpstream dropped ${dropped:-?} on purpose"
# Nothing lost but what mpstream dropped on purpose (a stall past --max-latency while the backup is promoted).
[ $((${frames:-0} + ${dropped:-0})) -ge 590 ] && [ "${gap:-9999}" -le $((100 + 34 * ${dropped:-0})) ] &&
	pass "backup: the recording lacks nothing but frames dropped on purpose" ||
	fail "backup: recording ${frames:-0} frames, gap ${gap:-?} ms, ${dropped:-?} dropped"
grep -q "backup uplinks carry the stream" "$LAB_DIR/backup.log" && pass "backup promotion logged" || fail "no promotion line"
check_no_key "$LAB_DIR/late.log" "$LAB_DIR/backup.log"
finish
