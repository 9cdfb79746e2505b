#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# An ingest name with two addresses: the stream's connection is the socket
# that connected, not the last one libavformat tried. The sender's hosts file
# names the server first and a blackholed address second; the server's first
# SYN is dropped, so that libavformat tries the second address 200 ms later
# (its parallel connect) and the first attempt wins a second later on its
# SYN's retransmission. The stats must show the real subflows.
. "$(dirname "$0")/common.sh"

lab_up 4mbit || { echo "FAIL: lab"; exit 1; }
BLACKHOLE=10.9.0.99
mkdir -p "/etc/netns/$LAB_SND"
printf '%s ingest.lab\n%s ingest.lab\n' "$LAB_SERVER_IP" "$BLACKHOLE" >"/etc/netns/$LAB_SND/hosts"
lab_in_snd getent ahostsv4 ingest.lab | awk '$2 == "STREAM" { print "figure: ingest.lab resolves to " $1 }'
# In the router: the server's first SYN dropped (the quota lets the second one
# through), and the second address a silent hole.
lab_in_rtr nft add chain inet lab resolve '{ type filter hook forward priority -1; policy accept; }'
lab_in_rtr nft add rule inet lab resolve ip daddr "$LAB_SERVER_IP" tcp dport 1935 tcp flags syn quota over 90 bytes accept
lab_in_rtr nft add rule inet lab resolve ip daddr "$LAB_SERVER_IP" tcp dport 1935 tcp flags syn drop
lab_in_rtr nft add rule inet lab resolve ip daddr "$BLACKHOLE" drop

ip netns exec "$LAB_SND" "$MPSTREAM" --uplink up0 --uplink up1 --duration 8 \
	--stats "$LAB_DIR/stats.csv" --stats-interval 0.5 "rtmp://ingest.lab/live/$KEY" \
	2>"$LAB_DIR/mpstream.log"
rc=$?
[ "$rc" = 0 ] && pass "mpstream exited 0" || fail "mpstream exited $rc"
drops=$(lab_in_rtr nft list chain inet lab resolve | grep -c 'quota over 90 bytes used')
lab_in_rtr nft list chain inet lab resolve | sed -n 's/.*\(quota over [^a]*\) accept/figure: the server'"'"'s SYNs: \1/p'
rows=$(awk -F, -v s="$LAB_SERVER_IP:1935" '$2 != "total" && $5 == s' "$LAB_DIR/stats.csv" | wc -l)
hole=$(awk -F, -v s="$BLACKHOLE:" 'index($5, s) == 1' "$LAB_DIR/stats.csv" | wc -l)
uplinks=$(awk -F, -v s="$LAB_SERVER_IP:1935" '$2 != "total" && $5 == s { print $3 }' "$LAB_DIR/stats.csv" | sort -u | tr '\n' ' ')
echo "figure: $rows subflow rows to $LAB_SERVER_IP:1935 (uplinks: $uplinks), $hole to $BLACKHOLE"
[ "$rows" -ge 4 ] && pass "the stats read the connection's subflows" || fail "no subflow of the connection in the stats"
[ "$uplinks" = "up0 up1 " ] && pass "subflows on both uplinks" || fail "subflows on: $uplinks"
[ "$hole" = 0 ] || fail "stats rows of the attempt that lost"
awk -F, '$2 == "total" && $14 != "" { f = 1 } END { exit !f }' "$LAB_DIR/stats.csv" &&
	pass "rate control ran (the delay column is filled)" || fail "no rate control on the connection"
grep -q "not found: no statistics" "$LAB_DIR/mpstream.log" && fail "mpstream lost its connection's socket"
[ "$drops" -ge 1 ] || fail "the quota rule is not there"
check_no_key "$LAB_DIR/mpstream.log"
finish
