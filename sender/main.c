// SPDX-License-Identifier: MIT
/*
 * mpstream: the subcommands (stream, relay, probe). Streaming is: parse the
 * options, check what the host allows, set up the input, the encoder, the
 * uplinks and their modems, failover, the web server, the monitor and the
 * driver of the periodic work (ticks.h), stream until done or stopped, and
 * put the routing back.
 */
#include "cli.h"
#include "control.h"
#include "encoder.h"
#include "failover.h"
#include "input.h"
#include "log.h"
#include "modem.h"
#include "monitor.h"
#include "probe.h"
#include "relay.h"
#include "routing.h"
#include "shim.h"
#include "stream.h"
#include "uplinks.h"
#include "web.h"

#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define TAG		 "mpstream"
#define STALL_TIMEOUT_MS 30000
#define OUTAGE_MS	 2000
#define STANDBY_TICK_MS	 100
#define MAX_CA_BYTES	 (1 << 20) /* --ca: Debian's whole bundle is 0.2 MB */

/* Signals seen: 1 stops cleanly, 2 or more also abort a blocked write. */
static atomic_int stop_signals;

static void on_signal(int sig)
{
	(void)sig;
	if (atomic_load(&stop_signals) < 2)
		atomic_fetch_add(&stop_signals, 1);
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
	/* A stray SIGUSR1/SIGUSR2 (a log rotator's, a script's) ended the stream (exit 138). */
	signal(SIGUSR1, SIG_IGN);
	signal(SIGUSR2, SIG_IGN);
}

static bool have_net_admin(void)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {{0}};

	if (syscall(SYS_capget, &hdr, data) < 0)
		return false;
	return data[CAP_TO_INDEX(CAP_NET_ADMIN)].effective & CAP_TO_MASK(CAP_NET_ADMIN);
}

static int exit_for_routing(int err)
{
	switch (err) {
	case -EPERM:
	case -EACCES:
		return MPS_EXIT_NOPERM;
	case -EINVAL:
	case -EEXIST:
		return MPS_EXIT_USAGE;
	case -ENODEV:
	case -EADDRNOTAVAIL:
	case -ENETUNREACH:
	case -EBUSY:
	case -EPROTONOSUPPORT:
		return MPS_EXIT_UNAVAILABLE;
	default:
		return MPS_EXIT_FAILURE;
	}
}

/* The encoder session's error: an input not readable, an encoder not there. */
static int exit_for_input(int err)
{
	/* /proc/self/mem (EIO) and a refused http:// input were exit 1. */
	if (enc_err_is_input(err))
		return MPS_EXIT_NOINPUT;
	switch (err) {
	case ENC_ERR_ENCODER_NOT_FOUND:
	case -EINVAL:
		return MPS_EXIT_USAGE;
	case -ENODEV:
		return MPS_EXIT_UNAVAILABLE;
	default:
		return MPS_EXIT_FAILURE;
	}
}

/* Everything a stream sets up, torn down in reverse. */
struct app {
	struct snd_options o;
	int mptcp;		   /* rt_mptcp_enabled() */
	const char *cellular_cc;   /* cellular uplinks' congestion control, or NULL */
	struct enc_live *live;	   /* a live input, read for the whole run */
	struct enc_record *record; /* --record, for the whole run */
	struct enc_session *enc;
	struct rt_uplinks *uplinks;
	struct modem_watch *modems;    /* the uplinks' modems (ModemManager); NULL: none */
	struct snd_uplinks uplink_ops; /* failover's operations' context */
	struct failover *failover;
	struct web *web;
	bool controlled; /* --http: the operator's controls (control) */
	struct snd_control control;
	struct snd_monitor *monitor;
	struct snd_ticks *ticks;     /* the driver: monitor, failover, rate control */
	atomic_int *stop;	     /* the signals seen */
	struct sockaddr_storage via; /* --via's address; ss_family 0: none */
};

/*
 * --via: the relay's address, looked up once (the relay follows a moved
 * ingest itself). 0, or the exit code.
 */
static int resolve_via(struct app *a)
{
	socklen_t len;
	int ret = mps_hostport_lookup(a->o.via, &a->via, &len);

	if (ret) {
		LOG_ERR(TAG, "--via %s: %s", a->o.via, gai_strerror(ret));
		return MPS_EXIT_UNAVAILABLE;
	}
	if (strncasecmp(a->o.url, "rtmps:", 6))
		LOG_WARN(TAG, "--via with rtmp://: the relay carries the stream key in clear "
			      "(rtmps:// keeps it between mpstream and the server)");
	return 0;
}

/*
 * Whether congestion control @name can be had: available, or a module the
 * kernel loads when a socket or a route asks for it with CAP_NET_ADMIN. 1,
 * 0 (with the available ones in @avail), or -errno.
 */
static int congestion_usable(const char *name, char *avail, size_t size)
{
	int ret = conn_congestion_available(name, avail, size);

	if (ret == 0 && have_net_admin() && conn_congestion_module(name))
		ret = 1;
	return ret;
}

/*
 * Each uplink's cc= must be there; cellular uplinks without one get
 * CONN_CONGESTION_CELLULAR unless --congestion chose for every uplink, or
 * it cannot be had here (said once). 0, or the exit code.
 */
static int choose_uplink_congestion(struct app *a)
{
	char avail[256];
	size_t chosen = 0;

	for (size_t i = 0; i < a->o.n_uplinks; i++) {
		const struct rt_uplink_spec *u = &a->o.uplinks[i];

		if (!u->cc[0])
			continue;
		if (congestion_usable(u->cc, avail, sizeof(avail)) == 0) {
			LOG_ERR(TAG, "--uplink %s,cc=%s: not available here (available: %s)",
				u->ifname, u->cc, avail);
			return MPS_EXIT_USAGE;
		}
		chosen++;
	}
	if (chosen == a->o.n_uplinks || a->o.congestion_given)
		return 0;
	if (congestion_usable(CONN_CONGESTION_CELLULAR, avail, sizeof(avail)) == 0)
		LOG_INFO(TAG, "congestion control %s is not on this host: cellular uplinks run %s",
			 CONN_CONGESTION_CELLULAR,
			 strcmp(a->o.congestion, CONN_CONGESTION_SYSTEM) ? a->o.congestion
									 : "the system's default");
	else
		a->cellular_cc = CONN_CONGESTION_CELLULAR;
	return 0;
}

/*
 * The subflows' congestion control: one the user named must be there; the
 * default may be a module that stock kernels do not load until a socket asks
 * for it, which takes CAP_NET_ADMIN, and an unprivileged socket may set only
 * those in tcp_allowed_congestion_control. Without that, the system's
 * default, said once. Then the uplinks' own. 0, or the exit code.
 */
static int choose_congestion(struct app *a)
{
	char avail[256];
	int ret;

	if (!strcmp(a->o.congestion, CONN_CONGESTION_SYSTEM))
		goto set;
	ret = congestion_usable(a->o.congestion, avail, sizeof(avail));
	if (ret == 0 && a->o.congestion_given) {
		LOG_ERR(TAG, "--congestion '%s': not available here (available: %s)",
			a->o.congestion, avail);
		return MPS_EXIT_USAGE;
	}
	if (ret < 0)
		LOG_WARN(TAG, "cannot read the available congestion controls: %s", strerror(-ret));
	if (!a->o.congestion_given && !have_net_admin() &&
	    (ret == 0 || conn_congestion_allowed(a->o.congestion) == 0)) {
		LOG_INFO(TAG,
			 "congestion control %s needs CAP_NET_ADMIN here (not loaded, or not in "
			 "tcp_allowed_congestion_control): the subflows keep the system's default",
			 a->o.congestion);
		a->o.congestion = CONN_CONGESTION_SYSTEM;
	}
set:
	if (conn_shim_set_congestion(a->o.congestion) < 0)
		return MPS_EXIT_USAGE; /* cli.c checked its length */
	return choose_uplink_congestion(a);
}

/* Options and the host: 0, or the exit code. */
static int preflight(struct app *a)
{
	char why[128];
	int ret;

	/* TLS reads the whole file: /dev/zero grew by 380 MB a second. */
	if (a->o.ca_file && mps_check_file(a->o.ca_file, MAX_CA_BYTES, why, sizeof(why))) {
		LOG_ERR(TAG, "--ca %s: %s", a->o.ca_file, why);
		return MPS_EXIT_NOINPUT;
	}
	if (a->o.insecure)
		LOG_WARN(TAG, "--insecure: the server's certificate is not checked; whoever is on "
			      "the path can pose as the server and read the stream key");
	if (a->o.via && (ret = resolve_via(a)))
		return ret;
	if (a->o.config_exposes_key)
		LOG_WARN(TAG, "%s holds the stream key and others can read it (chmod o-r)",
			 a->o.config_path);
	if (a->o.n_uplinks && !have_net_admin()) {
		LOG_ERR(TAG,
			"not permitted: configuring uplinks needs CAP_NET_ADMIN (root, or that "
			"capability alone: AmbientCapabilities=CAP_NET_ADMIN in a systemd "
			"unit, or setcap cap_net_admin+ep on the binary)");
		return MPS_EXIT_NOPERM;
	}
	if ((ret = choose_congestion(a)))
		return ret;
	a->mptcp = rt_mptcp_enabled();
	if (a->mptcp == 0)
		LOG_WARN(TAG, "net.mptcp.enabled is 0: streaming over plain TCP, one path only");
	else if (a->mptcp < 0)
		LOG_WARN(TAG, "this kernel has no MPTCP (%s): streaming over plain TCP",
			 strerror(-a->mptcp));
	return 0;
}

/*
 * The uplinks' modems, through ModemManager: without it (not installed, not
 * running, no system bus) the watch says so once and the uplinks are judged
 * by their links alone; a watch that cannot start is one line, not an end.
 */
static void watch_modems(struct app *a)
{
	size_t n = rt_uplinks_count(a->uplinks), k = 0;
	char names[RT_MAX_UPLINKS][IFNAMSIZ];
	const char *ptrs[RT_MAX_UPLINKS];
	struct mps_uplink_view v;
	int ret;

	for (size_t i = 0; i < n && i < RT_MAX_UPLINKS; i++)
		if (!rt_uplinks_view(a->uplinks, i, &v)) {
			snprintf(names[k], sizeof(names[k]), "%s", v.name);
			ptrs[k] = names[k];
			k++;
		}
	if (k && (ret = modem_watch_start(ptrs, k, NULL, &a->modems)))
		LOG_WARN(TAG, "the uplinks' modems are not watched: %s", strerror(-ret));
}

/* The uplinks, their modems and their failover: 0, or the exit code. */
static int setup_uplinks(struct app *a)
{
	struct rt_config rc = {
		.uplinks = a->o.uplinks,
		.n_uplinks = a->o.n_uplinks,
		.mptcp = a->mptcp > 0,
		.cellular_cc = a->cellular_cc,
	};
	int ret;

	if (!a->o.n_uplinks) {
		LOG_INFO(TAG, "no --uplink given: the kernel's routes and endpoints are used as "
			      "they are");
		return 0;
	}
	ret = rt_uplinks_create(&rc, &a->uplinks);
	if (ret)
		return exit_for_routing(ret);
	ret = rt_uplinks_watch(a->uplinks);
	if (ret)
		LOG_WARN(TAG, "uplink changes are not followed: %s", strerror(-ret));
	watch_modems(a);
	a->uplink_ops = (struct snd_uplinks){.rt = a->uplinks, .modems = a->modems};
	ret = fo_create(&snd_uplink_ops, &a->uplink_ops, rt_uplinks_count(a->uplinks),
			&a->failover);
	return ret ? MPS_EXIT_FAILURE : 0;
}

static int exit_for_live(int err)
{
	switch (err) {
	case -EADDRINUSE:
	case -EBUSY:
		return MPS_EXIT_UNAVAILABLE;
	case -EINVAL:
	case ENC_ERR_OPTION_NOT_FOUND:
		return MPS_EXIT_USAGE;
	default:
		return err == -ENOMEM ? MPS_EXIT_FAILURE : MPS_EXIT_NOINPUT;
	}
}

/* --codec's value. */
static enum enc_codec codec_of(const struct snd_options *o)
{
	return !strcmp(o->codec, "hevc")   ? ENC_CODEC_HEVC
	       : !strcmp(o->codec, "auto") ? ENC_CODEC_AUTO
					   : ENC_CODEC_H264;
}

/* A live input: its readers started (a camera not there yet is waited for): 0, or the exit code. */
static int setup_input(struct app *a)
{
	const struct snd_options *o = &a->o;
	struct enc_live_config lc = {
		.input = o->input,
		.audio = o->audio,
		.width = o->width,
		.height = o->height,
		.fps = o->fps,
		.timeout_ms = o->input_timeout_ms,
		.av_offset_ms = o->av_offset_ms,
		.slate = o->slate,
		.copy = o->copy,
		.codec = codec_of(o),
	};
	int ret;

	if (mps_input_kind(o->input) != MPS_INPUT_LIVE)
		return 0;
	ret = enc_live_start(&lc, &a->live);
	return ret < 0 ? exit_for_live(ret) : 0;
}

/* The encoder session (the input opened, the encoders ready): 0, or the exit code. */
static int setup_encoder(struct app *a)
{
	const struct snd_options *o = &a->o;
	struct enc_config ec = {
		.input = o->input,
		.live = a->live,
		.loop = o->loop,
		.width = o->width,
		.height = o->height,
		.fps = o->fps,
		.codec = codec_of(o),
		.encoder = o->encoder,
		.preset = o->preset,
		.bitrate = o->bitrate,
		.buffer_ms = (int)(o->buffer_s * 1000),
		.copy = o->copy,
	};
	int ret = enc_session_create(&ec, &a->enc);

	if (ret < 0)
		return exit_for_input(ret);
	/* FFmpeg 5.1's RTMP client neither says what it sends nor hears a refusal. */
	if (ec.codec == ENC_CODEC_HEVC)
		LOG_INFO(TAG, "HEVC over Enhanced RTMP: the server must take it (docs/ingest.md); "
			      "nginx-rtmp takes the stream and drops its video without a word");
	if (a->record)
		(void)enc_session_record(a->enc,
					 a->record); /* a failure is logged; the stream goes on */
	return 0;
}

/* --record's file, created now: 0, or the exit code. */
static int setup_record(struct app *a)
{
	int ret;

	if (!a->o.record)
		return 0;
	ret = enc_record_open(a->o.record, &a->record);
	if (ret == -EINVAL)
		return MPS_EXIT_USAGE;
	if (ret < 0)
		return ret == -ENOMEM ? MPS_EXIT_FAILURE : MPS_EXIT_CANTCREAT;
	LOG_INFO(TAG, "recording to %s", enc_record_path(a->record));
	return 0;
}

/*
 * The token file's error: no token in it 64, out of memory 1, anything else (not readable:
 * missing, a directory, a device, a socket, a path through a file, a name too long; or
 * refused: others can read or replace it, a link where mpstream keeps its own) 66.
 */
static int exit_for_token(int err)
{
	if (err == -EINVAL)
		return MPS_EXIT_USAGE;
	return err == -ENOMEM ? MPS_EXIT_FAILURE : MPS_EXIT_NOINPUT;
}

/* The metrics, the operator's page and its controls: 0, or the exit code. */
static int setup_web(struct app *a)
{
	const struct snd_options *o = &a->o;
	struct web_config wc = {
		.metrics = o->metrics,
		.metrics_listen = o->metrics_listen,
		.http = o->http,
		.http_listen = o->http_listen,
		.ops = &snd_control_ops,
		.ctx = &a->control,
	};
	char token[WEB_TOKEN_MAX + 2], where[PATH_MAX];
	int ret;

	a->control.uplinks = a->uplinks;
	a->control.modems = a->modems;
	a->control.options = &a->o;
	a->controlled = o->http;
	if (!o->metrics && !o->http)
		return 0;
	if (o->http && (ret = snd_control_token(o->http_token_file, token, sizeof(token), where,
						sizeof(where))))
		return exit_for_token(ret);
	wc.token = o->http ? token : NULL;
	ret = web_start(&wc, &a->web);
	explicit_bzero(token, sizeof(token));
	if (ret)
		return MPS_EXIT_UNAVAILABLE;
	if (o->http)
		LOG_INFO(TAG, "the controls need the token in %s", where);
	return 0;
}

/* Encoder, uplinks, failover, web, monitor and the driver: 0, or the exit code. */
static int setup(struct app *a)
{
	const struct snd_options *o = &a->o;
	int ret = setup_input(a);

	if (!ret)
		ret = setup_record(a);
	if (!ret)
		ret = setup_encoder(a);
	if (!ret)
		ret = setup_uplinks(a);
	if (!ret)
		ret = setup_web(a);
	if (ret)
		return ret;
	struct snd_monitor_config mc = {
		.interval_s = o->stats_interval_s,
		.csv_path = o->stats_path,
		.trace_path = o->trace_path,
		.namer = a->uplinks ? snd_uplink_name : NULL,
		.opaque = a->uplinks,
		.failover = a->failover,
		.web = a->web,
		.modems = a->modems,
	};
	struct snd_ticks_config tc = {0};

	if (snd_monitor_create(&mc, &a->monitor))
		return MPS_EXIT_FAILURE;
	snd_monitor_consumers(a->monitor, &tc);
	if ((ret = snd_ticks_create(&tc, &a->ticks)) || (ret = snd_ticks_start(a->ticks))) {
		LOG_ERR(TAG, "cannot start the driver: %s", strerror(-ret));
		return MPS_EXIT_FAILURE;
	}
	return 0;
}

/* One live period: connect, stream until done or stopped; the exit code. */
static int stream(struct app *a)
{
	const struct snd_options *o = &a->o;
	int64_t lo = o->min_bitrate, hi = o->max_bitrate, start = o->bitrate;
	struct snd_stream_config stc = {
		.url = o->url,
		.connect_timeout_ms = (int)(o->connect_timeout_s * 1000),
		.ca_file = o->ca_file,
		.insecure = o->insecure,
		.via = a->via,
		.reconnect = o->reconnect,
		.outage_ms = OUTAGE_MS,
		.stall_ms = STALL_TIMEOUT_MS,
		.duration_us = (int64_t)(o->duration_s * 1e6),
		.uplinks = a->uplinks,
		.ticks = a->ticks,
		.stop = a->stop,
		.control = a->controlled ? &a->control : NULL,
	};

	/* The operator's bounds, which may have changed in standby, hold from the start. */
	if (a->controlled)
		snd_control_take_bounds(&a->control, &lo, &hi);
	start = start < lo ? lo : start > hi ? hi : start;
	if (start != o->bitrate && !o->copy && enc_session_set_bitrate(a->enc, start) < 0)
		start = o->bitrate;
	stc.rate = (struct rc_config){
		.start_bps = start,
		.min_bps = lo,
		.max_bps = hi,
		.other_bps = o->copy ? 0 : ENC_AUDIO_BITRATE + ENC_AUDIO_BITRATE / 10,
		.max_latency_ms = o->max_latency_ms,
		.auto_budget = o->max_latency_auto,
		.fixed = o->copy || lo == hi,
	};
	return atomic_load(a->stop) ? MPS_EXIT_OK : snd_stream_run(a->enc, &stc);
}

/*
 * Standby: the uplinks are configured and watched (the driver judges and
 * publishes them), the input and encoders ready, no connection, until the
 * operator says "go live" (true) or a signal ends the run (false).
 */
static bool standby(struct app *a)
{
	struct timespec ts = {.tv_nsec = STANDBY_TICK_MS * 1000000L};

	snd_control_set_mode(&a->control, WEB_STANDBY);
	LOG_INFO(TAG, "standby: waiting for \"go live\" (the page or POST /api/live)");
	snd_ticks_set_idle(a->ticks, true);
	while (!atomic_load(a->stop) && !atomic_exchange(&a->control.live_asked, false))
		nanosleep(&ts, NULL);
	snd_ticks_set_idle(a->ticks, false);
	return !atomic_load(a->stop);
}

/*
 * Stream; with the operator's controls, as many live periods as they ask
 * for, each with a fresh encoder session (a new publish starts its
 * timestamps at 0), standby between them: after their "stop", and after a
 * server that cannot be reached (rather than ending the run, and the page).
 */
static int live_periods(struct app *a)
{
	bool wait = a->o.standby;
	int code;

	for (;;) {
		if (wait && !standby(a))
			return MPS_EXIT_OK;
		if (!a->enc && (code = setup_encoder(a)))
			return code;
		atomic_store(&a->control.end_live, 0);
		snd_control_set_session(&a->control, a->enc);
		code = stream(a);
		snd_control_set_session(&a->control, NULL);
		if (!a->controlled || atomic_load(a->stop))
			return code;
		/* The end of the input, --duration or a failure: the end of the run. */
		if (!atomic_load(&a->control.end_live) && code != MPS_EXIT_UNAVAILABLE)
			return code;
		/* The operator stopped it, or the server is out of reach: they decide. */
		if (code == MPS_EXIT_UNAVAILABLE)
			LOG_WARN(TAG, "the stream cannot go on; \"go live\" tries again");
		enc_session_destroy(a->enc);
		a->enc = NULL;
		wait = true;
	}
}

static void teardown(struct app *a)
{
	mps_log_status(NULL);
	snd_ticks_destroy(a->ticks);
	snd_monitor_destroy(a->monitor);
	web_stop(a->web);
	snd_control_destroy(&a->control);
	fo_destroy(a->failover);
	modem_watch_stop(a->modems);
	enc_session_destroy(a->enc);
	enc_record_close(a->record);
	enc_live_stop(a->live);
	rt_uplinks_destroy(a->uplinks);
	if (a->uplinks)
		LOG_INFO(TAG, "uplink configuration removed");
}

/* `mpstream [OPTION]... URL`. */
static int stream_main(int argc, char **argv, atomic_int *stop)
{
	struct app a = {.stop = stop};
	char err[512], key[512];
	int code;

	switch (snd_cli_parse(argc, argv, &a.o, err, sizeof(err))) {
	case MPS_ARGS_HELP:
		snd_cli_usage(stdout);
		return MPS_EXIT_OK;
	case MPS_ARGS_VERSION:
		printf("mpstream %s\n", MPS_VERSION);
		return MPS_EXIT_OK;
	case MPS_ARGS_ERROR:
		fprintf(stderr, "mpstream: %s\n", err);
		return MPS_EXIT_USAGE;
	case MPS_ARGS_NOINPUT:
		fprintf(stderr, "mpstream: %s\n", err);
		return MPS_EXIT_NOINPUT;
	case MPS_ARGS_RUN:
		break;
	}
	mps_url_key(a.o.url, key, sizeof(key));
	mps_log_add_secret(key);
	mps_url_userinfo(a.o.url, key, sizeof(key));
	mps_log_add_secret(key);
	if (a.o.verbosity < 0)
		mps_log_set_level(MPS_LOG_WARN);
	else if (a.o.verbosity > 0)
		mps_log_set_level(MPS_LOG_DEBUG);
	enc_route_av_log();
	snd_control_init(&a.control, NULL, a.o.url, a.o.copy, a.o.min_bitrate, a.o.max_bitrate);
	code = preflight(&a);
	if (!code)
		code = setup(&a);
	if (!code)
		code = live_periods(&a);
	snd_ticks_stop(a.ticks);
	if (!code && snd_monitor_failed(a.monitor))
		code = MPS_EXIT_FAILURE; /* the stream went, its statistics did not */
	teardown(&a);
	return code;
}

/* The subcommands, as wireguard-tools' wg.c has them; anything else streams. */
static const struct {
	const char *name;
	int (*run)(int argc, char **argv, atomic_int *stop);
} subcommands[] = {
	{"relay", relay_main},
	{"probe", probe_main},
};

int main(int argc, char **argv)
{
	int (*run)(int, char **, atomic_int *) = stream_main;
	int code;

	for (size_t i = 0; argc > 1 && i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (!strcmp(argv[1], subcommands[i].name)) {
			run = subcommands[i].run;
			argc--;
			argv++;
			break;
		}
	install_signals();
	code = run(argc, argv, &stop_signals);
	mps_log_clear_secrets();
	return code;
}
