// SPDX-License-Identifier: MIT
/* Enhanced FLV read as tags (player_eflv.h). */
#include "player_eflv.h"

#include "eflv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define READ_CHUNK 65536
/* Reading for the first video tag gives up past this: a stream with no video. */
#define SNIFF_MAX  (4 << 20)
#define REPLAY_BUF 65536
/*
 * The legacy header's CodecID 12: HEVC as servers that predate Enhanced RTMP
 * relay it (Node-Media-Server 2.7 turns the enhanced tags it takes into these
 * for its players): AVC's layout, AVCPacketType and composition time, HEVC's
 * record and NAL units.
 */
#define LEGACY_HEVC 12
#define LEGACY_HEAD 5

struct enc_eflv_reader {
	AVIOContext *pb;     /* the connection or file */
	AVIOContext *replay; /* for libavformat, when not enhanced */
	struct eflv_buf in;  /* bytes read and not yet taken */
	size_t at;	     /* the next tag in @in (after the file header) */
	size_t replayed;     /* of @in, given to libavformat already */
	bool sniffed;	     /* @in may drop what was taken (nothing is replayed then) */
	struct eflv_buf record;
};

/* More bytes onto @in; AVERROR_EOF at the end. */
static int read_more(struct enc_eflv_reader *r)
{
	uint8_t *at;
	int n;

	if (r->sniffed && r->at > READ_CHUNK && r->at * 2 > r->in.len) {
		/* Drop what was taken, so that the buffer does not grow for ever. */
		memmove(r->in.data, r->in.data + r->at, r->in.len - r->at);
		r->in.len -= r->at;
		r->at = 0;
	}
	if (eflv_extend(&r->in, READ_CHUNK, &at) < 0)
		return AVERROR(ENOMEM);
	n = avio_read_partial(r->pb, at, READ_CHUNK);
	r->in.len -= READ_CHUNK - (n > 0 ? (size_t)n : 0);
	if (n == 0)
		return AVERROR_EOF;
	return n < 0 ? n : 0;
}

/* The next whole tag at r->at, reading as needed; r->at moves past it. */
static int next_tag(struct enc_eflv_reader *r, struct eflv_tag_view *t)
{
	size_t used;
	int ret;

	for (;;) {
		ret = eflv_read_tag(r->in.data + r->at, r->in.len - r->at, t, &used);
		if (!ret) {
			r->at += used;
			return 0;
		}
		if (ret != -EAGAIN)
			return AVERROR(EINVAL);
		if ((ret = read_more(r)) < 0)
			return ret;
	}
}

/* Whether the stream's first video tag has the extended header; reads no further. */
static int sniff(struct enc_eflv_reader *r, enum enc_eflv_kind *kind)
{
	struct eflv_tag_view t;
	int ret;

	*kind = ENC_EFLV_NOT_FLV;
	while (r->in.len < EFLV_FILE_HEADER_SIZE)
		if ((ret = read_more(r)) < 0)
			return ret == AVERROR_EOF ? 0 : ret;
	if (memcmp(r->in.data, "FLV", 3))
		return 0; /* not FLV: libavformat's to find out */
	*kind = ENC_EFLV_LEGACY;
	r->at = EFLV_FILE_HEADER_SIZE;
	while (r->in.len < SNIFF_MAX) {
		size_t start = r->at;

		/* Not FLV after all, or its end before any video: libavformat's to read. */
		if ((ret = next_tag(r, &t)) < 0)
			return ret == AVERROR(EINVAL) || ret == AVERROR_EOF ? 0 : ret;
		if (t.type == EFLV_TAG_VIDEO && t.len) {
			if ((t.body[0] & EFLV_EX_HEADER) || (t.body[0] & 0x0f) == LEGACY_HEVC)
				*kind = ENC_EFLV_ENHANCED;
			r->at = start; /* the tag is read again */
			return 0;
		}
	}
	return 0;
}

int enc_eflv_reader_open(const char *url, const AVIOInterruptCB *cb, AVDictionary **opts,
			 struct enc_eflv_reader **out, enum enc_eflv_kind *kind)
{
	struct enc_eflv_reader *r = calloc(1, sizeof(*r));
	int ret;

	if (!r)
		return AVERROR(ENOMEM);
	if ((ret = avio_open2(&r->pb, url, AVIO_FLAG_READ, cb, opts)) < 0 ||
	    (ret = sniff(r, kind)) < 0) {
		enc_eflv_reader_close(r);
		return ret;
	}
	r->sniffed = *kind == ENC_EFLV_ENHANCED;
	*out = r;
	return 0;
}

static int replay_read(void *opaque, uint8_t *buf, int size)
{
	struct enc_eflv_reader *r = opaque;
	size_t left = r->in.len - r->replayed;

	if (left) {
		size_t n = left < (size_t)size ? left : (size_t)size;

		memcpy(buf, r->in.data + r->replayed, n);
		r->replayed += n;
		return (int)n;
	}
	return avio_read_partial(r->pb, buf, size);
}

AVIOContext *enc_eflv_reader_replay(struct enc_eflv_reader *r)
{
	uint8_t *buf;

	if (r->replay)
		return r->replay;
	buf = av_malloc(REPLAY_BUF);
	if (!buf)
		return NULL;
	r->replay = avio_alloc_context(buf, REPLAY_BUF, 0, r, replay_read, NULL, NULL);
	if (!r->replay)
		av_free(buf);
	return r->replay;
}

bool enc_eflv_reader_seekable(const struct enc_eflv_reader *r)
{
	return r->pb->seekable & AVIO_SEEKABLE_NORMAL;
}

/* A SequenceStart: kept, and told when it differs from the last. */
static int sequence_start(struct enc_eflv_reader *r, const struct eflv_video *v,
			  const uint8_t **record, size_t *record_len)
{
	if (v->len == r->record.len && !memcmp(v->data, r->record.data, v->len))
		return 0;
	eflv_buf_reset(&r->record);
	if (eflv_put(&r->record, v->data, v->len) < 0)
		return AVERROR(ENOMEM);
	*record = r->record.data;
	*record_len = r->record.len;
	return 0;
}

/* An HEVC video tag, enhanced or legacy (CodecID 12), as eflv_parse_video() gives it. */
static int parse_hevc(const struct eflv_tag_view *t, struct eflv_video *v)
{
	int ret = eflv_parse_video(t->body, t->len, v);
	const uint8_t *b = t->body;

	if (ret != -ENOTSUP)
		return ret < 0 || v->fourcc != EFLV_FOURCC_HVC1 ? -EINVAL : 0;
	if (t->len < LEGACY_HEAD || (b[0] & 0x0f) != LEGACY_HEVC)
		return -EINVAL;
	*v = (struct eflv_video){
		.frame = (enum eflv_frame_type)(b[0] >> 4),
		/* AVCPacketType 0 header, 1 NAL units, 2 end: the same numbers. */
		.packet = (enum eflv_packet_type)b[1],
		.fourcc = EFLV_FOURCC_HVC1,
		/* SI24, sign-extended */
		.cts_ms = (int32_t)((uint32_t)b[2] << 24 | (uint32_t)b[3] << 16 |
				    (uint32_t)b[4] << 8) >>
			  8,
		.data = b + LEGACY_HEAD,
		.len = t->len - LEGACY_HEAD,
	};
	return 0;
}

int enc_eflv_reader_next(struct enc_eflv_reader *r, AVPacket *pkt, const uint8_t **record,
			 size_t *record_len, int64_t *bytes)
{
	struct eflv_tag_view t;
	struct eflv_video v;
	int ret;

	*record = NULL;
	for (;;) {
		if ((ret = next_tag(r, &t)) < 0)
			return ret;
		*bytes += (int64_t)t.len;
		if (t.type != EFLV_TAG_VIDEO || parse_hevc(&t, &v) < 0)
			continue; /* sound, metadata, another codec's video tag */
		if (v.packet == EFLV_PKT_SEQUENCE_START) {
			if ((ret = sequence_start(r, &v, record, record_len)) < 0)
				return ret;
			continue;
		}
		if (v.packet != EFLV_PKT_CODED_FRAMES && v.packet != EFLV_PKT_CODED_FRAMES_X)
			continue;
		if ((ret = av_new_packet(pkt, (int)v.len)) < 0)
			return ret;
		memcpy(pkt->data, v.data, v.len);
		pkt->dts = t.ts_ms;
		pkt->pts = (int64_t)t.ts_ms + v.cts_ms;
		pkt->flags = v.frame == EFLV_FRAME_KEY ? AV_PKT_FLAG_KEY : 0;
		return 0;
	}
}

void enc_eflv_reader_close(struct enc_eflv_reader *r)
{
	if (!r)
		return;
	if (r->replay) {
		av_freep(&r->replay->buffer);
		avio_context_free(&r->replay);
	}
	avio_closep(&r->pb);
	eflv_buf_free(&r->in);
	eflv_buf_free(&r->record);
	free(r);
}
