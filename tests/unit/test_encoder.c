// SPDX-License-Identifier: MIT
/*
 * The encoder end to end without a network: the test pattern encoded to an
 * FLV file, read back with libavformat; then that file as a looped input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <libavformat/avformat.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "encoder.h"

struct flv_facts {
	int width, height;
	enum AVCodecID vcodec, acodec;
	int sample_rate, channels;
	int video_packets, keyframes, audio_packets;
	double last_video_s, max_gap_s;
};

static void read_flv(const char *path, struct flv_facts *f)
{
	AVFormatContext *ic = NULL;
	AVPacket *pkt = av_packet_alloc();
	double prev = -1;
	int vidx = -1;

	memset(f, 0, sizeof(*f));
	assert_int_equal(avformat_open_input(&ic, path, NULL, NULL), 0);
	assert_true(avformat_find_stream_info(ic, NULL) >= 0);
	for (unsigned i = 0; i < ic->nb_streams; i++) {
		AVCodecParameters *par = ic->streams[i]->codecpar;

		if (par->codec_type == AVMEDIA_TYPE_VIDEO) {
			vidx = (int)i;
			f->vcodec = par->codec_id;
			f->width = par->width;
			f->height = par->height;
		} else if (par->codec_type == AVMEDIA_TYPE_AUDIO) {
			f->acodec = par->codec_id;
			f->sample_rate = par->sample_rate;
			f->channels = par->ch_layout.nb_channels;
		}
	}
	while (av_read_frame(ic, pkt) >= 0) {
		if (pkt->stream_index == vidx) {
			double t = (double)pkt->pts * av_q2d(ic->streams[vidx]->time_base);

			f->video_packets++;
			f->keyframes += !!(pkt->flags & AV_PKT_FLAG_KEY);
			if (prev >= 0 && t - prev > f->max_gap_s)
				f->max_gap_s = t - prev;
			prev = t;
			f->last_video_s = t;
		} else {
			f->audio_packets++;
		}
		av_packet_unref(pkt);
	}
	av_packet_free(&pkt);
	avformat_close_input(&ic);
}

/* Both sides in one thread: encode a frame, send what it produced. */
static void encode(const char *input, bool loop, const char *out, double seconds)
{
	struct enc_config cfg = {
		.input = input,
		.loop = loop,
		.width = 320,
		.height = 240,
		.fps = 30,
		.preset = "ultrafast",
		.bitrate = 400000,
		.buffer_ms = 2000,
	};
	struct enc_output_config oc = {.url = out, .connect_timeout_ms = 5000};
	struct enc_session *s = NULL;
	struct enc_output *o = NULL;
	struct enc_progress p = {0};
	int ret;

	assert_int_equal(enc_session_create(&cfg, &s), 0);
	assert_int_equal(enc_output_open(s, &oc, &o), 0);
	while (p.media_time_us < (int64_t)(seconds * 1e6)) {
		ret = enc_session_step(s);
		if (ret == AVERROR_EOF)
			break;
		assert_int_equal(ret, 0);
		while ((ret = enc_output_send(o, 0)) == 0)
			;
		assert_int_equal(ret, AVERROR(EAGAIN));
		enc_session_progress(s, &p);
	}
	assert_int_equal(enc_session_drain(s), 0);
	while ((ret = enc_output_send(o, 0)) == 0)
		;
	assert_int_equal(ret, ENC_OUTPUT_DONE);
	assert_int_equal(enc_output_finish(o), 0);
	enc_output_close(o, 1000);
	enc_session_progress(s, &p);
	assert_true(p.bytes_out > 0);
	assert_int_equal(p.dropped_frames, 0);
	enc_session_destroy(s);
}

/* A network that takes nothing for 4 s: the queue keeps 2 s, dropping whole GOPs. */
static void test_queue_bound(void **state)
{
	struct enc_config cfg = {
		.input = ENC_INPUT_TEST,
		.width = 160,
		.height = 120,
		.fps = 30,
		.preset = "ultrafast",
		.bitrate = 200000,
		.buffer_ms = 2000,
	};
	struct enc_session *s = NULL;
	struct enc_progress p = {0};

	assert_int_equal(enc_session_create(&cfg, &s), 0);
	while (p.media_time_us < 4500000) {
		assert_int_equal(enc_session_step(s), 0);
		enc_session_progress(s, &p);
		assert_true(p.queue_ms <= 2000 + 2000); /* the bound, plus at most one GOP */
	}
	/* 135 frames made; whole GOPs of 60 dropped: 60 or 120. */
	assert_true(p.dropped_frames == 60 || p.dropped_frames == 120);
	assert_true(p.queue_ms >= 400 && p.queue_ms <= 2000);
	enc_session_destroy(s);
}

static void test_pattern_to_flv(void **state)
{
	char path[] = "/tmp/mps-enc-XXXXXX.flv";
	struct flv_facts f;
	int fd = mkstemps(path, 4);

	assert_true(fd >= 0);
	close(fd);
	encode(ENC_INPUT_TEST, false, path, 4.0);
	read_flv(path, &f);
	assert_int_equal(f.vcodec, AV_CODEC_ID_H264);
	assert_int_equal(f.acodec, AV_CODEC_ID_AAC);
	assert_int_equal(f.width, 320);
	assert_int_equal(f.height, 240);
	assert_int_equal(f.sample_rate, 48000);
	assert_int_equal(f.channels, 2);
	/* 4 s at 30 fps, a keyframe every 2 s, frames 33 ms apart. */
	assert_in_range(f.video_packets, 120, 122);
	assert_in_range(f.keyframes, 2, 3);
	assert_true(f.max_gap_s < 0.050);
	assert_in_range(f.audio_packets, 185, 190);

	/* Every frame carries its stamp through x264 at 400 kbit/s: numbers 0, 1, 2, ... */
	struct enc_probe *p = NULL;
	struct enc_probe_frame fr;
	uint32_t expect = 0;
	uint64_t first_ms = 0;

	assert_int_equal(enc_probe_open(path, 5000, NULL, NULL, &p), 0);
	while (enc_probe_next(p, &fr) == 0) {
		assert_true(fr.stamped);
		assert_int_equal(fr.stamp.frame, expect);
		if (!expect)
			first_ms = fr.stamp.time_ms;
		expect++;
	}
	enc_probe_close(p);
	assert_in_range(expect, 120, 122);
	/* The stamps are the sender's clock when each frame was due: 33 ms apart. */
	assert_in_range(fr.stamp.time_ms - first_ms, 3900, 4200);

	/* The file as input, looped: timestamps go on across the loop, without a gap. */
	char out[] = "/tmp/mps-enc-XXXXXX.flv";
	fd = mkstemps(out, 4);
	assert_true(fd >= 0);
	close(fd);
	encode(path, true, out, 6.0);
	read_flv(out, &f);
	assert_in_range(f.video_packets, 175, 185);
	assert_true(f.last_video_s > 5.8);
	assert_true(f.max_gap_s < 0.1);
	unlink(path);
	unlink(out);
}

static void test_unreadable_input(void **state)
{
	struct enc_config cfg = {
		.input = "/nonexistent/clip.mp4",
		.width = 320,
		.height = 240,
		.fps = 30,
		.preset = "ultrafast",
		.bitrate = 400000,

	};
	struct enc_session *s = NULL;

	assert_int_equal(enc_session_create(&cfg, &s), AVERROR(ENOENT));
	assert_null(s);
	assert_int_equal(access("/tmp/never.flv", F_OK), -1);
}

static void test_bad_preset(void **state)
{
	struct enc_config cfg = {
		.input = ENC_INPUT_TEST,
		.width = 320,
		.height = 240,
		.fps = 30,
		.preset = "warpspeed",
		.bitrate = 400000,

	};
	struct enc_session *s = NULL;

	assert_true(enc_session_create(&cfg, &s) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pattern_to_flv),
		cmocka_unit_test(test_unreadable_input),
		cmocka_unit_test(test_bad_preset),
		cmocka_unit_test(test_queue_bound),
	};

	av_log_set_level(AV_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
