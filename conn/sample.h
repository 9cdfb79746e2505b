/* SPDX-License-Identifier: MIT */
/*
 * Read a connection's snapshot from its socket: getsockopt(SOL_MPTCP,
 * MPTCP_FULL_INFO) (kernel >= 6.5), one atomic read of every subflow's
 * tcp_info and addresses; TCP_INFO for a plain TCP socket or an MPTCP one
 * that fell back to TCP.
 */
#ifndef MPS_CONN_SAMPLE_H
#define MPS_CONN_SAMPLE_H

#include "snapshot.h"

/* Take a snapshot of @fd. Returns 0 or -errno. */
int conn_sample(int fd, struct conn_snapshot *out) __attribute__((warn_unused_result));

/* Whether the connection still gets acknowledgements. */
struct conn_health {
	bool mptcp;
	unsigned subflows;
	uint64_t unacked;	 /* data sent and not acknowledged */
	uint32_t ack_silence_ms; /* since the last acknowledgement */
};

/*
 * Read it from the connection's socket: MPTCP_INFO (its last_ack_recv needs
 * Linux 6.10), else TCP_INFO. Returns 0 or -errno.
 */
int conn_read_health(int fd, struct conn_health *h) __attribute__((warn_unused_result));

#endif
