// SPDX-License-Identifier: MIT
/*
 * mm_read: watch the modems of the given interfaces and print, as one JSON
 * line each on stdout, the watch's status when it changes and an interface's
 * radio when it changes. For the tests (tests/modem/test_modem.py) and for a
 * look at a field kit's modems. Runs until SIGINT or SIGTERM.
 *
 *   mm_read [--bus ADDRESS] [--rate SECONDS] [--retry SECONDS] IFNAME...
 */
#include "modem.h"

#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static json_t *number(double v)
{
	return isnan(v) ? json_null() : json_real(v);
}

static json_t *radio_json(const char *ifname, const struct modem_radio *r)
{
	json_t *o = json_object();

	json_object_set_new(o, "ifname", json_string(ifname));
	json_object_set_new(o, "gen", json_integer((json_int_t)r->generation));
	json_object_set_new(o, "present", json_boolean(r->present));
	json_object_set_new(o, "manufacturer", json_string(r->manufacturer));
	json_object_set_new(o, "model", json_string(r->model));
	json_object_set_new(o, "operator_name", json_string(r->operator_name));
	json_object_set_new(o, "operator_code", json_string(r->operator_code));
	json_object_set_new(o, "tech", json_string(r->tech));
	json_object_set_new(o, "state", json_string(r->state));
	json_object_set_new(o, "reg", json_string(modem_reg_name(r->reg)));
	json_object_set_new(o, "registered", json_boolean(modem_reg_registered(r->reg)));
	json_object_set_new(o, "quality", json_integer(r->quality));
	json_object_set_new(o, "quality_recent", json_boolean(r->quality_recent));
	json_object_set_new(o, "lte",
			    json_pack("{s:o,s:o,s:o,s:o}", "rsrp", number(r->lte.rsrp), "rsrq",
				      number(r->lte.rsrq), "snr", number(r->lte.snr), "rssi",
				      number(r->lte.rssi)));
	json_object_set_new(o, "nr",
			    json_pack("{s:o,s:o,s:o}", "rsrp", number(r->nr.rsrp), "rsrq",
				      number(r->nr.rsrq), "sinr", number(r->nr.sinr)));
	json_object_set_new(o, "rssi", number(r->rssi));
	json_object_set_new(o, "signal_rate_s", json_integer(r->signal_rate_s));
	json_object_set_new(o, "sim", json_string(modem_sim_name(r->sim)));
	json_object_set_new(o, "sim_retries", json_integer(r->sim_retries));
	return o;
}

static void print(json_t *o, int64_t start, enum mm_watch_status status)
{
	json_object_set_new(o, "t_ms", json_integer(now_ms() - start));
	json_object_set_new(o, "status", json_string(mm_watch_status_name(status)));
	char *s = json_dumps(o, JSON_COMPACT);
	if (s)
		printf("%s\n", s);
	fflush(stdout);
	free(s);
	json_decref(o);
}

/* Print what changed since generation @seen; returns the newest generation printed. */
static uint64_t print_changes(struct mm_watch *w, char **ifnames, size_t n, uint64_t seen,
			      enum mm_watch_status *status, int64_t start)
{
	enum mm_watch_status now = mm_watch_status(w);
	uint64_t newest = seen;

	/* A new status: every interface again (an interface no modem has is "not present"). */
	bool all = now != *status;

	if (all) {
		*status = now;
		print(json_object(), start, now);
	}
	for (size_t i = 0; i < n; i++) {
		struct modem_radio r;
		if (mm_watch_get(w, ifnames[i], &r) == 0 && (all || r.generation > seen)) {
			print(radio_json(ifnames[i], &r), start, now);
			newest = r.generation > newest ? r.generation : newest;
		}
	}
	return newest;
}

int main(int argc, char **argv)
{
	struct mm_watch_config cfg = {0};
	struct mm_watch *w;
	int i = 1;

	for (; i + 1 < argc && !strncmp(argv[i], "--", 2); i += 2) {
		if (!strcmp(argv[i], "--bus"))
			cfg.bus_address = argv[i + 1];
		else if (!strcmp(argv[i], "--rate"))
			cfg.signal_rate_s = (unsigned)atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--retry"))
			cfg.retry_s = (unsigned)atoi(argv[i + 1]);
		else
			break;
	}
	if (i >= argc || argv[i][0] == '-') {
		fprintf(stderr, "usage: mm_read [--bus ADDRESS] [--rate SECONDS] [--retry SECONDS] "
				"IFNAME...\n");
		return 2;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	int rc = mm_watch_start((const char *const *)&argv[i], (size_t)(argc - i), &cfg, &w);
	if (rc < 0) {
		fprintf(stderr, "mm_read: %s\n", strerror(-rc));
		return 1;
	}
	int64_t start = now_ms();
	enum mm_watch_status status = MM_WATCH_STARTING;
	uint64_t seen = 0;
	while (!stop) {
		uint64_t gen = mm_watch_wait(w, seen, 100);
		if (gen == seen)
			continue;
		uint64_t newest =
			print_changes(w, &argv[i], (size_t)(argc - i), seen, &status, start);
		seen = newest > gen ? newest : gen;
	}
	mm_watch_stop(w);
	return 0;
}
