// SPDX-License-Identifier: MIT
/*
 * The watcher thread: follows the kernel's link, address and route changes
 * (a libnl cache manager) and reconciles each uplink with them, and logs the
 * MPTCP path manager's events.
 */
#include "clock.h"
#include "log.h"
#include "rt_internal.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <linux/mptcp.h>
#include <net/if.h>
#include <netlink/cache.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>

/* The watcher looks at every uplink at least this often, events or not. */
#define RECONCILE_PERIOD_MS 1000

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
		rt_close_initial(u, i, k);
		rt_uninstall_side(u, i, k);
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
		ret = rt_install_side(u, i, k);
		if (ret)
			LOG_WARN(RT_TAG, "uplink %s: cannot install its %s side: %s", up->ifname,
				 mps_family_name(rt_family_of(k)), strerror(-ret));
		added |= !ret;
	}
	if (added)
		rt_log_uplink(up, "added");
}

/* Bring uplink @i in step with the kernel's caches. Under lock. */
static void reconcile_one(struct rt_uplinks *u, size_t i, struct nl_cache *links,
			  struct nl_cache *addrs, struct nl_cache *routes)
{
	struct rt_uplink *up = &u->slot[i].up, now = *up;
	struct rtnl_link *link = rtnl_link_get_by_name(links, up->ifname);
	bool admin_up = link && (rtnl_link_get_flags(link) & IFF_UP), usable[RT_SIDES];
	const char *why = "";
	int ret = rt_discover_one(u, i, links, addrs, routes, &now, usable, &why);

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
				    (ret = rt_add_route(u, i, u->slot[i].side[k].routes[r])))
					LOG_WARN(RT_TAG, "uplink %s: cannot re-install a route: %s",
						 up->ifname, strerror(-ret));
		up->link_up = true;
		rt_kick_locked(u, i, true);
		rt_log_uplink(up, "link up again, routes re-installed:");
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
