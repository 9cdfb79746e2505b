// SPDX-License-Identifier: MIT
#include "clock.h"
#include "stats.h"
#include "health.h"
#include "pathprobe.h"
#include "metrics.h"
#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/sockios.h>
#include <linux/tcp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#define TAG "stats"

#ifndef SOL_MPTCP
#define SOL_MPTCP 284
#endif

/*
 * Debian 12's linux-libc-dev is 6.1: MPTCP_FULL_INFO (6.5) and the newer
 * fields of struct mptcp_info are declared here, as in the kernel's
 * include/uapi/linux/mptcp.h. The kernel copies min(its size, ours), so older
 * and newer kernels both work.
 */
#define MPS_MPTCP_INFO	    1
#define MPS_MPTCP_FULL_INFO 4

struct mps_mptcp_info {
	__u8 mptcpi_subflows;
	__u8 mptcpi_add_addr_signal;
	__u8 mptcpi_add_addr_accepted;
	__u8 mptcpi_subflows_max;
	__u8 mptcpi_add_addr_signal_max;
	__u8 mptcpi_add_addr_accepted_max;
	__u32 mptcpi_flags;
	__u32 mptcpi_token;
	__u64 mptcpi_write_seq;
	__u64 mptcpi_snd_una;
	__u64 mptcpi_rcv_nxt;
	__u8 mptcpi_local_addr_used;
	__u8 mptcpi_local_addr_max;
	__u8 mptcpi_csum_enabled;
	__u32 mptcpi_retransmits;
	__u64 mptcpi_bytes_retrans;
	__u64 mptcpi_bytes_sent;
	__u64 mptcpi_bytes_received;
	__u64 mptcpi_bytes_acked;
	__u8 mptcpi_subflows_total;
	__u8 reserved[3];
	__u32 mptcpi_last_data_sent;
	__u32 mptcpi_last_data_recv;
	__u32 mptcpi_last_ack_recv;
};

struct mps_mptcp_subflow_addrs {
	union {
		__kernel_sa_family_t sa_family;
		struct sockaddr sa_local;
		struct sockaddr_in sin_local;
		struct sockaddr_in6 sin6_local;
		struct __kernel_sockaddr_storage ss_local;
	};
	union {
		struct sockaddr sa_remote;
		struct sockaddr_in sin_remote;
		struct sockaddr_in6 sin6_remote;
		struct __kernel_sockaddr_storage ss_remote;
	};
};

struct mps_mptcp_subflow_info {
	__u32 id;
	struct mps_mptcp_subflow_addrs addrs;
};

struct mps_mptcp_full_info {
	__u32 size_tcpinfo_kernel; /* set by the kernel */
	__u32 size_tcpinfo_user;
	__u32 size_sfinfo_kernel; /* set by the kernel */
	__u32 size_sfinfo_user;
	__u32 num_subflows; /* set by the kernel: the real count */
	__u32 size_arrays_user;
	__aligned_u64 subflow_info;
	__aligned_u64 tcp_info;
	struct mps_mptcp_info mptcp_info;
};

_Static_assert(sizeof(struct mps_mptcp_info) == 96, "mptcp_info as of Linux 6.10");
_Static_assert(sizeof(struct mps_mptcp_subflow_info) == 264, "mptcp_subflow_info");
_Static_assert(offsetof(struct mps_mptcp_full_info, mptcp_info) == 40, "mptcp_full_info");

static void fill_from_tcp_info(struct snd_subflow_sample *sf, const struct tcp_info *ti)
{
	sf->bytes_sent = ti->tcpi_bytes_sent;
	sf->bytes_acked = ti->tcpi_bytes_acked;
	sf->bytes_retrans = ti->tcpi_bytes_retrans;
	sf->bytes_received = ti->tcpi_bytes_received;
	sf->rtt_us = ti->tcpi_rtt;
	sf->cwnd = ti->tcpi_snd_cwnd;
	sf->state = ti->tcpi_state;
	sf->unacked = ti->tcpi_unacked;
	sf->last_ack_ms = ti->tcpi_last_ack_recv;
}

static int sample_tcp(int fd, struct snd_stats_snapshot *out)
{
	struct snd_subflow_sample *sf = &out->sf[0];
	struct tcp_info ti = {0};
	socklen_t len = sizeof(ti), alen;
	int outq = 0;

	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		return -errno;
	memset(sf, 0, sizeof(*sf));
	fill_from_tcp_info(sf, &ti);
	out->conn_delivered = ti.tcpi_bytes_acked;
	if (ioctl(fd, SIOCOUTQ, &outq) == 0 && outq > 0)
		out->conn_written = out->conn_delivered + (uint64_t)outq;
	else
		out->conn_written = out->conn_delivered;
	alen = sizeof(sf->local);
	getsockname(fd, (struct sockaddr *)&sf->local, &alen);
	alen = sizeof(sf->remote);
	getpeername(fd, (struct sockaddr *)&sf->remote, &alen);
	out->mptcp = false;
	out->n = 1;
	return 0;
}

int snd_stats_sample(int fd, struct snd_stats_snapshot *out)
{
	struct mps_mptcp_subflow_info sfi[SND_MAX_SUBFLOWS];
	struct tcp_info ti[SND_MAX_SUBFLOWS];
	struct mps_mptcp_full_info fi = {
		.size_tcpinfo_user = sizeof(ti[0]),
		.size_sfinfo_user = sizeof(sfi[0]),
		.size_arrays_user = SND_MAX_SUBFLOWS,
		.subflow_info = (uintptr_t)sfi,
		.tcp_info = (uintptr_t)ti,
	};
	socklen_t len = sizeof(fi);

	memset(sfi, 0, sizeof(sfi));
	memset(ti, 0, sizeof(ti));
	out->t_ns = mps_mono_ns();
	if (getsockopt(fd, SOL_MPTCP, MPS_MPTCP_FULL_INFO, &fi, &len) < 0) {
		/* Not MPTCP, or MPTCP that fell back to TCP: the socket answers TCP_INFO. */
		if (errno == EOPNOTSUPP || errno == ENOPROTOOPT || errno == EINVAL)
			return sample_tcp(fd, out);
		return -errno;
	}
	out->mptcp = true;
	out->conn_written = fi.mptcp_info.mptcpi_write_seq;
	out->conn_delivered = fi.mptcp_info.mptcpi_snd_una;
	out->n = fi.num_subflows < SND_MAX_SUBFLOWS ? fi.num_subflows : SND_MAX_SUBFLOWS;
	for (size_t i = 0; i < out->n; i++) {
		struct snd_subflow_sample *sf = &out->sf[i];

		memset(sf, 0, sizeof(*sf));
		sf->id = sfi[i].id;
		memcpy(&sf->local, &sfi[i].addrs.ss_local, sizeof(sf->local));
		memcpy(&sf->remote, &sfi[i].addrs.ss_remote, sizeof(sf->remote));
		fill_from_tcp_info(sf, &ti[i]);
	}
	return 0;
}

void snd_format_addr(const struct sockaddr_storage *ss, char *buf, size_t size)
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

const struct snd_subflow_sample *snd_stats_find(const struct snd_stats_snapshot *s, uint32_t id)
{
	for (size_t i = 0; s && i < s->n; i++)
		if (s->sf[i].id == id)
			return &s->sf[i];
	return NULL;
}

uint32_t snd_stats_max_rtt_us(const struct snd_stats_snapshot *s, uint32_t acked_within_ms)
{
	uint32_t max = 0;

	for (size_t k = 0; k < s->n; k++)
		if (s->sf[k].last_ack_ms < acked_within_ms && s->sf[k].rtt_us > max)
			max = s->sf[k].rtt_us;
	return max;
}

uint64_t snd_counter_delta(uint64_t now, uint64_t before)
{
	return now >= before ? now - before : now;
}

void snd_subflow_names(const struct snd_subflow_sample *sf, snd_uplink_namer namer, void *opaque,
		       char uplink[IFNAMSIZ], char local[SND_ADDR_STRLEN],
		       char remote[SND_ADDR_STRLEN])
{
	uplink[0] = '\0';
	if (namer)
		namer((const struct sockaddr *)&sf->local, uplink, IFNAMSIZ, opaque);
	if (!uplink[0])
		snprintf(uplink, IFNAMSIZ, "-");
	snd_format_addr(&sf->local, local, SND_ADDR_STRLEN);
	snd_format_addr(&sf->remote, remote, SND_ADDR_STRLEN);
}

size_t snd_stats_diff(const struct snd_stats_snapshot *prev, const struct snd_stats_snapshot *cur,
		      snd_uplink_namer namer, void *opaque, struct snd_stats_row *rows,
		      struct snd_stats_row *total)
{
	double dt = prev && prev->n ? (double)(cur->t_ns - prev->t_ns) / 1e9 : 0;
	double rtt_sum = 0;
	size_t n_rtt = 0;

	memset(total, 0, sizeof(*total));
	snprintf(total->uplink, sizeof(total->uplink), "total");
	for (size_t i = 0; i < cur->n; i++) {
		const struct snd_subflow_sample *c = &cur->sf[i];
		const struct snd_subflow_sample *p = dt > 0 ? snd_stats_find(prev, c->id) : NULL;
		struct snd_stats_row *r = &rows[i];
		uint64_t sent = p ? snd_counter_delta(c->bytes_sent, p->bytes_sent) : c->bytes_sent;
		uint64_t acked =
			p ? snd_counter_delta(c->bytes_acked, p->bytes_acked) : c->bytes_acked;
		uint64_t received = p ? snd_counter_delta(c->bytes_received, p->bytes_received)
				      : c->bytes_received;

		memset(r, 0, sizeof(*r));
		r->id = c->id;
		snd_subflow_names(c, namer, opaque, r->uplink, r->local, r->remote);
		/* A subflow born within the interval: its whole count belongs to it. */
		r->send_bps = dt > 0 ? 8.0 * (double)sent / dt : 0;
		r->goodput_bps = dt > 0 ? 8.0 * (double)acked / dt : 0;
		r->recv_bps = dt > 0 ? 8.0 * (double)received / dt : 0;
		r->retrans_bytes = p ? snd_counter_delta(c->bytes_retrans, p->bytes_retrans)
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

void snd_stats_format_line(const struct snd_stats_row *rows, size_t n,
			   const struct snd_stats_row *total, const struct snd_stream_status *st,
			   char *buf, size_t size)
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

const char snd_stats_csv_header[] =
	"time_s,subflow,uplink,local,remote,send_bps,goodput_bps,retrans_bytes,rtt_ms,cwnd,"
	"target_bps,encoder_bps,queue_ms,delay_ms,socket_bytes,dropped_frames\n";

static void csv_row(FILE *f, double t_s, const char *id, const struct snd_stats_row *r,
		    const struct snd_stream_status *st)
{
	fprintf(f, "%.3f,%s,%s,%s,%s,%.0f,%.0f,%llu,%.3f,%u,", t_s, id, r->uplink, r->local,
		r->remote, r->send_bps, r->goodput_bps, (unsigned long long)r->retrans_bytes,
		r->rtt_ms, r->cwnd);
	if (st && st->valid)
		fprintf(f, "%lld,%.0f,%d,%d,%u,%lld\n", (long long)st->target_bps, st->encoder_bps,
			st->queue_ms, st->delay_ms, st->socket_bytes,
			(long long)st->dropped_frames);
	else
		fputs(",,,,,\n", f);
}

void snd_stats_write_csv(FILE *f, double t_s, const struct snd_stats_row *rows, size_t n,
			 const struct snd_stats_row *total, const struct snd_stream_status *st)
{
	char id[16];

	for (size_t i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "%u", rows[i].id);
		csv_row(f, t_s, id, &rows[i], NULL);
	}
	csv_row(f, t_s, "total", total, st);
	fflush(f);
}

struct snd_stats {
	struct snd_stats_config cfg;
	FILE *csv;
	pthread_t thread;
	bool running;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stop;
	int fd;
	int64_t start_ns;
	bool fallback_logged;
	struct snd_stats_snapshot prev, cur; /* last report, this tick */
	struct snd_stats_snapshot tick_prev; /* previous tick, for the health */
	struct snd_health health;
	struct snd_pathprobe probes[RT_MAX_UPLINKS];
	struct snd_stream_status status; /* the last tick's */
	snd_stats_tick_fn tick;
	void *tick_opaque;
	struct snd_metrics *metrics;
	struct snd_metrics_data mdata;		/* counters go on across connections */
	struct snd_stats_snapshot metrics_prev; /* the last tick's, this connection */
};

/* The uplinks' states, "up0=up up1=down", for the stats line. */
static void states_str(const struct snd_stats *s, char *buf, size_t size)
{
	size_t n = 0;
	struct rt_uplink up;

	buf[0] = '\0';
	for (size_t i = 0; i < s->health.n && n < size; i++) {
		if (rt_uplinks_get(s->cfg.uplinks, i, &up))
			continue;
		n += (size_t)snprintf(buf + n, size - n, "%s%s=%s", n ? " " : "", up.ifname,
				      snd_health_name(&s->health, i));
	}
}

/* The terminal's status line: each uplink with its state and rate, the video, the delay. */
static void status_line(const struct snd_stats *s, const struct snd_stats_row *rows, size_t n,
			char *buf, size_t size)
{
	const struct snd_stream_status *st = &s->status;
	size_t len = 0, count = rt_uplinks_count(s->cfg.uplinks);
	struct rt_uplink up;

	buf[0] = '\0';
	for (size_t i = 0; i < count && len < size; i++) {
		double bps = 0;

		if (rt_uplinks_get(s->cfg.uplinks, i, &up))
			continue;
		for (size_t k = 0; k < n; k++)
			if (strcmp(rows[k].uplink, up.ifname) == 0)
				bps += rows[k].send_bps;
		len += (size_t)snprintf(buf + len, size - len, "%s %s %.1f | ", up.ifname,
					i < s->health.n ? snd_health_name(&s->health, i) : "?",
					bps / 1e6);
	}
	if (!count && len < size) {
		double bps = 0;

		for (size_t k = 0; k < n; k++)
			bps += rows[k].send_bps;
		len += (size_t)snprintf(buf + len, size - len, "%zu subflows %.1f | ", n,
					bps / 1e6);
	}
	if (len < size && st->valid)
		len += (size_t)snprintf(
			buf + len, size - len,
			"video %.1f Mbit/s | delay %d ms | queue %d ms | dropped %lld",
			(st->target_bps ? (double)st->target_bps : st->encoder_bps) / 1e6,
			st->delay_ms, st->queue_ms, (long long)st->dropped_frames);
}

static void report(struct snd_stats *s)
{
	struct snd_stats_row rows[SND_MAX_SUBFLOWS], total;
	char line[1024], line_tty[512], states[256] = "";
	size_t n;

	n = snd_stats_diff(&s->prev, &s->cur, s->cfg.namer, s->cfg.opaque, rows, &total);
	if (s->prev.n) {
		snd_stats_format_line(rows, n, &total, &s->status, line, sizeof(line));
		if (s->cfg.uplinks)
			states_str(s, states, sizeof(states));
		if (mps_log_is_tty()) {
			/* A terminal: one line redrawn in place; the full one with -v. */
			status_line(s, rows, n, line_tty, sizeof(line_tty));
			mps_log_status(line_tty);
			LOG_DEBUG(TAG, "%s%s%s", states, states[0] ? " | " : "", line);
		} else {
			LOG_INFO(TAG, "%s%s%s", states, states[0] ? " | " : "", line);
		}
		if (s->csv)
			snd_stats_write_csv(s->csv, (double)(s->cur.t_ns - s->start_ns) / 1e9, rows,
					    n, &total, &s->status);
	}
	s->prev = s->cur;
}

/* Hand this tick's figures to the metrics endpoint. */
static void publish(struct snd_stats *s, bool connected)
{
	struct snd_metrics_data *d = &s->mdata;
	struct rt_uplink up;

	/* Every configured uplink is listed, with or without subflows. */
	for (size_t i = 0; i < rt_uplinks_count(s->cfg.uplinks); i++)
		if (!rt_uplinks_get(s->cfg.uplinks, i, &up))
			snd_metrics_uplink(d, up.ifname);
	if (connected) {
		snd_metrics_account(d, &s->metrics_prev, &s->cur, s->cfg.namer, s->cfg.opaque);
		s->metrics_prev = s->cur;
	} else {
		d->n_subflows = 0;
	}
	for (size_t i = 0; i < s->health.n; i++) {
		struct snd_metrics_uplink *u;

		if (!rt_uplinks_get(s->cfg.uplinks, i, &up) &&
		    (u = snd_metrics_uplink(d, up.ifname)))
			u->state = snd_health_name(&s->health, i);
	}
	d->connected = connected;
	if (s->status.valid)
		d->stream = s->status;
	snd_metrics_publish(s->metrics, d);
}

/*
 * How long the removal of a kicked uplink's endpoint needs to reach the
 * server (rt_uplinks_unplug()): its RM_ADDR goes out on the living subflows,
 * behind what they have queued: twice their largest smoothed RTT, within
 * SND_REPLUG_MIN_MS and SND_REPLUG_MAX_MS.
 */
static int64_t replug_wait(const struct snd_stats_snapshot *cur)
{
	int64_t wait = 2 * (int64_t)snd_stats_max_rtt_us(cur, SND_HEALTH_DEAD_MS) / 1000;

	if (wait < SND_REPLUG_MIN_MS)
		wait = SND_REPLUG_MIN_MS;
	return wait < SND_REPLUG_MAX_MS ? wait : SND_REPLUG_MAX_MS;
}

/* Judge the uplinks and act: kick the dead ones, promote or demote backups. */
static void check_health(struct snd_stats *s, bool have_sample)
{
	struct snd_health_uplink ups[RT_MAX_UPLINKS] = {{0}};
	struct snd_health_actions act;
	struct rt_uplink up[RT_MAX_UPLINKS];
	int64_t now = mps_mono_ns() / 1000000;
	int ret;

	for (size_t i = 0; i < s->health.n; i++) {
		if (rt_uplinks_get(s->cfg.uplinks, i, &up[i]))
			continue;
		ups[i].installed = up[i].installed;
		ups[i].link_up = up[i].link_up;
		ups[i].backup = up[i].backup;
		ups[i].addr = up[i].addr;
	}
	/* The rate controller's measure, from the last tick: the delay in the socket. */
	s->health.data_age_ms = s->status.valid && s->status.delay_ms >= s->status.queue_ms
					? s->status.delay_ms - s->status.queue_ms
					: -1;
	snd_health_update(&s->health, ups, &s->tick_prev, have_sample ? &s->cur : NULL, now, &act);
	for (size_t i = 0; i < s->health.n; i++) {
		if (act.changed[i])
			mps_log(s->health.state[i] == SND_UPLINK_DOWN ? MPS_LOG_WARN : MPS_LOG_INFO,
				"health", "uplink %s: %s (%s)", up[i].ifname,
				snd_uplink_state_name(s->health.state[i]), s->health.reason[i]);
		if (act.release[i]) {
			ret = rt_uplinks_unplug(s->cfg.uplinks, i, true);
			mps_log(ret ? MPS_LOG_WARN : MPS_LOG_INFO, "health",
				"uplink %s: subflows closed, their data goes on the others now%s%s",
				up[i].ifname, ret ? ": " : "", ret ? strerror(-ret) : "");
		}
		if (s->probes[i].replug_ms && now >= s->probes[i].replug_ms) {
			s->probes[i].replug_ms = 0;
			ret = rt_uplinks_replug(s->cfg.uplinks, i);
			if (ret)
				LOG_WARN("health", "uplink %s: cannot add its endpoint again: %s",
					 up[i].ifname, strerror(-ret));
		}
		if (!act.probe[i] || now - s->probes[i].kicked_ms < SND_PROBE_SETTLE_MS) {
			snd_pathprobe_reset(&s->probes[i]);
			continue;
		}
		ret = snd_pathprobe_step(&s->probes[i], up[i].addr, up[i].ifname,
					 &s->cur.sf[0].remote, now);
		if (ret == 1) {
			int64_t wait = replug_wait(&s->cur);

			s->probes[i].kicked_ms = now;
			s->probes[i].replug_ms = now + wait;
			ret = rt_uplinks_unplug(s->cfg.uplinks, i, true);
			LOG_INFO("health",
				 "uplink %s: its path answers again: fresh subflow in %lld ms%s%s",
				 up[i].ifname, (long long)wait, ret ? ": " : "",
				 ret ? strerror(-ret) : "");
		}
	}
	for (size_t i = 0; i < s->health.n; i++) {
		if (act.bench[i] < 0)
			continue;
		ret = act.bench[i] ? rt_uplinks_unplug(s->cfg.uplinks, i, true)
				   : rt_uplinks_replug(s->cfg.uplinks, i);
		mps_log(act.bench[i] ? MPS_LOG_WARN : MPS_LOG_INFO, "health", "uplink %s: %s%s%s",
			up[i].ifname, act.bench_why[i], ret ? ": " : "", ret ? strerror(-ret) : "");
	}
	if (act.set_backup >= 0) {
		LOG_WARN("health", act.set_backup
					   ? "a primary uplink works again: backups back to "
					     "backup"
					   : "no primary uplink works: backup uplinks carry the "
					     "stream");
		for (size_t i = 0; i < s->health.n; i++)
			if (ups[i].backup && ups[i].installed)
				rt_uplinks_set_backup(s->cfg.uplinks, i, act.set_backup);
	}
	if (have_sample)
		s->tick_prev = s->cur;
}

static void *stats_thread(void *arg)
{
	struct snd_stats *s = arg;
	int64_t tick = (int64_t)SND_STATS_TICK_MS * 1000000;
	int64_t period = (int64_t)(s->cfg.interval_s * 1e9);
	int64_t next = mps_mono_ns(), next_report = next;
	struct timespec ts;

	if (period < tick)
		tick = period;
	pthread_mutex_lock(&s->lock);
	while (!s->stop) {
		int ret = snd_stats_sample(s->fd, &s->cur);

		if (ret)
			LOG_DEBUG(TAG, "cannot read the connection's statistics: %s",
				  strerror(-ret));
		if (!ret && !s->cur.mptcp && !s->fallback_logged) {
			LOG_WARN(TAG,
				 "the connection is plain TCP (MPTCP off here or at the server): "
				 "one path only");
			s->fallback_logged = true;
		}
		if (s->cfg.uplinks)
			check_health(s, !ret);
		if (!ret && s->tick)
			s->tick(s->tick_opaque, s->fd, &s->cur, &s->status);
		if (!ret && s->metrics)
			publish(s, true);
		if (!ret && s->cur.t_ns >= next_report) {
			report(s);
			/* An empty first snapshot (no subflow yet) still marks the start of an interval. */
			if (!s->prev.n)
				s->prev.t_ns = s->cur.t_ns;
			next_report += period;
		}
		next += tick;
		ts.tv_sec = next / 1000000000;
		ts.tv_nsec = next % 1000000000;
		while (!s->stop && pthread_cond_timedwait(&s->wake, &s->lock, &ts) == 0)
			;
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

int snd_stats_create(const struct snd_stats_config *cfg, struct snd_stats **out)
{
	struct snd_stats *s = calloc(1, sizeof(*s));
	pthread_condattr_t attr;

	if (!s)
		return -ENOMEM;
	s->cfg = *cfg;
	s->fd = -1;
	s->start_ns = mps_mono_ns(); /* CSV times count from here, across reconnects */
	snd_health_init(&s->health, rt_uplinks_count(cfg->uplinks));
	for (size_t i = 0; i < RT_MAX_UPLINKS; i++)
		snd_pathprobe_init(&s->probes[i]);
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&s->wake, &attr);
	pthread_condattr_destroy(&attr);
	if (cfg->csv_path) {
		s->csv = fopen(cfg->csv_path, "we");
		if (!s->csv) {
			int err = -errno;

			LOG_ERR(TAG, "cannot create %s: %s", cfg->csv_path, strerror(errno));
			snd_stats_destroy(s);
			return err;
		}
		fputs(snd_stats_csv_header, s->csv);
	}
	*out = s;
	return 0;
}

void snd_stats_set_metrics(struct snd_stats *s, struct snd_metrics *m)
{
	s->metrics = m;
}

void snd_stats_set_tick(struct snd_stats *s, snd_stats_tick_fn fn, void *opaque)
{
	if (!s)
		return;
	s->tick = fn;
	s->tick_opaque = opaque;
}

int snd_stats_start(struct snd_stats *s, int fd)
{
	int ret;

	s->fd = fd;
	s->stop = false;
	memset(&s->prev, 0, sizeof(s->prev));
	memset(&s->tick_prev, 0, sizeof(s->tick_prev));
	memset(&s->metrics_prev, 0, sizeof(s->metrics_prev));
	s->status.valid = false;
	ret = pthread_create(&s->thread, NULL, stats_thread, s);
	if (ret)
		return -ret;
	s->running = true;
	return 0;
}

void snd_stats_stop(struct snd_stats *s)
{
	if (!s || !s->running)
		return;
	pthread_mutex_lock(&s->lock);
	s->stop = true;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	s->running = false;
	/* A last line for the part-interval since the last report, unless too short to mean much. */
	if (mps_mono_ns() - s->prev.t_ns >= (int64_t)(s->cfg.interval_s * 1e9 / 4) &&
	    snd_stats_sample(s->fd, &s->cur) == 0)
		report(s);
	if (s->metrics)
		publish(s, false);
	s->fd = -1;
}

void snd_stats_destroy(struct snd_stats *s)
{
	if (!s)
		return;
	snd_stats_stop(s);
	if (s->csv)
		fclose(s->csv);
	for (size_t i = 0; i < RT_MAX_UPLINKS; i++)
		snd_pathprobe_reset(&s->probes[i]);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->wake);
	free(s);
}

int snd_conn_health(int fd, struct snd_conn_health *h)
{
	struct mps_mptcp_info mi = {0};
	struct tcp_info ti = {0};
	socklen_t len = sizeof(mi);

	memset(h, 0, sizeof(*h));
	if (getsockopt(fd, SOL_MPTCP, MPS_MPTCP_INFO, &mi, &len) == 0 &&
	    len >= offsetof(struct mps_mptcp_info, mptcpi_last_ack_recv) + sizeof(__u32)) {
		h->mptcp = true;
		h->subflows = mi.mptcpi_subflows + 1;
		h->unacked = mi.mptcpi_write_seq - mi.mptcpi_snd_una;
		h->ack_silence_ms = mi.mptcpi_last_ack_recv;
		return 0;
	}
	len = sizeof(ti);
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		return -errno;
	h->subflows = 1;
	h->unacked = ti.tcpi_unacked; /* segments, not bytes: only its being > 0 is used */
	h->ack_silence_ms = ti.tcpi_last_ack_recv;
	return 0;
}
