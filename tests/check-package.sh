#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `cmake --install` puts the binary, the man page, the systemd unit and the
# example config in place, and CPack builds a .deb whose version is git
# describe's and whose dependencies are Debian's library packages.
#   tests/check-package.sh BUILD_DIR
set -u
build=$(readlink -f "$1")
work=$(mktemp -d /tmp/mps-package.XXXXXX)
trap 'rm -rf "$work"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
pass() { echo "ok: $*"; }

DESTDIR="$work/root" cmake --install "$build" --prefix /usr >"$work/install.log" 2>&1 || fail "cmake --install: $(tail -3 "$work/install.log")"
for f in usr/bin/mpstream usr/share/man/man1/mpstream.1 usr/lib/systemd/system/mpstream@.service \
	usr/share/doc/mpstream/examples/mpstream.conf; do
	[ -s "$work/root/$f" ] && pass "installed /$f" || fail "not installed: /$f"
done
unit="$work/root/usr/lib/systemd/system/mpstream@.service"
# The example config parses (--version after it: nothing is touched).
"$work/root/usr/bin/mpstream" --config "$work/root/usr/share/doc/mpstream/examples/mpstream.conf" --version \
	>/dev/null 2>"$work/conf.err" && pass "the example config parses" || fail "example config: $(cat "$work/conf.err")"
for d in 'AmbientCapabilities=CAP_NET_ADMIN' 'DynamicUser=yes' 'Restart=on-failure' 'KillSignal=SIGTERM' \
	'LoadCredential=config:/etc/mpstream/%i.conf'; do
	grep -qx "$d" "$unit" && pass "unit: $d" || fail "unit lacks $d"
done
if command -v systemd-analyze >/dev/null; then
	# An instance of it, running the staged binary, with the staged man page.
	sed "s#^ExecStart=mpstream #ExecStart=$work/root/usr/bin/mpstream #" "$unit" >"$work/mpstream@test.service"
	if MANPATH="$work/root/usr/share/man" systemd-analyze verify "$work/mpstream@test.service" >"$work/verify.log" 2>&1; then
		pass "systemd-analyze verify: clean"
	else
		fail "systemd-analyze verify: $(head -3 "$work/verify.log")"
	fi
fi

(cd "$work" && cpack -G DEB --config "$build/CPackConfig.cmake" >"$work/cpack.log" 2>&1) || fail "cpack: $(tail -5 "$work/cpack.log")"
deb=$(ls "$work"/*.deb 2>/dev/null | head -1)
if [ -n "$deb" ]; then
	version=$(dpkg-deb -f "$deb" Version)
	depends=$(dpkg-deb -f "$deb" Depends)
	echo "figure: $(basename "$deb"): version $version, $(du -k "$deb" | cut -f1) kB"
	echo "figure: Depends: $depends"
	want=$(git -C "$(dirname "$0")/.." describe --always --dirty --tags 2>/dev/null | tr - +)
	[[ "$version" == *"$want" ]] && pass "the version comes from git describe ($want)" || fail "version $version, git describe $want"
	# libx264 comes through libavcodec59 (mpstream does not call it directly).
	for lib in libavformat libavcodec libswscale libnl-route-3 libnl-genl-3 libinih libmicrohttpd libjansson; do
		echo "$depends" | grep -q "$lib" && pass "depends on $lib" || fail "no dependency on $lib"
	done
	dpkg-deb -c "$deb" | grep -q './usr/share/man/man1/mpstream.1' && pass "the .deb holds the man page" || fail "no man page in the .deb"
else
	fail "no .deb built"
fi
[ "$fails" = 0 ] && echo PASS || exit 1
