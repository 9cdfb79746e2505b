// SPDX-License-Identifier: MIT
#include "pipe.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The most packets one direction holds, queued and on their way. */
#define RING_SIZE 4096
/* A time-based queue limit holds at least this much (two full frames). */
#define QUEUE_MIN_BYTES 3028
#define MS_NS		1000000LL

struct lem_pipe {
	struct lem_params p;
	uint32_t *rates;
	/*
	 * Delivery opportunities (p.n_opps of them): their offsets in ms within
	 * one loop of period_ns, sorted, each below the period. Opportunity g,
	 * counted from the start over every loop, comes at loop g / n, offset
	 * g % n. opp_next is the first one not used yet; opp_left what the one
	 * before it has left (0: nothing, or it is past).
	 */
	uint32_t *opps;
	int64_t period_ns;
	uint64_t opp_next;
	uint32_t opp_left;
	int64_t start_ns;     /* the schedule's slot 0 began here */
	uint32_t queue_limit; /* bytes */
	bool carries;	      /* some slot of the schedule has capacity */
	uint64_t rng;
	/*
	 * The ring, in arrival order: [head, ser) serialised and on their way
	 * (leave_ns set, non-decreasing), [ser, tail) queued, the one at ser
	 * being serialised until ser_done_ns.
	 */
	struct lem_packet *ring;
	size_t head, ser, tail;
	int64_t ser_done_ns;
	int64_t last_leave_ns;
	uint32_t queued_bytes;
	struct lem_stats stats;
};

static uint64_t next_random(struct lem_pipe *pipe)
{
	/* xorshift64*: fast, and the same sequence for the same seed. */
	pipe->rng ^= pipe->rng >> 12;
	pipe->rng ^= pipe->rng << 25;
	pipe->rng ^= pipe->rng >> 27;
	return pipe->rng * 0x2545F4914F6CDD1DULL;
}

/* Uniform in [0, 1). */
static double uniform(struct lem_pipe *pipe)
{
	return (double)(next_random(pipe) >> 11) / (double)(1ULL << 53);
}

/* When opportunity @g comes. */
static int64_t opp_time(const struct lem_pipe *pipe, uint64_t g)
{
	size_t n = pipe->p.n_opps;

	return pipe->start_ns + (int64_t)(g / n) * pipe->period_ns +
	       (int64_t)pipe->opps[g % n] * MS_NS;
}

/* The first opportunity at or after @t: also how many come before @t. */
static uint64_t opp_first(const struct lem_pipe *pipe, int64_t t)
{
	int64_t since = t - pipe->start_ns, off;
	uint64_t loop;
	size_t lo = 0, hi = pipe->p.n_opps;

	if (since <= 0)
		return 0;
	loop = (uint64_t)(since / pipe->period_ns);
	off = since % pipe->period_ns;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if ((int64_t)pipe->opps[mid] * MS_NS < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return loop * pipe->p.n_opps + lo;
}

/* What the opportunities from @from_ns to @to_ns carry, in kbit/s. */
static double opp_kbps(const struct lem_pipe *pipe, int64_t from_ns, int64_t to_ns)
{
	uint64_t n = opp_first(pipe, to_ns) - opp_first(pipe, from_ns);

	return (double)n * LEM_OPP_BYTES * 8 * 1e6 / (double)(to_ns - from_ns);
}

uint32_t lem_pipe_rate_kbps(const struct lem_pipe *pipe, int64_t now_ns)
{
	int64_t slot;

	if (pipe->p.n_opps) {
		int64_t ms = now_ns - (now_ns - pipe->start_ns) % MS_NS;

		return (uint32_t)opp_kbps(pipe, ms, ms + MS_NS);
	}
	slot = (now_ns - pipe->start_ns) / pipe->p.slot_ns;

	if (slot < 0)
		slot = 0;
	return pipe->rates[(size_t)slot % pipe->p.n_rates];
}

double lem_pipe_mean_kbps(const struct lem_pipe *pipe, int64_t from_ns, int64_t to_ns)
{
	int64_t slot_ns = pipe->p.slot_ns, t = from_ns;
	double kbit_ns = 0;

	if (to_ns <= from_ns)
		return lem_pipe_rate_kbps(pipe, from_ns);
	if (pipe->p.n_opps)
		return opp_kbps(pipe, from_ns, to_ns);
	while (t < to_ns) {
		int64_t slot = (t - pipe->start_ns) / slot_ns;
		int64_t end = pipe->start_ns + (slot + 1) * slot_ns;

		if (end > to_ns)
			end = to_ns;
		kbit_ns += (double)lem_pipe_rate_kbps(pipe, t) * (double)(end - t);
		t = end;
	}
	return kbit_ns / (double)(to_ns - from_ns);
}

/*
 * When a packet of @len bytes whose serialisation starts at @start is out, at
 * the capacity of each slot it spans. INT64_MAX when the schedule carries
 * nothing at all.
 */
static int64_t rate_serialised_at(const struct lem_pipe *pipe, int64_t start, size_t len)
{
	double bits = (double)len * 8;
	int64_t t = start, slot_ns = pipe->p.slot_ns;

	if (!pipe->carries)
		return INT64_MAX;
	for (;;) {
		int64_t slot = (t - pipe->start_ns) / slot_ns;
		int64_t slot_end = pipe->start_ns + (slot + 1) * slot_ns;
		double bps = (double)lem_pipe_rate_kbps(pipe, t) * 1000;
		double room = bps * (double)(slot_end - t) / 1e9;

		if (bps > 0 && bits <= room)
			return t + (int64_t)ceil(bits / bps * 1e9);
		bits -= room;
		t = slot_end;
	}
}

/*
 * When a packet of @len bytes whose serialisation starts at @start is out:
 * at the opportunity that carries its last byte. What the opportunity the
 * packet before used has left serves first if it comes no earlier than
 * @start (the packets queued when it came share it); then one after another.
 */
static int64_t opp_serialised_at(struct lem_pipe *pipe, int64_t start, size_t len)
{
	uint32_t need = len > pipe->p.opp_header ? (uint32_t)len - pipe->p.opp_header : 1;

	if (pipe->opp_left && opp_time(pipe, pipe->opp_next - 1) < start)
		pipe->opp_left = 0; /* it came while the queue was empty: lost */
	if (!pipe->opp_left) {
		uint64_t first = opp_first(pipe, start);

		if (first > pipe->opp_next)
			pipe->opp_next = first;
	}
	for (;;) {
		uint32_t take;

		if (!pipe->opp_left) {
			pipe->opp_left = LEM_OPP_BYTES;
			pipe->opp_next++;
		}
		take = need < pipe->opp_left ? need : pipe->opp_left;
		need -= take;
		pipe->opp_left -= take;
		if (!need)
			return opp_time(pipe, pipe->opp_next - 1);
	}
}

/* Serialise the next packet: see rate_serialised_at() and opp_serialised_at(). */
static int64_t serialised_at(struct lem_pipe *pipe, int64_t start, size_t len)
{
	if (pipe->p.n_opps)
		return opp_serialised_at(pipe, start, len);
	return rate_serialised_at(pipe, start, len);
}

/* The propagation delay of a packet serialised at @t: base + jitter + swing, never negative. */
static int64_t propagation(struct lem_pipe *pipe, int64_t t)
{
	int64_t d = pipe->p.delay_ns, half = pipe->p.swing_period_ns / 2;

	if (pipe->p.swing_ns && half > 0 && t > pipe->start_ns && (t - pipe->start_ns) / half % 2)
		d += pipe->p.swing_ns;
	if (pipe->p.jitter_ns)
		d += (int64_t)((uniform(pipe) * 2 - 1) * (double)pipe->p.jitter_ns);
	return d > 0 ? d : 0;
}

/* Move the packets whose serialisation is over by @now_ns onto their way. */
static void advance(struct lem_pipe *pipe, int64_t now_ns)
{
	while (pipe->ser != pipe->tail && pipe->ser_done_ns <= now_ns) {
		struct lem_packet *pk = &pipe->ring[pipe->ser % RING_SIZE];
		int64_t leave = pipe->ser_done_ns + propagation(pipe, pipe->ser_done_ns);

		/* Jitter delays, it does not reorder: a radio link delivers in order. */
		if (leave < pipe->last_leave_ns)
			leave = pipe->last_leave_ns;
		pk->leave_ns = pipe->last_leave_ns = leave;
		pipe->queued_bytes -= pk->len;
		pipe->ser++;
		if (pipe->ser != pipe->tail)
			pipe->ser_done_ns = serialised_at(pipe, pipe->ser_done_ns,
							  pipe->ring[pipe->ser % RING_SIZE].len);
	}
}

int lem_pipe_push(struct lem_pipe *pipe, const void *data, size_t len, int64_t now_ns)
{
	struct lem_packet *pk;

	if (len > LEM_MAX_FRAME)
		return -EMSGSIZE;
	advance(pipe, now_ns);
	pipe->stats.in_packets++;
	pipe->stats.in_bytes += len;
	if (pipe->p.loss > 0 && uniform(pipe) < pipe->p.loss) {
		pipe->stats.lost_packets++;
		return 0;
	}
	if (pipe->queued_bytes + len > pipe->queue_limit || pipe->tail - pipe->head >= RING_SIZE) {
		pipe->stats.dropped_packets++;
		return 0;
	}
	pk = &pipe->ring[pipe->tail % RING_SIZE];
	memcpy(pk->data, data, len);
	pk->len = (uint16_t)len;
	pk->leave_ns = 0;
	if (pipe->ser == pipe->tail) /* the link was idle: out from now */
		pipe->ser_done_ns = serialised_at(pipe, now_ns, len);
	pipe->tail++;
	pipe->queued_bytes += (uint32_t)len;
	if ((int64_t)pipe->queued_bytes > pipe->stats.max_queue_bytes)
		pipe->stats.max_queue_bytes = pipe->queued_bytes;
	return 1;
}

int lem_pipe_pop(struct lem_pipe *pipe, int64_t now_ns, struct lem_packet *out)
{
	struct lem_packet *pk;

	advance(pipe, now_ns);
	if (pipe->head == pipe->ser)
		return 0;
	pk = &pipe->ring[pipe->head % RING_SIZE];
	if (pk->leave_ns > now_ns)
		return 0;
	out->leave_ns = pk->leave_ns;
	out->len = pk->len;
	memcpy(out->data, pk->data, pk->len);
	pipe->head++;
	pipe->stats.out_packets++;
	pipe->stats.out_bytes += out->len;
	return 1;
}

int64_t lem_pipe_next_ns(const struct lem_pipe *pipe, int64_t now_ns)
{
	int64_t next = INT64_MAX;

	(void)now_ns;
	if (pipe->head != pipe->ser)
		next = pipe->ring[pipe->head % RING_SIZE].leave_ns;
	if (pipe->ser != pipe->tail && pipe->ser_done_ns < next)
		next = pipe->ser_done_ns;
	return next;
}

const struct lem_stats *lem_pipe_stats(const struct lem_pipe *pipe)
{
	return &pipe->stats;
}

/* The queue's limit in bytes: as given, or its time at the schedule's mean rate. */
static uint32_t queue_limit(const struct lem_params *p)
{
	double mean_kbps = 0, bytes;
	int64_t queue_ns = p->queue_ns ? p->queue_ns : LEM_SLOT_NS_DFLT;

	if (p->queue_bytes)
		return p->queue_bytes;
	if (p->n_opps) {
		mean_kbps = (double)p->n_opps * LEM_OPP_BYTES * 8 / p->opps_ms[p->n_opps - 1];
	} else {
		for (size_t k = 0; k < p->n_rates; k++)
			mean_kbps += p->rates_kbps[k];
		mean_kbps /= (double)p->n_rates;
	}
	bytes = mean_kbps * 1000 / 8 * (double)queue_ns / 1e9;
	return bytes > QUEUE_MIN_BYTES ? (uint32_t)bytes : QUEUE_MIN_BYTES;
}

/* Whether @p's opportunities are a trace: non-decreasing, the last after the start. */
static bool opps_valid(const struct lem_params *p)
{
	if (!p->opps_ms || !p->opps_ms[p->n_opps - 1] || p->opps_ms[p->n_opps - 1] > LEM_OPP_MS_MAX)
		return false;
	for (size_t k = 1; k < p->n_opps; k++)
		if (p->opps_ms[k] < p->opps_ms[k - 1])
			return false;
	return true;
}

/*
 * The opportunities as offsets within one loop: those at the last time are
 * the next loop's first (offset 0), so every loop holds all n of them.
 */
static int copy_opps(struct lem_pipe *pipe, const struct lem_params *p)
{
	size_t n = p->n_opps, at_end = 0;
	uint32_t period = p->opps_ms[n - 1];

	pipe->opps = malloc(n * sizeof(*pipe->opps));
	if (!pipe->opps)
		return -ENOMEM;
	while (at_end < n && p->opps_ms[n - 1 - at_end] == period)
		at_end++;
	memset(pipe->opps, 0, at_end * sizeof(*pipe->opps));
	memcpy(pipe->opps + at_end, p->opps_ms, (n - at_end) * sizeof(*pipe->opps));
	pipe->p.opps_ms = pipe->opps;
	pipe->p.rates_kbps = NULL;
	pipe->p.n_rates = 0;
	pipe->period_ns = (int64_t)period * MS_NS;
	pipe->carries = true;
	return 0;
}

static int copy_rates(struct lem_pipe *pipe, const struct lem_params *p)
{
	pipe->rates = malloc(p->n_rates * sizeof(*pipe->rates));
	if (!pipe->rates)
		return -ENOMEM;
	memcpy(pipe->rates, p->rates_kbps, p->n_rates * sizeof(*pipe->rates));
	for (size_t k = 0; k < p->n_rates; k++)
		pipe->carries |= p->rates_kbps[k] > 0;
	pipe->p.rates_kbps = pipe->rates;
	return 0;
}

int lem_pipe_create(const struct lem_params *p, int64_t start_ns, struct lem_pipe **out)
{
	struct lem_pipe *pipe;
	int ret;

	if (p->n_opps ? !opps_valid(p) : !p->n_rates || !p->rates_kbps)
		return -EINVAL;
	if (p->loss < 0 || p->loss > 1 || p->delay_ns < 0 || p->jitter_ns < 0 || p->slot_ns < 0 ||
	    p->queue_ns < 0 || p->swing_ns < 0 || (p->swing_ns && p->swing_period_ns < 2))
		return -EINVAL;
	pipe = calloc(1, sizeof(*pipe));
	if (!pipe)
		return -ENOMEM;
	pipe->p = *p;
	if (!pipe->p.slot_ns)
		pipe->p.slot_ns = LEM_SLOT_NS_DFLT;
	ret = p->n_opps ? copy_opps(pipe, p) : copy_rates(pipe, p);
	pipe->ring = malloc(RING_SIZE * sizeof(*pipe->ring));
	if (ret || !pipe->ring) {
		lem_pipe_destroy(pipe);
		return -ENOMEM;
	}
	pipe->start_ns = start_ns;
	pipe->queue_limit = queue_limit(p);
	pipe->rng = p->seed ? p->seed : 0x9E3779B97F4A7C15ULL;
	*out = pipe;
	return 0;
}

void lem_pipe_destroy(struct lem_pipe *pipe)
{
	if (!pipe)
		return;
	free(pipe->rates);
	free(pipe->opps);
	free(pipe->ring);
	free(pipe);
}
