/* SPDX-License-Identifier: MIT */
/* Command-line options of mpstream, and the stream URL and its key. */
#ifndef MPS_CLI_H
#define MPS_CLI_H

#include "routing.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

/* Exit codes (sysexits.h values). */
enum snd_exit {
	SND_EXIT_OK = 0,
	SND_EXIT_FAILURE = 1,
	SND_EXIT_VERDICT = 2, /* probe: what arrived failed the checks */
	SND_EXIT_USAGE = 64,
	SND_EXIT_NOINPUT = 66,
	SND_EXIT_UNAVAILABLE = 69,
	SND_EXIT_NOPERM = 77,
};

struct snd_options {
	struct rt_uplink_spec uplinks[RT_MAX_UPLINKS];
	size_t n_uplinks;
	const char *input;
	bool loop;
	int width, height, fps;
	const char *preset;
	const char *congestion;		  /* the subflows' TCP congestion control, or "system" */
	int64_t bitrate;		  /* the starting point */
	int64_t min_bitrate, max_bitrate; /* rate control's bounds */
	int max_latency_ms;		  /* the sender's delay budget */
	bool copy;			  /* pass an H.264/AAC file through */
	double duration_s;		  /* 0: until stopped */
	double stats_interval_s;
	const char *stats_path; /* CSV, or NULL */
	bool metrics;		/* serve Prometheus metrics on metrics_listen */
	struct sockaddr_in metrics_listen;
	double connect_timeout_s;
	bool reconnect;	 /* reconnect after a lost connection */
	double buffer_s; /* media kept for the network; older GOPs are dropped */
	int verbosity;	 /* -1 quiet, 0 normal, 1+ verbose */
	const char *url;
	const char *config_path; /* --config, or NULL */
	bool config_exposes_key; /* it holds the stream key and others may read it */
	char strings[8192];	 /* the file's values */
	size_t strings_used;
};

enum snd_cli_result {
	SND_CLI_RUN,	 /* options parsed: stream */
	SND_CLI_HELP,	 /* --help: print snd_cli_usage() */
	SND_CLI_VERSION, /* --version */
	SND_CLI_ERROR,	 /* bad usage; the message is in err */
	SND_CLI_NOINPUT, /* the config file cannot be read; the message is in err */
};

/*
 * Parse a number in [@min, @max] (seconds, milliseconds...). Returns 0 or
 * -EINVAL.
 */
int snd_parse_number(const char *s, double min, double max, double *out);

/* In a parser: put the message in @err and return SND_CLI_ERROR. */
#define SND_CLI_FAIL(err, errlen, ...)              \
	do {                                        \
		snprintf(err, errlen, __VA_ARGS__); \
		return SND_CLI_ERROR;               \
	} while (0)

/* Parse argv into @o. On SND_CLI_ERROR, @err holds one line saying what is wrong. */
enum snd_cli_result snd_cli_parse(int argc, char **argv, struct snd_options *o, char *err,
				  size_t errlen);

/* The --help text. */
extern const char snd_cli_usage[];

/*
 * Parse a bit rate: "2500000", "2500k", "2.5M". Returns 0 or -EINVAL /
 * -ERANGE (outside 10k..1000M).
 */
int snd_parse_bitrate(const char *s, int64_t *out);

/*
 * Check an rtmp:// or rtmps:// URL: scheme, host, optional port, and a path of
 * at least APP/KEY. Returns 0 or -EINVAL.
 */
int snd_url_check(const char *url);

/*
 * The stream key: the URL's last path element and its query string, which
 * must never be printed. Writes it to @key (empty when there is none).
 */
void snd_url_key(const char *url, char *key, size_t size);

/* @url with its key replaced by "***", for log lines. */
void snd_url_redacted(const char *url, char *out, size_t size);

#endif
