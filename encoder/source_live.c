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
#include <stdlib.h>

#define MAX_BEHIND_NS 200000000LL /* the encoder this far behind its clock: skip ahead */

struct live_source {
	struct enc_source base;
	struct enc_live *live;
	enum mps_audio_kind audio_kind;
	int fps;
	int64_t start_ns;    /* 0 before the first frame */
	int64_t next_frame;  /* in 1/fps */
	int64_t next_sample; /* in 1/48000 */
	AVFrame *video;	     /* handed out: a reference to a picture, or to the slate */
	AVFrame *last;	     /* the last picture from the input */
	AVFrame *slate;
	int64_t slate_second; /* what the slate's clock shows; -1: to be drawn afresh */
	AVFrame *audio;
	int64_t skipped_ms;
};

/* Sleep until @due_ns; AVERROR(EINTR) when a signal cut it short. */
static int sleep_until(int64_t due_ns)
{
	struct timespec ts = {.tv_sec = due_ns / 1000000000, .tv_nsec = due_ns % 1000000000};

	if (mps_mono_ns() >= due_ns)
		return 0;
	return clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR ? AVERROR(EINTR)
										   : 0;
}

/* The encoder fell behind (a slow machine, a stall): drop what is late rather than add delay. */
static void skip_ahead(struct live_source *s, int64_t now)
{
	int64_t behind = now - s->start_ns;
	int64_t frame = behind * s->fps / 1000000000;
	int64_t sample = behind * ENC_AUDIO_RATE / 1000000000 / ENC_AUDIO_FRAME * ENC_AUDIO_FRAME;
	int64_t ms = (frame - s->next_frame) * 1000 / s->fps;

	if (ms <= 0)
		return;
	s->skipped_ms += ms;
	LOG_WARN(ENC_TAG,
		 "encoding is %" PRId64 " ms behind real time: skipped (%" PRId64
		 " ms so far; a lighter --preset or a smaller --size would keep up)",
		 ms, s->skipped_ms);
	s->next_frame = frame;
	if (sample > s->next_sample)
		s->next_sample = sample;
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
	s->video->pts = s->next_frame++;
	return ret;
}

static int audio_frame(struct live_source *s)
{
	int ret = av_frame_make_writable(s->audio);

	if (ret < 0)
		return ret;
	if (s->audio_kind == MPS_AUDIO_TONE)
		enc_tone_fill(s->audio, s->next_sample);
	else if (s->audio_kind == MPS_AUDIO_NONE)
		enc_audio_silence(s->audio, 0);
	else
		ret = enc_live_take_audio(s->live, s->audio);
	s->audio->pts = s->next_sample;
	s->next_sample += ENC_AUDIO_FRAME;
	return ret;
}

static int live_next(struct enc_source *src, enum enc_media *kind, AVFrame **frame)
{
	struct live_source *s = (struct live_source *)src;
	bool video;
	int64_t due, now;
	int ret;

	if (!s->start_ns)
		s->start_ns = mps_mono_ns();
	video = s->next_frame * ENC_AUDIO_RATE <= s->next_sample * s->fps;
	due = s->start_ns + (video ? s->next_frame * 1000000000 / s->fps
				   : s->next_sample * 1000000000 / ENC_AUDIO_RATE);
	now = mps_mono_ns();
	if (now - due > MAX_BEHIND_NS) {
		skip_ahead(s, now);
		return live_next(src, kind, frame);
	}
	if ((ret = sleep_until(due)) < 0)
		return ret;
	*kind = video ? ENC_VIDEO : ENC_AUDIO;
	*frame = video ? s->video : s->audio;
	return video ? video_frame(s, mps_mono_ns()) : audio_frame(s);
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
	s->fps = cfg->fps;
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
