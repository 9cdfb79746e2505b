// SPDX-License-Identifier: MIT
/* The Prometheus exposition: counters across subflows and reconnects, and the text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "metrics.h"
#include "radio.h"

/* A model name no modem should have: quotes, a newline, a closing script tag, half a character. */
#define HOSTILE_MODEL "EM\"7565\"\n} 1\nfake 2 </script>\"}\\\xc3"

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

/* An LTE modem on wwan0, registered at home. */
static void lte_radio(struct modem_radio *r)
{
	modem_radio_unknown(r);
	r->present = true;
	snprintf(r->model, sizeof(r->model), "EM7565");
	snprintf(r->operator_name, sizeof(r->operator_name), "Orange F");
	snprintf(r->operator_code, sizeof(r->operator_code), "20801");
	snprintf(r->tech, sizeof(r->tech), "LTE");
	r->reg = MODEM_REG_HOME;
	r->quality = 72;
	r->lte.rsrp = -95;
	r->lte.rsrq = -11;
	r->lte.snr = 12.5;
	r->sim = MODEM_SIM_READY;
}

/* up0 no modem, wwan0 an LTE one, wwan1 a modem with a hostile model that lost its network. */
static void radio_data(struct metrics_data *d)
{
	struct mps_uplink_view views[3] = {{.name = "up0"}, {.name = "wwan0"}, {.name = "wwan1"}};
	struct modem_radio r;

	memset(d, 0, sizeof(*d));
	metrics_set_uplinks(d, views, NULL, 3);
	lte_radio(&r);
	metrics_set_radio(d, 1, &r);
	lte_radio(&r);
	snprintf(r.model, sizeof(r.model), "%s", HOSTILE_MODEL);
	snprintf(r.operator_name, sizeof(r.operator_name), "a\\b\"c");
	r.reg = MODEM_REG_SEARCHING;
	r.lte.rsrp = NAN;
	r.quality = -1;
	metrics_set_radio(d, 2, &r);
}

/* The radios' gauges: a present modem's only, the figures known only, the labels escaped. */
static void test_radio_render(void **state)
{
	struct metrics_data d;
	char buf[32768];
	const char *info, *expect;

	radio_data(&d);
	assert_true(metrics_render(&d, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "# TYPE mpstream_uplink_modem_info gauge\n"));
	assert_non_null(strstr(buf, "mpstream_uplink_modem_info{uplink=\"wwan0\",model=\"EM7565\","
				    "operator=\"Orange F\",operator_code=\"20801\",tech=\"LTE\","
				    "registration=\"home\",sim=\"ready\"} 1\n"));
	assert_non_null(strstr(buf, "mpstream_uplink_modem_registered{uplink=\"wwan0\"} 1\n"));
	assert_non_null(strstr(buf, "mpstream_uplink_modem_registered{uplink=\"wwan1\"} 0\n"));
	assert_non_null(
		strstr(buf, "mpstream_uplink_modem_signal_quality_ratio{uplink=\"wwan0\"} 0.72\n"));
	assert_null(strstr(buf, "mpstream_uplink_modem_signal_quality_ratio{uplink=\"wwan1\"}"));
	assert_non_null(
		strstr(buf, "mpstream_uplink_modem_lte_rsrp_dbm{uplink=\"wwan0\"} -95.00\n"));
	assert_null(strstr(buf, "mpstream_uplink_modem_lte_rsrp_dbm{uplink=\"wwan1\"}"));
	assert_non_null(strstr(buf, "mpstream_uplink_modem_lte_snr_db{uplink=\"wwan1\"} 12.50\n"));
	/* No 5G figure anywhere: no family either. */
	assert_null(strstr(buf, "mpstream_uplink_modem_nr_"));
	/* The uplink that is no modem has no radio line. */
	assert_null(strstr(buf, "modem_info{uplink=\"up0\""));
	assert_null(strstr(buf, "modem_registered{uplink=\"up0\""));
	/* The hostile strings stay inside their label: one line, quotes and backslashes escaped. */
	/* A newline in a label would start a line of its own: it is made '?' before escaping. */
	info = strstr(buf, "mpstream_uplink_modem_info{uplink=\"wwan1\"");
	assert_non_null(info);
	expect = "mpstream_uplink_modem_info{uplink=\"wwan1\",model=\"EM\\\"7565\\\"?} 1?fake 2 "
		 "</script>\\\"}\\\\?\",operator=\"a\\\\b\\\"c\",";
	assert_true(strncmp(info, expect, strlen(expect)) == 0);
	assert_null(strstr(buf, "\nfake 2"));
	/* No modem at all: no radio family. */
	d.uplink[1].radio.present = d.uplink[2].radio.present = false;
	assert_true(metrics_render(&d, buf, sizeof(buf)) > 0);
	assert_null(strstr(buf, "modem"));
}

/* An uplink's radio stays with its name when the uplinks are set again, as its counters do. */
static void test_radio_kept(void **state)
{
	struct mps_uplink_view views[2] = {{.name = "wwan1"}, {.name = "wwan0"}};
	struct metrics_data d;

	radio_data(&d);
	metrics_set_uplinks(&d, views, NULL, 2);
	assert_string_equal(d.uplink[1].view.name, "wwan0");
	assert_true(d.uplink[1].radio.present);
	assert_string_equal(d.uplink[1].radio.model, "EM7565");
	assert_int_equal(d.uplink[0].radio.reg, MODEM_REG_SEARCHING);
	/* up0, set aside, is "not present" with every figure unknown. */
	assert_false(d.uplink[2].radio.present);
	metrics_set_radio(&d, 1, NULL);
	assert_false(d.uplink[1].radio.present);
	assert_true(isnan(d.uplink[1].radio.lte.rsrp));
	metrics_set_radio(&d, 7, NULL); /* past the uplinks: ignored */
	assert_int_equal(d.n_uplinks, 3);
}

/* The CSV cell and column: fixed fields, no separator from the modem. */
static void test_radio_csv(void **state)
{
	struct metrics_data d;
	struct modem_radio r;
	char buf[256];
	int n;

	lte_radio(&r);
	n = metrics_radio_csv(&r, buf, sizeof(buf));
	assert_int_equal(n, (int)strlen(buf));
	assert_string_equal(buf, "LTE:72:-95:12.5:home:ready");
	/* On 5G, 5G's figures where known. */
	snprintf(r.tech, sizeof(r.tech), "5G");
	r.nr.rsrp = -101.5;
	r.nr.sinr = 3;
	metrics_radio_csv(&r, buf, sizeof(buf));
	assert_string_equal(buf, "5G:72:-101.5:3:home:ready");
	modem_radio_unknown(&r);
	r.present = true;
	r.reg = MODEM_REG_SEARCHING;
	r.sim = MODEM_SIM_PIN;
	metrics_radio_csv(&r, buf, sizeof(buf));
	assert_string_equal(buf, "::::searching:pin");
	snprintf(r.tech, sizeof(r.tech), "a,b;\"");
	metrics_radio_csv(&r, buf, sizeof(buf));
	assert_string_equal(buf, "::::searching:pin");
	r.present = false;
	assert_int_equal(metrics_radio_csv(&r, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");

	radio_data(&d);
	n = metrics_radios_csv(&d, buf, sizeof(buf));
	assert_int_equal(n, (int)strlen(buf));
	assert_string_equal(buf,
			    "wwan0=LTE:72:-95:12.5:home:ready;wwan1=LTE:::12.5:searching:ready");
	assert_null(strpbrk(buf, ",\"\n"));
	d.uplink[1].radio.present = d.uplink[2].radio.present = false;
	assert_int_equal(metrics_radios_csv(&d, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
}

/* What stands out on the page, and the bars. */
static void test_radio_alert_bars(void **state)
{
	char buf[METRICS_RADIO_ALERT];
	struct modem_radio r;

	lte_radio(&r);
	assert_null(metrics_radio_alert(&r, buf));
	assert_int_equal(metrics_radio_bars(&r), 3); /* -95 dBm */
	r.lte.rsrp = -80;
	assert_int_equal(metrics_radio_bars(&r), 4);
	r.lte.rsrp = -130;
	assert_int_equal(metrics_radio_bars(&r), 0);
	r.lte.rsrp = NAN; /* the quality then */
	assert_int_equal(metrics_radio_bars(&r), 3);
	r.quality = 0;
	assert_int_equal(metrics_radio_bars(&r), 0);
	r.quality = 100;
	assert_int_equal(metrics_radio_bars(&r), 4);
	r.quality = -1;
	assert_int_equal(metrics_radio_bars(&r), -1);
	snprintf(r.tech, sizeof(r.tech), "5G");
	r.nr.rsrp = -84;
	r.lte.rsrp = -110;
	assert_int_equal(metrics_radio_bars(&r), 4);

	r.reg = MODEM_REG_SEARCHING;
	assert_string_equal(metrics_radio_alert(&r, buf), "no network (searching)");
	r.reg = MODEM_REG_DENIED;
	assert_string_equal(metrics_radio_alert(&r, buf), "no network (refused)");
	r.reg = MODEM_REG_IDLE;
	assert_string_equal(metrics_radio_alert(&r, buf), "no network (radio off)");
	r.reg = MODEM_REG_UNKNOWN; /* still starting: nothing to say yet */
	assert_null(metrics_radio_alert(&r, buf));
	snprintf(r.state, sizeof(r.state), "disabled"); /* off: the status line's words */
	assert_string_equal(metrics_radio_alert(&r, buf), "no network (disabled)");
	snprintf(r.state, sizeof(r.state), "registered");
	r.sim = MODEM_SIM_PIN;
	r.sim_retries = 3;
	assert_string_equal(metrics_radio_alert(&r, buf), "SIM locked (PIN, 3 attempts left)");
	r.sim_retries = 1;
	assert_string_equal(metrics_radio_alert(&r, buf), "SIM locked (PIN, 1 attempt left)");
	r.sim = MODEM_SIM_PUK;
	r.sim_retries = -1;
	assert_string_equal(metrics_radio_alert(&r, buf), "SIM locked (PUK)");
	r.sim = MODEM_SIM_LOCKED;
	assert_string_equal(metrics_radio_alert(&r, buf), "SIM locked");
	r.sim = MODEM_SIM_MISSING;
	assert_string_equal(metrics_radio_alert(&r, buf), "no SIM");
	r.present = false;
	assert_null(metrics_radio_alert(&r, buf));
	assert_int_equal(metrics_radio_bars(&r), -1);
}

/* Outside text made valid UTF-8: cut characters, bad bytes and control characters become '?'. */
static void test_clean_text(void **state)
{
	char out[16];

	metrics_clean_text("Orange \xc3\xa9t\xc3", 64, out, sizeof(out));
	assert_string_equal(out, "Orange \xc3\xa9t?");
	metrics_clean_text("a\x1b[2J\x7f\n", 64, out, sizeof(out));
	assert_string_equal(out, "a?[2J??");
	/* Overlong, surrogate, past U+10FFFF, a lone continuation byte. */
	metrics_clean_text("\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80\x80", 64, out, sizeof(out));
	assert_string_equal(out, "??????????");
	/* A 4-byte character, and one that does not fit whole. */
	metrics_clean_text("\xf0\x9f\x93\xb6", 64, out, sizeof(out));
	assert_string_equal(out, "\xf0\x9f\x93\xb6");
	metrics_clean_text("abcdefghijklmn\xc3\xa9", 64, out, sizeof(out));
	assert_string_equal(out, "abcdefghijklmn");
	/* Not past @max, even without a NUL. */
	metrics_clean_text("abcdef", 3, out, sizeof(out));
	assert_string_equal(out, "abc");
}

/* `test_metrics --exposition`: the hostile radios' text, for promtool (ctest metrics_promtool). */
static int print_exposition(void)
{
	struct conn_snapshot a = {.n = 1};
	struct metrics_data d;
	char *buf = malloc(65536);
	int ret = 1;

	if (!buf)
		return 1;
	radio_data(&d);
	sample(&a.sf[0], 3, "10.2.0.2", 5000, 4000, 10);
	metrics_account(&d, NULL, &a, namer, NULL);
	d.uplink[1].radio.nr.rsrp = -100;
	d.uplink[1].radio.sim_retries = 3;
	if (metrics_render(&d, buf, 65536) >= 0) {
		fputs(buf, stdout);
		ret = 0;
	}
	free(buf);
	return ret;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counters_go_on),	 cmocka_unit_test(test_render),
		cmocka_unit_test(test_uplinks_by_index), cmocka_unit_test(test_radio_render),
		cmocka_unit_test(test_radio_kept),	 cmocka_unit_test(test_radio_csv),
		cmocka_unit_test(test_radio_alert_bars), cmocka_unit_test(test_clean_text),
	};

	if (argc == 2 && !strcmp(argv[1], "--exposition"))
		return print_exposition();

	return cmocka_run_group_tests(tests, NULL, NULL);
}
