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

static void subflow(struct snd_stats_snapshot *s, uint32_t id, const char *local, uint32_t unacked,
		    uint32_t last_ack_ms, uint64_t retrans)
{
	struct snd_subflow_sample *sf = &s->sf[s->n++];
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

static void two_uplinks(struct snd_health_uplink ups[2], bool backup1)
{
	memset(ups, 0, 2 * sizeof(*ups));
	ups[0] = (struct snd_health_uplink){.installed = true, .link_up = true};
	ups[0].addr.s_addr = inet_addr("10.1.0.2");
	ups[1] = (struct snd_health_uplink){.installed = true, .link_up = true, .backup = backup1};
	ups[1].addr.s_addr = inet_addr("10.2.0.2");
}

static void test_blackhole_and_back(void **state)
{
	struct snd_health h;
	struct snd_health_uplink ups[2];
	struct snd_stats_snapshot prev = {.mptcp = true}, cur = {.mptcp = true};
	struct snd_health_actions act;

	two_uplinks(ups, false);
	snd_health_init(&h, 2);
	subflow(&cur, 1, "10.1.0.2", 0, 5, 0);
	subflow(&cur, 2, "10.2.0.2", 0, 5, 0);
	snd_health_update(&h, ups, &prev, &cur, 1000, &act);
	assert_int_equal(h.state[0], SND_UPLINK_UP);
	assert_int_equal(h.state[1], SND_UPLINK_UP);
	assert_false(act.changed[0] || act.probe[0]);

	/* up0 blackholed: data outstanding, no ACK for 400 ms, then 1.2 s. */
	prev = cur;
	cur.n = 0;
	subflow(&cur, 1, "10.1.0.2", 10, 400, 0);
	subflow(&cur, 2, "10.2.0.2", 0, 5, 0);
	snd_health_update(&h, ups, &prev, &cur, 1400, &act);
	assert_int_equal(h.state[0], SND_UPLINK_DEGRADED);
	assert_true(act.changed[0]);
	prev = cur;
	cur.n = 0;
	subflow(&cur, 1, "10.1.0.2", 10, 1200, 1448);
	subflow(&cur, 2, "10.2.0.2", 0, 5, 0);
	snd_health_update(&h, ups, &prev, &cur, 2200, &act);
	assert_int_equal(h.state[0], SND_UPLINK_DOWN);
	assert_string_equal(h.reason[0], "no ACK for 1200 ms");
	assert_true(act.probe[0]); /* find out when it is back */
	assert_false(act.probe[1]);
	assert_int_equal(act.set_backup, -1); /* no backups */

	/* A fresh subflow on up0 (the probe got through, the uplink was kicked). */
	prev = cur;
	cur.n = 0;
	subflow(&cur, 3, "10.1.0.2", 0, 10, 0);
	subflow(&cur, 2, "10.2.0.2", 0, 5, 0);
	snd_health_update(&h, ups, &prev, &cur, 3000, &act);
	assert_int_equal(h.state[0], SND_UPLINK_UP);
	assert_false(act.probe[0]);
}

static void test_degraded_hysteresis(void **state)
{
	struct snd_health h;
	struct snd_health_uplink ups[2];
	struct snd_stats_snapshot prev = {.mptcp = true}, cur = {.mptcp = true};
	struct snd_health_actions act;

	two_uplinks(ups, false);
	snd_health_init(&h, 2);
	subflow(&prev, 1, "10.1.0.2", 0, 5, 0);
	subflow(&cur, 1, "10.1.0.2", 0, 5, 1448); /* one segment again */
	snd_health_update(&h, ups, &prev, &cur, 1000, &act);
	assert_int_equal(h.state[0], SND_UPLINK_DEGRADED);
	prev = cur;
	snd_health_update(&h, ups, &prev, &cur, 1500, &act); /* clean, but within the hold */
	assert_int_equal(h.state[0], SND_UPLINK_DEGRADED);
	snd_health_update(&h, ups, &prev, &cur, 2100, &act);
	assert_int_equal(h.state[0], SND_UPLINK_UP);
}

static void test_link_and_subflow_loss(void **state)
{
	struct snd_health h;
	struct snd_health_uplink ups[2];
	struct snd_stats_snapshot prev = {.mptcp = true}, cur = {.mptcp = true};
	struct snd_health_actions act;

	two_uplinks(ups, false);
	snd_health_init(&h, 2);
	subflow(&cur, 1, "10.1.0.2", 0, 5, 0);
	/* up1 has no subflow: a grace period first, then down. */
	snd_health_update(&h, ups, &prev, &cur, 1000, &act);
	assert_int_equal(h.state[1], SND_UPLINK_UP);
	snd_health_update(&h, ups, &prev, &cur, 1000 + SND_HEALTH_GRACE_MS, &act);
	assert_int_equal(h.state[1], SND_UPLINK_DOWN);
	assert_string_equal(h.reason[1], "no subflow");
	assert_true(act.probe[1]);

	ups[0].link_up = false;
	snd_health_update(&h, ups, &prev, &cur, 3000, &act);
	assert_int_equal(h.state[0], SND_UPLINK_DOWN);
	assert_string_equal(h.reason[0], "link down");
	assert_false(act.probe[0]); /* the link events bring it back */

	/* No connection: nothing to judge, nothing to probe. */
	ups[0].link_up = true;
	snd_health_update(&h, ups, &prev, NULL, 4000, &act);
	assert_false(act.probe[1]);
}

static void test_backup_promotion(void **state)
{
	struct snd_health h;
	struct snd_health_uplink ups[2];
	struct snd_stats_snapshot prev = {.mptcp = true}, cur = {.mptcp = true};
	struct snd_health_actions act;

	two_uplinks(ups, true);
	snd_health_init(&h, 2);
	subflow(&cur, 1, "10.1.0.2", 0, 5, 0);
	subflow(&cur, 2, "10.2.0.2", 0, 5, 0);
	snd_health_update(&h, ups, &prev, &cur, 1000, &act);
	assert_int_equal(act.set_backup, -1);

	cur.n = 0;
	subflow(&cur, 1, "10.1.0.2", 5, 1500, 0);
	subflow(&cur, 2, "10.2.0.2", 0, 5, 0);
	snd_health_update(&h, ups, &prev, &cur, 2000, &act);
	assert_int_equal(h.state[0], SND_UPLINK_DOWN);
	assert_int_equal(act.set_backup, 0); /* the backup becomes a regular path */
	snd_health_update(&h, ups, &prev, &cur, 2100, &act);
	assert_int_equal(act.set_backup, -1); /* once */

	cur.n = 0;
	subflow(&cur, 3, "10.1.0.2", 0, 5, 0);
	subflow(&cur, 2, "10.2.0.2", 0, 5, 0);
	snd_health_update(&h, ups, &prev, &cur, 3000, &act);
	assert_int_equal(act.set_backup, 1); /* up0 works again: back to backup */
}

/*
 * One tick: up0 silent for @silence0 ms with data in flight, up1 @state1 (0
 * idle, 1 acking, 2 silent too); the oldest unacknowledged data @age ms old.
 */
static void block_tick(struct snd_health *h, const struct snd_health_uplink *ups,
		       struct snd_stats_snapshot *prev, struct snd_stats_snapshot *cur,
		       struct snd_health_actions *act, int64_t t, uint32_t silence0, int state1,
		       int age)
{
	*prev = *cur;
	cur->n = 0;
	subflow(cur, 1, "10.1.0.2", silence0 ? 40000 : 0, silence0 ? silence0 : 5, 0);
	subflow(cur, 2, "10.2.0.2", state1 ? 60000 : 0, state1 == 2 ? silence0 : 5, 0);
	h->data_age_ms = age;
	snd_health_update(h, ups, prev, cur, t, act);
}

/*
 * A dead path whose data the others wait for is released (its subflows
 * closed, so that the kernel sends its data on the others at once): once,
 * only while the oldest data waits (the kernel did not send it again on its
 * own), and only when another uplink works.
 */
static void test_dead_path_released(void **state)
{
	struct snd_health h;
	struct snd_health_uplink ups[2];
	struct snd_stats_snapshot prev = {.mptcp = true}, cur = {.mptcp = true};
	struct snd_health_actions act;

	two_uplinks(ups, false);
	snd_health_init(&h, 2);
	block_tick(&h, ups, &prev, &cur, &act, 1000, 0, 1, 100);
	block_tick(&h, ups, &prev, &cur, &act, 1300, 300, 1, 400);
	assert_false(act.release[0]);
	block_tick(&h, ups, &prev, &cur, &act, 1700, 700, 1, 450);
	assert_false(act.release[0]); /* the oldest data waited 450 ms only */
	block_tick(&h, ups, &prev, &cur, &act, 1800, 800, 1, 800);
	assert_true(act.release[0]);
	assert_false(act.release[1]);
	assert_int_equal(h.state[0], SND_UPLINK_DOWN);
	assert_true(act.changed[0]);
	assert_string_equal(h.reason[0], "no ACK for 800 ms, the others wait for its data");
	block_tick(&h, ups, &prev, &cur, &act, 1900, 900, 1, 900);
	assert_false(act.release[0]); /* once */
	assert_int_equal(h.state[0], SND_UPLINK_DOWN);
	assert_true(act.probe[0]); /* and probed until its path answers */

	/* Back (a fresh subflow), then dead again with the living path idle: released again. */
	block_tick(&h, ups, &prev, &cur, &act, 5000, 0, 1, 100);
	assert_int_equal(h.state[0], SND_UPLINK_UP);
	block_tick(&h, ups, &prev, &cur, &act, 5100, 100, 1, 200);
	block_tick(&h, ups, &prev, &cur, &act, 5700, 700, 0, 700);
	assert_true(act.release[0]);

	/* The kernel sent the dead path's data again on its own: nothing to release. */
	snd_health_init(&h, 2);
	cur.n = 0;
	for (int64_t t = 1000; t <= 3000; t += 100)
		block_tick(&h, ups, &prev, &cur, &act, t, (uint32_t)(t - 900), 1, 200);
	assert_false(act.release[0]);
	assert_int_equal(h.state[0], SND_UPLINK_DOWN); /* dead all the same */

	/* Both silent: no other uplink works, nothing is gained by closing either. */
	snd_health_init(&h, 2);
	for (int64_t t = 1000; t <= 3000; t += 100)
		block_tick(&h, ups, &prev, &cur, &act, t, (uint32_t)(t - 900), 2, (int)(t - 900));
	assert_false(act.release[0] || act.release[1]);
}

/*
 * One tick of two primary uplinks: up0 carries @acked0 bytes at @rtt0 ms,
 * up1 @acked1 at @rtt1 (cumulative counters), up0 dead when @up0_dead.
 */
static void speed_tick(struct snd_health *h, const struct snd_health_uplink *ups,
		       struct snd_stats_snapshot *prev, struct snd_stats_snapshot *cur,
		       struct snd_health_actions *act, int64_t now, uint32_t rtt0, uint32_t rtt1,
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
	snd_health_update(h, ups, prev, cur, now, act);
}

/*
 * A slow path (400 ms against 20 ms, a fifth of the other's rate) is made a
 * backup after a second of it; a primary again after its time, or at once
 * when the other uplink dies. The path that carries more, however high its
 * RTT, or a path with an RTT only a little above the other's, is left alone.
 */
static void test_slow_path_benched(void **state)
{
	struct snd_health h;
	struct snd_health_uplink ups[2];
	struct snd_stats_snapshot prev = {.mptcp = true}, cur = {.mptcp = true};
	struct snd_health_actions act;
	uint64_t a0 = 0, a1 = 0;
	int64_t t = 1000, benched_at = -1;

	(void)state;
	two_uplinks(ups, false);
	snd_health_init(&h, 2);
	/* 5 s with both fine, then up1's RTT at 400 ms. */
	for (; t < 6000; t += 100) {
		speed_tick(&h, ups, &prev, &cur, &act, t, 20, 30, &a0, &a1, false);
		assert_int_equal(act.bench[1], -1);
	}
	for (; t < 9000 && benched_at < 0; t += 100) {
		speed_tick(&h, ups, &prev, &cur, &act, t, 20, 400, &a0, &a1, false);
		assert_int_equal(act.bench[0], -1);
		if (act.bench[1] == 1)
			benched_at = t;
	}
	print_message("benched %lld ms after it got slow: %s\n", (long long)(benched_at - 6000),
		      act.bench_why[1]);
	assert_in_range(benched_at, 6800, 7200);
	assert_string_equal(snd_health_name(&h, 1), "slow");
	assert_string_equal(snd_health_name(&h, 0), "up");
	/* Its subflow closed on purpose: not down, not probed. */
	for (int k = 0; k < 30; k++) {
		prev = cur;
		cur.n = 0;
		a0 += 40000;
		subflow(&cur, 1, "10.1.0.2", 0, 5, 0);
		cur.sf[0].rtt_us = 20000;
		cur.sf[0].bytes_acked = a0;
		t += 100;
		snd_health_update(&h, ups, &prev, &cur, t, &act);
		assert_int_not_equal(h.state[1], SND_UPLINK_DOWN);
		assert_false(act.probe[1]);
		assert_int_equal(act.bench[1], -1);
	}
	/* Benched: nothing more while its time runs. */
	for (; t < benched_at + SND_HEALTH_BENCH_MS; t += 100) {
		speed_tick(&h, ups, &prev, &cur, &act, t, 20, 400, &a0, &a1, false);
		assert_int_equal(act.bench[1], -1);
	}
	speed_tick(&h, ups, &prev, &cur, &act, t, 20, 400, &a0, &a1, false);
	assert_int_equal(act.bench[1], 0); /* tried again */
	/* Still slow: benched again, for twice as long; up0 dies: a primary at once. */
	for (int k = 0; k < 20 && act.bench[1] != 1; k++) {
		t += 100;
		speed_tick(&h, ups, &prev, &cur, &act, t, 20, 400, &a0, &a1, false);
	}
	assert_int_equal(act.bench[1], 1);
	assert_true(h.benched_until_ms[1] - t == 2 * SND_HEALTH_BENCH_MS);
	for (int k = 0; k < 20 && act.bench[1] != 0; k++) {
		t += 100;
		speed_tick(&h, ups, &prev, &cur, &act, t, 20, 400, &a0, &a1, true);
	}
	assert_int_equal(h.state[0], SND_UPLINK_DOWN);
	assert_int_equal(act.bench[1], 0);
	assert_false(h.benched[1]);

	/* A high RTT on the path that carries most, or one not far above: left alone. */
	snd_health_init(&h, 2);
	memset(&cur, 0, sizeof(cur));
	cur.mptcp = true;
	a0 = a1 = 0;
	for (t = 1000; t < 10000; t += 100) {
		speed_tick(&h, ups, &prev, &cur, &act, t, 400, 20, &a0, &a1, false);
		assert_int_equal(act.bench[0], -1);
	}
	for (; t < 20000; t += 100) {
		speed_tick(&h, ups, &prev, &cur, &act, t, 20, 200, &a0, &a1, false);
		assert_int_equal(act.bench[1], -1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blackhole_and_back),
		cmocka_unit_test(test_degraded_hysteresis),
		cmocka_unit_test(test_link_and_subflow_loss),
		cmocka_unit_test(test_backup_promotion),
		cmocka_unit_test(test_slow_path_benched),
		cmocka_unit_test(test_dead_path_released),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
