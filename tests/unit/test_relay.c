// SPDX-License-Identifier: MIT
/*
 * The relay's state machine on loopback sockets: what each side waits for,
 * a pending upstream connect that does not wake the loop, its timeout, a
 * client that leaves while it is pending, and bytes both ways.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

#include "relay.h"
#include "loopback.h"

static void test_interest(void **state)
{
	struct relay_half_state idle = {0}, queued = {.queued = 100}, done = {.eof = true};
	uint32_t client, up;

	(void)state;
	/* Connecting: the client's bytes wait; only the connect's end is awaited. */
	relay_interest(true, &idle, &idle, &client, &up);
	assert_int_equal(client, 0);
	assert_int_equal(up, EPOLLOUT);
	relay_interest(false, &idle, &idle, &client, &up);
	assert_int_equal(client, EPOLLIN);
	assert_int_equal(up, EPOLLIN);
	/* Client to upstream has bytes in its pipe: upstream writable, client not read. */
	relay_interest(false, &queued, &idle, &client, &up);
	assert_int_equal(client, EPOLLIN & 0);
	assert_int_equal(up, EPOLLIN | EPOLLOUT);
	/* The client is done: not read any more. */
	relay_interest(false, &done, &idle, &client, &up);
	assert_int_equal(client, 0);
	assert_int_equal(up, EPOLLIN);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int connect_to(const struct sockaddr_in *addr, bool nonblock)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);

	assert_true(fd >= 0);
	assert_true(connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) == 0 ||
		    errno == EINPROGRESS);
	return fd;
}

/*
 * An upstream that never answers: a listener whose accept queue is full
 * drops the SYNs (as a blackholed ingest does). Returns the listener; the
 * connection that fills its queue is in *@filler.
 */
static int blackhole(struct sockaddr_in *addr, int *filler)
{
	int lfd = loopback_listener(0, addr);

	*filler = connect_to(addr, false);
	return lfd;
}

static struct relay *relay_with(const struct sockaddr_in *up, int connect_timeout_ms,
				int handshake_ms, int idle_ms, struct sockaddr_in *at)
{
	struct relay_config cfg = {
		.upstream_len = sizeof(*up),
		.max_conn = 4,
		.connect_timeout_ms = connect_timeout_ms,
		.handshake_timeout_ms = handshake_ms,
		.idle_timeout_ms = idle_ms,
		.stats_interval_s = 60,
	};
	struct relay *r = NULL;
	int lfd = loopback_listener(16, at);

	memcpy(&cfg.upstream, up, sizeof(*up));
	assert_int_equal(fcntl(lfd, F_SETFL, O_NONBLOCK), 0);
	assert_int_equal(relay_create(&cfg, lfd, &r), 0);
	return r;
}

static struct relay *relay_to(const struct sockaddr_in *up, int connect_timeout_ms,
			      struct sockaddr_in *at)
{
	return relay_with(up, connect_timeout_ms, 10000, 60000, at);
}

/* Run the relay for @ms. */
static void run_for(struct relay *r, int ms)
{
	int64_t end = now_ms() + ms;

	while (now_ms() < end)
		assert_int_equal(relay_run_once(r, 50), 0);
}

/*
 * The client sent RTMP's C0+C1 while the upstream connect is pending: the
 * loop sleeps (before, it woke for ever on the client's unread bytes), and
 * the timeout closes the client.
 */
static void test_pending_connect_sleeps_then_times_out(void **state)
{
	struct sockaddr_in up, at;
	int filler, blk = blackhole(&up, &filler), client;
	struct relay *r = relay_to(&up, 1500, &at);
	struct relay_counters c;
	char c0c1[1537] = {3};
	struct pollfd pfd;

	(void)state;
	client = connect_to(&at, false);
	assert_int_equal(write(client, c0c1, sizeof(c0c1)), (ssize_t)sizeof(c0c1));
	run_for(r, 1000);
	relay_get_counters(r, &c);
	assert_int_equal(c.accepted, 1);
	assert_int_equal(c.open, 1);
	print_message("events handled in 1 s with an upstream connect pending: %llu\n",
		      (unsigned long long)c.events);
	assert_true(c.events < 20);

	run_for(r, 800);
	relay_get_counters(r, &c);
	assert_int_equal(c.closed, 1);
	assert_int_equal(c.open, 0);
	/* The client sees its end. */
	pfd = (struct pollfd){.fd = client, .events = POLLIN};
	assert_int_equal(poll(&pfd, 1, 1000), 1);
	assert_true(read(client, c0c1, sizeof(c0c1)) <= 0);
	close(client);
	relay_destroy(r, NULL);
	close(filler);
	close(blk);
}

/* A client that resets while the upstream connect is pending is closed at once. */
static void test_client_leaves_while_pending(void **state)
{
	struct sockaddr_in up, at;
	int filler, blk = blackhole(&up, &filler), client;
	struct relay *r = relay_to(&up, 10000, &at);
	struct relay_counters c;
	struct linger lg = {.l_onoff = 1, .l_linger = 0};

	(void)state;
	client = connect_to(&at, false);
	run_for(r, 200);
	assert_int_equal(setsockopt(client, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	close(client); /* an RST */
	run_for(r, 300);
	relay_get_counters(r, &c);
	assert_int_equal(c.closed, 1);
	assert_true(c.events < 20);
	relay_destroy(r, NULL);
	close(filler);
	close(blk);
}

/* Bytes both ways, and each side's end passed on. */
static void test_relays_both_ways(void **state)
{
	struct sockaddr_in up, at;
	int lup = loopback_listener(4, &up), client, server;
	struct relay *r = relay_to(&up, 2000, &at);
	struct relay_counters c;
	char buf[64];
	ssize_t n;

	(void)state;
	client = connect_to(&at, false);
	run_for(r, 100);
	server = accept(lup, NULL, NULL);
	assert_true(server >= 0);
	assert_int_equal(write(client, "hello", 5), 5);
	run_for(r, 100);
	assert_int_equal(read(server, buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(write(server, "ingest", 6), 6);
	run_for(r, 100);
	assert_int_equal(read(client, buf, sizeof(buf)), 6);
	assert_memory_equal(buf, "ingest", 6);

	shutdown(client, SHUT_WR);
	run_for(r, 100);
	n = read(server, buf, sizeof(buf));
	assert_int_equal(n, 0); /* the client's end reached the server */
	close(server);
	run_for(r, 100);
	relay_get_counters(r, &c);
	assert_int_equal(c.closed, 1);
	close(client);
	relay_destroy(r, NULL);
	close(lup);
}

/*
 * Clients that connect and send nothing hold no place for long: with
 * --max-conn 4 taken by four of them, a fifth gets through once the
 * handshake timeout has closed them.
 */
static void test_silent_clients_are_closed(void **state)
{
	struct sockaddr_in up, at;
	int lup = loopback_listener(16, &up), silent[4], client, server;
	struct relay *r = relay_with(&up, 2000, 500, 60000, &at);
	struct relay_counters c;
	char buf[8];

	(void)state;
	for (int i = 0; i < 4; i++)
		silent[i] = connect_to(&at, false);
	run_for(r, 200);
	relay_get_counters(r, &c);
	assert_int_equal(c.open, 4);
	run_for(r, 600);
	relay_get_counters(r, &c);
	assert_int_equal(c.closed, 4);
	client = connect_to(&at, false);
	run_for(r, 100);
	for (int i = 0; i < 5; i++) { /* the silent ones' upstream ends, then the new one's */
		server = accept(lup, NULL, NULL);
		assert_true(server >= 0);
		if (i < 4)
			close(server);
	}
	assert_int_equal(write(client, "rtmp", 4), 4);
	run_for(r, 100);
	assert_int_equal(read(server, buf, sizeof(buf)), 4);
	relay_get_counters(r, &c);
	assert_int_equal(c.accepted, 5);
	assert_int_equal(c.open, 1);
	for (int i = 0; i < 4; i++)
		close(silent[i]);
	close(client);
	close(server);
	relay_destroy(r, NULL);
	close(lup);
}

/* Nothing either way for the idle timeout: closed. */
static void test_idle_connection_is_closed(void **state)
{
	struct sockaddr_in up, at;
	int lup = loopback_listener(4, &up), client;
	struct relay *r = relay_with(&up, 2000, 10000, 500, &at);
	struct relay_counters c;

	(void)state;
	client = connect_to(&at, false);
	run_for(r, 100);
	assert_int_equal(write(client, "x", 1), 1);
	run_for(r, 300);
	relay_get_counters(r, &c);
	assert_int_equal(c.open, 1);
	run_for(r, 500);
	relay_get_counters(r, &c);
	assert_int_equal(c.closed, 1);
	close(client);
	relay_destroy(r, NULL);
	close(lup);
}

/*
 * A client that filled the way to an upstream that never reads, then reset:
 * closed at once, and the loop sleeps (before, the reset's error woke it for
 * ever while the data sat in the pipe).
 */
static void test_reset_with_data_queued(void **state)
{
	struct sockaddr_in up, at;
	int lup = loopback_listener(4, &up), client;
	struct relay *r = relay_to(&up, 2000, &at);
	struct relay_counters c;
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	static char chunk[65536];
	size_t sent = 0;
	uint64_t before;

	(void)state;
	client = connect_to(&at, true);
	run_for(r, 100);
	for (int k = 0; k < 400 && sent < 15u << 20; k++) {
		ssize_t n = write(client, chunk, sizeof(chunk));

		if (n > 0)
			sent += (size_t)n;
		assert_int_equal(relay_run_once(r, 5), 0);
	}
	print_message("sent %zu bytes before the upstream stopped taking them\n", sent);
	assert_int_equal(setsockopt(client, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	close(client); /* an RST */
	relay_get_counters(r, &c);
	before = c.events;
	run_for(r, 1000);
	relay_get_counters(r, &c);
	print_message("events in the second after the reset: %llu\n",
		      (unsigned long long)(c.events - before));
	assert_int_equal(c.closed, 1);
	assert_true(c.events - before < 20);
	relay_destroy(r, NULL);
	close(lup);
}

/*
 * Clients trickling a byte at a time held every place of --max-conn for ever
 * (the handshake timeout counted the first byte only, the idle timeout
 * restarts on any byte): the handshake has a total deadline now. A client
 * whose upstream answered stays.
 */
static void test_trickling_clients_hit_the_deadline(void **state)
{
	struct sockaddr_in up, at;
	int lup = loopback_listener(16, &up), slow[4], client, server;
	struct relay *r = relay_with(&up, 2000, 600, 60000, &at);
	struct relay_counters c;
	char buf[8];

	(void)state;
	assert_false(relay_handshake_done(0, 0));
	assert_false(relay_handshake_done(1500, 0));
	assert_false(relay_handshake_done(0, 10));
	assert_true(relay_handshake_done(1537, 3073));
	client = connect_to(&at, false);
	run_for(r, 100);
	server = accept(lup, NULL, NULL);
	assert_true(server >= 0);
	assert_int_equal(write(client, "C0C1", 4), 4);
	run_for(r, 100);
	assert_int_equal(read(server, buf, sizeof(buf)), 4);
	assert_int_equal(write(server, "S0S1", 4), 4);
	for (int i = 0; i < 3; i++)
		slow[i] = connect_to(&at, false);
	/* A byte each every 100 ms, for twice the deadline. */
	for (int t = 0; t < 12; t++) {
		for (int i = 0; i < 3; i++)
			(void)!send(slow[i], "x", 1, MSG_NOSIGNAL);
		run_for(r, 100);
	}
	relay_get_counters(r, &c);
	assert_int_equal(c.accepted, 4);
	assert_int_equal(c.closed, 3);
	assert_int_equal(c.open, 1); /* the one whose upstream answered */
	slow[3] = connect_to(&at, false);
	run_for(r, 100);
	relay_get_counters(r, &c);
	assert_int_equal(c.accepted, 5);
	for (int i = 0; i < 4; i++)
		close(slow[i]);
	close(client);
	close(server);
	relay_destroy(r, NULL);
	close(lup);
}

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n - 3;
}

/*
 * Out of descriptors: accept() fails with EMFILE and the listener stays
 * readable. Before, the loop woke for ever (100 % of a core, a log line a
 * wake); now the listener is left alone a while: a few events, not
 * thousands, and connections are taken again once descriptors are free.
 */
static void test_descriptor_limit(void **state)
{
	struct sockaddr_in up, at;
	int lup = loopback_listener(64, &up), client[12];
	struct relay_config cfg = {.upstream_len = sizeof(up),
				   .max_conn = 100,
				   .connect_timeout_ms = 5000,
				   .stats_interval_s = 60};
	struct rlimit saved, low;
	int fill[128], filled = 0;
	struct relay *r = NULL;
	struct relay_counters c;
	int lfd;

	(void)state;
	assert_int_equal(relay_conn_capacity(100, 1024, 10), 100);
	assert_int_equal(relay_conn_capacity(200, 1024, 10), (1024 - 10 - 16) / 6);
	assert_int_equal(relay_conn_capacity(10, 20, 10), 0);
	memcpy(&cfg.upstream, &up, sizeof(up));
	lfd = loopback_listener(64, &at);
	assert_int_equal(fcntl(lfd, F_SETFL, O_NONBLOCK), 0);
	assert_int_equal(relay_create(&cfg, lfd, &r), 0);
	for (int i = 0; i < 12; i++)
		client[i] = connect_to(&at, false);
	/* Room for two connections' six descriptors, then EMFILE. */
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved), 0);
	low = saved;
	low.rlim_cur = (rlim_t)open_fds() + 64;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	/* Exactly two connections' room: fill every free descriptor, give back twelve. */
	while ((fill[filled] = dup(0)) >= 0)
		filled++;
	assert_int_equal(errno, EMFILE);
	for (int i = 0; i < 2 * 6; i++)
		close(fill[--filled]);
	run_for(r, 400);
	while (filled)
		close(fill[--filled]);
	relay_get_counters(r, &c);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &saved), 0);
	assert_true(c.open >= 1 && c.open <= 3);
	assert_true(c.accept_pauses >= 1);
	assert_true(c.events < 100);
	/* Descriptors free again: the rest are taken once the pause is over. */
	run_for(r, 800);
	relay_get_counters(r, &c);
	assert_int_equal(c.accepted, 12);
	for (int i = 0; i < 12; i++)
		close(client[i]);
	relay_destroy(r, NULL);
	close(lup);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_interest),
		cmocka_unit_test(test_pending_connect_sleeps_then_times_out),
		cmocka_unit_test(test_client_leaves_while_pending),
		cmocka_unit_test(test_relays_both_ways),
		cmocka_unit_test(test_silent_clients_are_closed),
		cmocka_unit_test(test_idle_connection_is_closed),
		cmocka_unit_test(test_reset_with_data_queued),
		cmocka_unit_test(test_trickling_clients_hit_the_deadline),
		cmocka_unit_test(test_descriptor_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
