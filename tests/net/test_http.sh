#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The operator's API (--http) against a real stream in the lab, with curl:
# standby, go live, the status against the --stats CSV of the same second,
# an uplink taken out and back, the bit-rate bounds, a keyframe, stop (the
# routing as it was before going live), live again; the token (none, wrong,
# from another host); bad requests and a burst of 1000 while streaming; bad
# options. See docs/api.md.
. "$(dirname "$0")/common.sh"
command -v jq >/dev/null || { echo "FAIL: jq is missing (scripts/test installs it)"; exit 1; }
command -v curl >/dev/null || { echo "FAIL: curl is missing (scripts/test installs it)"; exit 1; }

lab_up 4mbit || { echo "FAIL: lab"; exit 1; }
TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
echo "$TOKEN" >"$LAB_DIR/token"
chmod 600 "$LAB_DIR/token" # one that others can read is refused (66)
API="http://127.0.0.1:8080/api"
# curl in the sender's namespace: api METHOD PATH [BODY] [CURL OPTION...]; prints "CODE BODY".
api() {
	local method=$1 path=$2 body=$3
	shift 3
	lab_in_snd curl -s -m 5 -o "$LAB_DIR/api.out" -w '%{http_code}' -X "$method" \
		${body:+-H 'Content-Type: application/json' --data "$body"} "$@" "$API$path"
	echo " $(cat "$LAB_DIR/api.out")"
}
auth=(-H "Authorization: Bearer $TOKEN")
status() { lab_in_snd curl -s -m 5 "$API/status"; }
# wait_for JQ-FILTER SECONDS: until the status satisfies the filter; the time it took in $waited (ms).
wait_for() {
	local start i
	start=$(date +%s%3N)
	for i in $(seq 1 $(($2 * 10))); do
		if status | jq -e "$1" >/dev/null 2>&1; then waited=$(($(date +%s%3N) - start)); return 0; fi
		sleep 0.1
	done
	waited=none
	return 1
}

# --- Bad options: one line, the documented code, nothing left behind.
before=$(lab_routing_state)
bad() {
	local want=$1 what=$2
	shift 2
	lab_in_snd "$MPSTREAM" -u up0 -u up1 "$@" "$URL" >"$LAB_DIR/bad.out" 2>"$LAB_DIR/bad.log"
	local rc=$?
	[ "$rc" = "$want" ] && pass "$what: exit $want ($(tail -n 1 "$LAB_DIR/bad.log" | cut -c1-100))" || fail "$what: exit $rc, not $want"
}
bad 64 "--standby without --http" --standby
bad 64 "--http-token-file without --http" --http-token-file "$LAB_DIR/token"
bad 64 "--http with a bad port" --http 70000
echo short >"$LAB_DIR/short"
chmod 600 "$LAB_DIR/short"
bad 64 "a token file with no token" --http 8080 --http-token-file "$LAB_DIR/short" --standby
bad 66 "a token file that does not exist" --http 8080 --http-token-file "$LAB_DIR/none" --standby
# Another mpstream (in standby, no uplinks) holds the port.
ip netns exec "$LAB_SND" "$MPSTREAM" --standby --http 8080 --http-token-file "$LAB_DIR/token" "$URL" 2>"$LAB_DIR/blocker.log" &
blocker=$!
sleep 1
bad 69 "the --http port taken" --http 8080 --http-token-file "$LAB_DIR/token" --standby
kill $blocker
wait $blocker
[ "$(lab_routing_state)" = "$before" ] && pass "bad options: the routing as it was" || fail "bad options left routing behind"

# --- Standby: uplinks configured and shown, no connection to the server.
ip netns exec "$LAB_SND" "$MPSTREAM" -u up0 -u up1 --standby --http 0.0.0.0:8080 --http-token-file "$LAB_DIR/token" \
	--stats "$LAB_DIR/stats.csv" "$URL" 2>"$LAB_DIR/mpstream.log" &
pid=$!
wait_for '.mode == "standby" and (.uplinks | length) == 2' 10 && pass "standby: the API answers, 2 uplinks" || fail "standby: no status"
status >"$LAB_DIR/standby.json"
jq -e '[.uplinks[].state] == ["up", "up"]' "$LAB_DIR/standby.json" >/dev/null && pass "standby: both uplinks up" ||
	fail "standby: uplinks $(jq -c '[.uplinks[].state]' "$LAB_DIR/standby.json")"
sleep 2
conns=$(lab_in_srv ss -Htn state established '( sport = :1935 )' | wc -l)
[ "$conns" = 0 ] && pass "standby: no connection to the server" || fail "standby: $conns connection(s) to the server"
standby_routing=$(lab_routing_state)
echo "$standby_routing" | grep -q "10.1.0.2 id 240" && pass "standby: the uplinks' endpoints are in place" || fail "standby: no endpoint"

# --- The token: reads from another host need it; controls always do.
code=$(lab_in_rtr curl -s -m 5 -o /dev/null -w '%{http_code}' http://10.1.0.2:8080/api/status)
[ "$code" = 401 ] && pass "a read from another host without the token: 401" || fail "a read from another host without the token: $code"
code=$(lab_in_rtr curl -s -m 5 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" http://10.1.0.2:8080/api/status)
[ "$code" = 200 ] && pass "a read from another host with the token: 200" || fail "a read from another host with the token: $code"
code=$(lab_in_rtr curl -s -m 5 -o /dev/null -w '%{http_code}' http://10.1.0.2:8080/metrics)
[ "$code" = 401 ] && pass "/metrics from another host without the token: 401" || fail "/metrics from another host without the token: $code"
code=$(lab_in_rtr curl -s -m 5 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" http://10.1.0.2:8080/metrics)
[ "$code" = 200 ] && pass "/metrics from another host with the token: 200" || fail "/metrics from another host with the token: $code"
code=$(lab_in_snd curl -s -m 5 -o /dev/null -w '%{http_code}' -H 'Host: attacker.example:8080' http://127.0.0.1:8080/api/status)
[ "$code" = 403 ] && pass "a read from this host under another host's name (DNS rebinding): 403" || fail "a read under a foreign Host: $code"
r=$(api POST /live "")
[ "${r%% *}" = 401 ] && pass "go live without the token: 401" || fail "go live without the token: $r"
r=$(api POST /live "" -H "Authorization: Bearer ${TOKEN}x")
[ "${r%% *}" = 401 ] && pass "go live with a wrong token: 401" || fail "go live with a wrong token: $r"
sleep 1
status | jq -e '.mode == "standby"' >/dev/null && pass "refused: still in standby" || fail "refused, yet not in standby"
grep -q "refused POST /api/live from 127.0.0.1: wrong token" "$LAB_DIR/mpstream.log" && pass "a wrong token is a log line" || fail "no log line for a wrong token"

# --- Go live.
t_live=$(date +%s%3N)
r=$(api POST /live "" "${auth[@]}")
[ "${r%% *}" = 200 ] && pass "go live: 200" || fail "go live: $r"
wait_for '.mode == "live" and .connected' 15 && pass "live: streaming ${waited} ms after the call" || fail "live: not streaming"
r=$(api POST /live "" "${auth[@]}")
[ "${r%% *}" = 409 ] && pass "go live while live: 409" || fail "go live while live: $r"
sleep 6

# The status against the CSV row of the same second (the CSV's clock).
status >"$LAB_DIR/live.json"
t=$(jq '.time_s' "$LAB_DIR/live.json")
read -r target dropped reconnects states < <(jq -r '[.video.target_bps, .dropped_frames, .reconnects,
	([.uplinks[] | "\(.name)=\(.state)"] | join(";"))] | @tsv' "$LAB_DIR/live.json")
sleep 1.5
row=$(awk -F, -v t="$t" '$2 == "total" { d = $1 - t; if (d < 0) d = -d; if (best == "" || d < best) { best = d; r = $0 } } END { print r }' "$LAB_DIR/stats.csv")
echo "figure: status at t=$t s: target $target, dropped $dropped, reconnects $reconnects, $states"
echo "figure: CSV row nearest: $row"
IFS=, read -r ct _ _ _ _ _ _ _ _ _ ctarget _ _ _ _ cdropped creconnects cstates _ <<<"$row"
awk -v a="$ct" -v b="$t" 'BEGIN { d = a - b; exit !(d < 1.0 && d > -1.0) }' && pass "a CSV row within 1 s of the status (${ct} s)" || fail "no CSV row near $t s"
# The status is of its tick (100 ms), the CSV of each second: the target the
# status showed lies between those of the CSV's rows within 1 s of it.
read -r lo hi < <(awk -F, -v t="$t" '$2 == "total" && $1 - t < 1.0 && t - $1 < 1.0 {
	if (lo == "" || $11 < lo) lo = $11; if (hi == "" || $11 > hi) hi = $11 } END { print lo, hi }' "$LAB_DIR/stats.csv")
[ -n "$lo" ] && [ "$target" -ge $((lo * 98 / 100)) ] && [ "$target" -le $((hi * 102 / 100)) ] &&
	pass "status target_bps $target within the CSV's of that second ($lo..$hi)" ||
	fail "status target_bps $target, the CSV's within 1 s: ${lo:-none}..${hi:-none}"
[ "$dropped" = "$cdropped" ] && [ "$reconnects" = "$creconnects" ] && pass "dropped frames and reconnects as in the CSV ($dropped, $reconnects)" ||
	fail "dropped/reconnects: status $dropped/$reconnects, CSV $cdropped/$creconnects"
[ "$states" = "$cstates" ] && pass "uplink states as in the CSV ($states)" || fail "states: status $states, CSV $cstates"
jq -e '.uplinks | all(.send_bps > 0 and .rtt_ms > 0)' "$LAB_DIR/live.json" >/dev/null && pass "both uplinks carry, with an RTT" ||
	fail "uplinks: $(jq -c '[.uplinks[] | [.name, .send_bps, .rtt_ms]]' "$LAB_DIR/live.json")"

# --- An uplink out of use: its traffic moves to the other within 1 s.
t0=$(date +%s%3N)
r=$(api POST /uplinks/up0 '{"use": false}' "${auth[@]}")
[ "${r%% *}" = 200 ] && pass "take up0 out: 200" || fail "take up0 out: $r"
# Every 100 ms for 3 s: when up0 sent its last bytes, and what each sent from 1 s on.
last=$(lab_tx_bytes 0); last_change=$t0
for i in $(seq 1 30); do
	sleep 0.1
	now=$(lab_tx_bytes 0)
	[ "$now" != "$last" ] && last_change=$(date +%s%3N)
	last=$now
	[ "$i" = 10 ] && { a0=$now; a1=$(lab_tx_bytes 1); }
done
d0=$(($(lab_tx_bytes 0) - a0)); d1=$(($(lab_tx_bytes 1) - a1))
echo "figure: up0 sent its last bytes $((last_change - t0)) ms after the call to take it out"
echo "figure: from 1 to 3 s after taking up0 out: up0 sent $d0 bytes, up1 $d1 bytes"
[ "$d0" -lt 20000 ] && pass "up0 carries nothing 1 s after it was taken out" || fail "up0 still sent $d0 bytes"
[ "$d1" -gt 400000 ] && pass "up1 carries the stream" || fail "up1 sent only $d1 bytes"
status | jq -e '.uplinks[0].state == "off" and .uplinks[0].in_use == false' >/dev/null && pass "up0 shown as off" || fail "up0 not shown as off"
lab_in_snd ip mptcp endpoint show | grep -q "10.1.0.2 " && fail "up0's endpoint still there" || pass "up0's endpoint removed"
r=$(api POST /uplinks/up0 '{"use": true}' "${auth[@]}")
[ "${r%% *}" = 200 ] && pass "put up0 back: 200" || fail "put up0 back: $r"
a0=$(lab_tx_bytes 0)
wait_for '.uplinks[0].state == "up" and .uplinks[0].send_bps > 0' 10 && pass "up0 carries again ${waited} ms after it was put back" || fail "up0 did not come back"
r=$(api POST /uplinks/up1 '{"backup": true}' "${auth[@]}")
[ "${r%% *}" = 200 ] && wait_for '.uplinks[1].backup' 2 && pass "up1 made a backup" || fail "up1 as backup: $r"
lab_in_snd ip mptcp endpoint show | grep "10.2.0.2 " | grep -q backup && pass "up1's endpoint has the backup flag" || fail "up1's endpoint is not a backup"
r=$(api POST /uplinks/up1 '{"backup": false}' "${auth[@]}")
r=$(api POST /uplinks/wlan7 '{"use": false}' "${auth[@]}")
[ "${r%% *}" = 404 ] && pass "an unknown uplink: 404" || fail "an unknown uplink: $r"

# --- Bit-rate bounds, a keyframe.
r=$(api POST /bitrate '{"min_kbps": 500, "max_kbps": 1000}' "${auth[@]}")
[ "${r%% *}" = 200 ] && pass "bounds 500..1000 kbit/s: 200" || fail "bounds: $r"
wait_for '.video.max_bps == 1000000 and .video.target_bps <= 1000000 and .video.target_bps >= 500000' 3 &&
	pass "the target within the new bounds ${waited} ms after the call" || fail "target: $(status | jq -c .video)"
r=$(api POST /bitrate '{"min_kbps": 2000, "max_kbps": 1000}' "${auth[@]}")
[ "${r%% *}" = 400 ] && pass "min above max: 400" || fail "min above max: $r"
# Twice, 0.5 s apart: the second is off the 2 s cadence even if the first fell on it.
t_kf=$(date +%s%3N)
r=$(api POST /keyframe "" "${auth[@]}")
sleep 0.5
r2=$(api POST /keyframe "" "${auth[@]}")
[ "${r%% *}" = 200 ] && [ "${r2%% *}" = 200 ] && pass "keyframe: 200" || fail "keyframe: $r / $r2"

# --- Bad requests and a burst of 1000 while streaming: clear errors, the stream unaffected.
d_before=$(lab_dropped_frames "$LAB_DIR/stats.csv")
r=$(api POST /bitrate "$(head -c 6000 /dev/zero | tr '\0' ' ')" "${auth[@]}")
[ "${r%% *}" = 413 ] && pass "an oversized body: 413" || fail "an oversized body: $r"
r=$(api POST /bitrate '{"min_kbps": ' "${auth[@]}")
[ "${r%% *}" = 400 ] && pass "malformed JSON: 400 ($(echo "$r" | cut -c5-60))" || fail "malformed JSON: $r"
r=$(api GET /nothing "")
[ "${r%% *}" = 404 ] && pass "an unknown path: 404" || fail "an unknown path: $r"
r=$(api GET /live "")
[ "${r%% *}" = 405 ] && pass "GET on a control: 405" || fail "GET on a control: $r"
start=$(date +%s%3N)
# 8 clients at once, 125 requests each on one kept-alive connection.
args=$(for i in $(seq 1 125); do printf -- '-o /dev/null %s ' "$API/status"; done)
clients=()
for c in $(seq 1 8); do
	# shellcheck disable=SC2086 # $args is a list of options
	lab_in_snd curl -s -m 30 -w '%{http_code}\n' $args >"$LAB_DIR/burst.$c" &
	clients+=($!)
done
wait "${clients[@]}"
cat "$LAB_DIR"/burst.* >"$LAB_DIR/burst"
ms=$(($(date +%s%3N) - start))
ok=$(grep -c '^200$' "$LAB_DIR/burst")
echo "figure: burst: $ok of 1000 status requests answered 200 in $ms ms"
[ "$ok" = 1000 ] && pass "a burst of 1000: every one 200" || fail "a burst of 1000: $ok answered 200 ($(sort "$LAB_DIR/burst" | uniq -c | tr '\n' ' '))"
sleep 1.5
d_after=$(lab_dropped_frames "$LAB_DIR/stats.csv")
[ "${d_after:-0}" = "${d_before:-0}" ] && pass "no frame dropped during the bad requests and the burst" || fail "frames dropped: ${d_before:-0} -> ${d_after:-0}"
kill -0 $pid 2>/dev/null && pass "mpstream runs on" || fail "mpstream is gone"

# --- Stop: standby again, the routing as it was before going live, the recording complete.
r=$(api POST /stop "" "${auth[@]}")
[ "${r%% *}" = 200 ] && pass "stop: 200" || fail "stop: $r"
wait_for '.mode == "standby"' 10 && pass "standby ${waited} ms after stop" || fail "not in standby after stop"
sleep 1
conns=$(lab_in_srv ss -Htn state established '( sport = :1935 )' | wc -l)
[ "$conns" = 0 ] && pass "after stop: no connection to the server" || fail "after stop: $conns connection(s)"
[ "$(lab_routing_state)" = "$standby_routing" ] && pass "after stop: the routing as before going live" || {
	fail "after stop: the routing changed"
	diff <(echo "$standby_routing") <(lab_routing_state)
}
read -r frames dur gap <<<"$(lab_flv_summary "$LAB_DIR/rec/$KEY.flv")"
# The keyframes asked for: x264 puts one every 2 s (60 frames, no scene cuts);
# a forced one restarts that count, so the second follows the first by 0.5 s.
ffprobe -v error -select_streams v:0 -show_entries packet=pts_time,flags -of csv=p=0 "$LAB_DIR/rec/$KEY.flv" |
	awk -F, '$2 ~ /K/ { print $1 }' >"$LAB_DIR/keyframes"
# Where it should be: as long after the start of the recording as the call came after "go live".
want=$(awk -v a="$t_live" -v b="$t_kf" 'BEGIN { printf "%.1f", (b - a) / 1000 }')
short=$(awk -v w="$want" 'NR > 1 && $1 - prev > 0.05 && $1 - prev < 1.9 && $1 - w < 2 && w - $1 < 1 { print $1 }
	{ prev = $1 }' "$LAB_DIR/keyframes" | head -n 1)
echo "figure: first live period: $(wc -l <"$LAB_DIR/keyframes") keyframes; the one asked for about ${want} s in: ${short:-none}"
[ -n "$short" ] && pass "the keyframe asked for is in the recording, off the 2 s cadence (at ${short} s)" ||
	fail "no keyframe off the 2 s cadence near ${want} s: $(tr '\n' ' ' <"$LAB_DIR/keyframes")"
echo "figure: first live period: recorded ${frames:-0} frames, ${dur:-0} s, largest timestamp gap ${gap:--} ms"
[ "${frames:-0}" -gt 300 ] && pass "the first live period was recorded and decodes" || fail "recording: ${frames:-0} frames"
r=$(api POST /stop "" "${auth[@]}")
[ "${r%% *}" = 409 ] && pass "stop in standby: 409" || fail "stop in standby: $r"
r=$(api POST /keyframe "" "${auth[@]}")
[ "${r%% *}" = 409 ] && pass "keyframe in standby: 409" || fail "keyframe in standby: $r"

# --- Live again, then SIGTERM: exit 0, the routing as before the start.
r=$(api POST /live "" "${auth[@]}")
wait_for '.mode == "live" and .connected' 15 && pass "live again ${waited} ms after the call" || fail "not live again"
sleep 3
lab_in_snd curl -s -m 5 "http://127.0.0.1:8080/" >"$LAB_DIR/page.html"
status >"$LAB_DIR/last.json"
kill -TERM $pid
wait $pid
rc=$?
[ "$rc" = 0 ] && pass "SIGTERM: exit 0" || fail "SIGTERM: exit $rc"
[ "$(lab_routing_state)" = "$before" ] && pass "the routing as before the start" || fail "routing left behind"
grep -q "going live (asked by the operator)" "$LAB_DIR/mpstream.log" && pass "each control is a log line" || fail "no log line for go live"
check_no_key "$LAB_DIR/mpstream.log" "$LAB_DIR/live.json" "$LAB_DIR/last.json" "$LAB_DIR/page.html" "$LAB_DIR/standby.json"
finish
