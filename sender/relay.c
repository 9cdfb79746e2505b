// SPDX-License-Identifier: MIT
/*
 * `mpstream relay`: accept MPTCP (and plain TCP) connections and pass each
 * one, both ways, to a plain TCP connection to an ingest that does not speak
 * MPTCP. One thread, epoll, and splice() through a pipe per direction: the
 * bytes never enter user space. The listening socket stays open, since the
 * clients' MPTCP joins arrive there.
 */
#define _GNU_SOURCE /* splice, pipe2, accept4 */
#include "cli.h"
#include "clock.h"
#include "log.h"
#include "metrics.h"
#include "mptcp_socket.h"
#include "relay.h"
#include "routing.h"
#include "stats.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define TAG		   "relay"
#define PIPE_CHUNK	   (64 * 1024)
#define HALF_CLOSED_MS	   10000 /* one side done, the other silent this long: close */
#define DEFAULT_MAX_CONN   64
#define DEFAULT_STATS_S	   5.0
#define LIMITS_FOR_UPLINKS 4 /* warn below the subflows a client with this many uplinks needs */

const char snd_relay_usage[] =
	"Usage: mpstream relay --listen [ADDR:]PORT --to HOST:PORT [OPTION]...\n"
	"Accept MPTCP (and plain TCP) connections and pass each one, both ways, to a\n"
	"plain TCP connection to HOST:PORT: an ingest that does not speak MPTCP\n"
	"(YouTube, Twitch, ...) behind a relay that does. Bytes are copied with splice(),\n"
	"in order and complete; when either side closes, the other is closed cleanly.\n"
	"\n"
	"  -l, --listen [ADDR:]PORT  where to accept connections (no ADDR: every address)\n"
	"  -t, --to HOST:PORT        the ingest (resolved once, at the start)\n"
	"      --max-conn N          at most N connections at once (default 64); the one\n"
	"                            over is closed with a log line\n"
	"      --stats-interval SECONDS\n"
	"                            per-connection statistics period: subflows and what\n"
	"                            each one receives (default 5)\n"
	"  -v, --verbose             more log lines\n"
	"  -q, --quiet               only warnings and errors\n"
	"  -h, --help                show this help and exit\n"
	"\n"
	"The host's MPTCP limits must take the clients' joins: ip mptcp limits set\n"
	"subflows 8 add_addr_accepted 8 (the relay says so when they are lower).\n"
	"\n"
	"Exit status: 0 stopped by a signal, 64 usage error, 69 cannot listen or resolve\n"
	"HOST, 1 other.\n";

struct relay_options {
	struct sockaddr_in listen;
	const char *to;
	int max_conn;
	double stats_interval_s;
	int verbosity;
};

/* One direction of a connection: from -> pipe -> to. */
struct half {
	int from, to;
	int pipe[2];
	size_t queued; /* bytes in the pipe */
	bool eof;      /* from has nothing more */
	bool shut;     /* to was shut down for writing */
	uint64_t bytes;
};

struct conn;
struct end {
	struct conn *c;
	int fd;
};

struct conn {
	unsigned id;
	char name[SND_ADDR_STRLEN];
	struct end client, up;
	bool connecting; /* the upstream connect() is under way */
	struct half c2u, u2c;
	int64_t started_ms, next_stats_ms, half_closed_ms;
	struct snd_stats_snapshot prev;
	size_t peak_subflows;
	bool mptcp;
	bool closed; /* its sockets are closed; freed after the events at hand */
	struct conn *next;
};

struct relay {
	struct relay_options o;
	struct sockaddr_storage upstream;
	socklen_t upstream_len;
	char upstream_name[SND_ADDR_STRLEN];
	int epfd, lfd;
	struct conn *conns;
	struct conn *closed; /* still referenced by this round's events */
	int n_conns;
	unsigned next_id;
};

static int parse_options(int argc, char **argv, struct relay_options *o, char *err, size_t errlen)
{
	static const struct option opts[] = {
		{"listen", required_argument, NULL, 'l'},
		{"to", required_argument, NULL, 't'},
		{"max-conn", required_argument, NULL, 'm'},
		{"stats-interval", required_argument, NULL, 's'},
		{"verbose", no_argument, NULL, 'v'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	bool have_listen = false;
	double n;
	int c;

	memset(o, 0, sizeof(*o));
	o->max_conn = DEFAULT_MAX_CONN;
	o->stats_interval_s = DEFAULT_STATS_S;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":l:t:vqh", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			if (snd_metrics_parse_listen(optarg, &o->listen))
				SND_CLI_FAIL(err, errlen, "--listen '%s': expected [ADDR:]PORT",
					     optarg);
			have_listen = true;
			break;
		case 't':
			if (!strrchr(optarg, ':') || !strrchr(optarg, ':')[1] || optarg[0] == ':')
				SND_CLI_FAIL(err, errlen, "--to '%s': expected HOST:PORT", optarg);
			o->to = optarg;
			break;
		case 'm':
			if (snd_parse_number(optarg, 1, 100000, &n) || n != (int)n)
				SND_CLI_FAIL(err, errlen, "--max-conn '%s': expected 1 to 100000",
					     optarg);
			o->max_conn = (int)n;
			break;
		case 's':
			if (snd_parse_number(optarg, 0.1, 3600, &o->stats_interval_s))
				SND_CLI_FAIL(err, errlen,
					     "--stats-interval '%s': expected 0.1 to 3600 seconds",
					     optarg);
			break;
		case 'v':
			o->verbosity = 1;
			break;
		case 'q':
			o->verbosity = -1;
			break;
		case 'h':
			return SND_CLI_HELP;
		case ':':
			SND_CLI_FAIL(err, errlen, "option '%s' needs a value", argv[optind - 1]);
		default:
			SND_CLI_FAIL(err, errlen, "unknown option '%s' (see mpstream relay --help)",
				     argv[optind - 1]);
		}
	}
	if (optind != argc)
		SND_CLI_FAIL(err, errlen, "unexpected '%s' (see mpstream relay --help)",
			     argv[optind]);
	if (!have_listen || !o->to)
		SND_CLI_FAIL(err, errlen,
			     "--listen and --to are needed (see mpstream relay --help)");
	return SND_CLI_RUN;
}

static int resolve(struct relay *r)
{
	const char *colon = strrchr(r->o.to, ':');
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai;
	char host[256];
	size_t len = (size_t)(colon - r->o.to);
	int ret;

	if (len >= sizeof(host))
		return -EINVAL;
	memcpy(host, r->o.to, len);
	host[len] = '\0';
	/* [v6addr]:port */
	if (host[0] == '[' && host[len - 1] == ']') {
		memmove(host, host + 1, len - 2);
		host[len - 2] = '\0';
	}
	ret = getaddrinfo(host, colon + 1, &hints, &ai);
	if (ret) {
		LOG_ERR(TAG, "cannot resolve %s: %s", r->o.to, gai_strerror(ret));
		return -EHOSTUNREACH;
	}
	memcpy(&r->upstream, ai->ai_addr, ai->ai_addrlen);
	r->upstream_len = ai->ai_addrlen;
	snd_format_addr(&r->upstream, r->upstream_name, sizeof(r->upstream_name));
	freeaddrinfo(ai);
	return 0;
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

static int open_listener(struct relay *r)
{
	char a[SND_ADDR_STRLEN];
	int one = 1, fd;
	bool mptcp = true;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_MPTCP);
	if (fd < 0) {
		LOG_WARN(TAG, "no MPTCP socket (%s): accepting plain TCP only", strerror(errno));
		mptcp = false;
		fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	}
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	snd_format_addr((struct sockaddr_storage *)&r->o.listen, a, sizeof(a));
	if (bind(fd, (struct sockaddr *)&r->o.listen, sizeof(r->o.listen)) < 0 ||
	    listen(fd, 128) < 0) {
		int err = errno;

		LOG_ERR(TAG, "cannot listen on %s: %s", a, strerror(err));
		close(fd);
		return -err;
	}
	LOG_INFO(TAG, "listening on %s (%s), relaying to %s", a, mptcp ? "MPTCP and TCP" : "TCP",
		 r->upstream_name);
	r->lfd = fd;
	return 0;
}

static bool wants_read(const struct half *h)
{
	return !h->eof && h->queued == 0;
}

/* What each of the connection's two sockets waits for. */
static void update_interest(struct relay *r, struct conn *c)
{
	struct epoll_event ev = {0};

	ev.events = (wants_read(&c->c2u) ? EPOLLIN : 0) | (c->u2c.queued ? EPOLLOUT : 0);
	ev.data.ptr = &c->client;
	epoll_ctl(r->epfd, EPOLL_CTL_MOD, c->client.fd, &ev);
	if (c->connecting)
		ev.events = EPOLLOUT;
	else
		ev.events = (wants_read(&c->u2c) ? EPOLLIN : 0) | (c->c2u.queued ? EPOLLOUT : 0);
	ev.data.ptr = &c->up;
	epoll_ctl(r->epfd, EPOLL_CTL_MOD, c->up.fd, &ev);
}

/* Move what can be moved. Returns 0, or -errno when a side failed. */
static int pump(struct half *h)
{
	for (;;) {
		ssize_t n;

		if (h->queued == 0 && !h->eof) {
			n = splice(h->from, NULL, h->pipe[1], NULL, PIPE_CHUNK,
				   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n > 0)
				h->queued += (size_t)n;
			else if (n == 0)
				h->eof = true;
			else if (errno != EAGAIN)
				return -errno;
		}
		if (h->queued == 0)
			break;
		n = splice(h->pipe[0], NULL, h->to, NULL, h->queued,
			   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n < 0)
			return errno == EAGAIN ? 0 : -errno;
		h->queued -= (size_t)n;
		h->bytes += (uint64_t)n;
		if (h->queued)
			return 0; /* the receiver is full: wait until it is writable */
	}
	if (h->eof && !h->shut) {
		/* One side is done: the other sees a clean end. */
		shutdown(h->to, SHUT_WR);
		h->shut = true;
	}
	return 0;
}

static void log_stats(struct relay *r, struct conn *c, bool last)
{
	struct snd_stats_snapshot cur;
	struct snd_stats_row rows[SND_MAX_SUBFLOWS], total;
	char line[1024];
	size_t n, len;

	if (snd_stats_sample(c->client.fd, &cur) < 0)
		return;
	c->mptcp = cur.mptcp;
	if (cur.n > c->peak_subflows)
		c->peak_subflows = cur.n;
	n = snd_stats_diff(&c->prev, &cur, NULL, NULL, rows, &total);
	if (c->prev.n && !last) {
		len = (size_t)snprintf(line, sizeof(line), "in %.2f Mbit/s, %zu subflow%s",
				       total.recv_bps / 1e6, n, n == 1 ? "" : "s");
		for (size_t i = 0; i < n && len < sizeof(line); i++)
			len += (size_t)snprintf(
				line + len, sizeof(line) - len, " | #%u from %s %.2f rtt %.1fms",
				rows[i].id, rows[i].remote, rows[i].recv_bps / 1e6, rows[i].rtt_ms);
		LOG_INFO(TAG, "#%u %s: %s", c->id, c->name, line);
	}
	c->prev = cur;
}

static void close_conn(struct relay *r, struct conn *c, const char *why)
{
	int64_t ms = mps_mono_ms() - c->started_ms;

	log_stats(r, c, true);
	mps_log(why ? MPS_LOG_WARN : MPS_LOG_INFO, TAG,
		"#%u %s: closed%s%s after %.1f s: %llu bytes in, %llu out, %s, %zu subflow%s at "
		"most",
		c->id, c->name, why ? ": " : "", why ? why : "", (double)ms / 1000,
		(unsigned long long)c->c2u.bytes, (unsigned long long)c->u2c.bytes,
		c->mptcp ? "MPTCP" : "TCP", c->peak_subflows, c->peak_subflows == 1 ? "" : "s");
	close(c->client.fd);
	if (c->up.fd >= 0)
		close(c->up.fd);
	for (int i = 0; i < 2; i++) {
		close(c->c2u.pipe[i]);
		close(c->u2c.pipe[i]);
	}
	for (struct conn **p = &r->conns; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	r->n_conns--;
	c->closed = true;
	c->next = r->closed;
	r->closed = c;
}

static void free_closed(struct relay *r)
{
	while (r->closed) {
		struct conn *c = r->closed;

		r->closed = c->next;
		free(c);
	}
}

static void accept_one(struct relay *r)
{
	struct sockaddr_storage from;
	socklen_t len = sizeof(from);
	struct epoll_event ev = {0};
	struct conn *c;
	char name[SND_ADDR_STRLEN];
	int fd = accept4(r->lfd, (struct sockaddr *)&from, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0) {
		if (errno != EAGAIN && errno != ECONNABORTED)
			LOG_WARN(TAG, "accept: %s", strerror(errno));
		return;
	}
	snd_format_addr(&from, name, sizeof(name));
	if (r->n_conns >= r->o.max_conn) {
		LOG_WARN(TAG, "%s: refused, %d connections already (--max-conn)", name, r->n_conns);
		close(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c || pipe2(c->c2u.pipe, O_NONBLOCK | O_CLOEXEC) < 0) {
		LOG_WARN(TAG, "%s: refused: %s", name, strerror(errno ? errno : ENOMEM));
		free(c);
		close(fd);
		return;
	}
	if (pipe2(c->u2c.pipe, O_NONBLOCK | O_CLOEXEC) < 0) {
		LOG_WARN(TAG, "%s: refused: %s", name, strerror(errno));
		close(c->c2u.pipe[0]);
		close(c->c2u.pipe[1]);
		free(c);
		close(fd);
		return;
	}
	c->id = ++r->next_id;
	memcpy(c->name, name, sizeof(name));
	c->client = (struct end){c, fd};
	c->up = (struct end){c, socket(r->upstream.ss_family,
				       SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP)};
	c->started_ms = mps_mono_ms();
	c->next_stats_ms = c->started_ms + (int64_t)(r->o.stats_interval_s * 1000);
	c->next = r->conns;
	r->conns = c;
	r->n_conns++;
	if (c->up.fd < 0) {
		close_conn(r, c, strerror(errno));
		return;
	}
	c->c2u.from = c->u2c.to = c->client.fd;
	c->c2u.to = c->u2c.from = c->up.fd;
	ev.data.ptr = &c->client;
	epoll_ctl(r->epfd, EPOLL_CTL_ADD, c->client.fd, &ev);
	ev.data.ptr = &c->up;
	epoll_ctl(r->epfd, EPOLL_CTL_ADD, c->up.fd, &ev);
	if (connect(c->up.fd, (struct sockaddr *)&r->upstream, r->upstream_len) < 0 &&
	    errno != EINPROGRESS) {
		char why[256];

		snprintf(why, sizeof(why), "upstream %s: %s", r->upstream_name, strerror(errno));
		close_conn(r, c, why);
		return;
	}
	c->connecting = true;
	LOG_INFO(TAG, "#%u %s: accepted (%d open)", c->id, c->name, r->n_conns);
	update_interest(r, c);
}

static void on_event(struct relay *r, struct end *e, uint32_t events)
{
	struct conn *c = e->c;
	char why[256];
	int ret;

	if (c->connecting && e == &c->up) {
		int err = 0;
		socklen_t len = sizeof(err);

		getsockopt(c->up.fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err) {
			snprintf(why, sizeof(why), "upstream %s: %s", r->upstream_name,
				 strerror(err));
			close_conn(r, c, why);
			return;
		}
		c->connecting = false;
		log_stats(r, c, true);
		LOG_INFO(TAG, "#%u %s: relaying to %s (%s, %zu subflow%s)", c->id, c->name,
			 r->upstream_name, c->mptcp ? "MPTCP" : "TCP", c->peak_subflows,
			 c->peak_subflows == 1 ? "" : "s");
	}
	if (!c->connecting) {
		if ((ret = pump(&c->c2u)) < 0 || (ret = pump(&c->u2c)) < 0) {
			snprintf(why, sizeof(why), "%s", strerror(-ret));
			close_conn(r, c, why);
			return;
		}
	}
	(void)events;
	if (c->c2u.shut && c->u2c.shut) {
		close_conn(r, c, NULL);
		return;
	}
	if ((c->c2u.shut || c->u2c.shut) && !c->half_closed_ms)
		c->half_closed_ms = mps_mono_ms();
	update_interest(r, c);
}

/* Statistics, and connections one side left long ago. */
static void housekeeping(struct relay *r)
{
	int64_t now = mps_mono_ms();
	struct conn *next;

	for (struct conn *c = r->conns; c; c = next) {
		next = c->next;
		if (c->half_closed_ms && now - c->half_closed_ms > HALF_CLOSED_MS) {
			close_conn(r, c, "the other side never closed");
			continue;
		}
		if (!c->connecting && now >= c->next_stats_ms) {
			log_stats(r, c, false);
			c->next_stats_ms = now + (int64_t)(r->o.stats_interval_s * 1000);
		}
	}
}

static int run(struct relay *r, volatile sig_atomic_t *stop)
{
	struct epoll_event ev = {.events = EPOLLIN}, events[64];

	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (r->epfd < 0)
		return -errno;
	ev.data.ptr = NULL; /* the listener */
	epoll_ctl(r->epfd, EPOLL_CTL_ADD, r->lfd, &ev);
	while (!*stop) {
		int n = epoll_wait(r->epfd, events, 64, 200);

		if (n < 0 && errno != EINTR)
			return -errno;
		for (int i = 0; i < n; i++) {
			if (!events[i].data.ptr) {
				accept_one(r);
				continue;
			}
			struct end *e = events[i].data.ptr;

			/* An earlier event of this round may have closed its connection. */
			if (!e->c->closed)
				on_event(r, e, events[i].events);
		}
		housekeeping(r);
		free_closed(r);
	}
	return 0;
}

int snd_relay_main(int argc, char **argv, volatile sig_atomic_t *stop)
{
	struct relay r = {.lfd = -1, .epfd = -1};
	char err[256];
	int ret;

	switch (parse_options(argc, argv, &r.o, err, sizeof(err))) {
	case SND_CLI_HELP:
		fputs(snd_relay_usage, stdout);
		return SND_EXIT_OK;
	case SND_CLI_RUN:
		break;
	default:
		fprintf(stderr, "mpstream relay: %s\n", err);
		return SND_EXIT_USAGE;
	}
	if (r.o.verbosity < 0)
		mps_log_set_level(MPS_LOG_WARN);
	else if (r.o.verbosity > 0)
		mps_log_set_level(MPS_LOG_DEBUG);
	if (resolve(&r) < 0)
		return SND_EXIT_UNAVAILABLE;
	warn_limits();
	if (open_listener(&r) < 0)
		return SND_EXIT_UNAVAILABLE;
	ret = run(&r, stop);
	while (r.conns)
		close_conn(&r, r.conns, *stop ? "the relay stops" : NULL);
	free_closed(&r);
	close(r.lfd);
	if (r.epfd >= 0)
		close(r.epfd);
	if (ret < 0) {
		LOG_ERR(TAG, "%s", strerror(-ret));
		return SND_EXIT_FAILURE;
	}
	LOG_INFO(TAG, "stopped");
	return SND_EXIT_OK;
}
