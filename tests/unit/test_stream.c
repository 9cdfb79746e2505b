// SPDX-License-Identifier: MIT
/* The stream's arithmetic: the reconnect back-off and the cap of data in flight. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "radio.h"
#include "stream.h"
#include "uplinks.h"

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <stdio.h>

/* 0.5 s doubling to 10 s, and 10 s from then on. */
static void test_backoff(void **state)
{
	static const int expect[] = {500, 1000, 2000, 4000, 8000, 10000, 10000, 10000};

	(void)state;
	for (int attempt = 1; attempt <= 8; attempt++)
		assert_int_equal(snd_backoff_ms(attempt), expect[attempt - 1]);
	assert_int_equal(snd_backoff_ms(1000), SND_BACKOFF_MAX_MS);
	assert_int_equal(snd_backoff_ms(0), SND_BACKOFF_MIN_MS);
}

static void test_inflight_cap(void **state)
{
	struct conn_snapshot s = {.mptcp = true, .n = 2};

	(void)state;
	s.sf[0] = (struct conn_subflow){.rtt_us = 40000, .last_ack_ms = 5};
	s.sf[1] = (struct conn_subflow){.rtt_us = 90000, .last_ack_ms = 10};
	/* 8 Mbit/s for 250 ms (twice the slowest RTT is less): 250 kB. */
	assert_int_equal(snd_inflight_cap(&s, 8e6), 250000);
	/* A slow path that still acknowledges: twice its RTT. */
	s.sf[1].rtt_us = 400000;
	assert_int_equal(snd_inflight_cap(&s, 8e6), 800000);
	/* A dead one's RTT does not count. */
	s.sf[1].last_ack_ms = 2000;
	assert_int_equal(snd_inflight_cap(&s, 8e6), 250000);
	/* A low rate: the floor. */
	assert_int_equal(snd_inflight_cap(&s, 1e6), SND_INFLIGHT_MIN);
	/* No rate, or plain TCP: no cap. */
	assert_int_equal(snd_inflight_cap(&s, 0), 0);
	s.mptcp = false;
	assert_int_equal(snd_inflight_cap(&s, 8e6), 0);
}

/* The test's uplinks: lte0 owns 10.0.1.2 and 10.0.1.3, lte1 10.0.2.2. */
static void name_test_uplink(const struct sockaddr *local, char *name, size_t size, void *opaque)
{
	uint32_t a = local->sa_family == AF_INET
			     ? ntohl(((const struct sockaddr_in *)local)->sin_addr.s_addr)
			     : 0;

	(void)opaque;
	snprintf(name, size, "%s",
		 a == 0x0a000102 || a == 0x0a000103 ? "lte0"
		 : a == 0x0a000202		    ? "lte1"
						    : "");
}

/* Rate control's input, from one snapshot: the socket's bytes, the paths, at most RC_MAX_PATHS. */
static void test_rate_input(void **state)
{
	static struct conn_snapshot s = {.t_ns = 86400LL * 400 * 1000000000 + 7500000,
					 .mptcp = true,
					 .conn_written = UINT64_MAX - 100,
					 .conn_delivered = UINT64_MAX - 60100};
	struct enc_progress p = {.queue_ms = 240};
	struct rc_input in;

	(void)state;
	s.n = CONN_MAX_SUBFLOWS;
	for (size_t i = 0; i < s.n; i++)
		s.sf[i] = (struct conn_subflow){.id = (uint32_t)i + 10,
						.state = TCP_ESTABLISHED,
						.rtt_us = 41500,
						.bytes_acked = 1000 * i};
	snd_rate_input(&s, NULL, 1200, &p, true, 2.4e6, &in);
	/* 400 days of monotonic time, in ms, without a wrap. */
	assert_int_equal(in.t_ms, 86400LL * 400 * 1000 + 7);
	assert_int_equal(in.socket_bytes, 60000);
	assert_int_equal(in.unsent_bytes, 1200);
	assert_true(in.held);
	assert_int_equal(in.queue_ms, 240);
	assert_true(in.encoder_bps == 2.4e6);
	assert_true(in.written_seq == UINT64_MAX - 100);
	assert_int_equal(in.n_paths, RC_MAX_PATHS);
	assert_int_equal(in.paths[1].id, 11);
	assert_true(in.paths[1].rtt_ms == 41.5);
	assert_int_equal(in.paths[RC_MAX_PATHS - 1].acked_bytes, 1000 * (RC_MAX_PATHS - 1));
	assert_int_equal(in.paths[0].uplink, 0); /* no local address known */
	/* The uplink: its local address, whatever the port; IPv6 as well. */
	for (size_t i = 0; i < 4; i++) {
		struct sockaddr_in *a = (struct sockaddr_in *)&s.sf[i].local;

		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)(40000 + i));
		a->sin_addr.s_addr = htonl(i < 2 ? 0x0a000102 : 0x0a000202);
	}
	s.sf[4].local.ss_family = AF_INET6;
	((struct sockaddr_in6 *)&s.sf[4].local)->sin6_addr.s6_addr[15] = 2;
	snd_rate_input(&s, NULL, 1200, &p, true, 2.4e6, &in);
	assert_int_not_equal(in.paths[0].uplink, 0);
	assert_int_equal(in.paths[0].uplink, in.paths[1].uplink);
	assert_int_equal(in.paths[2].uplink, in.paths[3].uplink);
	assert_int_not_equal(in.paths[0].uplink, in.paths[2].uplink);
	assert_int_not_equal(in.paths[4].uplink, 0);
	assert_int_not_equal(in.paths[4].uplink, in.paths[2].uplink);
	/*
	 * Named by its uplink: both addresses of one modem (a new one when it
	 * attaches again) are one key, another uplink's another; an address
	 * no uplink owns keeps the key of its address.
	 */
	{
		uint32_t by_address = in.paths[4].uplink;
		const struct snd_namer namer = {name_test_uplink, NULL};

		((struct sockaddr_in *)&s.sf[1].local)->sin_addr.s_addr = htonl(0x0a000103);
		snd_rate_input(&s, &namer, 1200, &p, true, 2.4e6, &in);
		assert_int_not_equal(in.paths[0].uplink, 0);
		assert_int_equal(in.paths[0].uplink, in.paths[1].uplink);
		assert_int_equal(in.paths[2].uplink, in.paths[3].uplink);
		assert_int_not_equal(in.paths[0].uplink, in.paths[2].uplink);
		assert_int_equal(in.paths[4].uplink, by_address);
		snd_rate_input(&s, NULL, 1200, &p, true, 2.4e6, &in);
		assert_int_not_equal(in.paths[0].uplink, in.paths[1].uplink); /* two addresses */
	}
	/* A subflow closing (health released it) is not in it: the next one takes its place. */
	s.sf[1].state = TCP_CLOSING;
	snd_rate_input(&s, NULL, 1200, &p, true, 2.4e6, &in);
	assert_int_equal(in.n_paths, RC_MAX_PATHS - 1);
	assert_int_equal(in.paths[0].id, 10);
	assert_int_equal(in.paths[1].id, 12);
	/* The ioctl failed or said nothing: no unsent bytes. */
	s.n = 1;
	snd_rate_input(&s, NULL, -1, &p, false, 0, &in);
	assert_int_equal(in.unsent_bytes, 0);
	assert_int_equal(in.n_paths, 1);
	assert_false(in.held);
}

/* A modem's radio as failover reads it: off its network only when it says so. */
static void test_radio_of(void **state)
{
	struct modem_radio r;
	struct fo_radio f;

	(void)state;
	modem_radio_unknown(&r);
	snd_radio_of(&r, &f);
	assert_false(f.modem);
	r.present = true;
	snd_radio_of(&r, &f); /* present, registration not known yet: its link decides */
	assert_true(f.modem && f.registered);
	assert_string_equal(f.said, "registration unknown");
	snprintf(r.state, sizeof(r.state), "enabling");
	snd_radio_of(&r, &f);
	assert_true(f.registered);
	assert_string_equal(f.said, "enabling");
	/* Switched off: ModemManager then says the registration is unknown. */
	snprintf(r.state, sizeof(r.state), "disabled");
	snd_radio_of(&r, &f);
	assert_false(f.registered);
	assert_string_equal(f.said, "disabled");
	snprintf(r.state, sizeof(r.state), "registered");
	r.reg = MODEM_REG_HOME;
	r.quality = 72;
	snprintf(r.tech, sizeof(r.tech), "LTE");
	snd_radio_of(&r, &f);
	assert_true(f.registered);
	assert_string_equal(f.said, "LTE 72%");
	r.reg = MODEM_REG_SEARCHING;
	snd_radio_of(&r, &f);
	assert_false(f.registered);
	assert_string_equal(f.said, modem_reg_name(MODEM_REG_SEARCHING));
	r.reg = MODEM_REG_DENIED;
	snd_radio_of(&r, &f);
	assert_false(f.registered);
	r.reg = MODEM_REG_ROAMING;
	snd_radio_of(&r, &f);
	assert_true(f.registered);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_inflight_cap),
		cmocka_unit_test(test_rate_input),
		cmocka_unit_test(test_radio_of),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
