#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# --copy: a 5 Mbit/s H.264/AAC file passed through as it is. Its bit rate
# cannot change, so when uplink 0 is cut (3.8 Mbit/s left) mpstream must drop
# frames up to keyframes to keep its delay bounded. The probe measures the
# delay above the smallest one seen (the file's frames carry no live stamps).
. "$(dirname "$0")/common.sh"

DURATION=30
CUT_AT=8
lab_up 4mbit || { echo "FAIL: lab"; exit 1; }
clip="$LAB_DIR/clip.mp4"
# Noise keeps x264 at the asked rate; keyframes every 2 s.
ffmpeg -v error -y -f lavfi -i "testsrc2=size=1280x720:rate=30:duration=12" \
	-f lavfi -i "sine=frequency=440:duration=12" -vf "noise=alls=12:allf=t" \
	-c:v libx264 -preset ultrafast -b:v 5M -maxrate 5M -bufsize 2500k -g 60 -keyint_min 60 \
	-sc_threshold 0 -pix_fmt yuv420p -c:a aac -b:a 128k -shortest "$clip" || fail "cannot make the clip"
rate=$(ffprobe -v error -select_streams v:0 -show_entries format=bit_rate -of csv=p=0 "$clip")
echo "figure: clip bit rate $rate bit/s"

ip netns exec "$LAB_SND" "$MPSTREAM" --uplink up0 --uplink up1 --duration $DURATION --copy \
	--input "$clip" --loop --max-latency 1000 --stats "$LAB_DIR/stats.csv" "$URL" \
	2>"$LAB_DIR/mpstream.log" &
pid=$!
sleep $CUT_AT
lab_cut 0 || fail "cannot cut up0"
sleep 4
probe_start 15 --relative --max-latency 2000
wait_stream $pid
# The stats CSV: with --copy there is no target bit rate to steer (0 on every total row).
awk -F, '$2 == "total" && $11 != "" && $11 != 0 { f = 1 } END { exit !f }' "$LAB_DIR/stats.csv" &&
	fail "the bit rate was changed with --copy" || pass "the bit rate stayed the file's"
drops=$(grep -c "dropped .* queued frames" "$LAB_DIR/mpstream.log")
dropped=$(lab_dropped_frames "$LAB_DIR/stats.csv")
echo "figure: $drops drop(s) to a keyframe, ${dropped:-0} frames dropped"
[ "${dropped:-0}" -ge 1 ] && pass "frames dropped to bound the delay" || fail "no drop although the file exceeds the capacity"
grep -m1 "dropped .* queued frames" "$LAB_DIR/mpstream.log" | sed 's/^/figure: /'
echo "figure: probe: $(cat "$LAB_DIR/probe.out")"
[ "$prc" = 0 ] && pass "probe: relative delay under 2000 ms from 4 s after the cut on" || fail "probe exit $prc"
rec="$LAB_DIR/rec/$KEY.flv"
[ -s "$rec" ] && ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames \
	-of csv=p=0 "$rec" >"$LAB_DIR/decoded.txt" 2>"$LAB_DIR/decode-errors.log"
[ -s "$LAB_DIR/decoded.txt" ] && [ ! -s "$LAB_DIR/decode-errors.log" ] &&
	pass "the recording decodes without error ($(cat "$LAB_DIR/decoded.txt") frames)" ||
	fail "the recording does not decode cleanly: $(head -3 "$LAB_DIR/decode-errors.log")"
check_no_key "$LAB_DIR/mpstream.log" "$LAB_DIR/probe.log"
finish
