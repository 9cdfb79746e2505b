/* SPDX-License-Identifier: MIT */
/*
 * One direction of an emulated link, as a pure model (time comes in, no I/O):
 *
 *   arrive -> [random loss] -> queue (bytes or ms limit, tail drop)
 *          -> serialised at the capacity of the moment, one of:
 *             - a schedule: one rate per slot, e.g. per 100 ms, looped; 0
 *               holds everything;
 *             - delivery opportunities (mahimahi's traces): at each, up to
 *               1500 bytes of the queue leave, looped at the last one
 *          -> propagation: base delay + jitter + a swing (never reordering)
 *          -> leave.
 *
 * The capacity follows a schedule so that a recorded or synthetic cellular
 * trace can drive the link; a queue that holds packets while the capacity is
 * 0 is what a modem does when its radio has nothing (the packets are late,
 * not lost, until the queue is full). linkem.c moves real frames through
 * two of these; the unit test drives them on simulated time.
 *
 * Delivery opportunities are modelled as mahimahi's link does, not turned
 * into a schedule of short slots: one opportunity carries up to 1500 bytes
 * of the packets queued when it comes (several small ones, or part of one,
 * the rest at the next), and is lost when the queue is empty. In the
 * recorded uplink traces most of the time lies in gaps between
 * opportunities of 10 ms or more (TMobile-UMTS-driving 87 %, ATT-LTE-
 * driving-2016 72 %, Orange 4G A 43 %; gaps up to 4 s), and up to 41 come in
 * the same ms: a schedule of 10 ms slots would serve a packet that arrives
 * in such a gap at the slot's mean rate at once, and take away the waits and
 * bursts a cellular uplink's RTT shows. The trace is kept as it is (4 bytes
 * an opportunity), and a packet costs O(1).
 */
#ifndef LEM_PIPE_H
#define LEM_PIPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LEM_MAX_FRAME	 2048
#define LEM_SLOT_NS_DFLT 100000000LL /* 100 ms per schedule slot */
#define LEM_OPP_BYTES	 1500	     /* what one delivery opportunity carries */
#define LEM_OPP_MS_MAX	 3600000000U /* the last timestamp a trace may have (1000 h) */

struct lem_params {
	const uint32_t *rates_kbps; /* the schedule: one rate per slot, looped */
	size_t n_rates;
	/*
	 * Or (when n_opps is not 0) delivery opportunities: their times in ms
	 * from the start, non-decreasing, the last (> 0) the trace's length,
	 * where it loops (an opportunity at the last time is the next loop's
	 * first, also at 0 in the first loop, when the link is idle anyway).
	 */
	const uint32_t *opps_ms;
	size_t n_opps;
	/* Bytes at each packet's start an opportunity does not carry (linkem: the
	 * Ethernet header, 14; mahimahi's packets are IP packets). */
	uint32_t opp_header;
	int64_t slot_ns;      /* the length of one slot */
	int64_t delay_ns;     /* base one-way delay */
	int64_t jitter_ns;    /* uniform in [-jitter, +jitter] on top, at most the delay */
	double loss;	      /* probability, 0..1, of losing a packet on arrival */
	uint32_t queue_bytes; /* the queue's limit in bytes; 0: see queue_ns */
	int64_t queue_ns;     /* ... or in time at the current rate; 0 and 0: 100 ms */
	uint64_t seed;	      /* for loss and jitter: the same seed, the same run */
	/*
	 * A bad link that is not dead: swing_ns more delay for the packets that
	 * finish serialising in the second half of each swing_period_ns (from
	 * the start), the delay a queue swinging with the radio adds. 0: none.
	 */
	int64_t swing_ns, swing_period_ns;
};

struct lem_packet {
	int64_t leave_ns; /* when it leaves (set once serialised) */
	uint16_t len;
	uint8_t data[LEM_MAX_FRAME];
};

struct lem_stats {
	uint64_t in_packets, in_bytes;
	uint64_t out_packets, out_bytes;
	uint64_t lost_packets;	  /* the random loss */
	uint64_t dropped_packets; /* the queue was full */
	int64_t max_queue_bytes;
};

struct lem_pipe;

/* A pipe for @p (copied; the schedule is copied too). Returns 0, -EINVAL or -ENOMEM. */
int lem_pipe_create(const struct lem_params *p, int64_t start_ns, struct lem_pipe **out);
void lem_pipe_destroy(struct lem_pipe *pipe);

/*
 * A packet of @len bytes arrives at @now_ns. Returns 1 when it was queued,
 * 0 when it was lost or dropped (counted), -EMSGSIZE when it is too long.
 */
int lem_pipe_push(struct lem_pipe *pipe, const void *data, size_t len, int64_t now_ns);

/*
 * The next packet whose time to leave has come by @now_ns, into @out:
 * 1 when there is one, 0 when not (yet).
 */
int lem_pipe_pop(struct lem_pipe *pipe, int64_t now_ns, struct lem_packet *out);

/* When something next happens (a packet leaves or finishes serialising); INT64_MAX: nothing. */
int64_t lem_pipe_next_ns(const struct lem_pipe *pipe, int64_t now_ns);

/* The capacity at @now_ns, in kbit/s (opportunities: the mean over the ms it is in). */
uint32_t lem_pipe_rate_kbps(const struct lem_pipe *pipe, int64_t now_ns);

/* The mean capacity from @from_ns to @to_ns, in kbit/s (the rate at @from_ns when they are equal). */
double lem_pipe_mean_kbps(const struct lem_pipe *pipe, int64_t from_ns, int64_t to_ns);

const struct lem_stats *lem_pipe_stats(const struct lem_pipe *pipe);

/*
 * Parse a schedule: one rate per line in kbit/s (a number, optionally with
 * k, M suffix meaning kbit/s, Mbit/s); '#' starts a comment. Returns the
 * number of rates (malloc'ed into *@out) or -errno (-EINVAL with the line in
 * *@bad_line).
 */
int lem_schedule_parse(const char *text, uint32_t **out, int *bad_line);

/*
 * Parse delivery opportunities in mahimahi's format: one timestamp per line,
 * an integer in ms from the trace's start (repeated for several in one ms),
 * never before the line above, the last above 0; '#' starts a comment.
 * Returns their number (malloc'ed into *@out) or -errno (-EINVAL with the
 * line in *@bad_line, 0 when there is no timestamp at all).
 */
int lem_opportunities_parse(const char *text, uint32_t **out, int *bad_line);

/* "4mbit", "1500k", "800" (kbit/s): into kbit/s. Returns 0 or -EINVAL. */
int lem_parse_rate(const char *s, uint32_t *kbps);

/* "40ms", "1.5s", "200us", "30" (ms): into ns. Returns 0 or -EINVAL. */
int lem_parse_time(const char *s, int64_t *ns);

/*
 * swing='s "TIME/PERIOD" ("150ms/4s"): more than no delay, every period of
 * 2 ns or more. Returns 0 or -EINVAL (and leaves *@swing_ns, *@period_ns).
 */
int lem_parse_swing(const char *s, int64_t *swing_ns, int64_t *period_ns);

#endif
