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

#include "inet.h"
#include "uplink_view.h"

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
/*
 * MPTCP endpoint ids RT_ENDPOINT_ID_BASE .. + 2 * RT_MAX_UPLINKS - 1 belong to
 * mpstream: uplink i's IPv4 endpoint has id BASE + i, its IPv6 one BASE +
 * RT_MAX_UPLINKS + i.
 */
#define RT_ENDPOINT_ID_BASE 240
/* A TCP congestion control's name, with its NUL (the kernel's TCP_CA_NAME_MAX). */
#define RT_CC_NAME_MAX 16

/* An uplink's two sides: its IPv4 address and its IPv6 one, each with a gateway. */
enum rt_side_index { RT_V4, RT_V6, RT_SIDES };

#define RT_WARN_UNUSED __attribute__((warn_unused_result))

/* What the user asked for: "IFACE[:backup][,gw=ADDR][,gw=ADDR6][,backup][,cc=NAME]". */
struct rt_uplink_spec {
	char ifname[IFNAMSIZ];
	struct mps_ip gw[RT_SIDES]; /* family 0: found in the main table */
	bool backup;		    /* a metered link: used only while no other uplink works */
	char cc[RT_CC_NAME_MAX];    /* its subflows' congestion control; "": mpstream's choice */
};

/*
 * One family's side of an uplink: its address, gateway, and whether its
 * routes, source rule and endpoint are in place. An uplink may have either
 * side or both; each is installed when it has an address and a gateway.
 */
struct rt_side {
	struct mps_ip addr; /* family 0: the uplink has no usable address of this family */
	int prefixlen;
	struct mps_ip gw;    /* family 0: a device route (point-to-point link) */
	uint8_t endpoint_id; /* 0: an endpoint for this address existed before us */
	bool installed;
};

/*
 * What was found and configured for one uplink: routing's own, behind its
 * lock; the rest of mpstream reads its view (rt_uplinks_view()).
 */
struct rt_uplink {
	char ifname[IFNAMSIZ];
	int ifindex;
	struct rt_side side[RT_SIDES]; /* [RT_V4], [RT_V6] */
	uint32_t table;		       /* both families' routes are in it */
	bool backup;
	bool installed; /* at least one side is in place */
	bool link_up;	/* administratively up, with its routes */
	bool disabled;	/* taken out of use (rt_uplinks_set_use()): no endpoint */
	/*
	 * The congestion control its routes carry (the route metric congctl,
	 * which the kernel gives each subflow that leaves through them), ""
	 * for none (the connection's own), and why: "given" (cc=) or what made
	 * it a cellular uplink. Chosen at each installation.
	 */
	char cc[RT_CC_NAME_MAX];
	char cc_why[48];
};

/* The side of @family (AF_INET: RT_V4, AF_INET6: RT_V6). */
static inline enum rt_side_index rt_side_of(int family)
{
	return family == AF_INET6 ? RT_V6 : RT_V4;
}

struct rt_config {
	const struct rt_uplink_spec *uplinks;
	size_t n_uplinks;
	bool mptcp; /* configure MPTCP endpoints and limits */
	/* The congestion control of cellular uplinks without cc= (rt_cellular_link()), or NULL. */
	const char *cellular_cc;
};

struct rt_uplinks;

/*
 * Parse "IFACE[:backup][,gw=ADDR][,backup]", gw= once per family (an IPv4 and
 * an IPv6 address). Returns 0, or -EINVAL (bad syntax or address, two
 * gateways of one family) or -ENAMETOOLONG (interface name longer than
 * IFNAMSIZ - 1).
 */
int rt_uplink_spec_parse(const char *arg, struct rt_uplink_spec *out) RT_WARN_UNUSED;

/* Whether the @len bytes at @name are a congestion control's name: 1 to 15 of [a-z0-9_]. */
bool rt_cc_name_valid(const char *name, size_t len);

/*
 * Find each uplink's address and gateway, remove leftovers of an earlier run,
 * and install tables, rules, endpoints and limits. An uplink that is absent,
 * has no address or no gateway yet gets a warning and is added when it
 * appears (see rt_uplinks_watch()); at least one must work now. On failure
 * everything installed so far is removed again and one line says why.
 * Returns 0 or -EINVAL (bad config), -EEXIST (the same uplink twice), -EBUSY
 * (another mpstream configures this network namespace), -ENODEV,
 * -EADDRNOTAVAIL or -ENETUNREACH (no uplink works: no such interface, no
 * address, no gateway), -EPERM, or another negative errno from netlink.
 */
int rt_uplinks_create(const struct rt_config *cfg, struct rt_uplinks **out) RT_WARN_UNUSED;

/*
 * Follow the kernel's link, address and route changes (a libnl cache manager,
 * in a thread of its own) and keep each uplink's table, rule and endpoint in
 * step: routes re-installed when a link comes back up, everything moved when
 * its address changes, added when a missing uplink appears. Also logs the
 * MPTCP path manager's events (subflows established and closed). Returns 0 or
 * -errno.
 */
int rt_uplinks_watch(struct rt_uplinks *u) RT_WARN_UNUSED;

/*
 * This network namespace's MPTCP path-manager limits: extra subflows per
 * connection, and ADD_ADDRs accepted. Returns 0 or -errno.
 */
int rt_mptcp_limits(unsigned *subflows, unsigned *add_addr_accepted) RT_WARN_UNUSED;

/* Stop watching, remove exactly what was added and restore the limits. NULL is fine. */
void rt_uplinks_destroy(struct rt_uplinks *u);

size_t rt_uplinks_count(const struct rt_uplinks *u);

/*
 * Whether interface @ifname is a cellular modem or a phone's tethering, from
 * sysfs under @sysfs_net (/sys/class/net): a WWAN device (DEVTYPE=wwan) or
 * one of the USB and PCIe modem drivers (qmi_wwan, cdc_mbim, cdc_ncm,
 * cdc_ether, rndis_host, ipheth, ...). Returns 1 with what made it so in
 * @what ("driver qmi_wwan"), or 0 (not, or not readable). A USB Ethernet
 * adapter that speaks CDC ECM or NCM counts as one too: cc= overrides.
 */
int rt_cellular_link(const char *sysfs_net, const char *ifname, char *what, size_t size);

/*
 * Uplink @i as the rest of mpstream sees it (common/uplink_view.h: its name,
 * each side's address and whether it is in use, its link, role and use),
 * taken under routing's lock (thread-safe). Uplink @i is view @i for every
 * reader: failover, the stream, the operator's controls, the metrics and the
 * page. Returns 0 or -ENOENT.
 */
int rt_uplinks_view(struct rt_uplinks *u, size_t i, struct mps_uplink_view *out) RT_WARN_UNUSED;

/* @up as a view: what rt_uplinks_view() returns for it (pure). */
void rt_uplink_view_of(const struct rt_uplink *up, struct mps_uplink_view *out);

/*
 * The name of the uplink that a subflow from @sa leaves from, into @name (""
 * when none): one whose address in use @sa is, by the rule failover counts
 * subflows with (mps_uplink_view_owns()). Thread-safe; used to name subflows.
 */
void rt_uplinks_name_addr(struct rt_uplinks *u, const struct sockaddr *sa, char *name, size_t size);

/*
 * Make the kernel open a fresh subflow on uplink @i, in two steps: unplug
 * closes the subflows from its endpoint (with @initial, the connection's
 * initial subflow too, if it leaves from this uplink) and removes the
 * endpoint; replug adds it again. The kernel itself retries a failed path
 * only after its retransmission back-off (up to 10 s here). Between the two
 * the peer must have heard of the removal: the fresh subflow from the initial
 * subflow's address gets its address id, 0, and a RM_ADDR 0 that reaches the
 * server after the fresh subflow's join closes that one too (seen in the lab
 * whenever the other uplink's queue held the RM_ADDR back). Unplug alone also
 * sets a slow uplink aside. Return 0 or -errno.
 */
int rt_uplinks_unplug(struct rt_uplinks *u, size_t i, bool initial) RT_WARN_UNUSED;
int rt_uplinks_replug(struct rt_uplinks *u, size_t i) RT_WARN_UNUSED;

/*
 * Set or clear the backup flag of uplink @i's endpoint (the kernel tells the
 * peer with MP_PRIO). Returns 0 or -errno.
 */
int rt_uplinks_set_backup(struct rt_uplinks *u, size_t i, bool backup) RT_WARN_UNUSED;

/*
 * The operator's controls. set_use(false) takes uplink @i out of use: its
 * subflows are closed (the initial one too) and its endpoint removed, and it
 * stays so, whatever its link does, until set_use(true) adds it again.
 * set_role() makes it a backup (used only while no primary works) or a
 * primary, its endpoint's flag included. Return 0, -ENOENT, -EOPNOTSUPP (no
 * MPTCP), -EPERM (an endpoint that was there before mpstream), or -errno.
 */
int rt_uplinks_set_use(struct rt_uplinks *u, size_t i, bool use) RT_WARN_UNUSED;
int rt_uplinks_set_role(struct rt_uplinks *u, size_t i, bool backup) RT_WARN_UNUSED;

/* 1 when net.mptcp.enabled is set in this network namespace, 0 when not, or -errno. */
int rt_mptcp_enabled(void);

#endif
