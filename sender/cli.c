// SPDX-License-Identifier: MIT
#include "cli.h"
#include "input.h"
#include "opts.h"
#include "shim.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <ini.h>
#include <net/if.h>
#include <strings.h>
#include <sys/stat.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIN_BITRATE	 10000
#define MAX_BITRATE	 1000000000
#define MAX_SIZE	 8192
#define MAX_FPS		 240
#define MAX_CONFIG_BYTES 65536 /* a config file is a page of keys; more is not one */
#define MAX_CONFIG_KEYS	 128   /* distinct keys remembered to find one given twice */

int snd_parse_bitrate(const char *s, int64_t *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || !isfinite(v) || v <= 0)
		return -EINVAL;
	if (*end == 'k' || *end == 'K') {
		v *= 1e3;
		end++;
	} else if (*end == 'm' || *end == 'M') {
		v *= 1e6;
		end++;
	}
	if (*end)
		return -EINVAL;
	if (v < MIN_BITRATE || v > MAX_BITRATE)
		return -ERANGE;
	*out = (int64_t)llround(v);
	return 0;
}

static int parse_int(const char *s, int min, int max, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -EINVAL;
	*out = (int)v;
	return 0;
}

/* --max-latency: "auto" (from 1000 ms, following the paths' RTT), or a fixed budget in ms. */
static int parse_budget(const char *s, struct snd_options *o)
{
	o->max_latency_auto = !strcmp(s, "auto");
	if (o->max_latency_auto) {
		o->max_latency_ms = SND_BUDGET_AUTO_MS;
		return 0;
	}
	return parse_int(s, 100, 60000, &o->max_latency_ms);
}

static int parse_size(const char *s, int *w, int *h)
{
	char *end;
	long a, b;

	errno = 0;
	a = strtol(s, &end, 10);
	if (errno || end == s || (*end != 'x' && *end != 'X'))
		return -EINVAL;
	s = end + 1;
	b = strtol(s, &end, 10);
	if (errno || end == s || *end)
		return -EINVAL;
	/* yuv420p needs even dimensions. */
	if (a < 16 || b < 16 || a > MAX_SIZE || b > MAX_SIZE || a % 2 || b % 2)
		return -EINVAL;
	*w = (int)a;
	*h = (int)b;
	return 0;
}

/* One of x264's presets. */
static bool valid_preset(const char *s)
{
	static const char *const presets[] = {"ultrafast", "superfast", "veryfast", "faster",
					      "fast",	   "medium",	"slow",	    "slower",
					      "veryslow",  "placebo"};

	for (size_t i = 0; i < sizeof(presets) / sizeof(presets[0]); i++)
		if (!strcmp(s, presets[i]))
			return true;
	return false;
}

_Static_assert(RT_CC_NAME_MAX == CONN_CONGESTION_NAME_MAX,
	       "--congestion and cc= take names of one length");

/* A congestion control's name (--congestion, cc=): routing's rule. */
static bool valid_congestion(const char *s)
{
	return rt_cc_name_valid(s, strlen(s));
}

static void defaults(struct snd_options *o)
{
	memset(o, 0, sizeof(*o));
	o->input = "test";
	o->input_timeout_ms = 500;
	o->width = 1280;
	o->height = 720;
	o->fps = 30;
	o->preset = "veryfast";
	o->codec = "h264";
	o->encoder = "libx264";
	o->congestion = CONN_CONGESTION_DEFAULT;
	o->bitrate = 2500000;
	o->min_bitrate = 300000;
	o->max_latency_ms = SND_BUDGET_AUTO_MS;
	o->max_latency_auto = true;
	o->stats_interval_s = 1.0;
	o->connect_timeout_s = 10.0;
	o->reconnect = true;
	o->buffer_s = 2.0;
}

#define FAIL(...) MPS_ARGS_FAIL(err, errlen, __VA_ARGS__)

static enum mps_args_result add_uplink(struct snd_options *o, const char *arg, char *err,
				       size_t errlen)
{
	struct rt_uplink_spec *spec = &o->uplinks[o->n_uplinks];
	int ret;

	if (o->n_uplinks == RT_MAX_UPLINKS)
		FAIL("at most %d uplinks", RT_MAX_UPLINKS);
	ret = rt_uplink_spec_parse(arg, spec);
	if (ret == -ENAMETOOLONG)
		FAIL("--uplink '%s': interface name too long", arg);
	if (ret)
		FAIL("--uplink '%s': expected IFACE[:backup][,gw=ADDR][,cc=NAME] (gw= once per "
		     "family)",
		     arg);
	for (size_t i = 0; i < o->n_uplinks; i++)
		if (strcmp(o->uplinks[i].ifname, spec->ifname) == 0)
			FAIL("uplink %s is named twice", spec->ifname);
	o->n_uplinks++;
	return MPS_ARGS_RUN;
}

/* min <= bitrate <= max; a bound given alone moves the default start inside it. */
static enum mps_args_result check_rates(struct snd_options *o, bool bitrate_set, bool min_set,
					char *err, size_t errlen)
{
	if (!min_set && o->bitrate < o->min_bitrate)
		o->min_bitrate = o->bitrate; /* a low --bitrate lowers the default floor */
	if (!o->max_bitrate)
		o->max_bitrate = o->bitrate * 2 < MAX_BITRATE ? o->bitrate * 2 : MAX_BITRATE;
	if (o->min_bitrate > o->max_bitrate)
		FAIL("--min-bitrate %lldk is above --max-bitrate %lldk",
		     (long long)o->min_bitrate / 1000, (long long)o->max_bitrate / 1000);
	if (!bitrate_set) {
		if (o->bitrate > o->max_bitrate)
			o->bitrate = o->max_bitrate;
		if (o->bitrate < o->min_bitrate)
			o->bitrate = o->min_bitrate;
	} else if (o->bitrate < o->min_bitrate || o->bitrate > o->max_bitrate) {
		FAIL("--bitrate %lldk is outside --min-bitrate %lldk .. --max-bitrate %lldk",
		     (long long)o->bitrate / 1000, (long long)o->min_bitrate / 1000,
		     (long long)o->max_bitrate / 1000);
	}
	return MPS_ARGS_RUN;
}

/* What the parse has seen so far, across the config file and the command line. */
struct parse_state {
	bool bitrate_set, min_set, preset_set, encoder_set;
	bool uplinks_from_config; /* the uplinks so far came from the file */
};

/*
 * --http's or --metrics' [ADDR:]PORT: "10.0.0.2:8080", "[::1]:8080", "[::]:8080"
 * (every address of both families); a bare PORT listens on @bare (IPv4).
 */
static int parse_listen(const char *arg, in_addr_t bare, struct sockaddr_storage *out)
{
	struct sockaddr_in *v4 = (struct sockaddr_in *)out;
	int ret;

	if (strchr(arg, ':'))
		return mps_parse_listen_any(arg, out);
	memset(out, 0, sizeof(*out));
	ret = mps_parse_listen(arg, v4);
	if (!ret)
		v4->sin_addr.s_addr = bare;
	return ret;
}

/* A copy of @s that lives as long as @o (config values do not outlive their line). */
static const char *keep(struct snd_options *o, const char *s)
{
	size_t len = strlen(s) + 1;
	char *p;

	if (o->strings_used + len > sizeof(o->strings))
		return NULL;
	p = o->strings + o->strings_used;
	memcpy(p, s, len);
	o->strings_used += len;
	return p;
}

/*
 * The appliers: one option with its value (NULL for a flag), from the command
 * line or the file. @opts is the struct snd_options, @state the parse_state.
 */
#define APPLIER(fn)                                                                        \
	static enum mps_args_result fn(const struct mps_opt *row, void *opts, void *state, \
				       const char *arg, char *err, size_t errlen)

/* A value kept (a config value does not outlive its line) at the row's field. */
APPLIER(set_kept)
{
	const char **field = (const char **)((char *)opts + row->off);

	(void)state;
	*field = keep(opts, arg);
	if (!*field)
		FAIL("--%s: too many long values", row->name);
	return MPS_ARGS_RUN;
}

/* The same, never empty. */
APPLIER(set_kept_nonempty)
{
	if (!*arg)
		FAIL("--%s: empty", row->name);
	return set_kept(row, opts, state, arg, err, errlen);
}

/* A rate (snd_parse_bitrate) at the row's int64_t field. */
APPLIER(set_rate)
{
	(void)state;
	if (snd_parse_bitrate(arg, (int64_t *)((char *)opts + row->off)))
		FAIL("--%s '%s': expected a rate from 10k to 1000M", row->name, arg);
	return MPS_ARGS_RUN;
}

APPLIER(apply_bitrate)
{
	((struct parse_state *)state)->bitrate_set = true;
	return set_rate(row, opts, state, arg, err, errlen);
}

APPLIER(apply_min_bitrate)
{
	((struct parse_state *)state)->min_set = true;
	return set_rate(row, opts, state, arg, err, errlen);
}

/* --config is read before the rest (snd_cli_parse). */
APPLIER(apply_config)
{
	(void)row, (void)opts, (void)state, (void)arg, (void)err, (void)errlen;
	return MPS_ARGS_RUN;
}

APPLIER(apply_uplink)
{
	struct snd_options *o = opts;
	struct parse_state *st = state;

	(void)row;
	if (st->uplinks_from_config) {
		/* The command line's uplinks replace the file's. */
		o->n_uplinks = 0;
		st->uplinks_from_config = false;
	}
	return add_uplink(o, arg, err, errlen);
}

APPLIER(apply_audio)
{
	if (mps_audio_kind(arg) == MPS_AUDIO_SOURCE && mps_input_kind(arg) != MPS_INPUT_LIVE)
		FAIL("--audio '%s': expected input, tone, none, a device (alsa:hw:1,0, "
		     "pulse:NAME) or a live URL",
		     arg);
	return set_kept(row, opts, state, arg, err, errlen);
}

APPLIER(apply_size)
{
	struct snd_options *o = opts;

	(void)row, (void)state;
	if (parse_size(arg, &o->width, &o->height))
		FAIL("--size '%s': expected WxH, even, 16 to %d", arg, MAX_SIZE);
	return MPS_ARGS_RUN;
}

APPLIER(apply_codec)
{
	if (strcmp(arg, "h264") && strcmp(arg, "hevc") && strcmp(arg, "auto"))
		FAIL("--codec '%s': expected h264, hevc or auto", arg);
	return set_kept(row, opts, state, arg, err, errlen);
}

APPLIER(apply_encoder)
{
	if (!*arg || strspn(arg, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(arg))
		FAIL("--encoder '%s': expected an encoder's name, such as libx264 or h264_vaapi",
		     arg);
	((struct parse_state *)state)->encoder_set = true;
	return set_kept(row, opts, state, arg, err, errlen);
}

APPLIER(apply_preset)
{
	if (!valid_preset(arg))
		FAIL("--preset '%s': expected one of x264's: ultrafast, superfast, veryfast, "
		     "faster, fast, medium, slow, slower, veryslow, placebo",
		     arg);
	((struct parse_state *)state)->preset_set = true;
	return set_kept(row, opts, state, arg, err, errlen);
}

APPLIER(apply_congestion)
{
	if (!valid_congestion(arg))
		FAIL("--congestion '%s': expected a name such as cubic, bbr or reno, or system",
		     arg);
	((struct snd_options *)opts)->congestion_given = true;
	return set_kept(row, opts, state, arg, err, errlen);
}

APPLIER(apply_max_latency)
{
	(void)row, (void)state;
	if (parse_budget(arg, opts))
		FAIL("--max-latency '%s': expected 100 to 60000 ms, or auto", arg);
	return MPS_ARGS_RUN;
}

APPLIER(apply_reconnect)
{
	(void)row, (void)state;
	if (strcmp(arg, "0") && strcmp(arg, "1"))
		FAIL("--reconnect '%s': expected 0 or 1", arg);
	((struct snd_options *)opts)->reconnect = arg[0] == '1';
	return MPS_ARGS_RUN;
}

APPLIER(apply_via)
{
	if (!mps_hostport_valid(arg))
		FAIL("--via '%s': expected HOST:PORT or [V6ADDR]:PORT", arg);
	return set_kept(row, opts, state, arg, err, errlen);
}

APPLIER(apply_metrics)
{
	struct snd_options *o = opts;

	(void)row, (void)state;
	if (parse_listen(arg, htonl(INADDR_ANY), &o->metrics_listen))
		FAIL("--metrics '%s': expected [ADDR:]PORT", arg);
	o->metrics = true;
	return MPS_ARGS_RUN;
}

APPLIER(apply_http)
{
	struct snd_options *o = opts;

	(void)row, (void)state;
	if (parse_listen(arg, htonl(INADDR_LOOPBACK), &o->http_listen))
		FAIL("--http '%s': expected [ADDR:]PORT", arg);
	o->http = true;
	return MPS_ARGS_RUN;
}

APPLIER(apply_verbose)
{
	struct snd_options *o = opts;

	(void)row, (void)state, (void)arg, (void)err, (void)errlen;
	o->verbosity = o->verbosity < 0 ? 1 : o->verbosity + 1;
	return MPS_ARGS_RUN;
}

APPLIER(apply_quiet)
{
	(void)row, (void)state, (void)arg, (void)err, (void)errlen;
	((struct snd_options *)opts)->verbosity = -1;
	return MPS_ARGS_RUN;
}

#define FIELD(field, type)	    .off = MPS_OPT_FIELD(struct snd_options, field, type)
#define NUMBER(field, lo, hi, what) MPS_OPT_NUMBER(struct snd_options, field, lo, hi, what)
#define INT(field, lo, hi, what)    MPS_OPT_INT(struct snd_options, field, lo, hi, what)
#define FLAG(field)		    MPS_OPT_TRUE(struct snd_options, field)
#define STR(x)			    #x
#define XSTR(x)			    STR(x)

/*
 * mpstream's options, in --help's order. A row is an option: its names, its
 * value's name (none: a flag, yes|no in the file), its help lines, the
 * section of --help it starts, whether the config file takes it, and how it
 * is applied (a generic applier with its field, range and error, or one of
 * the functions above).
 */
static const struct mps_opt rows[] = {
	{.name = "config",
	 .short_name = 'c',
	 .metavar = "FILE",
	 .cli_only = true,
	 .heading = "Configuration file",
	 .apply = apply_config,
	 .help = "read options from an INI file: KEY = VALUE with\n"
		 "each long option's name as KEY (and url = URL),\n"
		 "an [uplink IFACE] section per uplink with the\n"
		 "keys below; the command line overrides it (its\n"
		 "--uplink options replace the file's uplinks)"},
	{.name = "uplink",
	 .short_name = 'u',
	 .metavar = "IFACE[:backup][,gw=ADDR][,cc=NAME]",
	 .cli_only = true,
	 .heading = "Uplinks",
	 .apply = apply_uplink,
	 .help = "use IFACE as an uplink (repeat for each one);\n"
		 "gw= names its gateway when the main table has\n"
		 "no default route through IFACE (IPv4 or IPv6;\n"
		 "once per family); its IPv4 and IPv6 addresses\n"
		 "are used, each that has a gateway; :backup\n"
		 "uses it only while no other uplink works;\n"
		 "cc= sets its subflows' congestion control"},
	{.name = "input",
	 .short_name = 'i',
	 .metavar = "test|FILE|URL|DEVICE",
	 .heading = "Input and encoding",
	 .apply = set_kept_nonempty,
	 FIELD(input, const char *),
	 .help = "'test' (default): moving pattern with the frame\n"
		 "number and a 1 kHz tone; a file libavformat\n"
		 "reads, paced in real time; a live URL a camera\n"
		 "pushes to (srt://:9000?mode=listener,\n"
		 "udp://@:5000, rtmp://0.0.0.0:1936/live/cam) or\n"
		 "that mpstream calls; or a capture device,\n"
		 "FORMAT:DEVICE (v4l2:/dev/video0?size=1280x720&\n"
		 "fps=30&format=mjpeg, lavfi:GRAPH)"},
	{.name = "audio",
	 .metavar = "input|tone|none|DEVICE|URL",
	 .apply = apply_audio,
	 FIELD(audio, const char *),
	 .help = "a live input's sound: its own (default), a\n"
		 "1 kHz tone, silence, or a source of its own\n"
		 "(alsa:hw:1,0, pulse:NAME)"},
	{.name = "input-timeout",
	 .metavar = "MS",
	 INT(input_timeout_ms, 100, 60000, "100 to 60000 ms"),
	 .help = "a live input without a picture for MS (default\n"
		 "500), or for 3 of its frame intervals if longer,\n"
		 "is lost: the slate is sent until it is back"},
	{.name = "slate",
	 .metavar = "IMAGE",
	 .apply = set_kept,
	 FIELD(slate, const char *),
	 .help = "the slate: IMAGE (default: the last picture,\n"
		 "darkened, with \"SIGNAL LOST\")"},
	{.name = "av-offset",
	 .metavar = "MS",
	 INT(av_offset_ms, -2000, 2000, "-2000 to 2000 ms"),
	 .help = "delay a live input's audio by MS (< 0: its\n"
		 "picture by -MS), -2000 to 2000 (default 0)"},
	{.name = "loop", FLAG(loop), .help = "start FILE again at its end"},
	{.name = "size",
	 .short_name = 's',
	 .metavar = "WxH",
	 .apply = apply_size,
	 .help = "video size (default 1280x720)"},
	{.name = "fps",
	 .short_name = 'r',
	 .metavar = "N",
	 INT(fps, 1, MAX_FPS, "1 to " XSTR(MAX_FPS)),
	 .help = "frame rate (default 30)"},
	{.name = "codec",
	 .metavar = "h264|hevc|auto",
	 .apply = apply_codec,
	 FIELD(codec, const char *),
	 .help = "the video codec (default h264); hevc goes as\n"
		 "Enhanced RTMP, which the server must take; auto:\n"
		 "h264 when encoding, the file's with --copy (a live\n"
		 "input's: h264)"},
	{.name = "encoder",
	 .metavar = "NAME",
	 .apply = apply_encoder,
	 FIELD(encoder, const char *),
	 .help = "the encoder (default libx264, libx265 with\n"
		 "--codec hevc; h264_vaapi, h264_nvenc, h264_qsv,\n"
		 "h264_v4l2m2m, hevc_vaapi, hevc_nvenc,\n"
		 "hevc_v4l2m2m where the hardware is there)"},
	{.name = "preset",
	 .metavar = "NAME",
	 .apply = apply_preset,
	 FIELD(preset, const char *),
	 .help = "x264's or x265's preset (default veryfast)"},
	{.name = "copy",
	 FLAG(copy),
	 .help = "pass FILE (H.264 or HEVC, AAC) or a live input's\n"
		 "H.264 (HEVC with --codec hevc) through as it is: no\n"
		 "encoding (but the slate's); the bit rate is the\n"
		 "source's"},
	/* "%%" is printed as it is (fputs), as it always was. */
	{.name = "record",
	 .metavar = "FILE",
	 .apply = set_kept_nonempty,
	 FIELD(record, const char *),
	 .help = "also record everything encoded to FILE (.mkv,\n"
		 ".mp4, .mov, .ts or .flv; strftime's %%Y%%m%%d-\n"
		 "%%H%%M%%S for a file per run; never overwritten)"},
	{.name = "bitrate",
	 .short_name = 'b',
	 .metavar = "RATE",
	 .heading = "Rate control",
	 .apply = apply_bitrate,
	 FIELD(bitrate, int64_t),
	 .help = "video bit rate to start at, e.g. 2500k or 4M\n"
		 "(default 2500k); it then follows what the\n"
		 "uplinks carry"},
	{.name = "min-bitrate",
	 .metavar = "RATE",
	 .apply = apply_min_bitrate,
	 FIELD(min_bitrate, int64_t),
	 .help = "never below RATE (default 300k)"},
	{.name = "max-bitrate",
	 .metavar = "RATE",
	 .apply = set_rate,
	 FIELD(max_bitrate, int64_t),
	 .help = "never above RATE (default 2 x --bitrate);\n"
		 "--min-bitrate = --max-bitrate fixes the rate"},
	{.name = "max-latency",
	 .metavar = "MS|auto",
	 .apply = apply_max_latency,
	 .help = "the delay budget from the encoder to the\n"
		 "server's TCP stack; beyond it queued frames are\n"
		 "dropped up to a keyframe (default auto: 1000,\n"
		 "raised up to 4000 to twice the paths' largest\n"
		 "RTT of the last minute, or to cover a delay\n"
		 "held in the paths)"},
	{.name = "congestion",
	 .metavar = "NAME",
	 .apply = apply_congestion,
	 FIELD(congestion, const char *),
	 .help = "every subflow's TCP congestion control (default\n"
		 "cubic, and bbr on cellular uplinks; 'system'\n"
		 "keeps the kernel's default)"},
	{.name = "duration",
	 .short_name = 'd',
	 .metavar = "SECONDS",
	 .heading = "Running",
	 NUMBER(duration_s, 0.1, 1e7, "seconds > 0"),
	 .help = "stop after SECONDS of stream (default: until\n"
		 "SIGINT or SIGTERM)"},
	{.name = "connect-timeout",
	 .metavar = "SECONDS",
	 NUMBER(connect_timeout_s, 0.1, 3600, "0.1 to 3600 seconds"),
	 .help = "give up connecting after SECONDS (default 10)"},
	{.name = "ca",
	 .metavar = "FILE",
	 .apply = set_kept_nonempty,
	 FIELD(ca_file, const char *),
	 .help = "rtmps://: trust the CA certificates in FILE (PEM)\n"
		 "instead of the system's"},
	{.name = "insecure",
	 FLAG(insecure),
	 .help = "rtmps://: do not check the server's certificate\n"
		 "(warned: the stream key can then be read)"},
	{.name = "via",
	 .metavar = "HOST:PORT",
	 .apply = apply_via,
	 FIELD(via, const char *),
	 .help = "connect (MPTCP) to an mpstream relay at HOST:PORT\n"
		 "that forwards to the URL's server; TLS and RTMP\n"
		 "still speak to the URL's host (its name and\n"
		 "certificate): with rtmps:// the relay never\n"
		 "sees the key"},
	{.name = "reconnect",
	 .metavar = "0|1",
	 .apply = apply_reconnect,
	 .help = "reconnect with back-off (0.5 s doubling to 10 s)\n"
		 "when the connection is lost (default 1)"},
	{.name = "buffer",
	 .metavar = "SECONDS",
	 NUMBER(buffer_s, 0.1, 60, "0.1 to 60 seconds"),
	 .help = "media kept while the network cannot take it (default 2;\n"
		 "connected: the delay budget if more); older GOPs go whole"},
	{.name = "stats-interval",
	 .metavar = "SECONDS",
	 NUMBER(stats_interval_s, 0.05, 3600, "0.05 to 3600 seconds"),
	 .help = "per-subflow statistics period (default 1)"},
	{.name = "stats",
	 .metavar = "FILE",
	 .apply = set_kept,
	 FIELD(stats_path, const char *),
	 .help = "also write the statistics as CSV to FILE"},
	{.name = "trace",
	 .metavar = "FILE",
	 .apply = set_kept,
	 FIELD(trace_path, const char *),
	 .help = "write the kernel's counters of every subflow\n"
		 "every 50 ms to FILE, for a bug report (CSV)"},
	{.name = "metrics",
	 .metavar = "[ADDR:]PORT",
	 .apply = apply_metrics,
	 .help = "serve Prometheus metrics at /metrics (no ADDR:\n"
		 "every IPv4 address; IPv6: [::1]:PORT, [::]:PORT)"},
	{.name = "http",
	 .metavar = "[ADDR:]PORT",
	 .apply = apply_http,
	 .help = "serve the operator's page, its JSON API and\n"
		 "/metrics (no ADDR: 127.0.0.1 only; IPv6:\n"
		 "[::1]:PORT, or [::]:PORT for both families)"},
	{.name = "http-token-file",
	 .metavar = "FILE",
	 .apply = set_kept,
	 FIELD(http_token_file, const char *),
	 .help = "the token the page's controls need (default: a\n"
		 "random one, kept in /run/mpstream/http-token);\n"
		 "refused if others can read or change it"},
	{.name = "standby",
	 FLAG(standby),
	 .help = "set up, then wait for \"go live\" from the page\n"
		 "or the API before connecting (needs --http)"},
	{.name = "verbose",
	 .short_name = 'v',
	 .apply = apply_verbose,
	 .help = "more log lines (twice: libav* debug too)"},
	{.name = "quiet",
	 .short_name = 'q',
	 .apply = apply_quiet,
	 .help = "only warnings and errors"},
	{.name = "help",
	 .short_name = 'h',
	 .cli_only = true,
	 .apply = mps_opt_help,
	 .help = "show this help and exit"},
	{.name = "version",
	 .short_name = 'V',
	 .cli_only = true,
	 .apply = mps_opt_version,
	 .help = "show the version and exit"},
};

_Static_assert(sizeof(rows) / sizeof(rows[0]) <= MPS_OPTS_MAX, "more rows than MPS_OPTS_MAX");

static const struct mps_opt_set options = {
	.rows = rows,
	.n_rows = sizeof(rows) / sizeof(rows[0]),
	.help_column = 32,
	.head = "Usage: mpstream [OPTION]... URL    (or url = URL in the --config file)\n"
		"       mpstream probe [OPTION]... URL   (see mpstream probe --help)\n"
		"       mpstream relay --listen [ADDR:]PORT --to HOST:PORT   (see mpstream relay "
		"--help)\n"
		"Stream live video over several uplinks at once with Multipath TCP.\n"
		"URL is rtmp://[USER:PASSWORD@]HOST[:PORT]/APP/KEY or rtmps://...; the key and\n"
		"the password are never logged.\n"
		"\n",
	.tail = "",
};

/* After the options and the uplink sections' keys. */
static const char usage_tail[] =
	"\n"
	"Signals: SIGINT, SIGTERM or SIGHUP end the stream cleanly (the routing is\n"
	"put back); a second one aborts a blocked write; one while connecting ends\n"
	"mpstream at once. SIGUSR1 and SIGUSR2 are ignored.\n"
	"\n"
	"Exit status: 0 done, 64 usage error (a bad option, or a bad line of the\n"
	"--config file), 66 input, device, config, CA or token file not readable,\n"
	"69 server, uplink, port or encoder hardware unavailable, 73 the recording\n"
	"cannot be created, 77 not permitted (uplinks need CAP_NET_ADMIN), 1 other.\n";

static const struct mps_opt_set uplink_keys;

void snd_cli_usage(FILE *f)
{
	mps_opts_help(&options, f);
	mps_opts_help(&uplink_keys, f);
	fputs(usage_tail, f);
}

/* Reading a config file (libinih calls back for each key). */
struct config_ctx {
	struct snd_options *o;
	struct parse_state *st;
	char err[512]; /* the first error; the parse stops there */
	bool failed;
	bool has_key; /* the url holds a stream key */
	bool too_big; /* more than MAX_CONFIG_BYTES: not a config file (exit 66) */
	FILE *f;
	int line, err_line; /* lines read; where the reader found an error */
	size_t bytes;	    /* read so far */
	struct {
		char name[64]; /* "SECTION\tKEY" */
		int line;
	} seen[MAX_CONFIG_KEYS];
	size_t n_seen;
};

static int parse_yes_no(const char *v, bool *out)
{
	static const char *const yes[] = {"yes", "true", "on", "1"}, *const no[] = {"no", "false",
										    "off", "0"};

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0)
			return *out = true, 0;
		if (strcasecmp(v, no[i]) == 0)
			return *out = false, 0;
	}
	return -EINVAL;
}

#define CFAIL(...)                                                 \
	do {                                                       \
		snprintf(ctx->err, sizeof(ctx->err), __VA_ARGS__); \
		ctx->failed = true;                                \
		return 0;                                          \
	} while (0)

/*
 * A key given twice is an error (the second would silently win): 0, or
 * the line that gave @key in @section first. @key may name a variant (gw4).
 */
static int seen_before(struct config_ctx *ctx, const char *section, const char *key)
{
	char name[sizeof(ctx->seen[0].name)];

	snprintf(name, sizeof(name), "%s\t%s", section, key);
	for (size_t i = 0; i < ctx->n_seen; i++)
		if (!strcmp(ctx->seen[i].name, name))
			return ctx->seen[i].line;
	if (ctx->n_seen < MAX_CONFIG_KEYS) {
		memcpy(ctx->seen[ctx->n_seen].name, name, sizeof(name));
		ctx->seen[ctx->n_seen++].line = ctx->line;
	}
	return 0;
}

const char *snd_options_apn(const struct snd_options *o, const char *ifname)
{
	for (size_t i = 0; i < o->n_apns; i++)
		if (!strcmp(o->apns[i].ifname, ifname))
			return o->apns[i].apn;
	return NULL;
}

/* What an [uplink IFACE] key's applier is given as its state. */
struct uplink_section {
	struct rt_uplink_spec *u; /* the section's uplink */
	const char *ifname;
	/* The name under which the key may be given once in the section (the
	 * row's, or a variant of it: a gateway once per family), and what the
	 * error adds to "given twice". */
	const char *once, *once_what;
};

/* The keys' appliers (APPLIER above): @state is the uplink_section. */
APPLIER(apply_gw)
{
	struct uplink_section *sec = state;
	struct mps_ip gw;

	(void)row, (void)opts;
	if (!mps_ip_parse(&gw, arg))
		FAIL("expected an IPv4 or IPv6 address");
	sec->once = gw.family == AF_INET ? "gw4" : "gw6";
	sec->once_what = gw.family == AF_INET ? " for IPv4" : " for IPv6";
	sec->u->gw[rt_side_of(gw.family)] = gw;
	return MPS_ARGS_RUN;
}

APPLIER(apply_backup)
{
	struct uplink_section *sec = state;

	(void)row, (void)opts;
	if (parse_yes_no(arg, &sec->u->backup))
		FAIL("expected yes or no");
	return MPS_ARGS_RUN;
}

APPLIER(apply_cc)
{
	struct uplink_section *sec = state;

	(void)row, (void)opts;
	if (!valid_congestion(arg))
		FAIL("expected a congestion control's name such as bbr or cubic");
	snprintf(sec->u->cc, sizeof(sec->u->cc), "%s", arg);
	return MPS_ARGS_RUN;
}

APPLIER(apply_apn)
{
	struct snd_options *o = opts;
	struct uplink_section *sec = state;

	(void)row;
	if (!modem_apn_valid(arg))
		FAIL("expected 1 to %d letters, digits, '-' and '.'", MODEM_APN_MAX);
	if (o->n_apns >= RT_MAX_UPLINKS)
		FAIL("too many APNs");
	snprintf(o->apns[o->n_apns].ifname, IFNAMSIZ, "%s", sec->ifname);
	snprintf(o->apns[o->n_apns++].apn, sizeof(o->apns[0].apn), "%s", arg);
	return MPS_ARGS_RUN;
}

/*
 * The keys of an [uplink IFACE] section, in --help's order (a row as
 * common/opts.h has it: the key's name, its value's name, its help lines, how
 * it is applied). The loader looks them up by name; --help lists them below
 * the options; the man page check compares them with the man page's.
 */
static const struct mps_opt uplink_rows[] = {
	{.name = "gw",
	 .metavar = "ADDR",
	 .apply = apply_gw,
	 .help = "its gateway, when the main table has no default\n"
		 "route through IFACE (IPv4 or IPv6; once per\n"
		 "family)"},
	{.name = "backup",
	 .metavar = "yes|no",
	 .apply = apply_backup,
	 .help = "use it only while no other uplink works\n"
		 "(default no)"},
	{.name = "cc",
	 .metavar = "NAME",
	 .apply = apply_cc,
	 .help = "its subflows' TCP congestion control (default:\n"
		 "bbr on a cellular modem, else --congestion's)"},
	{.name = "apn",
	 .metavar = "NAME",
	 .apply = apply_apn,
	 .help = "the APN its modem connects with when the page's\n"
		 "or the API's connect asks (1 to " XSTR(MODEM_APN_MAX) " letters,\n"
									"digits, '-' and '.')"},
};

static const struct mps_opt_set uplink_keys = {
	.rows = uplink_rows,
	.n_rows = sizeof(uplink_rows) / sizeof(uplink_rows[0]),
	.help_column = 32,
	.keys = true,
	.head = "\nKeys of an [uplink IFACE] section of the --config file:\n",
	.tail = "",
};

/* [uplink IFACE] and its @key (NULL: the section's header) = @value, by uplink_rows. */
static int config_uplink(struct config_ctx *ctx, const char *ifname, const char *key,
			 const char *value)
{
	struct snd_options *o = ctx->o;
	struct uplink_section sec = {.ifname = ifname};
	const struct mps_opt *row;
	char e[256];
	int first;

	for (size_t i = 0; i < o->n_uplinks; i++)
		if (strcmp(o->uplinks[i].ifname, ifname) == 0)
			sec.u = &o->uplinks[i];
	if (!sec.u) {
		if (add_uplink(o, ifname, e, sizeof(e)) != MPS_ARGS_RUN)
			CFAIL("[uplink %s]: %s", ifname, e);
		sec.u = &o->uplinks[o->n_uplinks - 1];
		ctx->st->uplinks_from_config = true;
	}
	if (!key)
		return 1;
	row = mps_opts_by_name(&uplink_keys, key);
	if (!row) {
		mps_opts_names(&uplink_keys, e, sizeof(e));
		CFAIL("unknown key '%s' in [uplink %s] (%s)", key, ifname, e);
	}
	sec.once = row->name;
	sec.once_what = "";
	if (row->apply(row, o, &sec, value, e, sizeof(e)) != MPS_ARGS_RUN)
		CFAIL("key '%s' in [uplink %s]: %s", key, ifname, e);
	if ((first = seen_before(ctx, ifname, sec.once)))
		CFAIL("key '%s' in [uplink %s] given twice%s (first on line %d)", key, ifname,
		      sec.once_what, first);
	return 1;
}

static int config_handler(void *user, const char *section, const char *key, const char *value)
{
	struct config_ctx *ctx = user;
	char e[256];
	const struct mps_opt *opt;
	bool on;
	int first;

	if (ctx->failed)
		return 1; /* the first error is the one reported */
	if (strncmp(section, "uplink ", 7) == 0 && section[7])
		return config_uplink(ctx, section + 7, key, value);
	if (section[0])
		CFAIL("unknown section [%s] (only [uplink NAME])", section);
	if ((first = seen_before(ctx, "", key)))
		CFAIL("key '%s' given twice (first on line %d)", key, first);
	if (strcmp(key, "url") == 0) {
		if (mps_url_check(value))
			CFAIL("key 'url': expected rtmp://HOST[:PORT]/APP/KEY or rtmps://...");
		ctx->o->url = keep(ctx->o, value);
		if (!ctx->o->url)
			CFAIL("key 'url': too many long values");
		mps_url_key(value, e, sizeof(e));
		ctx->has_key = e[0] != '\0';
		return 1;
	}
	opt = mps_opts_by_name(&options, key);
	if (!opt || opt->cli_only)
		CFAIL("unknown key '%s'%s", key,
		      opt && opt->short_name == 'u' ? " (uplinks are [uplink NAME] sections)" : "");
	if (!opt->metavar) {
		if (parse_yes_no(value, &on))
			CFAIL("key '%s': expected yes or no", key);
		if (!on)
			return 1;
		value = NULL;
	}
	if (opt->apply(opt, ctx->o, ctx->st, value, e, sizeof(e)) != MPS_ARGS_RUN)
		CFAIL("key '%s': %s", key, e);
	return 1;
}

enum line_read { LINE_OK, LINE_END, LINE_LONG, LINE_NUL, LINE_TOO_BIG };

/*
 * One line of the file into @str (@num bytes with its NUL), at most
 * MAX_CONFIG_BYTES in all: a file that never ends (/dev/zero, a pipe that
 * keeps writing) is not read for ever.
 */
static enum line_read read_line(struct config_ctx *ctx, char *str, int num)
{
	int n = 0, c = 0;

	while (n < num - 1 && c != '\n' && (c = getc(ctx->f)) != EOF) {
		if (++ctx->bytes > MAX_CONFIG_BYTES)
			return LINE_TOO_BIG;
		if (c == '\0') {
			ctx->line++;
			return LINE_NUL;
		}
		str[n++] = (char)c;
	}
	if (!n)
		return LINE_END;
	str[n] = '\0';
	ctx->line++;
	if (n == num - 1 && str[n - 1] != '\n' && (c = getc(ctx->f)) != EOF) {
		ungetc(c, ctx->f);
		return LINE_LONG;
	}
	return LINE_OK;
}

/*
 * libinih's line reader. It calls back for keys only, so a section header is
 * seen here: "[uplink eth0]" with no key below it is an uplink all the same.
 */
static char *config_reader(char *str, int num, void *stream)
{
	struct config_ctx *ctx = stream;
	const char *p, *end;

	switch (read_line(ctx, str, num)) {
	case LINE_OK:
		break;
	case LINE_END:
		return NULL;
	case LINE_LONG:
		/* Its tail would be read as a line of its own: refuse it whole. */
		snprintf(ctx->err, sizeof(ctx->err), "a line longer than %d characters", num - 2);
		goto fail;
	case LINE_NUL:
		/* fgets() and libinih would cut the value there, silently. */
		snprintf(ctx->err, sizeof(ctx->err), "a NUL byte (a binary file?)");
		goto fail;
	case LINE_TOO_BIG:
		ctx->too_big = true;
		return NULL;
	}
	p = str + strspn(str, " \t");
	end = strchr(p, ']');
	if (!ctx->failed && *p == '[' && end && strncmp(p + 1, "uplink ", 7) == 0) {
		char name[IFNAMSIZ + 8];
		size_t len = (size_t)(end - (p + 8));

		if (len >= sizeof(name)) {
			snprintf(ctx->err, sizeof(ctx->err),
				 "[uplink ...]: interface name too long");
			ctx->failed = true;
		} else {
			memcpy(name, p + 8, len);
			name[len] = '\0';
			config_uplink(ctx, name, NULL, NULL);
		}
		if (ctx->failed)
			ctx->err_line = ctx->line;
	}
	return str;
fail:
	ctx->failed = true;
	ctx->err_line = ctx->line;
	return NULL;
}

static enum mps_args_result load_config(struct snd_options *o, struct parse_state *st,
					const char *path, char *err, size_t errlen)
{
	struct config_ctx ctx = {.o = o, .st = st};
	struct stat sb;
	bool have_sb = false;
	int line;

	o->config_path = path;
	ctx.f = fopen(path, "re");
	if (ctx.f)
		have_sb = fstat(fileno(ctx.f), &sb) == 0;
	/* A file, or a pipe (bash's <(...)); never a device (/dev/zero) or a directory. */
	if (have_sb && !S_ISREG(sb.st_mode) && !S_ISFIFO(sb.st_mode)) {
		fclose(ctx.f);
		snprintf(err, errlen, "cannot read %s: %s", path,
			 S_ISDIR(sb.st_mode) ? strerror(EISDIR) : "not a regular file");
		return MPS_ARGS_NOINPUT;
	}
	if (!ctx.f) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		return MPS_ARGS_NOINPUT;
	}
	line = ini_parse_stream(config_reader, &ctx, config_handler, &ctx);
	fclose(ctx.f);
	if (line < 0 || ctx.too_big) {
		snprintf(err, errlen, "cannot read %s: %s", path,
			 ctx.too_big ? "larger than 64 KiB (not a config file)" : "out of memory");
		return MPS_ARGS_NOINPUT;
	}
	if (line > 0 || ctx.failed) {
		/* What the file holds is shown, but never its control bytes (a binary file). */
		for (char *c = ctx.err; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				*c = '?';
		FAIL("%s:%d: %s", path, ctx.err_line ? ctx.err_line : line,
		     ctx.failed ? ctx.err : "not an INI line");
	}
	/* The key is a password: say so when others can read it. */
	o->config_exposes_key = ctx.has_key && have_sb && (sb.st_mode & S_IROTH);
	return MPS_ARGS_RUN;
}

static bool ends_with(const char *s, const char *end)
{
	size_t n = strlen(s), e = strlen(end);

	return n >= e && !strcasecmp(s + n - e, end);
}

/* What applies to which input. */
static enum mps_args_result check_input(const struct snd_options *o, char *err, size_t errlen)
{
	enum mps_input_kind kind = mps_input_kind(o->input);

	if (o->loop && kind != MPS_INPUT_FILE)
		FAIL("--loop applies to a file input");
	if (o->copy && kind == MPS_INPUT_TEST)
		FAIL("--copy applies to a file or a live input");
	/*
	 * The camera's and the slate's parameters take turns: FLV carries each
	 * change of H.264's; HEVC's (not in FFmpeg 5.1's FLV) go in each keyframe,
	 * which Matroska and MPEG-TS keep ('hvc1' in MP4 allows them only in its header).
	 */
	if (o->copy && kind == MPS_INPUT_LIVE && o->record) {
		if (strcmp(o->codec, "hevc") && !ends_with(o->record, ".flv"))
			FAIL("--record with --copy of a live input: .flv (the camera's and the "
			     "slate's H.264 parameters take turns, in either packaging; "
			     "FLV carries each change)");
		if (!strcmp(o->codec, "hevc") && !ends_with(o->record, ".mkv") &&
		    !ends_with(o->record, ".ts"))
			FAIL("--record with --copy of a live HEVC input: .mkv or .ts (the camera's "
			     "and the slate's parameters take turns in their keyframes; "
			     "FLV takes no HEVC here)");
	}
	if (kind == MPS_INPUT_LIVE)
		return MPS_ARGS_RUN;
	if (o->audio)
		FAIL("--audio applies to a live input");
	if (o->slate)
		FAIL("--slate applies to a live input");
	if (o->av_offset_ms)
		FAIL("--av-offset applies to a live input");
	return MPS_ARGS_RUN;
}

enum mps_args_result snd_cli_parse(int argc, char **argv, struct snd_options *o, char *err,
				   size_t errlen)
{
	struct parse_state st = {0};
	struct mps_getopt g;
	const char *config = NULL;
	enum mps_args_result r;
	int c;

	defaults(o);
	err[0] = '\0';
	mps_opts_getopt(&options, &g);
	optind = 0; /* reset getopt (GNU); mps_opts_parse() resets it again for its pass */
	opterr = 0;
	/* The file first, whatever its place among the options: the command line overrides it. */
	{
		/* On a copy: GNU getopt reorders what it scans. */
		char **copy = calloc((size_t)argc + 1, sizeof(*copy));

		if (!copy)
			FAIL("out of memory");
		memcpy(copy, argv, (size_t)argc * sizeof(*copy));
		while ((c = getopt_long(argc, copy, g.shortopts, g.longopts, NULL)) != -1)
			if (c == 'c')
				config = optarg;
		free(copy);
	}
	if (config && (r = load_config(o, &st, config, err, errlen)) != MPS_ARGS_RUN)
		return r;
	r = mps_opts_parse(&options, &g, argc, argv, o, &st, "--help", err, errlen);
	if (r != MPS_ARGS_RUN)
		return r;
	if (optind == argc && !o->url)
		FAIL("no URL given (see --help)");
	if (argc - optind > 1) {
		char shown[512];

		/* It may be a second URL: its key must not show either. */
		mps_url_redacted(argv[optind + 1], shown, sizeof(shown));
		FAIL("one URL only; unexpected '%s'", shown);
	}
	if (optind < argc)
		o->url = argv[optind]; /* over the file's */
	if (mps_url_check(o->url)) {
		char shown[512];

		mps_url_redacted(o->url, shown, sizeof(shown));
		FAIL("malformed URL '%s': expected rtmp://HOST[:PORT]/APP/KEY or rtmps://...",
		     shown);
	}
	if (check_input(o, err, errlen) != MPS_ARGS_RUN)
		return MPS_ARGS_ERROR;
	if (!strcmp(o->codec, "hevc") && !st.encoder_set)
		o->encoder = "libx265";
	if (!strcmp(o->codec, "hevc") && o->record && strlen(o->record) >= 4 &&
	    !strcasecmp(o->record + strlen(o->record) - 4, ".flv"))
		FAIL("--record %s: FLV takes no HEVC here (FFmpeg 5.1); record to .mkv or .mp4",
		     o->record);
	if (o->copy && st.encoder_set && strcmp(o->encoder, "libx264") &&
	    strcmp(o->encoder, "libx265"))
		FAIL("--encoder does not apply with --copy: nothing is encoded");
	if (st.preset_set && strcmp(o->encoder, "libx264") && strcmp(o->encoder, "libx265"))
		FAIL("--preset is libx264's and libx265's; %s has presets of its own", o->encoder);
	if ((o->ca_file || o->insecure) && strncasecmp(o->url, "rtmps:", 6))
		FAIL("%s applies to an rtmps:// URL", o->ca_file ? "--ca" : "--insecure");
	if (o->ca_file && o->insecure)
		FAIL("--ca and --insecure: one or the other");
	if (o->standby && !o->http)
		FAIL("--standby needs --http: nothing else can make it go live");
	if (o->http_token_file && !o->http)
		FAIL("--http-token-file applies with --http");
	return check_rates(o, st.bitrate_set, st.min_set, err, errlen);
}
