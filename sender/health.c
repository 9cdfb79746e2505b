// SPDX-License-Identifier: MIT
#include "health.h"

#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>

static const char *const state_names[] = {
	[SND_UPLINK_DOWN] = "down",
	[SND_UPLINK_DEGRADED] = "degraded",
	[SND_UPLINK_UP] = "up",
};

const char *snd_uplink_state_name(enum snd_uplink_state s)
{
	return state_names[s];
}

const char *snd_health_name(const struct snd_health *h, size_t i)
{
	if (h->benched[i] && h->state[i] != SND_UPLINK_DOWN)
		return "slow";
	return state_names[h->state[i]];
}

void snd_health_init(struct snd_health *h, size_t n)
{
	memset(h, 0, sizeof(*h));
	h->n = n;
	h->data_age_ms = -1;
	for (size_t i = 0; i < n; i++) {
		h->state[i] = SND_UPLINK_UP;
		snprintf(h->reason[i], sizeof(h->reason[i]), "starting");
	}
}

static bool same_addr(const struct sockaddr_storage *ss, struct in_addr a)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;

	return ss->ss_family == AF_INET && sin->sin_addr.s_addr == a.s_addr;
}

/* The state of an installed, linked uplink from its subflows; @why says why. */
static enum snd_uplink_state from_subflows(struct snd_health *h, size_t i, struct in_addr addr,
					   const struct snd_stats_snapshot *prev,
					   const struct snd_stats_snapshot *cur, int64_t now,
					   char *why, size_t size)
{
	enum snd_uplink_state best = SND_UPLINK_DOWN;
	uint32_t silence = 0;
	bool any = false;

	for (size_t k = 0; k < cur->n; k++) {
		const struct snd_subflow_sample *sf = &cur->sf[k];
		const struct snd_subflow_sample *p;
		enum snd_uplink_state st;

		if (!same_addr(&sf->local, addr) || sf->state != TCP_ESTABLISHED)
			continue;
		any = true;
		p = snd_stats_find(prev, sf->id);
		if (sf->unacked && sf->last_ack_ms >= SND_HEALTH_DEAD_MS) {
			st = SND_UPLINK_DOWN;
			if (sf->last_ack_ms > silence)
				silence = sf->last_ack_ms;
		} else if ((sf->unacked && sf->last_ack_ms >= SND_HEALTH_SLOW_MS) ||
			   (p && sf->bytes_retrans > p->bytes_retrans)) {
			st = SND_UPLINK_DEGRADED;
		} else {
			st = SND_UPLINK_UP;
		}
		if (st > best)
			best = st;
	}
	if (!any) {
		if (!h->lost_subflow_ms[i])
			h->lost_subflow_ms[i] = now;
		/* A subflow being replaced, or not there yet: give it a moment. */
		if (h->state[i] != SND_UPLINK_DOWN &&
		    now - h->lost_subflow_ms[i] < SND_HEALTH_GRACE_MS) {
			snprintf(why, size, "%s", h->reason[i]);
			return h->state[i];
		}
		snprintf(why, size, "no subflow");
		return SND_UPLINK_DOWN;
	}
	h->lost_subflow_ms[i] = 0;
	if (best == SND_UPLINK_DEGRADED)
		h->degraded_until_ms[i] = now + SND_HEALTH_DEGRADED_HOLD_MS;
	else if (best == SND_UPLINK_UP && now < h->degraded_until_ms[i])
		best = SND_UPLINK_DEGRADED;
	if (best == SND_UPLINK_DOWN)
		snprintf(why, size, "no ACK for %u ms", silence);
	else if (best == SND_UPLINK_DEGRADED)
		snprintf(why, size, "retransmitting");
	else
		snprintf(why, size, "ACKs flowing");
	return best;
}

/* How long all of its subflows have had data outstanding and no ACK (ms); 0: not all. */
static uint32_t uplink_silence(struct in_addr addr, const struct snd_stats_snapshot *cur)
{
	uint32_t silence = 0;

	for (size_t k = 0; k < cur->n; k++) {
		const struct snd_subflow_sample *sf = &cur->sf[k];

		if (!same_addr(&sf->local, addr) || sf->state != TCP_ESTABLISHED)
			continue;
		if (!sf->unacked || !sf->last_ack_ms)
			return 0;
		if (!silence || sf->last_ack_ms < silence)
			silence = sf->last_ack_ms;
	}
	return silence;
}

/*
 * Whether a subflow of another uplink than @addr's works: an ACK lately, or
 * nothing in flight (it may have nothing to send while the connection waits).
 */
static bool others_work(struct in_addr addr, const struct snd_stats_snapshot *cur)
{
	for (size_t k = 0; k < cur->n; k++) {
		const struct snd_subflow_sample *sf = &cur->sf[k];

		if (!same_addr(&sf->local, addr) && sf->state == TCP_ESTABLISHED &&
		    (!sf->unacked || sf->last_ack_ms < SND_HEALTH_SLOW_MS))
			return true;
	}
	return false;
}

/* Release the dead uplinks that hold up the others (SND_HEALTH_RELEASE_MS). */
static void judge_blocking(struct snd_health *h, const struct snd_health_uplink *ups,
			   const struct snd_stats_snapshot *cur, struct snd_health_actions *act)
{
	bool stalled = h->data_age_ms >= SND_HEALTH_RELEASE_MS;

	for (size_t i = 0; i < h->n; i++) {
		uint32_t silence;

		if (h->state[i] == SND_UPLINK_UP)
			h->released[i] = false;
		if (!stalled || h->released[i] || h->benched[i] || !ups[i].installed)
			continue;
		silence = uplink_silence(ups[i].addr, cur);
		if (silence < SND_HEALTH_RELEASE_MS || !others_work(ups[i].addr, cur))
			continue;
		h->released[i] = true;
		act->release[i] = true;
		act->changed[i] = h->state[i] != SND_UPLINK_DOWN;
		h->state[i] = SND_UPLINK_DOWN;
		snprintf(h->reason[i], sizeof(h->reason[i]),
			 "no ACK for %u ms, the others wait for its data", silence);
	}
}

/* Its subflows' smallest RTT (ms, 0: none) and the data they acknowledged since @prev. */
static uint32_t uplink_rtt(struct in_addr addr, const struct snd_stats_snapshot *prev,
			   const struct snd_stats_snapshot *cur, uint64_t *acked)
{
	uint32_t rtt = 0;

	*acked = 0;
	for (size_t k = 0; k < cur->n; k++) {
		const struct snd_subflow_sample *sf = &cur->sf[k], *p;

		if (!same_addr(&sf->local, addr) || sf->state != TCP_ESTABLISHED)
			continue;
		p = snd_stats_find(prev, sf->id);
		if (p && sf->bytes_acked > p->bytes_acked)
			*acked += sf->bytes_acked - p->bytes_acked;
		if (sf->rtt_us && (!rtt || sf->rtt_us / 1000 < rtt))
			rtt = sf->rtt_us / 1000;
	}
	return rtt;
}

/* Bench the slow primary uplinks; give them back their place in time. */
static void judge_speed(struct snd_health *h, const struct snd_health_uplink *ups,
			const struct snd_stats_snapshot *prev, const struct snd_stats_snapshot *cur,
			int64_t now, struct snd_health_actions *act)
{
	uint32_t rtt_ms[RT_MAX_UPLINKS] = {0}; /* its subflows' smallest smoothed RTT; 0 */

	for (size_t i = 0; i < h->n; i++) {
		uint64_t acked = 0;

		if (ups[i].installed && ups[i].link_up && h->state[i] != SND_UPLINK_DOWN)
			rtt_ms[i] = uplink_rtt(ups[i].addr, prev, cur, &acked);
		snd_recent_rate_add(&h->recent[i], acked, now);
	}
	for (size_t i = 0; i < h->n; i++) {
		uint32_t best = 0;
		bool others_work = false, slow;
		double others_bps = 0;

		if (ups[i].backup)
			continue;
		/* The best other primary uplink that works and is not benched. */
		for (size_t k = 0; k < h->n; k++) {
			if (k == i || ups[k].backup || h->benched[k] ||
			    h->state[k] == SND_UPLINK_DOWN)
				continue;
			others_work = true;
			if (rtt_ms[k] && (!best || rtt_ms[k] < best))
				best = rtt_ms[k];
			if (h->recent[k].bps > others_bps)
				others_bps = h->recent[k].bps;
		}
		if (h->benched[i]) {
			if (!others_work || now >= h->benched_until_ms[i]) {
				h->benched[i] = false;
				act->bench[i] = 0;
				snprintf(act->bench_why[i], sizeof(act->bench_why[i]), "%s",
					 others_work ? "tried again"
						     : "back: no other primary uplink works");
			}
			continue;
		}
		/* Long without being benched: the next time is short again. */
		if (h->bench_ms[i] && now - h->benched_until_ms[i] > SND_HEALTH_BENCH_MAX_MS)
			h->bench_ms[i] = 0;
		slow = best && rtt_ms[i] > best + SND_HEALTH_BENCH_RTT_MS &&
		       rtt_ms[i] > SND_HEALTH_BENCH_RATIO * best && others_bps > 0 &&
		       h->recent[i].bps <= SND_HEALTH_BENCH_BIGGER * others_bps;
		h->slow_score[i] += 0.1 * (slow - h->slow_score[i]);
		if (h->slow_score[i] >= SND_HEALTH_BENCH_SCORE) {
			if (!h->bench_ms[i])
				h->bench_ms[i] = SND_HEALTH_BENCH_MS;
			h->benched[i] = true;
			h->benched_until_ms[i] = now + h->bench_ms[i];
			h->slow_score[i] = 0;
			act->bench[i] = 1;
			snprintf(act->bench_why[i], sizeof(act->bench_why[i]),
				 "slow (RTT %u ms, %u ms on the best other; it carried %.2f Mbit/s "
				 "at best lately): set aside for %lld s",
				 rtt_ms[i], best, h->recent[i].bps / 1e6,
				 (long long)(h->bench_ms[i] / 1000));
			if (h->bench_ms[i] < SND_HEALTH_BENCH_MAX_MS)
				h->bench_ms[i] *= 2;
		}
	}
}

void snd_health_update(struct snd_health *h, const struct snd_health_uplink *ups,
		       const struct snd_stats_snapshot *prev, const struct snd_stats_snapshot *cur,
		       int64_t now, struct snd_health_actions *act)
{
	bool primary_works = false, any_backup = false;

	memset(act, 0, sizeof(*act));
	act->set_backup = -1;
	for (size_t i = 0; i < RT_MAX_UPLINKS; i++)
		act->bench[i] = -1;
	for (size_t i = 0; i < h->n; i++) {
		enum snd_uplink_state st;
		char why[64];

		if (!ups[i].installed) {
			st = SND_UPLINK_DOWN;
			snprintf(why, sizeof(why), "not configured (absent or no address)");
		} else if (!ups[i].link_up) {
			st = SND_UPLINK_DOWN;
			snprintf(why, sizeof(why), "link down");
		} else if (h->benched[i]) {
			/* Benched: its subflows are closed on purpose, its path is fine. */
			st = h->state[i];
			snprintf(why, sizeof(why), "%s", h->reason[i]);
		} else if (!cur || !cur->mptcp) {
			/* No connection, or plain TCP: nothing to judge the path by. */
			st = h->state[i];
			snprintf(why, sizeof(why), "%s", h->reason[i]);
		} else {
			st = from_subflows(h, i, ups[i].addr, prev, cur, now, why, sizeof(why));
			/* Released: down until a subflow of it works again, not degraded while it closes. */
			if (h->released[i] && st == SND_UPLINK_DEGRADED) {
				st = SND_UPLINK_DOWN;
				snprintf(why, sizeof(why), "%s", h->reason[i]);
			}
		}
		act->changed[i] = st != h->state[i];
		h->state[i] = st;
		snprintf(h->reason[i], sizeof(h->reason[i]), "%s", why);

		/* Only a path that MPTCP would use again is worth probing. */
		act->probe[i] = st == SND_UPLINK_DOWN && ups[i].installed && ups[i].link_up &&
				cur && cur->mptcp && cur->n;
		if (ups[i].backup)
			any_backup |= ups[i].installed;
		else
			primary_works |= st != SND_UPLINK_DOWN;
	}
	if (cur && cur->mptcp) {
		judge_blocking(h, ups, cur, act);
		judge_speed(h, ups, prev, cur, now, act);
	}
	/* Backups carry traffic only while no primary uplink works. */
	if (any_backup && !primary_works && !h->backups_promoted) {
		act->set_backup = 0;
		h->backups_promoted = true;
	} else if (primary_works && h->backups_promoted) {
		act->set_backup = 1;
		h->backups_promoted = false;
	}
}
