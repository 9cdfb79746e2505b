/* SPDX-License-Identifier: MIT */
/* Internal to encoder/: a live input (live.c), the slate (slate.c), and the source that samples them. */
#ifndef MPS_ENC_LIVE_H
#define MPS_ENC_LIVE_H

#include "encoder.h"
#include "source.h"

#include <libavcodec/packet.h>
#include <libavutil/audio_fifo.h>
#include <stdbool.h>

const struct enc_live_config *enc_live_config(const struct enc_live *l);

/*
 * --copy (pktq.c, taken by passthrough.c): the source's video packets,
 * timestamps in microseconds, each keyframe with its parameter sets as new
 * extradata.
 */
struct enc_pktq;
struct enc_pktq_node {
	AVPacket *pkt; /* timestamps in microseconds */
	int64_t arrival_ns;
	int generation;
	struct enc_pktq_node *next;
};
int enc_pktq_create(struct enc_pktq **out);
void enc_pktq_free(struct enc_pktq *q);
/* From the reader thread: @pkt in @tb, of the source's open number @generation. */
int enc_pktq_put(struct enc_pktq *q, const AVPacket *pkt, AVRational tb, const uint8_t *extradata,
		 int extradata_size, int generation, int64_t arrival_ns);
/*
 * The next packet, or NULL; with @newest_key, the newest keyframe waiting
 * (what precedes it is dropped: a start from standby does not begin in the
 * past). The caller frees it with enc_pktq_node_free().
 */
struct enc_pktq_node *enc_pktq_take(struct enc_pktq *q, bool newest_key);
void enc_pktq_node_free(struct enc_pktq_node *n);
/* A keyframe carries @data, its parameter sets, as new extradata. 0 or AVERROR(ENOMEM). */
int enc_packet_add_extradata(AVPacket *pkt, const uint8_t *data, int size);
/*
 * A live source's sound (audio_buffer.c): a jitter buffer of fltp stereo
 * 48 kHz that absorbs the source's bursts and drops only what its clock's
 * drift piles up. Not thread-safe: the caller locks.
 */
struct enc_abuf {
	AVAudioFifo *fifo;
	int target, max_target; /* samples kept against bursts; grows after each underrun */
	int max_samples;
	bool priming; /* silence until the buffer is back at its target */
	int win_min;  /* the lowest level in the window under way */
	int64_t win_start_ns;
	int64_t dropped, inserted, underruns, drains; /* samples, samples, times, times */
};
int enc_abuf_init(struct enc_abuf *b, int target, int max_samples);
void enc_abuf_free(struct enc_abuf *b);
/* @samples of fltp stereo; beyond max_samples, the oldest go. */
int enc_abuf_put(struct enc_abuf *b, uint8_t **data, int samples);
/* Fill @out (fltp stereo, nb_samples set) at @now_ns: the source's sound, or silence. */
int enc_abuf_take(struct enc_abuf *b, AVFrame *out, int64_t now_ns);

/*
 * The live input's pace (pace.c): when it counts as lost. Pure; the caller
 * locks. Lost after max(--input-timeout, ENC_PACE_LOST_FRAMES x its frame
 * interval): the median spacing of the last ENC_PACE_INTERVALS pictures, or
 * the rate the input declared before there are two.
 */
#define ENC_PACE_INTERVALS	 8
#define ENC_PACE_LOST_FRAMES	 3
#define ENC_PACE_MAX_INTERVAL_NS (60 * (int64_t)1000000000)
struct enc_pace {
	int64_t last_ns;     /* the newest picture's arrival; 0: none yet */
	int64_t declared_ns; /* the frame interval the input declares; 0: none */
	int64_t intervals[ENC_PACE_INTERVALS];
	int n, next;
};
/* The frame interval the input declares (its frame rate's), 0 for none. */
void enc_pace_expect(struct enc_pace *p, int64_t interval_ns);
/* A picture arrived at @now_ns. */
void enc_pace_picture(struct enc_pace *p, int64_t now_ns);
/* The input's frame interval as seen (ns), the declared one before, 0 unknown. */
int64_t enc_pace_interval_ns(const struct enc_pace *p);
/* How long without a picture means lost (ns). */
int64_t enc_pace_lost_after_ns(const struct enc_pace *p, int timeout_ms);
/* A picture came, and not longer ago than enc_pace_lost_after_ns(). */
bool enc_pace_fresh(const struct enc_pace *p, int64_t now_ns, int timeout_ms);

/* The live input's queue, or NULL without --copy. */
struct enc_pktq *enc_live_packets(struct enc_live *l);

/*
 * The picture for a frame due at @now_ns (CLOCK_MONOTONIC): the newest one
 * old enough for the picture's delay, as a new reference in @out. Returns 1,
 * 0 when the input is lost or not there yet (the slate's turn), or an AVERROR.
 */
int enc_live_take_video(struct enc_live *l, int64_t now_ns, AVFrame *out);

/* Fill @out (fltp stereo) with the input's next audio, or silence while it has none. */
int enc_live_take_audio(struct enc_live *l, AVFrame *out);

/* The --slate image at the output's size, or NULL. */
const AVFrame *enc_live_slate_image(const struct enc_live *l);

/*
 * The live source's clock (source_live.c): video frame n is due at start +
 * n/fps, audio frame k at start + k*1024/48000 (CLOCK_MONOTONIC), in 128-bit
 * arithmetic (av_rescale), so it runs for centuries, not 53.4 hours. It may
 * start at an offset: as if it had run that long already (a test runs a
 * stream's 53rd hour without waiting for it).
 */
struct enc_live_clock {
	int fps;
	int64_t start_ns;	   /* when tick 0 was due */
	int64_t next_frame;	   /* in 1/fps */
	int64_t next_sample;	   /* in 1/48000, a multiple of ENC_AUDIO_FRAME */
	int64_t skipped_ms, skips; /* what was skipped to keep up, and how many times */
};
void enc_live_clock_start(struct enc_live_clock *c, int fps, int64_t now_ns, int64_t offset_ns);
/*
 * The next tick at @now_ns: which and when it is due (@due_ns may be past).
 * A tick more than 200 ms late (a frame late, for frames longer than that)
 * is skipped first, with every other late one: returns the milliseconds
 * skipped now (0 mostly).
 */
int64_t enc_live_clock_next(struct enc_live_clock *c, int64_t now_ns, enum enc_media *kind,
			    int64_t *due_ns);
/* The tick of @kind taken: its pts (in 1/fps or 1/48000). */
int64_t enc_live_clock_take(struct enc_live_clock *c, enum enc_media kind);

/* A source of the output's frames, at its own clock, from @l (source_live.c). */
int enc_source_live_create(struct enc_live *l, struct enc_source **out);

/* Read an image (PNG, JPEG, ...) and scale it to @width x @height yuv420p. */
int enc_slate_load(const char *path, int width, int height, AVFrame **out);

/*
 * The slate into @dst (yuv420p, allocated): @image if there is one, else
 * @last darkened, else a dark grey; with "SIGNAL LOST" and the time lost,
 * @seconds, as M:SS across its middle.
 */
int enc_slate_draw(AVFrame *dst, const AVFrame *image, const AVFrame *last, int64_t seconds);

#endif
