/* SPDX-License-Identifier: MIT */
/* For the unit tests that need a peer: a listening TCP socket on 127.0.0.1. */
#ifndef MPS_TESTS_LOOPBACK_H
#define MPS_TESTS_LOOPBACK_H

#include <netinet/in.h>
#include <sys/socket.h>

/* Listen on 127.0.0.1, a free port, with @backlog; *@addr gets the address (cmocka asserts). */
static inline int loopback_listener(int backlog, struct sockaddr_in *addr)
{
	socklen_t len = sizeof(*addr);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	*addr = (struct sockaddr_in){.sin_family = AF_INET};
	addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)addr, sizeof(*addr)), 0);
	assert_int_equal(listen(fd, backlog), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)addr, &len), 0);
	return fd;
}

#endif
