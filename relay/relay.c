// SPDX-License-Identifier: MIT
#define _GNU_SOURCE /* splice, pipe2, accept4 */
#include "relay.h"
#include "clock.h"
#include "log.h"
#include "sample.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define TAG	       "relay"
#define PIPE_CHUNK     (64 * 1024)
#define HALF_CLOSED_MS 10000 /* one side done, the other silent this long: close */
#define MAX_EVENTS     64
/*
 * Out of descriptors (or memory), accept() fails and the listener, level-
 * triggered, wakes the loop at once, for ever: it is left alone for
 * ACCEPT_PAUSE_MS instead (the clients wait in the backlog), and the pauses
 * are one log line per ACCEPT_LOG_MS.
 */
#define ACCEPT_PAUSE_MS 500
#define ACCEPT_LOG_MS	10000

/* One direction of a connection: from -> pipe -> to. */
struct half {
	int from, to;
	int pipe[2];
	struct relay_half_state s;
	bool shut; /* to was shut down for writing */
	uint64_t bytes;
};

struct conn;
struct end {
	struct conn *c;
	int fd;
	bool gone; /* hung up: out of epoll, its last bytes still read */
};

struct conn {
	unsigned id;
	char name[CONN_ADDR_STRLEN];
	char up_name[CONN_ADDR_STRLEN]; /* the upstream's address when it started */
	struct end client, up;
	bool connecting; /* the upstream connect() is under way */
	struct half c2u, u2c;
	int64_t started_ms, next_stats_ms, half_closed_ms;
	int64_t relaying_ms; /* when the upstream answered; 0: not yet */
	int64_t active_ms;   /* when a byte last went either way */
	struct conn_snapshot prev;
	size_t peak_subflows;
	bool mptcp;
	bool closed; /* its sockets are closed; freed after the events at hand */
	struct conn *next;
};

struct relay {
	struct relay_config cfg;
	char upstream_name[CONN_ADDR_STRLEN];
	int epfd, lfd;
	struct conn *conns;
	struct conn *closed; /* still referenced by this round's events */
	unsigned next_id;
	struct relay_counters counters;
	int64_t accept_paused_ms; /* when the listener was left alone; 0: it is watched */
	int64_t accept_logged_ms; /* the last line about it */
	unsigned accept_untold;	  /* pauses since that line */
};

void relay_interest(bool connecting, const struct relay_half_state *c2u,
		    const struct relay_half_state *u2c, uint32_t *client_events,
		    uint32_t *up_events)
{
	/*
	 * While connecting nothing reads the client: asking for EPOLLIN there
	 * would wake the loop for ever (level-triggered) on the bytes it
	 * already sent. Errors and hang-ups are reported all the same.
	 */
	if (connecting) {
		*client_events = 0;
		*up_events = EPOLLOUT;
		return;
	}
	*client_events = (!c2u->eof && !c2u->queued ? EPOLLIN : 0) | (u2c->queued ? EPOLLOUT : 0);
	*up_events = (!u2c->eof && !u2c->queued ? EPOLLIN : 0) | (c2u->queued ? EPOLLOUT : 0);
}

static int set_interest(struct relay *r, struct end *e, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = e};

	if (e->gone)
		return 0;
	return epoll_ctl(r->epfd, EPOLL_CTL_MOD, e->fd, &ev) < 0 ? -errno : 0;
}

/* What each of the connection's two sockets waits for. Returns 0 or -errno. */
static int update_interest(struct relay *r, struct conn *c)
{
	uint32_t client, up;
	int ret;

	relay_interest(c->connecting, &c->c2u.s, &c->u2c.s, &client, &up);
	ret = set_interest(r, &c->client, client);
	return ret ? ret : set_interest(r, &c->up, up);
}

/* Move what can be moved. Returns 0, or -errno when a side failed. */
static int pump(struct half *h)
{
	for (;;) {
		ssize_t n;

		if (h->s.queued == 0 && !h->s.eof) {
			n = splice(h->from, NULL, h->pipe[1], NULL, PIPE_CHUNK,
				   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n > 0)
				h->s.queued += (size_t)n;
			else if (n == 0)
				h->s.eof = true;
			else if (errno != EAGAIN)
				return -errno;
		}
		if (h->s.queued == 0)
			break;
		n = splice(h->pipe[0], NULL, h->to, NULL, h->s.queued,
			   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n < 0)
			return errno == EAGAIN ? 0 : -errno;
		h->s.queued -= (size_t)n;
		h->bytes += (uint64_t)n;
		if (h->s.queued)
			return 0; /* the receiver is full: wait until it is writable */
	}
	if (h->s.eof && !h->shut) {
		/* One side is done: the other sees a clean end. */
		shutdown(h->to, SHUT_WR);
		h->shut = true;
	}
	return 0;
}

static void log_stats(struct conn *c, bool last)
{
	struct conn_snapshot cur;
	struct conn_row rows[CONN_MAX_SUBFLOWS], total;
	char line[1024];
	size_t n, len;

	if (conn_sample(c->client.fd, &cur) < 0)
		return;
	c->mptcp = cur.mptcp;
	if (cur.n > c->peak_subflows)
		c->peak_subflows = cur.n;
	n = conn_diff(&c->prev, &cur, NULL, NULL, rows, &total);
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

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void close_conn(struct relay *r, struct conn *c, const char *why)
{
	int64_t ms = mps_mono_ms() - c->started_ms;

	if (c->client.fd >= 0)
		log_stats(c, true);
	mps_log(why ? MPS_LOG_WARN : MPS_LOG_INFO, TAG,
		"#%u %s: closed%s%s after %.1f s: %llu bytes in, %llu out, %s, %zu subflow%s at "
		"most",
		c->id, c->name, why ? ": " : "", why ? why : "", (double)ms / 1000,
		(unsigned long long)c->c2u.bytes, (unsigned long long)c->u2c.bytes,
		c->mptcp ? "MPTCP" : "TCP", c->peak_subflows, c->peak_subflows == 1 ? "" : "s");
	close_fd(&c->client.fd);
	close_fd(&c->up.fd);
	for (int i = 0; i < 2; i++) {
		close_fd(&c->c2u.pipe[i]);
		close_fd(&c->u2c.pipe[i]);
	}
	for (struct conn **p = &r->conns; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	r->counters.open--;
	r->counters.closed++;
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

/* A connection for the client @fd, in the list; NULL (and @fd closed) when none can be had. */
static struct conn *new_conn(struct relay *r, int fd, const char *name)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (!c) {
		LOG_WARN(TAG, "%s: refused: %s", name, strerror(ENOMEM));
		close(fd);
		return NULL;
	}
	c->id = ++r->next_id;
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->client = (struct end){.c = c, .fd = fd};
	c->up = (struct end){.c = c, .fd = -1};
	c->c2u.pipe[0] = c->c2u.pipe[1] = c->u2c.pipe[0] = c->u2c.pipe[1] = -1;
	c->started_ms = mps_mono_ms();
	c->next_stats_ms = c->started_ms + (int64_t)(r->cfg.stats_interval_s * 1000);
	c->next = r->conns;
	r->conns = c;
	r->counters.open++;
	r->counters.accepted++;
	return c;
}

static int watch(struct relay *r, struct end *e)
{
	struct epoll_event ev = {.events = 0, .data.ptr = e};

	return epoll_ctl(r->epfd, EPOLL_CTL_ADD, e->fd, &ev) < 0 ? -errno : 0;
}

/* Pipes, the upstream socket, epoll, the connect. Returns 0 or -errno. */
static int start_conn(struct relay *r, struct conn *c)
{
	int ret;

	if (pipe2(c->c2u.pipe, O_NONBLOCK | O_CLOEXEC) < 0 ||
	    pipe2(c->u2c.pipe, O_NONBLOCK | O_CLOEXEC) < 0)
		return -errno;
	c->up.fd = socket(r->cfg.upstream.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			  IPPROTO_TCP);
	if (c->up.fd < 0)
		return -errno;
	snprintf(c->up_name, sizeof(c->up_name), "%s", r->upstream_name);
	c->c2u.from = c->u2c.to = c->client.fd;
	c->c2u.to = c->u2c.from = c->up.fd;
	if ((ret = watch(r, &c->client)) || (ret = watch(r, &c->up)))
		return ret;
	if (connect(c->up.fd, (struct sockaddr *)&r->cfg.upstream, r->cfg.upstream_len) < 0 &&
	    errno != EINPROGRESS)
		return -errno;
	c->connecting = true;
	return update_interest(r, c);
}

static bool out_of_resources(int err)
{
	return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}

/* Leave the listener alone for ACCEPT_PAUSE_MS: out of @err (EMFILE, ...). */
static void pause_accepting(struct relay *r, int err)
{
	struct epoll_event ev = {.events = 0, .data.ptr = NULL};
	int64_t now = mps_mono_ms();

	if (r->accept_paused_ms)
		return;
	epoll_ctl(r->epfd, EPOLL_CTL_MOD, r->lfd, &ev);
	r->accept_paused_ms = now;
	r->counters.accept_pauses++;
	if (r->accept_logged_ms && now - r->accept_logged_ms < ACCEPT_LOG_MS) {
		r->accept_untold++;
		return;
	}
	LOG_WARN(TAG,
		 "cannot take a connection: %s (%d open, 6 descriptors each): new connections "
		 "wait %.1f s in the backlog (%u more such pauses since the last line)",
		 strerror(err), r->counters.open, ACCEPT_PAUSE_MS / 1000.0, r->accept_untold);
	r->accept_logged_ms = now;
	r->accept_untold = 0;
}

static void resume_accepting(struct relay *r, int64_t now)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};

	if (!r->accept_paused_ms || now - r->accept_paused_ms < ACCEPT_PAUSE_MS)
		return;
	if (epoll_ctl(r->epfd, EPOLL_CTL_MOD, r->lfd, &ev) == 0)
		r->accept_paused_ms = 0;
}

static void accept_one(struct relay *r)
{
	struct sockaddr_storage from;
	socklen_t len = sizeof(from);
	char name[CONN_ADDR_STRLEN], why[256];
	struct conn *c;
	int fd = accept4(r->lfd, (struct sockaddr *)&from, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
	int ret;

	if (fd < 0) {
		if (out_of_resources(errno))
			pause_accepting(r, errno);
		else if (errno != EAGAIN && errno != ECONNABORTED)
			LOG_WARN(TAG, "accept: %s", strerror(errno));
		return;
	}
	conn_format_addr(&from, name, sizeof(name));
	if (r->counters.open >= r->cfg.max_conn) {
		LOG_WARN(TAG, "%s: refused, %d connections already (--max-conn)", name,
			 r->counters.open);
		close(fd);
		return;
	}
	c = new_conn(r, fd, name);
	if (!c)
		return;
	ret = start_conn(r, c);
	if (ret) {
		snprintf(why, sizeof(why), "upstream %s: %s", r->upstream_name, strerror(-ret));
		close_conn(r, c, why);
		if (out_of_resources(-ret))
			pause_accepting(r, -ret);
		return;
	}
	LOG_INFO(TAG, "#%u %s: accepted (%d open), to %s", c->id, c->name, r->counters.open,
		 c->up_name);
}

/* The upstream connect() ended. Returns 0 or -errno (it failed). */
static int on_connected(struct relay *r, struct conn *c)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(c->up.fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err)
		return -err;
	c->connecting = false;
	log_stats(c, true);
	LOG_INFO(TAG, "#%u %s: relaying to %s (%s, %zu subflow%s)", c->id, c->name, c->up_name,
		 c->mptcp ? "MPTCP" : "TCP", c->peak_subflows, c->peak_subflows == 1 ? "" : "s");
	return 0;
}

/* Why an end failed: its pending error, or @fallback. */
static const char *end_error(const struct end *e, const char *fallback)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(e->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || !err)
		return fallback;
	return strerror(err);
}

/*
 * An end hung up (closed both ways): what it sent is still read and passed
 * on, but it is watched no more (a hang-up is reported for ever, whatever is
 * asked). Returns true when the connection is done.
 */
static bool hung_up(struct relay *r, struct conn *c, struct end *e)
{
	const struct half *from_it = e == &c->client ? &c->c2u : &c->u2c;

	if (!from_it->s.queued)
		return true;
	epoll_ctl(r->epfd, EPOLL_CTL_DEL, e->fd, NULL);
	e->gone = true;
	return false;
}

static void on_event(struct relay *r, struct end *e, uint32_t events)
{
	struct conn *c = e->c;
	uint64_t moved = c->c2u.bytes + c->u2c.bytes;
	char why[256];
	int ret = 0;

	if (c->connecting && e == &c->client) {
		/* Only an error or a hang-up wakes a client while connecting: it left. */
		if (events & (EPOLLERR | EPOLLHUP))
			close_conn(r, c, "the client left before the upstream answered");
		return;
	}
	if (c->connecting && (ret = on_connected(r, c)) < 0) {
		snprintf(why, sizeof(why), "upstream %s: %s", c->up_name, strerror(-ret));
		close_conn(r, c, why);
		return;
	}
	if (!c->relaying_ms)
		c->relaying_ms = c->active_ms = mps_mono_ms();
	if (events & EPOLLERR) {
		snprintf(why, sizeof(why), "%s: %s", e == &c->client ? "client" : "upstream",
			 end_error(e, "error"));
		close_conn(r, c, why);
		return;
	}
	if ((ret = pump(&c->c2u)) < 0 || (ret = pump(&c->u2c)) < 0) {
		close_conn(r, c, strerror(-ret));
		return;
	}
	if (c->c2u.bytes + c->u2c.bytes != moved)
		c->active_ms = mps_mono_ms();
	if ((c->c2u.shut && c->u2c.shut) || ((events & EPOLLHUP) && hung_up(r, c, e))) {
		close_conn(r, c, NULL);
		return;
	}
	if ((c->c2u.shut || c->u2c.shut) && !c->half_closed_ms)
		c->half_closed_ms = mps_mono_ms();
	if ((ret = update_interest(r, c)) < 0) {
		snprintf(why, sizeof(why), "epoll: %s", strerror(-ret));
		close_conn(r, c, why);
	}
}

/*
 * Why a connection should be closed now, or NULL: an upstream that does not
 * answer, a client that sends nothing, nothing either way for long, one side
 * left long ago.
 */
static const char *expired(const struct relay *r, const struct conn *c, int64_t now, char *buf,
			   size_t size)
{
	const struct relay_config *cfg = &r->cfg;

	if (c->connecting) {
		if (now - c->started_ms < cfg->connect_timeout_ms)
			return NULL;
		snprintf(buf, size, "upstream %s: no answer within %.1f s", c->up_name,
			 cfg->connect_timeout_ms / 1000.0);
	} else if (c->relaying_ms && !relay_handshake_done(c->c2u.bytes, c->u2c.bytes) &&
		   cfg->handshake_timeout_ms && now - c->relaying_ms >= cfg->handshake_timeout_ms) {
		snprintf(buf, size,
			 "no handshake within %.1f s (%llu bytes from the client, %llu from the "
			 "upstream)",
			 cfg->handshake_timeout_ms / 1000.0, (unsigned long long)c->c2u.bytes,
			 (unsigned long long)c->u2c.bytes);
	} else if (c->active_ms && cfg->idle_timeout_ms &&
		   now - c->active_ms >= cfg->idle_timeout_ms) {
		snprintf(buf, size, "nothing either way for %.1f s", cfg->idle_timeout_ms / 1000.0);
	} else if (c->half_closed_ms && now - c->half_closed_ms > HALF_CLOSED_MS) {
		snprintf(buf, size, "the other side never closed");
	} else {
		return NULL;
	}
	return buf;
}

bool relay_handshake_done(uint64_t from_client, uint64_t from_upstream)
{
	/*
	 * The ingest answers once it has the client's first message whole (RTMP's
	 * C0+C1, TLS's ClientHello): a client trickling a byte at a time never
	 * gets that far, whatever its idle timer says.
	 */
	return from_client && from_upstream;
}

int relay_conn_capacity(int max_conn, unsigned long nofile, int in_use)
{
	unsigned long need = (unsigned long)in_use + RELAY_SPARE_FDS;
	unsigned long fit = nofile > need ? (nofile - need) / RELAY_FDS_PER_CONN : 0;

	return fit < (unsigned long)max_conn ? (int)fit : max_conn;
}

/* Connections whose time is up (expired()), and statistics. */
static void housekeeping(struct relay *r)
{
	int64_t now = mps_mono_ms();
	struct conn *next;
	char why[256];

	resume_accepting(r, now);
	for (struct conn *c = r->conns; c; c = next) {
		next = c->next;
		if (expired(r, c, now, why, sizeof(why))) {
			close_conn(r, c, why);
			continue;
		}
		if (!c->connecting && now >= c->next_stats_ms) {
			log_stats(c, false);
			c->next_stats_ms = now + (int64_t)(r->cfg.stats_interval_s * 1000);
		}
	}
}

int relay_create(const struct relay_config *cfg, int listen_fd, struct relay **out)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL}; /* NULL: the listener */
	struct relay *r = calloc(1, sizeof(*r));
	int err;

	if (!r) {
		close(listen_fd);
		return -ENOMEM;
	}
	r->cfg = *cfg;
	r->lfd = listen_fd;
	conn_format_addr(&cfg->upstream, r->upstream_name, sizeof(r->upstream_name));
	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (r->epfd < 0 || epoll_ctl(r->epfd, EPOLL_CTL_ADD, r->lfd, &ev) < 0) {
		err = -errno;
		relay_destroy(r, NULL);
		return err;
	}
	*out = r;
	return 0;
}

int relay_run_once(struct relay *r, int timeout_ms)
{
	struct epoll_event events[MAX_EVENTS];
	int n = epoll_wait(r->epfd, events, MAX_EVENTS, timeout_ms);

	if (n < 0 && errno != EINTR)
		return -errno;
	for (int i = 0; i < n; i++) {
		struct end *e = events[i].data.ptr;

		r->counters.events++;
		if (!e)
			accept_one(r);
		else if (!e->c->closed) /* an earlier event of this round may have closed it */
			on_event(r, e, events[i].events);
	}
	housekeeping(r);
	free_closed(r);
	return 0;
}

void relay_destroy(struct relay *r, const char *why)
{
	if (!r)
		return;
	while (r->conns)
		close_conn(r, r->conns, why);
	free_closed(r);
	close_fd(&r->lfd);
	close_fd(&r->epfd);
	free(r);
}

void relay_set_upstream(struct relay *r, const struct sockaddr_storage *addr, socklen_t len)
{
	char name[CONN_ADDR_STRLEN];

	if (len == r->cfg.upstream_len && !memcmp(addr, &r->cfg.upstream, len))
		return;
	conn_format_addr(addr, name, sizeof(name));
	LOG_INFO(TAG, "the ingest is now at %s (was %s): new connections go there", name,
		 r->upstream_name);
	memcpy(&r->cfg.upstream, addr, len);
	r->cfg.upstream_len = len;
	snprintf(r->upstream_name, sizeof(r->upstream_name), "%s", name);
}

void relay_get_counters(const struct relay *r, struct relay_counters *out)
{
	*out = r->counters;
}
