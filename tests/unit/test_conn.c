// SPDX-License-Identifier: MIT
/*
 * The connection module on real sockets: a snapshot of a plain TCP socket,
 * and the shim's choice of the connection among the sockets libavformat
 * tried (the winner is not always the last one, and a loser's descriptor
 * may be taken by another file).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sample.h"
#include "loopback.h"
#include "shim.h"

static void test_sample_unconnected(void **state)
{
	struct conn_snapshot s;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	(void)state;
	assert_true(fd >= 0);
	/* Plain TCP: one pseudo-subflow from TCP_INFO. */
	assert_int_equal(conn_sample(fd, &s), 0);
	assert_false(s.mptcp);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.sf[0].bytes_sent, 0);
	close(fd);
	assert_true(conn_sample(fd, &s) < 0);
}

/*
 * As libavformat's parallel connect leaves it: the first attempt won and is
 * connected, a later one lost and was closed, and its number went to a file
 * opened afterwards (not a socket of the connection). The last socket the
 * shim made is not the connection; the connected one is.
 */
static void test_shim_picks_the_connected_socket(void **state)
{
	struct in_addr any = {.s_addr = htonl(INADDR_ANY)};
	struct sockaddr_in addr;
	int lfd = loopback_listener(8, &addr), winner, loser, reuse, fd;
	bool mptcp = false;

	(void)state;
	conn_shim_arm(any);
	winner = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	loser = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(winner >= 0 && loser >= 0);
	assert_int_equal(connect(winner, (struct sockaddr *)&addr, sizeof(addr)), 0);
	close(loser);
	conn_shim_disarm();
	reuse = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0); /* takes the loser's number */
	assert_int_equal(reuse, loser);
	assert_int_equal(connect(reuse, (struct sockaddr *)&addr, sizeof(addr)), 0);

	fd = conn_shim_connection(&mptcp);
	assert_int_equal(fd, winner);
	/* The shim made it MPTCP where the kernel has it (it does here, or TCP stands in). */
	{
		int proto = 0;
		socklen_t len = sizeof(proto);

		assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len), 0);
		assert_int_equal(proto == 262, mptcp);
	}
	close(winner);
	/* The winner gone too: nothing is connected of what the shim made. */
	assert_int_equal(conn_shim_connection(&mptcp), -ENOTCONN);
	close(reuse);
	close(lfd);
}

/* A new arming forgets the sockets of the last one. */
static void test_shim_forgets_on_arm(void **state)
{
	struct in_addr any = {.s_addr = htonl(INADDR_ANY)};
	struct sockaddr_in addr;
	int lfd = loopback_listener(8, &addr), fd;
	bool mptcp;

	(void)state;
	conn_shim_arm(any);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	conn_shim_disarm();
	assert_int_equal(conn_shim_connection(&mptcp), fd);
	conn_shim_arm(any);
	conn_shim_disarm();
	assert_int_equal(conn_shim_connection(&mptcp), -ENOTCONN);
	close(fd);
	close(lfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sample_unconnected),
		cmocka_unit_test(test_shim_picks_the_connected_socket),
		cmocka_unit_test(test_shim_forgets_on_arm),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
