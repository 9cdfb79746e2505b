/* SPDX-License-Identifier: MIT */
/*
 * routing: prepare a host's uplinks for Multipath TCP, and put everything back.
 *
 * For each uplink: one routing table (subnet route + default route through the
 * uplink's gateway), one rule "from ADDR lookup TABLE", and one MPTCP endpoint
 * (flag "subflow", bound to the device). The MPTCP subflow limit is raised to
 * the number of uplinks. Everything is done through netlink (libnl-route-3 and
 * the "mptcp_pm" generic-netlink family); routes and rules carry the routing
 * protocol RT_PROTO so that the leftovers of a killed run are recognised and
 * removed at the next start.
 */
#ifndef MPS_ROUTING_H
#define MPS_ROUTING_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define RT_MAX_UPLINKS 8
/* Table ids RT_TABLE_BASE .. RT_TABLE_BASE + RT_MAX_UPLINKS - 1 belong to mpstream. */
#define RT_TABLE_BASE 28000
/* Source rules sit before the main table's rule (32766). */
#define RT_RULE_PRIORITY 9000
/* Routing protocol id (rtm_protocol, FRA_PROTOCOL) marking mpstream's routes and rules. */
#define RT_PROTO 109
/* MPTCP endpoint ids RT_ENDPOINT_ID_BASE .. + RT_MAX_UPLINKS - 1 belong to mpstream. */
#define RT_ENDPOINT_ID_BASE 240

#define RT_WARN_UNUSED __attribute__((warn_unused_result))

/* What the user asked for: "IFACE" or "IFACE,gw=ADDR". */
struct rt_uplink_spec {
	char ifname[IFNAMSIZ];
	struct in_addr gw;
	bool has_gw;
};

/* What was found and configured for one uplink. */
struct rt_uplink {
	char ifname[IFNAMSIZ];
	int ifindex;
	struct in_addr addr;
	int prefixlen;
	struct in_addr gw; /* INADDR_ANY: a device route (point-to-point link) */
	uint32_t table;
	uint8_t endpoint_id; /* 0: an endpoint for this address existed before us */
};

struct rt_config {
	const struct rt_uplink_spec *uplinks;
	size_t n_uplinks;
	bool mptcp; /* configure MPTCP endpoints and limits */
};

struct rt_uplinks;

/*
 * Parse "IFACE[,gw=A.B.C.D]". Returns 0, or -EINVAL (bad syntax or address) or
 * -ENAMETOOLONG (interface name longer than IFNAMSIZ - 1).
 */
int rt_uplink_spec_parse(const char *arg, struct rt_uplink_spec *out) RT_WARN_UNUSED;

/*
 * Find each uplink's address and gateway, remove leftovers of an earlier run,
 * and install tables, rules, endpoints and limits. On failure everything
 * installed so far is removed again and one line says why. Returns 0 or
 * -EINVAL (bad config), -EEXIST (the same uplink twice), -EBUSY (another
 * mpstream configures this network namespace), -ENODEV (no such interface),
 * -EADDRNOTAVAIL (no IPv4 address), -ENETUNREACH (no gateway), -EPERM, or
 * another negative errno from netlink.
 */
int rt_uplinks_create(const struct rt_config *cfg, struct rt_uplinks **out) RT_WARN_UNUSED;

/* Remove exactly what rt_uplinks_create() added and restore the limits. NULL is fine. */
void rt_uplinks_destroy(struct rt_uplinks *u);

size_t rt_uplinks_count(const struct rt_uplinks *u);
const struct rt_uplink *rt_uplinks_get(const struct rt_uplinks *u, size_t i);

/*
 * The uplink whose address is @sa's address, or NULL. Used to name subflows.
 */
const struct rt_uplink *rt_uplinks_find_addr(const struct rt_uplinks *u, const struct sockaddr *sa);

/* 1 when net.mptcp.enabled is set in this network namespace, 0 when not, or -errno. */
int rt_mptcp_enabled(void);

#endif
