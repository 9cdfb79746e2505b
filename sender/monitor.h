/* SPDX-License-Identifier: MIT */
/*
 * The monitor: the driver's consumers (sender/ticks.h) that read the
 * connection and tell what it does. Every SND_MONITOR_FAILOVER_TICK_MS while
 * connected it samples the connection's counters (conn/sample.h, and the
 * --trace), and hands the sample to failover (failover/failover.h) at the
 * same period, connected or not; every SND_MONITOR_TICK_MS it publishes the
 * metrics and the operator's page (web/web.h); every interval it logs a line
 * and writes the CSV (conn/snapshot.h). It owns no decision: each of those
 * has its own module; rate control is the stream's (stream.c).
 */
#ifndef MPS_SENDER_MONITOR_H
#define MPS_SENDER_MONITOR_H

#include "snapshot.h"
#include "ticks.h"

#include <stdbool.h>

/*
 * Rate control (sender/stream.c) and the page: one period, so that the page
 * shows what rate control wrote in the same step.
 */
#define SND_MONITOR_TICK_MS 100
/*
 * Failover looks more often: a dead path is released a few of its round trips
 * after its last ACK (failover/health.h), and every tick of waiting is a tick
 * the viewer's picture stands still.
 */
#define SND_MONITOR_FAILOVER_TICK_MS 50

struct failover;
struct web;
struct modem_watch;
struct snd_monitor;

struct snd_monitor_config {
	double interval_s;
	const char *csv_path;	/* NULL: log only */
	const char *trace_path; /* the kernel's counters at every failover tick; NULL: none */
	conn_uplink_namer namer;
	void *opaque;
	struct failover *failover;  /* NULL: no uplinks to judge */
	struct web *web;	    /* NULL: none */
	struct modem_watch *modems; /* the uplinks' modems, shown; NULL: none */
	/* Reads a snapshot from the connection: NULL, conn_sample(); a test's otherwise. */
	int (*sampler)(int fd, struct conn_snapshot *out);
};

/* Opens the CSV file. Returns 0 or -errno (it cannot be created). */
int snd_monitor_create(const struct snd_monitor_config *cfg, struct snd_monitor **out)
	__attribute__((warn_unused_result));

/*
 * The monitor's stages for the driver: SND_TICK_SAMPLE, SND_TICK_FAILOVER
 * (with a failover), SND_TICK_PUBLISH (with a web server), SND_TICK_REPORT,
 * and the hooks for a connection handed over and taken back.
 */
void snd_monitor_consumers(struct snd_monitor *m, struct snd_ticks_config *cfg);

/* After the driver that runs its consumers (snd_ticks_destroy()). */
void snd_monitor_destroy(struct snd_monitor *m);

/* True when the CSV could not be written (said in the log): the run ends with exit 1. */
bool snd_monitor_failed(const struct snd_monitor *m);

#endif
