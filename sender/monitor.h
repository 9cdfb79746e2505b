/* SPDX-License-Identifier: MIT */
/*
 * The monitor: one thread that, every SND_MONITOR_FAILOVER_TICK_MS while
 * connected, reads the connection's snapshot (conn/sample.h) and hands it to
 * failover (failover/failover.h); every SND_MONITOR_TICK_MS also, in this
 * order, to the stream's tick (rate control, stream.c) and to the web server
 * (web/web.h: the metrics, the operator's page); and every interval logs a
 * line and writes the CSV (conn/snapshot.h). It owns no decision: each of
 * those has its own module.
 */
#ifndef MPS_SENDER_MONITOR_H
#define MPS_SENDER_MONITOR_H

#include "snapshot.h"

#include <stdbool.h>

#define SND_MONITOR_TICK_MS 100
/*
 * Failover looks more often: a dead path is released a few of its round trips
 * after its last ACK (failover/health.h), and every tick of waiting is a tick
 * the viewer's picture stands still.
 */
#define SND_MONITOR_FAILOVER_TICK_MS 50

struct failover;
struct web;
struct snd_monitor;

struct snd_monitor_config {
	double interval_s;
	const char *csv_path;	/* NULL: log only */
	const char *trace_path; /* the kernel's counters at every failover tick; NULL: none */
	conn_uplink_namer namer;
	void *opaque;
	struct failover *failover; /* NULL: no uplinks to judge */
	struct web *web;	   /* NULL: none */
};

/* Opens the CSV file. Returns 0 or -errno (it cannot be created). */
int snd_monitor_create(const struct snd_monitor_config *cfg, struct snd_monitor **out)
	__attribute__((warn_unused_result));

/*
 * Called every tick, on the monitor's thread, with the connection's socket
 * and the new snapshot (rate control); fills the stream's part of the
 * reports. Set it while the thread is not running.
 */
typedef void (*snd_monitor_tick_fn)(void *opaque, int fd, const struct conn_snapshot *cur,
				    struct conn_stream_status *out);
void snd_monitor_set_tick(struct snd_monitor *m, snd_monitor_tick_fn fn, void *opaque);

/* Start sampling @fd (a new connection). Returns 0 or -errno. */
int snd_monitor_start(struct snd_monitor *m, int fd) __attribute__((warn_unused_result));

/* Stop the thread (before @fd is closed) and log a last line. NULL is fine. */
void snd_monitor_stop(struct snd_monitor *m);

/*
 * While there is no connection (standby): judge the uplinks by their links
 * alone and publish them. Called on the stream's thread while the monitor's
 * thread is not running.
 */
void snd_monitor_idle(struct snd_monitor *m);

void snd_monitor_destroy(struct snd_monitor *m);

/* True when the CSV could not be written (said in the log): the run ends with exit 1. */
bool snd_monitor_failed(const struct snd_monitor *m);

#endif
