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
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	struct conn_plan any = {0};
	struct sockaddr_in addr;
	int lfd = loopback_listener(8, &addr), winner, loser, reuse, fd;
	bool mptcp = false;

	(void)state;
	conn_shim_arm(&any);
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
	struct conn_plan any = {0};
	struct sockaddr_in addr;
	int lfd = loopback_listener(8, &addr), fd;
	bool mptcp;

	(void)state;
	conn_shim_arm(&any);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	conn_shim_disarm();
	assert_int_equal(conn_shim_connection(&mptcp), fd);
	conn_shim_arm(&any);
	conn_shim_disarm();
	assert_int_equal(conn_shim_connection(&mptcp), -ENOTCONN);
	close(fd);
	close(lfd);
}

static int domain_of(int fd)
{
	int domain = 0;
	socklen_t len = sizeof(domain);

	assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len), 0);
	return domain;
}

/*
 * An IPv4 MPTCP socket is made IPv6 (so that one connection can have IPv4
 * and IPv6 subflows), connected to the IPv4-mapped address and bound to the
 * source planned for IPv4; the snapshot shows its addresses as IPv4.
 */
static void test_shim_ipv4_as_ipv6(void **state)
{
	struct conn_plan plan = {0};
	struct sockaddr_in addr;
	struct conn_snapshot s;
	struct mps_ip local, want;
	int lfd = loopback_listener(8, &addr), fd;
	bool mptcp = false;
	char a[MPS_IP_STRLEN];

	(void)state;
	assert_true(mps_ip_parse(&plan.src[0], "127.0.0.2"));
	conn_shim_arm(&plan);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	conn_shim_disarm();
	assert_int_equal(conn_shim_connection(&mptcp), fd);
	/* Without MPTCP (the kernel refused it) the socket stays IPv4. */
	assert_int_equal(domain_of(fd), mptcp ? AF_INET6 : AF_INET);
	assert_int_equal(conn_sample(fd, &s), 0);
	assert_true(s.n >= 1);
	assert_int_equal(s.sf[0].local.ss_family, AF_INET);
	assert_int_equal(s.sf[0].remote.ss_family, AF_INET);
	assert_true(mps_ip_from_sockaddr(&local, (struct sockaddr *)&s.sf[0].local));
	assert_true(mps_ip_parse(&want, "127.0.0.2"));
	assert_string_equal(mps_ip_str(&local, a), "127.0.0.2");
	assert_true(mps_ip_equal(&local, &want));
	close(fd);
	close(lfd);
}

/* --via: the connection goes to the relay, whatever address the URL's host had. */
static void test_shim_via(void **state)
{
	struct conn_plan plan = {0};
	struct sockaddr_in url_addr, relay_addr, peer;
	socklen_t len = sizeof(peer);
	int url_fd = loopback_listener(8, &url_addr), relay_fd = loopback_listener(8, &relay_addr);
	int fd, accepted;
	bool mptcp;

	(void)state;
	memcpy(&plan.via, &relay_addr, sizeof(relay_addr));
	conn_shim_arm(&plan);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&url_addr, sizeof(url_addr)), 0);
	conn_shim_disarm();
	assert_int_equal(conn_shim_connection(&mptcp), fd);
	accepted = accept(relay_fd, (struct sockaddr *)&peer, &len);
	assert_true(accepted >= 0);
	close(accepted);
	close(fd);
	close(url_fd);
	close(relay_fd);
}

/* Disarmed, connect() is the kernel's: no redirect, no binding. */
static void test_shim_disarmed_connect(void **state)
{
	struct conn_plan plan = {0};
	struct sockaddr_in a, b;
	int la = loopback_listener(8, &a), lb = loopback_listener(8, &b), fd, acc;

	(void)state;
	memcpy(&plan.via, &b, sizeof(b));
	conn_shim_arm(&plan);
	conn_shim_disarm();
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(domain_of(fd), AF_INET);
	acc = accept(la, NULL, NULL);
	assert_true(acc >= 0);
	close(acc);
	close(fd);
	close(la);
	close(lb);
}

/* What another thread's socket got while the output was connecting. */
struct other {
	const struct sockaddr_in *url, *relay;
	int fd, proto, domain, connected;
};

static void *other_thread(void *arg)
{
	struct other *o = arg;
	socklen_t len = sizeof(o->proto);

	o->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (o->fd >= 0 && getsockopt(o->fd, SOL_SOCKET, SO_PROTOCOL, &o->proto, &len) == 0) {
		o->domain = domain_of(o->fd);
		o->connected = connect(o->fd, (const struct sockaddr *)o->url, sizeof(*o->url));
	}
	return NULL;
}

/*
 * A live input reopening its tcp:// or rtmp:// source in its capture thread
 * while the output connects: its socket is plain TCP, goes where it asked
 * (not to the --via relay), and is never taken for the output's connection.
 */
static void test_shim_other_thread(void **state)
{
	struct conn_plan plan = {0};
	struct sockaddr_in url, relay;
	int lurl = loopback_listener(8, &url), lrelay = loopback_listener(8, &relay), fd, acc;
	struct other o = {.url = &url, .relay = &relay, .fd = -1};
	pthread_t t;
	bool mptcp = false;

	(void)state;
	memcpy(&plan.via, &relay, sizeof(relay));
	conn_shim_arm(&plan);
	assert_int_equal(pthread_create(&t, NULL, other_thread, &o), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	/* The arming thread's own socket: MPTCP (or TCP standing in), to the relay. */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&url, sizeof(url)), 0);
	conn_shim_disarm();

	assert_true(o.fd >= 0);
	assert_int_equal(o.proto, IPPROTO_TCP);
	assert_int_equal(o.domain, AF_INET);
	assert_int_equal(o.connected, 0);
	acc = accept(lurl, NULL, NULL); /* the other thread's went to the URL's host */
	assert_true(acc >= 0);
	close(acc);
	acc = accept(lrelay, NULL, NULL); /* the output's to the relay */
	assert_true(acc >= 0);
	close(acc);
	assert_int_equal(conn_shim_connection(&mptcp), fd);
	close(fd);
	/* The output's gone: the other thread's connected socket is still not it. */
	assert_int_equal(conn_shim_connection(&mptcp), -ENOTCONN);
	close(o.fd);
	close(lurl);
	close(lrelay);
}

/* A congestion control the kernel would load: tcp_NAME's file in modules.dep, whatever its suffix. */
static void test_congestion_module(void **state)
{
	char path[] = "/tmp/mps-modules-XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

	(void)state;
	assert_non_null(f);
	fputs("kernel/net/ipv4/tcp_bbr.ko.xz:\n"
	      "kernel/net/ipv4/tcp_htcp.ko:\n"
	      "kernel/net/sched/sch_fq.ko.zst: kernel/net/ipv4/tcp_vegas.ko\n"
	      "kernel/drivers/net/usb/qmi_wwan.ko: kernel/drivers/net/usb/usbnet.ko\n",
	      f);
	fclose(f);
	assert_int_equal(conn_congestion_module_at(path, "bbr"), 1);
	assert_int_equal(conn_congestion_module_at(path, "htcp"), 1);
	assert_int_equal(conn_congestion_module_at(path, "bb"), 0);
	assert_int_equal(conn_congestion_module_at(path, "vegas"),
			 0); /* a dependency, not a module line */
	assert_int_equal(conn_congestion_module_at(path, "cubic"), 0);
	assert_int_equal(conn_congestion_module_at("/nonexistent/modules.dep", "bbr"), 0);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_congestion_module),
		cmocka_unit_test(test_sample_unconnected),
		cmocka_unit_test(test_shim_picks_the_connected_socket),
		cmocka_unit_test(test_shim_forgets_on_arm),
		cmocka_unit_test(test_shim_ipv4_as_ipv6),
		cmocka_unit_test(test_shim_via),
		cmocka_unit_test(test_shim_disarmed_connect),
		cmocka_unit_test(test_shim_other_thread),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
