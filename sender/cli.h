/* SPDX-License-Identifier: MIT */
/* Command-line options and the config file of mpstream. */
#ifndef MPS_CLI_H
#define MPS_CLI_H

#include "args.h"
#include "url.h"
#include "modem.h"
#include "routing.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

/* --max-latency auto: the budget it starts from and never goes under. */
#define SND_BUDGET_AUTO_MS 1000

struct snd_options {
	struct rt_uplink_spec uplinks[RT_MAX_UPLINKS];
	size_t n_uplinks;
	/* [uplink IFACE] apn = NAME: what IFACE's modem connects with (snd_options_apn()). */
	struct snd_apn {
		char ifname[IFNAMSIZ];
		char apn[MODEM_APN_MAX + 1];
	} apns[RT_MAX_UPLINKS];
	size_t n_apns;
	const char *input;
	const char *audio;    /* --audio; NULL: the input's own */
	int input_timeout_ms; /* a live input without a picture this long: the slate */
	int av_offset_ms;     /* > 0 delays the audio, < 0 the picture */
	const char *slate;    /* an image for the slate, or NULL */
	bool loop;
	int width, height, fps;
	const char *preset;		  /* libx264's */
	const char *codec;		  /* --codec: "h264", "hevc" or "auto" */
	const char *encoder;		  /* libavcodec's name of the encoder of codec */
	const char *record;		  /* --record FILE (a strftime pattern), or NULL */
	const char *congestion;		  /* the subflows' TCP congestion control, or "system" */
	bool congestion_given;		  /* ... by --congestion or the config, not the default */
	int64_t bitrate;		  /* the starting point */
	int64_t min_bitrate, max_bitrate; /* rate control's bounds */
	int max_latency_ms;		  /* the sender's delay budget (auto: its least) */
	bool max_latency_auto;		  /* the budget follows the paths' RTT */
	bool copy;			  /* pass an H.264/AAC file through */
	double duration_s;		  /* 0: until stopped */
	double stats_interval_s;
	const char *stats_path;			/* CSV, or NULL */
	const char *trace_path;			/* the kernel's counters every 50 ms, or NULL */
	bool metrics;				/* serve Prometheus metrics on metrics_listen */
	struct sockaddr_storage metrics_listen; /* IPv4, or IPv6 ([::]: both) */
	bool http; /* serve the operator's page and API on http_listen */
	struct sockaddr_storage http_listen;
	const char *http_token_file; /* NULL: a random token in the state directory */
	bool standby;		     /* wait for "go live" before connecting */
	double connect_timeout_s;
	bool reconnect;	 /* reconnect after a lost connection */
	double buffer_s; /* media kept for the network; older GOPs are dropped */
	int verbosity;	 /* -1 quiet, 0 normal, 1+ verbose */
	const char *url;
	const char *ca_file;	 /* rtmps://: a private CA, or NULL (the system's) */
	bool insecure;		 /* rtmps://: no certificate check */
	const char *via;	 /* --via HOST:PORT: the relay to connect to, or NULL */
	const char *config_path; /* --config, or NULL */
	bool config_exposes_key; /* it holds the stream key and others may read it */
	char strings[8192];	 /* the file's values */
	size_t strings_used;
};

/* Parse argv into @o. On MPS_ARGS_ERROR, @err holds one line saying what is wrong. */
__attribute__((warn_unused_result)) enum mps_args_result snd_cli_parse(int argc, char **argv,
								       struct snd_options *o,
								       char *err, size_t errlen);

/* Write the --help text to @f. */
void snd_cli_usage(FILE *f);

/*
 * Parse a bit rate: "2500000", "2500k", "2.5M". Returns 0 or -EINVAL /
 * -ERANGE (outside 10k..1000M).
 */
int snd_parse_bitrate(const char *s, int64_t *out) __attribute__((warn_unused_result));

/* The APN configured for @ifname's modem, or NULL. */
const char *snd_options_apn(const struct snd_options *o, const char *ifname);

#endif
