// SPDX-License-Identifier: MIT
/*
 * Live inputs: each source (the input, and an audio device of its own if
 * --audio names one) is read by a thread that opens it, decodes it, converts
 * its pictures to the output's size and format and its sound to 48 kHz
 * stereo, and hands them over; when the source drops (a camera unplugged, a
 * phone's Wi-Fi gone, a listener's client that left) it opens it again, at
 * once after a source that delivered, with back-off after one that did not.
 *
 * The encoding side takes from here at its own clock (source_live.c): the
 * newest picture, and the audio through a FIFO that absorbs the source's
 * bursts and its clock's drift. The source's timestamps are not used: a
 * camera whose clock drifts or jumps cannot disturb the stream.
 */
#include "clock.h"
#include "input.h"
#include "live.h"
#include "log.h"

#include <errno.h>
#include <libavcodec/avcodec.h>
#include <libavdevice/avdevice.h>
#include <libavformat/avformat.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/channel_layout.h>
#include <libswresample/swresample.h>
#include <libswscale/swscale.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define TAG		"input"
#define OPEN_TIMEOUT_MS 5000 /* to connect to a source (not to wait for one to connect) */
#define READ_TIMEOUT_MS 3000 /* no packet for this long: open it again */
/*
 * A listener takes one peer at a time (FFmpeg 5.1 closes its listening
 * socket once a peer is in): one that connected and sends nothing for this
 * long is dropped, and the listener listens again.
 */
#define PEER_IDLE_MS 3000
/*
 * SRT holds what arrives back for its latency (the greater of the two ends'):
 * the first byte comes that much later. Allowed on top of PEER_IDLE_MS: the
 * listener URL's own latency when it gives one, else this (IRL links run 2 to 4 s).
 */
#define SRT_LATENCY_MS 5000
#define DROP_LOG_MS    10000 /* peers dropped within this of the last one: a count, not a line */
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 2000
#define START_WAIT_MS  1500 /* for the first open's verdict */
#define PROBE_US       1000000
#define AUDIO_PRIME    (2 * ENC_AUDIO_FRAME) /* samples kept against the source's bursts */
#define AUDIO_MAX      (4 * ENC_AUDIO_RATE)
#define MAX_OFFSET_MS  2000
/*
 * A camera sends a few streams. MPEG-TS with random PIDs (garbage, or a
 * hostile sender) makes a stream of each, every one with a PES buffer of
 * up to 200 kB: FFmpeg's default of 1000 took 30 MB of such TS to 400 MB of
 * heap, which glibc kept after the close.
 */
#define MAX_STREAMS 64

struct capture {
	struct enc_live *live;
	char url[1024];
	const AVInputFormat *fmt;
	AVDictionary *opts; /* the template; each open gets a copy */
	bool want_video, want_audio, listener, rtmp;
	/*
	 * RIST: never opened again for silence. FFmpeg 5.1's librist wrapper
	 * hands librist a logging callback whose context is freed at close; a
	 * second rist_receiver_create() logs through it (a use after free that
	 * AddressSanitizer caught in netns_live). The receiver stays and takes
	 * the camera back when it returns.
	 */
	bool keep_open;
	pthread_t thread;
	bool running;
	AVIOContext *pb;	    /* a listener's peer, once one connected; NULL before */
	int64_t peer_ns;	    /* when it connected */
	bool peer;		    /* one connected in this open */
	int peer_idle_ms;	    /* how long it may send nothing */
	int64_t drops, drop_log_ns; /* peers dropped, and when that was last logged */
	AVFormatContext *ic;
	AVCodecContext *vdec, *adec;
	int vidx, aidx;
	struct SwsContext *sws;
	SwrContext *swr;
	AVChannelLayout swr_layout;
	int swr_rate, swr_fmt;
	AVPacket *pkt;
	AVFrame *dec;
	int64_t deadline_ns; /* for the blocking call under way; 0: none */
	int64_t delivered; /* pictures or audio frames (with --copy, video packets) since this open */
	bool pass_video;   /* --copy: the video packets go through (of the codec asked for) */
	int generation;	   /* --copy: of this open, for the passthrough */
	/* The first open's verdict, under live->lock: 1 pending, 0 ok, < 0 error. */
	int first;
};

struct enc_live {
	struct enc_live_config cfg;
	atomic_bool stop;
	struct capture cap[2];
	int n_cap;
	struct enc_pktq *pktq; /* --copy: the camera's video packets */
	int generations;
	AVFrame *slate_image;

	pthread_mutex_t lock;
	pthread_cond_t cond;
	/* Pictures (newest last) with their arrival times, kept for the picture's delay. */
	AVFrame **ring;
	int64_t *ring_ns;
	int ring_size, ring_len;
	struct enc_pace pace; /* when the pictures' arrivals count as lost */
	int64_t taken_ns;     /* the arrival of the picture taken last */
	struct enc_abuf audio;
	/* The state, as the encoding side and the status see it. */
	enum enc_input_state state;
	int64_t since_ns; /* of the loss or the wait going on */
	int64_t lost_total_ns, losses;
};

const char *enc_input_state_name(enum enc_input_state st)
{
	switch (st) {
	case ENC_INPUT_WAITING:
		return "waiting";
	case ENC_INPUT_UP:
		return "up";
	case ENC_INPUT_LOST:
		return "lost";
	case ENC_INPUT_NONE:
		break;
	}
	return "-";
}

/*
 * The stop flag, the deadline, or a listener's peer that has sent nothing
 * since it connected (what RTMP's handshake reads is bounded by rw_timeout).
 */
static int interrupted(void *opaque)
{
	struct capture *c = opaque;
	int64_t now = mps_mono_ns();

	return atomic_load(&c->live->stop) || (c->deadline_ns && now > c->deadline_ns) ||
	       (c->pb && !c->pb->bytes_read &&
		now - c->peer_ns > (int64_t)c->peer_idle_ms * 1000000);
}

static void set_deadline(struct capture *c, int ms)
{
	c->deadline_ns = ms ? mps_mono_ns() + (int64_t)ms * 1000000 : 0;
}

/* Under lock: the state at @now, and a log line for each change. */
static void observe(struct enc_live *l, int64_t now)
{
	bool fresh = enc_pace_fresh(&l->pace, now, l->cfg.timeout_ms);

	if (fresh && l->state != ENC_INPUT_UP) {
		if (l->state == ENC_INPUT_LOST) {
			LOG_INFO(TAG, "back after %.1f s: the slate ends",
				 (double)(now - l->since_ns) / 1e9);
			l->lost_total_ns += now - l->since_ns;
		} else {
			LOG_INFO(TAG, "pictures are coming in");
		}
		l->state = ENC_INPUT_UP;
	} else if (!fresh && l->state == ENC_INPUT_UP) {
		int64_t after = enc_pace_lost_after_ns(&l->pace, l->cfg.timeout_ms);

		l->state = ENC_INPUT_LOST;
		l->since_ns = l->pace.last_ns + after;
		l->losses++;
		LOG_WARN(TAG, "lost: no picture for %" PRId64 " ms; sending the slate",
			 after / 1000000);
	}
}

void enc_live_status(struct enc_live *l, struct enc_input_status *st)
{
	int64_t now = mps_mono_ns();

	pthread_mutex_lock(&l->lock);
	observe(l, now);
	st->state = l->state;
	st->lost_ms = l->state == ENC_INPUT_UP ? 0 : (now - l->since_ns) / 1000000;
	st->lost_total_ms =
		(l->lost_total_ns + (l->state == ENC_INPUT_LOST ? now - l->since_ns : 0)) / 1000000;
	st->losses = l->losses;
	pthread_mutex_unlock(&l->lock);
}

struct enc_pktq *enc_live_packets(struct enc_live *l)
{
	return l->pktq;
}

const struct enc_live_config *enc_live_config(const struct enc_live *l)
{
	return &l->cfg;
}

const AVFrame *enc_live_slate_image(const struct enc_live *l)
{
	return l->slate_image;
}

/*
 * Under lock: the picture for a frame due at @now. The oldest one not taken
 * yet, while it is within 1.5 frames of the newest: two pictures that came
 * between two ticks (the source's and the stream's frames do not line up)
 * go out one after the other, not one of them skipped and the other shown
 * twice. Further behind (the source's clock runs fast), the newest.
 */
static int pick_picture(struct enc_live *l, int64_t now)
{
	int64_t delay = l->cfg.av_offset_ms < 0 ? -(int64_t)l->cfg.av_offset_ms * 1000000 : 0;
	int64_t slack = 1500000000LL / l->cfg.fps;
	int newest = -1;

	for (int i = l->ring_len - 1; i >= 0 && newest < 0; i--)
		if (l->ring_ns[i] <= now - delay)
			newest = i;
	if (newest < 0)
		return -1;
	for (int i = 0; i < newest; i++)
		if (l->ring_ns[i] > l->taken_ns && l->ring_ns[newest] - l->ring_ns[i] <= slack)
			return i;
	return newest;
}

int enc_live_take_video(struct enc_live *l, int64_t now, AVFrame *out)
{
	int pick = -1, ret = 0;

	pthread_mutex_lock(&l->lock);
	observe(l, now);
	if (l->state == ENC_INPUT_UP)
		pick = pick_picture(l, now);
	if (pick >= 0) {
		l->taken_ns = l->ring_ns[pick];
		av_frame_unref(out);
		ret = av_frame_ref(out, l->ring[pick]);
		ret = ret < 0 ? ret : 1;
	}
	pthread_mutex_unlock(&l->lock);
	return ret;
}

int enc_live_take_audio(struct enc_live *l, AVFrame *out)
{
	int64_t underruns, drains;
	int ret;

	pthread_mutex_lock(&l->lock);
	underruns = l->audio.underruns;
	drains = l->audio.drains;
	ret = enc_abuf_take(&l->audio, out, mps_mono_ns());
	if (l->audio.underruns != underruns)
		LOG_DEBUG(TAG, "audio ran dry: silence; %d ms kept against bursts from now",
			  l->audio.target * 1000 / ENC_AUDIO_RATE);
	if (l->audio.drains != drains)
		LOG_DEBUG(TAG,
			  "audio ahead (the source's clock is fast): %" PRId64 " ms dropped so far",
			  l->audio.dropped * 1000 / ENC_AUDIO_RATE);
	pthread_mutex_unlock(&l->lock);
	return ret;
}

/* A converted picture, handed over (the reference is taken). */
static void put_picture(struct enc_live *l, AVFrame *f)
{
	pthread_mutex_lock(&l->lock);
	if (l->ring_len == l->ring_size) {
		av_frame_free(&l->ring[0]);
		memmove(l->ring, l->ring + 1, (size_t)(l->ring_size - 1) * sizeof(*l->ring));
		memmove(l->ring_ns, l->ring_ns + 1,
			(size_t)(l->ring_size - 1) * sizeof(*l->ring_ns));
		l->ring_len--;
	}
	l->ring[l->ring_len] = f;
	l->ring_ns[l->ring_len] = mps_mono_ns();
	enc_pace_picture(&l->pace, l->ring_ns[l->ring_len++]);
	pthread_mutex_unlock(&l->lock);
}

static int convert_picture(struct capture *c)
{
	const struct enc_live_config *cfg = &c->live->cfg;
	AVFrame *f = enc_video_frame_alloc(cfg->width, cfg->height);
	int ret;

	if (!f)
		return AVERROR(ENOMEM);
	c->sws = sws_getCachedContext(c->sws, c->dec->width, c->dec->height, c->dec->format,
				      cfg->width, cfg->height, AV_PIX_FMT_YUV420P, SWS_BICUBIC,
				      NULL, NULL, NULL);
	ret = c->sws ? sws_scale(c->sws, (const uint8_t *const *)c->dec->data, c->dec->linesize, 0,
				 c->dec->height, f->data, f->linesize)
		     : AVERROR(EINVAL);
	if (ret < 0) {
		av_frame_free(&f);
		return ret;
	}
	put_picture(c->live, f);
	return 0;
}

/* (Re)build the resampler when the source's format changes (a new camera). */
static int setup_resampler(struct capture *c, const AVFrame *in)
{
	AVChannelLayout stereo = AV_CHANNEL_LAYOUT_STEREO, layout;
	int ret;

	if (c->swr && c->swr_rate == in->sample_rate && c->swr_fmt == in->format &&
	    !av_channel_layout_compare(&c->swr_layout, &in->ch_layout))
		return 0;
	swr_free(&c->swr);
	av_channel_layout_uninit(&c->swr_layout);
	if ((ret = av_channel_layout_copy(&layout, &in->ch_layout)) < 0)
		return ret;
	if (layout.order == AV_CHANNEL_ORDER_UNSPEC)
		av_channel_layout_default(&layout, layout.nb_channels);
	ret = swr_alloc_set_opts2(&c->swr, &stereo, AV_SAMPLE_FMT_FLTP, ENC_AUDIO_RATE, &layout,
				  in->format, in->sample_rate, 0, NULL);
	av_channel_layout_uninit(&layout);
	if (ret < 0 || (ret = swr_init(c->swr)) < 0)
		return ret;
	LOG_DEBUG(TAG, "audio: %d Hz, %d channel(s), %s, to 48 kHz stereo", in->sample_rate,
		  in->ch_layout.nb_channels, av_get_sample_fmt_name(in->format));
	c->swr_rate = in->sample_rate;
	c->swr_fmt = in->format;
	return av_channel_layout_copy(&c->swr_layout, &in->ch_layout);
}

static int convert_audio(struct capture *c)
{
	struct enc_live *l = c->live;
	uint8_t **buf = NULL;
	int want, got, ret;

	if ((ret = setup_resampler(c, c->dec)) < 0)
		return ret;
	want = swr_get_out_samples(c->swr, c->dec->nb_samples);
	if (want <= 0)
		return 0;
	ret = av_samples_alloc_array_and_samples(&buf, NULL, 2, want, AV_SAMPLE_FMT_FLTP, 0);
	if (ret < 0)
		return ret;
	got = swr_convert(c->swr, buf, want, (const uint8_t **)c->dec->extended_data,
			  c->dec->nb_samples);
	if (got > 0) {
		pthread_mutex_lock(&l->lock);
		if (enc_abuf_put(&l->audio, buf, got) < 0)
			got = AVERROR(ENOMEM);
		pthread_mutex_unlock(&l->lock);
	}
	av_freep(&buf[0]);
	av_freep(&buf);
	return got < 0 ? got : 0;
}

/*
 * Not avio_closep(&c->pb): avio_close() frees the context before the
 * protocol's close, which may write (RTMP's deleteStream) and so call
 * interrupted(), which must not read a freed c->pb.
 */
static void capture_close(struct capture *c)
{
	AVIOContext *pb = c->pb;

	c->pb = NULL;
	avcodec_free_context(&c->vdec);
	avcodec_free_context(&c->adec);
	avformat_close_input(&c->ic);
	avio_close(pb);
}

/* Under lock: the first open's verdict, for enc_live_start(). */
static void first_verdict(struct capture *c, int ret)
{
	pthread_mutex_lock(&c->live->lock);
	if (c->first == 1) {
		c->first = ret;
		pthread_cond_broadcast(&c->live->cond);
	}
	pthread_mutex_unlock(&c->live->lock);
}

/* --copy: can the source's video go through as it is? Said once per open when not. */
static void check_passthrough(struct capture *c, const AVCodecParameters *par)
{
	const struct enc_live_config *cfg = &c->live->cfg;
	enum AVCodecID want = cfg->codec == ENC_CODEC_HEVC ? AV_CODEC_ID_HEVC : AV_CODEC_ID_H264;

	c->pass_video = par->codec_id == want;
	if (!c->pass_video) {
		LOG_ERR(TAG, "--copy passes %s; the source sends %s: the slate goes on",
			want == AV_CODEC_ID_HEVC ? "HEVC (--codec hevc)"
						 : "H.264 (HEVC with --codec hevc)",
			avcodec_get_name(par->codec_id));
		return;
	}
	pthread_mutex_lock(&c->live->lock);
	c->generation = ++c->live->generations;
	pthread_mutex_unlock(&c->live->lock);
	if (par->width != cfg->width || par->height != cfg->height)
		LOG_WARN(TAG,
			 "--copy: the source is %dx%d, the slate %dx%d: --size %dx%d keeps the "
			 "picture's size the same through a cut",
			 par->width, par->height, cfg->width, cfg->height, par->width, par->height);
}

/* --copy: a video packet to the passthrough; only keyframes are decoded (for the slate). */
static int pass_packet(struct capture *c)
{
	const AVStream *st = c->ic->streams[c->vidx];
	int64_t now = mps_mono_ns();
	int ret;

	if (!c->pass_video)
		return 0;
	ret = enc_pktq_put(c->live->pktq, c->pkt, st->time_base, st->codecpar->extradata,
			   st->codecpar->extradata_size, c->generation, now);
	if (ret < 0)
		return ret;
	pthread_mutex_lock(&c->live->lock);
	enc_pace_picture(&c->live->pace, now);
	pthread_mutex_unlock(&c->live->lock);
	c->delivered++;
	return 0;
}

/* The frame rate the input declares, for its pace before its pictures show it. */
static void expect_pace(struct capture *c)
{
	AVRational fr = av_guess_frame_rate(c->ic, c->ic->streams[c->vidx], NULL);
	int64_t interval = fr.num > 0 && fr.den > 0 ? av_rescale(1000000000, fr.den, fr.num) : 0;

	pthread_mutex_lock(&c->live->lock);
	enc_pace_expect(&c->live->pace, interval);
	pthread_mutex_unlock(&c->live->lock);
}

/* Errors of a listener's open that mean a peer came and went (not: the port is taken). */
static bool peer_error(int err)
{
	return err == AVERROR(EIO) || err == AVERROR(ETIMEDOUT) || err == AVERROR(ECONNRESET) ||
	       err == AVERROR(EPIPE) || err == AVERROR_EOF || err == AVERROR_INVALIDDATA;
}

/*
 * A listener: wait for a peer with no deadline, then give it peer_idle_ms
 * to start sending (interrupted()) and OPEN_TIMEOUT_MS more to start a stream.
 * The connection is opened here, not in avformat_open_input(), to know
 * when a peer is in: SRT's and TCP's opens return at the accept. RTMP's
 * also runs its handshake, each read of which rw_timeout bounds.
 */
static int accept_peer(struct capture *c, AVDictionary **opts)
{
	int ret = 0;

	set_deadline(c, 0);
	/*
	 * RTMP's handshake runs inside the open, where c->pb does not exist yet:
	 * rw_timeout bounds each of its reads. It stays on the connection (the
	 * TCP under RTMP keeps a copy out of reach), so an RTMP camera must send
	 * something every peer_idle_ms: its sound does. SRT and TCP return at the
	 * accept, and interrupted() watches their first byte instead.
	 */
	if (c->rtmp)
		ret = av_dict_set_int(opts, "rw_timeout", (int64_t)c->peer_idle_ms * 1000,
				      AV_DICT_DONT_OVERWRITE);
	if (ret < 0)
		return ret;
	ret = avio_open2(&c->pb, c->url, AVIO_FLAG_READ, &c->ic->interrupt_callback, opts);
	c->peer = ret >= 0 || peer_error(ret);
	if (ret < 0)
		return ret;
	c->peer_ns = mps_mono_ns();
	c->ic->pb = c->pb;
	c->ic->flags |= AVFMT_FLAG_CUSTOM_IO;
	set_deadline(c, c->peer_idle_ms + OPEN_TIMEOUT_MS);
	return 0;
}

static int capture_open(struct capture *c)
{
	AVDictionary *opts = NULL;
	int ret = 0;

	c->ic = avformat_alloc_context();
	if (!c->ic)
		return AVERROR(ENOMEM);
	c->ic->interrupt_callback = (AVIOInterruptCB){interrupted, c};
	c->ic->probesize = 1000000;
	c->ic->max_analyze_duration = PROBE_US;
	/* Its frame rate is not used (the stream has its own clock): no frames read to guess it. */
	c->ic->fps_probe_size = 0;
	c->ic->max_streams = MAX_STREAMS;
	av_dict_copy(&opts, c->opts, 0);
	c->peer = false;
	if (c->listener && !c->keep_open)
		ret = accept_peer(c, &opts);
	else
		set_deadline(c, c->listener ? 0 : OPEN_TIMEOUT_MS);
	if (ret >= 0)
		ret = avformat_open_input(&c->ic, c->url, c->fmt, &opts);
	if (ret >= 0 && c->fmt && av_dict_count(opts)) {
		/* A device given an option it does not know: say which. */
		LOG_ERR(TAG, "%s: no option '%s' here", c->fmt->name,
			av_dict_get(opts, "", NULL, AV_DICT_IGNORE_SUFFIX)->key);
		ret = AVERROR(EINVAL);
	}
	av_dict_free(&opts);
	/* A listener that listened is a verdict of 0, whatever its first peer did. */
	first_verdict(c, ret < 0 && !c->peer ? ret : 0);
	if (ret < 0)
		return ret;
	set_deadline(c, c->keep_open ? 0 : OPEN_TIMEOUT_MS);
	if ((ret = avformat_find_stream_info(c->ic, NULL)) < 0)
		return ret;
	c->vidx = c->aidx = -1;
	if (c->want_video) {
		c->vidx = av_find_best_stream(c->ic, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
		if (c->vidx < 0)
			return c->vidx;
		if ((ret = enc_open_decoder(c->ic->streams[c->vidx], true, &c->vdec)) < 0)
			return ret;
		if (c->live->pktq)
			check_passthrough(c, c->ic->streams[c->vidx]->codecpar);
		expect_pace(c);
	}
	if (c->want_audio) {
		c->aidx = av_find_best_stream(c->ic, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0);
		if (c->aidx < 0 && !c->want_video)
			return c->aidx;
		/* Sound that cannot be decoded (yet) is silence, not a lost picture. */
		if (c->aidx >= 0 &&
		    (ret = enc_open_decoder(c->ic->streams[c->aidx], true, &c->adec)) < 0) {
			LOG_WARN(TAG, "its audio cannot be decoded (%s): silence", av_err2str(ret));
			c->aidx = -1;
		}
	}
	return 0;
}

/* Decode what @d has and hand it over. */
static int drain_decoder(struct capture *c, AVCodecContext *d)
{
	int ret;

	for (;;) {
		ret = avcodec_receive_frame(d, c->dec);
		if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
			return 0;
		if (ret < 0)
			return ret;
		ret = d == c->vdec ? convert_picture(c) : convert_audio(c);
		av_frame_unref(c->dec);
		if (ret < 0)
			return ret;
		c->delivered++;
	}
}

/* Read until the source ends, fails or goes quiet; returns why. */
/*
 * How long a read may wait for a decoded picture before the source is opened
 * again: READ_TIMEOUT_MS, or longer for a slow camera, which is not lost before
 * 3 of its own frame intervals (enc_pace_lost_after_ns()): one picture every
 * 5 s must not be reopened between two pictures.
 */
static int read_deadline_ms(struct capture *c)
{
	int64_t after;

	pthread_mutex_lock(&c->live->lock);
	after = enc_pace_lost_after_ns(&c->live->pace, c->live->cfg.timeout_ms) / 1000000;
	pthread_mutex_unlock(&c->live->lock);
	return after > READ_TIMEOUT_MS ? (int)after : READ_TIMEOUT_MS;
}

static int capture_read(struct capture *c)
{
	int ret;

	int64_t delivered = -1;

	/* Devices such as lavfi never call the interrupt callback: the flag is read here too. */
	while (!atomic_load(&c->live->stop)) {
		/*
		 * The deadline moves on with what is decoded, not with packets: a
		 * source that sends only what cannot be decoded (garbage, a demuxer
		 * that lost its sync) is opened again too.
		 */
		if (c->delivered != delivered) {
			delivered = c->delivered;
			set_deadline(c, c->keep_open ? 0 : read_deadline_ms(c));
		}
		ret = av_read_frame(c->ic, c->pkt);
		if (ret >= 0 && interrupted(c)) {
			/* What a demuxer flushes when cut short is stale (the camera's last picture). */
			av_packet_unref(c->pkt);
			ret = AVERROR_EXIT;
		}
		if (ret < 0)
			return ret;
		AVCodecContext *d = c->pkt->stream_index == c->vidx   ? c->vdec
				    : c->pkt->stream_index == c->aidx ? c->adec
								      : NULL;

		if (d && d == c->vdec && c->live->pktq) {
			if ((ret = pass_packet(c)) < 0)
				return ret;
			if (!(c->pkt->flags & AV_PKT_FLAG_KEY))
				d = NULL;
		}
		ret = d ? avcodec_send_packet(d, c->pkt) : 0;
		av_packet_unref(c->pkt);
		/* A damaged packet (garbage, a cut): the decoder recovers at the next keyframe. */
		if (ret < 0 && ret != AVERROR_INVALIDDATA && ret != AVERROR(EAGAIN))
			return ret;
		if (d && (ret = drain_decoder(c, d)) < 0 && ret != AVERROR_INVALIDDATA)
			return ret;
	}
	return AVERROR_EXIT;
}

static void sleep_ms(struct enc_live *l, int ms)
{
	struct timespec ts = {.tv_nsec = 50 * 1000000L};

	for (int t = 0; t < ms && !atomic_load(&l->stop); t += 50)
		nanosleep(&ts, NULL);
}

/*
 * A listener's peer that started no stream: one line (peer addresses are not
 * to be had from FFmpeg 5.1), a count for more within DROP_LOG_MS.
 */
static void peer_dropped(struct capture *c, int err, const char *shown)
{
	int64_t now = mps_mono_ns();
	char why[128];

	c->drops++;
	if (c->drop_log_ns && now - c->drop_log_ns < (int64_t)DROP_LOG_MS * 1000000) {
		LOG_DEBUG(TAG, "%s: another peer dropped (%s)", shown, av_err2str(err));
		return;
	}
	if (c->pb && !c->pb->bytes_read)
		snprintf(why, sizeof(why), "sent nothing for %.1f s", c->peer_idle_ms / 1e3);
	else if (err == AVERROR_EXIT)
		snprintf(why, sizeof(why), "sent no stream in %.1f s",
			 (c->peer_idle_ms + OPEN_TIMEOUT_MS) / 1e3);
	else
		snprintf(why, sizeof(why), "started no stream (%s)", av_err2str(err));
	LOG_WARN(TAG,
		 "%s: a peer connected but %s: dropped, listening again (%" PRId64
		 " dropped so far)",
		 shown, why, c->drops);
	c->drop_log_ns = now;
}

static void *capture_main(void *arg)
{
	struct capture *c = arg;
	char shown[1024];
	int backoff = 0, ret;

	/* Its query may hold a passphrase: not in the log. */
	snprintf(shown, sizeof(shown), "%.*s%s", (int)strcspn(c->url, "?"), c->url,
		 strchr(c->url, '?') ? "?..." : "");
	while (!atomic_load(&c->live->stop)) {
		int64_t opened = mps_mono_ns();
		bool held;

		c->delivered = 0;
		ret = capture_open(c);
		if (ret >= 0)
			ret = capture_read(c);
		if (atomic_load(&c->live->stop)) {
			capture_close(c);
			break;
		}
		if (c->peer && !c->delivered)
			peer_dropped(c, ret, shown);
		else if (c->ic && c->ic->nb_streams >= MAX_STREAMS)
			LOG_WARN(TAG,
				 "%s sent %d streams or more: not a camera's (garbage?); opening "
				 "it again",
				 shown, MAX_STREAMS);
		capture_close(c);
		if (c->delivered)
			LOG_INFO(TAG, "%s ended (%s): opening it again", shown, av_err2str(ret));
		else if (!c->peer)
			LOG_DEBUG(TAG, "%s: %s; again in %d ms", shown, av_err2str(ret), backoff);
		/*
		 * Opened again at once after a source that delivered, or a peer that
		 * held the listener a while (a listener listens again: the camera may
		 * be calling); with back-off after an open that failed at once.
		 */
		held = c->peer && mps_mono_ns() - opened >= (int64_t)BACKOFF_MAX_MS * 1000000;
		backoff = c->delivered || held ? 0
			  : backoff ? (backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2)
				    : BACKOFF_MIN_MS;
		sleep_ms(c->live, backoff);
	}
	return NULL;
}

/* "v4l2:/dev/video0?size=1280x720&fps=30&format=mjpeg": the device and its options. */
static int parse_device(struct capture *c, const char *spec)
{
	static const struct {
		const char *alias, *name;
	} aliases[] = {{"size", "video_size"}, {"fps", "framerate"}, {"format", "input_format"}};
	char fmt[32], *q;
	int ret;

	mps_input_device(spec, fmt, sizeof(fmt));
	c->fmt = av_find_input_format(fmt);
	if (!c->fmt) {
		LOG_ERR(TAG, "this libavdevice cannot read %s devices", fmt);
		return AVERROR(EINVAL);
	}
	snprintf(c->url, sizeof(c->url), "%s", strchr(spec, ':') + 1);
	/* lavfi's "device" is a filter graph, whose syntax has '?' and '&' of its own. */
	q = strcmp(c->fmt->name, "lavfi") ? strchr(c->url, '?') : NULL;
	if (!q)
		return 0;
	*q++ = '\0';
	for (char *kv = strtok(q, "&"); kv; kv = strtok(NULL, "&")) {
		char *v = strchr(kv, '=');
		const char *k = kv;

		if (!v) {
			LOG_ERR(TAG, "%s: '%s' is not KEY=VALUE", spec, kv);
			return AVERROR(EINVAL);
		}
		*v++ = '\0';
		for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
			if (!strcmp(k, aliases[i].alias))
				k = aliases[i].name;
		if ((ret = av_dict_set(&c->opts, k, v, 0)) < 0)
			return ret;
	}
	return 0;
}

/* Does this URL wait for its source to connect? */
static bool listens(const char *url)
{
	const char *host = strstr(url, "://");

	if (strstr(url, "mode=listener") || strstr(url, "listen=1"))
		return true;
	if (!host)
		return false;
	host += 3;
	/*
	 * rtmp://0.0.0.0:1936/... (the camera connects to us). Not UDP: its open
	 * reads what comes, and a sender that sends nothing decodable (garbage)
	 * must not hold it for ever.
	 */
	return (*host == ':' || *host == '@' || !strncmp(host, "0.0.0.0", 7) ||
		!strncmp(host, "[::]", 4)) &&
	       strncmp(url, "udp:", 4);
}

/* An SRT URL's latency (FFmpeg takes microseconds), in ms; SRT_LATENCY_MS when it gives none. */
static int srt_latency_ms(const char *url)
{
	const char *q = strchr(url, '?');
	long long us;

	for (; q; q = strchr(q + 1, '&'))
		if (sscanf(q + 1, "latency=%lld", &us) == 1 ||
		    sscanf(q + 1, "rcvlatency=%lld", &us) == 1)
			return us < 0 ? SRT_LATENCY_MS : us > 60000000 ? 60000 : (int)(us / 1000);
	return SRT_LATENCY_MS;
}

static int capture_init(struct capture *c, struct enc_live *l, const char *spec, bool video,
			bool audio)
{
	int ret = 0;

	c->live = l;
	c->want_video = video;
	c->want_audio = audio;
	c->first = 1;
	if (mps_input_device(spec, NULL, 0)) {
		ret = parse_device(c, spec);
	} else {
		snprintf(c->url, sizeof(c->url), "%s", spec);
		c->listener = listens(spec);
		c->rtmp = !strncmp(spec, "rtmp", 4);
		c->peer_idle_ms = PEER_IDLE_MS;
		if (!strncmp(spec, "srt:", 4))
			c->peer_idle_ms += srt_latency_ms(spec);
		c->keep_open = !strncmp(spec, "rist:", 5);
		/* Cameras and encoders send MPEG-TS over SRT, UDP and RIST. */
		if (!strncmp(spec, "srt:", 4) || !strncmp(spec, "udp:", 4) ||
		    !strncmp(spec, "rist:", 5))
			c->fmt = av_find_input_format("mpegts");
		if (c->rtmp && c->listener && !strstr(spec, "listen"))
			ret = av_dict_set(&c->opts, "listen", "1", 0);
		if (!strncmp(spec, "udp:", 4) && ret >= 0)
			ret = av_dict_set(&c->opts, "overrun_nonfatal", "1", 0);
	}
	c->pkt = av_packet_alloc();
	c->dec = av_frame_alloc();
	return ret < 0 ? ret : c->pkt && c->dec ? 0 : AVERROR(ENOMEM);
}

static void capture_free(struct capture *c)
{
	if (c->running)
		pthread_join(c->thread, NULL);
	capture_close(c);
	sws_freeContext(c->sws);
	swr_free(&c->swr);
	av_channel_layout_uninit(&c->swr_layout);
	av_packet_free(&c->pkt);
	av_frame_free(&c->dec);
	av_dict_free(&c->opts);
}

void enc_live_stop(struct enc_live *l)
{
	if (!l)
		return;
	atomic_store(&l->stop, true);
	for (int i = 0; i < l->n_cap; i++)
		capture_free(&l->cap[i]);
	for (int i = 0; i < l->ring_len; i++)
		av_frame_free(&l->ring[i]);
	free(l->ring);
	free(l->ring_ns);
	enc_abuf_free(&l->audio);
	enc_pktq_free(l->pktq);
	av_frame_free(&l->slate_image);
	pthread_mutex_destroy(&l->lock);
	pthread_cond_destroy(&l->cond);
	free(l);
}

/* Wait for each source's first verdict (or for it to be waiting for its sender). */
static int first_opens(struct enc_live *l)
{
	int64_t until = mps_mono_ns() + (int64_t)START_WAIT_MS * 1000000;
	struct timespec ts = {.tv_sec = until / 1000000000, .tv_nsec = until % 1000000000};
	int ret = 0;

	pthread_mutex_lock(&l->lock);
	for (int i = 0; i < l->n_cap && !ret; i++) {
		while (l->cap[i].first == 1)
			if (pthread_cond_timedwait(&l->cond, &l->lock, &ts))
				break;
		/* A source that is not there yet is waited for; one that cannot be opened is an error. */
		ret = l->cap[i].first;
		if (ret == 1 || ret == AVERROR(ECONNREFUSED) || ret == AVERROR(ETIMEDOUT) ||
		    ret == AVERROR(EHOSTUNREACH) || ret == AVERROR(ENETUNREACH) ||
		    ret == AVERROR_EXIT)
			ret = 0;
		else if (ret < 0)
			LOG_ERR(TAG, "cannot open %s: %s", i ? l->cfg.audio : l->cfg.input,
				av_err2str(ret));
	}
	pthread_mutex_unlock(&l->lock);
	return ret;
}

static int live_alloc(const struct enc_live_config *cfg, struct enc_live **out)
{
	struct enc_live *l = calloc(1, sizeof(*l));
	pthread_condattr_t ca;
	int delay_frames, ret;

	if (!l)
		return AVERROR(ENOMEM);
	l->cfg = *cfg;
	pthread_mutex_init(&l->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&l->cond, &ca);
	pthread_condattr_destroy(&ca);
	*out = l;
	/* Enough pictures for the picture's delay, and two to spare (pick_picture()). */
	delay_frames = cfg->av_offset_ms < 0 ? -cfg->av_offset_ms * cfg->fps / 1000 : 0;
	l->ring_size = delay_frames + 3;
	l->ring = calloc((size_t)l->ring_size, sizeof(*l->ring));
	l->ring_ns = calloc((size_t)l->ring_size, sizeof(*l->ring_ns));
	ret = enc_abuf_init(&l->audio,
			    AUDIO_PRIME + (cfg->av_offset_ms > 0
						   ? cfg->av_offset_ms * ENC_AUDIO_RATE / 1000
						   : 0),
			    AUDIO_MAX);
	l->state = ENC_INPUT_WAITING;
	l->since_ns = mps_mono_ns();
	if (cfg->copy && enc_pktq_create(&l->pktq) < 0)
		return AVERROR(ENOMEM);
	return l->ring && l->ring_ns && ret >= 0 ? 0 : AVERROR(ENOMEM);
}

int enc_live_start(const struct enc_live_config *cfg, struct enc_live **out)
{
	enum mps_audio_kind ak = mps_audio_kind(cfg->audio);
	struct enc_live *l = NULL;
	int ret;

	if (cfg->av_offset_ms < -MAX_OFFSET_MS || cfg->av_offset_ms > MAX_OFFSET_MS)
		return AVERROR(EINVAL);
	avdevice_register_all();
	if ((ret = live_alloc(cfg, &l)) < 0)
		goto fail;
	if (cfg->slate &&
	    (ret = enc_slate_load(cfg->slate, cfg->width, cfg->height, &l->slate_image)) < 0) {
		LOG_ERR(TAG, "cannot read the slate %s: %s", cfg->slate, av_err2str(ret));
		goto fail;
	}
	ret = capture_init(&l->cap[l->n_cap++], l, cfg->input, true, ak == MPS_AUDIO_INPUT);
	if (ret >= 0 && ak == MPS_AUDIO_SOURCE)
		ret = capture_init(&l->cap[l->n_cap++], l, cfg->audio, false, true);
	for (int i = 0; i < l->n_cap && ret >= 0; i++) {
		ret = -pthread_create(&l->cap[i].thread, NULL, capture_main, &l->cap[i]);
		l->cap[i].running = ret == 0;
	}
	if (ret >= 0)
		ret = first_opens(l);
	if (ret < 0)
		goto fail;
	*out = l;
	return 0;
fail:
	enc_live_stop(l);
	return ret;
}
