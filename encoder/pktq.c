// SPDX-License-Identifier: MIT
/*
 * --copy of a live input: the camera's video packets between the reader
 * thread (live.c), which puts each one here with its arrival time, and the
 * session's thread (passthrough.c), which takes them at its video ticks.
 * Bounded: while nothing takes them (standby), the oldest go.
 */
#include "live.h"

#include <libavutil/mathematics.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PACKETS 600 /* not taken (standby): the oldest go */

struct enc_pktq {
	pthread_mutex_t lock;
	struct enc_pktq_node *head, *tail;
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

void enc_pktq_node_free(struct enc_pktq_node *n)
{
	av_packet_free(&n->pkt);
	free(n);
}

/* Under lock. */
static struct enc_pktq_node *pop(struct enc_pktq *q)
{
	struct enc_pktq_node *n = q->head;

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
	struct enc_pktq_node *n;

	if (!q)
		return;
	while ((n = pop(q)))
		enc_pktq_node_free(n);
	pthread_mutex_destroy(&q->lock);
	free(q);
}

int enc_packet_add_extradata(AVPacket *pkt, const uint8_t *data, int size)
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

int enc_pktq_put(struct enc_pktq *q, const AVPacket *pkt, AVRational tb, const uint8_t *extradata,
		 int extradata_size, int generation, int64_t arrival_ns)
{
	struct enc_pktq_node *n = calloc(1, sizeof(*n));
	int ret = AVERROR(ENOMEM);

	if (!n || !(n->pkt = av_packet_clone(pkt)))
		goto fail;
	av_packet_rescale_ts(n->pkt, tb, AV_TIME_BASE_Q);
	if (n->pkt->dts == AV_NOPTS_VALUE)
		n->pkt->dts = n->pkt->pts;
	if (n->pkt->dts == AV_NOPTS_VALUE) {
		enc_pktq_node_free(n);
		return 0; /* cannot be placed in time */
	}
	if (n->pkt->pts == AV_NOPTS_VALUE)
		n->pkt->pts = n->pkt->dts;
	if ((ret = enc_packet_add_extradata(n->pkt, extradata, extradata_size)) < 0)
		goto fail;
	n->arrival_ns = arrival_ns;
	n->generation = generation;
	pthread_mutex_lock(&q->lock);
	if (q->count >= MAX_PACKETS) {
		struct enc_pktq_node *old = pop(q);

		enc_pktq_node_free(old);
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
		enc_pktq_node_free(n);
	return ret;
}

struct enc_pktq_node *enc_pktq_take(struct enc_pktq *q, bool newest_key)
{
	struct enc_pktq_node *n, *key = NULL;

	pthread_mutex_lock(&q->lock);
	if (newest_key) {
		for (n = q->head; n; n = n->next)
			if (n->pkt->flags & AV_PKT_FLAG_KEY)
				key = n;
		while (q->head && q->head != key)
			enc_pktq_node_free(pop(q));
	}
	n = pop(q);
	pthread_mutex_unlock(&q->lock);
	return n;
}
