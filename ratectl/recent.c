// SPDX-License-Identifier: MIT
#include "recent.h"

void rc_recent_add(struct rc_recent *r, uint64_t bytes, int64_t now_ms)
{
	int64_t dt = now_ms - r->win_start_ms;

	if (!r->win_start_ms) {
		r->win_start_ms = now_ms;
		return;
	}
	r->win_bytes += bytes;
	if (dt < 1000)
		return;
	r->bps *= RC_RECENT_FADE;
	if (8000.0 * (double)r->win_bytes / (double)dt > r->bps)
		r->bps = 8000.0 * (double)r->win_bytes / (double)dt;
	r->win_start_ms = now_ms;
	r->win_bytes = 0;
}
