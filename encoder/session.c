// SPDX-License-Identifier: MIT
/*
 * The encode/drain loop of FFmpeg's doc/examples (transcode, mux): frames are
 * sent to x264 or AAC, every packet the encoder returns is rescaled to its
 * stream's time base and written to the FLV muxer, whose AVIOContext is the
 * rtmp:// connection.
 */
#include "encoder.h"
#include "log.h"
#include "source.h"

#include <errno.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libavutil/time.h>
#include <stdlib.h>
#include <time.h>

#define AUDIO_BITRATE 128000
#define GOP_SECONDS   2

struct enc_session {
	struct enc_config cfg;
	struct enc_source *src;
	AVCodecContext *venc, *aenc;
	AVFormatContext *oc;
	AVStream *vst, *ast;
	AVPacket *pkt;
	int64_t start_ns;    /* CLOCK_MONOTONIC at media time 0 */
	int64_t deadline_ns; /* network I/O past this is aborted; 0: none */
	bool deadline_hit;
	bool header_written;
	bool is_test;	  /* the test pattern: stamp its frames */
	AVFrame *pending; /* a frame taken from the source, not yet due */
	enum enc_media pending_kind;
	struct enc_progress progress;
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint64_t realtime_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* libavformat polls this while it connects, reads or writes. */
static int session_interrupt(void *opaque)
{
	struct enc_session *s = opaque;

	if (s->cfg.interrupt && s->cfg.interrupt(s->cfg.opaque))
		return 1;
	if (s->deadline_ns && now_ns() > s->deadline_ns) {
		s->deadline_hit = true;
		return 1;
	}
	return 0;
}

static int open_video_encoder(struct enc_session *s, bool global_header)
{
	const AVCodec *codec = avcodec_find_encoder_by_name("libx264");
	AVDictionary *opts = NULL;
	AVCodecContext *c;
	int ret;

	if (!codec) {
		LOG_ERR(ENC_TAG, "this libavcodec has no libx264 encoder");
		return AVERROR_ENCODER_NOT_FOUND;
	}
	c = s->venc = avcodec_alloc_context3(codec);
	if (!c)
		return AVERROR(ENOMEM);
	c->width = s->cfg.width;
	c->height = s->cfg.height;
	c->pix_fmt = AV_PIX_FMT_YUV420P;
	c->time_base = (AVRational){1, s->cfg.fps};
	c->framerate = (AVRational){s->cfg.fps, 1};
	c->bit_rate = s->cfg.bitrate;
	c->rc_max_rate = s->cfg.bitrate;
	c->rc_buffer_size = (int)s->cfg.bitrate; /* a 1 s VBV buffer */
	c->gop_size = GOP_SECONDS * s->cfg.fps;
	c->keyint_min = c->gop_size;
	c->max_b_frames = 0;
	if (global_header)
		c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
	av_dict_set(&opts, "preset", s->cfg.preset, 0);
	av_dict_set(&opts, "tune", "zerolatency", 0);
	/* Keyframes exactly every GOP: a scene cut must not move them. */
	av_dict_set(&opts, "x264-params", "scenecut=0", 0);
	ret = avcodec_open2(c, codec, &opts);
	av_dict_free(&opts);
	if (ret < 0)
		LOG_ERR(ENC_TAG, "cannot open x264 (preset %s): %s", s->cfg.preset,
			av_err2str(ret));
	return ret;
}

static int open_audio_encoder(struct enc_session *s, bool global_header)
{
	const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_AAC);
	AVChannelLayout stereo = AV_CHANNEL_LAYOUT_STEREO;
	AVCodecContext *c;
	int ret;

	if (!codec)
		return AVERROR_ENCODER_NOT_FOUND;
	c = s->aenc = avcodec_alloc_context3(codec);
	if (!c)
		return AVERROR(ENOMEM);
	c->sample_fmt = AV_SAMPLE_FMT_FLTP;
	c->sample_rate = ENC_AUDIO_RATE;
	c->bit_rate = AUDIO_BITRATE;
	c->time_base = (AVRational){1, ENC_AUDIO_RATE};
	if ((ret = av_channel_layout_copy(&c->ch_layout, &stereo)) < 0)
		return ret;
	if (global_header)
		c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
	ret = avcodec_open2(c, codec, NULL);
	if (ret < 0)
		LOG_ERR(ENC_TAG, "cannot open the AAC encoder: %s", av_err2str(ret));
	return ret;
}

static int add_stream(struct enc_session *s, AVCodecContext *c, AVStream **out)
{
	AVStream *st = avformat_new_stream(s->oc, NULL);
	int ret;

	if (!st)
		return AVERROR(ENOMEM);
	ret = avcodec_parameters_from_context(st->codecpar, c);
	if (ret < 0)
		return ret;
	st->time_base = c->time_base;
	*out = st;
	return 0;
}

int enc_session_create(const struct enc_config *cfg, struct enc_session **out)
{
	struct enc_session *s = calloc(1, sizeof(*s));
	const bool is_test = strcmp(cfg->input, ENC_INPUT_TEST) == 0;
	int ret = AVERROR(ENOMEM);
	bool global;

	if (!s)
		return ret;
	s->cfg = *cfg;
	s->is_test = is_test;
	s->pkt = av_packet_alloc();
	if (!s->pkt)
		goto fail;

	if (is_test)
		ret = enc_source_test_create(cfg->width, cfg->height, cfg->fps, &s->src);
	else
		ret = enc_source_file_create(cfg->input, cfg->loop, cfg->width, cfg->height,
					     cfg->fps, &s->src);
	if (ret < 0) {
		LOG_ERR(ENC_TAG, "cannot read input %s: %s", cfg->input, av_err2str(ret));
		goto fail;
	}

	ret = avformat_alloc_output_context2(&s->oc, NULL, "flv", cfg->url);
	if (ret < 0)
		goto fail;
	global = s->oc->oformat->flags & AVFMT_GLOBALHEADER;
	if ((ret = open_video_encoder(s, global)) < 0 || (ret = open_audio_encoder(s, global)) < 0)
		goto fail;
	if ((ret = add_stream(s, s->venc, &s->vst)) < 0 ||
	    (ret = add_stream(s, s->aenc, &s->ast)) < 0)
		goto fail;
	s->oc->interrupt_callback = (AVIOInterruptCB){session_interrupt, s};
	*out = s;
	return 0;
fail:
	enc_session_destroy(s);
	return ret;
}

int enc_session_connect(struct enc_session *s)
{
	int ret;

	s->deadline_ns = now_ns() + (int64_t)s->cfg.connect_timeout_ms * 1000000;
	s->deadline_hit = false;
	ret = avio_open2(&s->oc->pb, s->cfg.url, AVIO_FLAG_WRITE, &s->oc->interrupt_callback, NULL);
	if (ret >= 0) {
		AVDictionary *opts = NULL;

		/* A stream cannot be rewritten at its end: no duration/size update in the trailer. */
		if (!(s->oc->pb->seekable & AVIO_SEEKABLE_NORMAL))
			av_dict_set(&opts, "flvflags", "no_duration_filesize", 0);
		ret = avformat_write_header(s->oc, &opts);
		av_dict_free(&opts);
		s->header_written = ret >= 0;
	}
	s->deadline_ns = 0;
	if (ret < 0 && s->deadline_hit)
		ret = AVERROR(ETIMEDOUT);
	if (ret >= 0) {
		s->start_ns = now_ns();
		ret = 0;
	}
	return ret;
}

/* Write every packet the encoder has ready. */
static int drain(struct enc_session *s, AVCodecContext *c, AVStream *st)
{
	int ret;

	for (;;) {
		ret = avcodec_receive_packet(c, s->pkt);
		if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
			return 0;
		if (ret < 0)
			return ret;
		s->pkt->stream_index = st->index;
		av_packet_rescale_ts(s->pkt, c->time_base, st->time_base);
		s->deadline_ns = s->cfg.stall_timeout_ms
					 ? now_ns() + (int64_t)s->cfg.stall_timeout_ms * 1000000
					 : 0;
		s->deadline_hit = false;
		ret = av_interleaved_write_frame(s->oc, s->pkt);
		s->deadline_ns = 0;
		if (ret < 0)
			return s->deadline_hit ? AVERROR(ETIMEDOUT) : ret;
		s->progress.bytes_out = avio_tell(s->oc->pb);
	}
}

static int encode(struct enc_session *s, enum enc_media kind, AVFrame *frame)
{
	AVCodecContext *c = kind == ENC_VIDEO ? s->venc : s->aenc;
	int ret = avcodec_send_frame(c, frame);

	if (ret < 0) {
		LOG_ERR(ENC_TAG, "encoding failed: %s", av_err2str(ret));
		return ret;
	}
	return drain(s, c, kind == ENC_VIDEO ? s->vst : s->ast);
}

int enc_session_step(struct enc_session *s)
{
	int64_t due_us, due_ns;
	struct timespec ts;
	int ret;

	if (!s->pending) {
		ret = s->src->next(s->src, &s->pending_kind, &s->pending);
		if (ret < 0)
			return ret;
	}
	due_us =
		av_rescale_q(s->pending->pts,
			     s->pending_kind == ENC_VIDEO ? s->venc->time_base : s->aenc->time_base,
			     AV_TIME_BASE_Q);
	due_ns = s->start_ns + due_us * 1000;
	if (now_ns() < due_ns) {
		ts.tv_sec = due_ns / 1000000000;
		ts.tv_nsec = due_ns % 1000000000;
		ret = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		if (ret == EINTR)
			return AVERROR(EINTR); /* the frame stays pending */
	}
	if (s->is_test && s->pending_kind == ENC_VIDEO) {
		/* Stamped now, when due, so that the probe measures from this moment. */
		struct enc_stamp st = {.frame = (uint32_t)s->pending->pts,
				       .time_ms = realtime_ms()};

		enc_stamp_write(s->pending->data[0], s->pending->linesize[0], s->pending->width,
				s->pending->height, &st);
	}
	ret = encode(s, s->pending_kind, s->pending);
	if (s->pending_kind == ENC_VIDEO)
		s->progress.video_frames++;
	else
		s->progress.audio_frames++;
	if (due_us > s->progress.media_time_us)
		s->progress.media_time_us = due_us;
	s->pending = NULL;
	return ret;
}

int enc_session_finish(struct enc_session *s)
{
	int ret;

	if (!s->header_written)
		return 0;
	if ((ret = avcodec_send_frame(s->venc, NULL)) < 0 ||
	    (ret = drain(s, s->venc, s->vst)) < 0 ||
	    (ret = avcodec_send_frame(s->aenc, NULL)) < 0 || (ret = drain(s, s->aenc, s->ast)) < 0)
		return ret;
	s->deadline_ns = now_ns() + (int64_t)s->cfg.connect_timeout_ms * 1000000;
	ret = av_write_trailer(s->oc);
	s->deadline_ns = 0;
	s->header_written = false;
	return ret;
}

void enc_session_progress(const struct enc_session *s, struct enc_progress *p)
{
	*p = s->progress;
}

void enc_session_destroy(struct enc_session *s)
{
	if (!s)
		return;
	if (s->oc) {
		/* Closing must not hang on a dead connection. */
		s->deadline_ns = now_ns() + 2000000000LL;
		avio_closep(&s->oc->pb);
		avformat_free_context(s->oc);
	}
	avcodec_free_context(&s->venc);
	avcodec_free_context(&s->aenc);
	av_packet_free(&s->pkt);
	if (s->src)
		s->src->destroy(s->src);
	free(s);
}
