/* SPDX-License-Identifier: MIT */
/*
 * Readings of the monotonic clock (the machine's uptime, in ms) that the
 * tests of the per-tick rules (rate control, failover, health) run at once
 * more each: their whole group again with every time they pass moved on by
 * the offset. What a rule decides depends on differences of times only, so
 * each test must give the same figures at each one.
 */
#ifndef MPS_TEST_CLOCK_OFFSETS_H
#define MPS_TEST_CLOCK_OFFSETS_H

#include <stdint.h>

#define DAY_MS ((int64_t)24 * 3600 * 1000)

static const struct clock_offset {
	int64_t ms;
	const char *name;
} clock_offsets[] = {
	{0, "at boot"},
	/*
	 * A 32-bit count of ms wraps 2 s into each test (the shortest run 2 s of
	 * simulated time): signed at 24.8 days, unsigned at 49.7.
	 */
	{INT32_MAX - 2000, "24.8 days up (int32 ms wraps)"},
	{UINT32_MAX - 2000, "49.7 days up (uint32 ms wraps)"},
	{400 * DAY_MS, "400 days up"},
	/* An hour before the clock's int64 nanoseconds overflow (292 years): ms * 1e6 still fits. */
	{INT64_MAX / 1000000 - 3600 * 1000, "292 years up"},
};

#define N_CLOCK_OFFSETS (sizeof(clock_offsets) / sizeof(clock_offsets[0]))

/* Runs the group @tests once at each offset, @offset_ms set before each run. */
#define RUN_AT_CLOCK_OFFSETS(tests, offset_ms)                                                \
	({                                                                                    \
		int _failed = 0;                                                              \
		for (size_t _i = 0; _i < N_CLOCK_OFFSETS; _i++) {                             \
			(offset_ms) = clock_offsets[_i].ms;                                   \
			_failed += cmocka_run_group_tests_name(clock_offsets[_i].name, tests, \
							       NULL, NULL);                   \
		}                                                                             \
		_failed;                                                                      \
	})

#endif
