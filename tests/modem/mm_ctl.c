// SPDX-License-Identifier: MIT
/*
 * mm_ctl: one operator's control of a modem, as the web server asks it
 * (modem_watch_reset/send_pin/connect from a thread that is not the
 * watch's), and its answer as one JSON line on stdout. For the tests
 * (tests/modem/test_modem.py). The PIN is read from stdin (one line), never
 * from the command line, where ps would show it.
 *
 *   mm_ctl IFNAME reset|pin|connect APN|twice
 *
 * It waits (at most 5 s) for ModemManager and for IFNAME's modem, then asks.
 * "twice": a reset from a thread of its own and, 300 ms into it, a second
 * reset from the main thread (one control per modem: -EBUSY), then a third
 * once the first has ended; the answer is the second's, with "first" and
 * "third" the other two's return codes.
 */
#define _GNU_SOURCE /* explicit_bzero */
#include "modem.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WAIT_MS 5000

/* ModemManager there, and @ifname's modem seen (or not, once running: ENODEV follows). */
static void wait_ready(struct modem_watch *w, const char *ifname)
{
	struct modem_radio r;
	uint64_t gen = 0;

	/* Running without the modem for 0.5 s: it is no modem's. */
	for (int i = 0, running = 0; i < WAIT_MS / 100 && running < 5; i++) {
		running += modem_watch_status(w) == MODEM_WATCH_RUNNING;
		if (running && modem_watch_get(w, ifname, &r) == 0 && r.present)
			return;
		gen = modem_watch_wait(w, gen, 100);
	}
}

struct first {
	struct modem_watch *w;
	const char *ifname;
	int ret;
};

static void *first_reset(void *arg)
{
	struct first *f = arg;
	struct modem_control_result res;

	f->ret = modem_watch_reset(f->w, f->ifname, &res);
	return NULL;
}

/* Three resets: the second while the first is under way. */
static int twice(struct modem_watch *w, const char *ifname, struct modem_control_result *res,
		 int *first_ret, int *third_ret)
{
	struct first f = {.w = w, .ifname = ifname};
	struct modem_control_result third;
	pthread_t t;
	int ret;

	if (pthread_create(&t, NULL, first_reset, &f))
		return -EAGAIN;
	nanosleep(&(struct timespec){.tv_nsec = 300 * 1000000L}, NULL);
	ret = modem_watch_reset(w, ifname, res);
	pthread_join(t, NULL);
	*first_ret = f.ret;
	*third_ret = modem_watch_reset(w, ifname, &third);
	return ret;
}

static int run(struct modem_watch *w, const char *ifname, const char *op, const char *apn,
	       struct modem_control_result *res)
{
	char pin[64] = "";
	int ret;

	if (!strcmp(op, "reset"))
		return modem_watch_reset(w, ifname, res);
	if (!strcmp(op, "connect"))
		return modem_watch_connect(w, ifname, apn, res);
	if (!fgets(pin, sizeof(pin), stdin))
		pin[0] = '\0';
	pin[strcspn(pin, "\r\n")] = '\0';
	ret = modem_watch_send_pin(w, ifname, pin, res);
	/* The library wipes it: a test that it did. */
	if (pin[0])
		fprintf(stderr, "mm_ctl: the PIN was not wiped\n");
	explicit_bzero(pin, sizeof(pin));
	return ret;
}

int main(int argc, char **argv)
{
	struct modem_control_result res;
	struct modem_watch *w;
	const char *ifname = argv[1];

	if (argc < 3 || (strcmp(argv[2], "reset") && strcmp(argv[2], "pin") &&
			 strcmp(argv[2], "connect") && strcmp(argv[2], "twice"))) {
		fprintf(stderr, "usage: mm_ctl IFNAME reset|pin|connect APN|twice\n");
		return 2;
	}
	int ret = modem_watch_start(&ifname, 1, NULL, &w);
	if (ret < 0) {
		fprintf(stderr, "mm_ctl: %s\n", strerror(-ret));
		return 1;
	}
	wait_ready(w, ifname);
	int first = 0, third = 0;
	if (!strcmp(argv[2], "twice"))
		ret = twice(w, ifname, &res, &first, &third);
	else
		ret = run(w, ifname, argv[2], argc > 3 ? argv[3] : NULL, &res);
	json_t *o = json_pack("{s:s,s:s,s:i,s:s,s:i,s:i,s:i}", "ifname", ifname, "op", argv[2],
			      "rc", ret, "msg", res.msg, "retries", res.retries, "first", first,
			      "third", third);
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	if (s)
		printf("%s\n", s);
	free(s);
	json_decref(o);
	modem_watch_stop(w);
	return 0;
}
