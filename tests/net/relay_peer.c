// SPDX-License-Identifier: MIT
/*
 * Both ends of the relay tests, each checking what crossed the relay:
 *   relay_peer sink PORT         accept connections; read each to its end, answer
 *                                "LENGTH HASH\n" (FNV-1a 64) and close. A
 *                                connection whose first byte is 'K' is reset at once.
 *   relay_peer send ADDR PORT N BYTES [K]
 *                                N MPTCP connections at once, BYTES of random data
 *                                each (with K: the first one starts with 'K');
 *                                prints "ok N" per connection whose answer matches
 *                                what it sent, "bad ..." otherwise; exit 0 if all did.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif

static uint64_t fnv(uint64_t h, const unsigned char *p, size_t n)
{
	while (n--)
		h = (h ^ *p++) * 0x100000001b3ULL;
	return h;
}

static void *serve(void *arg)
{
	int fd = (int)(intptr_t)arg;
	unsigned char buf[65536];
	uint64_t h = 0xcbf29ce484222325ULL, len = 0;
	char reply[64];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (len == 0 && buf[0] == 'K') {
			struct linger l = {1, 0}; /* close with a reset */

			setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
			close(fd);
			return NULL;
		}
		h = fnv(h, buf, (size_t)n);
		len += (uint64_t)n;
	}
	n = snprintf(reply, sizeof(reply), "%" PRIu64 " %016" PRIx64 "\n", len, h);
	if (write(fd, reply, (size_t)n) != n)
		perror("write");
	close(fd);
	return NULL;
}

static int sink(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int one = 1, lfd = socket(AF_INET, SOCK_STREAM, 0);

	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lfd, 256) < 0) {
		perror("sink");
		return 1;
	}
	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		pthread_t t;

		if (fd < 0)
			continue;
		pthread_create(&t, NULL, serve, (void *)(intptr_t)fd);
		pthread_detach(t);
	}
}

struct job {
	struct sockaddr_storage to;
	socklen_t to_len;
	size_t bytes;
	bool kill;
	int index;
	bool ok;
};

static void *send_one(void *arg)
{
	struct job *j = arg;
	unsigned char buf[65536];
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t left = j->bytes;
	char reply[128] = "", want[64];
	ssize_t n, got = 0;
	int fd = socket(j->to.ss_family, SOCK_STREAM, IPPROTO_MPTCP);

	if (fd < 0 || connect(fd, (struct sockaddr *)&j->to, j->to_len) < 0) {
		printf("bad %d: connect: %s\n", j->index, strerror(errno));
		return NULL;
	}
	while (left) {
		size_t chunk = left < sizeof(buf) ? left : sizeof(buf);

		getrandom(buf, chunk, 0);
		/* 'K' first asks the sink for a reset: only the connection meant to. */
		if (left == j->bytes)
			buf[0] = j->kill ? 'K' : 'k';
		h = fnv(h, buf, chunk);
		for (size_t off = 0; off < chunk; off += (size_t)n) {
			n = write(fd, buf + off, chunk - off);
			if (n <= 0) {
				printf("bad %d: write: %s\n", j->index,
				       n < 0 ? strerror(errno) : "closed");
				close(fd);
				return NULL;
			}
		}
		left -= chunk;
	}
	shutdown(fd, SHUT_WR);
	while ((n = read(fd, reply + got, sizeof(reply) - 1 - (size_t)got)) > 0)
		got += n;
	reply[got] = '\0';
	close(fd);
	snprintf(want, sizeof(want), "%zu %016" PRIx64 "\n", j->bytes, h);
	j->ok = strcmp(reply, want) == 0;
	printf("%s %d%s%s", j->ok ? "ok" : "bad", j->index, j->ok ? "\n" : ": got ",
	       j->ok ? "" : (got ? reply : "nothing\n"));
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "sink") == 0)
		return sink(atoi(argv[2]));
	if ((argc == 6 || argc == 7) && strcmp(argv[1], "send") == 0) {
		int n = atoi(argv[4]), good = 0;
		struct job *jobs = calloc((size_t)n, sizeof(*jobs));
		pthread_t *t = calloc((size_t)n, sizeof(*t));

		setvbuf(stdout, NULL, _IOLBF, 0);
		for (int i = 0; i < n; i++) {
			struct sockaddr_in *v4 = (struct sockaddr_in *)&jobs[i].to;
			struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&jobs[i].to;

			/* ADDR: IPv4 or IPv6. */
			if (inet_pton(AF_INET, argv[2], &v4->sin_addr) == 1) {
				v4->sin_family = AF_INET;
				v4->sin_port = htons((uint16_t)atoi(argv[3]));
				jobs[i].to_len = sizeof(*v4);
			} else {
				inet_pton(AF_INET6, argv[2], &v6->sin6_addr);
				v6->sin6_family = AF_INET6;
				v6->sin6_port = htons((uint16_t)atoi(argv[3]));
				jobs[i].to_len = sizeof(*v6);
			}
			jobs[i].bytes = strtoull(argv[5], NULL, 10);
			jobs[i].kill = argc == 7 && i == 0;
			jobs[i].index = i;
			pthread_create(&t[i], NULL, send_one, &jobs[i]);
		}
		for (int i = 0; i < n; i++) {
			pthread_join(t[i], NULL);
			good += jobs[i].ok;
		}
		printf("%d of %d connections checked out\n", good, n);
		free(jobs);
		free(t);
		return good == n ? 0 : 1;
	}
	fprintf(stderr, "usage: relay_peer sink PORT | send ADDR PORT N BYTES [K]\n");
	return 64;
}
