/* SPDX-License-Identifier: MIT */
/*
 * The driver: the run's one loop of periodic work. One thread, from setup to
 * teardown, that owns the clock and calls the consumers in this order, each
 * at its own period:
 *
 *   SND_TICK_SAMPLE    the connection's counters        connected
 *   SND_TICK_FAILOVER  the uplinks judged, acted on     connected, or idle
 *   SND_TICK_RATE      rate control                     a fresh sample
 *   SND_TICK_PUBLISH   the metrics and the page         the last sample worked, or idle
 *   SND_TICK_REPORT    the log line and the CSV         a fresh sample
 *
 * "Connected": the stream handed the driver a connection (snd_ticks_connect())
 * and has not taken it back. "A fresh sample": this very step sampled the
 * connection and it worked (a report due between two samples waits for the
 * next). "Idle": standby, said by snd_ticks_set_idle(): the uplinks are judged
 * by their links alone and shown. Between connections of a live period (the
 * first attempt, a reconnect's back-off) nothing runs but the clock. The
 * consumers run under the driver's lock, so once snd_ticks_disconnect()
 * returns none of them uses the connection or the rate consumer's data again;
 * a hand-over waits for a step in progress (a few ms of netlink at most).
 *
 * The driver knows nothing of what its consumers do (sender/monitor.h reads
 * the connection, logs and publishes; failover/failover.h judges the uplinks;
 * sender/stream.c controls the rate); snd_ticks_step() runs them on any clock,
 * a test's included.
 */
#ifndef MPS_SENDER_TICKS_H
#define MPS_SENDER_TICKS_H

#include <stdbool.h>
#include <stdint.h>

enum snd_tick_stage {
	SND_TICK_SAMPLE,
	SND_TICK_FAILOVER,
	SND_TICK_RATE,
	SND_TICK_PUBLISH,
	SND_TICK_REPORT,
	SND_TICK_STAGES
};

struct conn_snapshot;
struct conn_stream_status;

/* What a tick hands its consumers; the sample fills in @cur and @status. */
struct snd_tick {
	int64_t now_ns;			   /* the driver's clock (CLOCK_MONOTONIC, or a test's) */
	int fd;				   /* the connection's socket; -1: not connected */
	const struct conn_snapshot *cur;   /* the last sample; NULL: none, or it failed */
	struct conn_stream_status *status; /* the stream's part of the reports (rate fills it) */
};

typedef void (*snd_tick_fn)(void *opaque, struct snd_tick *t);

struct snd_tick_consumer {
	snd_tick_fn fn; /* NULL: none at this stage */
	void *opaque;
	int64_t period_ms; /* 0 or less: never run */
};

struct snd_ticks_config {
	/* By stage; SND_TICK_RATE's comes with each connection (snd_ticks_connect()). */
	struct snd_tick_consumer stage[SND_TICK_STAGES];
	/*
	 * Under the lock, when a connection is handed over (its counters start
	 * again) and taken back (a last report, and the page told); may be NULL.
	 */
	void (*connected)(void *opaque, struct snd_tick *t);
	void (*disconnected)(void *opaque, struct snd_tick *t);
	void *opaque;
	/* NULL: CLOCK_MONOTONIC; a test's otherwise (then stepped by hand, no thread). */
	int64_t (*clock_ns)(void);
};

struct snd_ticks;

/* Returns 0 or -errno. The thread is not started: snd_ticks_start(). */
int snd_ticks_create(const struct snd_ticks_config *cfg, struct snd_ticks **out)
	__attribute__((warn_unused_result));

/* Start the thread on CLOCK_MONOTONIC. Returns 0 or -errno (-EINVAL with a test's clock). */
int snd_ticks_start(struct snd_ticks *d) __attribute__((warn_unused_result));

/* Stop the thread (a connection still held is taken back first). NULL is fine. */
void snd_ticks_stop(struct snd_ticks *d);

void snd_ticks_destroy(struct snd_ticks *d);

/*
 * Hand over the connection's socket @fd, and the rate consumer for it (@rate
 * NULL or its fn NULL: none). Its stages start at the next tick. NULL @d is fine.
 */
void snd_ticks_connect(struct snd_ticks *d, int fd, const struct snd_tick_consumer *rate);

/* Take the connection back (before it is closed); nothing to take back is fine. */
void snd_ticks_disconnect(struct snd_ticks *d);

/* Standby (true) or not: without a connection, judge and show the uplinks. NULL is fine. */
void snd_ticks_set_idle(struct snd_ticks *d, bool idle);

/*
 * Run every consumer due at @now_ns, in the stages' order, and return when
 * the next one is due. The thread calls it; a test may instead, with its own
 * clock (without starting the thread).
 */
int64_t snd_ticks_step(struct snd_ticks *d, int64_t now_ns);

/* With a connection; a consumer may call it (the lock is held). */
bool snd_ticks_connected(const struct snd_ticks *d);

#endif
