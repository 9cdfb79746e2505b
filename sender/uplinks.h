/* SPDX-License-Identifier: MIT */
/* routing's uplinks (routing.h) as failover's routing operations, and the subflows' namer. */
#ifndef MPS_SENDER_UPLINKS_H
#define MPS_SENDER_UPLINKS_H

#include "failover.h"

#include <stddef.h>
#include <sys/socket.h>

/* Failover's operations on a struct rt_uplinks (their context). */
extern const struct fo_routing_ops snd_uplink_ops;

/* A conn_uplink_namer: the uplink whose address is @local's; @opaque is a struct rt_uplinks. */
void snd_uplink_name(const struct sockaddr *local, char *name, size_t size, void *opaque);

#endif
