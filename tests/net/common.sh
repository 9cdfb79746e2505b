# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# Shared by the netns tests: the lab, the binary under test, pass/fail.
set -u
MPSTREAM=$(readlink -f "${1:?usage: $0 PATH/TO/mpstream}")
. "$(dirname "${BASH_SOURCE[0]}")/lab.sh"

if [ "$(id -u)" != 0 ]; then
	echo "SKIP: netns tests need root"
	exit 77
fi
for tool in ip nft tc nginx mptcpize ffprobe; do
	command -v "$tool" >/dev/null || { echo "FAIL: $tool is missing (scripts/test installs it)"; exit 1; }
done

FAILS=0
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
pass() { echo "ok: $*"; }
finish() {
	if [ "$FAILS" -eq 0 ]; then echo "PASS"; exit 0; fi
	echo "$FAILS check(s) failed"
	[ -n "$LAB_DIR" ] && for f in "$LAB_DIR"/*.log; do
		[ -f "$f" ] && { echo "--- $f"; tail -n 30 "$f"; }
	done
	exit 1
}
# The lab goes away however the test ends (a SIGKILL is swept by the next lab_up).
trap 'lab_down' EXIT
trap 'exit 130' INT TERM

KEY="k$$secret"
URL="rtmp://$LAB_SERVER_IP/live/$KEY"

# probe_start DURATION [OPTION...]: `mpstream probe` at the server, in the
# background ($probe), its CSV, output and log in the lab directory.
probe_start() {
	local duration=$1
	shift
	ip netns exec "$LAB_SRV" "$MPSTREAM" probe --duration "$duration" "$@" --csv "$LAB_DIR/probe.csv" \
		"rtmp://127.0.0.1/live/$KEY" >"$LAB_DIR/probe.out" 2>"$LAB_DIR/probe.log" &
	probe=$!
}

# wait_stream PID: wait for the sender (PID) and the probe; their exit codes in
# $rc and $prc; the sender must have exited 0.
wait_stream() {
	wait "$1"
	rc=$?
	wait "$probe"
	prc=$?
	[ "$rc" = 0 ] && pass "mpstream exited 0" || fail "mpstream exited $rc"
}

# check_lost_only_dropped: the probe misses no frame but those mpstream
# dropped on purpose, and up to 2 whose stamp x264 blurred (1280x720 at about
# 1 Mbit/s while draining) so that the probe cannot read it.
check_lost_only_dropped() {
	local drops dropped missing
	drops=$(grep -c "dropped .* queued frames" "$LAB_DIR/mpstream.log")
	dropped=$(lab_dropped_frames "$LAB_DIR/stats.csv")
	missing=$(sed -n 's/.* \([0-9]*\) missing,.*/\1/p' "$LAB_DIR/probe.out")
	echo "figure: $drops drop(s) to a keyframe, ${dropped:-0} frames dropped by mpstream, ${missing:-?} missing at the probe"
	[ -n "$missing" ] && [ "$missing" -le $((${dropped:-0} + 2)) ] &&
		pass "no frame lost except those dropped on purpose" || fail "${missing:-?} frames missing, ${dropped:-0} dropped"
}

# check_nothing_lost WHAT GAP_BOUND_MS: after WHAT (the cuts), mpstream
# dropped no frame, none is missing at the probe (2 allowed for a stamp x264
# blurred), and no arrival gap is over GAP_BOUND_MS; the figures printed.
check_nothing_lost() {
	local dropped missing gap
	dropped=$(lab_dropped_frames "$LAB_DIR/stats.csv")
	missing=$(sed -n 's/.* \([0-9]*\) missing,.*/\1/p' "$LAB_DIR/probe.out")
	gap=$(grep -oE 'longest gap [0-9]+' "$LAB_DIR/probe.out" | grep -oE '[0-9]+')
	echo "figure: probe: $(cat "$LAB_DIR/probe.out")"
	echo "figure: $1: ${dropped:-?} frames dropped by mpstream, ${missing:-?} missing at the server, longest arrival gap ${gap:-?} ms"
	[ "${dropped:-1}" = 0 ] && pass "no frame dropped by mpstream" || fail "${dropped:-?} frames dropped"
	[ -n "$missing" ] && [ "$missing" -le 2 ] && pass "no frame missing at the server ($missing; 2 allowed for a blurred stamp)" ||
		fail "${missing:-?} frames missing"
	[ "${gap:-99999}" -le "$2" ] && pass "longest arrival gap ${gap} ms (bound $2 ms; the goal is the bench's)" ||
		fail "arrival gap ${gap:-?} ms"
}

# Log files must never contain the stream key.
check_no_key() {
	local f
	for f in "$@"; do
		if grep -q "$KEY" "$f"; then fail "the stream key appears in $(basename "$f")"; else pass "no stream key in $(basename "$f")"; fi
	done
}
