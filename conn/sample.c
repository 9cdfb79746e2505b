// SPDX-License-Identifier: MIT
#include "clock.h"
#include "sample.h"
#include "inet.h"

#include <errno.h>
#include <linux/sockios.h>
#include <linux/tcp.h>
#include <string.h>
#include <sys/ioctl.h>

#ifndef SOL_MPTCP
#define SOL_MPTCP 284
#endif

/*
 * Debian 12's linux-libc-dev is 6.1: MPTCP_FULL_INFO (6.5) and the newer
 * fields of struct mptcp_info are declared here, as in the kernel's
 * include/uapi/linux/mptcp.h. The kernel copies min(its size, ours), so older
 * and newer kernels both work.
 */
#define MPS_MPTCP_INFO	    1
#define MPS_MPTCP_FULL_INFO 4

struct mps_mptcp_info {
	__u8 mptcpi_subflows;
	__u8 mptcpi_add_addr_signal;
	__u8 mptcpi_add_addr_accepted;
	__u8 mptcpi_subflows_max;
	__u8 mptcpi_add_addr_signal_max;
	__u8 mptcpi_add_addr_accepted_max;
	__u32 mptcpi_flags;
	__u32 mptcpi_token;
	__u64 mptcpi_write_seq;
	__u64 mptcpi_snd_una;
	__u64 mptcpi_rcv_nxt;
	__u8 mptcpi_local_addr_used;
	__u8 mptcpi_local_addr_max;
	__u8 mptcpi_csum_enabled;
	__u32 mptcpi_retransmits;
	__u64 mptcpi_bytes_retrans;
	__u64 mptcpi_bytes_sent;
	__u64 mptcpi_bytes_received;
	__u64 mptcpi_bytes_acked;
	__u8 mptcpi_subflows_total;
	__u8 reserved[3];
	__u32 mptcpi_last_data_sent;
	__u32 mptcpi_last_data_recv;
	__u32 mptcpi_last_ack_recv;
};

struct mps_mptcp_subflow_addrs {
	union {
		__kernel_sa_family_t sa_family;
		struct sockaddr sa_local;
		struct sockaddr_in sin_local;
		struct sockaddr_in6 sin6_local;
		struct __kernel_sockaddr_storage ss_local;
	};
	union {
		struct sockaddr sa_remote;
		struct sockaddr_in sin_remote;
		struct sockaddr_in6 sin6_remote;
		struct __kernel_sockaddr_storage ss_remote;
	};
};

struct mps_mptcp_subflow_info {
	__u32 id;
	struct mps_mptcp_subflow_addrs addrs;
};

struct mps_mptcp_full_info {
	__u32 size_tcpinfo_kernel; /* set by the kernel */
	__u32 size_tcpinfo_user;
	__u32 size_sfinfo_kernel; /* set by the kernel */
	__u32 size_sfinfo_user;
	__u32 num_subflows; /* set by the kernel: the real count */
	__u32 size_arrays_user;
	__aligned_u64 subflow_info;
	__aligned_u64 tcp_info;
	struct mps_mptcp_info mptcp_info;
};

_Static_assert(sizeof(struct mps_mptcp_info) == 96, "mptcp_info as of Linux 6.10");
_Static_assert(sizeof(struct mps_mptcp_subflow_info) == 264, "mptcp_subflow_info");
_Static_assert(offsetof(struct mps_mptcp_full_info, mptcp_info) == 40, "mptcp_full_info");

static void fill_from_tcp_info(struct conn_subflow *sf, const struct tcp_info *ti)
{
	sf->bytes_sent = ti->tcpi_bytes_sent;
	sf->bytes_acked = ti->tcpi_bytes_acked;
	sf->bytes_retrans = ti->tcpi_bytes_retrans;
	sf->bytes_received = ti->tcpi_bytes_received;
	sf->rtt_us = ti->tcpi_rtt;
	sf->rttvar_us = ti->tcpi_rttvar;
	sf->cwnd = ti->tcpi_snd_cwnd;
	sf->state = ti->tcpi_state;
	sf->unacked = ti->tcpi_unacked;
	sf->delivered = ti->tcpi_delivered;
	sf->notsent = ti->tcpi_notsent_bytes;
	sf->snd_wnd = ti->tcpi_snd_wnd;
	sf->snd_mss = ti->tcpi_snd_mss;
	sf->last_ack_ms = ti->tcpi_last_ack_recv;
}

static int sample_tcp(int fd, struct conn_snapshot *out)
{
	struct conn_subflow *sf = &out->sf[0];
	struct tcp_info ti = {0};
	socklen_t len = sizeof(ti), alen;
	int outq = 0;

	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		return -errno;
	memset(sf, 0, sizeof(*sf));
	fill_from_tcp_info(sf, &ti);
	out->conn_delivered = ti.tcpi_bytes_acked;
	if (ioctl(fd, SIOCOUTQ, &outq) == 0 && outq > 0)
		out->conn_written = out->conn_delivered + (uint64_t)outq;
	else
		out->conn_written = out->conn_delivered;
	alen = sizeof(sf->local);
	getsockname(fd, (struct sockaddr *)&sf->local, &alen);
	alen = sizeof(sf->remote);
	getpeername(fd, (struct sockaddr *)&sf->remote, &alen);
	mps_sockaddr_unmap(&sf->local);
	mps_sockaddr_unmap(&sf->remote);
	out->peer_family = sf->remote.ss_family;
	out->mptcp = false;
	out->n = 1;
	return 0;
}

/* The family of @fd's peer, IPv4-mapped IPv6 counted as IPv4; 0 when not known. */
static int peer_family(int fd)
{
	struct sockaddr_storage peer;
	socklen_t len = sizeof(peer);

	if (getpeername(fd, (struct sockaddr *)&peer, &len) < 0)
		return 0;
	mps_sockaddr_unmap(&peer);
	return peer.ss_family;
}

int conn_sample(int fd, struct conn_snapshot *out)
{
	struct mps_mptcp_subflow_info sfi[CONN_MAX_SUBFLOWS];
	struct tcp_info ti[CONN_MAX_SUBFLOWS];
	struct mps_mptcp_full_info fi = {
		.size_tcpinfo_user = sizeof(ti[0]),
		.size_sfinfo_user = sizeof(sfi[0]),
		.size_arrays_user = CONN_MAX_SUBFLOWS,
		.subflow_info = (uintptr_t)sfi,
		.tcp_info = (uintptr_t)ti,
	};
	socklen_t len = sizeof(fi);

	memset(sfi, 0, sizeof(sfi));
	memset(ti, 0, sizeof(ti));
	out->t_ns = mps_mono_ns();
	if (getsockopt(fd, SOL_MPTCP, MPS_MPTCP_FULL_INFO, &fi, &len) < 0) {
		/* Not MPTCP, or MPTCP that fell back to TCP: the socket answers TCP_INFO. */
		if (errno == EOPNOTSUPP || errno == ENOPROTOOPT || errno == EINVAL)
			return sample_tcp(fd, out);
		return -errno;
	}
	out->mptcp = true;
	out->peer_family = peer_family(fd);
	out->conn_written = fi.mptcp_info.mptcpi_write_seq;
	out->conn_delivered = fi.mptcp_info.mptcpi_snd_una;
	out->n = fi.num_subflows < CONN_MAX_SUBFLOWS ? fi.num_subflows : CONN_MAX_SUBFLOWS;
	for (size_t i = 0; i < out->n; i++) {
		struct conn_subflow *sf = &out->sf[i];

		memset(sf, 0, sizeof(*sf));
		sf->id = sfi[i].id;
		memcpy(&sf->local, &sfi[i].addrs.ss_local, sizeof(sf->local));
		memcpy(&sf->remote, &sfi[i].addrs.ss_remote, sizeof(sf->remote));
		/* An IPv4 subflow of an IPv6 socket: IPv4, as the uplinks know it. */
		mps_sockaddr_unmap(&sf->local);
		mps_sockaddr_unmap(&sf->remote);
		fill_from_tcp_info(sf, &ti[i]);
	}
	return 0;
}
int conn_read_health(int fd, struct conn_health *h)
{
	struct mps_mptcp_info mi = {0};
	struct tcp_info ti = {0};
	socklen_t len = sizeof(mi);

	memset(h, 0, sizeof(*h));
	if (getsockopt(fd, SOL_MPTCP, MPS_MPTCP_INFO, &mi, &len) == 0 &&
	    len >= offsetof(struct mps_mptcp_info, mptcpi_last_ack_recv) + sizeof(__u32)) {
		h->mptcp = true;
		h->subflows = mi.mptcpi_subflows + 1;
		h->unacked = mi.mptcpi_write_seq - mi.mptcpi_snd_una;
		h->ack_silence_ms = mi.mptcpi_last_ack_recv;
		return 0;
	}
	len = sizeof(ti);
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		return -errno;
	h->subflows = 1;
	h->unacked = ti.tcpi_unacked; /* segments, not bytes: only its being > 0 is used */
	h->ack_silence_ms = ti.tcpi_last_ack_recv;
	return 0;
}
