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
};

static struct {
	atomic_bool armed;
	atomic_bool warned;
	atomic_bool cc_warned;
	struct in_addr bind4;
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

int conn_congestion_available(const char *name, char *list, size_t size)
{
	FILE *f = fopen("/proc/sys/net/ipv4/tcp_available_congestion_control", "r");
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

void conn_shim_arm(struct in_addr bind4)
{
	pthread_mutex_lock(&shim.lock);
	shim.n_tried = 0;
	pthread_mutex_unlock(&shim.lock);
	shim.bind4 = bind4;
	atomic_store(&shim.armed, true);
}

void conn_shim_disarm(void)
{
	atomic_store(&shim.armed, false);
}

static void record(int fd, bool mptcp)
{
	struct tried t = {.fd = fd, .mptcp = mptcp};
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

int conn_shim_connection(bool *mptcp)
{
	size_t n, first;
	int fd = -ENOTCONN;

	pthread_mutex_lock(&shim.lock);
	n = shim.n_tried < MAX_TRIED ? shim.n_tried : MAX_TRIED;
	first = shim.n_tried - n;
	/* The newest first: a descriptor reused by a later attempt is that attempt's. */
	for (size_t k = n; k-- > 0;) {
		const struct tried *t = &shim.tried[(first + k) % MAX_TRIED];

		if (is_connection(t)) {
			fd = t->fd;
			*mptcp = t->mptcp;
			break;
		}
	}
	pthread_mutex_unlock(&shim.lock);
	return fd;
}

static void bind_source(int fd)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr = shim.bind4};
	int one = 1;

	/* Choose the port at connect() time, as for an unbound socket. */
	setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		LOG_WARN(TAG, "cannot bind to the first uplink's address: %s", strerror(errno));
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
	bool stream = (type & 0xf) == SOCK_STREAM, mptcp;
	int fd;

	if (!atomic_load(&shim.armed) || (domain != AF_INET && domain != AF_INET6) || !stream ||
	    (protocol != 0 && protocol != IPPROTO_TCP))
		return (int)syscall(SYS_socket, domain, type, protocol);

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
	set_lowat(fd);
	set_congestion(fd);
	if (domain == AF_INET && shim.bind4.s_addr != INADDR_ANY)
		bind_source(fd);
	record(fd, mptcp);
	return fd;
}
