// SPDX-License-Identifier: MIT
/*
 * The queue between the encoding side (session.c, passthrough.c) and the
 * network side (output.c), and the progress both update under its lock. It
 * holds at most cfg.buffer_ms of media, or the delay budget in force if more
 * (enc_session_keep_at_least()): beyond that its oldest GOPs are dropped
 * whole, so that what is sent after a stall or a reconnect stays decodable.
 */
#include "enc_internal.h"
#include "log.h"

#include <libavutil/time.h>
#include <stdlib.h>
#include <time.h>

void enc_qnode_free(struct enc_qnode *n)
{
	if (!n)
		return;
	av_packet_free(&n->pkt);
	free(n);
}

/* Under lock: drop the head up to (not including) the next video keyframe after it. */
static bool drop_oldest_gop(struct enc_session *s)
{
	struct enc_qnode *n = s->head ? s->head->next : NULL;
	int64_t frames = 0;

	while (n && !(n->video && n->key))
		n = n->next;
	if (!n)
		return false;
	while (s->head != n) {
		struct enc_qnode *old = s->head;

		frames += old->video;
		s->head = old->next;
		enc_qnode_free(old);
	}
	s->progress.dropped_frames += frames;
	s->bound_dropped += frames;
	return true;
}

/*
 * Under lock: the frames the queue's bound dropped since it last said so, if
 * it is time to say it (once per ENC_BOUND_LOG_MS at most: an outage drops a
 * GOP every GOP); 0 if not. The encoder's thread only.
 */
static int64_t bound_drops_to_say(struct enc_session *s)
{
	int64_t now = av_gettime_relative() / 1000, frames = s->bound_dropped;

	if (!frames || (s->bound_said_ms && now - s->bound_said_ms < ENC_BOUND_LOG_MS))
		return 0;
	s->bound_said_ms = now;
	s->bound_dropped = 0;
	return frames;
}

void enc_session_keep_at_least(struct enc_session *s, int ms)
{
	pthread_mutex_lock(&s->lock);
	s->keep_ms = ms > s->cfg.buffer_ms ? ms : s->cfg.buffer_ms;
	pthread_mutex_unlock(&s->lock);
}

static int queue_ms_locked(const struct enc_session *s)
{
	/* Audio and video interleave by dts: the tail may be a little older than the head. */
	return s->head && s->tail->t_us > s->head->t_us
		       ? (int)((s->tail->t_us - s->head->t_us) / 1000)
		       : 0;
}

/* Queue s->pkt, of stream @kind in its time base. */
int enc_enqueue(struct enc_session *s, enum enc_media kind)
{
	struct enc_qnode *n = calloc(1, sizeof(*n));
	int64_t dropped;
	int bound;

	if (!n)
		return AVERROR(ENOMEM);
	n->pkt = av_packet_clone(s->pkt);
	if (!n->pkt) {
		free(n);
		return AVERROR(ENOMEM);
	}
	n->pkt->stream_index = kind;
	n->video = kind == ENC_VIDEO;
	n->key = s->pkt->flags & AV_PKT_FLAG_KEY;
	n->t_us = av_rescale_q(s->pkt->dts, s->tb[kind], AV_TIME_BASE_Q);
	/* The recording keeps all: what the network queue drops too. */
	if (s->record)
		enc_record_packet(s->record, s->pkt, kind, n->key);

	pthread_mutex_lock(&s->lock);
	if (n->video)
		s->progress.video_bytes += n->pkt->size;
	if (s->skip_to_key && !(n->video && n->key)) {
		/* Cutting the delay: nothing until the keyframe. */
		s->progress.dropped_frames += n->video;
		pthread_mutex_unlock(&s->lock);
		enc_qnode_free(n);
		return 0;
	}
	s->skip_to_key = false;
	if (s->tail)
		s->tail->next = n;
	else
		s->head = n;
	s->tail = n;
	while (queue_ms_locked(s) > s->keep_ms && drop_oldest_gop(s))
		;
	s->progress.queue_ms = queue_ms_locked(s);
	bound = s->keep_ms;
	dropped = bound_drops_to_say(s);
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
	if (dropped)
		LOG_WARN(
			ENC_TAG,
			"queue full (over %d ms of media waiting for the network): dropped %" PRId64
			" frames, whole GOPs, since the last such line",
			bound, dropped);
	return 0;
}

struct enc_qnode *enc_queue_pop(struct enc_session *s, int wait_ms, bool *ended)
{
	struct enc_qnode *n;
	struct timespec ts;

	pthread_mutex_lock(&s->lock);
	if (!s->head && !s->ended && wait_ms > 0) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += wait_ms / 1000;
		ts.tv_nsec += (long)(wait_ms % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		while (!s->head && !s->ended)
			if (pthread_cond_timedwait(&s->cond, &s->lock, &ts))
				break;
	}
	n = s->head;
	if (n) {
		s->head = n->next;
		if (!s->head)
			s->tail = NULL;
		n->next = NULL;
	}
	s->progress.queue_ms = queue_ms_locked(s);
	*ended = s->ended && !s->head;
	pthread_mutex_unlock(&s->lock);
	return n;
}

bool enc_queue_start_at_keyframe(struct enc_session *s)
{
	int64_t frames = 0;
	bool found = false;

	pthread_mutex_lock(&s->lock);
	for (struct enc_qnode *n = s->head; n && !found; n = n->next)
		found = n->video && n->key;
	if (found) {
		while (!(s->head->video && s->head->key)) {
			struct enc_qnode *old = s->head;

			frames += old->video;
			s->head = old->next;
			enc_qnode_free(old);
		}
		s->progress.dropped_frames += frames;
	}
	pthread_mutex_unlock(&s->lock);
	return found;
}

int64_t enc_session_skip_to_keyframe(struct enc_session *s)
{
	struct enc_qnode *key = NULL;
	int64_t frames = 0;

	pthread_mutex_lock(&s->lock);
	for (struct enc_qnode *n = s->head; n; n = n->next)
		if (n->video && n->key)
			key = n;
	while (s->head && s->head != key) {
		struct enc_qnode *old = s->head;

		frames += old->video;
		s->head = old->next;
		enc_qnode_free(old);
	}
	if (!s->head) {
		s->tail = NULL;
		s->skip_to_key = true;
		atomic_store(&s->want_keyframe, true);
	}
	s->progress.dropped_frames += frames;
	s->progress.queue_ms = queue_ms_locked(s);
	pthread_mutex_unlock(&s->lock);
	return frames;
}

void enc_add_bytes_out(struct enc_session *s, int64_t bytes)
{
	pthread_mutex_lock(&s->lock);
	s->progress.bytes_out += bytes;
	pthread_mutex_unlock(&s->lock);
}

void enc_count_dropped(struct enc_session *s, int64_t frames)
{
	pthread_mutex_lock(&s->lock);
	s->progress.dropped_frames += frames;
	pthread_mutex_unlock(&s->lock);
}

void enc_queue_clear(struct enc_session *s)
{
	while (s->head) {
		struct enc_qnode *n = s->head;

		s->head = n->next;
		enc_qnode_free(n);
	}
	s->tail = NULL;
}
