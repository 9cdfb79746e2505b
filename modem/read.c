// SPDX-License-Identifier: MIT
/*
 * A bound modem's values, read from libmm-glib's proxies. The proxies hold
 * the properties as the last D-Bus signals left them, so this is no call to
 * ModemManager: it is run again at each change.
 */
#include "radio.h"
#include "watch_internal.h"

#include <math.h>
#include <stdio.h>

static void copy_text(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

/* MM_SIGNAL_UNKNOWN (-G_MAXDOUBLE) as NAN. */
static double known(double v)
{
	return v == MM_SIGNAL_UNKNOWN ? NAN : v;
}

static void read_modem(MMModem *m, struct modem_radio *r)
{
	gboolean recent = FALSE;
	const char *sim_path = mm_modem_get_sim_path(m);
	bool has_sim = sim_path && strcmp(sim_path, "/") != 0;
	MMModemState state = mm_modem_get_state(m);

	copy_text(r->model, sizeof(r->model), mm_modem_get_model(m));
	copy_text(r->manufacturer, sizeof(r->manufacturer), mm_modem_get_manufacturer(m));
	copy_text(r->tech, sizeof(r->tech), modem_tech_name(mm_modem_get_access_technologies(m)));
	copy_text(r->state, sizeof(r->state), mm_modem_state_get_string(state));
	r->quality = (int)mm_modem_get_signal_quality(m, &recent);
	r->quality_recent = recent;
	r->sim = modem_sim_of(state, mm_modem_get_state_failed_reason(m),
			      mm_modem_get_unlock_required(m), has_sim);

	MMUnlockRetries *retries = mm_modem_get_unlock_retries(m);
	uint32_t lock = modem_sim_lock(r->sim);
	if (retries && lock != MM_MODEM_LOCK_UNKNOWN) {
		guint left = mm_unlock_retries_get(retries, (MMModemLock)lock);
		r->sim_retries = left == MM_UNLOCK_RETRIES_UNKNOWN ? -1 : (int)left;
	}
	if (retries)
		g_object_unref(retries);
}

static void read_3gpp(MMModem3gpp *m3gpp, struct modem_radio *r)
{
	copy_text(r->operator_name, sizeof(r->operator_name),
		  mm_modem_3gpp_get_operator_name(m3gpp));
	copy_text(r->operator_code, sizeof(r->operator_code),
		  mm_modem_3gpp_get_operator_code(m3gpp));
	r->reg = modem_reg_of(mm_modem_3gpp_get_registration_state(m3gpp));
}

static void read_signal(MMModemSignal *sig, struct modem_radio *r)
{
	MMSignal *s;

	r->signal_rate_s = mm_modem_signal_get_rate(sig);
	if ((s = mm_modem_signal_get_lte(sig))) {
		r->lte.rsrp = known(mm_signal_get_rsrp(s));
		r->lte.rsrq = known(mm_signal_get_rsrq(s));
		r->lte.snr = known(mm_signal_get_snr(s));
		r->lte.rssi = known(mm_signal_get_rssi(s));
		g_object_unref(s);
	}
	if ((s = mm_modem_signal_get_nr5g(sig))) {
		r->nr.rsrp = known(mm_signal_get_rsrp(s));
		r->nr.rsrq = known(mm_signal_get_rsrq(s));
		r->nr.sinr = known(mm_signal_get_snr(s));
		g_object_unref(s);
	}
	/* RSSI where that is all there is: 3G's, else 2G's. */
	if ((s = mm_modem_signal_get_umts(sig))) {
		r->rssi = known(mm_signal_get_rssi(s));
		g_object_unref(s);
	}
	if (isnan(r->rssi) && (s = mm_modem_signal_get_gsm(sig))) {
		r->rssi = known(mm_signal_get_rssi(s));
		g_object_unref(s);
	}
}

void mw_read(const struct mm_slot *slot, struct modem_radio *r)
{
	modem_radio_unknown(r);
	if (!slot->modem)
		return;
	r->present = true;
	read_modem(slot->modem, r);
	if (slot->m3gpp)
		read_3gpp(slot->m3gpp, r);
	if (slot->sig)
		read_signal(slot->sig, r);
}
