/* SPDX-License-Identifier: MIT */
/*
 * One uplink as the rest of mpstream sees it: its name, its address of each
 * family and whether it is in use, and its link, role and use. Routing owns
 * the uplinks and fills a view under its lock (rt_uplinks_view()); failover,
 * the stream's plan, the operator's controls, the metrics and the page read
 * views, all by routing's slot: view i is uplink i everywhere. Pure: no
 * library, so that the modules that read it need none either.
 */
#ifndef MPS_COMMON_UPLINK_VIEW_H
#define MPS_COMMON_UPLINK_VIEW_H

#include "inet.h"

#include <net/if.h>
#include <stdbool.h>
#include <sys/socket.h>

/* An uplink's sides: [0] its IPv4 address, [1] its IPv6 one. */
#define MPS_UPLINK_SIDES 2

struct mps_uplink_side {
	struct mps_ip addr; /* family 0: none */
	bool installed;	    /* its table, source rule and endpoint in place: the address in use */
};

struct mps_uplink_view {
	char name[IFNAMSIZ];
	struct mps_uplink_side side[MPS_UPLINK_SIDES];
	bool installed;	     /* at least one side in place */
	bool link_up;	     /* administratively up, with its routes */
	bool backup;	     /* its role: used only while no primary works */
	bool disabled;	     /* taken out of use by the operator */
	char congestion[16]; /* its routes' congestion control (cc=, cellular), "" for none */
};

/* The side of @family: 1 for AF_INET6, 0 for the others. */
static inline int mps_uplink_side_of(int family)
{
	return family == AF_INET6;
}

/* @v's address of @family in use (its side installed), or NULL. */
const struct mps_ip *mps_uplink_view_addr(const struct mps_uplink_view *v, int family);

/*
 * Whether @ss (IPv4-mapped too) is one of @v's addresses in use: a subflow
 * leaving from it. The one rule for which uplink a subflow is on: failover
 * counts an uplink's subflows by it, and they are named by it
 * (mps_uplink_view_owner()). An address of the uplink that is not in use (no
 * gateway for its family yet) owns no subflow.
 */
bool mps_uplink_view_owns(const struct mps_uplink_view *v, const struct sockaddr_storage *ss);

/* The first of @views[0..@n) that owns @ss (mps_uplink_view_owns()), or NULL. */
const struct mps_uplink_view *mps_uplink_view_owner(const struct mps_uplink_view *views, size_t n,
						    const struct sockaddr_storage *ss);

#endif
