/* SPDX-License-Identifier: MIT */
/*
 * Internal to encoder/: the session shared by the encoding and the network side.
 *
 * The encoder's files call in one direction, from the top down, never back up:
 *   session.c (the encoding side)      output.c (the network side)
 *   the inputs: source_test.c, source_file.c, source_live.c, copy.c (--copy of
 *     a file), passthrough.c (--copy of a live input); venc.c (video encoder)
 *   live.c (a live input's reader thread); queue.c (between the two sides)
 *   pktq.c, pace.c, audio_buffer.c, slate.c, pattern.c, stamp.c, record.c
 *   frames.c
 * player.c (the receiving side of `mpstream probe`) stands apart: it calls
 * only stamp.c.
 * What a lower file needs of a higher one is passed down (a struct, a
 * queue), not called for.
 */
#ifndef MPS_ENC_INTERNAL_H
#define MPS_ENC_INTERNAL_H

#include "encoder.h"
#include "source.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <pthread.h>
#include <stdatomic.h>

struct SwsContext;

struct enc_qnode {
	AVPacket *pkt; /* in its encoder's time base; stream_index 0 video, 1 audio */
	int64_t t_us;  /* its dts in microseconds */
	bool video, key;
	struct enc_qnode *next;
};

struct enc_copy;

struct enc_session {
	struct enc_config cfg;
	struct enc_source *src;	     /* encoding: raw frames */
	struct enc_copy *copy;	     /* cfg.copy: packets as they are */
	AVCodecContext *venc, *aenc; /* NULL with cfg.copy */
	/* The video encoder's input (venc.c): its software format, converted into venc_conv
	 * when not yuv420p, uploaded into venc_hw when it takes hardware frames. */
	enum AVPixelFormat venc_sw_fmt;
	struct SwsContext *venc_sws;
	AVFrame *venc_conv, *venc_hw;
	/* libx265 (enc_venc_needs_reopen()): frames sent since its last keyframe, and whether it
	 * was opened again (then each keyframe carries its parameter sets as new extradata). */
	int venc_since_key;
	bool venc_reopened;
	/* The output's streams, ENC_VIDEO and ENC_AUDIO (NULL: none), and their time bases. */
	AVCodecParameters *par[2];
	AVRational tb[2];
	AVPacket *pkt;
	const AVOutputFormat *ofmt;
	int64_t start_ns; /* CLOCK_MONOTONIC at media time 0; 0 before the first step */
	bool is_test;
	AVFrame *pending; /* a frame taken from the source, not yet due */
	enum enc_media pending_kind;
	atomic_bool want_keyframe;
	atomic_llong want_bitrate; /* the rate controller's, applied at the next frame */
	int64_t pending_due_us;	   /* cfg.copy: when s->pkt, the packet read ahead, is due */
	bool pending_copy;
	struct enc_record *record; /* --record, or NULL */
	/* cfg.copy with a live input (passthrough.c): the camera's packets, or the slate. */
	bool cam_on_air;
	int cam_generation;
	int64_t cam_offset_us;	   /* added to the camera's timestamps */
	int64_t slate_shift_us;	   /* added to the slate's */
	int64_t video_last_dts_us; /* of the last video packet queued; INT64_MIN: none */

	/* The queue between the two sides (queue.c), and the progress; under lock. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct enc_qnode *head, *tail;
	bool ended;	  /* the input ended and the encoders are drained */
	bool skip_to_key; /* drop what comes until a video keyframe */
	int keep_ms; /* the queue's bound: cfg.buffer_ms, or more (enc_session_keep_at_least) */
	/* What the bound dropped and the log has not said yet, and when it last did (ms). */
	int64_t bound_dropped, bound_said_ms;
	struct enc_progress progress;
};

/* The video encoder (venc.c). */
int enc_venc_open(struct enc_session *s, bool global_header);
/* x264's bitrate and maxrate, and a half-second VBV buffer. */
void enc_venc_set_rate(AVCodecContext *c, int64_t bps);
/* Whether a new bit rate needs the encoder opened again (libx265: read only when it opens). */
bool enc_venc_needs_reopen(const AVCodecContext *c);
/*
 * The video encoder closed (drained first by the caller) and opened again at
 * @bps: it starts with a keyframe. 0 or an AVERROR.
 */
int enc_venc_reopen(struct enc_session *s, int64_t bps);
/* @in as the encoder takes it (owned by the session, valid until the next call). */
int enc_venc_prepare(struct enc_session *s, AVFrame *in, AVFrame **out);
void enc_venc_free(struct enc_session *s);

/*
 * --copy of a live input, at a video tick due at @due_us: the camera's packets
 * queued (1: the tick's frame is not encoded), or 0: the slate's turn.
 */
int enc_passthrough_tick(struct enc_session *s, int64_t due_us);
/*
 * --copy of a live input: a video packet (timestamps in microseconds) onto the
 * stream's video line, the camera's and the slate's alike: moved by *shift,
 * and further (kept in *shift) to come after the last video packet queued;
 * then in s->tb[ENC_VIDEO], a keyframe carrying @extradata. 0 or AVERROR(ENOMEM).
 */
int enc_video_onto_timeline(struct enc_session *s, AVPacket *pkt, int64_t *shift,
			    const uint8_t *extradata, int extradata_size);

/*
 * The queue between the two sides (queue.c). enc_enqueue(): queue s->pkt, of
 * stream @kind in s->tb[kind] (the recording gets it too); 0 or
 * AVERROR(ENOMEM). enc_queue_pop(): the oldest packet, waiting up to @wait_ms
 * for one; NULL with *ended once the input ended and the queue is empty.
 */
int enc_enqueue(struct enc_session *s, enum enc_media kind);
struct enc_qnode *enc_queue_pop(struct enc_session *s, int wait_ms, bool *ended);
void enc_qnode_free(struct enc_qnode *n);
/* Drop what precedes the oldest video keyframe; false when there is none. */
bool enc_queue_start_at_keyframe(struct enc_session *s);
/* Free what is queued (the session's end). */
void enc_queue_clear(struct enc_session *s);
#define ENC_BOUND_LOG_MS 10000 /* the queue's bound says what it dropped at most this often */

/* The network side's progress: bytes written, frames it dropped. */
void enc_add_bytes_out(struct enc_session *s, int64_t bytes);
void enc_count_dropped(struct enc_session *s, int64_t frames);

/* The recording (record.c): from @s's time bases; @pkt is in @s's. */
int enc_record_attach(struct enc_record *r, struct enc_session *s);
void enc_record_packet(struct enc_record *r, const AVPacket *pkt, int kind, bool key);

/* The pass-through input (copy.c). */
int enc_copy_open(const char *path, bool loop, enum enc_codec want, struct enc_copy **out,
		  AVCodecParameters *par[2], AVRational tb[2]);
/* The next packet, stream_index ENC_VIDEO or ENC_AUDIO, and when it is due (us from 0). */
int enc_copy_next(struct enc_copy *c, AVPacket *pkt, enum enc_media *kind, int64_t *due_us);
void enc_copy_close(struct enc_copy *c);

#endif
