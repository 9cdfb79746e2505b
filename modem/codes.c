// SPDX-License-Identifier: MIT
/* What the operator types for a modem, checked before it goes anywhere. Pure. */
#include "modem.h"

#include <string.h>

bool modem_pin_valid(const char *pin)
{
	size_t n = pin ? strnlen(pin, MODEM_PIN_MAX + 1) : 0;

	if (n < MODEM_PIN_MIN || n > MODEM_PIN_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (pin[i] < '0' || pin[i] > '9')
			return false;
	return true;
}

static bool apn_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.';
}

bool modem_apn_valid(const char *apn)
{
	size_t n = apn ? strnlen(apn, MODEM_APN_MAX + 1) : 0;

	if (n < 1 || n > MODEM_APN_MAX)
		return false;
	/* 3GPP TS 23.003: labels of letters, digits and hyphens, separated by dots. */
	for (size_t i = 0; i < n; i++)
		if (!apn_char(apn[i]))
			return false;
	return true;
}
