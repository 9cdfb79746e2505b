# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# What the tests that send HEVC share: Node-Media-Server 4 (npm; it takes
# Enhanced RTMP) under `mptcpize run node` in the lab's server namespace, and
# the judgement of a recording read by `mpstream probe` (FFmpeg 5.1 reads no
# Enhanced FLV). Sourced after common.sh; scripts/test installs NMS4_DIR.
NMS4_DIR=${MPSTREAM_NMS4_DIR:-/usr/local/lib/mpstream-test-nms4}
NMS4_APP=$NMS4_DIR/node_modules/node-media-server/bin/app.js

# nms4_check: it and node are there, or the test fails at once.
nms4_check() {
	grep -qs '"version": "4\.' "$NMS4_DIR/node_modules/node-media-server/package.json" && [ -f "$NMS4_APP" ] ||
		{ echo "FAIL: node-media-server 4 is missing in $NMS4_DIR (scripts/test installs it)"; exit 1; }
	command -v node >/dev/null || { echo "FAIL: node is missing (scripts/test installs it)"; exit 1; }
}

# nms4_start PORT: its own configuration (no admin API, nothing written
# back), listening on PORT, recording every stream to $LAB_DIR/nms4-rec; its
# log in $LAB_DIR/nms4.log. Fails the test and finishes when it does not listen.
nms4_start() {
	cat >"$LAB_DIR/nms4.json" <<JSON
{ "bind": "0.0.0.0", "rtmp": { "port": $1 },
  "record": { "auto": true, "path": "$LAB_DIR/nms4-rec" }, "store": { "path": "$LAB_DIR/nms4-data" } }
JSON
	ip netns exec "$LAB_SRV" mptcpize run node "$NMS4_APP" -c "$LAB_DIR/nms4.json" >"$LAB_DIR/nms4.log" 2>&1 &
	lab_wait_listen srv "$1" || { fail "Node-Media-Server 4 did not start: $(tail -3 "$LAB_DIR/nms4.log")"; finish; }
}

# nms4_recording: the path of its first recording ("" if none), once its size
# has held for 0.3 s (it writes the enhanced tags as it got them, asynchronously).
nms4_recording() {
	local rec="" size=-1
	for _ in $(seq 1 20); do
		rec=$(find "$LAB_DIR/nms4-rec" -name '*.flv' 2>/dev/null | head -n 1)
		[ -n "$rec" ] && [ "$(stat -c %s "$rec")" = "$size" ] && break
		[ -n "$rec" ] && size=$(stat -c %s "$rec")
		sleep 0.3
	done
	echo "$rec"
}

# sent NAME: "frames sent, frames dropped on purpose" from mpstream's last line.
sent() {
	sed -n 's/.* sent \([0-9]*\) video frames, .*, \([0-9]*\) frames dropped.*/\1 \2/p' \
		"$LAB_DIR/mpstream-$1.log" | tail -n 1
}

# field OUT WORD: the number before WORD in a probe's summary ("frames", "missing").
field() { grep -oE "[0-9]+ $2" "$1" | head -n 1 | grep -oE '^[0-9]+'; }

# judge_recording NAME SECONDS FILE: mpstream probe reads the recording of
# SECONDS of stream (--relative: every frame of a file was sent before the
# probe started, and would count as a server's backlog, not judged): it
# passes, holds every frame sent (80 % of SECONDS' at least) but those dropped
# on purpose (2 allowed for a stamp the encoder blurred), none missing between
# them, and the decoder said nothing.
judge_recording() {
	local name=$1 secs=$2 file=$3 prc frames missing nsent ndropped errors
	"$MPSTREAM" probe --relative "$file" >"$LAB_DIR/probe-$name-rec.out" 2>"$LAB_DIR/probe-$name-rec.log"
	prc=$?
	read -r nsent ndropped <<<"$(sent "$name")"
	frames=$(field "$LAB_DIR/probe-$name-rec.out" frames)
	missing=$(field "$LAB_DIR/probe-$name-rec.out" missing)
	errors=$(grep -c -E ' (error|warn) +libav' "$LAB_DIR/probe-$name-rec.log")
	echo "figure: $name: recording: $(cat "$LAB_DIR/probe-$name-rec.out")"
	echo "figure: $name: mpstream sent ${nsent:-?} frames, dropped ${ndropped:-?} on purpose;" \
		"the recording: ${frames:-0} decoded, ${missing:-?} missing, $errors decoder message(s)"
	[ "$prc" = 0 ] && pass "$name: the recording passes the probe" || fail "$name: the probe of the recording exited $prc"
	[ -n "$nsent" ] && [ "$nsent" -ge $((secs * 30 * 8 / 10)) ] && [ "${frames:-0}" -ge $((nsent - ${ndropped:-0} - 2)) ] &&
		pass "$name: $frames of $nsent frames decoded from the recording, ${ndropped:-0} dropped on purpose" ||
		fail "$name: ${frames:-no} frames decoded from the recording, ${nsent:-?} sent, ${ndropped:-?} dropped"
	[ -n "$missing" ] && [ "$missing" -le $((${ndropped:-0} + 2)) ] &&
		pass "$name: $missing frames missing in the recording" || fail "$name: ${missing:-?} frames missing in the recording"
	[ "$errors" = 0 ] && pass "$name: no decoder error" ||
		fail "$name: the decoder said: $(grep -m 3 -E ' (error|warn) +libav' "$LAB_DIR/probe-$name-rec.log")"
}
