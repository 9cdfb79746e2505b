// SPDX-License-Identifier: MIT
/*
 * Failover's actions against a fake routing: what the policy decides is
 * carried out once, in order, with the kick's two steps apart in time; a
 * routing call that fails is survived. The reach check is real: a TCP
 * connection attempt to a listener on loopback.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock_offsets.h"
#include "failover.h"
#include "loopback.h"

struct fake {
	struct mps_uplink_view link[2];
	int get_ret;
	int unplugs[2], replugs[2];
	int64_t unplug_at[2], replug_at[2];
	int replug_ret; /* the next replug's answer, then 0 */
	int backup_calls, set_backup_ret;
	bool backup_now[2];
	int64_t now; /* the test's clock, for the times above */
	struct fo_radio radio[2];
	bool modem[2]; /* its radio is answered; not a modem otherwise */
};

static int fake_get(void *ctx, size_t i, struct mps_uplink_view *out)
{
	struct fake *f = ctx;

	if (f->get_ret)
		return f->get_ret;
	*out = f->link[i];
	return 0;
}

static int fake_unplug(void *ctx, size_t i)
{
	struct fake *f = ctx;

	f->unplugs[i]++;
	f->unplug_at[i] = f->now;
	return 0;
}

static int fake_replug(void *ctx, size_t i)
{
	struct fake *f = ctx;

	int ret = f->replug_ret;

	f->replug_ret = 0;
	f->replugs[i]++;
	f->replug_at[i] = f->now;
	return ret;
}

static int fake_set_backup(void *ctx, size_t i, bool backup)
{
	struct fake *f = ctx;

	f->backup_calls++;
	if (f->set_backup_ret)
		return f->set_backup_ret;
	f->backup_now[i] = backup;
	return 0;
}

static int fake_radio(void *ctx, size_t i, struct fo_radio *out)
{
	struct fake *f = ctx;

	if (!f->modem[i])
		return -ENODEV;
	*out = f->radio[i];
	return 0;
}

static const struct fo_routing_ops fake_ops = {
	.get = fake_get,
	.unplug = fake_unplug,
	.replug = fake_replug,
	.set_backup = fake_set_backup,
	.radio = fake_radio,
};

static void fake_init(struct fake *f, bool backup1)
{
	memset(f, 0, sizeof(*f));
	f->link[0] = (struct mps_uplink_view){.name = "lo", .installed = true, .link_up = true};
	f->link[0].side[0] = (struct mps_uplink_side){.installed = true};
	mps_ip_parse(&f->link[0].side[0].addr, "127.0.0.1");
	f->link[1] = (struct mps_uplink_view){
		.name = "up1", .installed = true, .link_up = true, .backup = backup1};
	f->link[1].side[0] = (struct mps_uplink_side){.installed = true};
	mps_ip_parse(&f->link[1].side[0].addr, "127.0.0.2");
	f->backup_now[1] = backup1;
}

/* A subflow from @local to @remote: @unacked segments out, the last ACK @last_ack_ms ago. */
static void subflow(struct conn_snapshot *s, uint32_t id, const char *local,
		    const struct sockaddr_in *remote, uint32_t unacked, uint32_t last_ack_ms)
{
	struct conn_subflow *sf = &s->sf[s->n++];
	struct sockaddr_in *sin = (struct sockaddr_in *)&sf->local;

	memset(sf, 0, sizeof(*sf));
	sf->id = id;
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = inet_addr(local);
	memcpy(&sf->remote, remote, sizeof(*remote));
	sf->state = TCP_ESTABLISHED;
	sf->unacked = unacked;
	sf->last_ack_ms = last_ack_ms;
	sf->rtt_us = 20000;
}

static int64_t t_offset_ms; /* every test runs at each of clock_offsets[] */

/*
 * One tick at @now: up0 silent for @silence0 ms with data out (0: fine), up1
 * fine; the connection waits for data while up0 is silent.
 */
static void tick(struct failover *fo, struct fake *f, const struct sockaddr_in *server, int64_t now,
		 uint32_t silence0)
{
	struct conn_snapshot cur = {.mptcp = true, .conn_delivered = 1000};

	subflow(&cur, 1, "127.0.0.1", server, silence0 ? 10 : 0, silence0 ? silence0 : 5);
	subflow(&cur, 2, "127.0.0.2", server, 0, 5);
	cur.conn_written = silence0 ? 9000 : 1000;
	f->now = now;
	fo_tick(fo, &cur, now + t_offset_ms);
}

/* up0 working again: ticks until it shows as up, @max at most. Returns the time reached. */
static int64_t tick_until_up(struct failover *fo, struct fake *f, const struct sockaddr_in *server,
			     int64_t t, int max)
{
	for (int k = 0; k < max && strcmp(fo_health_name(fo_uplink(fo, 0)), "up"); k++)
		tick(fo, f, server, t += 100, 0);
	return t;
}

/* What each test works with: a listener that answers the attempts, the fake routing, failover on it. */
struct lab {
	struct sockaddr_in server;
	int lfd;
	struct fake f;
	struct failover *fo;
};

static int lab_setup(void **state, bool backup1)
{
	struct lab *l = calloc(1, sizeof(*l));

	if (!l)
		return -1;
	l->lfd = loopback_listener(64, &l->server);
	fake_init(&l->f, backup1);
	if (fo_create(&fake_ops, &l->f, 2, &l->fo)) {
		close(l->lfd);
		free(l);
		return -1;
	}
	*state = l;
	return 0;
}

static int setup(void **state)
{
	return lab_setup(state, false);
}

static int setup_backup(void **state)
{
	return lab_setup(state, true);
}

static int teardown(void **state)
{
	struct lab *l = *state;

	fo_destroy(l->fo);
	close(l->lfd);
	free(l);
	return 0;
}

/*
 * A dead uplink the others wait for is released at once (unplugged, once);
 * its path is tried; when an attempt gets through, it is kicked: replugged,
 * no sooner than the server can have heard of the unplug; a kick that did
 * not bring it back is followed by one that unplugs it first.
 */
static void test_release_reach_kick(void **state)
{
	struct lab *l = *state;
	int64_t t = 1000;

	tick(l->fo, &l->f, &l->server, t, 0);
	assert_string_equal(fo_health_name(fo_uplink(l->fo, 0)), "up");
	assert_int_equal(l->f.unplugs[0] + l->f.replugs[0], 0);

	/* 800 ms on, silent since, the connection waiting for data: released. */
	tick(l->fo, &l->f, &l->server, t += 800, 800);
	assert_int_equal(l->f.unplugs[0], 1);
	assert_string_equal(fo_health_name(fo_uplink(l->fo, 0)), "down");
	tick(l->fo, &l->f, &l->server, t += 100, 900);
	assert_int_equal(l->f.unplugs[0], 1); /* once */

	/*
	 * Down and its path tried; the listener answers: kicked within a few
	 * ticks. Its endpoint was removed when it was released: added again
	 * at once, no sooner than the server can have heard of the removal.
	 */
	for (int k = 0; k < 30 && !l->f.replugs[0]; k++)
		tick(l->fo, &l->f, &l->server, t += 100, 1200);
	assert_int_equal(l->f.replugs[0], 1);
	assert_int_equal(l->f.unplugs[0], 1);
	assert_true(l->f.replug_at[0] - l->f.unplug_at[0] >= FO_REPLUG_MIN_MS);
	assert_int_equal(l->f.unplugs[1] + l->f.replugs[1], 0); /* the other is left alone */

	/* Still down (the fresh subflow did not come): the next kick removes it, then adds it. */
	for (int k = 0; k < 60 && l->f.unplugs[0] < 2; k++)
		tick(l->fo, &l->f, &l->server, t += 100, 1200);
	assert_int_equal(l->f.unplugs[0], 2);
	assert_int_equal(l->f.replugs[0], 1);
	for (int k = 0; k < 30 && l->f.replugs[0] < 2; k++)
		tick(l->fo, &l->f, &l->server, t += 100, 1200);
	assert_int_equal(l->f.replugs[0], 2);
	assert_true(l->f.replug_at[0] - l->f.unplug_at[0] >= FO_REPLUG_MIN_MS);
	assert_true(l->f.replug_at[0] - l->f.unplug_at[0] <= FO_REPLUG_MAX_MS);

	/*
	 * Its fresh subflow works: back within FO_HEALTH_FLAP_MS of its release,
	 * degraded for the hold; then up again, nothing more done.
	 */
	t = tick_until_up(l->fo, &l->f, &l->server, t, 5);
	assert_string_equal(fo_health_name(fo_uplink(l->fo, 0)), "degraded");
	t = tick_until_up(l->fo, &l->f, &l->server, t, FO_HEALTH_DEGRADED_HOLD_MS / 100 + 10);
	assert_string_equal(fo_health_name(fo_uplink(l->fo, 0)), "up");
	assert_int_equal(l->f.unplugs[0], 2);
	assert_int_equal(l->f.replugs[0], 2);
}

/*
 * Released, then its endpoint put back by someone else (routing, when the
 * link came back): the kick's replug is refused. It is removed then, and
 * added again after the wait, rather than left out.
 */
static void test_refused_replug(void **state)
{
	struct lab *l = *state;
	int64_t t = 1000;

	tick(l->fo, &l->f, &l->server, t, 0);
	tick(l->fo, &l->f, &l->server, t += 800, 800);
	assert_int_equal(l->f.unplugs[0], 1);
	l->f.replug_ret = -EBUSY;
	for (int k = 0; k < 30 && l->f.replugs[0] < 1; k++)
		tick(l->fo, &l->f, &l->server, t += 100, 1200);
	assert_int_equal(l->f.replugs[0], 1); /* refused */
	assert_int_equal(l->f.unplugs[0], 2); /* so removed */
	for (int k = 0; k < 30 && l->f.replugs[0] < 2; k++)
		tick(l->fo, &l->f, &l->server, t += 100, 1200);
	assert_int_equal(l->f.replugs[0], 2);
	assert_true(l->f.replug_at[0] - l->f.unplug_at[0] >= FO_REPLUG_MIN_MS);
}

/*
 * A server that refuses joins: the attempt gets an answer (here a listener),
 * but the kicked uplink never comes back. The kicks back off (1.5 s doubling
 * to 48 s) instead of one every 1.5 s.
 */
static void test_refused_joins_back_off(void **state)
{
	struct lab *l = *state;
	int64_t t = 1000;

	for (; t < 1000 + 120000; t += 100)
		tick(l->fo, &l->f, &l->server, t, 1200);
	print_message("kicks in 2 minutes of a path that answers and a server that takes no "
		      "join: %d\n",
		      l->f.unplugs[0]);
	assert_true(l->f.unplugs[0] >= 3);
	assert_true(l->f.unplugs[0] <= 8); /* without the back-off: about 60 */
	assert_true(fo_uplink(l->fo, 0)->reach.failed_kicks >= 3);

	/* It comes back: the count starts over. */
	t = tick_until_up(l->fo, &l->f, &l->server, t, 30);
	tick(l->fo, &l->f, &l->server, t += 100, 0);
	assert_int_equal(fo_uplink(l->fo, 0)->reach.failed_kicks, 0);
}

/* No primary works: the backups' flags are cleared, and set again when one does. */
static void test_backups(void **state)
{
	struct lab *l = *state;

	tick(l->fo, &l->f, &l->server, 1000, 0);
	assert_int_equal(l->f.backup_calls, 0);
	l->f.link[0].link_up = false;
	tick(l->fo, &l->f, &l->server, 1100, 0);
	assert_int_equal(l->f.backup_calls, 1);
	assert_false(l->f.backup_now[1]);
	tick(l->fo, &l->f, &l->server, 1200, 0);
	assert_int_equal(l->f.backup_calls, 1); /* once */
	l->f.link[0].link_up = true;
	tick(l->fo, &l->f, &l->server, 1300, 0);
	assert_int_equal(l->f.backup_calls, 2);
	assert_true(l->f.backup_now[1]);

	/* Routing refuses: logged, and failover goes on. */
	l->f.set_backup_ret = -EIO;
	l->f.link[0].link_up = false;
	tick(l->fo, &l->f, &l->server, 1400, 0);
	assert_int_equal(l->f.backup_calls, 3);
	assert_string_equal(fo_health_name(fo_uplink(l->fo, 0)), "down");
}

/* Routing cannot tell: the uplink keeps its last view; no connection: no path is tried. */
static void test_no_view_no_connection(void **state)
{
	struct lab *l = *state;

	assert_int_equal(fo_count(l->fo), 2);
	assert_null(fo_uplink(l->fo, 2));
	tick(l->fo, &l->f, &l->server, 1000, 0);
	l->f.get_ret = -ENOENT;
	tick(l->fo, &l->f, &l->server, 1100, 0);
	assert_string_equal(fo_uplink(l->fo, 0)->view.name, "lo");
	assert_true(fo_uplink(l->fo, 0)->view.installed);
	l->f.get_ret = 0;
	for (int64_t t = 1200; t < 5000; t += 100)
		fo_tick(l->fo, NULL, t + t_offset_ms);
	assert_int_equal(l->f.unplugs[0] + l->f.unplugs[1] + l->f.replugs[0] + l->f.replugs[1], 0);
	fo_destroy(l->fo);
	l->fo = NULL;
	assert_int_equal(fo_create(&fake_ops, &l->f, FO_MAX_UPLINKS + 1, &l->fo), -EINVAL);
	assert_null(l->fo);
	fo_destroy(NULL);
}

/* A modem off its network: released at once, once; shown down with why; up again after. */
static void test_modem_off_network(void **state)
{
	struct lab *l = *state;
	int64_t t = 1000;

	l->f.modem[0] = true;
	l->f.radio[0] = (struct fo_radio){.modem = true, .registered = true, .said = "LTE 70%"};
	tick(l->fo, &l->f, &l->server, t, 0);
	assert_string_equal(fo_health_name(fo_uplink(l->fo, 0)), "up");
	assert_true(fo_uplink(l->fo, 0)->radio.registered);
	l->f.radio[0] = (struct fo_radio){.modem = true, .said = "searching"};
	for (int k = 0; k < 5; k++)
		tick(l->fo, &l->f, &l->server, t += 100, 0);
	assert_int_equal(l->f.unplugs[0], 1);
	assert_int_equal(l->f.unplugs[1], 0);
	assert_string_equal(fo_health_name(fo_uplink(l->fo, 0)), "down");
	assert_non_null(strstr(fo_uplink(l->fo, 0)->health.reason, "modem lost its network"));
	/* Not a modem: nothing of a radio. */
	assert_false(fo_uplink(l->fo, 1)->radio.modem);
	l->f.radio[0].registered = true;
	t = tick_until_up(l->fo, &l->f, &l->server, t, 50);
	assert_string_equal(fo_health_name(fo_uplink(l->fo, 0)), "up");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_release_reach_kick, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_replug, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_joins_back_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backups, setup_backup, teardown),
		cmocka_unit_test_setup_teardown(test_no_view_no_connection, setup, teardown),
		cmocka_unit_test_setup_teardown(test_modem_off_network, setup, teardown),
	};

	return RUN_AT_CLOCK_OFFSETS(tests, t_offset_ms);
}
