/* SPDX-License-Identifier: MIT */
#ifndef MPS_RATECTL_RECENT_H
#define MPS_RATECTL_RECENT_H

#include <stdint.h>

/*
 * What a path or an uplink carried at best lately: the best 1 s window of
 * bytes acknowledged, fading by RC_RECENT_FADE a window. Right after a path
 * dies the others carry less for a while (head-of-line blocking), and their
 * rate of that moment is no measure of them.
 */
#define RC_RECENT_FADE 0.9
struct rc_recent {
	int64_t win_start_ms; /* 0: not started */
	uint64_t win_bytes;
	double bps;
};

/* @bytes acknowledged since the last call, at @now_ms. */
void rc_recent_add(struct rc_recent *r, uint64_t bytes, int64_t now_ms);

#endif
