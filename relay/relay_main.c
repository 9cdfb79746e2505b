// SPDX-License-Identifier: MIT
/* `mpstream relay`: its options, the ingest's address, the listener, the loop. */
#include "args.h"
#include "log.h"
#include "opts.h"
#include "relay.h"
#include "routing.h"
#include "shim.h"
#include "snapshot.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define TAG			  "relay"
#define DEFAULT_MAX_CONN	  64
#define DEFAULT_STATS_S		  5.0
#define DEFAULT_CONNECT_TIMEOUT_S 10.0
#define DEFAULT_HANDSHAKE_S	  10.0
#define DEFAULT_IDLE_S		  60.0
#define LIMITS_FOR_UPLINKS	  4 /* warn below the subflows a client with this many uplinks needs */
#define ROUND_MS		  200

struct relay_options {
	struct sockaddr_storage listen;
	bool have_listen;
	const char *to;
	int max_conn;
	double stats_interval_s;
	double connect_timeout_s;
	double handshake_timeout_s, idle_timeout_s;
	int verbosity;
};

#define FAIL(...) MPS_ARGS_FAIL(err, errlen, __VA_ARGS__)
#define APPLIER(fn)                                                                        \
	static enum mps_args_result fn(const struct mps_opt *row, void *opts, void *state, \
				       const char *arg, char *err, size_t errlen)

APPLIER(apply_listen)
{
	struct relay_options *o = opts;

	(void)row, (void)state;
	if (mps_parse_listen_any(arg, &o->listen))
		FAIL("--listen '%s': expected [ADDR:]PORT or [V6ADDR]:PORT", arg);
	o->have_listen = true;
	return MPS_ARGS_RUN;
}

APPLIER(apply_to)
{
	(void)row, (void)state;
	if (!mps_hostport_valid(arg))
		FAIL("--to '%s': expected HOST:PORT, PORT from 1 to 65535", arg);
	((struct relay_options *)opts)->to = arg;
	return MPS_ARGS_RUN;
}

/* A whole number, but "64.0" as well (as it always was). */
APPLIER(apply_max_conn)
{
	double n;

	(void)row, (void)state;
	if (mps_parse_number(arg, 1, 100000, &n) || n != (int)n)
		FAIL("--max-conn '%s': expected 1 to 100000", arg);
	((struct relay_options *)opts)->max_conn = (int)n;
	return MPS_ARGS_RUN;
}

APPLIER(apply_verbose)
{
	(void)row, (void)state, (void)arg, (void)err, (void)errlen;
	((struct relay_options *)opts)->verbosity = 1;
	return MPS_ARGS_RUN;
}

APPLIER(apply_quiet)
{
	(void)row, (void)state, (void)arg, (void)err, (void)errlen;
	((struct relay_options *)opts)->verbosity = -1;
	return MPS_ARGS_RUN;
}

#define NUMBER(field, lo, hi, what) MPS_OPT_NUMBER(struct relay_options, field, lo, hi, what)

/* The relay's options, in --help's order (see common/opts.h for a row's fields). */
static const struct mps_opt rows[] = {
	{.name = "listen",
	 .short_name = 'l',
	 .metavar = "[ADDR:]PORT",
	 .apply = apply_listen,
	 .help = "where to accept connections (no ADDR: every address,\n"
		 "IPv6 and IPv4; [V6ADDR]:PORT for one IPv6 address)"},
	{.name = "to",
	 .short_name = 't',
	 .metavar = "HOST:PORT",
	 .apply = apply_to,
	 .help = "the ingest (resolved at the start, and again after\n"
		 "each connection: the next one follows a new address)"},
	{.name = "connect-timeout",
	 .metavar = "SECONDS",
	 NUMBER(connect_timeout_s, 0.1, 600, "0.1 to 600 seconds"),
	 .help = "give up on an ingest that does not answer a\n"
		 "connection within SECONDS (default 10): the\n"
		 "client's connection is closed with a log line"},
	{.name = "handshake-timeout",
	 .metavar = "SECONDS",
	 NUMBER(handshake_timeout_s, 0, 3600, "0 to 3600 seconds"),
	 .help = "close a connection whose handshake is not done\n"
		 "SECONDS after the ingest's answer, in all, however\n"
		 "slowly bytes trickle (default 10; 0: never)"},
	{.name = "idle-timeout",
	 .metavar = "SECONDS",
	 NUMBER(idle_timeout_s, 0, 86400, "0 to 86400 seconds"),
	 .help = "close a connection where nothing went either way\n"
		 "for SECONDS (default 60; 0: never)"},
	{.name = "max-conn",
	 .metavar = "N",
	 .apply = apply_max_conn,
	 .help = "at most N connections at once (default 64); the one\n"
		 "over is closed with a log line; lowered, with a\n"
		 "line, to what the descriptor limit holds (6 each)"},
	{.name = "stats-interval",
	 .metavar = "SECONDS",
	 NUMBER(stats_interval_s, 0.1, 3600, "0.1 to 3600 seconds"),
	 .help = "per-connection statistics period: subflows and what\n"
		 "each one receives (default 5)"},
	{.name = "verbose", .short_name = 'v', .apply = apply_verbose, .help = "more log lines"},
	{.name = "quiet",
	 .short_name = 'q',
	 .apply = apply_quiet,
	 .help = "only warnings and errors"},
	{.name = "help",
	 .short_name = 'h',
	 .apply = mps_opt_help,
	 .help = "show this help and exit"},
};

_Static_assert(sizeof(rows) / sizeof(rows[0]) <= MPS_OPTS_MAX, "more rows than MPS_OPTS_MAX");

static const struct mps_opt_set options = {
	.rows = rows,
	.n_rows = sizeof(rows) / sizeof(rows[0]),
	.help_column = 28,
	.head = "Usage: mpstream relay --listen [ADDR:]PORT --to HOST:PORT [OPTION]...\n"
		"Accept MPTCP (and plain TCP) connections and pass each one, both ways, to a\n"
		"plain TCP connection to HOST:PORT: an ingest that does not speak MPTCP\n"
		"(YouTube, Twitch, ...) behind a relay that does. Bytes are copied with "
		"splice(),\n"
		"in order and complete; when either side closes, the other is closed cleanly.\n"
		"\n",
	.tail = "\n"
		"The host's MPTCP limits must take the clients' joins: ip mptcp limits set\n"
		"subflows 8 add_addr_accepted 8 (the relay says so when they are lower).\n"
		"\n"
		"Exit status: 0 stopped by a signal, 64 usage error, 69 cannot listen or resolve\n"
		"HOST, 1 other.\n",
};

static enum mps_args_result parse_options(int argc, char **argv, struct relay_options *o, char *err,
					  size_t errlen)
{
	struct mps_getopt g;
	enum mps_args_result r;

	memset(o, 0, sizeof(*o));
	o->max_conn = DEFAULT_MAX_CONN;
	o->stats_interval_s = DEFAULT_STATS_S;
	o->connect_timeout_s = DEFAULT_CONNECT_TIMEOUT_S;
	o->handshake_timeout_s = DEFAULT_HANDSHAKE_S;
	o->idle_timeout_s = DEFAULT_IDLE_S;
	mps_opts_getopt(&options, &g);
	r = mps_opts_parse(&options, &g, argc, argv, o, NULL, "mpstream relay --help", err, errlen);
	if (r != MPS_ARGS_RUN)
		return r;
	if (optind != argc)
		FAIL("unexpected '%s' (see mpstream relay --help)", argv[optind]);
	if (!o->have_listen || !o->to)
		FAIL("--listen and --to are needed (see mpstream relay --help)");
	return MPS_ARGS_RUN;
}

/* At the start: into @cfg's upstream. Returns 0 or -EHOSTUNREACH (logged). */
static int resolve(const char *to, struct relay_config *cfg)
{
	int ret = mps_hostport_lookup(to, &cfg->upstream, &cfg->upstream_len);

	if (ret) {
		LOG_ERR(TAG, "cannot resolve %s: %s", to, gai_strerror(ret));
		return -EHOSTUNREACH;
	}
	return 0;
}

/*
 * --to resolved again, in a thread of its own (getaddrinfo() can block for
 * seconds; the relay's loop must not): after each accepted connection, so
 * that an ingest whose address changed is followed. A connection goes to the
 * address known when it starts; the next one to the new one.
 */
struct resolver {
	const char *to;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool wanted, stop, fresh;
	struct sockaddr_storage addr;
	socklen_t len;
};

static void *resolver_main(void *arg)
{
	struct resolver *rs = arg;

	pthread_mutex_lock(&rs->lock);
	for (;;) {
		struct sockaddr_storage addr;
		socklen_t len;
		int ret;

		while (!rs->wanted && !rs->stop)
			pthread_cond_wait(&rs->cond, &rs->lock);
		if (rs->stop)
			break;
		rs->wanted = false;
		pthread_mutex_unlock(&rs->lock);
		ret = mps_hostport_lookup(rs->to, &addr, &len);
		if (ret)
			LOG_WARN(TAG,
				 "cannot resolve %s again (%s): connections go on to the last "
				 "address",
				 rs->to, gai_strerror(ret));
		pthread_mutex_lock(&rs->lock);
		if (!ret) {
			rs->addr = addr;
			rs->len = len;
			rs->fresh = true;
		}
	}
	pthread_mutex_unlock(&rs->lock);
	return NULL;
}

static void resolver_poke(struct resolver *rs)
{
	pthread_mutex_lock(&rs->lock);
	rs->wanted = true;
	pthread_cond_signal(&rs->cond);
	pthread_mutex_unlock(&rs->lock);
}

/* A new address for @r, if the resolver has one. */
static void resolver_apply(struct resolver *rs, struct relay *r)
{
	pthread_mutex_lock(&rs->lock);
	if (rs->fresh)
		relay_set_upstream(r, &rs->addr, rs->len);
	rs->fresh = false;
	pthread_mutex_unlock(&rs->lock);
}

static void resolver_stop(struct resolver *rs)
{
	pthread_mutex_lock(&rs->lock);
	rs->stop = true;
	pthread_cond_signal(&rs->cond);
	pthread_mutex_unlock(&rs->lock);
	pthread_join(rs->thread, NULL);
	pthread_mutex_destroy(&rs->lock);
	pthread_cond_destroy(&rs->cond);
}

static void warn_limits(void)
{
	unsigned subflows, accepted;
	int ret = rt_mptcp_limits(&subflows, &accepted);

	if (ret) {
		LOG_WARN(TAG, "cannot read this host's MPTCP limits: %s", strerror(-ret));
		return;
	}
	if (subflows < LIMITS_FOR_UPLINKS - 1)
		LOG_WARN(TAG,
			 "this host's MPTCP limits take %u extra subflow%s per connection: a "
			 "client with %d uplinks needs %d. Raise them: ip mptcp limits set "
			 "subflows 8 add_addr_accepted 8",
			 subflows, subflows == 1 ? "" : "s", LIMITS_FOR_UPLINKS,
			 LIMITS_FOR_UPLINKS - 1);
	else
		LOG_INFO(TAG, "MPTCP limits: subflows %u, add_addr_accepted %u", subflows,
			 accepted);
}

/*
 * A non-blocking MPTCP (else TCP) listening socket, or -errno (logged). On
 * [::] it takes IPv4 too (not V6ONLY): clients of either family, and an MPTCP
 * client's subflows of both.
 */
static int open_listener(const struct sockaddr_storage *addr, const struct relay_config *cfg)
{
	const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)addr;
	int family = addr->ss_family, one = 1, zero = 0, fd;
	socklen_t len =
		family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	char a[CONN_ADDR_STRLEN], to[CONN_ADDR_STRLEN];
	bool mptcp = true;

	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_MPTCP);
	if (fd < 0) {
		LOG_WARN(TAG, "no MPTCP socket (%s): accepting plain TCP only", strerror(errno));
		mptcp = false;
		fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	}
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		LOG_DEBUG(TAG, "SO_REUSEADDR: %s", strerror(errno));
	if (family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&v6->sin6_addr) &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) < 0)
		LOG_WARN(TAG, "IPv6 only (IPV6_V6ONLY: %s)", strerror(errno));
	conn_format_addr(addr, a, sizeof(a));
	if (bind(fd, (const struct sockaddr *)addr, len) < 0 || listen(fd, 128) < 0) {
		int err = errno;

		LOG_ERR(TAG, "cannot listen on %s: %s", a, strerror(err));
		close(fd);
		return -err;
	}
	conn_format_addr(&cfg->upstream, to, sizeof(to));
	LOG_INFO(TAG, "listening on %s (%s), relaying to %s", a, mptcp ? "MPTCP and TCP" : "TCP",
		 to);
	return fd;
}

/* Descriptors open now. */
static int fds_in_use(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return 0;
	while (readdir(d))
		n++;
	closedir(d);
	return n > 3 ? n - 3 : 0; /* ".", ".." and the directory's own */
}

/*
 * --max-conn against RLIMIT_NOFILE: the soft limit raised to the hard one if
 * need be, else --max-conn lowered to what fits, in one line. Without this,
 * the connection over the limit met EMFILE in accept() rather than the
 * --max-conn refusal. Returns 0, or -EMFILE when not one connection fits.
 */
static int fit_max_conn(struct relay_config *cfg)
{
	struct rlimit rl;
	int in_use = fds_in_use(), fit;
	unsigned long need;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 0;
	need = (unsigned long)cfg->max_conn * RELAY_FDS_PER_CONN + (unsigned long)in_use +
	       RELAY_SPARE_FDS;
	if (rl.rlim_cur < need && rl.rlim_max > rl.rlim_cur) {
		rl.rlim_cur = rl.rlim_max < need ? rl.rlim_max : need;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	fit = relay_conn_capacity(cfg->max_conn, rl.rlim_cur, in_use);
	if (fit == cfg->max_conn)
		return 0;
	LOG_WARN(TAG,
		 "--max-conn %d needs about %lu descriptors (%d a connection), the limit "
		 "(RLIMIT_NOFILE, ulimit -n, LimitNOFILE=) is %lu: at most %d connections at once",
		 cfg->max_conn, need, RELAY_FDS_PER_CONN, (unsigned long)rl.rlim_cur, fit);
	cfg->max_conn = fit;
	return fit ? 0 : -EMFILE;
}

/* The relay's loop, with --to resolved again in the background. Returns 0 (stopped) or -errno. */
static int run(struct relay *r, const char *to, atomic_int *stop)
{
	struct resolver rs = {.to = to};
	struct relay_counters counters;
	unsigned accepted = 0;
	int ret;

	pthread_mutex_init(&rs.lock, NULL);
	pthread_cond_init(&rs.cond, NULL);
	ret = -pthread_create(&rs.thread, NULL, resolver_main, &rs);
	if (ret < 0) {
		pthread_mutex_destroy(&rs.lock);
		pthread_cond_destroy(&rs.cond);
		return ret;
	}
	while (!ret && !atomic_load(stop)) {
		ret = relay_run_once(r, ROUND_MS);
		relay_get_counters(r, &counters);
		if (counters.accepted != accepted) {
			accepted = counters.accepted;
			resolver_poke(&rs);
		}
		resolver_apply(&rs, r);
	}
	resolver_stop(&rs);
	return ret;
}

int relay_main(int argc, char **argv, atomic_int *stop)
{
	struct relay_options o;
	struct relay_config cfg = {0};
	struct relay *r = NULL;
	char err[256];
	int ret, fd;

	switch (parse_options(argc, argv, &o, err, sizeof(err))) {
	case MPS_ARGS_HELP:
		mps_opts_help(&options, stdout);
		return MPS_EXIT_OK;
	case MPS_ARGS_RUN:
		break;
	default:
		fprintf(stderr, "mpstream relay: %s\n", err);
		return MPS_EXIT_USAGE;
	}
	if (o.verbosity < 0)
		mps_log_set_level(MPS_LOG_WARN);
	else if (o.verbosity > 0)
		mps_log_set_level(MPS_LOG_DEBUG);
	cfg.max_conn = o.max_conn;
	cfg.stats_interval_s = o.stats_interval_s;
	cfg.connect_timeout_ms = (int)(o.connect_timeout_s * 1000);
	cfg.handshake_timeout_ms = (int)(o.handshake_timeout_s * 1000);
	cfg.idle_timeout_ms = (int)(o.idle_timeout_s * 1000);
	if (resolve(o.to, &cfg) < 0 || fit_max_conn(&cfg) < 0)
		return MPS_EXIT_UNAVAILABLE;
	warn_limits();
	fd = open_listener(&o.listen, &cfg);
	if (fd < 0)
		return MPS_EXIT_UNAVAILABLE;
	ret = relay_create(&cfg, fd, &r);
	if (!ret)
		ret = run(r, o.to, stop);
	if (ret < 0) {
		LOG_ERR(TAG, "%s", strerror(-ret));
		relay_destroy(r, "the relay fails");
		return MPS_EXIT_FAILURE;
	}
	relay_destroy(r, "the relay stops");
	LOG_INFO(TAG, "stopped");
	return MPS_EXIT_OK;
}
