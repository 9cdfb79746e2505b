/* SPDX-License-Identifier: MIT */
/*
 * routing's uplinks (routing.h) and their modems (modem.h) as failover's
 * routing operations, and the subflows' namer.
 */
#ifndef MPS_SENDER_UPLINKS_H
#define MPS_SENDER_UPLINKS_H

#include "failover.h"
#include "modem.h"

#include <stddef.h>
#include <sys/socket.h>

struct rt_uplinks;
struct modem_watch;

/* Failover's operations' context: routing's uplinks, and their modems (NULL: none watched). */
struct snd_uplinks {
	struct rt_uplinks *rt;
	struct modem_watch *modems;
};

/* Failover's operations on a struct snd_uplinks (their context). */
extern const struct fo_routing_ops snd_uplink_ops;

/* A modem's radio as failover reads it (fo_radio: registered, and a few words for the log). */
void snd_radio_of(const struct modem_radio *r, struct fo_radio *out);

/* A conn_uplink_namer: the uplink whose address is @local's; @opaque is a struct rt_uplinks. */
void snd_uplink_name(const struct sockaddr *local, char *name, size_t size, void *opaque);

#endif
