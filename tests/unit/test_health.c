// SPDX-License-Identifier: MIT
/* Uplink health on synthetic samples: an uplink blackholed, back, gone; backups. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <string.h>

#include "health.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static void subflow(struct conn_snapshot *s, uint32_t id, const char *local, uint32_t unacked,
		    uint32_t last_ack_ms, uint64_t retrans)
{
	struct conn_subflow *sf = &s->sf[s->n++];
	struct sockaddr_in *sin = (struct sockaddr_in *)&sf->local;

	memset(sf, 0, sizeof(*sf));
	sf->id = id;
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = inet_addr(local);
	sf->state = TCP_ESTABLISHED;
	sf->unacked = unacked;
	sf->last_ack_ms = last_ack_ms;
	sf->bytes_retrans = retrans;
	sf->rtt_us = 20000;
}

static void two_uplinks(struct fo_uplink ups[2], bool backup1)
{
	memset(ups, 0, 2 * sizeof(*ups));
	ups[0].link = (struct fo_link){.ifname = "up0", .installed = true, .link_up = true};
	mps_ip_parse(&ups[0].link.addr[0], "10.1.0.2");
	ups[1].link = (struct fo_link){
		.ifname = "up1", .installed = true, .link_up = true, .backup = backup1};
	mps_ip_parse(&ups[1].link.addr[0], "10.2.0.2");
}

static void test_blackhole_and_back(void **state)
{
	struct fo_health h;
	struct fo_uplink ups[2];
	struct conn_snapshot prev = {.mptcp = true}, cur = {.mptcp = true};
	int set_backup;

	two_uplinks(ups, false);
	fo_health_init(&h, ups, 2);
	subflow(&cur, 1, "10.1.0.2", 0, 5, 0);
	subflow(&cur, 2, "10.2.0.2", 0, 5, 0);
	set_backup = fo_health_update(&h, ups, ARRAY_SIZE(ups), &prev, &cur, 1000);
	assert_int_equal(ups[0].health.state, FO_UP);
	assert_int_equal(ups[1].health.state, FO_UP);
	assert_false(ups[0].act.changed || ups[0].act.probe);

	/* up0 blackholed: data outstanding, no ACK for 400 ms, then 1.2 s. */
	prev = cur;
	cur.n = 0;
	subflow(&cur, 1, "10.1.0.2", 10, 400, 0);
	subflow(&cur, 2, "10.2.0.2", 0, 5, 0);
	set_backup = fo_health_update(&h, ups, ARRAY_SIZE(ups), &prev, &cur, 1400);
	assert_int_equal(ups[0].health.state, FO_DEGRADED);
	assert_true(ups[0].act.changed);
	prev = cur;
	cur.n = 0;
	subflow(&cur, 1, "10.1.0.2", 10, 1200, 1448);
	subflow(&cur, 2, "10.2.0.2", 0, 5, 0);
	set_backup = fo_health_update(&h, ups, ARRAY_SIZE(ups), &prev, &cur, 2200);
	assert_int_equal(ups[0].health.state, FO_DOWN);
	assert_string_equal(ups[0].health.reason, "no ACK for 1200 ms");
	assert_true(ups[0].act.probe); /* find out when it is back */
	assert_false(ups[1].act.probe);
	assert_int_equal(set_backup, -1); /* no backups */

	/* A fresh subflow on up0 (the probe got through, the uplink was kicked). */
	prev = cur;
	cur.n = 0;
	subflow(&cur, 3, "10.1.0.2", 0, 10, 0);
	subflow(&cur, 2, "10.2.0.2", 0, 5, 0);
	set_backup = fo_health_update(&h, ups, ARRAY_SIZE(ups), &prev, &cur, 3000);
	assert_int_equal(ups[0].health.state, FO_UP);
	assert_false(ups[0].act.probe);
}

static void test_degraded_hysteresis(void **state)
{
	struct fo_health h;
	struct fo_uplink ups[2];
	struct conn_snapshot prev = {.mptcp = true}, cur = {.mptcp = true};

	two_uplinks(ups, false);
	fo_health_init(&h, ups, 2);
	subflow(&prev, 1, "10.1.0.2", 0, 5, 0);
	subflow(&cur, 1, "10.1.0.2", 0, 5, 1448); /* one segment again */
	fo_health_update(&h, ups, ARRAY_SIZE(ups), &prev, &cur, 1000);
	assert_int_equal(ups[0].health.state, FO_DEGRADED);
	prev = cur;
	fo_health_update(&h, ups, ARRAY_SIZE(ups), &prev, &cur,
			 1500); /* clean, but within the hold */
	assert_int_equal(ups[0].health.state, FO_DEGRADED);
	fo_health_update(&h, ups, ARRAY_SIZE(ups), &prev, &cur, 2100);
	assert_int_equal(ups[0].health.state, FO_UP);
}

static void test_link_and_subflow_loss(void **state)
{
	struct fo_health h;
	struct fo_uplink ups[2];
	struct conn_snapshot prev = {.mptcp = true}, cur = {.mptcp = true};

	two_uplinks(ups, false);
	fo_health_init(&h, ups, 2);
	subflow(&cur, 1, "10.1.0.2", 0, 5, 0);
	/* up1 has no subflow: a grace period first, then down. */
	fo_health_update(&h, ups, ARRAY_SIZE(ups), &prev, &cur, 1000);
	assert_int_equal(ups[1].health.state, FO_UP);
	fo_health_update(&h, ups, ARRAY_SIZE(ups), &prev, &cur, 1000 + FO_HEALTH_GRACE_MS);
	assert_int_equal(ups[1].health.state, FO_DOWN);
	assert_string_equal(ups[1].health.reason, "no subflow");
	assert_true(ups[1].act.probe);

	ups[0].link.link_up = false;
	fo_health_update(&h, ups, ARRAY_SIZE(ups), &prev, &cur, 3000);
	assert_int_equal(ups[0].health.state, FO_DOWN);
	assert_string_equal(ups[0].health.reason, "link down");
	assert_false(ups[0].act.probe); /* the link events bring it back */
	/* Its subflow is still there: released at once, not after a silence. */
	assert_true(ups[0].act.release);
	assert_true(ups[0].health.released);
	fo_health_update(&h, ups, ARRAY_SIZE(ups), &prev, &cur, 3100);
	assert_false(ups[0].act.release); /* once */

	/* No connection: nothing to judge, nothing to probe. */
	ups[0].link.link_up = true;
	fo_health_update(&h, ups, ARRAY_SIZE(ups), &prev, NULL, 4000);
	assert_false(ups[1].act.probe);
}

/* A link down without subflows, out of use, or plain TCP: nothing to release. */
static void test_link_down_release(void **state)
{
	struct fo_health h;
	struct fo_uplink ups[2];
	struct conn_snapshot prev = {.mptcp = true}, cur = {.mptcp = true};

	two_uplinks(ups, false);
	fo_health_init(&h, ups, 2);
	subflow(&cur, 1, "10.1.0.2", 0, 5, 0);
	ups[1].link.link_up = false; /* no subflow of its own */
	fo_health_update(&h, ups, ARRAY_SIZE(ups), &prev, &cur, 1000);
	assert_false(ups[1].act.release);
	ups[0].link.link_up = false;
	ups[0].link.disabled = true; /* the operator took it out: closed already */
	fo_health_update(&h, ups, ARRAY_SIZE(ups), &prev, &cur, 1100);
	assert_false(ups[0].act.release);
	assert_string_equal(fo_health_name(&ups[0]), "off");
	ups[0].link.disabled = false;
	cur.mptcp = false;
	fo_health_update(&h, ups, ARRAY_SIZE(ups), &prev, &cur, 1200);
	assert_false(ups[0].act.release);
	cur.mptcp = true;
	fo_health_update(&h, ups, ARRAY_SIZE(ups), &prev, &cur, 1300);
	assert_true(ups[0].act.release);
	/* Back up, and a fresh subflow that works: released no more, ready for the next time. */
	ups[0].link.link_up = true;
	prev = cur;
	cur.n = 0;
	subflow(&cur, 3, "10.1.0.2", 0, 5, 0);
	fo_health_update(&h, ups, ARRAY_SIZE(ups), &prev, &cur, 2000);
	assert_int_equal(ups[0].health.state, FO_UP);
	assert_false(ups[0].health.released);
	ups[0].link.link_up = false;
	fo_health_update(&h, ups, ARRAY_SIZE(ups), &prev, &cur, 2100);
	assert_true(ups[0].act.release);
}

static void test_backup_promotion(void **state)
{
	struct fo_health h;
	struct fo_uplink ups[2];
	struct conn_snapshot prev = {.mptcp = true}, cur = {.mptcp = true};
	int set_backup;

	two_uplinks(ups, true);
	fo_health_init(&h, ups, 2);
	subflow(&cur, 1, "10.1.0.2", 0, 5, 0);
	subflow(&cur, 2, "10.2.0.2", 0, 5, 0);
	set_backup = fo_health_update(&h, ups, ARRAY_SIZE(ups), &prev, &cur, 1000);
	assert_int_equal(set_backup, -1);

	cur.n = 0;
	subflow(&cur, 1, "10.1.0.2", 5, 1500, 0);
	subflow(&cur, 2, "10.2.0.2", 0, 5, 0);
	set_backup = fo_health_update(&h, ups, ARRAY_SIZE(ups), &prev, &cur, 2000);
	assert_int_equal(ups[0].health.state, FO_DOWN);
	assert_int_equal(set_backup, 0); /* the backup becomes a regular path */
	set_backup = fo_health_update(&h, ups, ARRAY_SIZE(ups), &prev, &cur, 2100);
	assert_int_equal(set_backup, -1); /* once */

	cur.n = 0;
	subflow(&cur, 3, "10.1.0.2", 0, 5, 0);
	subflow(&cur, 2, "10.2.0.2", 0, 5, 0);
	set_backup = fo_health_update(&h, ups, ARRAY_SIZE(ups), &prev, &cur, 3000);
	assert_int_equal(set_backup, 1); /* up0 works again: back to backup */
}

/*
 * One tick: up0 silent for @silence0 ms with data in flight, up1 @state1 (0
 * idle, 1 acking, 2 silent too); the oldest unacknowledged data @age ms old.
 */
static void block_tick(struct fo_health *h, struct fo_uplink *ups, struct conn_snapshot *prev,
		       struct conn_snapshot *cur, int64_t t, uint32_t silence0, int state1, int age)
{
	*prev = *cur;
	cur->n = 0;
	subflow(cur, 1, "10.1.0.2", silence0 ? 40000 : 0, silence0 ? silence0 : 5, 0);
	subflow(cur, 2, "10.2.0.2", state1 ? 60000 : 0, state1 == 2 ? silence0 : 5, 0);
	h->data_age_ms = age;
	fo_health_update(h, ups, 2, prev, cur, t);
}

/*
 * A dead path whose data the others wait for is released (its subflows
 * closed, so that the kernel sends its data on the others at once): once,
 * only while the oldest data waits (the kernel did not send it again on its
 * own), and only when another uplink works.
 */
/*
 * An IPv6-only uplink on a connection opened to the server's IPv4 address:
 * its subflow goes to an address the server announced, which the kernel
 * never opens again once closed. Dead, it is neither released nor probed
 * (TCP's own retransmission brings it back); the same uplink on a
 * connection opened over IPv6 is.
 */
static void test_cross_family_never_closed(void **state)
{
	struct fo_health h;
	struct fo_uplink ups[2];
	struct conn_snapshot prev = {.mptcp = true, .peer_family = AF_INET},
			     cur = {.mptcp = true, .peer_family = AF_INET};
	struct sockaddr_in6 *sin6;

	(void)state;
	two_uplinks(ups, false);
	memset(&ups[0].link.addr[0], 0, sizeof(ups[0].link.addr[0]));
	mps_ip_parse(&ups[0].link.addr[1], "fd00:1::2");
	for (int round = 0; round < 2; round++) {
		fo_health_init(&h, ups, 2);
		for (int64_t t = 1000; t <= 2000; t += 100) {
			prev = cur;
			cur.n = 0;
			subflow(&cur, 1, "10.2.0.2", 0, 5, 0);
			subflow(&cur, 2, "0.0.0.0", 40000, (uint32_t)(t - 900), 0);
			sin6 = (struct sockaddr_in6 *)&cur.sf[1].local;
			memset(sin6, 0, sizeof(*sin6));
			sin6->sin6_family = AF_INET6;
			inet_pton(AF_INET6, "fd00:1::2", &sin6->sin6_addr);
			h.data_age_ms = (int)(t - 900);
			fo_health_update(&h, ups, 2, &prev, &cur, t);
			if (round == 0)
				assert_false(ups[0].act.release || ups[0].act.probe);
		}
		assert_int_equal(ups[0].health.state, FO_DOWN);
		if (round == 1)
			assert_true(ups[0].act.probe || ups[0].health.released);
		/* The same, on a connection opened to the server's IPv6 address. */
		prev.peer_family = cur.peer_family = AF_INET6;
	}
}

static void test_dead_path_released(void **state)
{
	struct fo_health h;
	struct fo_uplink ups[2];
	struct conn_snapshot prev = {.mptcp = true}, cur = {.mptcp = true};

	two_uplinks(ups, false);
	fo_health_init(&h, ups, 2);
	block_tick(&h, ups, &prev, &cur, 1000, 0, 1, 100);
	block_tick(&h, ups, &prev, &cur, 1300, 300, 1, 400);
	assert_false(ups[0].act.release);
	block_tick(&h, ups, &prev, &cur, 1700, 700, 1, 450);
	assert_false(ups[0].act.release); /* the oldest data waited 450 ms only */
	block_tick(&h, ups, &prev, &cur, 1800, 800, 1, 800);
	assert_true(ups[0].act.release);
	assert_false(ups[1].act.release);
	assert_int_equal(ups[0].health.state, FO_DOWN);
	assert_true(ups[0].act.changed);
	assert_string_equal(ups[0].health.reason,
			    "no ACK for 800 ms, the others wait for its data");
	block_tick(&h, ups, &prev, &cur, 1900, 900, 1, 900);
	assert_false(ups[0].act.release); /* once */
	assert_int_equal(ups[0].health.state, FO_DOWN);
	assert_true(ups[0].act.probe); /* and probed until its path answers */

	/* Back (a fresh subflow), then dead again with the living path idle: released again. */
	block_tick(&h, ups, &prev, &cur, 5000, 0, 1, 100);
	assert_int_equal(ups[0].health.state, FO_UP);
	block_tick(&h, ups, &prev, &cur, 5100, 100, 1, 200);
	block_tick(&h, ups, &prev, &cur, 5700, 700, 0, 700);
	assert_true(ups[0].act.release);

	/* The kernel sent the dead path's data again on its own: nothing to release. */
	fo_health_init(&h, ups, 2);
	cur.n = 0;
	for (int64_t t = 1000; t <= 3000; t += 100)
		block_tick(&h, ups, &prev, &cur, t, (uint32_t)(t - 900), 1, 200);
	assert_false(ups[0].act.release);
	assert_int_equal(ups[0].health.state, FO_DOWN); /* dead all the same */

	/* Both silent: no other uplink works, nothing is gained by closing either. */
	fo_health_init(&h, ups, 2);
	for (int64_t t = 1000; t <= 3000; t += 100)
		block_tick(&h, ups, &prev, &cur, t, (uint32_t)(t - 900), 2, (int)(t - 900));
	assert_false(ups[0].act.release || ups[1].act.release);
}

/*
 * One tick of two primary uplinks: up0 carries @acked0 bytes at @rtt0 ms,
 * up1 @acked1 at @rtt1 (cumulative counters), up0 dead when @up0_dead.
 */
static void speed_tick(struct fo_health *h, struct fo_uplink *ups, struct conn_snapshot *prev,
		       struct conn_snapshot *cur, int64_t now, uint32_t rtt0, uint32_t rtt1,
		       uint64_t *acked0, uint64_t *acked1, bool up0_dead)
{
	*prev = *cur;
	cur->n = 0;
	if (up0_dead) {
		subflow(cur, 1, "10.1.0.2", 10, 1500, 0);
	} else {
		*acked0 += 40000;
		subflow(cur, 1, "10.1.0.2", 0, 5, 0);
	}
	cur->sf[0].rtt_us = rtt0 * 1000;
	cur->sf[0].bytes_acked = *acked0;
	*acked1 += 10000;
	subflow(cur, 2, "10.2.0.2", 0, 5, 0);
	cur->sf[1].rtt_us = rtt1 * 1000;
	cur->sf[1].bytes_acked = *acked1;
	fo_health_update(h, ups, 2, prev, cur, now);
}

/*
 * A slow path (400 ms against 20 ms, a fifth of the other's rate) is made a
 * backup after a second of it; a primary again after its time, or at once
 * when the other uplink dies. The path that carries more, however high its
 * RTT, or a path with an RTT only a little above the other's, is left alone.
 */
static void test_slow_path_benched(void **state)
{
	struct fo_health h;
	struct fo_uplink ups[2];
	struct conn_snapshot prev = {.mptcp = true}, cur = {.mptcp = true};
	uint64_t a0 = 0, a1 = 0;
	int64_t t = 1000, benched_at = -1;

	(void)state;
	two_uplinks(ups, false);
	fo_health_init(&h, ups, 2);
	/* 5 s with both fine, then up1's RTT at 400 ms. */
	for (; t < 6000; t += 100) {
		speed_tick(&h, ups, &prev, &cur, t, 20, 30, &a0, &a1, false);
		assert_int_equal(ups[1].act.bench, -1);
	}
	for (; t < 9000 && benched_at < 0; t += 100) {
		speed_tick(&h, ups, &prev, &cur, t, 20, 400, &a0, &a1, false);
		assert_int_equal(ups[0].act.bench, -1);
		if (ups[1].act.bench == 1)
			benched_at = t;
	}
	print_message("benched %lld ms after it got slow: %s\n", (long long)(benched_at - 6000),
		      ups[1].act.bench_why);
	assert_in_range(benched_at, 6800, 7200);
	assert_string_equal(fo_health_name(&ups[1]), "slow");
	assert_string_equal(fo_health_name(&ups[0]), "up");
	/* Its subflow closed on purpose: not down, not probed. */
	for (int k = 0; k < 30; k++) {
		prev = cur;
		cur.n = 0;
		a0 += 40000;
		subflow(&cur, 1, "10.1.0.2", 0, 5, 0);
		cur.sf[0].rtt_us = 20000;
		cur.sf[0].bytes_acked = a0;
		t += 100;
		fo_health_update(&h, ups, ARRAY_SIZE(ups), &prev, &cur, t);
		assert_int_not_equal(ups[1].health.state, FO_DOWN);
		assert_false(ups[1].act.probe);
		assert_int_equal(ups[1].act.bench, -1);
	}
	/* Benched: nothing more while its time runs. */
	for (; t < benched_at + FO_HEALTH_BENCH_MS; t += 100) {
		speed_tick(&h, ups, &prev, &cur, t, 20, 400, &a0, &a1, false);
		assert_int_equal(ups[1].act.bench, -1);
	}
	speed_tick(&h, ups, &prev, &cur, t, 20, 400, &a0, &a1, false);
	assert_int_equal(ups[1].act.bench, 0); /* tried again */
	/* Still slow: benched again, for twice as long; up0 dies: a primary at once. */
	for (int k = 0; k < 20 && ups[1].act.bench != 1; k++) {
		t += 100;
		speed_tick(&h, ups, &prev, &cur, t, 20, 400, &a0, &a1, false);
	}
	assert_int_equal(ups[1].act.bench, 1);
	assert_true(ups[1].health.benched_until_ms - t == 2 * FO_HEALTH_BENCH_MS);
	for (int k = 0; k < 20 && ups[1].act.bench != 0; k++) {
		t += 100;
		speed_tick(&h, ups, &prev, &cur, t, 20, 400, &a0, &a1, true);
	}
	assert_int_equal(ups[0].health.state, FO_DOWN);
	assert_int_equal(ups[1].act.bench, 0);
	assert_false(ups[1].health.benched);

	/* A high RTT on the path that carries most, or one not far above: left alone. */
	fo_health_init(&h, ups, 2);
	memset(&cur, 0, sizeof(cur));
	cur.mptcp = true;
	a0 = a1 = 0;
	for (t = 1000; t < 10000; t += 100) {
		speed_tick(&h, ups, &prev, &cur, t, 400, 20, &a0, &a1, false);
		assert_int_equal(ups[0].act.bench, -1);
	}
	for (; t < 20000; t += 100) {
		speed_tick(&h, ups, &prev, &cur, t, 20, 200, &a0, &a1, false);
		assert_int_equal(ups[1].act.bench, -1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blackhole_and_back),
		cmocka_unit_test(test_degraded_hysteresis),
		cmocka_unit_test(test_link_and_subflow_loss),
		cmocka_unit_test(test_link_down_release),
		cmocka_unit_test(test_backup_promotion),
		cmocka_unit_test(test_slow_path_benched),
		cmocka_unit_test(test_dead_path_released),
		cmocka_unit_test(test_cross_family_never_closed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
