// SPDX-License-Identifier: MIT
#include "metrics.h"
#include "radio.h" /* modem_radio_unknown(): the pure mps_modem_radio */

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct out {
	char *buf;
	size_t size, len;
	bool full;
};

__attribute__((format(printf, 2, 3))) static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, o->size - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->size - o->len)
		o->full = true;
	else
		o->len += (size_t)n;
}

static void family(struct out *o, const char *name, const char *type, const char *help)
{
	put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Label values are interface names and addresses; escape them all the same. */
static const char *esc(const char *s, char *buf, size_t size)
{
	size_t n = 0;

	for (; *s && n + 2 < size; s++) {
		if (*s == '\\' || *s == '"')
			buf[n++] = '\\';
		if (*s == '\n') {
			buf[n++] = '\\';
			buf[n++] = 'n';
			continue;
		}
		buf[n++] = *s;
	}
	buf[n] = '\0';
	return buf;
}

static const char *tcp_state_name(uint8_t s)
{
	static const char *const names[] = {
		[TCP_ESTABLISHED] = "established",
		[TCP_SYN_SENT] = "syn_sent",
		[TCP_SYN_RECV] = "syn_recv",
		[TCP_FIN_WAIT1] = "fin_wait1",
		[TCP_FIN_WAIT2] = "fin_wait2",
		[TCP_TIME_WAIT] = "time_wait",
		[TCP_CLOSE] = "close",
		[TCP_CLOSE_WAIT] = "close_wait",
		[TCP_LAST_ACK] = "last_ack",
		[TCP_LISTEN] = "listen",
		[TCP_CLOSING] = "closing",
	};

	return s < sizeof(names) / sizeof(names[0]) && names[s] ? names[s] : "unknown";
}

static void uplink_counter(struct out *o, const struct metrics_data *d, const char *name,
			   const char *help, size_t offset)
{
	char e[64];

	family(o, name, "counter", help);
	for (size_t i = 0; i < d->n_uplinks; i++)
		put(o, "%s{uplink=\"%s\"} %llu\n", name, esc(d->uplink[i].view.name, e, sizeof(e)),
		    (unsigned long long)*(const uint64_t *)((const char *)&d->uplink[i] + offset));
}

/* A modem's gauge in dBm or dB, for the uplinks whose modem reports it (not NAN). */
struct radio_gauge {
	const char *name, *help;
	size_t offset; /* of a double in struct modem_radio */
};

static const struct radio_gauge radio_gauges[] = {
	{"mpstream_uplink_modem_lte_rsrp_dbm", "The modem's LTE reference signal received power.",
	 offsetof(struct modem_radio, lte.rsrp)},
	{"mpstream_uplink_modem_lte_rsrq_db", "The modem's LTE reference signal received quality.",
	 offsetof(struct modem_radio, lte.rsrq)},
	{"mpstream_uplink_modem_lte_snr_db", "The modem's LTE signal to noise ratio.",
	 offsetof(struct modem_radio, lte.snr)},
	{"mpstream_uplink_modem_lte_rssi_dbm", "The modem's LTE received signal strength.",
	 offsetof(struct modem_radio, lte.rssi)},
	{"mpstream_uplink_modem_nr_rsrp_dbm", "The modem's 5G NR reference signal received power.",
	 offsetof(struct modem_radio, nr.rsrp)},
	{"mpstream_uplink_modem_nr_rsrq_db", "The modem's 5G NR reference signal received quality.",
	 offsetof(struct modem_radio, nr.rsrq)},
	{"mpstream_uplink_modem_nr_sinr_db",
	 "The modem's 5G NR signal to interference plus noise ratio.",
	 offsetof(struct modem_radio, nr.sinr)},
	{"mpstream_uplink_modem_rssi_dbm",
	 "The modem's received signal strength on 3G or 2G (no LTE or 5G figure).",
	 offsetof(struct modem_radio, rssi)},
};

static double radio_value(const struct modem_radio *r, size_t offset)
{
	return *(const double *)((const char *)r + offset);
}

/* One gauge a present modem's, its family told before its first sample (none: not told). */
static void radio_gauge(struct out *o, const struct metrics_data *d, const struct radio_gauge *g)
{
	bool told = false;
	char e[64];

	for (size_t i = 0; i < d->n_uplinks; i++) {
		const struct modem_radio *r = &d->uplink[i].radio;
		double v = radio_value(r, g->offset);

		if (!r->present || isnan(v) || isinf(v))
			continue;
		if (!told)
			family(o, g->name, "gauge", g->help);
		told = true;
		put(o, "%s{uplink=\"%s\"} %.2f\n", g->name,
		    esc(d->uplink[i].view.name, e, sizeof(e)), v);
	}
}

/* A label of the modem's text: valid UTF-8, then escaped. */
static const char *radio_label(const char *s, size_t max, char *buf, size_t size)
{
	char clean[MODEM_TEXT * 4];

	metrics_clean_text(s, max, clean, sizeof(clean));
	return esc(clean, buf, size);
}

static void radio_info(struct out *o, const struct metrics_uplink *u)
{
	const struct modem_radio *r = &u->radio;
	char e[64], model[MODEM_TEXT * 2 + 1], op[MODEM_TEXT * 2 + 1], code[32], tech[32];

	put(o,
	    "mpstream_uplink_modem_info{uplink=\"%s\",model=\"%s\",operator=\"%s\","
	    "operator_code=\"%s\",tech=\"%s\",registration=\"%s\",sim=\"%s\"} 1\n",
	    esc(u->view.name, e, sizeof(e)),
	    radio_label(r->model, sizeof(r->model), model, sizeof(model)),
	    radio_label(r->operator_name, sizeof(r->operator_name), op, sizeof(op)),
	    radio_label(r->operator_code, sizeof(r->operator_code), code, sizeof(code)),
	    radio_label(r->tech, sizeof(r->tech), tech, sizeof(tech)), modem_reg_name(r->reg),
	    modem_sim_name(r->sim));
}

/* The modems' radios: only the uplinks that are a present modem's have samples. */
static void radio_metrics(struct out *o, const struct metrics_data *d)
{
	bool any = false;
	char e[64];

	for (size_t i = 0; i < d->n_uplinks; i++)
		any |= d->uplink[i].radio.present;
	if (!any)
		return;
	family(o, "mpstream_uplink_modem_info", "gauge",
	       "1, labelled with the uplink's modem, operator, access technology, registration "
	       "and SIM state.");
	for (size_t i = 0; i < d->n_uplinks; i++)
		if (d->uplink[i].radio.present)
			radio_info(o, &d->uplink[i]);
	family(o, "mpstream_uplink_modem_registered", "gauge",
	       "1 while the uplink's modem is registered on a network (home or roaming).");
	for (size_t i = 0; i < d->n_uplinks; i++)
		if (d->uplink[i].radio.present)
			put(o, "mpstream_uplink_modem_registered{uplink=\"%s\"} %d\n",
			    esc(d->uplink[i].view.name, e, sizeof(e)),
			    modem_reg_registered(d->uplink[i].radio.reg));
	family(o, "mpstream_uplink_modem_signal_quality_ratio", "gauge",
	       "The modem's signal quality as ModemManager gives it, 0 to 1.");
	for (size_t i = 0; i < d->n_uplinks; i++)
		if (d->uplink[i].radio.present && d->uplink[i].radio.quality >= 0)
			put(o, "mpstream_uplink_modem_signal_quality_ratio{uplink=\"%s\"} %.2f\n",
			    esc(d->uplink[i].view.name, e, sizeof(e)),
			    d->uplink[i].radio.quality / 100.0);
	family(o, "mpstream_uplink_modem_sim_unlock_retries", "gauge",
	       "The attempts left at the code the SIM asks for (PIN or PUK), where known.");
	for (size_t i = 0; i < d->n_uplinks; i++)
		if (d->uplink[i].radio.present && d->uplink[i].radio.sim_retries >= 0)
			put(o, "mpstream_uplink_modem_sim_unlock_retries{uplink=\"%s\"} %d\n",
			    esc(d->uplink[i].view.name, e, sizeof(e)),
			    d->uplink[i].radio.sim_retries);
	for (size_t k = 0; k < sizeof(radio_gauges) / sizeof(radio_gauges[0]); k++)
		radio_gauge(o, d, &radio_gauges[k]);
}

static void subflow_labels(const struct metrics_subflow *sf, char *buf, size_t size)
{
	char u[64], l[128], r[128];

	snprintf(buf, size, "subflow=\"%u\",uplink=\"%s\",local=\"%s\",remote=\"%s\",family=\"%s\"",
		 sf->id, esc(sf->uplink, u, sizeof(u)), esc(sf->local, l, sizeof(l)),
		 esc(sf->remote, r, sizeof(r)), conn_family_label(sf->family));
}

static void subflow_counter(struct out *o, const struct metrics_data *d, const char *name,
			    const char *help, size_t offset)
{
	char labels[512];

	family(o, name, "counter", help);
	for (size_t i = 0; i < d->n_subflows; i++) {
		subflow_labels(&d->subflow[i], labels, sizeof(labels));
		put(o, "%s{%s} %llu\n", name, labels,
		    (unsigned long long)*(const uint64_t *)((const char *)&d->subflow[i] + offset));
	}
}

int metrics_render(const struct metrics_data *d, char *buf, size_t size)
{
	static const char *const states[] = {"up", "degraded", "down", "slow", "off"};
	struct out o = {.buf = buf, .size = size};
	const struct conn_stream_status *st = &d->stream;
	char labels[512], e[64];

	uplink_counter(&o, d, "mpstream_uplink_sent_bytes_total",
		       "Bytes sent on the uplink's subflows, retransmissions included.",
		       offsetof(struct metrics_uplink, sent_bytes));
	uplink_counter(&o, d, "mpstream_uplink_acked_bytes_total",
		       "Bytes the server acknowledged on the uplink's subflows.",
		       offsetof(struct metrics_uplink, acked_bytes));
	uplink_counter(&o, d, "mpstream_uplink_retransmitted_bytes_total",
		       "Bytes retransmitted on the uplink's subflows.",
		       offsetof(struct metrics_uplink, retrans_bytes));
	family(&o, "mpstream_uplink_state", "gauge",
	       "1 for the uplink's health state (up, degraded, down; slow: set aside for a "
	       "while; off: taken out of use by the operator), 0 for the others.");
	for (size_t i = 0; i < d->n_uplinks; i++) {
		if (!d->uplink[i].state)
			continue;
		for (size_t k = 0; k < sizeof(states) / sizeof(states[0]); k++)
			put(&o, "mpstream_uplink_state{uplink=\"%s\",state=\"%s\"} %d\n",
			    esc(d->uplink[i].view.name, e, sizeof(e)), states[k],
			    strcmp(d->uplink[i].state, states[k]) == 0);
	}
	radio_metrics(&o, d);

	subflow_counter(&o, d, "mpstream_subflow_sent_bytes_total",
			"Bytes sent on the subflow, retransmissions included.",
			offsetof(struct metrics_subflow, sent_bytes));
	subflow_counter(&o, d, "mpstream_subflow_acked_bytes_total",
			"Bytes the server acknowledged on the subflow.",
			offsetof(struct metrics_subflow, acked_bytes));
	subflow_counter(&o, d, "mpstream_subflow_retransmitted_bytes_total",
			"Bytes retransmitted on the subflow.",
			offsetof(struct metrics_subflow, retrans_bytes));
	family(&o, "mpstream_subflow_rtt_seconds", "gauge", "The subflow's smoothed RTT.");
	for (size_t i = 0; i < d->n_subflows; i++) {
		subflow_labels(&d->subflow[i], labels, sizeof(labels));
		put(&o, "mpstream_subflow_rtt_seconds{%s} %.6f\n", labels, d->subflow[i].rtt_s);
	}
	family(&o, "mpstream_subflow_cwnd_segments", "gauge", "The subflow's congestion window.");
	for (size_t i = 0; i < d->n_subflows; i++) {
		subflow_labels(&d->subflow[i], labels, sizeof(labels));
		put(&o, "mpstream_subflow_cwnd_segments{%s} %u\n", labels, d->subflow[i].cwnd);
	}
	family(&o, "mpstream_subflow_state", "gauge", "1, labelled with the subflow's TCP state.");
	for (size_t i = 0; i < d->n_subflows; i++) {
		subflow_labels(&d->subflow[i], labels, sizeof(labels));
		put(&o, "mpstream_subflow_state{%s,state=\"%s\"} 1\n", labels,
		    tcp_state_name(d->subflow[i].tcp_state));
	}

	family(&o, "mpstream_connected", "gauge", "1 while a connection to the server is up.");
	put(&o, "mpstream_connected %d\n", d->connected);
	family(&o, "mpstream_reconnects_total", "counter", "Connections made after a lost one.");
	put(&o, "mpstream_reconnects_total %lld\n", (long long)st->reconnects);
	family(&o, "mpstream_frames_dropped_total", "counter",
	       "Video frames dropped to bound the delay or the buffer.");
	put(&o, "mpstream_frames_dropped_total %lld\n", (long long)st->dropped_frames);
	if (st->valid) {
		/* Prometheus' base unit is the byte: bit rates are divided by 8. */
		family(&o, "mpstream_video_target_bytes_per_second", "gauge",
		       "The rate asked of the video encoder (0: --copy, fixed).");
		put(&o, "mpstream_video_target_bytes_per_second %.0f\n",
		    (double)st->target_bps / 8);
		family(&o, "mpstream_video_output_bytes_per_second", "gauge",
		       "What the video encoder put out over the last second.");
		put(&o, "mpstream_video_output_bytes_per_second %.0f\n", st->encoder_bps / 8);
		family(&o, "mpstream_queue_seconds", "gauge", "Media waiting in mpstream's queue.");
		put(&o, "mpstream_queue_seconds %.3f\n", st->queue_ms / 1000.0);
		family(&o, "mpstream_sender_delay_seconds", "gauge",
		       "The sender's delay: its queue plus the socket's unacknowledged data.");
		put(&o, "mpstream_sender_delay_seconds %.3f\n", st->delay_ms / 1000.0);
		family(&o, "mpstream_sender_delay_budget_seconds", "gauge",
		       "The delay budget in force (--max-latency; auto follows the paths' RTT).");
		put(&o, "mpstream_sender_delay_budget_seconds %.3f\n", st->budget_ms / 1000.0);
	}
	if (st->valid && st->input) {
		family(&o, "mpstream_input_up", "gauge",
		       "1 while the live input sends pictures; 0 while the slate is sent.");
		put(&o, "mpstream_input_up %d\n", !strcmp(st->input, "up"));
		family(&o, "mpstream_input_lost_seconds_total", "counter",
		       "Time the live input was lost (the slate sent).");
		put(&o, "mpstream_input_lost_seconds_total %.3f\n", st->input_lost_ms / 1000.0);
		family(&o, "mpstream_input_losses_total", "counter",
		       "Times the live input was lost after it had sent pictures.");
		put(&o, "mpstream_input_losses_total %lld\n", (long long)st->input_losses);
	}
	return o.full ? -1 : (int)o.len;
}

struct metrics_uplink *metrics_uplink(struct metrics_data *d, const char *name)
{
	for (size_t i = 0; i < d->n_uplinks; i++)
		if (strcmp(d->uplink[i].view.name, name) == 0)
			return &d->uplink[i];
	if (d->n_uplinks == METRICS_MAX_UPLINKS)
		return NULL;
	memset(&d->uplink[d->n_uplinks], 0, sizeof(d->uplink[0]));
	modem_radio_unknown(&d->uplink[d->n_uplinks].radio);
	memcpy(d->uplink[d->n_uplinks].view.name, name, strnlen(name, IFNAMSIZ - 1));
	return &d->uplink[d->n_uplinks++];
}

void metrics_set_uplinks(struct metrics_data *d, const struct mps_uplink_view *views,
			 const char *const *states, size_t n)
{
	struct metrics_uplink old[METRICS_MAX_UPLINKS];
	bool taken[METRICS_MAX_UPLINKS] = {false};
	size_t n_old = d->n_uplinks;

	memcpy(old, d->uplink, n_old * sizeof(old[0]));
	d->n_uplinks = 0;
	/* Routing's uplinks first, by index, each with the counters it had under its name. */
	for (size_t i = 0; i < n && d->n_uplinks < METRICS_MAX_UPLINKS; i++) {
		struct metrics_uplink *u = &d->uplink[d->n_uplinks++];

		memset(u, 0, sizeof(*u));
		modem_radio_unknown(&u->radio);
		for (size_t k = 0; k < n_old; k++)
			if (!taken[k] && strcmp(old[k].view.name, views[i].name) == 0) {
				*u = old[k];
				taken[k] = true;
				break;
			}
		u->view = views[i];
		u->state = states ? states[i] : NULL;
	}
	/* Then those known only from a subflow's address, in the order they came. */
	for (size_t k = 0; k < n_old && d->n_uplinks < METRICS_MAX_UPLINKS; k++)
		if (!taken[k])
			d->uplink[d->n_uplinks++] = old[k];
}

void metrics_account(struct metrics_data *d, const struct conn_snapshot *prev,
		     const struct conn_snapshot *cur, conn_uplink_namer namer, void *opaque)
{
	d->n_subflows = 0;
	for (size_t i = 0; i < cur->n && i < CONN_MAX_SUBFLOWS; i++) {
		const struct conn_subflow *c = &cur->sf[i], *p = conn_find(prev, c->id);
		struct metrics_subflow *m = &d->subflow[d->n_subflows++];
		struct metrics_uplink *u;

		memset(m, 0, sizeof(*m));
		m->id = c->id;
		conn_subflow_names(c, namer, opaque, m->uplink, m->local, m->remote);
		m->family = c->local.ss_family;
		m->sent_bytes = c->bytes_sent;
		m->acked_bytes = c->bytes_acked;
		m->retrans_bytes = c->bytes_retrans;
		m->rtt_s = c->rtt_us / 1e6;
		m->cwnd = c->cwnd;
		m->tcp_state = c->state;

		u = metrics_uplink(d, m->uplink);
		if (!u)
			continue;
		u->sent_bytes +=
			p ? conn_counter_delta(c->bytes_sent, p->bytes_sent) : c->bytes_sent;
		u->acked_bytes +=
			p ? conn_counter_delta(c->bytes_acked, p->bytes_acked) : c->bytes_acked;
		u->retrans_bytes += p ? conn_counter_delta(c->bytes_retrans, p->bytes_retrans)
				      : c->bytes_retrans;
	}
}
