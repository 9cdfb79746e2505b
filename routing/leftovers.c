// SPDX-License-Identifier: MIT
/*
 * Leftovers: the routes, rules and MPTCP endpoints a killed mpstream left
 * behind, removed at the next start (its raised limits: limits.c).
 */
#include "log.h"
#include "rt_internal.h"

#include <errno.h>
#include <stdlib.h>

#include <netlink/cache.h>

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
int rt_remove_leftovers(struct rt_uplinks *u)
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
		    rt_ip_from_nl(src, &addrs[n_addrs]))
			n_addrs++;
		if (rtnl_rule_delete(u->sk, rule, 0) == 0)
			removed++;
	}
	for (struct nl_object *o = nl_cache_get_first(routes); o; o = nl_cache_get_next(o)) {
		struct rtnl_route *r = (struct rtnl_route *)o;

		if (rtnl_route_get_protocol(r) != RT_PROTO)
			continue;
		/*
		 * libnl read the route's congctl as a u32 (its first 4 letters)
		 * and would send it back: an IPv4 delete then matches no route
		 * of a 5-letter one such as cubic. Deleted without metrics.
		 */
		rtnl_route_unset_metric(r, RTAX_CC_ALGO);
		if (rtnl_route_delete(u->sk, r, 0) == 0)
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
