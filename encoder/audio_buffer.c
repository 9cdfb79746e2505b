// SPDX-License-Identifier: MIT
/*
 * A live source's sound between its reader thread and the stream's clock: a
 * jitter buffer. Sources deliver in bursts (an MPEG-TS muxer sends its audio
 * in PES packets of a few hundred milliseconds), and their clock drifts from
 * ours. The two are told apart by the buffer's lowest level over a window:
 * a burst raises the peaks only; a clock that runs fast raises the floor,
 * and only then is the excess dropped. Running dry inserts silence until the
 * buffer is back at its target, and raises the target by a step: the buffer
 * grows to what the source's bursts need, and no further.
 */
#include "live.h"

#include <limits.h>

#define WINDOW_NS   2000000000LL	  /* the floor is judged over this */
#define SLACK	    (ENC_AUDIO_RATE / 10) /* the floor above the target: drift */
#define TARGET_STEP (ENC_AUDIO_RATE / 50) /* 20 ms more after each underrun */
#define TARGET_MAX  ENC_AUDIO_RATE	  /* 1 s above the first target, at most */

int enc_abuf_init(struct enc_abuf *b, int target, int max_samples)
{
	*b = (struct enc_abuf){
		.target = target,
		.max_target = target + TARGET_MAX,
		.max_samples = max_samples,
		.priming = true,
		.win_min = INT_MAX,
	};
	b->fifo = av_audio_fifo_alloc(AV_SAMPLE_FMT_FLTP, 2, max_samples);
	return b->fifo ? 0 : AVERROR(ENOMEM);
}

void enc_abuf_free(struct enc_abuf *b)
{
	if (b->fifo)
		av_audio_fifo_free(b->fifo);
	b->fifo = NULL;
}

int enc_abuf_put(struct enc_abuf *b, uint8_t **data, int samples)
{
	int over = av_audio_fifo_size(b->fifo) + samples - b->max_samples;

	if (over > 0) {
		av_audio_fifo_drain(b->fifo, over);
		b->dropped += over;
	}
	return av_audio_fifo_write(b->fifo, (void **)data, samples) < samples ? AVERROR(ENOMEM) : 0;
}

/* The floor over the window that ends now: drop what a fast clock piled up above the target. */
static void judge_window(struct enc_abuf *b, int level, int64_t now_ns)
{
	if (level < b->win_min)
		b->win_min = level;
	if (!b->win_start_ns)
		b->win_start_ns = now_ns;
	if (now_ns - b->win_start_ns < WINDOW_NS)
		return;
	if (!b->priming && b->win_min != INT_MAX && b->win_min > b->target + SLACK) {
		int excess = b->win_min - b->target;

		av_audio_fifo_drain(b->fifo, excess);
		b->dropped += excess;
		b->drains++;
	}
	b->win_start_ns = now_ns;
	b->win_min = INT_MAX;
}

int enc_abuf_take(struct enc_abuf *b, AVFrame *out, int64_t now_ns)
{
	int level = av_audio_fifo_size(b->fifo);

	judge_window(b, level, now_ns);
	level = av_audio_fifo_size(b->fifo);
	if (b->priming && level >= b->target)
		b->priming = false;
	if (!b->priming && level < out->nb_samples) {
		/* Ran dry: silence until the buffer is back at a target a step higher. */
		b->priming = true;
		b->underruns++;
		if (b->target + TARGET_STEP <= b->max_target)
			b->target += TARGET_STEP;
	}
	if (b->priming) {
		enc_audio_silence(out, 0);
		b->inserted += out->nb_samples;
		return 0;
	}
	return av_audio_fifo_read(b->fifo, (void **)out->data, out->nb_samples) < out->nb_samples
		       ? AVERROR(EIO)
		       : 0;
}
