#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The uplinks' modems in a stream (issue 29). A stand-in ModemManager
# (tests/modem/standin.py: python3-dbusmock on a private bus) has one modem
# whose network port is up0; up1 is no modem. While a fixed 2 Mbit/s goes over
# two 4 Mbit/s uplinks: up0's radio is in /metrics, the API and the CSV, up1
# has none; the PIN through the API needs the token and appears nowhere;
# the modem loses its network: up0 is down with the reason, its subflows are
# released at once (bound 1 s, printed), nothing is lost; it registers again:
# a subflow on up0 again (bound 10 s, printed). The release time and the
# longest arrival gap are printed.
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/standin.sh"
command -v jq >/dev/null || { echo "FAIL: jq is missing (scripts/test installs it)"; exit 1; }

lab_up 4mbit || { echo "FAIL: lab"; exit 1; }
lab_routing_state >"$LAB_DIR/before.txt"

standin_start up0

TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
echo "$TOKEN" >"$LAB_DIR/token"
chmod 600 "$LAB_DIR/token"
DURATION=36
ip netns exec "$LAB_SND" "$MPSTREAM" -u up0 -u up1 -b 2M --min-bitrate 2M --max-bitrate 2M \
	--duration "$DURATION" --stats "$LAB_DIR/stats.csv" --stats-interval 0.5 \
	--metrics 127.0.0.1:9100 --http 127.0.0.1:8080 --http-token-file "$LAB_DIR/token" \
	"$URL" 2>"$LAB_DIR/mpstream.log" &
pid=$!
sleep 2
probe_start $((DURATION - 4)) --max-gap 5000
sleep 4

metrics() { lab_in_snd curl -s -m 5 http://127.0.0.1:9100/metrics; }
metrics >"$LAB_DIR/metrics.txt"
grep -q '^mpstream_uplink_modem_info{uplink="up0",.*tech="LTE".*} 1' "$LAB_DIR/metrics.txt" &&
	pass "/metrics: up0's modem, on LTE" || fail "/metrics: no modem_info for up0 on LTE"
grep -q '^mpstream_uplink_modem_registered{uplink="up0"} 1' "$LAB_DIR/metrics.txt" &&
	pass "/metrics: up0's modem registered" || fail "/metrics: up0's modem not registered"
grep -q 'mpstream_uplink_modem_[a-z_]*{uplink="up1"' "$LAB_DIR/metrics.txt" &&
	fail "/metrics: a modem for up1, which has none" || pass "/metrics: no modem for up1"

# subflows N: established subflows from uplink N now.
# (MPTCP's: failover's reach check opens plain TCP connections from it too.)
subflows() { lab_in_snd ss -Htni state established src "10.$(($1 + 1)).0.2" dst "$LAB_SERVER_IP:1935" | grep -c tcp-ulp-mptcp; }
# until_ms BOUND_MS COMMAND...: ms until COMMAND succeeds, or "none" after BOUND_MS.
until_ms() {
	local bound=$1 start now
	shift
	start=$(date +%s%3N)
	while :; do
		"$@" && { echo $(($(date +%s%3N) - start)); return; }
		now=$(date +%s%3N)
		[ $((now - start)) -ge "$bound" ] && { echo none; return; }
		sleep 0.02
	done
}
no_subflow_on_up0() { [ "$(subflows 0)" = 0 ]; }
subflow_on_up0() { [ "$(subflows 0)" -gt 0 ]; }

# The operator's controls through the API: the token, and the PIN nowhere.
# modem_api BODY [CURL OPTION...]: "CODE BODY" of POST /api/uplinks/up0/modem.
modem_api() {
	local body=$1
	shift
	lab_in_snd curl -s -m 15 -o "$LAB_DIR/api.out" -w '%{http_code}' -X POST \
		-H 'Content-Type: application/json' --data "$body" "$@" \
		http://127.0.0.1:8080/api/uplinks/up0/modem
	echo " $(cat "$LAB_DIR/api.out")"
	cat "$LAB_DIR/api.out" >>"$LAB_DIR/answers.txt"
}
auth=(-H "Authorization: Bearer $TOKEN")
r=$(modem_api '{"pin": "4711"}')
echo "$r" | grep -q '^401 ' && pass "a PIN without the token: 401" || fail "a PIN without the token: $r"
r=$(modem_api '{"pin": "90210"}' "${auth[@]}")
echo "figure: a wrong PIN: $r"
echo "$r" | grep -q '^502 .*"pin_attempts_left": *2' && pass "a wrong PIN: 502, 2 attempts left" || fail "a wrong PIN: $r"
r=$(modem_api '{"pin": "4711"}' "${auth[@]}")
echo "$r" | grep -q '^200 ' && pass "the right PIN: 200" || fail "the right PIN: $r"
r=$(lab_in_snd curl -s -m 5 http://127.0.0.1:8080/api/status)
# As a word in the log and the answers, as a string in the status (its numbers may hold the digits).
if grep -qw -e 4711 -e 90210 "$LAB_DIR/mpstream.log" "$LAB_DIR/answers.txt" ||
	! jq -e '[.. | strings | select(test("4711|90210"))] | length == 0' <<<"$r" >/dev/null; then
	fail "a PIN in the log, an answer or the status"
else
	pass "no PIN in the log, the answers or the status"
fi
jq -e '.uplinks[] | select(.name == "up0") | .radio.tech == "LTE"' <<<"$r" >/dev/null &&
	pass "API: up0's radio on LTE" || fail "API: no LTE radio for up0"
jq -e '.uplinks[] | select(.name == "up1") | .radio == null' <<<"$r" >/dev/null &&
	pass "API: no radio for up1" || fail "API: a radio for up1"

had=$(subflows 0)
[ "$had" -gt 0 ] || fail "up0 had no subflow before its modem lost its network"
standin "reg searching"
ms=$(until_ms 3000 no_subflow_on_up0)
echo "figure: up0's modem lost its network: its $had subflow(s) released after ${ms} ms"
[ "$ms" != none ] && [ "$ms" -le 1000 ] && pass "modem off its network: up0 released within 1 s" ||
	fail "modem off its network: up0 released after $ms ms"
grep -q "uplink up0: down (the modem lost its network (searching))" "$LAB_DIR/mpstream.log" &&
	pass "the log says why up0 is down" || fail "no 'the modem lost its network' line"
grep -q "uplink up0: subflows closed.*(its modem: searching)" "$LAB_DIR/mpstream.log" &&
	pass "the release line gives the modem's state" || fail "the release line does not give the modem's state"
unregistered() { metrics | grep -q '^mpstream_uplink_modem_registered{uplink="up0"} 0'; }
[ "$(until_ms 2000 unregistered)" != none ] &&
	pass "/metrics: up0's modem not registered" || fail "/metrics: up0's modem still registered"
sleep 5
[ "$(subflows 0)" = 0 ] && pass "no subflow on up0 while its modem has no network" ||
	fail "a subflow on up0 while its modem has no network"

standin "reg home"
ms=$(until_ms 10000 subflow_on_up0)
echo "figure: up0's modem registered again: a subflow on it after ${ms} ms"
[ "$ms" != none ] && pass "registered again: a subflow on up0 within 10 s" || fail "registered again: no subflow on up0"

# The CSV's radio column (the total rows' 21st): up0 on LTE, then off its network.
radios=$(awk -F, '$2 == "total" { print $21 }' "$LAB_DIR/stats.csv")
echo "$radios" | grep -q '^up0=LTE:' && pass "CSV: up0's radio on LTE" || fail "CSV: no up0=LTE radio"
echo "$radios" | grep -q '^up0=.*:searching:' && pass "CSV: up0's modem searching" || fail "CSV: up0 never searching"
echo "$radios" | grep -q 'up1=' && fail "CSV: a radio for up1, which has none" || pass "CSV: no radio for up1"

wait_stream $pid
check_nothing_lost "a modem off its network and back" 1000
grep -E "modem|subflows closed" "$LAB_DIR/mpstream.log" | head -n 8 | cut -c1-160
[ "$(lab_routing_state)" = "$(cat "$LAB_DIR/before.txt")" ] && pass "after exit the routing is as before" || fail "routing left behind"
check_no_key "$LAB_DIR/mpstream.log"
standin_stop
finish
