// SPDX-License-Identifier: MIT
#include "snapshot.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

void conn_format_addr(const struct sockaddr_storage *ss, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a));
		snprintf(buf, size, "%s:%u", a, ntohs(sin->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof(a));
		snprintf(buf, size, "[%s]:%u", a, ntohs(sin6->sin6_port));
	} else {
		snprintf(buf, size, "-");
	}
}

const struct conn_subflow *conn_find(const struct conn_snapshot *s, uint32_t id)
{
	for (size_t i = 0; s && i < s->n; i++)
		if (s->sf[i].id == id)
			return &s->sf[i];
	return NULL;
}

uint32_t conn_max_rtt_us(const struct conn_snapshot *s, uint32_t acked_within_ms)
{
	uint32_t max = 0;

	for (size_t k = 0; k < s->n; k++)
		if (s->sf[k].last_ack_ms < acked_within_ms && s->sf[k].rtt_us > max)
			max = s->sf[k].rtt_us;
	return max;
}

uint64_t conn_counter_delta(uint64_t now, uint64_t before)
{
	return now >= before ? now - before : now;
}

void conn_subflow_names(const struct conn_subflow *sf, conn_uplink_namer namer, void *opaque,
			char uplink[IFNAMSIZ], char local[CONN_ADDR_STRLEN],
			char remote[CONN_ADDR_STRLEN])
{
	uplink[0] = '\0';
	if (namer)
		namer((const struct sockaddr *)&sf->local, uplink, IFNAMSIZ, opaque);
	if (!uplink[0])
		snprintf(uplink, IFNAMSIZ, "-");
	conn_format_addr(&sf->local, local, CONN_ADDR_STRLEN);
	conn_format_addr(&sf->remote, remote, CONN_ADDR_STRLEN);
}

size_t conn_diff(const struct conn_snapshot *prev, const struct conn_snapshot *cur,
		 conn_uplink_namer namer, void *opaque, struct conn_row *rows,
		 struct conn_row *total)
{
	double dt = prev && prev->n ? (double)(cur->t_ns - prev->t_ns) / 1e9 : 0;
	double rtt_sum = 0;
	size_t n_rtt = 0;

	memset(total, 0, sizeof(*total));
	snprintf(total->uplink, sizeof(total->uplink), "total");
	for (size_t i = 0; i < cur->n; i++) {
		const struct conn_subflow *c = &cur->sf[i];
		const struct conn_subflow *p = dt > 0 ? conn_find(prev, c->id) : NULL;
		struct conn_row *r = &rows[i];
		uint64_t sent =
			p ? conn_counter_delta(c->bytes_sent, p->bytes_sent) : c->bytes_sent;
		uint64_t acked =
			p ? conn_counter_delta(c->bytes_acked, p->bytes_acked) : c->bytes_acked;
		uint64_t received = p ? conn_counter_delta(c->bytes_received, p->bytes_received)
				      : c->bytes_received;

		memset(r, 0, sizeof(*r));
		r->id = c->id;
		conn_subflow_names(c, namer, opaque, r->uplink, r->local, r->remote);
		r->family = c->local.ss_family;
		/* A subflow born within the interval: its whole count belongs to it. */
		r->send_bps = dt > 0 ? 8.0 * (double)sent / dt : 0;
		r->goodput_bps = dt > 0 ? 8.0 * (double)acked / dt : 0;
		r->recv_bps = dt > 0 ? 8.0 * (double)received / dt : 0;
		r->retrans_bytes = p ? conn_counter_delta(c->bytes_retrans, p->bytes_retrans)
				     : (dt > 0 ? c->bytes_retrans : 0);
		r->rtt_ms = c->rtt_us / 1000.0;
		r->cwnd = c->cwnd;

		total->send_bps += r->send_bps;
		total->goodput_bps += r->goodput_bps;
		total->recv_bps += r->recv_bps;
		total->retrans_bytes += r->retrans_bytes;
		total->cwnd += r->cwnd;
		if (c->rtt_us) {
			rtt_sum += r->rtt_ms;
			n_rtt++;
		}
	}
	total->rtt_ms = n_rtt ? rtt_sum / (double)n_rtt : 0;
	return cur->n;
}

void conn_format_line(const struct conn_row *rows, size_t n, const struct conn_row *total,
		      const struct conn_stream_status *st, char *buf, size_t size)
{
	size_t len = 0;

	if (st && st->valid) {
		if (st->target_bps)
			len = (size_t)snprintf(buf, size, "video %.2f/%.2f Mbit/s, ",
					       (double)st->target_bps / 1e6, st->encoder_bps / 1e6);
		else
			len = (size_t)snprintf(buf, size, "video %.2f Mbit/s (copy), ",
					       st->encoder_bps / 1e6);
		if (len < size)
			len += (size_t)snprintf(
				buf + len, size - len, "delay %d ms (queue %d ms), dropped %lld | ",
				st->delay_ms, st->queue_ms, (long long)st->dropped_frames);
	}
	if (len < size)
		len += (size_t)snprintf(
			buf + len, size - len, "total %.2f/%.2f Mbit/s, %zu subflow%s",
			total->send_bps / 1e6, total->goodput_bps / 1e6, n, n == 1 ? "" : "s");

	for (size_t i = 0; i < n && len < size; i++)
		len += (size_t)snprintf(buf + len, size - len,
					" | #%u %s %.2f/%.2f rtt %.1fms cwnd %u rtx %lluB",
					rows[i].id, rows[i].uplink, rows[i].send_bps / 1e6,
					rows[i].goodput_bps / 1e6, rows[i].rtt_ms, rows[i].cwnd,
					(unsigned long long)rows[i].retrans_bytes);
}

const char conn_csv_header[] =
	"time_s,subflow,uplink,local,remote,send_bps,goodput_bps,retrans_bytes,rtt_ms,cwnd,"
	"target_bps,encoder_bps,queue_ms,delay_ms,socket_bytes,dropped_frames,reconnects,uplinks,"
	"input,family,radio\n";

const char *conn_family_label(int family)
{
	return family == AF_INET ? "ipv4" : family == AF_INET6 ? "ipv6" : "";
}

static void csv_row(FILE *f, double t_s, const char *id, const struct conn_row *r,
		    const struct conn_stream_status *st, const char *uplinks, const char *radios)
{
	fprintf(f, "%.3f,%s,%s,%s,%s,%.0f,%.0f,%llu,%.3f,%u,", t_s, id, r->uplink, r->local,
		r->remote, r->send_bps, r->goodput_bps, (unsigned long long)r->retrans_bytes,
		r->rtt_ms, r->cwnd);
	if (st && st->valid)
		fprintf(f, "%lld,%.0f,%d,%d,%u,%lld,%lld,", (long long)st->target_bps,
			st->encoder_bps, st->queue_ms, st->delay_ms, st->socket_bytes,
			(long long)st->dropped_frames, (long long)st->reconnects);
	else
		fputs(",,,,,,,", f);
	fprintf(f, "%s,%s,%s,%s\n", uplinks ? uplinks : "",
		st && st->valid && st->input ? st->input : "", conn_family_label(r->family),
		radios ? radios : "");
}

const char conn_trace_header[] =
	"t_ms,subflow,local,state,rtt_us,rttvar_us,unacked,last_ack_ms,bytes_acked,"
	"bytes_retrans,written,delivered,notsent\n";

void conn_write_trace(FILE *f, int64_t t_ms, const struct conn_snapshot *s)
{
	char local[CONN_ADDR_STRLEN];

	if (!s->n)
		fprintf(f, "%lld,-,,,,,,,,,%llu,%llu,\n", (long long)t_ms,
			(unsigned long long)s->conn_written, (unsigned long long)s->conn_delivered);
	for (size_t i = 0; i < s->n; i++) {
		const struct conn_subflow *sf = &s->sf[i];

		conn_format_addr(&sf->local, local, sizeof(local));
		fprintf(f, "%lld,%u,%s,%u,%u,%u,%u,%u,%llu,%llu,%llu,%llu,%u\n", (long long)t_ms,
			sf->id, local, sf->state, sf->rtt_us, sf->rttvar_us, sf->unacked,
			sf->last_ack_ms, (unsigned long long)sf->bytes_acked,
			(unsigned long long)sf->bytes_retrans, (unsigned long long)s->conn_written,
			(unsigned long long)s->conn_delivered, sf->notsent);
	}
	fflush(f);
}

void conn_write_csv(FILE *f, double t_s, const struct conn_row *rows, size_t n,
		    const struct conn_row *total, const struct conn_stream_status *st,
		    const char *uplinks, const char *radios)
{
	char id[16];

	for (size_t i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "%u", rows[i].id);
		csv_row(f, t_s, id, &rows[i], NULL, NULL, NULL);
	}
	csv_row(f, t_s, "total", total, st, uplinks, radios);
	fflush(f);
}
