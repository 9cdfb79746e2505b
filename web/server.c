// SPDX-License-Identifier: MIT
/*
 * libmicrohttpd serves the last published status: the page, the API and
 * /metrics. Each listening address is a daemon with its own thread; the
 * controls run on it and go through the operations the sender gave.
 */
#include "clock.h"
#include "log.h"
#include "web.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#define TAG	      "http"
#define RENDER_SIZE   (64 * 1024)
#define METRICS_TYPE  "text/plain; version=0.0.4; charset=utf-8"
#define JSON_TYPE     "application/json"
#define HTML_TYPE     "text/html; charset=utf-8"
#define UPLINK_PREFIX "/api/uplinks/"
#define TOKEN_HEADER  "X-Mpstream-Token"
#define BEARER	      "Bearer "
/*
 * A trickling client holds a connection: each host (an IPv6 one: its /64,
 * admit()) gets PER_IP_LIMIT, so that
 * the operator still gets in while a few hosts hold theirs, and a connection
 * that sends nothing for CONN_TIMEOUT_S is closed (docs/api.md, "Limits").
 */
#define CONN_LIMIT	    256U
#define PER_IP_LIMIT	    8U
#define CONN_TIMEOUT_S	    10U
#define REQUEST_DEADLINE_MS 10000 /* a whole request, however it trickles */

/* The page (page.html, made into a C array at build time). */
extern const unsigned char web_page_html[];
extern const size_t web_page_html_len;

struct web;

/*
 * An open connection, for the request deadline: libmicrohttpd's timeout
 * restarts on every byte, so a client sending a header line every 5 s held
 * its connection for ever. Each gets REQUEST_DEADLINE_MS from its start or
 * its last answer for a whole request; past that web_publish() shuts its
 * socket down (libmicrohttpd sees the end and closes it).
 */
struct tracked {
	int fd;
	struct web_host host;
	int64_t since_ms;
	bool cut;
	struct tracked *next;
};

/* One listening address: /metrics alone, or everything. */
struct listener {
	struct web *w;
	struct MHD_Daemon *daemon;
	bool api;
};

struct web {
	struct web_config cfg;
	char token[WEB_TOKEN_MAX + 1];
	struct listener metrics, http;
	pthread_mutex_t lock;
	struct web_status st;
	struct web_history hist;
	struct web_refusals refusals; /* under the lock */
	struct web_refusals cuts;     /* the deadline's lines apart: always some told */
	struct tracked *conns;	      /* under the lock */
};

/* A request's body, gathered as it comes. */
struct request {
	char body[WEB_BODY_MAX];
	size_t len;
	bool too_big;
};

struct reply {
	unsigned int status;
	const char *type;
	char *body; /* malloc'ed */
	size_t len;
};

static void reply_text(struct reply *r, unsigned int status, const char *type, char *body)
{
	r->status = body ? status : MHD_HTTP_INTERNAL_SERVER_ERROR;
	r->type = type;
	r->body = body ? body : strdup("{\"error\":\"out of memory\"}");
	r->len = r->body ? strlen(r->body) : 0;
}

/* {"error": @msg} (or {"ok": true} for a NULL @msg) with @status. */
static void reply_json(struct reply *r, unsigned int status, const char *msg)
{
	json_t *root = msg ? json_pack("{s:s}", "error", msg) : json_pack("{s:b}", "ok", 1);

	reply_text(r, status, JSON_TYPE, root ? json_dumps(root, JSON_COMPACT) : NULL);
	json_decref(root);
}

static const struct sockaddr *client_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

	return ci ? ci->client_addr : NULL;
}

/* The token the request carries (Authorization: Bearer, or X-Mpstream-Token), or NULL. */
static const char *token_of(struct MHD_Connection *conn)
{
	const char *v =
		MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);

	if (v && strncasecmp(v, BEARER, strlen(BEARER)) == 0)
		return v + strlen(BEARER);
	return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, TOKEN_HEADER);
}

/*
 * A refusal is a log line (someone without the token tried), at most
 * WEB_REFUSALS_LOGGED a minute: a flood of them must not flood the log.
 */
__attribute__((format(printf, 3, 4))) static void log_limited(struct web *w,
							      struct web_refusals *limit,
							      const char *fmt, ...)
{
	unsigned untold;
	bool tell;
	va_list ap;

	pthread_mutex_lock(&w->lock);
	tell = web_refusal_to_log(limit, mps_mono_ms(), &untold);
	pthread_mutex_unlock(&w->lock);
	if (untold)
		LOG_WARN(TAG,
			 "%u more lines like the last in the past minute, not logged one by one",
			 untold);
	if (!tell)
		return;
	va_start(ap, fmt);
	mps_vlog(MPS_LOG_WARN, TAG, fmt, ap);
	va_end(ap);
}

/*
 * Controls need the token; reads need it from other hosts, and from this
 * host when its Host header names another (DNS rebinding). Returns true, or
 * false with the refusal in @r.
 */
static bool allowed(struct listener *l, struct MHD_Connection *conn, const char *method,
		    const char *url, bool control, struct reply *r)
{
	struct web *w = l->w;
	const char *given = token_of(conn);
	const char *host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
	const struct sockaddr *sa = client_of(conn);
	char a[INET6_ADDRSTRLEN] = "?";
	enum web_access access = WEB_NEED_TOKEN;

	if (!control)
		access = web_read_access(sa, host,
					 (const struct sockaddr *)(l->api ? &w->cfg.http_listen
									  : &w->cfg.metrics_listen),
					 !l->api);
	if (access == WEB_ALLOWED || (l->api && given && web_token_equal(given, w->token)))
		return true;
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, a, sizeof(a));
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, a, sizeof(a));
	if (access == WEB_FOREIGN_HOST) {
		log_limited(w, &w->refusals,
			    "refused %s %.64s from %s: Host '%.64s' is not this host, no token",
			    method, url, a, host);
		reply_json(r, MHD_HTTP_FORBIDDEN,
			   "a read without the token must name this host (Host: localhost, "
			   "127.0.0.1, [::1] or the address listened on)");
		return false;
	}
	log_limited(w, &w->refusals, "refused %s %.64s from %s: %s token", method, url, a,
		    given ? "wrong" : "no");
	reply_json(r, MHD_HTTP_UNAUTHORIZED,
		   control ? "a control needs the token" : "reads from other hosts need the token");
	return false;
}

/* Under the lock: what the stream does now. */
static void refresh(struct web *w)
{
	if (w->cfg.ops && w->cfg.ops->fill)
		w->cfg.ops->fill(w->cfg.ctx, &w->st);
}

static void serve_metrics(struct web *w, struct reply *r)
{
	char *body = malloc(RENDER_SIZE);
	int len;

	if (!body)
		return reply_text(r, MHD_HTTP_INTERNAL_SERVER_ERROR, JSON_TYPE, NULL);
	pthread_mutex_lock(&w->lock);
	len = metrics_render(&w->st.m, body, RENDER_SIZE);
	pthread_mutex_unlock(&w->lock);
	if (len < 0)
		len = snprintf(body, RENDER_SIZE, "too many series\n");
	r->status = MHD_HTTP_OK;
	r->type = METRICS_TYPE;
	r->body = body;
	r->len = (size_t)len;
}

static void serve_status(struct web *w, struct MHD_Connection *conn, struct reply *r)
{
	const char *after = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "log_after");
	struct mps_log_line lines[MPS_LOG_RECENT];
	size_t n = mps_log_recent(lines, MPS_LOG_RECENT, after ? strtoull(after, NULL, 10) : 0);
	char *body;

	pthread_mutex_lock(&w->lock);
	refresh(w);
	body = web_json_status(&w->st, &w->hist, lines, n);
	pthread_mutex_unlock(&w->lock);
	reply_text(r, MHD_HTTP_OK, JSON_TYPE, body);
}

static void serve_history(struct web *w, struct reply *r)
{
	char *body;

	pthread_mutex_lock(&w->lock);
	body = web_json_history(&w->st, &w->hist);
	pthread_mutex_unlock(&w->lock);
	reply_text(r, MHD_HTTP_OK, JSON_TYPE, body);
}

/* An operation's result as the API says it. */
static void reply_result(struct reply *r, int ret, const char *what)
{
	char msg[160];

	switch (ret) {
	case 0:
		return reply_json(r, MHD_HTTP_OK, NULL);
	case -EALREADY:
		snprintf(msg, sizeof(msg), "%s: already so", what);
		return reply_json(r, MHD_HTTP_CONFLICT, msg);
	case -ENOENT:
		snprintf(msg, sizeof(msg), "%s: no such uplink", what);
		return reply_json(r, MHD_HTTP_NOT_FOUND, msg);
	case -ENOTCONN:
		snprintf(msg, sizeof(msg), "%s: not live", what);
		return reply_json(r, MHD_HTTP_CONFLICT, msg);
	case -ENOTSUP: /* also -EOPNOTSUPP, the same value on Linux */
	case -EPERM:
		snprintf(msg, sizeof(msg), "%s: not possible here: %s", what, strerror(-ret));
		return reply_json(r, MHD_HTTP_CONFLICT, msg);
	default:
		snprintf(msg, sizeof(msg), "%s: %s", what, strerror(-ret));
		return reply_json(r, MHD_HTTP_INTERNAL_SERVER_ERROR, msg);
	}
}

static void control_bitrate(struct web *w, const char *url, const struct request *req,
			    struct reply *r)
{
	char err[160];
	int64_t lo, hi;

	pthread_mutex_lock(&w->lock);
	refresh(w);
	lo = w->st.min_bps;
	hi = w->st.max_bps;
	pthread_mutex_unlock(&w->lock);
	if (web_parse_bounds(req->body, req->len, &lo, &hi, err, sizeof(err)))
		return reply_json(r, MHD_HTTP_BAD_REQUEST, err);
	reply_result(r, w->cfg.ops->set_bounds(w->cfg.ctx, lo, hi), "bitrate");
}

/* The modem control's answer: its status by what went wrong, ModemManager's words. */
static unsigned int modem_status(int ret)
{
	switch (ret) {
	case 0:
		return MHD_HTTP_OK;
	case -EINVAL:
		return MHD_HTTP_BAD_REQUEST;
	case -ENOENT:
		return MHD_HTTP_NOT_FOUND;
	case -ENODEV:
	case -ENOTSUP:
	case -EBUSY: /* another control of this modem under way */
		return MHD_HTTP_CONFLICT;
	case -EIO:
		return MHD_HTTP_BAD_GATEWAY;
	case -ETIMEDOUT:
		return MHD_HTTP_ACCEPTED; /* asked, and going on: the log tells its end */
	default:
		return MHD_HTTP_INTERNAL_SERVER_ERROR;
	}
}

/* POST /api/uplinks/NAME/modem (@name: NAME, cut at its '/'). */
static void control_modem(struct web *w, const char *name, const struct request *req,
			  struct reply *r)
{
	struct web_modem_request mreq;
	struct web_modem_answer ans = {.pin_attempts_left = -1};
	char err[160];
	int ret;

	if (web_parse_modem(req->body, req->len, &mreq, err, sizeof(err))) {
		LOG_WARN(TAG, "modem control for %s refused: %s", name, err);
		return reply_json(r, MHD_HTTP_BAD_REQUEST, err);
	}
	ret = w->cfg.ops->modem ? w->cfg.ops->modem(w->cfg.ctx, name, &mreq, &ans) : -ENODEV;
	explicit_bzero(&mreq, sizeof(mreq));
	if (ret == -ETIMEDOUT)
		snprintf(
			ans.msg, sizeof(ans.msg),
			"asked: ModemManager has not answered within %d s; the log will say how it "
			"ends",
			MODEM_CONTROL_TIMEOUT_MS / 1000);
	else if (!ans.msg[0])
		snprintf(ans.msg, sizeof(ans.msg), "%s", strerror(-ret));
	bool ok = !ret || ret == -ETIMEDOUT;
	json_t *root = json_pack("{s:b,s:s,s:s}", "ok", ok, ok ? "done" : "error", ans.msg,
				 "uplink", name);
	if (root && ans.pin_attempts_left >= 0)
		json_object_set_new(root, "pin_attempts_left", json_integer(ans.pin_attempts_left));
	reply_text(r, modem_status(ret), JSON_TYPE, root ? json_dumps(root, JSON_COMPACT) : NULL);
	json_decref(root);
}

static void control_uplink(struct web *w, const char *url, const struct request *req,
			   struct reply *r)
{
	const char *name = url + strlen(UPLINK_PREFIX), *slash = strchr(name, '/');
	char err[160];
	int use, backup;

	if (slash) {
		char one[64];

		if (strcmp(slash, "/modem") || (size_t)(slash - name) >= sizeof(one))
			return reply_json(r, MHD_HTTP_NOT_FOUND, "no such path (see docs/api.md)");
		snprintf(one, sizeof(one), "%.*s", (int)(slash - name), name);
		return control_modem(w, one, req, r);
	}

	if (web_parse_uplink(req->body, req->len, &use, &backup, err, sizeof(err)))
		return reply_json(r, MHD_HTTP_BAD_REQUEST, err);
	reply_result(r,
		     w->cfg.ops->set_uplink(w->cfg.ctx, url + strlen(UPLINK_PREFIX), use, backup),
		     "uplink");
}

static void control_live(struct web *w, const char *url, const struct request *req, struct reply *r)
{
	reply_result(r, w->cfg.ops->live(w->cfg.ctx), "live");
}

static void control_stop(struct web *w, const char *url, const struct request *req, struct reply *r)
{
	reply_result(r, w->cfg.ops->stop(w->cfg.ctx), "stop");
}

static void control_keyframe(struct web *w, const char *url, const struct request *req,
			     struct reply *r)
{
	reply_result(r, w->cfg.ops->keyframe(w->cfg.ctx), "keyframe");
}

/* POST /api/...: the controls, by path (@prefix: the path begins so, the rest a name). */
static const struct {
	const char *path;
	bool prefix;
	void (*run)(struct web *w, const char *url, const struct request *req, struct reply *r);
} controls[] = {
	{"/api/live", false, control_live},	    {"/api/stop", false, control_stop},
	{"/api/keyframe", false, control_keyframe}, {"/api/bitrate", false, control_bitrate},
	{UPLINK_PREFIX, true, control_uplink},
};

/* The control at @url, or -1. */
static int find_control(const char *url)
{
	for (size_t i = 0; i < sizeof(controls) / sizeof(controls[0]); i++)
		if (controls[i].prefix ? !strncmp(url, controls[i].path, strlen(controls[i].path))
				       : !strcmp(url, controls[i].path))
			return (int)i;
	return -1;
}

/* What a whole request gets. */
static void route(struct listener *l, struct MHD_Connection *conn, const char *url,
		  const char *method, const struct request *req, struct reply *r)
{
	struct web *w = l->w;
	bool get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
	bool post = !strcmp(method, "POST");
	int c;

	if (!strcmp(url, "/metrics")) {
		if (!get)
			return reply_json(r, MHD_HTTP_METHOD_NOT_ALLOWED, "GET /metrics");
		if (!allowed(l, conn, method, url, false, r))
			return;
		return serve_metrics(w, r);
	}
	if (!l->api)
		return reply_text(r, MHD_HTTP_NOT_FOUND, METRICS_TYPE,
				  strdup("mpstream serves /metrics here\n"));
	if (!strcmp(url, "/") || !strcmp(url, "/index.html")) {
		if (!get)
			return reply_json(r, MHD_HTTP_METHOD_NOT_ALLOWED, "GET /");
		r->status = MHD_HTTP_OK;
		r->type = HTML_TYPE;
		r->body = malloc(web_page_html_len);
		r->len = web_page_html_len;
		if (r->body)
			memcpy(r->body, web_page_html, web_page_html_len);
		return;
	}
	if ((c = find_control(url)) >= 0) {
		if (!post)
			return reply_json(r, MHD_HTTP_METHOD_NOT_ALLOWED, "controls are POST");
		if (!allowed(l, conn, method, url, true, r))
			return;
		if (req->too_big)
			return reply_json(r, MHD_HTTP_CONTENT_TOO_LARGE, "the body is too large");
		return controls[c].run(w, url, req, r);
	}
	if (!strcmp(url, "/api/status") || !strcmp(url, "/api/history")) {
		if (!get)
			return reply_json(r, MHD_HTTP_METHOD_NOT_ALLOWED, "GET only");
		if (!allowed(l, conn, method, url, false, r))
			return;
		return strcmp(url, "/api/status") ? serve_history(w, r) : serve_status(w, conn, r);
	}
	reply_json(r, MHD_HTTP_NOT_FOUND, "no such path (see docs/api.md)");
}

static enum MHD_Result send_reply(struct MHD_Connection *conn, struct reply *r)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (!r->body)
		return MHD_NO;
	resp = MHD_create_response_from_buffer(r->len, r->body, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(r->body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->type);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	/* The page is ours alone: no framing by another site, no guessing of types. */
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	ret = MHD_queue_response(conn, r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result serve(void *cls, struct MHD_Connection *conn, const char *url,
			     const char *method, const char *version, const char *upload_data,
			     size_t *upload_data_size, void **con_cls)
{
	struct request *req = *con_cls;
	struct reply r = {0};

	if (!req) {
		/* The first call has the headers only. */
		req = calloc(1, sizeof(*req));
		*con_cls = req;
		return req ? MHD_YES : MHD_NO;
	}
	if (*upload_data_size) {
		/* Past WEB_BODY_MAX the rest is read and dropped: a 413, not a cut-off body. */
		if (req->too_big || req->len + *upload_data_size > sizeof(req->body) - 1) {
			req->too_big = true;
		} else {
			memcpy(req->body + req->len, upload_data, *upload_data_size);
			req->len += *upload_data_size;
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	route(cls, conn, url, method, req, &r);
	return send_reply(conn, &r);
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	struct listener *l = cls;
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct tracked *t = ci ? ci->socket_context : NULL;

	/* A body may have held a SIM PIN. */
	if (*con_cls)
		explicit_bzero(*con_cls, sizeof(struct request));
	free(*con_cls);
	*con_cls = NULL;
	if (!t)
		return;
	pthread_mutex_lock(&l->w->lock);
	t->since_ms = mps_mono_ms(); /* answered: the next request's time begins */
	pthread_mutex_unlock(&l->w->lock);
}

static void track(void *cls, struct MHD_Connection *conn, void **socket_context,
		  enum MHD_ConnectionNotificationCode code)
{
	struct web *w = ((struct listener *)cls)->w;
	const union MHD_ConnectionInfo *ci;
	struct tracked *t = *socket_context;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		t = ci ? calloc(1, sizeof(*t)) : NULL;
		if (!t)
			return;
		t->fd = ci->connect_fd;
		t->since_ms = mps_mono_ms();
		ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		if (ci)
			web_host_of(ci->client_addr, &t->host);
		pthread_mutex_lock(&w->lock);
		t->next = w->conns;
		w->conns = t;
		pthread_mutex_unlock(&w->lock);
		*socket_context = t;
		return;
	}
	if (!t)
		return;
	pthread_mutex_lock(&w->lock);
	for (struct tracked **p = &w->conns; *p; p = &(*p)->next)
		if (*p == t) {
			*p = t->next;
			break;
		}
	pthread_mutex_unlock(&w->lock);
	free(t);
	*socket_context = NULL;
}

/*
 * A new connection from @addr, before libmicrohttpd takes it: refused when its
 * host (an IPv6 client's /64) holds PER_IP_LIMIT already. libmicrohttpd's own
 * per-IP limit counts whole addresses, and an IPv6 host has a /64 of them.
 * A host's connections on both listeners (--http, --metrics) count; each
 * accepts and tracks in its own polling thread, so when both accept from one
 * host at the same moment it may get one over.
 */
static enum MHD_Result admit(void *cls, const struct sockaddr *addr, socklen_t len)
{
	struct web *w = ((struct listener *)cls)->w;
	struct web_host host;
	unsigned held = 0;
	char a[INET6_ADDRSTRLEN + 4];

	(void)len;
	if (!web_host_of(addr, &host))
		return MHD_YES;
	pthread_mutex_lock(&w->lock);
	for (struct tracked *t = w->conns; t; t = t->next)
		held += !t->cut && web_host_equal(&t->host, &host);
	pthread_mutex_unlock(&w->lock);
	if (held < PER_IP_LIMIT)
		return MHD_YES;
	web_host_str(&host, a, sizeof(a));
	log_limited(w, &w->refusals, "refused a connection from %s: it holds %u already", a, held);
	return MHD_NO;
}

/* Under the lock: shut down the connections past the request deadline; how many. */
static unsigned cut_slow(struct web *w, int64_t now)
{
	unsigned n = 0;

	for (struct tracked *t = w->conns; t; t = t->next)
		if (!t->cut && now - t->since_ms >= REQUEST_DEADLINE_MS) {
			shutdown(t->fd, SHUT_RDWR);
			t->cut = true;
			n++;
		}
	return n;
}

/* libmicrohttpd's own refusals (a host over its limit, all connections taken): refusals too. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[256];

	vsnprintf(line, sizeof(line), fmt, ap);
	log_limited(cls, &((struct web *)cls)->refusals, "%s", line);
}

/*
 * Serve on @addr, IPv4 or IPv6; an IPv6 socket is dual-stack, so that [::]
 * takes IPv4 clients too (they arrive IPv4-mapped).
 */
static int listen_on(struct listener *l, const struct sockaddr_storage *addr, const char *what)
{
	const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)addr;
	const struct sockaddr_in *v4 = (const struct sockaddr_in *)addr;
	bool ipv6 = addr->ss_family == AF_INET6;
	uint16_t port = ntohs(ipv6 ? v6->sin6_port : v4->sin_port);
	char a[INET6_ADDRSTRLEN + 2], ip[INET6_ADDRSTRLEN];

	errno = 0;
	l->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
					     MHD_USE_ERROR_LOG | (ipv6 ? MHD_USE_DUAL_STACK : 0),
				     port, admit, l, serve, l, MHD_OPTION_EXTERNAL_LOGGER, mhd_log,
				     l->w, MHD_OPTION_SOCK_ADDR, addr, MHD_OPTION_CONNECTION_LIMIT,
				     CONN_LIMIT, MHD_OPTION_PER_IP_CONNECTION_LIMIT, PER_IP_LIMIT,
				     MHD_OPTION_CONNECTION_TIMEOUT, CONN_TIMEOUT_S,
				     MHD_OPTION_NOTIFY_COMPLETED, completed, l,
				     MHD_OPTION_NOTIFY_CONNECTION, track, l, MHD_OPTION_END);
	inet_ntop(addr->ss_family,
		  ipv6 ? (const void *)&v6->sin6_addr : (const void *)&v4->sin_addr, ip,
		  sizeof(ip));
	snprintf(a, sizeof(a), ipv6 ? "[%s]" : "%s", ip);
	if (!l->daemon) {
		int err = errno ? errno : EADDRINUSE;

		LOG_ERR(TAG, "cannot serve %s on %s:%u: %s", what, a, port, strerror(err));
		return -err;
	}
	LOG_INFO(TAG, "%s on http://%s:%u/%s", what, a, port, l->api ? "" : "metrics");
	return 0;
}

int web_start(const struct web_config *cfg, struct web **out)
{
	struct web *w = calloc(1, sizeof(*w));
	int ret = 0;

	if (!w)
		return -ENOMEM;
	/* Before the server's thread parses anything: a PIN's body leaves nothing in freed memory. */
	web_json_zero_on_free();
	w->cfg = *cfg;
	snprintf(w->token, sizeof(w->token), "%s", cfg->token ? cfg->token : "");
	w->cfg.token = NULL;
	pthread_mutex_init(&w->lock, NULL);
	w->metrics = (struct listener){.w = w};
	w->http = (struct listener){.w = w, .api = true};
	if (cfg->metrics)
		ret = listen_on(&w->metrics, &cfg->metrics_listen, "Prometheus metrics");
	if (!ret && cfg->http)
		ret = listen_on(&w->http, &cfg->http_listen, "the operator's page and API");
	if (ret) {
		web_stop(w);
		return ret;
	}
	*out = w;
	return 0;
}

void web_publish(struct web *w, const struct metrics_data *d, double t_s)
{
	unsigned cut;

	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->st.m = *d;
	w->st.t_s = t_s;
	refresh(w);
	web_history_add(&w->hist, &w->st);
	cut = cut_slow(w, mps_mono_ms());
	pthread_mutex_unlock(&w->lock);
	if (cut)
		log_limited(w, &w->cuts, "closed %u connection%s: no whole request within %.0f s",
			    cut, cut == 1 ? "" : "s", REQUEST_DEADLINE_MS / 1000.0);
}

void web_stop(struct web *w)
{
	if (!w)
		return;
	if (w->metrics.daemon)
		MHD_stop_daemon(w->metrics.daemon);
	if (w->http.daemon)
		MHD_stop_daemon(w->http.daemon);
	pthread_mutex_destroy(&w->lock);
	explicit_bzero(w->token, sizeof(w->token));
	free(w);
}
