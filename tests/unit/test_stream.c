// SPDX-License-Identifier: MIT
/* The stream's arithmetic: the reconnect back-off and the cap of data in flight. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "stream.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_inflight_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
