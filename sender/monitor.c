// SPDX-License-Identifier: MIT
#include "monitor.h"
#include "clock.h"
#include "failover.h"
#include "log.h"
#include "modem.h"
#include "web.h"
#include "sample.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TAG "stats"

struct snd_monitor {
	struct snd_monitor_config cfg;
	FILE *csv;
	FILE *trace; /* --trace: NULL when not asked for, or given up */
	int64_t start_ns;
	bool csv_failed;		   /* a write failed: the CSV was given up */
	struct conn_snapshot prev, cur;	   /* last report, this tick */
	struct conn_stream_status status;  /* the last tick's */
	struct metrics_data mdata;	   /* counters go on across connections */
	struct conn_snapshot metrics_prev; /* the last tick's, this connection */
};

/* The uplinks' states, "up0=up up1=down", for the stats line and the CSV. */
static void states_str(const struct snd_monitor *m, const char *sep, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < fo_count(m->cfg.failover) && len < size; i++) {
		const struct fo_uplink *up = fo_uplink(m->cfg.failover, i);

		len += (size_t)snprintf(buf + len, size - len, "%s%s=%s", len ? sep : "",
					up->view.name, fo_health_name(up));
	}
}

/*
 * A few words of uplink @i's modem for the status line ("LTE 72%",
 * "searching"), or "": from the radio fill_uplinks() copied for this tick.
 */
static void radio_words(const struct snd_monitor *m, size_t i, char *buf, size_t size)
{
	buf[0] = '\0';
	if (i < m->mdata.n_uplinks)
		modem_radio_words(&m->mdata.uplink[i].radio, buf, size);
}

/*
 * The terminal's status line: each uplink with its state, rate and modem,
 * the video, the delay.
 */
static void status_line(const struct snd_monitor *m, const struct conn_row *rows, size_t n,
			char *buf, size_t size)
{
	const struct conn_stream_status *st = &m->status;
	size_t len = 0, count = fo_count(m->cfg.failover);

	buf[0] = '\0';
	for (size_t i = 0; i < count && len < size; i++) {
		const struct fo_uplink *up = fo_uplink(m->cfg.failover, i);
		char words[MODEM_WORDS];
		double bps = 0;

		for (size_t k = 0; k < n; k++)
			if (strcmp(rows[k].uplink, up->view.name) == 0)
				bps += rows[k].send_bps;
		radio_words(m, i, words, sizeof(words));
		len += (size_t)snprintf(buf + len, size - len, "%s %s %.1f%s%s | ", up->view.name,
					fo_health_name(up), bps / 1e6, words[0] ? " " : "", words);
	}
	if (!count && len < size) {
		double bps = 0;

		for (size_t k = 0; k < n; k++)
			bps += rows[k].send_bps;
		len += (size_t)snprintf(buf + len, size - len, "%zu subflows %.1f | ", n,
					bps / 1e6);
	}
	if (len < size && st->valid)
		snprintf(buf + len, size - len,
			 "video %.1f Mbit/s | delay %d ms | queue %d ms | dropped %lld",
			 (st->target_bps ? (double)st->target_bps : st->encoder_bps) / 1e6,
			 st->delay_ms, st->queue_ms, (long long)st->dropped_frames);
}

/* A write to *@f failed: it is closed, with one line, and NULL; true then. */
static bool given_up(FILE **f, const char *what, const char *path)
{
	if (!ferror(*f))
		return false;
	LOG_ERR(TAG, "cannot write %s to %s (%s): no more of it", what, path,
		strerror(errno ? errno : EIO));
	fclose(*f);
	*f = NULL;
	return true;
}

/*
 * The uplinks into the metrics' data, as failover judged them, with their
 * modems: every configured uplink, with or without subflows; uplink i is
 * routing's i.
 */
static void fill_uplinks(struct snd_monitor *m)
{
	struct mps_uplink_view views[FO_MAX_UPLINKS];
	const char *states[FO_MAX_UPLINKS];
	size_t n = fo_count(m->cfg.failover);

	for (size_t i = 0; i < n; i++) {
		const struct fo_uplink *up = fo_uplink(m->cfg.failover, i);

		views[i] = up->view;
		states[i] = fo_health_name(up);
	}
	metrics_set_uplinks(&m->mdata, views, states, n);
	for (size_t i = 0; i < n; i++) {
		struct modem_radio r;
		bool known = m->cfg.modems && !modem_watch_get(m->cfg.modems, views[i].name, &r);

		metrics_set_radio(&m->mdata, i, known ? &r : NULL);
	}
}

/* The interval's CSV rows; a file that fails is closed with one line, the stream goes on. */
static void write_csv(struct snd_monitor *m, const struct conn_row *rows, size_t n,
		      const struct conn_row *total)
{
	char states[256], radios[512];

	states_str(m, ";", states, sizeof(states));
	metrics_radios_csv(&m->mdata, radios, sizeof(radios));
	conn_write_csv(m->csv, (double)(m->cur.t_ns - m->start_ns) / 1e9, rows, n, total,
		       &m->status, states, radios);
	if (given_up(&m->csv, "the statistics", m->cfg.csv_path))
		m->csv_failed = true;
}

/* This tick's counters (--trace); a file that fails is closed like the CSV, no more. */
static void write_trace(struct snd_monitor *m)
{
	conn_write_trace(m->trace, (m->cur.t_ns - m->start_ns) / 1000000, &m->cur);
	given_up(&m->trace, "the trace", m->cfg.trace_path);
}

/* The interval's line in the log (or the terminal's status line), and the CSV rows. */
static void report(struct snd_monitor *m)
{
	struct conn_row rows[CONN_MAX_SUBFLOWS], total;
	char line[1024], line_tty[512], states[256];
	size_t n;

	n = conn_diff(&m->prev, &m->cur, m->cfg.namer, m->cfg.opaque, rows, &total);
	if (m->prev.n) {
		/* The uplinks and their radios once, for the status line and the CSV. */
		fill_uplinks(m);
		conn_format_line(rows, n, &total, &m->status, line, sizeof(line));
		states_str(m, " ", states, sizeof(states));
		if (mps_log_is_tty()) {
			/* A terminal: one line redrawn in place; the full one with -v. */
			status_line(m, rows, n, line_tty, sizeof(line_tty));
			mps_log_status(line_tty);
			LOG_DEBUG(TAG, "%s%s%s", states, states[0] ? " | " : "", line);
		} else {
			LOG_INFO(TAG, "%s%s%s", states, states[0] ? " | " : "", line);
		}
		if (m->csv)
			write_csv(m, rows, n, &total);
	}
	m->prev = m->cur;
}

/* Hand this tick's figures to the metrics endpoint and the page. */
static void publish(struct snd_monitor *m, bool connected, int64_t now_ns)
{
	struct metrics_data *d = &m->mdata;

	fill_uplinks(m);
	if (connected) {
		metrics_account(d, &m->metrics_prev, &m->cur, m->cfg.namer, m->cfg.opaque);
		m->metrics_prev = m->cur;
	} else {
		d->n_subflows = 0;
	}
	d->connected = connected;
	if (m->status.valid)
		d->stream = m->status;
	/* The CSV's clock: the snapshot's time while connected. */
	web_publish(m->cfg.web, d,
		    (double)((connected ? m->cur.t_ns : now_ns) - m->start_ns) / 1e9);
}

/* SND_TICK_SAMPLE: the connection's counters (and the trace). */
static void sample(void *opaque, struct snd_tick *t)
{
	struct snd_monitor *m = opaque;
	int ret = m->cfg.sampler(t->fd, &m->cur);

	t->status = &m->status;
	t->cur = ret ? NULL : &m->cur;
	if (ret)
		LOG_DEBUG(TAG, "cannot read the connection's statistics: %s", strerror(-ret));
	else if (m->trace)
		write_trace(m);
}

/* SND_TICK_FAILOVER: the uplinks judged on the last sample, or on their links alone. */
static void judge(void *opaque, struct snd_tick *t)
{
	struct snd_monitor *m = opaque;

	/* The rate stage's last budget: a tick old, as the rate stage runs after this one. */
	fo_set_budget(m->cfg.failover, m->status.valid ? m->status.budget_ms : 0);
	fo_tick(m->cfg.failover, t->cur, t->now_ns / 1000000);
}

/* SND_TICK_PUBLISH: the metrics and the page. */
static void publish_tick(void *opaque, struct snd_tick *t)
{
	publish(opaque, t->fd >= 0, t->now_ns);
}

/* SND_TICK_REPORT: the interval's line and the CSV rows. */
static void report_tick(void *opaque, struct snd_tick *t)
{
	struct snd_monitor *m = opaque;

	(void)t;
	report(m);
	/* An empty first snapshot (no subflow yet) still marks the start of an interval. */
	if (!m->prev.n)
		m->prev.t_ns = m->cur.t_ns;
}

/* A new connection: its counters start at 0, and so do the reports'. */
static void connected(void *opaque, struct snd_tick *t)
{
	struct snd_monitor *m = opaque;

	memset(&m->prev, 0, sizeof(m->prev));
	memset(&m->metrics_prev, 0, sizeof(m->metrics_prev));
	m->status.valid = false;
	t->status = &m->status;
	fo_new_connection(m->cfg.failover);
}

/* The connection is about to close: a last line for the part-interval, the page told. */
static void disconnected(void *opaque, struct snd_tick *t)
{
	struct snd_monitor *m = opaque;

	/* ... unless too short to mean much. */
	if (t->now_ns - m->prev.t_ns >= (int64_t)(m->cfg.interval_s * 1e9 / 4) &&
	    m->cfg.sampler(t->fd, &m->cur) == 0)
		report(m);
	if (m->cfg.web)
		publish(m, false, t->now_ns);
}

void snd_monitor_consumers(struct snd_monitor *m, struct snd_ticks_config *cfg)
{
	/* --stats-interval is 0.05 s at least: a report falls on a sample (ticks.h). */
	int64_t interval_ms = llround(m->cfg.interval_s * 1000);
	int64_t sample_ms = SND_MONITOR_FAILOVER_TICK_MS;

	cfg->stage[SND_TICK_SAMPLE] = (struct snd_tick_consumer){sample, m, sample_ms};
	if (m->cfg.failover)
		cfg->stage[SND_TICK_FAILOVER] = (struct snd_tick_consumer){judge, m, sample_ms};
	if (m->cfg.web)
		cfg->stage[SND_TICK_PUBLISH] =
			(struct snd_tick_consumer){publish_tick, m, SND_MONITOR_TICK_MS};
	cfg->stage[SND_TICK_REPORT] = (struct snd_tick_consumer){report_tick, m, interval_ms};
	cfg->connected = connected;
	cfg->disconnected = disconnected;
	cfg->opaque = m;
}

/*
 * A CSV file (--stats, --trace) with its header, never blocking: a FIFO
 * without a reader is refused at once (ENXIO) rather than holding the stream
 * up, and one whose reader stops fails the write (EAGAIN) rather than
 * blocking the monitor. No @path: none, *out NULL. Returns 0 or -errno, said
 * in one line.
 */
static int open_csv(const char *path, const char *header, FILE **out)
{
	int fd, err;

	*out = NULL;
	if (!path)
		return 0;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NONBLOCK, 0644);
	if (fd >= 0 && !(*out = fdopen(fd, "w"))) {
		err = errno;
		close(fd);
		errno = err;
	}
	if (!*out) {
		err = errno;
		LOG_ERR(TAG, "cannot create %s: %s", path, strerror(err));
		return -err;
	}
	fputs(header, *out);
	return 0;
}

bool snd_monitor_failed(const struct snd_monitor *m)
{
	return m && m->csv_failed;
}

int snd_monitor_create(const struct snd_monitor_config *cfg, struct snd_monitor **out)
{
	struct snd_monitor *m = calloc(1, sizeof(*m));
	int ret;

	if (!m)
		return -ENOMEM;
	m->cfg = *cfg;
	if (!m->cfg.sampler)
		m->cfg.sampler = conn_sample;
	m->start_ns = mps_mono_ns(); /* CSV times count from here, across reconnects */
	if ((ret = open_csv(cfg->csv_path, conn_csv_header, &m->csv)) ||
	    (ret = open_csv(cfg->trace_path, conn_trace_header, &m->trace))) {
		snd_monitor_destroy(m);
		return ret;
	}
	*out = m;
	return 0;
}

void snd_monitor_destroy(struct snd_monitor *m)
{
	if (!m)
		return;
	if (m->csv)
		fclose(m->csv);
	if (m->trace)
		fclose(m->trace);
	free(m);
}
