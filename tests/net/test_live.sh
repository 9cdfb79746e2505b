#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Live inputs (issue 12): a camera (an ffmpeg process in the sender's
# namespace) pushes SRT, MPEG-TS over UDP, RTMP and RIST into mpstream,
# which sends to nginx-rtmp over the two uplinks; and SRT again with --copy.
# The camera is killed (SIGKILL: a battery gone) for 3 s and started again.
# At the server: no arrival gap over 600 ms, the slate seen (told from the
# camera's pictures by their brightness: the slate is the last picture
# darkened), the camera's pictures back within 1 s of its return, and a
# recording without a hole in its timestamps; mpstream's own --record holds at
# least as much. Bad input (first): a device that does not exist, a port
# taken; and 6 s of random bytes sent to the UDP input: a clear line or the
# slate, never a crash, the log not flooded, the routing as before. And idle peers:
# a TCP connection that sends nothing at the RTMP listener, an SRT caller that
# sends nothing at the SRT listener: a camera calling again gets on air.
. "$(dirname "$0")/common.sh"

lab_up 8mbit || { echo "FAIL: lab"; exit 1; }
lab_routing_state >"$LAB_DIR/before.txt"
DURATION=11

# camera_out PROTO: where the camera pushes to, in $out. The camera
# ($cam) is started inline, not in a function, so that $! is ffmpeg itself
# (a function's background subshell would run the lab's EXIT trap when killed).
camera_out() {
	case $1 in
	srt) out=(-f mpegts "srt://127.0.0.1:9000?mode=caller&pkt_size=1316") ;;
	udp) out=(-f mpegts "udp://127.0.0.1:5000?pkt_size=1316") ;;
	rtmp) out=(-f flv "rtmp://127.0.0.1:1936/live/cam") ;;
	rist) out=(-f mpegts "rist://127.0.0.1:9100") ;;
	esac
}
CAMERA=(ffmpeg -nostdin -loglevel error -re -f lavfi -i testsrc2=size=640x360:rate=30
	-re -f lavfi -i sine=frequency=440 -c:v libx264 -preset ultrafast -tune zerolatency -g 30
	-b:v 1M -c:a aac)

# brightness FILE: "pts_time,YAVG" for each picture of the recording.
brightness() {
	ffprobe -v error -f lavfi -i "movie=$1,signalstats" \
		-show_entries frame=pts_time:frame_tags=lavfi.signalstats.YAVG -of csv=p=0
}

# copy: SRT again, with --copy: the camera's H.264 goes through, the slate is
# encoded in between, and what the server records decodes without an error.
# decode_errors FILE: what decoding FILE says is wrong (not the null muxer's
# complaint of two pictures in one 1/fps slot: the slate and the camera
# alternate at their own times).
decode_errors() {
	ffmpeg -nostdin -v error -i "$1" -f null - 2>&1 | grep -v 'non monotonically increasing dts'
}

# live_input PROTO: mpstream's --input for PROTO in $input, its other options
# in $extra, its --record's extension in $ext.
live_input() {
	extra=() ext=mkv
	case $1 in
	srt) input="srt://:9000?mode=listener" ;;
	udp) input="udp://@:5000" ;;
	rtmp) input="rtmp://0.0.0.0:1936/live/cam" ;;
	rist) input="rist://@127.0.0.1:9100" ;;
	copy) input="srt://:9000?mode=listener" extra=(--copy) ext=flv ;;
	esac
}

# read_recordings PROTO: what the checks read of PROTO's two recordings (the
# server's and --record's), into files; run in the background, one per PROTO.
read_recordings() {
	trap - EXIT INT TERM
	local proto=$1 key="$KEY$1"
	live_input "$proto"
	brightness "$LAB_DIR/rec/$key.flv" >"$LAB_DIR/luma-$proto.csv"
	ffprobe -v error -select_streams v -count_frames -show_entries stream=nb_read_frames \
		-of csv=p=0 "$LAB_DIR/local-$proto.$ext" | grep -m1 -oE '[0-9]+' >"$LAB_DIR/local-frames-$proto.txt"
	decode_errors "$LAB_DIR/local-$proto.$ext" >"$LAB_DIR/local-decode-$proto.txt"
	decode_errors "$LAB_DIR/rec/$key.flv" >"$LAB_DIR/decode-$proto.txt"
}

# check_live PROTO: the checks of PROTO's run ($rc_of, $killed, $back) and recordings.
check_live() {
	local proto=$1 rc=${rc_of[$1]}
	[ "$rc" = 0 ] && pass "$proto: mpstream exited 0" || fail "$proto: mpstream exited $rc"

	gap=$(grep -oE 'longest gap [0-9]+' "$LAB_DIR/probe-$proto.out" | grep -oE '[0-9]+')
	echo "figure: $proto: probe: $(cat "$LAB_DIR/probe-$proto.out")"
	[ -n "$gap" ] && [ "$gap" -le 600 ] && pass "$proto: longest arrival gap $gap ms (<= 600)" ||
		fail "$proto: longest arrival gap ${gap:-?} ms"

	# The recording: camera pictures (bright), the slate (dark), the camera again.
	# Phases: 0 before the camera's first picture (the waiting slate), 1 the
	# camera, 2 the slate after the cut, 3 the camera again.
	read -r frames slate last_cam first_slate back_cam maxstep < <(awk -F, -v dark=70 '
		BEGIN { maxstep = 0; phase = 0 }
		NR > 1 && $1 - prev > maxstep { maxstep = $1 - prev }
		{ prev = $1; n++ }
		phase == 0 && $2 >= dark { phase = 1 }
		phase == 1 && $2 >= dark { lc = $1 }
		phase == 1 && $2 < dark { phase = 2; fs = $1 }
		phase == 2 && $2 < dark { s++ }
		phase == 2 && $2 >= dark { phase = 3; bc = $1 }
		END { printf "%d %d %s %s %s %.3f\n", n, s, lc == "" ? "-" : lc, fs == "" ? "-" : fs, bc == "" ? "-" : bc, maxstep }' "$LAB_DIR/luma-$proto.csv")
	outage_ms=$((${back[$proto]} - ${killed[$proto]}))
	echo "figure: $proto: recording $frames pictures, $slate of the slate (from ${first_slate:-?} s), camera's last before the cut at ${last_cam:-?} s, back at ${back_cam:-?} s; largest step ${maxstep} s; camera away ${outage_ms} ms"
	[ "${slate:-0}" -gt 30 ] && pass "$proto: the slate was sent ($slate pictures)" || fail "$proto: no slate in the recording"
	if [ "$back_cam" != - ] && [ "$last_cam" != - ]; then
		return_ms=$(awk -v b="$back_cam" -v l="$last_cam" -v o="$outage_ms" 'BEGIN { printf "%d", (b - l) * 1000 - o }')
		echo "figure: $proto: the camera's pictures back ${return_ms} ms after it was started again"
		[ "$return_ms" -le 1000 ] && pass "$proto: camera back within 1 s (${return_ms} ms)" || fail "$proto: camera back after ${return_ms} ms"
	else
		fail "$proto: the camera's pictures did not come back"
	fi
	# With --copy nothing can continue the camera's stream between its last
	# packet and the slate: the last picture stays up to --input-timeout.
	limit=0.1
	[ "$proto" = copy ] && limit=0.6
	awk -v m="$maxstep" -v l=$limit 'BEGIN { exit !(m < l) }' && pass "$proto: recording continuous (largest step ${maxstep} s, < $limit)" ||
		fail "$proto: a hole of ${maxstep} s in the recording"
	# The CSV's input column says it too: up, lost, up again.
	states=$(awk -F, '$2 == "total" && $19 != "" && $19 != prev { printf "%s ", $19; prev = $19 }' "$LAB_DIR/stats-$proto.csv")
	echo "figure: $proto: the CSV's input column: $states"
	case "$states" in
	*"up lost up"*) pass "$proto: the stats say up, lost, up" ;;
	*) fail "$proto: the stats' input column: $states" ;;
	esac
	# --record: the local copy holds at least what the server got, and decodes without an error.
	local_frames=$(cat "$LAB_DIR/local-frames-$proto.txt")
	errors=$(wc -l <"$LAB_DIR/local-decode-$proto.txt")
	server_errors=$(wc -l <"$LAB_DIR/decode-$proto.txt")
	echo "figure: $proto: --record kept $local_frames pictures (the server $frames), $errors decoding errors; the server's recording: $server_errors"
	[ "$server_errors" = 0 ] && pass "$proto: the server's recording decodes without an error" ||
		fail "$proto: decoding the server's recording: $(head -3 "$LAB_DIR/decode-$proto.txt")"
	[ "${local_frames:-0}" -ge "$frames" ] && [ "$errors" = 0 ] && pass "$proto: the local recording is whole" ||
		fail "$proto: the local recording: ${local_frames:-no} pictures, $errors errors"
	grep -E "input" "$LAB_DIR/mpstream-$proto.log" | grep -v stats | head -n 6 | cut -c1-140
	check_no_key "$LAB_DIR/mpstream-$proto.log"
}

# Bad input first (a port of the runs below could still be held by a closing
# connection). A V4L2 device that does not exist: one line, exit 66, nothing left behind.
ip netns exec "$LAB_SND" "$MPSTREAM" -u up0 -u up1 --input v4l2:/dev/video97 "$URL" 2>"$LAB_DIR/bad-v4l2.log"
rc=$?
cat "$LAB_DIR/bad-v4l2.log"
[ "$rc" = 66 ] && grep -q "cannot open v4l2:/dev/video97" "$LAB_DIR/bad-v4l2.log" &&
	pass "no such device: exit 66 and a clear line" || fail "no such device: exit $rc"
# A port taken: exit 69 (--duration: were the port not taken, the run would end).
ip netns exec "$LAB_SND" python3 -c 'import socket,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("0.0.0.0",1936)); s.listen(); time.sleep(30)' &
blocker=$!
lab_wait_listen snd 1936 || fail "port taken: the blocker does not listen"
ip netns exec "$LAB_SND" "$MPSTREAM" -u up0 -u up1 --duration 10 --input rtmp://0.0.0.0:1936/live/cam "$URL" 2>"$LAB_DIR/bad-port.log"
rc=$?
kill "$blocker"
wait "$blocker" 2>/dev/null
cat "$LAB_DIR/bad-port.log"
[ "$rc" = 69 ] && pass "port taken: exit 69" || fail "port taken: exit $rc"

# One run after the other (one mpstream configures a namespace's uplinks):
# the sender, the camera, the probe at the server; the camera killed and
# started again. The recordings are read once all have run, side by side.
declare -A rc_of killed back
for proto in srt udp rtmp rist copy; do
	live_input "$proto"
	ip netns exec "$LAB_SND" "$MPSTREAM" -u up0 -u up1 -s 640x360 -b 1M --duration "$DURATION" \
		--input "$input" --stats "$LAB_DIR/stats-$proto.csv" --record "$LAB_DIR/local-$proto.$ext" "${extra[@]}" \
		"rtmp://$LAB_SERVER_IP/live/$KEY$proto" 2>"$LAB_DIR/mpstream-$proto.log" &
	pid=$!
	sleep 0.5
	camera_out "${proto/copy/srt}"
	ip netns exec "$LAB_SND" "${CAMERA[@]}" "${out[@]}" >>"$LAB_DIR/camera.log" 2>&1 &
	cam=$!
	sleep 1.5
	# The probe plays from about 2 s on: the cut at 5 s and the return at 8 s
	# are both in what it sees (it ends at 10 s).
	ip netns exec "$LAB_SRV" "$MPSTREAM" probe --duration $((DURATION - 3)) --max-gap 5000 \
		"rtmp://127.0.0.1/live/$KEY$proto" >"$LAB_DIR/probe-$proto.out" 2>"$LAB_DIR/probe-$proto.log" &
	probe=$!
	sleep 3
	killed[$proto]=$(date +%s%3N)
	kill -9 "$cam"
	wait "$cam" 2>/dev/null
	sleep 3
	back[$proto]=$(date +%s%3N)
	ip netns exec "$LAB_SND" "${CAMERA[@]}" "${out[@]}" >>"$LAB_DIR/camera.log" 2>&1 &
	cam=$!
	wait "$pid"
	rc_of[$proto]=$?
	kill "$cam" 2>/dev/null
	wait "$cam" 2>/dev/null
	wait "$probe"
done
readers=()
for proto in srt udp rtmp rist copy; do
	read_recordings "$proto" &
	readers+=($!)
done
wait "${readers[@]}"
for proto in srt udp rtmp rist copy; do check_live "$proto"; done

# Idle peers (issue 28): a TCP connection that sends nothing at the RTMP
# listener, an SRT caller that sends nothing at the SRT listener. FFmpeg's
# listener takes one peer and closes its socket, so the camera is refused
# while the idle peer stays; it calls again every 0.2 s (as cameras do) and
# must be on air (the stats CSV's input column) within IDLE_BOUND_MS of its
# first call: the idle peer is dropped after 3 s (SRT: plus its latency).
IDLE_BOUND_MS=5000
TCP_IDLE='import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
print("connected", flush=True)
time.sleep(30)'
# An SRT caller through libsrt itself (no SRT tool is packaged here): it
# connects, then sends nothing.
SRT_IDLE='import ctypes, socket, struct, sys, time
for name in ("libsrt-gnutls.so.1.5", "libsrt-openssl.so.1.5", "libsrt.so.1.5"):
    try:
        srt = ctypes.CDLL(name)
        break
    except OSError:
        pass
srt.srt_startup()
s = srt.srt_create_socket()
addr = struct.pack("=HH4s8x", socket.AF_INET, socket.htons(int(sys.argv[1])), socket.inet_aton("127.0.0.1"))
if srt.srt_connect(s, ctypes.c_char_p(addr), len(addr)) < 0:
    sys.exit(1)
print("connected", flush=True)
time.sleep(30)'
for proto in rtmp srt; do
	case $proto in
	rtmp) input="rtmp://0.0.0.0:1936/live/cam" port=1936 idle=$TCP_IDLE ;;
	# Its latency (200 ms) is what the idle caller is allowed on top of 3 s.
	srt) input="srt://:9000?mode=listener&latency=200000" port=9000 idle=$SRT_IDLE ;;
	esac
	ip netns exec "$LAB_SND" "$MPSTREAM" -u up0 -u up1 -s 640x360 -b 1M --duration 7 --input "$input" \
		--stats "$LAB_DIR/stats-idle-$proto.csv" --stats-interval 0.25 \
		"rtmp://$LAB_SERVER_IP/live/${KEY}idle$proto" 2>"$LAB_DIR/mpstream-idle-$proto.log" &
	pid=$!
	# The idle peer connects once the listener listens, the camera once it is in.
	for _ in $(seq 30); do
		ip netns exec "$LAB_SND" ss -Htuln "sport = :$port" | grep -q . && break
		sleep 0.1
	done
	ip netns exec "$LAB_SND" python3 -c "$idle" $port >"$LAB_DIR/idle-$proto.out" 2>>"$LAB_DIR/idle.log" &
	peer=$!
	for _ in $(seq 30); do
		grep -q connected "$LAB_DIR/idle-$proto.out" && break
		sleep 0.1
	done
	grep -q connected "$LAB_DIR/idle-$proto.out" && pass "idle $proto peer: connected" || fail "idle $proto peer: not connected"
	camera_out $proto
	[ "$proto" = srt ] && out[2]="${out[2]}&connect_timeout=1000"
	called=$(date +%s%3N)
	# Its own session, so that the loop and its ffmpeg go together.
	setsid ip netns exec "$LAB_SND" bash -c 'while :; do "$@"; sleep 0.2; done' camera \
		"${CAMERA[@]}" "${out[@]}" >>"$LAB_DIR/camera.log" 2>&1 &
	cam=$!
	on_air=never
	while kill -0 "$pid" 2>/dev/null; do
		if awk -F, '$2 == "total" && $19 == "up" { f = 1 } END { exit !f }' "$LAB_DIR/stats-idle-$proto.csv" 2>/dev/null; then
			on_air=$(($(date +%s%3N) - called))
			break
		fi
		sleep 0.1
	done
	# On air: the run has shown what it is for; it ends now (cleanly, exit 0).
	[ "$on_air" != never ] && kill -TERM "$pid" 2>/dev/null
	wait "$pid"
	rc=$?
	kill -- -"$cam" 2>/dev/null
	kill "$peer" 2>/dev/null
	wait "$cam" "$peer" 2>/dev/null
	echo "figure: idle $proto peer: the camera on air after its first call: ${on_air} ms"
	grep 'a peer connected' "$LAB_DIR/mpstream-idle-$proto.log" | head -n 2 | cut -c1-160
	[ "$rc" = 0 ] && pass "idle $proto peer: mpstream exited 0" || fail "idle $proto peer: mpstream exited $rc"
	[ "$on_air" != never ] && [ "$on_air" -le $IDLE_BOUND_MS ] &&
		pass "idle $proto peer: the camera on air ${on_air} ms after its first call (<= $IDLE_BOUND_MS)" ||
		fail "idle $proto peer: the camera on air: $on_air (bound $IDLE_BOUND_MS ms)"
done

# Garbage: 6 s of random bytes to the UDP input, then a real camera.
GARBAGE_S=6 GARBAGE_RUN_S=14
ip netns exec "$LAB_SND" "$MPSTREAM" -u up0 -u up1 -s 640x360 -b 1M --duration $GARBAGE_RUN_S --input udp://@:5000 \
	--stats "$LAB_DIR/stats-garbage.csv" "rtmp://$LAB_SERVER_IP/live/${KEY}garbage" 2>"$LAB_DIR/mpstream-garbage.log" &
pid=$!
sleep 1
ip netns exec "$LAB_SND" python3 -c '
import os, socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
end = time.time() + int(sys.argv[1])
while time.time() < end:
    s.sendto(os.urandom(1316), ("127.0.0.1", 5000))
    time.sleep(0.002)
' $GARBAGE_S
camera_out udp
ip netns exec "$LAB_SND" "${CAMERA[@]}" "${out[@]}" >>"$LAB_DIR/camera.log" 2>&1 &
cam=$!
wait "$pid"
rc=$?
kill "$cam" 2>/dev/null
wait "$cam" 2>/dev/null
[ "$rc" = 0 ] && pass "garbage on the UDP input: mpstream went on and exited 0" || fail "garbage: exit $rc"
brightness "$LAB_DIR/rec/${KEY}garbage.flv" >"$LAB_DIR/luma-garbage.csv"
read -r pictures maxstep < <(awk -F, 'BEGIN { m = 0 } NR > 1 && $1 - p > m { m = $1 - p } { p = $1; n++ } END { printf "%d %.3f\n", n, m }' "$LAB_DIR/luma-garbage.csv")
bright=$(awk -F, '$2 >= 70' "$LAB_DIR/luma-garbage.csv" | wc -l)
echo "figure: garbage: $pictures pictures recorded (largest step $maxstep s), $bright of the camera started after the garbage; $(grep -c libav "$LAB_DIR/mpstream-garbage.log") libav lines in the log ($(grep -c 'not shown' "$LAB_DIR/mpstream-garbage.log") of them counting lines not shown)"
# The slate throughout the garbage: the whole run at 30 fps (90 %), without a hole.
[ "$pictures" -ge $((GARBAGE_RUN_S * 30 * 9 / 10)) ] && awk -v m="$maxstep" 'BEGIN { exit !(m < 0.1) }' &&
	pass "garbage: the slate went on without a hole ($pictures pictures)" || fail "garbage: $pictures pictures, a hole of $maxstep s"
# At most 10 a second shown, and the lines that count those not shown: 300 in 22 s as it was.
lines=$(grep -c libav "$LAB_DIR/mpstream-garbage.log")
max_lines=$((GARBAGE_RUN_S * 300 / 22))
[ "$lines" -le $max_lines ] && pass "garbage: $lines libav lines in $GARBAGE_RUN_S s (<= $max_lines; at most 10 a second shown)" ||
	fail "garbage: $lines libav lines (bound $max_lines)"
# A camera started after the garbage is picked up (about 7 s of it remain).
[ "$bright" -ge 60 ] && pass "garbage: the camera started after it is on air ($bright pictures)" ||
	fail "garbage: the camera started after it: $bright pictures"
[ "$(lab_routing_state)" = "$(cat "$LAB_DIR/before.txt")" ] && pass "after exit the routing is as before" || fail "routing left behind"
finish
