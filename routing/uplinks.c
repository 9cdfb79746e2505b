// SPDX-License-Identifier: MIT
/*
 * Uplink discovery and configuration: find each uplink's address and gateway,
 * install its table, rule and MPTCP endpoint, raise the subflow limit, keep
 * them in step with the kernel's link and address changes, and on destroy
 * remove exactly that.
 */
#include "clock.h"
#include "log.h"
#include "rt_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include <linux/mptcp.h>
#include <net/if.h>
#include <netlink/cache.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>

/*
 * An abstract unix socket is a lock scoped to the network namespace that
 * vanishes with the process: two mpstreams must not both own the tables of one
 * namespace, and a killed one must not leave a lock file behind.
 */
#define LOCK_NAME "mpstream-routing"
/* The watcher looks at every uplink at least this often, events or not. */
#define RECONCILE_PERIOD_MS 1000
/* The kernel's most subflows and accepted ADD_ADDRs (MPTCP_PM_ADDR_MAX). */
#define RT_PM_LIMIT_MAX 8

_Static_assert(RT_ENDPOINT_ID_BASE + RT_SIDES * RT_MAX_UPLINKS == 256,
	       "mpstream's endpoint ids are the last ones");

/* What is installed for one side (IPv4 or IPv6) of an uplink. */
struct slot_side {
	struct rtnl_route *routes[2]; /* subnet, default */
	struct rtnl_rule *rule;
	struct rt_endpoint ep; /* installed when .id != 0 */
};

/* One uplink: what was asked, what was found, and what is installed for it. */
struct slot {
	struct rt_uplink_spec spec;
	struct rt_uplink up;
	bool waiting_said; /* "waiting for ..." logged once */
	struct slot_side side[RT_SIDES];
};

struct rt_uplinks {
	struct nl_sock *sk;
	struct rt_pm *pm;
	int lock_fd;
	size_t n;
	struct slot slot[RT_MAX_UPLINKS];
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

static int family_of(enum rt_side_index side)
{
	return side == RT_V6 ? AF_INET6 : AF_INET;
}

int rt_mptcp_enabled(void)
{
	int fd = open("/proc/sys/net/mptcp/enabled", O_RDONLY | O_CLOEXEC);
	char c = '0';
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, &c, 1);
	close(fd);
	if (n != 1)
		return -EIO;
	return c != '0';
}

int rt_mptcp_limits(unsigned *subflows, unsigned *add_addr_accepted)
{
	struct rt_limits lim = {0};
	struct rt_pm *pm;
	int ret = rt_pm_open(&pm);

	if (ret)
		return ret;
	ret = rt_pm_get_limits(pm, &lim);
	rt_pm_close(pm);
	if (!ret) {
		*subflows = lim.subflows;
		*add_addr_accepted = lim.add_addr_accepted;
	}
	return ret;
}

static int take_lock(struct rt_uplinks *u)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	socklen_t len = offsetof(struct sockaddr_un, sun_path) + 1 + strlen(LOCK_NAME);

	memcpy(sun.sun_path + 1, LOCK_NAME, strlen(LOCK_NAME));
	u->lock_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (u->lock_fd < 0)
		return -errno;
	if (bind(u->lock_fd, (struct sockaddr *)&sun, len) < 0) {
		int err = errno;

		if (err == EADDRINUSE) {
			LOG_ERR(RT_TAG, "another mpstream already configures the uplinks of this "
					"network namespace");
			return -EBUSY;
		}
		return -err;
	}
	return 0;
}

/* @na as an address of ours; false when it is not IPv4 or IPv6. */
static bool ip_from_nl(struct nl_addr *na, struct mps_ip *out)
{
	return mps_ip_set(out, nl_addr_get_family(na), nl_addr_get_binary_addr(na),
			  nl_addr_get_len(na));
}

/* An IPv6 address a subflow can leave from: global, settled, not on its way out. */
static bool usable6(struct rtnl_addr *a)
{
	return rtnl_addr_get_scope(a) == RT_SCOPE_UNIVERSE &&
	       !(rtnl_addr_get_flags(a) & (IFA_F_TENTATIVE | IFA_F_DADFAILED | IFA_F_DEPRECATED));
}

/*
 * The address of @family on @ifindex, into @s: IPv4's primary address; for
 * IPv6 a global one, a stable one (SLAAC's or DHCPv6's) before a temporary
 * one, which privacy extensions replace every day.
 */
static int find_address(struct nl_cache *addrs, int ifindex, int family, struct rt_side *s)
{
	struct rtnl_addr *best = NULL;

	for (struct nl_object *o = nl_cache_get_first(addrs); o; o = nl_cache_get_next(o)) {
		struct rtnl_addr *a = (struct rtnl_addr *)o;

		if (rtnl_addr_get_ifindex(a) != ifindex || rtnl_addr_get_family(a) != family ||
		    !rtnl_addr_get_local(a))
			continue;
		if (family == AF_INET && (rtnl_addr_get_flags(a) & IFA_F_SECONDARY))
			continue;
		if (family == AF_INET6 && !usable6(a))
			continue;
		if (!best || ((rtnl_addr_get_flags(best) & IFA_F_TEMPORARY) &&
			      !(rtnl_addr_get_flags(a) & IFA_F_TEMPORARY)))
			best = a;
	}
	if (!best || !ip_from_nl(rtnl_addr_get_local(best), &s->addr))
		return -EADDRNOTAVAIL;
	s->prefixlen = rtnl_addr_get_prefixlen(best);
	return 0;
}

/* The gateway of the main table's best default route of @family through @ifindex. */
static int find_gateway(struct nl_cache *routes, int ifindex, int family, struct rt_side *s)
{
	uint32_t best_metric = UINT32_MAX;
	int ret = -ENETUNREACH;

	for (struct nl_object *o = nl_cache_get_first(routes); o; o = nl_cache_get_next(o)) {
		struct rtnl_route *r = (struct rtnl_route *)o;
		struct nl_addr *dst = rtnl_route_get_dst(r);
		uint32_t metric = rtnl_route_get_priority(r);

		if (rtnl_route_get_family(r) != family ||
		    rtnl_route_get_table(r) != RT_TABLE_MAIN ||
		    rtnl_route_get_type(r) != RTN_UNICAST || (dst && nl_addr_get_prefixlen(dst)) ||
		    metric >= best_metric)
			continue;
		for (int i = 0; i < rtnl_route_get_nnexthops(r); i++) {
			struct rtnl_nexthop *nh = rtnl_route_nexthop_n(r, i);
			struct nl_addr *gw = rtnl_route_nh_get_gateway(nh);

			if (rtnl_route_nh_get_ifindex(nh) != ifindex)
				continue;
			memset(&s->gw, 0, sizeof(s->gw));
			if (gw && nl_addr_get_family(gw) == family)
				ip_from_nl(gw, &s->gw);
			best_metric = metric;
			ret = 0;
			break;
		}
	}
	return ret;
}

static bool is_loopback(struct nl_cache *links, int ifindex)
{
	struct rtnl_link *l = rtnl_link_get(links, ifindex);
	bool lo = l && (rtnl_link_get_flags(l) & IFF_LOOPBACK);

	rtnl_link_put(l);
	return lo;
}

/*
 * One side (@side: IPv4 or IPv6) of uplink @i as the kernel has it now, into
 * @s, which holds what was known of it before. Returns 0, or -EADDRNOTAVAIL /
 * -ENETUNREACH with @why (it may work later), or -EINVAL (a gw= off the
 * uplink's subnet: it never will).
 */
static int discover_side(const struct rt_uplink_spec *spec, struct nl_cache *addrs,
			 struct nl_cache *routes, int ifindex, enum rt_side_index side,
			 struct rt_side *s, const char **why)
{
	const struct mps_ip *spec_gw = &spec->gw[side];
	struct mps_ip old_gw = s->gw;
	int family = family_of(side);

	if (find_address(addrs, ifindex, family, s)) {
		memset(&s->addr, 0, sizeof(s->addr));
		*why = "no address";
		return -EADDRNOTAVAIL;
	}
	if (spec_gw->family) {
		/* A gateway is a neighbour: one off the subnet is never reached. */
		if (family == AF_INET && s->prefixlen < 32 &&
		    !mps_ip_same_prefix(spec_gw, &s->addr, s->prefixlen)) {
			*why = "its gw= is not on its subnet";
			return -EINVAL;
		}
		s->gw = *spec_gw;
		return 0;
	}
	if (find_gateway(routes, ifindex, family, s) == 0)
		return 0;
	/*
	 * A link that was down lost its routes, the main table's default route
	 * too: the gateway remembered from before still holds if it is in the
	 * uplink's subnet (or, for IPv6, is the router's link-local address).
	 */
	if (old_gw.family &&
	    (family == AF_INET6 ||
	     (s->prefixlen && mps_ip_same_prefix(&old_gw, &s->addr, s->prefixlen)))) {
		s->gw = old_gw;
		return 0;
	}
	*why = family == AF_INET6 ? "no IPv6 default route through it in the main table (name "
				    "the gateway with IFACE,gw=ADDR)"
				  : "no default route through it in the main table (name the "
				    "gateway with IFACE,gw=ADDR)";
	return -ENETUNREACH;
}

/*
 * Uplink @i as the kernel has it now: its interface, and each side's address
 * and gateway, into @found (a side without an address has family 0 there),
 * and which sides work (an address and a gateway) into @usable. Returns 0 when at least one side works, or -ENODEV / -EADDRNOTAVAIL /
 * -ENETUNREACH with @why (it may work later), or -EINVAL (it never will: a
 * loopback interface, a gateway off its subnet).
 */
static int discover_one(const struct rt_uplinks *u, size_t i, struct nl_cache *links,
			struct nl_cache *addrs, struct nl_cache *routes, struct rt_uplink *found,
			bool usable[RT_SIDES], const char **why)
{
	const struct rt_uplink_spec *spec = &u->slot[i].spec;
	int ret = -EADDRNOTAVAIL, side_ret[RT_SIDES];
	const char *side_why[RT_SIDES] = {"", ""};

	for (int k = 0; k < RT_SIDES; k++)
		usable[k] = false;

	found->ifindex = rtnl_link_name2i(links, spec->ifname);
	if (!found->ifindex) {
		*why = "no such interface";
		return -ENODEV;
	}
	if (is_loopback(links, found->ifindex)) {
		*why = "a loopback interface is no uplink";
		return -EINVAL;
	}
	*why = "no IPv4 or IPv6 address";
	for (int k = 0; k < RT_SIDES; k++) {
		side_ret[k] = discover_side(spec, addrs, routes, found->ifindex, k, &found->side[k],
					    &side_why[k]);
		if (side_ret[k] == -EINVAL) {
			*why = side_why[k];
			return -EINVAL;
		}
	}
	for (int k = 0; k < RT_SIDES; k++) {
		usable[k] = side_ret[k] == 0;
		if (usable[k]) {
			ret = 0;
		} else if (side_ret[k] == -ENETUNREACH && ret) {
			ret = -ENETUNREACH;
			*why = side_why[k];
		}
	}
	return ret;
}

static void log_uplink(const struct rt_uplink *up, const char *what)
{
	char text[2][128] = {"", ""}, a[MPS_IP_STRLEN], g[MPS_IP_STRLEN];

	for (int k = 0; k < RT_SIDES; k++) {
		const struct rt_side *s = &up->side[k];

		if (s->installed)
			snprintf(text[k], sizeof(text[k]), "%s%s/%d %s%s",
				 k && text[0][0] ? ", " : "", mps_ip_str(&s->addr, a), s->prefixlen,
				 s->gw.family ? "via " : "device route",
				 s->gw.family ? mps_ip_str(&s->gw, g) : "");
	}
	LOG_INFO(RT_TAG, "uplink %s: %s %s%s, table %u%s", up->ifname, what, text[0], text[1],
		 up->table, up->backup ? ", backup" : "");
}

/* Add a route we own; one that is there already (re-installation) is fine. */
static int add_route(struct rt_uplinks *u, struct rtnl_route *r)
{
	int ret = rtnl_route_add(u->sk, r, NLM_F_EXCL);

	ret = ret < 0 ? rt_nlerr_to_errno(ret) : 0;
	return ret == -EEXIST ? 0 : ret;
}

static int add_endpoint(struct rt_uplinks *u, size_t i, enum rt_side_index side)
{
	struct rt_uplink *up = &u->slot[i].up;
	struct rt_side *s = &up->side[side];
	struct rt_endpoint *existing = NULL;
	struct rt_endpoint ep = {
		.id = (uint8_t)(RT_ENDPOINT_ID_BASE + side * RT_MAX_UPLINKS + i),
		.ip = s->addr,
		.flags = MPTCP_PM_ADDR_FLAG_SUBFLOW | (up->backup ? MPTCP_PM_ADDR_FLAG_BACKUP : 0),
		.ifindex = up->ifindex,
	};
	char a[MPS_IP_STRLEN];
	size_t n_existing = 0;
	bool found = false;
	int ret = rt_pm_list_endpoints(u->pm, &existing, &n_existing);

	if (ret)
		return ret;
	for (size_t k = 0; k < n_existing; k++)
		found |= mps_ip_equal(&existing[k].ip, &s->addr);
	free(existing);
	if (found) {
		/* The user's own endpoint: use it, and leave it there at exit. */
		LOG_INFO(RT_TAG, "uplink %s: MPTCP endpoint %s exists already, kept", up->ifname,
			 mps_ip_str(&s->addr, a));
		return 0;
	}
	/* Out of use (rt_uplinks_set_use()): the endpoint waits to be added. */
	ret = up->disabled ? 0 : rt_pm_add_endpoint(u->pm, &ep);
	if (ret)
		return ret;
	u->slot[i].side[side].ep = ep;
	s->endpoint_id = ep.id;
	return 0;
}

static void uninstall_side(struct rt_uplinks *u, size_t i, enum rt_side_index side)
{
	struct rt_uplink *up = &u->slot[i].up;
	struct slot_side *ss = &u->slot[i].side[side];
	int ret;

	if (ss->ep.id && (ret = rt_pm_del_endpoint(u->pm, &ss->ep)) && ret != -ENOENT &&
	    ret != -EINVAL)
		LOG_WARN(RT_TAG, "cannot remove MPTCP endpoint %u: %s", ss->ep.id, strerror(-ret));
	memset(&ss->ep, 0, sizeof(ss->ep));
	up->side[side].endpoint_id = 0;
	if (ss->rule) {
		ret = rtnl_rule_delete(u->sk, ss->rule, 0);
		if (ret < 0 && rt_nlerr_to_errno(ret) != -ENOENT)
			LOG_WARN(RT_TAG, "cannot remove rule of table %u: %s", up->table,
				 nl_geterror(ret));
		rtnl_rule_put(ss->rule);
		ss->rule = NULL;
	}
	/* An uplink that went down took its routes with it: ENOENT is fine. */
	for (int k = 1; k >= 0; k--) {
		if (!ss->routes[k])
			continue;
		ret = rtnl_route_delete(u->sk, ss->routes[k], 0);
		if (ret < 0 && rt_nlerr_to_errno(ret) != -ENOENT &&
		    rt_nlerr_to_errno(ret) != -ESRCH)
			LOG_WARN(RT_TAG, "cannot remove route of table %u: %s", up->table,
				 nl_geterror(ret));
		rtnl_route_put(ss->routes[k]);
		ss->routes[k] = NULL;
	}
	up->side[side].installed = false;
	up->installed = up->side[RT_V4].installed || up->side[RT_V6].installed;
	if (!up->installed)
		up->link_up = false;
}

static void uninstall_uplink(struct rt_uplinks *u, size_t i)
{
	for (int k = 0; k < RT_SIDES; k++)
		uninstall_side(u, i, k);
}

/* Routes, rule and endpoint for @side's current address of uplink @i. */
static int install_side(struct rt_uplinks *u, size_t i, enum rt_side_index side)
{
	struct rt_uplink *up = &u->slot[i].up;
	struct slot_side *ss = &u->slot[i].side[side];
	int ret = rt_build_table_routes(up, side, &ss->routes[0], &ss->routes[1]);

	if (ret)
		return ret;
	for (int k = 0; k < 2; k++) {
		ret = add_route(u, ss->routes[k]);
		if (ret)
			goto fail;
	}
	ss->rule = rt_build_source_rule(up, side);
	if (!ss->rule) {
		ret = -ENOMEM;
		goto fail;
	}
	ret = rtnl_rule_add(u->sk, ss->rule, NLM_F_EXCL);
	ret = ret < 0 ? rt_nlerr_to_errno(ret) : 0;
	if (ret && ret != -EEXIST)
		goto fail;
	if (u->pm && (ret = add_endpoint(u, i, side)))
		goto fail;
	up->side[side].installed = true;
	up->installed = true;
	up->link_up = true;
	return 0;
fail:
	uninstall_side(u, i, side);
	return ret;
}

/* Every side of uplink @i that has an address (and gateway). */
static int install_uplink(struct rt_uplinks *u, size_t i)
{
	int ret = 0;

	for (int k = 0; k < RT_SIDES && !ret; k++)
		if (u->slot[i].up.side[k].addr.family)
			ret = install_side(u, i, k);
	if (ret)
		uninstall_uplink(u, i);
	return ret;
}

/*
 * Close the connection's initial subflow if it leaves from @side's address
 * of uplink @i: id 0 with an address is the initial subflow's, and deleting
 * it closes that subflow (removing the uplink's endpoint closes only the
 * joined ones). Under lock.
 */
static void close_initial(struct rt_uplinks *u, size_t i, enum rt_side_index side)
{
	const struct mps_ip *a = &u->slot[i].up.side[side].addr;
	struct rt_endpoint id0 = {.id = 0, .ip = *a};

	if (!u->pm || !a->family)
		return;
	rt_pm_del_endpoint(u->pm, &id0);
}

/* Under lock: close the subflows from @i's addresses (its endpoints removed). */
static int unplug_locked(struct rt_uplinks *u, size_t i, bool initial)
{
	struct rt_uplink *up = &u->slot[i].up;
	int ret;

	if (!u->pm || !up->installed)
		return -ENOENT;
	for (int k = 0; k < RT_SIDES; k++) {
		if (!up->side[k].installed)
			continue;
		if (initial)
			close_initial(u, i, k);
		if (!up->side[k].endpoint_id)
			continue; /* the user's endpoint: not ours to remove */
		ret = rt_pm_del_endpoint(u->pm, &u->slot[i].side[k].ep);
		if (ret && ret != -ENOENT && ret != -EINVAL)
			return ret;
	}
	return 0;
}

/* Under lock: add @i's endpoints again (the kernel opens fresh subflows from them). */
static int replug_locked(struct rt_uplinks *u, size_t i)
{
	struct rt_uplink *up = &u->slot[i].up;
	int ret;

	if (!u->pm || !up->installed)
		return -ENOENT;
	if (up->disabled)
		return 0;
	for (int k = 0; k < RT_SIDES; k++) {
		if (!up->side[k].installed || !up->side[k].endpoint_id)
			continue;
		ret = rt_pm_add_endpoint(u->pm, &u->slot[i].side[k].ep);
		if (ret && ret != -EEXIST)
			return ret;
	}
	return 0;
}

/* Whether an installed side of @up uses an endpoint that was there before mpstream. */
static bool users_endpoint(const struct rt_uplink *up)
{
	for (int k = 0; k < RT_SIDES; k++)
		if (up->side[k].installed && !up->side[k].endpoint_id)
			return true;
	return false;
}

static void set_backup_flag(struct rt_endpoint *ep, bool backup)
{
	ep->flags = (ep->flags & ~(uint32_t)MPTCP_PM_ADDR_FLAG_BACKUP) |
		    (backup ? MPTCP_PM_ADDR_FLAG_BACKUP : 0);
}

static int kick_locked(struct rt_uplinks *u, size_t i, bool initial)
{
	int ret = unplug_locked(u, i, initial);

	return ret ? ret : replug_locked(u, i);
}

int rt_uplinks_unplug(struct rt_uplinks *u, size_t i, bool initial)
{
	int ret;

	if (i >= u->n)
		return -ENOENT;
	pthread_mutex_lock(&u->lock);
	ret = unplug_locked(u, i, initial);
	pthread_mutex_unlock(&u->lock);
	return ret;
}

int rt_uplinks_replug(struct rt_uplinks *u, size_t i)
{
	int ret;

	if (i >= u->n)
		return -ENOENT;
	pthread_mutex_lock(&u->lock);
	ret = replug_locked(u, i);
	pthread_mutex_unlock(&u->lock);
	return ret;
}

int rt_uplinks_set_backup(struct rt_uplinks *u, size_t i, bool backup)
{
	int ret = -ENOENT;

	if (i >= u->n)
		return -ENOENT;
	pthread_mutex_lock(&u->lock);
	for (int k = 0; k < RT_SIDES && u->pm; k++) {
		struct rt_endpoint *mine = &u->slot[i].side[k].ep, ep = *mine;
		int r = 0;

		if (!mine->id)
			continue;
		/* Out of use, not in the kernel now: it gets the flag when it is added. */
		if (!u->slot[i].up.disabled) {
			ep.flags = backup ? MPTCP_PM_ADDR_FLAG_BACKUP : 0;
			ep.ifindex = 0;
			r = rt_pm_set_flags(u->pm, &ep);
		}
		if (!r)
			set_backup_flag(mine, backup);
		if (ret == -ENOENT || (r && !ret))
			ret = r;
	}
	pthread_mutex_unlock(&u->lock);
	return ret;
}

int rt_uplinks_set_role(struct rt_uplinks *u, size_t i, bool backup)
{
	int ret;

	if (i >= u->n)
		return -ENOENT;
	ret = rt_uplinks_set_backup(u, i, backup);
	if (ret && ret != -ENOENT)
		return ret;
	pthread_mutex_lock(&u->lock);
	u->slot[i].up.backup = backup;
	pthread_mutex_unlock(&u->lock);
	LOG_INFO(RT_TAG, "uplink %s: %s", u->slot[i].up.ifname,
		 backup ? "a backup now (used while no other uplink works)" : "a primary now");
	return 0;
}

int rt_uplinks_set_use(struct rt_uplinks *u, size_t i, bool use)
{
	struct rt_uplink *up;
	int ret = 0;

	if (i >= u->n)
		return -ENOENT;
	pthread_mutex_lock(&u->lock);
	up = &u->slot[i].up;
	if (!u->pm) {
		ret = -EOPNOTSUPP; /* plain TCP: no endpoints to take out */
	} else if (users_endpoint(up)) {
		ret = -EPERM; /* the user's own endpoint: not ours to remove */
	} else if (up->disabled == !use) {
		ret = 0;
	} else if (!use) {
		ret = up->installed ? unplug_locked(u, i, true) : 0;
		if (!ret)
			up->disabled = true;
	} else {
		up->disabled = false;
		ret = up->installed ? replug_locked(u, i) : 0;
		if (ret)
			up->disabled = true;
	}
	pthread_mutex_unlock(&u->lock);
	if (!ret)
		LOG_INFO(RT_TAG, "uplink %s: %s", up->ifname,
			 use ? "in use again" : "out of use (its endpoint removed)");
	return ret;
}

/*
 * The sides of uplink @i whose address is gone or changed (@now: what the
 * kernel has): their subflows are closed at once (the initial one too), so
 * that the kernel sends their data on the others now rather than when their
 * retransmission timers give up. Under lock.
 */
static void drop_gone_sides(struct rt_uplinks *u, size_t i, const struct rt_uplink *now)
{
	struct rt_uplink *up = &u->slot[i].up;
	char a[MPS_IP_STRLEN], b[MPS_IP_STRLEN];

	for (int k = 0; k < RT_SIDES; k++) {
		const struct rt_side *was = &up->side[k], *is = &now->side[k];

		if (!was->installed ||
		    (now->ifindex == up->ifindex && mps_ip_equal(&was->addr, &is->addr)))
			continue;
		if (is->addr.family && now->ifindex)
			LOG_INFO(RT_TAG, "uplink %s: address %s changed to %s", up->ifname,
				 mps_ip_str(&was->addr, a), mps_ip_str(&is->addr, b));
		else
			LOG_WARN(RT_TAG, "uplink %s: %s address %s gone: removed until it is back",
				 up->ifname, mps_family_name(was->addr.family),
				 mps_ip_str(&was->addr, a));
		close_initial(u, i, k);
		uninstall_side(u, i, k);
	}
}

/* Install the sides of uplink @i that work now and are not in place yet. Under lock. */
static void add_new_sides(struct rt_uplinks *u, size_t i, const struct rt_uplink *now,
			  const bool usable[RT_SIDES])
{
	struct rt_uplink *up = &u->slot[i].up;
	bool added = false;
	int ret;

	for (int k = 0; k < RT_SIDES; k++) {
		if (up->side[k].installed || !usable[k])
			continue;
		up->ifindex = now->ifindex;
		up->side[k] = now->side[k];
		up->side[k].installed = false;
		ret = install_side(u, i, k);
		if (ret)
			LOG_WARN(RT_TAG, "uplink %s: cannot install its %s side: %s", up->ifname,
				 mps_family_name(family_of(k)), strerror(-ret));
		added |= !ret;
	}
	if (added)
		log_uplink(up, "added");
}

/* Bring uplink @i in step with the kernel's caches. Under lock. */
static void reconcile_one(struct rt_uplinks *u, size_t i, struct nl_cache *links,
			  struct nl_cache *addrs, struct nl_cache *routes)
{
	struct rt_uplink *up = &u->slot[i].up, now = *up;
	struct rtnl_link *link = rtnl_link_get_by_name(links, up->ifname);
	bool admin_up = link && (rtnl_link_get_flags(link) & IFF_UP), usable[RT_SIDES];
	const char *why = "";
	int ret = discover_one(u, i, links, addrs, routes, &now, usable, &why);

	if (link)
		rtnl_link_put(link);
	if (ret == -ENODEV)
		now.ifindex = 0;
	drop_gone_sides(u, i, &now);
	if (!admin_up) {
		if (up->link_up)
			LOG_WARN(RT_TAG, "uplink %s: link down (its routes are gone)", up->ifname);
		up->link_up = false;
		return;
	}
	if (!up->installed && ret) {
		if (!u->slot[i].waiting_said)
			LOG_INFO(RT_TAG, "uplink %s: waiting: %s", up->ifname, why);
		u->slot[i].waiting_said = true;
		return;
	}
	u->slot[i].waiting_said = false;
	if (up->installed && !up->link_up) {
		/* Back up: the kernel deleted our routes when it went down. */
		for (int k = 0; k < RT_SIDES; k++)
			for (int r = 0; r < 2; r++)
				if (u->slot[i].side[k].routes[r] &&
				    (ret = add_route(u, u->slot[i].side[k].routes[r])))
					LOG_WARN(RT_TAG, "uplink %s: cannot re-install a route: %s",
						 up->ifname, strerror(-ret));
		up->link_up = true;
		kick_locked(u, i, true);
		log_uplink(up, "link up again, routes re-installed:");
	}
	add_new_sides(u, i, &now, usable);
}

static void on_cache_change(struct nl_cache *cache, struct nl_object *obj, int action, void *arg)
{
	struct rt_uplinks *u = arg;

	(void)cache;
	(void)obj;
	(void)action;
	atomic_store(&u->dirty, true);
}

/* The source (or, with @dst, destination) address of event @ev, IPv4-mapped made IPv4. */
static void event_ip(const struct rt_pm_event *ev, bool dst, struct mps_ip *out)
{
	if (ev->family == AF_INET)
		mps_ip_set(out, AF_INET, dst ? &ev->daddr : &ev->saddr, sizeof(ev->saddr));
	else
		mps_ip_set(out, AF_INET6, dst ? &ev->daddr6 : &ev->saddr6, sizeof(ev->saddr6));
}

static int on_pm_event(struct nl_msg *msg, void *arg)
{
	struct rt_uplinks *u = arg;
	struct rt_pm_event ev;
	struct mps_ip sip, dip;
	struct sockaddr_storage src;
	char s[MPS_IP_STRLEN], d[MPS_IP_STRLEN], name[IFNAMSIZ] = "", err[64] = "";
	const char *what;
	int ret = rt_pm_parse_event(nlmsg_hdr(msg), &ev);

	if (ret) {
		LOG_DEBUG(RT_TAG, "an MPTCP event without its required attributes: ignored");
		return NL_OK;
	}
	if (!(what = rt_pm_event_name(ev.type)))
		return NL_OK;
	if (ev.type != MPTCP_EVENT_SUB_ESTABLISHED && ev.type != MPTCP_EVENT_SUB_CLOSED &&
	    ev.type != MPTCP_EVENT_SUB_PRIORITY && ev.type != MPTCP_EVENT_ESTABLISHED &&
	    ev.type != MPTCP_EVENT_CLOSED)
		return NL_OK;
	if (ev.type == MPTCP_EVENT_CLOSED) {
		LOG_INFO(RT_TAG, "mptcp event %s, token %08x", what, ev.token);
		return NL_OK;
	}
	/* The initial subflow of an IPv6 socket to an IPv4 server is IPv4-mapped: IPv4 here. */
	event_ip(&ev, false, &sip);
	event_ip(&ev, true, &dip);
	mps_ip_sockaddr(&sip, 0, false, &src);
	rt_uplinks_name_addr(u, (struct sockaddr *)&src, name, sizeof(name));
	mps_ip_str(&sip, s);
	mps_ip_str(&dip, d);
	if (ev.type == MPTCP_EVENT_SUB_CLOSED && ev.error)
		snprintf(err, sizeof(err), ", error %u (%s)", ev.error, strerror(ev.error));
	LOG_INFO(RT_TAG, "mptcp event %s %s%s%s:%u -> %s%s%s:%u (%s)%s%s", what,
		 sip.family == AF_INET6 ? "[" : "", s, sip.family == AF_INET6 ? "]" : "", ev.sport,
		 dip.family == AF_INET6 ? "[" : "", d, dip.family == AF_INET6 ? "]" : "", ev.dport,
		 name[0] ? name : "-", ev.backup ? ", backup" : "", err);
	return NL_OK;
}

static void *watch_thread(void *arg)
{
	struct rt_uplinks *u = arg;
	struct nl_cache_mngr *mngr = NULL;
	struct nl_cache *links = NULL, *addrs = NULL, *routes = NULL;
	struct nl_sock *events = u->events;
	struct nl_sock *msk = nl_socket_alloc(), *sync = nl_socket_alloc();
	int64_t next = 0;
	int ret = msk && sync ? nl_connect(sync, NETLINK_ROUTE) : -NLE_NOMEM;

	if (ret >= 0)
		ret = nl_cache_mngr_alloc(msk, NETLINK_ROUTE, NL_AUTO_PROVIDE, &mngr);
	if (ret >= 0)
		ret = nl_socket_set_buffer_size(msk, 1 << 20, 0);
	if (ret >= 0)
		ret = nl_cache_mngr_add(mngr, "route/link", on_cache_change, u, &links);
	if (ret >= 0)
		ret = nl_cache_mngr_add(mngr, "route/addr", on_cache_change, u, &addrs);
	if (ret >= 0)
		ret = nl_cache_mngr_add(mngr, "route/route", on_cache_change, u, &routes);
	if (ret < 0) {
		LOG_ERR(RT_TAG, "cannot follow link changes: %s", nl_geterror(ret));
		goto out;
	}
	if (events)
		nl_socket_modify_cb(events, NL_CB_VALID, NL_CB_CUSTOM, on_pm_event, u);

	while (!atomic_load(&u->watch_stop)) {
		struct pollfd fds[2] = {
			{.fd = nl_cache_mngr_get_fd(mngr), .events = POLLIN},
			{.fd = events ? nl_socket_get_fd(events) : -1, .events = POLLIN},
		};

		if (poll(fds, 2, 100) > 0) {
			if (fds[0].revents & POLLIN)
				nl_cache_mngr_data_ready(mngr);
			if (fds[1].revents & POLLIN)
				nl_recvmsgs_default(events);
		}
		if (!atomic_exchange(&u->dirty, false) && mps_mono_ms() < next)
			continue;
		if (mps_mono_ms() >= next) {
			/*
			 * A burst of changes can overflow the manager's socket, and
			 * libnl does not resynchronise by itself: read everything
			 * again now and then.
			 */
			nl_cache_refill(sync, links);
			nl_cache_refill(sync, addrs);
			nl_cache_refill(sync, routes);
		}
		next = mps_mono_ms() + RECONCILE_PERIOD_MS;
		pthread_mutex_lock(&u->lock);
		for (size_t i = 0; i < u->n; i++)
			reconcile_one(u, i, links, addrs, routes);
		pthread_mutex_unlock(&u->lock);
	}
out:
	nl_cache_mngr_free(mngr);
	nl_socket_free(msk);
	nl_socket_free(sync);
	return NULL;
}

int rt_uplinks_watch(struct rt_uplinks *u)
{
	int ret;

	u->events = u->pm ? rt_pm_events_open() : NULL;
	ret = pthread_create(&u->watcher, NULL, watch_thread, u);
	if (ret) {
		nl_socket_free(u->events);
		u->events = NULL;
		return -ret;
	}
	u->watching = true;
	return 0;
}

/*
 * The leftover endpoints of a killed run: an id of mpstream's range and the
 * address of one of its leftover rules (@addrs). Never by id alone: after a
 * run the kernel's id counter goes on from mpstream's ids, and an endpoint
 * the administrator adds then gets one of them.
 */
static int remove_leftover_endpoints(struct rt_uplinks *u, const struct mps_ip *addrs,
				     size_t n_addrs, int *removed)
{
	struct rt_endpoint *eps = NULL;
	size_t n = 0;
	int ret = rt_pm_list_endpoints(u->pm, &eps, &n);

	if (ret)
		return ret;
	for (size_t i = 0; i < n; i++) {
		bool ours = false;

		/* The range ends at the last id there is (255). */
		if (eps[i].id < RT_ENDPOINT_ID_BASE)
			continue;
		for (size_t k = 0; k < n_addrs && !ours; k++)
			ours = mps_ip_equal(&eps[i].ip, &addrs[k]);
		if (ours && rt_pm_del_endpoint(u->pm, &eps[i]) == 0)
			(*removed)++;
	}
	free(eps);
	return 0;
}

/* Remove routes, rules and endpoints that a killed mpstream left behind. */
static int remove_leftovers(struct rt_uplinks *u)
{
	struct nl_cache *routes = NULL, *rules = NULL;
	struct mps_ip addrs[2 * RT_SIDES * RT_MAX_UPLINKS];
	size_t n_addrs = 0;
	int removed = 0, ret;

	if ((ret = rtnl_route_alloc_cache(u->sk, AF_UNSPEC, 0, &routes)) < 0 ||
	    (ret = rtnl_rule_alloc_cache(u->sk, AF_UNSPEC, &rules)) < 0) {
		ret = rt_nlerr_to_errno(ret);
		goto out;
	}
	for (struct nl_object *o = nl_cache_get_first(rules); o; o = nl_cache_get_next(o)) {
		struct rtnl_rule *rule = (struct rtnl_rule *)o;
		struct nl_addr *src = rtnl_rule_get_src(rule);
		uint8_t proto = 0;

		if (rtnl_rule_get_protocol(rule, &proto) || proto != RT_PROTO)
			continue;
		if (src && n_addrs < sizeof(addrs) / sizeof(addrs[0]) &&
		    ip_from_nl(src, &addrs[n_addrs]))
			n_addrs++;
		if (rtnl_rule_delete(u->sk, rule, 0) == 0)
			removed++;
	}
	for (struct nl_object *o = nl_cache_get_first(routes); o; o = nl_cache_get_next(o)) {
		if (rtnl_route_get_protocol((struct rtnl_route *)o) == RT_PROTO &&
		    rtnl_route_delete(u->sk, (struct rtnl_route *)o, 0) == 0)
			removed++;
	}
	if (u->pm && (ret = remove_leftover_endpoints(u, addrs, n_addrs, &removed)))
		goto out;
	if (removed)
		LOG_WARN(RT_TAG, "removed %d routes, rules and endpoints left by an earlier run",
			 removed);
	ret = 0;
out:
	nl_cache_free(routes);
	nl_cache_free(rules);
	return ret;
}

/*
 * What the limits must be for @n uplinks: a subflow from each side of each
 * (an IPv4 and an IPv6 one), and as many addresses the server announces
 * (a dual-stack server announces its other family's address: without it an
 * uplink of only that family has no peer address to reach), within the
 * kernel's maximum.
 */
static uint32_t wanted_limit(size_t n)
{
	size_t want = RT_SIDES * n;

	return (uint32_t)(want < RT_PM_LIMIT_MAX ? want : RT_PM_LIMIT_MAX);
}

static int raise_limits(struct rt_uplinks *u)
{
	struct rt_limits lim;
	uint32_t want = wanted_limit(u->n);
	int ret = rt_pm_get_limits(u->pm, &lim);

	if (ret)
		return ret;
	if (lim.subflows >= want && lim.add_addr_accepted >= want)
		return 0;
	u->saved = lim;
	lim.subflows = lim.subflows > want ? lim.subflows : want;
	lim.add_addr_accepted = lim.add_addr_accepted > want ? lim.add_addr_accepted : want;
	ret = rt_pm_set_limits(u->pm, &lim);
	if (ret)
		return ret;
	u->set = lim;
	u->limits_changed = true;
	ret = rt_state_save_limits(&u->saved, &u->set);
	if (ret)
		LOG_WARN(RT_TAG,
			 "cannot keep a note of the MPTCP limits (%s): if mpstream is killed, they "
			 "stay at subflows %u add_addr_accepted %u",
			 strerror(-ret), lim.subflows, lim.add_addr_accepted);
	LOG_INFO(RT_TAG, "MPTCP limits raised: subflows %u to %u, add_addr_accepted %u to %u",
		 u->saved.subflows, lim.subflows, u->saved.add_addr_accepted,
		 lim.add_addr_accepted);
	return 0;
}

/* One limit back to @before if it still is what mpstream made it (@set). */
static bool restore_one(const char *name, uint32_t *now, uint32_t before, uint32_t set,
			const char *whose)
{
	if (set == UINT32_MAX || before == set)
		return false;
	if (*now != set) {
		LOG_INFO(RT_TAG, "MPTCP limit %s left at %u (changed since %s set it to %u)", name,
			 *now, whose, set);
		return false;
	}
	*now = before;
	return true;
}

/*
 * Put the limits back to @before where they still are what mpstream made
 * them (@set): an administrator's own change since stays.
 */
static void restore_limits(struct rt_pm *pm, const struct rt_limits *before,
			   const struct rt_limits *set, bool leftover)
{
	const char *whose = leftover ? "an earlier run" : "mpstream";
	struct rt_limits lim;
	bool change;
	int ret = rt_pm_get_limits(pm, &lim);

	if (!ret) {
		change = restore_one("subflows", &lim.subflows, before->subflows, set->subflows,
				     whose);
		change |= restore_one("add_addr_accepted", &lim.add_addr_accepted,
				      before->add_addr_accepted, set->add_addr_accepted, whose);
		if (!change)
			return;
		ret = rt_pm_set_limits(pm, &lim);
	}
	if (ret)
		LOG_WARN(RT_TAG, "cannot restore the MPTCP limits: %s", strerror(-ret));
	else
		LOG_INFO(RT_TAG, "MPTCP limits back to subflows %u add_addr_accepted %u%s",
			 lim.subflows, lim.add_addr_accepted,
			 leftover ? " (raised by an earlier run)" : "");
}

/* The limits a killed run raised, kept in its note. */
static void restore_leftover_limits(struct rt_pm *pm)
{
	struct rt_limits before, set;

	if (rt_state_load_limits(&before, &set))
		return;
	restore_limits(pm, &before, &set, true);
	rt_state_forget();
}

static int check_config(const struct rt_config *cfg)
{
	if (cfg->n_uplinks > RT_MAX_UPLINKS) {
		LOG_ERR(RT_TAG, "at most %d uplinks", RT_MAX_UPLINKS);
		return -EINVAL;
	}
	for (size_t i = 0; i < cfg->n_uplinks; i++) {
		for (size_t k = 0; k < i; k++) {
			if (strcmp(cfg->uplinks[i].ifname, cfg->uplinks[k].ifname) == 0) {
				LOG_ERR(RT_TAG, "uplink %s is named twice", cfg->uplinks[i].ifname);
				return -EEXIST;
			}
		}
	}
	return 0;
}

static int discover(struct rt_uplinks *u, size_t *usable)
{
	struct nl_cache *links = NULL, *addrs = NULL, *routes = NULL;
	const char *why = "";
	int ret, first_err = 0;

	*usable = 0;
	if ((ret = rtnl_link_alloc_cache(u->sk, AF_UNSPEC, &links)) < 0 ||
	    (ret = rtnl_addr_alloc_cache(u->sk, &addrs)) < 0 ||
	    (ret = rtnl_route_alloc_cache(u->sk, AF_UNSPEC, 0, &routes)) < 0) {
		ret = rt_nlerr_to_errno(ret);
		LOG_ERR(RT_TAG, "cannot read the interfaces: %s", strerror(-ret));
		goto out;
	}
	for (size_t i = 0; i < u->n; i++) {
		struct rt_uplink *up = &u->slot[i].up;
		bool works[RT_SIDES];

		ret = discover_one(u, i, links, addrs, routes, up, works, &why);
		/* What does not work yet is added by the watcher when it does. */
		for (int k = 0; k < RT_SIDES; k++)
			if (!works[k])
				memset(&up->side[k].addr, 0, sizeof(up->side[k].addr));
		if (ret == -EINVAL) {
			LOG_ERR(RT_TAG, "uplink %s: %s", up->ifname, why);
			goto out;
		}
		if (ret) {
			LOG_WARN(RT_TAG, "uplink %s: %s; it is added when it works", up->ifname,
				 why);
			u->slot[i].waiting_said = true;
			if (!first_err)
				first_err = ret;
			continue;
		}
		(*usable)++;
	}
	ret = *usable ? 0 : first_err;
	if (ret)
		LOG_ERR(RT_TAG, "no uplink works");
out:
	nl_cache_free(links);
	nl_cache_free(addrs);
	nl_cache_free(routes);
	return ret;
}

static const char *step_error(int err)
{
	return err == -EPERM ? "not permitted (mpstream needs CAP_NET_ADMIN)" : strerror(-err);
}

int rt_uplinks_create(const struct rt_config *cfg, struct rt_uplinks **out)
{
	struct rt_uplinks *u;
	size_t usable = 0;
	int ret = check_config(cfg);

	if (ret)
		return ret;
	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->lock_fd = -1;
	pthread_mutex_init(&u->lock, NULL);
	u->n = cfg->n_uplinks;
	for (size_t i = 0; i < u->n; i++) {
		u->slot[i].spec = cfg->uplinks[i];
		snprintf(u->slot[i].up.ifname, sizeof(u->slot[i].up.ifname), "%s",
			 cfg->uplinks[i].ifname);
		u->slot[i].up.table = RT_TABLE_BASE + (uint32_t)i;
		u->slot[i].up.backup = cfg->uplinks[i].backup;
	}
	u->sk = nl_socket_alloc();
	if (!u->sk) {
		ret = -ENOMEM;
		goto fail;
	}
	ret = nl_connect(u->sk, NETLINK_ROUTE);
	if (ret < 0) {
		ret = rt_nlerr_to_errno(ret);
		goto fail;
	}
	ret = discover(u, &usable);
	if (ret)
		goto fail;
	ret = take_lock(u);
	if (ret)
		goto fail;
	if (cfg->mptcp) {
		ret = rt_pm_open(&u->pm);
		if (ret) {
			LOG_ERR(RT_TAG, "MPTCP path manager: %s", strerror(-ret));
			goto fail;
		}
	}
	if (u->pm)
		restore_leftover_limits(u->pm);
	ret = remove_leftovers(u);
	if (ret) {
		LOG_ERR(RT_TAG, "cannot remove leftovers of an earlier run: %s", step_error(ret));
		goto fail;
	}
	for (size_t i = 0; i < u->n; i++) {
		if (u->slot[i].waiting_said)
			continue;
		ret = install_uplink(u, i);
		if (ret) {
			LOG_ERR(RT_TAG,
				"uplink %s: cannot install table %u, its rules and endpoints: %s",
				u->slot[i].up.ifname, u->slot[i].up.table, step_error(ret));
			goto fail;
		}
		log_uplink(&u->slot[i].up, "configured");
	}
	if (u->pm && (ret = raise_limits(u))) {
		LOG_ERR(RT_TAG, "MPTCP limits: %s", step_error(ret));
		goto fail;
	}
	*out = u;
	return 0;
fail:
	rt_uplinks_destroy(u);
	return ret;
}

void rt_uplinks_destroy(struct rt_uplinks *u)
{
	if (!u)
		return;
	if (u->watching) {
		atomic_store(&u->watch_stop, true);
		pthread_join(u->watcher, NULL);
		nl_socket_free(u->events);
	}
	if (u->limits_changed) {
		restore_limits(u->pm, &u->saved, &u->set, false);
		rt_state_forget();
	}
	for (size_t i = 0; i < u->n; i++)
		uninstall_uplink(u, i);
	rt_pm_close(u->pm);
	nl_socket_free(u->sk);
	if (u->lock_fd >= 0)
		close(u->lock_fd);
	pthread_mutex_destroy(&u->lock);
	free(u);
}

size_t rt_uplinks_count(const struct rt_uplinks *u)
{
	return u ? u->n : 0;
}

int rt_uplinks_get(struct rt_uplinks *u, size_t i, struct rt_uplink *out)
{
	if (!u || i >= u->n)
		return -ENOENT;
	pthread_mutex_lock(&u->lock);
	*out = u->slot[i].up;
	pthread_mutex_unlock(&u->lock);
	return 0;
}

void rt_uplinks_name_addr(struct rt_uplinks *u, const struct sockaddr *sa, char *name, size_t size)
{
	struct mps_ip ip;

	name[0] = '\0';
	if (!u || !mps_ip_from_sockaddr(&ip, sa))
		return;
	pthread_mutex_lock(&u->lock);
	for (size_t i = 0; i < u->n && !name[0]; i++) {
		const struct rt_uplink *up = &u->slot[i].up;

		if (up->ifindex && mps_ip_equal(&up->side[rt_side_of(ip.family)].addr, &ip))
			snprintf(name, size, "%s", up->ifname);
	}
	pthread_mutex_unlock(&u->lock);
}
