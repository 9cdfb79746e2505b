#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Cuts the kernel knows of at once (issue 13): an uplink's link set down, and
# its address removed, while the other uplink can carry the whole stream (a
# fixed 2 Mbit/s over two 4 Mbit/s uplinks). The uplink's subflows must be
# released at once (bound here: 1 s, printed), so that the kernel sends their
# data on the other uplink: no frame dropped by mpstream, none missing at the
# server. Then a cut it does not know of (a silent blackhole in the router):
# released a few RTTs after the path's last ACK (bound here: 1 s, printed),
# nothing dropped either. The figures (release time, longest arrival gap) are
# printed; the bench measures them against their goals.
. "$(dirname "$0")/common.sh"

lab_up 4mbit || { echo "FAIL: lab"; exit 1; }
lab_routing_state >"$LAB_DIR/before.txt"
DURATION=66
ip netns exec "$LAB_SND" "$MPSTREAM" -u up0 -u up1 -b 2M --min-bitrate 2M --max-bitrate 2M \
	--duration "$DURATION" --stats "$LAB_DIR/stats.csv" --stats-interval 0.5 "$URL" 2>"$LAB_DIR/mpstream.log" &
pid=$!
sleep 2
probe_start $((DURATION - 4)) --max-gap 5000
sleep 4

# released N: ms until no established subflow leaves from uplink N's address (or "none" after 3 s).
released() {
	local addr=10.$(($1 + 1)).0.2 start i
	start=$(date +%s%3N)
	for i in $(seq 1 150); do
		if ! lab_in_snd ss -Htn state established src "$addr" dst "$LAB_SERVER_IP:1935" | grep -q .; then
			echo $(($(date +%s%3N) - start))
			return
		fi
		sleep 0.02
	done
	echo none
}
# subflows N: established subflows from uplink N now.
subflows() { lab_in_snd ss -Htn state established src "10.$(($1 + 1)).0.2" dst "$LAB_SERVER_IP:1935" | wc -l; }

# Link down and up again: uplink 1, then uplink 0 (the initial subflow's), then 1.
for n in 1 0 1; do
	had=$(subflows $n)
	lab_in_snd ip link set "up$n" down
	ms=$(released $n)
	echo "figure: up$n link down: its $had subflow(s) released after ${ms} ms"
	[ "$had" -gt 0 ] || fail "up$n had no subflow before its link went down"
	[ "$ms" != none ] && [ "$ms" -le 1000 ] && pass "up$n link down: released within 1 s" || fail "up$n link down: released after $ms ms"
	sleep 4
	lab_in_snd ip link set "up$n" up
	lab_in_snd ip route replace default via "10.$((n + 1)).0.1" dev "up$n" metric $((100 * (n + 1)))
	sleep 5
	[ "$(subflows $n)" -gt 0 ] && pass "up$n back: a subflow on it again" || fail "up$n back: no subflow on it"
done

# The address removed, and given back.
had=$(subflows 1)
lab_in_snd ip addr del 10.2.0.2/24 dev up1
ms=$(released 1)
echo "figure: up1 address removed: its $had subflow(s) released after ${ms} ms"
[ "$ms" != none ] && [ "$ms" -le 1000 ] && pass "up1 address removed: released within 1 s" || fail "up1 address removed: released after $ms ms"
sleep 4
lab_in_snd ip addr add 10.2.0.2/24 dev up1
lab_in_snd ip route replace default via 10.2.0.1 dev up1 metric 200
sleep 5

# A silent blackhole of uplink 0 in the router, and the path back.
had=$(subflows 0)
lab_cut 0
ms=$(released 0)
echo "figure: up0 blackholed: its $had subflow(s) released after ${ms} ms"
[ "$ms" != none ] && [ "$ms" -le 1000 ] && pass "up0 blackholed: released within 1 s" || fail "up0 blackholed: released after $ms ms"
sleep 4
lab_restore 0
sleep 3
[ "$(subflows 0)" -gt 0 ] && pass "up0 path back: a subflow on it again" || fail "up0 path back: no subflow on it"

wait_stream $pid
check_nothing_lost "5 cuts" 1000
grep -E "link down|released|subflows closed" "$LAB_DIR/mpstream.log" | head -n 8 | cut -c1-150
[ "$(lab_routing_state)" = "$(cat "$LAB_DIR/before.txt")" ] && pass "after exit the routing is as before" || fail "routing left behind"
check_no_key "$LAB_DIR/mpstream.log"
finish
