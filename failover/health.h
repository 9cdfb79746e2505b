/* SPDX-License-Identifier: MIT */
/*
 * Uplink health: up, degraded or down, from the uplink's link state and its
 * subflows' statistics; and what to do about it. A pure function of its
 * inputs, so that it is unit-tested with recorded samples.
 *
 * The kernel retries a failed path only after its retransmission back-off (10
 * s after a 10 s cut, measured here), and opens no new subflow on an endpoint
 * whose subflow failed. So while an uplink is down its path is tried with TCP
 * connection attempts (reach.h), and when one gets through the uplink is
 * "kicked": its subflows are closed and its endpoint added again, which makes
 * the kernel open a fresh subflow at once.
 */
#ifndef MPS_FAILOVER_HEALTH_H
#define MPS_FAILOVER_HEALTH_H

#include "snapshot.h"
#include "uplink.h"

/*
 * A path is alive when what it was given is acknowledged (or delivered: a
 * SACK says the receiver got it while a lost segment waits for its resend),
 * not when something arrives on it: a subflow whose own host drops what it
 * sends (an output firewall rule: the seed's `iptables -A OUTPUT -o eth0 -j
 * DROP`) still receives the server's packets and their ACKs, which
 * acknowledge nothing new, and its data waits unsent with nothing in
 * flight. So an uplink's silence is how long its subflows have owed data
 * (in flight or not sent yet) with none of it acknowledged or delivered, or
 * with no ACK at all, whichever is longer. Silent for this long: dead.
 */
#define FO_HEALTH_DEAD_MS 1000
/* ... for this long, or fo_health_release_after_ms() if sooner, degraded. */
#define FO_HEALTH_SLOW_MS 300
/*
 * Degraded too when this share or more of what it sent over the last 2 s
 * was sent again, once it sent at least FO_HEALTH_RETRANS_MIN_BPS (about 20
 * segments in 2 s: one lost TCP probe on an idle path is no share). A full link
 * drops a packet now and then (its queue overflows: that is how TCP finds
 * its rate), which is no news to an operator; a path that loses this much
 * loses more than congestion does.
 */
#define FO_HEALTH_RETRANS_SHARE	  0.05
#define FO_HEALTH_RETRANS_EWMA_MS 2000
#define FO_HEALTH_RETRANS_MIN_BPS 15000 /* bytes per second */
/*
 * Degraded lasts this long after its last cause, so that a link whose
 * behaviour does not change changes state at most once in this time (a
 * dead one is down at once, and up at once when it works again).
 */
#define FO_HEALTH_DEGRADED_HOLD_MS 10000
/*
 * A bad link that is not dead: its RTT swings (a cellular modem's queue,
 * from 100 ms to over a second every few seconds), or it drops out for a
 * second or two again and again. Each swing looks like a blackhole for as
 * long as it lasts, and releasing it at once is still what keeps the delay
 * down (its data goes on the others). But shown down and up at every swing,
 * it reads as a link that fails every few seconds. So an uplink that works
 * again within FO_HEALTH_FLAP_MS of its release for silence "comes and
 * goes": it is shown degraded (held FO_HEALTH_DEGRADED_HOLD_MS), and for
 * FO_HEALTH_CALM_MS a release of it stays degraded on the page, in the
 * metrics and the log, unless it stays down FO_HEALTH_FLAP_MS. For the
 * policy it is down as before: released, its path tried, brought back.
 */
#define FO_HEALTH_FLAP_MS 10000
#define FO_HEALTH_CALM_MS 60000
/* An uplink whose subflow is gone gets this long to get a new one before it is down. */
#define FO_HEALTH_GRACE_MS 1500

/*
 * A dead path that holds up the others: its data, sent before it died, is
 * missing at the receiver, which holds back everything the living paths
 * carried since (head-of-line blocking). The kernel sends it again on another
 * subflow only when one has nothing left in flight, or after several of its
 * retransmission intervals (net.mptcp.stale_loss_cnt): 1.5 to 3 s in the lab
 * while the living path is kept busy. Closing the dead path's subflows makes
 * it send all unacknowledged data again at once. So an uplink is "released"
 * (found down, its subflows closed and its endpoint removed until its path
 * answers a connection attempt again, reach.h) when each of its subflows has
 * had data outstanding and no ACK for a few of its own round trips
 * (fo_health_release_after_ms()), the connection has data not yet
 * acknowledged, and another uplink works: it had an ACK since, or has nothing
 * in flight (when all paths fall silent together, none is released). Not much
 * earlier: the resend includes what the receiver already holds
 * (sender/stream.c caps it, snd_inflight_cap()), and a path that was only
 * slow for a moment has to open a new subflow.
 * An uplink whose link went down is released at once: the kernel knows, and
 * its subflows would otherwise keep their data until their timers give up.
 */
/* Never sooner (delayed ACKs, a scheduler's hiccup), never later. */
#define FO_HEALTH_RELEASE_MIN_MS 150
#define FO_HEALTH_RELEASE_MAX_MS 500
/* What a receiver may hold back an ACK for (Linux: 40 ms at first). */
#define FO_HEALTH_DELACK_MS 40

/*
 * How long subflow @sf may go without an ACK, with data outstanding, before
 * its path counts as dead: two smoothed RTTs, four mean deviations and a
 * delayed ACK, within FO_HEALTH_RELEASE_MIN_MS and FO_HEALTH_RELEASE_MAX_MS.
 * A path of 5 ms is released after 150 ms; one of 60 +- 10 ms after 200 ms;
 * one whose queue holds 250 ms after 500 ms. (TCP's own timer, one RTT and
 * four deviations but at least 200 ms more, is what this must beat.)
 */
uint32_t fo_health_release_after_ms(const struct conn_subflow *sf);

/*
 * A slow path: the default scheduler keeps sending on it, its queue grows, and
 * the other paths' data waits at the receiver for its (head-of-line blocking):
 * a 1 Mbit/s path with a 400 ms queue beside a 4 Mbit/s one halves what the
 * connection carries and adds its queue to the delay. A primary uplink whose
 * RTT is FO_HEALTH_BENCH_RTT_MS and FO_HEALTH_BENCH_RATIO times above the
 * best other working uplink's, in most ticks for about a second
 * (FO_HEALTH_BENCH_SCORE), is set aside ("benched": its subflows closed, its
 * endpoint removed) for FO_HEALTH_BENCH_MS, doubled each time it is benched
 * again, up to FO_HEALTH_BENCH_MAX_MS; at once back when no other primary
 * uplink works. Not an uplink that carried at best lately more than
 * FO_HEALTH_BENCH_BIGGER times what any other did: the big path of a pair
 * with a deep queue is worth its delay. (Its share of the data is no measure
 * of a slow path: while it blocks the others it carries nearly all of it.)
 * Making it a backup instead (MP_PRIO) was tried: the scheduler still sends
 * on a backup subflow whenever the primary's window is full, which head-of-
 * line blocking keeps it, and the delay stayed over 1 s for 4 s more.
 * The other uplink it is measured against must have been up (not degraded)
 * for FO_HEALTH_BENCH_SETTLED_MS: a subflow that has just come back runs an
 * empty queue with a small window, while the path that carried everything
 * meanwhile, its data and the data sent again from the other, holds a full
 * queue. On recorded cellular links a 0.7 s gap of one uplink released it,
 * and the other (a good 2.5 Mbit/s link with its 1 s queue full of both's
 * data) was set aside for 30 s against the fresh subflow's RTT: half the
 * capacity gone for half a minute, for no fault of either link.
 */
#define FO_HEALTH_BENCH_SETTLED_MS 5000
/*
 * And its RTT must be FO_HEALTH_BENCH_RTT_MS or this part of the stream's
 * delay budget above the other's, whichever is more: a queue the budget
 * holds is no harm, and closing a path sends all it holds again on the
 * others. On recorded cellular links (1 s modem queues, an automatic budget
 * of 2.75 s) a 2.5 Mbit/s uplink at 1 s was set aside, its queue sent again,
 * and the delay passed the budget.
 */
#define FO_HEALTH_BENCH_BUDGET_PART 3
/*
 * ... but never more than this: a --max-latency of a minute must not end
 * benching. At the automatic budget's 4 s a third would be 1.33 s; a path
 * whose queue holds it more than a second behind the others is benched
 * all the same.
 */
#define FO_HEALTH_BENCH_RTT_MAX_MS 1000
#define FO_HEALTH_BENCH_RTT_MS	   250
#define FO_HEALTH_BENCH_RATIO	   4
#define FO_HEALTH_BENCH_SCORE	   0.6 /* share of slow time, EWMA of 1 s: 0.9 s at least */
#define FO_HEALTH_BENCH_BIGGER	   2
#define FO_HEALTH_BENCH_MS	   30000
#define FO_HEALTH_BENCH_MAX_MS	   300000

/* What the policy keeps besides each uplink's own state. */
struct fo_health {
	bool backups_promoted; /* backup uplinks carry traffic as regular ones */
	int budget_ms;	       /* the stream's delay budget in force; 0: not known */
	int64_t last_ms;       /* the last update's time; 0: none yet */
	uint64_t delivered;    /* the connection's data acknowledged up to here ... */
	int64_t delivered_ms;  /* ... the tick before the one that saw it; 0: not seen */
};

/* Every uplink up ("starting"), nothing promoted. */
void fo_health_init(struct fo_health *h, struct fo_uplink *ups, size_t n);

/*
 * One step: each uplink's link as routing has it (ups[i].view), @prev and
 * @cur two snapshots of the connection (@cur NULL when there is no
 * connection). Sets each uplink's health and act. Returns what to do with the
 * backup flags: -1 nothing, 0 clear them (no primary works), 1 set them again.
 */
int fo_health_update(struct fo_health *h, struct fo_uplink *ups, size_t n,
		     const struct conn_snapshot *prev, const struct conn_snapshot *cur,
		     int64_t now_ms);

const char *fo_state_name(enum fo_state s);

/* Its state as shown (page, metrics, log): degraded while it comes and goes (FO_HEALTH_FLAP_MS). */
enum fo_state fo_health_shown(const struct fo_health_uplink *u);

/* The uplink's state as shown: "off" when taken out of use, "slow" while benched and not down, or its state's name. */
const char *fo_health_name(const struct fo_uplink *u);

#endif
