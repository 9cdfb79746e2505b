// SPDX-License-Identifier: MIT
#include "ticks.h"
#include "clock.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NS_PER_MS 1000000LL

/* When a stage runs: its row in the table of the order (ticks.h). */
enum when {
	WHEN_CONNECTED, /* with a connection */
	WHEN_FRESH,	/* in a step whose sample worked (a report on a fresh sample) */
	WHEN_JUDGED,	/* with a connection, or idle */
	WHEN_SHOWN	/* with a connection whose last sample worked, or idle */
};

static const enum when stage_when[SND_TICK_STAGES] = {
	[SND_TICK_SAMPLE] = WHEN_CONNECTED, [SND_TICK_FAILOVER] = WHEN_JUDGED,
	[SND_TICK_RATE] = WHEN_FRESH,	    [SND_TICK_PUBLISH] = WHEN_SHOWN,
	[SND_TICK_REPORT] = WHEN_FRESH,
};

struct snd_ticks {
	struct snd_ticks_config cfg;
	struct snd_tick_consumer stage[SND_TICK_STAGES]; /* cfg's, and the connection's rate */
	int64_t due_ns[SND_TICK_STAGES];		 /* 0: at the next step */
	struct snd_tick tick;				 /* the connection, the last sample */
	bool fresh; /* this step sampled the connection, and it worked */
	bool idle;  /* standby: judge and show the uplinks without a connection */
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	bool running, stop;
};

static int64_t mono_ns(void)
{
	return mps_mono_ns();
}

int snd_ticks_create(const struct snd_ticks_config *cfg, struct snd_ticks **out)
{
	struct snd_ticks *d = calloc(1, sizeof(*d));
	pthread_condattr_t attr;

	if (!d)
		return -ENOMEM;
	d->cfg = *cfg;
	if (!d->cfg.clock_ns)
		d->cfg.clock_ns = mono_ns;
	memcpy(d->stage, cfg->stage, sizeof(d->stage));
	d->stage[SND_TICK_RATE] = (struct snd_tick_consumer){0};
	d->tick.fd = -1;
	pthread_mutex_init(&d->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&d->wake, &attr);
	pthread_condattr_destroy(&attr);
	*out = d;
	return 0;
}

bool snd_ticks_connected(const struct snd_ticks *d)
{
	return d->tick.fd >= 0;
}

static bool may_run(const struct snd_ticks *d, enum snd_tick_stage s)
{
	switch (stage_when[s]) {
	case WHEN_CONNECTED:
		return snd_ticks_connected(d);
	case WHEN_FRESH:
		return d->fresh;
	case WHEN_JUDGED:
		return snd_ticks_connected(d) || d->idle;
	case WHEN_SHOWN:
		return snd_ticks_connected(d) ? d->tick.cur != NULL : d->idle;
	}
	return false;
}

/* @a + @b (@b >= 0), at most INT64_MAX: a clock near its end does not wrap. */
static int64_t add_sat(int64_t a, int64_t b)
{
	return a > INT64_MAX - b ? INT64_MAX : a + b;
}

/*
 * When stage @s wants the next step: its due time, or a period on when it is
 * late but may not run; never for a stage that runs only on a fresh sample
 * (the sample's own due time brings that step) or that may not run without a
 * connection or idle (snd_ticks_connect() and snd_ticks_set_idle() wake the
 * thread).
 */
static int64_t wanted(const struct snd_ticks *d, enum snd_tick_stage s, int64_t now_ns,
		      int64_t period)
{
	if (stage_when[s] == WHEN_FRESH || (!snd_ticks_connected(d) && !may_run(d, s)))
		return INT64_MAX;
	return d->due_ns[s] > now_ns ? d->due_ns[s] : add_sat(now_ns, period);
}

int64_t snd_ticks_step(struct snd_ticks *d, int64_t now_ns)
{
	int64_t next = INT64_MAX, want;

	d->tick.now_ns = now_ns;
	d->fresh = false;
	for (int s = 0; s < SND_TICK_STAGES; s++) {
		const struct snd_tick_consumer *c = &d->stage[s];
		int64_t period = c->period_ms * NS_PER_MS;

		if (!c->fn || period <= 0)
			continue;
		if (now_ns >= d->due_ns[s] && may_run(d, s)) {
			c->fn(c->opaque, &d->tick);
			if (s == SND_TICK_SAMPLE)
				d->fresh = d->tick.cur != NULL;
			/* On the beat; a late step runs once, not once per beat missed. */
			d->due_ns[s] = add_sat(d->due_ns[s] ? d->due_ns[s] : now_ns, period);
			if (d->due_ns[s] <= now_ns)
				d->due_ns[s] = add_sat(now_ns, period);
		}
		want = wanted(d, s, now_ns, period);
		if (want < next)
			next = want;
	}
	return next;
}

void snd_ticks_set_idle(struct snd_ticks *d, bool idle)
{
	if (!d)
		return;
	pthread_mutex_lock(&d->lock);
	d->idle = idle;
	pthread_cond_signal(&d->wake);
	pthread_mutex_unlock(&d->lock);
}

void snd_ticks_connect(struct snd_ticks *d, int fd, const struct snd_tick_consumer *rate)
{
	if (!d)
		return;
	pthread_mutex_lock(&d->lock);
	d->tick.fd = fd;
	d->tick.cur = NULL;
	d->tick.now_ns = d->cfg.clock_ns();
	d->stage[SND_TICK_RATE] = rate ? *rate : (struct snd_tick_consumer){0};
	/* Every stage on the next step, in step with the new connection's samples. */
	memset(d->due_ns, 0, sizeof(d->due_ns));
	if (d->cfg.connected)
		d->cfg.connected(d->cfg.opaque, &d->tick);
	pthread_cond_signal(&d->wake);
	pthread_mutex_unlock(&d->lock);
}

void snd_ticks_disconnect(struct snd_ticks *d)
{
	if (!d)
		return;
	pthread_mutex_lock(&d->lock);
	d->tick.now_ns = d->cfg.clock_ns();
	if (snd_ticks_connected(d) && d->cfg.disconnected)
		d->cfg.disconnected(d->cfg.opaque, &d->tick);
	d->tick.fd = -1;
	d->tick.cur = NULL;
	d->stage[SND_TICK_RATE] = (struct snd_tick_consumer){0};
	pthread_mutex_unlock(&d->lock);
}

static void *ticks_thread(void *arg)
{
	struct snd_ticks *d = arg;
	struct timespec ts;
	int64_t next;

	pthread_mutex_lock(&d->lock);
	while (!d->stop) {
		next = snd_ticks_step(d, d->cfg.clock_ns());
		if (next == INT64_MAX)
			next = d->cfg.clock_ns() +
			       1000 * NS_PER_MS; /* nothing to run: look again later */
		ts.tv_sec = next / 1000000000;
		ts.tv_nsec = next % 1000000000;
		/* Woken early by a new connection: its stages are due at once. */
		pthread_cond_timedwait(&d->wake, &d->lock, &ts);
	}
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

int snd_ticks_start(struct snd_ticks *d)
{
	int ret;

	/* The thread's waits are on CLOCK_MONOTONIC: a test's clock is stepped by hand. */
	if (d->cfg.clock_ns != mono_ns)
		return -EINVAL;
	d->stop = false;
	ret = pthread_create(&d->thread, NULL, ticks_thread, d);
	if (ret)
		return -ret;
	d->running = true;
	return 0;
}

void snd_ticks_stop(struct snd_ticks *d)
{
	if (!d)
		return;
	snd_ticks_disconnect(d);
	if (!d->running)
		return;
	pthread_mutex_lock(&d->lock);
	d->stop = true;
	pthread_cond_signal(&d->wake);
	pthread_mutex_unlock(&d->lock);
	pthread_join(d->thread, NULL);
	d->running = false;
}

void snd_ticks_destroy(struct snd_ticks *d)
{
	if (!d)
		return;
	snd_ticks_stop(d);
	pthread_mutex_destroy(&d->lock);
	pthread_cond_destroy(&d->wake);
	free(d);
}
