// SPDX-License-Identifier: MIT
/* linkem's model of a link on simulated time: capacity, schedule, queue, delay, jitter, loss. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
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

/*
 * swing=500ms/2s: packets sent in the first second of every two leave after
 * the base delay, those of the second one 500 ms later, in order (at the
 * swing's end the late ones hold back the next, as a draining queue does).
 */
static void test_swing(void **state)
{
	uint32_t rate = 100000;
	struct lem_params p = {.rates_kbps = &rate,
			       .n_rates = 1,
			       .delay_ns = 20 * MS,
			       .swing_ns = 500 * MS,
			       .swing_period_ns = 2000 * MS,
			       .queue_bytes = 1 << 20};
	struct lem_pipe *pipe = NULL;
	static uint8_t frame[100];
	struct lem_packet pk;
	int64_t last = 0, low = 0, high = 0;
	int n = 0;

	(void)state;
	assert_int_equal(lem_pipe_create(&p, 0, &pipe), 0);
	for (int k = 0; k < 800; k++) {
		int64_t t = k * 10 * MS;

		assert_int_equal(lem_pipe_push(pipe, frame, sizeof(frame), t), 1);
		for (int64_t u = t; u < t + 10 * MS; u += MS)
			while (lem_pipe_pop(pipe, u, &pk)) {
				int64_t sent = (int64_t)n * 10 * MS, d = pk.leave_ns - sent;

				assert_true(pk.leave_ns >= last);
				last = pk.leave_ns;
				/* The half it was serialised in, the first ms of it aside. */
				if (sent % (1000 * MS) >= 2 * MS) {
					if (sent / (1000 * MS) % 2) {
						assert_in_range(d, 519 * MS, 522 * MS);
						high++;
					} else if (sent % (1000 * MS) >= 500 * MS) {
						/* After the late ones have left. */
						assert_in_range(d, 19 * MS, 22 * MS);
						low++;
					}
				}
				n++;
			}
	}
	print_message("swing: %d packets, %lld at +500 ms, %lld at the base\n", n, (long long)high,
		      (long long)low);
	assert_true(high > 300 && low > 150);
	lem_pipe_destroy(pipe);
	/* A swing without a period is refused. */
	p.swing_period_ns = 0;
	assert_int_equal(lem_pipe_create(&p, 0, &pipe), -EINVAL);
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

/* A pipe on delivery opportunities (@opps_ms, @n of them), no delay, a large queue. */
static struct lem_pipe *make_opps(const uint32_t *opps_ms, size_t n, uint32_t header)
{
	struct lem_params p = {.opps_ms = opps_ms,
			       .n_opps = n,
			       .opp_header = header,
			       .queue_bytes = 1 << 24,
			       .seed = 7};
	struct lem_pipe *pipe = NULL;

	assert_int_equal(lem_pipe_create(&p, 0, &pipe), 0);
	return pipe;
}

static void test_mahimahi_parse(void **state)
{
	uint32_t *opps = NULL;
	int bad;

	(void)state;
	assert_int_equal(
		lem_opportunities_parse("0\n0\n3\n  7 \n\n7\n# a comment\n10\n", &opps, &bad), 6);
	assert_int_equal(opps[0], 0);
	assert_int_equal(opps[1], 0);
	assert_int_equal(opps[2], 3);
	assert_int_equal(opps[3], 7);
	assert_int_equal(opps[5], 10);
	free(opps);
	/* No trailing newline; a whole recorded trace's length. */
	assert_int_equal(lem_opportunities_parse("1\n603576", &opps, &bad), 2);
	assert_int_equal(opps[1], 603576);
	free(opps);
	opps = NULL;
	/* Earlier than the line above, not an integer, negative, a unit, too late. */
	assert_int_equal(lem_opportunities_parse("5\n6\n\n4\n9\n", &opps, &bad), -EINVAL);
	assert_int_equal(bad, 4);
	assert_int_equal(lem_opportunities_parse("5\n6.5\n", &opps, &bad), -EINVAL);
	assert_int_equal(bad, 2);
	assert_int_equal(lem_opportunities_parse("-1\n5\n", &opps, &bad), -EINVAL);
	assert_int_equal(bad, 1);
	assert_int_equal(lem_opportunities_parse("5\n6ms\n", &opps, &bad), -EINVAL);
	assert_int_equal(bad, 2);
	assert_int_equal(lem_opportunities_parse("1\n99999999999\n", &opps, &bad), -EINVAL);
	assert_int_equal(bad, 2);
	/* A trace that never gets past its start cannot loop; one with nothing in it. */
	assert_int_equal(lem_opportunities_parse("0\n0\n0\n# end\n", &opps, &bad), -EINVAL);
	assert_int_equal(bad, 3);
	assert_int_equal(lem_opportunities_parse("# nothing\n\n", &opps, &bad), -EINVAL);
	assert_int_equal(bad, 0);
	assert_null(opps);
}

/*
 * The mean capacity over a whole trace (and several loops of it) is its
 * opportunities * 1500 bytes over its length; a saturated link carries
 * exactly that many 1500-byte packets in each loop.
 */
static void test_mahimahi_mean_rate(void **state)
{
	static const uint32_t opps[] = {1, 1, 3, 4, 4, 4, 7, 10, 10};
	const double kbps = 9.0 * 1500 * 8 / 10; /* bits per ms: kbit/s */
	struct lem_pipe *pipe = make_opps(opps, 9, 0);
	static uint8_t frame[1500];
	struct lem_packet pk;
	int out[5] = {0};

	(void)state;
	assert_true(lem_pipe_mean_kbps(pipe, 0, 10 * MS) == kbps);
	assert_true(lem_pipe_mean_kbps(pipe, 0, 50 * MS) == kbps);
	assert_true(lem_pipe_mean_kbps(pipe, 30 * MS, 40 * MS) == kbps);
	assert_true(lem_pipe_mean_kbps(pipe, 2 * MS, 3 * MS) == 0);
	assert_int_equal(lem_pipe_rate_kbps(pipe, 4 * MS + MS / 2), 3 * 12000);
	/* Looped: the same capacity one length later. */
	assert_int_equal(lem_pipe_rate_kbps(pipe, 24 * MS), 3 * 12000);
	for (int k = 0; k < 100; k++)
		assert_int_equal(lem_pipe_push(pipe, frame, sizeof(frame), 0), 1);
	for (int64_t t = 0; t < 50 * MS; t += MS / 4)
		while (lem_pipe_pop(pipe, t, &pk))
			out[pk.leave_ns / (10 * MS)]++;
	print_message("mahimahi: %d %d %d %d %d packets per loop\n", out[0], out[1], out[2], out[3],
		      out[4]);
	/* The first loop: the two at its end also at its start (the link was just made). */
	assert_int_equal(out[0], 9);
	for (int k = 1; k < 5; k++)
		assert_int_equal(out[k], 9);
	assert_int_equal(lem_pipe_stats(pipe)->out_bytes, 45 * 1500);
	lem_pipe_destroy(pipe);
}

/* A queue given in time holds that long at the trace's mean rate: 100 ms of 10.8 Mbit/s. */
static void test_mahimahi_queue(void **state)
{
	static const uint32_t opps[] = {1, 1, 3, 4, 4, 4, 7, 10, 10};
	struct lem_params p = {.opps_ms = opps, .n_opps = 9, .queue_ns = 100 * MS};
	struct lem_pipe *pipe = NULL;
	static uint8_t frame[1500];
	int accepted = 0;

	(void)state;
	assert_int_equal(lem_pipe_create(&p, 0, &pipe), 0);
	for (int k = 0; k < 200; k++)
		accepted += lem_pipe_push(pipe, frame, sizeof(frame), MS / 2);
	assert_int_equal(accepted, 135000 / 1500);
	lem_pipe_destroy(pipe);
}

/*
 * Packets leave at the opportunity that carries their last byte: small ones
 * share one, a large one is split over two, the header is not carried, and
 * an opportunity that comes while the queue is empty is lost (as in mahimahi).
 */
static void test_mahimahi_opportunities(void **state)
{
	static const uint32_t opps[] = {5, 10, 10, 20};
	struct lem_pipe *pipe = make_opps(opps, 4, 14);
	static uint8_t frame[1514];
	struct lem_packet pk;
	int at[4] = {0};

	(void)state;
	/* 20 of 114 bytes (100 carried): 15 at 5 ms, 5 at 10 ms. */
	for (int k = 0; k < 20; k++)
		lem_pipe_push(pipe, frame, 114, MS);
	assert_int_equal(lem_pipe_next_ns(pipe, MS), 5 * MS);
	for (int64_t t = MS; t <= 12 * MS; t += MS / 2)
		while (lem_pipe_pop(pipe, t, &pk))
			at[pk.leave_ns == 5 * MS ? 0 : pk.leave_ns == 10 * MS ? 1 : 3]++;
	assert_int_equal(at[0], 15);
	assert_int_equal(at[1], 5);
	assert_int_equal(at[3], 0);
	/* The rest of 10 ms's two is lost: 1514 bytes at 12 ms leave at 20 ms. */
	lem_pipe_push(pipe, frame, sizeof(frame), 12 * MS);
	assert_int_equal(lem_pipe_next_ns(pipe, 12 * MS), 20 * MS);
	assert_int_equal(lem_pipe_pop(pipe, 20 * MS, &pk), 1);
	/* 1600 bytes carried take two opportunities (20 ms's rest is gone): 25, 30 (loop 2). */
	lem_pipe_push(pipe, frame, 1514, 21 * MS);
	lem_pipe_push(pipe, frame, 114, 21 * MS);
	lem_pipe_push(pipe, frame, 114, 21 * MS);
	assert_int_equal(lem_pipe_pop(pipe, 40 * MS, &pk), 1);
	assert_int_equal(pk.leave_ns, 25 * MS);
	assert_int_equal(lem_pipe_pop(pipe, 40 * MS, &pk), 1);
	assert_int_equal(pk.leave_ns, 30 * MS);
	assert_int_equal(lem_pipe_pop(pipe, 40 * MS, &pk), 1);
	assert_int_equal(pk.leave_ns, 30 * MS);
	/* Idle for many loops, then the next opportunity after the push. */
	lem_pipe_push(pipe, frame, 114, 1000 * 20 * MS + 11 * MS);
	assert_int_equal(lem_pipe_next_ns(pipe, 0), 1000 * 20 * MS + 20 * MS);
	lem_pipe_destroy(pipe);
}

/*
 * Every recorded trace kept in linkem/traces parses into as many
 * opportunities over as long as its lines say (counted with `wc -l` and its
 * last line, as SOURCES.md gives them), and its mean capacity over its whole
 * length, and over three loops of it, is its opportunities * 1500 bytes over
 * that length.
 */
static void test_mahimahi_recorded(void **state)
{
	static const struct {
		const char *file;
		int n;
		uint32_t len_ms;
	} files[] = {
		{"TMobile-LTE-short.up", 155381, 140000},
		{"ATT-LTE-driving-2016.up", 19101, 120002},
		{"TMobile-UMTS-driving-180s.up", 10353, 179960},
		{"orange-4G-A-180s.up", 36666, 180000},
	};

	(void)state;
	for (size_t k = 0; k < sizeof(files) / sizeof(files[0]); k++) {
		char path[512], *text;
		uint32_t *opps = NULL;
		struct lem_pipe *pipe;
		FILE *f;
		long size;
		int n, bad;
		double len_ms, want;

		snprintf(path, sizeof(path), "%s/%s", LINKEM_TRACES, files[k].file);
		f = fopen(path, "r");
		assert_non_null(f);
		assert_int_equal(fseek(f, 0, SEEK_END), 0);
		size = ftell(f);
		rewind(f);
		text = calloc(1, (size_t)size + 1);
		assert_int_equal(fread(text, 1, (size_t)size, f), (size_t)size);
		fclose(f);
		n = lem_opportunities_parse(text, &opps, &bad);
		free(text);
		assert_int_equal(n, files[k].n);
		assert_int_equal(opps[n - 1], files[k].len_ms);
		pipe = make_opps(opps, (size_t)n, 0);
		len_ms = opps[n - 1];
		want = (double)n * 1500 * 8 / len_ms;
		print_message("%s: %d opportunities in %.1f s, %.2f Mbit/s\n", files[k].file, n,
			      len_ms / 1000, want / 1000);
		assert_true(fabs(lem_pipe_mean_kbps(pipe, 0, (int64_t)len_ms * MS) - want) < 1e-6);
		assert_true(fabs(lem_pipe_mean_kbps(pipe, 0, 3 * (int64_t)len_ms * MS) - want) <
			    1e-6);
		lem_pipe_destroy(pipe);
		free(opps);
	}
}

/* A trace that does not go on, or goes back, is refused. */
static void test_mahimahi_invalid(void **state)
{
	static const uint32_t zero[] = {0, 0}, back[] = {5, 3, 8};
	struct lem_params p = {.opps_ms = zero, .n_opps = 2};
	struct lem_pipe *pipe = NULL;

	(void)state;
	assert_int_equal(lem_pipe_create(&p, 0, &pipe), -EINVAL);
	p.opps_ms = back;
	p.n_opps = 3;
	assert_int_equal(lem_pipe_create(&p, 0, &pipe), -EINVAL);
	assert_null(pipe);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rate_and_delay),
		cmocka_unit_test(test_jitter_in_order),
		cmocka_unit_test(test_swing),
		cmocka_unit_test(test_loss),
		cmocka_unit_test(test_queue_limit),
		cmocka_unit_test(test_schedule),
		cmocka_unit_test(test_parsers),
		cmocka_unit_test(test_mahimahi_parse),
		cmocka_unit_test(test_mahimahi_mean_rate),
		cmocka_unit_test(test_mahimahi_queue),
		cmocka_unit_test(test_mahimahi_opportunities),
		cmocka_unit_test(test_mahimahi_recorded),
		cmocka_unit_test(test_mahimahi_invalid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
