/* SPDX-License-Identifier: MIT */
/*
 * Internals of routing/ shared between its files and its unit tests: the
 * message builders (no I/O, no privileges) and the reply parsers.
 */
#ifndef MPS_RT_INTERNAL_H
#define MPS_RT_INTERNAL_H

#include "routing.h"

#include <netlink/genl/genl.h>
#include <netlink/route/route.h>
#include <netlink/route/rule.h>

#define RT_TAG "routing"

/* One MPTCP path-manager endpoint (an "ip mptcp endpoint" line). */
struct rt_endpoint {
	uint8_t id;
	struct mps_ip ip;
	uint32_t flags;
	int ifindex;
};

struct rt_limits {
	uint32_t subflows;
	uint32_t add_addr_accepted;
};

/* Convert a libnl NLE_* code (negative or positive) to a negative errno. */
int rt_nlerr_to_errno(int nlerr);

/* The flag table that both parses and prints endpoint flags. */
struct rt_flag_name {
	uint32_t flag;
	const char *name;
};
extern const struct rt_flag_name rt_endpoint_flag_names[];
/* "subflow,backup" for @flags into @buf; returns @buf. */
const char *rt_endpoint_flags_str(uint32_t flags, char *buf, size_t size);

/*
 * Generic-netlink message builders for the "mptcp_pm" family @family_id. Each
 * fills an empty message from nlmsg_alloc(); returns 0 or -ENOMEM/-EINVAL.
 */
int rt_pm_build_add_addr(struct nl_msg *msg, int family_id, const struct rt_endpoint *ep);
int rt_pm_build_del_addr(struct nl_msg *msg, int family_id, const struct rt_endpoint *ep);
int rt_pm_build_get_addrs(struct nl_msg *msg, int family_id);
int rt_pm_build_get_limits(struct nl_msg *msg, int family_id);
int rt_pm_build_set_limits(struct nl_msg *msg, int family_id, const struct rt_limits *lim);
int rt_pm_build_set_flags(struct nl_msg *msg, int family_id, const struct rt_endpoint *ep);

/* One event of the "mptcp_pm_events" group, decoded. */
struct rt_pm_event {
	uint8_t type; /* MPTCP_EVENT_* */
	uint32_t token;
	int family; /* of the ends, for the events that have them: AF_INET or AF_INET6 */
	struct in_addr saddr, daddr;
	struct in6_addr saddr6, daddr6;
	uint16_t sport, dport; /* host order */
	uint8_t loc_id, rem_id;
	uint8_t error; /* errno of a closed subflow */
	bool backup;
	int ifindex;
};
/*
 * Decode an event. Its token is required, and for the events with two ends
 * (created, established, sub_*) the family, both addresses and both ports.
 * Returns 0 or -EBADMSG.
 */
int rt_pm_parse_event(struct nlmsghdr *nlh, struct rt_pm_event *ev);
/* "sub_established" for MPTCP_EVENT_SUB_ESTABLISHED, ...; NULL when unknown. */
const char *rt_pm_event_name(uint8_t type);

/* Decode one reply of MPTCP_PM_CMD_GET_ADDR / GET_LIMITS. 0 or -EINVAL/-EBADMSG. */
int rt_pm_parse_endpoint(struct nlmsghdr *nlh, struct rt_endpoint *ep);
int rt_pm_parse_limits(struct nlmsghdr *nlh, struct rt_limits *lim);

/*
 * Build the routes of @u's table for its @side (IPv4 or IPv6): the subnet
 * route and the default route. Returns 0 or -ENOMEM; on success the caller
 * owns both (rtnl_route_put).
 */
int rt_build_table_routes(const struct rt_uplink *u, enum rt_side_index side,
			  struct rtnl_route **subnet, struct rtnl_route **deflt);
/*
 * Build the rule "from ADDR/32 (or /128) lookup TABLE prio RT_RULE_PRIORITY
 * proto RT_PROTO" of @u's @side.
 */
struct rtnl_rule *rt_build_source_rule(const struct rt_uplink *u, enum rt_side_index side);

/*
 * The limits a run raised, kept in a file until they are restored (state.c):
 * @before what they were, @set what mpstream made them. Return 0 or -errno
 * (-ENOENT: nothing kept). A note of an older mpstream has only the subflow
 * limit: the ADD_ADDR one is loaded as UINT32_MAX in both (left alone).
 */
int rt_state_save_limits(const struct rt_limits *before, const struct rt_limits *set);
int rt_state_load_limits(struct rt_limits *before, struct rt_limits *set);
void rt_state_forget(void);

/* MPTCP path manager over generic netlink. */
struct rt_pm;
int rt_pm_open(struct rt_pm **out);
void rt_pm_close(struct rt_pm *pm);
int rt_pm_add_endpoint(struct rt_pm *pm, const struct rt_endpoint *ep);
int rt_pm_del_endpoint(struct rt_pm *pm, const struct rt_endpoint *ep);
/* Every endpoint; *out is malloc'ed (free it), *n its length. */
int rt_pm_list_endpoints(struct rt_pm *pm, struct rt_endpoint **out, size_t *n);
int rt_pm_get_limits(struct rt_pm *pm, struct rt_limits *lim);
int rt_pm_set_limits(struct rt_pm *pm, const struct rt_limits *lim);
int rt_pm_set_flags(struct rt_pm *pm, const struct rt_endpoint *ep);
/* A socket subscribed to the events group, or NULL (errors logged). Free with nl_socket_free(). */
struct nl_sock *rt_pm_events_open(void);

#endif
