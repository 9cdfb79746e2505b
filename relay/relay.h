/* SPDX-License-Identifier: MIT */
/*
 * `mpstream relay`: accept MPTCP (and plain TCP) connections and pass each
 * one, both ways, to a plain TCP connection to an ingest that does not speak
 * MPTCP. One thread, epoll, and splice() through a pipe per direction: the
 * bytes never enter user space. The listening socket stays open, since the
 * clients' MPTCP joins arrive there.
 *
 * A connection is "connecting" (the upstream connect() under way: nothing is
 * read from the client, whose bytes wait in its socket) until the upstream
 * answers or --connect-timeout passes, then "relaying" until both directions
 * are done (each side's end passed on as a shutdown), one fails, the
 * handshake is not done within --handshake-timeout of the upstream's answer
 * (a total deadline: bytes trickled meanwhile do not extend it), or nothing
 * goes either way for --idle-timeout: connections that would otherwise hold
 * a place of --max-conn for ever. Out of descriptors, the listener is left
 * alone for a while rather than waking the loop for ever.
 */
#ifndef MPS_RELAY_RELAY_H
#define MPS_RELAY_RELAY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct relay_config {
	struct sockaddr_storage upstream; /* the ingest */
	socklen_t upstream_len;
	int max_conn;		  /* connections at once; the one over is closed */
	int connect_timeout_ms;	  /* the upstream's answer, at most */
	int handshake_timeout_ms; /* the handshake after that, in all, at most; 0: none */
	int idle_timeout_ms;	  /* no byte either way this long: closed; 0: never */
	double stats_interval_s;  /* per-connection statistics */
};

struct relay;

/* Relay the connections accepted on @listen_fd (non-blocking; the relay owns it then). */
int relay_create(const struct relay_config *cfg, int listen_fd, struct relay **out)
	__attribute__((warn_unused_result));

/*
 * One round: wait up to @timeout_ms for events, handle them, then the
 * timeouts and statistics. Returns 0 or -errno (epoll failed).
 */
int relay_run_once(struct relay *r, int timeout_ms) __attribute__((warn_unused_result));

/* Close every connection (with @why in its log line, or none), the listener, and free. */
void relay_destroy(struct relay *r, const char *why);

/* New connections go to @addr from now on (logged when it changed); those under way stay. */
void relay_set_upstream(struct relay *r, const struct sockaddr_storage *addr, socklen_t len);

/* What a relay did so far, for its tests. */
struct relay_counters {
	uint64_t events; /* epoll events handled */
	unsigned accepted, closed;
	int open;
	unsigned accept_pauses; /* times the listener was left alone, out of descriptors */
};
void relay_get_counters(const struct relay *r, struct relay_counters *out);

/*
 * The handshake is done: the client sent bytes and the upstream answered
 * (which it does once it has the client's first message whole). Pure.
 */
bool relay_handshake_done(uint64_t from_client, uint64_t from_upstream);

/* Descriptors a connection holds: the client, the upstream, two pipes. */
#define RELAY_FDS_PER_CONN 6
/* Kept for the rest: the listener, epoll, a refused client, the resolver's sockets. */
#define RELAY_SPARE_FDS 16

/*
 * How many connections fit in @nofile descriptors with @in_use taken
 * already and a few kept for the rest (at most @max_conn). Pure.
 */
int relay_conn_capacity(int max_conn, unsigned long nofile, int in_use);

/* What a connection's two sockets wait for (epoll events), from its state. Pure. */
struct relay_half_state {
	size_t queued; /* bytes in its pipe, not yet written on */
	bool eof;      /* its source has nothing more */
};
void relay_interest(bool connecting, const struct relay_half_state *c2u,
		    const struct relay_half_state *u2c, uint32_t *client_events,
		    uint32_t *up_events);

/* The subcommand: argv[0] is "relay"; @stop is set by a signal. Returns the exit code. */
int relay_main(int argc, char **argv, atomic_int *stop);

#endif
