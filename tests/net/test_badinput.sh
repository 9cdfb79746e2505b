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
expect 69 "uplink noaddr: no IPv4 address" "no IPv4 address" $M -u noaddr "$URL"
expect 69 "uplink nogw: no default route" "no gateway" $M -u nogw "$URL"
expect 69 "no uplink works" "no uplink works" $M -u eth9 -u noaddr -u nogw "$URL"
expect 64 "uplink up0 is named twice" "same uplink twice" $M -u up0 -u up0 "$URL"
expect 64 "malformed URL" "malformed URL" $M -u up0 -u up1 "rtmp://$LAB_SERVER_IP/$KEY"
expect 64 "unknown option" "unknown option" $M --bogus "$URL"
expect 64 "--congestion 'nosuchcc': not available here \(available: " "unknown congestion control" \
	$M -u up0 -u up1 --congestion nosuchcc "$URL"
expect 66 "cannot read input" "unreadable input file" $M -u up0 -u up1 -i /nonexistent/$KEY.mp4 "$URL"
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
expect 69 "cannot stream to" "RTMP app refused" $M -u up0 -u up1 --duration 2 "rtmp://$LAB_SERVER_IP/nosuchapp/$KEY"
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

# net.mptcp.enabled=0: a warning, then plain TCP, and the stream works.
lab_in_snd sysctl -qw net.mptcp.enabled=0
lab_routing_state >"$LAB_DIR/before.txt"
expect 0 "net.mptcp.enabled is 0" "MPTCP disabled" $M -u up0 -u up1 --duration 3 "$URL"
grep -q "over TCP" "$LAB_DIR/err.txt" && pass "MPTCP disabled: streamed over TCP" || fail "MPTCP disabled: $(cat "$LAB_DIR/err.txt")"
read -r frames dur gap <<<"$(lab_flv_summary "$LAB_DIR/rec/$KEY.flv")"
[ "${frames:-0}" -ge 85 ] && pass "MPTCP disabled: $frames frames recorded" || fail "MPTCP disabled: ${frames:-0} frames"
finish
