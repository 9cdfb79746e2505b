// SPDX-License-Identifier: MIT
/*
 * An uplink's radio in the few words and figures the status line, the CSV,
 * the API and the page show. Pure: the modem's strings are outside input,
 * so they are made valid UTF-8 here and escaped where they are written.
 */
#include "metrics.h"
#include "radio.h" /* modem_radio_unknown(): the pure mps_modem_radio */

#include <math.h>
#include <stdio.h>
#include <string.h>

/* RSRP (dBm) at or above which a bar is lit: the usual LTE ranges. */
static const double rsrp_bar[] = {-115, -105, -95, -85};
/* Signal quality (%) at or above which a bar is lit. */
static const int quality_bar[] = {1, 25, 50, 75};

void metrics_set_radio(struct metrics_data *d, size_t i, const struct modem_radio *radio)
{
	if (i >= d->n_uplinks)
		return;
	if (radio)
		d->uplink[i].radio = *radio;
	else
		modem_radio_unknown(&d->uplink[i].radio);
}

/* The length of the valid UTF-8 sequence at @s (at most @n bytes), 0 if there is none. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t k = 1; k < len; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[k] & 0x3f);
	}
	/* Overlong forms, UTF-16 surrogates, past U+10FFFF. */
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

void metrics_clean_text(const char *s, size_t max, char *out, size_t size)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strnlen(s, max), i = 0, o = 0;

	while (i < n) {
		size_t len = utf8_len(u + i, n - i);

		if (len == 1 && (u[i] < 0x20 || u[i] == 0x7f))
			len = 0;
		if (o + (len ? len : 1) >= size)
			break;
		if (len) {
			memcpy(out + o, u + i, len);
			o += len;
			i += len;
		} else {
			out[o++] = '?';
			i++;
		}
	}
	out[o] = '\0';
}

/* 5G's figure on 5G where it is known, else LTE's. */
static double rsrp_of(const struct modem_radio *r)
{
	return !strcmp(r->tech, "5G") && !isnan(r->nr.rsrp) ? r->nr.rsrp : r->lte.rsrp;
}

static double snr_of(const struct modem_radio *r)
{
	return !strcmp(r->tech, "5G") && !isnan(r->nr.sinr) ? r->nr.sinr : r->lte.snr;
}

/* A figure for a CSV cell: "" when not known, else without a needless decimal. */
static void figure(double v, char *buf, size_t size)
{
	if (isnan(v) || isinf(v))
		buf[0] = '\0';
	else
		snprintf(buf, size, "%.4g", v);
}

int metrics_radio_csv(const struct modem_radio *r, char *buf, size_t size)
{
	char tech[sizeof(r->tech)], q[16] = "", rsrp[24], snr[24];

	if (!r->present)
		return snprintf(buf, size, "%s", "");
	/* Only what the table of technologies names: no separator can come from the modem. */
	metrics_clean_text(r->tech, sizeof(r->tech), tech, sizeof(tech));
	if (strpbrk(tech, ",;:=\"?"))
		tech[0] = '\0';
	if (r->quality >= 0)
		snprintf(q, sizeof(q), "%d", r->quality);
	figure(rsrp_of(r), rsrp, sizeof(rsrp));
	figure(snr_of(r), snr, sizeof(snr));
	return snprintf(buf, size, "%s:%s:%s:%s:%s:%s", tech, q, rsrp, snr, modem_reg_name(r->reg),
			modem_sim_name(r->sim));
}

int metrics_radios_csv(const struct metrics_data *d, char *buf, size_t size)
{
	size_t len = 0;
	char cell[96];

	if (size)
		buf[0] = '\0';
	for (size_t i = 0; i < d->n_uplinks; i++) {
		if (!d->uplink[i].radio.present)
			continue;
		metrics_radio_csv(&d->uplink[i].radio, cell, sizeof(cell));
		len += (size_t)snprintf(len < size ? buf + len : NULL, len < size ? size - len : 0,
					"%s%.*s=%s", len ? ";" : "", IFNAMSIZ,
					d->uplink[i].view.name, cell);
	}
	return (int)len;
}

const char *metrics_radio_alert(const struct modem_radio *r, char *buf)
{
	const char *code = r->sim == MODEM_SIM_PIN ? "PIN" : r->sim == MODEM_SIM_PUK ? "PUK" : NULL;
	char words[MODEM_WORDS];

	if (!r->present)
		return NULL;
	if (r->sim == MODEM_SIM_MISSING)
		snprintf(buf, METRICS_RADIO_ALERT, "no SIM");
	else if (code && r->sim_retries >= 0)
		snprintf(buf, METRICS_RADIO_ALERT, "SIM locked (%s, %d attempt%s left)", code,
			 r->sim_retries, r->sim_retries == 1 ? "" : "s");
	else if (code)
		snprintf(buf, METRICS_RADIO_ALERT, "SIM locked (%s)", code);
	else if (r->sim == MODEM_SIM_LOCKED)
		snprintf(buf, METRICS_RADIO_ALERT, "SIM locked");
	else if (!modem_radio_on_network(r)) {
		/* The same words as the status line and the log (modem_radio_words()). */
		modem_radio_words(r, words, sizeof(words));
		snprintf(buf, METRICS_RADIO_ALERT, "no network (%s)", words);
	} else
		return NULL;
	return buf;
}

int metrics_radio_bars(const struct modem_radio *r)
{
	double rsrp = rsrp_of(r);
	int bars = 0;

	if (!r->present)
		return -1;
	if (!isnan(rsrp)) {
		for (size_t k = 0; k < sizeof(rsrp_bar) / sizeof(rsrp_bar[0]); k++)
			bars += rsrp >= rsrp_bar[k];
		return bars;
	}
	if (r->quality < 0)
		return -1;
	for (size_t k = 0; k < sizeof(quality_bar) / sizeof(quality_bar[0]); k++)
		bars += r->quality >= quality_bar[k];
	return bars;
}
