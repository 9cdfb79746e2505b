// SPDX-License-Identifier: MIT
/*
 * mpstream: parse the options, configure the uplinks, connect over MPTCP,
 * stream until done or stopped, put the routing back.
 */
#include "cli.h"
#include "encoder.h"
#include "log.h"
#include "metrics.h"
#include "mptcp_socket.h"
#include "probe.h"
#include "relay.h"
#include "routing.h"
#include "stats.h"
#include "stream.h"

#include <arpa/inet.h>
#include <libavutil/error.h>
#include <errno.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define TAG		 "mpstream"
#define STALL_TIMEOUT_MS 30000
#define OUTAGE_MS	 2000

/* Signals seen: 1 stops cleanly, 2 or more also abort a blocked write. */
static volatile sig_atomic_t stop_signals;

static void on_signal(int sig)
{
	(void)sig;
	if (stop_signals < 2)
		stop_signals++;
}

static void install_signals(void)
{
	struct sigaction sa = {.sa_handler = on_signal};

	/* No SA_RESTART: a signal cuts the pacing sleep short. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static bool have_net_admin(void)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {{0}};

	if (syscall(SYS_capget, &hdr, data) < 0)
		return false;
	return data[CAP_TO_INDEX(CAP_NET_ADMIN)].effective & CAP_TO_MASK(CAP_NET_ADMIN);
}

static void name_uplink(const struct sockaddr *local, char *name, size_t size, void *opaque)
{
	rt_uplinks_name_addr(opaque, local, name, size);
}

static int exit_for_routing(int err)
{
	switch (err) {
	case -EPERM:
	case -EACCES:
		return SND_EXIT_NOPERM;
	case -EINVAL:
	case -EEXIST:
		return SND_EXIT_USAGE;
	case -ENODEV:
	case -EADDRNOTAVAIL:
	case -ENETUNREACH:
	case -EBUSY:
	case -EPROTONOSUPPORT:
		return SND_EXIT_UNAVAILABLE;
	default:
		return SND_EXIT_FAILURE;
	}
}

static int exit_for_input(int err)
{
	return err == AVERROR(ENOENT) || err == AVERROR(EACCES) || err == AVERROR(EISDIR) ||
			       err == AVERROR_INVALIDDATA || err == AVERROR_STREAM_NOT_FOUND
		       ? SND_EXIT_NOINPUT
		       : SND_EXIT_FAILURE;
}

static void set_log_level(int verbosity)
{
	if (verbosity < 0)
		mps_log_set_level(MPS_LOG_WARN);
	else if (verbosity > 0)
		mps_log_set_level(MPS_LOG_DEBUG);
	enc_route_av_log();
}

int main(int argc, char **argv)
{
	struct snd_options o;
	struct rt_uplinks *uplinks = NULL;
	struct enc_session *enc = NULL;
	struct snd_stats *stats = NULL;
	struct snd_metrics *metrics = NULL;
	char err[512], key[512];
	int ret, code = SND_EXIT_FAILURE;
	int mptcp;

	if (argc > 1 && strcmp(argv[1], "relay") == 0) {
		install_signals();
		return snd_relay_main(argc - 1, argv + 1, &stop_signals);
	}
	if (argc > 1 && strcmp(argv[1], "probe") == 0) {
		install_signals();
		ret = snd_probe_main(argc - 1, argv + 1, &stop_signals);
		mps_log_clear_secrets();
		return ret;
	}
	switch (snd_cli_parse(argc, argv, &o, err, sizeof(err))) {
	case SND_CLI_HELP:
		fputs(snd_cli_usage, stdout);
		return SND_EXIT_OK;
	case SND_CLI_VERSION:
		printf("mpstream %s\n", MPS_VERSION);
		return SND_EXIT_OK;
	case SND_CLI_ERROR:
		fprintf(stderr, "mpstream: %s\n", err);
		return SND_EXIT_USAGE;
	case SND_CLI_NOINPUT:
		fprintf(stderr, "mpstream: %s\n", err);
		return SND_EXIT_NOINPUT;
	case SND_CLI_RUN:
		break;
	}
	snd_url_key(o.url, key, sizeof(key));
	mps_log_add_secret(key);
	set_log_level(o.verbosity);
	install_signals();
	if (o.config_exposes_key)
		LOG_WARN(TAG, "%s holds the stream key and others can read it (chmod o-r)",
			 o.config_path);

	if (o.n_uplinks && !have_net_admin()) {
		LOG_ERR(TAG,
			"not permitted: configuring uplinks needs CAP_NET_ADMIN (root, or that "
			"capability alone: AmbientCapabilities=CAP_NET_ADMIN in a systemd "
			"unit, or setcap cap_net_admin+ep on the binary)");
		return SND_EXIT_NOPERM;
	}
	if (strcmp(o.congestion, SND_CONGESTION_SYSTEM)) {
		char avail[256];

		ret = snd_congestion_available(o.congestion, avail, sizeof(avail));
		if (ret == 0) {
			LOG_ERR(TAG, "--congestion '%s': not available here (available: %s)",
				o.congestion, avail);
			return SND_EXIT_USAGE;
		}
		if (ret < 0)
			LOG_WARN(TAG, "cannot read the available congestion controls: %s",
				 strerror(-ret));
	}
	snd_shim_set_congestion(o.congestion);
	mptcp = rt_mptcp_enabled();
	if (mptcp == 0)
		LOG_WARN(TAG, "net.mptcp.enabled is 0: streaming over plain TCP, one path only");
	else if (mptcp < 0)
		LOG_WARN(TAG, "this kernel has no MPTCP (%s): streaming over plain TCP",
			 strerror(-mptcp));

	struct enc_config ec = {
		.input = o.input,
		.loop = o.loop,
		.width = o.width,
		.height = o.height,
		.fps = o.fps,
		.preset = o.preset,
		.bitrate = o.bitrate,
		.buffer_ms = (int)(o.buffer_s * 1000),
		.copy = o.copy,
	};
	ret = enc_session_create(&ec, &enc);
	if (ret < 0) {
		code = exit_for_input(ret);
		goto out;
	}

	if (o.n_uplinks) {
		struct rt_config rc = {
			.uplinks = o.uplinks,
			.n_uplinks = o.n_uplinks,
			.mptcp = mptcp > 0,
		};

		ret = rt_uplinks_create(&rc, &uplinks);
		if (ret) {
			code = exit_for_routing(ret);
			goto out;
		}
		ret = rt_uplinks_watch(uplinks);
		if (ret)
			LOG_WARN(TAG, "uplink changes are not followed: %s", strerror(-ret));
	} else {
		LOG_INFO(TAG, "no --uplink given: the kernel's routes and endpoints are used as "
			      "they are");
	}

	struct snd_stats_config sc = {
		.interval_s = o.stats_interval_s,
		.csv_path = o.stats_path,
		.namer = name_uplink,
		.opaque = uplinks,
		.uplinks = uplinks,
	};
	ret = snd_stats_create(&sc, &stats);
	if (ret) {
		code = SND_EXIT_FAILURE;
		goto out;
	}
	if (o.metrics) {
		ret = snd_metrics_start(&o.metrics_listen, &metrics);
		if (ret) {
			code = SND_EXIT_UNAVAILABLE;
			goto out;
		}
		snd_stats_set_metrics(stats, metrics);
	}
	struct snd_stream_config stc = {
		.url = o.url,
		.connect_timeout_ms = (int)(o.connect_timeout_s * 1000),
		.reconnect = o.reconnect,
		.outage_ms = OUTAGE_MS,
		.stall_ms = STALL_TIMEOUT_MS,
		.duration_us = (int64_t)(o.duration_s * 1e6),
		.uplinks = uplinks,
		.stats = stats,
		.stop = &stop_signals,
		.rate =
			{
				.start_bps = o.bitrate,
				.min_bps = o.min_bitrate,
				.max_bps = o.max_bitrate,
				.other_bps =
					o.copy ? 0 : ENC_AUDIO_BITRATE + ENC_AUDIO_BITRATE / 10,
				.max_latency_ms = o.max_latency_ms,
				.fixed = o.copy || o.min_bitrate == o.max_bitrate,
			},
	};
	code = stop_signals ? SND_EXIT_OK : snd_stream_run(enc, &stc);
out:
	mps_log_status(NULL);
	snd_stats_destroy(stats);
	snd_metrics_stop(metrics);
	enc_session_destroy(enc);
	rt_uplinks_destroy(uplinks);
	if (uplinks)
		LOG_INFO(TAG, "uplink configuration removed");
	mps_log_clear_secrets();
	return code;
}
