// SPDX-License-Identifier: MIT
#include "ratectl.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void rc_init(struct ratectl *r, const struct rc_config *cfg)
{
	memset(r, 0, sizeof(*r));
	r->cfg = *cfg;
	r->target_bps = cfg->start_bps;
	r->cap_cur_bps = r->cap_prev_bps = -1;
	r->budget_ms = cfg->max_latency_ms;
}

static void peaks_reconnect(struct ratectl *r);

void rc_new_connection(struct ratectl *r)
{
	r->acked_total = 0;
	r->hist_n = 0;
	r->hist_next = 0;
	r->written_n = 0;
	r->written_next = 0;
	r->cap_cur_bps = r->cap_prev_bps = -1;
	r->cap_window_ms = 0;
	r->draining = false;
	/* After a reconnect nothing says the old rate fits: probe as at the start. */
	r->regaining = false;
	r->regain_bps = 0;
	r->ceiling_bps = 0;
	peaks_reconnect(r);
	memset(r->path, 0, sizeof(r->path));
	r->cover_ms = 0;
	r->started = false;
}

static int64_t clamp(const struct ratectl *r, double bps)
{
	if (bps < (double)r->cfg.min_bps)
		return r->cfg.min_bps;
	if (bps > (double)r->cfg.max_bps)
		return r->cfg.max_bps;
	return (int64_t)bps;
}

bool rc_set_bounds(struct ratectl *r, int64_t min_bps, int64_t max_bps)
{
	int64_t before = r->target_bps;

	r->cfg.min_bps = min_bps;
	r->cfg.max_bps = max_bps;
	r->cfg.fixed = min_bps == max_bps;
	r->target_bps = clamp(r, (double)r->target_bps);
	if (r->regain_bps)
		r->regain_bps = clamp(r, (double)r->regain_bps);
	return r->target_bps != before;
}

/*
 * What the paths carry: data their subflows acknowledged over the last
 * RC_WINDOW_MS, divided by the time in it when acknowledgements came
 * (ticks with none, a stall, do not count). < 0 before half a window.
 * Subflow acknowledgements, not the connection's: while one path is dead the
 * connection's stall until its data is sent again on another (head-of-line
 * blocking), but the living paths' keep coming at the rate they carry.
 * @stalled: acknowledgements came in less than RC_STALL_SHARE of it.
 */
static double capacity(struct ratectl *r, const struct rc_input *in, bool *stalled)
{
	size_t oldest = (r->hist_next + RC_HIST - r->hist_n) % RC_HIST;
	size_t last = (r->hist_next + RC_HIST - 1) % RC_HIST;
	int64_t busy = 0;
	double bps = -1;

	*stalled = false;
	if (r->hist_n) {
		/* This tick counts as busy when anything was acknowledged in it. */
		busy = r->hist[last].busy_ms;
		if (r->acked_total > r->hist[last].acked)
			busy += in->t_ms - r->hist[last].t_ms;
	}
	for (size_t k = 0; k < r->hist_n; k++) {
		size_t i = (oldest + k) % RC_HIST;
		int64_t dt = in->t_ms - r->hist[i].t_ms;
		int64_t db = busy - r->hist[i].busy_ms;

		/* The first sample no older than the window; or the oldest one. */
		if (dt <= RC_WINDOW_MS || k == r->hist_n - 1) {
			if (dt < RC_WINDOW_MS / 2 || r->acked_total < r->hist[i].acked)
				break;
			*stalled = db < RC_STALL_SHARE * (double)dt;
			bps = 8000.0 * (double)(r->acked_total - r->hist[i].acked) /
			      (double)(db > 0 ? db : dt);
			break;
		}
	}
	r->hist[r->hist_next].t_ms = in->t_ms;
	r->hist[r->hist_next].acked = r->acked_total;
	r->hist[r->hist_next].busy_ms = busy;
	r->hist_next = (r->hist_next + 1) % RC_HIST;
	if (r->hist_n < RC_HIST)
		r->hist_n++;
	/* Keep only what the window needs (plus one sample before it). */
	while (r->hist_n > 2) {
		size_t o = (r->hist_next + RC_HIST - r->hist_n) % RC_HIST;
		size_t o2 = (o + 1) % RC_HIST;

		if (in->t_ms - r->hist[o2].t_ms < RC_WINDOW_MS)
			break;
		r->hist_n--;
	}
	return bps;
}

/*
 * How long the oldest data in the socket has waited there, in ms: since the
 * tick at which the written sequence first went past what is acknowledged
 * now (a lower bound, to a tick). Measured, not estimated: when a path dies,
 * what the others carry for a while says little of how soon the socket
 * drains, but the age of its oldest data is the delay the viewer sees.
 * -1 when the sequence is not known.
 */
static int socket_age(struct ratectl *r, const struct rc_input *in)
{
	size_t newest = (r->written_next + RC_WRITTEN_HIST - 1) % RC_WRITTEN_HIST;
	int age = 0;

	if (!in->written_seq && !in->delivered_seq)
		return -1;
	/* A new sequence (another connection) or one going back: start over. */
	if (r->written_n && in->written_seq < r->written[newest].seq)
		r->written_n = 0;
	r->written[r->written_next].t_ms = in->t_ms;
	r->written[r->written_next].seq = in->written_seq;
	r->written_next = (r->written_next + 1) % RC_WRITTEN_HIST;
	if (r->written_n < RC_WRITTEN_HIST)
		r->written_n++;
	for (size_t k = 0; k < r->written_n; k++) {
		size_t i = (r->written_next + RC_WRITTEN_HIST - r->written_n + k) % RC_WRITTEN_HIST;

		if (r->written[i].seq > in->delivered_seq) {
			age = (int)(in->t_ms - r->written[i].t_ms);
			break;
		}
	}
	return age;
}

static double path_floor(const struct ratectl *r, size_t i)
{
	double a = r->path[i].floor[0], b = r->path[i].floor[1];

	if (a > 0 && b > 0)
		return a < b ? a : b;
	return a > 0 ? a : b;
}

static size_t path_slot(struct ratectl *r, uint32_t id, int64_t now)
{
	size_t free_slot = RC_MAX_PATHS, oldest = 0;

	for (size_t i = 0; i < RC_MAX_PATHS; i++) {
		if (r->path[i].used && r->path[i].id == id)
			return i;
		if (!r->path[i].used && free_slot == RC_MAX_PATHS)
			free_slot = i;
		if (r->path[i].seen_ms < r->path[oldest].seen_ms)
			oldest = i;
	}
	if (free_slot == RC_MAX_PATHS)
		free_slot = oldest;
	memset(&r->path[free_slot], 0, sizeof(r->path[free_slot]));
	r->path[free_slot].used = true;
	r->path[free_slot].id = id;
	r->path[free_slot].seen_ms = r->path[free_slot].first_ms = now;
	return free_slot;
}

/*
 * What path @i (@p in this tick's input; @known: in an earlier one too)
 * acknowledged since the last tick, and when it was last heard from.
 */
static uint64_t path_heard(struct ratectl *r, size_t i, const struct rc_path *p, bool known,
			   int64_t now)
{
	struct rc_path_state *s = &r->path[i];
	uint64_t grew = known && p->acked_bytes > s->acked ? p->acked_bytes - s->acked : 0;

	s->seen_ms = now;
	if (grew) {
		r->acked_total += grew;
		if (s->silent) {
			/* Back: its RTT after retransmission back-offs is no measure. */
			s->floor[0] = s->floor[1] = 0;
		}
		if (!s->carried || now - s->acked_ms >= RC_SILENT_MS)
			s->carrying_since_ms = now;
		s->acked_ms = now;
		s->carried = true;
	} else if (!known || (s->carried && p->delivered != s->delivered)) {
		/* New; or SACKs while a lost segment waits for its resend: not silent. */
		s->acked_ms = now;
	}
	s->delivered = p->delivered;
	/*
	 * Never 0 (no uplink known): an uplink's, or the subflow's own; as it
	 * was first named (the uplink's name is gone with its address while
	 * the subflow may still be listed).
	 */
	if (!known)
		s->peak_key = (uint64_t)(p->uplink ? 1 : 2) << 32 | (p->uplink ? p->uplink : p->id);
	s->rtt_now = p->rtt_ms;
	return grew;
}

/*
 * How far the paths' RTTs are above their floors, each weighted by the data
 * it carried in this tick: a path that carries nothing (a dead one) does not
 * count, and a path with a higher floor than the others is not taken for a
 * rise. @least: the smallest rise of a path that carried a tenth of the data
 * or more. The kernel's default scheduler fills the fastest path first, so
 * one path's queue fills long before the others'; only when even the least
 * loaded path's RTT rises are they all full.
 */
static double rtt_rise(struct ratectl *r, const struct rc_input *in, double *least, double *most)
{
	struct {
		double rise, weight;
	} rises[RC_MAX_PATHS];
	size_t n_rises = 0;
	double sum = 0, weight = 0;
	bool new_epoch = in->t_ms - r->epoch_start_ms >= RC_RTT_EPOCH_MS;

	r->tick_rtt_max = 0;
	for (size_t i = 0; i < RC_MAX_PATHS; i++)
		r->path[i].rtt_now = r->path[i].tick_rtt = 0;

	if (new_epoch) {
		r->epoch_start_ms = in->t_ms;
		for (size_t i = 0; i < RC_MAX_PATHS; i++) {
			r->path[i].floor[1] = r->path[i].floor[0];
			r->path[i].floor[0] = 0;
			/* Gone for two epochs: forget it. */
			if (r->path[i].used && in->t_ms - r->path[i].seen_ms >= 2 * RC_RTT_EPOCH_MS)
				r->path[i].used = false;
		}
	}
	for (size_t k = 0; k < in->n_paths && k < RC_MAX_PATHS; k++) {
		const struct rc_path *p = &in->paths[k];
		uint64_t grew;
		bool known = false;
		size_t i;

		for (i = 0; i < RC_MAX_PATHS; i++)
			if (r->path[i].used && r->path[i].id == p->id)
				break;
		known = i < RC_MAX_PATHS;
		i = path_slot(r, p->id, in->t_ms);
		grew = path_heard(r, i, p, known, in->t_ms);
		if (grew && p->rtt_ms > 0) {
			double floor = path_floor(r, i);
			double w = (double)grew;

			/* Not one just back: its RTT after back-offs is no measure. */
			if (in->t_ms - r->path[i].carrying_since_ms >= RC_CARRYING_MS) {
				r->path[i].tick_rtt = p->rtt_ms;
				if (p->rtt_ms > r->tick_rtt_max)
					r->tick_rtt_max = p->rtt_ms;
			}

			if (floor > 0) {
				rises[n_rises].rise = p->rtt_ms > floor ? p->rtt_ms - floor : 0;
				rises[n_rises++].weight = w;
				sum += w * rises[n_rises - 1].rise;
				weight += w;
			}
		}
		if (p->rtt_ms > 0 && (r->path[i].floor[0] <= 0 || p->rtt_ms < r->path[i].floor[0]))
			r->path[i].floor[0] = p->rtt_ms;
		r->path[i].acked = p->acked_bytes;
		rc_recent_add(&r->path[i].recent, grew, in->t_ms);
	}
	/*
	 * The least and the largest rise among the paths that carried a fair
	 * part of the data: the receiver waits for the slowest of them.
	 */
	*least = -1;
	*most = 0;
	for (size_t k = 0; k < n_rises; k++) {
		if (rises[k].weight < 0.1 * weight)
			continue;
		if (*least < 0 || rises[k].rise < *least)
			*least = rises[k].rise;
		if (rises[k].rise > *most)
			*most = rises[k].rise;
	}
	if (*least < 0)
		*least = 0;
	return weight > 0 ? sum / weight : 0;
}

/*
 * Whether a path has been without acknowledgements long enough to count as
 * silent: RC_SILENT_MS, or RC_GONE_MS once it is gone from the input (its
 * subflows closed: health released it after a silence of its own round
 * trips, which need not wait for ours).
 */
static bool quiet_long(const struct rc_path_state *p, int64_t now)
{
	int64_t quiet = now - p->acked_ms;

	return quiet >= RC_SILENT_MS || (now > p->seen_ms && quiet >= RC_GONE_MS);
}

/* Paths that carry data: acknowledged some lately. */
static int paths_carrying(const struct ratectl *r, int64_t now)
{
	int n = 0;

	for (size_t i = 0; i < RC_MAX_PATHS; i++)
		if (r->path[i].used && r->path[i].carried && !quiet_long(&r->path[i], now) &&
		    now - r->path[i].carrying_since_ms >= RC_CARRYING_MS)
			n++;
	return n;
}

/*
 * A path that carried data until lately and now gets no acknowledgement
 * while another one does: it is dead (or nearly), and the capacity it gave is
 * gone.
 */
static bool path_fell_silent(struct ratectl *r, int64_t now)
{
	bool silent = false, other_acks = false;

	for (size_t i = 0; i < RC_MAX_PATHS; i++) {
		int64_t quiet;

		if (!r->path[i].used)
			continue;
		quiet = now - r->path[i].acked_ms;
		if (quiet == 0) {
			other_acks = true;
			r->path[i].silent = r->path[i].forgotten = false;
		} else if (quiet_long(&r->path[i], now) && !r->path[i].silent &&
			   r->path[i].carried &&
			   (now == r->path[i].seen_ms ||
			    r->path[i].seen_ms - r->path[i].acked_ms < RC_SILENT_MS)) {
			/*
			 * Still listed and quiet, or gone while it carried data (its
			 * uplink benched or released). One that was back only briefly (its old
			 * subflow's last retransmissions, before a fresh one replaces
			 * it) was never counted on: it is marked, nothing more.
			 */
			if (r->path[i].acked_ms - r->path[i].carrying_since_ms >= RC_LIVED_MS) {
				silent = true;
			} else {
				r->path[i].silent = true;
				/* Not back after all: regain when it is. */
				r->regaining = false;
				r->paths_after_silence = paths_carrying(r, now);
			}
		}
	}
	if (!silent || !other_acks)
		return false;
	/* Once per silence. */
	for (size_t i = 0; i < RC_MAX_PATHS; i++)
		if (r->path[i].used && quiet_long(&r->path[i], now))
			r->path[i].silent = true;
	return true;
}

/*
 * What the living paths carried since the silent one last acknowledged
 * anything (@since_ms): only they acknowledged in that time, so it is the
 * growth of the total. -1 when the history does not reach back that far.
 */
static double living_rate(const struct ratectl *r, int64_t now, int64_t since_ms)
{
	for (size_t k = 0; k < r->hist_n; k++) {
		size_t i = (r->hist_next + RC_HIST - 1 - k) % RC_HIST;

		if (r->hist[i].t_ms <= since_ms && now > r->hist[i].t_ms)
			return 8000.0 * (double)(r->acked_total - r->hist[i].acked) /
			       (double)(now - r->hist[i].t_ms);
	}
	return -1;
}

/*
 * What the paths still acknowledging carried at best lately: right after a
 * path dies they carry less for a while (the receiver's window fills with
 * what waits for the dead path's data), and that is no measure of them.
 */
static double living_recent(const struct ratectl *r, int64_t now)
{
	double sum = 0;

	for (size_t i = 0; i < RC_MAX_PATHS; i++)
		if (r->path[i].used && !quiet_long(&r->path[i], now))
			sum += r->path[i].recent.bps;
	return sum;
}

/* When the path that fell silent last acknowledged anything. */
static int64_t silence_start(const struct ratectl *r, int64_t now)
{
	int64_t start = now;

	for (size_t i = 0; i < RC_MAX_PATHS; i++)
		if (r->path[i].used && quiet_long(&r->path[i], now) && r->path[i].acked_ms < start)
			start = r->path[i].acked_ms;
	return start;
}

/* The video rate that leaves the paths @carried_bps its headroom, with what goes besides. */
static double headroom_rate(const struct ratectl *r, double carried_bps)
{
	return RC_HEADROOM * carried_bps - (double)r->cfg.other_bps;
}

/*
 * Step down to @steady_bps, and below it for as long as the backlog takes to
 * drain. What the paths carry is measured from @measure_ms on: a new drain,
 * or a new event in one (a path died), starts the measure over; the running
 * drain passes its own.
 */
static void start_drain(struct ratectl *r, double steady_bps, int64_t measure_ms)
{
	if (!r->draining || measure_ms != r->drain_measure_ms) {
		r->drain_measure_ms = measure_ms;
		r->drain_ms0 = -1;
	}
	r->draining = true;
	r->drain_started = true;
	r->drain_steady_bps = (double)clamp(r, steady_bps);
}

/*
 * What the paths carried in this drain while data waited for them, once that
 * was RC_DRAIN_MEASURE_MS or more: then it is what they can carry now, which
 * the windows that reach back before the drain (a step of capacity, a path
 * lost) do not say. < 0: not known yet.
 */
static double drain_capacity(struct ratectl *r, int64_t now)
{
	if (now < r->drain_measure_ms)
		return -1;
	if (r->drain_ms0 < 0) {
		r->drain_ms0 = r->limited_ms;
		r->drain_acked0 = r->limited_acked;
		return -1;
	}
	if (r->limited_ms - r->drain_ms0 < RC_DRAIN_MEASURE_MS)
		return -1;
	return 8000.0 * (double)(r->limited_acked - r->drain_acked0) /
	       (double)(r->limited_ms - r->drain_ms0);
}

/*
 * While draining: the backlog beyond a quarter of the budget should be gone
 * within RC_DRAIN_MS, so the rate leaves room for it, and rises back to
 * the steady rate as it shrinks.
 */
static int64_t drain_target(const struct ratectl *r, int delay_ms, double cap_bps)
{
	double excess_ms = delay_ms - r->budget_ms / 4.0;
	double to = r->drain_steady_bps;

	if (excess_ms > 0)
		to -= excess_ms * cap_bps / RC_DRAIN_MS;
	if (to < RC_DRAIN_FLOOR * r->drain_steady_bps)
		to = RC_DRAIN_FLOOR * r->drain_steady_bps;
	return clamp(r, to);
}

/* What this tick measured, before anything is decided. */
struct estimate {
	int64_t now;
	double cap;	   /* what the paths carried over the last window; < 0: not known */
	double cap_best;   /* the best of this window and the one before */
	bool stalled;	   /* acknowledgements in less than RC_STALL_SHARE of the window */
	bool silent;	   /* a path fell silent in this tick */
	double silent_cap; /* ... what the living paths carry; < 0: not known */
	bool silent_guess; /* ... they were idle: a guess */
	double rise, rise_least, rise_most; /* the paths' RTT over their floors */
	int rise_limit, rise_least_limit;
	double wire; /* the target with what goes on the wire besides */
	int delay;   /* the sender's delay: the queue and the socket's oldest data */
	bool warm;   /* in the warm-up: the floors and the capacity are not known yet */
	bool high;   /* the delay is high */
	bool rising; /* a backlog builds up */
	bool calm;   /* no backlog, no queue: room to go up */
};

/*
 * A path fell silent: what to come back to when it is back, and what the
 * living ones carry. The capacity windows start over (the dead path's is
 * gone).
 */
static void on_silence(struct ratectl *r, struct estimate *e)
{
	const struct rc_config *c = &r->cfg;
	double best = r->cap_cur_bps > r->cap_prev_bps ? r->cap_cur_bps : r->cap_prev_bps;
	double living = living_rate(r, e->now, silence_start(r, e->now));
	double recent = living_recent(r, e->now);
	double before = RC_FAIR * best - (double)c->other_bps;
	double left; /* what the living paths carry, for the death's cover; < 0: a guess */

	/* What to come back to: the rate before, or what the paths carried. */
	if (before < (double)r->target_bps)
		before = (double)r->target_bps;
	if ((int64_t)before > r->regain_bps)
		r->regain_bps = clamp(r, before);
	/*
	 * What the living paths carried meanwhile; when that was next to nothing
	 * (a backup not yet in use, an idle path), it says nothing of what they
	 * can carry: a guess, as in a stall.
	 */
	if (recent > living)
		living = recent;
	e->silent_guess = !(living >= RC_LIVING_SHARE * best);
	if (best > 0)
		e->silent_cap = e->silent_guess
					? RC_STALL_STEP * (double)(r->target_bps + c->other_bps)
					: living;
	r->cap_cur_bps = r->cap_prev_bps = -1;
	r->cap_window_ms = e->now;
	r->hist_n = 0;
	r->regaining = false;
	r->paths_after_silence = paths_carrying(r, e->now);
	/*
	 * The delay of the dead path's data, waiting to be sent again, is
	 * covered by the budget for a while (died_lately()) when the others
	 * carry what the rate may go down to (not under a floor above them:
	 * then the excess is mpstream's own); once per 2 x RC_DOWN_AGAIN_MS,
	 * so that paths dying in turn do not keep it covered.
	 */
	left = e->silent_guess ? -1 : e->silent_cap;
	if (e->silent_cap > 0 && headroom_rate(r, e->silent_cap) >= (double)c->min_bps &&
	    (!r->cover_ms || e->now - r->cover_ms >= 2 * RC_DOWN_AGAIN_MS)) {
		r->cover_ms = e->now;
		r->cover_cap_bps = left;
	} else if (r->cover_ms && left < r->cover_cap_bps) {
		/* Another death within the cover's reach: what is left carries less. */
		r->cover_cap_bps = left;
	}
}

/* A budget of at least @ms: rounded up to RC_BUDGET_ROUND_MS, at most RC_BUDGET_MAX_MS. */
static int budget_for(double ms)
{
	int b = (int)ceil(ms / RC_BUDGET_ROUND_MS) * RC_BUDGET_ROUND_MS;

	return b < RC_BUDGET_MAX_MS ? b : RC_BUDGET_MAX_MS;
}

/* The peaks of @row move on by @slots (the newest first); the new slots are empty. */
static void peaks_age(double row[RC_BUDGET_SLOTS], int64_t slots)
{
	size_t k = slots < RC_BUDGET_SLOTS ? (size_t)slots : RC_BUDGET_SLOTS;

	memmove(&row[k], &row[0], (RC_BUDGET_SLOTS - k) * sizeof(row[0]));
	memset(row, 0, k * sizeof(row[0]));
}

/* The largest of @row's peaks, or @peak if larger. */
static double peaks_max(const double row[RC_BUDGET_SLOTS], double peak)
{
	for (size_t k = 0; k < RC_BUDGET_SLOTS; k++)
		if (row[k] > peak)
			peak = row[k];
	return peak;
}

/* The largest peak the automatic budget follows: of any uplink, or of none. */
static double peak_of(const struct ratectl *r)
{
	double peak = peaks_max(r->rtt_peak, 0);

	for (size_t u = 0; u < RC_MAX_PATHS; u++)
		if (r->uplink_peaks[u].used)
			peak = peaks_max(r->uplink_peaks[u].peak, peak);
	return peak;
}

/*
 * The peaks of the uplink @key; with @add, a new row if it has none (in
 * place of the one whose peaks are the least, if all are taken). NULL: none.
 */
static struct rc_uplink_peaks *peaks_row(struct ratectl *r, uint64_t key, bool add)
{
	struct rc_uplink_peaks *free_row = NULL, *least = NULL;

	for (size_t u = 0; u < RC_MAX_PATHS; u++) {
		struct rc_uplink_peaks *row = &r->uplink_peaks[u];

		if (row->used && row->key == key)
			return row;
		if (!row->used && !free_row)
			free_row = row;
		if (row->used && (!least || peaks_max(row->peak, 0) < peaks_max(least->peak, 0)))
			least = row;
	}
	if (!add)
		return NULL;
	if (!free_row) {
		free_row = least;
		memset(free_row, 0, sizeof(*free_row));
	}
	free_row->used = true;
	free_row->key = key;
	return free_row;
}

/* @ms counts as a peak of the uplink @key (0: of none known) in the newest slot. */
static void peak_add(struct ratectl *r, uint64_t key, double ms)
{
	double *newest = key ? &peaks_row(r, key, true)->peak[0] : &r->rtt_peak[0];

	if (ms > *newest)
		*newest = ms;
}

/*
 * Whether path @i carried data, and another one acknowledged some @ms or
 * more after it last did: it fell silent while the connection went on (a
 * death), not with all the others (the server stopped, a reconnection).
 */
static bool outlived(const struct ratectl *r, size_t i, int64_t ms)
{
	if (!r->path[i].carried)
		return false;
	for (size_t j = 0; j < RC_MAX_PATHS; j++)
		if (j != i && r->path[j].used && r->path[j].carried &&
		    r->path[j].acked_ms - r->path[i].acked_ms >= ms)
			return true;
	return false;
}

/*
 * Whether the uplink @key lives on in a subflow other than @skip: one that
 * carries data now (1), or a fresh one listed for less than RC_DEAD_MS that
 * has not carried yet (-1: not known yet; a kicked uplink's new subflow
 * joins a second or two after the old one fell silent). 0: it does not.
 */
static int uplink_lives(const struct ratectl *r, uint64_t key, size_t skip, int64_t now)
{
	int lives = 0;

	for (size_t i = 0; i < RC_MAX_PATHS; i++) {
		const struct rc_path_state *p = &r->path[i];

		if (i == skip || !p->used || p->peak_key != key)
			continue;
		if (p->carried && !quiet_long(p, now))
			return 1;
		if (!p->carried && p->seen_ms == now && now - p->first_ms < RC_DEAD_MS)
			lives = -1;
	}
	return lives;
}

/*
 * Forget the peaks of @row (NULL: none of an uplink) and those of no uplink
 * known (they may have been its). When that takes the budget down, the log
 * will say a death did (peak_died).
 */
static void peaks_forget(struct ratectl *r, struct rc_uplink_peaks *row)
{
	double before = peak_of(r), after;

	if (row)
		memset(row, 0, sizeof(*row));
	memset(r->rtt_peak, 0, sizeof(r->rtt_peak));
	after = peak_of(r);
	if (after < before && budget_for(RC_BUDGET_RTT_TIMES * after) < r->budget_ms &&
	    r->cfg.max_latency_ms < r->budget_ms)
		r->peak_died = true;
}

/*
 * A path silent for RC_DEAD_MS while another acknowledged is gone (released,
 * cut), not in a hole: the automatic budget forgets its uplink's peaks, once
 * per silence, unless a subflow of the same uplink carries (a fresh one in
 * its place), and those of no uplink known. Its swing (a cellular uplink's
 * queue in its dips) raised the budget, which would let the delay on the
 * paths left creep to it before the rate steps down. follow_budget() lowers
 * it once the delay is well under the lower one. The peaks of the uplinks
 * left stay: their swing goes on (on three recorded uplinks, forgetting
 * T-Mobile's with AT&T's brought the budget from 3500 to 1000 ms, and
 * T-Mobile's next fall dropped frames 0.7 s later). A hole of T-Mobile's
 * 0.7 s keeps them; so does a stall of every path at once. While a fresh
 * subflow of the uplink is listed and has not carried yet, the decision
 * waits (up to RC_DEAD_MS of it).
 */
static void forget_dead(struct ratectl *r, int64_t now)
{
	for (size_t i = 0; i < RC_MAX_PATHS; i++) {
		struct rc_path_state *p = &r->path[i];
		int lives;

		if (!p->used || !p->silent || p->forgotten || now - p->acked_ms < RC_DEAD_MS ||
		    !outlived(r, i, RC_DEAD_MS) ||
		    (lives = uplink_lives(r, p->peak_key, i, now)) < 0)
			continue;
		p->forgotten = true;
		peaks_forget(r, lives ? NULL : peaks_row(r, p->peak_key, false));
	}
}

/*
 * A new connection: the uplinks are the same, their peaks go on, but those
 * of an uplink whose every subflow that carried had fallen silent for half a
 * second while another acknowledged (forget_dead() had not waited long
 * enough yet; a hole of that uplink's just then counts as its death).
 */
static void peaks_reconnect(struct ratectl *r)
{
	for (size_t u = 0; u < RC_MAX_PATHS; u++) {
		struct rc_uplink_peaks *row = &r->uplink_peaks[u];
		bool seen = false, dead = true;

		for (size_t i = 0; row->used && i < RC_MAX_PATHS; i++)
			if (r->path[i].used && r->path[i].carried &&
			    r->path[i].peak_key == row->key) {
				seen = true;
				dead &= outlived(r, i, RC_SILENT_MS);
			}
		if (seen && dead)
			peaks_forget(r, row);
	}
	r->cover_died = false;
}

/*
 * Whether what goes out is within what the paths carried lately (the best of
 * two windows, with the probe's margin): then a queue in the paths is theirs
 * (a dip, a swing), not mpstream's own lasting excess, and may move the
 * automatic budget. A rate above it fills the paths' queues by itself: their
 * RTT and the delay grow, and that must step the rate down, not raise the
 * budget. Right after a step down of their capacity, what they carry is not
 * known yet either (the windows say it within 2 s): that queue is taken for
 * a dip's, which it is as far as the viewer is concerned.
 */
static bool feeding_within(const struct estimate *e)
{
	return e->cap_best >= 0 && e->wire <= RC_PROBE_LIMIT * e->cap_best;
}

/*
 * A path was found silent less than RC_DOWN_AGAIN_MS ago, and the others
 * carry what the rate goes down to (on_silence()): the delay is the dead
 * path's data waiting to be sent again on them, not mpstream's excess, and
 * it passes once that data is resent. Dropping the queue for it (on three
 * recorded cellular uplinks, 22 frames when two of them fell silent
 * together) is a skip the viewer need not see.
 */
static bool died_lately(const struct ratectl *r, const struct estimate *e)
{
	return r->cover_ms && e->now - r->cover_ms < RC_DOWN_AGAIN_MS;
}

/* Why the automatic budget comes down to what @peak, the largest peak left, asks for. */
static void lowered_why(const struct ratectl *r, double peak, char *buf, size_t size)
{
	int64_t span = (RC_BUDGET_SLOTS - 1) * RC_BUDGET_SLOT_MS;

	if (r->peak_died && peak <= 0)
		/* No uplink left has a peak within the slots' reach. */
		snprintf(buf, size, "a path died, and the delay is low");
	else if (r->peak_died)
		snprintf(buf, size,
			 "a path died; the paths left peaked at %.0f ms (RTT, or a hold)", peak);
	else if (r->cover_died && peak <= 0)
		snprintf(buf, size, "the dead path's data was resent");
	else if (r->cover_died)
		snprintf(buf, size,
			 "the dead path's data was resent; the paths peaked at %.0f ms (RTT, or a "
			 "hold)",
			 peak);
	else
		snprintf(buf, size,
			 "the paths' peaks (RTT, or a hold) stayed under %.0f ms for %.0f s", peak,
			 (double)span / 1000);
}

/*
 * The automatic budget (cfg.auto_budget): twice the largest RTT a path that
 * carried data showed lately, so that the swing of a cellular uplink's queue
 * (a dip of its capacity: its RTT goes from 50 ms to a second) is within
 * it, not a drop; never under --max-latency, never over RC_BUDGET_MAX_MS.
 * Only while the rate is within what the paths carry (feeding_within()).
 * Raised at once; lowered once the peak is older than the slots reach (or
 * the uplink whose peak it was died: forget_dead()) and the delay and the
 * RTT's rise are well under what the lower budget allows (lowering it must
 * neither drop nor step the rate down). The peaks are the uplinks': they
 * outlive a subflow and a reconnection.
 */
static void follow_budget(struct ratectl *r, const struct estimate *e, struct rc_decision *out)
{
	int64_t slots = (e->now - r->peak_slot_ms) / RC_BUDGET_SLOT_MS;
	double peak;
	int want;

	if (!r->cfg.auto_budget)
		return;
	if (slots > 0) {
		peaks_age(r->rtt_peak, slots);
		for (size_t u = 0; u < RC_MAX_PATHS; u++) {
			peaks_age(r->uplink_peaks[u].peak, slots);
			if (peaks_max(r->uplink_peaks[u].peak, 0) <= 0)
				r->uplink_peaks[u].used = false;
		}
		r->peak_slot_ms = e->now;
	}
	for (size_t i = 0; i < RC_MAX_PATHS && feeding_within(e); i++)
		if (r->path[i].used && r->path[i].tick_rtt > 0)
			peak_add(r, r->path[i].peak_key, r->path[i].tick_rtt);
	peak = peak_of(r);
	want = budget_for(RC_BUDGET_RTT_TIMES * peak);
	if (want < r->cfg.max_latency_ms)
		want = r->cfg.max_latency_ms;
	if (want >= r->budget_ms)
		/* What set the budget is a peak now: a lowering later is that peak's age. */
		r->peak_died = r->cover_died = false;
	if (want > r->budget_ms) {
		out->budget_change = 1;
		snprintf(out->budget_why, sizeof(out->budget_why), "a path's RTT reached %.0f ms",
			 r->tick_rtt_max);
	} else if (want < r->budget_ms && e->delay < want / 5 &&
		   e->rise_most < RC_RTT_RISE_MOST * want / 2 &&
		   !(r->cover_died && e->now - r->covered_ms < 2 * RC_DOWN_AGAIN_MS)) {
		/* A death's cover stays while another death's could not be covered. */
		out->budget_change = -1;
		lowered_why(r, peak, out->budget_why, sizeof(out->budget_why));
	} else {
		return;
	}
	r->peak_died = r->cover_died = false;
	r->budget_ms = want;
}

/* The capacity, the paths' silence and RTTs, the delay: this tick's estimate. */
static void estimate(struct ratectl *r, const struct rc_input *in, struct estimate *e,
		     struct rc_decision *out)
{
	int budget, age;
	uint64_t acked_before = r->acked_total;
	double drain;

	memset(e, 0, sizeof(*e));
	e->now = in->t_ms;
	e->silent_cap = -1;
	e->rise = r->rtt_rise_ms = rtt_rise(r, in, &e->rise_least, &e->rise_most);
	if (r->last_tick_ms && r->acked_total > acked_before &&
	    (in->unsent_bytes > RC_UNSENT_BUSY || in->held)) {
		/* Data waited for the paths: what they acknowledged is what they carry. */
		r->limited_ms += e->now - r->last_tick_ms;
		r->limited_acked += r->acked_total - acked_before;
	}
	r->last_tick_ms = e->now;
	e->cap = capacity(r, in, &e->stalled);
	e->silent = path_fell_silent(r, e->now);
	forget_dead(r, e->now);
	if (e->silent) {
		on_silence(r, e);
	} else if (e->now - r->cap_window_ms >= RC_WINDOW_MS) {
		r->cap_prev_bps = r->cap_cur_bps;
		r->cap_cur_bps = -1;
		r->cap_window_ms = e->now;
	}
	if (!e->silent && r->regain_bps && !r->regaining &&
	    paths_carrying(r, e->now) > r->paths_after_silence) {
		/* A path carries data again: what was lost may be back. */
		r->regaining = true;
		out->regain = true;
		out->regain_bps = r->regain_bps;
	}
	if (!e->silent && e->cap > r->cap_cur_bps)
		r->cap_cur_bps = e->cap;
	e->cap_best = r->cap_cur_bps > r->cap_prev_bps ? r->cap_cur_bps : r->cap_prev_bps;
	e->wire = (double)(r->target_bps + r->cfg.other_bps);
	/* The socket drains at what the paths carry, or at least at half the rate sent. */
	drain = e->cap > e->wire / 2 ? e->cap : e->wire / 2;
	age = socket_age(r, in);
	e->delay = in->queue_ms + (age >= 0 ? age : (int)(8000.0 * in->socket_bytes / drain));
	follow_budget(r, e, out);
	budget = r->budget_ms;

	/*
	 * Whether the paths, not the encoder, set the pace: data waits unsent in
	 * most recent ticks. Then what they carry is their capacity, and asking
	 * more of them only builds a queue.
	 */
	r->net_limited += 0.2 * ((in->unsent_bytes > RC_UNSENT_BUSY || in->held) - r->net_limited);
	e->high = e->delay > budget * 6 / 10 || in->queue_ms > budget / 3;
	/*
	 * The delay measured in the socket includes the paths' queues; a rise
	 * of their RTT is the early sign, and a small one is no harm to a
	 * budget of a second: only a share of the budget counts.
	 */
	e->rise_limit = (int)(RC_RTT_RISE_MOST * budget);
	if (e->rise_limit < RC_RTT_RISE_MS)
		e->rise_limit = RC_RTT_RISE_MS;
	e->rise_least_limit = (int)(RC_RTT_RISE_LEAST * budget);
	if (e->rise_least_limit < RC_RTT_RISE_MS)
		e->rise_least_limit = RC_RTT_RISE_MS;
	/*
	 * In the warm-up the RTT floors and the capacity are not known yet
	 * (slow start, subflows joining): only the delay counts.
	 */
	e->warm = e->now - r->start_ms < RC_WARMUP_MS;
	e->rising = e->delay > budget * 4 / 10 ||
		    (!e->warm &&
		     (e->rise_most > e->rise_limit || e->rise_least > e->rise_least_limit ||
		      (r->net_limited > 0.7 && e->cap_best >= 0 && e->wire > 1.03 * e->cap_best)));
	/*
	 * Room to go up: no backlog, and no path's queue more than half way to
	 * a step down (a hold between the two: a slow path with a deep queue
	 * fills it long before the delay shows, and probing into it only
	 * brings the next step down, or a drop, sooner).
	 */
	e->calm = !e->rising && e->delay < budget / 5 && r->net_limited < 0.3 &&
		  e->rise_most <= e->rise_limit / 2;
}

/*
 * The uplink of the path that carries whose RTT is the furthest over its
 * floor in this tick's input (its queue holds the data); 0: none.
 */
static uint64_t swinging_key(const struct ratectl *r, int64_t now)
{
	uint64_t key = 0;
	double most = 0;

	for (size_t i = 0; i < RC_MAX_PATHS; i++) {
		const struct rc_path_state *p = &r->path[i];
		double floor = path_floor(r, i);

		if (p->used && p->carried && !quiet_long(p, now) &&
		    now - p->carrying_since_ms >= RC_CARRYING_MS && floor > 0 &&
		    p->rtt_now - floor > most) {
			most = p->rtt_now - floor;
			key = p->peak_key;
		}
	}
	return key;
}

/* A path died and the rest carry less than the target: at once to what they carry, and drain. */
static bool path_lost(const struct ratectl *r, const struct estimate *e)
{
	return e->silent && e->silent_cap > 0 &&
	       headroom_rate(r, e->silent_cap) < (double)r->target_bps;
}

/*
 * What the paths carried over the samples kept (at most about a window; since
 * a death, only what came after it), over the whole time, ticks without
 * acknowledgements included; < 0 before half a window.
 */
static double wall_rate(const struct ratectl *r, int64_t now)
{
	int64_t oldest_ms = r->hist[(r->hist_next + RC_HIST - r->hist_n) % RC_HIST].t_ms;

	if (!r->hist_n || now - oldest_ms < RC_WINDOW_MS / 2)
		return -1;
	return living_rate(r, now, oldest_ms);
}

/*
 * The mean of the targets of the ticks of the last @ms (the one in force if
 * none): the rate the frames queued over that time were encoded at, about.
 */
static double mean_asked(const struct ratectl *r, int64_t now, int ms)
{
	double sum = 0;
	size_t n = 0;

	for (size_t k = 0; k < r->asked_n; k++) {
		size_t i = (r->asked_next + RC_ASKED_HIST - 1 - k) % RC_ASKED_HIST;

		if (now - r->asked[i].t_ms > ms)
			break;
		sum += (double)r->asked[i].bps;
		n++;
	}
	return n ? sum / (double)n : (double)r->target_bps;
}

/*
 * After a death, when mpstream's own queue holds the delay (the socket
 * waited while the dead path's data was sent again, and the encoder's output
 * lags the step down): the longest any of what waits now will have waited
 * once the living paths send it, in ms, if the rate is under what they carry
 * (so that the backlog shrinks once the encoder follows); else, or not
 * known, -1. That is the last frame queued, which waits for all of it (with
 * what the encoder puts out over the rate for RC_ENCODER_FOLLOW_MS more:
 * x264 follows a new rate within that), or the oldest, which has waited
 * queue_ms already and waits for the socket still. What they carry:
 * measured since the death over wall-clock time (capacity() counts only the
 * ticks with acknowledgements, and right after a death they come in bursts),
 * or else what they carried when it came. The rate: in the tick the death is
 * found, the one it steps down to (the target is set after this).
 */
static double death_clears_ms(const struct ratectl *r, const struct rc_input *in,
			      const struct estimate *e)
{
	double other = (double)r->cfg.other_bps;
	double wire = path_lost(r, e) ? headroom_rate(r, e->silent_cap) + other : e->wire;
	double out = in->encoder_bps > 0 ? in->encoder_bps + other : wire;
	double queued = mean_asked(r, e->now, in->queue_ms + RC_ENCODER_FOLLOW_MS) + other;
	double socket_bits = 8.0 * in->socket_bytes;
	double bits = socket_bits + (double)in->queue_ms / 1000 * fmax(queued, out);
	double living = e->silent ? -1 : wall_rate(r, e->now);
	double last, oldest;

	if (living <= 0)
		living = r->cover_cap_bps;
	if (living <= 0 || living <= wire)
		return -1;
	if (out > wire)
		bits += (out - wire) * RC_ENCODER_FOLLOW_MS / 1000;
	last = 1000 * bits / living;
	oldest = in->queue_ms + 1000 * socket_bits / living;
	return fmax(last, oldest);
}

/*
 * The automatic budget, at a delay over it: when the data waits in the paths
 * (the socket's oldest data is over half the budget old; or a third, while
 * the in-flight cap holds mpstream's queue back: then the queue waits for
 * the paths too), a path's queue swings and its RTT, measured a round trip
 * late, has not said so yet. The budget is raised to cover the delay, up to
 * RC_BUDGET_MAX_MS, and that counts as a peak. Returns true when it was.
 * Not while mpstream sends more than the paths carried lately
 * (feeding_within()): then the queue is its own, and it is dropped. Right
 * after a path died (died_lately()) too, but as no peak. What waits in
 * mpstream's queue behind a full socket sets it off only then, and only when
 * the paths left send all of it within the cap (death_clears_ms()): where
 * they carry next to nothing, covering it only makes the drop later and
 * bigger (tried on 2026-12-07: docs/design.md, "Rate control").
 */
static bool budget_covers(struct ratectl *r, const struct rc_input *in, const struct estimate *e,
			  struct rc_decision *out)
{
	int socket_ms = e->delay - in->queue_ms, want;
	bool died = died_lately(r, e);
	double clears = -1;

	if (!r->cfg.auto_budget || r->budget_ms >= RC_BUDGET_MAX_MS || !(died || feeding_within(e)))
		return false;
	if (socket_ms <= (in->held ? r->budget_ms / 3 : r->budget_ms / 2)) {
		/*
		 * Not the paths' hold: a death's backlog that clears in time,
		 * once per death (a queue that grew past the first cover is
		 * not clearing as it should), or nothing.
		 */
		clears =
			died && r->queue_covered_ms != r->cover_ms ? death_clears_ms(r, in, e) : -1;
		if (clears < 0 || RC_BUDGET_COVER * clears > RC_BUDGET_MAX_MS)
			return false;
	}
	want = budget_for(RC_BUDGET_COVER * (clears > e->delay ? clears : e->delay));
	if (e->delay > want)
		return false;
	if (clears >= 0)
		r->queue_covered_ms = r->cover_ms;
	r->budget_ms = want;
	r->peak_died = false;
	/*
	 * A death's delay passes once its data is resent: no peak, the budget
	 * comes down after. The paths' hold is the swing of the uplink whose
	 * queue holds it: its peak.
	 */
	r->cover_died = died;
	if (died)
		r->covered_ms = r->cover_ms;
	else
		peak_add(r, swinging_key(r, e->now), want / RC_BUDGET_RTT_TIMES);
	out->budget_change = 1;
	out->budget_ms = want;
	if (clears >= 0)
		snprintf(out->budget_why, sizeof(out->budget_why),
			 "a path fell silent, what waits goes out on the others within %.0f ms",
			 clears);
	else
		snprintf(out->budget_why, sizeof(out->budget_why), "%s for %d ms",
			 died ? "a path fell silent, its data waited to be resent"
			      : "the paths held data",
			 socket_ms);
	return true;
}

/* The delay is over the budget: drop the queue up to a keyframe (in any mode). */
static void decide_drop(struct ratectl *r, const struct rc_input *in, const struct estimate *e,
			struct rc_decision *out)
{
	int budget = r->budget_ms;

	if (e->delay > budget && in->queue_ms >= RC_DROP_MIN_QUEUE_MS &&
	    e->now - r->last_drop_ms >= RC_DROP_HOLD_MS && !budget_covers(r, in, e, out)) {
		out->drop = true;
		r->last_drop_ms = e->now;
		snprintf(out->why, sizeof(out->why), "sender delay %d ms over the %d ms budget",
			 e->delay, budget);
	}
}

static enum rc_mode mode_of(const struct ratectl *r, const struct estimate *e)
{
	if (r->draining)
		return RC_DRAINING;
	if (r->regaining)
		return RC_REGAINING;
	return e->warm ? RC_WARMUP : RC_STEADY;
}

/* Set out->why unless a drop already did. */
__attribute__((format(printf, 2, 3))) static void why(struct rc_decision *out, const char *fmt, ...)
{
	va_list ap;

	if (out->drop)
		return;
	va_start(ap, fmt);
	vsnprintf(out->why, sizeof(out->why), fmt, ap);
	va_end(ap);
}

static int64_t act_path_lost(struct ratectl *r, const struct estimate *e, struct rc_decision *out)
{
	start_drain(r, headroom_rate(r, e->silent_cap), e->now + RC_DRAIN_SETTLE_MS);
	why(out, "a path fell silent, the others %s %.2f Mbit/s",
	    e->silent_guess ? "idle: guessing" : "carry", e->silent_cap / 1e6);
	return drain_target(r, e->delay, e->silent_cap);
}

/* Below the paths' rate until the backlog is gone, then back to it. */
static int64_t act_draining(struct ratectl *r, const struct estimate *e, struct rc_decision *out)
{
	double carried = drain_capacity(r, e->now);

	if (carried > 0 && !e->stalled && headroom_rate(r, carried) < r->drain_steady_bps) {
		/* Measured in the drain: the paths carry less than the windows before said. */
		r->drain_steady_bps = (double)clamp(r, headroom_rate(r, carried));
		why(out, "sender delay %d ms, the paths carry %.2f Mbit/s while it drains",
		    e->delay, carried / 1e6);
	}
	if (e->delay < r->budget_ms / 4) {
		/*
		 * Drained: back to what the paths carry. A drain too short to
		 * measure (a drop emptied the queue) has the last window, which
		 * says more of the paths now than the rate it started from.
		 */
		double steady = r->drain_steady_bps;

		if (carried < 0 && e->now >= r->drain_measure_ms && e->cap > 0 && !e->stalled &&
		    headroom_rate(r, e->cap) < steady)
			steady = headroom_rate(r, e->cap);
		r->draining = false;
		return clamp(r, steady);
	}
	/*
	 * Not sooner than RC_DOWN_AGAIN_MS: right after a path dies, the others
	 * carry little too until the kernel has sent its data again (the
	 * receiver's window is full of what waits for it), and that is no
	 * measure of what they can carry.
	 */
	if (e->cap_best >= 0 && !e->stalled && e->now - r->last_down_ms >= RC_DOWN_AGAIN_MS &&
	    headroom_rate(r, e->cap_best) < r->drain_steady_bps) {
		/*
		 * Still growing: the paths carry less than thought (the best of two
		 * windows: while the kernel sends a dead path's data again, the
		 * others carry less for a while).
		 */
		start_drain(r, headroom_rate(r, e->cap_best), r->drain_measure_ms);
		snprintf(out->why, sizeof(out->why),
			 "sender delay %d ms, the paths carry %.2f Mbit/s", e->delay,
			 e->cap_best / 1e6);
	}
	return drain_target(r, e->delay, e->cap >= 0 ? e->cap : e->wire);
}

/*
 * The delay is high: a step down, to what the paths carry where that is known.
 * With a drop (the delay is over the budget), at once and to what they carried
 * over the last window if that is less than the best of two: the backlog says
 * the paths carry less than the target now, whatever they carried before.
 */
static int64_t step_high(struct ratectl *r, const struct estimate *e, struct rc_decision *out)
{
	double target = (double)r->target_bps, to = target;
	double cap = e->cap_best;

	if (out->drop && e->cap >= 0 && e->cap < cap)
		cap = e->cap;

	if (e->stalled && !r->stall_stepped) {
		/* Next to nothing gets through: once, a guess; the stall's end tells more. */
		to = RC_STALL_STEP * target;
		r->stall_stepped = true;
	} else if (!e->stalled && e->cap_best >= 0 && e->warm) {
		/* Slow start, subflows joining: what was carried says little yet. */
		to = RC_EASE * target;
	} else if (!e->stalled && cap >= 0 &&
		   (e->delay > r->down_delay_ms || e->now - r->last_down_ms >= RC_DOWN_AGAIN_MS ||
		    out->drop)) {
		/*
		 * What the paths carry, with room for the queue to drain. Once
		 * there, the delay falls by itself: step again only if it still
		 * grows.
		 */
		to = headroom_rate(r, cap);
		if (to < RC_HIGH_CUT * target)
			to = RC_HIGH_CUT * target;
		if (to < 0.97 * target) {
			start_drain(r, to, e->now);
			to = (double)drain_target(r, e->delay, cap);
		}
	}
	if (to >= 0.97 * target)
		return r->target_bps;
	if (e->stalled)
		why(out, "sender delay %d ms, the paths stall", e->delay);
	else
		why(out, "sender delay %d ms, the paths carry %.2f Mbit/s", e->delay, cap / 1e6);
	return clamp(r, to);
}

/* A backlog builds up: a gentle step, to what the paths carried if that is less. */
static int64_t step_rising(struct ratectl *r, const struct estimate *e, struct rc_decision *out)
{
	const struct rc_config *c = &r->cfg;
	double to = RC_EASE * (double)r->target_bps;

	/*
	 * What the paths carried is what they can carry; the best of the last
	 * two windows, so that a burst of losses does not count as a lasting
	 * loss of capacity.
	 */
	if (e->cap_best >= 0 && !e->warm &&
	    (e->delay > r->budget_ms * 4 / 10 || r->net_limited > 0.7) &&
	    RC_FAIR * e->cap_best - (double)c->other_bps < to)
		to = RC_FAIR * e->cap_best - (double)c->other_bps;
	if (to < RC_MAX_CUT * (double)r->target_bps)
		to = RC_MAX_CUT * (double)r->target_bps;
	why(out, "RTT %.0f ms over its floor, sender delay %d ms%s",
	    e->rise_least > e->rise_least_limit ? e->rise_least : e->rise_most, e->delay,
	    r->net_limited > 0.7 ? ", the paths are the limit" : "");
	return clamp(r, to);
}

/* The steps down every mode but draining takes. Returns true when one was taken. */
static bool step_down(struct ratectl *r, const struct estimate *e, struct rc_decision *out,
		      int64_t *target)
{
	if (e->high && (e->now - r->last_down_ms >= RC_DOWN_HOLD_MS || out->drop)) {
		*target = step_high(r, e, out);
		return true;
	}
	if (e->rising && !e->stalled && e->now - r->last_down_ms >= 2 * RC_DOWN_HOLD_MS) {
		*target = step_rising(r, e, out);
		return true;
	}
	return false;
}

/* The least target of the last @ms: what a measure that far back was asked for at least. */
static int64_t least_asked(const struct ratectl *r, int64_t now, int ms)
{
	int64_t least = r->target_bps;

	for (size_t k = 0; k < r->asked_n; k++) {
		size_t i = (r->asked_next + RC_ASKED_HIST - 1 - k) % RC_ASKED_HIST;

		if (now - r->asked[i].t_ms > ms)
			break;
		if (r->asked[i].bps < least)
			least = r->asked[i].bps;
	}
	return least;
}

/*
 * What goes on the wire after a step up by @up: the new target at the share
 * of it the encoder puts out (x264 on a simple picture: 88 % on the lab's
 * pattern), with what goes besides. The probe's bound compares it
 * with what the paths carried: the target itself, against what an encoder
 * short of it carried, would hold the rate where it is however much room the
 * paths have. The share is what the encoder put out of the least target of
 * the last RC_ENCODER_LAG_MS (@asked), at most all of it: its measure lags a
 * rising target, and what it put out a second ago, against the bound, would
 * let the climb run past the paths by what it climbed meanwhile.
 */
static double sending(const struct ratectl *r, const struct rc_input *in, int64_t asked, double up)
{
	double share = 1;

	if (in->encoder_bps > 0 && asked > 0 && in->encoder_bps < (double)asked)
		share = in->encoder_bps / (double)asked;
	return (1 + up) * share * (double)r->target_bps + (double)r->cfg.other_bps;
}

/*
 * Warm-up and steady: down when the delay says so; else up, but not far
 * beyond what the paths have shown they carry, and only once the encoder
 * uses what it was given: x264 follows a new rate within its VBV buffer, and
 * a still picture never fills it. Near the ceiling (what was carried until
 * the last step down) slowly: x264's output lags a rising target and the
 * paths' queues show it later still, so a fast probe overshoots a stable
 * link by what it climbed meanwhile. Far below it fast, and without the
 * last second's bounds: that was carried a moment ago (a dip of a cellular
 * link passes). The encoder's measure (a second of its output, up to a
 * second old) is held against the least target of the last
 * RC_ENCODER_LAG_MS: against the target of the moment, an encoder that puts
 * out 88 % of its target (x264 on the lab's pattern) never passed it while
 * climbing.
 */
static int64_t act_steady(struct ratectl *r, const struct rc_input *in, const struct estimate *e,
			  struct rc_decision *out)
{
	int64_t target = r->target_bps, asked = least_asked(r, e->now, RC_ENCODER_LAG_MS);
	double up = RC_UP_STEP, limit = RC_PROBE_LIMIT;

	if (step_down(r, e, out, &target))
		return target;
	if ((double)target < RC_BACK_BELOW * (double)r->ceiling_bps) {
		up = RC_BACK_STEP;
		limit = HUGE_VAL;
	} else if (target < r->ceiling_bps) {
		up = RC_PLATEAU_STEP;
	}
	if (e->calm && e->now - r->last_down_ms >= RC_UP_HOLD_MS &&
	    e->now - r->last_up_ms >= RC_UP_EVERY_MS &&
	    sending(r, in, asked, up) <= limit * e->cap &&
	    (in->encoder_bps <= 0 || in->encoder_bps >= RC_ENCODER_KEEPS_UP * (double)asked)) {
		target = clamp(r, (1 + up) * (double)target);
		if (target > r->target_bps)
			r->last_up_ms = e->now;
	}
	return target;
}

/*
 * Regaining: back to the rate before the path died, faster than a probe: it
 * was carried before, and the encoder put it out. Any sign of a queue ends
 * it (rc_update()).
 */
static int64_t act_regaining(struct ratectl *r, const struct estimate *e, struct rc_decision *out)
{
	int64_t target = r->target_bps;
	double to;

	if (step_down(r, e, out, &target))
		return target;
	if (!e->calm || e->now - r->last_up_ms < RC_UP_EVERY_MS)
		return target;
	to = (1 + RC_REGAIN_STEP) * (double)target;
	target = clamp(r, to < (double)r->regain_bps ? to : (double)r->regain_bps);
	r->last_up_ms = e->now;
	if (target >= r->regain_bps) {
		r->regaining = false;
		r->regain_bps = 0;
	}
	return target;
}

/* What was carried until a step down: the rate, or what the paths carried if less. */
static int64_t ceiling(const struct ratectl *r, const struct estimate *e)
{
	double carried = e->cap_best - (double)r->cfg.other_bps;

	if (e->cap_best >= 0 && carried < (double)r->target_bps)
		return clamp(r, carried);
	return r->target_bps;
}

/* The new target, what changed, and what the next ticks need to know of it. */
static void settle(struct ratectl *r, const struct estimate *e, int64_t target,
		   struct rc_decision *out)
{
	if (!e->stalled)
		r->stall_stepped = false;
	if (target < r->target_bps && r->regaining) {
		/* The paths say no more: the rest is probed for as usual. */
		r->regaining = false;
		r->regain_bps = 0;
	}
	if (target < r->target_bps) {
		out->change = -1;
		/* Draining lowers the rate tick by tick: not a step down each time. */
		if (!r->draining || r->drain_started) {
			if (e->silent)
				r->ceiling_bps = 0;
			else if (e->now - r->last_down_ms >= RC_UP_HOLD_MS)
				r->ceiling_bps = ceiling(r, e);
			r->last_down_ms = e->now;
			r->down_delay_ms = e->delay;
		}
	} else if (target > r->target_bps) {
		out->change = 1;
	}
	r->target_bps = target;
	r->asked[r->asked_next].t_ms = e->now;
	r->asked[r->asked_next].bps = target;
	r->asked_next = (r->asked_next + 1) % RC_ASKED_HIST;
	if (r->asked_n < RC_ASKED_HIST)
		r->asked_n++;
	out->target_bps = target;
	out->delay_ms = e->delay;
	out->capacity_bps = e->cap;
	out->rtt_rise_ms = e->rise;
	out->budget_ms = r->budget_ms;
}

void rc_update(struct ratectl *r, const struct rc_input *in, struct rc_decision *out)
{
	struct estimate e;
	int64_t target = r->target_bps;

	memset(out, 0, sizeof(*out));
	r->drain_started = false;
	if (!r->started) {
		r->started = true;
		r->start_ms = in->t_ms;
		r->epoch_start_ms = in->t_ms;
		/* No probing up before the connection has shown what it carries. */
		r->last_down_ms = in->t_ms;
		r->last_drop_ms = in->t_ms - RC_DROP_HOLD_MS;
	}
	estimate(r, in, &e, out);
	decide_drop(r, in, &e, out);
	out->mode = mode_of(r, &e);
	if (r->cfg.fixed) {
		/* Nothing to steer: only the drops. */
	} else if (path_lost(r, &e)) {
		target = act_path_lost(r, &e, out);
	} else {
		switch (out->mode) {
		case RC_DRAINING:
			target = act_draining(r, &e, out);
			break;
		case RC_REGAINING:
			target = act_regaining(r, &e, out);
			break;
		case RC_WARMUP:
		case RC_STEADY:
			target = act_steady(r, in, &e, out);
			break;
		}
	}
	settle(r, &e, target, out);
}

const char *rc_mode_name(enum rc_mode m)
{
	static const char *const names[] = {
		[RC_WARMUP] = "warm-up",
		[RC_STEADY] = "steady",
		[RC_DRAINING] = "draining",
		[RC_REGAINING] = "regaining",
	};

	return names[m];
}
