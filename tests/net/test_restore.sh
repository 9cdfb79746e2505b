#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# After mpstream ends (normally, on SIGINT, on SIGTERM) the rules, every
# routing table, the MPTCP endpoints and the limits are as they were; a
# user's own endpoint is kept; leftovers of a SIGKILLed run are removed by the
# next run.
. "$(dirname "$0")/common.sh"

lab_up 4mbit || { echo "FAIL: lab"; exit 1; }
# A limit below the uplink count, so that mpstream has to raise it and restore it;
# and an endpoint of the user's own for up1, which mpstream must leave alone.
lab_in_snd ip mptcp limits set subflows 0 add_addr_accepted 1
lab_in_snd ip mptcp endpoint add 10.2.0.2 dev up1 subflow id 7
lab_routing_state >"$LAB_DIR/before.txt"

run() { # run ARGS... : mpstream in the sender namespace, in the background
	# ip netns exec execs mpstream: $! is mpstream itself, and gets the signals.
	ip netns exec "$LAB_SND" "$MPSTREAM" --uplink "${UP0:-up0}" --uplink up1 "$@" "$URL" 2>>"$LAB_DIR/mpstream.log" &
	pid=$!
}
configured() { lab_in_snd ip rule show | grep -q "lookup 28000"; }
wait_configured() {
	local n
	for n in $(seq 1 100); do configured && return 0; sleep 0.1; done
	return 1
}
same_as_before() {
	lab_routing_state >"$LAB_DIR/after.txt"
	if diff -u "$LAB_DIR/before.txt" "$LAB_DIR/after.txt"; then pass "$1: routing state restored"; else fail "$1: routing state differs"; fi
}

# While it runs: tables, rules, endpoints, raised limit.
run --duration 4
wait_configured && pass "rules installed while streaming" || fail "no rule while streaming"
sleep 1
lab_in_snd ip route show table 28000 | grep -q 'default via 10.1.0.1 dev up0 proto 109' &&
	pass "table 28000 has the default route via up0" || fail "table 28000: $(lab_in_snd ip route show table 28000)"
lab_in_snd ip route show table 28001 | grep -q 'default via 10.2.0.1 dev up1' &&
	pass "table 28001 has the default route via up1" || fail "table 28001"
lab_in_snd ip rule show | grep -q 'from 10.2.0.2 lookup 28001 proto 109' &&
	pass "source rule for up1" || fail "rules: $(lab_in_snd ip rule show | tr '\n' ';')"
eps=$(lab_in_snd ip mptcp endpoint show)
echo "$eps" | grep -q '10.1.0.2 id 240 subflow dev up0' && pass "endpoint for up0" || fail "endpoints: $eps"
echo "$eps" | grep -q '10.2.0.2 id 7 subflow dev up1' && pass "user's endpoint for up1 kept" || fail "endpoints: $eps"
lab_in_snd ip mptcp limits show | grep -q 'add_addr_accepted 4 subflows 4' && pass "limits raised to 4 (an IPv4 and an IPv6 subflow per uplink, the server's addresses)" || fail "limits: $(lab_in_snd ip mptcp limits show)"
wait $pid; rc=$?
[ "$rc" = 0 ] && pass "normal end: exit 0" || fail "normal end: exit $rc"
same_as_before "normal end"

for sig in INT TERM; do
	run
	wait_configured && sleep 2
	kill -s $sig $pid
	wait $pid; rc=$?
	[ "$rc" = 0 ] && pass "SIG$sig: exit 0" || fail "SIG$sig: exit $rc"
	same_as_before "SIG$sig"
done

# SIGKILL leaves everything behind; the next run removes it, and its own end restores.
# The killed run's up0 has its own congestion control (a route metric, cubic: five
# letters, which libnl reads back as four): its routes must go too.
UP0=up0,cc=cubic run
wait_configured && sleep 1
kill -9 $pid; wait $pid 2>/dev/null
configured && pass "SIGKILL left its rules (as expected)" || fail "SIGKILL left nothing?"
lab_in_snd ip route show table 28000 | grep -q "congctl cubic" &&
	pass "SIGKILL left up0's routes with their congctl" || fail "no congctl on up0's routes"
run --duration 2
# Its rules are the killed run's until it has removed them: wait for its line.
for n in $(seq 1 100); do grep -q "left by an earlier run" "$LAB_DIR/mpstream.log" && break; sleep 0.1; done
left=$(lab_in_snd ip route show table 28000 | grep -c "congctl" || true)
[ "$left" = 0 ] && pass "the killed run's routes removed (none with a congctl)" ||
	fail "$left route(s) of the killed run left: $(lab_in_snd ip route show table 28000)"
wait $pid; rc=$?
[ "$rc" = 0 ] && pass "run after SIGKILL: exit 0" || fail "run after SIGKILL: exit $rc"
grep -q "left by an earlier run" "$LAB_DIR/mpstream.log" && pass "leftovers reported" || fail "leftovers not reported"
# The subflow limit the killed run raised is back too (it kept a note in /run).
same_as_before "after SIGKILL and a new run"
note="/run/mpstream/netns-$(lab_in_snd stat -L -c %i /proc/self/ns/net).limits"
[ ! -e "$note" ] && pass "no note of the limits left in /run/mpstream" || fail "$note left behind"

# An administrator who changes the limits during a run keeps them: only what
# mpstream set, and still holds its value, is put back.
run --duration 3
wait_configured
lab_in_snd ip mptcp limits set subflows 8 add_addr_accepted 8
wait $pid
lab_in_snd ip mptcp limits show | grep -q 'add_addr_accepted 8 subflows 8' &&
	pass "the administrator's limits kept: $(lab_in_snd ip mptcp limits show)" ||
	fail "limits clobbered: $(lab_in_snd ip mptcp limits show)"
lab_in_snd ip mptcp limits set subflows 0 add_addr_accepted 1

# An endpoint the administrator adds after a run gets an id of mpstream's
# range (the kernel's counter goes on from them): the next run keeps it.
lab_in_snd ip mptcp endpoint delete id 7
lab_in_snd ip mptcp endpoint add 10.2.0.2 dev up1 subflow
admin=$(lab_in_snd ip mptcp endpoint show | grep '^10.2.0.2 ')
echo "figure: the administrator's endpoint: $admin"
run --duration 2
wait $pid
lab_in_snd ip mptcp endpoint show | grep -q "^$admin" && pass "the administrator's endpoint kept" ||
	fail "the administrator's endpoint ($admin) removed: $(lab_in_snd ip mptcp endpoint show | tr '\n' ';')"
grep -q "left by an earlier run" <(tail -n 20 "$LAB_DIR/mpstream.log") && fail "a clean run's next start found leftovers"
lab_in_snd ip mptcp endpoint flush
lab_in_snd ip mptcp endpoint add 10.2.0.2 dev up1 subflow id 7

# Two at once in one namespace: the second refuses, and leaves the first alone.
run --duration 4
wait_configured
lab_in_snd "$MPSTREAM" --uplink up0 --uplink up1 --duration 1 "$URL" 2>"$LAB_DIR/second.log"
rc=$?
[ "$rc" = 69 ] && pass "second instance: exit 69" || fail "second instance: exit $rc"
configured && pass "first instance's rules untouched" || fail "second instance removed the first's rules"
wait $pid
check_no_key "$LAB_DIR/mpstream.log" "$LAB_DIR/second.log"
finish
