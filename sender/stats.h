/* SPDX-License-Identifier: MIT */
/*
 * Per-subflow statistics of the MPTCP connection, read with
 * getsockopt(SOL_MPTCP, MPTCP_FULL_INFO) (kernel >= 6.5): one atomic snapshot
 * of every subflow's tcp_info and addresses. Rates are deltas between two
 * snapshots; the arithmetic is pure so that it can be unit-tested.
 */
#ifndef MPS_STATS_H
#define MPS_STATS_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#define SND_MAX_SUBFLOWS 16
#define SND_ADDR_STRLEN	 (INET6_ADDRSTRLEN + 8) /* "[addr]:port" */

struct snd_subflow_sample {
	uint32_t id;
	struct sockaddr_storage local, remote;
	uint64_t bytes_sent;	 /* tcpi_bytes_sent: including retransmissions */
	uint64_t bytes_acked;	 /* tcpi_bytes_acked */
	uint64_t bytes_retrans;	 /* tcpi_bytes_retrans */
	uint64_t bytes_received; /* tcpi_bytes_received */
	uint32_t rtt_us;
	uint32_t cwnd;	      /* segments */
	uint8_t state;	      /* TCP_ESTABLISHED, ... */
	uint32_t unacked;     /* segments sent and not acknowledged */
	uint32_t last_ack_ms; /* since the last ACK */
};

struct snd_stats_snapshot {
	int64_t t_ns; /* CLOCK_MONOTONIC */
	bool mptcp;   /* false: plain TCP (or a fallback), one pseudo-subflow */
	/*
	 * Data-level sequence numbers: the end of what the application wrote
	 * into the socket, and the start of what the peer has not acknowledged
	 * yet. Only their differences mean anything.
	 */
	uint64_t conn_written, conn_delivered;
	size_t n;
	struct snd_subflow_sample sf[SND_MAX_SUBFLOWS];
};

struct snd_stats_row {
	uint32_t id;
	char uplink[IFNAMSIZ];
	char local[SND_ADDR_STRLEN], remote[SND_ADDR_STRLEN];
	double send_bps;	/* rate of bytes_sent, bits/s */
	double goodput_bps;	/* rate of bytes_acked, bits/s */
	double recv_bps;	/* rate of bytes_received, bits/s (a receiver's view) */
	uint64_t retrans_bytes; /* retransmitted in the interval */
	double rtt_ms;
	uint32_t cwnd;
};

/* Names the uplink of a local address; writes "" when unknown. */
typedef void (*snd_uplink_namer)(const struct sockaddr *local, char *name, size_t size,
				 void *opaque);

/*
 * Take a snapshot of @fd. MPTCP sockets are read with MPTCP_FULL_INFO; a TCP
 * socket or an MPTCP one that fell back to TCP with TCP_INFO. Returns 0 or
 * -errno.
 */
int snd_stats_sample(int fd, struct snd_stats_snapshot *out);

/*
 * Rows for each subflow of @cur, with rates over the time since @prev (NULL or
 * empty for the first interval: rates since the subflow's start are not known,
 * so they are 0), and their sum in @total. Returns the number of rows.
 */
size_t snd_stats_diff(const struct snd_stats_snapshot *prev, const struct snd_stats_snapshot *cur,
		      snd_uplink_namer namer, void *opaque, struct snd_stats_row *rows,
		      struct snd_stats_row *total);

/* The stream's side of a report: rate control and mpstream's queue. */
struct snd_stream_status {
	bool valid;
	int64_t target_bps;    /* the encoder's bit rate now; 0: fixed (--copy) */
	double encoder_bps;    /* what the encoder put out over the last second */
	int queue_ms;	       /* media waiting in mpstream's queue */
	int delay_ms;	       /* the sender's delay: the queue plus the socket's */
	uint32_t socket_bytes; /* in the socket, unacknowledged */
	int64_t dropped_frames;
	int64_t reconnects; /* connections made after a lost one */
};

/* The subflow @id of @s (NULL or empty: none). */
const struct snd_subflow_sample *snd_stats_find(const struct snd_stats_snapshot *s, uint32_t id);

/*
 * The largest smoothed RTT (us) among the subflows of @s that had an ACK
 * within @acked_within_ms (a dead subflow's RTT says nothing); 0: none.
 */
uint32_t snd_stats_max_rtt_us(const struct snd_stats_snapshot *s, uint32_t acked_within_ms);

/* How much a counter grew; one that went backwards (a new subflow, a reused id) counts from 0. */
uint64_t snd_counter_delta(uint64_t now, uint64_t before);

/* "addr:port" or "[addr]:port"; "-" for anything else. */
void snd_format_addr(const struct sockaddr_storage *ss, char *buf, size_t size);

/*
 * A subflow's uplink (named by @namer; "-" when unknown) and its local and
 * remote addresses, as the rows and the metrics show them.
 */
void snd_subflow_names(const struct snd_subflow_sample *sf, snd_uplink_namer namer, void *opaque,
		       char uplink[IFNAMSIZ], char local[SND_ADDR_STRLEN],
		       char remote[SND_ADDR_STRLEN]);

/* One compact line for the log; @st may be NULL. */
void snd_stats_format_line(const struct snd_stats_row *rows, size_t n,
			   const struct snd_stats_row *total, const struct snd_stream_status *st,
			   char *buf, size_t size);

extern const char snd_stats_csv_header[];
/*
 * CSV lines, one per row and one "total", at @t_s seconds since the start. The
 * stream's columns are filled on the total line (when @st is valid).
 */
void snd_stats_write_csv(FILE *f, double t_s, const struct snd_stats_row *rows, size_t n,
			 const struct snd_stats_row *total, const struct snd_stream_status *st);

/*
 * The periodic reporter: a thread that samples the connection's socket every
 * SND_STATS_TICK_MS, keeps the uplinks' health (and kicks those that are
 * down), and logs a line (and a CSV row per subflow) every interval.
 */
#define SND_STATS_TICK_MS 100
struct snd_stats;
struct rt_uplinks;
struct snd_stats_config {
	double interval_s;
	const char *csv_path; /* NULL: log only */
	snd_uplink_namer namer;
	void *opaque;
	/* Uplinks to judge and kick (health.h) every tick; NULL: none. */
	struct rt_uplinks *uplinks;
};
/* Opens the CSV file (-errno when it cannot be created). */
int snd_stats_create(const struct snd_stats_config *cfg, struct snd_stats **out);
/*
 * Called every tick, on the stats thread, with the connection's socket and the
 * new snapshot (rate control); fills the stream's part of the reports. Set it
 * while the thread is not running.
 */
typedef void (*snd_stats_tick_fn)(void *opaque, int fd, const struct snd_stats_snapshot *cur,
				  struct snd_stream_status *out);
void snd_stats_set_tick(struct snd_stats *s, snd_stats_tick_fn fn, void *opaque);
/* Publish to a metrics endpoint (metrics.h) every tick. Set it before the first start. */
struct snd_metrics;
void snd_stats_set_metrics(struct snd_stats *s, struct snd_metrics *m);
/* Start sampling @fd. Returns 0 or -errno. */
int snd_stats_start(struct snd_stats *s, int fd);
/* Stop the thread (before @fd is closed) and log a last line. */
void snd_stats_stop(struct snd_stats *s);
void snd_stats_destroy(struct snd_stats *s);

/* Whether the connection still gets acknowledgements. */
struct snd_conn_health {
	bool mptcp;
	unsigned subflows;
	uint64_t unacked;	 /* data sent and not acknowledged */
	uint32_t ack_silence_ms; /* since the last acknowledgement */
};
/*
 * Read it from the connection's socket: MPTCP_INFO (its last_ack_recv needs
 * Linux 6.10), else TCP_INFO. Returns 0 or -errno.
 */
int snd_conn_health(int fd, struct snd_conn_health *h);

#endif
