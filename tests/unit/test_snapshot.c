// SPDX-License-Identifier: MIT
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "snapshot.h"

static void set_addr(struct sockaddr_storage *ss, const char *ip, uint16_t port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = inet_addr(ip);
	sin->sin_port = htons(port);
}

static void sample(struct conn_subflow *sf, uint32_t id, const char *local, uint64_t sent,
		   uint64_t acked, uint64_t retrans, uint32_t rtt_us)
{
	memset(sf, 0, sizeof(*sf));
	sf->id = id;
	set_addr(&sf->local, local, 40000 + id);
	set_addr(&sf->remote, "10.9.0.2", 1935);
	sf->bytes_sent = sent;
	sf->bytes_acked = acked;
	sf->bytes_retrans = retrans;
	sf->rtt_us = rtt_us;
	sf->cwnd = 10 * id;
}

static void namer(const struct sockaddr *local, char *name, size_t size, void *opaque)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)local;

	(void)opaque;
	if (sin->sin_addr.s_addr == inet_addr("10.1.0.2"))
		snprintf(name, size, "up0");
	else if (sin->sin_addr.s_addr == inet_addr("10.2.0.2"))
		snprintf(name, size, "up1");
	else
		name[0] = '\0';
}

static void test_rates(void **state)
{
	struct conn_snapshot prev = {.t_ns = 1000000000, .mptcp = true, .n = 2};
	struct conn_snapshot cur = {.t_ns = 1500000000, .mptcp = true, .n = 3};
	struct conn_row rows[CONN_MAX_SUBFLOWS], total;

	sample(&prev.sf[0], 1, "10.1.0.2", 1000000, 900000, 0, 20000);
	sample(&prev.sf[1], 2, "10.2.0.2", 500000, 500000, 100, 40000);
	/* Half a second later: 100 kB more on #1, 50 kB on #2 (2 kB of it again), #3 is new. */
	sample(&cur.sf[0], 1, "10.1.0.2", 1100000, 1000000, 0, 30000);
	sample(&cur.sf[1], 2, "10.2.0.2", 550000, 540000, 2100, 50000);
	sample(&cur.sf[2], 3, "10.3.0.2", 25000, 25000, 0, 0);

	assert_int_equal(conn_diff(&prev, &cur, namer, NULL, rows, &total), 3);
	assert_int_equal(rows[0].id, 1);
	assert_string_equal(rows[0].uplink, "up0");
	assert_string_equal(rows[0].local, "10.1.0.2:40001");
	assert_string_equal(rows[0].remote, "10.9.0.2:1935");
	assert_float_equal(rows[0].send_bps, 1.6e6, 1);
	assert_float_equal(rows[0].goodput_bps, 1.6e6, 1);
	assert_float_equal(rows[0].rtt_ms, 30.0, 1e-9);
	assert_int_equal(rows[0].cwnd, 10);

	assert_string_equal(rows[1].uplink, "up1");
	assert_float_equal(rows[1].send_bps, 0.8e6, 1);
	assert_float_equal(rows[1].goodput_bps, 0.64e6, 1);
	assert_int_equal(rows[1].retrans_bytes, 2000);

	/* Unknown address: "-"; born in the interval: all its bytes count. */
	assert_string_equal(rows[2].uplink, "-");
	assert_float_equal(rows[2].send_bps, 0.4e6, 1);

	assert_string_equal(total.uplink, "total");
	assert_float_equal(total.send_bps, 2.8e6, 1);
	assert_float_equal(total.goodput_bps, 2.64e6, 1);
	assert_int_equal(total.retrans_bytes, 2000);
	assert_float_equal(total.rtt_ms, 40.0, 1e-9); /* mean of the subflows that have one */
}

static void test_first_interval(void **state)
{
	struct conn_snapshot prev = {0};
	struct conn_snapshot cur = {.t_ns = 5, .mptcp = true, .n = 1};
	struct conn_row rows[CONN_MAX_SUBFLOWS], total;

	sample(&cur.sf[0], 1, "10.1.0.2", 123456, 123456, 10, 1000);
	assert_int_equal(conn_diff(&prev, &cur, NULL, NULL, rows, &total), 1);
	assert_float_equal(rows[0].send_bps, 0, 0);
	assert_int_equal(rows[0].retrans_bytes, 0);
	assert_string_equal(rows[0].uplink, "-");
	assert_int_equal(conn_diff(NULL, &cur, NULL, NULL, rows, &total), 1);
	assert_float_equal(total.send_bps, 0, 0);
}

static void test_counter_reset(void **state)
{
	struct conn_snapshot prev = {.t_ns = 0, .n = 1}, cur = {.t_ns = 1000000000, .n = 1};
	struct conn_row rows[CONN_MAX_SUBFLOWS], total;

	/* Same id, smaller counters (a new connection): count from zero, never wrap. */
	sample(&prev.sf[0], 1, "10.1.0.2", 900000, 900000, 500, 0);
	sample(&cur.sf[0], 1, "10.1.0.2", 1000, 1000, 0, 0);
	conn_diff(&prev, &cur, NULL, NULL, rows, &total);
	assert_float_equal(rows[0].send_bps, 8000, 1e-6);
	assert_int_equal(rows[0].retrans_bytes, 0);
}

static void test_format(void **state)
{
	struct conn_snapshot prev = {.t_ns = 0, .n = 1}, cur = {.t_ns = 1000000000, .n = 1};
	struct conn_row rows[CONN_MAX_SUBFLOWS], total;
	struct conn_stream_status st = {.valid = true,
					.target_bps = 3500000,
					.encoder_bps = 3420000,
					.queue_ms = 40,
					.delay_ms = 180,
					.socket_bytes = 65536,
					.dropped_frames = 12,
					.reconnects = 3};
	char line[512], csv[2048] = {0};
	FILE *f = tmpfile();

	sample(&prev.sf[0], 7, "10.1.0.2", 0, 0, 0, 0);
	sample(&cur.sf[0], 7, "10.1.0.2", 250000, 125000, 42, 12345);
	conn_diff(&prev, &cur, namer, NULL, rows, &total);
	conn_format_line(rows, 1, &total, NULL, line, sizeof(line));
	assert_string_equal(line, "total 2.00/1.00 Mbit/s, 1 subflow | #7 up0 2.00/1.00 rtt 12.3ms "
				  "cwnd 70 rtx 42B");
	conn_format_line(rows, 1, &total, &st, line, sizeof(line));
	assert_string_equal(line,
			    "video 3.50/3.42 Mbit/s, delay 180 ms (queue 40 ms), dropped 12 | "
			    "total 2.00/1.00 Mbit/s, 1 subflow | #7 up0 2.00/1.00 rtt 12.3ms "
			    "cwnd 70 rtx 42B");
	st.target_bps = 0; /* --copy */
	conn_format_line(rows, 1, &total, &st, line, sizeof(line));
	assert_true(strncmp(line, "video 3.42 Mbit/s (copy), delay 180 ms", 38) == 0);
	st.target_bps = 3500000;

	assert_non_null(f);
	fputs(conn_csv_header, f);
	st.input = "lost";
	conn_write_csv(f, 1.5, rows, 1, &total, &st, "up0=up;up1=down",
		       "up1=LTE:72:-95:12.5:home:ready");
	conn_write_csv(f, 2.5, rows, 1, &total, NULL, NULL, NULL);
	rewind(f);
	assert_true(fread(csv, 1, sizeof(csv) - 1, f) > 0);
	fclose(f);
	assert_string_equal(
		csv,
		"time_s,subflow,uplink,local,remote,send_bps,goodput_bps,retrans_bytes,"
		"rtt_ms,cwnd,target_bps,encoder_bps,queue_ms,delay_ms,socket_bytes,dropped_frames,"
		"reconnects,uplinks,input,family,radio\n"
		"1.500,7,up0,10.1.0.2:40007,10.9.0.2:1935,2000000,1000000,42,12.345,70,,,,,,,,,,"
		"ipv4,\n"
		"1.500,total,total,,,2000000,1000000,42,12.345,70,3500000,3420000,40,180,65536,12,"
		"3,"
		"up0=up;up1=down,lost,,up1=LTE:72:-95:12.5:home:ready\n"
		"2.500,7,up0,10.1.0.2:40007,10.9.0.2:1935,2000000,1000000,42,12.345,70,,,,,,,,,,"
		"ipv4,\n"
		"2.500,total,total,,,2000000,1000000,42,12.345,70,,,,,,,,,,,\n");
}

/* The largest RTT among the subflows acknowledged lately; a silent one does not count. */
static void test_max_rtt(void **state)
{
	struct conn_snapshot s = {.n = 3};

	(void)state;
	s.sf[0] = (struct conn_subflow){.rtt_us = 40000, .last_ack_ms = 5};
	s.sf[1] = (struct conn_subflow){.rtt_us = 90000, .last_ack_ms = 200};
	s.sf[2] = (struct conn_subflow){.rtt_us = 700000, .last_ack_ms = 1500};
	assert_int_equal(conn_max_rtt_us(&s, 1000), 90000);
	assert_int_equal(conn_max_rtt_us(&s, 100), 40000);
	assert_int_equal(conn_max_rtt_us(&s, 2000), 700000);
	assert_int_equal(conn_max_rtt_us(&s, 5), 0);
}

/* --trace's lines: the counters as they are, a subflow a line; "-" when there is none. */
static void test_trace(void **state)
{
	struct conn_snapshot s = {.n = 2, .conn_written = 9000, .conn_delivered = 4000};
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);

	(void)state;
	assert_non_null(f);
	sample(&s.sf[0], 1, "10.1.0.2", 5000, 4000, 100, 52000);
	s.sf[0].rttvar_us = 9000;
	s.sf[0].state = 1;
	s.sf[0].unacked = 3;
	s.sf[0].last_ack_ms = 12;
	s.sf[0].notsent = 2896;
	sample(&s.sf[1], 2, "10.2.0.2", 0, 0, 0, 0);
	conn_write_trace(f, 1250, &s);
	s.n = 0;
	conn_write_trace(f, 1300, &s);
	fclose(f);
	assert_string_equal(buf, "1250,1,10.1.0.2:40001,1,52000,9000,3,12,4000,100,9000,4000,2896\n"
				 "1250,2,10.2.0.2:40002,0,0,0,0,0,0,0,9000,4000,0\n"
				 "1300,-,,,,,,,,,9000,4000,\n");
	assert_int_equal(strchr(conn_trace_header, '\n') - conn_trace_header + 1,
			 (long)strlen(conn_trace_header));
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rates),	      cmocka_unit_test(test_first_interval),
		cmocka_unit_test(test_counter_reset), cmocka_unit_test(test_format),
		cmocka_unit_test(test_max_rtt),	      cmocka_unit_test(test_trace),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
