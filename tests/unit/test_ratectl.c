// SPDX-License-Identifier: MIT
/*
 * Rate control on synthetic traces, closed loop through a small model of two
 * paths and a socket, and open loop on a trace recorded in the lab.
 */
#include "clock_offsets.h"
#include "ratectl.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define TICK_MS	     100
#define OTHER_BPS    140800
#define SOCKET_BYTES (200 * 1024) /* beyond this, data waits in the app queue */

/* Two paths sharing one backlog, drained at the sum of the living paths' capacities. */
struct net {
	double cap_bps[2];
	double base_rtt_ms[2];
	bool alive[2];
	bool released[2];   /* its subflows closed: not in the input */
	uint32_t id[2];	    /* the subflows' ids: a path that comes back may do so as a fresh one */
	uint32_t uplink[2]; /* the uplinks they leave by */
	bool backup;	    /* path 1 carries only a trickle while path 0 lives */
	double encoder_max; /* the most the picture takes (a still one: little); 0: any */
	/*
	 * x264 as the sender sees it: it follows a new target within half a
	 * second, puts out this share of it, and is measured over one-second
	 * windows (stream.c), so that the measure lags a rising target. 0:
	 * exactly the target, at once.
	 */
	double encoder_fill;
	double enc_level, enc_bytes, enc_bps;
	int64_t enc_window_ms;
	double backlog; /* bytes sent by the app, not yet acknowledged */
	uint64_t acked[2];
	uint64_t delivered;   /* data sequence: acknowledged up to here (FIFO) */
	int slow_start_ticks; /* the paths' capacity grows from a tenth over these first ticks */
	int hol_ticks;	      /* the living paths carry 30 % while the dead one's data waits */
	double wire_avg;      /* what was put out lately: the queue's bytes are its frames */
	int path_queue_ms;    /* the paths' drop-tail queues: their RTT rises this much at most */
	int64_t t_ms;
};

struct run {
	struct ratectl r;
	struct net n;
	struct rc_decision d;
	int drops;
};

static const struct rc_config default_cfg = {
	.start_bps = 2500000,
	.min_bps = 300000,
	.max_bps = 12000000,
	.other_bps = OTHER_BPS,
	.max_latency_ms = 1000,
};

static int64_t t_offset_ms; /* every test runs at each of clock_offsets[] */

/* rc_update with @in's time on the test's clock, moved on by the offset. */
static void update(struct ratectl *r, const struct rc_input *in, struct rc_decision *d)
{
	struct rc_input at = *in;

	at.t_ms += t_offset_ms;
	rc_update(r, &at, d);
}

static void run_init(struct run *x, const struct rc_config *cfg, double cap0, double cap1)
{
	memset(x, 0, sizeof(*x));
	rc_init(&x->r, cfg);
	x->n = (struct net){
		.cap_bps = {cap0, cap1},
		.base_rtt_ms = {20, 30},
		.alive = {true, true},
		.id = {1, 2},
		.uplink = {10, 20},
		.delivered = 1 << 20,
		.t_ms = 1000,
	};
}

static double living_capacity(const struct net *n)
{
	return (n->alive[0] ? n->cap_bps[0] : 0) + (n->alive[1] ? n->cap_bps[1] : 0);
}

/*
 * What the encoder puts out for @target, and what the sender measures of it
 * (@measured): with encoder_fill, the share of the target over the last
 * full one-second window; without, exactly the target, at once.
 */
static double encoder_out(struct net *n, double target, double *measured)
{
	double video = n->encoder_max > 0 && n->encoder_max < target ? n->encoder_max : target;

	*measured = video;
	if (n->encoder_fill > 0) {
		/* x264 follows a new rate within its VBV buffer (half a second of it). */
		n->enc_level = n->enc_level > 0
				       ? n->enc_level + (video - n->enc_level) * TICK_MS / 500
				       : video;
		video = n->enc_level * n->encoder_fill;
		n->enc_bytes += video * TICK_MS / 8000.0;
		if (n->t_ms - n->enc_window_ms >= 1000) {
			n->enc_bps = n->enc_window_ms ? 8000.0 * n->enc_bytes / 1000 : 0;
			n->enc_bytes = 0;
			n->enc_window_ms = n->t_ms;
		}
		*measured = n->enc_bps;
	}
	return video;
}

/* One tick: the encoder puts out what it is asked for; the paths carry what they can. */
static void step(struct run *x)
{
	struct net *n = &x->n;
	struct rc_input in = {.t_ms = n->t_ms};
	double video = encoder_out(n, (double)x->r.target_bps, &in.encoder_bps);
	/* With a backup, path 0 alone carries the data while it lives; path 1 a keep-alive. */
	double wire = video + OTHER_BPS,
	       cap = n->backup && n->alive[0] ? n->cap_bps[0] : living_capacity(n);
	double out, queue_delay, in_socket;

	if (n->slow_start_ticks > 0) {
		static const int total = 20;
		int done = total - n->slow_start_ticks--;

		cap *= 0.1 + 0.9 * done / total;
	}
	if (n->hol_ticks > 0) {
		n->hol_ticks--;
		cap *= 0.3;
	}
	out = cap * TICK_MS / 8000.0;

	n->backlog += wire * TICK_MS / 8000.0;
	/* The queued frames were encoded at the rates of the last second, not at this one. */
	n->wire_avg = n->wire_avg > 0 ? n->wire_avg + 0.1 * (wire - n->wire_avg) : wire;
	if (out > n->backlog)
		out = n->backlog;
	n->backlog -= out;
	n->delivered += (uint64_t)out;
	if (n->backup && n->alive[0]) {
		n->acked[0] += (uint64_t)out;
		n->acked[1] += 30;
	} else {
		for (int i = 0; i < 2; i++)
			if (n->alive[i] && cap > 0)
				n->acked[i] += (uint64_t)(out * n->cap_bps[i] / living_capacity(n));
	}
	in_socket = n->backlog < SOCKET_BYTES ? n->backlog : SOCKET_BYTES;
	queue_delay = cap > 0 ? 8000.0 * in_socket / cap : 1000;
	if (n->path_queue_ms > 0 && queue_delay > n->path_queue_ms)
		queue_delay = n->path_queue_ms;
	in.n_paths = 0;
	for (int i = 0; i < 2; i++) {
		struct rc_path *p = &in.paths[in.n_paths];

		if (n->released[i])
			continue;
		p->id = n->id[i];
		p->uplink = n->uplink[i];
		p->rtt_ms = n->base_rtt_ms[i] + queue_delay;
		p->acked_bytes = n->acked[i];
		in.n_paths++;
	}
	in.socket_bytes = (uint32_t)in_socket;
	in.delivered_seq = n->delivered;
	in.written_seq = n->delivered + in.socket_bytes;
	/* About 30 ms of the paths' rate is in flight; the rest waits unsent. */
	in.unsent_bytes = in.socket_bytes > cap * 30 / 8000
				  ? in.socket_bytes - (uint32_t)(cap * 30 / 8000)
				  : 0;
	in.queue_ms = n->backlog > SOCKET_BYTES
			      ? (int)(8000.0 * (n->backlog - SOCKET_BYTES) / n->wire_avg)
			      : 0;
	update(&x->r, &in, &x->d);
	if (x->d.drop) {
		x->drops++;
		if (n->backlog > SOCKET_BYTES)
			n->backlog = SOCKET_BYTES; /* the app queue, up to a keyframe */
	}
	n->t_ms += TICK_MS;
}

/* Run for @ms; the mean target and the largest delay over its last @tail_ms. */
static void run_for(struct run *x, int ms, int tail_ms, double *mean, int *max_delay)
{
	double sum = 0;
	int count = 0, worst = 0;

	for (int t = 0; t < ms; t += TICK_MS) {
		step(x);
		if (t >= ms - tail_ms) {
			sum += (double)x->d.target_bps;
			count++;
			if (x->d.delay_ms > worst)
				worst = x->d.delay_ms;
		}
	}
	if (mean)
		*mean = count ? sum / count : 0;
	if (max_delay)
		*max_delay = worst;
}

/* Ticks until @cond holds, at most @limit_ms; -1 if never. */
#define TIME_UNTIL(x, limit_ms, cond)                               \
	({                                                          \
		int _t = -1;                                        \
		for (int _e = 0; _e <= (limit_ms); _e += TICK_MS) { \
			step(x);                                    \
			if (cond) {                                 \
				_t = _e;                            \
				break;                              \
			}                                           \
		}                                                   \
		_t;                                                 \
	})

/* Two 3.8 Mbit/s paths: the rate climbs to most of them, the delay stays bounded. */
static void test_steady(void **state)
{
	struct run x;
	double mean;
	int worst;

	run_init(&x, &default_cfg, 3.8e6, 3.8e6);
	run_for(&x, 40000, 10000, &mean, &worst);
	print_message("steady: mean target %.2f Mbit/s of %.2f, worst delay %d ms\n", mean / 1e6,
		      (7.6e6 - OTHER_BPS) / 1e6, worst);
	assert_true(mean >= 0.85 * (7.6e6 - OTHER_BPS));
	assert_true(worst < 1000);
	assert_int_equal(x.drops, 0);
}

/*
 * An encoder that puts out less than it is given (x264 on a simple picture:
 * 88 %, as the lab's pattern does): the climb from 2.5 Mbit/s towards two
 * 6 Mbit/s paths is bounded by what the encoder sends, not held back by it,
 * and stays within the paths. It took 51 s when the probe's bound took the
 * target for what was sent, and never got off 2.5 Mbit/s when the encoder
 * was also measured against the target of the moment (it follows a second
 * late); at 100 % it takes 17 s.
 */
static void test_climb_short_encoder(void **state)
{
	struct run x;
	double mean;
	int t, worst;

	(void)state;
	run_init(&x, &default_cfg, 6e6, 6e6);
	x.n.encoder_fill = 0.88;
	t = TIME_UNTIL(&x, 60000, x.n.enc_bps >= 0.8 * (12e6 - OTHER_BPS));
	run_for(&x, 20000, 10000, &mean, &worst);
	print_message("short encoder: 80 %% of the paths after %d ms; then target %.2f Mbit/s, "
		      "worst delay %d ms, %d drops\n",
		      t, mean / 1e6, worst, x.drops);
	assert_true(t >= 0 && t <= 25000);
	assert_true(worst < 1000);
	assert_int_equal(x.drops, 0);
	/* What the encoder puts out stays within the paths (the target may be above it). */
	assert_true(0.88 * mean <= 12e6 - OTHER_BPS);
}

/*
 * A simple scene (x264 at 85 % of its target) for 40 s over two 4 Mbit/s
 * paths (under --max-bitrate), then a complex one that uses all of it: the target had run above what the paths carry by up
 * to 1/0.85, and the complex scene meets them with that. The delay steps it
 * down within the budget, with no drop.
 */
static void test_short_then_full_encoder(void **state)
{
	struct run x;
	double before, after;
	int worst;

	(void)state;
	run_init(&x, &default_cfg, 4e6, 4e6);
	x.n.encoder_fill = 0.85;
	run_for(&x, 40000, 5000, &before, NULL);
	x.n.encoder_fill = 1.0;
	run_for(&x, 20000, 10000, &after, &worst);
	print_message(
		"85 %% then 100 %%: target %.2f Mbit/s before, %.2f after; worst delay %d ms, "
		"%d drops\n",
		before / 1e6, after / 1e6, worst, x.drops);
	assert_true(before <= 1.3 * (8e6 - OTHER_BPS) / 0.85);
	assert_true(worst < 1000);
	assert_int_equal(x.drops, 0);
}

/* A still picture (x264 at 30 % of its target) for 30 s: the target does not climb; then it does. */
static void test_still_then_moving(void **state)
{
	struct run x;
	double after;

	(void)state;
	run_init(&x, &default_cfg, 6e6, 6e6);
	x.n.encoder_fill = 0.3;
	run_for(&x, 30000, 0, NULL, NULL);
	print_message("30 %% encoder: target %.2f Mbit/s after 30 s\n",
		      (double)x.r.target_bps / 1e6);
	assert_true(x.r.target_bps <= default_cfg.start_bps);
	x.n.encoder_fill = 1.0;
	run_for(&x, 30000, 10000, &after, NULL);
	print_message("then moving: target %.2f Mbit/s\n", after / 1e6);
	assert_true(after >= 0.8 * (12e6 - OTHER_BPS));
	assert_int_equal(x.drops, 0);
}

/*
 * The start: 6 Mbit/s into paths that carry a tenth of their 7.6 Mbit/s at
 * first, growing over 2 s (TCP's slow start, the second subflow joining).
 * The backlog of those seconds is no measure of the paths: the rate eases,
 * it does not fall to what the first second carried.
 */
static void test_slow_start(void **state)
{
	struct rc_config cfg = default_cfg;
	struct run x;
	int64_t lowest = INT64_MAX;
	double mean;

	(void)state;
	cfg.start_bps = 6000000;
	run_init(&x, &cfg, 3.8e6, 3.8e6);
	x.n.slow_start_ticks = 20;
	for (int t = 0; t < 4000; t += TICK_MS) {
		step(&x);
		if (x.r.target_bps < lowest)
			lowest = x.r.target_bps;
	}
	run_for(&x, 20000, 10000, &mean, NULL);
	print_message("slow start: lowest %.2f Mbit/s in the first 4 s, then %.2f\n",
		      (double)lowest / 1e6, mean / 1e6);
	assert_true(lowest >= 4500000);
	assert_true(mean >= 0.85 * (7.6e6 - OTHER_BPS));
}

/* A path dies: within the rest in 2 s, the delay back under the budget in 3 s; and back. */
static void test_capacity_halves_and_returns(void **state)
{
	struct run x;
	double mean;
	int t_within, t_delay, t_back, worst;

	run_init(&x, &default_cfg, 3.8e6, 3.8e6);
	run_for(&x, 30000, 0, NULL, NULL);
	x.n.alive[0] = false;
	t_within = TIME_UNTIL(&x, 10000, x.r.target_bps + OTHER_BPS <= 3.8e6);
	print_message("halved: within the capacity after %d ms\n", t_within);
	assert_true(t_within >= 0 && t_within <= 2000);
	t_delay = TIME_UNTIL(&x, 10000, x.d.delay_ms < 1000);
	print_message("halved: delay under 1 s %d ms later\n", t_delay);
	assert_true(t_delay >= 0 && t_within + t_delay <= 3000);
	run_for(&x, 20000, 10000, &mean, NULL);
	print_message("halved: mean target %.2f Mbit/s\n", mean / 1e6);
	assert_true(mean >= 0.75 * (3.8e6 - OTHER_BPS));

	x.n.alive[0] = true;
	t_back = TIME_UNTIL(&x, 30000, x.r.target_bps >= 0.85 * (7.6e6 - OTHER_BPS));
	print_message("returned: 85 %% of the capacity after %d ms\n", t_back);
	assert_true(t_back >= 0 && t_back <= 4000);
	run_for(&x, 20000, 10000, &mean, &worst);
	print_message("returned: mean %.2f Mbit/s, worst delay %d ms\n", mean / 1e6, worst);
	assert_true(mean >= 0.85 * (7.6e6 - OTHER_BPS) && worst < 1000);
}

/*
 * The same, but the path comes back as a fresh subflow (mpstream replaces the
 * kernel's after its path answers again), and dies again briefly first.
 */
static void test_path_returns_as_new_subflow(void **state)
{
	struct run x;
	int t_back;

	run_init(&x, &default_cfg, 3.8e6, 3.8e6);
	run_for(&x, 30000, 0, NULL, NULL);
	x.n.alive[0] = false;
	run_for(&x, 13000, 0, NULL, NULL);
	/* Back for 1 s, gone again for 2 s. */
	x.n.alive[0] = true;
	run_for(&x, 1000, 0, NULL, NULL);
	x.n.alive[0] = false;
	run_for(&x, 2000, 0, NULL, NULL);
	assert_true(x.r.target_bps + OTHER_BPS <= 3.8e6);
	x.n.id[0] = 5;
	x.n.alive[0] = true;
	t_back = TIME_UNTIL(&x, 30000, x.r.target_bps >= 0.85 * (7.6e6 - OTHER_BPS));
	print_message("fresh subflow: 85 %% of the capacity after %d ms\n", t_back);
	assert_true(t_back >= 0 && t_back <= 4000);
}

/*
 * A path dies and for 1.5 s the other carries 30 % of its rate (the
 * receiver's window is full of data waiting for the dead path's, until the
 * kernel sends it again): that second is no measure of the living path.
 */
static void test_cut_with_head_of_line_blocking(void **state)
{
	struct run x;
	int64_t lowest = INT64_MAX;
	double steady = -1;

	run_init(&x, &default_cfg, 3.8e6, 3.8e6);
	run_for(&x, 30000, 0, NULL, NULL);
	x.n.alive[0] = false;
	x.n.hol_ticks = 15;
	for (int t = 0; t < 4000; t += TICK_MS) {
		step(&x);
		if (steady < 0 && strstr(x.d.why, "fell silent"))
			steady = x.r.drain_steady_bps;
		if (t >= 1000 && x.r.target_bps < lowest)
			lowest = x.r.target_bps;
	}
	print_message("head-of-line: stepped to %.2f Mbit/s (drained below it), %.2f at the "
		      "lowest, %.2f 4 s after the cut\n",
		      steady / 1e6, (double)lowest / 1e6, (double)x.r.target_bps / 1e6);
	/* 88 % of what the living path carried before the cut, not of its slow second. */
	assert_true(steady >= 0.75 * (3.8e6 - OTHER_BPS) && steady + OTHER_BPS <= 3.8e6);
	assert_true(x.r.target_bps + OTHER_BPS <= 3.8e6);
	assert_true(x.r.target_bps >= 0.75 * (3.8e6 - OTHER_BPS));
}

/* The main path dies, the other one was an idle backup: its trickle is no measure of it. */
static void test_backup_takes_over(void **state)
{
	struct run x;
	int64_t before;
	double mean;

	run_init(&x, &default_cfg, 3.8e6, 3.8e6);
	x.n.backup = true;
	run_for(&x, 30000, 0, NULL, NULL);
	before = x.r.target_bps;
	x.n.alive[0] = false;
	x.n.backup = false;
	run_for(&x, 2000, 0, NULL, NULL);
	print_message("backup: %.2f -> %.2f Mbit/s 2 s after the main path died\n",
		      (double)before / 1e6, (double)x.r.target_bps / 1e6);
	assert_true(x.r.target_bps >= (int64_t)(0.5 * (double)before));
	run_for(&x, 20000, 10000, &mean, NULL);
	print_message("backup: mean %.2f Mbit/s after\n", mean / 1e6);
	assert_true(mean >= 0.75 * (3.8e6 - OTHER_BPS));
}

/* The capacity drops from 4 to 1 Mbit/s on one path, nothing lost: the same goals. */
static void test_capacity_step(void **state)
{
	struct run x;
	int t_within, t_delay, worst = 0, drops;
	int64_t highest = 0;

	run_init(&x, &default_cfg, 3.8e6, 3.8e6);
	run_for(&x, 30000, 0, NULL, NULL);
	x.n.cap_bps[1] = 0.95e6;
	t_within = TIME_UNTIL(&x, 10000, x.r.target_bps + OTHER_BPS <= 4.75e6);
	t_delay = TIME_UNTIL(&x, 10000, x.d.delay_ms < 1000);
	print_message("step: within %d ms, delay under 1 s %d ms later\n", t_within, t_delay);
	assert_true(t_within >= 0 && t_within <= 2000);
	assert_true(t_delay >= 0 && t_within + t_delay <= 3000);
	/* And it stays there: no going back to the rate before once the backlog is gone. */
	drops = x.drops;
	for (int t = 0; t < 15000; t += TICK_MS) {
		step(&x);
		if (x.r.target_bps > highest)
			highest = x.r.target_bps;
		if (x.d.delay_ms > worst)
			worst = x.d.delay_ms;
	}
	print_message("step: then at most %.2f Mbit/s, worst delay %d ms, %d more drops\n",
		      (double)highest / 1e6, worst, x.drops - drops);
	assert_true(worst < 1000 && x.drops == drops);
	assert_true(highest + OTHER_BPS <= RC_PROBE_LIMIT * 4.75e6);
}

/*
 * Both paths lose capacity at once (7.6 to 3.45 Mbit/s): the windows before
 * the fall say the paths carry twice what they do. What they carry while
 * the backlog drains is measured: no drop, and no going back to the old rate.
 */
static void test_capacity_falls(void **state)
{
	struct run x;
	int worst = 0, t_drained = -1;

	run_init(&x, &default_cfg, 3.8e6, 3.8e6);
	run_for(&x, 30000, 0, NULL, NULL);
	x.n.cap_bps[0] = 2.5e6;
	x.n.cap_bps[1] = 0.95e6;
	for (int t = 0; t < 10000; t += TICK_MS) {
		step(&x);
		if (x.d.delay_ms > worst)
			worst = x.d.delay_ms;
		if (t_drained < 0 && t >= 1000 && x.d.mode != RC_DRAINING)
			t_drained = t;
	}
	print_message("fall: worst delay %d ms, drained after %d ms, then %.2f Mbit/s\n", worst,
		      t_drained, (double)x.r.target_bps / 1e6);
	assert_int_equal(x.drops, 0);
	assert_true(worst < 1000 && t_drained > 0);
	assert_true(x.r.target_bps + OTHER_BPS <= RC_PROBE_LIMIT * 3.45e6);
}

/* A path whose RTT floor is higher (another route), no loss of capacity: no collapse. */
static void test_rtt_jump(void **state)
{
	struct run x;
	int64_t before;
	double mean;

	run_init(&x, &default_cfg, 3.8e6, 3.8e6);
	run_for(&x, 30000, 0, NULL, NULL);
	before = x.r.target_bps;
	x.n.base_rtt_ms[0] = 180;
	run_for(&x, 25000, 10000, &mean, NULL);
	print_message("RTT jump: %.2f -> mean %.2f Mbit/s\n", (double)before / 1e6, mean / 1e6);
	assert_true(mean >= 0.8 * (double)before);
}

/* A queue spike over the budget: one drop, not one per tick. */
static void test_queue_spike(void **state)
{
	struct ratectl r;
	struct rc_decision d;
	struct rc_input in = {.t_ms = 0, .n_paths = 1, .paths = {{1, 20, 0}}};
	int drops = 0;

	rc_init(&r, &default_cfg);
	for (int t = 0; t < 5000; t += TICK_MS) {
		in.t_ms = t;
		in.paths[0].acked_bytes += 3000000 / 80; /* 3 Mbit/s */
		in.queue_ms = t >= 3000 && t < 3500 ? 1500 : 0;
		update(&r, &in, &d);
		drops += d.drop;
		if (d.drop)
			assert_non_null(strstr(d.why, "over the 1000 ms budget"));
	}
	assert_int_equal(drops, 1);
}

/* --copy: the rate cannot change; only drops. */
static void test_fixed(void **state)
{
	struct rc_config cfg = default_cfg;
	struct run x;

	cfg.fixed = true;
	cfg.start_bps = 5000000;
	run_init(&x, &cfg, 3.8e6, 3.8e6);
	run_for(&x, 10000, 0, NULL, NULL);
	x.n.alive[0] = false;
	run_for(&x, 20000, 0, NULL, NULL);
	assert_int_equal(x.r.target_bps, 5000000);
	assert_true(x.drops > 0);
}

/* Nothing acknowledged for 1.5 s (all paths stall): one guess down, no collapse. */
static void test_stall(void **state)
{
	struct run x;
	int64_t before;

	run_init(&x, &default_cfg, 3.8e6, 3.8e6);
	run_for(&x, 30000, 0, NULL, NULL);
	before = x.r.target_bps;
	x.n.alive[0] = x.n.alive[1] = false;
	run_for(&x, 1500, 0, NULL, NULL);
	print_message("stall: %.2f -> %.2f Mbit/s\n", (double)before / 1e6,
		      (double)x.r.target_bps / 1e6);
	assert_true(x.r.target_bps >= (int64_t)(0.6 * (double)before));
	x.n.alive[0] = x.n.alive[1] = true;
	run_for(&x, 1000, 0, NULL, NULL);
	assert_true(x.r.target_bps >= (int64_t)(0.4 * (double)before));
	assert_true(x.r.target_bps >= default_cfg.min_bps);
}

/* A still picture: x264 puts out far less than asked; the target must not climb regardless. */
static void test_still_picture(void **state)
{
	struct run x;

	run_init(&x, &default_cfg, 3.8e6, 3.8e6);
	x.n.encoder_max = 800000;
	run_for(&x, 30000, 0, NULL, NULL);
	print_message("still picture: target %.2f Mbit/s\n", (double)x.r.target_bps / 1e6);
	assert_true(x.r.target_bps <= default_cfg.start_bps);
}

/*
 * A cellular dip: two 7 Mbit/s paths fall to 2 Mbit/s each for 3 s and come
 * back. The rate steps down in the dip, and climbs back to most of the
 * paths within seconds: the rate it stepped down from was carried a moment
 * before.
 */
static void test_dip_and_back(void **state)
{
	const double usable = 14e6 - OTHER_BPS;
	struct run x;
	int64_t lowest = INT64_MAX;
	double mean;
	int t, worst;

	(void)state;
	run_init(&x, &default_cfg, 7e6, 7e6);
	x.n.encoder_fill = 0.95;
	run_for(&x, 30000, 0, NULL, NULL);
	x.n.cap_bps[0] = x.n.cap_bps[1] = 2e6;
	for (int e = 0; e < 3000; e += TICK_MS) {
		step(&x);
		if (x.r.target_bps < lowest)
			lowest = x.r.target_bps;
	}
	x.n.cap_bps[0] = x.n.cap_bps[1] = 7e6;
	t = TIME_UNTIL(&x, 30000, x.r.target_bps >= 0.7 * usable);
	run_for(&x, 20000, 20000, &mean, &worst);
	print_message("dip: down to %.2f Mbit/s, back at 70 %% of the paths %.1f s after they "
		      "are; then a mean of %.2f Mbit/s, worst delay %d ms\n",
		      (double)lowest / 1e6, t / 1000.0, mean / 1e6, worst);
	assert_true(lowest + OTHER_BPS <= 4e6);
	assert_true(t >= 0 && t <= 6000);
	assert_true(mean >= 0.8 * usable);
	assert_true(worst < 1000);
}

/*
 * A deep fall that stays (a cellular link degrades): two 3.8 Mbit/s paths to
 * 0.8 each. What they carried before (the ceiling's windows, each path's
 * best second fading 10 % a second) says nothing of them now: the climb
 * after the step down must not go back there. A jump to half of what the
 * paths carried lately was tried for the climb back after a hole (issue
 * 27) and overshot this to 3.6 Mbit/s with a drop: not kept.
 */
static void test_deep_fall_stays(void **state)
{
	const double usable = 1.6e6 - OTHER_BPS;
	struct run x;
	int64_t highest = 0;
	int worst;

	(void)state;
	run_init(&x, &default_cfg, 3.8e6, 3.8e6);
	x.n.encoder_fill = 0.95;
	run_for(&x, 30000, 0, NULL, NULL);
	x.n.cap_bps[0] = x.n.cap_bps[1] = 0.8e6;
	for (int e = 0; e < 3000; e += TICK_MS)
		step(&x);
	x.drops = 0; /* the fall's own are the drain's business (test_capacity_falls) */
	for (int e = 0; e < 20000; e += TICK_MS) {
		step(&x);
		if (x.r.target_bps > highest)
			highest = x.r.target_bps;
	}
	run_for(&x, 5000, 5000, NULL, &worst);
	print_message("deep fall to %.2f Mbit/s usable: highest after 3 s %.2f, drops after 3 s "
		      "%d, worst "
		      "delay at the end %d ms\n",
		      usable / 1e6, (double)highest / 1e6, x.drops, worst);
	assert_true((double)highest <= 1.6 * usable);
	assert_int_equal(x.drops, 0);
	assert_true(worst < 1000);
}

/* The bounds hold whatever happens. */
static void test_bounds(void **state)
{
	struct rc_config cfg = default_cfg;
	struct run x;

	cfg.min_bps = 1000000;
	cfg.max_bps = 3000000;
	run_init(&x, &cfg, 20e6, 20e6);
	run_for(&x, 30000, 0, NULL, NULL);
	assert_int_equal(x.r.target_bps, 3000000);
	x.n.cap_bps[0] = x.n.cap_bps[1] = 0.2e6;
	run_for(&x, 30000, 0, NULL, NULL);
	assert_int_equal(x.r.target_bps, 1000000);
}

/*
 * A trace recorded in the lab (tests/net/test_ratecontrol.sh, 0.1 s ticks): 6
 * Mbit/s over two 4 Mbit/s uplinks, uplink 0 blackholed at 10.0 s. Open loop:
 * the recorded queue came from another controller, so only the reaction is
 * checked: within what uplink 1 carries 2 s after the cut, never below the
 * floor, no collapse, and back up by the end.
 */
static void test_recorded_cut(void **state)
{
	FILE *f = fopen(TRACES_DIR "/cut-up0.csv", "r");
	struct rc_config cfg = default_cfg;
	struct rc_decision d;
	struct ratectl r;
	char line[512];
	int64_t at_12s = -1, min_after = INT64_MAX, last = 0;

	assert_non_null(f);
	cfg.start_bps = 6000000;
	rc_init(&r, &cfg);
	while (fgets(line, sizeof(line), f)) {
		struct rc_input in = {0};
		char *p = line, *end;

		if (line[0] == '#')
			continue;
		in.t_ms = strtoll(p, &end, 10);
		in.queue_ms = (int)strtol(end + 1, &end, 10);
		in.socket_bytes = (uint32_t)strtoul(end + 1, &end, 10);
		while (*end == ',' && in.n_paths < RC_MAX_PATHS) {
			struct rc_path *path = &in.paths[in.n_paths++];

			path->id = (uint32_t)strtoul(end + 1, &end, 10);
			path->rtt_ms = strtod(end + 1, &end);
			path->acked_bytes = strtoull(end + 1, &end, 10);
		}
		update(&r, &in, &d);
		assert_true(d.target_bps >= cfg.min_bps && d.target_bps <= cfg.max_bps);
		if (in.t_ms >= 12000 && at_12s < 0)
			at_12s = d.target_bps;
		if (in.t_ms >= 12000 && d.target_bps < min_after)
			min_after = d.target_bps;
		last = d.target_bps;
	}
	fclose(f);
	print_message(
		"recorded: %.2f Mbit/s 2 s after the cut, lowest after %.2f, at the end %.2f\n",
		(double)at_12s / 1e6, (double)min_after / 1e6, (double)last / 1e6);
	assert_true(at_12s > 0 && at_12s + OTHER_BPS <= 3800000);
	/* Draining dips, but not to the floor; and the rate comes back once drained. */
	assert_true(min_after >= 500000);
	assert_true(last >= 2000000);
}

/* One tick's input of one path: the connection's sequence and the path's acknowledgements. */
static struct rc_input seq_input(int64_t t, uint64_t written, uint64_t delivered, uint64_t sf_acked,
				 double rtt_ms)
{
	struct rc_input in = {.t_ms = t, .n_paths = 1};

	in.paths[0] = (struct rc_path){.id = 1, .rtt_ms = rtt_ms, .acked_bytes = sf_acked};
	in.written_seq = written;
	in.delivered_seq = delivered;
	in.socket_bytes = (uint32_t)(written - delivered);
	return in;
}

/* One tick of seq_input(). */
static void seq_tick(struct ratectl *r, int64_t t, uint64_t written, uint64_t delivered,
		     uint64_t sf_acked, double rtt_ms, struct rc_decision *d)
{
	struct rc_input in = seq_input(t, written, delivered, sf_acked, rtt_ms);

	update(r, &in, d);
}

/*
 * Two paths at 2 Mbit/s each; path 2's deep queue overflows and its
 * cumulative ACK stands still for 1.2 s (the round trip its resend takes)
 * while its SACKs say the receiver gets the rest: it has not fallen silent,
 * and the rate is not stepped down to what path 1 carries. When it delivers
 * nothing at all for as long, it has.
 */
static void test_sacks_not_silence(void **state)
{
	struct ratectl r;
	struct rc_decision d;

	(void)state;
	for (int dead = 0; dead < 2; dead++) {
		uint64_t acked[2] = {0, 0}, written = 5000, conn = 5000;
		uint32_t delivered = 0;
		bool silent = false;

		rc_init(&r, &default_cfg);
		for (int64_t t = 1000; t < 12000; t += TICK_MS) {
			bool hole = t >= 10000 && t < 11200;
			struct rc_input in = {.t_ms = t, .n_paths = 2};

			acked[0] += 25000;
			acked[1] += hole ? 0 : 25000;
			delivered += hole && dead ? 0 : 17;
			written += 50000;
			conn = hole ? conn + 25000 : written - 25000;
			in.paths[0] =
				(struct rc_path){.id = 1, .rtt_ms = 40, .acked_bytes = acked[0]};
			in.paths[1] = (struct rc_path){.id = 2,
						       .rtt_ms = 40,
						       .acked_bytes = acked[1],
						       .delivered = delivered};
			in.written_seq = written;
			in.delivered_seq = conn;
			in.socket_bytes = (uint32_t)(written - conn);
			update(&r, &in, &d);
			silent |= d.change < 0 && strstr(d.why, "fell silent");
		}
		print_message("path 2 without a cumulative ACK for 1.2 s, %s: %s\n",
			      dead ? "nothing delivered" : "SACKs arriving",
			      silent ? "fell silent" : "not silent");
		assert_int_equal(silent, dead);
	}
}

/*
 * The delay in the socket is the age of its oldest data, measured from the
 * data sequence: when a path dies, the living one keeps acknowledging on its
 * subflow but the connection's acknowledgement stands still until the dead
 * path's data is sent again (head-of-line blocking). Then the delay grows by
 * the time that passes, and falls at once when the hole is filled, whatever
 * the bytes in the socket and the paths' rate suggest.
 */
static void test_delay_measured(void **state)
{
	struct rc_config cfg = default_cfg;
	struct rc_decision d;
	struct ratectl r;
	uint64_t written = 5000, delivered = 5000, sf_acked = 0;
	int64_t t = 1000;
	int at_hole_end = 0;

	(void)state;
	cfg.max_latency_ms = 3000;
	rc_init(&r, &cfg);
	/* 3 s steady at 2 Mbit/s: 25 kB a tick, acknowledged a tick later. */
	for (int k = 0; k < 30; k++, t += TICK_MS) {
		written += 25000;
		delivered = written - 25000;
		sf_acked += 25000;
		seq_tick(&r, t, written, delivered, sf_acked, 20, &d);
		assert_true(d.delay_ms <= TICK_MS);
	}
	/* A hole: 1.5 s without a connection-level acknowledgement, 600 kB piling up. */
	for (int k = 0; k < 15; k++, t += TICK_MS) {
		written += 40000;
		sf_acked += 25000;
		seq_tick(&r, t, written, delivered, sf_acked, 40, &d);
		at_hole_end = d.delay_ms;
		assert_false(d.drop); /* 1.5 s is within the 3 s budget */
	}
	print_message("hole of 1.5 s: sender delay %d ms\n", at_hole_end);
	assert_in_range(at_hole_end, 1300, 1600);
	/* Filled: the delay is what is left. */
	delivered = written - 20000;
	seq_tick(&r, t, written + 20000, delivered, sf_acked, 20, &d);
	print_message("hole filled: sender delay %d ms\n", d.delay_ms);
	assert_true(d.delay_ms <= TICK_MS);
	/* Without the sequence: estimated from the bytes in the socket (600 kB, > 1 s). */
	rc_init(&r, &cfg);
	{
		struct rc_input in = {.t_ms = 1000, .socket_bytes = 600000};

		update(&r, &in, &d);
		assert_true(d.delay_ms > 1000);
	}
}

/*
 * The paths fall from 7.5 to 4.7 Mbit/s. The oldest data in the socket waits
 * on the slower path (the connection's acknowledgement stands still) while
 * mpstream's queue grows: the delay passes the budget 400 ms after a gentle
 * step, within the hold between two steps (seen in the lab: 598 to 1054 ms in
 * 300 ms). The drop comes with a step down; and once the data is through, the
 * drain ends at once (the queue is gone): what follows is what the paths
 * carried lately, not the rate the drain started from (seen in the lab: back
 * to 6.1 Mbit/s, a second drop).
 */
static void test_drop_ends_drain(void **state)
{
	struct rc_input in = {.n_paths = 1};
	struct rc_decision d;
	struct ratectl r;
	uint64_t acked = 0, written = 50000, delivered = 0;
	int queue_ms = 0, t_drop = -1;
	int64_t highest = 0;

	(void)state;
	rc_init(&r, &default_cfg);
	for (int t = 0; t < 40000; t += TICK_MS) {
		bool after = t >= 20000, held_up = after && t_drop < 0;
		double carried = after ? 4.7e6 : 7.5e6;

		acked += (uint64_t)(carried * TICK_MS / 8000);
		written += (uint64_t)(carried * TICK_MS / 8000);
		if (!held_up)
			delivered = written - 50000;
		in.t_ms = 1000 + t;
		in.paths[0] = (struct rc_path){.id = 1, .rtt_ms = 20, .acked_bytes = acked};
		in.delivered_seq = delivered;
		in.written_seq = written;
		in.socket_bytes = (uint32_t)(written - delivered);
		in.unsent_bytes = after ? 30000 : 0;
		if (held_up)
			queue_ms += 50;
		in.queue_ms = queue_ms;
		update(&r, &in, &d);
		if (d.drop) {
			/* A drop comes with a step down, whenever the last one was. */
			assert_int_equal(d.mode, RC_STEADY);
			assert_int_equal(d.change, -1);
			t_drop = t - 20000;
			queue_ms = 0;
		}
		if (t_drop >= 0 && d.target_bps > highest)
			highest = d.target_bps;
	}
	print_message("drop ends drain: dropped %d ms after the fall, then at most %.2f Mbit/s\n",
		      t_drop, (double)highest / 1e6);
	assert_true(t_drop >= 0);
	assert_true(highest + OTHER_BPS <= 4.7e6);
}

/*
 * Two paths, nothing waiting; the slow one's RTT 150 ms over its floor (its
 * queue more than half way to a step down): the rate holds. At 100 ms over,
 * it goes up.
 */
static int64_t rate_after_rise(double rise_ms)
{
	struct rc_input in = {.n_paths = 2};
	struct rc_decision d;
	struct ratectl r;

	rc_init(&r, &default_cfg);
	for (int t = 0; t < 20000; t += TICK_MS) {
		/* Each path carries half of what is sent, at once: nothing waits. */
		uint64_t half = (uint64_t)((double)(r.target_bps + OTHER_BPS) * TICK_MS / 16000);

		in.t_ms = 1000 + t;
		in.paths[0] = (struct rc_path){
			.id = 1, .rtt_ms = 20, .acked_bytes = in.paths[0].acked_bytes + half};
		in.paths[1] = (struct rc_path){.id = 2,
					       .rtt_ms = t < 300 ? 30 : 30 + rise_ms,
					       .acked_bytes = in.paths[1].acked_bytes + half};
		update(&r, &in, &d);
		assert_int_not_equal(d.change, -1);
	}
	return r.target_bps;
}

static void test_hold_band(void **state)
{
	int64_t held = rate_after_rise(150), up = rate_after_rise(100);

	(void)state;
	print_message("hold band: %.2f Mbit/s with the slow path 150 ms over its floor, "
		      "%.2f at 100 ms\n",
		      (double)held / 1e6, (double)up / 1e6);
	assert_true(held == default_cfg.start_bps);
	assert_true(up > 2 * default_cfg.start_bps);
}

/*
 * The automatic budget (--max-latency auto): a path's RTT swings from 40 ms
 * to a second (a cellular uplink's queue in a dip of its capacity). The
 * budget follows it, to twice that; a delay of 1.5 s then is no drop, where
 * the fixed budget drops. A minute later, the swing gone, it is back at its
 * least.
 */
static int budget_run(bool automatic, int *drops, int *raised_ms, int64_t *lowered_at)
{
	struct rc_config cfg = default_cfg;
	struct rc_input in = {.n_paths = 1, .paths = {{1, 40, 0}}};
	struct rc_decision d;
	struct ratectl r;

	cfg.auto_budget = automatic;
	rc_init(&r, &cfg);
	*drops = 0;
	*raised_ms = 0;
	*lowered_at = -1;
	for (int64_t t = 0; t < 100000; t += TICK_MS) {
		in.t_ms = t;
		in.paths[0].acked_bytes += 3000000 / 80; /* 3 Mbit/s: more than the stream */
		in.paths[0].rtt_ms = t >= 10000 && t < 12000 ? 40 + (double)(t - 10000) / 2 : 40;
		/* A second swing later: 1.5 s of delay in the queue. */
		in.queue_ms = t >= 20000 && t < 21000 ? 1500 : 0;
		update(&r, &in, &d);
		*drops += d.drop;
		if (d.budget_change > 0) {
			*raised_ms = d.budget_ms;
			assert_non_null(strstr(d.budget_why, "RTT reached"));
		}
		if (d.budget_change < 0 && *lowered_at < 0)
			*lowered_at = t;
		assert_int_equal(d.budget_ms, r.budget_ms);
	}
	return r.budget_ms;
}

static void test_auto_budget(void **state)
{
	int drops, raised, end;
	int64_t lowered;

	(void)state;
	end = budget_run(true, &drops, &raised, &lowered);
	print_message("auto: raised to %d ms, %d drops, lowered at %.1f s to %d ms\n", raised,
		      drops, (double)lowered / 1000, end);
	/* The RTT reached 990 ms: twice that, rounded up, is over the 1.5 s delay. */
	assert_int_equal(raised, 2000);
	assert_int_equal(drops, 0);
	/* The peak of 10-12 s leaves the slots after a minute. */
	assert_in_range(lowered, 70000, 82000);
	assert_int_equal(end, 1000);

	end = budget_run(false, &drops, &raised, &lowered);
	print_message("fixed: %d drops, budget %d ms\n", drops, end);
	assert_int_equal(raised, 0);
	assert_int_equal(lowered, -1);
	assert_int_equal(drops, 1);
	assert_int_equal(end, 1000);
}

/*
 * A path's queue swings faster than its RTT says (the RTT is measured a round
 * trip late): the connection's acknowledgement stands still for 1.6 s while
 * the paths still report 40 ms. With the automatic budget the delay, held in
 * the paths, raises the budget to cover it (no drop); with a fixed one, the
 * queue is dropped. A delay in mpstream's own queue never raises it.
 */
static int held_run(bool automatic, int queue_ms, int *budget, char *why, size_t size)
{
	struct rc_config cfg = default_cfg;
	struct rc_decision d;
	struct ratectl r;
	uint64_t written = 5000, delivered = 5000, sf_acked = 0;
	int drops = 0;

	cfg.auto_budget = automatic;
	rc_init(&r, &cfg);
	why[0] = '\0';
	for (int64_t t = 1000, k = 0; k < 70; k++, t += TICK_MS) {
		struct rc_input in;

		written += 25000;
		sf_acked += 25000;
		/* From 4 s on, 1.6 s without a connection-level acknowledgement. */
		if (k < 30 || k >= 46)
			delivered = written - 25000;
		in = seq_input(t, written, delivered, sf_acked, 40);
		in.queue_ms = k >= 30 && k < 46 ? queue_ms : 0;
		update(&r, &in, &d);
		drops += d.drop;
		if (d.budget_change > 0)
			snprintf(why, size, "%s", d.budget_why);
	}
	*budget = r.budget_ms;
	return drops;
}

static void test_auto_budget_held(void **state)
{
	char why[96];
	int budget, drops;

	(void)state;
	drops = held_run(true, 200, &budget, why, sizeof(why));
	print_message("auto, held in the paths: %d drops, budget %d ms (%s)\n", drops, budget, why);
	assert_int_equal(drops, 0);
	assert_in_range(budget, 2000, RC_BUDGET_MAX_MS);
	assert_non_null(strstr(why, "the paths held data"));

	drops = held_run(false, 200, &budget, why, sizeof(why));
	print_message("fixed: %d drops, budget %d ms\n", drops, budget);
	assert_true(drops >= 1);
	assert_int_equal(budget, 1000);

	/* In mpstream's own queue (no hole): dropped, the budget stays. */
	{
		struct rc_config cfg = default_cfg;
		struct rc_input in = {.n_paths = 1, .paths = {{1, 40, 0}}};
		struct rc_decision d;
		struct ratectl r;

		drops = 0;
		cfg.auto_budget = true;
		rc_init(&r, &cfg);
		for (int64_t t = 0; t < 6000; t += TICK_MS) {
			in.t_ms = t;
			in.paths[0].acked_bytes += 25000;
			in.queue_ms = t >= 4000 && t < 5000 ? 1500 : 0;
			update(&r, &in, &d);
			drops += d.drop;
		}
		assert_int_equal(drops, 1);
		assert_int_equal(r.budget_ms, 1000);
	}
}

/*
 * Open loop, up to three subflows: each acknowledges @per_tick bytes a tick
 * (0: none, it never carries) while listed, the connection's data is
 * acknowledged a tick after it is written unless held (a hold in the paths,
 * or every path stalled).
 */
struct sim {
	struct ratectl r;
	struct rc_decision d;
	struct sim_path {
		uint32_t id, uplink;
		double rtt_ms;
		uint64_t per_tick, acked;
		bool listed;
	} p[3];
	bool stalled; /* no path acknowledges */
	bool held;    /* the paths acknowledge, the connection's data does not move */
	uint64_t written, delivered;
	int64_t t;
	int lowest; /* the lowest budget since sim_lowest() */
	char why[96];
};

/* Subflows 1 and 2 on uplinks 10 and 20, 20 kB a tick each, 40 ms. */
static void sim_init(struct sim *s)
{
	struct rc_config cfg = default_cfg;

	memset(s, 0, sizeof(*s));
	cfg.auto_budget = true;
	rc_init(&s->r, &cfg);
	s->p[0] = (struct sim_path){
		.id = 1, .uplink = 10, .rtt_ms = 40, .per_tick = 20000, .listed = true};
	s->p[1] = (struct sim_path){
		.id = 2, .uplink = 20, .rtt_ms = 40, .per_tick = 20000, .listed = true};
	s->written = s->delivered = 5000;
	s->t = 1000;
	s->lowest = INT32_MAX;
}

/* Run for @ms; the lowest budget and the last reason it came down for are kept. */
static void sim_run(struct sim *s, int ms)
{
	for (int e = 0; e < ms; e += TICK_MS, s->t += TICK_MS) {
		struct rc_input in = {.t_ms = s->t};

		s->written += 25000;
		if (!s->stalled && !s->held)
			s->delivered = s->written - 25000;
		for (size_t i = 0; i < 3; i++) {
			if (!s->p[i].listed)
				continue;
			if (!s->stalled)
				s->p[i].acked += s->p[i].per_tick;
			in.paths[in.n_paths++] = (struct rc_path){.id = s->p[i].id,
								  .uplink = s->p[i].uplink,
								  .rtt_ms = s->p[i].rtt_ms,
								  .acked_bytes = s->p[i].acked};
		}
		in.written_seq = s->written;
		in.delivered_seq = s->delivered;
		in.socket_bytes = (uint32_t)(s->written - s->delivered);
		in.queue_ms = s->held ? 200 : 0;
		update(&s->r, &in, &s->d);
		assert_false(s->d.drop);
		if (s->r.budget_ms < s->lowest)
			s->lowest = s->r.budget_ms;
		if (s->d.budget_change < 0)
			snprintf(s->why, sizeof(s->why), "%s", s->d.budget_why);
	}
}

static int sim_lowest(struct sim *s, int ms)
{
	s->lowest = INT32_MAX;
	sim_run(s, ms);
	return s->lowest;
}

/* Uplink 20's RTT swings to 700 ms for 10 s, and is back at 40 ms for 5 s: the budget it raised. */
static int sim_swing(struct sim *s)
{
	sim_init(s);
	sim_run(s, 5000);
	s->p[1].rtt_ms = 700;
	sim_run(s, 10000);
	s->p[1].rtt_ms = 40;
	sim_run(s, 5000);
	return s->r.budget_ms;
}

/*
 * A hold on two paths, path 2's RTT 260 ms over its floor while the
 * connection's acknowledgement stands still: the budget covers it, as
 * uplink 20's peak (its queue held the data). Not path 1's, whose RTT is
 * higher (450 ms) but only 50 ms over its floor; not a third subflow's,
 * whose RTT rises the most but which never carries (a backup, a fresh one).
 * @dies: the subflow that dies 4 s later; returns the lowest budget in the
 * 10 s after, and the budget raised in @raised.
 */
static int held_then(int dies, int *raised, char *why, size_t size)
{
	struct sim s;

	sim_init(&s);
	s.p[0].rtt_ms = 400;
	s.p[2] = (struct sim_path){.id = 3, .uplink = 30, .rtt_ms = 40, .listed = true};
	sim_run(&s, 2800);
	s.p[0].rtt_ms = 450;
	s.p[1].rtt_ms = 300;
	s.p[2].rtt_ms = 900;
	sim_run(&s, 200);
	s.held = true;
	sim_run(&s, 1600);
	s.held = false;
	s.p[0].rtt_ms = 400;
	s.p[1].rtt_ms = s.p[2].rtt_ms = 40;
	*raised = s.r.budget_ms;
	sim_run(&s, 4000);
	s.p[dies].per_tick = 0;
	sim_lowest(&s, 10000);
	snprintf(why, size, "%s", s.why);
	return s.lowest;
}

static void test_held_then_death(void **state)
{
	char why[96];
	int raised, lowest;

	(void)state;
	lowest = held_then(0, &raised, why, sizeof(why));
	print_message("held in uplink 20's queue, then uplink 10 dies: budget raised to %d ms, at "
		      "least %d ms in the 10 s after\n",
		      raised, lowest);
	assert_in_range(raised, 2000, RC_BUDGET_MAX_MS);
	assert_int_equal(lowest, raised);
	lowest = held_then(1, &raised, why, sizeof(why));
	print_message("... uplink 20 dies: budget %d ms, down to %d ms (%s)\n", raised, lowest,
		      why);
	assert_int_equal(lowest, default_cfg.max_latency_ms);
	assert_non_null(strstr(why, "a path died"));
}

/*
 * The swinging uplink dies (its subflow released 1.5 s later), and a fresh
 * subflow on it joins at @join_ms after the death: it carries from
 * @carries_ms on (-1: never). Returns the lowest budget in the 15 s after
 * the death, the one before in @before.
 */
static int fresh_after_death(struct sim *s, int join_ms, int carries_ms, int *before)
{
	*before = sim_swing(s);
	s->lowest = INT32_MAX;
	s->p[1].per_tick = 0;
	for (int t = 0; t < 15000; t += TICK_MS) {
		if (t == 1500)
			s->p[1].listed = false;
		if (t == join_ms)
			s->p[2] = (struct sim_path){
				.id = 9, .uplink = 20, .rtt_ms = 40, .listed = true};
		if (t == carries_ms)
			s->p[2].per_tick = 20000;
		sim_run(s, TICK_MS);
	}
	return s->lowest;
}

/*
 * A fresh subflow on the dead uplink that never carries (it joined, nothing
 * goes through it), from just before the 3 s that forget a death: the
 * uplink is dead all the same, its peaks are forgotten (once the fresh one
 * has had as long). One that carries from 3.3 s on (a kick: the old
 * subflow released, the new one's join and first data a second or two
 * later) is the uplink living on: they stay.
 */
static void test_dead_uplink_fresh_subflow(void **state)
{
	struct sim s;
	int before, lowest;

	(void)state;
	lowest = fresh_after_death(&s, 2700, -1, &before);
	print_message("the swinging uplink dies, a fresh subflow on it never carries: budget %d -> "
		      "%d ms (%s)\n",
		      before, lowest, s.why);
	assert_true(before >= 1500);
	assert_int_equal(lowest, default_cfg.max_latency_ms);
	assert_non_null(strstr(s.why, "a path died"));
	lowest = fresh_after_death(&s, 2500, 3300, &before);
	print_message("... a fresh one that carries from 3.3 s: at least %d ms\n", lowest);
	assert_int_equal(lowest, before);
}

/*
 * The swinging uplink dies, and its address goes: the subflow, still listed
 * for a while, is no longer named after it (the key would be its own). Its
 * peaks are the uplink's it was first named after, and are forgotten.
 */
static void test_dead_uplink_unnamed(void **state)
{
	struct sim s;
	int before = sim_swing(&s);

	(void)state;
	s.p[1].per_tick = 0;
	sim_run(&s, 200);
	s.p[1].uplink = 99; /* its address's key */
	sim_lowest(&s, 10000);
	print_message("the swinging uplink dies and is no longer named: budget %d -> %d ms (%s)\n",
		      before, s.lowest, s.why);
	assert_true(before >= 1500);
	assert_int_equal(s.lowest, default_cfg.max_latency_ms);
}

/*
 * Every path stalls at once for 4 s (the server stopped reading), then all
 * acknowledge again; or the stall ends in a new connection on the same
 * uplinks. The swinging uplink's subflow is a fresh one, a second old (one
 * that lived that briefly is marked silent at once). No uplink died: the
 * swing's peaks stay.
 */
static void test_stall_keeps_peaks(void **state)
{
	struct sim s;
	int before = sim_swing(&s), lowest[2];

	(void)state;
	s.p[1].id = 7;
	s.p[1].acked = 0;
	sim_run(&s, 1000);
	s.stalled = true;
	sim_run(&s, 3200);
	/* A subflow that joins in the stall and carries nothing is no sign of life. */
	s.p[2] = (struct sim_path){.id = 8, .uplink = 30, .rtt_ms = 40, .listed = true};
	sim_run(&s, 800);
	s.stalled = false;
	lowest[0] = sim_lowest(&s, 5000);
	before = s.r.budget_ms < before ? before : s.r.budget_ms;
	s.stalled = true;
	sim_run(&s, 1000);
	rc_new_connection(&s.r);
	s.stalled = false;
	s.p[0].id = 11;
	s.p[1].id = 12;
	s.p[0].acked = s.p[1].acked = 0;
	lowest[1] = sim_lowest(&s, 5000);
	print_message("every path stalls 4 s, then a reconnection after a stall: budget %d ms, at "
		      "least %d and %d ms after\n",
		      before, lowest[0], lowest[1]);
	assert_true(before >= 1500);
	assert_true(lowest[0] >= 1500);
	assert_true(lowest[1] >= 1500);
}

/*
 * The swinging uplink dies, and the connection is made again 1.5 s later,
 * before the 3 s that forget a death: its peaks are forgotten then, and the
 * log says a death brought the budget down. With @fresh, a fresh subflow
 * of that uplink is listed from 1 s on and has not carried: a reconnection
 * decides at once, it is no sign of life.
 */
static void death_then_reconnect(bool fresh)
{
	struct sim s;
	int before = sim_swing(&s);

	s.p[1].per_tick = 0;
	sim_run(&s, 1000);
	if (fresh)
		s.p[2] = (struct sim_path){.id = 9, .uplink = 20, .rtt_ms = 40, .listed = true};
	sim_run(&s, 500);
	rc_new_connection(&s.r);
	s.p[0].id = 11;
	s.p[0].acked = 0;
	s.p[1].listed = false;
	sim_lowest(&s, 10000);
	print_message("the swinging uplink dies, a reconnection 1.5 s later%s: budget %d -> %d ms "
		      "(%s)\n",
		      fresh ? " (a fresh subflow on it)" : "", before, s.lowest, s.why);
	assert_true(before >= 1500);
	assert_int_equal(s.lowest, default_cfg.max_latency_ms);
	assert_non_null(strstr(s.why, "a path died"));
}

static void test_death_then_reconnect(void **state)
{
	(void)state;
	death_then_reconnect(false);
	death_then_reconnect(true);
}

/*
 * The recorded links in the model, 30 s of them with the automatic budget: a
 * 2.5 Mbit/s path, and a 4 Mbit/s one whose RTT of 700 ms (a cellular queue in
 * a dip) raised the budget; 150 ms drop-tail queues. @fill: the encoder's
 * share of its target (0: all of it, at once).
 */
static void swinging_run(struct run *x, double fill)
{
	struct rc_config cfg = default_cfg;

	cfg.auto_budget = true;
	run_init(x, &cfg, 2.5e6, 4e6);
	x->n.base_rtt_ms[1] = 700;
	x->n.path_queue_ms = 150;
	x->n.encoder_fill = fill;
	run_for(x, 30000, 0, NULL, NULL);
}

/*
 * The recorded links' cut: a slow path whose RTT (700 ms: a cellular queue
 * in a dip) raised the automatic budget dies, and a lone 2.5 Mbit/s path is
 * left, with an encoder at 95 % of its target whose measure lags a second.
 * The budget was the dead path's: it comes back down within 10 s (kept, it
 * stayed for the minute its peak counts, and on the recorded links let the
 * delay creep past 1 s before the rate stepped down). The climb after the
 * cut stops within the probe's bound: bounded by what the encoder had put
 * out a second before, it went 20 % past the path (2.99 Mbit/s on the wire).
 */
static void test_swinging_path_dies(void **state)
{
	struct run x;
	int raised, worst, lowered_after = -1;
	int64_t highest = 0;
	double mean;

	(void)state;
	swinging_run(&x, 0.95);
	raised = x.r.budget_ms;
	x.n.alive[1] = false;
	for (int t = 0; t < 30000; t += TICK_MS) {
		step(&x);
		if (t >= 10000 && x.d.target_bps > highest)
			highest = x.d.target_bps;
		if (lowered_after < 0 && x.r.budget_ms <= default_cfg.max_latency_ms) {
			lowered_after = t;
			assert_non_null(
				strstr(x.d.budget_why, "a path died; the paths left peaked at"));
		}
	}
	run_for(&x, 30000, 30000, &mean, &worst);
	print_message("swinging path dies: budget %d ms before, %d ms %.1f s after; from 10 s "
		      "on, highest target %.2f Mbit/s (%.2f on the wire); from 30 s on, mean "
		      "target %.2f Mbit/s of %.2f, worst delay %d ms, %d drops\n",
		      raised, x.r.budget_ms, lowered_after / 1000.0, (double)highest / 1e6,
		      (0.95 * (double)highest + OTHER_BPS) / 1e6, mean / 1e6,
		      (2.5e6 - OTHER_BPS) / 0.95 / 1e6, worst, x.drops);
	assert_true(raised >= 1500);
	assert_in_range(lowered_after, 0, 10000);
	/* Within the probe's 15 % over what the path carried, with a little room. */
	assert_true(0.95 * (double)highest + OTHER_BPS <= 1.17 * 2.5e6);
	assert_true(worst < 500);
	assert_true(0.95 * mean >= 0.75 * (2.5e6 - OTHER_BPS));
	assert_int_equal(x.drops, 0);
}

/*
 * Run for @ms: the lowest budget in force, and when it first came down (-1:
 * never) and why (@why, @size).
 */
static int lowest_budget(struct run *x, int ms, int64_t *lowered, char *why, size_t size)
{
	int lowest = INT32_MAX;

	*lowered = -1;
	for (int t = 0; t < ms; t += TICK_MS) {
		step(x);
		if (x->r.budget_ms < lowest)
			lowest = x->r.budget_ms;
		if (*lowered < 0 && x->d.budget_change < 0) {
			*lowered = t;
			snprintf(why, size, "%s", x->d.budget_why);
		}
	}
	return lowest;
}

/* swinging_run(), then the swing is over (the peak stays for the slots' span): the budget then. */
static int swing_over(struct run *x)
{
	swinging_run(x, 0);
	x->n.base_rtt_ms[1] = 30;
	return x->r.budget_ms;
}

/*
 * The path that swung lives on, the other dies: the swing is still the
 * living path's to make, and the budget keeps covering it until its peak is
 * older than the slots reach. On three recorded uplinks, AT&T's death took
 * T-Mobile's peaks with it (the budget from 3500 to 1000 ms), and
 * T-Mobile's next fall 0.7 s later dropped 4 frames.
 */
static void test_death_keeps_living_swing(void **state)
{
	struct run x;
	int before, lowest;
	int64_t lowered;
	char why[96] = "";

	(void)state;
	before = swing_over(&x);
	run_for(&x, 5000, 0, NULL, NULL);
	x.n.alive[0] = false;
	lowest = lowest_budget(&x, 30000, &lowered, why, sizeof(why));
	print_message("the steady path dies, the swinging one lives: budget %d ms before, at "
		      "least %d ms in the 30 s after, %d drops\n",
		      before, lowest, x.drops);
	assert_true(before >= 1500);
	assert_int_equal(lowest, before);
	assert_int_equal(x.drops, 0);
	/* The peak of 10-30 s into the run leaves the slots about a minute later. */
	lowest_budget(&x, 60000, &lowered, why, sizeof(why));
	print_message("... lowered %.1f s later (%s)\n", (double)lowered / 1000, why);
	assert_in_range(lowered, 0, 60000);
	assert_non_null(strstr(why, "the paths' peaks (RTT, or a hold) stayed under"));
	assert_int_equal(x.r.budget_ms, default_cfg.max_latency_ms);
}

/*
 * The peaks are the uplink's, not its subflow's: the swinging uplink's
 * subflow is replaced by a fresh one (a kick, a release and a rejoin), then
 * the connection is made again (new subflows on the same uplinks), then the
 * other uplink dies. The swing is the uplink's all along: the budget stays.
 */
static void test_uplink_keeps_its_peaks(void **state)
{
	struct run x;
	int before, lowest[3];
	int64_t lowered;
	char why[96] = "";

	(void)state;
	before = swing_over(&x);
	x.n.id[1] = 7;
	lowest[0] = lowest_budget(&x, 6000, &lowered, why, sizeof(why));
	rc_new_connection(&x.r);
	x.n.id[0] = 11;
	x.n.id[1] = 12;
	lowest[1] = lowest_budget(&x, 5000, &lowered, why, sizeof(why));
	x.n.alive[0] = false;
	lowest[2] = lowest_budget(&x, 10000, &lowered, why, sizeof(why));
	print_message("the swinging uplink's subflow replaced, the connection made again, the "
		      "other uplink dead: budget %d ms before, at least %d, %d, %d ms after each\n",
		      before, lowest[0], lowest[1], lowest[2]);
	assert_true(before >= 1500);
	for (int k = 0; k < 3; k++)
		assert_int_equal(lowest[k], before);
}

/*
 * A path dies under a full stream, and the living one carries 30 % for
 * @hol_ticks (15: 1.5 s) while the dead one's data waits to be resent
 * (head-of-line blocking): the delay passes the second's budget. That is no
 * excess of mpstream's, and it passes: the automatic budget covers it (no
 * drop; the fixed one drops) and comes back down once the delay has, not a
 * minute later.
 */
static int death_run(bool automatic, int hol_ticks, int *raised, char *why, size_t size,
		     int *back_ms, char *back_why)
{
	struct rc_config cfg = default_cfg;
	struct run x;

	cfg.auto_budget = automatic;
	run_init(&x, &cfg, 3.8e6, 3.8e6);
	x.n.path_queue_ms = 150;
	run_for(&x, 30000, 0, NULL, NULL);
	x.n.alive[0] = false;
	x.n.hol_ticks = hol_ticks;
	*raised = 0;
	*back_ms = -1;
	why[0] = '\0';
	for (int t = 0; t < 20000; t += TICK_MS) {
		step(&x);
		if (x.d.budget_change > 0) {
			*raised = x.d.budget_ms;
			snprintf(why, size, "%s", x.d.budget_why);
		}
		if (*raised && *back_ms < 0 && x.r.budget_ms == cfg.max_latency_ms) {
			*back_ms = t;
			snprintf(back_why, size, "%s", x.d.budget_why);
		}
	}
	return x.drops;
}

/*
 * A death whose living path is held at 30 % for @hol_ticks, at the automatic
 * budget: covered (no drop), the budget raised to @at_least or more for a
 * path's silence, and back at 1000 ms within 15 s.
 */
static void assert_death_covered(int hol_ticks, int at_least)
{
	char why[96], back_why[96] = "";
	int drops, raised, back;

	drops = death_run(true, hol_ticks, &raised, why, sizeof(why), &back, back_why);
	print_message("death, %.1f s held up, auto: %d drops, budget raised to %d ms (%s), back "
		      "at 1000 ms %.1f s after the death (%s)\n",
		      hol_ticks * TICK_MS / 1000.0, drops, raised, why, back / 1000.0, back_why);
	assert_int_equal(drops, 0);
	assert_in_range(raised, at_least, RC_BUDGET_MAX_MS);
	assert_non_null(strstr(why, "a path fell silent"));
	assert_in_range(back, 0, 15000);
	assert_non_null(strstr(back_why, "the dead path's data was resent"));
}

static void test_death_over_budget(void **state)
{
	char why[96], back_why[96];
	int drops, raised, back;

	(void)state;
	assert_death_covered(15, 1250);
	drops = death_run(false, 15, &raised, why, sizeof(why), &back, back_why);
	print_message("death, fixed: %d drops\n", drops);
	assert_true(drops >= 1);
	assert_int_equal(raised, 0);
}

/*
 * Two deaths in turn on one uplink, 2.8 s apart (it comes back 0.5 s after
 * the first and carries in between), holding the living path at 30 % for
 * 1.5 and 2 s: the first's delay is covered, and the cover may not open
 * again for 4 s. Lowered once the first's data was resent, the budget met
 * the second's delay (a drop 1.5 s after it; on three recorded uplinks, 20
 * frames when T-Mobile fell silent 2.9 s after AT&T): it stays until the
 * cover may open again.
 */
static void test_second_death_soon(void **state)
{
	struct rc_config cfg = default_cfg;
	struct run x;
	int lowest_after = INT32_MAX;

	(void)state;
	cfg.auto_budget = true;
	run_init(&x, &cfg, 3.8e6, 3.8e6);
	x.n.path_queue_ms = 150;
	run_for(&x, 30000, 0, NULL, NULL);
	for (int t = 0; t < 10000; t += TICK_MS) {
		if (t == 0 || t == 2800) {
			x.n.alive[0] = false;
			x.n.hol_ticks = t ? 20 : 15;
		}
		if (t == 500)
			x.n.alive[0] = true;
		step(&x);
		if (t >= 2800 && t < 4000 && x.r.budget_ms < lowest_after)
			lowest_after = x.r.budget_ms;
	}
	print_message("two deaths 2.8 s apart: budget at least %d ms at the second, %d drops\n",
		      lowest_after, x.drops);
	assert_true(lowest_after > cfg.max_latency_ms);
	assert_int_equal(x.drops, 0);
}

/*
 * The same death with the living path at 30 % for 3 s: a stand-in for three
 * recorded cellular uplinks, where AT&T's fall in a T-Mobile hole took the
 * capacity to 2.5 Mbit/s for 1.5 s (4 to 5 before) and the delay past 3 s,
 * most of it in the paths (here 1.4 s waits in the socket and the rest in
 * mpstream's queue). The delay reaches about 3 s: a budget capped at 3 s
 * drops, RC_BUDGET_MAX_MS covers it (3750 ms). Longer hold-ups (3.5 s and
 * more) drop anyway: the death's cover lasts RC_DOWN_AGAIN_MS.
 */
static void test_long_death_over_budget(void **state)
{
	(void)state;
	assert_death_covered(30, 3250);
}

/*
 * A path dies at the lab's links' full rate: two paths of 3.75 Mbit/s, 40 ms,
 * whose queues fill in the last second before (the top of a climb: they
 * carry 4 Mbit/s of the 7 sent). For the 300 ms until it is released the
 * living path is held up too (30 %: head-of-line blocking), then it carries
 * @living_bps of what waits in the socket (at most 221 kB: the in-flight cap
 * holds the rest in mpstream's queue). x264's output follows the step down
 * within half a second, so mpstream's own queue holds most of the delay
 * (the bench's "cut" at 6 Mbit/s: 0.8 s of a 1.2 s delay a second after the
 * death, 35 to 39 frames dropped). @follows: the encoder follows the rate
 * (else it keeps putting out 4.4 Mbit/s). Fills *@q.
 */
struct death_queue {
	int drops, raises, worst, back;
	double clears;	 /* the cover's "goes out within" (ms); 0: no such cover */
	double sends_ms; /* ... the longest wait of what waited then, at the living path's rate */
	int budget;	 /* ... the budget it raised */
	char why[128];	 /* the last raise's reason */
};

static void death_queue_run(bool follows, double living_bps, struct death_queue *q)
{
	struct rc_config cfg = default_cfg;
	struct ratectl r;
	struct rc_decision d = {0};
	struct rc_input in = {.n_paths = 2, .paths = {{1, 10, 40, 0}, {2, 20, 40, 0}}};
	double enc = 7e6, sock = 0, queue = 0, written = 0, delivered = 0, carry_avg = 7e6;
	cfg.auto_budget = true;
	cfg.start_bps = 8000000;
	rc_init(&r, &cfg);
	memset(q, 0, sizeof(*q));
	q->back = -1;
	for (int t = 0; t < 30000; t += TICK_MS) {
		double cap = t < 19000	 ? 7.5e6
			     : t < 20000 ? 4.0e6
			     : t < 20300 ? 0.3 * living_bps
					 : living_bps;
		double carried, moved;

		in.t_ms = t;
		if (t == 20300) { /* released: gone from the input */
			in.paths[0] = in.paths[1];
			in.n_paths = 1;
		}
		/* x264 follows the target within half a second. */
		if (follows || t < 20000)
			enc += ((double)r.target_bps + OTHER_BPS - enc) * TICK_MS / 500;
		else
			enc = 4.4e6;
		queue += enc * TICK_MS / 8000;
		moved = queue < 221000 - sock ? queue : 221000 - sock;
		queue -= moved;
		sock += moved;
		written += moved;
		carried = cap * TICK_MS / 8000 < sock ? cap * TICK_MS / 8000 : sock;
		sock -= carried;
		delivered += carried;
		for (size_t i = 0; i < in.n_paths; i++) {
			in.paths[i].acked_bytes += (uint64_t)(carried / (double)in.n_paths);
			in.paths[i].rtt_ms =
				40 + (sock * 2000.0 / cap < 150 ? sock * 2000.0 / cap : 150);
		}
		carry_avg += 0.2 * (enc - carry_avg);
		in.socket_bytes = (uint32_t)sock;
		in.unsent_bytes = sock > 40000 ? (uint32_t)sock - 40000 : 0;
		in.written_seq = (uint64_t)written;
		in.delivered_seq = (uint64_t)delivered;
		in.held = queue > 0;
		in.queue_ms = (int)(8000.0 * queue / carry_avg);
		in.encoder_bps = enc - OTHER_BPS;
		update(&r, &in, &d);
		if (t >= 20000 && d.delay_ms > q->worst)
			q->worst = d.delay_ms;
		if (d.drop) {
			queue = 0; /* up to a keyframe */
			q->drops += t >= 20000;
		}
		if (t >= 20000 && d.budget_change > 0) {
			q->raises++;
			snprintf(q->why, sizeof(q->why), "%d ms: %s", d.budget_ms, d.budget_why);
			if (sscanf(d.budget_why,
				   "a path fell silent, what waits goes out on the others within "
				   "%lf ms",
				   &q->clears) == 1) {
				/* The last frame queued waits for all; the oldest, for the socket. */
				q->sends_ms = fmax(8000.0 * (sock + queue) / living_bps,
						   in.queue_ms + 8000.0 * sock / living_bps);
				q->budget = d.budget_ms;
			}
		}
		if (t >= 20000 && q->raises && q->back < 0 && r.budget_ms == cfg.max_latency_ms)
			q->back = t - 20000;
	}
}

static void test_death_backlog_in_queue(void **state)
{
	struct death_queue q;

	(void)state;
	death_queue_run(true, 3.75e6, &q);
	print_message(
		"death at full rate, the backlog in mpstream's queue: %d drops, worst delay %d "
		"ms, budget raised %d times, last to %s (what waited sent in %.0f ms), back at "
		"1000 ms %.1f s after\n",
		q.drops, q.worst, q.raises, q.why, q.sends_ms, q.back / 1000.0);
	assert_int_equal(q.drops, 0);
	/* Covered once for the queue, at 1.25 times what it takes, and a little more for x264. */
	assert_in_range(q.clears, q.sends_ms, 1.3 * q.sends_ms);
	assert_in_range(q.budget, RC_BUDGET_COVER * q.clears, RC_BUDGET_COVER * q.clears + 250);
	assert_in_range(q.back, 0, 10000);
	/* A slower living path (3 Mbit/s): the queue's frames, encoded for two, weigh more. */
	death_queue_run(true, 3.0e6, &q);
	print_message("... the living path at 3 Mbit/s: %d drops, worst delay %d ms, %s (what "
		      "waited sent in %.0f ms)\n",
		      q.drops, q.worst, q.why, q.sends_ms);
	assert_int_equal(q.drops, 0);
	assert_in_range(q.clears, q.sends_ms, 1.3 * q.sends_ms);

	/* An encoder that does not follow: the queue grows. One cover of it at most, then a drop. */
	death_queue_run(false, 3.75e6, &q);
	print_message(
		"... the encoder not following: %d drops, worst delay %d ms, budget raised %d "
		"times\n",
		q.drops, q.worst, q.raises);
	assert_int_equal(q.drops, 1);
	assert_in_range(q.raises, 1, 2);
	assert_true(q.worst < 2500);

	/*
	 * The living path carries 1 Mbit/s: what waits would take over 3 s. Not
	 * covered for the queue (the socket's old data is, up to the cap), dropped.
	 */
	death_queue_run(true, 1e6, &q);
	print_message("... the living path at 1 Mbit/s: %d drops, worst delay %d ms, %s\n", q.drops,
		      q.worst, q.why);
	assert_true(q.drops >= 1);
	assert_true(q.clears == 0);
}

/*
 * Health releases a path that stopped acknowledging after a silence of its
 * own round trips (200-250 ms on the lab's links): its subflows close and it is
 * gone from the input. That is the death: the rate steps down then, not a
 * quarter of a second later when our own 500 ms of silence would say so
 * (the lab's "drop" at the links' full rate: 5 and 7 frames dropped in that
 * quarter of a second).
 */
static void test_released_path(void **state)
{
	struct run x;
	int stepped;

	(void)state;
	run_init(&x, &default_cfg, 3.8e6, 3.8e6);
	x.n.path_queue_ms = 150;
	run_for(&x, 30000, 0, NULL, NULL);
	x.n.alive[0] = false;
	run_for(&x, 200, 0, NULL, NULL);
	x.n.released[0] = true;
	stepped = TIME_UNTIL(&x, 2000, x.d.change < 0);
	print_message("released 200 ms after its death: the rate stepped down %d ms later, to "
		      "%.2f Mbit/s (%s)\n",
		      stepped, (double)x.d.target_bps / 1e6, x.d.why);
	assert_int_equal(stepped, 0);
	assert_non_null(strstr(x.d.why, "a path fell silent"));
	assert_true((double)x.d.target_bps < 3.8e6);
}

/*
 * The swinging path dies under a still picture (the encoder puts out far
 * less than its target, so no RTT counts as a peak: feeding_within()).
 * @moved: the other path moved to a new uplink on the way (its old one's
 * peaks forgotten with it), so that no uplink left has a peak. The budget
 * comes down; the log says why.
 */
static void death_under_still_picture(bool moved, char *why, size_t size)
{
	struct run x;
	int before;

	swinging_run(&x, 0);
	before = x.r.budget_ms;
	x.n.encoder_max = 200000;
	if (moved) {
		x.n.id[0] = 3;
		x.n.uplink[0] = 30;
	}
	run_for(&x, 4000, 0, NULL, NULL);
	x.n.alive[1] = false;
	why[0] = '\0';
	for (int t = 0; t < 15000 && !why[0]; t += TICK_MS) {
		step(&x);
		if (x.d.budget_change < 0)
			snprintf(why, size, "%s", x.d.budget_why);
	}
	print_message("still picture, the swinging path dies%s: budget %d -> %d ms (%s)\n",
		      moved ? " (the other on a new uplink)" : "", before, x.r.budget_ms, why);
	assert_true(before >= 1500);
	assert_int_equal(x.r.budget_ms, default_cfg.max_latency_ms);
}

/* Not "the paths' RTT stayed under 0 ms for 0 s" (seen on the recorded links after a drain). */
static void test_death_no_peak_since(void **state)
{
	char why[96];

	(void)state;
	death_under_still_picture(false, why, sizeof(why));
	assert_non_null(strstr(why, "a path died; the paths left peaked at "));
	death_under_still_picture(true, why, sizeof(why));
	assert_string_equal(why, "a path died, and the delay is low");
}

/*
 * A hole of 0.7 s on the path whose swing raised the budget (T-Mobile's,
 * on the recorded links) is no death: the path comes back, and the budget
 * keeps what it covered.
 */
static void test_hole_keeps_budget(void **state)
{
	struct run x;
	int before, lowest = INT32_MAX;

	(void)state;
	swinging_run(&x, 0);
	before = x.r.budget_ms;
	x.n.alive[1] = false;
	run_for(&x, 700, 0, NULL, NULL);
	x.n.alive[1] = true;
	for (int t = 0; t < 10000; t += TICK_MS) {
		step(&x);
		if (x.r.budget_ms < lowest)
			lowest = x.r.budget_ms;
	}
	print_message("a 0.7 s hole: budget %d ms before, at least %d ms in the 10 s after\n",
		      before, lowest);
	assert_true(before >= 1500);
	assert_int_equal(lowest, before);
}

/*
 * Both paths die in turn (1 s each, every 3.2 s) under a floor above what one
 * of them carries (--min-bitrate 2M, 1.5 Mbit/s each): the excess is
 * mpstream's own, and the budget may not keep covering it death after death.
 */
static void test_deaths_in_turn(void **state)
{
	struct rc_config cfg = default_cfg;
	struct run x;
	int worst = 0, highest = 0;

	(void)state;
	cfg.auto_budget = true;
	cfg.min_bps = 2000000;
	run_init(&x, &cfg, 1.5e6, 1.5e6);
	x.n.path_queue_ms = 150;
	run_for(&x, 10000, 0, NULL, NULL);
	for (int t = 0; t < 60000; t += TICK_MS) {
		int phase = t % 3200;

		x.n.alive[0] = !(phase >= 1000 && phase < 2000);
		x.n.alive[1] = !(phase >= 2200 && phase < 3200);
		step(&x);
		if (x.d.delay_ms > worst)
			worst = x.d.delay_ms;
		if (x.r.budget_ms > highest)
			highest = x.r.budget_ms;
	}
	print_message("deaths in turn under a floor: worst delay %d ms, budget at most %d ms, %d "
		      "drops\n",
		      worst, highest, x.drops);
	assert_int_equal(highest, cfg.max_latency_ms);
	assert_true(x.drops >= 5);
}

/*
 * mpstream's own excess: a fixed 3 Mbit/s into paths that carry 2. Their
 * RTT grows with the queue it fills, data waits for the in-flight cap, and
 * the socket's oldest data ages: all as in a dip, but for as long as the
 * stream goes on. That is not the paths' swing: the budget stays, the queue
 * is dropped.
 */
static void test_auto_budget_own_excess(void **state)
{
	struct rc_config cfg = default_cfg;
	struct rc_decision d;
	struct ratectl r;
	uint64_t written = 5000, delivered = 5000, sf_acked = 0;
	double queue_ms = 0;
	int drops = 0, highest = 0;

	(void)state;
	cfg.auto_budget = true;
	cfg.fixed = true;
	cfg.start_bps = 3000000;
	rc_init(&r, &cfg);
	for (int64_t t = 1000; t < 31000; t += TICK_MS) {
		struct rc_input in;

		sf_acked += 25000; /* 2 Mbit/s */
		delivered += 25000;
		/* 128 kB in the socket at most (the in-flight cap); the rest waits in the queue. */
		written = delivered + 128000;
		queue_ms += 100.0 * (3140000.0 - 2000000.0) / 3140000.0;
		in = seq_input(t, written, delivered, sf_acked,
			       40 + 8000.0 * (double)(written - delivered) / 2e6);
		in.held = true;
		in.queue_ms = (int)queue_ms;
		update(&r, &in, &d);
		if (d.drop) {
			drops++;
			queue_ms = 0;
		}
		if (d.budget_ms > highest)
			highest = d.budget_ms;
	}
	print_message("own excess: %d drops, budget at most %d ms\n", drops, highest);
	assert_true(drops >= 3);
	assert_int_equal(highest, 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_steady),
		cmocka_unit_test(test_climb_short_encoder),
		cmocka_unit_test(test_short_then_full_encoder),
		cmocka_unit_test(test_still_then_moving),
		cmocka_unit_test(test_slow_start),
		cmocka_unit_test(test_capacity_halves_and_returns),
		cmocka_unit_test(test_path_returns_as_new_subflow),
		cmocka_unit_test(test_cut_with_head_of_line_blocking),
		cmocka_unit_test(test_backup_takes_over),
		cmocka_unit_test(test_capacity_step),
		cmocka_unit_test(test_capacity_falls),
		cmocka_unit_test(test_rtt_jump),
		cmocka_unit_test(test_queue_spike),
		cmocka_unit_test(test_fixed),
		cmocka_unit_test(test_stall),
		cmocka_unit_test(test_still_picture),
		cmocka_unit_test(test_dip_and_back),
		cmocka_unit_test(test_deep_fall_stays),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_recorded_cut),
		cmocka_unit_test(test_sacks_not_silence),
		cmocka_unit_test(test_delay_measured),
		cmocka_unit_test(test_drop_ends_drain),
		cmocka_unit_test(test_hold_band),
		cmocka_unit_test(test_auto_budget),
		cmocka_unit_test(test_auto_budget_held),
		cmocka_unit_test(test_held_then_death),
		cmocka_unit_test(test_dead_uplink_fresh_subflow),
		cmocka_unit_test(test_stall_keeps_peaks),
		cmocka_unit_test(test_dead_uplink_unnamed),
		cmocka_unit_test(test_death_then_reconnect),
		cmocka_unit_test(test_auto_budget_own_excess),
		cmocka_unit_test(test_swinging_path_dies),
		cmocka_unit_test(test_death_keeps_living_swing),
		cmocka_unit_test(test_uplink_keeps_its_peaks),
		cmocka_unit_test(test_death_over_budget),
		cmocka_unit_test(test_long_death_over_budget),
		cmocka_unit_test(test_second_death_soon),
		cmocka_unit_test(test_released_path),
		cmocka_unit_test(test_death_backlog_in_queue),
		cmocka_unit_test(test_death_no_peak_since),
		cmocka_unit_test(test_hole_keeps_budget),
		cmocka_unit_test(test_deaths_in_turn),
	};

	return RUN_AT_CLOCK_OFFSETS(tests, t_offset_ms);
}
