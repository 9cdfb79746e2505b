#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The stand-in ModemManager (tests/modem/standin.py) for the netns tests, sourced
# after common.sh and lab_up:
#   standin_start IFNAME... : a modem per IFNAME, on a private bus in the sender's
#                             namespace (the lab's sweep ends it however the test
#                             ends); exports DBUS_SYSTEM_BUS_ADDRESS, or exits 1.
#   standin COMMAND         : one command (standin.py's), once it is on the bus.
#   standin_stop            : the stand-in quits.
# Exits 77 when python3-dbusmock or dbus-daemon is missing (Debian's python3).
STANDIN_PY=/usr/bin/python3 # Debian's, with python3-dbusmock (not a pyenv one on PATH)
STANDIN=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../modem/standin.py
if ! "$STANDIN_PY" -c 'import dbusmock' 2>/dev/null || ! command -v dbus-daemon >/dev/null; then
	echo "SKIP: python3-dbusmock or dbus-daemon missing (scripts/test installs them)"
	exit 77
fi

standin_start() {
	mkdir "$LAB_DIR/mm"
	mkfifo "$LAB_DIR/mm.in"
	ip netns exec "$LAB_SND" "$STANDIN_PY" "$STANDIN" "$LAB_DIR/mm" "$@" <"$LAB_DIR/mm.in" \
		>"$LAB_DIR/mm.out" 2>"$LAB_DIR/standin.log" &
	exec 7>"$LAB_DIR/mm.in"
	for _ in $(seq 100); do
		grep -q '^address=' "$LAB_DIR/mm.out" && break
		sleep 0.1
	done
	DBUS_SYSTEM_BUS_ADDRESS=$(sed -n 's/^address=//p' "$LAB_DIR/mm.out")
	[ -n "$DBUS_SYSTEM_BUS_ADDRESS" ] || {
		echo "FAIL: the stand-in ModemManager did not start"
		cat "$LAB_DIR/standin.log"
		exit 1
	}
	export DBUS_SYSTEM_BUS_ADDRESS
}

standin() {
	local n
	n=$(grep -c '^done' "$LAB_DIR/mm.out")
	echo "$1" >&7
	for _ in $(seq 50); do
		[ "$(grep -c '^done' "$LAB_DIR/mm.out")" -gt "$n" ] && return 0
		sleep 0.1
	done
	fail "the stand-in did not take \"$1\""
}

standin_stop() { echo quit >&7; }
