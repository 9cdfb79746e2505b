/* SPDX-License-Identifier: MIT */
/*
 * Failover: every tick, judge the uplinks (health.h, pure policy) and carry
 * out what it decided, through the routing operations it is given: release a
 * dead uplink that holds up the others, try the path of one that is down
 * (reach.h) and kick it when the path answers (unplug, then replug once the
 * server has heard of it), set a slow one aside and back, clear and set the
 * backup flags. The operations are routing's in mpstream and fakes in the
 * tests.
 *
 * Not thread-safe: its callers serialise on the driver's lock
 * (sender/ticks.c: the failover stage ticks it, the connection's hand-over
 * calls fo_new_connection()).
 */
#ifndef MPS_FAILOVER_FAILOVER_H
#define MPS_FAILOVER_FAILOVER_H

#include "health.h"
#include "snapshot.h"
#include "uplink.h"

#include <stddef.h>
#include <stdint.h>

/* What failover may do to uplink @i. Each returns 0 or -errno. */
struct fo_routing_ops {
	/* Routing's current view of the uplink (rt_uplinks_view() in mpstream). */
	int (*get)(void *ctx, size_t i, struct mps_uplink_view *out);
	/* Close its subflows (the initial one too) and remove its endpoint. */
	int (*unplug)(void *ctx, size_t i);
	/* Add its endpoint again: the kernel opens a fresh subflow at once. */
	int (*replug)(void *ctx, size_t i);
	/* Set or clear its endpoint's backup flag (MP_PRIO to the server). */
	int (*set_backup)(void *ctx, size_t i, bool backup);
	/* Its modem's radio (NULL, or an error: not a modem). */
	int (*radio)(void *ctx, size_t i, struct fo_radio *out);
};

struct failover;

/* @n uplinks (at most FO_MAX_UPLINKS). Returns 0, -EINVAL or -ENOMEM. */
int fo_create(const struct fo_routing_ops *ops, void *ctx, size_t n, struct failover **out)
	__attribute__((warn_unused_result));

/* Close the connection attempts under way (reach.h). NULL is fine. */
void fo_destroy(struct failover *f);

/* A new connection: the previous snapshot means nothing for it. */
void fo_new_connection(struct failover *f);

/* One tick at @now_ms: @cur is the connection's snapshot (NULL: none this tick). */
void fo_tick(struct failover *f, const struct conn_snapshot *cur, int64_t now_ms);

/* The stream's delay budget in force (ms; 0: not known): a queue within its part is no harm. */
void fo_set_budget(struct failover *f, int budget_ms);

size_t fo_count(const struct failover *f);

/* Uplink @i as failover knows it (its link as of the last tick); NULL past the end. */
const struct fo_uplink *fo_uplink(const struct failover *f, size_t i);

#endif
