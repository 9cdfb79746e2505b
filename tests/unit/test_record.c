// SPDX-License-Identifier: MIT
/*
 * --record: every frame encoded is in the recording, the ones the network
 * queue dropped included; live periods follow each other in one file; a
 * process killed mid-stream leaves a file that decodes; names are expanded
 * and never overwrite; a recording that got nothing is removed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <libavformat/avformat.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "encoder.h"

static char dir[] = "/tmp/mps-rec-XXXXXX";

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return rmdir(dir);
}

static const struct enc_config base = {
	.input = ENC_INPUT_TEST,
	.width = 160,
	.height = 120,
	.fps = 30,
	.preset = "ultrafast",
	.bitrate = 200000,
	.buffer_ms = 1000,
};

/* @seconds of the test pattern, with nothing taking the network queue. */
static void run_session(struct enc_record *r, double seconds, struct enc_progress *p)
{
	struct enc_session *s = NULL;

	assert_int_equal(enc_session_create(&base, &s), 0);
	assert_int_equal(enc_session_record(s, r), 0);
	memset(p, 0, sizeof(*p));
	while (p->media_time_us < (int64_t)(seconds * 1e6)) {
		assert_int_equal(enc_session_step(s), 0);
		enc_session_progress(s, p);
	}
	enc_session_destroy(s);
}

struct rec_facts {
	int video, audio;
	uint32_t stamps[1000];
	int stamped;
	double first_s, last_s, max_step_s;
};

/* What the recording holds: its packets, and every picture decoded with its stamp. */
static void read_recording(const char *path, struct rec_facts *f)
{
	AVFormatContext *ic = NULL;
	AVPacket *pkt = av_packet_alloc();
	struct enc_probe *p = NULL;
	struct enc_probe_frame fr;
	double prev = -1;

	memset(f, 0, sizeof(*f));
	assert_int_equal(avformat_open_input(&ic, path, NULL, NULL), 0);
	assert_true(avformat_find_stream_info(ic, NULL) >= 0);
	while (av_read_frame(ic, pkt) >= 0) {
		AVStream *st = ic->streams[pkt->stream_index];
		double t = (double)pkt->pts * av_q2d(st->time_base);

		if (st->codecpar->codec_type == AVMEDIA_TYPE_VIDEO) {
			if (!f->video)
				f->first_s = t;
			f->video++;
			if (prev >= 0 && t - prev > f->max_step_s)
				f->max_step_s = t - prev;
			prev = f->last_s = t;
		} else {
			f->audio++;
		}
		av_packet_unref(pkt);
	}
	av_packet_free(&pkt);
	avformat_close_input(&ic);

	assert_int_equal(enc_probe_open(path, 5000, NULL, NULL, &p), 0);
	while (enc_probe_next(p, &fr) == 0 && f->stamped < 1000) {
		assert_true(fr.stamped); /* every picture decodes whole */
		f->stamps[f->stamped++] = fr.stamp.frame;
	}
	enc_probe_close(p);
}

/*
 * Nothing takes the network queue for 4 s: it drops whole GOPs, the
 * recording keeps every frame. A second live period goes on after the first.
 */
static void test_all_frames(void **state)
{
	char path[256];
	struct enc_record *r = NULL;
	struct enc_record_stats rs;
	struct enc_progress p1, p2;
	struct rec_facts f;

	(void)state;
	snprintf(path, sizeof(path), "%s/all.mkv", dir);
	assert_int_equal(enc_record_open(path, &r), 0);
	run_session(r, 4.0, &p1);
	assert_true(p1.dropped_frames >= 60); /* the queue dropped, the recording did not */
	run_session(r, 1.0, &p2);
	enc_record_stats(r, &rs);
	assert_false(rs.failed);
	assert_int_equal(rs.dropped, 0);
	assert_int_equal(enc_record_close(r), 0);

	read_recording(path, &f);
	printf("figure: %d video and %d audio packets recorded of %" PRId64 "+%" PRId64
	       " frames (the queue dropped %" PRId64 "); %.3f s to %.3f s\n",
	       f.video, f.audio, p1.video_frames, p2.video_frames, p1.dropped_frames, f.first_s,
	       f.last_s);
	assert_int_equal(f.video, p1.video_frames + p2.video_frames);
	assert_int_equal(f.stamped, f.video);
	/* The first period's frames 0, 1, 2, ... then the second's from 0 again. */
	for (int i = 0; i < p1.video_frames; i++)
		assert_int_equal(f.stamps[i], i);
	assert_int_equal(f.stamps[p1.video_frames], 0);
	/* One timeline: the second period a frame or two after the first, no jump back. */
	assert_true(f.max_step_s < 0.1);
	assert_true(f.last_s > 4.9);
	assert_in_range(f.audio, (int)((f.last_s - 0.2) * 46.875),
			(int)((f.last_s + 0.2) * 46.875));
	unlink(path);
}

/* Killed mid-stream (SIGKILL: a power cut for the process): what was written decodes. */
static void test_crash(void **state)
{
	char path[256];
	struct rec_facts f;
	pid_t pid;
	int status;

	(void)state;
	snprintf(path, sizeof(path), "%s/crash.mkv", dir);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct enc_record *r = NULL;
		struct enc_progress p;

		if (enc_record_open(path, &r))
			_exit(3);
		run_session(r, 3.5, &p);
		raise(SIGKILL);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	read_recording(path, &f);
	printf("figure: after SIGKILL at 3.5 s: %d pictures decoded, up to %.3f s\n", f.stamped,
	       f.last_s);
	/* Clusters close at each keyframe and every second: at most about 1 s is lost. */
	assert_true(f.video >= 70);
	assert_int_equal(f.stamped, f.video);
	for (int i = 0; i < f.stamped; i++)
		assert_int_equal(f.stamps[i], i);
	unlink(path);
}

/* Names: expanded by strftime; never over a file; a known extension; nothing left unused. */
static void test_names(void **state)
{
	char pattern[256], path[256], expanded[256];
	struct enc_record *r = NULL;

	(void)state;
	snprintf(pattern, sizeof(pattern), "%s/rec-%%Y.ts", dir);
	assert_int_equal(enc_record_name(pattern, expanded, sizeof(expanded)), 0);
	assert_null(strchr(expanded, '%'));
	assert_int_equal(enc_record_open(pattern, &r), 0);
	assert_string_equal(enc_record_path(r), expanded);
	assert_int_equal(access(expanded, F_OK), 0);
	/* A second run with the same name: refused, the first file kept. */
	struct enc_record *again = NULL;
	assert_int_equal(enc_record_open(pattern, &again), -EEXIST);
	assert_null(again);
	/* Closed without a frame: removed. */
	assert_int_equal(enc_record_close(r), 0);
	assert_int_equal(access(expanded, F_OK), -1);

	snprintf(path, sizeof(path), "%s/rec.avi", dir);
	assert_int_equal(enc_record_open(path, &r), -EINVAL);
	assert_int_equal(access(path, F_OK), -1);
	snprintf(path, sizeof(path), "%s/no/such/dir/rec.mkv", dir);
	assert_int_equal(enc_record_open(path, &r), -ENOENT);
}

/* Fragmented MP4 and the other containers take the same packets. */
static void test_containers(void **state)
{
	static const char *const ext[] = {"mp4", "ts", "flv"};
	char path[256];
	struct enc_progress p;
	struct rec_facts f;

	(void)state;
	for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
		struct enc_record *r = NULL;

		snprintf(path, sizeof(path), "%s/rec.%s", dir, ext[i]);
		assert_int_equal(enc_record_open(path, &r), 0);
		run_session(r, 1.0, &p);
		assert_int_equal(enc_record_close(r), 0);
		read_recording(path, &f);
		assert_int_equal(f.video, p.video_frames);
		assert_int_equal(f.stamped, f.video);
		unlink(path);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_all_frames),
		cmocka_unit_test(test_crash),
		cmocka_unit_test(test_containers),
	};

	av_log_set_level(AV_LOG_ERROR);
	return cmocka_run_group_tests(tests, setup, teardown);
}
