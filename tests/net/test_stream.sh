#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 20 s starting at 2.5 Mbit/s over two 4 Mbit/s uplinks: both carry traffic,
# the recording is complete and decodes without a timestamp gap, the
# statistics agree with the interfaces, the metrics endpoint serves valid
# Prometheus text. up1 is given its own congestion control (cc=reno, a route
# metric): its subflows run reno, up0's mpstream's default (cubic).
. "$(dirname "$0")/common.sh"

lab_up 4mbit || { echo "FAIL: lab"; exit 1; }
# The sender's system default another than mpstream's: the subflows must run mpstream's.
lab_in_snd sysctl -qw net.ipv4.tcp_congestion_control=bbr
b0=$(lab_tx_bytes 0); b1=$(lab_tx_bytes 1)
lab_in_snd "$MPSTREAM" --uplink up0 --uplink up1,cc=reno --duration 20 --bitrate 2500k \
	--stats "$LAB_DIR/stats.csv" --metrics 127.0.0.1:9464 "$URL" 2>"$LAB_DIR/mpstream.log" &
pid=$!
# Prometheus metrics, scraped twice during the stream (inside the sender's namespace).
sleep 8
lab_in_snd curl -sf --max-time 5 http://127.0.0.1:9464/metrics >"$LAB_DIR/metrics1.txt"
# The subflows' congestion control: up1's own (reno) on up1, and mpstream's default
# (cubic) on up0, whatever the system's (bbr). ss: a socket's line (its source
# 10.1.0.2%up0:PORT or [::ffff:10.1.0.2]:PORT), then its details.
lab_in_snd ss -tinH "dport = :1935" >"$LAB_DIR/ss.txt"
awk '/^ESTAB/ { src = $4; sub(/^\[::ffff:/, "", src); sub(/[]%:].*/, "", src); next }
	src != "" { print src, $1; src = "" }' "$LAB_DIR/ss.txt" >"$LAB_DIR/cc.txt"
echo "figure: subflows' source and congestion control: $(sort "$LAB_DIR/cc.txt" | uniq -c | xargs); the system's: $(lab_in_snd sysctl -n net.ipv4.tcp_congestion_control)"
n_sf=$(wc -l <"$LAB_DIR/cc.txt")
n_up0=$(grep -c '^10\.1\.0\.2 cubic$' "$LAB_DIR/cc.txt")
n_up1=$(grep -c '^10\.2\.0\.2 reno$' "$LAB_DIR/cc.txt")
[ "$n_up0" -ge 1 ] && [ "$n_up1" -ge 1 ] && [ $((n_up0 + n_up1)) = "$n_sf" ] &&
	pass "all $n_sf subflows run their uplink's congestion control (up0 cubic, up1 reno)" ||
	fail "subflows: $n_sf, up0 cubic $n_up0, up1 reno $n_up1: $(cat "$LAB_DIR/ss.txt")"
grep -q "uplink up1: configured .*congestion control reno (given)" "$LAB_DIR/mpstream.log" &&
	pass "the log says up1's congestion control" || fail "no line on up1's congestion control"
sleep 4
lab_in_snd curl -sf --max-time 5 http://127.0.0.1:9464/metrics >"$LAB_DIR/metrics2.txt"
wait $pid
rc=$?
[ "$rc" = 0 ] && pass "mpstream exited 0" || fail "mpstream exited $rc"
grep -q "over MPTCP" "$LAB_DIR/mpstream.log" && pass "the connection is MPTCP" || fail "not an MPTCP connection"
s0=$(($(lab_tx_bytes 0) - b0)); s1=$(($(lab_tx_bytes 1) - b1))
total=$((s0 + s1))
echo "figure: bytes on up0=$s0 up1=$s1 share up0=$((100 * s0 / total))% up1=$((100 * s1 / total))%"
[ $((100 * s0)) -ge $((20 * total)) ] && pass "up0 carries >= 20 %" || fail "up0 carries $((100 * s0 / total)) %"
[ $((100 * s1)) -ge $((20 * total)) ] && pass "up1 carries >= 20 %" || fail "up1 carries $((100 * s1 / total)) %"

rec="$LAB_DIR/rec/$KEY.flv"
[ -s "$rec" ] || { fail "nothing recorded"; finish; }
read -r frames dur gap <<<"$(lab_flv_summary "$rec")"
echo "figure: recorded $frames video frames, $dur s, largest timestamp gap $gap ms"
[ "$frames" -ge 590 ] && pass "600 frames recorded" || fail "only $frames frames recorded"
[ "$gap" -le 100 ] && pass "no timestamp gap over 100 ms" || fail "timestamp gap $gap ms"
errors=$(ffmpeg -v error -i "$rec" -f null - 2>&1 | wc -l)
[ "$errors" = 0 ] && pass "recording decodes without error" || fail "$errors decode errors"

# The metrics: valid exposition (promtool), both uplinks, counters that grow.
if promtool check metrics <"$LAB_DIR/metrics1.txt" >"$LAB_DIR/promtool.log" 2>&1; then
	pass "promtool check metrics: clean"
else
	fail "promtool: $(head -5 "$LAB_DIR/promtool.log")"
fi
metric() { awk -v m="$2" '$1 == m { print $2 }' "$1"; }
a=$(metric "$LAB_DIR/metrics1.txt" 'mpstream_uplink_acked_bytes_total{uplink="up0"}')
b=$(metric "$LAB_DIR/metrics2.txt" 'mpstream_uplink_acked_bytes_total{uplink="up0"}')
c=$(metric "$LAB_DIR/metrics2.txt" 'mpstream_uplink_acked_bytes_total{uplink="up1"}')
echo "figure: metrics: up0 acked ${a:-?} then ${b:-?} bytes 4 s later; up1 ${c:-?}; $(grep -c '^mpstream' "$LAB_DIR/metrics2.txt") series"
[ -n "$a" ] && [ -n "$b" ] && [ "$b" -gt "$a" ] && [ "${c:-0}" -gt 0 ] &&
	pass "metrics: per-uplink counters grow" || fail "metrics: up0 ${a:-none} -> ${b:-none}, up1 ${c:-none}"
grep -q '^mpstream_uplink_state{uplink="up0",state="up"} 1$' "$LAB_DIR/metrics2.txt" &&
	grep -q '^mpstream_subflow_rtt_seconds{subflow=' "$LAB_DIR/metrics2.txt" &&
	grep -q '^mpstream_video_target_bytes_per_second ' "$LAB_DIR/metrics2.txt" &&
	pass "metrics: uplink state, subflow RTT, target bit rate" || fail "metrics: series missing"
grep -q "$KEY" "$LAB_DIR/metrics2.txt" && fail "the stream key appears in the metrics"

# The statistics name both uplinks, and their CSV agrees with the interface counters.
grep -q ',up0,' "$LAB_DIR/stats.csv" && grep -q ',up1,' "$LAB_DIR/stats.csv" &&
	pass "stats CSV has rows for up0 and up1" || fail "stats CSV lacks an uplink"
grep -q 'stats .*#[0-9]* up0.*#[0-9]* up1' "$LAB_DIR/mpstream.log" &&
	pass "stats log line shows both subflows" || fail "no stats line with both subflows"
avg=$(awk -F, '$2 == "total" { s += $6; n++ } END { printf "%d", n ? s / n : 0 }' "$LAB_DIR/stats.csv")
ifrate=$((8 * total / 20))
echo "figure: mean total send rate from the stats CSV $avg bit/s, from the interface counters $ifrate bit/s"
# The interfaces count headers and the connection's start and end too: within 25 %.
[ $((100 * avg)) -gt $((75 * ifrate)) ] && [ $((100 * avg)) -lt $((125 * ifrate)) ] &&
	pass "CSV rate agrees with the interface counters" || fail "CSV rate $avg, interfaces $ifrate"

# On a terminal (script(1) gives it one): a status line redrawn in place instead of stats lines.
TERM=xterm script -qfec "ip netns exec $LAB_SND $MPSTREAM -u up0 -u up1 --duration 4 ${URL}tty" \
	/dev/null >"$LAB_DIR/tty.txt" 2>&1
tr '\r' '\n' <"$LAB_DIR/tty.txt" | grep -a 'up0 up [0-9.]* | up1 up [0-9.]* | video ' | tail -1 |
	sed 's/\x1b\[K//g; s/^/figure: terminal status: /'
grep -aq $'\r\x1b\[Kup0 up' "$LAB_DIR/tty.txt" && pass "terminal: one status line, redrawn in place" ||
	fail "terminal: no status line"
grep -aq ' stats   ' "$LAB_DIR/tty.txt" && fail "terminal: stats lines printed too" || pass "terminal: no stats lines"
check_no_key "$LAB_DIR/mpstream.log" "$LAB_DIR/tty.txt"
finish
