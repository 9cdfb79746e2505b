// SPDX-License-Identifier: MIT
#include "pathprobe.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

void fo_pathprobe_init(struct fo_pathprobe *p)
{
	p->fd = -1;
	p->started_ms = 0;
	p->kicked_ms = 0;
	p->replug_ms = 0;
	p->unplugged_ms = 0;
	p->kick_pending = false;
	p->failed_kicks = 0;
}

void fo_pathprobe_reset(struct fo_pathprobe *p)
{
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
	p->started_ms = 0;
}

static int start(struct fo_pathprobe *p, const struct mps_ip *src, const char *ifname,
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
	 * the main table would send the probe out of another uplink, which
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
	p->fd = fd;
	p->started_ms = now_ms;
	return 0;
}

int fo_pathprobe_step(struct fo_pathprobe *p, const struct mps_ip *src, const char *ifname,
		      const struct sockaddr_storage *dst, int64_t now_ms)
{
	struct pollfd pfd;
	int err = 0, ret;
	socklen_t len = sizeof(err);

	if (p->fd < 0) {
		ret = start(p, src, ifname, dst, now_ms);
		return ret < 0 ? ret : 0;
	}
	pfd = (struct pollfd){.fd = p->fd, .events = POLLOUT};
	if (poll(&pfd, 1, 0) > 0) {
		getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		/* Connected, or refused by the far end: either way the path carries packets. */
		if (err == 0 || err == ECONNREFUSED) {
			fo_pathprobe_reset(p);
			return 1;
		}
		fo_pathprobe_reset(p);
		return 0;
	}
	if (now_ms - p->started_ms >= FO_PROBE_RETRY_MS)
		fo_pathprobe_reset(p); /* a fresh SYN next time, not the kernel's back-off */
	return 0;
}
