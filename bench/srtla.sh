# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# BELABOX's srtla (SRT bonding, https://github.com/BELABOX/srtla, AGPL-3.0) as a
# peer in bench/run's cellular part: CELL_TOOLS="... srtla". Sourced by
# bench/run; uses its helpers (log, among, part, cellular_links, capacity,
# arriving, percent, since_cut, field, keep_round, summarise_rounds) and the lab's.
# srtla is never kept in this repository: the bench builds it with cc into
# $OUT/srtla from the source tree named by SRTLA_SRC, and skips the peer with
# one line saying how to get it when that is not set or does not build.
#
# What runs, on the same linkem uplinks, traces and seeds as the other tools:
#   sender ns:  mpstream (its stamped test pattern, of $TEST_SIZE when bench/run sets
#               it, at a fixed rate: --min-bitrate = --max-bitrate, no frame
#               dropped) --RTMP over lo--> ffmpeg -c copy
#               --MPEG-TS over SRT (caller, latency L)--> srtla_send :6000, which
#               spreads it over every uplink's address (source routing per uplink)
#   server ns:  srtla_rec :5000 --> `mpstream probe` as the SRT listener
#               (libavformat's libsrt, latency L, lossmaxttl 40 as srtla asks),
#               which reads the stamps: frames missing, delay from the sender's clock.
# steady: for each SRT latency in SRTLA_LATENCIES (ms; default "1000 2000"), the
#         rates of SRTLA_RATES (default "1500k 2500k 4000k 6000k") upwards until
#         something is lost (a frame, or an SRT packet dropped too late: a damaged
#         frame): the highest rate with nothing lost, and its share of the capacity.
# cut:    at that rate, up0 blackholed for good at CELL_CUT s: the longest arrival
#         gap, frames lost, and the time until the delay is back under 1 s above
#         its floor (bench/run's rule for every tool).

SRTLA_LATENCIES=${SRTLA_LATENCIES:-1000 2000}
SRTLA_RATES=${SRTLA_RATES:-1500k 2500k 4000k 6000k}
SRTLA_OK=0 # built and ready
SRTLA_VERSION=
SRTLA_STEADY_FIGS="SRTLA_BEST SRTLA_SHARE SRTLA_CAP SRTLA_LAT SRTLA_LAT_MAX"
SRTLA_CUT_FIGS="SRTLA_CUT_RATE SRTLA_CUT_GAP SRTLA_CUT_LOST SRTLA_CUT_DROPS SRTLA_CUT_AFTER SRTLA_CUT_UTIL SRTLA_CUT_LAT_MAX"
SRTLA_FIGS="$SRTLA_STEADY_FIGS $SRTLA_CUT_FIGS"
declare -A $SRTLA_FIGS          # each: "srtla LATENCY" -> this round's figure
declare -A SRTLA_TRIED          # "srtla LATENCY" -> "RATE LOST/DROPPED" for each rate tried, every round

srtla_skip() {
	log "srtla (BELABOX's SRT bonding) skipped: $1; get it with \`git clone https://github.com/BELABOX/srtla\` (AGPL-3.0, never copied into this repository) and run with SRTLA_SRC=/path/to/srtla"
}

# Build srtla_send and srtla_rec from $SRTLA_SRC into $OUT/srtla (their own
# Makefile would write into the source tree and ask git there for a version).
srtla_build() {
	local b dir=$OUT/srtla
	if [ -z "${SRTLA_SRC:-}" ]; then
		srtla_skip "SRTLA_SRC is not set"
		return 1
	fi
	if [ ! -f "$SRTLA_SRC/srtla_send.c" ] || [ ! -f "$SRTLA_SRC/srtla_rec.c" ]; then
		srtla_skip "SRTLA_SRC=$SRTLA_SRC has no srtla_send.c and srtla_rec.c"
		return 1
	fi
	SRTLA_VERSION=unknown
	[ -e "$SRTLA_SRC/.git" ] && SRTLA_VERSION=$(git -C "$SRTLA_SRC" rev-parse --short HEAD 2>/dev/null || echo unknown)
	mkdir -p "$dir"
	for b in srtla_send srtla_rec; do
		if ! cc -O2 -Wall -DVERSION="\"$SRTLA_VERSION\"" -o "$dir/$b" \
			"$SRTLA_SRC/$b.c" "$SRTLA_SRC/common.c" >"$dir/build-$b.log" 2>&1; then
			srtla_skip "it did not build from $SRTLA_SRC (see $dir/build-$b.log)"
			return 1
		fi
	done
	log "srtla $SRTLA_VERSION built from $SRTLA_SRC into $dir"
}

# srtla_routes add|del: a routing table per uplink for its own address, as
# srtla asks (it binds a socket to each source address); tables 130 + N.
srtla_routes() {
	local ifc ip n
	while read -r ifc ip; do
		n=${ifc#up}
		if [ "$1" = add ]; then
			lab_in_snd ip rule add from "$ip" table $((130 + n))
			lab_in_snd ip route add "${ip%.*}.0/24" dev "$ifc" scope link table $((130 + n))
			lab_in_snd ip route add default via "${ip%.*}.1" dev "$ifc" table $((130 + n))
		else
			lab_in_snd ip rule del from "$ip" table $((130 + n)) 2>/dev/null || true
			lab_in_snd ip route flush table $((130 + n)) 2>/dev/null || true
		fi
	done < <(srtla_uplinks)
}
srtla_uplinks() { # "upN ADDRESS" for each of the sender's uplinks (IPv4)
	lab_in_snd ip -4 -o addr show | awk '$2 ~ /^up[0-9]+$/ { split($4, a, "/"); print $2, a[1] }'
}

srtla_stop() { # srtla_stop PID...: the processes of one run that are still there
	local p
	for p in "$@"; do
		[ -n "$p" ] || continue
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
}

# srtla_run KEY RATE LATENCY_MS steady|cut: one run on the cellular links of
# the round (already up). Sets SRTLA_T_SRC, SRTLA_T_CUT, SRTLA_T_CUT_SEEN (the
# cut as the probe sees it, SRT's latency later) (probe times, s) and
# SRTLA_T_LINK (the probe's start in linkem's time, s).
srtla_run() {
	local k=$1 rate=$2 lat=$3 sc=$4 t_link=$5 bin=$OUT/srtla lat_us=$(($3 * 1000))
	local probe rec snd relay src t_probe n
	srtla_uplinks | awk '{ print $2 }' >"$OUT/$k.ips"
	# The SRT listener first: srtla_rec checks for it as it starts.
	# It stops before the source does: the SRT caller's close drops what is in
	# flight (linger 0 in live mode), an end no viewer of a live stream sees.
	ip netns exec "$LAB_SRV" "$MPSTREAM" probe -q --timeout 10 --duration "$(srtla_probe_secs "$lat")" \
		--csv "$OUT/$k.probe.csv" "srt://127.0.0.1:5002?mode=listener&latency=$lat_us&lossmaxttl=40" \
		>"$OUT/$k.probe.out" 2>"$OUT/$k.probe.log" &
	probe=$!
	t_probe=$(date +%s.%N)
	for n in $(seq 1 30); do
		lab_in_srv ss -Hlun 'sport = :5002' | grep -q . && break
		sleep 0.1
	done
	ip netns exec "$LAB_SRV" "$bin/srtla_rec" 5000 127.0.0.1 5002 >"$OUT/$k.srtla_rec.log" 2>&1 &
	rec=$!
	sleep 0.3
	ip netns exec "$LAB_SND" "$bin/srtla_send" 6000 "$LAB_SERVER_IP" 5000 "$OUT/$k.ips" >"$OUT/$k.srtla_send.log" 2>&1 &
	snd=$!
	for n in $(seq 1 50); do
		[ "$(grep -c 'connection established' "$OUT/$k.srtla_send.log" 2>/dev/null)" -ge "$(wc -l <"$OUT/$k.ips")" ] && break
		sleep 0.1
	done
	# The SRT caller: ffmpeg passes mpstream's stream through as MPEG-TS.
	ip netns exec "$LAB_SND" ffmpeg -nostdin -v error -listen 1 -i rtmp://127.0.0.1:1937/live/srtla -c copy \
		-f mpegts "srt://127.0.0.1:6000?latency=$lat_us&pkt_size=1316" >"$OUT/$k.relay.log" 2>&1 &
	relay=$!
	lab_wait_listen snd 1937 5 || log "srtla: the SRT caller (ffmpeg) does not listen for RTMP"
	ip netns exec "$LAB_SND" "$MPSTREAM" -q ${TEST_SIZE:+-s "$TEST_SIZE"} -b "$rate" --min-bitrate "$rate" --max-bitrate "$rate" \
		--max-latency 60000 -d $((CELL_RUN + lat / 1000 + 10)) rtmp://127.0.0.1:1937/live/srtla >"$OUT/$k.log" 2>&1 &
	src=$!
	SRTLA_T_SRC=$(awk -v a="$t_probe" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	SRTLA_T_LINK=$(awk -v a="$t_link" -v b="$t_probe" 'BEGIN { printf "%.1f", b - a }')
	SRTLA_T_CUT=
	SRTLA_T_CUT_SEEN=
	if [ "$sc" = cut ]; then
		sleep "$CELL_CUT"
		lab_cut 0
		SRTLA_T_CUT=$(awk -v a="$t_probe" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
		SRTLA_T_CUT_SEEN=$(awk -v c="$SRTLA_T_CUT" -v l="$lat" 'BEGIN { printf "%.1f", c + l / 1000 }')
	fi
	wait "$probe" || true
	srtla_stop "$src" "$relay" "$snd" "$rec"
	[ "$sc" = cut ] && lab_restore 0
	return 0
}

srtla_probe_secs() { echo $((CELL_RUN + $1 / 1000 + 2)); } # srtla_probe_secs LATENCY_MS
secs_plus() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a + b }'; } # secs_plus S1 S2: S1 + S2 (s)

# srtla_figures KEY FROM TO: the probe's view of a run. S_LOST: frames missing
# or shown twice (their stamps); S_DROPS: SRT packets the receiver dropped, too
# late (each damages a frame whose stamp may still read); S_END: the probe's
# last second with frames; S_FLOOR: the delay's median from FROM to TO s (the
# run's floor), and $OUT/KEY.relative.csv the probe's CSV with the delay above
# it (frames whose stamp did not read carry a delay above the smallest seen).
srtla_figures() {
	local k=$1 pc=$OUT/$1.probe.csv missing repeated
	missing=$(field "$k" '[0-9]+ missing')
	repeated=$(field "$k" '[0-9]+ repeated')
	if [ -n "$missing" ]; then S_LOST=$((missing + ${repeated:-0})); else S_LOST=; fi
	S_DROPS=$({ grep -oE 'RCV-DROPPED [0-9]+ packet' "$OUT/$k.probe.log" || true; } | awk '{ s += $2 } END { print s + 0 }')
	S_FLOOR=$(srtla_median "$2" "$3" "$pc")
	awk -F, -v m="${S_FLOOR/-/0}" 'BEGIN { OFS = "," } NR > 1 && $7 >= 0 { $6 = $6 > m ? $6 - m : 0; $7 = $7 > m ? $7 - m : 0 } { print }' \
		"$pc" >"$OUT/$k.relative.csv" 2>/dev/null || true
	S_END=$(awk -F, 'NR > 1 && $2 > 0 { t = $1 } END { printf "%.0f", t }' "$pc" 2>/dev/null || echo 0)
}
srtla_median() { # srtla_median FROM TO PROBE_CSV: the median of the 1 s windows' delays (ms)
	awk -F, -v a="$1" -v b="$2" 'NR > 1 && $1 > a && $1 <= b && $6 >= 0 { print $6 }' "$3" 2>/dev/null | sort -n |
		awk '{ v[NR] = $1 } END { if (NR) printf "%.0f", v[int((NR + 1) / 2)]; else printf "-" }'
}
srtla_worst() { # srtla_worst FROM TO PROBE_CSV: the worst 1 s window's delay (ms)
	awk -F, -v a="$1" -v b="$2" 'NR > 1 && $1 > a && $1 <= b && $7 > m { m = $7 } END { printf "%.0f", m }' "$3"
}

# srtla_once KEY RATE LATENCY_MS steady|cut ROUND: one run on the round's links,
# its figures (srtla_figures) over the steady state: from 3 s after the first
# frames could arrive (FROM) to the probe's last second (TO), or the cut's
# arrival for a cut (probe times); CAP_AT T: T in linkem's time, when what
# arrived at T was sent.
srtla_once() {
	local k=$1 rate=$2 lat=$3 sc=$4 round=$5 t_link
	log "srtla at $rate, SRT latency $lat ms, on emulated cellular uplinks ($sc) for ${CELL_RUN}s (round $round)"
	"${EMU_LINKS:-cellular_links}" "$round" || { log "linkem did not start"; return 1; }
	t_link=$(date +%s.%N)
	srtla_run "$k" "$rate" "$lat" "$sc" "$t_link"
	srtla_links_stop "$k"
	FROM=$(awk -v s="$SRTLA_T_SRC" -v l="$lat" 'BEGIN { printf "%.1f", s + l / 1000 + 3 }')
	TO=$(($(srtla_probe_secs "$lat") - 1))
	if [ "$sc" = cut ]; then
		srtla_figures "$k" "$FROM" "$SRTLA_T_CUT_SEEN"
	else
		srtla_figures "$k" "$FROM" "$TO"
	fi
	log "srtla at $rate, SRT latency $lat ms: ${S_LOST:-?} frames lost, $S_DROPS SRT packets dropped ($(head -c 300 "$OUT/$k.probe.out"))"
}
srtla_links_stop() { # srtla_links_stop KEY: linkem stopped on every uplink, its totals in $OUT/KEY.linkemN.out
	local n
	for n in $(seq 0 $((${UPLINKS:-2} - 1))); do
		lab_linkem_stop "$n"
		cp "$LAB_DIR/linkem$n.out" "$OUT/$1.linkem$n.out"
	done
}
cap_at() { awk -v t="$1" -v o="$SRTLA_T_LINK" -v l="$2" 'BEGIN { print t + o - l / 1000 }'; } # cap_at T LATENCY_MS

# srtla_cellular steady|cut ROUND: bench/run's cellular loop hands the peer's turn here.
srtla_cellular() {
	local sc=$1 round=$2 lat rate id k best after
	[ "$SRTLA_OK" = 1 ] || return 0
	srtla_routes add
	for lat in $SRTLA_LATENCIES; do
		id="srtla $lat${EMU_ID:-}"
		if [ "$sc" = steady ]; then
			unset "SRTLA_BEST[$id]" "SRTLA_SHARE[$id]" "SRTLA_CAP[$id]" "SRTLA_LAT[$id]" "SRTLA_LAT_MAX[$id]"
			SRTLA_BEST[$id]=0
			SRTLA_TRIED[$id]+="${SRTLA_TRIED[$id]:+;} round $round:"
			for rate in $SRTLA_RATES; do
				k="${EMU_KEY:-cell}-steady-srtla-$lat-$rate-$round"
				srtla_once "$k" "$rate" "$lat" steady "$round" || break
				SRTLA_TRIED[$id]+=" $rate ${S_LOST:-?}/$S_DROPS"
				[ "${S_LOST:-}" = 0 ] && [ "$S_DROPS" = 0 ] || break
				SRTLA_BEST[$id]=${rate%k}
				SRTLA_CAP[$id]=$(capacity "$(cap_at "$FROM" "$lat")" "$(cap_at "$TO" "$lat")" \
					"$OUT/$k".linkem[0-9]*.out)
				SRTLA_SHARE[$id]=$(percent "$(arriving "$FROM" "$TO" "$OUT/$k.probe.csv")" "${SRTLA_CAP[$id]}")
				SRTLA_LAT[$id]=$S_FLOOR
				SRTLA_LAT_MAX[$id]=$(srtla_worst "$FROM" "$TO" "$OUT/$k.probe.csv")
			done
		else
			unset "SRTLA_CUT_RATE[$id]" "SRTLA_CUT_GAP[$id]" "SRTLA_CUT_LOST[$id]" "SRTLA_CUT_DROPS[$id]" \
				"SRTLA_CUT_AFTER[$id]" "SRTLA_CUT_UTIL[$id]" "SRTLA_CUT_LAT_MAX[$id]"
			# At the highest rate it carried with nothing lost this round, else the first of SRTLA_RATES.
			best=${SRTLA_BEST[$id]:-0}
			if [ "$best" = 0 ]; then rate=${SRTLA_RATES%% *}; else rate=${best}k; fi
			k="${EMU_KEY:-cell}-cut-srtla-$lat-$rate-$round"
			srtla_once "$k" "$rate" "$lat" cut "$round" || continue
			SRTLA_CUT_RATE[$id]=${rate%k}
			# From the cut to 6 s after, as the probe saw it.
			SRTLA_CUT_GAP[$id]=$(gap_around "$SRTLA_T_CUT_SEEN" "$(secs_plus "$SRTLA_T_CUT_SEEN" 6)" "$OUT/$k.probe.csv")
			SRTLA_CUT_LOST[$id]=${S_LOST:--}
			SRTLA_CUT_DROPS[$id]=$S_DROPS
			SRTLA_CUT_AFTER[$id]=$(since_cut "$SRTLA_T_CUT" "$S_END" "$OUT/$k.relative.csv")
			SRTLA_CUT_LAT_MAX[$id]=$(srtla_worst "$SRTLA_T_CUT" "$TO" "$OUT/$k.probe.csv")
			after=$(secs_plus "$SRTLA_T_CUT_SEEN" 3)
			SRTLA_CUT_UTIL[$id]=$(percent "$(arriving "$after" "$TO" "$OUT/$k.probe.csv")" \
				"$(capacity "$(cap_at "$after" "$lat")" "$(cap_at "$TO" "$lat")" "$OUT/$k".linkem[1-9]*.out)")
		fi
		# Only the scenario's own: the other's are last round's (each was kept twice a round).
		if [ "$sc" = steady ]; then keep_round "$SRTLA_STEADY_FIGS" "$id"; else keep_round "$SRTLA_CUT_FIGS" "$id"; fi
	done
	srtla_routes del
	return 0
}

# srtla_table [HEADING]: the peer's table, after bench/run's cellular one, or
# under HEADING for other links (EMU_ID's); nothing when it did not run there.
srtla_table() {
	local lat ran=
	for lat in $SRTLA_LATENCIES; do
		ran+=${SRTLA_TRIED[srtla $lat${EMU_ID:-}]:-}${ROUNDS_OF["SRTLA_CUT_RATE|srtla $lat${EMU_ID:-}"]:-}
		summarise_rounds "$SRTLA_FIGS" "srtla $lat${EMU_ID:-}" "$CELL_ROUNDS" "SRTLA_CUT_GAP SRTLA_CUT_AFTER SRTLA_CUT_LOST SRTLA_CUT_DROPS SRTLA_LAT_MAX SRTLA_CUT_LAT_MAX"
	done
	[ -n "$ran" ] || return 0
	if [ -n "${1:-}" ]; then
		echo "$1"
		echo
		echo "srtla $SRTLA_VERSION at fixed rates ($SRTLA_RATES) as on the emulated cellular uplinks; ${CELL_RUN} s runs."
		echo
		srtla_rows
		return 0
	fi
	echo "## srtla (BELABOX's SRT bonding) on the same emulated cellular uplinks"
	echo
	echo "srtla $SRTLA_VERSION (github.com/BELABOX/srtla, AGPL-3.0, built from SRTLA_SRC): mpstream's stamped test pattern"
	echo "at a fixed rate, passed on by ffmpeg (-c copy) as MPEG-TS over SRT to srtla_send, which spreads it over"
	echo "both uplinks' addresses; srtla_rec hands it to \`mpstream probe\`, the SRT listener (lossmaxttl 40). The"
	echo "links, traces and seeds of the table above. Steady: the rates $SRTLA_RATES upwards until something is lost"
	echo "(a frame missing or shown twice, or an SRT packet dropped too late: a damaged frame); the share is of the"
	echo "capacity while it was sent. Cut: up0 blackholed for good at ${CELL_CUT} s, at that highest rate. Latency: from"
	echo "the stamps (the sender's clock): the SRT latency is in it. \"Under 1 s for good\": the delay above its floor"
	echo "before the cut under 1 s in every later 1 s window, the rule of the table above. ${CELL_RUN} s runs;"
	echo "$CELL_ROUNDS round(s): medians, the worst beside."
	echo
	srtla_rows
}
srtla_rows() {
	local lat
	printf '| figure |'; for lat in $SRTLA_LATENCIES; do printf ' srtla, SRT latency %s ms |' "$lat"; done; echo
	printf '| --- |'; for lat in $SRTLA_LATENCIES; do printf ' --- |'; done; echo
	srtla_row() { # srtla_row LABEL ARRAY
		local -n a=$2
		printf '| %s |' "$1"
		for lat in $SRTLA_LATENCIES; do printf ' %s |' "${a[srtla $lat${EMU_ID:-}]:--}"; done
		echo
	}
	srtla_row "steady: highest fixed rate with nothing lost (kbit/s; 0: none of them)" SRTLA_BEST
	srtla_row "steady: its share of the capacity, %" SRTLA_SHARE
	srtla_row "steady: capacity while it ran, Mbit/s (both)" SRTLA_CAP
	srtla_row "steady: latency median, end to end (ms)" SRTLA_LAT
	srtla_row "steady: latency worst 1 s window, end to end (ms)" SRTLA_LAT_MAX
	srtla_row "cut: at the rate (kbit/s)" SRTLA_CUT_RATE
	srtla_row "cut: longest arrival gap, from the cut to 6 s after (ms)" SRTLA_CUT_GAP
	srtla_row "cut: frames lost (missing or shown twice)" SRTLA_CUT_LOST
	srtla_row "cut: SRT packets dropped too late (damaged frames)" SRTLA_CUT_DROPS
	srtla_row "cut: latency under 1 s above its floor for good after (s)" SRTLA_CUT_AFTER
	srtla_row "cut: latency worst 1 s window after, end to end (ms)" SRTLA_CUT_LAT_MAX
	srtla_row "cut: utilisation of what is left from 3 s after, %" SRTLA_CUT_UTIL
	echo
	for lat in $SRTLA_LATENCIES; do
		echo "Rates tried at SRT latency $lat ms (frames lost / SRT packets dropped):${SRTLA_TRIED[srtla $lat${EMU_ID:-}]:- none}."
	done
	echo
}

# Sourced: which tools the cellular part runs (srtla too by default once
# SRTLA_SRC is set), and srtla built when it is one of them (or of REC_TOOLS,
# for links set up by EMU_LINKS: srtla_cellular and srtla_table read EMU_LINKS,
# EMU_KEY, EMU_ID and UPLINKS when they are set).
if part cellular || { declare -F recorded_links >/dev/null && part recorded; }; then
	CELL_TOOLS=${CELL_TOOLS:-ffmpeg-mptcp mpstream${SRTLA_SRC:+ srtla}}
	if among srtla $CELL_TOOLS ${REC_TOOLS:-} || [ -z "${SRTLA_SRC:-}" ]; then srtla_build && SRTLA_OK=1 || true; fi
fi
