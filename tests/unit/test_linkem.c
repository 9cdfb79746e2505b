// SPDX-License-Identifier: MIT
/* linkem's model of a link on simulated time: capacity, schedule, queue, delay, jitter, loss. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pipe.h"

#define MS 1000000LL

static struct lem_pipe *make(uint32_t *rates, size_t n, int64_t delay, int64_t jitter, double loss,
			     uint32_t queue_bytes)
{
	struct lem_params p = {.rates_kbps = rates,
			       .n_rates = n,
			       .delay_ns = delay,
			       .jitter_ns = jitter,
			       .loss = loss,
			       .queue_bytes = queue_bytes,
			       .seed = 7};
	struct lem_pipe *pipe = NULL;

	assert_int_equal(lem_pipe_create(&p, 0, &pipe), 0);
	return pipe;
}

/* 12 Mbit/s: a 1500-byte frame takes 1 ms; 100 at once leave 1 ms apart, after the delay. */
static void test_rate_and_delay(void **state)
{
	uint32_t rate = 12000;
	struct lem_pipe *pipe = make(&rate, 1, 20 * MS, 0, 0, 1 << 20);
	static uint8_t frame[1500];
	struct lem_packet pk;
	int n = 0;

	(void)state;
	for (int k = 0; k < 100; k++)
		assert_int_equal(lem_pipe_push(pipe, frame, sizeof(frame), 0), 1);
	assert_int_equal(lem_pipe_next_ns(pipe, 0), 1 * MS);
	assert_int_equal(lem_pipe_pop(pipe, 20 * MS, &pk), 0); /* not before 21 ms */
	for (int64_t t = 0; t <= 200 * MS; t += MS / 10)
		while (lem_pipe_pop(pipe, t, &pk)) {
			n++;
			assert_true(llabs(pk.leave_ns - (n * MS + 20 * MS)) <= 1000);
		}
	assert_int_equal(n, 100);
	assert_int_equal(lem_pipe_stats(pipe)->out_bytes, 150000);
	assert_int_equal(lem_pipe_next_ns(pipe, 200 * MS), INT64_MAX);
	lem_pipe_destroy(pipe);
}

/* Jitter spreads the delay within +-jitter around it, and never reorders. */
static void test_jitter_in_order(void **state)
{
	uint32_t rate = 100000;
	struct lem_pipe *pipe = make(&rate, 1, 50 * MS, 10 * MS, 0, 1 << 20);
	static uint8_t frame[100];
	struct lem_packet pk;
	int64_t last = 0, min = INT64_MAX, max = 0, sum = 0;
	int n = 0;

	(void)state;
	for (int k = 0; k < 2000; k++) {
		int64_t t = k * 5 * MS;

		assert_int_equal(lem_pipe_push(pipe, frame, sizeof(frame), t), 1);
		for (int64_t u = t; u < t + 5 * MS; u += MS / 10)
			while (lem_pipe_pop(pipe, u, &pk)) {
				int64_t sent = (int64_t)n * 5 * MS, d = pk.leave_ns - sent;

				assert_true(pk.leave_ns >= last);
				last = pk.leave_ns;
				min = d < min ? d : min;
				max = d > max ? d : max;
				sum += d;
				n++;
			}
	}
	print_message("jitter: %d packets, delay min %.1f mean %.1f max %.1f ms\n", n,
		      (double)min / MS, (double)sum / n / MS, (double)max / MS);
	assert_true(n > 1900);
	assert_true(min >= 40 * MS && max <= 61 * MS);
	assert_true(llabs(sum / n - 50 * MS) < 2 * MS);
	assert_true(max - min > 15 * MS); /* it does spread */
	lem_pipe_destroy(pipe);
}

/* Random loss at the rate asked for (a fixed seed: the same run every time). */
static void test_loss(void **state)
{
	uint32_t rate = 1000000;
	struct lem_pipe *pipe = make(&rate, 1, 0, 0, 0.01, 1 << 20);
	static uint8_t frame[64];
	struct lem_packet pk;
	const struct lem_stats *s;

	(void)state;
	for (int k = 0; k < 100000; k++) {
		lem_pipe_push(pipe, frame, sizeof(frame), (int64_t)k * MS);
		while (lem_pipe_pop(pipe, (int64_t)k * MS + MS / 2, &pk))
			;
	}
	s = lem_pipe_stats(pipe);
	print_message("loss: %llu of 100000\n", (unsigned long long)s->lost_packets);
	assert_true(s->lost_packets > 850 && s->lost_packets < 1150);
	assert_int_equal(s->out_packets + s->lost_packets, 100000);
	lem_pipe_destroy(pipe);
}

/* A full queue drops at its tail; what it holds still leaves. */
static void test_queue_limit(void **state)
{
	uint32_t rate = 800; /* 1000 bytes: 10 ms */
	struct lem_pipe *pipe = make(&rate, 1, 0, 0, 0, 10000);
	static uint8_t frame[1000];
	struct lem_packet pk;
	int accepted = 0, n = 0;

	(void)state;
	for (int k = 0; k < 20; k++)
		accepted += lem_pipe_push(pipe, frame, sizeof(frame), 0);
	assert_int_equal(accepted, 10);
	assert_int_equal(lem_pipe_stats(pipe)->dropped_packets, 10);
	assert_int_equal(lem_pipe_stats(pipe)->max_queue_bytes, 10000);
	while (lem_pipe_pop(pipe, 1000 * MS, &pk))
		n++;
	assert_int_equal(n, 10);
	lem_pipe_destroy(pipe);
}

/*
 * A schedule of 8 Mbit/s, nothing, 8 Mbit/s (100 ms each): 100 frames of
 * 1000 bytes leave in the first slot, none in the second (they wait in the
 * queue), and the waiting ones leave in the third.
 */
static void test_schedule(void **state)
{
	uint32_t rates[] = {8000, 0, 8000};
	struct lem_pipe *pipe = make(rates, 3, 0, 0, 0, 1 << 20);
	static uint8_t frame[1000];
	struct lem_packet pk;
	int slot[4] = {0};

	(void)state;
	assert_int_equal(lem_pipe_rate_kbps(pipe, 150 * MS), 0);
	assert_int_equal(lem_pipe_rate_kbps(pipe, 350 * MS), 8000); /* looped */
	assert_true(lem_pipe_mean_kbps(pipe, 50 * MS, 150 * MS) == 4000);
	assert_true(lem_pipe_mean_kbps(pipe, 0, 300 * MS) > 5333 &&
		    lem_pipe_mean_kbps(pipe, 0, 300 * MS) < 5334);
	for (int64_t t = 0; t < 300 * MS; t += MS / 2) {
		if (t < 250 * MS)
			lem_pipe_push(pipe, frame, sizeof(frame), t);
		while (lem_pipe_pop(pipe, t, &pk))
			slot[(pk.leave_ns - 1) / (100 * MS)]++;
	}
	print_message("schedule: %d, %d, %d frames per slot\n", slot[0], slot[1], slot[2]);
	assert_true(slot[0] >= 99 && slot[0] <= 100);
	assert_int_equal(slot[1], 0);
	assert_true(slot[2] >= 99 && slot[2] <= 100);
	lem_pipe_destroy(pipe);
}

static void test_parsers(void **state)
{
	uint32_t k, *rates = NULL;
	int64_t ns;
	int bad;

	(void)state;
	assert_int_equal(lem_parse_rate("4mbit", &k), 0);
	assert_int_equal(k, 4000);
	assert_int_equal(lem_parse_rate("800k", &k), 0);
	assert_int_equal(k, 800);
	assert_int_equal(lem_parse_rate("1.5M", &k), 0);
	assert_int_equal(k, 1500);
	assert_int_equal(lem_parse_rate("250", &k), 0);
	assert_int_equal(k, 250);
	assert_int_equal(lem_parse_rate("", &k), -EINVAL);
	assert_int_equal(lem_parse_rate("-1", &k), -EINVAL);
	assert_int_equal(lem_parse_rate("4 mbit", &k), -EINVAL);
	assert_int_equal(lem_parse_rate("4furlongs", &k), -EINVAL);
	assert_int_equal(lem_parse_time("40ms", &ns), 0);
	assert_int_equal(ns, 40 * MS);
	assert_int_equal(lem_parse_time("1.5s", &ns), 0);
	assert_int_equal(ns, 1500 * MS);
	assert_int_equal(lem_parse_time("200us", &ns), 0);
	assert_int_equal(ns, 200000);
	assert_int_equal(lem_parse_time("30", &ns), 0);
	assert_int_equal(ns, 30 * MS);
	assert_int_equal(lem_parse_time("nan", &ns), -EINVAL);
	assert_int_equal(
		lem_schedule_parse("# a trace whose first line is a comment longer than any rate "
				   "could ever be, as linkem/traces/generate writes\n4000\n"
				   "  2mbit  # comment\n\n0\n",
				   &rates, &bad),
		3);
	assert_int_equal(rates[0], 4000);
	assert_int_equal(rates[1], 2000);
	assert_int_equal(rates[2], 0);
	free(rates);
	assert_int_equal(lem_schedule_parse("4000\nfast\n", &rates, &bad), -EINVAL);
	assert_int_equal(bad, 2);
	assert_int_equal(lem_schedule_parse("# nothing\n", &rates, &bad), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rate_and_delay), cmocka_unit_test(test_jitter_in_order),
		cmocka_unit_test(test_loss),	       cmocka_unit_test(test_queue_limit),
		cmocka_unit_test(test_schedule),       cmocka_unit_test(test_parsers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
