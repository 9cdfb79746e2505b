// SPDX-License-Identifier: MIT
#include "uplinks.h"
#include "routing.h"

_Static_assert(FO_MAX_UPLINKS >= RT_MAX_UPLINKS, "failover holds every uplink");

static int get(void *ctx, size_t i, struct mps_uplink_view *out)
{
	return rt_uplinks_view(ctx, i, out);
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
