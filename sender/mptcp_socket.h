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
#ifndef MPS_MPTCP_SOCKET_H
#define MPS_MPTCP_SOCKET_H

#include <netinet/in.h>
#include <stdbool.h>

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif

/* The socket's unsent data is kept under this (TCP_NOTSENT_LOWAT). */
#define SND_NOTSENT_LOWAT (64 * 1024)

/*
 * Create the next stream sockets with MPTCP. If @bind4 is not INADDR_ANY,
 * IPv4 sockets are bound to it (the first subflow then leaves through the
 * uplink that owns that address).
 */
void snd_shim_arm(struct in_addr bind4);

/* Back to plain socket() behaviour. */
void snd_shim_disarm(void);

/* The last stream socket created while armed, or -1. */
int snd_shim_last_fd(void);

/* True when that socket is an MPTCP one (false: the kernel refused, TCP). */
bool snd_shim_last_is_mptcp(void);

#endif
