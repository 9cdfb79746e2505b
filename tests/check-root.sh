#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A root shell in a container has no sudo: no script calls it (a message
# may name it), and the README says that as root its commands run without it.
# Usage: check-root.sh SOURCE_DIR
set -u
cd "${1:?usage: check-root.sh SOURCE_DIR}" || exit 1
FAILED=0
for f in scripts/* bench/* tests/*.sh tests/net/*.sh tests/hostile/*.sh; do
	# Every script there, by its first line (bench/ holds results and plots too).
	[ -f "$f" ] && [ "$(head -c 2 "$f")" = "#!" ] || continue
	# A command word sudo: at the start of a line or after ; & | ( $( or `.
	if grep -nE '^[^#]*(^|[;&|(`]|\$\()[[:space:]]*sudo[[:space:]]' "$f" |
		grep -vE '^[0-9]+:[[:space:]]*(echo|printf)' | grep -v 'echo "'; then
		echo "FAIL: $f calls sudo"
		FAILED=1
	fi
done
if grep -qiE 'as root.*without .?sudo' README.md; then
	echo "PASS: README says root runs its commands without sudo"
else
	echo "FAIL: README's commands start with sudo and say nothing of a root shell"
	FAILED=1
fi
[ "$FAILED" = 0 ] && echo "PASS: no script calls sudo"
exit $FAILED
