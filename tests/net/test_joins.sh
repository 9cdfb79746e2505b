#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A server that takes one subflow and refuses the joins: FFmpeg's own RTMP
# listener (ffmpeg -listen 1) closes its listening socket after the first
# accept, so the MP_JOINs of the second uplink are refused. The path check
# (failover/reach.c) gets the server's RST all the same ("the path answers"); mpstream must say
# once that no subflow comes up there, back off, and keep the stream on the
# one subflow, whole.
. "$(dirname "$0")/common.sh"

DURATION=30
lab_up 4mbit || { echo "FAIL: lab"; exit 1; }
lab_kill_nginx
ip netns exec "$LAB_SRV" mptcpize run ffmpeg -v error -listen 1 -i "rtmp://0.0.0.0:1935/live/$KEY" \
	-c copy -f flv "$LAB_DIR/listener.flv" >"$LAB_DIR/ffmpeg.log" 2>&1 &
listener=$!
lab_wait_listen srv 1935 5
# up1's join must come after the listener is closed (it could win that race):
# its SYNs are held back for the first 2 s.
lab_in_rtr nft add rule inet lab cut ip saddr 10.2.0.2 tcp dport 1935 tcp flags syn drop comment '"join"'
ip netns exec "$LAB_SND" "$MPSTREAM" --uplink up0 --uplink up1 --duration $DURATION --bitrate 1500k \
	--stats "$LAB_DIR/stats.csv" "$URL" 2>"$LAB_DIR/mpstream.log" &
pid=$!
sleep 2
for h in $(lab_in_rtr nft -a list chain inet lab cut | awk '/"join"/ {print $NF}'); do
	lab_in_rtr nft delete rule inet lab cut handle "$h"
done
wait $pid
rc=$?
wait $listener
[ "$rc" = 0 ] && pass "mpstream exited 0" || fail "mpstream exited $rc"
kicks=$(grep -c "its path answers again" "$LAB_DIR/mpstream.log")
said=$(grep -c "no subflow on it comes up" "$LAB_DIR/mpstream.log")
echo "figure: $kicks kicks of up1 in $DURATION s (one every 2 s without the back-off: about $((DURATION / 2)))"
[ "$kicks" -ge 1 ] && [ "$kicks" -le 7 ] && pass "the kicks back off" || fail "$kicks kicks"
[ "$said" = 1 ] && pass "said once that no subflow comes up there" || fail "said $said times"
read -r frames dur gap <<<"$(lab_flv_summary "$LAB_DIR/listener.flv")"
echo "figure: the listener recorded $frames frames over $dur s, largest gap $gap ms"
[ "${frames:-0}" -ge $((DURATION * 30 * 9 / 10)) ] && pass "the stream arrived whole on the one subflow" ||
	fail "${frames:-0} frames recorded"
check_no_key "$LAB_DIR/mpstream.log"
finish
