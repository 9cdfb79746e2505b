// SPDX-License-Identifier: MIT
/*
 * The API's JSON, with jansson (Debian's libjansson: small, kept, and it
 * escapes and parses so that hand-written code does not have to).
 */
#define _GNU_SOURCE /* explicit_bzero */
#include "log.h"
#include "web.h"

#include <errno.h>
#include <jansson.h>
#include <malloc.h>
#include <stdlib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define BOUND_MIN_KBPS 10LL /* the same range as --min-bitrate and --max-bitrate */
#define BOUND_MAX_KBPS 1000000LL

/* A number, or null for "not known" (< 0). */
static json_t *num_or_null(double v)
{
	return v < 0 ? json_null() : json_real(v);
}

static json_t *point_json(const struct web_point *p, size_t n_uplinks)
{
	json_t *ups = json_array();

	for (size_t i = 0; i < n_uplinks; i++)
		json_array_append_new(ups, json_pack("{s:f, s:f, s:f}", "send_bps",
						     p->uplink[i].send_bps, "goodput_bps",
						     p->uplink[i].goodput_bps, "rtt_ms",
						     p->uplink[i].rtt_ms));
	return json_pack("{s:f, s:f, s:o, s:o}", "t_s", p->t_s, "video_bps", p->video_bps,
			 "delay_ms", num_or_null(p->delay_ms), "uplinks", ups);
}

/* A signal figure (dBm, dB), or null where the modem reports none (NAN). */
static json_t *figure_or_null(double v)
{
	return isnan(v) || isinf(v) ? json_null() : json_real(v);
}

/* The modem's text as a JSON string: made valid UTF-8 first (jansson refuses anything else). */
static json_t *text(const char *s, size_t max)
{
	char clean[MODEM_TEXT * 4];

	metrics_clean_text(s, max, clean, sizeof(clean));
	return json_string(clean);
}

#define TEXT(field) text(field, sizeof(field))

/* An uplink's radio, null when it is no modem's (or ModemManager is not there). */
static json_t *radio_json(const struct modem_radio *r)
{
	char alert[METRICS_RADIO_ALERT];
	int bars = metrics_radio_bars(r);
	const char *a = metrics_radio_alert(r, alert);
	json_t *o;

	if (!r->present)
		return json_null();
	o = json_object();
	json_object_set_new(o, "model", TEXT(r->model));
	json_object_set_new(o, "manufacturer", TEXT(r->manufacturer));
	json_object_set_new(o, "operator", TEXT(r->operator_name));
	json_object_set_new(o, "operator_code", TEXT(r->operator_code));
	json_object_set_new(o, "tech", TEXT(r->tech));
	json_object_set_new(o, "state", TEXT(r->state));
	json_object_set_new(o, "registration", json_string(modem_reg_name(r->reg)));
	json_object_set_new(o, "registered", json_boolean(modem_reg_registered(r->reg)));
	json_object_set_new(o, "quality_pct",
			    r->quality < 0 ? json_null() : json_integer(r->quality));
	json_object_set_new(o, "quality_recent", json_boolean(r->quality_recent));
	json_object_set_new(
		o, "lte",
		json_pack("{s:o, s:o, s:o, s:o}", "rsrp_dbm", figure_or_null(r->lte.rsrp),
			  "rsrq_db", figure_or_null(r->lte.rsrq), "snr_db",
			  figure_or_null(r->lte.snr), "rssi_dbm", figure_or_null(r->lte.rssi)));
	json_object_set_new(o, "nr",
			    json_pack("{s:o, s:o, s:o}", "rsrp_dbm", figure_or_null(r->nr.rsrp),
				      "rsrq_db", figure_or_null(r->nr.rsrq), "sinr_db",
				      figure_or_null(r->nr.sinr)));
	json_object_set_new(o, "rssi_dbm", figure_or_null(r->rssi));
	json_object_set_new(o, "sim", json_string(modem_sim_name(r->sim)));
	json_object_set_new(o, "sim_retries",
			    r->sim_retries < 0 ? json_null() : json_integer(r->sim_retries));
	json_object_set_new(o, "bars", bars < 0 ? json_null() : json_integer(bars));
	json_object_set_new(o, "alert", a ? json_string(a) : json_null());
	return o;
}

static json_t *uplinks_json(const struct metrics_data *d, const struct web_point *last)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < d->n_uplinks; i++) {
		const struct metrics_uplink *u = &d->uplink[i];
		const char *state = u->state ? u->state : "unknown";
		int subflows = 0;

		for (size_t k = 0; k < d->n_subflows; k++)
			subflows += strcmp(d->subflow[k].uplink, u->view.name) == 0;
		json_array_append_new(
			arr,
			json_pack(
				"{s:s, s:s, s:b, s:s, s:b, s:f, s:f, s:f, s:i, s:I, s:I, s:I, s:o}",
				"name", u->view.name, "state", state, "backup", u->view.backup,
				"congestion", u->view.congestion, "in_use",
				strcmp(state, "off") != 0, "send_bps",
				last ? last->uplink[i].send_bps : 0.0, "goodput_bps",
				last ? last->uplink[i].goodput_bps : 0.0, "rtt_ms",
				last ? last->uplink[i].rtt_ms : 0.0, "subflows", subflows,
				"sent_bytes", (json_int_t)u->sent_bytes, "acked_bytes",
				(json_int_t)u->acked_bytes, "retrans_bytes",
				(json_int_t)u->retrans_bytes, "radio", radio_json(&u->radio)));
	}
	return arr;
}

static json_t *subflows_json(const struct metrics_data *d)
{
	json_t *arr = json_array();

	for (size_t k = 0; k < d->n_subflows; k++) {
		const struct metrics_subflow *s = &d->subflow[k];

		json_array_append_new(
			arr, json_pack("{s:I, s:s, s:s, s:s, s:s, s:f, s:I, s:I, s:I, s:I}", "id",
				       (json_int_t)s->id, "uplink", s->uplink, "local", s->local,
				       "remote", s->remote, "family", conn_family_label(s->family),
				       "rtt_ms", s->rtt_s * 1000, "cwnd", (json_int_t)s->cwnd,
				       "sent_bytes", (json_int_t)s->sent_bytes, "acked_bytes",
				       (json_int_t)s->acked_bytes, "retrans_bytes",
				       (json_int_t)s->retrans_bytes));
	}
	return arr;
}

static json_t *log_json(const struct mps_log_line *log, size_t n)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(
			arr, json_pack("{s:I, s:I, s:s, s:s, s:s}", "seq", (json_int_t)log[i].seq,
				       "time_ms", (json_int_t)log[i].time_ms, "level", log[i].level,
				       "tag", log[i].tag, "text", log[i].text));
	return arr;
}

/* Serialise and free @root; NULL when it could not be built. */
static char *dump(json_t *root)
{
	char *s = root ? json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;

	json_decref(root);
	return s;
}

char *web_json_status(const struct web_status *st, const struct web_history *h,
		      const struct mps_log_line *log, size_t n_log)
{
	const struct metrics_data *d = &st->m;
	const struct conn_stream_status *s = &d->stream;
	const struct web_point *last = web_history_last(h);
	bool live = web_status_live(st);
	json_t *video = json_pack("{s:I, s:f, s:I, s:I, s:b}", "target_bps",
				  (json_int_t)(live ? s->target_bps : 0), "encoder_bps",
				  live ? s->encoder_bps : 0.0, "min_bps", (json_int_t)st->min_bps,
				  "max_bps", (json_int_t)st->max_bps, "fixed",
				  st->copy || st->min_bps == st->max_bps);

	json_t *input = live && s->input ? json_pack("{s:s, s:f, s:I}", "state", s->input, "lost_s",
						     s->input_lost_ms / 1000.0, "losses",
						     (json_int_t)s->input_losses)
					 : json_null();

	return dump(json_pack(
		"{s:f, s:s, s:s, s:b, s:o, s:o, s:o, s:o, s:o, s:I, s:I, s:I, s:o, s:o, s:o, s:o}",
		"time_s", st->t_s, "mode", web_mode_name(st->mode), "url", st->url ? st->url : "",
		"connected", d->connected, "video", video, "delay_ms",
		live ? json_integer(s->delay_ms) : json_null(), "budget_ms",
		live ? json_integer(s->budget_ms) : json_null(), "input", input, "queue_ms",
		live ? json_integer(s->queue_ms) : json_null(), "socket_bytes",
		(json_int_t)(live ? s->socket_bytes : 0), "dropped_frames",
		(json_int_t)s->dropped_frames, "reconnects", (json_int_t)s->reconnects, "uplinks",
		uplinks_json(d, last), "subflows", subflows_json(d), "point",
		last ? point_json(last, d->n_uplinks) : json_null(), "log", log_json(log, n_log)));
}

char *web_json_history(const struct web_status *st, const struct web_history *h)
{
	json_t *names = json_array(), *points = json_array();

	for (size_t i = 0; i < st->m.n_uplinks; i++)
		json_array_append_new(names, json_string(st->m.uplink[i].view.name));
	for (size_t i = 0; i < h->n; i++)
		json_array_append_new(points, point_json(web_history_at(h, i), st->m.n_uplinks));
	return dump(json_pack("{s:o, s:o}", "uplinks", names, "points", points));
}

/* The body as a JSON object; NULL with @err set when it is not one. */
static json_t *load_object(const char *body, size_t len, char *err, size_t errlen)
{
	json_error_t e;
	json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &e);

	if (!root) {
		snprintf(err, errlen, "not JSON: %s (at %d)", e.text, e.position);
		return NULL;
	}
	if (!json_is_object(root)) {
		snprintf(err, errlen, "expected a JSON object");
		json_decref(root);
		return NULL;
	}
	return root;
}

/* Every key of @root is one of @keys (NULL-terminated). */
static bool known_keys(json_t *root, const char *const *keys, char *err, size_t errlen)
{
	const char *key;
	json_t *v;

	json_object_foreach(root, key, v)
	{
		bool ok = false;

		for (size_t i = 0; keys[i]; i++)
			ok |= strcmp(key, keys[i]) == 0;
		if (!ok) {
			snprintf(err, errlen, "unknown field '%.40s'", key);
			return false;
		}
	}
	return true;
}

static int kbps_field(json_t *root, const char *name, int64_t *bps, char *err, size_t errlen)
{
	json_t *v = json_object_get(root, name);
	json_int_t k;

	if (!v)
		return 0;
	if (!json_is_integer(v)) {
		snprintf(err, errlen, "%s: expected a whole number of kbit/s", name);
		return -EINVAL;
	}
	k = json_integer_value(v);
	if (k < BOUND_MIN_KBPS || k > BOUND_MAX_KBPS) {
		snprintf(err, errlen, "%s: %lld is outside %lld..%lld", name, (long long)k,
			 BOUND_MIN_KBPS, BOUND_MAX_KBPS);
		return -EINVAL;
	}
	*bps = (int64_t)k * 1000;
	return 0;
}

int web_parse_bounds(const char *body, size_t len, int64_t *min_bps, int64_t *max_bps, char *err,
		     size_t errlen)
{
	static const char *const keys[] = {"min_kbps", "max_kbps", NULL};
	json_t *root = load_object(body, len, err, errlen);
	int64_t lo = *min_bps, hi = *max_bps;
	int ret = -EINVAL;

	if (!root)
		return -EINVAL;
	if (!known_keys(root, keys, err, errlen))
		goto out;
	if (!json_object_size(root)) {
		snprintf(err, errlen, "give min_kbps, max_kbps or both");
		goto out;
	}
	if (kbps_field(root, "min_kbps", &lo, err, errlen) ||
	    kbps_field(root, "max_kbps", &hi, err, errlen))
		goto out;
	if (lo > hi) {
		snprintf(err, errlen, "min_kbps %lld is above max_kbps %lld", (long long)lo / 1000,
			 (long long)hi / 1000);
		goto out;
	}
	*min_bps = lo;
	*max_bps = hi;
	ret = 0;
out:
	json_decref(root);
	return ret;
}

static int bool_field(json_t *root, const char *name, int *out, char *err, size_t errlen)
{
	json_t *v = json_object_get(root, name);

	*out = -1;
	if (!v)
		return 0;
	if (!json_is_boolean(v)) {
		snprintf(err, errlen, "%s: expected true or false", name);
		return -EINVAL;
	}
	*out = json_is_true(v);
	return 0;
}

int web_parse_uplink(const char *body, size_t len, int *use, int *backup, char *err, size_t errlen)
{
	static const char *const keys[] = {"use", "backup", NULL};
	json_t *root = load_object(body, len, err, errlen);
	int ret = -EINVAL;

	if (!root)
		return -EINVAL;
	if (!known_keys(root, keys, err, errlen) || bool_field(root, "use", use, err, errlen) ||
	    bool_field(root, "backup", backup, err, errlen))
		goto out;
	if (*use < 0 && *backup < 0) {
		snprintf(err, errlen, "give use, backup or both");
		goto out;
	}
	ret = 0;
out:
	json_decref(root);
	return ret;
}

bool web_token_equal(const char *given, const char *token)
{
	size_t n = strlen(token), m = strlen(given);
	unsigned char diff = n != m;

	for (size_t i = 0; i < n; i++)
		diff |= (unsigned char)token[i] ^ (unsigned char)(i < m ? given[i] : 0);
	return diff == 0;
}

/*
 * Every block jansson frees is zeroed first: its lexer keeps each token's raw
 * text (a PIN's "\"4711\"" among them) in a buffer of its own that it frees
 * and never wipes, and may have grown it through blocks it freed on the way.
 * malloc_usable_size() gives the block's whole size, so the free needs no
 * header of its own and takes any block malloc() made (those jansson made
 * before this was installed, and those whose owner frees them with free()).
 */
static void zeroing_free(void *p)
{
	if (p)
		explicit_bzero(p, malloc_usable_size(p));
	free(p);
}

void web_json_zero_on_free(void)
{
	json_set_alloc_funcs(malloc, zeroing_free);
}

/*
 * The modem control's body. Its messages never quote the body: jansson's
 * "near '...'" and an unknown key could hold the PIN.
 */
int web_parse_modem(const char *body, size_t len, struct web_modem_request *req, char *err,
		    size_t errlen)
{
	static const char *const keys[] = {"reset", "pin", "connect", NULL};
	json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	json_t *pin = root ? json_object_get(root, "pin") : NULL;
	char ignored[8];
	int ret = -EINVAL;

	memset(req, 0, sizeof(*req));
	if (!json_is_object(root) || json_object_size(root) != 1 ||
	    !known_keys(root, keys, ignored, sizeof(ignored))) {
		snprintf(err, errlen,
			 "expected {\"reset\": true}, {\"pin\": \"DIGITS\"} or "
			 "{\"connect\": true}");
		goto out;
	}
	if (pin) {
		size_t n = json_is_string(pin) ? json_string_length(pin) : 0;

		if (!n || n >= sizeof(req->pin)) {
			snprintf(err, errlen, "pin: expected a string of digits");
			goto out;
		}
		memcpy(req->pin, json_string_value(pin), n + 1);
		req->op = WEB_MODEM_PIN;
	} else if (json_is_true(json_object_get(root, "reset"))) {
		req->op = WEB_MODEM_RESET;
	} else if (json_is_true(json_object_get(root, "connect"))) {
		req->op = WEB_MODEM_CONNECT;
	} else {
		snprintf(err, errlen, "reset or connect: expected true");
		goto out;
	}
	ret = 0;
out:
	/* jansson's copy of the PIN, wiped before it is freed. */
	if (json_is_string(pin))
		explicit_bzero((char *)json_string_value(pin), json_string_length(pin));
	json_decref(root);
	return ret;
}
