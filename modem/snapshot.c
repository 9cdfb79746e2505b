// SPDX-License-Identifier: MIT
/*
 * The watch's shared side: what its thread publishes (each uplink's radio, the
 * status, the generation) and what any other thread reads, under its lock.
 */
#include "watch_internal.h"
#include "radio.h"

#include <errno.h>
#include <string.h>
#include <time.h>

void mw_publish(struct mm_watch *w, struct mm_slot *slot, const struct modem_radio *r)
{
	pthread_mutex_lock(&w->lock);
	if (!modem_radio_equal(&slot->radio, r)) {
		w->generation++;
		slot->radio = *r;
		slot->radio.generation = w->generation;
		pthread_cond_broadcast(&w->changed);
	}
	pthread_mutex_unlock(&w->lock);
}

void mw_set_status(struct mm_watch *w, enum mm_watch_status status)
{
	pthread_mutex_lock(&w->lock);
	if (w->status != status) {
		w->status = status;
		w->generation++;
		pthread_cond_broadcast(&w->changed);
	}
	pthread_mutex_unlock(&w->lock);
}

int mm_watch_get(struct mm_watch *w, const char *ifname, struct modem_radio *out)
{
	int rc = -ENOENT;

	modem_radio_unknown(out);
	pthread_mutex_lock(&w->lock);
	for (size_t i = 0; i < w->n; i++)
		if (!strcmp(w->slots[i].ifname, ifname)) {
			*out = w->slots[i].radio;
			rc = 0;
			break;
		}
	pthread_mutex_unlock(&w->lock);
	return rc;
}

uint64_t mm_watch_generation(struct mm_watch *w)
{
	pthread_mutex_lock(&w->lock);
	uint64_t g = w->generation;
	pthread_mutex_unlock(&w->lock);
	return g;
}

enum mm_watch_status mm_watch_status(struct mm_watch *w)
{
	pthread_mutex_lock(&w->lock);
	enum mm_watch_status s = w->status;
	pthread_mutex_unlock(&w->lock);
	return s;
}

uint64_t mm_watch_wait(struct mm_watch *w, uint64_t after, int timeout_ms)
{
	struct timespec end;

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += timeout_ms / 1000;
	end.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (end.tv_nsec >= 1000000000L) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&w->lock);
	while (w->generation <= after) {
		if (timeout_ms < 0)
			pthread_cond_wait(&w->changed, &w->lock);
		else if (pthread_cond_timedwait(&w->changed, &w->lock, &end) == ETIMEDOUT)
			break;
	}
	uint64_t g = w->generation;
	pthread_mutex_unlock(&w->lock);
	return g;
}
