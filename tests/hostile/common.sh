# SPDX-License-Identifier: MIT
# Shared by tests/hostile/*.sh: a temporary directory, the processes to end,
# pass/fail counting. Loopback only (127.0.0.2 and up are on lo): no namespace.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
CLIENTS="python3 $HERE/clients.py"
T=$(mktemp -d)
PIDS=()
FAILS=0
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
# KEEP=1: the temporary directory is copied to /tmp/hostile-keep first.
[ -n "${KEEP:-}" ] && trap "cp -r $T /tmp/hostile-keep; cleanup" EXIT
pass() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# CPU time a process used so far, in clock ticks (1/100 s).
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# wait_for FILE PATTERN: until FILE has a line matching PATTERN (10 s at most).
wait_for() {
	for _ in $(seq 100); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
