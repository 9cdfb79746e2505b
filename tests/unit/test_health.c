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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blackhole_and_back),
		cmocka_unit_test(test_degraded_hysteresis),
		cmocka_unit_test(test_link_and_subflow_loss),
		cmocka_unit_test(test_backup_promotion),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
