// SPDX-License-Identifier: MIT
/*
 * The encoding side: the encode/drain loop of FFmpeg's doc/examples, paced in
 * real time. Packets go into a queue (queue.c) that the network side
 * (output.c) empties; the encoder therefore never waits for the network.
 */
#include "clock.h"
#include "enc_internal.h"
#include "live.h"
#include "log.h"

#include <errno.h>
#include <inttypes.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <stdlib.h>
#include <time.h>

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
	c->bit_rate = ENC_AUDIO_BITRATE;
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

int enc_session_create(const struct enc_config *cfg, struct enc_session **out)
{
	struct enc_session *s = calloc(1, sizeof(*s));
	int ret = AVERROR(ENOMEM);
	bool global;

	if (!s)
		return ret;
	s->cfg = *cfg;
	s->keep_ms = cfg->buffer_ms;
	s->is_test = !cfg->live && strcmp(cfg->input, ENC_INPUT_TEST) == 0;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	s->pkt = av_packet_alloc();
	if (!s->pkt)
		goto fail;

	atomic_init(&s->want_bitrate, cfg->bitrate);
	s->progress.target_bps = cfg->copy ? 0 : cfg->bitrate;
	s->video_last_dts_us = INT64_MIN;
	if (cfg->copy && (s->is_test || (cfg->live && !enc_live_packets(cfg->live)))) {
		LOG_ERR(ENC_TAG, "--copy needs a file input or a live one started with copy");
		ret = AVERROR(EINVAL);
		goto fail;
	}
	/* The reader passes one codec, the slate is encoded in another: refused (sender/main.c gives both). */
	if (cfg->copy && cfg->live &&
	    (enc_live_config(cfg->live)->codec == ENC_CODEC_HEVC) !=
		    (cfg->codec == ENC_CODEC_HEVC)) {
		LOG_ERR(ENC_TAG,
			"--copy of a live input: its reader and the session differ in codec");
		ret = AVERROR(EINVAL);
		goto fail;
	}
	if (cfg->live)
		ret = enc_source_live_create(cfg->live, &s->src);
	else if (cfg->copy) /* a file */
		ret = enc_copy_open(cfg->input, cfg->loop, cfg->codec, &s->copy, s->par, s->tb);
	else if (s->is_test)
		ret = enc_source_test_create(cfg->width, cfg->height, cfg->fps, &s->src);
	else
		ret = enc_source_file_create(cfg->input, cfg->loop, cfg->width, cfg->height,
					     cfg->fps, &s->src);
	if (ret < 0) {
		LOG_ERR(ENC_TAG, "cannot read input %s: %s", cfg->input, av_err2str(ret));
		goto fail;
	}
	s->ofmt = av_guess_format("flv", NULL, NULL);
	if (!s->ofmt) {
		ret = AVERROR_MUXER_NOT_FOUND;
		goto fail;
	}
	if (s->copy) {
		s->cfg.codec = s->par[ENC_VIDEO]->codec_id == AV_CODEC_ID_HEVC ? ENC_CODEC_HEVC
									       : ENC_CODEC_H264;
		*out = s;
		return 0;
	}
	/* Nothing says whether the server takes HEVC before it is sent: auto is H.264. */
	if (s->cfg.codec == ENC_CODEC_AUTO)
		s->cfg.codec = ENC_CODEC_H264;
	/* FLV (and the HEVC writer, eflv_out.c) carry the parameter sets once, in a header. */
	global = s->ofmt->flags & AVFMT_GLOBALHEADER;
	if ((ret = enc_venc_open(s, global)) < 0 || (ret = open_audio_encoder(s, global)) < 0)
		goto fail;
	ret = AVERROR(ENOMEM);
	for (int k = ENC_VIDEO; k <= ENC_AUDIO; k++) {
		AVCodecContext *c = k == ENC_VIDEO ? s->venc : s->aenc;

		s->par[k] = avcodec_parameters_alloc();
		if (!s->par[k] || (ret = avcodec_parameters_from_context(s->par[k], c)) < 0)
			goto fail;
		s->tb[k] = c->time_base;
	}
	/* --copy of a live input: the camera's timestamps and the slate's on one fine timeline. */
	if (cfg->copy)
		s->tb[ENC_VIDEO] = (AVRational){1, 90000};
	*out = s;
	return 0;
fail:
	enc_session_destroy(s);
	return ret;
}

int enc_session_set_bitrate(struct enc_session *s, int64_t bps)
{
	if (s->cfg.copy)
		return -ENOTSUP;
	atomic_store(&s->want_bitrate, bps);
	return 0;
}

int enc_session_request_keyframe(struct enc_session *s)
{
	if (s->cfg.copy)
		return -ENOTSUP;
	atomic_store(&s->want_keyframe, true);
	return 0;
}

int enc_session_record(struct enc_session *s, struct enc_record *r)
{
	s->record = r;
	return enc_record_attach(r, s);
}

/*
 * --copy of a live input: a slate packet onto the camera's timeline (after
 * the camera's last packet), its keyframes with the slate's parameter sets.
 */
static int slate_packet(struct enc_session *s, AVCodecContext *c)
{
	av_packet_rescale_ts(s->pkt, c->time_base, AV_TIME_BASE_Q);
	return enc_video_onto_timeline(s, s->pkt, &s->slate_shift_us, c->extradata,
				       c->extradata_size);
}

/* Queue every packet the encoder has ready. */
static int drain(struct enc_session *s, AVCodecContext *c, enum enc_media kind)
{
	int ret;

	for (;;) {
		ret = avcodec_receive_packet(c, s->pkt);
		if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
			return 0;
		if (ret < 0)
			return ret;
		if (kind == ENC_VIDEO && s->cfg.copy && (ret = slate_packet(s, c)) < 0)
			return ret;
		if (kind == ENC_VIDEO && (s->pkt->flags & AV_PKT_FLAG_KEY)) {
			s->venc_since_key = 0;
			/*
			 * Once opened again, its keyframes carry its parameter sets: a
			 * connection made later starts with the first ones (s->par), and
			 * its writer sends the new ones when they differ.
			 */
			if (s->venc_reopened &&
			    (ret = enc_packet_add_extradata(s->pkt, c->extradata,
							    c->extradata_size)) < 0)
				return ret;
		}
		ret = enc_enqueue(s, kind);
		av_packet_unref(s->pkt);
		if (ret < 0)
			return ret;
	}
}

/*
 * A new rate for an encoder that reads it only when it opens (libx265): it is
 * drained and opened again, which starts with a keyframe. So that costs no
 * extra keyframe, that waits for the next one due (a GOP, a keyframe asked
 * for), unless the rate is to fall by a fifth or more (a path is congested)
 * and the last keyframe is half a GOP old: the rate controller may step down
 * every half second, and a keyframe each time is what a congested path can
 * least carry.
 */
static int rate_by_reopen(struct enc_session *s, int64_t bps)
{
	AVCodecContext *c = s->venc;
	bool due = s->venc_since_key + 1 >= c->gop_size || atomic_load(&s->want_keyframe) ||
		   (bps * 5 <= c->bit_rate * 4 && s->venc_since_key >= c->gop_size / 2);
	int ret;

	if (bps == c->bit_rate || !due)
		return 0;
	if ((ret = avcodec_send_frame(c, NULL)) < 0 || (ret = drain(s, c, ENC_VIDEO)) < 0)
		return ret;
	if ((ret = enc_venc_reopen(s, bps)) < 0) {
		LOG_ERR(ENC_TAG, "cannot open the video encoder again at %" PRId64 " bit/s: %s",
			bps, av_err2str(ret));
		return ret;
	}
	s->venc_reopened = true;
	pthread_mutex_lock(&s->lock);
	s->progress.target_bps = bps;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static int encode(struct enc_session *s, enum enc_media kind, AVFrame *frame)
{
	AVCodecContext *c = kind == ENC_VIDEO ? s->venc : s->aenc;
	int ret;

	if (kind == ENC_VIDEO && enc_venc_needs_reopen(c)) {
		if ((ret = rate_by_reopen(s, atomic_load(&s->want_bitrate))) < 0)
			return ret;
		c = s->venc;
	} else if (kind == ENC_VIDEO) {
		int64_t bps = atomic_load(&s->want_bitrate);

		if (bps != c->bit_rate || bps != c->rc_max_rate) {
			/*
			 * Down in two frames, the average first: x264 warns about a
			 * maxrate below the average otherwise (the wrapper applies the
			 * VBV before the bit rate).
			 */
			if (bps < c->bit_rate)
				c->bit_rate = bps;
			else
				enc_venc_set_rate(c, bps);
			pthread_mutex_lock(&s->lock);
			s->progress.target_bps = bps;
			pthread_mutex_unlock(&s->lock);
		}
	}
	if (kind == ENC_VIDEO) {
		frame->pict_type = atomic_exchange(&s->want_keyframe, false) ? AV_PICTURE_TYPE_I
									     : AV_PICTURE_TYPE_NONE;
		s->venc_since_key++;
	}
	if (kind == ENC_VIDEO && (ret = enc_venc_prepare(s, frame, &frame)) < 0) {
		LOG_ERR(ENC_TAG, "cannot hand the picture to the encoder: %s", av_err2str(ret));
		return ret;
	}
	ret = avcodec_send_frame(c, frame);
	if (ret < 0) {
		LOG_ERR(ENC_TAG, "encoding failed: %s", av_err2str(ret));
		return ret;
	}
	return drain(s, c, kind);
}

/* Wait until @due_us of media time; AVERROR(EINTR) when a signal cut it short. */
static int wait_due(struct enc_session *s, int64_t due_us)
{
	int64_t due_ns = s->start_ns + due_us * 1000;
	struct timespec ts;

	if (mps_mono_ns() >= due_ns)
		return 0;
	ts.tv_sec = due_ns / 1000000000;
	ts.tv_nsec = due_ns % 1000000000;
	return clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR ? AVERROR(EINTR)
										   : 0;
}

static void count_frame(struct enc_session *s, enum enc_media kind, int64_t due_us)
{
	pthread_mutex_lock(&s->lock);
	if (kind == ENC_VIDEO)
		s->progress.video_frames++;
	else
		s->progress.audio_frames++;
	if (due_us > s->progress.media_time_us)
		s->progress.media_time_us = due_us;
	pthread_mutex_unlock(&s->lock);
}

/* The pass-through step: the next packet, when due, into the queue. */
static int copy_step(struct enc_session *s)
{
	int ret;

	if (!s->pending_copy) {
		ret = enc_copy_next(s->copy, s->pkt, &s->pending_kind, &s->pending_due_us);
		if (ret < 0)
			return ret;
		s->pending_copy = true;
	}
	if ((ret = wait_due(s, s->pending_due_us)) < 0)
		return ret;
	ret = enc_enqueue(s, s->pending_kind);
	av_packet_unref(s->pkt);
	s->pending_copy = false;
	count_frame(s, s->pending_kind, s->pending_due_us);
	return ret;
}

int enc_session_step(struct enc_session *s)
{
	int64_t due_us;
	int ret;

	if (!s->start_ns)
		s->start_ns = mps_mono_ns();
	if (s->copy)
		return copy_step(s);
	if (!s->pending) {
		ret = s->src->next(s->src, &s->pending_kind, &s->pending);
		if (ret < 0)
			return ret;
	}
	due_us =
		av_rescale_q(s->pending->pts,
			     s->pending_kind == ENC_VIDEO ? s->venc->time_base : s->aenc->time_base,
			     AV_TIME_BASE_Q);
	if ((ret = wait_due(s, due_us)) < 0)
		return ret; /* the frame stays pending */
	if (s->cfg.copy && s->pending_kind == ENC_VIDEO &&
	    (ret = enc_passthrough_tick(s, due_us)) != 0) {
		/* The camera's own packets went out instead (or an error). */
		count_frame(s, ENC_VIDEO, due_us);
		s->pending = NULL;
		return ret < 0 ? ret : 0;
	}
	if (s->is_test && s->pending_kind == ENC_VIDEO) {
		/* Stamped now, when due, so that `mpstream probe` measures from this moment. */
		struct enc_stamp st = {.frame = (uint32_t)s->pending->pts,
				       .time_ms = (uint64_t)(mps_realtime_us() / 1000)};

		enc_stamp_write(s->pending->data[0], s->pending->linesize[0], s->pending->width,
				s->pending->height, &st);
	}
	ret = encode(s, s->pending_kind, s->pending);
	count_frame(s, s->pending_kind, due_us);
	s->pending = NULL;
	return ret;
}

int enc_session_drain(struct enc_session *s)
{
	int ret;

	if (s->copy)
		goto ended;
	if ((ret = avcodec_send_frame(s->venc, NULL)) < 0 ||
	    (ret = drain(s, s->venc, ENC_VIDEO)) < 0 ||
	    (ret = avcodec_send_frame(s->aenc, NULL)) < 0 ||
	    (ret = drain(s, s->aenc, ENC_AUDIO)) < 0) {
		/* Already drained: nothing more to queue. */
		if (ret != AVERROR_EOF)
			return ret;
	}
ended:
	pthread_mutex_lock(&s->lock);
	s->ended = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

void enc_session_progress(struct enc_session *s, struct enc_progress *p)
{
	pthread_mutex_lock(&s->lock);
	*p = s->progress;
	pthread_mutex_unlock(&s->lock);
	if (s->cfg.live)
		enc_live_status(s->cfg.live, &p->input);
	else
		p->input = (struct enc_input_status){.state = ENC_INPUT_NONE};
}

void enc_session_destroy(struct enc_session *s)
{
	if (!s)
		return;
	enc_queue_clear(s);
	enc_venc_free(s);
	avcodec_free_context(&s->aenc);
	avcodec_parameters_free(&s->par[ENC_VIDEO]);
	avcodec_parameters_free(&s->par[ENC_AUDIO]);
	enc_copy_close(s->copy);
	av_packet_free(&s->pkt);
	if (s->src)
		s->src->destroy(s->src);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	free(s);
}
