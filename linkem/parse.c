// SPDX-License-Identifier: MIT
/* linkem's parsers: rates, times and schedules (pipe.h). */
#include "pipe.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A number and its unit, the unit among @units (each with its multiplier). */
struct unit {
	const char *name;
	double mult;
};

static int parse_with_unit(const char *s, const struct unit *units, double dflt, double max,
			   double *out)
{
	char *end;
	double v;

	if (!s || !*s || isspace((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || v < 0 || v != v)
		return -EINVAL;
	if (!*end) {
		v *= dflt;
	} else {
		size_t k = 0;

		while (units[k].name && strcasecmp(end, units[k].name))
			k++;
		if (!units[k].name)
			return -EINVAL;
		v *= units[k].mult;
	}
	if (v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int lem_parse_rate(const char *s, uint32_t *kbps)
{
	static const struct unit units[] = {
		{"kbit", 1}, {"k", 1}, {"mbit", 1000}, {"m", 1000}, {"gbit", 1e6}, {NULL, 0},
	};
	double v;
	int ret = parse_with_unit(s, units, 1, 100e6, &v);

	if (ret)
		return ret;
	*kbps = (uint32_t)(v + 0.5);
	return 0;
}

int lem_parse_time(const char *s, int64_t *ns)
{
	static const struct unit units[] = {
		{"us", 1e3},
		{"ms", 1e6},
		{"s", 1e9},
		{NULL, 0},
	};
	double v;
	int ret = parse_with_unit(s, units, 1e6, 3600e9, &v);

	if (ret)
		return ret;
	*ns = (int64_t)(v + 0.5);
	return 0;
}

int lem_schedule_parse(const char *text, uint32_t **out, int *bad_line)
{
	size_t n = 0, cap = 0;
	uint32_t *rates = NULL;
	int line = 0;

	*bad_line = 0;
	while (*text) {
		size_t len = strcspn(text, "\n"), used = strcspn(text, "#\n");
		char buf[64], *p = buf, *e;

		line++;
		/* A comment may be long; what comes before it is a rate. */
		if (used >= sizeof(buf))
			goto bad;
		memcpy(buf, text, used);
		buf[used] = '\0';
		text += len + (text[len] == '\n');
		while (isspace((unsigned char)*p))
			p++;
		for (e = p + strlen(p); e > p && isspace((unsigned char)e[-1]);)
			*--e = '\0';
		if (!*p)
			continue;
		if (n == cap) {
			uint32_t *more = realloc(rates, (cap ? cap * 2 : 64) * sizeof(*rates));

			if (!more) {
				free(rates);
				return -ENOMEM;
			}
			rates = more;
			cap = cap ? cap * 2 : 64;
		}
		if (lem_parse_rate(p, &rates[n]))
			goto bad;
		n++;
	}
	if (!n) {
		free(rates);
		return -EINVAL;
	}
	*out = rates;
	return (int)n;
bad:
	free(rates);
	*bad_line = line;
	return -EINVAL;
}
