/* SPDX-License-Identifier: MIT */
/*
 * Prometheus metrics: `--metrics [ADDR:]PORT` serves the text exposition
 * format at /metrics (libmicrohttpd, its own thread). The stats thread hands
 * over what it measured every tick; the per-uplink byte counters are sums of
 * the subflows' deltas, so they go on across subflows and reconnects.
 *
 * The rendering is pure (snd_metrics_render) so that it is unit-tested.
 */
#ifndef MPS_METRICS_H
#define MPS_METRICS_H

#include "routing.h"
#include "stats.h"

#include <netinet/in.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct snd_metrics_uplink {
	char name[IFNAMSIZ];
	const char *state; /* "up", "degraded", "down"; NULL: not judged */
	uint64_t sent_bytes, acked_bytes, retrans_bytes;
};

struct snd_metrics_subflow {
	uint32_t id;
	char uplink[IFNAMSIZ];
	char local[SND_ADDR_STRLEN], remote[SND_ADDR_STRLEN];
	uint64_t sent_bytes, acked_bytes, retrans_bytes;
	double rtt_s;
	uint32_t cwnd;
	uint8_t tcp_state;
};

struct snd_metrics_data {
	size_t n_uplinks, n_subflows;
	struct snd_metrics_uplink uplink[RT_MAX_UPLINKS];
	struct snd_metrics_subflow subflow[SND_MAX_SUBFLOWS];
	bool connected;
	struct snd_stream_status stream;
};

/* The uplink named @name in @d, added if it is not there; NULL when @d is full. */
struct snd_metrics_uplink *snd_metrics_uplink(struct snd_metrics_data *d, const char *name);

/* The exposition text; returns its length, or -1 if @size was too small. */
int snd_metrics_render(const struct snd_metrics_data *d, char *buf, size_t size);

/*
 * Add what the subflows of @cur did since @prev (NULL or empty: since they
 * began) to the uplinks' counters in @d, naming each subflow's uplink with
 * @namer; and set @d's subflows to @cur's.
 */
void snd_metrics_account(struct snd_metrics_data *d, const struct snd_stats_snapshot *prev,
			 const struct snd_stats_snapshot *cur, snd_uplink_namer namer,
			 void *opaque);

struct snd_metrics;

/* Parse "[ADDR:]PORT" (no ADDR: every address). Returns 0 or -EINVAL. */
int snd_metrics_parse_listen(const char *s, struct sockaddr_in *out);

/* Listen and serve. Returns 0 or -errno (the address is taken, ...). */
int snd_metrics_start(const struct sockaddr_in *listen, struct snd_metrics **out);
/* Thread-safe: the data the next scrape sees. */
void snd_metrics_publish(struct snd_metrics *m, const struct snd_metrics_data *d);
void snd_metrics_stop(struct snd_metrics *m);

#endif
