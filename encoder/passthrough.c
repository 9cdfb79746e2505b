// SPDX-License-Identifier: MIT
/*
 * --copy of a live input: a camera that encodes H.264 itself. Its video
 * packets go to the server as they are; while it is lost, the session encodes
 * the slate with x264 at the stream's size and rate, and the camera's stream
 * resumes at its next keyframe. Every keyframe carries its own parameter sets
 * as new extradata, so the FLV muxer sends a new AVC sequence header at each
 * switch (and after a reconnect, whose header has the slate's): what the
 * server gets decodes throughout. The sound is the session's AAC (decoded and
 * encoded again), continuous through the slate.
 *
 * The reader thread (live.c) puts each video packet here with its arrival
 * time; the session (one thread) takes them at each of its video ticks. The
 * camera's timestamps are kept, anchored at the keyframe that starts a
 * connection on the stream's clock (its arrival), and anchored again at a
 * keyframe when the camera's clock has drifted 200 ms from it.
 */
#include "enc_internal.h"
#include "live.h"
#include "log.h"

#include <stdlib.h>

#define MAX_PACKETS  600 /* not taken (standby): the oldest go */
#define MAX_DRIFT_US 200000

struct pq_node {
	AVPacket *pkt; /* timestamps in microseconds */
	int64_t arrival_ns;
	int generation;
	struct pq_node *next;
};

struct enc_pktq {
	pthread_mutex_t lock;
	struct pq_node *head, *tail;
	int count;
};

int enc_pktq_create(struct enc_pktq **out)
{
	struct enc_pktq *q = calloc(1, sizeof(*q));

	if (!q)
		return AVERROR(ENOMEM);
	pthread_mutex_init(&q->lock, NULL);
	*out = q;
	return 0;
}

static void free_node(struct pq_node *n)
{
	av_packet_free(&n->pkt);
	free(n);
}

/* Under lock. */
static struct pq_node *pop(struct enc_pktq *q)
{
	struct pq_node *n = q->head;

	if (n) {
		q->head = n->next;
		if (!q->head)
			q->tail = NULL;
		q->count--;
	}
	return n;
}

void enc_pktq_free(struct enc_pktq *q)
{
	struct pq_node *n;

	if (!q)
		return;
	while ((n = pop(q)))
		free_node(n);
	pthread_mutex_destroy(&q->lock);
	free(q);
}

/* A keyframe carries @data, its parameter sets, as new extradata. */
static int add_extradata(AVPacket *pkt, const uint8_t *data, int size)
{
	uint8_t *side;

	if (!(pkt->flags & AV_PKT_FLAG_KEY) || size <= 0)
		return 0;
	side = av_packet_new_side_data(pkt, AV_PKT_DATA_NEW_EXTRADATA, (size_t)size);
	if (!side)
		return AVERROR(ENOMEM);
	memcpy(side, data, (size_t)size);
	return 0;
}

int enc_video_onto_timeline(struct enc_session *s, AVPacket *pkt, int64_t *shift,
			    const uint8_t *extradata, int extradata_size)
{
	int64_t late;

	pkt->pts += *shift;
	pkt->dts += *shift;
	/* Never back in time (a camera's clock that jumped, the slate just before). */
	late = s->video_last_dts_us != INT64_MIN && pkt->dts <= s->video_last_dts_us
		       ? s->video_last_dts_us + 1000 - pkt->dts
		       : 0;
	*shift += late;
	pkt->pts += late;
	pkt->dts += late;
	s->video_last_dts_us = pkt->dts;
	av_packet_rescale_ts(pkt, AV_TIME_BASE_Q, s->tb[ENC_VIDEO]);
	return add_extradata(pkt, extradata, extradata_size);
}

int enc_pktq_put(struct enc_pktq *q, const AVPacket *pkt, AVRational tb, const uint8_t *extradata,
		 int extradata_size, int generation, int64_t arrival_ns)
{
	struct pq_node *n = calloc(1, sizeof(*n));
	int ret = AVERROR(ENOMEM);

	if (!n || !(n->pkt = av_packet_clone(pkt)))
		goto fail;
	av_packet_rescale_ts(n->pkt, tb, AV_TIME_BASE_Q);
	if (n->pkt->dts == AV_NOPTS_VALUE)
		n->pkt->dts = n->pkt->pts;
	if (n->pkt->dts == AV_NOPTS_VALUE) {
		free_node(n);
		return 0; /* cannot be placed in time */
	}
	if (n->pkt->pts == AV_NOPTS_VALUE)
		n->pkt->pts = n->pkt->dts;
	if ((ret = add_extradata(n->pkt, extradata, extradata_size)) < 0)
		goto fail;
	n->arrival_ns = arrival_ns;
	n->generation = generation;
	pthread_mutex_lock(&q->lock);
	if (q->count >= MAX_PACKETS) {
		struct pq_node *old = pop(q);

		free_node(old);
	}
	if (q->tail)
		q->tail->next = n;
	else
		q->head = n;
	q->tail = n;
	q->count++;
	pthread_mutex_unlock(&q->lock);
	return 0;
fail:
	if (n)
		free_node(n);
	return ret;
}

/*
 * The next packet; with @newest_key, the newest keyframe waiting (what
 * precedes it is dropped: a start from standby does not begin in the past).
 */
static struct pq_node *take(struct enc_pktq *q, bool newest_key)
{
	struct pq_node *n, *key = NULL;

	pthread_mutex_lock(&q->lock);
	if (newest_key) {
		for (n = q->head; n; n = n->next)
			if (n->pkt->flags & AV_PKT_FLAG_KEY)
				key = n;
		while (q->head && q->head != key)
			free_node(pop(q));
	}
	n = pop(q);
	pthread_mutex_unlock(&q->lock);
	return n;
}

/* The camera's packet @n into the queue, on the stream's timeline. */
static int pass(struct enc_session *s, struct pq_node *n)
{
	AVPacket *p = n->pkt;
	int64_t arrival_us = (n->arrival_ns - s->start_ns) / 1000;
	int ret;

	if (p->flags & AV_PKT_FLAG_KEY) {
		int64_t drift = p->dts + s->cam_offset_us - arrival_us;

		if (drift > MAX_DRIFT_US || drift < -MAX_DRIFT_US) {
			LOG_DEBUG(ENC_TAG,
				  "--copy: the camera's clock is %" PRId64 " ms off: "
				  "anchored again",
				  drift / 1000);
			s->cam_offset_us = arrival_us - p->dts;
		}
	}
	/* Its parameter sets were attached by the reader (enc_pktq_put()). */
	enc_video_onto_timeline(s, p, &s->cam_offset_us, NULL, 0);
	av_packet_unref(s->pkt);
	av_packet_move_ref(s->pkt, p);
	ret = enc_enqueue(s, ENC_VIDEO);
	av_packet_unref(s->pkt);
	return ret;
}

int enc_passthrough_tick(struct enc_session *s, int64_t due_us)
{
	struct enc_input_status st;
	struct pq_node *n;
	int ret = 0;

	enc_live_status(s->cfg.live, &st);
	if (s->cam_on_air && st.state != ENC_INPUT_UP) {
		/* Lost: the slate from now, from an IDR that carries its parameter sets. */
		s->cam_on_air = false;
		atomic_store(&s->want_keyframe, true);
		s->slate_shift_us =
			s->video_last_dts_us != INT64_MIN && s->video_last_dts_us + 1000 > due_us
				? s->video_last_dts_us + 1000 - due_us
				: 0;
	}
	while (ret >= 0 && (n = take(enc_live_packets(s->cfg.live), !s->cam_on_air))) {
		if (!s->cam_on_air || n->generation != s->cam_generation) {
			if (!(n->pkt->flags & AV_PKT_FLAG_KEY)) {
				/* A new connection: nothing before its first keyframe decodes. */
				s->cam_on_air = false;
				free_node(n);
				continue;
			}
			LOG_INFO(ENC_TAG,
				 "--copy: the camera's stream goes through from its keyframe");
			s->cam_on_air = true;
			s->cam_generation = n->generation;
			s->cam_offset_us = (n->arrival_ns - s->start_ns) / 1000 - n->pkt->dts;
		}
		ret = pass(s, n);
		free_node(n);
	}
	return ret < 0 ? ret : s->cam_on_air;
}
