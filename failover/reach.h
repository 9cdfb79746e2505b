/* SPDX-License-Identifier: MIT */
/*
 * Does a dead uplink's path reach the server again? Plain TCP connection
 * attempts from the uplink's address to the server's address and port, a
 * fresh one every FO_REACH_EVERY_MS, each kept FO_REACH_LIFE_MS: a SYN-ACK
 * (or a RST) that comes back to any of them says yes. A SYN sent while the
 * path was dead is lost, and the kernel's own SYN retransmission waits 1 s:
 * the fresh ones say within FO_REACH_EVERY_MS and one RTT that the path is
 * back; keeping each a while lets a path whose RTT is longer than that answer
 * too.
 *
 * Why not simply re-add the uplink's MPTCP endpoint every so often: removing
 * an endpoint makes the kernel send again all the data not yet acknowledged
 * on every path (measured: twice the bytes on the surviving uplink, and the
 * stream fell seconds behind). So the path is tried with TCP, and the
 * endpoint re-added once, when an attempt gets through.
 */
#ifndef MPS_FAILOVER_REACH_H
#define MPS_FAILOVER_REACH_H

#include "inet.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#define FO_REACH_EVERY_MS 100
#define FO_REACH_LIFE_MS  500
#define FO_REACH_ATTEMPTS (FO_REACH_LIFE_MS / FO_REACH_EVERY_MS)
/* After a kick, the fresh subflow gets this long to come up before the path is tried again. */
#define FO_KICK_SETTLE_MS 1500
/*
 * A kick that did not bring the uplink back (a server that refuses joins:
 * FFmpeg's own listener closes its listening socket after the first accept,
 * and its RST answers the attempt all the same) doubles the wait before the
 * next, up to FO_KICK_SETTLE_MS << FO_KICK_BACKOFF_MAX; the second in a row
 * is said once.
 */
#define FO_KICK_BACKOFF_MAX 5
/* Between closing a kicked uplink's subflows and adding its endpoint again: bounds. */
#define FO_REPLUG_MIN_MS 300
#define FO_REPLUG_MAX_MS 2000

struct fo_reach {
	int fd[FO_REACH_ATTEMPTS];	       /* the attempts under way, or -1 */
	int64_t started_ms[FO_REACH_ATTEMPTS]; /* when each began */
	int64_t last_start_ms;		       /* the newest attempt's */
	int64_t kicked_ms;    /* when the path last answered and the uplink was kicked */
	int64_t replug_ms;    /* when to add the kicked uplink's endpoint again; 0: done */
	int64_t unplugged_ms; /* when its endpoint was removed (released, kicked); 0: in place */
	bool kick_pending;    /* kicked, and not yet seen up or given up on */
	int failed_kicks;     /* in a row: the path answered, the uplink did not come back */
};

void fo_reach_init(struct fo_reach *p);

/*
 * One step for a path that is down: look at the attempts under way from @src
 * to @dst (of one family; IPv4-mapped IPv6 is IPv4), give up the old ones,
 * start a fresh one when its time has come. Returns 1 when the path answered
 * (every attempt is closed then), 0 when not (yet), or -errno.
 */
__attribute__((warn_unused_result)) int fo_reach_step(struct fo_reach *p, const struct mps_ip *src,
						      const char *ifname,
						      const struct sockaddr_storage *dst,
						      int64_t now_ms);

/* Drop the attempts under way (the path is up, or the connection is gone). */
void fo_reach_reset(struct fo_reach *p);

#endif
