#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The operator's page in a real browser: headless Chromium (Debian's) loads
# it during a lab stream after uplink 1 was cut and the camera (an ffmpeg
# pushing MPEG-TS over UDP) was killed, and the rendered page must show up1
# down and up0 up, the input lost, charts with points, the log, no stream key. The
# screenshot is kept as an artifact: test-artifacts/operator-page.png next
# to the binary.
. "$(dirname "$0")/common.sh"
CHROMIUM=$(command -v chromium || true)
[ -n "$CHROMIUM" ] || { echo "FAIL: chromium is missing (scripts/test installs it)"; exit 1; }
ARTIFACTS="$(dirname "$MPSTREAM")/test-artifacts"
mkdir -p "$ARTIFACTS"

lab_up 4mbit || { echo "FAIL: lab"; exit 1; }
ip netns exec "$LAB_SND" "$MPSTREAM" -u up0 -u up1 --http 8080 --duration 60 --stats "$LAB_DIR/stats.csv" \
	-s 640x360 -b 1M --input udp://@:5000 "$URL" 2>"$LAB_DIR/mpstream.log" &
pid=$!
ip netns exec "$LAB_SND" ffmpeg -nostdin -loglevel error -re -f lavfi -i testsrc2=size=640x360:rate=30 \
	-c:v libx264 -preset ultrafast -tune zerolatency -f mpegts "udp://127.0.0.1:5000?pkt_size=1316" \
	2>"$LAB_DIR/camera.log" &
cam=$!
sleep 10
lab_cut 1
kill -9 $cam
wait $cam 2>/dev/null
cut=$(date +%s%3N)
for i in $(seq 1 100); do
	lab_in_snd curl -s -m 2 http://127.0.0.1:8080/api/status | grep -q '"name":"up1","state":"down"' && break
	sleep 0.1
done
echo "figure: the API showed up1 down $(($(date +%s%3N) - cut)) ms after the cut"
sleep 3

# browse OUTPUT-OPTION...: Chromium, as the probe of this machine ran it (no
# background networking: this machine has no internet), a phone-sized window.
browse() {
	ip netns exec "$LAB_SND" "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync --disable-dev-shm-usage \
		--user-data-dir="$LAB_DIR/chrome" --window-size=390,1500 --virtual-time-budget=4000 \
		"$@" http://127.0.0.1:8080/ 2>>"$LAB_DIR/chromium.log"
}
start=$(date +%s%3N)
browse --dump-dom >"$LAB_DIR/dom.html"
echo "figure: Chromium rendered the page in $(($(date +%s%3N) - start)) ms ($(wc -c <"$LAB_DIR/dom.html") bytes of DOM)"
browse --screenshot="$ARTIFACTS/operator-page.png" >/dev/null
kill -TERM $pid
wait $pid
rc=$?

# attr ID NAME: the attribute of the element with that id, from the rendered DOM.
attr() { grep -o "<[^>]* id=\"$1\"[^>]*>" "$LAB_DIR/dom.html" | grep -o "$2=\"[^\"]*\"" | head -n 1 | cut -d'"' -f2; }
up1=$(attr uplink-up1 data-state)
up0=$(attr uplink-up0 data-state)
points=$(attr chart-video data-points)
mode=$(attr mode data-state)
input=$(attr input data-state)
input_text=$(grep -o '<b id="input"[^>]*>[^<]*<' "$LAB_DIR/dom.html" | sed 's/.*>\(.*\)</\1/')
echo "figure: rendered: mode ${mode:-?}, up0 ${up0:-?}, up1 ${up1:-?}, input '${input_text:-?}', ${points:-0} chart points"
[ "$input" = lost ] && [[ "$input_text" == "lost 0:0"* ]] && pass "the camera shows as lost ($input_text)" ||
	fail "the input shows as '${input:-nothing}' '${input_text}'"
[ "$up1" = down ] && pass "the cut uplink shows as down" || fail "up1 shows as '${up1:-nothing}'"
[ "$up0" = up ] && pass "the other uplink shows as up" || fail "up0 shows as '${up0:-nothing}'"
[ "$mode" = live ] && pass "the page shows the stream live" || fail "mode '${mode:-nothing}'"
[ "${points:-0}" -ge 10 ] && pass "the chart has ${points} points" || fail "the chart has ${points:-0} points"
line=$(grep -o '<polyline id="line-video"[^>]*points="[^"]*"' "$LAB_DIR/dom.html" | grep -o 'points="[^"]*"' | wc -w)
[ "$line" -ge 10 ] && pass "the video rate is drawn ($line vertices)" || fail "the video line has $line vertices"
grep -q 'uplink up1' "$LAB_DIR/dom.html" && pass "the log shows the cut" || fail "no log line of up1 on the page"
[ -s "$ARTIFACTS/operator-page.png" ] && pass "screenshot kept: $ARTIFACTS/operator-page.png ($(wc -c <"$ARTIFACTS/operator-page.png") bytes)" ||
	fail "no screenshot"
[ "$rc" = 0 ] && pass "mpstream exited 0" || fail "mpstream exited $rc"
check_no_key "$LAB_DIR/dom.html" "$LAB_DIR/mpstream.log"
finish
