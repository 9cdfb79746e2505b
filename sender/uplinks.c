// SPDX-License-Identifier: MIT
#include "uplinks.h"
#include "routing.h"

#include <stdio.h>

_Static_assert(FO_MAX_UPLINKS >= RT_MAX_UPLINKS, "failover holds every uplink");
_Static_assert(RT_SIDES == MPS_UPLINK_SIDES && RT_V6 == 1, "a view's sides are routing's");

static int get(void *ctx, size_t i, struct mps_uplink_view *out)
{
	struct rt_uplink up;
	int ret = rt_uplinks_get(ctx, i, &up);

	if (ret)
		return ret;
	snprintf(out->name, sizeof(out->name), "%s", up.ifname);
	for (int k = 0; k < RT_SIDES; k++)
		out->side[k] = (struct mps_uplink_side){up.side[k].addr, up.side[k].installed};
	out->installed = up.installed;
	out->link_up = up.link_up;
	out->backup = up.backup;
	out->disabled = up.disabled;
	return 0;
}

static int unplug(void *ctx, size_t i)
{
	/* The initial subflow too: a fresh one replaces it when the uplink is kicked. */
	return rt_uplinks_unplug(ctx, i, true);
}

static int replug(void *ctx, size_t i)
{
	return rt_uplinks_replug(ctx, i);
}

static int set_backup(void *ctx, size_t i, bool backup)
{
	return rt_uplinks_set_backup(ctx, i, backup);
}

const struct fo_routing_ops snd_uplink_ops = {
	.get = get,
	.unplug = unplug,
	.replug = replug,
	.set_backup = set_backup,
};

void snd_uplink_name(const struct sockaddr *local, char *name, size_t size, void *opaque)
{
	rt_uplinks_name_addr(opaque, local, name, size);
}
