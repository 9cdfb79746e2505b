// SPDX-License-Identifier: MIT
/*
 * Uplink discovery and configuration: find each uplink's address and gateway,
 * install its table, rule and MPTCP endpoint, raise the subflow limit, and on
 * destroy remove exactly that.
 */
#include "log.h"
#include "rt_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include <linux/mptcp.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>

/*
 * An abstract unix socket is a lock scoped to the network namespace that
 * vanishes with the process: two mpstreams must not both own the tables of one
 * namespace, and a killed one must not leave a lock file behind.
 */
#define LOCK_NAME "mpstream-routing"

struct rt_uplinks {
	struct nl_sock *sk;
	struct rt_pm *pm;
	int lock_fd;
	size_t n;
	struct rt_uplink up[RT_MAX_UPLINKS];
	struct rtnl_route *routes[RT_MAX_UPLINKS][2]; /* installed: subnet, default */
	struct rtnl_rule *rules[RT_MAX_UPLINKS];      /* installed */
	struct rt_endpoint eps[RT_MAX_UPLINKS];	      /* installed when .id != 0 */
	bool limits_changed;
	struct rt_limits saved_limits;
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

static int discover(struct rt_uplinks *u, const struct rt_config *cfg)
{
	struct nl_cache *links = NULL, *addrs = NULL, *routes = NULL;
	char a[INET_ADDRSTRLEN], g[INET_ADDRSTRLEN];
	int ret;

	if ((ret = rtnl_link_alloc_cache(u->sk, AF_UNSPEC, &links)) < 0 ||
	    (ret = rtnl_addr_alloc_cache(u->sk, &addrs)) < 0 ||
	    (ret = rtnl_route_alloc_cache(u->sk, AF_INET, 0, &routes)) < 0) {
		ret = rt_nlerr_to_errno(ret);
		LOG_ERR(RT_TAG, "cannot read the interfaces: %s", strerror(-ret));
		goto out;
	}

	for (size_t i = 0; i < cfg->n_uplinks; i++) {
		const struct rt_uplink_spec *spec = &cfg->uplinks[i];
		struct rt_uplink *up = &u->up[i];

		snprintf(up->ifname, sizeof(up->ifname), "%s", spec->ifname);
		up->table = RT_TABLE_BASE + (uint32_t)i;
		up->ifindex = rtnl_link_name2i(links, spec->ifname);
		if (!up->ifindex) {
			LOG_ERR(RT_TAG, "uplink %s: no such interface", spec->ifname);
			ret = -ENODEV;
			goto out;
		}
		ret = find_address(addrs, up);
		if (ret) {
			LOG_ERR(RT_TAG, "uplink %s: no IPv4 address", spec->ifname);
			goto out;
		}
		if (spec->has_gw) {
			up->gw = spec->gw;
		} else if ((ret = find_gateway(routes, up))) {
			LOG_ERR(RT_TAG,
				"uplink %s: no default route through it in the main table; name "
				"the "
				"gateway with --uplink %s,gw=ADDR",
				spec->ifname, spec->ifname);
			goto out;
		}
		u->n++;
		LOG_INFO(RT_TAG, "uplink %s: %s/%d %s%s, table %u", up->ifname, ip4(up->addr, a),
			 up->prefixlen, up->gw.s_addr ? "via " : "device route",
			 up->gw.s_addr ? ip4(up->gw, g) : "", up->table);
	}
	ret = 0;
out:
	nl_cache_free(links);
	nl_cache_free(addrs);
	nl_cache_free(routes);
	return ret;
}

/* Remove routes, rules and endpoints that a killed mpstream left behind. */
static int remove_leftovers(struct rt_uplinks *u)
{
	struct nl_cache *routes = NULL, *rules = NULL;
	int removed = 0, ret;

	if ((ret = rtnl_route_alloc_cache(u->sk, AF_INET, 0, &routes)) < 0 ||
	    (ret = rtnl_rule_alloc_cache(u->sk, AF_INET, &rules)) < 0) {
		ret = rt_nlerr_to_errno(ret);
		goto out;
	}
	for (struct nl_object *o = nl_cache_get_first(rules); o; o = nl_cache_get_next(o)) {
		uint8_t proto = 0;

		if (rtnl_rule_get_protocol((struct rtnl_rule *)o, &proto) == 0 &&
		    proto == RT_PROTO && rtnl_rule_delete(u->sk, (struct rtnl_rule *)o, 0) == 0)
			removed++;
	}
	for (struct nl_object *o = nl_cache_get_first(routes); o; o = nl_cache_get_next(o)) {
		if (rtnl_route_get_protocol((struct rtnl_route *)o) == RT_PROTO &&
		    rtnl_route_delete(u->sk, (struct rtnl_route *)o, 0) == 0)
			removed++;
	}
	if (u->pm) {
		struct rt_endpoint *eps = NULL;
		size_t n = 0;

		ret = rt_pm_list_endpoints(u->pm, &eps, &n);
		if (ret)
			goto out;
		for (size_t i = 0; i < n; i++) {
			if (eps[i].id >= RT_ENDPOINT_ID_BASE &&
			    eps[i].id < RT_ENDPOINT_ID_BASE + RT_MAX_UPLINKS &&
			    rt_pm_del_endpoint(u->pm, &eps[i]) == 0)
				removed++;
		}
		free(eps);
	}
	if (removed)
		LOG_WARN(RT_TAG, "removed %d routes, rules and endpoints left by an earlier run",
			 removed);
	ret = 0;
out:
	nl_cache_free(routes);
	nl_cache_free(rules);
	return ret;
}

static int install_routing(struct rt_uplinks *u, size_t i)
{
	struct rt_uplink *up = &u->up[i];
	struct rtnl_route *r[2];
	struct rtnl_rule *rule;
	int ret = rt_build_table_routes(up, &r[0], &r[1]);

	if (ret)
		return ret;
	for (int k = 0; k < 2; k++) {
		ret = rtnl_route_add(u->sk, r[k], NLM_F_EXCL);
		if (ret < 0) {
			rtnl_route_put(r[k]);
			if (k == 0)
				rtnl_route_put(r[1]);
			return rt_nlerr_to_errno(ret);
		}
		u->routes[i][k] = r[k];
	}
	rule = rt_build_source_rule(up);
	if (!rule)
		return -ENOMEM;
	ret = rtnl_rule_add(u->sk, rule, NLM_F_EXCL);
	if (ret < 0) {
		rtnl_rule_put(rule);
		return rt_nlerr_to_errno(ret);
	}
	u->rules[i] = rule;
	return 0;
}

static int install_endpoints(struct rt_uplinks *u)
{
	struct rt_endpoint *existing = NULL;
	char a[INET_ADDRSTRLEN];
	size_t n_existing = 0;
	int ret = rt_pm_list_endpoints(u->pm, &existing, &n_existing);

	if (ret)
		return ret;
	for (size_t i = 0; i < u->n; i++) {
		struct rt_uplink *up = &u->up[i];
		struct rt_endpoint ep = {
			.id = (uint8_t)(RT_ENDPOINT_ID_BASE + i),
			.family = AF_INET,
			.addr4 = up->addr,
			.flags = MPTCP_PM_ADDR_FLAG_SUBFLOW,
			.ifindex = up->ifindex,
		};
		bool found = false;

		for (size_t k = 0; k < n_existing; k++)
			found |= existing[k].family == AF_INET &&
				 existing[k].addr4.s_addr == up->addr.s_addr;
		if (found) {
			/* The user's own endpoint: use it, and leave it there at exit. */
			LOG_INFO(RT_TAG, "uplink %s: MPTCP endpoint %s exists already, kept",
				 up->ifname, ip4(up->addr, a));
			continue;
		}
		ret = rt_pm_add_endpoint(u->pm, &ep);
		if (ret) {
			LOG_ERR(RT_TAG, "uplink %s: cannot add MPTCP endpoint: %s", up->ifname,
				strerror(-ret));
			goto out;
		}
		u->eps[i] = ep;
		up->endpoint_id = ep.id;
	}
out:
	free(existing);
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
	u->saved_limits = lim;
	lim.subflows = (uint32_t)u->n;
	ret = rt_pm_set_limits(u->pm, &lim);
	if (ret)
		return ret;
	u->limits_changed = true;
	LOG_INFO(RT_TAG, "MPTCP subflow limit raised from %u to %u", u->saved_limits.subflows,
		 lim.subflows);
	return 0;
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

static const char *step_error(int err)
{
	return err == -EPERM ? "not permitted (mpstream needs CAP_NET_ADMIN)" : strerror(-err);
}

int rt_uplinks_create(const struct rt_config *cfg, struct rt_uplinks **out)
{
	struct rt_uplinks *u;
	int ret = check_config(cfg);

	if (ret)
		return ret;
	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->lock_fd = -1;
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
	ret = discover(u, cfg);
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
	ret = remove_leftovers(u);
	if (ret) {
		LOG_ERR(RT_TAG, "cannot remove leftovers of an earlier run: %s", step_error(ret));
		goto fail;
	}
	for (size_t i = 0; i < u->n; i++) {
		ret = install_routing(u, i);
		if (ret) {
			LOG_ERR(RT_TAG, "uplink %s: cannot install table %u and its rule: %s",
				u->up[i].ifname, u->up[i].table, step_error(ret));
			goto fail;
		}
	}
	if (u->pm) {
		ret = install_endpoints(u);
		if (!ret)
			ret = raise_limits(u);
		if (ret) {
			LOG_ERR(RT_TAG, "MPTCP endpoints and limits: %s", step_error(ret));
			goto fail;
		}
	}
	*out = u;
	return 0;
fail:
	rt_uplinks_destroy(u);
	return ret;
}

void rt_uplinks_destroy(struct rt_uplinks *u)
{
	int ret;

	if (!u)
		return;
	if (u->limits_changed) {
		ret = rt_pm_set_limits(u->pm, &u->saved_limits);
		if (ret)
			LOG_WARN(RT_TAG, "cannot restore MPTCP limits: %s", strerror(-ret));
	}
	for (size_t i = 0; i < RT_MAX_UPLINKS; i++) {
		if (u->eps[i].id && (ret = rt_pm_del_endpoint(u->pm, &u->eps[i])) && ret != -ENOENT)
			LOG_WARN(RT_TAG, "cannot remove MPTCP endpoint %u: %s", u->eps[i].id,
				 strerror(-ret));
		if (u->rules[i]) {
			ret = rtnl_rule_delete(u->sk, u->rules[i], 0);
			if (ret < 0 && rt_nlerr_to_errno(ret) != -ENOENT)
				LOG_WARN(RT_TAG, "cannot remove rule of table %u: %s",
					 u->up[i].table, nl_geterror(ret));
			rtnl_rule_put(u->rules[i]);
		}
		/* An uplink that went down took its routes with it: ENOENT is fine. */
		for (int k = 1; k >= 0; k--) {
			if (!u->routes[i][k])
				continue;
			ret = rtnl_route_delete(u->sk, u->routes[i][k], 0);
			if (ret < 0 && rt_nlerr_to_errno(ret) != -ENOENT)
				LOG_WARN(RT_TAG, "cannot remove route of table %u: %s",
					 u->up[i].table, nl_geterror(ret));
			rtnl_route_put(u->routes[i][k]);
		}
	}
	rt_pm_close(u->pm);
	nl_socket_free(u->sk);
	if (u->lock_fd >= 0)
		close(u->lock_fd);
	free(u);
}

size_t rt_uplinks_count(const struct rt_uplinks *u)
{
	return u ? u->n : 0;
}

const struct rt_uplink *rt_uplinks_get(const struct rt_uplinks *u, size_t i)
{
	return u && i < u->n ? &u->up[i] : NULL;
}

const struct rt_uplink *rt_uplinks_find_addr(const struct rt_uplinks *u, const struct sockaddr *sa)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

	if (!u || sa->sa_family != AF_INET)
		return NULL;
	for (size_t i = 0; i < u->n; i++) {
		if (u->up[i].addr.s_addr == sin->sin_addr.s_addr)
			return &u->up[i];
	}
	return NULL;
}
