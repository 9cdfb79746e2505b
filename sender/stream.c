// SPDX-License-Identifier: MIT
#include "stream.h"
#include "args.h"
#include "clock.h"
#include "control.h"
#include "log.h"
#include "monitor.h"
#include "sample.h"
#include "shim.h"
#include "uplinks.h"
#include "url.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/sockios.h>
#include <netinet/tcp.h>
#include <net/if.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>

#define TAG "stream"
/* A subflow acknowledged within this is alive; its RTT counts for the in-flight cap. */
#define LIVING_ACK_MS		 300
#define SEND_WAIT_MS		 50
#define HEALTH_PERIOD_MS	 100
#define BLOCKED_BEFORE_HEALTH_MS 1000
#define CLOSE_GRACE_MS		 2000
#define ENCODER_RATE_WINDOW_MS	 1000
#define INFLIGHT_POLL_MS	 5
#define SPEED_CHECK_MS		 3000
#define CONNECT_RETRY_MIN_MS	 500 /* less left of the connect timeout: no new attempt */
#define SPEED_SLOW		 0.9 /* of real time */
/*
 * A reconnect attempt gives up after this: the kernel's SYN retries (1 s, 3 s)
 * would otherwise keep an attempt begun during an outage waiting long after
 * the way is free again.
 */
#define RECONNECT_TIMEOUT_MS 2000

struct stream {
	const struct snd_stream_config *cfg;
	struct enc_session *enc;
	struct enc_output *out;
	int fd;	    /* the connection's socket, -1 when none */
	bool mptcp; /* ... an MPTCP one */
	char shown[512];
	int enc_result;
	char abort_why[128]; /* why output_interrupt() aborted the I/O */
	bool enc_done;
	pthread_mutex_t lock;

	/* Rate control, on the driver's thread (sender/ticks.h), while connected. */
	struct ratectl rate;
	int64_t rate_window_ms, rate_window_bytes; /* start of the encoder-rate window */
	int kept_ms; /* the budget the queue keeps at least (enc_session_keep_at_least()) */
	double encoder_bps;
	atomic_llong reconnects;   /* written by the network loop, read by rate control */
	atomic_llong inflight_cap; /* bytes written and not yet acknowledged, at most; 0: no cap */
	atomic_bool held;	   /* data waited for the cap since the last tick */
	atomic_bool connecting;	   /* in enc_output_open(): a stop ends the attempt */
	int64_t started_ms;	   /* the first frame's time, for --duration */
	struct mps_ip tcp_source;  /* plain TCP: the address of its one path; none: MPTCP */
	struct mps_ip lost_tcp_source; /* ... of the plain TCP connection lost last */
	bool tcp_said;		       /* the plain TCP warning was given */
	size_t turn; /* attempts since the last loss that did not reach the server */
};

/*
 * 1 to stop cleanly, 2 or more to abort: the signals seen, or the operator's
 * stop (the live period ends, the program goes on in standby).
 */
static int stopping(const struct snd_stream_config *cfg)
{
	int sig = atomic_load(cfg->stop);
	int op = cfg->control ? atomic_load(&cfg->control->end_live) : 0;

	return sig > op ? sig : op;
}

static void set_mode(const struct snd_stream_config *cfg, enum web_mode mode)
{
	if (cfg->control)
		snd_control_set_mode(cfg->control, mode);
}

int snd_backoff_ms(int attempt)
{
	int ms = SND_BACKOFF_MIN_MS;

	for (int i = 1; i < attempt && ms < SND_BACKOFF_MAX_MS; i++)
		ms *= 2;
	return ms < SND_BACKOFF_MAX_MS ? ms : SND_BACKOFF_MAX_MS;
}

/* The way to the server is gone: no acknowledgement for outage_ms with data outstanding. */
static bool outage(const struct stream *st, char *why, size_t size)
{
	struct conn_health h;

	if (st->fd < 0 || conn_read_health(st->fd, &h) < 0)
		return false;
	if (!h.unacked || h.ack_silence_ms < (uint32_t)st->cfg->outage_ms)
		return false;
	snprintf(why, size, "no acknowledgement for %u ms on any path", h.ack_silence_ms);
	return true;
}

static int output_interrupt(void *opaque, int blocked_ms)
{
	struct stream *st = opaque;
	char why[128];

	/* Two signals abort a write; one aborts a connection attempt (nothing to finish). */
	if (stopping(st->cfg) >= 2 || (stopping(st->cfg) && atomic_load(&st->connecting)))
		return 1;
	if (blocked_ms >= st->cfg->stall_ms) {
		snprintf(st->abort_why, sizeof(st->abort_why), "a write blocked for %d ms",
			 blocked_ms);
		return 1;
	}
	if (blocked_ms >= BLOCKED_BEFORE_HEALTH_MS && outage(st, why, sizeof(why))) {
		snprintf(st->abort_why, sizeof(st->abort_why), "%s", why);
		return 1;
	}
	return 0;
}

/* What the encoder put out: video bytes over about a second. */
static void measure_encoder(struct stream *st, int64_t now_ms, const struct enc_progress *p)
{
	int64_t dt = now_ms - st->rate_window_ms;

	if (!st->rate_window_ms || p->video_bytes < st->rate_window_bytes) {
		st->rate_window_ms = now_ms;
		st->rate_window_bytes = p->video_bytes;
	} else if (dt >= ENCODER_RATE_WINDOW_MS) {
		st->encoder_bps = 8000.0 * (double)(p->video_bytes - st->rate_window_bytes) / dt;
		st->rate_window_ms = now_ms;
		st->rate_window_bytes = p->video_bytes;
	}
}

/*
 * The rate is the stream's target, or what the encoder or the file put out if
 * more (--copy). The cap is enough for the paths' bandwidth-delay product;
 * beyond it, the data waits in mpstream's queue, where it is measured and can
 * be dropped. What it bounds is the cost of a dead path: the receiver holds
 * back all the living paths carried after it died, and the kernel sends all of
 * that again when the dead subflow closes (failover/health.h,
 * fo_health_release_after_ms()).
 */
int64_t snd_inflight_cap(const struct conn_snapshot *cur, double rate_bps)
{
	double window_ms = 2.0 * conn_max_rtt_us(cur, LIVING_ACK_MS) / 1000, cap;

	if (rate_bps <= 0 || !cur->mptcp)
		return 0;
	if (window_ms < SND_INFLIGHT_MS)
		window_ms = SND_INFLIGHT_MS;
	cap = rate_bps / 8 * window_ms / 1000;
	return cap > SND_INFLIGHT_MIN ? (int64_t)cap : SND_INFLIGHT_MIN;
}

/* Whether the connection holds its cap of unacknowledged data (snd_inflight_cap()). */
static bool inflight_full(struct stream *st)
{
	long long cap = atomic_load(&st->inflight_cap);
	struct conn_health h;

	return cap > 0 && st->fd >= 0 && conn_read_health(st->fd, &h) == 0 && h.mptcp &&
	       (long long)h.unacked > cap;
}

/* The operator's new bit-rate bounds, if any: in force from this tick. */
static void apply_bounds(struct stream *st)
{
	int64_t lo, hi;

	/* The control refuses bounds with --copy: its rate is the input's. */
	if (!st->cfg->control || !snd_control_take_bounds(st->cfg->control, &lo, &hi))
		return;
	if (rc_set_bounds(&st->rate, lo, hi) &&
	    enc_session_set_bitrate(st->enc, st->rate.target_bps) == 0)
		LOG_INFO(TAG, "bit rate %.2f Mbit/s: the operator's bounds",
			 (double)st->rate.target_bps / 1e6);
}

/* FNV-1a of @len bytes at @a; never 0 (rc_path.uplink: not known). */
static uint32_t key_of(const void *a, size_t len)
{
	const uint8_t *b = a;
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ b[i]) * 16777619u;
	return h ? h : 1;
}

/*
 * A key of the uplink a subflow leaves by: its name (both its addresses, and
 * a new one when a modem attaches again), or its local address when no
 * uplink owns it (not the port, which a fresh subflow changes). 0: no
 * address.
 */
static uint32_t uplink_key(const struct sockaddr_storage *local, const struct snd_namer *namer)
{
	char name[IFNAMSIZ] = "";
	struct mps_ip ip;
	const void *bytes;
	size_t len;

	if (namer && namer->fn)
		namer->fn((const struct sockaddr *)local, name, sizeof(name), namer->opaque);
	if (name[0])
		return key_of(name, strlen(name));
	if (!mps_ip_from_sockaddr(&ip, (const struct sockaddr *)local))
		return 0;
	bytes = mps_ip_bytes(&ip, &len);
	return key_of(bytes, len);
}

/* SND_TICK_RATE (sender/ticks.h): rate control, on the last sample. */
void snd_rate_input(const struct conn_snapshot *cur, const struct snd_namer *namer, int unsent,
		    const struct enc_progress *p, bool held, double encoder_bps,
		    struct rc_input *in)
{
	*in = (struct rc_input){
		.t_ms = cur->t_ns / 1000000,
		/* What SIOCOUTQ says, from the same snapshot as the rest. */
		.socket_bytes = (uint32_t)(cur->conn_written - cur->conn_delivered),
		.unsent_bytes = unsent > 0 ? (uint32_t)unsent : 0,
		.held = held,
		.written_seq = cur->conn_written,
		.delivered_seq = cur->conn_delivered,
		.queue_ms = p->queue_ms,
		.encoder_bps = encoder_bps,
	};
	/*
	 * Only established subflows: one that health released is closing
	 * (TCP_CLOSING in the lab while its uplink dropped what it sent;
	 * FIN_WAIT1 and the rest alike), and gone from the input it is silent
	 * sooner than our own half second would say (ratectl.c, quiet_long()).
	 * So is any subflow that closes while it carried (an RM_ADDR, a
	 * benched uplink): its capacity is gone all the same.
	 */
	for (size_t i = 0; i < cur->n && in->n_paths < RC_MAX_PATHS; i++) {
		struct rc_path *path = &in->paths[in->n_paths];

		if (cur->sf[i].state != TCP_ESTABLISHED)
			continue;
		path->id = cur->sf[i].id;
		path->uplink = uplink_key(&cur->sf[i].local, namer);
		path->rtt_ms = cur->sf[i].rtt_us / 1000.0;
		path->acked_bytes = cur->sf[i].bytes_acked;
		path->delivered = cur->sf[i].delivered;
		in->n_paths++;
	}
}

/* SND_TICK_RATE (sender/ticks.h): rate control, on the last sample. */
static void rate_tick(void *opaque, struct snd_tick *t)
{
	struct stream *st = opaque;
	const struct conn_snapshot *cur = t->cur;
	const struct snd_namer namer = {st->cfg->uplinks ? snd_uplink_name : NULL,
					st->cfg->uplinks};
	struct rc_input in;
	struct rc_decision d;
	struct enc_progress p;
	int outq = 0, ret;

	if (ioctl(t->fd, SIOCOUTQNSD, &outq) < 0)
		outq = 0;
	enc_session_progress(st->enc, &p);
	snd_rate_input(cur, &namer, outq, &p, atomic_exchange(&st->held, false),
		       st->rate.cfg.fixed ? 0 : st->encoder_bps, &in);
	apply_bounds(st);
	rc_update(&st->rate, &in, &d);
	if (d.budget_change)
		LOG_INFO(TAG, "delay budget %s to %d ms: %s (--max-latency MS fixes it)",
			 d.budget_change > 0 ? "raised" : "lowered", d.budget_ms, d.budget_why);
	if (d.budget_ms != st->kept_ms) {
		/*
		 * What the budget covers may wait in the queue: the budget's rule
		 * drops it (to a keyframe, logged), not the queue's bound blindly
		 * before (on three recorded uplinks, 57 frames at a 2 s delay under
		 * a 4 s budget, 1.8 s of it in the queue).
		 */
		enc_session_keep_at_least(st->enc, d.budget_ms);
		st->kept_ms = d.budget_ms;
	}
	if (d.drop) {
		int64_t n = enc_session_skip_to_keyframe(st->enc);

		LOG_WARN(TAG, "dropped %lld queued frames, %s; going on at the next keyframe",
			 (long long)n, d.why);
	}
	if (d.regain)
		LOG_INFO(TAG, "a path carries data again: back up towards %.2f Mbit/s",
			 (double)d.regain_bps / 1e6);
	if (d.change && (ret = enc_session_set_bitrate(st->enc, d.target_bps)) < 0) {
		/* Only --copy refuses, and its controller is fixed: not reached. */
		LOG_WARN(TAG, "the encoder keeps its bit rate: %s", strerror(-ret));
	} else if (d.change) {
		if (d.change < 0 && d.why[0])
			LOG_INFO(TAG, "bit rate %.2f Mbit/s: %s", (double)d.target_bps / 1e6,
				 d.why);
		else
			LOG_DEBUG(TAG, "bit rate %.2f Mbit/s", (double)d.target_bps / 1e6);
	}
	measure_encoder(st, in.t_ms, &p);
	atomic_store(&st->inflight_cap,
		     (long long)snd_inflight_cap(cur, st->encoder_bps > (double)d.target_bps
							      ? st->encoder_bps
							      : (double)d.target_bps));
	*t->status = (struct conn_stream_status){
		.valid = true,
		.target_bps = st->rate.cfg.fixed ? 0 : d.target_bps,
		.encoder_bps = st->encoder_bps,
		.queue_ms = p.queue_ms,
		.delay_ms = d.delay_ms,
		.budget_ms = d.budget_ms,
		.socket_bytes = in.socket_bytes,
		.dropped_frames = p.dropped_frames,
		.reconnects = atomic_load(&st->reconnects),
		.input = p.input.state == ENC_INPUT_NONE ? NULL
							 : enc_input_state_name(p.input.state),
		.input_lost_ms = p.input.lost_total_ms,
		.input_losses = p.input.losses,
	};
}

/*
 * Once, SPEED_CHECK_MS after the start: an encoder that does not keep up with
 * real time (a picture too large, a frame rate too high for this machine)
 * sends less than a live stream needs, and nothing else would say so.
 */
static bool check_speed(const struct stream *st, const struct enc_progress *p, int64_t now_ms)
{
	double speed;

	if (now_ms - st->started_ms < SPEED_CHECK_MS)
		return false;
	speed = (double)p->media_time_us / 1000.0 / (double)(now_ms - st->started_ms);
	if (speed < SPEED_SLOW)
		LOG_WARN(TAG,
			 "the encoder runs at %.2fx real time (%lld frames in %.1f s): the stream "
			 "falls behind; lower --size, --fps or --preset",
			 speed, (long long)p->video_frames,
			 (double)(now_ms - st->started_ms) / 1000);
	return true;
}

static void *encoder_thread(void *arg)
{
	struct stream *st = arg;
	struct enc_progress p;
	bool speed_checked = false;
	char err[128];
	int ret = 0;

	while (!stopping(st->cfg)) {
		ret = enc_session_step(st->enc);
		if (ret == -EINTR)
			continue;
		if (ret < 0)
			break;
		enc_session_progress(st->enc, &p);
		if (!speed_checked)
			speed_checked = check_speed(st, &p, mps_mono_ms());
		if (st->cfg->duration_us && p.media_time_us >= st->cfg->duration_us)
			break;
	}
	if (ret == ENC_ERR_EOF || ret == -EINTR)
		ret = 0;
	if (ret < 0)
		LOG_ERR(TAG, "encoding stopped: %s", enc_strerror(ret, err, sizeof(err)));
	/* Whatever happened, the network side gets an end: drain into the queue. */
	if (enc_session_drain(st->enc) < 0 && !ret)
		ret = -EIO;
	pthread_mutex_lock(&st->lock);
	st->enc_result = ret;
	st->enc_done = true;
	pthread_mutex_unlock(&st->lock);
	return NULL;
}

/*
 * Where the first subflow of the next connection attempt leaves from: the
 * uplinks that are configured, primaries before backups, in turn (the next
 * one after an attempt that did not reach the server: st->turn), so that a
 * reconnect does not keep knocking on a dead uplink; after a plain TCP
 * connection was lost, beginning with the uplink after its own (it had one
 * path, and that path failed). For each family of destination, the first
 * uplink in that order that has an address of that family.
 */
static void plan_for(const struct stream *st, struct conn_plan *plan)
{
	struct mps_uplink_view order[RT_MAX_UPLINKS], up;
	size_t n = 0, skip = 0, count = rt_uplinks_count(st->cfg->uplinks);

	memset(plan, 0, sizeof(*plan));
	plan->via = st->cfg->via;
	for (int backups = 0; backups < 2; backups++)
		for (size_t i = 0; i < count; i++)
			if (!rt_uplinks_view(st->cfg->uplinks, i, &up) && up.installed &&
			    up.link_up && !up.disabled && up.backup == backups)
				order[n++] = up;
	for (size_t k = 0; st->lost_tcp_source.family && k < n; k++)
		for (int f = 0; f < MPS_UPLINK_SIDES; f++)
			if (mps_ip_equal(&order[k].side[f].addr, &st->lost_tcp_source))
				skip = k + 1;
	for (int f = 0; f < MPS_UPLINK_SIDES; f++)
		for (size_t k = 0; k < n && !plan->src[f].family; k++) {
			const struct mps_uplink_side *s = &order[(skip + st->turn + k) % n].side[f];

			if (s->installed)
				plan->src[f] = s->addr;
		}
}

/*
 * A connection that is plain TCP (MPTCP off here, or a server that does not
 * speak it) has one path: say which uplink it leaves from, and remember it,
 * so that the stream goes over another one if this connection is lost.
 */
static void note_path(struct stream *st)
{
	struct sockaddr_storage local = {0};
	socklen_t len = sizeof(local);
	struct conn_health h;
	char name[IFNAMSIZ] = "", a[MPS_IP_STRLEN];

	memset(&st->tcp_source, 0, sizeof(st->tcp_source));
	if (st->fd < 0 || conn_read_health(st->fd, &h) < 0 || h.mptcp ||
	    getsockname(st->fd, (struct sockaddr *)&local, &len) < 0 ||
	    !mps_ip_from_sockaddr(&st->tcp_source, (struct sockaddr *)&local))
		return;
	if (st->cfg->uplinks)
		rt_uplinks_name_addr(st->cfg->uplinks, (struct sockaddr *)&local, name,
				     sizeof(name));
	/* A warning once; after that, which uplink each new connection took. */
	mps_log(st->tcp_said ? MPS_LOG_INFO : MPS_LOG_WARN, TAG,
		"the connection is plain TCP (MPTCP off here or at the server): one path only, "
		"over %s%s%s%s; if it is lost, the stream reconnects over %s",
		name[0] ? "uplink " : "", name, name[0] ? " from " : "",
		mps_ip_str(&st->tcp_source, a),
		rt_uplinks_count(st->cfg->uplinks) > 1 ? "the next uplink" : "it again");
	st->tcp_said = true;
}

/* One connection attempt of @timeout_ms at most. */
static int connect_attempt(struct stream *st, int timeout_ms)
{
	struct enc_output_config oc = {
		.url = st->cfg->url,
		.connect_timeout_ms = timeout_ms,
		.ca_file = st->cfg->ca_file,
		.insecure = st->cfg->insecure,
		.interrupt = output_interrupt,
		.opaque = st,
	};
	struct conn_plan plan;
	int ret;

	plan_for(st, &plan);
	conn_shim_arm(&plan);
	atomic_store(&st->connecting, true);
	ret = enc_output_open(st->enc, &oc, &st->out);
	atomic_store(&st->connecting, false);
	conn_shim_disarm();
	if (ret < 0)
		return ret;
	st->fd = conn_shim_connection(&st->mptcp);
	if (st->fd < 0)
		LOG_WARN(TAG, "connected, but the connection's socket is not found: no statistics, "
			      "rate control or outage detection on this connection");
	note_path(st);
	/* A new connection: its counters start at 0; the bit rate goes on. */
	rc_new_connection(&st->rate);
	if (st->fd >= 0)
		snd_ticks_connect(st->cfg->ticks, st->fd,
				  &(struct snd_tick_consumer){rate_tick, st, SND_MONITOR_TICK_MS});
	return 0;
}

/*
 * Connect within @timeout_ms (a reconnect tries again soon rather than
 * waiting out a long timeout). libavformat's TCP protocol gives up on an
 * address after 5 s of its own (its "timeout" option, which would make it
 * longer, is RTMP's listen timeout at the rtmp:// level): a longer timeout
 * is served by trying again, as long as it lasts.
 */
static int connect_once(struct stream *st, int timeout_ms)
{
	int64_t end = mps_mono_ms() + timeout_ms, left = timeout_ms;
	int ret;

	for (;;) {
		ret = connect_attempt(st, (int)left);
		left = end - mps_mono_ms();
		if (ret != -ETIMEDOUT || left < CONNECT_RETRY_MIN_MS || stopping(st->cfg))
			return ret;
		st->turn++; /* the next try from the next uplink */
		LOG_DEBUG(TAG, "no answer yet; trying for %.1f s more", (double)left / 1000);
	}
}

/*
 * Why a connection attempt failed, in the user's words: libavformat says
 * "Operation not permitted" when the server refuses the publish, and the
 * usual reason after an outage is that it still holds the earlier one.
 */
static const char *connect_error(const struct stream *st, int err, char *buf, size_t size)
{
	if (err == -EIO && !strncasecmp(st->cfg->url, "rtmps:", 6) && !st->cfg->insecure)
		return "the TLS connection failed: the server's certificate is not trusted or not "
		       "for this host name (see the libav line above); --ca FILE trusts a private "
		       "CA";
	if (err == -EPERM)
		return "the server refused the publish (it may still hold an earlier publish of "
		       "this key: nginx-rtmp's \"already publishing\", until its "
		       "drop_idle_publisher; see docs/ingest.md)";
	return enc_strerror(err, buf, size);
}

/* @graceful: the connection works, let the server see a clean end. */
static void disconnect(struct stream *st, bool graceful)
{
	snd_ticks_disconnect(st->cfg->ticks);
	/*
	 * No tick until the next connection: the budget's rule does not drop
	 * meanwhile, the queue keeps --buffer; the first tick after sets the
	 * budget again.
	 */
	enc_session_keep_at_least(st->enc, 0);
	st->kept_ms = 0;
	enc_output_close(st->out, graceful ? CLOSE_GRACE_MS : 0);
	st->out = NULL;
	st->fd = -1;
}

/* Sleep until @until_ms (monotonic) or a stop. */
static void wait_until(const struct stream *st, int64_t until_ms)
{
	while (!stopping(st->cfg) && mps_mono_ms() < until_ms) {
		int64_t left = until_ms - mps_mono_ms();
		struct timespec ts = {.tv_sec = 0, .tv_nsec = (left > 100 ? 100 : left) * 1000000};

		nanosleep(&ts, NULL);
	}
}

/*
 * With --duration, when a stream without a connection gives up: the duration
 * of wall time since the first frame and SND_DURATION_GRACE_MS to send what
 * is queued. 0: never.
 */
static int64_t give_up_at(const struct stream *st)
{
	if (!st->cfg->duration_us)
		return 0;
	return st->started_ms + st->cfg->duration_us / 1000 + SND_DURATION_GRACE_MS;
}

/* The network loop: returns the exit code. */
static int network_loop(struct stream *st)
{
	int64_t connected_at = mps_mono_ms(), lost_at = 0, next_attempt = 0, next_health = 0;
	int64_t end = give_up_at(st);
	int attempt = 0, reconnects = 0, ret;
	char why[128], err[128];

	for (;;) {
		if (!st->out) {
			if (stopping(st->cfg))
				return MPS_EXIT_OK; /* stopping, and no connection to finish */
			wait_until(st, end && end < next_attempt ? end : next_attempt);
			if (stopping(st->cfg))
				continue;
			if (end && mps_mono_ms() >= end) {
				LOG_ERR(TAG, "--duration is over and %s is not back: giving up",
					st->shown);
				return MPS_EXIT_UNAVAILABLE;
			}
			attempt++;
			LOG_INFO(TAG, "reconnect attempt %d to %s", attempt, st->shown);
			ret = connect_once(st, st->cfg->connect_timeout_ms < RECONNECT_TIMEOUT_MS
						       ? st->cfg->connect_timeout_ms
						       : RECONNECT_TIMEOUT_MS);
			/* Refused by the server: its uplink works, stay on it. */
			if (ret < 0 && ret != -EPERM)
				st->turn++;
			if (ret < 0) {
				next_attempt = mps_mono_ms() + snd_backoff_ms(attempt + 1);
				LOG_WARN(TAG, "reconnect attempt %d failed: %s; next in %.1f s",
					 attempt, connect_error(st, ret, err, sizeof(err)),
					 (double)snd_backoff_ms(attempt + 1) / 1000);
				continue;
			}
			reconnects++;
			atomic_store(&st->reconnects, reconnects);
			set_mode(st->cfg, WEB_LIVE);
			LOG_INFO(TAG, "reconnected after %.1f s (attempt %d, reconnect %d)",
				 (double)(mps_mono_ms() - lost_at) / 1000, attempt, reconnects);
			connected_at = mps_mono_ms();
		}
		if (attempt && mps_mono_ms() - connected_at > SND_BACKOFF_RESET_MS)
			attempt = 0; /* a minute of streaming: the back-off starts over */

		if (inflight_full(st)) {
			struct timespec ts = {.tv_nsec = INFLIGHT_POLL_MS * 1000000};

			atomic_store(&st->held, true);
			nanosleep(&ts, NULL);
			ret = -EAGAIN;
		} else {
			ret = enc_output_send(st->out, SEND_WAIT_MS);
		}
		if (ret == ENC_OUTPUT_DONE) {
			ret = enc_output_finish(st->out);
			disconnect(st, ret >= 0);
			return ret < 0 && stopping(st->cfg) < 2 ? MPS_EXIT_UNAVAILABLE
								: MPS_EXIT_OK;
		}
		why[0] = '\0';
		if (ret >= 0 || ret == -EAGAIN) {
			if (mps_mono_ms() < next_health)
				continue;
			next_health = mps_mono_ms() + HEALTH_PERIOD_MS;
			if (!outage(st, why, sizeof(why)))
				continue;
		} else if (stopping(st->cfg) >= 2) {
			disconnect(st, false);
			return MPS_EXIT_OK;
		}
		if (!why[0])
			snprintf(why, sizeof(why), "%s",
				 ret == ENC_ERR_EXIT && st->abort_why[0] ? st->abort_why
				 : ret == ENC_ERR_EOF			 ? "closed by the server"
						      : enc_strerror(ret, err, sizeof(err)));
		st->abort_why[0] = '\0';
		LOG_WARN(TAG, "connection to %s lost: %s", st->shown, why);
		st->lost_tcp_source = st->tcp_source;
		st->turn = 0;
		set_mode(st->cfg, WEB_RECONNECTING);
		disconnect(st, false);
		if (!st->cfg->reconnect) {
			LOG_ERR(TAG, "not reconnecting (--reconnect 0)");
			return MPS_EXIT_UNAVAILABLE;
		}
		lost_at = mps_mono_ms();
		next_attempt = lost_at + snd_backoff_ms(attempt + 1);
	}
}

/* The first connection, the encoder thread, the network loop: the exit code. */
static int run(struct stream *st)
{
	const struct snd_stream_config *cfg = st->cfg;
	struct enc_progress p;
	pthread_t thread;
	char err[128];
	int ret, code;

	mps_url_redacted(cfg->url, st->shown, sizeof(st->shown));
	LOG_INFO(TAG, "connecting to %s", st->shown);
	set_mode(cfg, WEB_CONNECTING);
	ret = connect_once(st, cfg->connect_timeout_ms);
	if (ret < 0) {
		if (stopping(cfg))
			LOG_INFO(TAG, "stopped before the connection to %s was made", st->shown);
		else
			LOG_ERR(TAG, "cannot stream to %s: %s", st->shown,
				connect_error(st, ret, err, sizeof(err)));
		if (stopping(cfg))
			return MPS_EXIT_OK;
		return ret == ENC_ERR_EXIT ? MPS_EXIT_FAILURE : MPS_EXIT_UNAVAILABLE;
	}
	/* What the connection is, not what its socket was made as: a server may fall back to TCP. */
	LOG_INFO(TAG, "streaming over %s",
		 st->tcp_source.family ? "plain TCP"
		 : st->mptcp	       ? "MPTCP"
				       : "TCP");
	set_mode(cfg, WEB_LIVE);
	st->started_ms = mps_mono_ms();
	ret = pthread_create(&thread, NULL, encoder_thread, st);
	if (ret) {
		disconnect(st, true);
		return MPS_EXIT_FAILURE;
	}
	code = network_loop(st);
	if (st->out)
		disconnect(st, false);
	/* The encoder thread ends on its own once stopped or drained. */
	if (code != MPS_EXIT_OK && !stopping(cfg))
		atomic_store(cfg->stop, 1);
	pthread_join(thread, NULL);
	if (st->enc_result < 0 && code == MPS_EXIT_OK)
		code = MPS_EXIT_FAILURE;

	enc_session_progress(st->enc, &p);
	LOG_INFO(TAG, "sent %lld video frames, %.1f s, %.1f MB, %lld frames dropped%s",
		 (long long)p.video_frames, (double)p.media_time_us / 1e6,
		 (double)p.bytes_out / 1e6, (long long)p.dropped_frames,
		 stopping(cfg) ? " (stopped)" : "");
	return code;
}

int snd_stream_run(struct enc_session *enc, const struct snd_stream_config *cfg)
{
	struct stream *st = calloc(1, sizeof(*st));
	int code;

	if (!st) {
		LOG_ERR(TAG, "out of memory");
		return MPS_EXIT_FAILURE;
	}
	st->cfg = cfg;
	st->enc = enc;
	st->fd = -1;
	pthread_mutex_init(&st->lock, NULL);
	rc_init(&st->rate, &cfg->rate);
	code = run(st);
	/* Every path out of run() took the connection back; once more, before st goes. */
	snd_ticks_disconnect(cfg->ticks);
	pthread_mutex_destroy(&st->lock);
	free(st);
	return code;
}
