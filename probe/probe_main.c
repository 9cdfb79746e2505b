// SPDX-License-Identifier: MIT
/* `mpstream probe URL`: play a stream and report what arrives. */
#include "clock.h"
#include "args.h"
#include "url.h"
#include "encoder.h"
#include "log.h"
#include "probe.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TAG "probe"

const char probe_usage[] =
	"Usage: mpstream probe [OPTION]... URL\n"
	"Play a stream (rtmp://, or anything libavformat reads) and report what arrives:\n"
	"every interval the bit rate, frames per second, the longest gap between frames\n"
	"and the latency; at the end frames received, missing and repeated, the longest\n"
	"gap, latency min/median/max and a verdict. Latency is exact for mpstream's test\n"
	"pattern (its frames carry the sender's clock); for other streams it is the\n"
	"delay above the smallest one seen.\n"
	"\n"
	"  -d, --duration SECONDS   stop after SECONDS (default: when the stream ends)\n"
	"      --interval SECONDS   report period (default 1)\n"
	"      --max-gap MS         fail when frames arrive more than MS apart\n"
	"      --max-latency MS     fail when the latency exceeds MS (not judged: the\n"
	"                           frames a server sends a joining player back to\n"
	"                           back, held back until a keyframe)\n"
	"      --max-missing N      allow up to N missing frames (default 0; a sender\n"
	"                           that drops frames to bound its delay skips some)\n"
	"      --timeout SECONDS    give up after SECONDS without data (default 10)\n"
	"      --csv FILE           also write each interval as CSV to FILE\n"
	"      --relative           latency as delay above the smallest one seen, even\n"
	"                           for stamped frames (to compare with other senders;\n"
	"                           missing and repeated frames still count)\n"
	"  -q, --quiet              only the summary\n"
	"  -h, --help               show this help and exit\n"
	"\n"
	"Exit status: 0 pass, 2 the checks failed (frames missing, a limit exceeded,\n"
	"nothing received), 64 usage error, 69 no stream, 1 other.\n";

struct probe_options {
	double duration_s, interval_s, timeout_s;
	struct probe_limits lim;
	const char *csv;
	bool quiet;
	bool relative;
	const char *url;
};

enum {
	OPT_INTERVAL = 256,
	OPT_MAX_GAP,
	OPT_MAX_LATENCY,
	OPT_MAX_MISSING,
	OPT_TIMEOUT,
	OPT_CSV,
	OPT_RELATIVE,
};

static const struct option probe_long_options[] = {
	{"duration", required_argument, NULL, 'd'},
	{"interval", required_argument, NULL, OPT_INTERVAL},
	{"max-gap", required_argument, NULL, OPT_MAX_GAP},
	{"max-latency", required_argument, NULL, OPT_MAX_LATENCY},
	{"max-missing", required_argument, NULL, OPT_MAX_MISSING},
	{"timeout", required_argument, NULL, OPT_TIMEOUT},
	{"csv", required_argument, NULL, OPT_CSV},
	{"relative", no_argument, NULL, OPT_RELATIVE},
	{"quiet", no_argument, NULL, 'q'},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

#define PFAIL(...) MPS_ARGS_FAIL(err, errlen, __VA_ARGS__)

static enum mps_args_result probe_parse(int argc, char **argv, struct probe_options *o, char *err,
					size_t errlen)
{
	int c;

	memset(o, 0, sizeof(*o));
	o->interval_s = 1;
	o->timeout_s = 10;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":d:qh", probe_long_options, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (mps_parse_number(optarg, 0.1, 1e7, &o->duration_s))
				PFAIL("--duration '%s': expected seconds > 0", optarg);
			break;
		case OPT_INTERVAL:
			if (mps_parse_number(optarg, 0.1, 3600, &o->interval_s))
				PFAIL("--interval '%s': expected 0.1 to 3600 seconds", optarg);
			break;
		case OPT_MAX_GAP:
			if (mps_parse_number(optarg, 1, 1e7, &o->lim.max_gap_ms))
				PFAIL("--max-gap '%s': expected milliseconds >= 1", optarg);
			break;
		case OPT_MAX_LATENCY:
			if (mps_parse_number(optarg, 1, 1e7, &o->lim.max_latency_ms))
				PFAIL("--max-latency '%s': expected milliseconds >= 1", optarg);
			break;
		case OPT_MAX_MISSING:
			if (mps_parse_number(optarg, 0, 1e9, &o->lim.max_missing) ||
			    o->lim.max_missing != (double)(int64_t)o->lim.max_missing)
				PFAIL("--max-missing '%s': expected a count >= 0", optarg);
			break;
		case OPT_TIMEOUT:
			if (mps_parse_number(optarg, 0.1, 3600, &o->timeout_s))
				PFAIL("--timeout '%s': expected 0.1 to 3600 seconds", optarg);
			break;
		case OPT_CSV:
			o->csv = optarg;
			break;
		case OPT_RELATIVE:
			o->relative = true;
			break;
		case 'q':
			o->quiet = true;
			break;
		case 'h':
			return MPS_ARGS_HELP;
		case ':':
			PFAIL("option '%s' needs a value", argv[optind - 1]);
		default:
			PFAIL("unknown option '%s' (see mpstream probe --help)", argv[optind - 1]);
		}
	}
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
	struct enc_probe *p = NULL;
	struct probe_summary sum;
	struct enc_probe_frame fr;
	char err[256], key[512], shown[512], line[512];
	int64_t start, next_report, end_at;
	FILE *csv = NULL;
	int ret, code = MPS_EXIT_FAILURE;

	switch (probe_parse(argc, argv, &o, err, sizeof(err))) {
	case MPS_ARGS_HELP:
		fputs(probe_usage, stdout);
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
	ret = enc_probe_open(o.url, (int)(o.timeout_s * 1000), probe_interrupt, stop, &p);
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
		ret = enc_probe_next(p, &fr);
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
	enc_probe_close(p);
	probe_stats_destroy(st);
	if (csv && !close_csv(csv)) {
		/* The verdict stands on stdout; the CSV asked for is not there. */
		LOG_ERR(TAG, "cannot write %s: %s", o.csv, strerror(errno ? errno : EIO));
		if (code == MPS_EXIT_OK)
			code = MPS_EXIT_FAILURE;
	}
	return code;
}
