/* SPDX-License-Identifier: MIT */
/*
 * One uplink as failover knows it: routing's view of it, the health
 * policy's state, the action decided this tick, and the check whether its
 * path reaches the server again.
 * One struct per uplink, owned by failover.c (one array of them), rather
 * than arrays in several modules kept in step by index.
 */
#ifndef MPS_FAILOVER_UPLINK_H
#define MPS_FAILOVER_UPLINK_H

#include "reach.h"
#include "recent.h"
#include "uplink_view.h"

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#define FO_MAX_UPLINKS 8

enum fo_state { FO_DOWN, FO_DEGRADED, FO_UP };

/* The health policy's state of the uplink (health.c). */
struct fo_health_uplink {
	enum fo_state state;
	char reason[96];
	int64_t up_since_ms;	   /* since when it is up (not degraded) in a row; 0: not up */
	int64_t lost_subflow_ms;   /* when it last had no established subflow; 0 */
	int64_t degraded_until_ms; /* hysteresis: degraded at least this long */
	/*
	 * The tick in which its path was last seen doing its job (a subflow of
	 * it had data acknowledged, or none owed any; health.c, stall_of()),
	 * and the earliest it may have done it: the tick before, when it was
	 * seen through an ACK; 0: not known (its ACK silence says).
	 */
	int64_t progress_ms, progress_after_ms;
	/*
	 * Since the connection's data was last acknowledged further (ms, from
	 * the tick before the one that saw it; UINT32_MAX: not seen), as
	 * fo_health_update() found it for this tick (health.c, window_stale()).
	 */
	uint32_t conn_moved_ms;
	/* Bytes per second sent (retransmissions included) and sent again: EWMAs of 2 s. */
	double sent_avg, retrans_avg;
	bool released;		   /* its subflows closed, down until it answers again */
	int64_t released_ms;	   /* when it was last released for its silence; 0 */
	int64_t unsteady_until_ms; /* it came back soon after: it comes and goes */
	bool masked;		   /* down, released again while unsteady: shown degraded */
	/* Slow paths set aside for a while. */
	struct rc_recent recent; /* what it carried at best lately */
	double slow_score;	 /* share of the recent time it was slow (EWMA) */
	bool benched;
	int64_t benched_until_ms;
	int64_t bench_ms; /* how long the next time */
};

/* What the policy decided for the uplink in this tick. */
struct fo_act {
	bool changed; /* state changed: log it */
	bool reach;   /* down: find out whether its path reaches the server again */
	bool release; /* dead and holding up the others: close its subflows */
	int bench;    /* -1: nothing; 1: set it aside, it is slow; 0: back */
	char bench_why[128];
};

/*
 * The uplink's modem, where it is one (fo_routing_ops.radio): a modem that
 * lost its network carries nothing, whatever its link says.
 */
struct fo_radio {
	bool modem;	 /* a modem's network port, as its modem manager says */
	bool registered; /* ... on a network (home, roaming; or not known, and not off) */
	char said[48];	 /* for the log: "LTE 72%"; off its network, why: "searching" */
};

struct fo_uplink {
	struct mps_uplink_view view; /* routing's view of it, read at the start of each tick */
	struct fo_radio radio;	     /* its modem's, read with the view; none: not a modem */
	struct fo_health_uplink health;
	struct fo_act act;
	struct fo_reach reach; /* failover.c: the attempts on its path and the kick's timing */
};

#endif
