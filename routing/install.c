// SPDX-License-Identifier: MIT
/*
 * Installation: one uplink side's routing table, source rule and MPTCP
 * endpoint, and their removal (exactly what was added).
 */
#include "log.h"
#include "rt_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/mptcp.h>

_Static_assert(RT_ENDPOINT_ID_BASE + RT_SIDES * RT_MAX_UPLINKS == 256,
	       "mpstream's endpoint ids are the last ones");

void rt_log_uplink(const struct rt_uplink *up, const char *what)
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
	LOG_INFO(RT_TAG, "uplink %s: %s %s%s, table %u%s%s%s%s%s", up->ifname, what, text[0],
		 text[1], up->table, up->backup ? ", backup" : "",
		 up->cc[0] ? ", congestion control " : "", up->cc, up->cc[0] ? " " : "",
		 up->cc_why);
}

/*
 * Uplink @i's congestion control, at each installation: cc= if given, else
 * the cellular one when the interface is a modem (it may have been replaced
 * by another device of the same name since the last time).
 */
static void choose_cc(struct rt_uplinks *u, size_t i)
{
	struct rt_uplink *up = &u->slot[i].up;
	const char *given = u->slot[i].spec.cc;
	char what[32];

	up->cc[0] = up->cc_why[0] = '\0';
	if (given[0]) {
		memcpy(up->cc, given, sizeof(up->cc));
		snprintf(up->cc_why, sizeof(up->cc_why), "(given)");
	} else if (u->cellular_cc[0] &&
		   rt_cellular_link("/sys/class/net", up->ifname, what, sizeof(what))) {
		memcpy(up->cc, u->cellular_cc, sizeof(up->cc));
		snprintf(up->cc_why, sizeof(up->cc_why), "(cellular: %s)", what);
	}
}

static int send_route(struct rt_uplinks *u, struct rtnl_route *r, const char *cc)
{
	struct nl_msg *msg;
	int ret = rt_build_route_request(r, cc, NLM_F_CREATE | NLM_F_EXCL, &msg);

	if (ret)
		return ret;
	ret = nl_send_sync(u->sk, msg); /* frees msg */
	ret = ret < 0 ? rt_nlerr_to_errno(ret) : 0;
	return ret == -EEXIST ? 0 : ret;
}

int rt_add_route(struct rt_uplinks *u, size_t i, struct rtnl_route *r)
{
	struct rt_uplink *up = &u->slot[i].up;
	int ret = send_route(u, r, up->cc);

	/*
	 * The kernel knows no such congestion control (checked at start, so a
	 * module gone since): the uplink carries the connection's own. Refused
	 * without it too (EINVAL has other causes, a gateway in a race): not the
	 * congestion control's doing, the first error stands.
	 */
	if ((ret == -EINVAL || ret == -ENOENT) && up->cc[0] && send_route(u, r, NULL) == 0) {
		LOG_WARN(RT_TAG,
			 "uplink %s: the kernel refuses congestion control %s on its "
			 "routes: its subflows run the connection's",
			 up->ifname, up->cc);
		up->cc[0] = up->cc_why[0] = '\0';
		ret = 0;
	}
	return ret;
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

void rt_uninstall_side(struct rt_uplinks *u, size_t i, enum rt_side_index side)
{
	struct rt_uplink *up = &u->slot[i].up;
	struct rt_slot_side *ss = &u->slot[i].side[side];
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

void rt_uninstall_uplink(struct rt_uplinks *u, size_t i)
{
	for (int k = 0; k < RT_SIDES; k++)
		rt_uninstall_side(u, i, k);
}

/* Routes, rule and endpoint for @side's current address of uplink @i. */
int rt_install_side(struct rt_uplinks *u, size_t i, enum rt_side_index side)
{
	struct rt_uplink *up = &u->slot[i].up;
	struct rt_slot_side *ss = &u->slot[i].side[side];
	int ret;

	if (!up->installed)
		choose_cc(u, i);
	ret = rt_build_table_routes(up, side, &ss->routes[0], &ss->routes[1]);
	if (ret)
		return ret;
	for (int k = 0; k < 2; k++) {
		ret = rt_add_route(u, i, ss->routes[k]);
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
	rt_uninstall_side(u, i, side);
	return ret;
}

/* Every side of uplink @i that has an address (and gateway). */
int rt_install_uplink(struct rt_uplinks *u, size_t i)
{
	int ret = 0;

	for (int k = 0; k < RT_SIDES && !ret; k++)
		if (u->slot[i].up.side[k].addr.family)
			ret = rt_install_side(u, i, k);
	if (ret)
		rt_uninstall_uplink(u, i);
	return ret;
}
