/* SPDX-License-Identifier: MIT */
/*
 * Internals of routing/ shared between its files and its unit tests: the
 * message builders (no I/O, no privileges) and the reply parsers; and, at the
 * end, the uplinks' state and the functions that its files share.
 */
#ifndef MPS_RT_INTERNAL_H
#define MPS_RT_INTERNAL_H

#include "routing.h"

#include <pthread.h>
#include <stdatomic.h>

#include <netlink/cache.h>
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
 * The RTM_NEWROUTE request adding @r (rtnl_route_add()'s, with @flags), with
 * the metric congctl @cc when @cc is neither NULL nor "": the kernel gives
 * that congestion control to each TCP connection, MPTCP subflows included,
 * that leaves through the route (tcp_connect_init()). Returns 0 with the
 * caller owning *@out (nlmsg_free), or -errno.
 */
int rt_build_route_request(struct rtnl_route *r, const char *cc, int flags, struct nl_msg **out);

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

/*
 * The uplinks (struct rt_uplinks) and the files that share them, one concern
 * each: uplinks.c creates and destroys them, answers rt_uplinks_view() (an
 * uplink as the others see it) and carries out the operator's changes;
 * discover.c finds an uplink's address and gateway; install.c puts its
 * table, rule and endpoint in place and removes them; watch.c is the watcher
 * thread; leftovers.c removes what a killed run left; limits.c raises and
 * restores the MPTCP limits.
 *
 * Locking: one mutex, rt_uplinks.lock, taken only by uplinks.c's public
 * functions and by the watcher around each reconcile. It guards everything
 * above it in struct rt_uplinks once the watcher runs; before it starts (in
 * rt_uplinks_create()) and after it is joined (in rt_uplinks_destroy()) the
 * caller is alone and holds no lock. The functions below marked "Under lock"
 * take no lock themselves: their caller holds it, or is alone.
 */
/* What is installed for one side (IPv4 or IPv6) of an uplink. */
struct rt_slot_side {
	struct rtnl_route *routes[2]; /* subnet, default */
	struct rtnl_rule *rule;
	struct rt_endpoint ep; /* installed when .id != 0 */
};

/* One uplink: what was asked, what was found, and what is installed for it. */
struct rt_slot {
	struct rt_uplink_spec spec;
	struct rt_uplink up;
	bool waiting_said; /* "waiting for ..." logged once */
	struct rt_slot_side side[RT_SIDES];
};

struct rt_uplinks {
	struct nl_sock *sk;
	struct rt_pm *pm;
	int lock_fd;
	size_t n;
	struct rt_slot slot[RT_MAX_UPLINKS];
	char cellular_cc[RT_CC_NAME_MAX]; /* rt_config's, "" for none */
	bool limits_changed;
	struct rt_limits saved, set; /* the limits before they were raised, and after */
	/* Everything above is under lock once the watcher runs. */
	pthread_mutex_t lock;
	pthread_t watcher;
	/*
	 * The MPTCP events, subscribed to before the watcher starts: the
	 * connection's first subflows come up within a millisecond of the
	 * connect, often before a new thread has set itself up.
	 */
	struct nl_sock *events;
	bool watching;
	atomic_bool watch_stop;
	atomic_bool dirty; /* a cache changed since the last reconcile */
};

/* The address family of @side (RT_V4: AF_INET, RT_V6: AF_INET6). */
static inline int rt_family_of(enum rt_side_index side)
{
	return side == RT_V6 ? AF_INET6 : AF_INET;
}

/* discover.c. None of these changes the kernel. */
/* @na as an address of ours; false when it is not IPv4 or IPv6. */
bool rt_ip_from_nl(struct nl_addr *na, struct mps_ip *out);
/*
 * Uplink @i as the kernel has it now: its interface, and each side's address
 * and gateway, into @found (a side without an address has family 0 there),
 * and which sides work (an address and a gateway) into @usable. Returns 0
 * when at least one side works, or -ENODEV / -EADDRNOTAVAIL / -ENETUNREACH
 * with @why (it may work later), or -EINVAL (it never will: a loopback
 * interface, a gateway off its subnet). Reads only @u's spec of @i.
 */
int rt_discover_one(const struct rt_uplinks *u, size_t i, struct nl_cache *links,
		    struct nl_cache *addrs, struct nl_cache *routes, struct rt_uplink *found,
		    bool usable[RT_SIDES], const char **why);
/*
 * At creation, before the watcher: every uplink's sides into its slot, the
 * number that work now into @usable. Returns 0 when one works, else -errno
 * (-EINVAL: one never will).
 */
int rt_discover(struct rt_uplinks *u, size_t *usable);

/* install.c. Under lock. */
/* One line: @up's installed sides, table and role, after @what. */
void rt_log_uplink(const struct rt_uplink *up, const char *what);
/*
 * Add a route we own of uplink @i, with its congestion control; one that is
 * there already (re-installation) is fine. 0 or -errno.
 */
int rt_add_route(struct rt_uplinks *u, size_t i, struct rtnl_route *r);
/* Routes, rule and endpoint for @side's current address of uplink @i. 0 or -errno. */
int rt_install_side(struct rt_uplinks *u, size_t i, enum rt_side_index side);
/* Every side of uplink @i that has an address (and gateway); none on failure. */
int rt_install_uplink(struct rt_uplinks *u, size_t i);
/* Remove what is installed for @side of uplink @i (failures logged). */
void rt_uninstall_side(struct rt_uplinks *u, size_t i, enum rt_side_index side);
void rt_uninstall_uplink(struct rt_uplinks *u, size_t i);

/* uplinks.c, for the watcher. Under lock. */
/*
 * Close the connection's initial subflow if it leaves from @side's address
 * of uplink @i (deletes the endpoint "id 0" with that address).
 */
void rt_close_initial(struct rt_uplinks *u, size_t i, enum rt_side_index side);
/* Unplug uplink @i (with @initial, its initial subflow too) and replug it. 0 or -errno. */
int rt_kick_locked(struct rt_uplinks *u, size_t i, bool initial);

/* leftovers.c. At creation, before the watcher. */
/* Remove routes, rules and endpoints that a killed mpstream left behind. 0 or -errno. */
int rt_remove_leftovers(struct rt_uplinks *u);

/* limits.c. At creation and destruction, without the watcher. */
/*
 * Raise the limits to what @u's uplinks need, keeping a note of them
 * (state.c) and of what they were in @u. 0 or -errno.
 */
int rt_raise_limits(struct rt_uplinks *u);
/*
 * Put the limits back to @before where they still are what mpstream made
 * them (@set); @leftover: an earlier run's. Failures are logged.
 */
void rt_restore_limits(struct rt_pm *pm, const struct rt_limits *before,
		       const struct rt_limits *set, bool leftover);
/* The limits a killed run raised, kept in its note, restored; the note forgotten. */
void rt_restore_leftover_limits(struct rt_pm *pm);

#endif
