#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# RTMPS (issue 14): nginx's stream module terminates TLS in front of
# nginx-rtmp, under mptcpize, with certificates made here by a CA of the
# test's: one for the server's address, one for another name. mpstream checks
# the certificate by default: with --ca the stream goes (over MPTCP, both
# uplinks, what arrives decoded by the probe); without it, or to the server
# whose certificate names another host, one clear line and exit 69, the
# routing as before; --insecure goes, warned; a --ca that cannot be read is
# exit 66, --ca with rtmp:// exit 64. And a URL with user:password@: accepted,
# its password never shown. And --via: MPTCP to an mpstream relay, TLS end to
# end to the ingest; the relay's traffic, log and memory never hold the key
# (a plain rtmp:// run through the same relay is the control: there the
# capture holds it).
. "$(dirname "$0")/common.sh"
for tool in openssl tcpdump python3; do
	command -v $tool >/dev/null || { echo "FAIL: $tool is missing (scripts/test installs it)"; exit 1; }
done
[ -e /usr/lib/nginx/modules/ngx_stream_module.so ] ||
	{ echo "FAIL: nginx's stream module is missing (scripts/test installs libnginx-mod-stream)"; exit 1; }

lab_up 8mbit || { echo "FAIL: lab"; exit 1; }
lab_routing_state >"$LAB_DIR/before.txt"
T=$LAB_DIR/tls
mkdir -p "$T"

# A CA; a certificate for the server's address; one for another name.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=mpstream-test-ca \
	-addext basicConstraints=critical,CA:TRUE -keyout "$T/ca.key" -out "$T/ca.pem" 2>"$T/openssl.log" ||
	{ fail "cannot make the CA"; finish; }
for cert in right:IP:$LAB_SERVER_IP wrong:DNS:ingest.elsewhere.example; do
	name=${cert%%:*}
	openssl req -newkey rsa:2048 -nodes -subj "/CN=$name" -keyout "$T/$name.key" -out "$T/$name.csr" \
		2>>"$T/openssl.log" &&
		openssl x509 -req -in "$T/$name.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial -days 2 \
			-extfile <(echo "subjectAltName=${cert#*:}") -out "$T/$name.pem" 2>>"$T/openssl.log" ||
		{ fail "cannot make the certificate $name"; finish; }
done
{
	lab_nginx_head stream tls
	cat <<CONF
stream {
	server {
		listen 1943 ssl;
		ssl_certificate $T/right.pem;
		ssl_certificate_key $T/right.key;
		proxy_pass 127.0.0.1:1935;
	}
	server {
		listen 1944 ssl;
		ssl_certificate $T/wrong.pem;
		ssl_certificate_key $T/wrong.key;
		proxy_pass 127.0.0.1:1935;
	}
}
CONF
} >"$T/nginx.conf"
ip netns exec "$LAB_SRV" mptcpize run nginx -c "$T/nginx.conf" >"$LAB_DIR/tls-nginx.log" 2>&1 &
lab_wait_listen srv 1944 && lab_wait_listen srv 1943 1 || { fail "the TLS terminator did not start"; finish; }

TLS_URL="rtmps://$LAB_SERVER_IP:1943/live/$KEY"
routing_unchanged() { # routing_unchanged WHAT
	lab_routing_state >"$LAB_DIR/after.txt"
	diff -q "$LAB_DIR/before.txt" "$LAB_DIR/after.txt" >/dev/null && pass "$1: nothing left behind" ||
		fail "$1: routing changed"
}

# 1. The private CA given: the stream goes over MPTCP through TLS, and arrives whole.
probe_start 8 --timeout 10
ip netns exec "$LAB_SND" "$MPSTREAM" -u up0 -u up1 -s 640x360 -b 1M -d 10 --ca "$T/ca.pem" "$TLS_URL" \
	2>"$LAB_DIR/mpstream.log"
rc=$?
wait "$probe"
[ "$rc" = 0 ] && pass "--ca: mpstream exited 0" || fail "--ca: exit $rc"
grep -q "streaming over MPTCP" "$LAB_DIR/mpstream.log" && pass "--ca: TLS over MPTCP" ||
	fail "--ca: not over MPTCP: $(grep -m1 streaming "$LAB_DIR/mpstream.log")"
frames=$(grep -oE '^[0-9]+ frames' "$LAB_DIR/probe.out" | grep -oE '[0-9]+')
echo "figure: rtmps with --ca: probe: $(cat "$LAB_DIR/probe.out")"
[ "${frames:-0}" -ge 150 ] && grep -q "0 missing" "$LAB_DIR/probe.out" &&
	pass "--ca: $frames frames decoded at the server, none missing" || fail "--ca: the probe saw ${frames:-no} frames"
subflows=$(grep -oE '[0-9]+ subflows' "$LAB_DIR/mpstream.log" | sort -n | tail -1)
echo "figure: rtmps with --ca: up to ${subflows:-?}"
[ "${subflows%% *}" = 2 ] && pass "--ca: both uplinks carry the TLS stream" || fail "--ca: ${subflows:-no} subflows"
check_no_key "$LAB_DIR/mpstream.log"

# 2. The system's CAs only: the test's CA is not among them.
expect_tls() { # expect_tls CODE PATTERN WHAT ARGS...
	local want=$1 pattern=$2 what=$3 rc
	shift 3
	ip netns exec "$LAB_SND" "$MPSTREAM" -u up0 -u up1 -s 640x360 -b 1M -d 3 --connect-timeout 5 "$@" \
		2>"$LAB_DIR/err.txt"
	rc=$?
	[ "$rc" = "$want" ] && pass "$what: exit $rc" || fail "$what: exit $rc, expected $want"
	grep -qE -- "$pattern" "$LAB_DIR/err.txt" &&
		pass "$what: says '$(grep -E -- "$pattern" "$LAB_DIR/err.txt" | head -1 | cut -c1-150)'" ||
		fail "$what: no line matching '$pattern' in: $(tail -5 "$LAB_DIR/err.txt")"
	check_no_key "$LAB_DIR/err.txt"
	routing_unchanged "$what"
}
expect_tls 69 "certificate is not trusted or not for this host name" "untrusted certificate" "$TLS_URL"
grep -q "Peer certificate failed verification" "$LAB_DIR/err.txt" && pass "untrusted: libav's reason shown" ||
	fail "untrusted: no reason from the TLS layer"
# 3. A certificate of the right CA, for another name.
expect_tls 69 "not for this host name" "certificate for another name" --ca "$T/ca.pem" \
	"rtmps://$LAB_SERVER_IP:1944/live/$KEY"
grep -q "does not match hostname" "$LAB_DIR/err.txt" && pass "wrong name: libav's reason shown" ||
	fail "wrong name: no reason from the TLS layer"
# 4. --insecure: it goes, with a warning.
expect_tls 0 "--insecure: the server's certificate is not checked" "--insecure" --insecure "$TLS_URL"
# 5. user:password@ in the URL (servers that authenticate so; nginx-rtmp asks
# for none): accepted, and the password, which holds the key's text here, never shown.
expect_tls 0 "streaming over MPTCP" "user:password@" "rtmp://field:pw$KEY@$LAB_SERVER_IP/live/other"
# 6. Bad options: no network touched.
expect_tls 66 "--ca /nonexistent/ca.pem: No such file" "--ca not readable" --ca /nonexistent/ca.pem "$TLS_URL"
expect_tls 64 "--ca applies to an rtmps:// URL" "--ca with rtmp://" --ca "$T/ca.pem" "$URL"
expect_tls 64 "--via '10.1.0.1': expected HOST:PORT" "--via without a port" --via 10.1.0.1 "$TLS_URL"
expect_tls 69 "--via nowhere.invalid:1950: " "--via that does not resolve" --via nowhere.invalid:1950 "$TLS_URL"

# 7. --via: the relay runs in the router's namespace (the internet between the
# uplinks and the ingest) and forwards to the ingest; mpstream's MPTCP
# connection goes to it over both uplinks.
lab_in_rtr ip mptcp limits set subflows 8 add_addr_accepted 8
mem_has() { # mem_has PID STRING: whether STRING is in the process's writable memory
	python3 - "$1" "$2" <<'PY'
import sys
pid, needle = sys.argv[1], sys.argv[2].encode()
CHUNK = 1 << 20
with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
    for line in maps:
        addr, perms = line.split()[:2]
        lo, hi = (int(x, 16) for x in addr.split("-"))
        # Writable mappings; not the sanitizer's shadow (terabytes reserved, none of it data).
        if "rw" not in perms or hi - lo > (1 << 32):
            continue
        tail = b""
        for at in range(lo, hi, CHUNK):
            try:
                mem.seek(at)
                chunk = tail + mem.read(min(CHUNK, hi - at))
            except (OSError, ValueError, OverflowError):
                tail = b""
                continue
            if needle in chunk:
                sys.exit(0)
            tail = chunk[-len(needle):]
sys.exit(1)
PY
}
via_run() { # via_run NAME PORT TO URL [ARGS...]: a 10 s stream through a relay, captured there
	local name=$1 port=$2 to=$3 url=$4 relay cap rc
	shift 4
	ip netns exec "$LAB_RTR" tcpdump -i any -U -s 0 -w "$LAB_DIR/$name.pcap" tcp 2>"$LAB_DIR/$name-tcpdump.log" &
	cap=$!
	ip netns exec "$LAB_RTR" "$MPSTREAM" relay --listen "10.1.0.1:$port" --to "$to" 2>"$LAB_DIR/$name-relay.log" &
	relay=$!
	for _ in $(seq 1 50); do
		lab_in_rtr ss -Hltn "sport = :$port" | grep -q "$port" && grep -q listening "$LAB_DIR/$name-tcpdump.log" && break
		sleep 0.1
	done
	probe_start 8 --timeout 10
	ip netns exec "$LAB_SND" "$MPSTREAM" -u up0 -u up1 -s 640x360 -b 1M -d 10 --via "10.1.0.1:$port" "$@" "$url" \
		2>"$LAB_DIR/$name.log" &
	local pid=$!
	sleep 6
	mem_has "$relay" "$KEY" && echo "$name: key in the relay's memory" >"$LAB_DIR/$name-mem.txt"
	mem_has "$relay" "$to" && echo "$name: --to in the relay's memory" >>"$LAB_DIR/$name-mem.txt"
	wait $pid
	rc=$?
	wait "$probe"
	kill -TERM "$relay"; wait "$relay"
	sleep 0.5
	kill -INT "$cap"; wait "$cap"
	[ "$rc" = 0 ] && pass "$name: mpstream exited 0" || fail "$name: exit $rc"
	frames=$(grep -oE '^[0-9]+ frames' "$LAB_DIR/probe.out" | grep -oE '[0-9]+')
	echo "figure: $name: probe: $(cat "$LAB_DIR/probe.out")"
	[ "${frames:-0}" -ge 150 ] && pass "$name: $frames frames decoded at the ingest" || fail "$name: the probe saw ${frames:-no} frames"
	subflows=$(grep -oE '[0-9]+ subflows' "$LAB_DIR/$name.log" | sort -n | tail -1)
	[ "${subflows%% *}" = 2 ] && pass "$name: both uplinks carry it to the relay" || fail "$name: ${subflows:-no} subflows"
	check_no_key "$LAB_DIR/$name.log" "$LAB_DIR/$name-relay.log"
	touch "$LAB_DIR/$name-mem.txt"
}
via_run via-tls 1950 "$LAB_SERVER_IP:1943" "$TLS_URL" --ca "$T/ca.pem"
n=$(grep -c -a "$KEY" "$LAB_DIR/via-tls.pcap")
echo "figure: via-tls: $(stat -c %s "$LAB_DIR/via-tls.pcap") bytes captured at the relay, $n holding the key"
[ "$n" = 0 ] && pass "via-tls: the key is nowhere in the relay's traffic" || fail "via-tls: the key in $n captured lines"
grep -q "key in the relay's memory" "$LAB_DIR/via-tls-mem.txt" && fail "via-tls: the key is in the relay's memory" ||
	pass "via-tls: the key is not in the relay's memory"
grep -q "to in the relay's memory" "$LAB_DIR/via-tls-mem.txt" && pass "via-tls: the memory search finds what is there (--to)" ||
	fail "via-tls: the memory search did not find --to"
# The control: plain RTMP through the same kind of relay; the capture must show the key.
via_run via-plain 1951 "$LAB_SERVER_IP:1935" "$URL"
n=$(grep -c -a "$KEY" "$LAB_DIR/via-plain.pcap")
[ "$n" -gt 0 ] && pass "via-plain (control): the capture holds the key ($n lines): the search works" ||
	fail "via-plain (control): no key in the capture: the search proves nothing"
grep -q "carries the stream key in clear" "$LAB_DIR/via-plain.log" && pass "via-plain: warned" || fail "via-plain: no warning"
routing_unchanged "--via"
finish
