// SPDX-License-Identifier: MIT
/*
 * The modem watch's API without ModemManager and without a bus (modem/modem.h):
 * its arguments, a bus that is not there (the status says so, nothing fails,
 * nothing is present), an interface not watched, the wait's time limit, and a
 * stop while it is retrying. The reading itself is tested against a stand-in
 * ModemManager in tests/modem/.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "modem.h"

#include <errno.h>
#include <math.h>
#include <time.h>

#define NO_BUS "unix:path=/nonexistent/mpstream-test-bus"

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_arguments(void **state)
{
	const char *names[] = {"wwan0", "a_name_too_long_for_ifnamsiz"};
	struct mm_watch *w = (struct mm_watch *)1;

	assert_int_equal(mm_watch_start(names, 0, NULL, &w), -EINVAL);
	assert_null(w);
	assert_int_equal(mm_watch_start(names, 2, NULL, &w), -EINVAL);
	assert_null(w);
	mm_watch_stop(NULL);
}

/* Wait until the status is @want (the thread's first attempt), at most 5 s. */
static void wait_status(struct mm_watch *w, enum mm_watch_status want)
{
	uint64_t gen = 0;
	int64_t end = now_ms() + 5000;

	while (mm_watch_status(w) != want && now_ms() < end)
		gen = mm_watch_wait(w, gen, 100);
	assert_int_equal(mm_watch_status(w), want);
}

static void test_no_bus(void **state)
{
	const char *names[] = {"wwan0", "wwan1"};
	struct mm_watch_config cfg = {.bus_address = NO_BUS, .retry_s = 1};
	struct mm_watch *w;
	struct modem_radio r;

	assert_int_equal(mm_watch_start(names, 2, &cfg, &w), 0);
	wait_status(w, MM_WATCH_NO_BUS);
	assert_string_equal(mm_watch_status_name(mm_watch_status(w)), "no bus");
	assert_true(mm_watch_generation(w) > 0);

	assert_int_equal(mm_watch_get(w, "wwan1", &r), 0);
	assert_false(r.present);
	assert_int_equal(r.quality, -1);
	assert_int_equal(r.reg, MODEM_REG_UNKNOWN);
	assert_int_equal(r.sim, MODEM_SIM_UNKNOWN);
	assert_true(isnan(r.lte.rsrp));
	assert_int_equal(mm_watch_get(w, "eth0", &r), -ENOENT);
	assert_false(r.present);

	/* Nothing changes while the bus stays away (the retries change nothing). */
	uint64_t gen = mm_watch_generation(w);
	int64_t t0 = now_ms();
	assert_int_equal(mm_watch_wait(w, gen, 1500), gen);
	assert_true(now_ms() - t0 >= 1400);
	/* Stopped while it retries. */
	mm_watch_stop(w);
}

static void test_stop_at_once(void **state)
{
	const char *names[] = {"wwan0"};
	struct mm_watch_config cfg = {.bus_address = NO_BUS};
	struct mm_watch *w;

	assert_int_equal(mm_watch_start(names, 1, &cfg, &w), 0);
	mm_watch_stop(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_arguments),
		cmocka_unit_test(test_no_bus),
		cmocka_unit_test(test_stop_at_once),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
