#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# --help and the man page agree: every option of mpstream (and of mpstream
# probe and mpstream relay) is in both, and so is every key of an [uplink
# IFACE] section of the config file, and every exit status.
#   tests/check-man.sh PATH/TO/mpstream docs/mpstream.1.scd
set -u
bin=$1 man=$2
fails=0
opts() { grep -oE -- '--[a-z][a-z-]+' | sort -u; }
section() { # section FROM TO: the man page between two "# " headings
	awk -v a="# $1" -v b="# $2" '$0 == a { on = 1; next } $0 == b { on = 0 } on' "$man"
}
compare() { # compare WHAT HELP_OPTS MAN_OPTS
	local only_help only_man
	only_help=$(comm -23 <(echo "$2") <(echo "$3") | tr '\n' ' ')
	only_man=$(comm -13 <(echo "$2") <(echo "$3") | tr '\n' ' ')
	if [ -z "$2" ]; then
		echo "FAIL: $1: none in --help"
		fails=$((fails + 1))
	elif [ -z "$only_help$only_man" ]; then
		echo "ok: $1: the same $(echo "$2" | wc -l) in --help and the man page"
	else
		[ -n "$only_help" ] && echo "FAIL: $1: in --help, not in the man page: $only_help"
		[ -n "$only_man" ] && echo "FAIL: $1: in the man page, not in --help: $only_man"
		fails=$((fails + 1))
	fi
}
# The usage lines name the subcommands' options: they are checked with each subcommand.
main_help=$("$bin" --help | grep -v '^ *mpstream \(probe\|relay\) ')
probe_help=$("$bin" probe --help)
relay_help=$("$bin" relay --help | grep -v '^Usage:')
compare mpstream "$(echo "$main_help" | opts)" "$(section OPTIONS "MPSTREAM PROBE" | opts)"
compare "mpstream probe" "$(echo "$probe_help" | opts)" "$(section "MPSTREAM PROBE" "MPSTREAM RELAY" | opts)"
compare "mpstream relay" "$(echo "$relay_help" | opts)" "$(section "MPSTREAM RELAY" "CONFIGURATION FILE" | opts)"
# The keys of an [uplink IFACE] section: "  KEY = VALUE" in --help, "*KEY =* VALUE" in the man page.
help_keys=$(echo "$main_help" | sed -n '/^Keys of an \[uplink IFACE\] section/,/^$/p' |
	sed -nE 's/^  ([a-z][a-z-]*) =.*/\1/p' | sort -u)
man_keys=$(section "CONFIGURATION FILE" PRIVILEGES | sed -nE 's/^\*([a-z][a-z-]*) =\*.*/\1/p' | sort -u)
compare "[uplink IFACE] keys" "$help_keys" "$man_keys"
for code in $(echo "$main_help" | sed -n '/^Exit status/,$p' | grep -oE '\b[0-9]+\b' | sort -u); do
	section "EXIT STATUS" FILES | grep -q "^\*$code\*$" || { echo "FAIL: exit status $code is not in the man page"; fails=$((fails + 1)); }
done
for sig in SIGINT SIGTERM SIGHUP; do
	echo "$main_help" | grep -q "$sig" && section SIGNALS "EXIT STATUS" | grep -q "$sig" ||
		{ echo "FAIL: $sig is not in both"; fails=$((fails + 1)); }
done
[ "$fails" = 0 ] && echo PASS || exit 1
