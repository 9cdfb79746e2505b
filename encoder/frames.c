// SPDX-License-Identifier: MIT
/* What every source allocates alike: its output frames and its decoders. */
#include "source.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>

AVFrame *enc_video_frame_alloc(int width, int height)
{
	AVFrame *f = av_frame_alloc();

	if (!f)
		return NULL;
	f->format = AV_PIX_FMT_YUV420P;
	f->width = width;
	f->height = height;
	if (av_frame_get_buffer(f, 0) < 0)
		av_frame_free(&f);
	return f;
}

AVFrame *enc_audio_frame_alloc(void)
{
	AVChannelLayout stereo = AV_CHANNEL_LAYOUT_STEREO;
	AVFrame *f = av_frame_alloc();

	if (!f)
		return NULL;
	f->format = AV_SAMPLE_FMT_FLTP;
	f->sample_rate = ENC_AUDIO_RATE;
	f->nb_samples = ENC_AUDIO_FRAME;
	if (av_channel_layout_copy(&f->ch_layout, &stereo) < 0 || av_frame_get_buffer(f, 0) < 0)
		av_frame_free(&f);
	return f;
}

void enc_audio_silence(AVFrame *f, int from)
{
	av_samples_set_silence(f->data, from, f->nb_samples - from, f->ch_layout.nb_channels,
			       f->format);
}

int enc_open_decoder(const AVStream *st, bool slice_threads, AVCodecContext **out)
{
	const AVCodec *codec = avcodec_find_decoder(st->codecpar->codec_id);
	AVCodecContext *d;
	int ret;

	if (!codec)
		return AVERROR_DECODER_NOT_FOUND;
	d = avcodec_alloc_context3(codec);
	if (!d)
		return AVERROR(ENOMEM);
	if (slice_threads) {
		/* Slices, not frames, in parallel: frame threads would delay each picture. */
		d->thread_count = 0;
		d->thread_type = FF_THREAD_SLICE;
	}
	if ((ret = avcodec_parameters_to_context(d, st->codecpar)) < 0 ||
	    (ret = avcodec_open2(d, codec, NULL)) < 0) {
		avcodec_free_context(&d);
		return ret;
	}
	d->pkt_timebase = st->time_base;
	*out = d;
	return 0;
}
