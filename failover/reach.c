// SPDX-License-Identifier: MIT
#include "reach.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

void fo_reach_init(struct fo_reach *p)
{
	for (int k = 0; k < FO_REACH_ATTEMPTS; k++)
		p->fd[k] = -1;
	fo_reach_reset(p);
	p->kicked_ms = 0;
	p->replug_ms = 0;
	p->unplugged_ms = 0;
	p->kick_pending = false;
	p->failed_kicks = 0;
}

static void give_up(struct fo_reach *p, int k)
{
	if (p->fd[k] >= 0)
		close(p->fd[k]);
	p->fd[k] = -1;
	p->started_ms[k] = 0;
}

void fo_reach_reset(struct fo_reach *p)
{
	for (int k = 0; k < FO_REACH_ATTEMPTS; k++)
		give_up(p, k);
	p->last_start_ms = 0;
}

/* A fresh attempt in slot @k. */
static int start(struct fo_reach *p, int k, const struct mps_ip *src, const char *ifname,
		 const struct sockaddr_storage *dst, int64_t now_ms)
{
	struct sockaddr_storage from, to;
	socklen_t from_len, to_len;
	struct mps_ip dst_ip;
	int one = 1, fd;

	if (!mps_ip_from_sockaddr(&dst_ip, (const struct sockaddr *)dst) ||
	    dst_ip.family != src->family)
		return -EAFNOSUPPORT;
	from_len = mps_ip_sockaddr(src, 0, false, &from);
	to_len = mps_ip_sockaddr(&dst_ip, ntohs(((const struct sockaddr_in *)dst)->sin_port), false,
				 &to);
	/* The raw syscalls: never an MPTCP socket or a redirect from the shim (conn/shim.c). */
	fd = (int)syscall(SYS_socket, src->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			  IPPROTO_TCP);
	if (fd < 0)
		return -errno;
	setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
	/*
	 * And through that device only: with its link down and its table gone,
	 * the main table would send the attempt out of another uplink, which
	 * answers. (Needs CAP_NET_RAW; without it the link state covers that.)
	 */
	setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, (socklen_t)strlen(ifname) + 1);
	/* From the uplink's address, so that its source rule sends it out of that uplink. */
	if (bind(fd, (struct sockaddr *)&from, from_len) < 0 ||
	    (syscall(SYS_connect, fd, (struct sockaddr *)&to, to_len) < 0 &&
	     errno != EINPROGRESS)) {
		int err = -errno;

		close(fd);
		return err;
	}
	p->fd[k] = fd;
	p->started_ms[k] = now_ms;
	p->last_start_ms = now_ms;
	return 0;
}

/* Attempt @k: 1 answered, 0 not yet, -1 failed (given up). */
static int look(struct fo_reach *p, int k, int64_t now_ms)
{
	struct pollfd pfd = {.fd = p->fd[k], .events = POLLOUT};
	int err = 0;
	socklen_t len = sizeof(err);

	if (poll(&pfd, 1, 0) > 0) {
		getsockopt(p->fd[k], SOL_SOCKET, SO_ERROR, &err, &len);
		give_up(p, k);
		/* Connected, or refused by the far end: either way the path carries packets. */
		return err == 0 || err == ECONNREFUSED ? 1 : -1;
	}
	if (now_ms - p->started_ms[k] >= FO_REACH_LIFE_MS) {
		give_up(p, k);
		return -1;
	}
	return 0;
}

int fo_reach_step(struct fo_reach *p, const struct mps_ip *src, const char *ifname,
		  const struct sockaddr_storage *dst, int64_t now_ms)
{
	int free_slot = -1;

	for (int k = 0; k < FO_REACH_ATTEMPTS; k++) {
		if (p->fd[k] >= 0 && look(p, k, now_ms) == 1) {
			fo_reach_reset(p);
			return 1;
		}
		if (p->fd[k] < 0)
			free_slot = k;
	}
	/* A fresh SYN now and then, not the kernel's back-off. */
	if (free_slot < 0 || (p->last_start_ms && now_ms - p->last_start_ms < FO_REACH_EVERY_MS))
		return 0;
	return start(p, free_slot, src, ifname, dst, now_ms);
}
