/* SPDX-License-Identifier: MIT */
/*
 * What the kernel says of one MPTCP connection at one instant (a snapshot of
 * every subflow's tcp_info and addresses, and the connection's data
 * sequence), and the arithmetic on two of them: rates, the log line, the CSV.
 * Pure: no I/O but the FILE the CSV goes to, no library; sample.h reads the
 * snapshots from a socket.
 */
#ifndef MPS_CONN_SNAPSHOT_H
#define MPS_CONN_SNAPSHOT_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#define CONN_MAX_SUBFLOWS 16
#define CONN_ADDR_STRLEN  (INET6_ADDRSTRLEN + 8) /* "[addr]:port" */

struct conn_subflow {
	uint32_t id;
	struct sockaddr_storage local, remote;
	uint64_t bytes_sent;	 /* tcpi_bytes_sent: including retransmissions */
	uint64_t bytes_acked;	 /* tcpi_bytes_acked */
	uint64_t bytes_retrans;	 /* tcpi_bytes_retrans */
	uint64_t bytes_received; /* tcpi_bytes_received */
	uint32_t rtt_us;	 /* smoothed */
	uint32_t rttvar_us;	 /* its mean deviation */
	uint32_t cwnd;		 /* segments */
	uint8_t state;		 /* TCP_ESTABLISHED, ... */
	uint32_t unacked;	 /* segments sent and not acknowledged */
	/*
	 * Segments the receiver has got (tcpi_delivered, SACKed ones included):
	 * a path that lost a segment delivers on, each SACK says so, while its
	 * cumulative ACK waits a round trip for the hole to be filled.
	 */
	uint32_t delivered;
	/*
	 * Bytes given to the subflow and not sent yet (tcpi_notsent_bytes): a
	 * subflow whose packets its own host drops (an output firewall rule, a
	 * qdisc that refuses) holds its data here, with nothing in flight.
	 */
	uint32_t notsent;
	uint32_t last_ack_ms; /* since the last ACK */
	uint32_t
		snd_wnd; /* the peer's receive window (tcpi_snd_wnd, 5.4); 0 with snd_mss 0: not known */
	uint32_t snd_mss;
};

struct conn_snapshot {
	int64_t t_ns; /* CLOCK_MONOTONIC */
	bool mptcp;   /* false: plain TCP (or a fallback), one pseudo-subflow */
	/*
	 * The family of the server address the connection was opened to
	 * (AF_INET, AF_INET6; 0: not known). The kernel's path manager opens a
	 * subflow from an uplink's address only to an address of its family: to
	 * this one, or to one the server announced, and the latter only when
	 * the announcement arrives.
	 */
	int peer_family;
	/*
	 * Data-level sequence numbers: the end of what the application wrote
	 * into the socket, and the start of what the peer has not acknowledged
	 * yet. Only their differences mean anything.
	 */
	uint64_t conn_written, conn_delivered;
	size_t n;
	struct conn_subflow sf[CONN_MAX_SUBFLOWS];
};

struct conn_row {
	uint32_t id;
	int family; /* of the subflow's addresses: AF_INET, AF_INET6; 0 on the total */
	char uplink[IFNAMSIZ];
	char local[CONN_ADDR_STRLEN], remote[CONN_ADDR_STRLEN];
	double send_bps;	/* rate of bytes_sent, bits/s */
	double goodput_bps;	/* rate of bytes_acked, bits/s */
	double recv_bps;	/* rate of bytes_received, bits/s (a receiver's view) */
	uint64_t retrans_bytes; /* retransmitted in the interval */
	double rtt_ms;
	uint32_t cwnd;
};

/* Names the uplink of a local address; writes "" when unknown. */
typedef void (*conn_uplink_namer)(const struct sockaddr *local, char *name, size_t size,
				  void *opaque);

/*
 * Rows for each subflow of @cur, with rates over the time since @prev (NULL or
 * empty for the first interval: rates since the subflow's start are not known,
 * so they are 0), and their sum in @total. Returns the number of rows.
 */
size_t conn_diff(const struct conn_snapshot *prev, const struct conn_snapshot *cur,
		 conn_uplink_namer namer, void *opaque, struct conn_row *rows,
		 struct conn_row *total);

/* The stream's side of a report: rate control and mpstream's queue. */
struct conn_stream_status {
	bool valid;
	int64_t target_bps;    /* the encoder's bit rate now; 0: fixed (--copy) */
	double encoder_bps;    /* what the encoder put out over the last second */
	int queue_ms;	       /* media waiting in mpstream's queue */
	int delay_ms;	       /* the sender's delay: the queue plus the socket's */
	int budget_ms;	       /* the delay budget in force (--max-latency) */
	uint32_t socket_bytes; /* in the socket, unacknowledged */
	int64_t dropped_frames;
	int64_t reconnects; /* connections made after a lost one */
	const char *input;  /* a live input's state: "up", "lost", "waiting"; NULL: not live */
	int64_t input_lost_ms, input_losses; /* all its losses so far, and how many */
};

/* The subflow @id of @s (NULL or empty: none). */
const struct conn_subflow *conn_find(const struct conn_snapshot *s, uint32_t id);

/*
 * The largest smoothed RTT (us) among the subflows of @s that had an ACK
 * within @acked_within_ms (a dead subflow's RTT says nothing); 0: none.
 */
uint32_t conn_max_rtt_us(const struct conn_snapshot *s, uint32_t acked_within_ms);

/* How much a counter grew; one that went backwards (a new subflow, a reused id) counts from 0. */
uint64_t conn_counter_delta(uint64_t now, uint64_t before);

/* "addr:port" or "[addr]:port"; "-" for anything else. */
void conn_format_addr(const struct sockaddr_storage *ss, char *buf, size_t size);

/*
 * A subflow's uplink (named by @namer; "-" when unknown) and its local and
 * remote addresses, as the rows and the metrics show them.
 */
void conn_subflow_names(const struct conn_subflow *sf, conn_uplink_namer namer, void *opaque,
			char uplink[IFNAMSIZ], char local[CONN_ADDR_STRLEN],
			char remote[CONN_ADDR_STRLEN]);

/* "ipv4", "ipv6", or "" (not a subflow), as the CSV and the metrics label it. */
const char *conn_family_label(int family);

/* One compact line for the log; @st may be NULL. */
void conn_format_line(const struct conn_row *rows, size_t n, const struct conn_row *total,
		      const struct conn_stream_status *st, char *buf, size_t size);

extern const char conn_csv_header[];
/*
 * CSV lines, one per row and one "total", at @t_s seconds since the start. The
 * stream's columns are filled on the total line (when @st is valid), and its
 * last column, @uplinks, is each uplink's state ("up0=up;up1=down"; NULL:
 * none); then the live input's state (empty: not a live input); then, on a
 * subflow's line, its family (ipv4, ipv6); last, on the total line, @radios:
 * the modems' uplinks' radios ("wwan0=LTE:72:-95:12.5:home:ready"; NULL: none).
 */
void conn_write_csv(FILE *f, double t_s, const struct conn_row *rows, size_t n,
		    const struct conn_row *total, const struct conn_stream_status *st,
		    const char *uplinks, const char *radios);

extern const char conn_trace_header[];
/*
 * The kernel's counters as they are (--trace): a line per subflow at @t_ms
 * since the start, with the connection's data sequence on each; a line "-"
 * when there is no subflow. What failover and rate control are given, so
 * that a run in the field can be replayed in a test (tests/unit/traces/).
 */
void conn_write_trace(FILE *f, int64_t t_ms, const struct conn_snapshot *s);

#endif
