// SPDX-License-Identifier: MIT
/*
 * --record: every frame encoded is in the recording, the ones the network
 * queue dropped included; live periods follow each other in one file; a
 * process killed mid-stream leaves a file that decodes; names are expanded
 * and never overwrite; a recording that got nothing is removed; one that
 * cannot start or fails (a colon in its name, a full disk) ends the
 * recording, never the stream.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <libavformat/avformat.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
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

/* @seconds of the test pattern in @codec, with nothing taking the network queue. */
static void run_codec(struct enc_record *r, enum enc_codec codec, double seconds,
		      struct enc_progress *p)
{
	struct enc_config cfg = base;
	struct enc_session *s = NULL;

	cfg.codec = codec;
	assert_int_equal(enc_session_create(&cfg, &s), 0);
	assert_int_equal(enc_session_record(s, r), 0);
	memset(p, 0, sizeof(*p));
	while (p->media_time_us < (int64_t)(seconds * 1e6)) {
		assert_int_equal(enc_session_step(s), 0);
		enc_session_progress(s, p);
	}
	enc_session_destroy(s);
}

static void run_session(struct enc_record *r, double seconds, struct enc_progress *p)
{
	run_codec(r, ENC_CODEC_H264, seconds, p);
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
	struct enc_player *p = NULL;
	struct enc_player_frame fr;
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

	assert_int_equal(enc_player_open(path, 5000, NULL, NULL, &p), 0);
	while (enc_player_next(p, &fr) == 0 && f->stamped < 1000) {
		assert_true(fr.stamped); /* every picture decodes whole */
		f->stamps[f->stamped++] = fr.stamp.frame;
	}
	enc_player_close(p);
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
	/* A FIFO of that name is no empty file to take (and opening it does not wait). */
	snprintf(path, sizeof(path), "%s/fifo.mkv", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(enc_record_open(path, &r), -EEXIST);
	unlink(path);
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

/*
 * HEVC into Matroska, MP4 ('hvc1') and MPEG-TS (what a live HEVC --copy
 * records to, besides Matroska): every frame decodes; FLV refused with one line.
 */
static void test_hevc(void **state)
{
	static const char *const ext[] = {"mkv", "mp4", "ts"};
	char path[256];
	struct enc_progress p;
	struct rec_facts f;
	struct enc_record *r = NULL;
	struct enc_session *s = NULL;
	struct enc_config cfg = base;

	(void)state;
	for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
		AVFormatContext *ic = NULL;

		snprintf(path, sizeof(path), "%s/hevc.%s", dir, ext[i]);
		assert_int_equal(enc_record_open(path, &r), 0);
		run_codec(r, ENC_CODEC_HEVC, 1.0, &p);
		assert_int_equal(enc_record_close(r), 0);
		read_recording(path, &f);
		assert_int_equal(f.video, p.video_frames);
		assert_int_equal(f.stamped, f.video);
		for (int k = 0; k < f.stamped; k++)
			assert_int_equal(f.stamps[k], k);
		assert_int_equal(avformat_open_input(&ic, path, NULL, NULL), 0);
		assert_int_equal(ic->streams[0]->codecpar->codec_id, AV_CODEC_ID_HEVC);
		if (i == 1)
			assert_int_equal(ic->streams[0]->codecpar->codec_tag,
					 MKTAG('h', 'v', 'c', '1'));
		avformat_close_input(&ic);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/hevc.flv", dir);
	assert_int_equal(enc_record_open(path, &r), 0);
	cfg.codec = ENC_CODEC_HEVC;
	assert_int_equal(enc_session_create(&cfg, &s), 0);
	assert_int_equal(enc_session_record(s, r), AVERROR(ENOTSUP));
	enc_session_destroy(s);
	(void)enc_record_close(r);
	unlink(path);
}

/*
 * A relative name with a colon ("x:1.ts") is a file's name, not protocol x:
 * it was "Protocol not found", then the writer wrote into the half-built
 * muxer (SIGSEGV).
 */
static void test_colon_name(void **state)
{
	char cwd[256], path[256];
	struct enc_record *r = NULL;
	struct enc_progress p;
	struct rec_facts f;

	(void)state;
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(dir), 0);
	assert_int_equal(enc_record_open("x:1.ts", &r), 0);
	run_session(r, 1.0, &p);
	assert_int_equal(enc_record_close(r), 0);
	assert_int_equal(chdir(cwd), 0);
	snprintf(path, sizeof(path), "%s/x:1.ts", dir);
	read_recording(path, &f);
	assert_int_equal(f.video, p.video_frames);
	unlink(path);
}

/* @seconds of the stream with @r attached whatever it says: 0, or the step that failed. */
static int stream_on(struct enc_record *r, double seconds)
{
	struct enc_session *s = NULL;
	struct enc_progress p = {0};
	int ret = enc_session_create(&base, &s);

	if (ret < 0)
		return 20;
	(void)enc_session_record(s, r); /* the stream goes on without it */
	while (!ret && p.media_time_us < (int64_t)(seconds * 1e6)) {
		ret = enc_session_step(s);
		enc_session_progress(s, &p);
	}
	enc_session_destroy(s);
	return ret ? 21 : 0;
}

/*
 * A muxer that cannot start (its file replaced by a directory after the
 * set-up): the stream goes on, nothing is written (it was SIGSEGV in the
 * writer, on the half-built muxer, 0.2 s into the stream).
 */
static void test_cannot_start(void **state)
{
	char path[256];
	int status;
	pid_t pid;

	(void)state;
	snprintf(path, sizeof(path), "%s/gone.mkv", dir);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct enc_record *r = NULL;
		struct enc_record_stats rs;

		if (enc_record_open(path, &r) || unlink(path) || mkdir(path, 0700))
			_exit(2);
		if (stream_on(r, 1.0))
			_exit(3);
		enc_record_stats(r, &rs);
		_exit(rs.failed && !rs.bytes ? 0 : 4);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	printf("figure: a recording that cannot start: %s %d\n",
	       WIFSIGNALED(status) ? "signal" : "exit",
	       WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(rmdir(path), 0);
}

/* Fill the file system of @where up to its last byte. */
static void fill_up(const char *where)
{
	char path[256], block[4096] = {0};
	int fd;

	snprintf(path, sizeof(path), "%s/filler", where);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	while (fd >= 0 && write(fd, block, sizeof(block)) > 0)
		;
	while (fd >= 0 && write(fd, block, 1) > 0)
		;
	if (fd >= 0)
		close(fd);
}

/*
 * In a child of its own mount namespace, a tmpfs of @size_kb at @where,
 * filled up first when @full: a recording of 2 s there. Returns what the
 * child found: 0 all as expected, else the number of the check that failed
 * (a signal: 128 + its number).
 */
static int full_disk_case(const char *where, int size_kb, bool full)
{
	char opts[64], path[256];
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return 1;
	if (pid == 0) {
		struct enc_record *r = NULL;
		struct enc_record_stats rs;
		bool kept;

		snprintf(opts, sizeof(opts), "size=%dk", size_kb);
		if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
		    mount("tmpfs", where, "tmpfs", 0, opts))
			_exit(2);
		if (full)
			fill_up(where);
		snprintf(path, sizeof(path), "%s/rec.mkv", where);
		if (enc_record_open(path, &r))
			_exit(3);
		if (stream_on(r, 2.0))
			_exit(4); /* the stream must go on */
		enc_record_stats(r, &rs);
		if (!rs.failed)
			_exit(5);
		enc_record_close(r);
		kept = access(path, F_OK) == 0;
		/* Nothing on the disk: nothing left; something: kept, never overwritten. */
		if (full ? kept : !kept)
			_exit(6);
		if (kept && enc_record_open(path, &r) != -EEXIST)
			_exit(7);
		/* An empty file of that name (a run killed in its set-up) is taken over. */
		unlink(path);
		if (open(path, O_WRONLY | O_CREAT, 0644) < 0)
			_exit(8);
		if (enc_record_open(path, &r))
			_exit(9);
		enc_record_close(r);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid)
		return 1;
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

/* A full disk ends the recording, never the stream (needs root for its tmpfs). */
static void test_full_disk(void **state)
{
	char where[256];
	int ret;

	(void)state;
	if (geteuid() != 0)
		skip();
	snprintf(where, sizeof(where), "%s/tmpfs", dir);
	assert_int_equal(mkdir(where, 0700), 0);
	/* Full from the first byte: the muxer cannot start (it was SIGSEGV). */
	ret = full_disk_case(where, 64, true);
	printf("figure: a full tmpfs: check %d\n", ret);
	assert_int_equal(ret, 0);
	/* Full half-way through: what was written is kept. */
	ret = full_disk_case(where, 32, false);
	printf("figure: a tmpfs full after 32 kB: check %d\n", ret);
	assert_int_equal(ret, 0);
	assert_int_equal(rmdir(where), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),	   cmocka_unit_test(test_all_frames),
		cmocka_unit_test(test_crash),	   cmocka_unit_test(test_containers),
		cmocka_unit_test(test_colon_name), cmocka_unit_test(test_cannot_start),
		cmocka_unit_test(test_full_disk),  cmocka_unit_test(test_hevc),
	};

	av_log_set_level(AV_LOG_ERROR);
	return cmocka_run_group_tests(tests, setup, teardown);
}
