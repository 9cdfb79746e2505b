/* SPDX-License-Identifier: MIT */
/* The two clocks every module reads: monotonic for durations, realtime for stamps. */
#ifndef MPS_CLOCK_H
#define MPS_CLOCK_H

#include <stdint.h>
#include <time.h>

/* CLOCK_MONOTONIC in nanoseconds. */
static inline int64_t mps_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline int64_t mps_mono_ms(void)
{
	return mps_mono_ns() / 1000000;
}

/* CLOCK_REALTIME in microseconds (comparable between hosts whose clocks agree). */
static inline int64_t mps_realtime_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

#endif
