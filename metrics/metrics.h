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

#include "modem.h"
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
	/* Its modem's radio (metrics_set_radio()); present false: no modem, or no ModemManager. */
	struct modem_radio radio;
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

/*
 * Uplink i's radio (i as in metrics_set_uplinks()): a copy of @radio, or
 * "not present" when @radio is NULL. An index past @d's uplinks is ignored.
 * Kept across metrics_set_uplinks() under the uplink's name, as the counters are.
 */
void metrics_set_radio(struct metrics_data *d, size_t i, const struct modem_radio *radio);

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

/*
 * The radio as one CSV cell, "TECH:QUALITY:RSRP:SNR:REGISTRATION:SIM" (quality
 * in %, RSRP in dBm and SNR in dB, 5G's when on 5G and known, else LTE's,
 * SINR for 5G; a figure not known is empty): "LTE:72:-95:12.5:home:ready",
 * "::::searching:pin". "" when not present. No comma, quote, semicolon or
 * text of the modem's goes in. Returns as snprintf() does.
 */
int metrics_radio_csv(const struct modem_radio *r, char *buf, size_t size);

/*
 * A CSV column of every uplink of @d with a modem, as the `uplinks` column
 * lists states: "wwan0=LTE:72:-95:12.5:home:ready;wwan1=:::searching:ready";
 * "" when none has one. Returns as snprintf() does.
 */
int metrics_radios_csv(const struct metrics_data *d, char *buf, size_t size);

/*
 * What the operator must see first, or NULL: "no SIM", "SIM locked (PIN, 3
 * attempts left)", "SIM locked (PUK)", "SIM locked", then, off its network, "no network
 * (WORDS)" with modem_radio_words()' words: "no network (searching)", "no
 * network (refused)", "no network (radio off)", "no network (disabled)". @buf holds at least
 * METRICS_RADIO_ALERT bytes; the return is @buf or NULL.
 */
#define METRICS_RADIO_ALERT 64
const char *metrics_radio_alert(const struct modem_radio *r, char *buf);

/*
 * Signal bars, 0..4, from the RSRP where known (5G's on 5G, else LTE's),
 * else from the quality; -1: not present, or neither known.
 */
int metrics_radio_bars(const struct modem_radio *r);

/*
 * @s (at most @max bytes of it) as valid UTF-8 without control characters:
 * each byte of an invalid or cut sequence, and each control character,
 * becomes '?'. The modems' strings are outside input, and a copy cut at a
 * byte count may end in half a character. Needs @size >= 1.
 */
void metrics_clean_text(const char *s, size_t max, char *out, size_t size);

#endif
