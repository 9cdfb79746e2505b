// SPDX-License-Identifier: MIT
/*
 * The video encoder: libx264 by default, libx265 with --codec hevc, or any
 * encoder of that codec libavcodec has (--encoder). One that takes software
 * frames gets them in its own pixel format (converted from the sources'
 * yuv420p with libswscale when it wants another); one that takes only hardware frames (h264_vaapi) gets its device
 * and a pool of surfaces through libavutil's hwcontext, and each picture
 * uploaded (NV12). Rate control is libavcodec's bit rate for all of them;
 * libavcodec's libx265 wrapper (5.1) reads it only when it opens, so a new
 * rate reopens it (enc_venc_reopen()).
 */
#include "enc_internal.h"
#include "log.h"

#include <errno.h>
#include <libavutil/hwcontext.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
#include <string.h>

#define GOP_SECONDS	2
#define HW_POOL_SIZE	8
#define DEFAULT_ENCODER "libx264"
#define DEFAULT_HEVC	"libx265"

const char *enc_codec_name(enum enc_codec c)
{
	return c == ENC_CODEC_HEVC ? "hevc" : c == ENC_CODEC_AUTO ? "auto" : "h264";
}

static enum AVCodecID codec_id(enum enc_codec c)
{
	return c == ENC_CODEC_HEVC ? AV_CODEC_ID_HEVC : AV_CODEC_ID_H264;
}

void enc_venc_set_rate(AVCodecContext *c, int64_t bps)
{
	c->bit_rate = bps;
	c->rc_max_rate = bps;
	c->rc_buffer_size = (int)(bps / 2);
}

/* "libx264, h264_vaapi, ...": the encoders of @id in this libavcodec, for a message. */
static void list_encoders(enum AVCodecID id, char *buf, size_t size)
{
	const AVCodec *c;
	void *it = NULL;
	size_t used = 0;

	buf[0] = '\0';
	while ((c = av_codec_iterate(&it)) && used + 2 < size) {
		int n;

		if (!av_codec_is_encoder(c) || c->id != id)
			continue;
		n = snprintf(buf + used, size - used, "%s%s", used ? ", " : "", c->name);
		if (n < 0)
			break;
		used += (size_t)n;
	}
}

/* The first hardware frame pool the encoder can take, or AV_HWDEVICE_TYPE_NONE. */
static enum AVHWDeviceType hw_frames_type(const AVCodec *codec, enum AVPixelFormat *hw_fmt)
{
	const AVCodecHWConfig *cfg;

	for (int i = 0; (cfg = avcodec_get_hw_config(codec, i)); i++)
		if (cfg->methods & AV_CODEC_HW_CONFIG_METHOD_HW_FRAMES_CTX) {
			*hw_fmt = cfg->pix_fmt;
			return cfg->device_type;
		}
	return AV_HWDEVICE_TYPE_NONE;
}

/* The software format the encoder takes: yuv420p when it can, else its first one; NONE: none. */
static enum AVPixelFormat software_format(const AVCodec *codec)
{
	enum AVPixelFormat first = AV_PIX_FMT_NONE;

	if (!codec->pix_fmts)
		return AV_PIX_FMT_YUV420P;
	for (const enum AVPixelFormat *p = codec->pix_fmts; *p != AV_PIX_FMT_NONE; p++) {
		const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(*p);

		if (*p == AV_PIX_FMT_YUV420P)
			return *p;
		if (first == AV_PIX_FMT_NONE && d && !(d->flags & AV_PIX_FMT_FLAG_HWACCEL))
			first = *p;
	}
	return first;
}

/* A device and a pool of surfaces for an encoder that takes hardware frames only. */
static int open_hw_frames(struct enc_session *s, const AVCodec *codec)
{
	enum AVPixelFormat hw_fmt = AV_PIX_FMT_NONE;
	enum AVHWDeviceType type = hw_frames_type(codec, &hw_fmt);
	AVBufferRef *dev = NULL, *frames;
	AVHWFramesContext *fc;
	int ret;

	if (type == AV_HWDEVICE_TYPE_NONE) {
		LOG_ERR(ENC_TAG,
			"--encoder %s takes neither software nor hardware frames it can "
			"be given",
			codec->name);
		return AVERROR(ENOSYS);
	}
	ret = av_hwdevice_ctx_create(&dev, type, NULL, NULL, 0);
	if (ret < 0) {
		LOG_ERR(ENC_TAG, "--encoder %s: no %s device here (%s)", codec->name,
			av_hwdevice_get_type_name(type), av_err2str(ret));
		return AVERROR(ENODEV);
	}
	frames = av_hwframe_ctx_alloc(dev);
	av_buffer_unref(&dev);
	if (!frames)
		return AVERROR(ENOMEM);
	fc = (AVHWFramesContext *)frames->data;
	fc->format = hw_fmt;
	fc->sw_format = AV_PIX_FMT_NV12;
	fc->width = s->cfg.width;
	fc->height = s->cfg.height;
	fc->initial_pool_size = HW_POOL_SIZE;
	ret = av_hwframe_ctx_init(frames);
	if (ret < 0) {
		LOG_ERR(ENC_TAG, "--encoder %s: the %s device takes no %dx%d NV12 surfaces (%s)",
			codec->name, av_hwdevice_get_type_name(type), s->cfg.width, s->cfg.height,
			av_err2str(ret));
		av_buffer_unref(&frames);
		return AVERROR(ENODEV);
	}
	s->venc->hw_frames_ctx = frames;
	s->venc->pix_fmt = hw_fmt;
	s->venc_sw_fmt = AV_PIX_FMT_NV12;
	return 0;
}

/*
 * What an encoder of its kind needs for low delay; an option it lacks is
 * skipped. @in_band: x265's keyframes carry their parameter sets too (the
 * slate of a live HEVC --copy, whose recording has no other way to tell the
 * slate's from the camera's).
 */
static void low_delay_options(const AVCodec *codec, AVDictionary **opts, const char *preset,
			      bool in_band)
{
	if (!strcmp(codec->name, "libx264") || !strcmp(codec->name, "libx264rgb")) {
		av_dict_set(opts, "preset", preset, 0);
		av_dict_set(opts, "tune", "zerolatency", 0);
		/* Keyframes exactly every GOP: a scene cut must not move them. */
		av_dict_set(opts, "x264-params", "scenecut=0", 0);
		/* A keyframe asked for after a reconnect is an IDR: decodable on its own. */
		av_dict_set(opts, "forced-idr", "1", 0);
	} else if (!strcmp(codec->name, "libx265")) {
		av_dict_set(opts, "preset", preset, 0);
		av_dict_set(opts, "tune", "zerolatency", 0);
		/* x265 logs to stderr itself, not through av_log: its errors only. */
		av_dict_set(opts, "x265-params",
			    in_band ? "scenecut=0:log-level=error:repeat-headers=1"
				    : "scenecut=0:log-level=error",
			    0);
		av_dict_set(opts, "forced-idr", "1", 0);
	} else if (!strcmp(codec->name, "h264_nvenc") || !strcmp(codec->name, "hevc_nvenc")) {
		av_dict_set(opts, "tune", "ll", 0);
		av_dict_set(opts, "zerolatency", "1", 0);
		av_dict_set(opts, "rc", "cbr", 0);
		av_dict_set(opts, "forced-idr", "1", 0);
	} else if (!strcmp(codec->name, "h264_qsv")) {
		av_dict_set(opts, "async_depth", "1", 0);
		av_dict_set(opts, "forced_idr", "1", 0);
	}
}

/* Find @name and check that it makes @id: the codec, or NULL with the error in *err. */
static const AVCodec *find_encoder(const char *name, enum AVCodecID id, int *err)
{
	const AVCodec *codec = avcodec_find_encoder_by_name(name);
	char names[256];

	if (!codec || !av_codec_is_encoder(codec)) {
		list_encoders(id, names, sizeof(names));
		LOG_ERR(ENC_TAG,
			"--encoder %s: this libavcodec has no such encoder (its %s "
			"encoders: %s)",
			name, avcodec_get_name(id), names);
		*err = AVERROR_ENCODER_NOT_FOUND;
		return NULL;
	}
	if (codec->id != id) {
		LOG_ERR(ENC_TAG, "--encoder %s makes %s; --codec %s needs an encoder of %s", name,
			avcodec_get_name(codec->id), id == AV_CODEC_ID_HEVC ? "hevc" : "h264",
			avcodec_get_name(id));
		*err = AVERROR(EINVAL);
		return NULL;
	}
	return codec;
}

int enc_venc_open(struct enc_session *s, bool global_header)
{
	bool hevc = s->cfg.codec == ENC_CODEC_HEVC;
	const char *name = s->cfg.encoder ? s->cfg.encoder : hevc ? DEFAULT_HEVC : DEFAULT_ENCODER;
	bool x26x = !strncmp(name, DEFAULT_ENCODER, strlen(DEFAULT_ENCODER)) ||
		    !strcmp(name, DEFAULT_HEVC);
	AVDictionary *opts = NULL;
	const AVCodec *codec;
	AVCodecContext *c;
	int ret = 0;

	if (!(codec = find_encoder(name, codec_id(s->cfg.codec), &ret)))
		return ret;
	c = s->venc = avcodec_alloc_context3(codec);
	if (!c)
		return AVERROR(ENOMEM);
	c->width = s->cfg.width;
	c->height = s->cfg.height;
	c->time_base = (AVRational){1, s->cfg.fps};
	c->framerate = (AVRational){s->cfg.fps, 1};
	enc_venc_set_rate(c, s->cfg.bitrate);
	c->gop_size = GOP_SECONDS * s->cfg.fps;
	c->keyint_min = c->gop_size;
	c->max_b_frames = 0;
	if (global_header)
		c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
	s->venc_sw_fmt = software_format(codec);
	if (s->venc_sw_fmt != AV_PIX_FMT_NONE)
		c->pix_fmt = s->venc_sw_fmt;
	else if ((ret = open_hw_frames(s, codec)) < 0)
		return ret;
	low_delay_options(codec, &opts, s->cfg.preset, s->cfg.copy);
	ret = avcodec_open2(c, codec, &opts);
	av_dict_free(&opts);
	if (ret < 0 && x26x) {
		LOG_ERR(ENC_TAG, "cannot open %s (preset %s): %s", name, s->cfg.preset,
			av_err2str(ret));
	} else if (ret < 0) {
		/* A hardware encoder that cannot open: its hardware or driver is not there. */
		LOG_ERR(ENC_TAG,
			"cannot open --encoder %s: %s (is its hardware there, with its "
			"driver?)",
			name, av_err2str(ret));
		ret = AVERROR(ENODEV);
	} else if (!x26x) {
		LOG_INFO(ENC_TAG, "video encoder %s, %s frames", name,
			 av_get_pix_fmt_name(c->pix_fmt));
	}
	return ret;
}

bool enc_venc_needs_reopen(const AVCodecContext *c)
{
	return !strcmp(c->codec->name, DEFAULT_HEVC);
}

int enc_venc_reopen(struct enc_session *s, int64_t bps)
{
	bool global = s->venc->flags & AV_CODEC_FLAG_GLOBAL_HEADER;

	avcodec_free_context(&s->venc);
	s->cfg.bitrate = bps;
	return enc_venc_open(s, global);
}

/* @in (yuv420p) in the software format the encoder or its upload wants. */
static int convert(struct enc_session *s, const AVFrame *in, AVFrame **out)
{
	AVFrame *f = s->venc_conv;
	int ret;

	if (!f) {
		f = s->venc_conv = av_frame_alloc();
		if (!f)
			return AVERROR(ENOMEM);
		f->format = s->venc_sw_fmt;
		f->width = in->width;
		f->height = in->height;
		if ((ret = av_frame_get_buffer(f, 0)) < 0)
			return ret;
	}
	s->venc_sws = sws_getCachedContext(s->venc_sws, in->width, in->height, in->format, f->width,
					   f->height, f->format, SWS_POINT, NULL, NULL, NULL);
	if (!s->venc_sws)
		return AVERROR(EINVAL);
	if ((ret = av_frame_make_writable(f)) < 0)
		return ret;
	sws_scale(s->venc_sws, (const uint8_t *const *)in->data, in->linesize, 0, in->height,
		  f->data, f->linesize);
	*out = f;
	return 0;
}

int enc_venc_prepare(struct enc_session *s, AVFrame *in, AVFrame **out)
{
	AVFrame *sw = in, *hw;
	int ret;

	if (in->format != s->venc_sw_fmt && (ret = convert(s, in, &sw)) < 0)
		return ret;
	if (sw != in && (ret = av_frame_copy_props(sw, in)) < 0)
		return ret;
	if (!s->venc->hw_frames_ctx) {
		*out = sw;
		return 0;
	}
	hw = s->venc_hw;
	if (!hw && !(hw = s->venc_hw = av_frame_alloc()))
		return AVERROR(ENOMEM);
	av_frame_unref(hw);
	if ((ret = av_hwframe_get_buffer(s->venc->hw_frames_ctx, hw, 0)) < 0 ||
	    (ret = av_hwframe_transfer_data(hw, sw, 0)) < 0 ||
	    (ret = av_frame_copy_props(hw, in)) < 0)
		return ret;
	*out = hw;
	return 0;
}

void enc_venc_free(struct enc_session *s)
{
	avcodec_free_context(&s->venc);
	sws_freeContext(s->venc_sws);
	s->venc_sws = NULL;
	av_frame_free(&s->venc_conv);
	av_frame_free(&s->venc_hw);
}
