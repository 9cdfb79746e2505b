// SPDX-License-Identifier: MIT
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIN_BITRATE 10000
#define MAX_BITRATE 1000000000
#define MAX_SIZE    8192
#define MAX_FPS	    240

const char snd_cli_usage[] =
	"Usage: mpstream [OPTION]... URL\n"
	"       mpstream probe [OPTION]... URL   (see mpstream probe --help)\n"
	"Stream live video over several uplinks at once with Multipath TCP.\n"
	"URL is rtmp://HOST[:PORT]/APP/KEY or rtmps://...; the key is never logged.\n"
	"\n"
	"Uplinks:\n"
	"  -u, --uplink IFACE[:backup][,gw=ADDR]\n"
	"                                use IFACE as an uplink (repeat for each one);\n"
	"                                gw= names its gateway when the main table has\n"
	"                                no default route through IFACE; :backup uses it\n"
	"                                only while no other uplink works\n"
	"Input and encoding:\n"
	"  -i, --input test|FILE         'test' (default): moving pattern with the frame\n"
	"                                number and a 1 kHz tone; or any file libavformat\n"
	"                                reads, paced in real time\n"
	"      --loop                    start FILE again at its end\n"
	"  -s, --size WxH                video size (default 1280x720)\n"
	"  -r, --fps N                   frame rate (default 30)\n"
	"      --preset NAME             x264 preset (default veryfast)\n"
	"      --copy                    pass FILE through as it is (H.264 and AAC): no\n"
	"                                encoding; the bit rate is the file's\n"
	"Rate control:\n"
	"  -b, --bitrate RATE            video bit rate to start at, e.g. 2500k or 4M\n"
	"                                (default 2500k); it then follows what the\n"
	"                                uplinks carry\n"
	"      --min-bitrate RATE        never below RATE (default 300k)\n"
	"      --max-bitrate RATE        never above RATE (default 2 x --bitrate);\n"
	"                                --min-bitrate = --max-bitrate fixes the rate\n"
	"      --max-latency MS          the delay budget from the encoder to the\n"
	"                                server's TCP stack; beyond it queued frames are\n"
	"                                dropped up to a keyframe (default 1000)\n"
	"Running:\n"
	"  -d, --duration SECONDS        stop after SECONDS of stream (default: until\n"
	"                                SIGINT or SIGTERM)\n"
	"      --connect-timeout SECONDS give up connecting after SECONDS (default 10)\n"
	"      --reconnect 0|1           reconnect with back-off (0.5 s doubling to 10 s)\n"
	"                                when the connection is lost (default 1)\n"
	"      --buffer SECONDS          media kept while the network cannot take it;\n"
	"                                older GOPs are dropped whole (default 2)\n"
	"      --stats-interval SECONDS  per-subflow statistics period (default 1)\n"
	"      --stats FILE              also write the statistics as CSV to FILE\n"
	"  -v, --verbose                 more log lines (twice: libav* debug too)\n"
	"  -q, --quiet                   only warnings and errors\n"
	"  -h, --help                    show this help and exit\n"
	"  -V, --version                 show the version and exit\n"
	"\n"
	"Exit status: 0 done, 64 usage error, 66 input not readable, 69 server or\n"
	"uplink unavailable, 77 not permitted (uplinks need CAP_NET_ADMIN), 1 other.\n";

enum {
	OPT_LOOP = 256,
	OPT_PRESET,
	OPT_STATS,
	OPT_STATS_INTERVAL,
	OPT_CONNECT_TIMEOUT,
	OPT_RECONNECT,
	OPT_BUFFER,
	OPT_COPY,
	OPT_MIN_BITRATE,
	OPT_MAX_BITRATE,
	OPT_MAX_LATENCY,
};

static const struct option long_options[] = {
	{"uplink", required_argument, NULL, 'u'},
	{"input", required_argument, NULL, 'i'},
	{"loop", no_argument, NULL, OPT_LOOP},
	{"size", required_argument, NULL, 's'},
	{"fps", required_argument, NULL, 'r'},
	{"preset", required_argument, NULL, OPT_PRESET},
	{"bitrate", required_argument, NULL, 'b'},
	{"min-bitrate", required_argument, NULL, OPT_MIN_BITRATE},
	{"max-bitrate", required_argument, NULL, OPT_MAX_BITRATE},
	{"max-latency", required_argument, NULL, OPT_MAX_LATENCY},
	{"copy", no_argument, NULL, OPT_COPY},
	{"duration", required_argument, NULL, 'd'},
	{"connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT},
	{"reconnect", required_argument, NULL, OPT_RECONNECT},
	{"buffer", required_argument, NULL, OPT_BUFFER},
	{"stats-interval", required_argument, NULL, OPT_STATS_INTERVAL},
	{"stats", required_argument, NULL, OPT_STATS},
	{"verbose", no_argument, NULL, 'v'},
	{"quiet", no_argument, NULL, 'q'},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},
	{NULL, 0, NULL, 0},
};

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

int snd_parse_number(const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < min || v > max)
		return -EINVAL;
	*out = v;
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

static void defaults(struct snd_options *o)
{
	memset(o, 0, sizeof(*o));
	o->input = "test";
	o->width = 1280;
	o->height = 720;
	o->fps = 30;
	o->preset = "veryfast";
	o->bitrate = 2500000;
	o->min_bitrate = 300000;
	o->max_latency_ms = 1000;
	o->stats_interval_s = 1.0;
	o->connect_timeout_s = 10.0;
	o->reconnect = true;
	o->buffer_s = 2.0;
}

#define FAIL(...) SND_CLI_FAIL(err, errlen, __VA_ARGS__)

static enum snd_cli_result add_uplink(struct snd_options *o, const char *arg, char *err,
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
		FAIL("--uplink '%s': expected IFACE[:backup][,gw=A.B.C.D]", arg);
	for (size_t i = 0; i < o->n_uplinks; i++)
		if (strcmp(o->uplinks[i].ifname, spec->ifname) == 0)
			FAIL("uplink %s is named twice", spec->ifname);
	o->n_uplinks++;
	return SND_CLI_RUN;
}

/* min <= bitrate <= max; a bound given alone moves the default start inside it. */
static enum snd_cli_result check_rates(struct snd_options *o, bool bitrate_set, bool min_set,
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
	return SND_CLI_RUN;
}

enum snd_cli_result snd_cli_parse(int argc, char **argv, struct snd_options *o, char *err,
				  size_t errlen)
{
	bool bitrate_set = false, min_set = false;
	int c;

	defaults(o);
	err[0] = '\0';
	optind = 0; /* reset getopt (GNU): the tests parse many times */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":u:i:s:r:b:d:vqhV", long_options, NULL)) != -1) {
		switch (c) {
		case 'u':
			if (add_uplink(o, optarg, err, errlen) != SND_CLI_RUN)
				return SND_CLI_ERROR;
			break;
		case 'i':
			if (!*optarg)
				FAIL("--input: empty");
			o->input = optarg;
			break;
		case OPT_LOOP:
			o->loop = true;
			break;
		case 's':
			if (parse_size(optarg, &o->width, &o->height))
				FAIL("--size '%s': expected WxH, even, 16 to %d", optarg, MAX_SIZE);
			break;
		case 'r':
			if (parse_int(optarg, 1, MAX_FPS, &o->fps))
				FAIL("--fps '%s': expected 1 to %d", optarg, MAX_FPS);
			break;
		case OPT_PRESET:
			o->preset = optarg;
			break;
		case 'b':
			if (snd_parse_bitrate(optarg, &o->bitrate))
				FAIL("--bitrate '%s': expected a rate from 10k to 1000M", optarg);
			bitrate_set = true;
			break;
		case OPT_MIN_BITRATE:
			if (snd_parse_bitrate(optarg, &o->min_bitrate))
				FAIL("--min-bitrate '%s': expected a rate from 10k to 1000M",
				     optarg);
			min_set = true;
			break;
		case OPT_MAX_BITRATE:
			if (snd_parse_bitrate(optarg, &o->max_bitrate))
				FAIL("--max-bitrate '%s': expected a rate from 10k to 1000M",
				     optarg);
			break;
		case OPT_MAX_LATENCY:
			if (parse_int(optarg, 100, 60000, &o->max_latency_ms))
				FAIL("--max-latency '%s': expected 100 to 60000 ms", optarg);
			break;
		case OPT_COPY:
			o->copy = true;
			break;
		case 'd':
			if (snd_parse_number(optarg, 0.1, 1e7, &o->duration_s))
				FAIL("--duration '%s': expected seconds > 0", optarg);
			break;
		case OPT_CONNECT_TIMEOUT:
			if (snd_parse_number(optarg, 0.1, 3600, &o->connect_timeout_s))
				FAIL("--connect-timeout '%s': expected 0.1 to 3600 seconds",
				     optarg);
			break;
		case OPT_RECONNECT:
			if (strcmp(optarg, "0") && strcmp(optarg, "1"))
				FAIL("--reconnect '%s': expected 0 or 1", optarg);
			o->reconnect = optarg[0] == '1';
			break;
		case OPT_BUFFER:
			if (snd_parse_number(optarg, 0.1, 60, &o->buffer_s))
				FAIL("--buffer '%s': expected 0.1 to 60 seconds", optarg);
			break;
		case OPT_STATS_INTERVAL:
			if (snd_parse_number(optarg, 0.05, 3600, &o->stats_interval_s))
				FAIL("--stats-interval '%s': expected 0.05 to 3600 seconds",
				     optarg);
			break;
		case OPT_STATS:
			o->stats_path = optarg;
			break;
		case 'v':
			o->verbosity = o->verbosity < 0 ? 1 : o->verbosity + 1;
			break;
		case 'q':
			o->verbosity = -1;
			break;
		case 'h':
			return SND_CLI_HELP;
		case 'V':
			return SND_CLI_VERSION;
		case ':':
			FAIL("option '%s' needs a value", argv[optind - 1]);
		default:
			FAIL("unknown option '%s' (see --help)", argv[optind - 1]);
		}
	}
	if (optind == argc)
		FAIL("no URL given (see --help)");
	if (argc - optind > 1) {
		char shown[512];

		/* It may be a second URL: its key must not show either. */
		snd_url_redacted(argv[optind + 1], shown, sizeof(shown));
		FAIL("one URL only; unexpected '%s'", shown);
	}
	o->url = argv[optind];
	if (snd_url_check(o->url)) {
		char shown[512];

		snd_url_redacted(o->url, shown, sizeof(shown));
		FAIL("malformed URL '%s': expected rtmp://HOST[:PORT]/APP/KEY or rtmps://...",
		     shown);
	}
	if (o->loop && strcmp(o->input, "test") == 0)
		FAIL("--loop applies to a file input");
	if (o->copy && strcmp(o->input, "test") == 0)
		FAIL("--copy applies to a file input");
	return check_rates(o, bitrate_set, min_set, err, errlen);
}
