// SPDX-License-Identifier: MIT
/*
 * The monitor's consumers (sender/monitor.h) run by the driver on a clock of
 * the test's, with snapshots of the test's: the CSV's rows at each interval,
 * the rate stage's figures in them, a sample that fails, and the last line
 * for a part-interval when the connection is taken back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "clock.h"
#include "monitor.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MS 1000000LL

static int64_t fake_now;
static bool sample_fails;

static int64_t fake_clock(void)
{
	return fake_now;
}

/* One subflow that sends 10 Mbit/s on the fake clock, all of it acknowledged. */
static int fake_sample(int fd, struct conn_snapshot *out)
{
	static const int64_t bytes_per_ms = 10000000 / 8 / 1000;
	struct sockaddr_in *local = (struct sockaddr_in *)&out->sf[0].local;
	uint64_t bytes;

	assert_int_equal(fd, 42);
	if (sample_fails)
		return -EBADF;
	memset(out, 0, sizeof(*out));
	bytes = (uint64_t)((fake_now / MS) * bytes_per_ms);
	out->t_ns = fake_now;
	out->mptcp = true;
	out->n = 1;
	out->sf[0] = (struct conn_subflow){.id = 1,
					   .bytes_sent = bytes,
					   .bytes_acked = bytes,
					   .rtt_us = 20000,
					   .cwnd = 10,
					   .state = 1};
	local->sin_family = AF_INET;
	local->sin_port = htons(5000);
	local->sin_addr.s_addr = htonl(0x0a000001);
	out->conn_written = out->conn_delivered = bytes;
	return 0;
}

/* The stream's rate stage: it fills the stream's part of the report. */
static void fake_rate(void *opaque, struct snd_tick *t)
{
	(void)opaque;
	assert_non_null(t->cur);
	*t->status = (struct conn_stream_status){
		.valid = true, .target_bps = 2500000, .encoder_bps = 2400000, .queue_ms = 12};
}

struct lab {
	char path[64];
	struct snd_monitor *m;
	struct snd_ticks *d;
};

static void setup(struct lab *l)
{
	struct snd_monitor_config mc = {.interval_s = 1.0, .sampler = fake_sample};
	struct snd_ticks_config tc = {.clock_ns = fake_clock};
	int fd;

	snprintf(l->path, sizeof(l->path), "/tmp/test_monitor.XXXXXX");
	fd = mkstemp(l->path);
	assert_true(fd >= 0);
	close(fd);
	mc.csv_path = l->path;
	assert_int_equal(snd_monitor_create(&mc, &l->m), 0);
	/* The CSV's times count from the monitor's creation, on the real clock. */
	fake_now = mps_mono_ns();
	sample_fails = false;
	snd_monitor_consumers(l->m, &tc);
	assert_non_null(tc.stage[SND_TICK_SAMPLE].fn);
	assert_null(tc.stage[SND_TICK_FAILOVER].fn); /* no failover */
	assert_null(tc.stage[SND_TICK_PUBLISH].fn);  /* no web server */
	assert_int_equal(tc.stage[SND_TICK_REPORT].period_ms, 1000);
	assert_int_equal(snd_ticks_create(&tc, &l->d), 0);
}

static void run_until(struct snd_ticks *d, int64_t until)
{
	while (fake_now < until)
		fake_now = snd_ticks_step(d, fake_now);
}

static double last_time_s; /* the last "total" row's time */

/* The CSV's "total" rows: their count, and the last one's send_bps and target_bps. */
static int totals(const char *path, double *send_bps, long *target_bps)
{
	char line[512];
	int n = 0, got;
	FILE *f = fopen(path, "r");

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, ",total,total,");

		if (!p)
			continue;
		n++;
		assert_int_equal(sscanf(line, "%lf,", &last_time_s), 1);
		/* time,total,total,local,remote,send_bps,goodput_bps,retrans,rtt,cwnd,target_bps */
		p += strlen(",total,total,");
		/* No rate stage: no stream figures. */
		got = sscanf(p, ",,%lf,%*f,%*d,%*f,%*d,%ld", send_bps, target_bps);
		assert_true(got >= 1);
		if (got < 2)
			*target_bps = -1;
	}
	fclose(f);
	return n;
}

static void teardown(struct lab *l)
{
	snd_ticks_destroy(l->d);
	snd_monitor_destroy(l->m);
	unlink(l->path);
}

/* A row per interval after the first, at the rate sent, with the rate stage's target. */
static void test_report_rows(void **state)
{
	struct lab l;
	double send = 0;
	long target = 0;
	struct snd_tick_consumer rate = {fake_rate, NULL, 100};

	(void)state;
	setup(&l);
	snd_ticks_connect(l.d, 42, &rate);
	run_until(l.d, fake_now + 3500 * MS);
	/* At 0 s the first snapshot only starts the interval; rows at 1, 2 and 3 s. */
	assert_int_equal(totals(l.path, &send, &target), 3);
	printf("# send %.0f bit/s, target %ld, last row at %.3f s\n", send, target, last_time_s);
	assert_true(last_time_s > 2.99 && last_time_s < 3.01);
	assert_true(send > 9.9e6 && send < 10.1e6);
	assert_int_equal(target, 2500000);
	/* Taken back 0.5 s after the last row: a last row for the part-interval. */
	snd_ticks_disconnect(l.d);
	assert_int_equal(totals(l.path, &send, &target), 4);
	assert_true(last_time_s > 3.49 && last_time_s < 3.51);
	assert_true(send > 9.9e6 && send < 10.1e6);
	teardown(&l);
}

/* Taken back 0.1 s after a row: too short to mean much, no row. */
static void test_short_last_interval(void **state)
{
	struct lab l;
	double send;
	long target;

	(void)state;
	setup(&l);
	snd_ticks_connect(l.d, 42, NULL);
	run_until(l.d, fake_now + 3100 * MS);
	assert_int_equal(totals(l.path, &send, &target), 3);
	assert_int_equal(target, -1);
	snd_ticks_disconnect(l.d);
	assert_int_equal(totals(l.path, &send, &target), 3);
	teardown(&l);
}

/* Samples that fail: no rows, and rows again once they work. */
static void test_failed_samples(void **state)
{
	struct lab l;
	double send;
	long target;

	(void)state;
	setup(&l);
	snd_ticks_connect(l.d, 42, NULL);
	sample_fails = true;
	run_until(l.d, fake_now + 2500 * MS);
	assert_int_equal(totals(l.path, &send, &target), 0);
	sample_fails = false;
	run_until(l.d, fake_now + 2000 * MS);
	/* The first good sample (2.5 s) starts the interval: one row, at 3.5 s. */
	assert_int_equal(totals(l.path, &send, &target), 1);
	assert_true(last_time_s > 3.49 && last_time_s < 3.51);
	assert_true(send > 9.9e6 && send < 10.1e6);
	teardown(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_report_rows),
		cmocka_unit_test(test_short_last_interval),
		cmocka_unit_test(test_failed_samples),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
