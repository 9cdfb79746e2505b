/* SPDX-License-Identifier: MIT */
/*
 * The MPTCP socket shim.
 *
 * FFmpeg 5.1's tcp:// protocol (under rtmp:// and rtmps://) has no MPTCP
 * option; it calls socket(af, SOCK_STREAM | SOCK_CLOEXEC, 0 or IPPROTO_TCP)
 * and connect(). This executable defines both itself, and the dynamic linker
 * resolves libavformat's calls to them. While armed (only around the opening
 * of the output), AF_INET/AF_INET6 stream sockets are created with
 * IPPROTO_MPTCP through the raw syscall, and their connect():
 * - goes to the relay of --via instead, if there is one (TLS and RTMP still
 *   speak to the host of the URL: its name, its certificate);
 * - leaves from the source address planned for its destination's family
 *   (the first subflow then leaves through that uplink).
 * An IPv4 MPTCP socket is made an IPv6 one (not V6ONLY), connected to the
 * IPv4-mapped address: one connection can then have IPv4 and IPv6 subflows
 * (kernel 6.3 and later), the IPv6 ones to an address the server announces.
 * Every other call goes straight to the kernel.
 *
 * Why not something else: FFmpeg 5.1 has no fd:// protocol to hand it a
 * socket of ours, and its RTMP code opens its transport internally
 * (ffurl_open_whitelist), so no public hook sees the socket; LD_PRELOAD
 * (mptcpize) would change every socket of the process and is a second
 * program to ship.
 *
 * Arming is per thread: only the sockets the arming thread makes while armed
 * are changed and recorded; a live input's capture thread opening its own
 * tcp:// or rtmp:// connection at the same moment gets plain sockets, and is
 * never mistaken for the output's connection (nor sent to the --via relay).
 * The shim's state is process-wide by nature (it stands in for a libc
 * function): that is the one exception to "no mutable globals".
 */
#ifndef MPS_CONN_SHIM_H
#define MPS_CONN_SHIM_H

#include "inet.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif

/* The socket's unsent data is kept under this (TCP_NOTSENT_LOWAT). */
#define CONN_NOTSENT_LOWAT (64 * 1024)

/* Where the next connection leaves from, and where it goes first. */
struct conn_plan {
	/* The source for an IPv4 and for an IPv6 destination; family 0: the kernel's choice. */
	struct mps_ip src[2];
	struct sockaddr_storage via; /* ss_family 0: straight to the URL's host */
};

/* Create this thread's next stream sockets with MPTCP, and connect them as @plan says. */
void conn_shim_arm(const struct conn_plan *plan);

/*
 * The congestion control of the next stream sockets' subflows (TCP_CONGESTION):
 * a name from /proc/sys/net/ipv4/tcp_available_congestion_control, or
 * CONN_CONGESTION_SYSTEM (NULL too) for the system's default. -ENAMETOOLONG.
 */
#define CONN_CONGESTION_DEFAULT "cubic"
/* Cellular uplinks' own, unless the user chose (see rt_config.cellular_cc). */
#define CONN_CONGESTION_CELLULAR "bbr"
#define CONN_CONGESTION_SYSTEM	 "system"
#define CONN_CONGESTION_NAME_MAX 16 /* the kernel's TCP_CA_NAME_MAX, with its NUL */
int conn_shim_set_congestion(const char *name) __attribute__((warn_unused_result));

/*
 * 1 when @name is among the kernel's available congestion controls, 0 when
 * not, -errno when the list cannot be read; @list gets the list.
 */
int conn_congestion_available(const char *name, char *list, size_t size)
	__attribute__((warn_unused_result));

/*
 * Whether an unprivileged process may set congestion control @name
 * (tcp_allowed_congestion_control): 1 yes, 0 no, -errno.
 */
int conn_congestion_allowed(const char *name);

/*
 * Whether congestion control @name is a module of the running kernel
 * (tcp_NAME in /lib/modules/RELEASE/modules.dep), which the kernel loads when
 * a process with CAP_NET_ADMIN asks for it: 1 yes, 0 no or unknown.
 */
int conn_congestion_module(const char *name);
/* The same, from the modules.dep file @modules_dep. */
int conn_congestion_module_at(const char *modules_dep, const char *name);

/* Back to plain socket() behaviour (in the thread that armed it). */
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
