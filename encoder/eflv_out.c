// SPDX-License-Identifier: MIT
/*
 * Enhanced FLV for HEVC into an AVIOContext (eflv_out.h). Tags wait in one
 * queue per stream until the other stream has one too, then the earlier
 * (video first on a tie) is written: av_interleaved_write_frame()'s order,
 * with its max_interleave_delta as EFLV_OUT_MAX_WAIT_MS.
 */
#include "eflv_out.h"

#include "eflv.h"

#include <errno.h>
#include <libavutil/mathematics.h>
#include <stdlib.h>
#include <string.h>

/*
 * Memory's bound, not the stream's: a line whose timestamps do not advance
 * never reaches EFLV_OUT_MAX_WAIT_MS of stream time.
 */
#define MAX_WAITING  1024
#define AAC_CODEC_ID 10 /* onMetaData's audiocodecid */

struct eflv_pending {
	struct eflv_buf tag;
	int64_t dts_ms;
	struct eflv_pending *next;
};

struct eflv_line {
	struct eflv_pending *head, *tail;
	int n;
};

struct enc_eflv {
	AVIOContext *pb;
	AVRational tb[2];
	bool has_audio;
	struct eflv_buf record; /* the one sent last */
	struct eflv_buf side;	/* the last keyframe's new extradata, as a record */
	bool lp_input;		/* packets length-prefixed already (the extradata was a record) */
	struct eflv_buf lp;	/* a packet's NAL units, length-prefixed */
	struct eflv_line line[2];
	int64_t last_ms; /* of the last tag written */
};

static int to_averror(int ret)
{
	return ret < 0 ? AVERROR(-ret) : ret;
}

/* The record from @x: an hvcC as it is (4-byte NAL lengths only), or built from Annex B. */
static int record_from(const uint8_t *x, size_t n, struct eflv_buf *rec, bool *lp)
{
	eflv_buf_reset(rec);
	if (eflv_is_hvcc(x, n)) {
		if ((x[21] & 3) != 3)
			return AVERROR(ENOTSUP);
		*lp = true;
		return to_averror(eflv_put(rec, x, n));
	}
	*lp = false;
	return to_averror(eflv_hvcc_from_annexb(x, n, 0, rec, NULL));
}

/* One tag, written and flushed at once: rtmp_write() sends what it has whole. */
static int write_tag(struct enc_eflv *w, const struct eflv_buf *tag)
{
	avio_write(w->pb, tag->data, (int)tag->len);
	avio_flush(w->pb);
	return w->pb->error;
}

/* A tag onto @kind's line; *tag is taken (emptied). */
static int queue_tag(struct enc_eflv *w, int kind, struct eflv_buf *tag, int64_t dts_ms)
{
	struct eflv_pending *p = calloc(1, sizeof(*p));
	struct eflv_line *l = &w->line[kind];

	if (!p)
		return AVERROR(ENOMEM);
	p->tag = *tag;
	*tag = (struct eflv_buf){0};
	p->dts_ms = dts_ms;
	if (l->tail)
		l->tail->next = p;
	else
		l->head = p;
	l->tail = p;
	l->n++;
	return 0;
}

/*
 * Whether @l's head has waited long enough for the other stream: its own
 * stream has gone on by more than EFLV_OUT_MAX_WAIT_MS since (a stream that
 * stops, a lost input's sound, holds the other back by that much at most).
 */
static bool waited_enough(const struct eflv_line *l)
{
	return l->tail->dts_ms - l->head->dts_ms > EFLV_OUT_MAX_WAIT_MS || l->n > MAX_WAITING;
}

/* The line whose head goes next; -1: wait for the other stream (or @all: none left). */
static int next_line(const struct enc_eflv *w, bool all)
{
	const struct eflv_pending *v = w->line[0].head, *a = w->line[1].head;

	if (v && a)
		return a->dts_ms < v->dts_ms ? 1 : 0;
	if (v && (all || !w->has_audio || waited_enough(&w->line[0])))
		return 0;
	if (a && (all || waited_enough(&w->line[1])))
		return 1;
	return -1;
}

static int write_ready(struct enc_eflv *w, bool all)
{
	int k, ret = 0;

	while (!ret && (k = next_line(w, all)) >= 0) {
		struct eflv_line *l = &w->line[k];
		struct eflv_pending *p = l->head;

		ret = write_tag(w, &p->tag);
		w->last_ms = p->dts_ms;
		l->head = p->next;
		if (!l->head)
			l->tail = NULL;
		l->n--;
		eflv_buf_free(&p->tag);
		free(p);
	}
	return ret;
}

static void metadata(const struct enc_eflv_streams *st, struct eflv_metadata *md)
{
	const AVCodecParameters *v = st->par[0], *a = st->par[1];

	*md = (struct eflv_metadata){
		.width = (uint32_t)v->width,
		.height = (uint32_t)v->height,
		.framerate = st->fps,
		.videodatarate_kbps = (double)v->bit_rate / 1000.0,
		.video_fourcc = EFLV_FOURCC_HVC1,
		.encoder = "mpstream",
	};
	if (a) {
		md->has_audio = true;
		md->audiocodecid = AAC_CODEC_ID;
		md->audiodatarate_kbps = (double)a->bit_rate / 1000.0;
		md->audiosamplerate = (uint32_t)a->sample_rate;
		md->audiosamplesize = 16;
		md->stereo = a->ch_layout.nb_channels == 2;
	}
}

/* The FLV header, onMetaData, the AAC config and the SequenceStart, each written as it is. */
static int write_head(struct enc_eflv *w, const struct enc_eflv_streams *st)
{
	const AVCodecParameters *a = st->par[1];
	struct eflv_metadata md;
	struct eflv_buf b = {0};
	int ret;

	metadata(st, &md);
	if ((ret = to_averror(eflv_file_header(&b, w->has_audio, true))) < 0 ||
	    (ret = write_tag(w, &b)) < 0)
		goto out;
	eflv_buf_reset(&b);
	if ((ret = to_averror(eflv_metadata_tag(&b, &md))) < 0 || (ret = write_tag(w, &b)) < 0)
		goto out;
	if (a && a->extradata_size) {
		eflv_buf_reset(&b);
		if ((ret = to_averror(eflv_aac_tag(&b, 0, true, a->extradata,
						   (size_t)a->extradata_size))) < 0 ||
		    (ret = write_tag(w, &b)) < 0)
			goto out;
	}
	eflv_buf_reset(&b);
	if ((ret = to_averror(eflv_hevc_sequence_start(&b, 0, w->record.data, w->record.len))) <
		    0 ||
	    (ret = write_tag(w, &b)) < 0)
		goto out;
out:
	eflv_buf_free(&b);
	return ret;
}

int enc_eflv_open(AVIOContext *pb, const struct enc_eflv_streams *st, struct enc_eflv **out)
{
	const AVCodecParameters *v = st->par[0];
	struct enc_eflv *w = calloc(1, sizeof(*w));
	int ret;

	if (!w)
		return AVERROR(ENOMEM);
	w->pb = pb;
	w->tb[0] = st->tb[0];
	w->tb[1] = st->tb[1];
	w->has_audio = st->par[1] != NULL;
	if (!v->extradata_size) {
		ret = AVERROR(EINVAL);
		goto fail;
	}
	if ((ret = record_from(v->extradata, (size_t)v->extradata_size, &w->record, &w->lp_input)) <
		    0 ||
	    (ret = write_head(w, st)) < 0)
		goto fail;
	*out = w;
	return 0;
fail:
	enc_eflv_free(w);
	return ret;
}

static bool same(const struct eflv_buf *a, const struct eflv_buf *b)
{
	return a->len == b->len && (!a->len || !memcmp(a->data, b->data, a->len));
}

/*
 * A keyframe's parameter sets: a SequenceStart first if they differ from the
 * last ones sent. Its own, when it carries them in Annex B (a camera passed
 * through that changed its settings without a new connection: its extradata
 * was read when it connected), else its new extradata when that changed
 * since the last keyframe (a reopened encoder, a switch between the camera
 * and the slate). The same extradata again says nothing new: a keyframe
 * without parameter sets after ones that had others keeps those.
 */
static int new_record(struct enc_eflv *w, const AVPacket *pkt, int64_t dts_ms)
{
	size_t n = 0;
	const uint8_t *x = av_packet_get_side_data(pkt, AV_PKT_DATA_NEW_EXTRADATA, &n);
	struct eflv_buf side = {0}, own = {0}, tag = {0};
	const struct eflv_buf *rec = NULL;
	bool lp = w->lp_input;
	int ret = 0;

	if (!(pkt->flags & AV_PKT_FLAG_KEY))
		return 0;
	if (x && n && (ret = record_from(x, n, &side, &lp)) < 0)
		goto out;
	if (side.len) {
		w->lp_input = lp;
		if (!same(&side, &w->side))
			rec = &side;
	}
	/* No parameter set in it: not an error, the extradata says. */
	if (!w->lp_input && eflv_is_annexb(pkt->data, (size_t)pkt->size) &&
	    !eflv_hvcc_from_annexb(pkt->data, (size_t)pkt->size, 0, &own, NULL))
		rec = &own;
	if (rec && !same(rec, &w->record)) {
		if ((ret = to_averror(eflv_hevc_sequence_start(&tag, (uint32_t)dts_ms, rec->data,
							       rec->len))) < 0 ||
		    (ret = queue_tag(w, 0, &tag, dts_ms)) < 0)
			goto out;
		eflv_buf_reset(&w->record);
		if ((ret = to_averror(eflv_put(&w->record, rec->data, rec->len))) < 0)
			goto out;
	}
	if (side.len) {
		eflv_buf_free(&w->side);
		w->side = side;
		side = (struct eflv_buf){0};
	}
out:
	eflv_buf_free(&side);
	eflv_buf_free(&own);
	eflv_buf_free(&tag);
	return ret;
}

static int video_tag(struct enc_eflv *w, const AVPacket *pkt, int64_t dts_ms, struct eflv_buf *tag)
{
	int64_t pts_ms = pkt->pts == AV_NOPTS_VALUE
				 ? dts_ms
				 : av_rescale_q(pkt->pts, w->tb[0], (AVRational){1, 1000});
	const uint8_t *data = pkt->data;
	size_t len = (size_t)pkt->size;
	int ret;

	if ((ret = new_record(w, pkt, dts_ms)) < 0)
		return ret;
	if (!w->lp_input) {
		eflv_buf_reset(&w->lp);
		if ((ret = to_averror(eflv_annexb_to_lp(pkt->data, len, EFLV_LP_DROP_PS, &w->lp))) <
		    0)
			return ret;
		data = w->lp.data;
		len = w->lp.len;
	}
	if (pts_ms - dts_ms < EFLV_CTS_MIN || pts_ms - dts_ms > EFLV_CTS_MAX)
		return AVERROR(ERANGE);
	return to_averror(eflv_hevc_frame(tag, (uint32_t)dts_ms, (int32_t)(pts_ms - dts_ms),
					  pkt->flags & AV_PKT_FLAG_KEY, data, len));
}

int enc_eflv_write(struct enc_eflv *w, const AVPacket *pkt, int kind)
{
	int64_t dts = pkt->dts != AV_NOPTS_VALUE ? pkt->dts : pkt->pts;
	int64_t dts_ms = av_rescale_q(dts, w->tb[kind], (AVRational){1, 1000});
	struct eflv_buf tag = {0};
	int ret;

	if (dts_ms < 0)
		dts_ms = 0; /* FLV's timestamps are unsigned; mpstream's start at 0 */
	if (kind == 0)
		ret = video_tag(w, pkt, dts_ms, &tag);
	else
		ret = to_averror(
			eflv_aac_tag(&tag, (uint32_t)dts_ms, false, pkt->data, (size_t)pkt->size));
	if (ret >= 0)
		ret = queue_tag(w, kind, &tag, dts_ms);
	eflv_buf_free(&tag);
	return ret < 0 ? ret : write_ready(w, false);
}

int enc_eflv_finish(struct enc_eflv *w)
{
	struct eflv_buf tag = {0};
	int ret = write_ready(w, true);

	if (ret >= 0 && (ret = to_averror(eflv_hevc_sequence_end(&tag, (uint32_t)w->last_ms))) >= 0)
		ret = write_tag(w, &tag);
	eflv_buf_free(&tag);
	return ret;
}

void enc_eflv_free(struct enc_eflv *w)
{
	if (!w)
		return;
	for (int k = 0; k < 2; k++)
		while (w->line[k].head) {
			struct eflv_pending *p = w->line[k].head;

			w->line[k].head = p->next;
			eflv_buf_free(&p->tag);
			free(p);
		}
	eflv_buf_free(&w->record);
	eflv_buf_free(&w->side);
	eflv_buf_free(&w->lp);
	free(w);
}
