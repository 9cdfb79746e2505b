// SPDX-License-Identifier: MIT
/* Uplink health on synthetic samples: an uplink blackholed, back, gone; backups. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock_offsets.h"
#include "health.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static int64_t t_offset_ms; /* every test runs at each of clock_offsets[] */

/* fo_health_update at @now_ms on the test's clock, moved on by the offset. */
static int health_at(struct fo_health *h, struct fo_uplink *ups, size_t n,
		     const struct conn_snapshot *prev, const struct conn_snapshot *cur,
		     int64_t now_ms)
{
	return fo_health_update(h, ups, n, prev, cur, now_ms + t_offset_ms);
}

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

/* @v's address of its family, in use. */
static void set_addr(struct mps_uplink_view *v, const char *addr)
{
	struct mps_ip ip;

	assert_true(mps_ip_parse(&ip, addr));
	v->side[mps_uplink_side_of(ip.family)] = (struct mps_uplink_side){ip, true};
}

static void two_uplinks(struct fo_uplink ups[2], bool backup1)
{
	memset(ups, 0, 2 * sizeof(*ups));
	ups[0].view = (struct mps_uplink_view){.name = "up0", .installed = true, .link_up = true};
	set_addr(&ups[0].view, "10.1.0.2");
	ups[1].view = (struct mps_uplink_view){
		.name = "up1", .installed = true, .link_up = true, .backup = backup1};
	set_addr(&ups[1].view, "10.2.0.2");
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
	set_backup = health_at(&h, ups, ARRAY_SIZE(ups), &prev, &cur, 1000);
	assert_int_equal(ups[0].health.state, FO_UP);
	assert_int_equal(ups[1].health.state, FO_UP);
	assert_false(ups[0].act.changed || ups[0].act.reach);

	/* up0 blackholed: data outstanding, no ACK for 400 ms, then 1.2 s. */
	prev = cur;
	cur.n = 0;
	subflow(&cur, 1, "10.1.0.2", 10, 400, 0);
	subflow(&cur, 2, "10.2.0.2", 0, 5, 0);
	set_backup = health_at(&h, ups, ARRAY_SIZE(ups), &prev, &cur, 1400);
	assert_int_equal(ups[0].health.state, FO_DEGRADED);
	assert_true(ups[0].act.changed);
	prev = cur;
	cur.n = 0;
	subflow(&cur, 1, "10.1.0.2", 10, 1200, 1448);
	subflow(&cur, 2, "10.2.0.2", 0, 5, 0);
	set_backup = health_at(&h, ups, ARRAY_SIZE(ups), &prev, &cur, 2200);
	assert_int_equal(ups[0].health.state, FO_DOWN);
	assert_string_equal(ups[0].health.reason, "no ACK for 1200 ms");
	assert_true(ups[0].act.reach); /* find out when it is back */
	assert_false(ups[1].act.reach);
	assert_int_equal(set_backup, -1); /* no backups */

	/* A fresh subflow on up0 (its path answered, the uplink was kicked). */
	prev = cur;
	cur.n = 0;
	subflow(&cur, 3, "10.1.0.2", 0, 10, 0);
	subflow(&cur, 2, "10.2.0.2", 0, 5, 0);
	set_backup = health_at(&h, ups, ARRAY_SIZE(ups), &prev, &cur, 3000);
	assert_int_equal(ups[0].health.state, FO_UP);
	assert_false(ups[0].act.reach);
}

/*
 * One tick of a 4 Mbit/s path that sends 25 kB in 50 ms, all acknowledged,
 * @retrans of it sent again.
 */
static void busy_tick(struct fo_health *h, struct fo_uplink *ups, struct conn_snapshot *prev,
		      struct conn_snapshot *cur, int64_t t, uint64_t retrans)
{
	const struct conn_subflow *p = &prev->sf[0];

	*prev = *cur;
	cur->n = 0;
	subflow(cur, 1, "10.1.0.2", 20, 5, p->bytes_retrans + retrans);
	cur->sf[0].bytes_sent = p->bytes_sent + 25000;
	cur->sf[0].bytes_acked = p->bytes_acked + 25000;
	health_at(h, ups, 1, prev, cur, t);
}

/*
 * A full link drops a packet now and then (its queue overflows: 1.4 % of
 * what it sends here) and stays up; one that loses 8 % is degraded, says so,
 * and stays so for FO_HEALTH_DEGRADED_HOLD_MS after its last loss: a link
 * whose behaviour does not change changes state at most once in that time.
 */
static void test_degraded_hysteresis(void **state)
{
	struct fo_health h;
	struct fo_uplink ups[2];
	struct conn_snapshot prev = {.mptcp = true}, cur = {.mptcp = true};
	int changes = 0;
	int64_t t, up_again = 0;

	(void)state;
	two_uplinks(ups, false);
	fo_health_init(&h, ups, 1);
	for (t = 50; t <= 20000; t += 50) {
		busy_tick(&h, ups, &prev, &cur, t, t % 1000 ? 0 : 5 * 1448);
		changes += t > 50 && ups[0].act.changed;
	}
	assert_int_equal(ups[0].health.state, FO_UP);
	assert_int_equal(changes, 0);
	for (; t <= 22000; t += 50) {
		busy_tick(&h, ups, &prev, &cur, t, 2000); /* 8 % */
		changes += ups[0].act.changed;
	}
	assert_int_equal(ups[0].health.state, FO_DEGRADED);
	assert_non_null(strstr(ups[0].health.reason, "% of what it sends"));
	assert_true(strncmp(ups[0].health.reason, "retransmitting ", 15) == 0);
	for (; t <= 40000; t += 50) {
		busy_tick(&h, ups, &prev, &cur, t, t % 1000 ? 0 : 5 * 1448);
		changes += ups[0].act.changed;
		if (ups[0].health.state == FO_UP && !up_again)
			up_again = t;
	}
	print_message("8 %% lost until 22 s: up again at %lld ms\n", (long long)up_again);
	assert_true(up_again >= 22000 + FO_HEALTH_DEGRADED_HOLD_MS);
	assert_true(up_again <= 22000 + FO_HEALTH_DEGRADED_HOLD_MS + 2000);
	assert_int_equal(changes, 2); /* degraded, up: once each */
	assert_string_equal(ups[0].health.reason, "ACKs flowing");
}

/*
 * Not dead: a server that stops reading (its window closed: MPTCP probes it
 * with a byte whose ACKs acknowledge nothing new, the rest waits unsent), and
 * a path idle for seconds that starts sending (no ACK since it was idle). Neither
 * is down or released, and a path that lost much and then went idle does
 * not stay degraded for its old losses.
 */
static void test_not_dead(void **state)
{
	struct fo_health h;
	struct fo_uplink ups[2];
	struct conn_snapshot prev = {.mptcp = true}, cur = {.mptcp = true};
	int64_t t;

	(void)state;
	two_uplinks(ups, false);
	fo_health_init(&h, ups, 2);
	for (t = 50; t <= 3000; t += 50) {
		prev = cur;
		cur.n = 0;
		subflow(&cur, 1, "10.1.0.2", 1, 20, 0); /* the window probe */
		cur.sf[0].notsent = 60000;
		cur.sf[0].snd_mss = 1448;
		cur.sf[0].snd_wnd = 0;
		subflow(&cur, 2, "10.2.0.2", 0, 900, 0); /* nothing to send: the window */
		cur.conn_written = 61000;
		health_at(&h, ups, 2, &prev, &cur, t);
		assert_false(ups[0].act.release);
		assert_int_equal(ups[0].health.state, FO_UP);
	}

	fo_health_init(&h, ups, 2);
	memset(&cur, 0, sizeof(cur));
	cur.mptcp = true;
	for (t = 50; t <= 3100; t += 50) {
		bool burst = t == 3100;

		prev = cur;
		cur.n = 0;
		subflow(&cur, 1, "10.1.0.2", burst ? 12 : 0, (uint32_t)t,
			0); /* idle, then a burst */
		subflow(&cur, 2, "10.2.0.2", 8, 5, 0);
		cur.sf[1].bytes_acked = (uint64_t)t * 100;
		cur.conn_written = burst ? 90000 : 1000;
		health_at(&h, ups, 2, &prev, &cur, t);
		assert_false(ups[0].act.release);
		assert_int_equal(ups[0].health.state, FO_UP);
	}

	/* 8 % lost for 2 s, then nothing sent at all: up again within the hold and the decay. */
	fo_health_init(&h, ups, 1);
	memset(&cur, 0, sizeof(cur));
	cur.mptcp = true;
	for (t = 50; t <= 2000; t += 50)
		busy_tick(&h, ups, &prev, &cur, t, 2000);
	assert_int_equal(ups[0].health.state, FO_DEGRADED);
	cur.sf[0].unacked = 0; /* all acknowledged, nothing more to send */
	for (; t <= 2000 + 8000 + FO_HEALTH_DEGRADED_HOLD_MS; t += 50) {
		prev = cur;
		health_at(&h, ups, 1, &prev, &cur, t);
	}
	assert_int_equal(ups[0].health.state, FO_UP);
}

/*
 * A path whose deep queue overflowed: up0 (1.2 s RTT, a cellular modem's 1 s
 * queue full) lost a segment, and its cumulative ACK stands still for the
 * round trip the resend takes, while SACKs keep arriving and the receiver
 * gets the rest (tcpi_delivered grows). It is not released, nor shown down
 * or degraded for it. When nothing is delivered any more (a blackhole), it is
 * released as before.
 */
static void test_sacks_are_progress(void **state)
{
	struct fo_health h;
	struct fo_uplink ups[2];
	struct conn_snapshot prev = {.mptcp = true}, cur = {.mptcp = true};
	uint64_t acked0 = 0, acked1 = 0;
	uint32_t delivered0 = 0;
	int64_t t, released = 0;

	(void)state;
	two_uplinks(ups, false);
	fo_health_init(&h, ups, 2);
	for (t = 50; t <= 4000; t += 50) {
		bool hole = t > 1000 && t <= 2500, dead = t > 2500;

		prev = cur;
		cur.n = 0;
		acked0 += hole || dead ? 0 : 12000;
		delivered0 += dead ? 0 : 8;
		acked1 += 12000;
		subflow(&cur, 1, "10.1.0.2", 200, dead ? 300 : 5, 0);
		cur.sf[0].rtt_us = 1200000;
		cur.sf[0].rttvar_us = 50000;
		cur.sf[0].bytes_acked = acked0;
		cur.sf[0].delivered = delivered0;
		subflow(&cur, 2, "10.2.0.2", 8, 5, 0);
		cur.sf[1].bytes_acked = acked1;
		cur.conn_delivered = acked0 + acked1;
		cur.conn_written = cur.conn_delivered + 300000;
		health_at(&h, ups, 2, &prev, &cur, t);
		if (!dead) {
			assert_false(ups[0].act.release);
			assert_int_equal(ups[0].health.state, FO_UP);
		} else if (ups[0].act.release && !released) {
			released = t;
		}
	}
	print_message("1.5 s of SACKs without a cumulative ACK: up; nothing delivered from 2500 "
		      "ms: released at %lld ms (%s)\n",
		      (long long)released, ups[0].health.reason);
	assert_in_range(released, 2500 + FO_HEALTH_RELEASE_MIN_MS, 2500 + FO_HEALTH_DEAD_MS);
}

/*
 * A path whose own host drops what it sends (an output firewall rule): its
 * subflow holds its data unsent, nothing in flight, and the server's packets
 * (its own data, ACKs that acknowledge nothing new) still arrive. It is dead
 * all the same, and released when the others wait for its data; the reason
 * says that packets arrive.
 */
static void test_output_dropped(void **state)
{
	struct fo_health h;
	struct fo_uplink ups[2];
	struct conn_snapshot prev = {.mptcp = true}, cur = {.mptcp = true};
	uint64_t acked0 = 0, acked1 = 0;
	int64_t t, released = 0;

	(void)state;
	two_uplinks(ups, false);
	fo_health_init(&h, ups, 2);
	for (t = 50; t <= 3000; t += 50) {
		bool dropped = t > 1000;

		prev = cur;
		cur.n = 0;
		acked0 += dropped ? 0 : 12000;
		acked1 += 12000;
		subflow(&cur, 1, "10.1.0.2", dropped ? 0 : 8, 5, 0);
		cur.sf[0].notsent = dropped ? 30000 : 0;
		cur.sf[0].bytes_acked = acked0;
		subflow(&cur, 2, "10.2.0.2", 8, 5, 0);
		cur.sf[1].bytes_acked = acked1;
		cur.conn_delivered = acked0 + acked1;
		cur.conn_written = cur.conn_delivered + (dropped ? 60000 : 16000);
		health_at(&h, ups, 2, &prev, &cur, t);
		if (ups[0].act.release) {
			assert_int_equal(released, 0); /* once */
			released = t;
			assert_int_equal(ups[0].health.state, FO_DOWN);
			assert_string_equal(ups[0].health.reason,
					    "nothing acknowledged for 150 ms, though packets "
					    "arrive, the others wait for its data");
		}
		assert_false(ups[1].act.release);
		assert_int_equal(ups[1].health.state, FO_UP);
	}
	print_message("output dropped from 1000 ms: released at %lld ms\n", (long long)released);
	assert_int_equal(released, 1000 + FO_HEALTH_RELEASE_MIN_MS);
	assert_int_equal(ups[0].health.state, FO_DOWN);
	assert_true(ups[0].act.reach);
	assert_string_equal(ups[0].health.reason,
			    "nothing acknowledged for 2000 ms, though packets arrive");

	/* The same path on its own (no other works): down after a second, not released. */
	fo_health_init(&h, ups, 1);
	memset(&cur, 0, sizeof(cur));
	cur.mptcp = true;
	for (t = 50; t <= 2000; t += 50) {
		prev = cur;
		cur.n = 0;
		subflow(&cur, 1, "10.1.0.2", 0, 5, 0);
		cur.sf[0].notsent = 30000;
		cur.conn_written = 30000;
		health_at(&h, ups, 1, &prev, &cur, t);
		assert_false(ups[0].act.release);
	}
	assert_int_equal(ups[0].health.state, FO_DOWN);
	assert_string_equal(ups[0].health.reason,
			    "nothing acknowledged for 1950 ms, though packets arrive");
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
	health_at(&h, ups, ARRAY_SIZE(ups), &prev, &cur, 1000);
	assert_int_equal(ups[1].health.state, FO_UP);
	health_at(&h, ups, ARRAY_SIZE(ups), &prev, &cur, 1000 + FO_HEALTH_GRACE_MS);
	assert_int_equal(ups[1].health.state, FO_DOWN);
	assert_string_equal(ups[1].health.reason, "no subflow");
	assert_true(ups[1].act.reach);

	ups[0].view.link_up = false;
	health_at(&h, ups, ARRAY_SIZE(ups), &prev, &cur, 3000);
	assert_int_equal(ups[0].health.state, FO_DOWN);
	assert_string_equal(ups[0].health.reason, "link down");
	assert_false(ups[0].act.reach); /* the link events bring it back */
	/* Its subflow is still there: released at once, not after a silence. */
	assert_true(ups[0].act.release);
	assert_true(ups[0].health.released);
	health_at(&h, ups, ARRAY_SIZE(ups), &prev, &cur, 3100);
	assert_false(ups[0].act.release); /* once */

	/* No connection: nothing to judge, no path to try. */
	ups[0].view.link_up = true;
	health_at(&h, ups, ARRAY_SIZE(ups), &prev, NULL, 4000);
	assert_false(ups[1].act.reach);
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
	ups[1].view.link_up = false; /* no subflow of its own */
	health_at(&h, ups, ARRAY_SIZE(ups), &prev, &cur, 1000);
	assert_false(ups[1].act.release);
	ups[0].view.link_up = false;
	ups[0].view.disabled = true; /* the operator took it out: closed already */
	health_at(&h, ups, ARRAY_SIZE(ups), &prev, &cur, 1100);
	assert_false(ups[0].act.release);
	assert_string_equal(fo_health_name(&ups[0]), "off");
	ups[0].view.disabled = false;
	cur.mptcp = false;
	health_at(&h, ups, ARRAY_SIZE(ups), &prev, &cur, 1200);
	assert_false(ups[0].act.release);
	cur.mptcp = true;
	health_at(&h, ups, ARRAY_SIZE(ups), &prev, &cur, 1300);
	assert_true(ups[0].act.release);
	/* Back up, and a fresh subflow that works: released no more, ready for the next time. */
	ups[0].view.link_up = true;
	prev = cur;
	cur.n = 0;
	subflow(&cur, 3, "10.1.0.2", 0, 5, 0);
	health_at(&h, ups, ARRAY_SIZE(ups), &prev, &cur, 2000);
	assert_int_equal(ups[0].health.state, FO_UP);
	assert_false(ups[0].health.released);
	ups[0].view.link_up = false;
	health_at(&h, ups, ARRAY_SIZE(ups), &prev, &cur, 2100);
	assert_true(ups[0].act.release);
}

/* A modem off its network: down and released at once, as a link down; back, tried again. */
static void test_modem_lost_network(void **state)
{
	struct fo_health h;
	struct fo_uplink ups[2];
	struct conn_snapshot prev = {.mptcp = true}, cur = {.mptcp = true};

	(void)state;
	two_uplinks(ups, false);
	fo_health_init(&h, ups, 2);
	subflow(&cur, 1, "10.1.0.2", 0, 5, 0);
	subflow(&cur, 2, "10.2.0.2", 0, 5, 0);
	ups[0].radio = (struct fo_radio){.modem = true, .registered = true, .said = "LTE 72%"};
	health_at(&h, ups, ARRAY_SIZE(ups), &prev, &cur, 1000);
	assert_int_equal(ups[0].health.state, FO_UP);
	assert_false(ups[0].act.release);

	/* Its link is up, its modem has no network. */
	ups[0].radio = (struct fo_radio){.modem = true, .said = "searching"};
	prev = cur;
	health_at(&h, ups, ARRAY_SIZE(ups), &prev, &cur, 1100);
	assert_int_equal(ups[0].health.state, FO_DOWN);
	assert_string_equal(ups[0].health.reason, "the modem lost its network (searching)");
	assert_true(ups[0].act.release);
	assert_false(ups[0].act.reach); /* nothing to try before it is back on a network */
	health_at(&h, ups, ARRAY_SIZE(ups), &prev, &cur, 1200);
	assert_false(ups[0].act.release); /* once */

	/* Back on its network, its subflow closed: down, and its path is worth trying. */
	ups[0].radio = (struct fo_radio){.modem = true, .registered = true, .said = "LTE 40%"};
	cur.n = 0;
	subflow(&cur, 2, "10.2.0.2", 0, 5, 0);
	prev = cur;
	health_at(&h, ups, ARRAY_SIZE(ups), &prev, &cur, 1300);
	assert_int_equal(ups[0].health.state, FO_DOWN);
	assert_true(ups[0].act.reach);

	/* Not a modem: the radio says nothing. */
	ups[1].radio = (struct fo_radio){.modem = false, .registered = false};
	assert_int_equal(ups[1].health.state, FO_UP);
}

/* A modem off its network while no other uplink works: down, but not released. */
static void test_modem_lost_alone(void **state)
{
	struct fo_health h;
	struct fo_uplink ups[2];
	struct conn_snapshot prev = {.mptcp = true}, cur = {.mptcp = true};

	(void)state;
	two_uplinks(ups, false);
	fo_health_init(&h, ups, 2);
	subflow(&cur, 1, "10.1.0.2", 0, 5, 0);
	ups[1].view.link_up = false;
	ups[0].radio = (struct fo_radio){.modem = true, .said = "searching"};
	health_at(&h, ups, ARRAY_SIZE(ups), &prev, &cur, 1000);
	assert_int_equal(ups[0].health.state, FO_DOWN);
	assert_false(ups[0].act.release);
	assert_false(ups[0].health.released);
	/* The other is back: now it is released. */
	ups[1].view.link_up = true;
	subflow(&cur, 2, "10.2.0.2", 0, 5, 0);
	prev = cur;
	health_at(&h, ups, ARRAY_SIZE(ups), &prev, &cur, 1100);
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
	set_backup = health_at(&h, ups, ARRAY_SIZE(ups), &prev, &cur, 1000);
	assert_int_equal(set_backup, -1);

	prev = cur;
	cur.n = 0;
	subflow(&cur, 1, "10.1.0.2", 5, 1500, 0);
	subflow(&cur, 2, "10.2.0.2", 0, 5, 0);
	set_backup = health_at(&h, ups, ARRAY_SIZE(ups), &prev, &cur, 2000);
	assert_int_equal(ups[0].health.state, FO_DOWN);
	assert_int_equal(set_backup, 0); /* the backup becomes a regular path */
	prev = cur;
	set_backup = health_at(&h, ups, ARRAY_SIZE(ups), &prev, &cur, 2100);
	assert_int_equal(set_backup, -1); /* once */

	prev = cur;
	cur.n = 0;
	subflow(&cur, 3, "10.1.0.2", 0, 5, 0);
	subflow(&cur, 2, "10.2.0.2", 0, 5, 0);
	set_backup = health_at(&h, ups, ARRAY_SIZE(ups), &prev, &cur, 3000);
	assert_int_equal(set_backup, 1); /* up0 works again: back to backup */
}

/*
 * A primary blackholed when the connection's window it was last told was
 * small (netns_uplinks, once in CI): the kernel moves the stream to the
 * backup, whose ACKs take the connection's data further, while the dead
 * subflow keeps one segment unacknowledged and that small window. It has
 * heard nothing since the data went further, and up1, which has, has room:
 * up0's window is stale, up0 is down and the backup is promoted. (Before,
 * up0 stayed up to the end of the run.)
 */
static void test_stale_window_blackhole(void **state)
{
	struct fo_health h;
	struct fo_uplink ups[2];
	struct conn_snapshot prev = {.mptcp = true}, cur = {.mptcp = true};
	int64_t t, down_at = -1, promoted_at = -1;
	uint64_t acked0 = 0, acked1 = 0;

	(void)state;
	two_uplinks(ups, true);
	fo_health_init(&h, ups, 2);
	for (t = 50; t <= 4000; t += 50) {
		bool cut = t > 1000;
		int set_backup;

		prev = cur;
		cur.n = 0;
		acked0 += cut ? 0 : 16000;
		acked1 += cut ? 16000 : 0;
		subflow(&cur, 1, "10.1.0.2", cut ? 1 : 20, cut ? (uint32_t)(t - 1000) : 5, 0);
		cur.sf[0].snd_mss = 1264;
		cur.sf[0].snd_wnd = cut ? 1000 : 200000;
		cur.sf[0].bytes_acked = acked0;
		subflow(&cur, 2, "10.2.0.2", cut ? 10 : 0, 5, 0);
		cur.sf[1].snd_mss = 1264;
		cur.sf[1].snd_wnd = 200000;
		cur.sf[1].bytes_acked = acked1;
		cur.conn_delivered = acked0 + acked1;
		cur.conn_written = cur.conn_delivered + 20000;
		set_backup = health_at(&h, ups, ARRAY_SIZE(ups), &prev, &cur, t);
		if (down_at < 0 && ups[0].health.state == FO_DOWN)
			down_at = t;
		if (promoted_at < 0 && set_backup == 0)
			promoted_at = t;
	}
	print_message("blackholed with a small window: down %lld ms after, backup promoted %lld "
		      "ms after (%s)\n",
		      (long long)(down_at - 1000), (long long)(promoted_at - 1000),
		      ups[0].health.reason);
	assert_in_range(down_at, 1050, 2000);
	assert_in_range(promoted_at, 1050, 2000);
}

/*
 * The case the window is for, after data flowed: a server that reads, then
 * stops (at 1 s), then reads a little every 400 ms from 3 s on. up0 carries
 * the connection; once the window is closed it sends probes that ACKs answer
 * without acknowledging anything (every @gap ms), and the ACK that says the
 * server read comes on up0, or on up1 (@on_up1: idle, its window still
 * full), @shift ms after a probe's. Nothing is released.
 */
static void stops_reading_run(int gap, bool on_up1, int shift)
{
	struct fo_health h;
	struct fo_uplink ups[2];
	struct conn_snapshot prev = {.mptcp = true}, cur = {.mptcp = true};
	uint64_t acked = 0;
	int64_t heard0 = 0, heard1 = 0;

	two_uplinks(ups, false);
	fo_health_init(&h, ups, 2);
	for (int64_t t = 50; t <= 6000; t += 50) {
		bool flowing = t <= 1000, reads = t >= 3000 && (t - shift) % 400 == 0;

		prev = cur;
		cur.n = 0;
		if (flowing || reads)
			acked += flowing ? 16000 : 3000;
		if (flowing || (!on_up1 && reads) || (t - 1000) % gap == 0)
			heard0 = t;
		if (on_up1 && reads)
			heard1 = t;
		subflow(&cur, 1, "10.1.0.2", flowing ? 20 : 1, (uint32_t)(t - heard0), 0);
		cur.sf[0].snd_mss = 1448;
		cur.sf[0].snd_wnd = flowing ? 200000 : 0;
		cur.sf[0].notsent = flowing ? 0 : 60000;
		cur.sf[0].bytes_acked = acked;
		subflow(&cur, 2, "10.2.0.2", 0, heard1 ? (uint32_t)(t - heard1) : 900, 0);
		cur.sf[1].snd_mss = 1448;
		cur.sf[1].snd_wnd = flowing ? 200000 : 0;
		cur.conn_delivered = acked;
		cur.conn_written = acked + 61000;
		health_at(&h, ups, ARRAY_SIZE(ups), &prev, &cur, t);
		assert_false(ups[0].act.release);
		assert_int_equal(ups[0].health.state, FO_UP);
	}
}

static void test_stops_reading_after_flow(void **state)
{
	(void)state;
	for (int gap = 200; gap <= 800; gap *= 2)
		for (int shift = 0; shift < 400; shift += 50) {
			stops_reading_run(gap, false, shift);
			stops_reading_run(gap, true, shift);
		}
}

/*
 * One tick: up0 silent for @silence0 ms with data in flight, up1 @state1 (0
 * idle, 1 acking, 2 silent too); @waiting: the connection has data the
 * receiver has not acknowledged.
 */
static void block_tick(struct fo_health *h, struct fo_uplink *ups, struct conn_snapshot *prev,
		       struct conn_snapshot *cur, int64_t t, uint32_t silence0, int state1,
		       bool waiting)
{
	*prev = *cur;
	cur->n = 0;
	subflow(cur, 1, "10.1.0.2", silence0 ? 40000 : 0, silence0 ? silence0 : 5, 0);
	subflow(cur, 2, "10.2.0.2", state1 ? 60000 : 0, state1 == 2 ? silence0 : 5, 0);
	/* A working path has its data acknowledged, a silent one not. */
	cur->sf[0].bytes_acked = silence0 ? prev->sf[0].bytes_acked : (uint64_t)t;
	cur->sf[1].bytes_acked = state1 == 2 ? prev->sf[1].bytes_acked : (uint64_t)t;
	cur->conn_delivered = 1000;
	cur->conn_written = waiting ? 90000 : 1000;
	health_at(h, ups, 2, prev, cur, t);
}

/*
 * A dead path whose data the others wait for is released (its subflows
 * closed, so that the kernel sends its data on the others at once): once,
 * only while the oldest data waits (the kernel did not send it again on its
 * own), and only when another uplink works.
 */
/*
 * An IPv6-only uplink on a connection opened to the server's IPv4 address:
 * its subflow goes to an address the server announced, which the kernel never
 * opens again once closed. Dead, it is neither released nor its path tried
 * (TCP's own retransmission brings it back); the same uplink on a connection
 * opened over IPv6 is.
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
	memset(&ups[0].view.side[0], 0, sizeof(ups[0].view.side[0]));
	set_addr(&ups[0].view, "fd00:1::2");
	cur.conn_delivered = 1000;
	cur.conn_written = 90000; /* the connection waits for data */
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
			health_at(&h, ups, 2, &prev, &cur, t);
			if (round == 0)
				assert_false(ups[0].act.release || ups[0].act.reach);
		}
		assert_int_equal(ups[0].health.state, FO_DOWN);
		if (round == 1)
			assert_true(ups[0].act.reach || ups[0].health.released);
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
	/* 20 ms of RTT, no deviation: dead after FO_HEALTH_RELEASE_MIN_MS. */
	block_tick(&h, ups, &prev, &cur, 1000, 0, 1, true);
	block_tick(&h, ups, &prev, &cur, 1100, 100, 1, true);
	assert_false(ups[0].act.release);
	block_tick(&h, ups, &prev, &cur, 1140, 140, 1, true);
	assert_false(ups[0].act.release);
	block_tick(&h, ups, &prev, &cur, 1150, 150, 1, true);
	assert_true(ups[0].act.release);
	assert_false(ups[1].act.release);
	assert_int_equal(ups[0].health.state, FO_DOWN);
	assert_true(ups[0].act.changed);
	assert_string_equal(ups[0].health.reason,
			    "no ACK for 150 ms, the others wait for its data");
	block_tick(&h, ups, &prev, &cur, 1200, 200, 1, true);
	assert_false(ups[0].act.release); /* once */
	assert_int_equal(ups[0].health.state, FO_DOWN);
	assert_true(ups[0].act.reach); /* and its path tried until it answers */

	/*
	 * Back (a fresh subflow) after longer than a swing (FO_HEALTH_FLAP_MS),
	 * then dead again with the living path idle: released again.
	 */
	block_tick(&h, ups, &prev, &cur, 1150 + FO_HEALTH_FLAP_MS, 0, 1, true);
	assert_int_equal(ups[0].health.state, FO_UP);
	block_tick(&h, ups, &prev, &cur, 1250 + FO_HEALTH_FLAP_MS, 100, 1, true);
	block_tick(&h, ups, &prev, &cur, 1350 + FO_HEALTH_FLAP_MS, 200, 0, true);
	assert_true(ups[0].act.release);

	/* All the data acknowledged (the kernel sent it again on its own): nothing to release. */
	fo_health_init(&h, ups, 2);
	cur.n = 0;
	for (int64_t t = 1000; t <= 3000; t += 50)
		block_tick(&h, ups, &prev, &cur, t, (uint32_t)(t - 900), 1, false);
	assert_false(ups[0].act.release);
	assert_int_equal(ups[0].health.state, FO_DOWN); /* dead all the same */

	/* Both silent: no other uplink works, nothing is gained by closing either. */
	fo_health_init(&h, ups, 2);
	for (int64_t t = 1000; t <= 3000; t += 50)
		block_tick(&h, ups, &prev, &cur, t, (uint32_t)(t - 900), 2, true);
	assert_false(ups[0].act.release || ups[1].act.release);
}

/*
 * The sample at @t of a connection that waits for up1: up0 carries (its
 * subflow 1 acknowledges), up1's subflow 2 owes data and was last
 * acknowledged @up1_last_ack_ms ago.
 */
static void up1_stalled(struct conn_snapshot *cur, int64_t t, uint32_t up1_last_ack_ms)
{
	cur->n = 0;
	subflow(cur, 1, "10.1.0.2", 3, 4, 0);
	subflow(cur, 2, "10.2.0.2", 2, up1_last_ack_ms, 0);
	cur->sf[0].bytes_acked = (uint64_t)t;
	cur->sf[1].bytes_acked = 58;
	cur->conn_delivered = 1000;
	cur->conn_written = 90000;
}

/*
 * up1 was released at @released, FO_HEALTH_RELEASE_MIN_MS (20 ms of RTT)
 * after @what at @from_ms, for its silence.
 */
static void assert_up1_released(const struct fo_uplink ups[2], int64_t released, int64_t from_ms,
				const char *what)
{
	printf("released at %" PRId64 " ms (%s at %" PRId64 ")\n", released, what, from_ms);
	assert_int_equal(released, from_ms + FO_HEALTH_RELEASE_MIN_MS);
	assert_int_equal(ups[1].health.state, FO_DOWN);
	assert_string_equal(ups[1].health.reason,
			    "no ACK for 150 ms, the others wait for its data");
}

/*
 * The first sample of a connection, a second after the last tick (none runs
 * while it connects): up1's subflow sent its first bytes after an idle
 * while (the RTMP handshake's turns), so its last ACK is 756 ms old though
 * what it owes was just sent. Its silence counts from this sample, not from
 * its last ACK: not released (the recorded links' runs released both joined
 * subflows at the stream's start, and health said "down", then "comes and
 * goes"). A path that stays silent is released all the same, counted from then.
 */
static void test_first_sample_after_idle(void **state)
{
	struct fo_health h;
	struct fo_uplink ups[2];
	struct conn_snapshot prev = {.mptcp = true}, cur = {.mptcp = true};
	int64_t t, released = 0;

	two_uplinks(ups, false);
	fo_health_init(&h, ups, 2);
	health_at(&h, ups, 2, &prev, NULL, 10); /* before the connection */
	for (t = 1000; t <= 2000 && !released; t += 50) {
		prev = cur;
		up1_stalled(&cur, t, (uint32_t)(t - 244));
		health_at(&h, ups, 2, &prev, &cur, t);
		if (t == 1000) {
			assert_int_equal(ups[1].health.state, FO_UP);
			assert_false(ups[1].act.release);
		}
		if (ups[1].act.release)
			released = t;
	}
	/* 20 ms of RTT: released FO_HEALTH_RELEASE_MIN_MS after the first sample. */
	assert_up1_released(ups, released, 1000, "the first sample");
}

/*
 * A subflow joins an uplink whose first subflow is stalled (the kernel
 * opened another on the same path): its join's handshake went through, so
 * the path answered a moment ago and the uplink's silence counts again from
 * there. If neither is acknowledged after that, the uplink is released a
 * release time after the join, not after the stalled subflow's silence.
 */
static void test_join_beside_stalled(void **state)
{
	struct fo_health h;
	struct fo_uplink ups[2];
	struct conn_snapshot prev = {.mptcp = true}, cur = {.mptcp = true};
	int64_t t, released = 0;

	(void)state;
	two_uplinks(ups, false);
	fo_health_init(&h, ups, 2);
	health_at(&h, ups, 2, &prev, NULL, 10);
	for (t = 1000; t <= 2000 && !released; t += 50) {
		prev = cur;
		up1_stalled(&cur, t, (uint32_t)(t - 1000 + 4));
		if (t >= 1100) { /* the second subflow of up1, owing from its first sample */
			subflow(&cur, 3, "10.2.0.2", 2, (uint32_t)(t - 1100 + 4), 0);
			cur.sf[2].bytes_acked = 7;
		}
		health_at(&h, ups, 2, &prev, &cur, t);
		if (ups[1].act.release)
			released = t;
	}
	assert_up1_released(ups, released, 1100, "the join");
}

/* How long a path may be silent follows its own RTT, within bounds. */
static void test_release_after_rtt(void **state)
{
	struct conn_subflow sf = {0};
	struct fo_health h;
	struct fo_uplink ups[2];
	struct conn_snapshot prev = {.mptcp = true}, cur = {.mptcp = true};

	(void)state;
	sf.rtt_us = 1000; /* a wired path of 1 ms */
	assert_int_equal(fo_health_release_after_ms(&sf), FO_HEALTH_RELEASE_MIN_MS);
	sf.rtt_us = 60000; /* cellular: 60 +- 10 ms */
	sf.rttvar_us = 10000;
	assert_int_equal(fo_health_release_after_ms(&sf), 2 * 60 + 4 * 10 + FO_HEALTH_DELACK_MS);
	sf.rtt_us = 250000; /* a queue of 250 ms */
	assert_int_equal(fo_health_release_after_ms(&sf), FO_HEALTH_RELEASE_MAX_MS);

	/*
	 * up0 at 100 +- 20 ms, silent since the first sample (its data just
	 * acknowledged): 300 ms is not enough, 330 ms is (2 x 100 + 4 x 20 + 40).
	 */
	two_uplinks(ups, false);
	for (uint32_t silence = 150; silence <= 330; silence += 30) {
		fo_health_init(&h, ups, 2);
		cur.n = 0; /* a new connection */
		for (int k = 0; k < 2; k++) {
			prev = cur;
			cur.n = 0;
			subflow(&cur, 1, "10.1.0.2", 40000, k ? silence : 0, 0);
			cur.sf[0].rtt_us = 100000;
			cur.sf[0].rttvar_us = 20000;
			cur.sf[0].bytes_acked = 1;
			subflow(&cur, 2, "10.2.0.2", 60000, 5, 0);
			cur.sf[1].bytes_acked = 1 + k; /* up1 carries */
			cur.conn_delivered = 1000;
			cur.conn_written = 90000;
			health_at(&h, ups, 2, &prev, &cur, 1000 + k * silence);
		}
		assert_int_equal(ups[0].act.release, silence >= 320);
	}
}

/*
 * A synthetic trace of two cellular paths: a stream of 30 frames a
 * second, each split over both paths; every ACK comes one RTT after its
 * packet, 50 ms +- 15 ms, a delayed ACK (+40 ms) now and then, never before
 * the ACK of the packet before it. The health policy sees it every 50 ms as
 * the kernel would show it (last ACK, data in flight, smoothed RTT and mean
 * deviation as TCP computes them). Path 0 goes silent at @cut_ms (no ACK
 * arrives from then on); 0: never.
 */
#define TRACE_PKTS 16384
struct trace_path {
	double sent[TRACE_PKTS], acked[TRACE_PKTS]; /* ms; acked < 0: never */
	size_t n;
	double srtt, mdev;
	size_t seen; /* the packets whose ACK fed the estimator */
};

static double trace_random(uint64_t *seed) /* 0 to 1 */
{
	*seed = *seed * 6364136223846793005ULL + 1442695040888963407ULL;
	return (double)(*seed >> 11) / (double)(1ULL << 53);
}

static void trace_send(struct trace_path *p, double t, uint64_t *seed, double cut_ms, bool cut)
{
	double rtt = 50 + 30 * (trace_random(seed) - 0.5), ack;

	if (trace_random(seed) < 0.05)
		rtt += FO_HEALTH_DELACK_MS;
	assert_true(p->n < TRACE_PKTS);
	ack = t + rtt;
	if (p->n && p->acked[p->n - 1] > ack)
		ack = p->acked[p->n - 1];
	if (cut && cut_ms > 0 && ack >= cut_ms)
		ack = -1;
	p->sent[p->n] = t;
	p->acked[p->n++] = ack;
}

/* Subflow @id of the snapshot at @now, from path @p (its estimator brought up to date). */
static void trace_subflow(struct conn_snapshot *cur, struct trace_path *p, uint32_t id,
			  const char *local, double now)
{
	double last_ack = -1;
	uint32_t unacked = 0, acked = 0;

	for (; p->seen < p->n && p->acked[p->seen] >= 0 && p->acked[p->seen] <= now; p->seen++) {
		double m = p->acked[p->seen] - p->sent[p->seen];

		if (!p->srtt) {
			p->srtt = m;
			p->mdev = m / 2;
		} else {
			p->mdev += ((m > p->srtt ? m - p->srtt : p->srtt - m) - p->mdev) / 4;
			p->srtt += (m - p->srtt) / 8;
		}
	}
	for (size_t k = 0; k < p->n && p->sent[k] <= now; k++) {
		if (p->acked[k] >= 0 && p->acked[k] <= now) {
			last_ack = p->acked[k];
			acked++;
		} else
			unacked++;
	}
	subflow(cur, id, local, unacked, last_ack < 0 ? 0 : (uint32_t)(now - last_ack), 0);
	cur->sf[cur->n - 1].bytes_acked = acked * 1448;
	cur->sf[cur->n - 1].rtt_us = (uint32_t)(p->srtt * 1000);
	cur->sf[cur->n - 1].rttvar_us = (uint32_t)(p->mdev * 1000);
}

/*
 * Runs the trace for @secs s, path 1 cut too when @both; returns when up0 was
 * released (ms), -1 when nothing was, -2 when up1 was.
 */
static double run_trace(uint64_t seed, double cut_ms, bool both, int secs, uint32_t *after)
{
	static struct trace_path paths[2];
	struct fo_health h;
	struct fo_uplink ups[2];
	struct conn_snapshot prev = {.mptcp = true}, cur = {.mptcp = true};
	double frame = 0;

	memset(paths, 0, sizeof(paths));
	two_uplinks(ups, false);
	fo_health_init(&h, ups, 2);
	for (int64_t now = 50; now <= secs * 1000; now += 50) {
		bool waiting = false;

		for (; frame <= (double)now; frame += 1000.0 / 30)
			for (int k = 0; k < 8; k++) /* 2.8 Mbit/s */
				trace_send(&paths[k % 2], frame + 0.4 * k, &seed, cut_ms,
					   both || k % 2 == 0);
		prev = cur;
		cur.n = 0;
		trace_subflow(&cur, &paths[0], 1, "10.1.0.2", (double)now);
		trace_subflow(&cur, &paths[1], 2, "10.2.0.2", (double)now);
		for (size_t k = 0; k < cur.n; k++)
			waiting |= cur.sf[k].unacked > 0;
		cur.conn_delivered = 1000;
		cur.conn_written = waiting ? 90000 : 1000;
		health_at(&h, ups, 2, &prev, &cur, now);
		*after = fo_health_release_after_ms(&cur.sf[0]);
		if (ups[0].act.release || ups[1].act.release)
			return ups[1].act.release ? -2 : (double)now;
	}
	return -1;
}

/*
 * Dead-path detection on a jittery 50 ms path: a minute of it, five draws,
 * releases nothing; the same path cut releases up0 a few of its round
 * trips after its last ACK, well before the 500 ms a fixed bound gave; both
 * cut together, nothing is released.
 */
static void test_jittery_path_trace(void **state)
{
	uint32_t after = 0;

	(void)state;
	for (uint64_t seed = 1; seed <= 5; seed++)
		assert_true(run_trace(seed, 0, false, 60, &after) == -1);
	print_message("50 +- 15 ms path: released after %u ms of silence\n", after);
	assert_true(after >= FO_HEALTH_RELEASE_MIN_MS && after < 250);
	for (uint64_t seed = 1; seed <= 5; seed++) {
		double at = run_trace(seed, 20000, false, 30, &after);

		print_message("cut at 20000 ms: released at %.0f ms (after %u ms)\n", at, after);
		assert_true(at > 20000);
		/* The last ACK up to one RTT before the cut's first loss, a tick to see it. */
		assert_true(at - 20000 <= after + 50);
		/* Both paths cut at once (the connectivity behind them): neither is released. */
		assert_true(run_trace(seed, 20000, true, 30, &after) == -1);
	}
}

/*
 * One line of a trace written by --trace (conn_write_trace()) into @s:
 * returns its t_ms, -1 at the end of the file. Lines of one t_ms are one
 * snapshot; @pending holds the first line of the next.
 */
static int64_t read_trace_tick(FILE *f, char *pending, size_t size, struct conn_snapshot *s)
{
	int64_t t = -1;

	s->n = 0;
	while (pending[0] || fgets(pending, (int)size, f)) {
		char local[64], *colon;
		long long lt;
		unsigned id, state, rtt, var, unacked, last, notsent = 0;
		unsigned long long acked, retrans, written, delivered;
		struct sockaddr_in sin = {.sin_family = AF_INET};

		if (pending[0] == 't' || pending[0] == '#') {
			pending[0] = 0; /* the header, a comment */
			continue;
		}
		if (sscanf(pending, "%lld,", &lt) != 1 || (t >= 0 && lt != t))
			break; /* the end, or the next tick's first line */
		t = lt;
		if (s->n < CONN_MAX_SUBFLOWS &&
		    /* notsent, the last column, is newer than some of the traces */
		    sscanf(pending, "%*[^,],%u,%63[^,],%u,%u,%u,%u,%u,%llu,%llu,%llu,%llu,%u", &id,
			   local, &state, &rtt, &var, &unacked, &last, &acked, &retrans, &written,
			   &delivered, &notsent) >= 11) {
			colon = strrchr(local, ':');
			if (colon)
				*colon = 0;
			sin.sin_addr.s_addr = inet_addr(local);
			s->sf[s->n] = (struct conn_subflow){.id = id,
							    .state = (uint8_t)state,
							    .rtt_us = rtt,
							    .rttvar_us = var,
							    .unacked = unacked,
							    .notsent = notsent,
							    .last_ack_ms = last,
							    .bytes_acked = acked,
							    .bytes_retrans = retrans};
			memcpy(&s->sf[s->n++].local, &sin, sizeof(sin));
			s->conn_written = written;
			s->conn_delivered = delivered;
		}
		pending[0] = 0;
	}
	return t;
}

/*
 * Replays a trace written by --trace (tests/unit/traces/@name) through the
 * health checks of two uplinks, until up0 is released: returns when (ms; -1:
 * never), and up0's subflow then in @sf. up1 is never released.
 */
static int64_t replay_trace(const char *name, struct conn_subflow *sf)
{
	char path[512], pending[256] = "";
	struct conn_snapshot prev = {.mptcp = true}, cur = {.mptcp = true};
	struct fo_health h;
	struct fo_uplink ups[2];
	int64_t t, released = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", TRACES_DIR, name);
	f = fopen(path, "r");
	assert_non_null(f);
	two_uplinks(ups, false);
	fo_health_init(&h, ups, 2);
	while (released < 0 && (t = read_trace_tick(f, pending, sizeof(pending), &cur)) >= 0) {
		health_at(&h, ups, 2, &prev, &cur, t);
		assert_false(ups[1].act.release);
		if (ups[0].act.release) {
			released = t;
			for (size_t k = 0; k < cur.n; k++)
				if (mps_uplink_view_owns(&ups[0].view, &cur.sf[k].local))
					*sf = cur.sf[k];
		}
		prev = cur;
	}
	fclose(f);
	return released;
}

/*
 * A recorded trace (tests/unit/traces/cellular-cut.csv, `--trace` in
 * `bench/run --only-cellular`'s cut run): two emulated cellular uplinks (30 ms
 * +- 8 each way, queues of 150 ms, capacity walking 2 to 15 Mbit/s), up0
 * blackholed at about 30 s. Replayed through the health checks: nothing is
 * released before the cut, up0 is released after the silence its own RTT
 * allows (a tick to see it), up1 never.
 */
static void test_recorded_cellular_cut(void **state)
{
	struct conn_subflow sf = {0};
	int64_t released = replay_trace("cellular-cut.csv", &sf);
	uint32_t bound = fo_health_release_after_ms(&sf);

	(void)state;
	print_message("recorded cellular cut: up0 released at %lld ms, %u ms after its last ACK "
		      "(bound %u ms)\n",
		      (long long)released, sf.last_ack_ms, bound);
	/* The run's clock starts with mpstream's monitor, up to a second after the bench's. */
	assert_true(released >= 28000 && released <= 32000);
	assert_true(sf.last_ack_ms >= bound && sf.last_ack_ms <= bound + 100);
	/* On an 84 ms path: well before the fixed 500 ms there was. */
	assert_true(sf.last_ack_ms < 400);
}

/*
 * A recorded trace of the sender's own output to up0 dropped (an nft output
 * rule, tests/unit/traces/output-drop.csv, from netns_outputdrop's lab) at
 * 7.9 s: up0's data waits unsent, with nothing in flight, so no rule that
 * looks at data in flight alone sees it. It is released within a few ticks of
 * its last acknowledged byte, and up1 never.
 */
static void test_recorded_output_drop(void **state)
{
	struct conn_subflow sf = {0};
	int64_t released = replay_trace("output-drop.csv", &sf);

	(void)state;
	print_message("recorded output drop at about 7900 ms: up0 released at %lld ms, %u bytes "
		      "unsent, %u segments in flight\n",
		      (long long)released, sf.notsent, sf.unacked);
	assert_true(released >= 7900 && released <= 7900 + 400);
	assert_int_equal(sf.unacked, 0);
	assert_true(sf.notsent > 0);
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
	health_at(h, ups, 2, prev, cur, now);
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
	/* Its subflow closed on purpose: not down, its path not tried. */
	for (int k = 0; k < 30; k++) {
		prev = cur;
		cur.n = 0;
		a0 += 40000;
		subflow(&cur, 1, "10.1.0.2", 0, 5, 0);
		cur.sf[0].rtt_us = 20000;
		cur.sf[0].bytes_acked = a0;
		t += 100;
		health_at(&h, ups, ARRAY_SIZE(ups), &prev, &cur, t);
		assert_int_not_equal(ups[1].health.state, FO_DOWN);
		assert_false(ups[1].act.reach);
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
	assert_true(ups[1].health.benched_until_ms - t_offset_ms - t == 2 * FO_HEALTH_BENCH_MS);
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

/*
 * Recorded cellular links: up0 falls silent for 1.2 s (down); up1
 * carries everything meanwhile, its queue full (1.1 s RTT). up0's fresh
 * subflow runs at 20 ms with an empty queue: up1 is not measured against it
 * until up0 has been up for FO_HEALTH_BENCH_SETTLED_MS (it was set aside for
 * 30 s at once before). A slow up1 is still set aside after that.
 */
static void test_slow_judged_against_settled(void **state)
{
	struct fo_health h;
	struct fo_uplink ups[2];
	struct conn_snapshot prev = {.mptcp = true}, cur = {.mptcp = true};
	uint64_t a0 = 0, a1 = 0;
	int64_t t = 1000, back = -1, benched_at = -1;

	(void)state;
	two_uplinks(ups, false);
	fo_health_init(&h, ups, 2);
	for (; t < 8000; t += 100)
		speed_tick(&h, ups, &prev, &cur, t, 20, 30, &a0, &a1, false);
	for (; t < 9300; t += 100)
		speed_tick(&h, ups, &prev, &cur, t, 20, 600, &a0, &a1, true);
	assert_int_equal(ups[0].health.state, FO_DOWN);
	for (; t < 40000 && benched_at < 0; t += 100) {
		speed_tick(&h, ups, &prev, &cur, t, 20, 1100, &a0, &a1, false);
		if (back < 0 && ups[0].health.state != FO_DOWN)
			back = t;
		if (ups[1].act.bench == 1)
			benched_at = t;
	}
	print_message("up0 back at %lld ms (%s), up1 set aside at %lld ms: %s\n", (long long)back,
		      fo_health_name(&ups[0]), (long long)benched_at, ups[1].act.bench_why);
	assert_true(back > 0);
	assert_true(benched_at >= back + FO_HEALTH_BENCH_SETTLED_MS);
	assert_true(benched_at <=
		    back + FO_HEALTH_DEGRADED_HOLD_MS + FO_HEALTH_BENCH_SETTLED_MS + 1500);
}

/*
 * A queue the delay budget holds is no harm: up1 at 1 s beside up0 at 60 ms
 * is left alone with a budget of 3 s (the automatic budget on deep cellular
 * queues), set aside with one of 1 s (its queue is more than a third of it).
 */
static void test_slow_within_budget(void **state)
{
	(void)state;
	for (int budget = 1000; budget <= 3000; budget += 2000) {
		struct fo_health h;
		struct fo_uplink ups[2];
		struct conn_snapshot prev = {.mptcp = true}, cur = {.mptcp = true};
		uint64_t a0 = 0, a1 = 0;
		int64_t t, benched_at = -1;

		two_uplinks(ups, false);
		fo_health_init(&h, ups, 2);
		h.budget_ms = budget;
		for (t = 1000; t < 20000; t += 100) {
			speed_tick(&h, ups, &prev, &cur, t, 60, t < 7000 ? 70 : 1000, &a0, &a1,
				   false);
			if (ups[1].act.bench == 1 && benched_at < 0)
				benched_at = t;
		}
		print_message("budget %d ms: up1 at 1000 ms beside 60 ms %s\n", budget,
			      benched_at < 0 ? "left alone" : "set aside");
		assert_true((benched_at >= 0) == (budget == 1000));
	}
}

/*
 * A bad link that is not dead: up0's ACKs stop for 1.5 s every 3 s (its RTT
 * swings) and it comes back at once each time. Released at every swing (its
 * data goes on the others: the delay stays down), it is shown degraded
 * throughout, not down and up; an outage of over FO_HEALTH_FLAP_MS is shown
 * down; once it has been calm for FO_HEALTH_CALM_MS, a release is down at once.
 */
static void test_swinging_link(void **state)
{
	struct fo_health h;
	struct fo_uplink ups[2];
	struct conn_snapshot prev = {.mptcp = true}, cur = {.mptcp = true};
	int changes = 0, releases = 0;
	int64_t t, released_at = 0;

	(void)state;
	two_uplinks(ups, false);
	fo_health_init(&h, ups, 2);
	block_tick(&h, ups, &prev, &cur, 1000, 0, 1, true);
	block_tick(&h, ups, &prev, &cur, 1100, 100, 1, true);
	block_tick(&h, ups, &prev, &cur, 1150, 150, 1, true);
	assert_true(ups[0].act.release);
	assert_string_equal(fo_health_name(&ups[0]), "down");
	/* A fresh subflow works 0.85 s later: it comes and goes. */
	block_tick(&h, ups, &prev, &cur, 2000, 0, 1, true);
	assert_string_equal(fo_health_name(&ups[0]), "degraded");
	assert_true(ups[0].act.changed);
	print_message("back: %s\n", ups[0].health.reason);
	assert_non_null(strstr(ups[0].health.reason, "back 0.8 s after its release"));
	/* Swings for 30 s: released at each, shown degraded throughout. */
	for (t = 2100; t < 32000; t += 50) {
		int64_t in_swing = (t - 2000) % 3000;

		block_tick(&h, ups, &prev, &cur, t, in_swing < 1500 ? (uint32_t)in_swing : 0, 1,
			   true);
		releases += ups[0].act.release;
		changes += ups[0].act.changed;
		assert_string_equal(fo_health_name(&ups[0]), "degraded");
	}
	print_message("swings: %d releases, %d changes shown\n", releases, changes);
	assert_int_equal(releases, 10);
	assert_int_equal(changes, 0);
	/* An outage: degraded while it could be a swing, then down, once. */
	changes = 0;
	for (t = 32050; t < 32000 + 2 * FO_HEALTH_FLAP_MS; t += 50) {
		block_tick(&h, ups, &prev, &cur, t, (uint32_t)(t - 32000), 1, true);
		if (ups[0].act.release)
			released_at = t;
		changes += ups[0].act.changed;
	}
	assert_true(released_at > 0);
	assert_int_equal(changes, 1);
	assert_string_equal(fo_health_name(&ups[0]), "down");
	/* Back after it: up. A minute after it last came back soon: down at once. */
	block_tick(&h, ups, &prev, &cur, t, 0, 1, true);
	assert_string_equal(fo_health_name(&ups[0]), "up");
	for (t += 100; t < 32000 + FO_HEALTH_CALM_MS; t += 100)
		block_tick(&h, ups, &prev, &cur, t, 0, 1, true);
	block_tick(&h, ups, &prev, &cur, t, 100, 1, true);
	block_tick(&h, ups, &prev, &cur, t + 50, 150, 1, true);
	assert_true(ups[0].act.release);
	assert_string_equal(fo_health_name(&ups[0]), "down");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blackhole_and_back),
		cmocka_unit_test(test_degraded_hysteresis),
		cmocka_unit_test(test_output_dropped),
		cmocka_unit_test(test_not_dead),
		cmocka_unit_test(test_link_and_subflow_loss),
		cmocka_unit_test(test_link_down_release),
		cmocka_unit_test(test_modem_lost_network),
		cmocka_unit_test(test_modem_lost_alone),
		cmocka_unit_test(test_backup_promotion),
		cmocka_unit_test(test_stale_window_blackhole),
		cmocka_unit_test(test_stops_reading_after_flow),
		cmocka_unit_test(test_sacks_are_progress),
		cmocka_unit_test(test_slow_path_benched),
		cmocka_unit_test(test_slow_judged_against_settled),
		cmocka_unit_test(test_slow_within_budget),
		cmocka_unit_test(test_dead_path_released),
		cmocka_unit_test(test_first_sample_after_idle),
		cmocka_unit_test(test_join_beside_stalled),
		cmocka_unit_test(test_swinging_link),
		cmocka_unit_test(test_release_after_rtt),
		cmocka_unit_test(test_jittery_path_trace),
		cmocka_unit_test(test_recorded_cellular_cut),
		cmocka_unit_test(test_recorded_output_drop),
		cmocka_unit_test(test_cross_family_never_closed),
	};

	return RUN_AT_CLOCK_OFFSETS(tests, t_offset_ms);
}
