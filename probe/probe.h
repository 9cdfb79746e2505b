/* SPDX-License-Identifier: MIT */
/*
 * `mpstream probe`: what reaches a server. The arithmetic (gaps, missing and
 * repeated frames, latency) is pure so that it can be unit-tested; the
 * subcommand around it plays the stream with the encoder module.
 */
#ifndef MPS_PROBE_H
#define MPS_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdatomic.h>
#include <stdio.h>

#define PROBE_FRAME_MOD (1u << 24) /* the stamp's frame counter wraps here */
/* Frames that arrived, and span in media time, less than this fail: too little to judge. */
#define PROBE_MIN_SPAN_S 0.5

struct probe_sample {
	int64_t arrival_us; /* CLOCK_REALTIME */
	int64_t pts_us;
	int64_t bytes;
	bool stamped;  /* its latency from the stamp's send time */
	bool numbered; /* its stamp's frame number counts (also under --relative) */
	uint32_t frame;
	int64_t sent_us; /* the sender's CLOCK_REALTIME, from the stamp */
};

/* One reporting interval. */
struct probe_window {
	double t_s; /* end of the interval, since the probe started */
	int64_t frames;
	double fps;
	double bitrate_bps;
	double max_gap_ms;
	double latency_ms;     /* median over the interval; < 0: none */
	double latency_max_ms; /* < 0: none */
	int64_t missing_total;
};

struct probe_summary {
	int64_t frames, backlog, missing, repeated, unstamped;
	int64_t joining;       /* frames of the server's join burst, back to back at the start */
	double joining_max_ms; /* their largest latency, reported, not judged; < 0: none */
	double duration_s;
	double max_gap_ms;
	bool latency_relative; /* no stamps: delay above the smallest one seen */
	double latency_min_ms, latency_median_ms, latency_max_ms; /* < 0: none */
	bool pass;
	char reason[128]; /* why not, when !pass */
};

struct probe_limits {
	double max_gap_ms;     /* 0: no limit */
	double max_latency_ms; /* 0: no limit */
	double max_missing;    /* frames; 0: none may miss */
};

struct probe_stats;

/*
 * @start_us is when the probe connected: stamped frames sent before it are a
 * server's backlog (nginx-rtmp sends seconds of it at once) and count as
 * neither latency nor gaps.
 */
int probe_stats_create(int64_t start_us, struct probe_stats **out)
	__attribute__((warn_unused_result));
void probe_stats_destroy(struct probe_stats *s);
void probe_stats_add(struct probe_stats *s, const struct probe_sample *smp);
/* Close the current interval at @now_us and start the next one. */
void probe_stats_window(struct probe_stats *s, int64_t now_us, struct probe_window *w);
void probe_stats_summary(const struct probe_stats *s, const struct probe_limits *lim,
			 struct probe_summary *out);

void probe_format_window(const struct probe_window *w, char *buf, size_t size);
void probe_format_summary(const struct probe_summary *sum, char *buf, size_t size);
extern const char probe_csv_header[];
void probe_write_csv(FILE *f, const struct probe_window *w);

/*
 * The subcommand: argv[0] is "probe". @stop is main's signal flag (it ends the
 * probe with its summary). Returns the exit code.
 */
int probe_main(int argc, char **argv, atomic_int *stop);

#endif
