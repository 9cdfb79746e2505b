// SPDX-License-Identifier: MIT
/*
 * Discovery: an uplink's interface, and each side's address and gateway, as
 * the kernel's link, address and route caches have them now.
 */
#include "log.h"
#include "rt_internal.h"

#include <errno.h>
#include <string.h>

#include <net/if.h>
#include <netlink/cache.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>

/* @na as an address of ours; false when it is not IPv4 or IPv6. */
bool rt_ip_from_nl(struct nl_addr *na, struct mps_ip *out)
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
	if (!best || !rt_ip_from_nl(rtnl_addr_get_local(best), &s->addr))
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
				rt_ip_from_nl(gw, &s->gw);
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
	int family = rt_family_of(side);

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

/* Uplink @i's interface and sides as the kernel has them now (rt_internal.h). */
int rt_discover_one(const struct rt_uplinks *u, size_t i, struct nl_cache *links,
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

int rt_discover(struct rt_uplinks *u, size_t *usable)
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

		ret = rt_discover_one(u, i, links, addrs, routes, up, works, &why);
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
