// SPDX-License-Identifier: MIT
/*
 * Play a stream and hand every decoded video frame to the caller with its
 * arrival time and, for mpstream's test pattern, the stamp it carries.
 */
#include "clock.h"
#include "encoder.h"
#include "log.h"
#include "player_eflv.h"
#include "source.h"

#include <inttypes.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/time.h>
#include <stdlib.h>
#include <time.h>

struct enc_player {
	struct enc_eflv_reader *eflv; /* the connection, read as tags while enhanced */
	bool enhanced;		      /* HEVC in enhanced FLV: read by player_eflv.c, not ic */
	AVFormatContext *ic;
	AVCodecContext *dec;
	AVPacket *pkt;
	AVFrame *frame;
	int vidx;
	int timeout_ms;
	int64_t deadline_us; /* monotonic; reading past it is aborted */
	bool timed_out;
	int64_t bytes; /* received since the last frame returned */
	int (*interrupt)(void *);
	void *opaque;
	bool draining;
	/*
	 * A new decoder configuration record (a new SequenceStart): the decoder it
	 * replaces gives its last frames first (drained), then @next_record opens
	 * the new one, which decodes @pkt, held meanwhile.
	 */
	bool switching;
	uint8_t *next_record;
	size_t next_record_len;
	int64_t drained; /* frames the replaced decoder gave when drained */
};

static int player_interrupt(void *opaque)
{
	struct enc_player *p = opaque;

	if (p->interrupt && p->interrupt(p->opaque))
		return 1;
	if (av_gettime_relative() > p->deadline_us) {
		p->timed_out = true;
		return 1;
	}
	return 0;
}

static void arm(struct enc_player *p)
{
	p->deadline_us = av_gettime_relative() + (int64_t)p->timeout_ms * 1000;
	p->timed_out = false;
}

int enc_player_open(const char *url, int timeout_ms, int (*interrupt)(void *), void *opaque,
		    struct enc_player **out)
{
	struct enc_player *p = calloc(1, sizeof(*p));
	AVDictionary *opts = NULL;
	enum enc_eflv_kind kind;
	const AVCodec *codec;
	int ret = AVERROR(ENOMEM);

	if (!p)
		return ret;
	p->timeout_ms = timeout_ms;
	p->interrupt = interrupt;
	p->opaque = opaque;
	p->pkt = av_packet_alloc();
	p->frame = av_frame_alloc();
	p->ic = avformat_alloc_context();
	if (!p->pkt || !p->frame || !p->ic)
		goto fail;
	p->ic->interrupt_callback = (AVIOInterruptCB){player_interrupt, p};
	/* Live playback of RTMP; the packets read while probing the streams are kept. */
	av_dict_set(&opts, "rtmp_live", "live", 0);
	arm(p);
	ret = enc_eflv_reader_open(url, &p->ic->interrupt_callback, &opts, &p->eflv, &kind);
	if (ret < 0)
		goto fail;
	p->enhanced = kind == ENC_EFLV_ENHANCED;
	if (p->enhanced) {
		av_dict_free(&opts);
		*out = p; /* the decoder opens with the first SequenceStart's record */
		return 0;
	}
	if (kind == ENC_EFLV_LEGACY || !enc_eflv_reader_seekable(p->eflv)) {
		/*
		 * On a connection (RTMP; MPEG-TS over SRT as a listener), the
		 * bytes already read and the rest: opened again, a listener
		 * would wait for a caller that is gone.
		 */
		p->ic->pb = enc_eflv_reader_replay(p->eflv);
		if (!p->ic->pb) {
			ret = AVERROR(ENOMEM);
			goto fail;
		}
	} else {
		/* Another format in a file (a recording): libavformat opens it itself, seekable. */
		enc_eflv_reader_close(p->eflv);
		p->eflv = NULL;
	}
	ret = avformat_open_input(&p->ic, url, NULL, &opts);
	av_dict_free(&opts);
	if (ret < 0)
		goto fail;
	ret = avformat_find_stream_info(p->ic, NULL);
	if (ret < 0)
		goto fail;
	ret = av_find_best_stream(p->ic, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
	if (ret < 0)
		goto fail;
	p->vidx = ret;
	p->dec = avcodec_alloc_context3(codec);
	if (!p->dec) {
		ret = AVERROR(ENOMEM);
		goto fail;
	}
	if ((ret = avcodec_parameters_to_context(p->dec, p->ic->streams[p->vidx]->codecpar)) < 0 ||
	    (ret = avcodec_open2(p->dec, codec, NULL)) < 0)
		goto fail;
	*out = p;
	return 0;
fail:
	av_dict_free(&opts);
	if (p->timed_out)
		ret = AVERROR(ETIMEDOUT);
	enc_player_close(p);
	return ret;
}

/*
 * An HEVC decoder for @record (an HEVCDecoderConfigurationRecord), in place of
 * the last one. Its failure is said here, with libavcodec's reason, and comes
 * back as ENC_ERR_DECODER: the stream has video, which this decoder refuses.
 */
static int open_hevc(struct enc_player *p, const uint8_t *record, size_t len)
{
	const AVCodec *codec = avcodec_find_decoder(AV_CODEC_ID_HEVC);
	int ret = AVERROR(ENOMEM);

	avcodec_free_context(&p->dec);
	if (!codec) {
		ret = AVERROR_DECODER_NOT_FOUND;
		goto out;
	}
	if (!(p->dec = avcodec_alloc_context3(codec)) ||
	    !(p->dec->extradata = av_mallocz(len + AV_INPUT_BUFFER_PADDING_SIZE)))
		goto out;
	memcpy(p->dec->extradata, record, len);
	p->dec->extradata_size = (int)len;
	p->dec->pkt_timebase = (AVRational){1, 1000};
	ret = avcodec_open2(p->dec, codec, NULL);
out:
	if (ret < 0) {
		LOG_ERR(ENC_TAG,
			"cannot open the HEVC decoder for the stream's configuration "
			"record (%zu bytes): %s",
			len, av_err2str(ret));
		avcodec_free_context(&p->dec);
		ret = ret == AVERROR(ENOMEM) ? ret : ENC_ERR_DECODER;
	}
	return ret;
}

/*
 * A new record while a decoder runs: that decoder is drained first (its
 * reordered frames are the stream's too), p->pkt waits for the new one.
 */
static int begin_switch(struct enc_player *p, const uint8_t *record, size_t len)
{
	int ret;

	if (!(p->next_record = av_memdup(record, len)))
		return AVERROR(ENOMEM);
	ret = avcodec_send_packet(p->dec, NULL);
	if (ret < 0 && ret != AVERROR_EOF) {
		av_freep(&p->next_record);
		return ret;
	}
	p->next_record_len = len;
	p->switching = true;
	p->drained = 0;
	return AVERROR(EAGAIN);
}

/* The old decoder drained: the new record's decoder, and the packet that waited for it. */
static int end_switch(struct enc_player *p)
{
	int ret;

	LOG_DEBUG(ENC_TAG, "a new HEVC configuration record: %" PRId64 " frames drained first",
		  p->drained);
	ret = open_hevc(p, p->next_record, p->next_record_len);
	p->switching = false;
	av_freep(&p->next_record);
	if (ret >= 0)
		ret = avcodec_send_packet(p->dec, p->pkt);
	av_packet_unref(p->pkt);
	return ret < 0 && ret != AVERROR_INVALIDDATA ? ret : 0;
}

/*
 * The next packet for the decoder: enhanced FLV's next HEVC access unit, or
 * libavformat's. AVERROR(EAGAIN): none yet, the decoder has frames to give
 * (or nothing decodes the packet).
 */
static int read_packet(struct enc_player *p)
{
	const uint8_t *record;
	size_t len = 0;
	int ret;

	if (!p->enhanced)
		return av_read_frame(p->ic, p->pkt);
	ret = enc_eflv_reader_next(p->eflv, p->pkt, &record, &len, &p->bytes);
	if (ret >= 0 && record)
		ret = p->dec ? begin_switch(p, record, len) : open_hevc(p, record, len);
	if (ret < 0 && ret != AVERROR(EAGAIN))
		av_packet_unref(p->pkt);
	if (ret >= 0 && !p->dec) {
		av_packet_unref(p->pkt); /* a frame before any SequenceStart: nothing decodes it */
		ret = AVERROR(EAGAIN);
	}
	return ret;
}

int enc_player_next(struct enc_player *p, struct enc_player_frame *out)
{
	int ret;

	for (;;) {
		ret = p->dec ? avcodec_receive_frame(p->dec, p->frame) : AVERROR(EAGAIN);
		if (ret >= 0) {
			AVRational tb = p->enhanced ? (AVRational){1, 1000}
						    : p->ic->streams[p->vidx]->time_base;
			int64_t pts = p->frame->best_effort_timestamp;

			memset(out, 0, sizeof(*out));
			out->arrival_us = mps_realtime_us();
			out->pts_us =
				pts == AV_NOPTS_VALUE ? 0 : av_rescale_q(pts, tb, AV_TIME_BASE_Q);
			out->bytes = p->bytes;
			p->bytes = 0;
			if (p->frame->format == AV_PIX_FMT_YUV420P ||
			    p->frame->format == AV_PIX_FMT_YUVJ420P)
				out->stamped =
					enc_stamp_read(p->frame->data[0], p->frame->linesize[0],
						       p->frame->width, p->frame->height,
						       &out->stamp) == 0;
			av_frame_unref(p->frame);
			if (p->switching)
				p->drained++;
			return 0;
		}
		if (ret == AVERROR_EOF && p->switching) {
			if ((ret = end_switch(p)) < 0)
				return ret;
			continue;
		}
		if (ret == AVERROR_EOF)
			return ret;
		if (ret != AVERROR(EAGAIN))
			return ret;
		if (p->draining)
			return AVERROR_EOF;

		arm(p);
		ret = read_packet(p);
		if (ret == AVERROR(EAGAIN))
			continue;
		if (ret < 0) {
			if (p->timed_out)
				return AVERROR(ETIMEDOUT);
			if (ret == ENC_ERR_DECODER || ret == AVERROR(ENOMEM))
				return ret; /* video there, not decodable: not "no video" */
			if (!p->dec)
				return AVERROR_STREAM_NOT_FOUND;
			/* End of the stream: flush the frames the decoder still holds. */
			p->draining = true;
			avcodec_send_packet(p->dec, NULL);
			continue;
		}
		if (!p->enhanced)
			p->bytes += p->pkt->size;
		if (p->enhanced || p->pkt->stream_index == p->vidx) {
			ret = avcodec_send_packet(p->dec, p->pkt);
			if (ret < 0 && ret != AVERROR_INVALIDDATA) {
				av_packet_unref(p->pkt);
				return ret;
			}
		}
		av_packet_unref(p->pkt);
	}
}

void enc_player_close(struct enc_player *p)
{
	if (!p)
		return;
	avcodec_free_context(&p->dec);
	av_free(p->next_record);
	avformat_close_input(&p->ic);
	enc_eflv_reader_close(p->eflv); /* after ic: its pb is the reader's */
	av_packet_free(&p->pkt);
	av_frame_free(&p->frame);
	free(p);
}
