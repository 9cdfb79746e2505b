/* SPDX-License-Identifier: MIT */
/*
 * Prometheus metrics: the text exposition format that `--metrics` and
 * `--http` serve at /metrics (web/server.c). The monitor's publish stage hands
 * over what it measured every 100 ms (sender/ticks.h); the per-uplink byte counters are sums of the subflows'
 * deltas, so they go on across subflows and reconnects.
 *
 * The rendering and the accounting are pure and unit-tested.
 */
#ifndef MPS_METRICS_METRICS_H
#define MPS_METRICS_METRICS_H

#include "snapshot.h"
#include "uplink_view.h"

#include <netinet/in.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define METRICS_MAX_UPLINKS 8

/*
 * Uplink i is routing's uplink i (metrics_set_uplinks()); those known only
 * from a subflow's address (named "-": none of ours) come after them.
 */
struct metrics_uplink {
	struct mps_uplink_view
		view;	   /* routing's, as failover last read it; only a name: not ours */
	const char *state; /* "up", "degraded", "down", "slow", "off"; NULL: not judged */
	uint64_t sent_bytes, acked_bytes, retrans_bytes;
};

struct metrics_subflow {
	uint32_t id;
	char uplink[IFNAMSIZ];
	char local[CONN_ADDR_STRLEN], remote[CONN_ADDR_STRLEN];
	int family; /* AF_INET, AF_INET6 */
	uint64_t sent_bytes, acked_bytes, retrans_bytes;
	double rtt_s;
	uint32_t cwnd;
	uint8_t tcp_state;
};

struct metrics_data {
	size_t n_uplinks, n_subflows;
	struct metrics_uplink uplink[METRICS_MAX_UPLINKS];
	struct metrics_subflow subflow[CONN_MAX_SUBFLOWS];
	bool connected;
	struct conn_stream_status stream;
};

/*
 * The configured uplinks, by index: uplink i of @d becomes @views[i] with
 * @states[i] (a string that outlives @d's use; NULL: not judged), keeping the
 * counters it had under that name. Those that @d knew only from a subflow's
 * address stay, after them. At most METRICS_MAX_UPLINKS in all: the last
 * ones past it are left out.
 */
void metrics_set_uplinks(struct metrics_data *d, const struct mps_uplink_view *views,
			 const char *const *states, size_t n);

/* The uplink named @name in @d, added at the end if it is not there; NULL when @d is full. */
struct metrics_uplink *metrics_uplink(struct metrics_data *d, const char *name);

/* The exposition text; returns its length, or -1 if @size was too small. */
int metrics_render(const struct metrics_data *d, char *buf, size_t size);

/*
 * Add what the subflows of @cur did since @prev (NULL or empty: since they
 * began) to the uplinks' counters in @d, naming each subflow's uplink with
 * @namer; and set @d's subflows to @cur's.
 */
void metrics_account(struct metrics_data *d, const struct conn_snapshot *prev,
		     const struct conn_snapshot *cur, conn_uplink_namer namer, void *opaque);

#endif
