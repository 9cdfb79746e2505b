#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Each bad input: one clear line, its exit code, no routing change left
# behind, no stream key in the output. And with MPTCP off: plain TCP, warned.
. "$(dirname "$0")/common.sh"

lab_up 4mbit || { echo "FAIL: lab"; exit 1; }
# An interface without an address, and one with an address but no default route
# (veth pairs: this kernel has no dummy driver).
lab_in_snd ip link add noaddr type veth peer name noaddr-p || fail "cannot create noaddr"
lab_in_snd ip link set noaddr up
lab_in_snd ip link add nogw type veth peer name nogw-p || fail "cannot create nogw"
lab_in_snd ip addr add 10.77.0.2/24 dev nogw
lab_in_snd ip link set nogw up
lab_routing_state >"$LAB_DIR/before.txt"

expect() { # expect CODE "PATTERN" DESCRIPTION ARGS...
	local want=$1 pattern=$2 what=$3 rc t0 t1
	shift 3
	t0=$(date +%s.%N)
	ip netns exec "$LAB_SND" "$@" >"$LAB_DIR/out.txt" 2>"$LAB_DIR/err.txt"
	rc=$?
	t1=$(date +%s.%N)
	if [ "$rc" = "$want" ]; then pass "$what: exit $rc"; else fail "$what: exit $rc, expected $want"; fi
	if grep -qE -- "$pattern" "$LAB_DIR/err.txt"; then
		pass "$what: says '$(grep -E -- "$pattern" "$LAB_DIR/err.txt" | head -1 | cut -c1-110)'"
	else
		fail "$what: no line matching '$pattern' in: $(cat "$LAB_DIR/err.txt")"
	fi
	grep -q "$KEY" "$LAB_DIR/err.txt" "$LAB_DIR/out.txt" && fail "$what: the stream key was printed"
	lab_routing_state >"$LAB_DIR/after.txt"
	diff -q "$LAB_DIR/before.txt" "$LAB_DIR/after.txt" >/dev/null &&
		pass "$what: nothing left behind" || fail "$what: routing changed: $(diff "$LAB_DIR/before.txt" "$LAB_DIR/after.txt")"
	echo "figure: $what took $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s"
}
M=$MPSTREAM
# An uplink that does not work is waited for, as long as another one works;
# when none works, mpstream stops (see test_uplinks.sh for the other case).
expect 69 "uplink eth9: no such interface" "unknown interface" $M -u eth9 "$URL"
expect 69 "uplink noaddr: no IPv4 or IPv6 address" "no IPv4 or IPv6 address" $M -u noaddr "$URL"
expect 69 "uplink nogw: no default route" "no gateway" $M -u nogw "$URL"
expect 69 "no uplink works" "no uplink works" $M -u eth9 -u noaddr -u nogw "$URL"
expect 64 "uplink up0 is named twice" "same uplink twice" $M -u up0 -u up0 "$URL"
expect 64 "malformed URL" "malformed URL" $M -u up0 -u up1 "rtmp://$LAB_SERVER_IP/$KEY"
expect 64 "unknown option" "unknown option" $M --bogus "$URL"
expect 64 "--congestion 'nosuchcc': not available here \(available: " "unknown congestion control" \
	$M -u up0 -u up1 --congestion nosuchcc "$URL"
expect 64 "--uplink up1,cc=nosuchcc: not available here \(available: " "an uplink's unknown congestion control" \
	$M -u up0 -u up1,cc=nosuchcc "$URL"
expect 66 "cannot read input" "unreadable input file" $M -u up0 -u up1 -i /nonexistent/$KEY.mp4 "$URL"
# --encoder: no such encoder; one that is not H.264; hardware that is not here.
expect 64 "no such encoder \(its h264 encoders: libx264" "unknown encoder" \
	$M -u up0 -u up1 --encoder h264_warp "$URL"
expect 64 "makes aac; --codec h264 needs an encoder of h264" "encoder of audio" $M -u up0 -u up1 --encoder aac "$URL"
if [ ! -e /dev/dri/renderD128 ]; then
	expect 69 "no vaapi device here" "VAAPI without a GPU" $M -u up0 -u up1 --encoder h264_vaapi "$URL"
	expect 69 "cannot open --encoder h264_v4l2m2m" "V4L2 mem2mem without a device" \
		$M -u up0 -u up1 --encoder h264_v4l2m2m "$URL"
fi
# --record: an unknown container; a recording already there (kept as it was);
# a set-up that fails after the file was created (the file goes too).
expect 64 "expected a name ending in .mkv" "recording to .avi" \
	$M -u up0 -u up1 --record "$LAB_DIR/rec.avi" "$URL"
[ -e "$LAB_DIR/rec.avi" ] && fail "recording to .avi: a file was left"
echo "an earlier recording" >"$LAB_DIR/earlier.mkv"
expect 73 "never overwritten" "recording over an earlier one" \
	$M -u up0 -u up1 --record "$LAB_DIR/earlier.mkv" "$URL"
grep -q "an earlier recording" "$LAB_DIR/earlier.mkv" && pass "the earlier recording is untouched" ||
	fail "the earlier recording was changed"
expect 69 "uplink eth9: no such interface" "recording, then no uplink" \
	$M -u eth9 --record "$LAB_DIR/rec-%H%M%S.mkv" "$URL"
ls "$LAB_DIR"/rec-*.mkv >/dev/null 2>&1 && fail "recording, then no uplink: the empty recording was left" ||
	pass "recording, then no uplink: no file left"
# --copy needs H.264 and AAC: an MPEG-4 part 2 file is refused before anything is set up.
ffmpeg -v error -y -f lavfi -i testsrc2=size=320x240:rate=30:duration=1 -c:v mpeg4 \
	"$LAB_DIR/mpeg4.mp4" || fail "cannot make an MPEG-4 clip"
expect 66 "--copy needs H.264 video and AAC audio" "--copy of MPEG-4" \
	$M -u up0 -u up1 --copy -i "$LAB_DIR/mpeg4.mp4" "$URL"
expect 64 "--min-bitrate 5000k is above --max-bitrate 2000k" "bounds the wrong way" \
	$M -u up0 --min-bitrate 5M --max-bitrate 2M "$URL"
expect 69 "cannot stream to .*Connection refused" "server refuses" \
	$M -u up0 -u up1 "rtmp://$LAB_SERVER_IP:1936/live/$KEY"
# 10.9.0.99 is in the lab's server subnet and answers nothing.
expect 69 "cannot stream to .*(timed out|Timer expired)" "server does not answer" \
	$M -u up0 -u up1 --connect-timeout 3 "rtmp://10.9.0.99/live/$KEY"
# A stop while the first connection is being made: a prompt, clean exit 0.
t0=$(date +%s%3N)
ip netns exec "$LAB_SND" "$M" -u up0 -u up1 --connect-timeout 20 "rtmp://10.9.0.99/live/$KEY" \
	2>"$LAB_DIR/err.txt" &
pid=$!
sleep 1.5
kill -TERM $pid
wait $pid
rc=$?
took=$(($(date +%s%3N) - t0 - 1500))
echo "figure: SIGTERM during the first connect: exit $rc after $took ms"
[ "$rc" = 0 ] && pass "SIGTERM during the first connect: exit 0" || fail "SIGTERM during the first connect: exit $rc"
[ "$took" -le 3000 ] && pass "SIGTERM during the first connect: prompt" || fail "SIGTERM during the first connect: $took ms"
lab_routing_state >"$LAB_DIR/after.txt"
diff -q "$LAB_DIR/before.txt" "$LAB_DIR/after.txt" >/dev/null &&
	pass "SIGTERM during the first connect: nothing left behind" || fail "routing changed after the stop"
expect 69 "cannot stream to" "RTMP app refused" $M -u up0 -u up1 --duration 2 "rtmp://$LAB_SERVER_IP/nosuchapp/$KEY"
# A key the server is already receiving: refused, and mpstream says what that usually is.
ip netns exec "$LAB_SND" "$M" --duration 8 "${URL}twice" 2>"$LAB_DIR/first.txt" &
first=$!
sleep 3
expect 69 "the server refused the publish \(it may still hold an earlier publish" "a key already publishing" \
	$M --duration 2 "${URL}twice"
wait $first
# Not root: an ordinary user without CAP_NET_ADMIN.
chmod o+rx "$(dirname "$M")" 2>/dev/null
expect 77 "not permitted.*CAP_NET_ADMIN" "not root" \
	setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all "$M" -u up0 -u up1 "$URL"

# An ordinary user with CAP_NET_ADMIN alone (what mpstream@.service gives it):
# it streams, and puts the routing back.
expect 0 "uplink configuration removed" "CAP_NET_ADMIN only" \
	setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all,+net_admin \
	--ambient-caps=-all,+net_admin "$M" -u up0 -u up1 --duration 3 "${URL}cap"
grep -q "streaming over MPTCP" "$LAB_DIR/err.txt" && pass "CAP_NET_ADMIN only: streamed over MPTCP" ||
	fail "CAP_NET_ADMIN only: $(tail -3 "$LAB_DIR/err.txt")"
read -r frames dur gap <<<"$(lab_flv_summary "$LAB_DIR/rec/${KEY}cap.flv")"
[ "${frames:-0}" -ge 85 ] && pass "CAP_NET_ADMIN only: $frames frames recorded" || fail "CAP_NET_ADMIN only: ${frames:-0} frames"

# A config file: an error names the file, the line and the key; an unreadable one is 66.
printf 'bitrate = 4M\nfrobnicate = 1\n' >"$LAB_DIR/bad.conf"
expect 64 "bad.conf:2: unknown key 'frobnicate'" "config: unknown key" $M --config "$LAB_DIR/bad.conf" "$URL"
expect 66 "cannot read /nonexistent/mpstream.conf" "config: missing file" $M --config /nonexistent/mpstream.conf "$URL"
expect 66 "cannot read $LAB_DIR: Is a directory" "config: a directory" $M --config "$LAB_DIR" "$URL"
# A comment longer than libinih's line buffer: refused whole, its tail never read as config.
printf 'bitrate = 4M\n# %0300d [uplink up1] duration = 2\nduration = 2\n' 0 >"$LAB_DIR/long.conf"
expect 64 "long.conf:2: a line longer than" "config: a line too long" $M --config "$LAB_DIR/long.conf" "$URL"
# Binary garbage: its control bytes are not echoed to the terminal.
head -c 4000 /dev/urandom >"$LAB_DIR/garbage.conf"
expect 64 "garbage.conf:[0-9]+: " "config: binary garbage" $M --config "$LAB_DIR/garbage.conf" "$URL"
LC_ALL=C grep -q '[[:cntrl:]]' <(tr -d '\n' <"$LAB_DIR/err.txt") && fail "config: binary garbage: control bytes echoed" ||
	pass "config: binary garbage: no control byte in the line"
expect 64 "--preset 'fastest': expected one of" "unknown x264 preset" $M -u up0 --preset fastest "$URL"
expect 64 "uplink lo: a loopback interface is no uplink" "loopback as an uplink" $M -u lo,gw=127.0.0.2 -u up1 "$URL"
expect 64 "uplink up0: its gw= is not on its subnet" "gateway off the subnet" $M -u up0,gw=10.99.0.1 -u up1 "$URL"
expect 64 "malformed URL" "IPv6 URL, port out of range" $M -u up0 "rtmp://[::1]:99999/live/$KEY"
expect 64 "malformed URL" "IPv6 URL, no closing bracket" $M -u up0 "rtmp://[10.9.0.2/live/$KEY"
# A user:password@ is accepted; its password is never printed (it holds $KEY,
# which expect looks for), here on the way to a server that does not answer.
expect 69 "cannot stream to rtmp://\*\*\*@10.9.0.99/live/\*\*\*" "URL with a password" \
	$M -u up0 --connect-timeout 3 "rtmp://user:pw$KEY@10.9.0.99/live/x"
expect 64 "--to '127.0.0.1:99999': expected HOST:PORT" "relay: port out of range" \
	$M relay --listen 1941 --to 127.0.0.1:99999
expect 64 "--to '127.0.0.1:0': expected HOST:PORT" "relay: port 0" $M relay --listen 1941 --to 127.0.0.1:0

# The statistics CSV: a FIFO without a reader is refused at once; a file that
# cannot be written ends the CSV with one line, the stream goes on, exit 1.
mkfifo "$LAB_DIR/stats.fifo"
expect 1 "cannot create $LAB_DIR/stats.fifo: No such device or address" "--stats: a FIFO without a reader" \
	timeout 20 $M -u up0 -u up1 --duration 3 --stats "$LAB_DIR/stats.fifo" "$URL"
expect 1 "cannot write the statistics to /dev/full" "--stats /dev/full" \
	$M -u up0 -u up1 --duration 3 --stats /dev/full "${URL}full"
read -r frames dur gap <<<"$(lab_flv_summary "$LAB_DIR/rec/${KEY}full.flv")"
[ "${frames:-0}" -ge 85 ] && pass "--stats /dev/full: the stream went on ($frames frames)" || fail "--stats /dev/full: ${frames:-0} frames"

# The trace (--trace): a file that cannot be created stops the start; one that
# cannot be written ends the trace with one line, and the stream and its exit
# status are not the trace's business.
expect 1 "cannot create $LAB_DIR/no/such/dir/trace.csv: No such file or directory" \
	"--trace in a directory that does not exist" \
	$M -u up0 -u up1 --duration 3 --trace "$LAB_DIR/no/such/dir/trace.csv" "$URL"
expect 0 "cannot write the trace to /dev/full" "--trace /dev/full" \
	$M -u up0 -u up1 --duration 3 --trace /dev/full "${URL}trace"

# The probe: a file that is no stream gives a frame and does not pass; its CSV that cannot be written is exit 1.
head -c 1000000 /dev/urandom >"$LAB_DIR/random.bin"
expect 2 "too little to judge" "probe: random bytes" bash -c 'exec "$@" 1>&2' - $M probe "$LAB_DIR/random.bin"
expect 1 "cannot write /dev/full" "probe --csv /dev/full" $M probe --csv /dev/full "$LAB_DIR/mpeg4.mp4"

# --connect-timeout above FFmpeg's own 5 s is honoured (10.9.0.99 silent: no
# ARP failure from the router either).
lab_in_rtr nft add rule inet lab cut ip daddr 10.9.0.99 drop
t0=$(date +%s%3N)
expect 69 "cannot stream to .*(timed out|Timer expired)" "--connect-timeout 8" \
	$M -u up0 -u up1 --connect-timeout 8 "rtmp://10.9.0.99/live/$KEY"
took=$(($(date +%s%3N) - t0))
echo "figure: --connect-timeout 8: gave up after $took ms"
[ "$took" -ge 7500 ] && pass "--connect-timeout 8: waited its 8 s" || fail "--connect-timeout 8: gave up after $took ms"

# An encoder slower than real time is said once, with its speed.
expect 0 "the encoder runs at 0\.[0-9]+x real time" "encoder slower than real time" \
	$M -u up0 -u up1 --duration 1.5 --size 3840x2160 --fps 60 --preset medium "${URL}slow"
[ "$(grep -c "the encoder runs at" "$LAB_DIR/err.txt")" = 1 ] && pass "said once" || fail "said $(grep -c "the encoder runs at" "$LAB_DIR/err.txt") times"

# net.mptcp.enabled=0: a warning, then plain TCP, and the stream works.
lab_in_snd sysctl -qw net.mptcp.enabled=0
lab_routing_state >"$LAB_DIR/before.txt"
expect 0 "net.mptcp.enabled is 0" "MPTCP disabled" $M -u up0 -u up1 --duration 3 "$URL"
grep -qE "streaming over (plain )?TCP" "$LAB_DIR/err.txt" && pass "MPTCP disabled: streamed over TCP" || fail "MPTCP disabled: $(cat "$LAB_DIR/err.txt")"
read -r frames dur gap <<<"$(lab_flv_summary "$LAB_DIR/rec/$KEY.flv")"
[ "${frames:-0}" -ge 85 ] && pass "MPTCP disabled: $frames frames recorded" || fail "MPTCP disabled: ${frames:-0} frames"
finish
