#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Servers other than nginx-rtmp (issue 14), each under `mptcpize run` in the
# server's namespace: Node-Media-Server 2.7 (npm; what many self-hosted
# setups run) and FFmpeg's own RTMP listener (`ffmpeg -listen 1`). mpstream
# streams 36 s to Node-Media-Server over both uplinks, uplink 0 blackholed
# from 12 s to 26 s; 12 s to FFmpeg, which takes one subflow only (below). What arrives is decoded and its stamps checked: Node-Media-Server's
# stream played back by `mpstream probe` at the server, FFmpeg's recording read
# by it afterwards (its largest timestamp step for the gap). Every frame
# arrives but those mpstream dropped on purpose, the stream never stops for
# 2 s, and it was MPTCP with two subflows.
. "$(dirname "$0")/common.sh"
NMS_DIR=${MPSTREAM_NMS_DIR:-/usr/local/lib/mpstream-test}
[ -f "$NMS_DIR/node_modules/node-media-server/package.json" ] ||
	{ echo "FAIL: node-media-server is missing in $NMS_DIR (scripts/test installs it)"; exit 1; }
command -v node >/dev/null || { echo "FAIL: node is missing (scripts/test installs it)"; exit 1; }

lab_up 8mbit || { echo "FAIL: lab"; exit 1; }
DURATION=36
CUT_FROM=12 CUT_FOR=14

# run_server NAME PORT SECONDS CUT: mpstream for SECONDS to rtmp://server:PORT;
# with CUT=cut, up0 blackholed for CUT_FOR s from CUT_FROM s on.
run_server() {
	local name=$1 port=$2 secs=$3
	ip netns exec "$LAB_SND" "$MPSTREAM" -u up0 -u up1 -s 640x360 -b 1M --max-latency 3000 -d "$secs" \
		--stats "$LAB_DIR/stats-$name.csv" "rtmp://$LAB_SERVER_IP:$port/live/$KEY" 2>"$LAB_DIR/mpstream-$name.log" &
	pid=$!
	if [ "$4" = cut ]; then
		sleep $CUT_FROM
		lab_cut 0 || fail "$name: cannot cut up0"
		sleep $CUT_FOR
		lab_restore 0
	fi
	wait "$pid"
	rc=$?
	[ "$rc" = 0 ] && pass "$name: mpstream exited 0" || fail "$name: mpstream exited $rc"
	grep -q "streaming over MPTCP" "$LAB_DIR/mpstream-$name.log" && pass "$name: MPTCP" ||
		fail "$name: $(grep -m1 -E 'streaming over|plain TCP' "$LAB_DIR/mpstream-$name.log")"
	check_no_key "$LAB_DIR/mpstream-$name.log"
}

# judge NAME PROBE_OUT SECONDS [GAP_MS FRAMES]: at least 80 % of SECONDS'
# frames (what the probe or the recording covers), the frames missing are at
# most those dropped on purpose, no gap of 2 s (the probe's arrival gap and
# frame count, or a recording's timestamp gap and video frames: read from a
# file, every frame is "backlog" to the probe).
judge() {
	local name=$1 out=$2 secs=$3 frames missing gap dropped
	frames=${5:-$(grep -oE '^[0-9]+ frames' "$out" | grep -oE '[0-9]+')}
	missing=$(grep -oE '[0-9]+ missing' "$out" | grep -oE '[0-9]+')
	gap=${4:-$(grep -oE 'longest gap [0-9]+' "$out" | grep -oE '[0-9]+')}
	dropped=$(lab_dropped_frames "$LAB_DIR/stats-$name.csv")
	echo "figure: $name: $(cat "$out"); mpstream dropped ${dropped:-?} on purpose"
	[ "${frames:-0}" -ge $((secs * 30 * 8 / 10)) ] && pass "$name: $frames frames decoded" ||
		fail "$name: ${frames:-no} frames decoded"
	[ -n "$missing" ] && [ "$missing" -le $((${dropped:-0} + 2)) ] &&
		pass "$name: $missing frames missing, ${dropped:-0} dropped on purpose" ||
		fail "$name: ${missing:-?} frames missing, ${dropped:-?} dropped on purpose"
	[ -n "$gap" ] && [ "$gap" -lt 2000 ] && pass "$name: longest gap $gap ms" || fail "$name: gap ${gap:-?} ms"
}

# Node-Media-Server: played back at the server while it runs.
cat >"$LAB_DIR/nms.js" <<JS
const NodeMediaServer = require('$NMS_DIR/node_modules/node-media-server');
new NodeMediaServer({ logType: 2, rtmp: { port: 1945, chunk_size: 60000, gop_cache: true, ping: 30,
	ping_timeout: 60 } }).run();
JS
ip netns exec "$LAB_SRV" mptcpize run node "$LAB_DIR/nms.js" >"$LAB_DIR/nms.log" 2>&1 &
lab_wait_listen srv 1945 || { fail "Node-Media-Server did not start: $(tail -3 "$LAB_DIR/nms.log")"; finish; }
ip netns exec "$LAB_SRV" "$MPSTREAM" probe --duration $((DURATION - 6)) --timeout 10 --max-gap 5000 \
	"rtmp://127.0.0.1:1945/live/$KEY" >"$LAB_DIR/probe-nms.out" 2>"$LAB_DIR/probe-nms.log" &
probe=$!
run_server nms 1945 "$DURATION" cut
grep -q "2 subflows" "$LAB_DIR/mpstream-nms.log" && pass "nms: two subflows" || fail "nms: never two subflows"
wait "$probe"
judge nms "$LAB_DIR/probe-nms.out" $((DURATION - 6))

# FFmpeg's listener, recording what it receives as it is; read afterwards.
# It closes its listening socket once it has its client (libavformat's
# ff_listen_bind()), and an MPTCP join arrives at the listener: the kernel
# refuses every join, the stream has one subflow, and a cut of its uplink
# would end it with nothing left to reconnect to. So: 12 s, no cut, and the
# refused joins seen; or, when the join arrived before FFmpeg closed its
# listening socket (a race: the kernel sends it 1 ms after the connection is
# established; seen once under ASan), a second subflow that was taken.
ip netns exec "$LAB_SRV" mptcpize run ffmpeg -nostdin -v error -listen 1 -i "rtmp://0.0.0.0:1946/live/$KEY" \
	-c copy -f flv "$LAB_DIR/ffmpeg-rec.flv" >"$LAB_DIR/ffmpeg-server.log" 2>&1 &
server=$!
lab_wait_listen srv 1946
DURATION=12
run_server ffmpeg 1946 "$DURATION" nocut
if grep -q "sub_closed .*up1.*Connection refused" "$LAB_DIR/mpstream-ffmpeg.log" &&
	grep -q "no subflow on it comes up (a server that refuses joins?)" "$LAB_DIR/mpstream-ffmpeg.log"; then
	pass "ffmpeg: its joins refused, one subflow, as expected of a listener that closed"
elif grep -q "sub_established .*(up1)" "$LAB_DIR/mpstream-ffmpeg.log"; then
	pass "ffmpeg: the join came before the listener closed: two subflows"
else
	fail "ffmpeg: neither refused joins nor a second subflow"
	grep -E 'mptcp event|health' "$LAB_DIR/mpstream-ffmpeg.log" | head -n 20
fi
wait "$server"
"$MPSTREAM" probe --max-gap 5000 "$LAB_DIR/ffmpeg-rec.flv" >"$LAB_DIR/probe-ffmpeg.out" 2>"$LAB_DIR/probe-ffmpeg.log"
read -r ts_frames _ ts_gap <<<"$(lab_flv_summary "$LAB_DIR/ffmpeg-rec.flv")"
judge ffmpeg "$LAB_DIR/probe-ffmpeg.out" "$DURATION" "${ts_gap:-}" "${ts_frames:-0}"
finish
