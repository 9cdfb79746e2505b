// SPDX-License-Identifier: MIT
/*
 * Per-uplink routing tables and source rules, built as libnl objects, for
 * either side of an uplink (its IPv4 or its IPv6 address). The builders do no
 * I/O so that the unit tests can inspect what would be sent.
 */
#include "rt_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>

static struct nl_addr *nl_ip(const struct mps_ip *ip, int prefixlen)
{
	size_t len;
	const void *bytes = mps_ip_bytes(ip, &len);
	struct nl_addr *na = nl_addr_build(ip->family, bytes, len);

	if (na)
		nl_addr_set_prefixlen(na, prefixlen);
	return na;
}

static int host_len(int family)
{
	return family == AF_INET6 ? 128 : 32;
}

static struct rtnl_route *route_new(const struct rt_uplink *u, const struct mps_ip *dst,
				    int dst_len, uint8_t scope)
{
	struct rtnl_route *r = rtnl_route_alloc();
	struct nl_addr *d = nl_ip(dst, dst_len);

	if (!r || !d)
		goto fail;
	rtnl_route_set_family(r, (uint8_t)dst->family);
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

static int add_nexthop(struct rtnl_route *r, const struct rt_uplink *u, const struct rt_side *s,
		       bool via_gw)
{
	struct rtnl_nexthop *nh = rtnl_route_nh_alloc();

	if (!nh)
		return -ENOMEM;
	rtnl_route_nh_set_ifindex(nh, u->ifindex);
	if (via_gw) {
		struct nl_addr *gw = nl_ip(&s->gw, host_len(s->gw.family));
		bool link_local = s->gw.family == AF_INET6 && IN6_IS_ADDR_LINKLOCAL(&s->gw.v6);

		if (!gw) {
			rtnl_route_nh_free(nh);
			return -ENOMEM;
		}
		rtnl_route_nh_set_gateway(nh, gw);
		nl_addr_put(gw);
		/*
		 * A gateway outside the uplink's subnet (a /32 from a modem) is
		 * reached on-link; an IPv6 router's link-local address always is.
		 */
		if (!link_local && !mps_ip_same_prefix(&s->gw, &s->addr, s->prefixlen))
			rtnl_route_nh_set_flags(nh, RTNH_F_ONLINK);
	}
	rtnl_route_add_nexthop(r, nh);
	return 0;
}

int rt_build_table_routes(const struct rt_uplink *u, enum rt_side_index side,
			  struct rtnl_route **subnet, struct rtnl_route **deflt)
{
	const struct rt_side *s = &u->side[side];
	struct mps_ip net = mps_ip_prefix(&s->addr, s->prefixlen), any = {.family = s->addr.family};
	struct rtnl_route *sn = route_new(u, &net, s->prefixlen, RT_SCOPE_LINK);
	struct rtnl_route *d = route_new(u, &any, 0, RT_SCOPE_UNIVERSE);
	struct nl_addr *src = nl_ip(&s->addr, host_len(s->addr.family));
	bool has_gw = s->gw.family != AF_UNSPEC;

	if (!sn || !d || !src)
		goto fail;
	if (rtnl_route_set_pref_src(sn, src) < 0 || add_nexthop(sn, u, s, false) < 0)
		goto fail;
	/* Without a gateway the default route is a device route (point-to-point uplink). */
	if (!has_gw)
		rtnl_route_set_scope(d, RT_SCOPE_LINK);
	if (add_nexthop(d, u, s, has_gw) < 0)
		goto fail;
	nl_addr_put(src);
	*subnet = sn;
	*deflt = d;
	return 0;
fail:
	nl_addr_put(src);
	rtnl_route_put(sn);
	rtnl_route_put(d);
	return -ENOMEM;
}

struct rtnl_rule *rt_build_source_rule(const struct rt_uplink *u, enum rt_side_index side)
{
	const struct rt_side *s = &u->side[side];
	struct rtnl_rule *rule = rtnl_rule_alloc();
	struct nl_addr *src = nl_ip(&s->addr, host_len(s->addr.family));

	if (!rule || !src)
		goto fail;
	rtnl_rule_set_family(rule, s->addr.family);
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

int rt_build_route_request(struct rtnl_route *r, const char *cc, int flags, struct nl_msg **out)
{
	struct nl_msg *msg = NULL;
	struct nlattr *metrics;
	int ret = rtnl_route_build_add_request(r, flags, &msg);

	if (ret < 0)
		return rt_nlerr_to_errno(ret);
	/*
	 * libnl puts every metric as a u32; congctl is a string. Our routes
	 * carry no other metric, so this is the message's only RTA_METRICS.
	 */
	if (cc && cc[0]) {
		metrics = nla_nest_start(msg, RTA_METRICS);
		if (!metrics || nla_put_string(msg, RTAX_CC_ALGO, cc) < 0) {
			nlmsg_free(msg);
			return -ENOMEM;
		}
		nla_nest_end(msg, metrics);
	}
	*out = msg;
	return 0;
}
