// SPDX-License-Identifier: MIT
/*
 * The pass-through input (--copy): a file already in H.264 or HEVC (and AAC) is
 * demuxed and its packets go to the queue as they are, paced in real time by
 * their decoding timestamps. Its bit rate is the file's: rate control can only
 * drop. With loop set the file starts again at its end and the timestamps go
 * on.
 */
#include "enc_internal.h"
#include "log.h"

#include <libavutil/mathematics.h>
#include <stdlib.h>

struct enc_copy {
	AVFormatContext *ic;
	int idx[2]; /* input stream of ENC_VIDEO, ENC_AUDIO; -1: none */
	bool loop;
	int64_t start_us;  /* the file's first timestamp */
	int64_t offset_us; /* added to the file's timestamps (loops) */
	int64_t end_us;	   /* end of the latest packet, output time */
	bool got_packet;   /* in this iteration: an empty file must not loop forever */
};

void enc_copy_close(struct enc_copy *c)
{
	if (!c)
		return;
	avformat_close_input(&c->ic);
	free(c);
}

static const char *codec_name(const AVCodecParameters *par)
{
	const char *name = avcodec_get_name(par->codec_id);

	return name ? name : "unknown";
}

/* Whether the video of @par is what --codec @want asks for (auto: H.264 or HEVC). */
static bool video_wanted(const AVCodecParameters *par, enum enc_codec want)
{
	switch (want) {
	case ENC_CODEC_H264:
		return par->codec_id == AV_CODEC_ID_H264;
	case ENC_CODEC_HEVC:
		return par->codec_id == AV_CODEC_ID_HEVC;
	default:
		return par->codec_id == AV_CODEC_ID_H264 || par->codec_id == AV_CODEC_ID_HEVC;
	}
}

int enc_copy_open(const char *path, bool loop, enum enc_codec want, struct enc_copy **out,
		  AVCodecParameters *par[2], AVRational tb[2])
{
	struct enc_copy *c = calloc(1, sizeof(*c));
	int ret = AVERROR(ENOMEM);

	if (!c)
		return ret;
	c->loop = loop;
	if ((ret = avformat_open_input(&c->ic, path, NULL, NULL)) < 0 ||
	    (ret = avformat_find_stream_info(c->ic, NULL)) < 0)
		goto fail;
	c->idx[ENC_VIDEO] = av_find_best_stream(c->ic, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
	c->idx[ENC_AUDIO] = av_find_best_stream(c->ic, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0);
	ret = AVERROR_INVALIDDATA;
	if (c->idx[ENC_VIDEO] < 0) {
		LOG_ERR(ENC_TAG, "--copy: %s has no video stream", path);
		goto fail;
	}
	for (int k = ENC_VIDEO; k <= ENC_AUDIO; k++) {
		const AVStream *st;

		if (c->idx[k] < 0)
			continue;
		st = c->ic->streams[c->idx[k]];
		if (k == ENC_VIDEO ? !video_wanted(st->codecpar, want)
				   : st->codecpar->codec_id != AV_CODEC_ID_AAC) {
			LOG_ERR(ENC_TAG, "--copy needs %s video and AAC audio; %s has %s %s",
				want == ENC_CODEC_HEVC	 ? "HEVC"
				: want == ENC_CODEC_H264 ? "H.264"
							 : "H.264 or HEVC",
				path, k == ENC_VIDEO ? "video in" : "audio in",
				codec_name(st->codecpar));
			goto fail;
		}
		if (k == ENC_VIDEO && !st->codecpar->extradata_size) {
			/* FLV carries the parameter sets once, in the header. */
			LOG_ERR(ENC_TAG,
				"--copy: %s carries no parameter sets in its header "
				"(an MPEG-TS?); remux it to MP4 or FLV first",
				path);
			goto fail;
		}
		par[k] = avcodec_parameters_alloc();
		if (!par[k] || (ret = avcodec_parameters_copy(par[k], st->codecpar)) < 0) {
			ret = AVERROR(ENOMEM);
			goto fail;
		}
		par[k]->codec_tag = 0;
		tb[k] = st->time_base;
	}
	c->start_us = c->ic->start_time != AV_NOPTS_VALUE ? c->ic->start_time : 0;
	*out = c;
	return 0;
fail:
	enc_copy_close(c);
	return ret;
}

static int rewind_input(struct enc_copy *c)
{
	int ret;

	if (!c->got_packet)
		return AVERROR_EOF;
	ret = avformat_seek_file(c->ic, -1, INT64_MIN, c->start_us, INT64_MAX, 0);
	if (ret < 0)
		return ret;
	c->offset_us = c->end_us;
	c->got_packet = false;
	LOG_DEBUG(ENC_TAG, "input looped");
	return 0;
}

int enc_copy_next(struct enc_copy *c, AVPacket *pkt, enum enc_media *kind, int64_t *due_us)
{
	int ret;

	for (;;) {
		const AVStream *st;
		int64_t off, dts_us;

		ret = av_read_frame(c->ic, pkt);
		if (ret == AVERROR_EOF || (ret < 0 && avio_feof(c->ic->pb))) {
			if (!c->loop)
				return AVERROR_EOF;
			if ((ret = rewind_input(c)) < 0)
				return ret;
			continue;
		}
		if (ret < 0)
			return ret;
		if (pkt->stream_index == c->idx[ENC_VIDEO])
			*kind = ENC_VIDEO;
		else if (pkt->stream_index == c->idx[ENC_AUDIO])
			*kind = ENC_AUDIO;
		else {
			av_packet_unref(pkt);
			continue;
		}
		st = c->ic->streams[pkt->stream_index];
		if (pkt->dts == AV_NOPTS_VALUE)
			pkt->dts = pkt->pts;
		if (pkt->dts == AV_NOPTS_VALUE) {
			av_packet_unref(pkt);
			continue;
		}
		/* Into the output's timeline: from 0, and on from the previous loop. */
		off = av_rescale_q(c->offset_us - c->start_us, AV_TIME_BASE_Q, st->time_base);
		pkt->dts += off;
		if (pkt->pts != AV_NOPTS_VALUE)
			pkt->pts += off;
		dts_us = av_rescale_q(pkt->dts, st->time_base, AV_TIME_BASE_Q);
		if (dts_us + av_rescale_q(pkt->duration, st->time_base, AV_TIME_BASE_Q) > c->end_us)
			c->end_us =
				dts_us + av_rescale_q(pkt->duration, st->time_base, AV_TIME_BASE_Q);
		c->got_packet = true;
		pkt->stream_index = *kind;
		*due_us = dts_us > 0 ? dts_us : 0;
		return 0;
	}
}
