#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# --copy of a live HEVC camera (issue 30): a camera (ffmpeg, libx265, in the
# sender's namespace) pushes MPEG-TS over SRT into mpstream, which passes its
# HEVC through with `--copy --codec hevc` to Node-Media-Server 4 over both
# uplinks, and records it to .mkv. The camera is killed (SIGKILL) for 2.5 s
# and started again: mpstream sends the slate (x265, its keyframes carrying
# their parameter sets) and then the camera's stream again from its next
# keyframe, with a new HEVC sequence start at each switch (counted in the
# server's recording; camera and slate differ in preset, so their parameter
# sets differ: x265 ultrafast's CTU is 32, veryfast's 64). At the server the
# arrival gap stays under 600 ms; its recording (read by `mpstream probe`:
# FFmpeg 5.1 reads no Enhanced FLV) and mpstream's own .mkv decode without a
# decoder's word and hold about every frame of the run.
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/hevc.sh"
nms4_check

lab_up 8mbit || { echo "FAIL: lab"; exit 1; }
DURATION=11
CAMERA=(ffmpeg -nostdin -loglevel error -re -f lavfi -i testsrc2=size=640x360:rate=30
	-re -f lavfi -i sine=frequency=440 -c:v libx265 -preset ultrafast -tune zerolatency
	-x265-params log-level=error -g 30 -b:v 1M -c:a aac
	-f mpegts "srt://127.0.0.1:9000?mode=caller&pkt_size=1316")

nms4_start 1945
ip netns exec "$LAB_SND" "$MPSTREAM" -u up0 -u up1 -s 640x360 -b 1M --duration "$DURATION" \
	--input "srt://:9000?mode=listener" --copy --codec hevc --record "$LAB_DIR/local.mkv" \
	--stats "$LAB_DIR/stats.csv" "rtmp://$LAB_SERVER_IP:1945/live/$KEY" 2>"$LAB_DIR/mpstream-copy.log" &
pid=$!
sleep 0.5
# Inline, not in a function: $! is ffmpeg itself (test_live.sh's camera note).
ip netns exec "$LAB_SND" "${CAMERA[@]}" >>"$LAB_DIR/camera.log" 2>&1 &
cam=$!
sleep 1.5
ip netns exec "$LAB_SRV" "$MPSTREAM" probe --duration $((DURATION - 3)) --timeout 10 --max-gap 5000 \
	"rtmp://127.0.0.1:1945/live/$KEY" >"$LAB_DIR/probe.out" 2>"$LAB_DIR/probe.log" &
probe=$!
sleep 2.5
kill -9 "$cam"
wait "$cam" 2>/dev/null
sleep 2.5
ip netns exec "$LAB_SND" "${CAMERA[@]}" >>"$LAB_DIR/camera.log" 2>&1 &
cam=$!
wait "$pid"
rc=$?
kill "$cam" 2>/dev/null
wait "$cam" 2>/dev/null
wait "$probe"
prc=$?

[ "$rc" = 0 ] && pass "mpstream exited 0" || fail "mpstream exited $rc"
grep -E "input|copy" "$LAB_DIR/mpstream-copy.log" | grep -v stats | head -n 8 | cut -c1-150
through=$(grep -c -- "--copy: the camera's stream goes through from its keyframe" "$LAB_DIR/mpstream-copy.log")
[ "$through" -ge 2 ] && pass "the camera's HEVC went through before the cut and after it ($through times)" ||
	fail "the camera's HEVC went through $through time(s), not before and after the cut"
if grep -q "the source sends" "$LAB_DIR/mpstream-copy.log"; then
	fail "$(grep -m1 -o -- "--copy passes.*" "$LAB_DIR/mpstream-copy.log")"
fi
states=$(awk -F, '$2 == "total" && $19 != "" && $19 != prev { printf "%s ", $19; prev = $19 }' "$LAB_DIR/stats.csv")
echo "figure: the CSV's input column: $states"
case "$states" in
*"up lost up"*) pass "the stats say up, lost, up" ;;
*) fail "the stats' input column: $states" ;;
esac

# Played back at the server, through the cut and back.
frames=$(field "$LAB_DIR/probe.out" frames)
gap=$(grep -oE 'longest gap [0-9]+' "$LAB_DIR/probe.out" | grep -oE '[0-9]+')
errors=$(grep -c -E ' (error|warn) +libav' "$LAB_DIR/probe.log")
echo "figure: played back at the server: $(cat "$LAB_DIR/probe.out")"
[ "$prc" = 0 ] && pass "the player passed" || fail "the player exited $prc: $(tail -n 2 "$LAB_DIR/probe.log")"
[ "${frames:-0}" -ge $(((DURATION - 3) * 30 * 7 / 10)) ] && pass "$frames frames played" ||
	fail "${frames:-no} frames played"
[ -n "$gap" ] && [ "$gap" -le 600 ] && pass "longest arrival gap $gap ms (<= 600)" || fail "arrival gap ${gap:-?} ms"
[ "$errors" = 0 ] && pass "the player's decoder said nothing" ||
	fail "the player's decoder said: $(grep -m 3 -E ' (error|warn) +libav' "$LAB_DIR/probe.log")"

# The server's recording: Enhanced FLV, every frame sent decodes.
rec=$(nms4_recording)
if [ -z "$rec" ]; then
	fail "no recording in $LAB_DIR/nms4-rec"
else
	# A SequenceStart's first byte: the extended header, a keyframe, PacketType 0; then the FourCC.
	starts=$(LC_ALL=C grep -aob $'\x90hvc1' "$rec" | wc -l)
	echo "figure: the server's recording: $starts HEVC SequenceStarts"
	[ "$starts" -ge 4 ] && pass "a SequenceStart at the start and at each switch ($starts: slate, camera, slate, camera)" ||
		fail "$starts SequenceStarts in the recording (4 wanted: slate, camera, slate, camera)"
	judge_recording copy "$DURATION" "$rec"
fi

# mpstream's own: Matroska, the camera's and the slate's parameter sets in their keyframes.
local_frames=$(ffprobe -v error -select_streams v -count_frames -show_entries stream=nb_read_frames \
	-of csv=p=0 "$LAB_DIR/local.mkv" | grep -m1 -oE '[0-9]+')
local_errors=$(ffmpeg -nostdin -v error -i "$LAB_DIR/local.mkv" -f null - 2>&1 | grep -v 'non monotonically increasing dts')
codec=$(ffprobe -v error -select_streams v:0 -show_entries stream=codec_name -of csv=p=0 "$LAB_DIR/local.mkv")
echo "figure: --record: $codec, ${local_frames:-no} pictures, $(echo -n "$local_errors" | grep -c .) decoding error(s)"
[ "$codec" = hevc ] && [ "${local_frames:-0}" -ge $((DURATION * 30 * 8 / 10)) ] && [ -z "$local_errors" ] &&
	pass "the local recording is whole ($local_frames HEVC pictures, no error)" ||
	fail "the local recording: $codec, ${local_frames:-no} pictures: $(echo "$local_errors" | head -n 3)"
check_no_key "$LAB_DIR/mpstream-copy.log"
finish
