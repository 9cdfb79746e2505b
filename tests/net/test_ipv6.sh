#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# IPv6 and dual-stack uplinks (issue 14), real kernel MPTCP:
# 1. Dual stack: up0 has IPv4 only (Wi-Fi, DSL), up1 IPv6 only (a carrier
#    that hands out IPv6 only); the server has both and announces its IPv6
#    address. One stream to the server's IPv4 address uses both uplinks (an
#    IPv4 and an IPv6 subflow, the CSV names each one's family); it survives
#    a cut of either, and both carry again after their cut (up1's subflow,
#    to the address the server announced, by TCP's own retransmission: the
#    kernel would not open it again); everything is put back at the end.
# 2. An IPv6-only sender (both uplinks IPv6 only, the URL an IPv6 address):
#    both uplinks carry the stream; up1's address changes (a new SLAAC
#    address, the old one removed) and the stream follows it.
. "$(dirname "$0")/common.sh"

lab_up 4mbit || { echo "FAIL: lab"; exit 1; }
lab_ipv6 "0" "1" || { echo "FAIL: IPv6 lab"; exit 1; }
before=$(lab_routing_state)

# wait_subflow CSV PATTERN SECONDS: until a subflow line of CSV matches PATTERN
# (an awk condition on its fields); prints the wait in ms, or "none".
wait_subflow() {
	local start i
	start=$(date +%s%3N)
	for i in $(seq 1 $(($3 * 10))); do
		if [ -f "$1" ] && awk -F, -v t="$(((start - t0) / 1000 - 1))" "\$1 >= t && \$2 != \"total\" && $2 { f = 1 } END { exit !f }" "$1"; then
			echo $(($(date +%s%3N) - start))
			return 0
		fi
		sleep 0.1
	done
	echo none
	return 1
}

# --- 1: dual stack.
t0=$(date +%s%3N)
ip netns exec "$LAB_SND" "$MPSTREAM" -u up0 -u up1 --duration 50 --stats "$LAB_DIR/stats.csv" \
	--metrics 127.0.0.1:9464 "$URL" 2>"$LAB_DIR/mpstream.log" &
pid=$!
sleep 2
probe_start 44 --max-gap 3000
w=$(wait_subflow "$LAB_DIR/stats.csv" '$20 == "ipv6" && $3 == "up1"' 10)
echo "figure: dual stack: an IPv6 subflow on up1 ${w} ms after the start"
[ "$w" != none ] && pass "an IPv6 subflow on up1" || fail "no IPv6 subflow on up1"
awk -F, '$2 != "total" && $20 == "ipv4" && $3 == "up0"' "$LAB_DIR/stats.csv" | grep -q . &&
	pass "an IPv4 subflow on up0, in the same connection" || fail "no IPv4 subflow on up0"
lab_in_snd ip -6 rule show | grep -q 'from fd00:2::2 lookup 28001 proto 109' &&
	pass "IPv6 source rule for up1" || fail "IPv6 rules: $(lab_in_snd ip -6 rule show | tr '\n' ';')"
lab_in_snd ip -6 route show table 28001 | grep -q 'default via fe80::1 dev up1 proto 109' &&
	pass "table 28001 has up1's IPv6 default route (a link-local gateway)" || fail "table 28001: $(lab_in_snd ip -6 route show table 28001 | tr '\n' ';')"
lab_in_snd ip mptcp endpoint show | grep -q 'fd00:2::2 id 249 subflow dev up1' &&
	pass "an IPv6 endpoint for up1" || fail "endpoints: $(lab_in_snd ip mptcp endpoint show | tr '\n' ';')"
if lab_in_snd ip rule show | grep -q 'lookup 28001'; then fail "an IPv4 rule for up1, which has no IPv4"; else pass "no IPv4 rule for up1"; fi
b0=$(lab_tx_bytes 0); b1=$(lab_tx_bytes 1)
sleep 5
s0=$(($(lab_tx_bytes 0) - b0)); s1=$(($(lab_tx_bytes 1) - b1))
echo "figure: dual stack: in 5 s up0 (IPv4) sent $s0 bytes, up1 (IPv6) $s1"
metrics=$(lab_in_snd curl -s http://127.0.0.1:9464/metrics)
echo "$metrics" | grep -q 'mpstream_subflow_rtt_seconds{.*uplink="up1",local="\[fd00:2::2\]:[0-9]*",.*family="ipv6"}' &&
	pass "the metrics label up1's subflow IPv6" || fail "metrics: $(echo "$metrics" | grep subflow_rtt)"
echo "$metrics" | grep -q 'mpstream_subflow_rtt_seconds{.*uplink="up0",local="10.1.0.2:[0-9]*",.*family="ipv4"}' &&
	pass "the metrics label up0's subflow IPv4" || fail "metrics: $(echo "$metrics" | grep subflow_rtt)"
[ "$s0" -gt 300000 ] && [ "$s1" -gt 300000 ] && pass "both families carry the stream" || fail "up0 $s0, up1 $s1 bytes"

for n in 1 0; do
	lab_cut $n
	sleep 6
	lab_restore $n
	family=$([ $n = 1 ] && echo ipv6 || echo ipv4)
	w=$(wait_subflow "$LAB_DIR/stats.csv" "\$3 == \"up$n\" && \$20 == \"$family\" && \$6 > 100000" 20)
	echo "figure: dual stack: up$n ($family) carries again ${w} ms after its cut ends"
	[ "$w" != none ] && pass "up$n ($family) carries again after a 6 s cut" || fail "up$n unused after its cut"
done

wait_stream $pid
check_lost_only_dropped
summary=$(lab_flv_summary "$LAB_DIR/rec/$KEY.flv")
echo "figure: dual stack: recording frames, seconds, longest gap (ms): $summary"
[ "$(lab_routing_state)" = "$before" ] && pass "dual stack: routing, rules, endpoints and limits restored" ||
	{ fail "dual stack: state differs"; diff <(echo "$before") <(lab_routing_state); }
check_no_key "$LAB_DIR/mpstream.log" "$LAB_DIR/stats.csv"

# --- 2: an IPv6-only sender.
lab_down
lab_up 4mbit || { echo "FAIL: lab"; exit 1; }
lab_ipv6 "" "0 1" || { echo "FAIL: IPv6 lab"; exit 1; }
before=$(lab_routing_state)
t0=$(date +%s%3N)
b0=$(lab_tx_bytes 0); b1=$(lab_tx_bytes 1)
ip netns exec "$LAB_SND" "$MPSTREAM" -u up0 -u up1 --duration 25 --stats "$LAB_DIR/v6.csv" \
	"rtmp://[fd00:9::2]/live/$KEY" 2>"$LAB_DIR/mpstream.log" &
pid=$!
sleep 8
s0=$(($(lab_tx_bytes 0) - b0)); s1=$(($(lab_tx_bytes 1) - b1))
echo "figure: IPv6 only: in 8 s up0 sent $s0 bytes, up1 $s1"
[ "$s0" -gt 600000 ] && [ "$s1" -gt 600000 ] && pass "IPv6 only: both uplinks carry the stream" || fail "IPv6 only: up0 $s0, up1 $s1 bytes"
# A new SLAAC address on up1, the old one removed: the uplink follows it.
lab_in_snd ip addr add fd00:2::3/64 dev up1 nodad
lab_in_snd ip addr del fd00:2::2/64 dev up1
w=$(wait_subflow "$LAB_DIR/v6.csv" '$4 ~ /^\[fd00:2::3\]/ && $6 > 100000' 10)
echo "figure: IPv6 only: up1 carries from its new IPv6 address ${w} ms after the change"
[ "$w" != none ] && pass "up1 follows its new IPv6 address" || fail "no traffic from fd00:2::3"
lab_in_snd ip -6 rule show | grep -q 'from fd00:2::3 lookup 28001' && pass "the rule follows the address" ||
	fail "IPv6 rules: $(lab_in_snd ip -6 rule show | tr '\n' ';')"
grep -q "uplink up1: address fd00:2::2 changed to fd00:2::3" "$LAB_DIR/mpstream.log" &&
	pass "the change is logged" || fail "no log line for the change"

wait $pid
rc=$?
[ "$rc" = 0 ] && pass "IPv6 only: exit 0" || fail "IPv6 only: exit $rc"
if awk -F, 'NR > 1 && $2 != "total" && $20 != "ipv6"' "$LAB_DIR/v6.csv" | grep -q .; then fail "IPv6 only: a subflow that is not IPv6"; else pass "IPv6 only: every subflow IPv6"; fi
summary=$(lab_flv_summary "$LAB_DIR/rec/$KEY.flv")
echo "figure: IPv6 only: recording frames, seconds, longest gap (ms): $summary"
[ "${summary%% *}" -gt 300 ] && pass "IPv6 only: the recording has ${summary%% *} frames" || fail "IPv6 only: recording $summary"
# The address is fd00:2::3 now; put back fd00:2::2 to compare with the state before the run.
lab_in_snd ip addr add fd00:2::2/64 dev up1 nodad
lab_in_snd ip addr del fd00:2::3/64 dev up1
[ "$(lab_routing_state)" = "$before" ] && pass "IPv6 only: everything restored" ||
	{ fail "IPv6 only: state differs"; diff <(echo "$before") <(lab_routing_state); }
finish
