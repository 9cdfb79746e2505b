// SPDX-License-Identifier: MIT
/*
 * A file input: demux and decode with libavformat/libavcodec, scale to the
 * output size with libswscale, resample to 48 kHz stereo with libswresample.
 * Frames come out in decoding order with their presentation times, and the
 * session paces them in real time; the muxer interleaves the two streams.
 * With loop set, the file starts again at its end and the timestamps go on.
 */
#include "log.h"
#include "source.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/channel_layout.h>
#include <libavutil/mathematics.h>
#include <libswresample/swresample.h>
#include <libswscale/swscale.h>
#include <stdlib.h>

struct file_source {
	struct enc_source base;
	bool loop;
	int width, height, fps;
	AVFormatContext *ic;
	int vidx, aidx;
	AVCodecContext *vdec, *adec;
	struct SwsContext *sws;
	SwrContext *swr;
	AVAudioFifo *fifo;
	uint8_t **conv; /* resampler output buffer */
	int conv_cap;	/* its size in samples */
	AVPacket *pkt;
	AVFrame *dec, *video, *audio;
	bool draining;	     /* the demuxer is at its end; decoders are being flushed */
	int64_t offset_us;   /* added to the file's timestamps (loops) */
	int64_t end_us;	     /* end of the latest frame, output time */
	int64_t last_vpts;   /* last video pts returned, in 1/fps */
	int64_t next_sample; /* pts of the next audio frame */
	int64_t iteration;
};

/* The output time of a decoded frame, in microseconds. */
static int64_t frame_time_us(struct file_source *f, int idx, const AVFrame *frame)
{
	int64_t ts = frame->best_effort_timestamp;
	int64_t start = f->ic->start_time != AV_NOPTS_VALUE ? f->ic->start_time : 0;

	if (ts == AV_NOPTS_VALUE)
		return f->end_us;
	return av_rescale_q(ts, f->ic->streams[idx]->time_base, AV_TIME_BASE_Q) - start +
	       f->offset_us;
}

static int convert_video(struct file_source *f, AVFrame **out)
{
	int64_t t = frame_time_us(f, f->vidx, f->dec);
	int64_t pts = av_rescale(t, f->fps, AV_TIME_BASE);
	int ret;

	if (pts <= f->last_vpts)
		return 0; /* more input frames than output slots: drop this one */
	f->sws = sws_getCachedContext(f->sws, f->dec->width, f->dec->height, f->dec->format,
				      f->width, f->height, AV_PIX_FMT_YUV420P, SWS_BICUBIC, NULL,
				      NULL, NULL);
	if (!f->sws)
		return AVERROR(EINVAL);
	if ((ret = av_frame_make_writable(f->video)) < 0)
		return ret;
	ret = sws_scale(f->sws, (const uint8_t *const *)f->dec->data, f->dec->linesize, 0,
			f->dec->height, f->video->data, f->video->linesize);
	if (ret < 0)
		return ret;
	f->video->pts = pts;
	f->last_vpts = pts;
	if (t + AV_TIME_BASE / f->fps > f->end_us)
		f->end_us = t + AV_TIME_BASE / f->fps;
	*out = f->video;
	return 1;
}

static int resample_into_fifo(struct file_source *f, const AVFrame *in)
{
	int want = swr_get_out_samples(f->swr, in ? in->nb_samples : 0);
	int got, ret;

	if (want <= 0)
		return 0;
	if (want > f->conv_cap) {
		if (f->conv)
			av_freep(&f->conv[0]);
		av_freep(&f->conv);
		ret = av_samples_alloc_array_and_samples(&f->conv, NULL, 2, want,
							 AV_SAMPLE_FMT_FLTP, 0);
		if (ret < 0)
			return ret;
		f->conv_cap = want;
	}
	got = swr_convert(f->swr, f->conv, want, in ? (const uint8_t **)in->extended_data : NULL,
			  in ? in->nb_samples : 0);
	if (got < 0)
		return got;
	if (got > 0 && av_audio_fifo_write(f->fifo, (void **)f->conv, got) < got)
		return AVERROR(ENOMEM);
	return 0;
}

static int audio_frame_from_fifo(struct file_source *f, AVFrame **out)
{
	int n = av_audio_fifo_size(f->fifo);
	int ret;

	if ((ret = av_frame_make_writable(f->audio)) < 0)
		return ret;
	if (n < ENC_AUDIO_FRAME)
		enc_audio_silence(f->audio, n);
	if (av_audio_fifo_read(f->fifo, (void **)f->audio->data, ENC_AUDIO_FRAME) < 0)
		return AVERROR(EIO);
	f->audio->pts = f->next_sample;
	f->next_sample += ENC_AUDIO_FRAME;
	*out = f->audio;
	return 0;
}

static int silence_frame(struct file_source *f, AVFrame **out)
{
	int ret = av_frame_make_writable(f->audio);

	if (ret < 0)
		return ret;
	enc_audio_silence(f->audio, 0);
	f->audio->pts = f->next_sample;
	f->next_sample += ENC_AUDIO_FRAME;
	*out = f->audio;
	return 0;
}

static int rewind_input(struct file_source *f)
{
	int64_t audio_end = av_rescale(f->next_sample, AV_TIME_BASE, ENC_AUDIO_RATE);
	int ret = avformat_seek_file(f->ic, -1, INT64_MIN,
				     f->ic->start_time != AV_NOPTS_VALUE ? f->ic->start_time : 0,
				     INT64_MAX, 0);

	if (ret < 0)
		return ret;
	avcodec_flush_buffers(f->vdec);
	if (f->adec)
		avcodec_flush_buffers(f->adec);
	f->offset_us = FFMAX(f->end_us, audio_end);
	f->next_sample = av_rescale(f->offset_us, ENC_AUDIO_RATE, AV_TIME_BASE);
	f->draining = false;
	f->iteration++;
	LOG_DEBUG(ENC_TAG, "input looped (%" PRId64 ")", f->iteration);
	return 0;
}

static int file_next(struct enc_source *src, enum enc_media *kind, AVFrame **frame)
{
	struct file_source *f = (struct file_source *)src;
	int ret;

	for (;;) {
		bool vdone = false, adone = !f->adec;

		/* An input without audio gets silence, so the output always has both. */
		if (f->aidx < 0 && f->next_sample * f->fps < (f->last_vpts + 1) * ENC_AUDIO_RATE) {
			*kind = ENC_AUDIO;
			return silence_frame(f, frame);
		}
		if (f->fifo && av_audio_fifo_size(f->fifo) >= ENC_AUDIO_FRAME) {
			*kind = ENC_AUDIO;
			return audio_frame_from_fifo(f, frame);
		}
		ret = avcodec_receive_frame(f->vdec, f->dec);
		if (ret >= 0) {
			ret = convert_video(f, frame);
			av_frame_unref(f->dec);
			if (ret < 0)
				return ret;
			if (ret > 0) {
				*kind = ENC_VIDEO;
				return 0;
			}
			continue;
		}
		if (ret == AVERROR_EOF)
			vdone = true;
		else if (ret != AVERROR(EAGAIN))
			return ret;
		if (f->adec) {
			ret = avcodec_receive_frame(f->adec, f->dec);
			if (ret >= 0) {
				ret = resample_into_fifo(f, f->dec);
				av_frame_unref(f->dec);
				if (ret < 0)
					return ret;
				continue;
			}
			if (ret == AVERROR_EOF)
				adone = true;
			else if (ret != AVERROR(EAGAIN))
				return ret;
		}
		if (f->draining && vdone && adone) {
			if (f->swr && (ret = resample_into_fifo(f, NULL)) < 0)
				return ret;
			if (f->fifo && av_audio_fifo_size(f->fifo) > 0) {
				*kind = ENC_AUDIO;
				return audio_frame_from_fifo(f, frame);
			}
			if (!f->loop)
				return AVERROR_EOF;
			if ((ret = rewind_input(f)) < 0)
				return ret;
			continue;
		}
		if (f->draining)
			continue;

		ret = av_read_frame(f->ic, f->pkt);
		if (ret == AVERROR_EOF || (ret < 0 && avio_feof(f->ic->pb))) {
			f->draining = true;
			avcodec_send_packet(f->vdec, NULL);
			if (f->adec)
				avcodec_send_packet(f->adec, NULL);
			continue;
		}
		if (ret < 0)
			return ret;
		if (f->pkt->stream_index == f->vidx)
			ret = avcodec_send_packet(f->vdec, f->pkt);
		else if (f->pkt->stream_index == f->aidx)
			ret = avcodec_send_packet(f->adec, f->pkt);
		else
			ret = 0;
		av_packet_unref(f->pkt);
		if (ret < 0 && ret != AVERROR_INVALIDDATA)
			return ret;
	}
}

static void file_destroy(struct enc_source *src)
{
	struct file_source *f = (struct file_source *)src;

	if (!f)
		return;
	avcodec_free_context(&f->vdec);
	avcodec_free_context(&f->adec);
	avformat_close_input(&f->ic);
	sws_freeContext(f->sws);
	swr_free(&f->swr);
	if (f->fifo)
		av_audio_fifo_free(f->fifo);
	if (f->conv)
		av_freep(&f->conv[0]);
	av_freep(&f->conv);
	av_packet_free(&f->pkt);
	av_frame_free(&f->dec);
	av_frame_free(&f->video);
	av_frame_free(&f->audio);
	free(f);
}

static int open_audio(struct file_source *f)
{
	AVChannelLayout stereo = AV_CHANNEL_LAYOUT_STEREO;
	int ret = enc_open_decoder(f->ic->streams[f->aidx], false, &f->adec);

	if (ret < 0)
		return ret;
	if (f->adec->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC)
		av_channel_layout_default(&f->adec->ch_layout, f->adec->ch_layout.nb_channels);
	ret = swr_alloc_set_opts2(&f->swr, &stereo, AV_SAMPLE_FMT_FLTP, ENC_AUDIO_RATE,
				  &f->adec->ch_layout, f->adec->sample_fmt, f->adec->sample_rate, 0,
				  NULL);
	if (ret < 0 || (ret = swr_init(f->swr)) < 0)
		return ret;
	f->fifo = av_audio_fifo_alloc(AV_SAMPLE_FMT_FLTP, 2, ENC_AUDIO_RATE);
	return f->fifo ? 0 : AVERROR(ENOMEM);
}

int enc_source_file_create(const char *path, bool loop, int width, int height, int fps,
			   struct enc_source **out)
{
	struct file_source *f = calloc(1, sizeof(*f));
	int ret = AVERROR(ENOMEM);

	if (!f)
		return ret;
	f->base.next = file_next;
	f->base.destroy = file_destroy;
	f->loop = loop;
	f->width = width;
	f->height = height;
	f->fps = fps;
	f->last_vpts = -1;
	f->aidx = -1;

	ret = avformat_open_input(&f->ic, path, NULL, NULL);
	if (ret < 0)
		goto fail;
	ret = avformat_find_stream_info(f->ic, NULL);
	if (ret < 0)
		goto fail;
	ret = av_find_best_stream(f->ic, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
	if (ret < 0)
		goto fail;
	f->vidx = ret;
	if ((ret = enc_open_decoder(f->ic->streams[f->vidx], false, &f->vdec)) < 0)
		goto fail;
	f->aidx = av_find_best_stream(f->ic, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0);
	if (f->aidx >= 0 && (ret = open_audio(f)) < 0)
		goto fail;

	ret = AVERROR(ENOMEM);
	f->pkt = av_packet_alloc();
	f->dec = av_frame_alloc();
	f->video = enc_video_frame_alloc(width, height);
	f->audio = enc_audio_frame_alloc();
	if (!f->pkt || !f->dec || !f->video || !f->audio)
		goto fail;
	*out = &f->base;
	return 0;
fail:
	file_destroy(&f->base);
	return ret;
}
