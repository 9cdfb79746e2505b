// SPDX-License-Identifier: MIT
#include "shim.h"
#include "log.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#define TAG "mptcp"

/* The most stream sockets one arming records (the addresses libavformat tries). */
#define MAX_TRIED 16

/* A stream socket created while armed, and the file it was. */
struct tried {
	int fd;
	dev_t dev;
	ino_t ino;
	bool mptcp;
	bool mapped; /* asked for as IPv4, made IPv6: its IPv4 peers are IPv4-mapped */
};

/*
 * Armed for the thread that armed it, and no other: the output's connection
 * is opened in that one thread (libavformat's tcp.c resolves and connects in
 * the caller's), while a live input may open its own sockets in its capture
 * thread at the same moment; those stay plain TCP and are never taken for the
 * output's.
 */
static _Thread_local bool armed;

static struct {
	atomic_bool warned;
	atomic_bool cc_warned;
	struct conn_plan plan;
	char congestion[CONN_CONGESTION_NAME_MAX]; /* "": the system's default */
	pthread_mutex_t lock;			   /* the tried sockets */
	struct tried tried[MAX_TRIED];
	size_t n_tried; /* recorded since the arming; the ring keeps the last MAX_TRIED */
} shim = {.lock = PTHREAD_MUTEX_INITIALIZER};

int conn_shim_set_congestion(const char *name)
{
	if (!name || !strcmp(name, CONN_CONGESTION_SYSTEM)) {
		shim.congestion[0] = '\0';
		return 0;
	}
	if (strlen(name) >= sizeof(shim.congestion))
		return -ENAMETOOLONG;
	snprintf(shim.congestion, sizeof(shim.congestion), "%s", name);
	return 0;
}

/* Whether @name is in the list of sysctl @path; the list in @list. */
static int in_sysctl_list(const char *path, const char *name, char *list, size_t size)
{
	FILE *f = fopen(path, "r");
	char *save = NULL, *tok, copy[256];
	bool found = false;

	if (size)
		list[0] = '\0';
	if (!f)
		return -errno;
	if (!fgets(copy, sizeof(copy), f))
		copy[0] = '\0';
	fclose(f);
	copy[strcspn(copy, "\n")] = '\0';
	if (size)
		snprintf(list, size, "%s", copy);
	for (tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
		found |= !strcmp(tok, name);
	return found;
}

int conn_congestion_available(const char *name, char *list, size_t size)
{
	return in_sysctl_list("/proc/sys/net/ipv4/tcp_available_congestion_control", name, list,
			      size);
}

int conn_congestion_allowed(const char *name)
{
	return in_sysctl_list("/proc/sys/net/ipv4/tcp_allowed_congestion_control", name, NULL, 0);
}

int conn_congestion_module_at(const char *modules_dep, const char *name)
{
	char line[512], want[CONN_CONGESTION_NAME_MAX + 8];
	bool found = false;
	FILE *f;

	if (strlen(name) >= CONN_CONGESTION_NAME_MAX)
		return 0;
	/* "kernel/net/ipv4/tcp_bbr.ko.xz: ...": the file name up to its suffix. */
	snprintf(want, sizeof(want), "/tcp_%s.ko", name);
	f = fopen(modules_dep, "r");
	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f)) {
		const char *colon = strchr(line, ':'), *hit = strstr(line, want);
		const char *end = hit ? hit + strlen(want) : NULL;

		found = hit && colon && hit < colon && (*end == ':' || *end == '.');
	}
	fclose(f);
	return found;
}

int conn_congestion_module(const char *name)
{
	char path[128];
	struct utsname u;

	if (uname(&u) < 0)
		return 0;
	snprintf(path, sizeof(path), "/lib/modules/%s/modules.dep", u.release);
	return conn_congestion_module_at(path, name);
}

void conn_shim_arm(const struct conn_plan *plan)
{
	pthread_mutex_lock(&shim.lock);
	shim.n_tried = 0;
	shim.plan = *plan;
	pthread_mutex_unlock(&shim.lock);
	armed = true;
}

void conn_shim_disarm(void)
{
	armed = false;
}

static void record(int fd, bool mptcp, bool mapped)
{
	struct tried t = {.fd = fd, .mptcp = mptcp, .mapped = mapped};
	struct stat st;

	if (fstat(fd, &st) == 0) {
		t.dev = st.st_dev;
		t.ino = st.st_ino;
	}
	pthread_mutex_lock(&shim.lock);
	shim.tried[shim.n_tried++ % MAX_TRIED] = t;
	pthread_mutex_unlock(&shim.lock);
}

/* The same file as when it was created, and connected. */
static bool is_connection(const struct tried *t)
{
	struct sockaddr_storage peer;
	socklen_t len = sizeof(peer);
	struct stat st;

	return fstat(t->fd, &st) == 0 && st.st_dev == t->dev && st.st_ino == t->ino &&
	       getpeername(t->fd, (struct sockaddr *)&peer, &len) == 0;
}

/*
 * The @k-th newest socket of this arming (0: the last one made), NULL past
 * what the ring holds. Under the lock. The newest first: a descriptor reused
 * by a later attempt is that attempt's.
 */
static const struct tried *newest(size_t k)
{
	size_t n = shim.n_tried < MAX_TRIED ? shim.n_tried : MAX_TRIED;

	return k < n ? &shim.tried[(shim.n_tried - 1 - k) % MAX_TRIED] : NULL;
}

int conn_shim_connection(bool *mptcp)
{
	const struct tried *t;
	int fd = -ENOTCONN;

	pthread_mutex_lock(&shim.lock);
	for (size_t k = 0; (t = newest(k)); k++) {
		if (is_connection(t)) {
			fd = t->fd;
			*mptcp = t->mptcp;
			break;
		}
	}
	pthread_mutex_unlock(&shim.lock);
	return fd;
}

/* Bind @fd to the planned source for a destination of @family, if there is one. */
static void bind_source(int fd, int family, bool mapped, const struct conn_plan *plan)
{
	const struct mps_ip *src = &plan->src[family == AF_INET6];
	struct sockaddr_storage sa;
	socklen_t len;
	int one = 1;
	char a[MPS_IP_STRLEN];

	if (!src->family)
		return;
	len = mps_ip_sockaddr(src, 0, mapped, &sa);
	/* Choose the port at connect() time, as for an unbound socket. */
	setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, len) < 0)
		LOG_WARN(TAG, "cannot bind to the first uplink's address %s: %s",
			 mps_ip_str(src, a), strerror(errno));
}

/*
 * Data waits in mpstream's queue, where it can be measured and dropped, rather
 * than in the socket: the socket takes more only while less than this is
 * unsent (MPTCP sockets honour it too).
 */
static void set_lowat(int fd)
{
	int lowat = CONN_NOTSENT_LOWAT;

	if (setsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat, sizeof(lowat)) < 0)
		LOG_DEBUG(TAG, "TCP_NOTSENT_LOWAT: %s", strerror(errno));
}

/* The subflows' congestion control (MPTCP passes it on to every subflow). */
static void set_congestion(int fd)
{
	if (!shim.congestion[0])
		return;
	if (setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, shim.congestion,
		       (socklen_t)strlen(shim.congestion)) < 0 &&
	    !atomic_exchange(&shim.cc_warned, true))
		LOG_WARN(TAG,
			 "cannot use congestion control %s (%s): the subflows keep the system's "
			 "default",
			 shim.congestion, strerror(errno));
}

__attribute__((visibility("default"))) int socket(int domain, int type, int protocol)
{
	bool stream = (type & 0xf) == SOCK_STREAM, mptcp, mapped = false;
	int fd = -1, zero = 0;

	if (!armed || (domain != AF_INET && domain != AF_INET6) || !stream ||
	    (protocol != 0 && protocol != IPPROTO_TCP))
		return (int)syscall(SYS_socket, domain, type, protocol);

	/* IPv4 as IPv6: the one connection may get IPv6 subflows as well. */
	if (domain == AF_INET) {
		fd = (int)syscall(SYS_socket, AF_INET6, type, IPPROTO_MPTCP);
		mapped = fd >= 0;
	}
	if (!mapped)
		fd = (int)syscall(SYS_socket, domain, type, IPPROTO_MPTCP);
	mptcp = fd >= 0;
	if (fd < 0 && (errno == ENOPROTOOPT || errno == EPROTONOSUPPORT || errno == EINVAL)) {
		if (!atomic_exchange(&shim.warned, true))
			LOG_WARN(TAG, "the kernel refuses MPTCP sockets (%s): using plain TCP",
				 strerror(errno));
		fd = (int)syscall(SYS_socket, domain, type, protocol);
	}
	if (fd < 0)
		return fd;
	if (mapped)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	set_lowat(fd);
	set_congestion(fd);
	record(fd, mptcp, mapped);
	return fd;
}

/* Whether @fd is a socket of this arming, and whether it was made IPv6. */
static bool find_tried(int fd, bool *mapped)
{
	const struct tried *t;
	bool found = false;

	pthread_mutex_lock(&shim.lock);
	for (size_t k = 0; !found && (t = newest(k)); k++) {
		if (t->fd == fd) {
			found = true;
			*mapped = t->mapped;
		}
	}
	pthread_mutex_unlock(&shim.lock);
	return found;
}

__attribute__((visibility("default"))) int connect(int fd, const struct sockaddr *addr,
						   socklen_t len)
{
	struct sockaddr_storage dst;
	struct conn_plan plan;
	struct mps_ip ip;
	uint16_t port;
	bool mapped = false;

	if (!armed || !addr || !find_tried(fd, &mapped) || !mps_ip_from_sockaddr(&ip, addr))
		return (int)syscall(SYS_connect, fd, addr, len);
	pthread_mutex_lock(&shim.lock);
	plan = shim.plan;
	pthread_mutex_unlock(&shim.lock);
	port = ntohs(((const struct sockaddr_in *)addr)->sin_port);
	if (plan.via.ss_family) {
		mps_ip_from_sockaddr(&ip, (const struct sockaddr *)&plan.via);
		port = ntohs(((const struct sockaddr_in *)&plan.via)->sin_port);
	}
	if (ip.family == AF_INET6 && !mapped && addr->sa_family == AF_INET) {
		errno = EAFNOSUPPORT; /* an IPv6 relay for a plain TCP IPv4 socket */
		return -1;
	}
	bind_source(fd, ip.family, mapped || addr->sa_family == AF_INET6, &plan);
	len = mps_ip_sockaddr(&ip, port, mapped || addr->sa_family == AF_INET6, &dst);
	return (int)syscall(SYS_connect, fd, (struct sockaddr *)&dst, len);
}
