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

/* One uplink: what was asked, what was found, and what is installed for it. */
struct slot {
	struct rt_uplink_spec spec;
	struct rt_uplink up;
	bool waiting_said;	      /* "waiting for ..." logged once */
	struct rtnl_route *routes[2]; /* installed: subnet, default */
	struct rtnl_rule *rule;	      /* installed */
	struct rt_endpoint ep;	      /* installed when .id != 0 */
};

struct rt_uplinks {
	struct nl_sock *sk;
	struct rt_pm *pm;
	int lock_fd;
	size_t n;
	struct slot slot[RT_MAX_UPLINKS];
	bool limits_changed;
	uint32_t saved_subflows; /* the subflow limit before it was raised */
	/* Everything above is under lock once the watcher runs. */
	pthread_mutex_t lock;
	pthread_t watcher;
	bool watching;
	atomic_bool watch_stop;
	atomic_bool dirty; /* a cache changed since the last reconcile */
};

static const char *ip4(struct in_addr a, char *buf)
{
	return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
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

/* The primary IPv4 address of @ifindex. */
static int find_address(struct nl_cache *addrs, struct rt_uplink *up)
{
	for (struct nl_object *o = nl_cache_get_first(addrs); o; o = nl_cache_get_next(o)) {
		struct rtnl_addr *a = (struct rtnl_addr *)o;
		struct nl_addr *local = rtnl_addr_get_local(a);

		if (rtnl_addr_get_ifindex(a) != up->ifindex || rtnl_addr_get_family(a) != AF_INET ||
		    !local || (rtnl_addr_get_flags(a) & IFA_F_SECONDARY))
			continue;
		memcpy(&up->addr, nl_addr_get_binary_addr(local), sizeof(up->addr));
		up->prefixlen = rtnl_addr_get_prefixlen(a);
		return 0;
	}
	return -EADDRNOTAVAIL;
}

/* The gateway of the main table's best default route through @ifindex. */
static int find_gateway(struct nl_cache *routes, struct rt_uplink *up)
{
	uint32_t best_metric = UINT32_MAX;
	int ret = -ENETUNREACH;

	for (struct nl_object *o = nl_cache_get_first(routes); o; o = nl_cache_get_next(o)) {
		struct rtnl_route *r = (struct rtnl_route *)o;
		struct nl_addr *dst = rtnl_route_get_dst(r);
		uint32_t metric = rtnl_route_get_priority(r);

		if (rtnl_route_get_family(r) != AF_INET ||
		    rtnl_route_get_table(r) != RT_TABLE_MAIN ||
		    rtnl_route_get_type(r) != RTN_UNICAST || (dst && nl_addr_get_prefixlen(dst)) ||
		    metric >= best_metric)
			continue;
		for (int i = 0; i < rtnl_route_get_nnexthops(r); i++) {
			struct rtnl_nexthop *nh = rtnl_route_nexthop_n(r, i);
			struct nl_addr *gw = rtnl_route_nh_get_gateway(nh);

			if (rtnl_route_nh_get_ifindex(nh) != up->ifindex)
				continue;
			up->gw.s_addr = INADDR_ANY;
			if (gw && nl_addr_get_family(gw) == AF_INET)
				memcpy(&up->gw, nl_addr_get_binary_addr(gw), sizeof(up->gw));
			best_metric = metric;
			ret = 0;
			break;
		}
	}
	return ret;
}

static bool in_subnet(struct in_addr a, const struct rt_uplink *up)
{
	return !((a.s_addr ^ up->addr.s_addr) & htonl(~0u << (32 - up->prefixlen)));
}

static bool is_loopback(struct nl_cache *links, int ifindex)
{
	struct rtnl_link *l = rtnl_link_get(links, ifindex);
	bool lo = l && (rtnl_link_get_flags(l) & IFF_LOOPBACK);

	rtnl_link_put(l);
	return lo;
}

/*
 * Uplink @i as the kernel has it now: its interface, primary address and
 * gateway, into @found. Returns 0, or -ENODEV / -EADDRNOTAVAIL / -ENETUNREACH
 * with @why (it may work later), or -EINVAL (it never will: a loopback
 * interface, a gateway off its subnet).
 */
static int discover_one(const struct rt_uplinks *u, size_t i, struct nl_cache *links,
			struct nl_cache *addrs, struct nl_cache *routes, struct rt_uplink *found,
			const char **why)
{
	const struct rt_uplink_spec *spec = &u->slot[i].spec;
	struct in_addr old_gw = found->gw;
	int ret;

	found->ifindex = rtnl_link_name2i(links, spec->ifname);
	if (!found->ifindex) {
		*why = "no such interface";
		return -ENODEV;
	}
	if (is_loopback(links, found->ifindex)) {
		*why = "a loopback interface is no uplink";
		return -EINVAL;
	}
	ret = find_address(addrs, found);
	if (ret) {
		*why = "no IPv4 address";
		return ret;
	}
	if (spec->has_gw) {
		/* A gateway is a neighbour: one off the subnet is never reached. */
		if (found->prefixlen < 32 && !in_subnet(spec->gw, found)) {
			*why = "its gw= is not on its subnet";
			return -EINVAL;
		}
		found->gw = spec->gw;
		return 0;
	}
	if (find_gateway(routes, found) == 0)
		return 0;
	/*
	 * A link that was down lost its routes, the main table's default route
	 * too: the gateway remembered from before still holds if it is in the
	 * uplink's subnet.
	 */
	if (old_gw.s_addr && found->prefixlen && in_subnet(old_gw, found)) {
		found->gw = old_gw;
		return 0;
	}
	*why = "no default route through it in the main table (name the gateway with "
	       "IFACE,gw=ADDR)";
	return -ENETUNREACH;
}

static void log_uplink(const struct rt_uplink *up, const char *what)
{
	char a[INET_ADDRSTRLEN], g[INET_ADDRSTRLEN];

	LOG_INFO(RT_TAG, "uplink %s: %s %s/%d %s%s, table %u%s", up->ifname, what, ip4(up->addr, a),
		 up->prefixlen, up->gw.s_addr ? "via " : "device route",
		 up->gw.s_addr ? ip4(up->gw, g) : "", up->table, up->backup ? ", backup" : "");
}

/* Add a route we own; one that is there already (re-installation) is fine. */
static int add_route(struct rt_uplinks *u, struct rtnl_route *r)
{
	int ret = rtnl_route_add(u->sk, r, NLM_F_EXCL);

	ret = ret < 0 ? rt_nlerr_to_errno(ret) : 0;
	return ret == -EEXIST ? 0 : ret;
}

static int add_endpoint(struct rt_uplinks *u, size_t i)
{
	struct rt_uplink *up = &u->slot[i].up;
	struct rt_endpoint *existing = NULL;
	struct rt_endpoint ep = {
		.id = (uint8_t)(RT_ENDPOINT_ID_BASE + i),
		.family = AF_INET,
		.addr4 = up->addr,
		.flags = MPTCP_PM_ADDR_FLAG_SUBFLOW | (up->backup ? MPTCP_PM_ADDR_FLAG_BACKUP : 0),
		.ifindex = up->ifindex,
	};
	char a[INET_ADDRSTRLEN];
	size_t n_existing = 0;
	bool found = false;
	int ret = rt_pm_list_endpoints(u->pm, &existing, &n_existing);

	if (ret)
		return ret;
	for (size_t k = 0; k < n_existing; k++)
		found |= existing[k].family == AF_INET &&
			 existing[k].addr4.s_addr == up->addr.s_addr;
	free(existing);
	if (found) {
		/* The user's own endpoint: use it, and leave it there at exit. */
		LOG_INFO(RT_TAG, "uplink %s: MPTCP endpoint %s exists already, kept", up->ifname,
			 ip4(up->addr, a));
		return 0;
	}
	/* Out of use (rt_uplinks_set_use()): the endpoint waits to be added. */
	ret = up->disabled ? 0 : rt_pm_add_endpoint(u->pm, &ep);
	if (ret)
		return ret;
	u->slot[i].ep = ep;
	up->endpoint_id = ep.id;
	return 0;
}

static void uninstall_uplink(struct rt_uplinks *u, size_t i)
{
	struct rt_uplink *up = &u->slot[i].up;
	int ret;

	if (u->slot[i].ep.id && (ret = rt_pm_del_endpoint(u->pm, &u->slot[i].ep)) &&
	    ret != -ENOENT && ret != -EINVAL)
		LOG_WARN(RT_TAG, "cannot remove MPTCP endpoint %u: %s", u->slot[i].ep.id,
			 strerror(-ret));
	memset(&u->slot[i].ep, 0, sizeof(u->slot[i].ep));
	up->endpoint_id = 0;
	if (u->slot[i].rule) {
		ret = rtnl_rule_delete(u->sk, u->slot[i].rule, 0);
		if (ret < 0 && rt_nlerr_to_errno(ret) != -ENOENT)
			LOG_WARN(RT_TAG, "cannot remove rule of table %u: %s", up->table,
				 nl_geterror(ret));
		rtnl_rule_put(u->slot[i].rule);
		u->slot[i].rule = NULL;
	}
	/* An uplink that went down took its routes with it: ENOENT is fine. */
	for (int k = 1; k >= 0; k--) {
		if (!u->slot[i].routes[k])
			continue;
		ret = rtnl_route_delete(u->sk, u->slot[i].routes[k], 0);
		if (ret < 0 && rt_nlerr_to_errno(ret) != -ENOENT &&
		    rt_nlerr_to_errno(ret) != -ESRCH)
			LOG_WARN(RT_TAG, "cannot remove route of table %u: %s", up->table,
				 nl_geterror(ret));
		rtnl_route_put(u->slot[i].routes[k]);
		u->slot[i].routes[k] = NULL;
	}
	up->installed = false;
	up->link_up = false;
}

/* Table, rule and endpoint for uplink @i's current address. */
static int install_uplink(struct rt_uplinks *u, size_t i)
{
	struct rt_uplink *up = &u->slot[i].up;
	struct rtnl_rule *rule;
	int ret = rt_build_table_routes(up, &u->slot[i].routes[0], &u->slot[i].routes[1]);

	if (ret)
		return ret;
	for (int k = 0; k < 2; k++) {
		ret = add_route(u, u->slot[i].routes[k]);
		if (ret)
			goto fail;
	}
	rule = rt_build_source_rule(up);
	if (!rule) {
		ret = -ENOMEM;
		goto fail;
	}
	u->slot[i].rule = rule;
	ret = rtnl_rule_add(u->sk, rule, NLM_F_EXCL);
	ret = ret < 0 ? rt_nlerr_to_errno(ret) : 0;
	if (ret && ret != -EEXIST)
		goto fail;
	if (u->pm && (ret = add_endpoint(u, i)))
		goto fail;
	up->installed = true;
	up->link_up = true;
	return 0;
fail:
	uninstall_uplink(u, i);
	return ret;
}

/*
 * Close the connection's initial subflow if it leaves from uplink @i's
 * address: id 0 with an address is the initial subflow's, and deleting it
 * closes that subflow (removing the uplink's endpoint closes only the joined
 * ones). Under lock.
 */
static void close_initial(struct rt_uplinks *u, size_t i)
{
	struct rt_endpoint id0 = {.id = 0, .family = AF_INET, .addr4 = u->slot[i].up.addr};

	if (u->pm)
		rt_pm_del_endpoint(u->pm, &id0);
}

/* Under lock: close the subflows from @i's address and open a fresh one. */
static int unplug_locked(struct rt_uplinks *u, size_t i, bool initial)
{
	struct rt_uplink *up = &u->slot[i].up;
	int ret;

	if (!u->pm || !up->installed)
		return -ENOENT;
	if (initial)
		close_initial(u, i);
	if (!up->endpoint_id)
		return 0; /* the user's endpoint: not ours to remove */
	ret = rt_pm_del_endpoint(u->pm, &u->slot[i].ep);
	if (ret && ret != -ENOENT && ret != -EINVAL)
		return ret;
	return 0;
}

static int replug_locked(struct rt_uplinks *u, size_t i)
{
	struct rt_uplink *up = &u->slot[i].up;
	int ret;

	if (!u->pm || !up->installed)
		return -ENOENT;
	if (!up->endpoint_id || up->disabled)
		return 0;
	ret = rt_pm_add_endpoint(u->pm, &u->slot[i].ep);
	return ret == -EEXIST ? 0 : ret;
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
	struct rt_endpoint ep;
	int ret = -ENOENT;

	if (i >= u->n)
		return -ENOENT;
	pthread_mutex_lock(&u->lock);
	if (u->pm && u->slot[i].ep.id && u->slot[i].up.disabled) {
		ret = 0; /* not in the kernel now: it gets the flag when it is added */
		set_backup_flag(&u->slot[i].ep, backup);
	} else if (u->pm && u->slot[i].ep.id) {
		ep = u->slot[i].ep;
		ep.flags = backup ? MPTCP_PM_ADDR_FLAG_BACKUP : 0;
		ep.ifindex = 0;
		ret = rt_pm_set_flags(u->pm, &ep);
		if (!ret)
			set_backup_flag(&u->slot[i].ep, backup);
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
	} else if (up->installed && !up->endpoint_id) {
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

/* Bring uplink @i in step with the kernel's caches. Under lock. */
static void reconcile_one(struct rt_uplinks *u, size_t i, struct nl_cache *links,
			  struct nl_cache *addrs, struct nl_cache *routes)
{
	struct rt_uplink *up = &u->slot[i].up, now = *up;
	struct rtnl_link *link = rtnl_link_get_by_name(links, up->ifname);
	bool admin_up = link && (rtnl_link_get_flags(link) & IFF_UP);
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];
	const char *why = "";
	int ret = discover_one(u, i, links, addrs, routes, &now, &why);

	if (link)
		rtnl_link_put(link);
	/*
	 * An address gone or changed: its subflows are closed at once (the initial
	 * one too), so that the kernel sends their data on the others now rather
	 * than when their retransmission timers give up.
	 */
	if (ret == -ENODEV || ret == -EADDRNOTAVAIL) {
		if (up->installed) {
			LOG_WARN(RT_TAG, "uplink %s: %s: removed until it is back", up->ifname,
				 why);
			close_initial(u, i);
			uninstall_uplink(u, i);
		}
		return;
	}
	if (up->installed && (now.addr.s_addr != up->addr.s_addr || now.ifindex != up->ifindex)) {
		LOG_INFO(RT_TAG, "uplink %s: address %s changed to %s", up->ifname,
			 ip4(up->addr, a), ip4(now.addr, b));
		close_initial(u, i);
		uninstall_uplink(u, i);
	}
	if (!admin_up) {
		if (up->link_up)
			LOG_WARN(RT_TAG, "uplink %s: link down (its routes are gone)", up->ifname);
		up->link_up = false;
		return;
	}
	if (!up->installed) {
		if (ret) {
			if (!u->slot[i].waiting_said)
				LOG_INFO(RT_TAG, "uplink %s: waiting: %s", up->ifname, why);
			u->slot[i].waiting_said = true;
			return;
		}
		u->slot[i].waiting_said = false;
		now.installed = false;
		*up = now;
		ret = install_uplink(u, i);
		if (ret)
			LOG_WARN(RT_TAG, "uplink %s: cannot install: %s", up->ifname,
				 strerror(-ret));
		else
			log_uplink(up, "added");
		return;
	}
	if (!up->link_up) {
		/* Back up: the kernel deleted our routes when it went down. */
		for (int k = 0; k < 2; k++)
			if (u->slot[i].routes[k] && (ret = add_route(u, u->slot[i].routes[k])))
				LOG_WARN(RT_TAG, "uplink %s: cannot re-install a route: %s",
					 up->ifname, strerror(-ret));
		up->link_up = true;
		kick_locked(u, i, true);
		log_uplink(up, "link up again, routes re-installed:");
	}
}

static void on_cache_change(struct nl_cache *cache, struct nl_object *obj, int action, void *arg)
{
	struct rt_uplinks *u = arg;

	(void)cache;
	(void)obj;
	(void)action;
	atomic_store(&u->dirty, true);
}

static int on_pm_event(struct nl_msg *msg, void *arg)
{
	struct rt_uplinks *u = arg;
	struct rt_pm_event ev;
	struct sockaddr_in sin = {.sin_family = AF_INET};
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN], name[IFNAMSIZ] = "", err[64] = "";
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
	if (ev.family == AF_INET) {
		sin.sin_addr = ev.saddr;
		rt_uplinks_name_addr(u, (struct sockaddr *)&sin, name, sizeof(name));
		inet_ntop(AF_INET, &ev.saddr, s, sizeof(s));
		inet_ntop(AF_INET, &ev.daddr, d, sizeof(d));
	} else {
		inet_ntop(AF_INET6, &ev.saddr6, s, sizeof(s));
		inet_ntop(AF_INET6, &ev.daddr6, d, sizeof(d));
	}
	if (ev.type == MPTCP_EVENT_SUB_CLOSED && ev.error)
		snprintf(err, sizeof(err), ", error %u (%s)", ev.error, strerror(ev.error));
	LOG_INFO(RT_TAG, "mptcp event %s %s:%u -> %s:%u (%s)%s%s", what, s, ev.sport, d, ev.dport,
		 name[0] ? name : "-", ev.backup ? ", backup" : "", err);
	return NL_OK;
}

static void *watch_thread(void *arg)
{
	struct rt_uplinks *u = arg;
	struct nl_cache_mngr *mngr = NULL;
	struct nl_cache *links = NULL, *addrs = NULL, *routes = NULL;
	struct nl_sock *events = u->pm ? rt_pm_events_open() : NULL;
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
	nl_socket_free(events);
	return NULL;
}

int rt_uplinks_watch(struct rt_uplinks *u)
{
	int ret = pthread_create(&u->watcher, NULL, watch_thread, u);

	if (ret)
		return -ret;
	u->watching = true;
	return 0;
}

/*
 * The leftover endpoints of a killed run: an id of mpstream's range and the
 * address of one of its leftover rules (@addrs). Never by id alone: after a
 * run the kernel's id counter goes on from mpstream's ids, and an endpoint
 * the administrator adds then gets one of them.
 */
static int remove_leftover_endpoints(struct rt_uplinks *u, const struct in_addr *addrs,
				     size_t n_addrs, int *removed)
{
	struct rt_endpoint *eps = NULL;
	size_t n = 0;
	int ret = rt_pm_list_endpoints(u->pm, &eps, &n);

	if (ret)
		return ret;
	for (size_t i = 0; i < n; i++) {
		bool ours = false;

		if (eps[i].id < RT_ENDPOINT_ID_BASE ||
		    eps[i].id >= RT_ENDPOINT_ID_BASE + RT_MAX_UPLINKS || eps[i].family != AF_INET)
			continue;
		for (size_t k = 0; k < n_addrs && !ours; k++)
			ours = eps[i].addr4.s_addr == addrs[k].s_addr;
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
	struct in_addr addrs[2 * RT_MAX_UPLINKS];
	size_t n_addrs = 0;
	int removed = 0, ret;

	if ((ret = rtnl_route_alloc_cache(u->sk, AF_INET, 0, &routes)) < 0 ||
	    (ret = rtnl_rule_alloc_cache(u->sk, AF_INET, &rules)) < 0) {
		ret = rt_nlerr_to_errno(ret);
		goto out;
	}
	for (struct nl_object *o = nl_cache_get_first(rules); o; o = nl_cache_get_next(o)) {
		struct rtnl_rule *rule = (struct rtnl_rule *)o;
		struct nl_addr *src = rtnl_rule_get_src(rule);
		uint8_t proto = 0;

		if (rtnl_rule_get_protocol(rule, &proto) || proto != RT_PROTO)
			continue;
		if (src && nl_addr_get_family(src) == AF_INET && n_addrs < 2 * RT_MAX_UPLINKS)
			memcpy(&addrs[n_addrs++], nl_addr_get_binary_addr(src), sizeof(addrs[0]));
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

static int raise_limits(struct rt_uplinks *u)
{
	struct rt_limits lim;
	int ret = rt_pm_get_limits(u->pm, &lim);

	if (ret)
		return ret;
	if (lim.subflows >= u->n)
		return 0;
	u->saved_subflows = lim.subflows;
	lim.subflows = (uint32_t)u->n;
	ret = rt_pm_set_limits(u->pm, &lim);
	if (ret)
		return ret;
	u->limits_changed = true;
	ret = rt_state_save_limits(u->saved_subflows, lim.subflows);
	if (ret)
		LOG_WARN(RT_TAG,
			 "cannot keep a note of the MPTCP subflow limit (%s): if mpstream is "
			 "killed, it stays at %u",
			 strerror(-ret), lim.subflows);
	LOG_INFO(RT_TAG, "MPTCP subflow limit raised from %u to %u", u->saved_subflows,
		 lim.subflows);
	return 0;
}

/*
 * Put the subflow limit back to @before if it still is what mpstream made it
 * (@set): an administrator's own change since stays, and so does every other
 * limit.
 */
static void restore_subflows(struct rt_pm *pm, uint32_t before, uint32_t set, bool leftover)
{
	const char *whose = leftover ? "an earlier run" : "mpstream";
	struct rt_limits lim;
	int ret = rt_pm_get_limits(pm, &lim);

	if (!ret && lim.subflows != set) {
		LOG_INFO(RT_TAG, "MPTCP subflow limit left at %u (changed since %s set it to %u)",
			 lim.subflows, whose, set);
		return;
	}
	if (!ret) {
		lim.subflows = before;
		ret = rt_pm_set_limits(pm, &lim);
	}
	if (ret)
		LOG_WARN(RT_TAG, "cannot restore the MPTCP subflow limit: %s", strerror(-ret));
	else
		LOG_INFO(RT_TAG, "MPTCP subflow limit back to %u%s", before,
			 leftover ? " (raised by an earlier run)" : "");
}

/* The subflow limit a killed run raised, kept in its note. */
static void restore_leftover_limits(struct rt_pm *pm)
{
	uint32_t before, set;

	if (rt_state_load_limits(&before, &set))
		return;
	restore_subflows(pm, before, set, true);
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
	    (ret = rtnl_route_alloc_cache(u->sk, AF_INET, 0, &routes)) < 0) {
		ret = rt_nlerr_to_errno(ret);
		LOG_ERR(RT_TAG, "cannot read the interfaces: %s", strerror(-ret));
		goto out;
	}
	for (size_t i = 0; i < u->n; i++) {
		struct rt_uplink *up = &u->slot[i].up;

		ret = discover_one(u, i, links, addrs, routes, up, &why);
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
				"uplink %s: cannot install table %u, its rule and endpoint: %s",
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
	}
	if (u->limits_changed) {
		restore_subflows(u->pm, u->saved_subflows, (uint32_t)u->n, false);
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
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

	name[0] = '\0';
	if (!u || sa->sa_family != AF_INET)
		return;
	pthread_mutex_lock(&u->lock);
	for (size_t i = 0; i < u->n; i++) {
		if (u->slot[i].up.ifindex && u->slot[i].up.addr.s_addr == sin->sin_addr.s_addr) {
			snprintf(name, size, "%s", u->slot[i].up.ifname);
			break;
		}
	}
	pthread_mutex_unlock(&u->lock);
}
