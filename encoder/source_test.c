// SPDX-License-Identifier: MIT
/* The "test" input: the moving pattern and a 1 kHz tone, as long as wanted. */
#include "source.h"

#include <libavutil/channel_layout.h>
#include <libavutil/error.h>
#include <stdlib.h>

struct test_source {
	struct enc_source base;
	AVFrame *video, *audio;
	int fps;
	int64_t next_frame;  /* pts of the next video frame, in 1/fps */
	int64_t next_sample; /* pts of the next audio frame, in samples */
};

static int test_next(struct enc_source *src, enum enc_media *kind, AVFrame **frame)
{
	struct test_source *t = (struct test_source *)src;
	int ret;

	/* Whichever comes first in time: frame n at n/fps, sample k at k/48000. */
	if (t->next_frame * ENC_AUDIO_RATE <= t->next_sample * t->fps) {
		ret = av_frame_make_writable(t->video);
		if (ret < 0)
			return ret;
		enc_pattern_draw(t->video, t->next_frame);
		t->video->pts = t->next_frame++;
		*kind = ENC_VIDEO;
		*frame = t->video;
	} else {
		ret = av_frame_make_writable(t->audio);
		if (ret < 0)
			return ret;
		enc_tone_fill(t->audio, t->next_sample);
		t->audio->pts = t->next_sample;
		t->next_sample += ENC_AUDIO_FRAME;
		*kind = ENC_AUDIO;
		*frame = t->audio;
	}
	return 0;
}

static void test_destroy(struct enc_source *src)
{
	struct test_source *t = (struct test_source *)src;

	if (!t)
		return;
	av_frame_free(&t->video);
	av_frame_free(&t->audio);
	free(t);
}

int enc_source_test_create(int width, int height, int fps, struct enc_source **out)
{
	struct test_source *t = calloc(1, sizeof(*t));
	int ret = AVERROR(ENOMEM);

	if (!t)
		return ret;
	t->base.next = test_next;
	t->base.destroy = test_destroy;
	t->fps = fps;
	t->video = enc_video_frame_alloc(width, height);
	t->audio = enc_audio_frame_alloc();
	if (!t->video || !t->audio)
		goto fail;
	*out = &t->base;
	return 0;
fail:
	test_destroy(&t->base);
	return ret;
}
