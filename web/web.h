/* SPDX-License-Identifier: MIT */
/*
 * The operator's page and its API, and the Prometheus endpoint: one
 * libmicrohttpd server (server.c) per listening address. `--metrics` serves
 * /metrics alone; `--http` serves the page at /, the JSON API under /api/
 * (docs/api.md) and /metrics too.
 *
 * What it shows comes from web_publish() (the driver's publish stage,
 * sender/ticks.h: every 100 ms while connected, and in standby) and from the operations' fill() (what the
 * stream does now); what it controls goes through the operations it is given
 * (sender/control.c), on the server's thread.
 * The figures over time (history.c) and the JSON (json.c) are pure, apart
 * from jansson, and unit-tested.
 */
#ifndef MPS_WEB_WEB_H
#define MPS_WEB_WEB_H

#include "metrics.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WEB_HISTORY_POINTS 300	/* one a second: the last 5 minutes */
#define WEB_BODY_MAX	   4096 /* a control's JSON body, at most */
#define WEB_TOKEN_MIN	   16	/* characters of a token, at least */
#define WEB_TOKEN_MAX	   128

/* What the stream is doing. */
enum web_mode { WEB_STANDBY, WEB_CONNECTING, WEB_LIVE, WEB_RECONNECTING };

const char *web_mode_name(enum web_mode m);

/* One publish: the metrics' data and what only the page shows. */
struct web_status {
	struct metrics_data m;
	enum web_mode mode;
	double t_s;		  /* on the --stats CSV's clock (since the start) */
	int64_t min_bps, max_bps; /* rate control's bounds in force */
	bool copy;		  /* --copy: the bit rate cannot change */
	const char *url;	  /* the ingest, its key redacted */
};

/* Live and connected, with the stream's figures of this tick: what video and delay need. */
bool web_status_live(const struct web_status *st);

/* One second of the chart. */
struct web_point {
	double t_s;
	double video_bps; /* the target, or what the encoder put out (--copy) */
	int delay_ms;	  /* -1: not streaming */
	struct {
		double send_bps, goodput_bps;
		double rtt_ms; /* its subflows' smallest; 0: none */
	} uplink[METRICS_MAX_UPLINKS];
};

/* The last WEB_HISTORY_POINTS seconds, and the counters they are computed from. */
struct web_history {
	struct web_point point[WEB_HISTORY_POINTS];
	size_t n, next;
	bool have_prev;
	double prev_t_s;
	uint64_t prev_sent[METRICS_MAX_UPLINKS], prev_acked[METRICS_MAX_UPLINKS];
};

/*
 * Add a point for @st when a second has passed since the last one (or it is
 * the first); the per-uplink rates come from the growth of its byte counters.
 * Returns true when a point was added.
 */
bool web_history_add(struct web_history *h, const struct web_status *st);

/* The newest point, NULL when none. */
const struct web_point *web_history_last(const struct web_history *h);

/* The @i-th point, oldest first (i < h->n). */
const struct web_point *web_history_at(const struct web_history *h, size_t i);

/*
 * The API's bodies (json.c): malloc'ed strings, NULL when out of memory.
 * status: the stream, every uplink with its newest rates, and the log lines
 * after @log_after; history: every point.
 */
struct mps_log_line;
char *web_json_status(const struct web_status *st, const struct web_history *h,
		      const struct mps_log_line *log, size_t n_log);
char *web_json_history(const struct web_status *st, const struct web_history *h);

/*
 * A control's JSON body. Return 0, or -EINVAL with one line in @err.
 * bounds: {"min_kbps": N, "max_kbps": N}, either may be left out (@min/@max
 * keep their values). uplink: {"use": bool, "backup": bool}, either may be
 * left out (-1), at least one.
 */
int web_parse_bounds(const char *body, size_t len, int64_t *min_bps, int64_t *max_bps, char *err,
		     size_t errlen) __attribute__((warn_unused_result));
int web_parse_uplink(const char *body, size_t len, int *use, int *backup, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/*
 * The modem control's body (POST /api/uplinks/NAME/modem): exactly one of
 * {"reset": true}, {"pin": "DIGITS"}, {"connect": true}. The PIN is copied
 * into @req as given (the modem library checks it: 4 to 8 digits) and wiped
 * from the parser's memory; the caller wipes @req->pin after use. 0, or
 * -EINVAL with one line in @err that never quotes the body.
 */
enum web_modem_op { WEB_MODEM_RESET, WEB_MODEM_PIN, WEB_MODEM_CONNECT };
struct web_modem_request {
	enum web_modem_op op;
	char pin[16];
};
int web_parse_modem(const char *body, size_t len, struct web_modem_request *req, char *err,
		    size_t errlen) __attribute__((warn_unused_result));

/*
 * jansson's allocator, for the whole process: malloc(), and a free that zeroes
 * the whole block first (explicit_bzero over malloc_usable_size()), so that its
 * parser's token buffer, which held the PIN, is not left in freed memory.
 * Compatible with blocks made or freed before or without it. web_start() calls
 * it, before its thread starts; calling it again changes nothing.
 */
void web_json_zero_on_free(void);

/* The modem control's answer: what was done or why not (never the PIN), the attempts left. */
struct web_modem_answer {
	char msg[192];
	int pin_attempts_left; /* -1: unknown, or not a PIN */
};

/* A client on this host (127.0.0.0/8, ::1, IPv4-mapped 127.x). */
struct sockaddr;
bool web_loopback(const struct sockaddr *sa);

/*
 * A client host as the connection limits count it: an IPv4 address (an
 * IPv4-mapped one too) whole, an IPv6 one by its /64, the least a network
 * hands one host (SLAAC): one phone on the van's Wi-Fi has a whole /64 of
 * addresses to open connections from.
 */
struct web_host {
	unsigned char bytes[8];
	bool ipv6;
};
bool web_host_of(const struct sockaddr *sa, struct web_host *h);
bool web_host_equal(const struct web_host *a, const struct web_host *b);
/* "192.0.2.7" or "2001:db8:1:2::/64". */
void web_host_str(const struct web_host *h, char *out, size_t size);

/*
 * A Host header that names this host: localhost, 127.0.0.1, [::1] (or
 * [::ffff:127.0.0.1]) or the address listened on (@bound of either family,
 * not 0.0.0.0 or [::]), with any port; NULL (HTTP/1.0) too. Any other name
 * or address is not; an IPv6 address must be in brackets, an IPv4 one not.
 */
bool web_host_is_local(const char *host, const struct sockaddr *bound);

/*
 * May a read without a valid token be served? Reads from this host are,
 * when their Host names this host; reads from other hosts only on an @open
 * listener (--metrics alone). Pure.
 */
enum web_access {
	WEB_ALLOWED,
	WEB_NEED_TOKEN,	  /* 401: from another host */
	WEB_FOREIGN_HOST, /* 403: from this host, under another host's name */
};
enum web_access web_read_access(const struct sockaddr *client, const char *host,
				const struct sockaddr *bound, bool open);

/*
 * Refusals are log lines, at most WEB_REFUSALS_LOGGED in WEB_REFUSAL_WINDOW_MS;
 * those over are counted and told in one line when the next window opens.
 */
#define WEB_REFUSALS_LOGGED   10
#define WEB_REFUSAL_WINDOW_MS 60000
struct web_refusals {
	int64_t window_ms; /* when the window began; 0: none yet */
	unsigned logged, untold;
};

/*
 * Log this refusal (at @now_ms)? *@untold gets the number of the last
 * window's refusals that were not logged, to be told now (0: none). Pure.
 */
bool web_refusal_to_log(struct web_refusals *r, int64_t now_ms, unsigned *untold);

/* @given equals @token, in time that does not depend on where they differ. */
bool web_token_equal(const char *given, const char *token);

/*
 * The operator's controls, called on the server's thread. Each returns 0, or
 * -errno: -EALREADY (live already / in standby already), -ENOTCONN (not
 * live), -ENOENT (no such uplink), -ENOTSUP (not with --copy, no MPTCP),
 * -EINVAL, ... fill() sets what the stream does now (mode, bounds, copy,
 * url) in @st; it is called under the server's lock and must not block.
 */
struct web_ops {
	void (*fill)(void *ctx, struct web_status *st);
	int (*live)(void *ctx);
	int (*stop)(void *ctx);
	int (*set_bounds)(void *ctx, int64_t min_bps, int64_t max_bps);
	int (*set_uplink)(void *ctx, const char *name, int use, int backup); /* -1: as is */
	int (*keyframe)(void *ctx);
	/*
	 * The uplink @name's modem: -ENOENT (no such uplink), -ENODEV (not a
	 * modem, or no ModemManager), -EINVAL (a PIN not of 4 to 8 digits, no
	 * APN configured), -EIO (ModemManager refused), -ETIMEDOUT. Wipes @req->pin.
	 */
	int (*modem)(void *ctx, const char *name, struct web_modem_request *req,
		     struct web_modem_answer *ans);
};

struct web_config {
	bool metrics;				/* serve /metrics alone on metrics_listen */
	struct sockaddr_storage metrics_listen; /* IPv4 or IPv6 ([::]: both) */
	bool http; /* serve the page, the API and /metrics on http_listen */
	struct sockaddr_storage http_listen;
	const char *token; /* what controls need (and reads from other hosts) */
	const struct web_ops *ops;
	void *ctx;
};

struct web;

/* Listen and serve. Returns 0 or -errno (the address is taken, ...), said in one line. */
int web_start(const struct web_config *cfg, struct web **out) __attribute__((warn_unused_result));

/*
 * Thread-safe: the figures the next request sees, @t_s on the --stats CSV's
 * clock. NULL @w is fine.
 */
void web_publish(struct web *w, const struct metrics_data *d, double t_s);

/* Stop serving. NULL is fine. */
void web_stop(struct web *w);

#endif
