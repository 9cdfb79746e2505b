#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# HEVC over Enhanced RTMP in the lab (issue 30). Node-Media-Server 4 (npm; it
# takes Enhanced RTMP) under `mptcpize run node` in the server's namespace:
# mpstream sends `--codec hevc` (libx265) for 10 s over both uplinks, uplink 0
# blackholed from 3 s to 7 s. `mpstream probe` plays the stream back at the
# server while it runs (arrival gaps, stamps), and reads the server's
# recording afterwards: every frame mpstream sent and did not drop on purpose
# decodes, in order, with no decoder error. Then nginx-rtmp, the lab's server,
# which has no Enhanced RTMP: with `--codec hevc` it takes the publish and
# drops every video tag without a word (FFmpeg 5.1's RTMP client hears no
# refusal), so mpstream's log must say that the server has to take Enhanced
# RTMP, and the recording holds sound only; with `--codec auto` the stream is
# H.264, and its recording decodes whole.
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/hevc.sh"
nms4_check

lab_up 8mbit || { echo "FAIL: lab"; exit 1; }
DURATION=10
CUT_FROM=3 CUT_FOR=4
# The line mpstream logs for HEVC: what it cannot hear from the server.
SAYS_ERTMP="HEVC over Enhanced RTMP: the server must take it"

# send NAME SECONDS URL [OPTION...]: mpstream over both uplinks in the
# background ($pid), its log and CSV named after NAME.
send() {
	local name=$1 secs=$2 url=$3
	shift 3
	ip netns exec "$LAB_SND" "$MPSTREAM" -u up0 -u up1 -s 640x360 -b 1M --max-latency 3000 -d "$secs" "$@" \
		--stats "$LAB_DIR/stats-$name.csv" "$url" 2>"$LAB_DIR/mpstream-$name.log" &
	pid=$!
}

# 1. Node-Media-Server 4 on 1945, recording every stream.
nms4_start 1945
ip netns exec "$LAB_SRV" "$MPSTREAM" probe --duration $((DURATION - 2)) --timeout 10 --max-gap 5000 \
	"rtmp://127.0.0.1:1945/live/$KEY" >"$LAB_DIR/probe-nms4.out" 2>"$LAB_DIR/probe-nms4.log" &
probe=$!
send nms4 "$DURATION" "rtmp://$LAB_SERVER_IP:1945/live/$KEY" --codec hevc
sleep $CUT_FROM
lab_cut 0 || fail "nms4: cannot cut up0"
sleep $CUT_FOR
lab_restore 0
wait "$pid"
rc=$?
wait "$probe"
prc=$?
[ "$rc" = 0 ] && pass "nms4: mpstream exited 0" || fail "nms4: mpstream exited $rc"
grep -q "streaming over MPTCP" "$LAB_DIR/mpstream-nms4.log" && pass "nms4: MPTCP" ||
	fail "nms4: $(grep -m1 -E 'streaming over|plain TCP' "$LAB_DIR/mpstream-nms4.log")"
grep -q "2 subflows" "$LAB_DIR/mpstream-nms4.log" && pass "nms4: two subflows" || fail "nms4: never two subflows"
grep -q "uplink up0: down" "$LAB_DIR/mpstream-nms4.log" &&
	pass "nms4: $(grep -m1 -o "uplink up0: down.*" "$LAB_DIR/mpstream-nms4.log")" || fail "nms4: the cut of up0 was never seen"
grep -q "$SAYS_ERTMP" "$LAB_DIR/mpstream-nms4.log" && pass "nms4: the log says the server must take Enhanced RTMP" ||
	fail "nms4: no word of Enhanced RTMP in the log"
check_no_key "$LAB_DIR/mpstream-nms4.log"

# Played back at the server: the figures of the cut.
frames=$(field "$LAB_DIR/probe-nms4.out" frames)
missing=$(field "$LAB_DIR/probe-nms4.out" missing)
gap=$(grep -oE 'longest gap [0-9]+' "$LAB_DIR/probe-nms4.out" | grep -oE '[0-9]+')
read -r _ dropped <<<"$(sent nms4)"
echo "figure: nms4: played back at the server: $(cat "$LAB_DIR/probe-nms4.out")"
echo "figure: nms4: ${frames:-0} frames, ${missing:-?} missing, longest arrival gap ${gap:-?} ms" \
	"(up0 cut from ${CUT_FROM} s for ${CUT_FOR} s); mpstream dropped ${dropped:-?} on purpose"
[ "$prc" = 0 ] && pass "nms4: the player passed" || fail "nms4: the player exited $prc"
[ "${frames:-0}" -ge $(((DURATION - 2) * 30 * 7 / 10)) ] && pass "nms4: $frames frames played" ||
	fail "nms4: ${frames:-no} frames played"
[ -n "$missing" ] && [ "$missing" -le $((${dropped:-0} + 2)) ] && pass "nms4: $missing frames missing in play" ||
	fail "nms4: ${missing:-?} frames missing in play, ${dropped:-?} dropped on purpose"
[ -n "$gap" ] && [ "$gap" -lt 2000 ] && pass "nms4: longest arrival gap $gap ms" || fail "nms4: arrival gap ${gap:-?} ms"

# Its recording (Node-Media-Server 4 writes the enhanced tags as it got them).
rec=$(nms4_recording)
if [ -z "$rec" ]; then
	fail "nms4: no recording in $LAB_DIR/nms4-rec"
else
	grep -aq hvc1 "$rec" && pass "nms4: the recording is Enhanced FLV ('hvc1')" || fail "nms4: no 'hvc1' in the recording"
	judge_recording nms4 "$DURATION" "$rec"
fi

# 2. nginx-rtmp, --codec hevc: taken, its video dropped, and nothing to hear.
send nginx-hevc 3 "$URL-h" --codec hevc
wait "$pid"
rc=$?
[ "$rc" = 0 ] && pass "nginx-hevc: mpstream exited 0 (nginx-rtmp refuses nothing)" || fail "nginx-hevc: mpstream exited $rc"
grep -q "$SAYS_ERTMP" "$LAB_DIR/mpstream-nginx-hevc.log" &&
	pass "nginx-hevc: the log says: $(grep -m1 -o "$SAYS_ERTMP.*" "$LAB_DIR/mpstream-nginx-hevc.log")" ||
	fail "nginx-hevc: the log does not say that the server must take Enhanced RTMP"
rec="$LAB_DIR/rec/$KEY-h.flv"
vstreams=$(ffprobe -v error -select_streams v -show_entries stream=codec_name -of csv=p=0 "$rec" 2>/dev/null | grep -c .)
apackets=$(ffprobe -v error -select_streams a:0 -count_packets -show_entries stream=nb_read_packets -of csv=p=0 \
	"$rec" 2>/dev/null)
"$MPSTREAM" probe "$rec" >"$LAB_DIR/probe-nginx-hevc-rec.out" 2>"$LAB_DIR/probe-nginx-hevc-rec.log"
prc=$?
echo "figure: nginx-hevc: the recording: ${apackets:-0} audio packets, $vstreams video stream(s); the probe exited $prc:" \
	"$(tail -n 1 "$LAB_DIR/probe-nginx-hevc-rec.log")"
[ "${apackets:-0}" -gt 0 ] && [ "$vstreams" = 0 ] && pass "nginx-hevc: nginx-rtmp kept the sound and dropped the video" ||
	fail "nginx-hevc: the recording has ${apackets:-0} audio packets and $vstreams video stream(s)"
# 69 is any failure to open; that it is for want of video is in its line.
[ "$prc" = 69 ] && grep -q "Stream not found" "$LAB_DIR/probe-nginx-hevc-rec.log" &&
	pass "nginx-hevc: the probe finds no video (69, stream not found)" ||
	fail "nginx-hevc: the probe exited $prc: $(tail -n 1 "$LAB_DIR/probe-nginx-hevc-rec.log")"

# 3. nginx-rtmp, --codec auto: H.264, whole.
send nginx-auto 3 "$URL-a" --codec auto
wait "$pid"
rc=$?
[ "$rc" = 0 ] && pass "nginx-auto: mpstream exited 0" || fail "nginx-auto: mpstream exited $rc"
if grep -q "$SAYS_ERTMP" "$LAB_DIR/mpstream-nginx-auto.log"; then
	fail "nginx-auto: the log speaks of HEVC"
else
	pass "nginx-auto: no word of HEVC"
fi
rec="$LAB_DIR/rec/$KEY-a.flv"
codec=$(ffprobe -v error -select_streams v:0 -show_entries stream=codec_name -of csv=p=0 "$rec" 2>/dev/null)
[ "$codec" = h264 ] && pass "nginx-auto: the recording is H.264" ||
	fail "nginx-auto: the recording's video is '${codec:-none}'"
judge_recording nginx-auto 3 "$rec"
check_no_key "$LAB_DIR/mpstream-nginx-hevc.log" "$LAB_DIR/mpstream-nginx-auto.log"
finish
