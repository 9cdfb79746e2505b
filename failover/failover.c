// SPDX-License-Identifier: MIT
#include "failover.h"
#include "log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define TAG "health"

struct failover {
	const struct fo_routing_ops *ops;
	void *ctx;
	size_t n;
	struct fo_uplink up[FO_MAX_UPLINKS];
	struct fo_health health;
	struct conn_snapshot prev; /* the last tick's, this connection */
};

int fo_create(const struct fo_routing_ops *ops, void *ctx, size_t n, struct failover **out)
{
	struct failover *f;

	if (n > FO_MAX_UPLINKS)
		return -EINVAL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->ops = ops;
	f->ctx = ctx;
	f->n = n;
	fo_health_init(&f->health, f->up, n);
	for (size_t i = 0; i < n; i++) {
		fo_reach_init(&f->up[i].reach);
		/* Its name and link from the start, before the first tick reads them again. */
		if (ops->get(ctx, i, &f->up[i].view))
			memset(&f->up[i].view, 0, sizeof(f->up[i].view));
	}
	*out = f;
	return 0;
}

void fo_destroy(struct failover *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n; i++)
		fo_reach_reset(&f->up[i].reach);
	free(f);
}

void fo_new_connection(struct failover *f)
{
	if (f)
		memset(&f->prev, 0, sizeof(f->prev));
}

void fo_set_budget(struct failover *f, int budget_ms)
{
	if (f)
		f->health.budget_ms = budget_ms;
}

size_t fo_count(const struct failover *f)
{
	return f ? f->n : 0;
}

const struct fo_uplink *fo_uplink(const struct failover *f, size_t i)
{
	return f && i < f->n ? &f->up[i] : NULL;
}

static const char *err_suffix(int ret, char *buf, size_t size)
{
	if (!ret)
		return "";
	snprintf(buf, size, ": %s", strerror(-ret));
	return buf;
}

/*
 * How long the removal of a kicked uplink's endpoint needs to reach the
 * server: its RM_ADDR goes out on the living subflows, behind what they have
 * queued: twice their largest smoothed RTT, within FO_REPLUG_MIN_MS and
 * FO_REPLUG_MAX_MS.
 */
static int64_t replug_wait(const struct conn_snapshot *cur)
{
	int64_t wait = 2 * (int64_t)conn_max_rtt_us(cur, FO_HEALTH_DEAD_MS) / 1000;

	if (wait < FO_REPLUG_MIN_MS)
		wait = FO_REPLUG_MIN_MS;
	return wait < FO_REPLUG_MAX_MS ? wait : FO_REPLUG_MAX_MS;
}

/*
 * How long after a kick before the path is tried again: FO_KICK_SETTLE_MS,
 * doubled per failed kick.
 */
static int64_t kick_wait(const struct fo_reach *p)
{
	int shift = p->failed_kicks < FO_KICK_BACKOFF_MAX ? p->failed_kicks : FO_KICK_BACKOFF_MAX;

	return (int64_t)FO_KICK_SETTLE_MS << shift;
}

/*
 * A kick's outcome: an uplink that works again (up, or degraded: back soon
 * after its release, it comes and goes) clears the count; one still down once
 * the wait is over counts as a failed kick. Returns the wait before the path is
 * tried again.
 */
static int64_t kick_outcome(struct fo_uplink *up, int64_t now)
{
	struct fo_reach *p = &up->reach;

	if (up->health.state != FO_DOWN) {
		p->failed_kicks = 0;
		p->kick_pending = false;
		p->unplugged_ms = 0; /* in use again (routing may have put it back itself) */
	} else if (p->kick_pending && now - p->kicked_ms >= kick_wait(p)) {
		p->kick_pending = false;
		if (++p->failed_kicks == 2)
			LOG_WARN(TAG,
				 "uplink %s: its path answers, but no subflow on it comes up (a "
				 "server that refuses joins?): the stream stays on the others, "
				 "tried "
				 "again less and less often",
				 up->view.name);
	}
	return kick_wait(p);
}

/*
 * The pair the reach check of uplink @l's path uses: one of its addresses,
 * and an address of the server of that family that the connection has. False:
 * none.
 */
static bool reach_pair(const struct mps_uplink_view *l, const struct conn_snapshot *cur,
		       const struct mps_ip **src, const struct sockaddr_storage **dst)
{
	for (size_t k = 0; k < cur->n; k++) {
		struct mps_ip r;

		if (!mps_ip_from_sockaddr(&r, (const struct sockaddr *)&cur->sf[k].remote))
			continue;
		*src = mps_uplink_view_addr(l, r.family);
		*dst = &cur->sf[k].remote;
		if (*src)
			return true;
	}
	return false;
}

/*
 * A down uplink: does its path reach the server? When it answers, kick it:
 * its endpoint removed (unless it was already, when it was released) and
 * added again once the server can have heard of the removal.
 */
static void reach_and_kick(struct failover *f, size_t i, const struct conn_snapshot *cur,
			   int64_t now)
{
	struct fo_uplink *up = &f->up[i];
	int64_t wait = kick_outcome(up, now);
	const struct sockaddr_storage *dst;
	const struct mps_ip *src;
	char err[96];
	int ret = 0;

	if (!up->act.reach || !cur || !reach_pair(&up->view, cur, &src, &dst) ||
	    now - up->reach.kicked_ms < wait) {
		fo_reach_reset(&up->reach);
		return;
	}
	if (fo_reach_step(&up->reach, src, up->view.name, dst, now) != 1)
		return;
	up->reach.kicked_ms = now;
	up->reach.kick_pending = true;
	if (!up->reach.unplugged_ms) {
		ret = f->ops->unplug(f->ctx, i);
		up->reach.unplugged_ms = now;
	}
	up->reach.replug_ms = up->reach.unplugged_ms + replug_wait(cur);
	if (up->reach.replug_ms < now)
		up->reach.replug_ms = now;
	LOG_INFO(TAG, "uplink %s: its path answers again: fresh subflow in %lld ms%s",
		 up->view.name, (long long)(up->reach.replug_ms - now),
		 err_suffix(ret, err, sizeof(err)));
}

/*
 * The kicked uplink's endpoint back, when its time has come. Refused (the
 * kernel still holds the endpoint: it was not removed after all), it is
 * removed and added again after the wait.
 */
static void replug_due(struct failover *f, size_t i, const struct conn_snapshot *cur, int64_t now)
{
	struct fo_uplink *up = &f->up[i];
	int ret;

	if (!up->reach.replug_ms || now < up->reach.replug_ms)
		return;
	up->reach.replug_ms = 0;
	ret = f->ops->replug(f->ctx, i);
	if (ret && up->reach.unplugged_ms && cur && !f->ops->unplug(f->ctx, i)) {
		LOG_DEBUG(TAG, "uplink %s: endpoint refused (%s): removed, added again later",
			  up->view.name, strerror(-ret));
		up->reach.unplugged_ms = now;
		up->reach.replug_ms = now + replug_wait(cur);
		return;
	}
	up->reach.unplugged_ms = 0;
	if (ret)
		LOG_WARN(TAG, "uplink %s: cannot add its endpoint again: %s", up->view.name,
			 strerror(-ret));
}

/* Carry out what the policy decided for uplink @i. */
static void act_on(struct failover *f, size_t i, const struct conn_snapshot *cur, int64_t now)
{
	struct fo_uplink *up = &f->up[i];
	char err[96];
	int ret;

	if (up->act.changed)
		mps_log(fo_health_shown(&up->health) == FO_DOWN ? MPS_LOG_WARN : MPS_LOG_INFO, TAG,
			"uplink %s: %s (%s)", up->view.name,
			fo_state_name(fo_health_shown(&up->health)), up->health.reason);
	if (up->act.release) {
		ret = f->ops->unplug(f->ctx, i);
		if (!ret)
			up->reach.unplugged_ms = now;
		mps_log(ret ? MPS_LOG_WARN : MPS_LOG_INFO, TAG,
			"uplink %s: subflows closed, their data goes on the others now%s%s%s%s",
			up->view.name, up->radio.modem ? " (its modem: " : "",
			up->radio.modem ? up->radio.said : "", up->radio.modem ? ")" : "",
			err_suffix(ret, err, sizeof(err)));
	}
	reach_and_kick(f, i, cur, now);
	replug_due(f, i, cur, now);
}

/* Set aside the slow uplinks, and give back their place to those whose time is up. */
static void act_bench(struct failover *f, size_t i)
{
	struct fo_uplink *up = &f->up[i];
	char err[96];
	int ret;

	if (up->act.bench < 0)
		return;
	ret = up->act.bench ? f->ops->unplug(f->ctx, i) : f->ops->replug(f->ctx, i);
	mps_log(up->act.bench ? MPS_LOG_WARN : MPS_LOG_INFO, TAG, "uplink %s: %s%s", up->view.name,
		up->act.bench_why, err_suffix(ret, err, sizeof(err)));
}

/* Backups carry the stream while no primary works (@backup 0), and go back (1). */
static void act_backups(struct failover *f, int backup)
{
	int ret;

	LOG_WARN(TAG, backup ? "a primary uplink works again: backups back to backup"
			     : "no primary uplink works: backup uplinks carry the stream");
	for (size_t i = 0; i < f->n; i++) {
		if (!f->up[i].view.backup || !f->up[i].view.installed)
			continue;
		ret = f->ops->set_backup(f->ctx, i, backup);
		if (ret)
			LOG_WARN(TAG, "uplink %s: cannot %s its backup flag: %s",
				 f->up[i].view.name, backup ? "set" : "clear", strerror(-ret));
	}
}

/*
 * Uplink @i's modem, with the view. Back on its network: its path is tried at
 * once (reach.h), not after the wait a failed attempt left.
 */
static void read_radio(struct failover *f, size_t i)
{
	struct fo_uplink *up = &f->up[i];
	bool was_lost = up->radio.modem && !up->radio.registered;

	if (!f->ops->radio || f->ops->radio(f->ctx, i, &up->radio))
		memset(&up->radio, 0, sizeof(up->radio));
	if (was_lost && up->radio.registered) {
		fo_reach_reset(&up->reach);
		up->reach.kicked_ms = 0;
		up->reach.kick_pending = false;
		up->reach.failed_kicks = 0;
	}
}

void fo_tick(struct failover *f, const struct conn_snapshot *cur, int64_t now)
{
	int set_backup;

	for (size_t i = 0; i < f->n; i++) {
		struct mps_uplink_view l;

		/* An uplink routing cannot tell about keeps its last view. */
		if (f->ops->get(f->ctx, i, &l))
			continue;
		/* Its link back: routing put its endpoint back itself. */
		if (l.link_up && !f->up[i].view.link_up)
			f->up[i].reach.unplugged_ms = 0;
		f->up[i].view = l;
		read_radio(f, i);
	}
	set_backup = fo_health_update(&f->health, f->up, f->n, &f->prev, cur, now);
	for (size_t i = 0; i < f->n; i++)
		act_on(f, i, cur, now);
	for (size_t i = 0; i < f->n; i++)
		act_bench(f, i);
	if (set_backup >= 0)
		act_backups(f, set_backup);
	if (cur)
		f->prev = *cur;
}
