/* SPDX-License-Identifier: MIT */
/*
 * ModemManager's values in mpstream's terms (pure: ModemManager's enums, no
 * glib, no D-Bus), for read.c and for their unit test.
 */
#ifndef MPS_MODEM_RADIO_H
#define MPS_MODEM_RADIO_H

#include "modem.h"

#include <stdint.h>

/* An MMModemAccessTechnology mask as "5G", "LTE", "3G", "2G" (the newest of them), or "". */
const char *modem_tech_name(uint32_t access_technologies);

/* An MMModem3gppRegistrationState as enum modem_reg. */
enum modem_reg modem_reg_of(uint32_t registration_state);

/*
 * The SIM from the modem's MMModemState, MMModemStateFailedReason and
 * MMModemLock, and whether its Sim property names a SIM object.
 */
enum modem_sim modem_sim_of(int state, uint32_t failed_reason, uint32_t lock, bool has_sim);

/* The MMModemLock whose attempts left the operator needs for @sim, or 0 (MM_MODEM_LOCK_UNKNOWN). */
uint32_t modem_sim_lock(enum modem_sim sim);

/* A radio as nothing known: not present, every figure unknown (NAN, -1). */
void modem_radio_unknown(struct modem_radio *r);

/* Equal but for the generation (NANs equal each other). */
bool modem_radio_equal(const struct modem_radio *a, const struct modem_radio *b);

#endif
