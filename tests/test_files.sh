#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Files and signals a hostile tester handed mpstream (issue 28): each bad file
# gets one line and its documented exit code, at once; nothing is read for
# ever; a token file others could read or replace is refused; a stray SIGUSR1 does not end the stream; a connection that fell back
# to plain TCP is not called MPTCP; a recording that cannot be written ends
# the recording, not the stream. No network namespace: loopback only.
# Usage: test_files.sh MPSTREAM
set -u
M=$(readlink -f "${1:?usage: test_files.sh MPSTREAM}")
DIR=$(mktemp -d /tmp/mps-files.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	mountpoint -q "$DIR/full" 2>/dev/null && umount "$DIR/full"
	rm -rf "$DIR"
}
trap cleanup EXIT
FAILED=0
pass() { echo "PASS: $*"; }
fail() {
	echo "FAIL: $*"
	FAILED=1
}
URL=rtmp://127.0.0.1:9/live/SECRETKEY

expect() { # expect CODE "PATTERN" DESCRIPTION ARGS...
	local want=$1 pattern=$2 what=$3 rc t0 t1 lines
	shift 3
	t0=$(date +%s.%N)
	timeout -k 2 20 "$@" >"$DIR/out.txt" 2>"$DIR/err.txt"
	rc=$?
	t1=$(date +%s.%N)
	if [ "$rc" = "$want" ]; then pass "$what: exit $rc"; else fail "$what: exit $rc, expected $want"; fi
	if grep -qE -- "$pattern" "$DIR/err.txt"; then
		pass "$what: says '$(grep -E -- "$pattern" "$DIR/err.txt" | head -1 | cut -c1-110)'"
	else
		fail "$what: no line matching '$pattern' in: $(head -c 600 "$DIR/err.txt")"
	fi
	# libav's own line of the same failure aside (its tag is libav).
	lines=$(grep -E ' error ' "$DIR/err.txt" | grep -vc ' error libav ')
	[ "$lines" -le 1 ] || fail "$what: $lines error lines"
	grep -q SECRETKEY "$DIR/err.txt" "$DIR/out.txt" && fail "$what: the stream key was printed"
	echo "figure: $what took $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s"
}

# Item 9: inputs that never end.
expect 66 "/dev/zero: not a regular file" "--config /dev/zero" $M --config /dev/zero "$URL"
head -c 70000 /dev/zero | tr '\0' '#' | fold -w 60 >"$DIR/big.conf"
expect 66 "larger than 64 KiB" "a 70 kB config file" $M --config "$DIR/big.conf" "$URL"
expect 66 "--ca /dev/zero: not a regular file" "--ca /dev/zero" \
	$M --ca /dev/zero rtmps://127.0.0.1:9/live/SECRETKEY
head -c 2000000 /dev/zero >"$DIR/big.pem"
expect 66 "--ca .*big.pem: larger than 1048576 bytes" "a 2 MB --ca" \
	$M --ca "$DIR/big.pem" rtmps://127.0.0.1:9/live/SECRETKEY
# Item 14: files that cannot be read are 66, whatever they are.
expect 66 "cannot read $DIR: Is a directory" "a directory as token file" \
	$M --http "127.0.0.1:$((20000 + RANDOM % 20000))" --http-token-file "$DIR" "$URL"
# Item 14: a token file that others can read, write or replace is refused (66), as is a link
# where mpstream keeps its own; the one it makes is 0600, made afresh (no planted file reused).
HTTP="127.0.0.1:$((20000 + RANDOM % 20000))"
TOKEN=0123456789abcdef0123456789
printf '%s\n' "$TOKEN" >"$DIR/token"
chmod 644 "$DIR/token"
expect 66 "refusing the token file $DIR/token: everyone can read it" "a world-readable token file" \
	$M --http "$HTTP" --http-token-file "$DIR/token" "$URL"
chmod 600 "$DIR/token"
if [ "$(id -u)" = 0 ]; then
	cp -p "$DIR/token" "$DIR/token-nobody"
	chown nobody "$DIR/token-nobody"
	expect 66 "token-nobody: it belongs to another user" "a token file of user nobody" \
		$M --http "$HTTP" --http-token-file "$DIR/token-nobody" "$URL"
else
	echo "SKIP: a token file of another user needs root (chown)"
fi
mkdir -m 755 "$DIR/run" "$DIR/run-open"
ln -s "$DIR/token" "$DIR/run/http-token"
expect 66 "refusing the token file $DIR/run/http-token: a symbolic link" "a link planted as the kept token" \
	env RUNTIME_DIRECTORY="$DIR/run" $M --http "$HTTP" "$URL"
chmod 777 "$DIR/run-open"
cp -p "$DIR/token" "$DIR/run-open/http-token"
expect 66 "others can write its directory $DIR/run-open" "a token in a world-writable directory" \
	env RUNTIME_DIRECTORY="$DIR/run-open" $M --http "$HTTP" "$URL"
# Its group may not write a directory on the way either (OpenSSH's rule), nor may it be
# another user's; nor a directory holding a link in the middle of a chain.
mkdir -m 775 "$DIR/run-group"
cp -p "$DIR/token" "$DIR/run-group/token"
expect 66 "others can write its directory $DIR/run-group" "a token in a group-writable directory" \
	$M --http "$HTTP" --http-token-file "$DIR/run-group/token" "$URL"
ln -s "$DIR/token" "$DIR/run-group/link"
ln -s "$DIR/run-group/link" "$DIR/token-chain"
expect 66 "others can write its directory $DIR/run-group" "a chain of links through a group-writable directory" \
	$M --http "$HTTP" --http-token-file "$DIR/token-chain" "$URL"
if [ "$(id -u)" = 0 ]; then
	mkdir -m 755 "$DIR/run-nobody"
	cp -p "$DIR/token" "$DIR/run-nobody/token"
	chown nobody "$DIR/run-nobody"
	expect 66 "its directory $DIR/run-nobody belongs to another user" "a token in a directory of user nobody" \
		$M --http "$HTTP" --http-token-file "$DIR/run-nobody/token" "$URL"
fi
# Not a file: a UNIX socket (ENXIO) and a path through a file (ENOTDIR): 66, not 1.
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$DIR/token-sock"
expect 66 "token-sock" "a socket as token file" $M --http "$HTTP" --http-token-file "$DIR/token-sock" "$URL"
expect 66 "token/x" "a path through a file as token file" $M --http "$HTTP" --http-token-file "$DIR/token/x" "$URL"
# The operator's own file may be a link (a mounted secret is one): both ends are checked.
ln -s "$DIR/token" "$DIR/token-link"
timeout 2 "$M" --http "$HTTP" --http-token-file "$DIR/token-link" "$URL" 2>"$DIR/link.txt"
if grep -q "the controls need the token in $DIR/token-link" "$DIR/link.txt"; then
	pass "--http-token-file a link to a token of mode 600: used"
else
	fail "--http-token-file a link: $(grep -m1 error "$DIR/link.txt")"
fi
mkdir -m 700 "$DIR/run-new"
RUNTIME_DIRECTORY="$DIR/run-new" timeout 2 "$M" --http "$HTTP" "$URL" 2>"$DIR/new.txt"
made=$(stat -c '%a %U' "$DIR/run-new/http-token" 2>/dev/null)
if [ "$made" = "600 $(id -un)" ] && [ "$(ls "$DIR/run-new")" = http-token ]; then
	pass "a new kept token: mode $made, nothing else left"
else
	fail "a new kept token: '$made', $(ls "$DIR/run-new"): $(grep -m1 error "$DIR/new.txt")"
fi
expect 66 "cannot read input /proc/self/mem" "--input /proc/self/mem" $M -i /proc/self/mem "$URL"
expect 66 "cannot read input http://127.0.0.1:9/clip.mp4: Connection refused" "a refused http:// input" \
	$M -i http://127.0.0.1:9/clip.mp4 "$URL"

# SIGUSR1 while connecting to a server that never answers: ignored (it was exit 138).
python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
print(s.getsockname()[1], flush=True); time.sleep(60)' >"$DIR/port" &
PIDS+=($!)
for _ in $(seq 50); do [ -s "$DIR/port" ] && break; sleep 0.1; done
PORT=$(cat "$DIR/port")
"$M" --connect-timeout 3 "rtmp://127.0.0.1:$PORT/live/SECRETKEY" 2>"$DIR/usr1.txt" &
P=$!
sleep 1
kill -USR1 $P
sleep 0.5
if kill -0 $P 2>/dev/null; then pass "SIGUSR1: still running"; else fail "SIGUSR1 ended it"; fi
wait $P
rc=$?
if [ "$rc" = 69 ]; then pass "SIGUSR1: the connect timeout ends it, exit 69"; else fail "SIGUSR1: exit $rc"; fi

# listen_ffmpeg PORT FILE: ffmpeg's own RTMP listener (plain TCP) on PORT, recording
# to FILE, once it listens (a loaded machine took over 1 s: mpstream was refused, 69).
listen_ffmpeg() {
	ffmpeg -nostdin -loglevel error -listen 1 -i "rtmp://127.0.0.1:$1/live/SECRETKEY" \
		-c copy -f flv -y "$2" 2>>"$DIR/ffmpeg.txt" &
	PIDS+=($!)
	for _ in $(seq 100); do
		ss -Hltn "sport = :$1" | grep -q . && return 0
		sleep 0.1
	done
}

# A server without MPTCP (ffmpeg's own listener, plain TCP): the log says so, once.
if command -v ffmpeg >/dev/null; then
	PORT=$((20000 + RANDOM % 20000))
	listen_ffmpeg "$PORT" "$DIR/got.flv"
	"$M" --duration 3 --size 320x240 "rtmp://127.0.0.1:$PORT/live/SECRETKEY" 2>"$DIR/tcp.txt"
	rc=$?
	grep -E "plain TCP|streaming over" "$DIR/tcp.txt" | cut -c1-120
	if grep -q "the connection is plain TCP" "$DIR/tcp.txt"; then
		if grep -q "streaming over MPTCP" "$DIR/tcp.txt"; then
			fail "plain TCP: the log says plain TCP, then MPTCP"
		else
			pass "plain TCP: the log never says MPTCP"
		fi
	else
		echo "SKIP: the connection was not plain TCP here (exit $rc)"
	fi
fi

# Item 1: --record with a colon in a relative name (it was SIGSEGV, exit 139,
# leaving an empty file), and onto a full tmpfs (root only: the mount).
record_run() { # record_run NAME WHAT: stream 3 s to ffmpeg's listener, recording to NAME
	local port=$((20000 + RANDOM % 20000)) rc
	listen_ffmpeg "$port" "$DIR/got-$2.flv"
	(cd "$DIR" && "$M" --duration 3 --size 320x240 --record "$1" \
		"rtmp://127.0.0.1:$port/live/SECRETKEY" 2>"$DIR/rec-$2.txt")
	rc=$?
	if [ "$rc" = 0 ]; then pass "$2: the stream went on, exit 0"; else fail "$2: exit $rc"; fi
}
if command -v ffmpeg >/dev/null; then
	record_run 'x:1.ts' "--record x:1.ts"
	if ffprobe -v error -count_frames -show_entries stream=nb_read_frames -of csv=p=0 \
		"$DIR/x:1.ts" 2>/dev/null | grep -qE '^[1-9]'; then
		pass "--record x:1.ts: recorded, decodes"
	else
		fail "--record x:1.ts: no recording ($(grep -m1 record "$DIR/rec---record x:1.ts.txt"))"
	fi
	if [ "$(id -u)" = 0 ] && mkdir "$DIR/full" && mount -t tmpfs -o size=64k tmpfs "$DIR/full"; then
		head -c 1000000 /dev/zero >"$DIR/full/filler" 2>/dev/null
		record_run full/rec.mkv "--record onto a full disk"
		grep -m1 "record" "$DIR/rec---record onto a full disk.txt" | cut -c1-120
		[ -e "$DIR/full/rec.mkv" ] && fail "full disk: an empty recording left behind" ||
			pass "full disk: nothing left behind"
		umount "$DIR/full"
	else
		echo "SKIP: a full tmpfs needs root"
	fi
fi
exit $FAILED
