// SPDX-License-Identifier: MIT
/*
 * ModemManager's values in mpstream's words (modem/radio.h), pure: the
 * technology's short name, the registration, the SIM, the comparison that
 * decides whether a snapshot changed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "radio.h"

#include <ModemManager.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static void test_tech(void **state)
{
	assert_string_equal(modem_tech_name(MM_MODEM_ACCESS_TECHNOLOGY_LTE), "LTE");
	/* 5G NSA reports LTE and 5G NR at once: the newest wins. */
	assert_string_equal(
		modem_tech_name(MM_MODEM_ACCESS_TECHNOLOGY_LTE | MM_MODEM_ACCESS_TECHNOLOGY_5GNR),
		"5G");
	assert_string_equal(modem_tech_name(MM_MODEM_ACCESS_TECHNOLOGY_HSPA_PLUS), "3G");
	assert_string_equal(modem_tech_name(MM_MODEM_ACCESS_TECHNOLOGY_UMTS), "3G");
	assert_string_equal(modem_tech_name(MM_MODEM_ACCESS_TECHNOLOGY_EDGE), "2G");
	assert_string_equal(modem_tech_name(MM_MODEM_ACCESS_TECHNOLOGY_LTE_CAT_M), "LTE");
	assert_string_equal(modem_tech_name(MM_MODEM_ACCESS_TECHNOLOGY_UNKNOWN), "");
	assert_string_equal(modem_tech_name(MM_MODEM_ACCESS_TECHNOLOGY_POTS), "");
	assert_string_equal(modem_tech_name(MM_MODEM_ACCESS_TECHNOLOGY_ANY), "");
}

static void test_reg(void **state)
{
	assert_int_equal(modem_reg_of(MM_MODEM_3GPP_REGISTRATION_STATE_HOME), MODEM_REG_HOME);
	assert_int_equal(modem_reg_of(MM_MODEM_3GPP_REGISTRATION_STATE_HOME_SMS_ONLY),
			 MODEM_REG_HOME);
	assert_int_equal(modem_reg_of(MM_MODEM_3GPP_REGISTRATION_STATE_ROAMING_CSFB_NOT_PREFERRED),
			 MODEM_REG_ROAMING);
	assert_int_equal(modem_reg_of(MM_MODEM_3GPP_REGISTRATION_STATE_SEARCHING),
			 MODEM_REG_SEARCHING);
	assert_int_equal(modem_reg_of(MM_MODEM_3GPP_REGISTRATION_STATE_EMERGENCY_ONLY),
			 MODEM_REG_DENIED);
	assert_int_equal(modem_reg_of(MM_MODEM_3GPP_REGISTRATION_STATE_IDLE), MODEM_REG_IDLE);
	assert_int_equal(modem_reg_of(MM_MODEM_3GPP_REGISTRATION_STATE_UNKNOWN), MODEM_REG_UNKNOWN);
	assert_int_equal(modem_reg_of(999), MODEM_REG_UNKNOWN);
	assert_true(modem_reg_registered(MODEM_REG_ROAMING));
	assert_false(modem_reg_registered(MODEM_REG_DENIED));
	assert_string_equal(modem_reg_name(MODEM_REG_SEARCHING), "searching");
	assert_string_equal(modem_reg_name((enum modem_reg)42), "unknown");
}

static void test_sim(void **state)
{
	assert_int_equal(modem_sim_of(MM_MODEM_STATE_FAILED,
				      MM_MODEM_STATE_FAILED_REASON_SIM_MISSING,
				      MM_MODEM_LOCK_UNKNOWN, false),
			 MODEM_SIM_MISSING);
	assert_int_equal(modem_sim_of(MM_MODEM_STATE_LOCKED, 0, MM_MODEM_LOCK_SIM_PIN, true),
			 MODEM_SIM_PIN);
	assert_int_equal(modem_sim_of(MM_MODEM_STATE_LOCKED, 0, MM_MODEM_LOCK_SIM_PUK, true),
			 MODEM_SIM_PUK);
	assert_int_equal(modem_sim_of(MM_MODEM_STATE_LOCKED, 0, MM_MODEM_LOCK_PH_NET_PIN, true),
			 MODEM_SIM_LOCKED);
	assert_int_equal(modem_sim_of(MM_MODEM_STATE_REGISTERED, 0, MM_MODEM_LOCK_NONE, true),
			 MODEM_SIM_READY);
	assert_int_equal(modem_sim_of(MM_MODEM_STATE_DISABLED, 0, MM_MODEM_LOCK_NONE, false),
			 MODEM_SIM_MISSING);
	assert_int_equal(modem_sim_of(MM_MODEM_STATE_INITIALIZING, 0, MM_MODEM_LOCK_UNKNOWN, true),
			 MODEM_SIM_UNKNOWN);
	assert_int_equal(modem_sim_lock(MODEM_SIM_PIN), MM_MODEM_LOCK_SIM_PIN);
	assert_int_equal(modem_sim_lock(MODEM_SIM_PUK), MM_MODEM_LOCK_SIM_PUK);
	assert_int_equal(modem_sim_lock(MODEM_SIM_READY), MM_MODEM_LOCK_UNKNOWN);
	assert_string_equal(modem_sim_name(MODEM_SIM_PUK), "puk");
}

static void test_equal(void **state)
{
	struct modem_radio a, b;

	modem_radio_unknown(&a);
	modem_radio_unknown(&b);
	assert_false(a.present);
	assert_int_equal(a.quality, -1);
	assert_true(isnan(a.lte.rsrp) && isnan(a.nr.sinr) && isnan(a.rssi));
	/* Unknown figures (NAN) are equal; the generation is not compared. */
	b.generation = 7;
	assert_true(modem_radio_equal(&a, &b));
	b.lte.rsrp = -100.0;
	assert_false(modem_radio_equal(&a, &b));
	a.lte.rsrp = -100.0;
	assert_true(modem_radio_equal(&a, &b));
	strcpy(b.tech, "5G");
	assert_false(modem_radio_equal(&a, &b));
	strcpy(a.tech, "5G");
	b.sim_retries = 2;
	assert_false(modem_radio_equal(&a, &b));
}

/* A PIN: 4 to 8 digits, nothing else; an APN: letters, digits, '-' and '.'. */
static void test_codes(void **state)
{
	const char *pins_ok[] = {"0000", "1234", "12345678"};
	const char *pins_bad[] = {
		NULL,	 "",	  "123",   "123456789", "12a4",
		"12 34", " 1234", "+1234", "1234\n",	"\xd9\xa1\xd9\xa2\xd9\xa3\xd9\xa4"};
	char long_apn[MODEM_APN_MAX + 2];

	for (size_t i = 0; i < sizeof(pins_ok) / sizeof(pins_ok[0]); i++)
		assert_true(modem_pin_valid(pins_ok[i]));
	for (size_t i = 0; i < sizeof(pins_bad) / sizeof(pins_bad[0]); i++)
		assert_false(modem_pin_valid(pins_bad[i]));
	assert_true(modem_apn_valid("internet"));
	assert_true(modem_apn_valid("orange.fr-1.mnc001.mcc208.gprs"));
	assert_false(modem_apn_valid(NULL));
	assert_false(modem_apn_valid(""));
	assert_false(modem_apn_valid("my apn"));
	assert_false(modem_apn_valid("apn\"; x"));
	memset(long_apn, 'a', sizeof(long_apn) - 1);
	long_apn[sizeof(long_apn) - 1] = '\0';
	assert_false(modem_apn_valid(long_apn));
	long_apn[MODEM_APN_MAX] = '\0';
	assert_true(modem_apn_valid(long_apn));
}

static const char *words_of(const struct modem_radio *r, char buf[MODEM_WORDS])
{
	int n = modem_radio_words(r, buf, MODEM_WORDS);

	assert_int_equal(n, (int)strlen(buf));
	return buf;
}

/*
 * One wording for each state, the status line's, the log's and the page's:
 * the SIM first, then off its network, then the technology and quality.
 */
static void test_words(void **state)
{
	struct modem_radio r;
	char small[4], b[MODEM_WORDS];

	modem_radio_unknown(&r);
	assert_string_equal(words_of(&r, b), "");
	r.present = true;
	assert_true(modem_radio_on_network(&r)); /* coming up: its link decides */
	assert_string_equal(words_of(&r, b), "registration unknown");
	snprintf(r.state, sizeof(r.state), "enabling");
	assert_true(modem_radio_on_network(&r));
	assert_string_equal(words_of(&r, b), "enabling");
	snprintf(r.state, sizeof(r.state), "disabled");
	assert_false(modem_radio_on_network(&r));
	assert_string_equal(words_of(&r, b), "disabled");
	snprintf(r.state, sizeof(r.state), "registered");
	snprintf(r.tech, sizeof(r.tech), "LTE");
	r.reg = MODEM_REG_HOME;
	r.quality = 72;
	assert_string_equal(words_of(&r, b), "LTE 72%");
	r.quality = -1;
	assert_string_equal(words_of(&r, b), "LTE");
	r.tech[0] = '\0';
	r.quality = 40;
	assert_string_equal(words_of(&r, b), "40%");
	r.quality = -1;
	assert_string_equal(words_of(&r, b), "registered");
	/* Searching is "searching" everywhere (no "no network" in one place and not in another). */
	r.reg = MODEM_REG_SEARCHING;
	assert_false(modem_radio_on_network(&r));
	assert_string_equal(words_of(&r, b), "searching");
	r.reg = MODEM_REG_DENIED;
	assert_string_equal(words_of(&r, b), "refused");
	r.reg = MODEM_REG_IDLE;
	assert_string_equal(words_of(&r, b), "radio off");
	r.reg = MODEM_REG_ROAMING;
	assert_true(modem_radio_on_network(&r));
	r.sim = MODEM_SIM_PIN;
	assert_string_equal(words_of(&r, b), "SIM PIN");
	r.sim = MODEM_SIM_PUK;
	assert_string_equal(words_of(&r, b), "SIM PUK");
	r.sim = MODEM_SIM_MISSING;
	assert_string_equal(words_of(&r, b), "no SIM");
	r.sim = MODEM_SIM_LOCKED;
	assert_string_equal(words_of(&r, b), "SIM locked");
	r.present = false;
	assert_string_equal(words_of(&r, b), "");
	/* Cut as snprintf() cuts, the length it wanted returned. */
	r.present = true;
	r.sim = MODEM_SIM_READY;
	r.quality = 72;
	snprintf(r.tech, sizeof(r.tech), "LTE");
	assert_int_equal(modem_radio_words(&r, small, sizeof(small)), 7);
	assert_string_equal(small, "LTE");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tech),  cmocka_unit_test(test_reg),
		cmocka_unit_test(test_sim),   cmocka_unit_test(test_equal),
		cmocka_unit_test(test_codes), cmocka_unit_test(test_words),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
