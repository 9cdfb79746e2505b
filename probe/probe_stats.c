// SPDX-License-Identifier: MIT
#include "probe.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct latency_list {
	double *v;
	size_t n, cap;
};

struct probe_stats {
	int64_t start_us;
	/* the whole run */
	int64_t frames, backlog, missing, repeated, unstamped;
	int64_t joining; /* frames of the join burst (their latency is not judged) */
	double joining_max_ms;
	bool joined;			       /* the join burst is over */
	int64_t first_media_us, last_media_us; /* frames' send times (or pts, unstamped) */
	int64_t first_arrival_us, last_arrival_us;
	int64_t max_gap_us;
	bool have_frame;  /* a live frame was seen: gaps count from there */
	bool have_number; /* last_number is valid */
	uint32_t last_number;
	bool have_offset;
	int64_t min_offset_us; /* smallest arrival - pts, for unstamped streams */
	struct latency_list all;
	/* the current interval */
	int64_t win_start_us, win_frames, win_bytes, win_max_gap_us;
	struct latency_list win;
};

static int push(struct latency_list *l, double v)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 256;
		double *nv = realloc(l->v, cap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		l->v = nv;
		l->cap = cap;
	}
	l->v[l->n++] = v;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Median of @l (sorted in place); -1 when empty. */
static double median(struct latency_list *l)
{
	if (!l->n)
		return -1;
	qsort(l->v, l->n, sizeof(double), cmp_double);
	return l->n % 2 ? l->v[l->n / 2] : (l->v[l->n / 2 - 1] + l->v[l->n / 2]) / 2;
}

int probe_stats_create(int64_t start_us, struct probe_stats **out)
{
	struct probe_stats *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->start_us = start_us;
	s->win_start_us = start_us;
	*out = s;
	return 0;
}

void probe_stats_destroy(struct probe_stats *s)
{
	if (!s)
		return;
	free(s->all.v);
	free(s->win.v);
	free(s);
}

static void count_number(struct probe_stats *s, uint32_t frame)
{
	uint32_t d = (frame - s->last_number) & (PROBE_FRAME_MOD - 1);

	if (s->have_number) {
		if (d == 0 || d >= PROBE_FRAME_MOD / 2)
			s->repeated++; /* the same picture again, or an older one */
		else
			s->missing += d - 1;
	}
	if (!s->have_number || (d && d < PROBE_FRAME_MOD / 2))
		s->last_number = frame;
	s->have_number = true;
}

void probe_stats_add(struct probe_stats *s, const struct probe_sample *smp)
{
	double latency_ms;
	int64_t media_us;

	s->win_bytes += smp->bytes;
	/* Frames missing and repeated count whatever the latency is measured from. */
	if (smp->stamped || smp->numbered)
		count_number(s, smp->frame);
	if (smp->stamped) {
		if (smp->sent_us < s->start_us) {
			/* A server's backlog, sent before we connected. */
			s->backlog++;
			return;
		}
		latency_ms = (double)(smp->arrival_us - smp->sent_us) / 1000.0;
	} else {
		int64_t offset = smp->arrival_us - smp->pts_us;

		s->unstamped++;
		if (!s->have_offset || offset < s->min_offset_us) {
			s->min_offset_us = offset;
			s->have_offset = true;
		}
		latency_ms = (double)(offset - s->min_offset_us) / 1000.0;
	}

	if (s->have_frame) {
		int64_t gap = smp->arrival_us - s->last_arrival_us;

		if (gap > s->max_gap_us)
			s->max_gap_us = gap;
		if (gap > s->win_max_gap_us)
			s->win_max_gap_us = gap;
	}
	media_us = smp->stamped ? smp->sent_us : smp->pts_us;
	if (!s->have_frame) {
		s->first_arrival_us = smp->arrival_us;
		s->first_media_us = media_us;
	}
	/*
	 * A server hands a joining player what it held back until a keyframe,
	 * back to back: that delay is the server's, not the sender's (nginx-rtmp:
	 * up to 2 s at a 2 s GOP, seen here). The burst is over at the first
	 * frame that arrives no sooner after the one before than half the time
	 * between their sending; after that, frames arriving together are judged.
	 */
	if (!s->joined && s->have_frame && media_us > s->last_media_us &&
	    2 * (smp->arrival_us - s->last_arrival_us) >= media_us - s->last_media_us)
		s->joined = true;
	s->have_frame = true;
	s->last_arrival_us = smp->arrival_us;
	s->last_media_us = media_us;
	s->frames++;
	s->win_frames++;
	push(&s->win, latency_ms);
	if (!s->joined) {
		s->joining++;
		if (latency_ms > s->joining_max_ms)
			s->joining_max_ms = latency_ms;
		return;
	}
	push(&s->all, latency_ms);
}

void probe_stats_window(struct probe_stats *s, int64_t now_us, struct probe_window *w)
{
	double dt = (double)(now_us - s->win_start_us) / 1e6;

	memset(w, 0, sizeof(*w));
	w->t_s = (double)(now_us - s->start_us) / 1e6;
	w->frames = s->win_frames;
	w->fps = dt > 0 ? (double)s->win_frames / dt : 0;
	w->bitrate_bps = dt > 0 ? 8.0 * (double)s->win_bytes / dt : 0;
	/* A window without any frame is itself a gap, as long as the window. */
	if (s->have_frame && now_us - s->last_arrival_us > s->win_max_gap_us)
		w->max_gap_ms = (double)(now_us - s->last_arrival_us) / 1000.0;
	else
		w->max_gap_ms = (double)s->win_max_gap_us / 1000.0;
	w->latency_max_ms = s->win.n ? s->win.v[0] : -1;
	for (size_t i = 0; i < s->win.n; i++)
		if (s->win.v[i] > w->latency_max_ms)
			w->latency_max_ms = s->win.v[i];
	w->latency_ms = median(&s->win);
	w->missing_total = s->missing;

	s->win_start_us = now_us;
	s->win_frames = 0;
	s->win_bytes = 0;
	s->win_max_gap_us = 0;
	s->win.n = 0;
}

void probe_stats_summary(const struct probe_stats *s, const struct probe_limits *lim,
			 struct probe_summary *out)
{
	struct latency_list sorted = {0};

	memset(out, 0, sizeof(*out));
	out->frames = s->frames;
	out->backlog = s->backlog;
	out->joining = s->joining;
	out->joining_max_ms = s->joining ? s->joining_max_ms : -1;
	out->missing = s->missing;
	out->repeated = s->repeated;
	out->unstamped = s->unstamped;
	out->duration_s = s->frames ? (double)(s->last_arrival_us - s->first_arrival_us) / 1e6 : 0;
	out->max_gap_ms = (double)s->max_gap_us / 1000.0;
	out->latency_relative = s->unstamped > 0;
	out->latency_min_ms = out->latency_median_ms = out->latency_max_ms = -1;
	if (s->all.n) {
		sorted.v = malloc(s->all.n * sizeof(double));
		if (sorted.v) {
			memcpy(sorted.v, s->all.v, s->all.n * sizeof(double));
			sorted.n = sorted.cap = s->all.n;
			out->latency_median_ms = median(&sorted);
			out->latency_min_ms = sorted.v[0];
			out->latency_max_ms = sorted.v[sorted.n - 1];
			free(sorted.v);
		}
	}

	out->pass = true;
	if (!s->frames) {
		out->pass = false;
		snprintf(out->reason, sizeof(out->reason), "no frame received");
	} else if (out->duration_s < PROBE_MIN_SPAN_S &&
		   (double)(s->last_media_us - s->first_media_us) / 1e6 < PROBE_MIN_SPAN_S) {
		/*
		 * One frame of a file that is no stream, or a stream cut short:
		 * nothing to judge. (A file read at full speed arrives at once,
		 * but its frames span their media time.)
		 */
		out->pass = false;
		snprintf(out->reason, sizeof(out->reason),
			 "only %lld frame%s over %.2f s received: too little to judge",
			 (long long)s->frames, s->frames == 1 ? "" : "s", out->duration_s);
	} else if ((double)s->missing > lim->max_missing) {
		out->pass = false;
		snprintf(out->reason, sizeof(out->reason), "%lld frames missing",
			 (long long)s->missing);
	} else if (lim->max_gap_ms > 0 && out->max_gap_ms > lim->max_gap_ms) {
		out->pass = false;
		snprintf(out->reason, sizeof(out->reason), "longest gap %.0f ms > %.0f ms",
			 out->max_gap_ms, lim->max_gap_ms);
	} else if (lim->max_latency_ms > 0 && out->latency_max_ms > lim->max_latency_ms) {
		out->pass = false;
		snprintf(out->reason, sizeof(out->reason), "latency %.0f ms > %.0f ms",
			 out->latency_max_ms, lim->max_latency_ms);
	}
}

void probe_format_window(const struct probe_window *w, char *buf, size_t size)
{
	int n = snprintf(buf, size, "t=%.0fs %.2f Mbit/s %.1f fps gap %.0f ms", w->t_s,
			 w->bitrate_bps / 1e6, w->fps, w->max_gap_ms);

	if (n > 0 && (size_t)n < size && w->latency_ms >= 0)
		snprintf(buf + n, size - (size_t)n, " latency %.0f ms (max %.0f)%s", w->latency_ms,
			 w->latency_max_ms, w->missing_total ? " MISSING FRAMES" : "");
}

void probe_format_summary(const struct probe_summary *sum, char *buf, size_t size)
{
	snprintf(buf, size,
		 "%lld frames in %.1f s (%lld backlog, %lld on joining: latency up to %.0f ms), "
		 "%lld missing, %lld repeated; longest gap %.0f ms; %slatency min/median/max "
		 "%.0f/%.0f/%.0f ms; verdict %s%s%s",
		 (long long)sum->frames, sum->duration_s, (long long)sum->backlog,
		 (long long)sum->joining, sum->joining_max_ms, (long long)sum->missing,
		 (long long)sum->repeated, sum->max_gap_ms,
		 sum->latency_relative ? "relative " : "", sum->latency_min_ms,
		 sum->latency_median_ms, sum->latency_max_ms, sum->pass ? "PASS" : "FAIL",
		 sum->pass ? "" : ": ", sum->pass ? "" : sum->reason);
}

const char probe_csv_header[] =
	"time_s,frames,fps,bitrate_bps,max_gap_ms,latency_ms,latency_max_ms,missing_total\n";

void probe_write_csv(FILE *f, const struct probe_window *w)
{
	fprintf(f, "%.3f,%lld,%.2f,%.0f,%.1f,%.1f,%.1f,%lld\n", w->t_s, (long long)w->frames,
		w->fps, w->bitrate_bps, w->max_gap_ms, w->latency_ms, w->latency_max_ms,
		(long long)w->missing_total);
	fflush(f);
}
