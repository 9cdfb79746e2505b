// SPDX-License-Identifier: MIT
/*
 * The live source's clock, around the clock: a stall at a low frame rate
 * (it recursed without end: audio late, the video not a frame late), and
 * the arithmetic of a stream's 53rd hour and later (next_sample * 1e9
 * overflowed int64 at 53.4 h), on simulated time and through the real source
 * started at those offsets; the audio buffer at the same offsets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <inttypes.h>
#include <libavutil/samplefmt.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "encoder.h"
#include "live.h"

#define NS	 ((int64_t)1000000000)
#define MS	 ((int64_t)1000000)
#define HOUR_NS	 (3600 * NS)
#define T0	 (1000 * NS) /* the monotonic clock's reading at the start */
#define OVERFLOW (INT64_MAX / NS * NS / ENC_AUDIO_RATE) /* next_sample * 1e9 overflowed here (ns) */

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NS + ts.tv_nsec;
}

struct run {
	int64_t frames, samples;	 /* taken */
	int64_t first_frame, last_frame; /* pts */
	int64_t last_sample;
	int64_t worst_late_ns; /* of a tick once next() returned */
	int64_t gaps;	       /* pts that did not follow the one before */
};

/*
 * @c on simulated time from @now for @seconds: each tick is waited for, then
 * taken; at @stall_at_ns (0: never) the encoder stalls for @stall_ns.
 */
static void simulate(struct enc_live_clock *c, int64_t now, double seconds, int64_t stall_at_ns,
		     int64_t stall_ns, struct run *r)
{
	int64_t end = now + (int64_t)(seconds * NS);
	bool stalled = false;

	memset(r, 0, sizeof(*r));
	r->first_frame = r->last_frame = r->last_sample = -1;
	while (now < end) {
		enum enc_media kind;
		int64_t due, pts;

		enc_live_clock_next(c, now, &kind, &due);
		if (now - due > r->worst_late_ns)
			r->worst_late_ns = now - due;
		if (due > now)
			now = due;
		pts = enc_live_clock_take(c, kind);
		if (kind == ENC_VIDEO) {
			r->gaps += r->last_frame >= 0 && pts != r->last_frame + 1;
			if (r->first_frame < 0)
				r->first_frame = pts;
			r->last_frame = pts;
			r->frames++;
		} else {
			r->gaps += r->last_sample >= 0 && pts != r->last_sample + ENC_AUDIO_FRAME;
			assert_int_equal(pts % ENC_AUDIO_FRAME, 0);
			r->last_sample = pts;
			r->samples++;
		}
		if (stall_at_ns && !stalled && now >= stall_at_ns) {
			now += stall_ns;
			stalled = true;
		}
	}
}

/* --fps 1 and a 300 ms stall: the audio skips 300 ms, the video nothing, and next() returns. */
static void test_stall_low_fps(void **state)
{
	struct enc_live_clock c;
	struct run r;

	(void)state;
	enc_live_clock_start(&c, 1, T0, 0);
	simulate(&c, T0, 10, T0 + 2500 * MS, 300 * MS, &r);
	printf("figure: --fps 1, 300 ms stall: %" PRId64 " frames, %" PRId64
	       " audio frames, skipped %" PRId64 " ms in %" PRId64 " skips, worst late %" PRId64
	       " ms\n",
	       r.frames, r.samples, c.skipped_ms, c.skips, r.worst_late_ns / MS);
	assert_int_equal(r.frames, 11);	    /* 0 to 10 s */
	assert_int_equal(r.last_frame, 10); /* no frame skipped */
	assert_int_equal(c.skips, 1);
	assert_in_range(c.skipped_ms, 250, 310);
	assert_true(r.worst_late_ns <= 200 * MS);

	/* A stall longer than a frame at 5 fps skips video too, and still returns at once. */
	enc_live_clock_start(&c, 5, T0, 0);
	simulate(&c, T0, 10, T0 + 2500 * MS, 700 * MS, &r);
	assert_int_equal(c.skips, 1);
	assert_in_range(c.skipped_ms, 600, 710);
	assert_true(r.worst_late_ns <= 200 * MS);
	assert_in_range(r.frames, 45, 48);
}

/* Just before and after 53.4 h, and at 30 days and 10 years: ticks on time, nothing skipped. */
static void test_offsets(void **state)
{
	const int64_t offsets[] = {
		OVERFLOW - NS,		 OVERFLOW - 1, OVERFLOW + NS, 30 * 24 * HOUR_NS,
		10 * 365 * 24 * HOUR_NS,
	};

	(void)state;
	for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
		struct enc_live_clock c;
		struct run r;
		enum enc_media kind;
		int64_t due;

		enc_live_clock_start(&c, 30, T0, offsets[i]);
		/* The first tick is due now or within a tick, not in the past or far ahead. */
		enc_live_clock_next(&c, T0, &kind, &due);
		assert_in_range(due, T0, T0 + NS / 30);
		simulate(&c, T0, 3, 0, 0, &r);
		printf("figure: from %.3f h: %" PRId64 " frames from pts %" PRId64 ", %" PRId64
		       " audio frames, %" PRId64 " gaps, %" PRId64 " ms skipped\n",
		       offsets[i] / 3600e9, r.frames, r.first_frame, r.samples, r.gaps,
		       c.skipped_ms);
		assert_int_equal(c.skips, 0);
		assert_int_equal(r.gaps, 0);
		assert_in_range(r.frames, 89, 91);
		assert_in_range(r.samples, 139, 142);
		assert_true(r.first_frame >= offsets[i] / NS * 30);
		/* A stall there: skipped as at the start of a stream. */
		enc_live_clock_start(&c, 30, T0, offsets[i]);
		simulate(&c, T0, 3, T0 + NS, 500 * MS, &r);
		assert_int_equal(c.skips, 1);
		assert_in_range(c.skipped_ms, 400, 510);
		assert_true(r.worst_late_ns <= 200 * MS);
	}
}

/*
 * Pictures every @interval (a multiple of 10 ms) from @start for @seconds, the pace asked
 * every 10 ms: how many times it went from fresh to lost. *@last: the last picture's time.
 */
static int pictures(struct enc_pace *p, int64_t start, int64_t interval, double seconds,
		    int64_t *last)
{
	int64_t end = start + (int64_t)(seconds * NS);
	bool was_fresh = true;
	int losses = 0;

	for (int64_t t = start; t <= end; t += 10 * MS) {
		bool fresh;

		if ((t - start) % interval == 0) {
			enc_pace_picture(p, t);
			*last = t;
		}
		fresh = enc_pace_fresh(p, t, 500);
		losses += was_fresh && !fresh;
		was_fresh = fresh;
	}
	return losses;
}

/*
 * A 1 fps camera with --input-timeout 500 ms is not lost between its pictures (the slate
 * came and went every second); when it stops it is, 3 of its frames later. At the
 * stream's start, across 53.4 h and after ten years of the monotonic clock.
 */
static void test_pace(void **state)
{
	const int64_t offsets[] = {T0, OVERFLOW - NS / 2, 10 * 365 * 24 * HOUR_NS};

	(void)state;
	for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
		struct enc_pace p = {0};
		int64_t last = 0;
		int losses;

		/* Nothing declared: lost once, before the second picture shows the pace. */
		losses = pictures(&p, offsets[i], NS, 20, &last);
		printf("figure: 1 fps for 20 s from %.1f h: %d loss(es), lost after %" PRId64
		       " ms\n",
		       offsets[i] / 3600e9, losses, enc_pace_lost_after_ns(&p, 500) / MS);
		assert_int_equal(losses, 1);
		assert_int_equal(enc_pace_interval_ns(&p), NS);
		assert_true(enc_pace_fresh(&p, last + 2900 * MS, 500));
		assert_false(enc_pace_fresh(&p, last + 3100 * MS, 500));
		/* A 30 s outage, then 1 fps again: the outage did not move the pace. */
		assert_int_equal(pictures(&p, last + 30 * NS, NS, 10, &last), 0);
		assert_int_equal(enc_pace_interval_ns(&p), NS);

		/* The rate the input declares stands in before the second picture. */
		p = (struct enc_pace){0};
		enc_pace_expect(&p, NS);
		assert_int_equal(pictures(&p, offsets[i], NS, 20, &last), 0);

		/* 25 fps: the timeout rules. */
		p = (struct enc_pace){0};
		enc_pace_expect(&p, 40 * MS);
		assert_int_equal(pictures(&p, offsets[i], 40 * MS, 5, &last), 0);
		assert_int_equal(enc_pace_lost_after_ns(&p, 500), 500 * MS);
		assert_true(enc_pace_fresh(&p, last + 500 * MS, 500));
		assert_false(enc_pace_fresh(&p, last + 510 * MS, 500));
		/* Slowed down to 1 fps: followed within half the window. */
		losses = pictures(&p, last + NS, NS, 20, &last);
		assert_in_range(losses, 1, ENC_PACE_INTERVALS / 2);
		assert_int_equal(enc_pace_interval_ns(&p), NS);
		/* A pace of an hour is capped at a minute: lost after 3 minutes. */
		p = (struct enc_pace){0};
		enc_pace_expect(&p, HOUR_NS);
		assert_int_equal(enc_pace_lost_after_ns(&p, 500), 3 * ENC_PACE_MAX_INTERVAL_NS);
	}
}

/* The real source, from a lavfi device: a live input and its clock as the session runs them. */
static struct enc_source *live_source_of(struct enc_live **l, const char *input, int fps,
					 int64_t offset_ns)
{
	struct enc_live_config cfg = {
		.input = input,
		.audio = "tone",
		.width = 160,
		.height = 120,
		.fps = fps,
		.timeout_ms = 500,
		.clock_offset_ns = offset_ns,
	};
	struct enc_source *src = NULL;

	assert_int_equal(enc_live_start(&cfg, l), 0);
	assert_int_equal(enc_source_live_create(*l, &src), 0);
	return src;
}

static struct enc_source *live_source(struct enc_live **l, int fps, int64_t offset_ns)
{
	return live_source_of(l, "lavfi:testsrc2=size=160x120:rate=25", fps, offset_ns);
}

/* The next frame: its kind and pts, and how long the call took (ns). */
static int64_t next_frame(struct enc_source *src, enum enc_media *kind, int64_t *pts)
{
	int64_t t = mono_ns();
	AVFrame *frame = NULL;

	assert_int_equal(src->next(src, kind, &frame), 0);
	*pts = frame->pts;
	return mono_ns() - t;
}

/*
 * --fps 1, the encoder stalled 300 ms after the first frames: the next call
 * returns at once with late audio, and frame 1 comes at 1 s (the recursion
 * spun until 2 s, or overflowed the stack, and then skipped frame 1).
 */
static void test_source_stall(void **state)
{
	struct enc_live *l = NULL;
	struct enc_source *src = live_source(&l, 1, 0);
	enum enc_media kind;
	int64_t pts, took, t0 = mono_ns(), frames = 0, last_frame = -1;

	(void)state;
	for (int i = 0; i < 5; i++)
		next_frame(src, &kind, &pts);
	usleep(300000);
	took = next_frame(src, &kind, &pts);
	printf("figure: the call after a 300 ms stall took %.1f ms\n", took / 1e6);
	assert_true(took < 50 * MS);
	while (mono_ns() - t0 < 1500 * MS) {
		next_frame(src, &kind, &pts);
		if (kind == ENC_VIDEO) {
			last_frame = pts;
			frames++;
		}
	}
	assert_int_equal(frames, 1); /* frame 1, at 1 s */
	assert_int_equal(last_frame, 1);
	src->destroy(src);
	enc_live_stop(l);
}

/* The source started 0.5 s before 53.4 h: 1 s across it at 25 fps, every pts in turn, on time. */
static void test_source_offset(void **state)
{
	struct enc_live *l = NULL;
	struct enc_source *src = live_source(&l, 25, OVERFLOW - NS / 2);
	enum enc_media kind;
	int64_t pts, t0 = mono_ns(), frames = 0, samples = 0, last[2] = {-1, -1}, gaps = 0;

	(void)state;
	while (mono_ns() - t0 < NS) {
		next_frame(src, &kind, &pts);
		gaps += last[kind] >= 0 && pts != last[kind] + (kind == ENC_VIDEO ? 1 : 1024);
		last[kind] = pts;
		frames += kind == ENC_VIDEO;
		samples += kind == ENC_AUDIO;
	}
	printf("figure: 1 s across 53.4 h: %" PRId64 " frames (last pts %" PRId64 "), %" PRId64
	       " audio frames, %" PRId64 " gaps\n",
	       frames, last[ENC_VIDEO], samples, gaps);
	assert_int_equal(gaps, 0);
	assert_in_range(frames, 24, 27);
	assert_in_range(samples, 45, 49);
	assert_true(last[ENC_AUDIO] > OVERFLOW / 1000 * ENC_AUDIO_RATE / 1000000);
	src->destroy(src);
	enc_live_stop(l);
}

/*
 * A 1 fps camera (lavfi in real time) with --input-timeout 500 ms: up all along (the slate
 * came and went every second, 3 losses in 3.5 s).
 */
static void test_source_one_fps(void **state)
{
	struct enc_live *l = NULL;
	struct enc_source *src =
		live_source_of(&l, "lavfi:testsrc2=size=160x120:rate=1,realtime", 25, 0);
	struct enc_input_status st = {0};
	int64_t t0 = mono_ns();
	bool up = false;

	(void)state;
	while (mono_ns() - t0 < 3500 * MS) {
		enc_live_status(l, &st);
		up |= st.state == ENC_INPUT_UP;
		usleep(20000);
	}
	printf("figure: a 1 fps camera for 3.5 s: %" PRId64 " loss(es), %" PRId64
	       " ms lost, now %s\n",
	       (int64_t)st.losses, (int64_t)st.lost_total_ms, enc_input_state_name(st.state));
	assert_true(up);
	assert_int_equal(st.losses, 0);
	assert_int_equal(st.state, ENC_INPUT_UP);
	src->destroy(src);
	enc_live_stop(l);
}

/* The audio buffer's clock at those offsets: an exact source neither dropped nor starved. */
static void test_audio_buffer_offsets(void **state)
{
	const int64_t offsets[] = {0, OVERFLOW - NS, 30 * 24 * HOUR_NS, 10 * 365 * 24 * HOUR_NS};
	AVFrame *out = enc_audio_frame_alloc();
	uint8_t **buf = NULL;

	(void)state;
	assert_non_null(out);
	assert_true(av_samples_alloc_array_and_samples(&buf, NULL, 2, 2048, AV_SAMPLE_FMT_FLTP,
						       0) >= 0);
	for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
		struct enc_abuf b;

		assert_int_equal(enc_abuf_init(&b, 2048, 4 * 48000), 0);
		/* 1 % fast for 20 s: what piles up is drained, every 2 s window judged. */
		for (int64_t k = 0; k < 20 * 48000 / 1024; k++) {
			assert_int_equal(enc_abuf_put(&b, buf, k % 100 ? 1024 : 2048), 0);
			assert_int_equal(enc_abuf_take(&b, out, offsets[i] + k * 1024 * NS / 48000),
					 0);
		}
		printf("figure: audio buffer from %.1f h: %" PRId64 " drains, %" PRId64
		       " underruns\n",
		       offsets[i] / 3600e9, b.drains, b.underruns);
		assert_int_equal(b.underruns, 0);
		assert_true(b.drains >= 1);
		enc_abuf_free(&b);
	}
	av_freep(&buf[0]);
	av_freep(&buf);
	av_frame_free(&out);
}

/* The process's resident and peak resident memory, in MB (/proc/self/status). */
static void rss_mb(long *rss, long *hwm)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];

	assert_non_null(f);
	*rss = *hwm = -1;
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "VmRSS: %ld", rss);
		sscanf(line, "VmHWM: %ld", hwm);
	}
	fclose(f);
	*rss /= 1024;
	*hwm /= 1024;
}

/* A free UDP port on loopback. */
static int free_udp_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

#define TS_PACKET   188
#define BOGUS_BYTES (30 * 1000 * 1000)
#define BOGUS_PIDS  1000
#define BOGUS_BOUND 20 /* MB the process may keep of it */

/*
 * Bogus MPEG-TS, as a hostile sender makes it: sync bytes, random PIDs
 * (of BOGUS_PIDS), PES headers with a random stream id, random bytes.
 */
static void bogus_ts(uint8_t *p, int packets, uint64_t *seed)
{
	for (int i = 0; i < packets; i++, p += TS_PACKET) {
		int pid;

		for (int k = 0; k < TS_PACKET; k++) {
			*seed ^= *seed << 13;
			*seed ^= *seed >> 7;
			*seed ^= *seed << 17;
			p[k] = (uint8_t)*seed;
		}
		p[0] = 0x47;
		pid = 0x20 + (int)(*seed % BOGUS_PIDS);
		/* A PES starts in one packet of 20: the others add to the PID's PES. */
		p[1] = ((*seed >> 40) % 20 ? 0 : 0x40) | pid >> 8;
		p[2] = pid & 0xff;
		p[3] = 0x10 | (p[3] & 0x0f); /* payload only */
		p[4] = p[5] = 0;
		p[6] = 1;
		p[7] = (*seed >> 20) & 1 ? 0xe0 : (uint8_t)(*seed >> 24);
		p[8] = p[9] = 0;
	}
}

/*
 * 30 MB of bogus MPEG-TS at a live UDP input (issue 28 had it take the
 * process from 62 to 431 MB, never given back): what the input holds
 * afterwards stays bounded.
 */
static void test_bogus_ts_memory(void **state)
{
	char url[64];
	struct enc_live_config cfg = {
		.input = url,
		.audio = "none",
		.width = 160,
		.height = 120,
		.fps = 25,
		.timeout_ms = 500,
	};
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct enc_live *l = NULL;
	uint8_t buf[7 * TS_PACKET];
	uint64_t seed = 88172645463325252ULL;
	long rss0, hwm0, rss1, hwm1, rss2, hwm2;
	int fd, port = free_udp_port();

	(void)state;
	snprintf(url, sizeof(url), "udp://127.0.0.1:%d", port);
	to.sin_port = htons(port);
	assert_int_equal(enc_live_start(&cfg, &l), 0);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	usleep(500000);
	rss_mb(&rss0, &hwm0);
	for (long sent = 0; sent < BOGUS_BYTES; sent += sizeof(buf)) {
		bogus_ts(buf, 7, &seed);
		sendto(fd, buf, sizeof(buf), 0, (struct sockaddr *)&to, sizeof(to));
		if (sent % (sizeof(buf) * 64) == 0)
			usleep(2000); /* bursts of 64 datagrams: fewer lost to the socket's buffer */
	}
	rss_mb(&rss1, &hwm1);
	sleep(3); /* the input gives up on it and opens again */
	rss_mb(&rss2, &hwm2);
	printf("figure: %d MB of bogus TS at a UDP input: RSS %ld MB before, %ld MB after it, "
	       "%ld MB 3 s later (peak %ld MB, %ld MB before)\n",
	       BOGUS_BYTES / 1000000, rss0, rss1, rss2, hwm2, hwm0);
	close(fd);
	enc_live_stop(l);
#ifndef __SANITIZE_ADDRESS__ /* its quarantine keeps what was freed */
	assert_true(rss2 - rss0 <= BOGUS_BOUND);
	assert_true(hwm2 - hwm0 <= BOGUS_BOUND);
#endif
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stall_low_fps),	     cmocka_unit_test(test_offsets),
		cmocka_unit_test(test_source_stall),	     cmocka_unit_test(test_source_offset),
		cmocka_unit_test(test_audio_buffer_offsets), cmocka_unit_test(test_pace),
		cmocka_unit_test(test_source_one_fps),	     cmocka_unit_test(test_bogus_ts_memory),
	};

	av_log_set_level(AV_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
