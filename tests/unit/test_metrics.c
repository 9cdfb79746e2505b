// SPDX-License-Identifier: MIT
/* The Prometheus exposition: counters across subflows and reconnects, and the text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "metrics.h"

static void sample(struct conn_subflow *sf, uint32_t id, const char *local, uint64_t sent,
		   uint64_t acked, uint64_t rtx)
{
	struct sockaddr_in *l = (struct sockaddr_in *)&sf->local;
	struct sockaddr_in *r = (struct sockaddr_in *)&sf->remote;

	memset(sf, 0, sizeof(*sf));
	sf->id = id;
	l->sin_family = r->sin_family = AF_INET;
	inet_pton(AF_INET, local, &l->sin_addr);
	l->sin_port = htons(40000 + id);
	inet_pton(AF_INET, "10.9.0.2", &r->sin_addr);
	r->sin_port = htons(1935);
	sf->bytes_sent = sent;
	sf->bytes_acked = acked;
	sf->bytes_retrans = rtx;
	sf->rtt_us = 12500;
	sf->cwnd = 40;
	sf->state = TCP_ESTABLISHED;
}

static void namer(const struct sockaddr *sa, char *name, size_t size, void *opaque)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

	snprintf(name, size, "%s", (ntohl(sin->sin_addr.s_addr) >> 16 & 0xff) == 1 ? "up0" : "up1");
}

/* 10.1.x: up0, 10.2.x: up1, any other: none of ours ("-" in the metrics). */
static void namer3(const struct sockaddr *sa, char *name, size_t size, void *opaque)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	unsigned net = ntohl(sin->sin_addr.s_addr) >> 16 & 0xff;

	if (net == 1 || net == 2)
		snprintf(name, size, "up%u", net - 1);
}

static void test_counters_go_on(void **state)
{
	struct conn_snapshot a = {.n = 2}, b = {.n = 2}, c = {.n = 1};
	struct metrics_data d = {0};

	sample(&a.sf[0], 1, "10.1.0.2", 1000, 900, 0);
	sample(&a.sf[1], 2, "10.2.0.2", 500, 500, 0);
	metrics_account(&d, NULL, &a, namer, NULL);
	sample(&b.sf[0], 1, "10.1.0.2", 3000, 2900, 100);
	sample(&b.sf[1], 2, "10.2.0.2", 700, 600, 0);
	metrics_account(&d, &a, &b, namer, NULL);
	assert_int_equal(d.n_uplinks, 2);
	assert_string_equal(d.uplink[0].view.name, "up0");
	assert_int_equal(d.uplink[0].sent_bytes, 3000);
	assert_int_equal(d.uplink[0].acked_bytes, 2900);
	assert_int_equal(d.uplink[0].retrans_bytes, 100);
	assert_int_equal(d.uplink[1].sent_bytes, 700);
	/* A reconnect: a new connection's subflow 1 counts from 0; the uplink's counter goes on. */
	sample(&c.sf[0], 1, "10.1.0.2", 400, 400, 0);
	metrics_account(&d, NULL, &c, namer, NULL);
	assert_int_equal(d.uplink[0].sent_bytes, 3400);
	assert_int_equal(d.n_subflows, 1);
	assert_int_equal(d.subflow[0].sent_bytes, 400);
	assert_string_equal(d.subflow[0].local, "10.1.0.2:40001");
}

static void test_render(void **state)
{
	struct conn_snapshot a = {.n = 1};
	struct metrics_data d = {0};
	char buf[16384], small[64];
	int len;

	sample(&a.sf[0], 3, "10.2.0.2", 5000, 4000, 10);
	metrics_account(&d, NULL, &a, namer, NULL);
	d.uplink[0].state = "degraded";
	d.connected = true;
	d.stream = (struct conn_stream_status){.valid = true,
					       .target_bps = 3500000,
					       .encoder_bps = 3400000,
					       .queue_ms = 40,
					       .delay_ms = 120,
					       .dropped_frames = 7,
					       .reconnects = 2};
	len = metrics_render(&d, buf, sizeof(buf));
	assert_true(len > 0);
	assert_int_equal((size_t)len, strlen(buf));
	assert_non_null(strstr(buf, "# TYPE mpstream_uplink_sent_bytes_total counter\n"
				    "mpstream_uplink_sent_bytes_total{uplink=\"up1\"} 5000\n"));
	assert_non_null(
		strstr(buf, "mpstream_uplink_state{uplink=\"up1\",state=\"degraded\"} 1\n"));
	assert_non_null(strstr(buf, "mpstream_uplink_state{uplink=\"up1\",state=\"up\"} 0\n"));
	assert_non_null(strstr(buf, "mpstream_subflow_rtt_seconds{subflow=\"3\",uplink=\"up1\","
				    "local=\"10.2.0.2:40003\",remote=\"10.9.0.2:1935\","
				    "family=\"ipv4\"} 0.012500\n"));
	assert_non_null(strstr(buf, ",state=\"established\"} 1\n"));
	assert_non_null(strstr(buf, "mpstream_video_target_bytes_per_second 437500\n"));
	assert_non_null(strstr(buf, "mpstream_queue_seconds 0.040\n"));
	assert_non_null(strstr(buf, "mpstream_frames_dropped_total 7\n"));
	assert_non_null(strstr(buf, "mpstream_reconnects_total 2\n"));
	assert_int_equal(metrics_render(&d, small, sizeof(small)), -1);
}

/*
 * Uplink i is routing's uplink i, whenever the subflows named them; one known
 * only from a subflow's address comes after them, and every counter stays
 * with its uplink.
 */
static void test_uplinks_by_index(void **state)
{
	struct mps_uplink_view views[2] = {{.name = "up0"}, {.name = "up1", .backup = true}};
	const char *const states[2] = {"up", "down"};
	struct conn_snapshot a = {.n = 3};
	struct metrics_data d = {0};
	char buf[16384];

	(void)state;
	/* Subflows first: up1's, then one from no uplink of ours, then up0's. */
	sample(&a.sf[0], 1, "10.2.0.2", 700, 600, 0);
	sample(&a.sf[1], 2, "10.3.0.2", 50, 50, 0);
	sample(&a.sf[2], 3, "10.1.0.2", 1000, 900, 0);
	metrics_account(&d, NULL, &a, namer3, NULL);
	assert_int_equal(d.n_uplinks, 3);
	assert_string_equal(d.uplink[0].view.name, "up1");
	metrics_set_uplinks(&d, views, states, 2);
	assert_int_equal(d.n_uplinks, 3);
	assert_string_equal(d.uplink[0].view.name, "up0");
	assert_string_equal(d.uplink[0].state, "up");
	assert_int_equal(d.uplink[0].sent_bytes, 1000);
	assert_string_equal(d.uplink[1].view.name, "up1");
	assert_true(d.uplink[1].view.backup);
	assert_string_equal(d.uplink[1].state, "down");
	assert_int_equal(d.uplink[1].sent_bytes, 700);
	assert_string_equal(d.uplink[2].view.name, "-");
	assert_null(d.uplink[2].state);
	assert_int_equal(d.uplink[2].sent_bytes, 50);
	/* Again, as every publish does: nothing moves, nothing is counted twice. */
	metrics_set_uplinks(&d, views, states, 2);
	metrics_account(&d, &a, &a, namer3, NULL);
	assert_int_equal(d.n_uplinks, 3);
	assert_string_equal(d.uplink[2].view.name, "-");
	assert_int_equal(d.uplink[0].sent_bytes, 1000);
	assert_int_equal(d.uplink[1].sent_bytes, 700);
	assert_int_equal(d.uplink[2].sent_bytes, 50);
	/* The exposition lists them in that order; the unjudged one has no state. */
	assert_true(metrics_render(&d, buf, sizeof(buf)) > 0);
	assert_true(strstr(buf, "{uplink=\"up0\"} 1000") < strstr(buf, "{uplink=\"up1\"} 700"));
	assert_true(strstr(buf, "{uplink=\"up1\"} 700") < strstr(buf, "{uplink=\"-\"} 50"));
	assert_null(strstr(buf, "mpstream_uplink_state{uplink=\"-\""));
	/* As the monitor does it, routing's uplinks set before a subflow is counted: the same. */
	d.n_uplinks = 0;
	metrics_set_uplinks(&d, views, states, 2);
	metrics_account(&d, NULL, &a, namer3, NULL);
	assert_int_equal(d.n_uplinks, 3);
	assert_string_equal(d.uplink[0].view.name, "up0");
	assert_string_equal(d.uplink[2].view.name, "-");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counters_go_on),
		cmocka_unit_test(test_render),
		cmocka_unit_test(test_uplinks_by_index),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
