// SPDX-License-Identifier: MIT
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "encoder.h"
#include "probe.h"

#define T0 1700000000000000LL /* a realtime clock, µs */

static struct probe_stats *new_stats(void)
{
	struct probe_stats *s = NULL;

	assert_int_equal(probe_stats_create(T0, &s), 0);
	return s;
}

/* Frame @n sent at T0 + n*33 ms, arriving @delay_ms later. */
static void add(struct probe_stats *s, uint32_t n, int64_t sent_us, int64_t delay_ms)
{
	struct probe_sample smp = {
		.arrival_us = sent_us + delay_ms * 1000,
		.bytes = 10000,
		.stamped = true,
		.frame = n,
		.sent_us = sent_us,
	};

	probe_stats_add(s, &smp);
}

static void test_clean_stream(void **state)
{
	struct probe_stats *s = new_stats();
	struct probe_limits lim = {.max_gap_ms = 100, .max_latency_ms = 200};
	struct probe_window w;
	struct probe_summary sum;

	for (uint32_t n = 0; n < 30; n++)
		add(s, n, T0 + n * 33333LL, 50 + n % 3);
	probe_stats_window(s, T0 + 1000000, &w);
	assert_int_equal(w.frames, 30);
	assert_float_equal(w.fps, 30, 1e-9);
	assert_float_equal(w.bitrate_bps, 30 * 10000 * 8, 1e-6);
	assert_float_equal(w.latency_ms, 51, 1e-9);
	assert_float_equal(w.latency_max_ms, 52, 1e-9);
	assert_true(w.max_gap_ms > 33 && w.max_gap_ms < 36);

	probe_stats_summary(s, &lim, &sum);
	assert_int_equal(sum.frames, 30);
	assert_int_equal(sum.missing, 0);
	assert_int_equal(sum.repeated, 0);
	assert_float_equal(sum.latency_min_ms, 50, 1e-9);
	assert_float_equal(sum.latency_median_ms, 51, 1e-9);
	assert_float_equal(sum.latency_max_ms, 52, 1e-9);
	assert_true(sum.pass);
	probe_stats_destroy(s);
}

static void test_missing_repeated_gap(void **state)
{
	struct probe_stats *s = new_stats();
	struct probe_limits none = {0}, gap = {.max_gap_ms = 500};
	struct probe_summary sum;
	char line[512];

	add(s, 10, T0 + 10000, 40);
	add(s, 11, T0 + 43000, 40);
	add(s, 11, T0 + 43000, 45);  /* repeated */
	add(s, 15, T0 + 176000, 40); /* 12, 13, 14 missing */
	add(s, 16, T0 + 900000, 40); /* 724 ms after the previous arrival */
	probe_stats_summary(s, &none, &sum);
	assert_int_equal(sum.frames, 5);
	assert_int_equal(sum.missing, 3);
	assert_int_equal(sum.repeated, 1);
	assert_float_equal(sum.max_gap_ms, 724, 1e-9);
	assert_false(sum.pass);
	assert_string_equal(sum.reason, "3 frames missing");
	probe_format_summary(&sum, line, sizeof(line));
	assert_non_null(strstr(line, "verdict FAIL: 3 frames missing"));
	/* --max-missing: frames a sender dropped on purpose may miss. */
	probe_stats_summary(s, &(struct probe_limits){.max_missing = 3}, &sum);
	assert_true(sum.pass);
	probe_stats_summary(s, &(struct probe_limits){.max_missing = 2}, &sum);
	assert_false(sum.pass);
	probe_stats_destroy(s);

	s = new_stats();
	add(s, 1, T0 + 1000, 40);
	add(s, 2, T0 + 900000, 40);
	probe_stats_summary(s, &gap, &sum);
	assert_false(sum.pass);
	assert_string_equal(sum.reason, "longest gap 899 ms > 500 ms");
	probe_stats_destroy(s);
}

static void test_wrap_and_backlog(void **state)
{
	struct probe_stats *s = new_stats();
	struct probe_limits lim = {.max_latency_ms = 100};
	struct probe_summary sum;

	/* A server's backlog: sent before the probe connected; numbers count, latency does not. */
	add(s, PROBE_FRAME_MOD - 2, T0 - 5000000, 5000);
	add(s, PROBE_FRAME_MOD - 1, T0 - 4966000, 4970);
	add(s, 0, T0 + 1000, 60);	  /* the counter wrapped: nothing missing */
	for (uint32_t n = 1; n < 30; n++) /* a second of it, enough to judge */
		add(s, n, T0 + 1000 + (int64_t)n * 33333, 60);
	probe_stats_summary(s, &lim, &sum);
	assert_int_equal(sum.backlog, 2);
	assert_int_equal(sum.frames, 30);
	assert_int_equal(sum.missing, 0);
	assert_float_equal(sum.latency_max_ms, 60, 1e-9);
	assert_true(sum.pass);
	probe_stats_destroy(s);
}

/*
 * The server's join burst: frames held back until a keyframe, back to back
 * and up to 2 s late, until the stream is live. Reported, not judged; a
 * bunch arriving together later is judged.
 */
static void test_join_burst(void **state)
{
	struct probe_stats *s = new_stats();
	struct probe_limits lim = {.max_latency_ms = 500};
	struct probe_summary sum;
	char line[256];
	uint32_t n = 1;

	(void)state;
	/* 60 frames (2 s of media) arrive back to back, the oldest 2 s late. */
	for (; n <= 60; n++)
		add(s, n, T0 + (int64_t)n * 33333, 2000 - (int64_t)n * 32);
	/* Then live, 80 ms late. */
	for (; n <= 120; n++)
		add(s, n, T0 + (int64_t)n * 33333, 80);
	probe_stats_summary(s, &lim, &sum);
	assert_int_equal(sum.joining, 60);
	assert_float_equal(sum.joining_max_ms, 1968, 1e-9);
	assert_float_equal(sum.latency_max_ms, 80, 1e-9);
	assert_true(sum.pass);
	probe_format_summary(&sum, line, sizeof(line));
	assert_non_null(strstr(line, "(0 backlog, 60 on joining: latency up to 1968 ms)"));
	/* Live now: a stall that delivers frames together later counts. */
	add(s, n, T0 + (int64_t)n * 33333, 600);
	add(s, n + 1, T0 + (int64_t)(n + 1) * 33333, 600 - 33);
	probe_stats_summary(s, &lim, &sum);
	assert_false(sum.pass);
	probe_stats_destroy(s);
}

static void test_latency_limit(void **state)
{
	struct probe_stats *s = new_stats();
	struct probe_limits lim = {.max_latency_ms = 1000};
	struct probe_summary sum;

	add(s, 1, T0 + 1000, 100);
	add(s, 2, T0 + 34000, 1500);
	probe_stats_summary(s, &lim, &sum);
	assert_false(sum.pass);
	assert_string_equal(sum.reason, "latency 1500 ms > 1000 ms");
	probe_stats_destroy(s);
}

static void test_unstamped_relative(void **state)
{
	struct probe_stats *s = new_stats();
	struct probe_limits none = {0};
	struct probe_summary sum;
	struct probe_sample smp = {.bytes = 1};

	/* pts 0, 1 s, 2 s arriving 10 ms, 1.3 s, 2.01 s after the first: 300 ms late once. */
	int64_t pts[] = {0, 1000000, 2000000}, arr[] = {10000, 1300000, 2010000};

	for (int i = 0; i < 3; i++) {
		smp.pts_us = pts[i];
		smp.arrival_us = T0 + arr[i];
		probe_stats_add(s, &smp);
	}
	probe_stats_summary(s, &none, &sum);
	assert_true(sum.latency_relative);
	assert_int_equal(sum.unstamped, 3);
	assert_float_equal(sum.latency_min_ms, 0, 1e-9);
	assert_float_equal(sum.latency_max_ms, 290, 1e-9);
	assert_true(sum.pass); /* nothing to count as missing without stamps */
	probe_stats_destroy(s);
}

/*
 * --relative on the stamped pattern: the latency is the delay above the
 * smallest, and the frame numbers still count (the bench's tables of frames
 * missing read them).
 */
static void test_relative_counts_missing(void **state)
{
	struct probe_stats *s = new_stats();
	struct probe_limits none = {0};
	struct probe_summary sum;

	(void)state;
	for (uint32_t n = 1; n <= 30; n++) {
		struct probe_sample smp = {
			.arrival_us = T0 + n * 33000 + (n == 20 ? 400000 : 40000),
			.pts_us = n * 33000,
			.bytes = 1000,
			.numbered = true,
			.frame = n,
		};

		if (n != 10 && n != 11)
			probe_stats_add(s, &smp);
	}
	probe_stats_summary(s, &none, &sum);
	assert_true(sum.latency_relative);
	assert_int_equal(sum.missing, 2);
	assert_float_equal(sum.latency_max_ms, 360, 1e-9);
	probe_stats_destroy(s);
}

/* A file that is no stream gives a frame or two: that is no pass. */
static void test_too_little_fails(void **state)
{
	struct probe_stats *s = new_stats();
	struct probe_limits none = {0};
	struct probe_summary sum;
	struct probe_sample smp = {.bytes = 1, .arrival_us = T0 + 1000};

	(void)state;
	probe_stats_add(s, &smp);
	probe_stats_summary(s, &none, &sum);
	assert_int_equal(sum.frames, 1);
	assert_false(sum.pass);
	assert_string_equal(sum.reason, "only 1 frame over 0.00 s received: too little to judge");
	probe_stats_destroy(s);
}

static void test_empty_window_is_a_gap(void **state)
{
	struct probe_stats *s = new_stats();
	struct probe_window w;
	struct probe_summary sum;
	struct probe_limits none = {0};

	add(s, 1, T0 + 100000, 50);
	probe_stats_window(s, T0 + 1000000, &w);
	probe_stats_window(s, T0 + 2000000, &w);
	assert_int_equal(w.frames, 0);
	assert_float_equal(w.max_gap_ms, 1850, 1e-9);
	assert_true(w.latency_ms < 0);
	probe_stats_destroy(s);

	s = new_stats();
	probe_stats_summary(s, &none, &sum);
	assert_false(sum.pass);
	assert_string_equal(sum.reason, "no frame received");
	probe_stats_destroy(s);
}

static void test_stamp_roundtrip(void **state)
{
	const int w = 320, h = 240;
	uint8_t *luma = malloc((size_t)w * h);
	struct enc_stamp in = {.frame = 0xabcdef, .time_ms = 1764097200123ULL}, out;

	assert_non_null(luma);
	memset(luma, 128, (size_t)w * h);
	assert_int_equal(enc_stamp_read(luma, w, w, h, &out), -EBADMSG);
	enc_stamp_write(luma, w, w, h, &in);
	assert_int_equal(enc_stamp_read(luma, w, w, h, &out), 0);
	assert_int_equal(out.frame, in.frame);
	assert_int_equal(out.time_ms, in.time_ms);
	/* Noise of +-40 in every pixel (a low bit rate) still reads. */
	for (int i = 0; i < w * h; i++)
		luma[i] = (uint8_t)(luma[i] + (i * 7919 % 81) - 40);
	assert_int_equal(enc_stamp_read(luma, w, w, h, &out), 0);
	assert_int_equal(out.time_ms, in.time_ms);
	/* One flipped block (a bit of the frame number): the CRC refuses the stamp. */
	int bw = w / ENC_STAMP_COLS, bh = ENC_STAMP_HEIGHT(h) / 2;
	uint8_t flipped = luma[(bh / 2) * w + 20 * bw + bw / 2] > 128 ? 16 : 235;

	for (int r = 0; r < bh; r++)
		memset(luma + r * w + 20 * bw, flipped, (size_t)bw);
	assert_int_equal(enc_stamp_read(luma, w, w, h, &out), -EBADMSG);
	free(luma);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean_stream),
		cmocka_unit_test(test_missing_repeated_gap),
		cmocka_unit_test(test_wrap_and_backlog),
		cmocka_unit_test(test_join_burst),
		cmocka_unit_test(test_latency_limit),
		cmocka_unit_test(test_unstamped_relative),
		cmocka_unit_test(test_relative_counts_missing),
		cmocka_unit_test(test_empty_window_is_a_gap),
		cmocka_unit_test(test_too_little_fails),
		cmocka_unit_test(test_stamp_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
