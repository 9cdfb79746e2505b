#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The uplinks' modems on the operator's page, in headless Chromium (issue 29).
# A stand-in ModemManager (tests/modem/standin.py) has a modem on each lab
# uplink: up0 an LTE one (Orange F), up1 a 5G one (SFR). While a stream runs:
# each card shows its signal bars, technology and operator; then up0's modem
# loses its network and up1's SIM asks for its PIN, and both cards stand out
# (data-radio="alert" and the alert's words), up1's with its PIN form (a
# password field in a form, autocomplete off) and the attempts left before the
# PUK. The screenshot of that page is kept (test-artifacts/page-modems.png,
# which docs/page-modems.png is). Then a PIN is typed into up1's form through
# the DevTools protocol (tests/modem/page_pin.py): the field is empty as soon
# as it is submitted, the answer next to it says the attempts left (2), and
# the PIN is nowhere in the DOM, the page's storage or mpstream's log.
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/standin.sh"
MODEM_TESTS=$(dirname "$STANDIN")
CHROMIUM=$(command -v chromium || true)
[ -n "$CHROMIUM" ] || { echo "FAIL: chromium is missing (scripts/test installs it)"; exit 1; }
command -v jq >/dev/null || { echo "FAIL: jq is missing (scripts/test installs it)"; exit 1; }
ARTIFACTS="$(dirname "$MPSTREAM")/test-artifacts"
mkdir -p "$ARTIFACTS"

lab_up 4mbit || { echo "FAIL: lab"; exit 1; }

standin_start up0 up1

TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
echo "$TOKEN" >"$LAB_DIR/token"
chmod 600 "$LAB_DIR/token"
ip netns exec "$LAB_SND" "$MPSTREAM" -u up0 -u up1 -b 1M --duration 40 -s 640x360 \
	--http 127.0.0.1:8080 --http-token-file "$LAB_DIR/token" "$URL" 2>"$LAB_DIR/mpstream.log" &
pid=$!

# browse OUTPUT-OPTION...: Chromium as test_page.sh runs it, a phone-sized window.
browse() {
	ip netns exec "$LAB_SND" "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync --disable-dev-shm-usage \
		--user-data-dir="$LAB_DIR/chrome" --window-size=390,1100 --virtual-time-budget=3000 \
		"$@" http://127.0.0.1:8080/ 2>>"$LAB_DIR/chromium.log"
}
# facts DOM: each card's radio as JSON (tests/modem/page_facts.py).
facts() { "$STANDIN_PY" "$MODEM_TESTS/page_facts.py" "$1"; }
# is JSON JQ WHAT: a check of the facts.
is() { jq -e "$2" <<<"$1" >/dev/null && pass "$3" || fail "$3 (saw $(jq -c . <<<"$1" 2>/dev/null))"; }

for _ in $(seq 50); do
	lab_in_snd curl -s -m 1 http://127.0.0.1:8080/api/status | jq -e '[.uplinks[] | select(.radio != null)] | length == 2' >/dev/null 2>&1 && break
	sleep 0.2
done
start=$(date +%s%3N)
browse --dump-dom >"$LAB_DIR/dom1.html"
echo "figure: Chromium rendered the page in $(($(date +%s%3N) - start)) ms"
f=$(facts "$LAB_DIR/dom1.html")
echo "figure: cards: $f"
is "$f" '.up0.radio == "modem" and .up1.radio == "modem"' "each card shows a modem"
is "$f" '.up0.bars == "3" and .up0.bars_lit == 3 and .up1.bars == "3" and .up1.bars_lit == 3' \
	"signal bars on each card (3 of 4: LTE RSRP -95 dBm, 5G RSRP -88 dBm)"
is "$f" '.up0.tech == "LTE" and .up1.tech == "5G"' "the technology on each card"
is "$f" '.up0.operator == "Orange F" and .up1.operator == "SFR"' "the operator on each card"
is "$f" '.up0.alert == null and .up1.alert == null' "no alert while both are registered"
is "$f" '.up1.pin_form.hidden' "no PIN form while the SIM is ready"

standin "up0 reg searching"
standin "up1 sim pin"
sleep 1.5
browse --dump-dom >"$LAB_DIR/dom2.html"
browse --screenshot="$ARTIFACTS/page-modems.png" >/dev/null
f=$(facts "$LAB_DIR/dom2.html")
echo "figure: cards: $f"
is "$f" '.up0.radio == "alert" and .up0.alert == "no network (searching)"' \
	"a lost registration stands out: up0's card in alert, 'no network (searching)'"
is "$f" '.up1.radio == "alert" and .up1.alert == "SIM locked (PIN, 3 attempts left)"' \
	"a locked SIM stands out: up1's card in alert, 'SIM locked (PIN, 3 attempts left)'"
is "$f" '.up0.tech == "LTE" and .up0.bars_lit == 3 and .up1.operator == "SFR"' \
	"the bars, technology and operator stay shown"
is "$f" '.up1.pin_form.hidden == false and .up1.pin_form.type == "password" and .up1.pin_form.autocomplete == "off" and .up1.pin_form.field_autocomplete == "off"' \
	"up1's PIN form: a password field in a form, autocomplete off"
is "$f" '.up1.pin_form.left == "3 attempts left before the PUK"' "the attempts left before the PUK shown"
is "$f" '.up0.pin_form.hidden' "no PIN form for up0, whose SIM is ready"
[ -s "$ARTIFACTS/page-modems.png" ] && pass "screenshot kept: $ARTIFACTS/page-modems.png ($(wc -c <"$ARTIFACTS/page-modems.png") bytes)" ||
	fail "no screenshot"

# A wrong PIN typed into up1's form (the stand-in takes 4711 only).
ip netns exec "$LAB_SND" "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
	--disable-background-networking --disable-component-update --disable-sync --disable-dev-shm-usage \
	--user-data-dir="$LAB_DIR/chrome-pin" --window-size=390,1100 --remote-debugging-port=9222 \
	about:blank 2>>"$LAB_DIR/chromium.log" &
chrome=$!
start=$(date +%s%3N)
p=$(ip netns exec "$LAB_SND" "$STANDIN_PY" "$MODEM_TESTS/page_pin.py" 9222 \
	"http://127.0.0.1:8080/#token=$TOKEN" up1 90210 2>"$LAB_DIR/page_pin.log")
echo "figure: the PIN typed, answered and shown in $(($(date +%s%3N) - start)) ms: $p"
kill "$chrome" 2>/dev/null
wait "$chrome" 2>/dev/null
[ -n "$p" ] || { fail "the page's PIN form could not be driven"; cat "$LAB_DIR/page_pin.log"; }
is "$p" '.after_submit == "" and .field == ""' "the PIN field is empty once submitted"
is "$p" '.answer | test("Incorrect password.*2 attempts left before the PUK")' \
	"the answer next to the field: refused, 2 attempts left before the PUK"
is "$p" '.left == "2 attempts left before the PUK"' "the card shows 2 attempts left"
is "$p" '.in_dom == false and .in_storage == false and .type == "password"' \
	"the PIN nowhere in the DOM or the page's storage"

kill -TERM $pid
wait $pid
rc=$?
grep -qw -e 90210 "$LAB_DIR/mpstream.log" && fail "the PIN in mpstream's log" || pass "the PIN not in mpstream's log"
grep -q "up1: SIM PIN: ModemManager refused: Incorrect password" "$LAB_DIR/mpstream.log" &&
	pass "the log says the PIN was refused" || fail "no refusal line in the log"
[ "$rc" = 0 ] && pass "mpstream exited 0" || fail "mpstream exited $rc"
check_no_key "$LAB_DIR/dom1.html" "$LAB_DIR/dom2.html" "$LAB_DIR/mpstream.log"
standin_stop
finish
