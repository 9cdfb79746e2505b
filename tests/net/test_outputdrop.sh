#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The seed's failover demonstration (issue 27): everything that leaves uplink 0
# dropped on the sender itself (`nft ... oifname up0 drop`, the nftables form of
# `iptables -A OUTPUT -o eth0 -j DROP`), at the defaults over two 4 Mbit/s
# uplinks. The server's packets still arrive on up0 (its data and pure ACKs
# of what it sends), so "something arrives" says nothing: the path is dead
# because what it sent is not acknowledged. mpstream must release up0 (its
# subflows closed), say why, drop no frame and lose none, and put the stream
# on up1; when the rule goes, up0 carries again. Figures printed; bounds
# generous (the bench holds the goals).
. "$(dirname "$0")/common.sh"

DURATION=24
CUT=8
lab_up 4mbit || { echo "FAIL: lab"; exit 1; }
ip netns exec "$LAB_SND" "$MPSTREAM" -u up0 -u up1 --duration $DURATION --stats "$LAB_DIR/stats.csv" \
	--stats-interval 0.5 "$URL" 2>"$LAB_DIR/mpstream.log" &
pid=$!
sleep 2
probe_start $((DURATION - 3)) --max-gap 5000
sleep $((CUT - 2))

lab_in_snd ss -Htn state established src 10.1.0.2 dst "$LAB_SERVER_IP:1935" | grep -q . ||
	fail "up0 had no subflow before its output was dropped"
lab_drop_out 0 || fail "cannot drop up0's output"
cut_ms=$(date +%s%3N)
released=none
for _ in $(seq 1 100); do
	if ! lab_in_snd ss -Htn state established src 10.1.0.2 dst "$LAB_SERVER_IP:1935" | grep -q .; then
		released=$(($(date +%s%3N) - cut_ms))
		break
	fi
	sleep 0.02
done
echo "figure: up0's output dropped on the sender: its subflows released after $released ms"
[ "$released" != none ] && pass "up0 released within 2 s of its output being dropped" ||
	fail "up0 still has an established subflow 2 s after its output is dropped"
sleep 6
rx0=$(lab_in_snd cat /sys/class/net/up0/statistics/rx_bytes)
b1=$(lab_tx_bytes 1)
sleep 3
rx0=$(($(lab_in_snd cat /sys/class/net/up0/statistics/rx_bytes) - rx0))
b1=$(($(lab_tx_bytes 1) - b1))
echo "figure: up1 carried $((b1 * 8 / 3000)) kbit/s of its 4000 from $((CUT + 6)) to $((CUT + 9)) s; up0 received $rx0 bytes meanwhile"
[ "$b1" -gt $((4000000 / 8 * 3 / 2)) ] && pass "up1 carries the stream (over half of its rate)" ||
	fail "up1 carried only $b1 bytes in 3 s"
lab_undrop_out 0
sleep 2
b0=$(lab_tx_bytes 0)
sleep 2
b0=$(($(lab_tx_bytes 0) - b0))
echo "figure: up0 sent $b0 bytes from 2 to 4 s after its output was let out"
[ "$b0" -gt 100000 ] && pass "up0 carries again once its output is let out" || fail "up0 sent only $b0 bytes"

wait_stream $pid
grep -E "uplink up0" "$LAB_DIR/mpstream.log" | cut -c1-160 | head -n 8
grep -qE "uplink up0: down \((no ACK|nothing acknowledged)[^)]*\)" "$LAB_DIR/mpstream.log" &&
	pass "health says up0 is down and why" || fail "no line saying up0 is down and why"
grep -q "uplink up0: subflows closed" "$LAB_DIR/mpstream.log" && pass "up0's subflows closed (released)" ||
	fail "up0 never released"
check_nothing_lost "up0's output dropped" 1500
check_no_key "$LAB_DIR/mpstream.log"
finish
