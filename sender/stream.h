/* SPDX-License-Identifier: MIT */
/*
 * The stream: an encoder thread that never waits for the network, and the
 * network loop that keeps one connection to the server, detects outages and
 * reconnects with exponential back-off.
 */
#ifndef MPS_STREAM_H
#define MPS_STREAM_H

#include "encoder.h"
#include "ratectl.h"
#include "routing.h"
#include "snapshot.h"
#include "ticks.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* The connection's unacknowledged data, at most (snd_inflight_cap()). */
#define SND_INFLIGHT_MS	 250
#define SND_INFLIGHT_MIN (128 * 1024)

#define SND_BACKOFF_MIN_MS   500
#define SND_BACKOFF_MAX_MS   10000
#define SND_BACKOFF_RESET_MS 60000 /* connected this long: the back-off starts over */
/* With --duration: a stream without a connection this long after it gives up (exit 69). */
#define SND_DURATION_GRACE_MS 5000

struct snd_control;

struct snd_stream_config {
	const char *url;
	int connect_timeout_ms;
	const char *ca_file;	     /* rtmps://: --ca */
	bool insecure;		     /* rtmps://: --insecure */
	struct sockaddr_storage via; /* --via: the relay connected to; ss_family 0: none */
	bool reconnect;		     /* false: a lost connection ends the stream (exit 69) */
	int outage_ms;		     /* no acknowledgement this long, data outstanding: reconnect */
	int stall_ms;		     /* one write blocked this long: reconnect */
	int64_t duration_us;	     /* 0: until stopped */
	struct rt_uplinks *uplinks;  /* the first subflow leaves from one of them; NULL: any */
	struct snd_ticks *ticks;     /* handed each connection, with rate control; NULL: none */
	struct rc_config rate;	     /* rate control */
	atomic_int *stop;	     /* the signals seen: 1 stops cleanly, 2 aborts */
	struct snd_control *control; /* the operator's (--http), or NULL */
};

/*
 * How much the connection may hold written and not yet acknowledged at the
 * data level, when the stream sends @rate_bps (bytes; 0: no cap, plain TCP):
 * what it sends in SND_INFLIGHT_MS, or in twice the slowest living subflow's
 * RTT if longer, SND_INFLIGHT_MIN at least.
 */
int64_t snd_inflight_cap(const struct conn_snapshot *cur, double rate_bps);

/* What names a subflow's uplink from its local address (sender/uplinks.h's snd_uplink_name). */
struct snd_namer {
	conn_uplink_namer fn; /* NULL: none */
	void *opaque;
};

/*
 * What rate control is handed at a tick (ratectl.h): from the snapshot @cur
 * (each subflow's uplink named by @namer; NULL, or an address none owns:
 * keyed by its address), the socket's bytes not sent yet (@unsent,
 * SIOCOUTQNSD; 0 or less: none),
 * the encoder's progress @p, whether data waited for the in-flight cap
 * since the last tick (@held) and the encoder's measured rate (0: not known).
 */
void snd_rate_input(const struct conn_snapshot *cur, const struct snd_namer *namer, int unsent,
		    const struct enc_progress *p, bool held, double encoder_bps,
		    struct rc_input *in);

/* The back-off before reconnect attempt @attempt (1, 2, ...): 0.5 s doubling to 10 s. */
int snd_backoff_ms(int attempt);

/*
 * Connect (the first connection must succeed), stream until the input ends,
 * the duration is reached, *stop is set or the operator stops it, and return
 * the exit code.
 */
int snd_stream_run(struct enc_session *enc, const struct snd_stream_config *cfg)
	__attribute__((warn_unused_result));

#endif
