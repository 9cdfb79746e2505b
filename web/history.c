// SPDX-License-Identifier: MIT
/* The chart's figures: one point a second, from the published counters. */
#include "web.h"

#include <string.h>

static const char *const mode_names[] = {
	[WEB_STANDBY] = "standby",
	[WEB_CONNECTING] = "connecting",
	[WEB_LIVE] = "live",
	[WEB_RECONNECTING] = "reconnecting",
};

const char *web_mode_name(enum web_mode m)
{
	return mode_names[m];
}

bool web_status_live(const struct web_status *st)
{
	return st->mode == WEB_LIVE && st->m.connected && st->m.stream.valid;
}

/* The smallest RTT of the subflows on uplink @name (ms); 0 when it has none. */
static double uplink_rtt_ms(const struct metrics_data *d, const char *name)
{
	double best = 0;

	for (size_t k = 0; k < d->n_subflows; k++) {
		double ms = d->subflow[k].rtt_s * 1000;

		if (strcmp(d->subflow[k].uplink, name) == 0 && ms > 0 && (!best || ms < best))
			best = ms;
	}
	return best;
}

/* 8 * (@now - @before) / @dt_s: counters only grow; one that went back counts as 0. */
static double rate(uint64_t now, uint64_t before, double dt_s)
{
	return now > before ? 8.0 * (double)(now - before) / dt_s : 0;
}

bool web_history_add(struct web_history *h, const struct web_status *st)
{
	const struct web_point *last = web_history_last(h);
	const struct metrics_data *d = &st->m;
	struct web_point *p;
	double dt = st->t_s - h->prev_t_s;
	bool live = web_status_live(st);

	if (last && st->t_s - last->t_s < 1.0)
		return false;
	p = &h->point[h->next];
	memset(p, 0, sizeof(*p));
	p->t_s = st->t_s;
	p->video_bps = !live		      ? 0
		       : d->stream.target_bps ? (double)d->stream.target_bps
					      : d->stream.encoder_bps;
	p->delay_ms = live ? d->stream.delay_ms : -1;
	for (size_t i = 0; i < d->n_uplinks; i++) {
		const struct metrics_uplink *u = &d->uplink[i];

		if (h->have_prev && dt > 0) {
			p->uplink[i].send_bps = rate(u->sent_bytes, h->prev_sent[i], dt);
			p->uplink[i].goodput_bps = rate(u->acked_bytes, h->prev_acked[i], dt);
		}
		p->uplink[i].rtt_ms = uplink_rtt_ms(d, u->view.name);
		h->prev_sent[i] = u->sent_bytes;
		h->prev_acked[i] = u->acked_bytes;
	}
	h->prev_t_s = st->t_s;
	h->have_prev = true;
	h->next = (h->next + 1) % WEB_HISTORY_POINTS;
	if (h->n < WEB_HISTORY_POINTS)
		h->n++;
	return true;
}

const struct web_point *web_history_at(const struct web_history *h, size_t i)
{
	size_t first = (h->next + WEB_HISTORY_POINTS - h->n) % WEB_HISTORY_POINTS;

	return &h->point[(first + i) % WEB_HISTORY_POINTS];
}

const struct web_point *web_history_last(const struct web_history *h)
{
	return h->n ? web_history_at(h, h->n - 1) : NULL;
}
