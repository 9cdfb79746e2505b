// SPDX-License-Identifier: MIT
/* `mpstream probe URL`: play a stream and report what arrives. */
#include "clock.h"
#include "args.h"
#include "url.h"
#include "encoder.h"
#include "log.h"
#include "opts.h"
#include "probe.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TAG "probe"

struct probe_options {
	double duration_s, interval_s, timeout_s;
	struct probe_limits lim;
	const char *csv;
	bool quiet;
	bool relative;
	const char *url;
};

#define PFAIL(...) MPS_ARGS_FAIL(err, errlen, __VA_ARGS__)

/* A count of frames, whole (a double, as probe_limits keeps it). */
static enum mps_args_result apply_max_missing(const struct mps_opt *row, void *opts, void *state,
					      const char *arg, char *err, size_t errlen)
{
	struct probe_options *o = opts;

	(void)row, (void)state;
	if (mps_parse_number(arg, 0, 1e9, &o->lim.max_missing) ||
	    o->lim.max_missing != (double)(int64_t)o->lim.max_missing)
		PFAIL("--max-missing '%s': expected a count >= 0", arg);
	return MPS_ARGS_RUN;
}

#define NUMBER(field, lo, hi, what) MPS_OPT_NUMBER(struct probe_options, field, lo, hi, what)
#define STRING(field)		    MPS_OPT_STRING(struct probe_options, field)
#define FLAG(field)		    MPS_OPT_TRUE(struct probe_options, field)

/* The probe's options, in --help's order (see common/opts.h for a row's fields). */
static const struct mps_opt rows[] = {
	{.name = "duration",
	 .short_name = 'd',
	 .metavar = "SECONDS",
	 NUMBER(duration_s, 0.1, 1e7, "seconds > 0"),
	 .help = "stop after SECONDS (default: when the stream ends)"},
	{.name = "interval",
	 .metavar = "SECONDS",
	 NUMBER(interval_s, 0.1, 3600, "0.1 to 3600 seconds"),
	 .help = "report period (default 1)"},
	{.name = "max-gap",
	 .metavar = "MS",
	 NUMBER(lim.max_gap_ms, 1, 1e7, "milliseconds >= 1"),
	 .help = "fail when frames arrive more than MS apart"},
	{.name = "max-latency",
	 .metavar = "MS",
	 NUMBER(lim.max_latency_ms, 1, 1e7, "milliseconds >= 1"),
	 .help = "fail when the latency exceeds MS (not judged: the\n"
		 "frames a server sends a joining player back to\n"
		 "back, held back until a keyframe)"},
	{.name = "max-missing",
	 .metavar = "N",
	 .apply = apply_max_missing,
	 .help = "allow up to N missing frames (default 0; a sender\n"
		 "that drops frames to bound its delay skips some)"},
	{.name = "timeout",
	 .metavar = "SECONDS",
	 NUMBER(timeout_s, 0.1, 3600, "0.1 to 3600 seconds"),
	 .help = "give up after SECONDS without data (default 10)"},
	{.name = "csv",
	 .metavar = "FILE",
	 STRING(csv),
	 .help = "also write each interval as CSV to FILE"},
	{.name = "relative",
	 FLAG(relative),
	 .help = "latency as delay above the smallest one seen, even\n"
		 "for stamped frames (to compare with other senders;\n"
		 "missing and repeated frames still count)"},
	{.name = "quiet", .short_name = 'q', FLAG(quiet), .help = "only the summary"},
	{.name = "help",
	 .short_name = 'h',
	 .apply = mps_opt_help,
	 .help = "show this help and exit"},
};

_Static_assert(sizeof(rows) / sizeof(rows[0]) <= MPS_OPTS_MAX, "more rows than MPS_OPTS_MAX");

static const struct mps_opt_set options = {
	.rows = rows,
	.n_rows = sizeof(rows) / sizeof(rows[0]),
	.help_column = 27,
	.head = "Usage: mpstream probe [OPTION]... URL\n"
		"Play a stream (rtmp://, or anything libavformat reads) and report what arrives:\n"
		"every interval the bit rate, frames per second, the longest gap between frames\n"
		"and the latency; at the end frames received, missing and repeated, the longest\n"
		"gap, latency min/median/max and a verdict. Latency is exact for mpstream's test\n"
		"pattern (its frames carry the sender's clock); for other streams it is the\n"
		"delay above the smallest one seen.\n"
		"\n",
	.tail = "\n"
		"Exit status: 0 pass, 2 the checks failed (frames missing, a limit exceeded,\n"
		"nothing received), 64 usage error, 69 no stream, 1 other.\n",
};

static enum mps_args_result probe_parse(int argc, char **argv, struct probe_options *o, char *err,
					size_t errlen)
{
	struct mps_getopt g;
	enum mps_args_result r;

	memset(o, 0, sizeof(*o));
	o->interval_s = 1;
	o->timeout_s = 10;
	mps_opts_getopt(&options, &g);
	r = mps_opts_parse(&options, &g, argc, argv, o, NULL, "mpstream probe --help", err, errlen);
	if (r != MPS_ARGS_RUN)
		return r;
	if (argc - optind != 1)
		PFAIL("expected one URL (see mpstream probe --help)");
	o->url = argv[optind];
	return MPS_ARGS_RUN;
}

/* libavformat's interrupt callback: @opaque is the stop flag. */
static int probe_interrupt(void *opaque)
{
	return atomic_load((atomic_int *)opaque);
}

/* Close the CSV; false when a write or the close failed (errno says why). */
static bool close_csv(FILE *csv)
{
	bool written = !ferror(csv);

	return fclose(csv) == 0 && written;
}

static void report(struct probe_stats *st, int64_t now, const struct probe_options *o, FILE *csv)
{
	struct probe_window w;
	char line[256];

	probe_stats_window(st, now, &w);
	if (!o->quiet) {
		probe_format_window(&w, line, sizeof(line));
		LOG_INFO(TAG, "%s", line);
	}
	if (csv)
		probe_write_csv(csv, &w);
}

int probe_main(int argc, char **argv, atomic_int *stop)
{
	struct probe_options o;
	struct probe_stats *st = NULL;
	struct enc_player *p = NULL;
	struct probe_summary sum;
	struct enc_player_frame fr;
	char err[256], key[512], shown[512], line[512];
	int64_t start, next_report, end_at;
	FILE *csv = NULL;
	int ret, code = MPS_EXIT_FAILURE;

	switch (probe_parse(argc, argv, &o, err, sizeof(err))) {
	case MPS_ARGS_HELP:
		mps_opts_help(&options, stdout);
		return MPS_EXIT_OK;
	case MPS_ARGS_ERROR:
		fprintf(stderr, "mpstream probe: %s\n", err);
		return MPS_EXIT_USAGE;
	default:
		break;
	}
	mps_url_key(o.url, key, sizeof(key));
	mps_log_add_secret(key);
	mps_url_userinfo(o.url, key, sizeof(key));
	mps_log_add_secret(key);
	mps_url_redacted(o.url, shown, sizeof(shown));
	enc_route_av_log();

	if (o.csv) {
		csv = fopen(o.csv, "we");
		if (!csv) {
			LOG_ERR(TAG, "cannot create %s: %s", o.csv, strerror(errno));
			return MPS_EXIT_FAILURE;
		}
		fputs(probe_csv_header, csv);
	}
	start = mps_realtime_us();
	ret = enc_player_open(o.url, (int)(o.timeout_s * 1000), probe_interrupt, stop, &p);
	if (ret < 0) {
		LOG_ERR(TAG, "cannot play %s: %s", shown, enc_strerror(ret, err, sizeof(err)));
		code = ret == ENC_ERR_EXIT ? MPS_EXIT_FAILURE : MPS_EXIT_UNAVAILABLE;
		goto out;
	}
	if (probe_stats_create(start, &st)) {
		code = MPS_EXIT_FAILURE;
		goto out;
	}
	LOG_INFO(TAG, "playing %s", shown);
	next_report = start + (int64_t)(o.interval_s * 1e6);
	end_at = o.duration_s > 0 ? start + (int64_t)(o.duration_s * 1e6) : INT64_MAX;
	for (;;) {
		ret = enc_player_next(p, &fr);
		if (ret < 0)
			break;
		struct probe_sample smp = {
			.arrival_us = fr.arrival_us,
			.pts_us = fr.pts_us,
			.bytes = fr.bytes,
			.stamped = fr.stamped && !o.relative,
			.numbered = fr.stamped,
			.frame = fr.stamp.frame,
			.sent_us = (int64_t)fr.stamp.time_ms * 1000,
		};
		probe_stats_add(st, &smp);
		while (fr.arrival_us >= next_report) {
			report(st, next_report, &o, csv);
			next_report += (int64_t)(o.interval_s * 1e6);
		}
		if (fr.arrival_us >= end_at || atomic_load(stop))
			break;
	}
	if (ret == -ETIMEDOUT)
		LOG_WARN(TAG, "no data for %.0f s: the stream has ended or stalled", o.timeout_s);
	else if (ret < 0 && ret != ENC_ERR_EOF && ret != ENC_ERR_EXIT)
		LOG_WARN(TAG, "playback ended: %s", enc_strerror(ret, err, sizeof(err)));

	probe_stats_summary(st, &o.lim, &sum);
	probe_format_summary(&sum, line, sizeof(line));
	printf("%s\n", line);
	fflush(stdout);
	code = sum.pass ? MPS_EXIT_OK : MPS_EXIT_VERDICT;
out:
	enc_player_close(p);
	probe_stats_destroy(st);
	if (csv && !close_csv(csv)) {
		/* The verdict stands on stdout; the CSV asked for is not there. */
		LOG_ERR(TAG, "cannot write %s: %s", o.csv, strerror(errno ? errno : EIO));
		if (code == MPS_EXIT_OK)
			code = MPS_EXIT_FAILURE;
	}
	return code;
}
