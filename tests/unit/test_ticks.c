// SPDX-License-Identifier: MIT
/*
 * The driver (sender/ticks.h) on a clock of the test's: which consumers run,
 * in which order, how often, with and without a connection, after a failed
 * sample, after a late step; and the thread on the real clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ticks.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define MS 1000000LL

/* What the fake consumers saw: one letter per call, and counts. */
struct seen {
	char calls[4096];
	size_t len;
	int count[SND_TICK_STAGES];
	int connected, disconnected;
	int last_fd;
	bool had_cur[SND_TICK_STAGES]; /* the last call's t->cur != NULL */
	bool sample_fails;
	bool wrong_opaque; /* the rate consumer was handed another's data */
	atomic_int thread_calls;
};

static int64_t fake_now;
static int64_t fake_clock(void)
{
	return fake_now;
}

static const char letter[SND_TICK_STAGES] = "sfrpR";
static int dummy_snapshot; /* stands for the monitor's snapshot: only its address is read */
static struct seen *seen;

static void record(enum snd_tick_stage s, struct snd_tick *t)
{
	if (seen->len + 1 < sizeof(seen->calls))
		seen->calls[seen->len++] = letter[s];
	seen->count[s]++;
	seen->had_cur[s] = t->cur != NULL;
	seen->last_fd = t->fd;
	atomic_fetch_add(&seen->thread_calls, 1);
}

static void on_sample(void *opaque, struct snd_tick *t)
{
	(void)opaque;
	t->cur = seen->sample_fails ? NULL : (const struct conn_snapshot *)&dummy_snapshot;
	record(SND_TICK_SAMPLE, t);
}

static void on_failover(void *opaque, struct snd_tick *t)
{
	(void)opaque;
	record(SND_TICK_FAILOVER, t);
}

static void on_rate(void *opaque, struct snd_tick *t)
{
	/* No cmocka assertion here: the thread's test calls it on the driver's thread. */
	if (opaque != seen)
		seen->wrong_opaque = true;
	record(SND_TICK_RATE, t);
}

static void on_publish(void *opaque, struct snd_tick *t)
{
	(void)opaque;
	record(SND_TICK_PUBLISH, t);
}

static void on_report(void *opaque, struct snd_tick *t)
{
	(void)opaque;
	record(SND_TICK_REPORT, t);
}

static void on_connected(void *opaque, struct snd_tick *t)
{
	(void)opaque;
	seen->connected++;
	seen->last_fd = t->fd;
}

static void on_disconnected(void *opaque, struct snd_tick *t)
{
	(void)opaque;
	/* Still the connection's: the last report reads it. */
	assert_true(t->fd >= 0);
	seen->disconnected++;
}

static const struct snd_tick_consumer rate = {on_rate, NULL, 100};

static struct snd_ticks *make(struct seen *s, int64_t (*clock)(void))
{
	struct snd_ticks_config cfg = {
		.stage =
			{
				[SND_TICK_SAMPLE] = {on_sample, NULL, 50},
				[SND_TICK_FAILOVER] = {on_failover, NULL, 50},
				/* Ignored: the rate consumer comes with the connection. */
				[SND_TICK_RATE] = {on_rate, NULL, 10},
				[SND_TICK_PUBLISH] = {on_publish, NULL, 100},
				[SND_TICK_REPORT] = {on_report, NULL, 1000},
			},
		.connected = on_connected,
		.disconnected = on_disconnected,
		.clock_ns = clock,
	};
	struct snd_ticks *d;

	memset(s, 0, sizeof(*s));
	seen = s;
	fake_now = 5000 * MS;
	assert_int_equal(snd_ticks_create(&cfg, &d), 0);
	return d;
}

/* Run the driver from fake_now to @until_ns, waking when it says. */
static void run_until(struct snd_ticks *d, int64_t until_ns)
{
	while (fake_now < until_ns) {
		int64_t next = snd_ticks_step(d, fake_now);

		assert_true(next > fake_now);
		/* Nothing left to run: the time passes all the same. */
		fake_now = next == INT64_MAX ? until_ns : next;
	}
}

static struct snd_tick_consumer rate_for(struct seen *s)
{
	struct snd_tick_consumer c = rate;

	c.opaque = s;
	return c;
}

/* No connection, not idle (a reconnect's back-off): nothing runs, nothing wakes. */
static void test_between_connections(void **state)
{
	struct seen s;
	struct snd_ticks *d = make(&s, fake_clock);

	(void)state;
	assert_false(snd_ticks_connected(d));
	assert_int_equal(snd_ticks_step(d, fake_now), INT64_MAX);
	assert_int_equal(s.len, 0);
	snd_ticks_destroy(d);
}

/* Idle (standby): failover and the page only, at their periods, without a sample. */
static void test_idle(void **state)
{
	struct seen s;
	struct snd_ticks *d = make(&s, fake_clock);

	(void)state;
	snd_ticks_set_idle(d, true);
	run_until(d, fake_now + 1000 * MS);
	assert_int_equal(s.count[SND_TICK_SAMPLE], 0);
	assert_int_equal(s.count[SND_TICK_RATE], 0);
	assert_int_equal(s.count[SND_TICK_REPORT], 0);
	assert_int_equal(s.count[SND_TICK_FAILOVER], 20);
	assert_int_equal(s.count[SND_TICK_PUBLISH], 10);
	assert_false(s.had_cur[SND_TICK_FAILOVER]);
	assert_int_equal(s.last_fd, -1);
	/* The first step: failover before the page. */
	assert_memory_equal(s.calls, "fpffp", 5);
	snd_ticks_set_idle(d, false);
	s.len = 0;
	assert_int_equal(snd_ticks_step(d, fake_now + 500 * MS), INT64_MAX);
	assert_int_equal(s.len, 0);
	snd_ticks_destroy(d);
}

/* A connection handed over off the beat: every stage at once, in step with it. */
static void test_connect_off_beat(void **state)
{
	struct seen s;
	struct snd_ticks *d = make(&s, fake_clock);
	struct snd_tick_consumer r = rate_for(&s);
	int64_t at;

	(void)state;
	snd_ticks_set_idle(d, true);
	run_until(d, fake_now + 130 * MS);
	snd_ticks_set_idle(d, false);
	fake_now += 17 * MS;
	at = fake_now;
	snd_ticks_connect(d, 8, &r);
	s.len = 0;
	assert_int_equal(snd_ticks_step(d, at) - at, 50 * MS);
	assert_memory_equal(s.calls, "sfrpR", 5);
	fake_now = at + 50 * MS;
	run_until(d, at + 101 * MS);
	assert_memory_equal(s.calls, "sfrpRsfsfrp", 11);
	snd_ticks_destroy(d);
}

/* Connected: every stage, in the order, at its period. */
static void test_connected_order(void **state)
{
	struct seen s;
	struct snd_ticks *d = make(&s, fake_clock);
	struct snd_tick_consumer r = rate_for(&s);

	(void)state;
	snd_ticks_connect(d, 7, &r);
	assert_true(snd_ticks_connected(d));
	assert_int_equal(s.connected, 1);
	run_until(d, fake_now + 1000 * MS);
	/* One step at the connection's start: all five; 50 ms on: sample and failover. */
	assert_memory_equal(s.calls,
			    "sfrpRsf"
			    "sfrp",
			    11);
	assert_int_equal(s.count[SND_TICK_SAMPLE], 20);
	assert_int_equal(s.count[SND_TICK_FAILOVER], 20);
	assert_int_equal(s.count[SND_TICK_RATE], 10);
	assert_int_equal(s.count[SND_TICK_PUBLISH], 10);
	assert_int_equal(s.count[SND_TICK_REPORT], 1);
	assert_true(s.had_cur[SND_TICK_FAILOVER] && s.had_cur[SND_TICK_RATE]);
	assert_int_equal(s.last_fd, 7);
	snd_ticks_disconnect(d);
	assert_int_equal(s.disconnected, 1);
	snd_ticks_disconnect(d); /* nothing to take back */
	assert_int_equal(s.disconnected, 1);
	snd_ticks_destroy(d);
}

/* A sample that fails: failover judges without it; rate, page and report wait. */
static void test_failed_sample(void **state)
{
	struct seen s;
	struct snd_ticks *d = make(&s, fake_clock);
	struct snd_tick_consumer r = rate_for(&s);

	(void)state;
	snd_ticks_connect(d, 3, &r);
	s.sample_fails = true;
	run_until(d, fake_now + 500 * MS);
	assert_int_equal(s.count[SND_TICK_SAMPLE], 10);
	assert_int_equal(s.count[SND_TICK_FAILOVER], 10);
	assert_false(s.had_cur[SND_TICK_FAILOVER]);
	assert_int_equal(s.count[SND_TICK_RATE], 0);
	assert_int_equal(s.count[SND_TICK_PUBLISH], 0);
	assert_int_equal(s.count[SND_TICK_REPORT], 0);
	/* It works again: the stages that waited run at that tick. */
	s.sample_fails = false;
	s.len = 0;
	snd_ticks_step(d, fake_now);
	assert_memory_equal(s.calls, "sfrpR", 5);
	snd_ticks_destroy(d);
}

/* After the connection is taken back its rate consumer is never called again. */
static void test_disconnect_ends_rate(void **state)
{
	struct seen s;
	struct snd_ticks *d = make(&s, fake_clock);
	struct snd_tick_consumer r = rate_for(&s);
	int rates;

	(void)state;
	snd_ticks_connect(d, 4, &r);
	run_until(d, fake_now + 300 * MS);
	rates = s.count[SND_TICK_RATE];
	assert_int_equal(rates, 3);
	snd_ticks_disconnect(d);
	snd_ticks_set_idle(d, true); /* standby: failover and the page go on, without it */
	run_until(d, fake_now + 1000 * MS);
	assert_int_equal(s.count[SND_TICK_RATE], rates);
	assert_int_equal(s.count[SND_TICK_SAMPLE], 6);
	assert_int_equal(s.last_fd, -1);
	/* A connection without rate control (--copy's is still given; none here). */
	snd_ticks_connect(d, 5, NULL);
	run_until(d, fake_now + 300 * MS);
	assert_int_equal(s.count[SND_TICK_RATE], rates);
	assert_int_equal(s.connected, 2);
	snd_ticks_destroy(d); /* takes the connection back */
	assert_int_equal(s.disconnected, 2);
}

/* A step 10 s late runs each consumer once, then goes on at the periods. */
static void test_late_step(void **state)
{
	struct seen s;
	struct snd_ticks *d = make(&s, fake_clock);
	struct snd_tick_consumer r = rate_for(&s);
	int64_t next;

	(void)state;
	snd_ticks_connect(d, 9, &r);
	run_until(d, fake_now + 100 * MS);
	memset(s.count, 0, sizeof(s.count));
	fake_now += 10000 * MS;
	next = snd_ticks_step(d, fake_now);
	for (int k = 0; k < SND_TICK_STAGES; k++)
		assert_int_equal(s.count[k], 1);
	assert_int_equal(next - fake_now, 50 * MS);
	run_until(d, fake_now + 1000 * MS);
	assert_int_equal(s.count[SND_TICK_SAMPLE], 20);
	assert_int_equal(s.count[SND_TICK_RATE], 10);
	snd_ticks_destroy(d);
}

/* A clock near its end (a bad offset, a box up for centuries): no wrap, no burst. */
static void test_clock_far_on(void **state)
{
	struct seen s;
	struct snd_ticks *d = make(&s, fake_clock);
	struct snd_tick_consumer r = rate_for(&s);

	(void)state;
	fake_now = INT64_MAX - 1010 * MS;
	snd_ticks_connect(d, 2, &r);
	run_until(d, INT64_MAX - 10 * MS);
	assert_int_equal(s.count[SND_TICK_SAMPLE], 20);
	assert_int_equal(s.count[SND_TICK_RATE], 10);
	/* The last beats are past the end of the clock: due at its end, never before now. */
	assert_true(snd_ticks_step(d, INT64_MAX - 1) == INT64_MAX);
	snd_ticks_destroy(d);
}

/* The thread will not run on a test's clock (its waits are on CLOCK_MONOTONIC). */
static void test_thread_needs_monotonic(void **state)
{
	struct seen s;
	struct snd_ticks *d = make(&s, fake_clock);

	(void)state;
	assert_int_equal(snd_ticks_start(d), -EINVAL);
	snd_ticks_destroy(d);
}

/* The thread, on the real clock: it runs the consumers, and stops. */
static void test_thread(void **state)
{
	struct seen s;
	struct snd_ticks *d = make(&s, NULL);
	struct timespec ts = {.tv_nsec = 20 * MS};
	struct snd_tick_consumer r = rate_for(&s);

	(void)state;
	assert_int_equal(snd_ticks_start(d), 0);
	snd_ticks_connect(d, 6, &r);
	for (int k = 0; k < 250 && atomic_load(&s.thread_calls) < 30; k++)
		nanosleep(&ts, NULL);
	snd_ticks_disconnect(d);
	printf("# the thread ran %d consumers\n", atomic_load(&s.thread_calls));
	assert_true(atomic_load(&s.thread_calls) >= 30);
	assert_true(s.count[SND_TICK_RATE] >= 1);
	assert_false(s.wrong_opaque);
	snd_ticks_stop(d);
	snd_ticks_stop(d);
	snd_ticks_destroy(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_between_connections),
		cmocka_unit_test(test_idle),
		cmocka_unit_test(test_connect_off_beat),
		cmocka_unit_test(test_thread_needs_monotonic),
		cmocka_unit_test(test_connected_order),
		cmocka_unit_test(test_failed_sample),
		cmocka_unit_test(test_disconnect_ends_rate),
		cmocka_unit_test(test_late_step),
		cmocka_unit_test(test_clock_far_on),
		cmocka_unit_test(test_thread),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
