// SPDX-License-Identifier: MIT
/*
 * ModemManager's numbers in mpstream's words. Pure: the enums of
 * <ModemManager.h> (a header of plain C enums), no library.
 */
#include "radio.h"

#include <ModemManager.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* Newest first: the first row whose bits are set names the technology. */
static const struct {
	uint32_t mask;
	const char *name;
} tech_table[] = {
	{MM_MODEM_ACCESS_TECHNOLOGY_5GNR, "5G"},
	{MM_MODEM_ACCESS_TECHNOLOGY_LTE | MM_MODEM_ACCESS_TECHNOLOGY_LTE_CAT_M |
		 MM_MODEM_ACCESS_TECHNOLOGY_LTE_NB_IOT,
	 "LTE"},
	{MM_MODEM_ACCESS_TECHNOLOGY_UMTS | MM_MODEM_ACCESS_TECHNOLOGY_HSDPA |
		 MM_MODEM_ACCESS_TECHNOLOGY_HSUPA | MM_MODEM_ACCESS_TECHNOLOGY_HSPA |
		 MM_MODEM_ACCESS_TECHNOLOGY_HSPA_PLUS | MM_MODEM_ACCESS_TECHNOLOGY_EVDO0 |
		 MM_MODEM_ACCESS_TECHNOLOGY_EVDOA | MM_MODEM_ACCESS_TECHNOLOGY_EVDOB,
	 "3G"},
	{MM_MODEM_ACCESS_TECHNOLOGY_GSM | MM_MODEM_ACCESS_TECHNOLOGY_GSM_COMPACT |
		 MM_MODEM_ACCESS_TECHNOLOGY_GPRS | MM_MODEM_ACCESS_TECHNOLOGY_EDGE |
		 MM_MODEM_ACCESS_TECHNOLOGY_1XRTT,
	 "2G"},
};

const char *modem_tech_name(uint32_t access_technologies)
{
	/* ANY is a filter's value, never a modem's current technology. */
	if (access_technologies == MM_MODEM_ACCESS_TECHNOLOGY_ANY)
		return "";
	for (size_t i = 0; i < sizeof(tech_table) / sizeof(tech_table[0]); i++)
		if (access_technologies & tech_table[i].mask)
			return tech_table[i].name;
	return "";
}

enum modem_reg modem_reg_of(uint32_t registration_state)
{
	switch (registration_state) {
	case MM_MODEM_3GPP_REGISTRATION_STATE_HOME:
	case MM_MODEM_3GPP_REGISTRATION_STATE_HOME_SMS_ONLY:
	case MM_MODEM_3GPP_REGISTRATION_STATE_HOME_CSFB_NOT_PREFERRED:
		return MODEM_REG_HOME;
	case MM_MODEM_3GPP_REGISTRATION_STATE_ROAMING:
	case MM_MODEM_3GPP_REGISTRATION_STATE_ROAMING_SMS_ONLY:
	case MM_MODEM_3GPP_REGISTRATION_STATE_ROAMING_CSFB_NOT_PREFERRED:
		return MODEM_REG_ROAMING;
	case MM_MODEM_3GPP_REGISTRATION_STATE_SEARCHING:
		return MODEM_REG_SEARCHING;
	/* Emergency calls only, or restricted local services: no data. */
	case MM_MODEM_3GPP_REGISTRATION_STATE_DENIED:
	case MM_MODEM_3GPP_REGISTRATION_STATE_EMERGENCY_ONLY:
	case MM_MODEM_3GPP_REGISTRATION_STATE_ATTACHED_RLOS:
		return MODEM_REG_DENIED;
	case MM_MODEM_3GPP_REGISTRATION_STATE_IDLE:
		return MODEM_REG_IDLE;
	default:
		return MODEM_REG_UNKNOWN;
	}
}

enum modem_sim modem_sim_of(int state, uint32_t failed_reason, uint32_t lock, bool has_sim)
{
	if (state == MM_MODEM_STATE_FAILED &&
	    failed_reason == MM_MODEM_STATE_FAILED_REASON_SIM_MISSING)
		return MODEM_SIM_MISSING;
	switch (lock) {
	case MM_MODEM_LOCK_SIM_PIN:
		return MODEM_SIM_PIN;
	case MM_MODEM_LOCK_SIM_PUK:
		return MODEM_SIM_PUK;
	case MM_MODEM_LOCK_NONE:
		return has_sim ? MODEM_SIM_READY : MODEM_SIM_MISSING;
	case MM_MODEM_LOCK_UNKNOWN:
		/* Still initialising: a SIM may yet be found. */
		return MODEM_SIM_UNKNOWN;
	default:
		return MODEM_SIM_LOCKED;
	}
}

uint32_t modem_sim_lock(enum modem_sim sim)
{
	switch (sim) {
	case MODEM_SIM_PIN:
		return MM_MODEM_LOCK_SIM_PIN;
	case MODEM_SIM_PUK:
		return MM_MODEM_LOCK_SIM_PUK;
	default:
		return MM_MODEM_LOCK_UNKNOWN;
	}
}

void modem_radio_unknown(struct modem_radio *r)
{
	memset(r, 0, sizeof(*r));
	r->quality = -1;
	r->sim_retries = -1;
	r->lte.rsrp = r->lte.rsrq = r->lte.snr = r->lte.rssi = NAN;
	r->nr.rsrp = r->nr.rsrq = r->nr.sinr = NAN;
	r->rssi = NAN;
}

static bool same(double a, double b)
{
	return (isnan(a) && isnan(b)) || a == b;
}

bool modem_radio_equal(const struct modem_radio *a, const struct modem_radio *b)
{
	return a->present == b->present && !strcmp(a->model, b->model) &&
	       !strcmp(a->manufacturer, b->manufacturer) &&
	       !strcmp(a->operator_name, b->operator_name) &&
	       !strcmp(a->operator_code, b->operator_code) && !strcmp(a->tech, b->tech) &&
	       !strcmp(a->state, b->state) && a->reg == b->reg && a->quality == b->quality &&
	       a->quality_recent == b->quality_recent && same(a->lte.rsrp, b->lte.rsrp) &&
	       same(a->lte.rsrq, b->lte.rsrq) && same(a->lte.snr, b->lte.snr) &&
	       same(a->lte.rssi, b->lte.rssi) && same(a->nr.rsrp, b->nr.rsrp) &&
	       same(a->nr.rsrq, b->nr.rsrq) && same(a->nr.sinr, b->nr.sinr) &&
	       same(a->rssi, b->rssi) && a->signal_rate_s == b->signal_rate_s && a->sim == b->sim &&
	       a->sim_retries == b->sim_retries;
}

static const char *const reg_names[] = {
	[MODEM_REG_UNKNOWN] = "unknown",     [MODEM_REG_IDLE] = "idle",
	[MODEM_REG_SEARCHING] = "searching", [MODEM_REG_DENIED] = "denied",
	[MODEM_REG_HOME] = "home",	     [MODEM_REG_ROAMING] = "roaming",
};

static const char *const sim_names[] = {
	[MODEM_SIM_UNKNOWN] = "unknown", [MODEM_SIM_MISSING] = "missing",
	[MODEM_SIM_PIN] = "pin",	 [MODEM_SIM_PUK] = "puk",
	[MODEM_SIM_LOCKED] = "locked",	 [MODEM_SIM_READY] = "ready",
};

static const char *const status_names[] = {
	[MODEM_WATCH_STARTING] = "starting",
	[MODEM_WATCH_NO_BUS] = "no bus",
	[MODEM_WATCH_NO_MODEMMANAGER] = "no ModemManager",
	[MODEM_WATCH_RUNNING] = "running",
};

const char *modem_reg_name(enum modem_reg reg)
{
	return (unsigned)reg < sizeof(reg_names) / sizeof(reg_names[0]) ? reg_names[reg]
									: "unknown";
}

const char *modem_sim_name(enum modem_sim sim)
{
	return (unsigned)sim < sizeof(sim_names) / sizeof(sim_names[0]) ? sim_names[sim]
									: "unknown";
}

const char *modem_watch_status_name(enum modem_watch_status status)
{
	return (unsigned)status < sizeof(status_names) / sizeof(status_names[0])
		       ? status_names[status]
		       : "unknown";
}

bool modem_reg_registered(enum modem_reg reg)
{
	return reg == MODEM_REG_HOME || reg == MODEM_REG_ROAMING;
}

/*
 * Off, as ModemManager says of a modem it reports no registration of:
 * disabled, failed, locked (otherwise it is still coming up).
 */
static bool modem_off(const struct modem_radio *r)
{
	static const char *const off[] = {"disabled", "disabling", "failed", "locked"};

	for (size_t k = 0; k < sizeof(off) / sizeof(off[0]); k++)
		if (!strcmp(r->state, off[k]))
			return true;
	return false;
}

bool modem_radio_on_network(const struct modem_radio *r)
{
	return modem_reg_registered(r->reg) || (r->reg == MODEM_REG_UNKNOWN && !modem_off(r));
}

int modem_radio_words(const struct modem_radio *r, char *buf, size_t size)
{
	static const char *const sim_words[] = {
		[MODEM_SIM_MISSING] = "no SIM",
		[MODEM_SIM_PIN] = "SIM PIN",
		[MODEM_SIM_PUK] = "SIM PUK",
		[MODEM_SIM_LOCKED] = "SIM locked",
	};
	static const char *const net_words[] = {
		[MODEM_REG_SEARCHING] = "searching",
		[MODEM_REG_DENIED] = "refused",
		[MODEM_REG_IDLE] = "radio off",
	};

	if (!r->present)
		return snprintf(buf, size, "%s", "");
	if ((unsigned)r->sim < sizeof(sim_words) / sizeof(sim_words[0]) && sim_words[r->sim])
		return snprintf(buf, size, "%s", sim_words[r->sim]);
	if (!modem_radio_on_network(r))
		return snprintf(buf, size, "%s",
				(unsigned)r->reg < sizeof(net_words) / sizeof(net_words[0]) &&
						net_words[r->reg]
					? net_words[r->reg]
					: r->state);
	if (r->quality >= 0)
		return snprintf(buf, size, "%s%s%d%%", r->tech, r->tech[0] ? " " : "", r->quality);
	return snprintf(buf, size, "%s",
			r->tech[0]    ? r->tech
			: r->state[0] ? r->state
				      : "registration unknown");
}
