// SPDX-License-Identifier: MIT
/*
 * The frames of a live input, at the stream's own clock: frame n is taken at
 * start + n/fps on CLOCK_MONOTONIC (the oldest picture not sent yet within
 * 1.5 frames of the newest, else the newest, else the slate: live.c's
 * pick_picture()), audio frame k at start + k*1024/48000. The output's
 * timestamps are those tick numbers, so whatever the source's clock does, the
 * stream's timestamps advance with real time, without gaps or jumps.
 */
#include "clock.h"
#include "input.h"
#include "live.h"
#include "log.h"

#include <errno.h>
#include <libavutil/channel_layout.h>
#include <libavutil/mathematics.h>
#include <stdlib.h>

#define MAX_BEHIND_NS 200000000LL /* the encoder this far behind its clock: skip ahead */
#define MAX_SKIPS     2		  /* one skip leaves no tick late; a second is a safety net */
#define NS	      1000000000LL

struct live_source {
	struct enc_source base;
	struct enc_live *live;
	enum mps_audio_kind audio_kind;
	struct enc_live_clock clock;
	int64_t clock_offset_ns;
	bool started;
	AVFrame *video; /* handed out: a reference to a picture, or to the slate */
	AVFrame *last;	/* the last picture from the input */
	AVFrame *slate;
	int64_t slate_second; /* what the slate's clock shows; -1: to be drawn afresh */
	AVFrame *audio;
};

/* Sleep until @due_ns; AVERROR(EINTR) when a signal cut it short. */
static int sleep_until(int64_t due_ns)
{
	struct timespec ts = {.tv_sec = due_ns / NS, .tv_nsec = due_ns % NS};

	if (mps_mono_ns() >= due_ns)
		return 0;
	return clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR ? AVERROR(EINTR)
										   : 0;
}

void enc_live_clock_start(struct enc_live_clock *c, int fps, int64_t now_ns, int64_t offset_ns)
{
	int64_t sample = av_rescale_rnd(offset_ns, ENC_AUDIO_RATE, NS, AV_ROUND_DOWN);

	*c = (struct enc_live_clock){
		.fps = fps,
		.start_ns = now_ns - offset_ns,
		.next_frame = av_rescale_rnd(offset_ns, fps, NS, AV_ROUND_UP),
		.next_sample = (sample + ENC_AUDIO_FRAME - 1) / ENC_AUDIO_FRAME * ENC_AUDIO_FRAME,
	};
}

static int64_t frame_due(const struct enc_live_clock *c)
{
	return c->start_ns + av_rescale(c->next_frame, NS, c->fps);
}

static int64_t sample_due(const struct enc_live_clock *c)
{
	return c->start_ns + av_rescale(c->next_sample, NS, ENC_AUDIO_RATE);
}

/*
 * The encoder fell behind (a slow machine, a stall): each kind of tick goes
 * on from the last one due by @now, rather than add delay. Neither is then
 * as late as one of its ticks lasts. Returns the milliseconds skipped.
 */
static int64_t skip_ahead(struct enc_live_clock *c, int64_t now)
{
	int64_t behind = now - c->start_ns;
	int64_t frame = av_rescale_rnd(behind, c->fps, NS, AV_ROUND_DOWN);
	int64_t sample = av_rescale_rnd(behind, ENC_AUDIO_RATE, NS, AV_ROUND_DOWN) /
			 ENC_AUDIO_FRAME * ENC_AUDIO_FRAME;
	int64_t ms = 0;

	if (frame > c->next_frame) {
		ms = av_rescale(frame - c->next_frame, 1000, c->fps);
		c->next_frame = frame;
	}
	if (sample > c->next_sample) {
		int64_t audio_ms = av_rescale(sample - c->next_sample, 1000, ENC_AUDIO_RATE);

		ms = audio_ms > ms ? audio_ms : ms;
		c->next_sample = sample;
	}
	c->skipped_ms += ms;
	c->skips += ms > 0;
	return ms;
}

int64_t enc_live_clock_next(struct enc_live_clock *c, int64_t now_ns, enum enc_media *kind,
			    int64_t *due_ns)
{
	int64_t skipped = 0;

	/*
	 * A loop with a bound, not a call of itself: audio late while the
	 * video is not (a frame of 1 fps lasts 1 s) was endless recursion.
	 */
	for (int i = 0;; i++) {
		bool video = c->next_frame * ENC_AUDIO_RATE <= c->next_sample * c->fps;
		int64_t tick = video ? NS / c->fps : (int64_t)ENC_AUDIO_FRAME * NS / ENC_AUDIO_RATE;
		int64_t limit = tick > MAX_BEHIND_NS ? tick : MAX_BEHIND_NS;

		*kind = video ? ENC_VIDEO : ENC_AUDIO;
		*due_ns = video ? frame_due(c) : sample_due(c);
		if (now_ns - *due_ns <= limit || i == MAX_SKIPS)
			return skipped;
		skipped += skip_ahead(c, now_ns);
	}
}

int64_t enc_live_clock_take(struct enc_live_clock *c, enum enc_media kind)
{
	int64_t pts = kind == ENC_VIDEO ? c->next_frame++ : c->next_sample;

	if (kind == ENC_AUDIO)
		c->next_sample += ENC_AUDIO_FRAME;
	return pts;
}

static int slate_frame(struct live_source *s)
{
	struct enc_input_status st;
	int ret;

	enc_live_status(s->live, &st);
	if (st.lost_ms / 1000 != s->slate_second) {
		ret = enc_slate_draw(s->slate, enc_live_slate_image(s->live),
				     s->last->data[0] ? s->last : NULL, st.lost_ms / 1000);
		if (ret < 0)
			return ret;
		s->slate_second = st.lost_ms / 1000;
	}
	av_frame_unref(s->video);
	return av_frame_ref(s->video, s->slate);
}

static int video_frame(struct live_source *s, int64_t now)
{
	int ret = enc_live_take_video(s->live, now, s->video);

	if (ret < 0)
		return ret;
	if (ret > 0) {
		av_frame_unref(s->last);
		s->slate_second = -1;
		ret = av_frame_ref(s->last, s->video);
	} else {
		ret = slate_frame(s);
	}
	s->video->pts = enc_live_clock_take(&s->clock, ENC_VIDEO);
	return ret;
}

static int audio_frame(struct live_source *s)
{
	int ret = av_frame_make_writable(s->audio);

	if (ret < 0)
		return ret;
	if (s->audio_kind == MPS_AUDIO_TONE)
		enc_tone_fill(s->audio, s->clock.next_sample);
	else if (s->audio_kind == MPS_AUDIO_NONE)
		enc_audio_silence(s->audio, 0);
	else
		ret = enc_live_take_audio(s->live, s->audio);
	s->audio->pts = enc_live_clock_take(&s->clock, ENC_AUDIO);
	return ret;
}

static int live_next(struct enc_source *src, enum enc_media *kind, AVFrame **frame)
{
	struct live_source *s = (struct live_source *)src;
	int64_t due, ms;
	int ret;

	if (!s->started) {
		enc_live_clock_start(&s->clock, s->clock.fps, mps_mono_ns(), s->clock_offset_ns);
		s->started = true;
	}
	ms = enc_live_clock_next(&s->clock, mps_mono_ns(), kind, &due);
	if (ms > 0)
		LOG_WARN(ENC_TAG,
			 "encoding is %" PRId64 " ms behind real time: skipped (%" PRId64
			 " ms so far; a lighter --preset or a smaller --size would keep up)",
			 ms, s->clock.skipped_ms);
	if ((ret = sleep_until(due)) < 0)
		return ret;
	*frame = *kind == ENC_VIDEO ? s->video : s->audio;
	return *kind == ENC_VIDEO ? video_frame(s, mps_mono_ns()) : audio_frame(s);
}

static void live_destroy(struct enc_source *src)
{
	struct live_source *s = (struct live_source *)src;

	av_frame_free(&s->video);
	av_frame_free(&s->last);
	av_frame_free(&s->slate);
	av_frame_free(&s->audio);
	free(s);
}

int enc_source_live_create(struct enc_live *l, struct enc_source **out)
{
	const struct enc_live_config *cfg = enc_live_config(l);
	struct live_source *s = calloc(1, sizeof(*s));
	int ret = AVERROR(ENOMEM);

	if (!s)
		return ret;
	s->base.next = live_next;
	s->base.destroy = live_destroy;
	s->live = l;
	s->clock.fps = cfg->fps;
	s->clock_offset_ns = cfg->clock_offset_ns;
	s->audio_kind = mps_audio_kind(cfg->audio);
	s->slate_second = -1;
	s->video = av_frame_alloc();
	s->last = av_frame_alloc();
	s->slate = enc_video_frame_alloc(cfg->width, cfg->height);
	s->audio = enc_audio_frame_alloc();
	if (!s->video || !s->last || !s->slate || !s->audio)
		goto fail;
	*out = &s->base;
	return 0;
fail:
	live_destroy(&s->base);
	return ret;
}
