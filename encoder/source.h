/* SPDX-License-Identifier: MIT */
/*
 * Internal to encoder/: a source delivers raw frames already in the encoders'
 * formats (video: yuv420p at the output size, pts in 1/fps; audio: fltp stereo
 * 48 kHz, ENC_AUDIO_FRAME samples, pts in samples), in presentation order.
 */
#ifndef MPS_ENC_SOURCE_H
#define MPS_ENC_SOURCE_H

#include <libavutil/frame.h>
#include <stdbool.h>
#include <stdint.h>

#define ENC_TAG		"encoder"
#define ENC_AUDIO_RATE	48000
#define ENC_AUDIO_FRAME 1024

enum enc_media { ENC_VIDEO, ENC_AUDIO };

struct enc_source {
	/* Fill *frame (owned by the source, valid until the next call); AVERROR_EOF at the end. */
	int (*next)(struct enc_source *src, enum enc_media *kind, AVFrame **frame);
	void (*destroy)(struct enc_source *src);
};

int enc_source_test_create(int width, int height, int fps, struct enc_source **out);
int enc_source_file_create(const char *path, bool loop, int width, int height, int fps,
			   struct enc_source **out);

/* A yuv420p frame of @width x @height, and an fltp stereo 48 kHz frame of ENC_AUDIO_FRAME
 * samples, with their buffers; NULL when out of memory. */
AVFrame *enc_video_frame_alloc(int width, int height);
AVFrame *enc_audio_frame_alloc(void);

/* Silence in @f's samples from @from to its end. */
void enc_audio_silence(AVFrame *f, int from);

struct AVStream;
struct AVCodecContext;
/* A decoder for @st, opened; with @slice_threads, parallel in slices only. 0 or an AVERROR. */
int enc_open_decoder(const struct AVStream *st, bool slice_threads, struct AVCodecContext **out);

/* Draw the moving test pattern with the frame number into a yuv420p frame. */
void enc_pattern_draw(AVFrame *f, int64_t frame_no);
/*
 * The machine-readable stamp: a band of black and white blocks at the top of
 * the test pattern carrying the frame number and the sender's wall-clock time,
 * which `mpstream probe` reads back after x264. Declared in encoder.h.
 */

/* Fill an fltp audio frame with the 1 kHz tone, starting at sample @first_sample. */
void enc_tone_fill(AVFrame *f, int64_t first_sample);

#endif
