// SPDX-License-Identifier: MIT
/*
 * The network side: one FLV/RTMP connection per enc_output. Each connection
 * starts with its own FLV header and the first keyframe available; packets
 * keep the timestamps the encoders gave them, so that after a reconnect the
 * stream goes on from where it was. H.264 goes through libavformat's FLV
 * muxer; HEVC, which that muxer refuses, through eflv_out.c into the same
 * AVIOContext (the format context then only holds it).
 */
#include "clock.h"
#include "eflv_out.h"
#include "enc_internal.h"
#include "log.h"

#include <errno.h>
#include <stdlib.h>
#include <strings.h>
#include <time.h>

#define CLOSE_TIMEOUT_MS 2000

struct enc_output {
	struct enc_session *s;
	struct enc_output_config cfg;
	AVFormatContext *oc;
	struct enc_eflv *eflv;	/* HEVC: the writer; NULL: the FLV muxer */
	int64_t deadline_ns;	/* connecting or closing: abort past it; 0: none */
	int64_t write_start_ns; /* a write is under way since; 0: none */
	bool deadline_hit;
	bool header_written;
	bool need_keyframe; /* drop until a video keyframe */
	int64_t bytes_reported;
};

/* libavformat polls this while it connects, reads or writes. */
static int output_interrupt(void *opaque)
{
	struct enc_output *o = opaque;
	int64_t now = mps_mono_ns();
	int blocked_ms = o->write_start_ns ? (int)((now - o->write_start_ns) / 1000000) : 0;

	if (o->deadline_ns && now > o->deadline_ns) {
		o->deadline_hit = true;
		return 1;
	}
	return o->cfg.interrupt && o->cfg.interrupt(o->cfg.opaque, blocked_ms);
}

static int add_stream(AVFormatContext *oc, const AVCodecParameters *par, AVRational tb)
{
	AVStream *st = avformat_new_stream(oc, NULL);
	int ret;

	if (!st)
		return AVERROR(ENOMEM);
	ret = avcodec_parameters_copy(st->codecpar, par);
	if (ret < 0)
		return ret;
	st->time_base = tb;
	return 0;
}

/* The FLV header and the codecs' headers, by the FLV muxer or, for HEVC, eflv_out.c. */
static int write_header(struct enc_output *o)
{
	struct enc_session *s = o->s;
	AVDictionary *opts = NULL;
	int ret;

	if (s->cfg.codec == ENC_CODEC_HEVC) {
		struct enc_eflv_streams st = {.par = {s->par[ENC_VIDEO], s->par[ENC_AUDIO]},
					      .tb = {s->tb[ENC_VIDEO], s->tb[ENC_AUDIO]},
					      .fps = s->cfg.fps};

		ret = enc_eflv_open(o->oc->pb, &st, &o->eflv);
		if (ret < 0 && !o->deadline_hit)
			LOG_ERR(ENC_TAG, "cannot write the HEVC stream's headers: %s",
				av_err2str(ret));
	} else {
		/* A stream cannot be rewritten at its end: no duration/size update in the trailer. */
		if (!(o->oc->pb->seekable & AVIO_SEEKABLE_NORMAL))
			av_dict_set(&opts, "flvflags", "no_duration_filesize", 0);
		ret = avformat_write_header(o->oc, &opts);
		av_dict_free(&opts);
	}
	o->header_written = ret >= 0;
	return ret;
}

int enc_output_open(struct enc_session *s, const struct enc_output_config *cfg,
		    struct enc_output **out)
{
	struct enc_output *o = calloc(1, sizeof(*o));
	AVDictionary *opts = NULL;
	int ret = AVERROR(ENOMEM);

	if (!o)
		return ret;
	o->s = s;
	o->cfg = *cfg;
	ret = avformat_alloc_output_context2(&o->oc, s->ofmt, NULL, cfg->url);
	if (ret < 0)
		goto fail;
	for (int k = ENC_VIDEO; k <= ENC_AUDIO; k++)
		if (s->par[k] && (ret = add_stream(o->oc, s->par[k], s->tb[k])) < 0)
			goto fail;
	o->oc->interrupt_callback = (AVIOInterruptCB){output_interrupt, o};
	/* Sound that stops holds video back by this much, not by the default 10 s. */
	o->oc->max_interleave_delta = (int64_t)EFLV_OUT_MAX_WAIT_MS * 1000;

	o->deadline_ns = mps_mono_ns() + (int64_t)cfg->connect_timeout_ms * 1000000;
	/* FFmpeg's TLS checks nothing unless asked: the certificate and the host name are checked. */
	if (!strncasecmp(cfg->url, "rtmps:", 6)) {
		av_dict_set(&opts, "tls_verify", cfg->insecure ? "0" : "1", 0);
		if (cfg->ca_file)
			av_dict_set(&opts, "ca_file", cfg->ca_file, 0);
	}
	ret = avio_open2(&o->oc->pb, cfg->url, AVIO_FLAG_WRITE, &o->oc->interrupt_callback, &opts);
	av_dict_free(&opts);
	if (ret >= 0)
		ret = write_header(o);
	o->deadline_ns = 0;
	if (ret < 0) {
		if (o->deadline_hit)
			ret = AVERROR(ETIMEDOUT);
		goto fail;
	}
	/* Start at the oldest keyframe waiting, or at the next one, asked for now. */
	if (!enc_queue_start_at_keyframe(s))
		atomic_store(&s->want_keyframe, true);
	o->need_keyframe = true;
	*out = o;
	return 0;
fail:
	enc_output_close(o, 0);
	return ret;
}

static void report_bytes(struct enc_output *o)
{
	int64_t pos = o->oc && o->oc->pb ? avio_tell(o->oc->pb) : 0;

	if (pos > o->bytes_reported) {
		enc_add_bytes_out(o->s, pos - o->bytes_reported);
		o->bytes_reported = pos;
	}
}

int enc_output_send(struct enc_output *o, int wait_ms)
{
	AVStream *st;
	bool ended;
	struct enc_qnode *n = enc_queue_pop(o->s, wait_ms, &ended);
	int ret;

	if (!n)
		return ended ? ENC_OUTPUT_DONE : AVERROR(EAGAIN);
	if (o->need_keyframe) {
		if (!(n->video && n->key)) {
			if (n->video)
				enc_count_dropped(o->s, 1);
			enc_qnode_free(n);
			return 0;
		}
		o->need_keyframe = false;
	}
	o->write_start_ns = mps_mono_ns();
	if (o->eflv) {
		ret = enc_eflv_write(o->eflv, n->pkt, n->video ? ENC_VIDEO : ENC_AUDIO);
	} else {
		st = o->oc->streams[n->pkt->stream_index];
		av_packet_rescale_ts(n->pkt, o->s->tb[n->pkt->stream_index], st->time_base);
		ret = av_interleaved_write_frame(o->oc, n->pkt);
	}
	o->write_start_ns = 0;
	enc_qnode_free(n);
	report_bytes(o);
	return ret;
}

int enc_output_finish(struct enc_output *o)
{
	int ret;

	if (!o->header_written)
		return 0;
	o->deadline_ns = mps_mono_ns() + (int64_t)CLOSE_TIMEOUT_MS * 1000000;
	ret = o->eflv ? enc_eflv_finish(o->eflv) : av_write_trailer(o->oc);
	o->deadline_ns = 0;
	o->header_written = false;
	report_bytes(o);
	return ret;
}

void enc_output_close(struct enc_output *o, int timeout_ms)
{
	if (!o)
		return;
	if (o->oc) {
		/* Closing must not hang on a dead connection. */
		o->deadline_ns = mps_mono_ns() + (int64_t)timeout_ms * 1000000 + 1;
		avio_closep(&o->oc->pb);
		avformat_free_context(o->oc);
		enc_eflv_free(o->eflv);
	}
	free(o);
}
