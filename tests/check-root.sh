#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A root shell in a container has no sudo: no script calls it (a message
# may name it), and the README says that as root its commands run without it.
# Usage: check-root.sh SOURCE_DIR
set -u
cd "${1:?usage: check-root.sh SOURCE_DIR}" || exit 1
FAILED=0
# Every script of the tree, by its first line (.ci/run, media/, linkem/traces/ too).
for f in $(git ls-files 2>/dev/null || find . -type f -not -path './build*' -printf '%P\n'); do
	[ -f "$f" ] && [ "$(head -c 2 "$f")" = "#!" ] || continue
	# A command word sudo: at the start of a line, after ; & | ( ! $( or `, or after
	# if, then, else, do, while, until, time; not in a comment or a message.
	if sed -e 's/^[[:space:]]*#.*//' -e 's/[[:space:]]#[^"'"'"']*$//' "$f" |
		grep -nE '(^|[;&|(`!]|\$\(|\b(if|then|else|do|while|until|time))[[:space:]]*sudo[[:space:]]' |
		grep -vE '^[0-9]+:[[:space:]]*(echo|printf|log|fail|pass)\b'; then
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
