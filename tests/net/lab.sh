# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# The network lab shared by the netns tests, the demo and the benchmarks:
#
#   sender ns                 router ns (rp_filter=1)          server ns
#   up0 10.1.0.2/24 --------- r0 10.1.0.1
#   up1 10.2.0.2/24 --------- r1 10.2.0.1      rs 10.9.0.1 --- sv 10.9.0.2  nginx-rtmp :1935
#  [up2 10.3.0.2/24 --------- r2 10.3.0.1 ...  with LAB_UPLINKS=3 or more]
#
# Two uplinks unless LAB_UPLINKS says how many (2 to 8; uplink N is upN,
# 10.N+1.0.0/24; $LAB_N once the lab is up). The sender has a default route
# through each uplink (metric 100, 200, ...), as a host with DHCP uplinks
# does. Each uplink's rate is limited in the router, as a modem or the ISP's
# shaper would: an htb class per uplink (by source subnet) on the way to the
# server, with a 50 kB (100 ms at 4 Mbit/s) FIFO. A limit on the sender's
# own interfaces (LAB_SHAPE=sender: tbf there) drops packets inside the
# sender's stack, where TCP counts them as sent and retransmits in storms of
# megabytes that real uplinks do not show.
# rp_filter=1 in the router drops a packet that arrives on the wrong uplink
# for its source address, so a subflow only works if the sender's per-uplink
# routing is right. nginx with the rtmp module runs under `mptcpize run` and
# records every stream to $LAB_DIR/rec/KEY.flv.
#
# Source this file, then: lab_up [RATE]; ...; lab_down. Namespaces are named
# mps-<pid>-{snd,rtr,srv}; lab_up first removes those of dead processes, so a
# test killed with SIGKILL is cleaned up by the next one.

LAB_PREFIX="mps-$$"
# A network namespace does not keep the host's D-Bus out (its socket is a
# file): mpstream's modem watch would read the host's ModemManager, whose
# modems may have interfaces named as the lab's. The lab has no modems unless
# a test starts a stand-in ModemManager on a bus of its own and says where.
export DBUS_SYSTEM_BUS_ADDRESS=${LAB_DBUS_ADDRESS:-unix:path=/nonexistent/mpstream-lab-no-bus}
LAB_SND="$LAB_PREFIX-snd"
LAB_RTR="$LAB_PREFIX-rtr"
LAB_SRV="$LAB_PREFIX-srv"
LAB_SERVER_IP=10.9.0.2
LAB_DIR=""
LAB_OWNER="" # the process (the shell) that ran lab_up
LAB_NGINX_PID=""
LAB_N=2 # the uplinks of the lab (lab_up sets it from LAB_UPLINKS)

lab_log() { printf '[lab] %s\n' "$*" >&2; }

# Remove the namespaces of lab owners that no longer run.
lab_sweep_stale() {
	local ns pid
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^mps-[0-9]+-(snd|rtr|srv)$'); do
		pid=${ns#mps-}
		pid=${pid%%-*}
		if ! kill -0 "$pid" 2>/dev/null; then
			ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
			ip netns del "$ns" 2>/dev/null && lab_log "removed stale namespace $ns"
		fi
	done
	# Files a test gave a namespace (ip netns exec mounts /etc/netns/NAME/* over /etc).
	for ns in /etc/netns/mps-*; do
		[ -d "$ns" ] || continue
		pid=${ns#/etc/netns/mps-}
		pid=${pid%%-*}
		kill -0 "$pid" 2>/dev/null || rm -rf "$ns"
	done
}

lab_in_snd() { ip netns exec "$LAB_SND" "$@"; }
lab_in_rtr() { ip netns exec "$LAB_RTR" "$@"; }
lab_in_srv() { ip netns exec "$LAB_SRV" "$@"; }

# lab_up [RATE] : RATE is a tc rate for each uplink (default 4mbit); LAB_UPLINKS uplinks (2).
lab_up() {
	local rate=${1:-4mbit} i
	LAB_N=${LAB_UPLINKS:-2}
	[[ "$LAB_N" =~ ^[2-8]$ ]] || { lab_log "LAB_UPLINKS=$LAB_N: 2 to 8"; return 1; }
	lab_sweep_stale
	read -r LAB_OWNER _ </proc/self/stat
	LAB_DIR=$(mktemp -d /tmp/mpstream-lab.XXXXXX)
	mkdir -p "$LAB_DIR/rec"
	ip netns add "$LAB_SND" && ip netns add "$LAB_RTR" && ip netns add "$LAB_SRV" || return 1

	for i in $(seq 0 $((LAB_N - 1))); do
		ip link add "up$i" netns "$LAB_SND" type veth peer name "r$i" netns "$LAB_RTR" || return 1
		lab_in_snd ip addr add "10.$((i + 1)).0.2/24" dev "up$i"
		lab_in_rtr ip addr add "10.$((i + 1)).0.1/24" dev "r$i"
		lab_in_snd ip link set "up$i" up
		lab_in_rtr ip link set "r$i" up
		if [ "${LAB_SHAPE:-router}" = sender ]; then
			lab_in_snd tc qdisc add dev "up$i" root tbf rate "$rate" burst 6kb latency 100ms || return 1
		fi
	done
	ip link add rs netns "$LAB_RTR" type veth peer name sv netns "$LAB_SRV" || return 1
	lab_in_rtr ip addr add 10.9.0.1/24 dev rs
	lab_in_srv ip addr add "$LAB_SERVER_IP/24" dev sv
	lab_in_rtr ip link set rs up
	lab_in_srv ip link set sv up
	for ns in "$LAB_SND" "$LAB_RTR" "$LAB_SRV"; do
		ip netns exec "$ns" ip link set lo up
	done

	if [ "${LAB_SHAPE:-router}" = router ]; then
		lab_in_rtr tc qdisc add dev rs root handle 1: htb default 99 || return 1
		lab_in_rtr tc class add dev rs parent 1: classid 1:99 htb rate 10gbit quantum 60000
		for i in $(seq 0 $((LAB_N - 1))); do
			lab_in_rtr tc class add dev rs parent 1: classid "1:$((i + 1))" htb rate "$rate" ceil "$rate" burst 6k cburst 6k || return 1
			# About 100 ms of queue at 4 Mbit/s, like a modem's buffer.
			lab_in_rtr tc qdisc add dev rs parent "1:$((i + 1))" bfifo limit 50000
			lab_in_rtr tc filter add dev rs parent 1: protocol ip prio 1 u32 match ip src "10.$((i + 1)).0.0/24" flowid "1:$((i + 1))"
		done
	fi
	for i in $(seq 0 $((LAB_N - 1))); do
		lab_in_snd ip route add default via "10.$((i + 1)).0.1" dev "up$i" metric $((100 * (i + 1)))
	done
	lab_in_srv ip route add default via 10.9.0.1
	lab_in_rtr sysctl -qw net.ipv4.ip_forward=1
	lab_in_rtr sysctl -qw net.ipv4.conf.all.rp_filter=1
	for i in $(seq 0 $((LAB_N - 1))); do
		lab_in_rtr sysctl -qw "net.ipv4.conf.r$i.rp_filter=1"
	done
	lab_in_rtr sysctl -qw net.ipv4.conf.rs.rp_filter=1
	# The server accepts the joins of a client with several uplinks.
	lab_in_srv ip mptcp limits set subflows 8 add_addr_accepted 8
	# The table the tests cut links with.
	lab_in_rtr nft add table inet lab
	lab_in_rtr nft add chain inet lab cut '{ type filter hook forward priority 0; policy accept; }'
	lab_start_nginx
}

# lab_wait_listen snd|rtr|srv PORT [SECONDS]: whether a TCP socket listens on
# PORT in that namespace within SECONDS (10 unless told).
lab_wait_listen() {
	local n
	for n in $(seq 1 $((${3:-10} * 10))); do
		"lab_in_$1" ss -Hltn "sport = :$2" | grep -q . && return 0
		sleep 0.1
	done
	return 1
}

# lab_nginx_head MODULE NAME: how every nginx.conf of the lab begins (one
# worker in the foreground, the module loaded; $LAB_DIR/NAME.pid, NAME-error.log).
lab_nginx_head() {
	cat <<-CONF
		load_module /usr/lib/nginx/modules/ngx_$1_module.so;
		user root;
		worker_processes 1;
		daemon off;
		pid $LAB_DIR/$2.pid;
		error_log $LAB_DIR/$2-error.log info;
		events { worker_connections 128; }
	CONF
}

lab_start_nginx() {
	{
		lab_nginx_head rtmp nginx
		cat <<-CONF
		rtmp {
			server {
				listen ${LAB_NGINX_LISTEN:-1935};
				chunk_size 4096;
				application live {
					live on;
					drop_idle_publisher 5s;
					record all;
					record_path $LAB_DIR/rec;
					record_unique ${LAB_RECORD_UNIQUE:-off};
				}
			}
		}
		CONF
	} >"$LAB_DIR/nginx.conf"
	# LAB_NGINX_PLAIN=1: an ingest that does not speak MPTCP (what mpstream relay is for).
	if [ -n "${LAB_NGINX_PLAIN:-}" ]; then
		ip netns exec "$LAB_SRV" nginx -c "$LAB_DIR/nginx.conf" >"$LAB_DIR/nginx.out" 2>&1 &
	else
		ip netns exec "$LAB_SRV" mptcpize run nginx -c "$LAB_DIR/nginx.conf" \
			>"$LAB_DIR/nginx.out" 2>&1 &
	fi
	LAB_NGINX_PID=$!
	lab_wait_listen srv 1935 && return 0
	lab_log "nginx did not start:"
	cat "$LAB_DIR/nginx.out" "$LAB_DIR/nginx-error.log" >&2 2>/dev/null
	return 1
}

# lab_ipv6 "V4_UPLINKS" "V6_UPLINKS": IPv6 in the lab (ULA prefixes). The
# router and the server become dual-stack (fd00:9::1, fd00:9::2), nginx
# listens on both families, and the server announces its IPv6 address (an
# MPTCP "signal" endpoint): a connection begun over IPv4 gets IPv6 subflows
# too, as a dual-stack ingest must offer. Uplink N in V6_UPLINKS gets
# fd00:N+1::2/64 and a default route through the router's link-local address
# fe80::1 (what SLAAC gives a host); uplink N not in V4_UPLINKS loses its IPv4
# address (a carrier that hands out IPv6 only). The router shapes IPv6 like
# IPv4 (its uplink's htb class, by source prefix) and drops IPv6 from a source
# outside the uplink's prefix (an ISP's ingress filter, as rp_filter does for
# IPv4): a subflow works only if the sender's per-uplink IPv6 routing is right.
lab_ipv6() {
	local v4=" $1 " v6=" $2 " i n ns
	for ns in "$LAB_SND" "$LAB_RTR" "$LAB_SRV"; do
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
	done
	lab_in_rtr sysctl -qw net.ipv6.conf.all.forwarding=1
	lab_in_rtr ip addr add fd00:9::1/64 dev rs nodad
	lab_in_srv ip addr add fd00:9::2/64 dev sv nodad
	lab_in_srv ip -6 route add default via fd00:9::1
	lab_in_rtr nft add chain inet lab bcp38 '{ type filter hook forward priority -10; policy accept; }'
	for i in $(seq 0 $((LAB_N - 1))); do
		n=$((i + 1))
		lab_in_snd sysctl -qw "net.ipv6.conf.up$i.accept_dad=0"
		lab_in_rtr ip addr add "fd00:$n::1/64" dev "r$i" nodad
		lab_in_rtr ip addr add fe80::1/64 dev "r$i" nodad
		lab_in_rtr nft add rule inet lab bcp38 iifname "r$i" ip6 saddr != "fd00:$n::/64" drop
		if [ "${LAB_SHAPE:-router}" = router ]; then
			lab_in_rtr tc filter add dev rs parent 1: protocol ipv6 prio 2 u32 match ip6 src "fd00:$n::/64" flowid "1:$n" || return 1
		fi
		if [[ "$v6" == *" $i "* ]]; then
			lab_in_snd ip addr add "fd00:$n::2/64" dev "up$i" nodad
			lab_in_snd ip -6 route add default via fe80::1 dev "up$i" metric $((100 * n))
		fi
		[[ "$v4" == *" $i "* ]] || lab_in_snd ip -4 addr flush dev "up$i"
	done
	lab_in_srv ip mptcp endpoint add fd00:9::2 signal
	# The link-local addresses settle (no DAD) before the first neighbour solicitation.
	for i in $(seq 1 30); do
		[ -z "$(ip netns exec "$LAB_SND" ip -6 addr show tentative)$(lab_in_rtr ip -6 addr show tentative)" ] && break
		sleep 0.1
	done
	lab_kill_nginx
	LAB_NGINX_LISTEN="[::]:1935 ipv6only=off" lab_start_nginx
}

# lab_linkem N UP_SPEC DOWN_SPEC [OPTION...]: put uplink N through linkem, the
# link emulator (LINKEM: its path), in the router's namespace: the router's
# end of the uplink's veth becomes w$N (no address), a new veth pair x$N--r$N
# carries the router's address as before, and linkem joins w$N and x$N
# through a model of the link (see linkem --help for the SPECs: rate or
# trace, delay, jitter, loss, queue). Segmentation offloads are turned off
# where frames enter it. Its totals go to $LAB_DIR/linkem$N.out when it is
# stopped (lab_linkem_stop, lab_down, or lab_linkem again for other SPECs).
declare -a LAB_LINKEM_PID
lab_linkem() {
	local n=$1 up=$2 down=$3 net=$(($1 + 1)) i
	shift 3
	[ -x "${LINKEM:-}" ] || { lab_log "LINKEM is not set to linkem's path"; return 1; }
	lab_linkem_stop "$n"
	# Wired once; a second call only starts linkem again with other SPECs.
	if ! lab_in_rtr ip link show "w$n" >/dev/null 2>&1; then
		lab_in_rtr ip link set "r$n" down
		lab_in_rtr ip link set "r$n" name "w$n"
		lab_in_rtr ip addr flush dev "w$n"
		lab_in_rtr ip link add "x$n" type veth peer name "r$n"
		lab_in_rtr ip addr add "10.$net.0.1/24" dev "r$n"
		for i in "w$n" "x$n"; do
			lab_in_rtr sysctl -qw "net.ipv6.conf.$i.disable_ipv6=1"
		done
		for i in "w$n" "x$n" "r$n"; do
			lab_in_rtr ethtool -K "$i" tso off gso off gro off >/dev/null 2>&1
			lab_in_rtr ip link set "$i" up
		done
		lab_in_rtr ethtool -K rs tso off gso off gro off >/dev/null 2>&1
		lab_in_snd ethtool -K "up$n" tso off gso off gro off >/dev/null 2>&1
		lab_in_rtr sysctl -qw "net.ipv4.conf.r$n.rp_filter=1"
	fi
	ip netns exec "$LAB_RTR" "$LINKEM" --up "$up" --down "$down" "$@" "w$n" "x$n" \
		>"$LAB_DIR/linkem$n.out" 2>"$LAB_DIR/linkem$n.log" &
	LAB_LINKEM_PID[n]=$!
	for i in $(seq 1 50); do
		grep -q ready "$LAB_DIR/linkem$n.log" && return 0
		sleep 0.1
	done
	lab_log "linkem did not start: $(cat "$LAB_DIR/linkem$n.log")"
	return 1
}

# lab_linkem_stop N: stop uplink N's linkem (its totals in $LAB_DIR/linkem$N.out).
lab_linkem_stop() {
	[ -n "${LAB_LINKEM_PID[$1]:-}" ] || return 0
	kill -TERM "${LAB_LINKEM_PID[$1]}" 2>/dev/null || true
	wait "${LAB_LINKEM_PID[$1]}" 2>/dev/null || true
	LAB_LINKEM_PID[$1]=""
}

# Kill the server (every process of its namespace) and start it again.
lab_kill_nginx() {
	ip netns pids "$LAB_SRV" 2>/dev/null | xargs -r kill -9 2>/dev/null
	[ -n "$LAB_NGINX_PID" ] && wait "$LAB_NGINX_PID" 2>/dev/null
	LAB_NGINX_PID=""
}

# lab_cut N / lab_restore N : drop every packet of uplink N in the router.
lab_cut() {
	lab_in_rtr nft add rule inet lab cut iifname "r$1" drop comment "\"cut$1\"" &&
		lab_in_rtr nft add rule inet lab cut oifname "r$1" drop comment "\"cut$1\"" ||
		{ lab_log "cannot cut uplink $1"; return 1; }
}
lab_restore() { lab_nft_delete lab_in_rtr lab cut "cut$1"; }

# lab_nft_delete IN TABLE CHAIN COMMENT: delete the rules of inet TABLE's CHAIN
# commented COMMENT, in the namespace that IN (lab_in_snd, lab_in_rtr) runs in.
lab_nft_delete() {
	local h
	for h in $($1 nft -a list chain inet "$2" "$3" | awk -v c="\"$4\"" '$0 ~ c {print $NF}'); do
		$1 nft delete rule inet "$2" "$3" handle "$h"
	done
}

# lab_drop_out N / lab_undrop_out N : drop everything that leaves uplink N on
# the sender itself (its own firewall's output hook: `iptables -A OUTPUT -o
# upN -j DROP`, the seed's demonstration); what the server sends still arrives.
lab_drop_out() {
	lab_in_snd nft add table inet lab_out &&
		lab_in_snd nft add chain inet lab_out out '{ type filter hook output priority 0; policy accept; }' &&
		lab_in_snd nft add rule inet lab_out out oifname "up$1" drop comment "\"out$1\"" ||
		{ lab_log "cannot drop uplink $1's output"; return 1; }
}
lab_undrop_out() { lab_nft_delete lab_in_snd lab_out out "out$1"; }

# lab_rate N RATE: change uplink N's rate (a capacity step without loss).
lab_rate() {
	if [ "${LAB_SHAPE:-router}" = router ]; then
		lab_in_rtr tc class change dev rs parent 1: classid "1:$(($1 + 1))" htb rate "$2" ceil "$2" burst 6k cburst 6k
	else
		lab_in_snd tc qdisc change dev "up$1" root tbf rate "$2" burst 6kb latency 100ms
	fi
}

# lab_dropped_frames CSV: the frames mpstream dropped on purpose, in all, from
# its --stats CSV (the last total row's dropped_frames).
lab_dropped_frames() { awk -F, '$2 == "total" && $16 != "" { d = $16 } END { print d }' "$1"; }

# Bytes sent by the sender on uplink N so far.
lab_tx_bytes() { lab_in_snd cat "/sys/class/net/up$1/statistics/tx_bytes"; }

# The sender's routing state (both families), for before/after comparisons.
lab_routing_state() {
	lab_in_snd ip rule show
	lab_in_snd ip -6 rule show
	# Sorted: a link that went down and up gets its kernel routes back in another order.
	lab_in_snd ip route show table all | grep -v -e '^local ' -e '^broadcast ' -e ' table local ' | sort
	lab_in_snd ip -6 route show table all | grep -v -e '^local ' -e '^multicast ' -e '^anycast ' -e ' table local ' | sort
	lab_in_snd ip mptcp endpoint show
	lab_in_snd ip mptcp limits show
}

# lab_is_owner: whether this process is the shell that ran lab_up (or no lab
# is up). A child forked from it (a command started with & and signalled
# before its exec, or a subshell) runs the EXIT trap it inherited: the lab,
# and what its owner started, are not its own to take down. (Which process
# this is comes from /proc/self/stat, read by the shell itself: bash 5.2 gave
# such a child the parent's $BASHPID in a test's arguments.)
lab_is_owner() {
	local me
	read -r me _ </proc/self/stat
	[ -z "$LAB_OWNER" ] || [ "$LAB_OWNER" = "$me" ]
}

# lab_down: only in the shell that ran lab_up (lab_is_owner). Nothing in it
# may fail under a caller's `set -e` (bench/run): a linkem or an nginx that
# died before it would have ended the EXIT trap there, the lab left behind.
lab_down() {
	local ns i
	lab_is_owner || return 0
	for i in "${!LAB_LINKEM_PID[@]}"; do
		lab_linkem_stop "$i"
	done
	[ -z "$LAB_NGINX_PID" ] || kill "$LAB_NGINX_PID" 2>/dev/null || true
	for ns in "$LAB_SND" "$LAB_RTR" "$LAB_SRV"; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
		ip netns del "$ns" 2>/dev/null || true
		rm -rf "/etc/netns/$ns"
	done
	[ -z "$LAB_NGINX_PID" ] || wait "$LAB_NGINX_PID" 2>/dev/null || true
	LAB_NGINX_PID=""
	if [ -n "$LAB_DIR" ] && [ -z "${LAB_KEEP:-}" ]; then
		rm -rf "$LAB_DIR"
	fi
}

# Video timestamps of a recorded FLV, one per line, in seconds.
lab_video_times() {
	ffprobe -v error -select_streams v:0 -show_entries packet=pts_time -of csv=p=0 "$1" |
		grep -v '^$' | sort -n
}

# "frames duration_s max_gap_ms" of a recorded FLV's video.
lab_flv_summary() {
	lab_video_times "$1" | awk 'NR == 1 { first = $1 } { if (NR > 1 && ($1 - prev) * 1000 > gap) gap = ($1 - prev) * 1000; prev = $1; n++ }
		END { printf "%d %.3f %.0f\n", n, (n ? prev - first : 0), gap }'
}
