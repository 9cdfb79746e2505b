// SPDX-License-Identifier: MIT
/*
 * The uplinks: create them (find each uplink's address and gateway, remove an
 * earlier run's leftovers, install its table, rule and MPTCP endpoint, raise
 * the limits), destroy them (remove exactly that), answer for their state,
 * and carry out the operator's changes (unplug, replug, backup, role, use).
 * The steps live in discover.c, leftovers.c, install.c and limits.c; keeping
 * them in step with the kernel's changes, in watch.c (see rt_internal.h).
 */
#include "log.h"
#include "rt_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <linux/mptcp.h>

/*
 * An abstract unix socket is a lock scoped to the network namespace that
 * vanishes with the process: two mpstreams must not both own the tables of one
 * namespace, and a killed one must not leave a lock file behind.
 */
#define LOCK_NAME "mpstream-routing"

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
	if (cfg->cellular_cc)
		snprintf(u->cellular_cc, sizeof(u->cellular_cc), "%s", cfg->cellular_cc);
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
	ret = rt_discover(u, &usable);
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
		rt_restore_leftover_limits(u->pm);
	ret = rt_remove_leftovers(u);
	if (ret) {
		LOG_ERR(RT_TAG, "cannot remove leftovers of an earlier run: %s", step_error(ret));
		goto fail;
	}
	for (size_t i = 0; i < u->n; i++) {
		if (u->slot[i].waiting_said)
			continue;
		ret = rt_install_uplink(u, i);
		if (ret) {
			LOG_ERR(RT_TAG,
				"uplink %s: cannot install table %u, its rules and endpoints: %s",
				u->slot[i].up.ifname, u->slot[i].up.table, step_error(ret));
			goto fail;
		}
		rt_log_uplink(&u->slot[i].up, "configured");
	}
	if (u->pm && (ret = rt_raise_limits(u))) {
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
		rt_restore_limits(u->pm, &u->saved, &u->set, false);
		rt_state_forget();
	}
	for (size_t i = 0; i < u->n; i++)
		rt_uninstall_uplink(u, i);
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

_Static_assert(RT_SIDES == MPS_UPLINK_SIDES && RT_V4 == 0 && RT_V6 == 1,
	       "a view's sides are routing's");

void rt_uplink_view_of(const struct rt_uplink *up, struct mps_uplink_view *out)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", up->ifname);
	for (int k = 0; k < RT_SIDES; k++)
		out->side[k] = (struct mps_uplink_side){up->side[k].addr, up->side[k].installed};
	out->installed = up->installed;
	out->link_up = up->link_up;
	out->backup = up->backup;
	out->disabled = up->disabled;
	snprintf(out->congestion, sizeof(out->congestion), "%s", up->cc);
}

int rt_uplinks_view(struct rt_uplinks *u, size_t i, struct mps_uplink_view *out)
{
	if (!u || i >= u->n)
		return -ENOENT;
	pthread_mutex_lock(&u->lock);
	rt_uplink_view_of(&u->slot[i].up, out);
	pthread_mutex_unlock(&u->lock);
	return 0;
}

/* By failover's rule (mps_uplink_view_owner()): an address in use, not any of the uplink's. */
void rt_uplinks_name_addr(struct rt_uplinks *u, const struct sockaddr *sa, char *name, size_t size)
{
	struct mps_uplink_view views[RT_MAX_UPLINKS];
	const struct mps_uplink_view *owner;
	struct sockaddr_storage ss = {0};
	size_t n;

	name[0] = '\0';
	if (!u || (sa->sa_family != AF_INET && sa->sa_family != AF_INET6))
		return;
	memcpy(&ss, sa,
	       sa->sa_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
	pthread_mutex_lock(&u->lock);
	n = u->n;
	for (size_t i = 0; i < n; i++)
		rt_uplink_view_of(&u->slot[i].up, &views[i]);
	pthread_mutex_unlock(&u->lock);
	owner = mps_uplink_view_owner(views, n, &ss);
	if (owner)
		snprintf(name, size, "%s", owner->name);
}

/*
 * Close the connection's initial subflow if it leaves from @side's address
 * of uplink @i: id 0 with an address is the initial subflow's, and deleting
 * it closes that subflow (removing the uplink's endpoint closes only the
 * joined ones). Under lock.
 */
void rt_close_initial(struct rt_uplinks *u, size_t i, enum rt_side_index side)
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
			rt_close_initial(u, i, k);
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

int rt_kick_locked(struct rt_uplinks *u, size_t i, bool initial)
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
