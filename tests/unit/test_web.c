// SPDX-License-Identifier: MIT
/*
 * The operator's page and API: the chart's figures, the JSON, the controls'
 * bodies and the server itself on loopback with fake operations.
 */
#define _GNU_SOURCE /* explicit_bzero */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <jansson.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "loopback.h"
#include "web.h"

#define TOKEN "0123456789abcdef0123"

/* Two uplinks; up0 has sent @sent0 bytes, up1 @sent1, acked half of it. */
static void status_at(struct web_status *st, double t_s, uint64_t sent0, uint64_t sent1)
{
	memset(st, 0, sizeof(*st));
	st->t_s = t_s;
	st->mode = WEB_LIVE;
	st->min_bps = 500000;
	st->max_bps = 5000000;
	st->url = "rtmp://10.9.0.2/live/***";
	st->m.connected = true;
	st->m.stream = (struct conn_stream_status){
		.valid = true, .target_bps = 2500000, .delay_ms = 80, .dropped_frames = 3};
	st->m.n_uplinks = 2;
	snprintf(st->m.uplink[0].view.name, IFNAMSIZ, "up0");
	snprintf(st->m.uplink[1].view.name, IFNAMSIZ, "up1");
	st->m.uplink[0].state = "up";
	st->m.uplink[1].state = "off";
	st->m.uplink[1].view.backup = true;
	snprintf(st->m.uplink[1].view.congestion, sizeof(st->m.uplink[1].view.congestion), "bbr");
	st->m.uplink[0].sent_bytes = sent0;
	st->m.uplink[0].acked_bytes = sent0 / 2;
	st->m.uplink[1].sent_bytes = sent1;
	st->m.n_subflows = 2;
	st->m.subflow[0] = (struct metrics_subflow){.id = 1, .uplink = "up0", .rtt_s = 0.040};
	st->m.subflow[1] = (struct metrics_subflow){.id = 2, .uplink = "up0", .rtt_s = 0.025};
}

/* A point a second, rates from the counters' growth, the smallest RTT, a ring of 5 minutes. */
static void test_history(void **state)
{
	struct web_history *h = calloc(1, sizeof(*h));
	struct web_status st;
	const struct web_point *p;

	status_at(&st, 10.0, 1000, 0);
	assert_true(web_history_add(h, &st));
	status_at(&st, 10.5, 100000, 0);
	assert_false(web_history_add(h, &st)); /* half a second: not yet */
	status_at(&st, 12.0, 501000, 250000);
	assert_true(web_history_add(h, &st));
	p = web_history_last(h);
	assert_int_equal(h->n, 2);
	assert_float_equal(p->uplink[0].send_bps, 8.0 * 500000 / 2.0, 1e-6);
	assert_float_equal(p->uplink[0].goodput_bps, 8.0 * 250000 / 2.0, 1e-6);
	assert_float_equal(p->uplink[1].send_bps, 8.0 * 250000 / 2.0, 1e-6);
	assert_float_equal(p->uplink[0].rtt_ms, 25.0, 1e-9);
	assert_float_equal(p->uplink[1].rtt_ms, 0, 0);
	assert_float_equal(p->video_bps, 2500000, 0);
	assert_int_equal(p->delay_ms, 80);
	/* Standby: no video, no delay. */
	status_at(&st, 13.0, 501000, 250000);
	st.mode = WEB_STANDBY;
	assert_true(web_history_add(h, &st));
	p = web_history_last(h);
	assert_float_equal(p->video_bps, 0, 0);
	assert_int_equal(p->delay_ms, -1);
	assert_float_equal(p->uplink[0].send_bps, 0, 0);
	/* The ring keeps the last WEB_HISTORY_POINTS, oldest first. */
	for (int i = 0; i < WEB_HISTORY_POINTS + 10; i++) {
		status_at(&st, 14.0 + i, 501000, 250000);
		assert_true(web_history_add(h, &st));
	}
	assert_int_equal(h->n, WEB_HISTORY_POINTS);
	assert_float_equal(web_history_at(h, 0)->t_s, 14.0 + 10, 0);
	assert_float_equal(web_history_last(h)->t_s, 14.0 + WEB_HISTORY_POINTS + 9, 0);
	free(h);
}

/* The status as JSON: read back, every field where the page and the docs say. */
static void test_json_status(void **state)
{
	struct web_history *h = calloc(1, sizeof(*h));
	struct mps_log_line log[1] = {{.seq = 7,
				       .time_ms = 1000,
				       .level = "warn",
				       .tag = "stream",
				       .text = "a \"line\""}};
	struct web_status st;
	json_error_t e;
	json_t *j, *u;
	char *s;

	status_at(&st, 3.0, 0, 0);
	web_history_add(h, &st);
	status_at(&st, 4.0, 125000, 0);
	web_history_add(h, &st);
	s = web_json_status(&st, h, log, 1);
	assert_non_null(s);
	j = json_loads(s, 0, &e);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "mode")), "live");
	assert_float_equal(json_real_value(json_object_get(j, "time_s")), 4.0, 0);
	assert_null(strstr(s, "key"));
	assert_int_equal(
		json_integer_value(json_object_get(json_object_get(j, "video"), "target_bps")),
		2500000);
	assert_int_equal(json_integer_value(json_object_get(j, "dropped_frames")), 3);
	assert_int_equal(json_integer_value(json_object_get(j, "delay_ms")), 80);
	u = json_array_get(json_object_get(j, "uplinks"), 0);
	assert_string_equal(json_string_value(json_object_get(u, "state")), "up");
	assert_true(json_is_true(json_object_get(u, "in_use")));
	assert_float_equal(json_real_value(json_object_get(u, "send_bps")), 1e6, 1e-6);
	assert_int_equal(json_integer_value(json_object_get(u, "subflows")), 2);
	u = json_array_get(json_object_get(j, "uplinks"), 1);
	assert_true(json_is_false(json_object_get(u, "in_use")));
	assert_true(json_is_true(json_object_get(u, "backup")));
	assert_string_equal(json_string_value(json_object_get(u, "congestion")), "bbr");
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(j, "log"), 0), "text")),
			    "a \"line\"");
	json_decref(j);
	free(s);
	s = web_json_history(&st, h);
	j = json_loads(s, 0, &e);
	assert_int_equal(json_array_size(json_object_get(j, "points")), 2);
	assert_string_equal(json_string_value(json_array_get(json_object_get(j, "uplinks"), 1)),
			    "up1");
	json_decref(j);
	free(s);
	free(h);
}

/* up1 a modem: a hostile model and operator, its PIN asked for, no 5G figure. */
static void hostile_radio(struct web_status *st)
{
	struct modem_radio *r = &st->m.uplink[1].radio;

	memset(r, 0, sizeof(*r));
	r->present = true;
	snprintf(r->model, sizeof(r->model), "EM\"75\"\n</script><b>x</b>\"}, \"a\": 1");
	snprintf(r->operator_name, sizeof(r->operator_name), "Op\\ \x1b[2J caf\xc3\xa9 \xc3");
	snprintf(r->operator_code, sizeof(r->operator_code), "20801");
	snprintf(r->tech, sizeof(r->tech), "LTE");
	snprintf(r->state, sizeof(r->state), "locked");
	r->reg = MODEM_REG_IDLE;
	r->quality = 72;
	r->lte.rsrp = -95.5;
	r->lte.rsrq = -11;
	r->lte.snr = NAN;
	r->lte.rssi = NAN;
	r->nr.rsrp = r->nr.rsrq = r->nr.sinr = NAN;
	r->rssi = NAN;
	r->sim = MODEM_SIM_PIN;
	r->sim_retries = 3;
}

/* Each uplink's radio in the status: null for no modem, the strings read back whole. */
static void test_json_radio(void **state)
{
	struct web_history *h = calloc(1, sizeof(*h));
	struct web_status st;
	json_error_t e;
	json_t *j, *u, *r;
	char *s;

	status_at(&st, 3.0, 0, 0);
	hostile_radio(&st);
	s = web_json_status(&st, h, NULL, 0);
	assert_non_null(s);
	j = json_loads(s, JSON_REJECT_DUPLICATES, &e);
	assert_non_null(j);
	u = json_array_get(json_object_get(j, "uplinks"), 0);
	assert_true(json_is_null(json_object_get(u, "radio")));
	u = json_array_get(json_object_get(j, "uplinks"), 1);
	assert_string_equal(json_string_value(json_object_get(u, "name")), "up1");
	r = json_object_get(u, "radio");
	assert_true(json_is_object(r));
	/* The quotes and braces stayed inside the string: no key was added. */
	assert_string_equal(json_string_value(json_object_get(r, "model")),
			    "EM\"75\"?</script><b>x</b>\"}, \"a\": 1");
	assert_null(json_object_get(r, "a"));
	assert_null(json_object_get(u, "a"));
	/* Valid UTF-8 without control characters: what jansson takes and a page shows. */
	assert_string_equal(json_string_value(json_object_get(r, "operator")),
			    "Op\\ ?[2J caf\xc3\xa9 ?");
	assert_string_equal(json_string_value(json_object_get(r, "operator_code")), "20801");
	assert_string_equal(json_string_value(json_object_get(r, "tech")), "LTE");
	assert_string_equal(json_string_value(json_object_get(r, "state")), "locked");
	assert_string_equal(json_string_value(json_object_get(r, "registration")), "idle");
	assert_true(json_is_false(json_object_get(r, "registered")));
	assert_int_equal(json_integer_value(json_object_get(r, "quality_pct")), 72);
	assert_float_equal(json_real_value(json_object_get(json_object_get(r, "lte"), "rsrp_dbm")),
			   -95.5, 0);
	assert_float_equal(json_real_value(json_object_get(json_object_get(r, "lte"), "rsrq_db")),
			   -11, 0);
	assert_true(json_is_null(json_object_get(json_object_get(r, "lte"), "snr_db")));
	assert_true(json_is_null(json_object_get(json_object_get(r, "nr"), "rsrp_dbm")));
	assert_true(json_is_null(json_object_get(json_object_get(r, "nr"), "sinr_db")));
	assert_true(json_is_null(json_object_get(r, "rssi_dbm")));
	assert_string_equal(json_string_value(json_object_get(r, "sim")), "pin");
	assert_int_equal(json_integer_value(json_object_get(r, "sim_retries")), 3);
	assert_int_equal(json_integer_value(json_object_get(r, "bars")), 2);
	assert_string_equal(json_string_value(json_object_get(r, "alert")),
			    "SIM locked (PIN, 3 attempts left)");
	json_decref(j);
	free(s);

	/* Registered again, the SIM ready: no alert; unknown figures are null. */
	st.m.uplink[1].radio.sim = MODEM_SIM_READY;
	st.m.uplink[1].radio.reg = MODEM_REG_ROAMING;
	st.m.uplink[1].radio.quality = -1;
	st.m.uplink[1].radio.sim_retries = -1;
	st.m.uplink[1].radio.lte.rsrp = NAN;
	s = web_json_status(&st, h, NULL, 0);
	j = json_loads(s, 0, &e);
	assert_non_null(j);
	r = json_object_get(json_array_get(json_object_get(j, "uplinks"), 1), "radio");
	assert_true(json_is_true(json_object_get(r, "registered")));
	assert_true(json_is_null(json_object_get(r, "alert")));
	assert_true(json_is_null(json_object_get(r, "quality_pct")));
	assert_true(json_is_null(json_object_get(r, "sim_retries")));
	assert_true(json_is_null(json_object_get(r, "bars")));
	json_decref(j);
	free(s);
	free(h);
}

static int bounds(const char *body, int64_t *lo, int64_t *hi)
{
	char err[160];
	int ret = web_parse_bounds(body, strlen(body), lo, hi, err, sizeof(err));

	if (ret)
		print_message("%s -> %s\n", body, err);
	return ret;
}

static void test_parse(void **state)
{
	int64_t lo = 500000, hi = 5000000;
	int use, backup;
	char err[160];

	assert_int_equal(bounds("{\"min_kbps\": 1000, \"max_kbps\": 3000}", &lo, &hi), 0);
	assert_int_equal(lo, 1000000);
	assert_int_equal(hi, 3000000);
	assert_int_equal(bounds("{\"max_kbps\": 4000}", &lo, &hi), 0);
	assert_int_equal(lo, 1000000);
	assert_int_equal(hi, 4000000);
	const char *bad[] = {"",
			     "{",
			     "[]",
			     "{}",
			     "{\"min_kbps\": 5000}",
			     "{\"min_kbps\": \"1000\"}",
			     "{\"min_kbps\": 1000.5}",
			     "{\"min_kbps\": 5}",
			     "{\"max_kbps\": 99999999}",
			     "{\"bitrate\": 1000}",
			     "{\"min_kbps\": 100, \"min_kbps\": 200}"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(bounds(bad[i], &lo, &hi), -EINVAL);
		assert_int_equal(lo, 1000000); /* untouched */
		assert_int_equal(hi, 4000000);
	}
	assert_int_equal(web_parse_uplink("{\"use\": false}", 14, &use, &backup, err, sizeof(err)),
			 0);
	assert_int_equal(use, 0);
	assert_int_equal(backup, -1);
	assert_int_equal(web_parse_uplink("{\"backup\": true, \"use\": true}", 29, &use, &backup,
					  err, sizeof(err)),
			 0);
	assert_int_equal(use, 1);
	assert_int_equal(backup, 1);
	assert_int_equal(web_parse_uplink("{}", 2, &use, &backup, err, sizeof(err)), -EINVAL);
	assert_int_equal(web_parse_uplink("{\"use\": 1}", 10, &use, &backup, err, sizeof(err)),
			 -EINVAL);
	assert_true(web_token_equal(TOKEN, TOKEN));
	assert_false(web_token_equal("0123456789abcdef012", TOKEN));
	assert_false(web_token_equal(TOKEN "4", TOKEN));
	assert_false(web_token_equal("", TOKEN));
}

/* Fake operations: each counts its calls. */
struct fake {
	int live, stop, bounds, uplink, keyframe, modem;
	enum web_modem_op modem_op;
	int64_t lo, hi;
	char name[32];
	int use, backup;
	int result; /* what each returns */
};

static void fake_fill(void *ctx, struct web_status *st)
{
	st->mode = WEB_LIVE;
	st->min_bps = 500000;
	st->max_bps = 5000000;
	st->url = "rtmp://h/live/***";
}

static int fake_live(void *ctx)
{
	return ((struct fake *)ctx)->live++, ((struct fake *)ctx)->result;
}

static int fake_stop(void *ctx)
{
	return ((struct fake *)ctx)->stop++, ((struct fake *)ctx)->result;
}

static int fake_bounds(void *ctx, int64_t lo, int64_t hi)
{
	struct fake *f = ctx;

	f->bounds++;
	f->lo = lo;
	f->hi = hi;
	return f->result;
}

static int fake_uplink(void *ctx, const char *name, int use, int backup)
{
	struct fake *f = ctx;

	f->uplink++;
	snprintf(f->name, sizeof(f->name), "%s", name);
	f->use = use;
	f->backup = backup;
	return strcmp(name, "up0") ? -ENOENT : f->result;
}

static int fake_keyframe(void *ctx)
{
	return ((struct fake *)ctx)->keyframe++, ((struct fake *)ctx)->result;
}

/*
 * The modem: a PIN "4711" is taken, any other refused with 2 attempts left;
 * wwan1's modem is still answering a reset (busy).
 */
static int fake_modem(void *ctx, const char *name, struct web_modem_request *req,
		      struct web_modem_answer *ans)
{
	struct fake *f = ctx;
	int ret = 0;

	f->modem++;
	f->modem_op = req->op;
	snprintf(f->name, sizeof(f->name), "%s", name);
	if (!strcmp(name, "wwan1")) {
		ret = -EBUSY;
		snprintf(ans->msg, sizeof(ans->msg),
			 "busy: the modem is still answering a reset "
			 "request; try again once it ends");
	} else if (strcmp(name, "wwan0")) {
		ret = strcmp(name, "up0") ? -ENOENT : -ENODEV;
	} else if (req->op == WEB_MODEM_PIN) {
		ret = strcmp(req->pin, "4711") ? -EIO : 0;
		ans->pin_attempts_left = ret ? 2 : 3;
		snprintf(ans->msg, sizeof(ans->msg), "%s",
			 ret ? "ModemManager refused: Incorrect password" : "the SIM took the PIN");
	}
	memset(req->pin, 0, sizeof(req->pin));
	return ret;
}

static const struct web_ops fake_ops = {
	.fill = fake_fill,
	.live = fake_live,
	.stop = fake_stop,
	.set_bounds = fake_bounds,
	.set_uplink = fake_uplink,
	.keyframe = fake_keyframe,
	.modem = fake_modem,
};

/* One HTTP/1.0 request; returns the status code, the whole answer in @resp. */
static int http(const struct sockaddr_storage *a, const char *method, const char *path,
		const char *headers, const char *body, char *resp, size_t size)
{
	int fd = socket(a->ss_family, SOCK_STREAM, 0), code = 0;
	size_t blen = body ? strlen(body) : 0, got = 0;
	char *req = malloc(blen + 1024);
	ssize_t n;
	int len;

	assert_non_null(req);
	len = snprintf(req, blen + 1024, "%s %s HTTP/1.0\r\n%sContent-Length: %zu\r\n\r\n", method,
		       path, headers ? headers : "", blen);
	memcpy(req + len, body ? body : "", blen);
	assert_int_equal(connect(fd, (const struct sockaddr *)a,
				 a->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
							  : sizeof(struct sockaddr_in)),
			 0);
	assert_int_equal(write(fd, req, (size_t)len + blen), (ssize_t)((size_t)len + blen));
	while ((n = read(fd, resp + got, size - 1 - got)) > 0)
		got += (size_t)n;
	resp[got] = '\0';
	close(fd);
	free(req);
	sscanf(resp, "HTTP/1.%*d %d", &code);
	return code;
}

/* A free port on loopback (127.0.0.1). */
static struct sockaddr_storage free_port(void)
{
	struct sockaddr_storage ss = {0};
	int fd = loopback_listener(1, (struct sockaddr_in *)&ss);

	close(fd);
	return ss;
}

/* The port of @ss, either family. */
static uint16_t port_of(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET6 ? ((const struct sockaddr_in6 *)ss)->sin6_port
					 : ((const struct sockaddr_in *)ss)->sin_port;
}

static void test_server(void **state)
{
	struct fake f = {0};
	struct web_config cfg = {.http = true, .token = TOKEN, .ops = &fake_ops, .ctx = &f};
	struct metrics_data d = {.connected = true};
	char *resp = malloc(256 * 1024), big[WEB_BODY_MAX + 100];
	const char *auth = "Authorization: Bearer " TOKEN "\r\n";
	struct web *w = NULL, *w2 = NULL;
	size_t rs = 256 * 1024;

	cfg.http_listen = free_port();
	assert_int_equal(web_start(&cfg, &w), 0);
	web_publish(w, &d, 1.0);
	/* Reads from this host need no token. */
	assert_int_equal(http(&cfg.http_listen, "GET", "/", NULL, NULL, resp, rs), 200);
	assert_non_null(strstr(resp, "text/html"));
	assert_non_null(strstr(resp, "<title>mpstream</title>"));
	assert_int_equal(http(&cfg.http_listen, "GET", "/metrics", NULL, NULL, resp, rs), 200);
	assert_non_null(strstr(resp, "mpstream_connected 1\n"));
	assert_int_equal(http(&cfg.http_listen, "GET", "/api/status", NULL, NULL, resp, rs), 200);
	assert_non_null(strstr(resp, "\"mode\":\"live\""));
	assert_int_equal(http(&cfg.http_listen, "GET", "/api/history", NULL, NULL, resp, rs), 200);
	assert_non_null(strstr(resp, "\"points\":[{"));
	/* Controls need the token: none, a wrong one, in either header. */
	assert_int_equal(http(&cfg.http_listen, "POST", "/api/live", NULL, "{}", resp, rs), 401);
	assert_int_equal(http(&cfg.http_listen, "POST", "/api/live",
			      "Authorization: Bearer 0123456789abcdef0124\r\n", "{}", resp, rs),
			 401);
	assert_int_equal(http(&cfg.http_listen, "POST", "/api/stop", "X-Mpstream-Token: nope\r\n",
			      NULL, resp, rs),
			 401);
	assert_int_equal(f.live + f.stop, 0);
	assert_int_equal(http(&cfg.http_listen, "POST", "/api/live", auth, NULL, resp, rs), 200);
	assert_int_equal(http(&cfg.http_listen, "POST", "/api/stop",
			      "X-Mpstream-Token: " TOKEN "\r\n", NULL, resp, rs),
			 200);
	assert_int_equal(http(&cfg.http_listen, "POST", "/api/keyframe", auth, NULL, resp, rs),
			 200);
	assert_int_equal(f.live, 1);
	assert_int_equal(f.stop, 1);
	assert_int_equal(f.keyframe, 1);
	/* Bounds: what is left out keeps the value in force. */
	assert_int_equal(http(&cfg.http_listen, "POST", "/api/bitrate", auth,
			      "{\"max_kbps\": 3000}", resp, rs),
			 200);
	assert_int_equal(f.lo, 500000);
	assert_int_equal(f.hi, 3000000);
	assert_int_equal(
		http(&cfg.http_listen, "POST", "/api/bitrate", auth, "{\"max_kbps\":", resp, rs),
		400);
	assert_non_null(strstr(resp, "not JSON"));
	memset(big, ' ', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(http(&cfg.http_listen, "POST", "/api/bitrate", auth, big, resp, rs), 413);
	assert_int_equal(f.bounds, 1);
	assert_int_equal(http(&cfg.http_listen, "POST", "/api/uplinks/up0", auth,
			      "{\"use\": false}", resp, rs),
			 200);
	assert_string_equal(f.name, "up0");
	assert_int_equal(f.use, 0);
	assert_int_equal(f.backup, -1);
	assert_int_equal(http(&cfg.http_listen, "POST", "/api/uplinks/wlan9", auth,
			      "{\"use\": true}", resp, rs),
			 404);
	f.result = -EALREADY;
	assert_int_equal(http(&cfg.http_listen, "POST", "/api/live", auth, NULL, resp, rs), 409);
	/* Wrong method, unknown path. */
	assert_int_equal(http(&cfg.http_listen, "GET", "/api/live", NULL, NULL, resp, rs), 405);
	assert_int_equal(http(&cfg.http_listen, "POST", "/api/status", auth, NULL, resp, rs), 405);
	assert_int_equal(http(&cfg.http_listen, "GET", "/etc/passwd", NULL, NULL, resp, rs), 404);
	/* The port is taken now: a second server says so. */
	assert_true(web_start(&cfg, &w2) < 0);
	assert_null(w2);
	web_stop(w);

	/* --metrics alone: /metrics and nothing else. */
	cfg = (struct web_config){.metrics = true, .metrics_listen = free_port()};
	assert_int_equal(web_start(&cfg, &w), 0);
	web_publish(w, &d, 1.0);
	assert_int_equal(http(&cfg.metrics_listen, "GET", "/metrics", NULL, NULL, resp, rs), 200);
	assert_int_equal(http(&cfg.metrics_listen, "GET", "/", NULL, NULL, resp, rs), 404);
	assert_int_equal(http(&cfg.metrics_listen, "GET", "/api/status", NULL, NULL, resp, rs),
			 404);
	web_stop(w);
	free(resp);
}

/* The modem control's bodies: one of three, never quoted back. */
static void test_parse_modem(void **state)
{
	struct web_modem_request req;
	char err[160];
	const char *bad[] = {"{}",
			     "{\"reset\": false}",
			     "{\"pin\": 1234}",
			     "{\"pin\": \"\"}",
			     "{\"pin\": \"12345678901234567\"}",
			     "{\"reset\": true, \"pin\": \"1234\"}",
			     "{\"5678\": true}",
			     "{\"pin\": \"5678\"",
			     "[\"5678\"]",
			     "{\"connect\": 1}"};

	assert_int_equal(web_parse_modem("{\"reset\": true}", strlen("{\"reset\": true}"), &req,
					 err, sizeof(err)),
			 0);
	assert_int_equal(req.op, WEB_MODEM_RESET);
	assert_int_equal(web_parse_modem("{\"connect\": true}", strlen("{\"connect\": true}"), &req,
					 err, sizeof(err)),
			 0);
	assert_int_equal(req.op, WEB_MODEM_CONNECT);
	assert_int_equal(web_parse_modem("{\"pin\": \"0042\"}", strlen("{\"pin\": \"0042\"}"), &req,
					 err, sizeof(err)),
			 0);
	assert_int_equal(req.op, WEB_MODEM_PIN);
	assert_string_equal(req.pin, "0042");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(web_parse_modem(bad[i], strlen(bad[i]), &req, err, sizeof(err)),
				 -EINVAL);
		assert_null(strstr(err, "5678"));
		assert_null(strstr(err, "1234"));
	}
}

/*
 * Every free() of the web library's code goes through here (test_web is linked
 * with -Wl,--wrap=free): while @wipe_watch is set, each block is counted and
 * searched for @wipe_needle before it is really freed. jansson's frees reach
 * it through web_json_zero_on_free()'s zeroing free, which calls free().
 */
void __real_free(void *p);
void __wrap_free(void *p);
static bool wipe_watch;
static const char *wipe_needle;
static size_t wipe_blocks, wipe_found;

void __wrap_free(void *p)
{
	if (p && wipe_watch) {
		size_t n = malloc_usable_size(p), k = strlen(wipe_needle);

		wipe_blocks++;
		for (size_t i = 0; i + k <= n; i++)
			if (!memcmp((const char *)p + i, wipe_needle, k)) {
				wipe_found++;
				break;
			}
	}
	__real_free(p);
}

/*
 * A parse of {"pin": ...}, with the frees watched: how many blocks held the
 * PIN's last six digits when freed (the lexer's next token overwrites the
 * first bytes of its buffer, not the rest).
 */
static size_t pin_left_in_freed(const char *body, const char *pin)
{
	struct web_modem_request req;
	char err[160];

	wipe_needle = pin + strlen(pin) - 6;
	wipe_blocks = wipe_found = 0;
	wipe_watch = true;
	assert_int_equal(web_parse_modem(body, strlen(body), &req, err, sizeof(err)), 0);
	wipe_watch = false;
	assert_string_equal(req.pin, pin);
	explicit_bzero(&req, sizeof(req));
	return wipe_found;
}

/* The PIN is not left in any block jansson's parser freed. */
static void test_parse_modem_wipes(void **state)
{
	const char *body = "{\"pin\": \"73592184\"}";
	json_malloc_t m;
	json_free_t f;

	json_get_alloc_funcs(&m, &f);
	/* Without the zeroing free, the check finds the PIN (the lexer's buffer): it can fail. */
	json_set_alloc_funcs(malloc, free);
	assert_true(pin_left_in_freed(body, "73592184") > 0);
	web_json_zero_on_free();
	assert_int_equal(pin_left_in_freed(body, "73592184"), 0);
	assert_true(wipe_blocks > 0); /* jansson's frees were seen */
	json_set_alloc_funcs(m, f);
	web_json_zero_on_free();
}

/* POST /api/uplinks/NAME/modem: the token, the answers, the PIN never in them nor the log. */
static void test_server_modem(void **state)
{
	struct fake f = {0};
	struct web_config cfg = {.http = true, .token = TOKEN, .ops = &fake_ops, .ctx = &f};
	const char *auth = "Authorization: Bearer " TOKEN "\r\n";
	struct mps_log_line lines[MPS_LOG_RECENT];
	char *resp = malloc(64 * 1024);
	size_t rs = 64 * 1024, n;
	struct web *w = NULL;
	uint64_t seq;

	n = mps_log_recent(lines, MPS_LOG_RECENT, 0);
	seq = n ? lines[n - 1].seq : 0;
	cfg.http_listen = free_port();
	assert_int_equal(web_start(&cfg, &w), 0);
	assert_int_equal(http(&cfg.http_listen, "POST", "/api/uplinks/wwan0/modem", NULL,
			      "{\"pin\": \"4711\"}", resp, rs),
			 401);
	assert_int_equal(f.modem, 0);
	assert_null(strstr(resp, "4711"));
	assert_int_equal(http(&cfg.http_listen, "POST", "/api/uplinks/wwan0/modem", auth,
			      "{\"reset\": true}", resp, rs),
			 200);
	assert_int_equal(f.modem_op, WEB_MODEM_RESET);
	assert_int_equal(http(&cfg.http_listen, "POST", "/api/uplinks/wwan0/modem", auth,
			      "{\"pin\": \"4711\"}", resp, rs),
			 200);
	assert_non_null(strstr(resp, "\"pin_attempts_left\":3"));
	assert_null(strstr(resp, "4711"));
	assert_int_equal(http(&cfg.http_listen, "POST", "/api/uplinks/wwan0/modem", auth,
			      "{\"pin\": \"9021\"}", resp, rs),
			 502);
	assert_non_null(strstr(resp, "Incorrect password"));
	assert_non_null(strstr(resp, "\"pin_attempts_left\":2"));
	assert_null(strstr(resp, "9021"));
	assert_int_equal(http(&cfg.http_listen, "POST", "/api/uplinks/wwan0/modem", auth,
			      "{\"pin\": 9021", resp, rs),
			 400);
	assert_null(strstr(resp, "9021"));
	assert_int_equal(f.modem, 3);
	assert_int_equal(http(&cfg.http_listen, "POST", "/api/uplinks/up0/modem", auth,
			      "{\"connect\": true}", resp, rs),
			 409);
	assert_int_equal(http(&cfg.http_listen, "POST", "/api/uplinks/wlan9/modem", auth,
			      "{\"connect\": true}", resp, rs),
			 404);
	assert_int_equal(http(&cfg.http_listen, "POST", "/api/uplinks/wwan0/radio", auth,
			      "{\"reset\": true}", resp, rs),
			 404);
	/* A control while another is under way for that modem: 409, and why. */
	assert_int_equal(http(&cfg.http_listen, "POST", "/api/uplinks/wwan1/modem", auth,
			      "{\"pin\": \"4711\"}", resp, rs),
			 409);
	assert_non_null(strstr(resp, "\"error\":\"busy: the modem is still answering a reset"));
	assert_null(strstr(resp, "4711"));
	assert_int_equal(f.modem, 6);
	web_stop(w);
	n = mps_log_recent(lines, MPS_LOG_RECENT, seq);
	for (size_t i = 0; i < n; i++) {
		assert_null(strstr(lines[i].text, "4711"));
		assert_null(strstr(lines[i].text, "9021"));
	}
	free(resp);
}

/* Who reads without the token; how many refusals are told. */
static void test_access(void **state)
{
	struct sockaddr_in lo = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct sockaddr_in other = {.sin_family = AF_INET};
	struct sockaddr_in bound = {.sin_family = AF_INET}, any = {.sin_family = AF_INET};
	struct sockaddr_in6 lo6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	struct sockaddr_in6 mapped = {.sin6_family = AF_INET6}, bound6 = {.sin6_family = AF_INET6};
	struct sockaddr_in6 any6 = {.sin6_family = AF_INET6};
	const struct sockaddr *l = (const struct sockaddr *)&lo,
			      *o = (const struct sockaddr *)&other,
			      *b = (const struct sockaddr *)&bound,
			      *b6 = (const struct sockaddr *)&bound6;
	struct web_refusals r = {0};
	unsigned untold = 99;

	inet_pton(AF_INET, "10.1.0.2", &bound.sin_addr);
	inet_pton(AF_INET, "10.1.0.7", &other.sin_addr);
	inet_pton(AF_INET6, "::ffff:127.0.0.1", &mapped.sin6_addr);
	inet_pton(AF_INET6, "2001:db8::5", &bound6.sin6_addr);
	assert_int_equal(web_read_access(l, "localhost:8080", b, false), WEB_ALLOWED);
	assert_int_equal(web_read_access(l, "LOCALHOST", b, false), WEB_ALLOWED);
	assert_int_equal(web_read_access(l, "127.0.0.1:8080", b, false), WEB_ALLOWED);
	assert_int_equal(web_read_access(l, "[::1]:8080", b, false), WEB_ALLOWED);
	assert_int_equal(web_read_access((const struct sockaddr *)&lo6, "[::1]", b, false),
			 WEB_ALLOWED);
	assert_int_equal(web_read_access(l, "10.1.0.2:8080", b, false), WEB_ALLOWED);
	assert_int_equal(web_read_access(l, NULL, b, false), WEB_ALLOWED);
	/* A rebinding page's name, another address, tricks. */
	assert_int_equal(web_read_access(l, "attacker.example:8080", b, false), WEB_FOREIGN_HOST);
	assert_int_equal(web_read_access(l, "10.1.0.3:8080", b, false), WEB_FOREIGN_HOST);
	assert_int_equal(web_read_access(l, "10.1.0.2:8080", (const struct sockaddr *)&any, false),
			 WEB_FOREIGN_HOST);
	assert_int_equal(web_read_access(l, "localhost.attacker.example", b, false),
			 WEB_FOREIGN_HOST);
	assert_int_equal(web_read_access(l, "127.0.0.1.nip.io", b, false), WEB_FOREIGN_HOST);
	assert_int_equal(web_read_access(l, "[::1", b, false), WEB_FOREIGN_HOST);
	assert_int_equal(web_read_access(l, "", b, false), WEB_FOREIGN_HOST);
	/* Another host needs the token, whatever its Host says; --metrics alone is open. */
	assert_int_equal(web_read_access(o, "localhost", b, false), WEB_NEED_TOKEN);
	assert_int_equal(web_read_access(o, "box.example", b, true), WEB_ALLOWED);
	/*
	 * IPv6 (--http [::1]:8080, [2001:db8::5]:8080, [::]:8080): a client on
	 * [::] from 127.0.0.1 arrives IPv4-mapped; the address listened on names
	 * this host in brackets, [::] does not, nor do the wrong forms.
	 */
	assert_int_equal(web_read_access((const struct sockaddr *)&mapped, "127.0.0.1", b6, false),
			 WEB_ALLOWED);
	assert_int_equal(web_read_access(l, "[::ffff:127.0.0.1]:8080", b6, false), WEB_ALLOWED);
	assert_int_equal(web_read_access(l, "[2001:db8::5]:8080", b6, false), WEB_ALLOWED);
	assert_int_equal(web_read_access(l, "[2001:DB8:0::5]", b6, false), WEB_ALLOWED);
	assert_int_equal(web_read_access(l, "[2001:db8::6]:8080", b6, false), WEB_FOREIGN_HOST);
	assert_int_equal(web_read_access(l, "[::]:8080", (const struct sockaddr *)&any6, false),
			 WEB_FOREIGN_HOST);
	assert_int_equal(web_read_access(l, "[2001:db8::5]", b, false), WEB_FOREIGN_HOST);
	assert_int_equal(web_read_access(l, "[10.1.0.2]:8080", b, false), WEB_FOREIGN_HOST);
	assert_int_equal(web_read_access(l, "[127.0.0.1]", b, false), WEB_FOREIGN_HOST);
	assert_int_equal(web_read_access(l, "::1", b, false), WEB_FOREIGN_HOST);
	assert_int_equal(
		web_read_access((const struct sockaddr *)&mapped, "attacker.example", b6, false),
		WEB_FOREIGN_HOST);
	assert_int_equal(web_read_access(l, "box.example", b, true), WEB_FOREIGN_HOST);

	for (int i = 0; i < WEB_REFUSALS_LOGGED; i++) {
		assert_true(web_refusal_to_log(&r, 1000 + i, &untold));
		assert_int_equal(untold, 0);
	}
	for (int i = 0; i < 500; i++)
		assert_false(web_refusal_to_log(&r, 2000 + i, &untold));
	assert_true(web_refusal_to_log(&r, 1000 + WEB_REFUSAL_WINDOW_MS, &untold));
	assert_int_equal(untold, 500);
	assert_true(web_refusal_to_log(&r, 1001 + WEB_REFUSAL_WINDOW_MS, &untold));
	assert_int_equal(untold, 0);
}

/* Log lines logged since @after, and whether any holds a control character. */
static size_t lines_since(uint64_t after, bool *control)
{
	struct mps_log_line l[MPS_LOG_RECENT];
	size_t n = mps_log_recent(l, MPS_LOG_RECENT, after);

	*control = false;
	for (size_t i = 0; i < n; i++)
		for (const char *c = l[i].text; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				*control = true;
	return n;
}

static uint64_t last_seq(void)
{
	struct mps_log_line l;

	return mps_log_recent(&l, 1, 0) ? l.seq : 0;
}

/* A non-loopback IPv4 address of this host, if it has one. */
static bool outside_address(struct sockaddr_in *a)
{
	struct ifaddrs *ifa, *i;
	bool found = false;

	if (getifaddrs(&ifa) < 0)
		return false;
	for (i = ifa; i && !found; i = i->ifa_next)
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET &&
		    !(i->ifa_flags & IFF_LOOPBACK) && (i->ifa_flags & IFF_UP)) {
			*a = *(struct sockaddr_in *)i->ifa_addr;
			found = true;
		}
	freeifaddrs(ifa);
	return found;
}

/*
 * A hostile client: a foreign Host, a newline and an escape sequence in a
 * path, a flood of refusals, /metrics from another host without the token.
 */
/* The limits count an IPv6 host by its /64, an IPv4 one (mapped too) by its address. */
static void test_host_key(void **state)
{
	struct sockaddr_in6 a = {.sin6_family = AF_INET6}, b = a;
	struct sockaddr_in v4 = {.sin_family = AF_INET};
	struct web_host ha, hb;
	char s[64];

	(void)state;
	inet_pton(AF_INET6, "2001:db8:1:2::10", &a.sin6_addr);
	inet_pton(AF_INET6, "2001:db8:1:2:ffff::1", &b.sin6_addr);
	assert_true(web_host_of((struct sockaddr *)&a, &ha));
	assert_true(web_host_of((struct sockaddr *)&b, &hb));
	assert_true(web_host_equal(&ha, &hb));
	web_host_str(&ha, s, sizeof(s));
	assert_string_equal(s, "2001:db8:1:2::/64");
	inet_pton(AF_INET6, "2001:db8:1:3::10", &b.sin6_addr);
	web_host_of((struct sockaddr *)&b, &hb);
	assert_false(web_host_equal(&ha, &hb));
	/* ::ffff:192.0.2.7 is 192.0.2.7, and not 192.0.2.8. */
	inet_pton(AF_INET6, "::ffff:192.0.2.7", &a.sin6_addr);
	inet_pton(AF_INET, "192.0.2.7", &v4.sin_addr);
	web_host_of((struct sockaddr *)&a, &ha);
	web_host_of((struct sockaddr *)&v4, &hb);
	assert_true(web_host_equal(&ha, &hb));
	web_host_str(&ha, s, sizeof(s));
	assert_string_equal(s, "192.0.2.7");
	inet_pton(AF_INET, "192.0.2.8", &v4.sin_addr);
	web_host_of((struct sockaddr *)&v4, &hb);
	assert_false(web_host_equal(&ha, &hb));
	assert_false(web_host_of(NULL, &ha));
}

static void test_hostile(void **state)
{
	struct web_config cfg = {
		.http = true, .token = TOKEN, .ops = &fake_ops, .ctx = &(struct fake){0}};
	struct metrics_data d = {.connected = true};
	char *resp = malloc(256 * 1024);
	size_t rs = 256 * 1024, n;
	struct web *w = NULL;
	struct sockaddr_storage out = {0}, port;
	bool control;
	uint64_t seq;

	cfg.http_listen = free_port();
	assert_int_equal(web_start(&cfg, &w), 0);
	web_publish(w, &d, 1.0);
	assert_int_equal(http(&cfg.http_listen, "GET", "/api/status",
			      "Host: attacker.example:8080\r\n", NULL, resp, rs),
			 403);
	assert_null(strstr(resp, "\"mode\""));
	assert_int_equal(http(&cfg.http_listen, "GET", "/metrics", "Host: attacker.example\r\n",
			      NULL, resp, rs),
			 403);
	assert_int_equal(http(&cfg.http_listen, "GET", "/api/status",
			      "Host: attacker.example:8080\r\nAuthorization: Bearer " TOKEN "\r\n",
			      NULL, resp, rs),
			 200);
	assert_int_equal(http(&cfg.http_listen, "GET", "/api/status", "Host: localhost:8080\r\n",
			      NULL, resp, rs),
			 200);

	seq = last_seq();
	assert_int_equal(http(&cfg.http_listen, "POST",
			      "/api/uplinks/x%0a14:00:00.000%20error%20stream%20FORGED", NULL, "{}",
			      resp, rs),
			 401);
	assert_int_equal(http(&cfg.http_listen, "POST", "/api/uplinks/%1b]0;PWNED%07%1b[2J", NULL,
			      "{}", resp, rs),
			 401);
	assert_int_equal(lines_since(seq, &control), 2);
	assert_false(control);
	/* A flood: a few lines, not one a refusal. */
	for (int i = 0; i < 100; i++)
		assert_int_equal(http(&cfg.http_listen, "POST", "/api/live", NULL, NULL, resp, rs),
				 401);
	n = lines_since(seq, &control);
	assert_true(n <= WEB_REFUSALS_LOGGED);
	web_stop(w);

	/* From another host (this host's outside address), /metrics needs the token too. */
	if (outside_address((struct sockaddr_in *)&out)) {
		char auth[] = "Authorization: Bearer " TOKEN "\r\n";

		port = free_port();
		((struct sockaddr_in *)&out)->sin_port = port_of(&port);
		cfg.http_listen = out;
		assert_int_equal(web_start(&cfg, &w), 0);
		web_publish(w, &d, 1.0);
		assert_int_equal(http(&out, "GET", "/metrics", NULL, NULL, resp, rs), 401);
		assert_null(strstr(resp, "mpstream_connected"));
		assert_int_equal(http(&out, "GET", "/api/status", NULL, NULL, resp, rs), 401);
		assert_int_equal(http(&out, "GET", "/metrics", auth, NULL, resp, rs), 200);
		web_stop(w);
	}
	free(resp);
}

/* A free port on [::1]; false when this host has no IPv6 loopback. */
static bool free_port6(struct sockaddr_storage *ss)
{
	struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
	socklen_t len = sizeof(*a);
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok;

	memset(ss, 0, sizeof(*ss));
	a->sin6_family = AF_INET6;
	a->sin6_addr = in6addr_loopback;
	ok = fd >= 0 && bind(fd, (struct sockaddr *)a, sizeof(*a)) == 0 &&
	     getsockname(fd, (struct sockaddr *)a, &len) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

/* --http [::1]:PORT and --http [::]:PORT, the second reached over IPv4 too. */
static void test_server_ipv6(void **state)
{
	struct web_config cfg = {
		.http = true, .token = TOKEN, .ops = &fake_ops, .ctx = &(struct fake){0}};
	struct metrics_data d = {.connected = true};
	struct sockaddr_storage v4 = {0};
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&cfg.http_listen;
	char resp[64 * 1024], host[64];
	struct web *w = NULL;

	if (!free_port6(&cfg.http_listen))
		skip();
	snprintf(host, sizeof(host), "Host: [::1]:%u\r\n", ntohs(a6->sin6_port));
	assert_int_equal(web_start(&cfg, &w), 0);
	web_publish(w, &d, 1.0);
	assert_int_equal(
		http(&cfg.http_listen, "GET", "/api/status", host, NULL, resp, sizeof(resp)), 200);
	assert_non_null(strstr(resp, "\"mode\""));
	assert_int_equal(http(&cfg.http_listen, "GET", "/api/status", "Host: attacker.example\r\n",
			      NULL, resp, sizeof(resp)),
			 403);
	assert_int_equal(
		http(&cfg.http_listen, "POST", "/api/live", host, NULL, resp, sizeof(resp)), 401);
	web_stop(w);

	/* [::]: both families; a client from 127.0.0.1 arrives as ::ffff:127.0.0.1. */
	a6->sin6_addr = in6addr_any;
	assert_int_equal(web_start(&cfg, &w), 0);
	web_publish(w, &d, 1.0);
	v4.ss_family = AF_INET;
	((struct sockaddr_in *)&v4)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	((struct sockaddr_in *)&v4)->sin_port = a6->sin6_port;
	assert_int_equal(
		http(&v4, "GET", "/api/status", "Host: 127.0.0.1\r\n", NULL, resp, sizeof(resp)),
		200);
	assert_int_equal(http(&v4, "GET", "/metrics", NULL, NULL, resp, sizeof(resp)), 200);
	a6->sin6_addr = in6addr_loopback;
	assert_int_equal(
		http(&cfg.http_listen, "GET", "/api/status", host, NULL, resp, sizeof(resp)), 200);
	web_stop(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_history),	     cmocka_unit_test(test_json_status),
		cmocka_unit_test(test_json_radio),   cmocka_unit_test(test_parse),
		cmocka_unit_test(test_server),	     cmocka_unit_test(test_access),
		cmocka_unit_test(test_parse_modem),  cmocka_unit_test(test_parse_modem_wipes),
		cmocka_unit_test(test_server_modem), cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_server_ipv6),  cmocka_unit_test(test_host_key),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
