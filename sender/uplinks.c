// SPDX-License-Identifier: MIT
#include "uplinks.h"
#include "routing.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

_Static_assert(FO_MAX_UPLINKS >= RT_MAX_UPLINKS, "failover holds every uplink");

static int get(void *ctx, size_t i, struct mps_uplink_view *out)
{
	struct snd_uplinks *u = ctx;

	return rt_uplinks_view(u->rt, i, out);
}

static int unplug(void *ctx, size_t i)
{
	/* The initial subflow too: a fresh one replaces it when the uplink is kicked. */
	return rt_uplinks_unplug(((struct snd_uplinks *)ctx)->rt, i, true);
}

static int replug(void *ctx, size_t i)
{
	return rt_uplinks_replug(((struct snd_uplinks *)ctx)->rt, i);
}

static int set_backup(void *ctx, size_t i, bool backup)
{
	return rt_uplinks_set_backup(((struct snd_uplinks *)ctx)->rt, i, backup);
}

void snd_radio_of(const struct modem_radio *r, struct fo_radio *out)
{
	memset(out, 0, sizeof(*out));
	out->modem = r->present;
	out->registered = modem_radio_on_network(r);
	modem_radio_words(r, out->said, sizeof(out->said));
}

/* The uplink's modem, as the watch last saw it: -ENODEV when it is none. */
static int radio(void *ctx, size_t i, struct fo_radio *out)
{
	struct snd_uplinks *u = ctx;
	struct mps_uplink_view v;
	struct modem_radio r;

	if (!u->modems || rt_uplinks_view(u->rt, i, &v) || modem_watch_get(u->modems, v.name, &r) ||
	    !r.present)
		return -ENODEV;
	snd_radio_of(&r, out);
	return 0;
}

const struct fo_routing_ops snd_uplink_ops = {
	.get = get,
	.unplug = unplug,
	.replug = replug,
	.set_backup = set_backup,
	.radio = radio,
};

void snd_uplink_name(const struct sockaddr *local, char *name, size_t size, void *opaque)
{
	rt_uplinks_name_addr(opaque, local, name, size);
}
