// SPDX-License-Identifier: MIT
/*
 * Per-uplink routing tables and source rules, built as libnl objects. The
 * builders do no I/O so that the unit tests can inspect what would be sent.
 */
#include "rt_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>

static struct nl_addr *addr4(struct in_addr a, int prefixlen)
{
	struct nl_addr *na = nl_addr_build(AF_INET, &a, sizeof(a));

	if (na)
		nl_addr_set_prefixlen(na, prefixlen);
	return na;
}

static struct in_addr network_of(struct in_addr a, int prefixlen)
{
	uint32_t mask = prefixlen ? htonl(~0u << (32 - prefixlen)) : 0;

	return (struct in_addr){.s_addr = a.s_addr & mask};
}

static struct rtnl_route *route_new(const struct rt_uplink *u, struct in_addr dst, int dst_len,
				    uint8_t scope)
{
	struct rtnl_route *r = rtnl_route_alloc();
	struct nl_addr *d = addr4(dst, dst_len);

	if (!r || !d)
		goto fail;
	rtnl_route_set_family(r, AF_INET);
	rtnl_route_set_table(r, u->table);
	rtnl_route_set_protocol(r, RT_PROTO);
	rtnl_route_set_type(r, RTN_UNICAST);
	rtnl_route_set_scope(r, scope);
	if (rtnl_route_set_dst(r, d) < 0)
		goto fail;
	nl_addr_put(d);
	return r;
fail:
	nl_addr_put(d);
	rtnl_route_put(r);
	return NULL;
}

static int add_nexthop(struct rtnl_route *r, const struct rt_uplink *u, bool via_gw)
{
	struct rtnl_nexthop *nh = rtnl_route_nh_alloc();

	if (!nh)
		return -ENOMEM;
	rtnl_route_nh_set_ifindex(nh, u->ifindex);
	if (via_gw) {
		struct nl_addr *gw = addr4(u->gw, 32);

		if (!gw) {
			rtnl_route_nh_free(nh);
			return -ENOMEM;
		}
		rtnl_route_nh_set_gateway(nh, gw);
		nl_addr_put(gw);
		/* A gateway outside the uplink's subnet (a /32 from a modem) is reached on-link. */
		if (network_of(u->gw, u->prefixlen).s_addr !=
		    network_of(u->addr, u->prefixlen).s_addr)
			rtnl_route_nh_set_flags(nh, RTNH_F_ONLINK);
	}
	rtnl_route_add_nexthop(r, nh);
	return 0;
}

int rt_build_table_routes(const struct rt_uplink *u, struct rtnl_route **subnet,
			  struct rtnl_route **deflt)
{
	struct in_addr any = {.s_addr = INADDR_ANY};
	struct rtnl_route *s =
		route_new(u, network_of(u->addr, u->prefixlen), u->prefixlen, RT_SCOPE_LINK);
	struct rtnl_route *d = route_new(u, any, 0, RT_SCOPE_UNIVERSE);
	struct nl_addr *src = addr4(u->addr, 32);
	bool has_gw = u->gw.s_addr != INADDR_ANY;

	if (!s || !d || !src)
		goto fail;
	if (rtnl_route_set_pref_src(s, src) < 0 || add_nexthop(s, u, false) < 0)
		goto fail;
	/* Without a gateway the default route is a device route (point-to-point uplink). */
	if (!has_gw)
		rtnl_route_set_scope(d, RT_SCOPE_LINK);
	if (add_nexthop(d, u, has_gw) < 0)
		goto fail;
	nl_addr_put(src);
	*subnet = s;
	*deflt = d;
	return 0;
fail:
	nl_addr_put(src);
	rtnl_route_put(s);
	rtnl_route_put(d);
	return -ENOMEM;
}

struct rtnl_rule *rt_build_source_rule(const struct rt_uplink *u)
{
	struct rtnl_rule *rule = rtnl_rule_alloc();
	struct nl_addr *src = addr4(u->addr, 32);

	if (!rule || !src)
		goto fail;
	rtnl_rule_set_family(rule, AF_INET);
	if (rtnl_rule_set_src(rule, src) < 0)
		goto fail;
	rtnl_rule_set_table(rule, u->table);
	rtnl_rule_set_prio(rule, RT_RULE_PRIORITY);
	rtnl_rule_set_action(rule, FR_ACT_TO_TBL);
	rtnl_rule_set_protocol(rule, RT_PROTO);
	nl_addr_put(src);
	return rule;
fail:
	nl_addr_put(src);
	rtnl_rule_put(rule);
	return NULL;
}
