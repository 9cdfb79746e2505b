// SPDX-License-Identifier: MIT
/*
 * The namespace's MPTCP settings: whether MPTCP is on, and its path-manager
 * limits, raised for the uplinks and restored (a killed run's too, from its
 * note in state.c).
 */
#include "log.h"
#include "rt_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

/* The kernel's most subflows and accepted ADD_ADDRs (MPTCP_PM_ADDR_MAX). */
#define RT_PM_LIMIT_MAX 8

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

int rt_raise_limits(struct rt_uplinks *u)
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
void rt_restore_limits(struct rt_pm *pm, const struct rt_limits *before,
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
void rt_restore_leftover_limits(struct rt_pm *pm)
{
	struct rt_limits before, set;

	if (rt_state_load_limits(&before, &set))
		return;
	rt_restore_limits(pm, &before, &set, true);
	rt_state_forget();
}
