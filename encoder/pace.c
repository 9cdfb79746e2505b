// SPDX-License-Identifier: MIT
/*
 * When a live input counts as lost: no picture for --input-timeout, or for
 * ENC_PACE_LOST_FRAMES of the input's own frame intervals when that is
 * longer. A 1 fps camera is not lost between two of its pictures (with the
 * default 500 ms the slate came and went every second). The interval is the
 * median of the last ENC_PACE_INTERVALS arrivals' spacing: an outage is one
 * long interval and moves it not at all, bursts of a jittery network pull it
 * down (the timeout then rules), and a camera that slows down is followed
 * after half of them. Before the second picture, the frame rate the input
 * declares stands in. Pure: times in, no clock, no lock (the caller's).
 */
#include "live.h"

#include <string.h>

void enc_pace_expect(struct enc_pace *p, int64_t interval_ns)
{
	p->declared_ns = interval_ns > 0 ? interval_ns : 0;
}

void enc_pace_picture(struct enc_pace *p, int64_t now_ns)
{
	if (p->last_ns && now_ns >= p->last_ns) {
		p->intervals[p->next] = now_ns - p->last_ns;
		p->next = (p->next + 1) % ENC_PACE_INTERVALS;
		if (p->n < ENC_PACE_INTERVALS)
			p->n++;
	}
	p->last_ns = now_ns;
}

int64_t enc_pace_interval_ns(const struct enc_pace *p)
{
	int64_t v[ENC_PACE_INTERVALS];

	if (!p->n)
		return p->declared_ns;
	memcpy(v, p->intervals, sizeof(v[0]) * (size_t)p->n);
	/* Insertion sort of at most 8: the median, low one of an even count. */
	for (int i = 1; i < p->n; i++)
		for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
			int64_t t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return v[(p->n - 1) / 2];
}

int64_t enc_pace_lost_after_ns(const struct enc_pace *p, int timeout_ms)
{
	int64_t timeout = (int64_t)timeout_ms * 1000000, interval = enc_pace_interval_ns(p);

	/* An interval over a minute is no camera's pace: capped, so the product cannot overflow. */
	if (interval > ENC_PACE_MAX_INTERVAL_NS)
		interval = ENC_PACE_MAX_INTERVAL_NS;
	return interval * ENC_PACE_LOST_FRAMES > timeout ? interval * ENC_PACE_LOST_FRAMES
							 : timeout;
}

bool enc_pace_fresh(const struct enc_pace *p, int64_t now_ns, int timeout_ms)
{
	return p->last_ns && now_ns - p->last_ns <= enc_pace_lost_after_ns(p, timeout_ms);
}
