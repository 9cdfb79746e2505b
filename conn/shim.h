/* SPDX-License-Identifier: MIT */
/*
 * The MPTCP socket shim.
 *
 * FFmpeg 5.1's tcp:// protocol (under rtmp:// and rtmps://) has no MPTCP
 * option; it calls socket(af, SOCK_STREAM | SOCK_CLOEXEC, 0 or IPPROTO_TCP).
 * This executable defines socket() itself, and the dynamic linker resolves
 * libavformat's call to it. While armed (only around the opening of the
 * output), AF_INET/AF_INET6 stream sockets are created with IPPROTO_MPTCP
 * through the raw syscall; every other call goes straight to the kernel.
 *
 * Why not something else: FFmpeg 5.1 has no fd:// protocol to hand it a
 * socket of ours, and its RTMP code opens its transport internally
 * (ffurl_open_whitelist), so no public hook sees the socket; LD_PRELOAD
 * (mptcpize) would change every socket of the process and is a second
 * program to ship.
 *
 * The shim's state is process-wide by nature (it stands in for a libc
 * function): that is the one exception to "no mutable globals".
 */
#ifndef MPS_CONN_SHIM_H
#define MPS_CONN_SHIM_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif

/* The socket's unsent data is kept under this (TCP_NOTSENT_LOWAT). */
#define CONN_NOTSENT_LOWAT (64 * 1024)

/*
 * Create the next stream sockets with MPTCP. If @bind4 is not INADDR_ANY,
 * IPv4 sockets are bound to it (the first subflow then leaves through the
 * uplink that owns that address).
 */
void conn_shim_arm(struct in_addr bind4);

/*
 * The congestion control of the next stream sockets' subflows (TCP_CONGESTION):
 * a name from /proc/sys/net/ipv4/tcp_available_congestion_control, or
 * CONN_CONGESTION_SYSTEM (NULL too) for the system's default. -ENAMETOOLONG.
 */
#define CONN_CONGESTION_DEFAULT	 "cubic"
#define CONN_CONGESTION_SYSTEM	 "system"
#define CONN_CONGESTION_NAME_MAX 16 /* the kernel's TCP_CA_NAME_MAX, with its NUL */
int conn_shim_set_congestion(const char *name) __attribute__((warn_unused_result));

/*
 * 1 when @name is among the kernel's available congestion controls, 0 when
 * not, -errno when the list cannot be read; @list gets the list.
 */
int conn_congestion_available(const char *name, char *list, size_t size)
	__attribute__((warn_unused_result));

/* Back to plain socket() behaviour. */
void conn_shim_disarm(void);

/*
 * The connection: among the stream sockets created since the last arm, the
 * one that is connected (it has a peer) and is still the file it was when it
 * was created (its descriptor was not closed and reused). Not simply the last
 * one: libavformat's TCP protocol tries a host's addresses in parallel, a new
 * attempt every 200 ms, and the winner is whichever answers first; the
 * others are closed, and their numbers may be taken by other files. Returns
 * the descriptor, with *@mptcp set when it is an MPTCP socket (false: the
 * kernel refused MPTCP, TCP), or -ENOTCONN when none is.
 */
int conn_shim_connection(bool *mptcp) __attribute__((warn_unused_result));

#endif
