/* SPDX-License-Identifier: MIT */
/*
 * Rate control: the video bit rate follows what the uplinks carry, so that the
 * delay from the encoder to the server's TCP stack stays within a budget.
 *
 * Every tick (the driver's rate stage, SND_MONITOR_TICK_MS) it is given what the kernel measures on the
 * MPTCP connection (each subflow's acknowledged bytes and RTT, the bytes in the
 * socket, the connection's data sequence) and the media waiting in mpstream's
 * own queue. The sender's delay is measured: the queue plus the age of the
 * oldest unacknowledged data in the socket. It steps down at once when a path
 * falls silent (to what the others carry) or the delay grows (to what the
 * paths acknowledged, and below while the backlog drains); gently when the
 * paths' RTT rises a share of the budget above its floor; goes back fast to
 * the rate before a path died when a path carries data again; and probes up
 * while all stays low: fast back towards the rate it last stepped down
 * from, slowly near it. When the delay exceeds the budget it asks for
 * the queue to be dropped up to a keyframe. Like belacoder does with SRT's RTT
 * and send buffer, but from kernel MPTCP signals.
 *
 * A pure function of its inputs, so that it is unit-tested with synthetic and
 * recorded traces.
 */
#ifndef MPS_RATECTL_RATECTL_H
#define MPS_RATECTL_RATECTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "recent.h"

#define RC_HIST		32
#define RC_BUDGET_SLOTS 6   /* of RC_BUDGET_SLOT_MS: how long an RTT peak counts */
#define RC_WRITTEN_HIST 128 /* ticks: reaches back further than any budget needs */
#define RC_ASKED_HIST	64  /* ticks: reaches back further than RC_ENCODER_LAG_MS */

struct rc_config {
	int64_t start_bps, min_bps, max_bps; /* video */
	int64_t other_bps;		     /* on the wire besides the video: audio, FLV, RTMP */
	int max_latency_ms;		     /* the sender's delay budget (auto: its least) */
	bool auto_budget;		     /* the budget follows the paths' RTT (rc_budget) */
	bool fixed;			     /* the bit rate cannot change (--copy): only drop */
};

#define RC_MAX_PATHS 16

/* One subflow: its RTT counts as much as the data it carried. */
struct rc_path {
	uint32_t id;
	/*
	 * The uplink it leaves by (a key of its name, or of its local address
	 * when no uplink owns it): the automatic budget's peaks are the
	 * uplink's, and outlive its subflows. 0: not known, the subflow's own.
	 */
	uint32_t uplink;
	double rtt_ms;	      /* 0: not known */
	uint64_t acked_bytes; /* cumulative */
	/*
	 * Segments the receiver got, SACKed ones included (tcpi_delivered): a
	 * path waiting a round trip for a lost segment's resend acknowledges
	 * nothing cumulatively but still delivers, so it has not fallen silent.
	 */
	uint32_t delivered;
};

struct rc_input {
	int64_t t_ms;	       /* monotonic */
	uint32_t socket_bytes; /* in the socket, sent or not, unacknowledged (SIOCOUTQ) */
	uint32_t unsent_bytes; /* of which not sent yet: waiting for the paths (SIOCOUTQNSD) */
	bool held; /* since the last tick, data waited for the in-flight cap (stream.c) */
	/*
	 * The connection's data sequence: the end of what was written into the
	 * socket and the start of what is not acknowledged yet (MPTCP's
	 * mptcpi_write_seq and mptcpi_snd_una). Both 0: not known, the delay in
	 * the socket is then estimated from its bytes and the paths' rate.
	 */
	uint64_t written_seq, delivered_seq;
	int queue_ms;	    /* media waiting in mpstream's queue */
	double encoder_bps; /* what the encoder put out over the last second; 0: not known */
	size_t n_paths;
	struct rc_path paths[RC_MAX_PATHS];
};

/*
 * What the controller is doing: warming up (the first RC_WARMUP_MS of a
 * connection: slow start, subflows joining; only the delay counts), steady
 * (following the paths), draining (below the paths' rate until a backlog is
 * gone), regaining (back up fast to the rate before a path died, now that it
 * carries again).
 */
enum rc_mode { RC_WARMUP, RC_STEADY, RC_DRAINING, RC_REGAINING };

const char *rc_mode_name(enum rc_mode m);

struct rc_decision {
	enum rc_mode mode; /* in this tick, before its action */
	int64_t target_bps;
	int change;	     /* -1 stepped down, 1 up, 0 same */
	bool drop;	     /* drop the queue up to a keyframe */
	bool regain;	     /* a path carries data again: back up to the rate before it died */
	int64_t regain_bps;  /* ... to this */
	int delay_ms;	     /* the sender's delay: queue + the oldest data in the socket */
	double rtt_rise_ms;  /* the paths' RTT over their floors */
	double capacity_bps; /* acknowledged over the last second; < 0: not known yet */
	int budget_ms;	     /* the delay budget in force */
	int budget_change;   /* -1 it was lowered in this tick, 1 raised, 0 same */
	char why[128];	     /* for a step down or a drop */
	char budget_why[96]; /* for a change of the budget */
};

struct ratectl {
	struct rc_config cfg;
	int64_t target_bps;
	struct {
		int64_t t_ms;
		uint64_t acked;
		int64_t busy_ms; /* cumulative time with acknowledgements coming */
	} hist[RC_HIST];	 /* ring of recent samples */
	size_t hist_n, hist_next;
	/* When the data sequence reached where: how long the oldest data waited. */
	struct {
		int64_t t_ms;
		uint64_t seq;
	} written[RC_WRITTEN_HIST];
	size_t written_n, written_next;
	/* Per subflow: its RTT floor, the minimum in this epoch and the previous one. */
	struct rc_path_state {
		uint32_t id;
		bool used;
		double floor[2]; /* 0: none */
		uint64_t acked;
		uint32_t delivered;
		int64_t seen_ms;	   /* last in the input */
		int64_t first_ms;	   /* first in it */
		int64_t acked_ms;	   /* last acknowledged (or delivered) anything */
		bool silent;		   /* found quiet at a silence (or after a brief life) */
		bool forgotten;		   /* ... for long: forget_dead() saw it */
		bool carried;		   /* acknowledged data since it was first seen */
		uint64_t peak_key;	   /* its uplink's (rc_path.uplink): its peaks are there */
		double rtt_now;		   /* in this tick's input; 0: not in it */
		double tick_rtt;	   /* ... if it counts for the budget; else 0 */
		int64_t carrying_since_ms; /* acknowledging without a pause since */
		struct rc_recent recent;   /* what it carried at best lately */
	} path[RC_MAX_PATHS];
	int64_t epoch_start_ms;
	uint64_t acked_total;		  /* by all subflows, since the connection started */
	double cap_cur_bps, cap_prev_bps; /* best capacity of this window, the one before */
	int64_t cap_window_ms;		  /* start of this window */
	double rtt_rise_ms;		  /* last tick's, over the floors, weighted by data */
	double net_limited; /* share of recent ticks with data waiting for the paths (EWMA) */
	int64_t last_down_ms, last_up_ms, last_drop_ms;
	int down_delay_ms;	 /* the delay at the last step down */
	bool stall_stepped;	 /* stepped down once in this stall */
	bool draining;		 /* below the paths' rate until the backlog is gone */
	bool drain_started;	 /* in this tick */
	double drain_steady_bps; /* ... and then at this rate */
	/*
	 * What the paths acknowledged in ticks when data waited for them (they
	 * were the limit), and how long those ticks were: cumulative, and where
	 * the drain's measure starts (from drain_measure_ms on).
	 */
	uint64_t limited_acked, drain_acked0;
	int64_t limited_ms, drain_ms0, drain_measure_ms, last_tick_ms;
	/*
	 * A path fell silent: the rate before, and how many paths carried data
	 * after. When more carry data again (the path is back, or a fresh
	 * subflow on it), the rate goes back up to it fast.
	 */
	int64_t regain_bps; /* 0: nothing to regain */
	int paths_after_silence;
	bool regaining;
	/*
	 * What was carried until the last step down that came after a calm
	 * spell: the rate then, or what the paths carried if less; the probe's
	 * pace depends on how far below it the rate is (act_steady()). 0: none
	 * (a path died: what it carried is gone; a new connection).
	 */
	int64_t ceiling_bps;
	/* The targets of recent ticks: what the encoder's measure was asked for. */
	struct {
		int64_t t_ms, bps;
	} asked[RC_ASKED_HIST];
	size_t asked_n, asked_next;
	bool started;
	int64_t start_ms;
	/*
	 * The delay budget in force, and (auto) the peaks it follows, per
	 * RC_BUDGET_SLOT_MS, the newest first (rc_budget): each uplink's largest
	 * RTT (or a delay its queue held, the budget covered), and here those
	 * of no uplink known. An uplink's outlive its subflows and the
	 * connection, not its death.
	 */
	int budget_ms;
	struct rc_uplink_peaks {
		uint64_t key; /* rc_path_state.peak_key */
		bool used;
		double peak[RC_BUDGET_SLOTS];
	} uplink_peaks[RC_MAX_PATHS];
	double rtt_peak[RC_BUDGET_SLOTS];
	int64_t peak_slot_ms;
	/* Since the budget last moved: a death took the largest peak, and lowers the budget. */
	bool peak_died;
	bool cover_died;      /* ... it was raised to cover a death's delay (no peak) */
	int64_t covered_ms;   /* ... the death's cover_ms */
	int64_t cover_ms;     /* a death's delay is covered from here (died_lately()); 0: never */
	double cover_cap_bps; /* ... what the living paths carried then; < 0: not known */
	int64_t queue_covered_ms; /* ... the death whose queue was covered (death_clears_ms()) */
	double tick_rtt_max;	  /* this tick's, of the paths that carried data */
};

void rc_init(struct ratectl *r, const struct rc_config *cfg);

/*
 * The operator's new bounds (0 < @min_bps <= @max_bps; equal: a fixed rate),
 * in force from now: the target is clamped into them at once. Returns true
 * when that changed the target (tell the encoder: r->target_bps).
 */
bool rc_set_bounds(struct ratectl *r, int64_t min_bps, int64_t max_bps);

/* A new connection: its counters start from 0. The bit rate goes on. */
void rc_new_connection(struct ratectl *r);

/* One tick. */
void rc_update(struct ratectl *r, const struct rc_input *in, struct rc_decision *out);

/* Tuning, exposed for the tests. */
#define RC_WINDOW_MS	     1000 /* the capacity is what was acknowledged over this */
#define RC_DOWN_HOLD_MS	     500  /* between two steps down */
#define RC_DOWN_AGAIN_MS     2000 /* a step down even if the delay shrinks */
#define RC_UP_HOLD_MS	     2000 /* after a step down, before probing up */
#define RC_UP_EVERY_MS	     250
#define RC_UP_STEP	     0.03 /* per RC_UP_EVERY_MS: about 12 %/s */
#define RC_PROBE_LIMIT	     1.15 /* up to this much over what was acknowledged */
#define RC_ENCODER_KEEPS_UP  0.85 /* probe up only when the encoder puts out this share */
#define RC_ENCODER_LAG_MS    2000 /* ... of the least target over this, when climbing back */
#define RC_ENCODER_FOLLOW_MS 500  /* x264 puts out a new rate within this */
#define RC_BACK_BELOW	     0.85 /* of the ceiling: climbing back, ... */
#define RC_BACK_STEP	     0.08 /* ... this much per RC_UP_EVERY_MS (about 36 %/s); above, */
#define RC_PLATEAU_STEP	     0.01 /* ... this much up to the ceiling */
#define RC_HEADROOM	     0.88 /* step down to this share of the capacity */
#define RC_EASE		     0.94 /* the gentle step */
#define RC_FAIR		     0.95 /* ... at most to this share of the capacity */
#define RC_STALL_STEP	     0.70 /* in a stall, once */
#define RC_STALL_SHARE	     0.4  /* acknowledgements in less of the window: a stall */
#define RC_MAX_CUT	     0.5  /* one step down keeps at least this much */
#define RC_HIGH_CUT	     0.6  /* ... when the delay is high but not a stall */
#define RC_DRAIN_MS	     1500 /* a backlog should be gone within this */
#define RC_DRAIN_FLOOR	     0.5  /* draining keeps at least this share of the steady rate */
#define RC_DRAIN_MEASURE_MS  500  /* the paths the limit this long in a drain: measured */
#define RC_DRAIN_SETTLE_MS   1000 /* after a path died, the others' rate is measured from then */
#define RC_RTT_RISE_MS	     60	  /* at least; on every path: all are full */
#define RC_RTT_RISE_LEAST    0.2  /* ... or this share of the budget, if more */
#define RC_RTT_RISE_MOST     0.25 /* the most loaded path's rise: this share of the budget */
#define RC_LIVED_MS	     2000 /* a path that carried for less and fell silent again: no step */
#define RC_CARRYING_MS	     500  /* acknowledging this long without a pause: a path carries */
#define RC_WARMUP_MS	     3000 /* what a connection carries at first says little */
#define RC_REGAIN_STEP	     0.10 /* per RC_UP_EVERY_MS, back to the rate before a path died */
#define RC_RTT_EPOCH_MS	     10000
#define RC_SILENT_MS	     500   /* a path without acknowledgements this long is dead */
#define RC_GONE_MS	     150   /* ... or this long, and gone from the input (released) */
#define RC_DEAD_MS	     3000  /* silent this long: dead for good, its swing no longer counts */
#define RC_LIVING_SHARE	     0.25  /* the living paths carried less: their rate says nothing */
#define RC_UNSENT_BUSY	     16384 /* unsent bytes beyond this: the paths are the limit */
#define RC_DROP_HOLD_MS	     1000  /* between two drops: a keyframe must come first */
#define RC_DROP_MIN_QUEUE_MS 100   /* dropping less than this helps nothing */
/*
 * The automatic budget: RC_BUDGET_RTT_TIMES the largest RTT a path that
 * carried data showed over the last RC_BUDGET_SLOTS x RC_BUDGET_SLOT_MS,
 * rounded up to RC_BUDGET_ROUND_MS, from --max-latency up to RC_BUDGET_MAX_MS;
 * or, at a delay over it that waits in the paths, RC_BUDGET_COVER times it.
 */
#define RC_BUDGET_RTT_TIMES 2.0
#define RC_BUDGET_COVER	    1.25 /* ... or this times a delay the paths' queues held */
#define RC_BUDGET_SLOT_MS   10000
#define RC_BUDGET_ROUND_MS  250
/*
 * At most: on three recorded cellular uplinks (AT&T's fall in a T-Mobile hole:
 * 2.5 Mbit/s for 1.5 s, 4 to 5 before) the delay passed 3 s, and a cap of 3 s
 * dropped 37 to 43 frames in four runs of six; 4 s, 4 frames in one run of
 * sixteen (bench/RESULTS.md).
 */
#define RC_BUDGET_MAX_MS 4000

#endif
