// SPDX-License-Identifier: MIT
#include "health.h"

#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>

static const char *const state_names[] = {
	[FO_DOWN] = "down",
	[FO_DEGRADED] = "degraded",
	[FO_UP] = "up",
};

const char *fo_state_name(enum fo_state s)
{
	return state_names[s];
}

const char *fo_health_name(const struct fo_uplink *u)
{
	if (u->view.disabled)
		return "off";
	if (u->health.benched && u->health.state != FO_DOWN)
		return "slow";
	return state_names[fo_health_shown(&u->health)];
}

enum fo_state fo_health_shown(const struct fo_health_uplink *u)
{
	return u->masked ? FO_DEGRADED : u->state;
}

/*
 * An uplink that comes and goes (FO_HEALTH_FLAP_MS) and is released again is
 * down for the policy (its path tried, its data on the others) but shown degraded,
 * for as long as it could still be a swing. And whether what is shown
 * changed in this tick (act.changed: the one place it is set).
 */
static void mask_unsteady(struct fo_uplink *up, enum fo_state shown_before, int64_t now)
{
	struct fo_health_uplink *u = &up->health;

	u->masked = u->state == FO_DOWN && u->released && u->released_ms &&
		    now < u->unsteady_until_ms && now - u->released_ms < FO_HEALTH_FLAP_MS;
	up->act.changed = fo_health_shown(u) != shown_before;
}

void fo_health_init(struct fo_health *h, struct fo_uplink *ups, size_t n)
{
	memset(h, 0, sizeof(*h));
	for (size_t i = 0; i < n; i++) {
		memset(&ups[i].health, 0, sizeof(ups[i].health));
		ups[i].health.state = FO_UP;
		snprintf(ups[i].health.reason, sizeof(ups[i].health.reason), "starting");
	}
}

/* @sf is established and leaves from uplink @l. */
static bool established_on(const struct conn_subflow *sf, const struct mps_uplink_view *l)
{
	return mps_uplink_view_owns(l, &sf->local) && sf->state == TCP_ESTABLISHED;
}

/* @sf holds data not acknowledged yet: in flight, or given to it and not sent. */
static bool owes(const struct conn_subflow *sf)
{
	return sf->unacked || sf->notsent;
}

/* The receiver's window, as @sf last knew it, has no room beyond what it has in flight. */
static bool window_full(const struct conn_subflow *sf)
{
	return sf->snd_mss && sf->snd_wnd < ((uint64_t)sf->unacked + 1) * sf->snd_mss;
}

/*
 * @sf's window is stale: the connection's data was acknowledged further
 * (@moved_ms ago) after @sf last heard anything, and another subflow that
 * heard from the receiver after it has room in its window; both by more than
 * a delayed ACK. A subflow's window is the connection's as it last heard or
 * sent it, and a dead subflow keeps it; one cut when it was small
 * (netns_uplinks: a blackholed primary beside a backup that took the stream)
 * was held by its window forever, up and never released.
 */
static bool window_stale(const struct conn_subflow *sf, const struct conn_snapshot *cur,
			 uint32_t moved_ms)
{
	if ((uint64_t)moved_ms + FO_HEALTH_DELACK_MS >= sf->last_ack_ms)
		return false;
	for (size_t k = 0; k < cur->n; k++) {
		const struct conn_subflow *o = &cur->sf[k];

		if (o != sf && o->state == TCP_ESTABLISHED &&
		    (uint64_t)o->last_ack_ms + FO_HEALTH_DELACK_MS < sf->last_ack_ms &&
		    !window_full(o))
			return true;
	}
	return false;
}

/*
 * The receiver's window has no room for another segment beyond what @sf has
 * in flight: a server that does not read (or reads slowly) holds it up, not
 * its path. (MPTCP then probes the window with a byte on one subflow, whose
 * ACKs acknowledge nothing new.) Not when that window is stale.
 */
static bool window_limited(const struct conn_subflow *sf, const struct conn_snapshot *cur,
			   uint32_t moved_ms)
{
	return window_full(sf) && !window_stale(sf, cur, moved_ms);
}

/*
 * How long an uplink's path has not done its job: at least @min ms, at most
 * @max; and since the connection's data went further (conn_moved_ms).
 */
struct stall {
	uint32_t min, max;
	uint32_t conn_moved_ms;
};

static struct stall stall_of(const struct fo_health_uplink *u, int64_t now)
{
	struct stall st = {0, UINT32_MAX, u->conn_moved_ms};

	if (u->progress_ms)
		st.min = (uint32_t)(now - u->progress_ms);
	if (u->progress_after_ms)
		st.max = (uint32_t)(now - u->progress_after_ms);
	return st;
}

/*
 * How long subflow @sf has owed data and had none of it acknowledged (ms; 0:
 * it owes nothing, or the receiver's window holds it): its ACK silence, as
 * far as its uplink's stall @st allows (an idle path has no ACK for as long
 * as it was idle, and owes data only since it sent), else the stall.
 */
static uint32_t sf_silence(const struct conn_subflow *sf, const struct conn_snapshot *cur,
			   struct stall st)
{
	uint32_t ack = sf->unacked ? sf->last_ack_ms : 0;

	if (!owes(sf) || window_limited(sf, cur, st.conn_moved_ms))
		return 0;
	return ack < st.min ? st.min : ack > st.max ? st.max : ack;
}

/*
 * Follow uplink @l's path from @prev to @cur (@dt ms apart): whether it did
 * its job (a subflow of it is new, owes nothing, is held by the receiver's
 * window, or had data acknowledged or delivered), and how much of what it
 * sent was sent again. Returns its stall.
 *
 * Delivered counts: a path whose queue overflowed (a cellular modem's, 1 s
 * deep) recovers its lost segment a round trip later, and meanwhile each
 * SACK says the receiver gets the rest; the cumulative ACK stands still for
 * that round trip, longer than any release may wait. A blackhole, or a
 * sender whose own host drops what it sends, delivers nothing.
 */
static struct stall track_path(struct fo_health_uplink *u, const struct mps_uplink_view *l,
			       const struct conn_snapshot *prev, const struct conn_snapshot *cur,
			       int64_t now, int64_t dt)
{
	uint64_t sent = 0, retrans = 0;
	bool any = false, idle = false, acked = false, fresh = false;

	for (size_t k = 0; k < cur->n; k++) {
		const struct conn_subflow *sf = &cur->sf[k];
		const struct conn_subflow *p;

		if (!established_on(sf, l))
			continue;
		any = true;
		p = conn_find(prev, sf->id);
		idle |= !owes(sf) || window_limited(sf, cur, u->conn_moved_ms);
		fresh |= !p;
		acked |= p && (sf->bytes_acked > p->bytes_acked || sf->delivered != p->delivered);
		if (p) {
			sent += conn_counter_delta(sf->bytes_sent, p->bytes_sent);
			retrans += conn_counter_delta(sf->bytes_retrans, p->bytes_retrans);
		}
	}
	if (dt > 0) {
		double w =
			dt < FO_HEALTH_RETRANS_EWMA_MS ? (double)dt / FO_HEALTH_RETRANS_EWMA_MS : 1;

		u->sent_avg += w * ((double)sent * 1000 / (double)dt - u->sent_avg);
		u->retrans_avg += w * ((double)retrans * 1000 / (double)dt - u->retrans_avg);
	}
	if (!any || idle) {
		u->progress_ms = u->progress_after_ms = now;
	} else if (acked) {
		u->progress_ms = now;
		u->progress_after_ms = dt > 0 ? now - dt : 0;
	} else if (fresh) {
		/*
		 * A subflow not seen before: what it owes may have been sent a
		 * moment ago after an idle while (the first sample of a
		 * connection comes a second after the last tick), so its last
		 * ACK's age says nothing yet. The uplink's silence counts from
		 * now (a new subflow is its path's progress, as an ACK is).
		 */
		u->progress_ms = u->progress_after_ms = now;
	} else if (!u->progress_ms) {
		u->progress_ms = now; /* first seen owing: its ACK silence says how long */
		u->progress_after_ms = 0;
	}
	return stall_of(u, now);
}

/*
 * "no ACK for N ms", or, when ACKs still arrive on uplink @link but
 * acknowledge nothing new, "nothing acknowledged for N ms, though packets
 * arrive".
 */
static void say_silence(char *why, size_t size, const struct mps_uplink_view *link,
			const struct conn_snapshot *cur, uint32_t silence, const char *more)
{
	bool arrive = false;

	for (size_t k = 0; k < cur->n; k++)
		if (established_on(&cur->sf[k], link) &&
		    cur->sf[k].last_ack_ms + FO_HEALTH_DELACK_MS < silence)
			arrive = true;
	if (arrive)
		snprintf(why, size, "nothing acknowledged for %u ms, though packets arrive%s",
			 silence, more);
	else
		snprintf(why, size, "no ACK for %u ms%s", silence, more);
}

/* The state of an installed, linked uplink from its subflows; @why says why. */
static enum fo_state from_subflows(struct fo_health_uplink *u, const struct mps_uplink_view *link,
				   const struct conn_snapshot *cur, struct stall stall, int64_t now,
				   char *why, size_t size)
{
	enum fo_state best = FO_DOWN;
	uint32_t silence = 0, late = 0;
	bool any = false;
	double share = u->sent_avg >= FO_HEALTH_RETRANS_MIN_BPS ? u->retrans_avg / u->sent_avg : 0;

	for (size_t k = 0; k < cur->n; k++) {
		const struct conn_subflow *sf = &cur->sf[k];
		uint32_t quiet = sf_silence(sf, cur, stall);
		enum fo_state st;

		if (!established_on(sf, link))
			continue;
		any = true;
		if (quiet >= FO_HEALTH_DEAD_MS) {
			st = FO_DOWN;
			if (quiet > silence)
				silence = quiet;
		} else if (quiet >= FO_HEALTH_SLOW_MS || quiet >= fo_health_release_after_ms(sf)) {
			st = FO_DEGRADED;
			if (quiet > late)
				late = quiet;
		} else {
			st = FO_UP;
		}
		if (st > best)
			best = st;
	}
	if (!any) {
		if (!u->lost_subflow_ms)
			u->lost_subflow_ms = now;
		/* A subflow being replaced, or not there yet: give it a moment. */
		if (u->state != FO_DOWN && now - u->lost_subflow_ms < FO_HEALTH_GRACE_MS) {
			snprintf(why, size, "%s", u->reason);
			return u->state;
		}
		snprintf(why, size, "no subflow");
		return FO_DOWN;
	}
	u->lost_subflow_ms = 0;
	if (best == FO_DOWN) {
		say_silence(why, size, link, cur, silence, "");
		return FO_DOWN;
	}
	if (best == FO_DEGRADED) {
		u->degraded_until_ms = now + FO_HEALTH_DEGRADED_HOLD_MS;
		snprintf(why, size, "ACKs late: %u ms without one for new data", late);
	} else if (share >= FO_HEALTH_RETRANS_SHARE) {
		best = FO_DEGRADED;
		u->degraded_until_ms = now + FO_HEALTH_DEGRADED_HOLD_MS;
		snprintf(why, size, "retransmitting %.0f %% of what it sends", share * 100);
	} else if (now < u->degraded_until_ms) {
		/* Still its last cause's words. */
		snprintf(why, size, "%s", u->reason);
		return FO_DEGRADED;
	} else {
		snprintf(why, size, "ACKs flowing");
	}
	return best;
}

uint32_t fo_health_release_after_ms(const struct conn_subflow *sf)
{
	uint32_t ms = (2 * sf->rtt_us + 4 * sf->rttvar_us) / 1000 + FO_HEALTH_DELACK_MS;

	if (ms < FO_HEALTH_RELEASE_MIN_MS)
		return FO_HEALTH_RELEASE_MIN_MS;
	return ms < FO_HEALTH_RELEASE_MAX_MS ? ms : FO_HEALTH_RELEASE_MAX_MS;
}

/*
 * How long all of its subflows have owed data with none of it acknowledged
 * (sf_silence(); 0: not all), and in @after the longest any of them may
 * (release_after).
 */
static uint32_t uplink_silence(const struct mps_uplink_view *link, const struct conn_snapshot *cur,
			       struct stall stall, uint32_t *after)
{
	uint32_t silence = 0;

	*after = 0;
	for (size_t k = 0; k < cur->n; k++) {
		const struct conn_subflow *sf = &cur->sf[k];
		uint32_t quiet = sf_silence(sf, cur, stall), a;

		if (!established_on(sf, link))
			continue;
		if (!quiet)
			return 0;
		if (!silence || quiet < silence)
			silence = quiet;
		a = fo_health_release_after_ms(sf);
		if (a > *after)
			*after = a;
	}
	return silence;
}

/*
 * Whether a subflow of another uplink than @ups[i] works while @ups[i] has
 * been silent for @silence ms: it had data acknowledged since (by more than a
 * delayed ACK: when all paths die together, none is released), or it owes
 * nothing (it may have nothing to send while the connection waits).
 */
static bool others_work(const struct fo_uplink *ups, size_t n, size_t i,
			const struct conn_snapshot *cur, uint32_t silence, int64_t now)
{
	for (size_t k = 0; k < cur->n; k++) {
		const struct conn_subflow *sf = &cur->sf[k];
		struct stall stall = {0, UINT32_MAX, ups[i].health.conn_moved_ms};

		if (mps_uplink_view_owns(&ups[i].view, &sf->local) || sf->state != TCP_ESTABLISHED)
			continue;
		for (size_t j = 0; j < n; j++)
			if (mps_uplink_view_owns(&ups[j].view, &sf->local))
				stall = stall_of(&ups[j].health, now);
		if (sf_silence(sf, cur, stall) + FO_HEALTH_DELACK_MS < silence)
			return true;
	}
	return false;
}

/* Whether one of the connection's established subflows leaves from uplink @link. */
static bool has_subflow(const struct mps_uplink_view *link, const struct conn_snapshot *cur)
{
	for (size_t k = 0; cur && k < cur->n; k++)
		if (established_on(&cur->sf[k], link))
			return true;
	return false;
}

/*
 * Whether the uplink's subflows, once closed, can be opened again: it has an
 * address of the family of the server address the connection was opened to.
 * An uplink of only the other family (IPv6 only, to a connection opened to the
 * server's IPv4 address) has subflows only to an address the server
 * announced, which the kernel's path manager opens when the announcement
 * arrives and never again: its subflows are left to TCP's own retransmission,
 * which carries on when the path is back.
 */
static bool renewable(const struct mps_uplink_view *l, const struct conn_snapshot *cur)
{
	return !cur || !cur->peer_family || mps_uplink_view_addr(l, cur->peer_family);
}

/* Its modem is off its network: it carries nothing, whatever its link says. */
static bool radio_lost(const struct fo_uplink *up)
{
	return up->radio.modem && !up->radio.registered;
}

/*
 * An uplink whose link went down (the kernel knows at once) and still has
 * subflows: released now, not after a silence (fo_health_release_after_ms()),
 * so that the kernel sends their data on the others before the receiver
 * waits for it.
 */
static void release_link_down(struct fo_uplink *up, const struct conn_snapshot *cur)
{
	if (!up->view.installed || up->view.link_up || up->view.disabled || up->health.released ||
	    !cur || !cur->mptcp || !has_subflow(&up->view, cur) || !renewable(&up->view, cur))
		return;
	up->health.released = true;
	up->health.released_ms = 0; /* not for its silence */
	up->act.release = true;
}

/*
 * An uplink whose modem lost its network (its modem manager knows at once)
 * and still has subflows: released now, as a link down, if another uplink
 * works; with none, a registration that comes back at once would have
 * cost a resend of all in flight for nothing (its silence decides then).
 */
static void release_radio_lost(struct fo_uplink *ups, size_t n, const struct conn_snapshot *cur)
{
	bool others;

	for (size_t i = 0; i < n; i++) {
		struct fo_uplink *up = &ups[i];

		if (!radio_lost(up) || !up->view.installed || up->view.disabled ||
		    up->health.released || !has_subflow(&up->view, cur) ||
		    !renewable(&up->view, cur))
			continue;
		others = false;
		for (size_t j = 0; j < n; j++)
			others |= j != i && ups[j].health.state != FO_DOWN;
		if (!others)
			continue;
		up->health.released = true;
		up->health.released_ms = 0; /* not for its silence */
		up->act.release = true;
	}
}

/* Release the dead uplinks that hold up the others (fo_health_release_after_ms()). */
static void judge_blocking(struct fo_uplink *ups, size_t n, const struct conn_snapshot *cur,
			   int64_t now)
{
	/* All the connection's data acknowledged: nobody waits for a dead path's. */
	bool waiting = cur->conn_written != cur->conn_delivered;

	for (size_t i = 0; i < n; i++) {
		struct fo_health_uplink *u = &ups[i].health;
		uint32_t silence, after;

		if (u->state == FO_UP)
			u->released = false;
		if (!waiting || u->released || u->benched || !ups[i].view.installed ||
		    ups[i].view.disabled || !renewable(&ups[i].view, cur))
			continue;
		silence = uplink_silence(&ups[i].view, cur, stall_of(u, now), &after);
		if (!silence || silence < after || !others_work(ups, n, i, cur, silence, now))
			continue;
		u->released = true;
		u->released_ms = now;
		ups[i].act.release = true;
		u->state = FO_DOWN;
		say_silence(u->reason, sizeof(u->reason), &ups[i].view, cur, silence,
			    ", the others wait for its data");
	}
}

/* Its subflows' smallest RTT (ms, 0: none) and the data they acknowledged since @prev. */
static uint32_t uplink_rtt(const struct mps_uplink_view *link, const struct conn_snapshot *prev,
			   const struct conn_snapshot *cur, uint64_t *acked)
{
	uint32_t rtt = 0;

	*acked = 0;
	for (size_t k = 0; k < cur->n; k++) {
		const struct conn_subflow *sf = &cur->sf[k], *p;

		if (!established_on(sf, link))
			continue;
		p = conn_find(prev, sf->id);
		if (p && sf->bytes_acked > p->bytes_acked)
			*acked += sf->bytes_acked - p->bytes_acked;
		if (sf->rtt_us && (!rtt || sf->rtt_us / 1000 < rtt))
			rtt = sf->rtt_us / 1000;
	}
	return rtt;
}

/*
 * Whether the primary uplinks other than @i work (not down, not benched); and
 * the best (smallest) RTT and best recent rate among those of them that have
 * been up for FO_HEALTH_BENCH_SETTLED_MS, the measure of a slow path (0 when
 * there is none).
 */
static bool best_other(const struct fo_uplink *ups, size_t n, size_t i, const uint32_t *rtt_ms,
		       int64_t now, uint32_t *best_rtt, double *best_bps)
{
	bool any = false;

	*best_rtt = 0;
	*best_bps = 0;
	for (size_t k = 0; k < n; k++) {
		const struct fo_health_uplink *o = &ups[k].health;

		if (k == i || ups[k].view.backup || o->benched || o->state == FO_DOWN)
			continue;
		any = true;
		if (o->state != FO_UP || !o->up_since_ms ||
		    now - o->up_since_ms < FO_HEALTH_BENCH_SETTLED_MS)
			continue;
		if (rtt_ms[k] && (!*best_rtt || rtt_ms[k] < *best_rtt))
			*best_rtt = rtt_ms[k];
		if (o->recent.bps > *best_bps)
			*best_bps = o->recent.bps;
	}
	return any;
}

/* A benched uplink's time is up, or no other primary works: back. */
static void unbench(struct fo_uplink *up, bool others_work, int64_t now)
{
	struct fo_health_uplink *u = &up->health;

	if (others_work && now < u->benched_until_ms)
		return;
	u->benched = false;
	up->act.bench = 0;
	snprintf(up->act.bench_why, sizeof(up->act.bench_why), "%s",
		 others_work ? "tried again" : "back: no other primary uplink works");
}

/* Set the uplink aside for its time, and double the next one. */
static void bench(struct fo_uplink *up, uint32_t rtt_ms, uint32_t best, int64_t now)
{
	struct fo_health_uplink *u = &up->health;

	if (!u->bench_ms)
		u->bench_ms = FO_HEALTH_BENCH_MS;
	u->benched = true;
	u->benched_until_ms = now + u->bench_ms;
	u->slow_score = 0;
	up->act.bench = 1;
	snprintf(up->act.bench_why, sizeof(up->act.bench_why),
		 "slow (RTT %u ms, %u ms on the best other; it carried %.2f Mbit/s "
		 "at best lately): set aside for %lld s",
		 rtt_ms, best, u->recent.bps / 1e6, (long long)(u->bench_ms / 1000));
	if (u->bench_ms < FO_HEALTH_BENCH_MAX_MS)
		u->bench_ms *= 2;
}

/*
 * Bench the slow primary uplinks; give them back their place in time. @dt:
 * since the last update (ms).
 */
static void judge_speed(const struct fo_health *h, struct fo_uplink *ups, size_t n,
			const struct conn_snapshot *prev, const struct conn_snapshot *cur,
			int64_t now, int64_t dt)
{
	double weight = dt > 0 && dt < 1000 ? (double)dt / 1000 : 0.1; /* an EWMA of 1 s */
	uint32_t rtt_ms[FO_MAX_UPLINKS] = {0}; /* its subflows' smallest smoothed RTT; 0 */
	uint32_t above = FO_HEALTH_BENCH_RTT_MS;

	if (h->budget_ms / FO_HEALTH_BENCH_BUDGET_PART > (int)above)
		above = (uint32_t)(h->budget_ms / FO_HEALTH_BENCH_BUDGET_PART);
	if (above > FO_HEALTH_BENCH_RTT_MAX_MS)
		above = FO_HEALTH_BENCH_RTT_MAX_MS;

	for (size_t i = 0; i < n; i++) {
		const struct mps_uplink_view *l = &ups[i].view;
		uint64_t acked = 0;

		if (l->installed && l->link_up && ups[i].health.state != FO_DOWN)
			rtt_ms[i] = uplink_rtt(l, prev, cur, &acked);
		rc_recent_add(&ups[i].health.recent, acked, now);
	}
	for (size_t i = 0; i < n; i++) {
		struct fo_health_uplink *u = &ups[i].health;
		uint32_t best;
		double others_bps;
		bool others_work, slow;

		if (ups[i].view.backup || !renewable(&ups[i].view, cur))
			continue;
		others_work = best_other(ups, n, i, rtt_ms, now, &best, &others_bps);
		if (u->benched) {
			unbench(&ups[i], others_work, now);
			continue;
		}
		/* Long without being benched: the next time is short again. */
		if (u->bench_ms && now - u->benched_until_ms > FO_HEALTH_BENCH_MAX_MS)
			u->bench_ms = 0;
		slow = best && rtt_ms[i] > best + above &&
		       rtt_ms[i] > FO_HEALTH_BENCH_RATIO * best && others_bps > 0 &&
		       u->recent.bps <= FO_HEALTH_BENCH_BIGGER * others_bps;
		u->slow_score += weight * (slow - u->slow_score);
		if (u->slow_score >= FO_HEALTH_BENCH_SCORE)
			bench(&ups[i], rtt_ms[i], best, now);
	}
}

/* The uplink's state in this tick from its link and its subflows; @why says why. */
static enum fo_state judge_state(struct fo_uplink *up, const struct conn_snapshot *prev,
				 const struct conn_snapshot *cur, int64_t now, int64_t dt,
				 char *why, size_t size)
{
	struct fo_health_uplink *u = &up->health;
	enum fo_state st;

	if (!up->view.installed) {
		snprintf(why, size, "not configured (absent or no address)");
		return FO_DOWN;
	}
	if (up->view.disabled) {
		snprintf(why, size, "taken out of use");
		return FO_DOWN;
	}
	if (!up->view.link_up) {
		u->released_ms = 0; /* a real outage, not a swing (FO_HEALTH_FLAP_MS) */
		snprintf(why, size, "link down");
		return FO_DOWN;
	}
	if (radio_lost(up)) {
		u->released_ms = 0; /* as a link down */
		snprintf(why, size, "the modem lost its network (%s)", up->radio.said);
		return FO_DOWN;
	}
	/*
	 * Benched: its subflows are closed on purpose, its path is fine. No
	 * connection, or plain TCP: nothing to judge the path by.
	 */
	if (u->benched || !cur || !cur->mptcp) {
		snprintf(why, size, "%s", u->reason);
		return u->state;
	}
	st = from_subflows(u, &up->view, cur, track_path(u, &up->view, prev, cur, now, dt), now,
			   why, size);
	/* Released: down until a subflow of it works again, not degraded while it closes. */
	if (u->released && st == FO_DEGRADED) {
		st = FO_DOWN;
		snprintf(why, size, "%s", u->reason);
	} else if (u->released && st == FO_UP && u->released_ms &&
		   now - u->released_ms < FO_HEALTH_FLAP_MS) {
		/* Back so soon: it comes and goes (FO_HEALTH_FLAP_MS). */
		st = FO_DEGRADED;
		u->released = false;
		u->unsteady_until_ms = now + FO_HEALTH_CALM_MS;
		u->degraded_until_ms = now + FO_HEALTH_DEGRADED_HOLD_MS;
		snprintf(why, size, "back %.1f s after its release: it comes and goes",
			 (double)(now - u->released_ms) / 1000);
	}
	return st;
}

int fo_health_update(struct fo_health *h, struct fo_uplink *ups, size_t n,
		     const struct conn_snapshot *prev, const struct conn_snapshot *cur, int64_t now)
{
	bool primary_works = false, any_backup = false;
	uint32_t moved = UINT32_MAX;
	int64_t dt = h->last_ms ? now - h->last_ms : 0;
	enum fo_state shown[FO_MAX_UPLINKS];

	if (cur) {
		/* It went further since the last tick: counted from then, never younger. */
		if (h->last_ms && cur->conn_delivered != h->delivered)
			h->delivered_ms = h->last_ms;
		h->delivered = cur->conn_delivered;
	}
	if (h->delivered_ms && now - h->delivered_ms < UINT32_MAX)
		moved = (uint32_t)(now - h->delivered_ms);

	for (size_t i = 0; i < n; i++) {
		struct fo_uplink *up = &ups[i];
		enum fo_state st;
		char why[sizeof(up->health.reason)];

		shown[i] = fo_health_shown(&up->health);
		up->health.conn_moved_ms = moved;
		memset(&up->act, 0, sizeof(up->act));
		up->act.bench = -1;
		st = judge_state(up, prev, cur, now, dt, why, sizeof(why));
		if (st != FO_UP)
			up->health.up_since_ms = 0;
		else if (up->health.state != FO_UP || !up->health.up_since_ms)
			up->health.up_since_ms = now;
		up->health.state = st;
		snprintf(up->health.reason, sizeof(up->health.reason), "%s", why);
		release_link_down(up, cur);

		/* Only a path that MPTCP would use again is worth trying. */
		up->act.reach = st == FO_DOWN && up->view.installed && up->view.link_up &&
				!radio_lost(up) && !up->view.disabled && cur && cur->mptcp &&
				cur->n && renewable(&up->view, cur);
		if (up->view.backup)
			any_backup |= up->view.installed && !up->view.disabled;
		else
			primary_works |= st != FO_DOWN;
	}
	if (cur && cur->mptcp) {
		release_radio_lost(ups, n, cur);
		judge_blocking(ups, n, cur, now);
		judge_speed(h, ups, n, prev, cur, now, dt);
	}
	/* Back from down (or released) is news at once: no hold, no old losses. */
	for (size_t i = 0; i < n; i++) {
		struct fo_health_uplink *u = &ups[i].health;

		mask_unsteady(&ups[i], shown[i], now);
		if (u->state != FO_DOWN)
			continue;
		u->degraded_until_ms = 0;
		u->sent_avg = 0;
		u->retrans_avg = 0;
	}
	h->last_ms = now;
	/* Backups carry traffic only while no primary uplink works. */
	if (any_backup && !primary_works && !h->backups_promoted) {
		h->backups_promoted = true;
		return 0;
	}
	if (primary_works && h->backups_promoted) {
		h->backups_promoted = false;
		return 1;
	}
	return -1;
}
