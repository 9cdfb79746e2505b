// SPDX-License-Identifier: MIT
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "cli.h"
#include "input.h"

#define URL "rtmp://ingest.example/live/SECRETK"

/* Parse a NULL-terminated list of arguments after "mpstream". */
static enum mps_args_result vparse(struct snd_options *o, char *err, size_t errlen, va_list ap)
{
	char *argv[32] = {"mpstream"};
	int argc = 1;

	for (char *a; (a = va_arg(ap, char *)) && argc < 31;)
		argv[argc++] = a;
	return snd_cli_parse(argc, argv, o, err, errlen);
}

static enum mps_args_result parse(struct snd_options *o, char *err, ...)
{
	enum mps_args_result r;
	va_list ap;

	va_start(ap, err);
	r = vparse(o, err, 256, ap);
	va_end(ap);
	return r;
}

static void test_defaults(void **state)
{
	struct snd_options o;
	char err[256];

	assert_int_equal(parse(&o, err, URL, NULL), MPS_ARGS_RUN);
	assert_string_equal(o.input, "test");
	assert_int_equal(o.width, 1280);
	assert_int_equal(o.height, 720);
	assert_int_equal(o.fps, 30);
	assert_string_equal(o.preset, "veryfast");
	assert_string_equal(o.congestion, "cubic");
	assert_int_equal(o.bitrate, 2500000);
	assert_int_equal(o.min_bitrate, 300000);
	assert_int_equal(o.max_bitrate, 5000000);
	assert_int_equal(o.max_latency_ms, 1000);
	assert_true(o.max_latency_auto);
	assert_false(o.copy);
	assert_true(o.stats_interval_s == 1.0);
	assert_true(o.duration_s == 0);
	assert_int_equal(o.n_uplinks, 0);
	assert_string_equal(o.url, URL);
}

static void test_all_options(void **state)
{
	struct snd_options o;
	char err[256];

	assert_int_equal(parse(&o, err, "--uplink", "eth0", "-u", "wwan0,gw=10.0.0.1", "--input",
			       "clip.mp4", "--loop", "--size", "640x360", "--fps", "25", "--preset",
			       "ultrafast", "--bitrate", "1.5M", "--duration", "12.5",
			       "--stats-interval", "0.5", "--stats", "s.csv", "--trace", "t.csv",
			       "--connect-timeout", "3", "--congestion", "bbr", "-v", URL, NULL),
			 MPS_ARGS_RUN);
	assert_int_equal(o.n_uplinks, 2);
	assert_string_equal(o.uplinks[0].ifname, "eth0");
	assert_false(o.uplinks[0].gw[RT_V4].family);
	assert_string_equal(o.uplinks[1].ifname, "wwan0");
	assert_int_equal(o.uplinks[1].gw[RT_V4].family, AF_INET);
	assert_int_equal(o.uplinks[1].gw[RT_V4].v4.s_addr, inet_addr("10.0.0.1"));
	assert_string_equal(o.input, "clip.mp4");
	assert_true(o.loop);
	assert_int_equal(o.width, 640);
	assert_int_equal(o.height, 360);
	assert_int_equal(o.fps, 25);
	assert_string_equal(o.preset, "ultrafast");
	assert_int_equal(o.bitrate, 1500000);
	assert_true(o.duration_s == 12.5);
	assert_true(o.stats_interval_s == 0.5);
	assert_string_equal(o.stats_path, "s.csv");
	assert_string_equal(o.trace_path, "t.csv");
	assert_true(o.connect_timeout_s == 3);
	assert_string_equal(o.congestion, "bbr");
	assert_int_equal(o.verbosity, 1);
}

/* Rate control's bounds: the start must lie within them; a bound alone moves the default. */
static void test_rates(void **state)
{
	struct snd_options o;
	char err[256];

	assert_int_equal(parse(&o, err, "-i", "a.mp4", "--copy", "--min-bitrate", "1M",
			       "--max-bitrate", "8M", "--max-latency", "700", URL, NULL),
			 MPS_ARGS_RUN);
	assert_true(o.copy);
	assert_int_equal(o.min_bitrate, 1000000);
	assert_int_equal(o.max_bitrate, 8000000);
	assert_int_equal(o.bitrate, 2500000);
	assert_int_equal(o.max_latency_ms, 700);
	assert_false(o.max_latency_auto);
	assert_int_equal(parse(&o, err, "--max-latency", "auto", URL, NULL), MPS_ARGS_RUN);
	assert_true(o.max_latency_auto);
	assert_int_equal(o.max_latency_ms, 1000);
	assert_int_equal(parse(&o, err, "--max-bitrate", "1M", URL, NULL), MPS_ARGS_RUN);
	assert_int_equal(o.bitrate, 1000000);
	assert_int_equal(parse(&o, err, "--min-bitrate", "4M", URL, NULL), MPS_ARGS_RUN);
	assert_int_equal(o.bitrate, 4000000);
	assert_int_equal(o.max_bitrate, 5000000);
	/* A low --bitrate lowers the default floor with it. */
	assert_int_equal(parse(&o, err, "-b", "200k", URL, NULL), MPS_ARGS_RUN);
	assert_int_equal(o.min_bitrate, 200000);
	assert_int_equal(o.max_bitrate, 400000);
	/* Equal bounds: a fixed rate. */
	assert_int_equal(
		parse(&o, err, "-b", "3M", "--min-bitrate", "3M", "--max-bitrate", "3M", URL, NULL),
		MPS_ARGS_RUN);
	assert_int_equal(o.min_bitrate, o.max_bitrate);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

/* --config: every option by its long name, [uplink NAME] sections; the command line wins. */
static void test_config(void **state)
{
	char path[] = "/tmp/mps-cli-XXXXXX";
	struct snd_options o;
	char err[512];
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	close(fd);
	write_file(path,
		   "# a van with two modems\n"
		   "url = rtmp://ingest.example/live/FILEKEY\n"
		   "input = clip.mp4\n"
		   "loop = yes\n"
		   "bitrate = 4M\n"
		   "max-latency = 800\n"
		   "copy = no\n"
		   "verbose = yes\n"
		   "http = 0.0.0.0:8080\n"
		   "standby = yes\n"
		   "\n"
		   "[uplink eth0]\n"
		   "[uplink wwan0]\n"
		   "gw = 10.0.0.1\n"
		   "backup = yes\n"
		   "apn = internet.example-1\n",
		   0600);
	assert_int_equal(parse(&o, err, "--config", path, NULL), MPS_ARGS_RUN);
	assert_string_equal(o.url, "rtmp://ingest.example/live/FILEKEY");
	assert_string_equal(o.input, "clip.mp4");
	assert_true(o.loop);
	assert_false(o.copy);
	assert_int_equal(o.bitrate, 4000000);
	assert_int_equal(o.max_bitrate, 8000000);
	assert_int_equal(o.max_latency_ms, 800);
	assert_false(o.max_latency_auto);
	assert_int_equal(o.verbosity, 1);
	assert_true(o.http);
	assert_int_equal(ntohs(((struct sockaddr_in *)&o.http_listen)->sin_port), 8080);
	assert_true(o.standby);
	assert_int_equal(o.n_uplinks, 2);
	assert_string_equal(o.uplinks[0].ifname, "eth0");
	assert_false(o.uplinks[0].backup);
	assert_string_equal(o.uplinks[1].ifname, "wwan0");
	assert_true(o.uplinks[1].backup);
	assert_int_equal(o.uplinks[1].gw[RT_V4].family, AF_INET);
	assert_int_equal(o.uplinks[1].gw[RT_V4].v4.s_addr, inet_addr("10.0.0.1"));
	assert_false(o.config_exposes_key);
	assert_string_equal(snd_options_apn(&o, "wwan0"), "internet.example-1");
	assert_null(snd_options_apn(&o, "eth0"));

	/* The command line overrides, wherever --config stands; its uplinks replace the file's. */
	assert_int_equal(parse(&o, err, "-b", "2M", "--config", path, "-u", "eth9", URL, NULL),
			 MPS_ARGS_RUN);
	assert_int_equal(o.bitrate, 2000000);
	assert_int_equal(o.n_uplinks, 1);
	assert_string_equal(o.uplinks[0].ifname, "eth9");
	assert_string_equal(snd_options_apn(&o, "wwan0"), "internet.example-1");
	assert_string_equal(o.url, URL);
	assert_string_equal(o.input, "clip.mp4");

	chmod(path, 0644);
	assert_int_equal(parse(&o, err, "--config", path, NULL), MPS_ARGS_RUN);
	assert_true(o.config_exposes_key);

	/* Errors name the file, the line and the key. */
	struct {
		const char *text, *want;
	} bad[] = {
		{"bitrate = 4M\nfrobnicate = 1\n", ":2: unknown key 'frobnicate'"},
		{"\n\nbitrate = fast\n", ":3: key 'bitrate': --bitrate 'fast'"},
		{"loop = maybe\n", ":1: key 'loop': expected yes or no"},
		{"uplink = eth0\n",
		 ":1: unknown key 'uplink' (uplinks are [uplink NAME] sections)"},
		{"[uplink eth0]\nmtu = 3\n",
		 ":2: unknown key 'mtu' in [uplink eth0] (gw, backup, cc, apn)"},
		{"[uplink eth0]\ngw = 300.1.1.1\n", ":2: key 'gw' in [uplink eth0]"},
		{"[uplink wwan0]\napn = my apn\n", ":2: key 'apn' in [uplink wwan0]: expected"},
		{"[uplink wwan0]\napn = a\napn = b\n",
		 ":3: key 'apn' in [uplink wwan0] given twice (first on line 2)"},
		{"[server]\nhost = x\n", ":2: unknown section [server]"},
		{"url = http://example/live/SECRETK\n", ":1: key 'url': expected rtmp://"},
		{"config = /etc/other.conf\n", ":1: unknown key 'config'"},
		{"this is not ini\n", ":1: not an INI line"},
		{"bitrate = 4M\nfps = 25\n\nbitrate = 5M\n",
		 ":4: key 'bitrate' given twice (first on line 1)"},
		{"[uplink eth0]\nbackup = yes\n[uplink eth1]\n[uplink eth0]\nbackup = no\n",
		 ":5: key 'backup' in [uplink eth0] given twice (first on line 2)"},
		{"[uplink eth0]\ngw = 10.0.0.1\ngw = 10.0.0.2\n",
		 ":3: key 'gw' in [uplink eth0] given twice for IPv4 (first on line 2)"},
		{"[uplink a]\n[uplink b]\n[uplink c]\n[uplink d]\n[uplink e]\n[uplink f]\n"
		 "[uplink g]\n[uplink h]\n[uplink i]\n",
		 ":9: [uplink i]: at most 8 uplinks"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char want[600];

		write_file(path, bad[i].text, 0600);
		assert_int_equal(parse(&o, err, "--config", path, URL, NULL), MPS_ARGS_ERROR);
		snprintf(want, sizeof(want), "%s%s", path, bad[i].want);
		if (strncmp(err, want, strlen(want)) != 0)
			fail_msg("config %zu: got '%s', want '%s...'", i, err, want);
		assert_null(strstr(err, "SECRETK"));
	}
	/* A line longer than libinih's buffer is refused whole, with its own number. */
	{
		char text[1024];

		snprintf(text, sizeof(text), "bitrate = 4M\n# %0300d [uplink eth1]\nduration = 2\n",
			 0);
		write_file(path, text, 0600);
		assert_int_equal(parse(&o, err, "--config", path, URL, NULL), MPS_ARGS_ERROR);
		assert_non_null(strstr(err, ":2: a line longer than"));
	}
	/* Binary garbage: no control byte of it in the error line. */
	write_file(path,
		   "\x1b[2J\x07"
		   "bell = 1\n",
		   0600);
	assert_int_equal(parse(&o, err, "--config", path, URL, NULL), MPS_ARGS_ERROR);
	for (const char *c = err; *c; c++)
		assert_true((unsigned char)*c >= 0x20 && *c != 0x7f);
	unlink(path);
	assert_int_equal(parse(&o, err, "--config", path, URL, NULL), MPS_ARGS_NOINPUT);
	assert_non_null(strstr(err, "No such file"));
	/* A directory is no config file. */
	assert_int_equal(parse(&o, err, "--config", "/tmp", URL, NULL), MPS_ARGS_NOINPUT);
	assert_non_null(strstr(err, "Is a directory"));
}

/* What a config file may be: bounded, no NUL byte, a file or a pipe, never a device. */
static void test_config_bounds(void **state)
{
	static const char nul[] = "fps = 25\nrecord = /tmp/a\0b.mkv\n";
	char path[] = "/tmp/mps-cli-XXXXXX", err[512];
	struct snd_options o;
	FILE *f;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	/* A NUL inside a value cut it silently ("/tmp/a"). */
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(nul, 1, sizeof(nul) - 1, f), sizeof(nul) - 1);
	fclose(f);
	assert_int_equal(parse(&o, err, "--config", path, URL, NULL), MPS_ARGS_ERROR);
	assert_non_null(strstr(err, ":2: a NUL byte"));
	/* One gateway of each family is no duplicate. */
	write_file(path, "[uplink eth0]\ngw = 10.0.0.1\ngw = fe80::1\n", 0600);
	assert_int_equal(parse(&o, err, "--config", path, URL, NULL), MPS_ARGS_RUN);
	/* Over 64 KiB: not a config file, read no further. */
	f = fopen(path, "w");
	assert_non_null(f);
	for (int i = 0; i < 1100; i++)
		fprintf(f, "# %060d\n", i);
	fclose(f);
	assert_int_equal(parse(&o, err, "--config", path, URL, NULL), MPS_ARGS_NOINPUT);
	assert_non_null(strstr(err, "larger than 64 KiB"));
	unlink(path);
	/* /dev/zero spun at 100 % for ever (alarm: a hang fails the test). */
	alarm(10);
	assert_int_equal(parse(&o, err, "--config", "/dev/zero", URL, NULL), MPS_ARGS_NOINPUT);
	alarm(0);
	assert_non_null(strstr(err, "/dev/zero: not a regular file"));
}

static void test_help_version(void **state)
{
	struct snd_options o;
	char err[256];

	assert_int_equal(parse(&o, err, "--help", NULL), MPS_ARGS_HELP);
	assert_int_equal(parse(&o, err, "-V", NULL), MPS_ARGS_VERSION);
}

/*
 * One table drives getopt, --help and the config file: every option --help
 * names is a key of the file, but for the four that only the command line
 * takes (config, uplink, help, version).
 */
static void test_help_is_config(void **state)
{
	static const char *const cli_only[] = {"config", "uplink", "help", "version"};
	char path[] = "/tmp/mps-cli-XXXXXX", *help = NULL, *p;
	size_t help_len = 0, n_options = 0;
	struct snd_options o;
	char err[512];
	FILE *f = open_memstream(&help, &help_len);
	int fd = mkstemp(path);

	assert_non_null(f);
	assert_true(fd >= 0);
	close(fd);
	snd_cli_usage(f);
	fclose(f);
	assert_non_null(
		strstr(help, "\n  -V, --version                 show the version and exit\n"));
	for (p = help; (p = strstr(p, "\n  ")); p++) {
		char name[64], text[96];
		bool only = false;

		/* An option's line: "  -x, --name" or "      --name" (help lines are deeper). */
		if (strlen(p) < 8 || sscanf(p + 7, "--%63[a-z-]", name) != 1)
			continue;
		for (size_t i = 0; i < sizeof(cli_only) / sizeof(cli_only[0]); i++)
			only |= !strcmp(name, cli_only[i]);
		snprintf(text, sizeof(text), "%s = \001\n", name);
		write_file(path, text, 0600);
		/* A bad value is refused, but the key is known (a file name is taken). */
		if (parse(&o, err, "--config", path, URL, NULL) == MPS_ARGS_RUN)
			err[0] = '\0';
		if (!strstr(err, "unknown key") != !only)
			fail_msg("key '%s': %s", name, err);
		n_options++;
	}
	assert_int_equal(n_options, 38);
	unlink(path);
	free(help);
}

/* The keys of an [uplink IFACE] section, as --help lists them (its "  KEY =" lines), in @names. */
static size_t help_uplink_keys(char names[][16], size_t max)
{
	char *help = NULL, *p;
	size_t help_len = 0, n = 0;
	FILE *f = open_memstream(&help, &help_len);

	assert_non_null(f);
	snd_cli_usage(f);
	fclose(f);
	p = strstr(help, "\nKeys of an [uplink IFACE] section of the --config file:\n");
	assert_non_null(p);
	for (p = strchr(p + 1, '\n'); p && p[1] != '\n' && n < max; p = strchr(p + 1, '\n')) {
		char eq;

		if (sscanf(p + 1, "  %15[a-z-] %c", names[n], &eq) == 2 && eq == '=' &&
		    p[1] == ' ' && p[2] == ' ' && p[3] != ' ')
			n++;
	}
	free(help);
	return n;
}

/*
 * Each key of an [uplink IFACE] section (the rows --help lists): a good value
 * is applied, a bad one is one line naming the file, the line and the key
 * (MPS_ARGS_ERROR: exit status 64, as --help says), and a key not in the
 * table is unknown, the known ones named.
 */
static void test_uplink_keys(void **state)
{
	static const struct {
		const char *key, *good, *bad;
	} keys[] = {
		{"gw", "fe80::1", "10.0.0.300"},
		{"backup", "on", "sometimes"},
		{"cc", "bbr", "BBR"},
		{"apn", "internet.example", "no spaces"},
	};
	char names[8][16], path[] = "/tmp/mps-cli-XXXXXX", text[128], err[512], want[256];
	struct snd_options o;
	size_t n = help_uplink_keys(names, 8);
	int fd = mkstemp(path);
	char *help = NULL;
	size_t help_len = 0;
	FILE *f;

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	/* --help lists these and only these: a new row without a case here fails. */
	assert_int_equal(n, sizeof(keys) / sizeof(keys[0]));
	for (size_t i = 0; i < n; i++)
		assert_string_equal(names[i], keys[i].key);
	for (size_t i = 0; i < n; i++) {
		snprintf(text, sizeof(text), "[uplink wwan0]\n%s = %s\n", keys[i].key,
			 keys[i].good);
		write_file(path, text, 0600);
		if (parse(&o, err, "--config", path, URL, NULL) != MPS_ARGS_RUN)
			fail_msg("%s = %s: %s", keys[i].key, keys[i].good, err);
		assert_int_equal(o.n_uplinks, 1);
		assert_string_equal(o.uplinks[0].ifname, "wwan0");
		snprintf(text, sizeof(text), "[uplink wwan0]\n%s = %s\n", keys[i].key, keys[i].bad);
		write_file(path, text, 0600);
		assert_int_equal(parse(&o, err, "--config", path, URL, NULL), MPS_ARGS_ERROR);
		snprintf(want, sizeof(want), "%s:2: key '%s' in [uplink wwan0]: expected ", path,
			 keys[i].key);
		if (strncmp(err, want, strlen(want)) || strchr(err, '\n'))
			fail_msg("%s = %s: got '%s', want one line '%s...'", keys[i].key,
				 keys[i].bad, err, want);
	}
	/* What each good value did. */
	write_file(path,
		   "[uplink wwan0]\ngw = fe80::1\ngw = 10.64.0.1\nbackup = on\ncc = bbr\n"
		   "apn = internet\n",
		   0600);
	assert_int_equal(parse(&o, err, "--config", path, URL, NULL), MPS_ARGS_RUN);
	assert_int_equal(o.uplinks[0].gw[RT_V6].family, AF_INET6);
	assert_int_equal(o.uplinks[0].gw[RT_V4].v4.s_addr, inet_addr("10.64.0.1"));
	assert_true(o.uplinks[0].backup);
	assert_string_equal(o.uplinks[0].cc, "bbr");
	assert_string_equal(snd_options_apn(&o, "wwan0"), "internet");
	assert_null(snd_options_apn(&o, "eth0"));
	/* A key no row has. */
	write_file(path, "[uplink wwan0]\nbackup = no\nmetric = 5\n", 0600);
	assert_int_equal(parse(&o, err, "--config", path, URL, NULL), MPS_ARGS_ERROR);
	snprintf(want, sizeof(want),
		 "%s:3: unknown key 'metric' in [uplink wwan0] (gw, backup, cc, apn)", path);
	assert_string_equal(err, want);
	/* The exit status of such an error, as --help tells it. */
	f = open_memstream(&help, &help_len);
	assert_non_null(f);
	snd_cli_usage(f);
	fclose(f);
	assert_non_null(
		strstr(help, "64 usage error (a bad option, or a bad line of the\n--config file)"));
	free(help);
	unlink(path);
}

static void expect_error(const char *needle, ...)
{
	struct snd_options o;
	char err[256];
	va_list ap;
	enum mps_args_result r;

	va_start(ap, needle);
	r = vparse(&o, err, sizeof(err), ap);
	va_end(ap);
	assert_int_equal(r, MPS_ARGS_ERROR);
	if (!strstr(err, needle))
		fail_msg("error '%s' does not mention '%s'", err, needle);
	if (strstr(err, "SECRETK")) /* the key never shows, even in usage errors */
		fail_msg("'%s' shows the key", err);
}

static void test_errors(void **state)
{
	expect_error("no URL", NULL);
	expect_error("named twice", "-u", "eth0", "-u", "eth0", URL, NULL);
	expect_error("IFACE", "-u", "eth0,gw=300.1.1.1", URL, NULL);
	expect_error("IFACE", "-u", "eth0,mtu=3", URL, NULL);
	expect_error("IFACE", "-u", "", URL, NULL);
	expect_error("too long", "-u", "averyveryverylongname", URL, NULL);
	expect_error("--bitrate", "-b", "fast", URL, NULL);
	expect_error("--congestion 'x y'", "--congestion", "x y", URL, NULL);
	expect_error("--congestion ''", "--congestion", "", URL, NULL);
	expect_error("--congestion 'averyveryverylongname'", "--congestion",
		     "averyveryverylongname", URL, NULL);
	expect_error("--bitrate", "-b", "5", URL, NULL);
	expect_error("--size", "-s", "641x360", URL, NULL);
	expect_error("--size", "-s", "1280", URL, NULL);
	expect_error("--fps", "-r", "0", URL, NULL);
	expect_error("--duration", "-d", "-3", URL, NULL);
	expect_error("unknown option", "--frobnicate", URL, NULL);
	expect_error("needs a value", URL, "--bitrate", NULL);
	expect_error("option '-b' needs a value", URL, "-b", NULL);
	expect_error("unknown option '-x' (see --help)", "-x", URL, NULL);
	expect_error("unknown option '--loop=1'", "--loop=1", URL, NULL);
	expect_error("--fps '241': expected 1 to 240", "--fps", "241", URL, NULL);
	expect_error("--fps '30.5': expected 1 to 240", "--fps", "30.5", URL, NULL);
	expect_error("--input-timeout '99': expected 100 to 60000 ms", "--input-timeout", "99", URL,
		     NULL);
	expect_error("--buffer '0': expected 0.1 to 60 seconds", "--buffer", "0", URL, NULL);
	expect_error("--input: empty", "--input", "", URL, NULL);
	expect_error("one URL only", URL, URL, NULL);
	expect_error("malformed URL", "http://example/live/SECRETK", NULL);
	expect_error("malformed URL", "rtmp://host/SECRETK", NULL);
	expect_error("malformed URL", "rtmp:///live/SECRETK", NULL);
	expect_error("malformed URL", "rtmp://host:99999/live/SECRETK", NULL);
	expect_error("--loop", "--loop", URL, NULL);
	expect_error("--copy applies to a file or a live input", "--copy", URL, NULL);
	expect_error("is above --max-bitrate", "--min-bitrate", "5M", "--max-bitrate", "2M", URL,
		     NULL);
	expect_error("is outside", "-b", "9M", "--max-bitrate", "8M", URL, NULL);
	expect_error("is outside", "-b", "1M", "--min-bitrate", "2M", URL, NULL);
	expect_error("--min-bitrate", "--min-bitrate", "x", URL, NULL);
	expect_error("--max-latency", "--max-latency", "50", URL, NULL);
	expect_error("--standby needs --http", "--standby", URL, NULL);
	expect_error("--http-token-file applies with --http", "--http-token-file", "t", URL, NULL);
	expect_error("--http '1.2.3:80'", "--http", "1.2.3:80", URL, NULL);
	expect_error("--http '0'", "--http", "0", URL, NULL);
}

/* --http: 127.0.0.1 unless an address is given; standby and the token file with it. */
/* What --input names, and the options of a live input. */
static void test_live_input(void **state)
{
	struct snd_options o;
	char err[256];

	(void)state;
	assert_int_equal(mps_input_kind("test"), MPS_INPUT_TEST);
	assert_int_equal(mps_input_kind("clip.mp4"), MPS_INPUT_FILE);
	assert_int_equal(mps_input_kind("/videos/a:b.mp4"), MPS_INPUT_FILE);
	assert_int_equal(mps_input_kind("http://host/clip.mp4"), MPS_INPUT_FILE);
	assert_int_equal(mps_input_kind("srt://:9000?mode=listener"), MPS_INPUT_LIVE);
	assert_int_equal(mps_input_kind("udp://@:5000"), MPS_INPUT_LIVE);
	assert_int_equal(mps_input_kind("RTMP://0.0.0.0:1936/live/cam"), MPS_INPUT_LIVE);
	assert_int_equal(mps_input_kind("v4l2:/dev/video0?size=1280x720"), MPS_INPUT_LIVE);
	assert_int_equal(mps_input_kind("alsa:hw:1,0"), MPS_INPUT_LIVE);
	assert_int_equal(mps_input_kind("lavfi:testsrc2=size=640x360"), MPS_INPUT_LIVE);
	/* A format name that is not a device is a file's name. */
	assert_int_equal(mps_input_kind("notes:today.mp4"), MPS_INPUT_FILE);
	assert_int_equal(mps_audio_kind(NULL), MPS_AUDIO_INPUT);
	assert_int_equal(mps_audio_kind("tone"), MPS_AUDIO_TONE);
	assert_int_equal(mps_audio_kind("none"), MPS_AUDIO_NONE);
	assert_int_equal(mps_audio_kind("pulse:mic"), MPS_AUDIO_SOURCE);

	assert_int_equal(parse(&o, err, URL, NULL), MPS_ARGS_RUN);
	assert_null(o.audio);
	assert_int_equal(o.input_timeout_ms, 500);
	assert_int_equal(o.av_offset_ms, 0);
	assert_null(o.slate);
	assert_int_equal(parse(&o, err, "-i", "srt://:9000?mode=listener", "--audio", "alsa:hw:1,0",
			       "--input-timeout", "800", "--av-offset", "-120", "--slate",
			       "away.png", URL, NULL),
			 MPS_ARGS_RUN);
	assert_string_equal(o.audio, "alsa:hw:1,0");
	assert_int_equal(o.input_timeout_ms, 800);
	assert_int_equal(o.av_offset_ms, -120);
	assert_string_equal(o.slate, "away.png");
	expect_error("--audio 'mic.wav'", "-i", "udp://@:5000", "--audio", "mic.wav", URL, NULL);
	expect_error("--av-offset '2500'", "-i", "udp://@:5000", "--av-offset", "2500", URL, NULL);
	expect_error("--input-timeout '50'", "-i", "udp://@:5000", "--input-timeout", "50", URL,
		     NULL);
	expect_error("--audio applies to a live input", "--audio", "tone", URL, NULL);
	expect_error("--slate applies to a live input", "-i", "clip.mp4", "--slate", "a.png", URL,
		     NULL);
	expect_error("--av-offset applies to a live input", "--av-offset", "100", URL, NULL);
	expect_error("--loop applies to a file input", "-i", "udp://@:5000", "--loop", URL, NULL);
	assert_int_equal(
		parse(&o, err, "-i", "udp://@:5000", "--copy", "--record", "a.flv", URL, NULL),
		MPS_ARGS_RUN);
	assert_true(o.copy);
	expect_error("--record with --copy of a live input: .flv", "-i", "udp://@:5000", "--copy",
		     "--record", "a.ts", URL, NULL);
}

/* --encoder and --record. */
static void test_encoder_record(void **state)
{
	struct snd_options o;
	char err[256];

	(void)state;
	assert_int_equal(parse(&o, err, URL, NULL), MPS_ARGS_RUN);
	assert_string_equal(o.encoder, "libx264");
	assert_null(o.record);
	assert_int_equal(parse(&o, err, "--encoder", "h264_vaapi", "--record",
			       "/var/lib/mpstream/%Y%m%d-%H%M%S.mkv", URL, NULL),
			 MPS_ARGS_RUN);
	assert_string_equal(o.encoder, "h264_vaapi");
	assert_string_equal(o.record, "/var/lib/mpstream/%Y%m%d-%H%M%S.mkv");
	/* --preset is libx264's own; with it, as before. */
	assert_int_equal(parse(&o, err, "--encoder", "libx264", "--preset", "fast", URL, NULL),
			 MPS_ARGS_RUN);
	expect_error("--preset is libx264's and libx265's", "--encoder", "h264_nvenc", "--preset",
		     "fast", URL, NULL);
	expect_error("--encoder 'H264 VAAPI'", "--encoder", "H264 VAAPI", URL, NULL);
	expect_error("--encoder ''", "--encoder", "", URL, NULL);
	expect_error("--encoder does not apply with --copy", "-i", "clip.mp4", "--copy",
		     "--encoder", "h264_vaapi", URL, NULL);
	expect_error("--record: empty", "--record", "", URL, NULL);
}

/* --codec: h264 by default; hevc makes libx265 the default encoder, an explicit one stays. */
static void test_codec(void **state)
{
	struct snd_options o;
	char err[256];

	(void)state;
	assert_int_equal(parse(&o, err, URL, NULL), MPS_ARGS_RUN);
	assert_string_equal(o.codec, "h264");
	assert_int_equal(parse(&o, err, "--codec", "hevc", "--preset", "superfast", URL, NULL),
			 MPS_ARGS_RUN);
	assert_string_equal(o.codec, "hevc");
	assert_string_equal(o.encoder, "libx265");
	assert_int_equal(parse(&o, err, "--codec", "hevc", "--encoder", "hevc_vaapi", URL, NULL),
			 MPS_ARGS_RUN);
	assert_string_equal(o.encoder, "hevc_vaapi");
	assert_int_equal(parse(&o, err, "--codec", "auto", URL, NULL), MPS_ARGS_RUN);
	assert_string_equal(o.encoder, "libx264");
	assert_int_equal(parse(&o, err, "-i", "clip.mkv", "--copy", "--codec", "hevc", URL, NULL),
			 MPS_ARGS_RUN);
	/*
	 * A live input's copy passes what --codec says (auto: H.264); HEVC's
	 * recording keeps the parameter sets in each keyframe: .mkv or .ts.
	 */
	assert_int_equal(
		parse(&o, err, "-i", "udp://@:5000", "--copy", "--codec", "hevc", URL, NULL),
		MPS_ARGS_RUN);
	assert_int_equal(parse(&o, err, "-i", "srt://:9000?mode=listener", "--copy", "--codec",
			       "hevc", "--record", "cam.mkv", URL, NULL),
			 MPS_ARGS_RUN);
	expect_error("--record with --copy of a live HEVC input: .mkv or .ts", "-i", "udp://@:5000",
		     "--copy", "--codec", "hevc", "--record", "cam.mp4", URL, NULL);
	assert_int_equal(parse(&o, err, "-i", "udp://@:5000", "--copy", "--codec", "hevc",
			       "--record", "cam.ts", URL, NULL),
			 MPS_ARGS_RUN);
	expect_error("FLV takes no HEVC here", "-i", "udp://@:5000", "--copy", "--codec", "hevc",
		     "--record", "cam.flv", URL, NULL);
	expect_error("--record with --copy of a live input: .flv", "-i", "udp://@:5000", "--copy",
		     "--record", "cam.mkv", URL, NULL);
	expect_error("--record with --copy of a live input: .flv", "-i", "udp://@:5000", "--copy",
		     "--codec", "auto", "--record", "cam.mkv", URL, NULL);
	assert_int_equal(
		parse(&o, err, "-i", "udp://@:5000", "--copy", "--codec", "auto", URL, NULL),
		MPS_ARGS_RUN);
	assert_int_equal(parse(&o, err, "-i", "udp://@:5000", "--codec", "hevc", URL, NULL),
			 MPS_ARGS_RUN);
	expect_error("--codec 'h265': expected h264, hevc or auto", "--codec", "h265", URL, NULL);
	expect_error("FLV takes no HEVC here", "--codec", "hevc", "--record", "a.flv", URL, NULL);
	expect_error("--preset is libx264's and libx265's", "--codec", "hevc", "--encoder",
		     "hevc_nvenc", "--preset", "fast", URL, NULL);
}

/* rtmps://: --ca and --insecure. */
static void test_tls(void **state)
{
	struct snd_options o;
	char err[256];

	(void)state;
	assert_int_equal(parse(&o, err, "rtmps://h/live/SECRETK", NULL), MPS_ARGS_RUN);
	assert_null(o.ca_file);
	assert_false(o.insecure);
	assert_int_equal(parse(&o, err, "--ca", "/etc/ca.pem", "rtmps://h/live/SECRETK", NULL),
			 MPS_ARGS_RUN);
	assert_string_equal(o.ca_file, "/etc/ca.pem");
	assert_int_equal(parse(&o, err, "--insecure", "rtmps://h/live/SECRETK", NULL),
			 MPS_ARGS_RUN);
	assert_true(o.insecure);
	expect_error("--ca applies to an rtmps:// URL", "--ca", "/etc/ca.pem", URL, NULL);
	expect_error("--insecure applies to an rtmps:// URL", "--insecure", URL, NULL);
	expect_error("one or the other", "--ca", "a.pem", "--insecure", "rtmps://h/live/SECRETK",
		     NULL);
	expect_error("--ca: empty", "--ca", "", "rtmps://h/live/SECRETK", NULL);
}

static void test_http(void **state)
{
	struct snd_options o;
	const struct sockaddr_in *v4 = (const struct sockaddr_in *)&o.http_listen;
	const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)&o.http_listen;
	char err[256];

	assert_int_equal(parse(&o, err, URL, NULL), MPS_ARGS_RUN);
	assert_false(o.http);
	assert_false(o.standby);
	assert_null(o.http_token_file);
	assert_int_equal(parse(&o, err, "--http", "8080", "--standby", URL, NULL), MPS_ARGS_RUN);
	assert_true(o.http);
	assert_true(o.standby);
	assert_int_equal(o.http_listen.ss_family, AF_INET);
	assert_int_equal(v4->sin_addr.s_addr, htonl(INADDR_LOOPBACK));
	assert_int_equal(ntohs(v4->sin_port), 8080);
	assert_int_equal(
		parse(&o, err, "--http", "0.0.0.0:80", "--http-token-file", "/etc/t", URL, NULL),
		MPS_ARGS_RUN);
	assert_int_equal(v4->sin_addr.s_addr, htonl(INADDR_ANY));
	assert_string_equal(o.http_token_file, "/etc/t");
	assert_false(o.standby);
	/* IPv6: loopback, and every address of both families. */
	assert_int_equal(parse(&o, err, "--http", "[::1]:8080", URL, NULL), MPS_ARGS_RUN);
	assert_int_equal(o.http_listen.ss_family, AF_INET6);
	assert_true(IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr));
	assert_int_equal(ntohs(v6->sin6_port), 8080);
	assert_int_equal(parse(&o, err, "--http", "[::]:8081", URL, NULL), MPS_ARGS_RUN);
	assert_true(IN6_IS_ADDR_UNSPECIFIED(&v6->sin6_addr));
	assert_int_equal(ntohs(v6->sin6_port), 8081);
	assert_int_equal(parse(&o, err, "--metrics", "[::1]:9099", URL, NULL), MPS_ARGS_RUN);
	assert_int_equal(o.metrics_listen.ss_family, AF_INET6);
	assert_int_equal(parse(&o, err, "--metrics", "9099", URL, NULL), MPS_ARGS_RUN);
	assert_int_equal(o.metrics_listen.ss_family, AF_INET);
	expect_error("--http '::1:8080': expected [ADDR:]PORT", "--http", "::1:8080", URL, NULL);
	expect_error("--http '[::1]': expected [ADDR:]PORT", "--http", "[::1]", URL, NULL);
}

static void test_bitrate(void **state)
{
	int64_t v;

	assert_int_equal(snd_parse_bitrate("2500k", &v), 0);
	assert_int_equal(v, 2500000);
	assert_int_equal(snd_parse_bitrate("4M", &v), 0);
	assert_int_equal(v, 4000000);
	assert_int_equal(snd_parse_bitrate("300000", &v), 0);
	assert_int_equal(v, 300000);
	assert_int_equal(snd_parse_bitrate("2.5m", &v), 0);
	assert_int_equal(v, 2500000);
	assert_int_equal(snd_parse_bitrate("9k", &v), -ERANGE);
	assert_int_equal(snd_parse_bitrate("2G", &v), -EINVAL);
	assert_int_equal(snd_parse_bitrate("", &v), -EINVAL);
	assert_int_equal(snd_parse_bitrate("nan", &v), -EINVAL);
}

static void test_url_check(void **state)
{
	assert_int_equal(mps_url_check("rtmp://10.9.0.2/live/key"), 0);
	assert_int_equal(mps_url_check("rtmps://a.example:443/app/sub/key?token=1"), 0);
	assert_int_equal(mps_url_check("RTMP://host:1935/live/k"), 0);
	assert_int_equal(mps_url_check("rtmp://host/live/"), -EINVAL);
	assert_int_equal(mps_url_check("rtmp://host/live/?q"), -EINVAL);
	assert_int_equal(mps_url_check("rtmp://host"), -EINVAL);
	assert_int_equal(mps_url_check("rtmp://host:/live/k"), -EINVAL);
	assert_int_equal(mps_url_check("rtmp://user:pw@host/live/k"), 0);
	assert_int_equal(mps_url_check("rtmps://user:pw@host:443/live/k"), 0);
	assert_int_equal(mps_url_check("rtmp://@host/live/k"), -EINVAL);
	assert_int_equal(mps_url_check("rtmp://user:pw@/live/k"), -EINVAL);
	assert_int_equal(mps_url_check("rtmp://a@b@host/live/k"), -EINVAL);
	assert_int_equal(mps_url_check("rtmp://host/live/k ey"), -EINVAL);
	assert_int_equal(mps_url_check("srt://host/live/k"), -EINVAL);
	/* IPv6 literals: bracketed, valid, with a port in range. */
	assert_int_equal(mps_url_check("rtmp://[::1]:1935/live/k"), 0);
	assert_int_equal(mps_url_check("rtmp://[2001:db8::2]/live/k"), 0);
	assert_int_equal(mps_url_check("rtmp://[::1]:99999/live/k"), -EINVAL);
	assert_int_equal(mps_url_check("rtmp://[::1]:0/live/k"), -EINVAL);
	assert_int_equal(mps_url_check("rtmp://[10.9.0.2/live/k"), -EINVAL);
	assert_int_equal(mps_url_check("rtmp://[nonsense]/live/k"), -EINVAL);
	assert_int_equal(mps_url_check("rtmp://[::1]x/live/k"), -EINVAL);
	assert_int_equal(mps_url_check("rtmp://host:99999/live/k"), -EINVAL);
	assert_int_equal(mps_url_check("rtmp://a]b/live/k"), -EINVAL);
}

/* The listening addresses of --metrics and the relay's --listen. */
static void test_parse_listen(void **state)
{
	struct sockaddr_in a;

	assert_int_equal(mps_parse_listen("9099", &a), 0);
	assert_int_equal(ntohs(a.sin_port), 9099);
	assert_int_equal(a.sin_addr.s_addr, htonl(INADDR_ANY));
	assert_int_equal(mps_parse_listen("127.0.0.1:9100", &a), 0);
	assert_int_equal(a.sin_addr.s_addr, htonl(INADDR_LOOPBACK));
	assert_int_equal(mps_parse_listen("0", &a), -EINVAL);
	assert_int_equal(mps_parse_listen("70000", &a), -EINVAL);
	assert_int_equal(mps_parse_listen("host:80", &a), -EINVAL);
	assert_int_equal(mps_parse_listen("1.2.3.4:", &a), -EINVAL);

	/* Either family (the relay): no address is [::], IPv6 and IPv4. */
	struct sockaddr_storage ss;
	const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)&ss;

	assert_int_equal(mps_parse_listen_any("1940", &ss), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_true(IN6_IS_ADDR_UNSPECIFIED(&v6->sin6_addr));
	assert_int_equal(ntohs(v6->sin6_port), 1940);
	assert_int_equal(mps_parse_listen_any("[::1]:1941", &ss), 0);
	assert_true(IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr));
	assert_int_equal(mps_parse_listen_any("10.9.0.2:1940", &ss), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(mps_parse_listen_any("[::1]", &ss), -EINVAL);
	assert_int_equal(mps_parse_listen_any("[::1]:", &ss), -EINVAL);
	assert_int_equal(mps_parse_listen_any("[nope]:80", &ss), -EINVAL);
	assert_int_equal(mps_parse_listen_any("::1:80", &ss), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_all_options),
		cmocka_unit_test(test_rates),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_config_bounds),
		cmocka_unit_test(test_help_version),
		cmocka_unit_test(test_help_is_config),
		cmocka_unit_test(test_uplink_keys),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_bitrate),
		cmocka_unit_test(test_url_check),
		cmocka_unit_test(test_parse_listen),
		cmocka_unit_test(test_http),
		cmocka_unit_test(test_live_input),
		cmocka_unit_test(test_encoder_record),
		cmocka_unit_test(test_codec),
		cmocka_unit_test(test_tls),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
