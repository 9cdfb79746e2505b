// SPDX-License-Identifier: MIT
/* linkem's parsers: rates, times and schedules (pipe.h). */
#include "pipe.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
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

/* One line's value: 0 or -EINVAL. @prev is the line before's (none when @n is 0). */
typedef int (*line_parser)(const char *s, size_t n, uint32_t prev, uint32_t *out);

/*
 * Every line of @text that is not blank or only a comment ('#' to the end of
 * the line), through @parse, into a malloc'ed array. Returns how many, or
 * -EINVAL with the line in *@bad_line (0: no value at all), or -ENOMEM.
 */
static int parse_lines(const char *text, line_parser parse, uint32_t **out, int *bad_line)
{
	size_t n = 0, cap = 0;
	uint32_t *values = NULL;
	int line = 0;

	*bad_line = 0;
	while (*text) {
		size_t len = strcspn(text, "\n"), used = strcspn(text, "#\n");
		char buf[64], *p = buf, *e;

		line++;
		/* A comment may be long; what comes before it is a value. */
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
			uint32_t *more = realloc(values, (cap ? cap * 2 : 64) * sizeof(*values));

			if (!more) {
				free(values);
				return -ENOMEM;
			}
			values = more;
			cap = cap ? cap * 2 : 64;
		}
		if (parse(p, n, n ? values[n - 1] : 0, &values[n]))
			goto bad;
		n++;
	}
	if (!n || n > INT_MAX) {
		free(values);
		return -EINVAL;
	}
	*out = values;
	return (int)n;
bad:
	free(values);
	*bad_line = line;
	return -EINVAL;
}

static int rate_line(const char *s, size_t n, uint32_t prev, uint32_t *out)
{
	(void)n;
	(void)prev;
	return lem_parse_rate(s, out);
}

int lem_schedule_parse(const char *text, uint32_t **out, int *bad_line)
{
	return parse_lines(text, rate_line, out, bad_line);
}

/* The number of the last line of @text that holds a value (not blank, not only a comment). */
static int last_value_line(const char *text)
{
	int line = 0, last = 0;

	while (*text) {
		size_t len = strcspn(text, "\n"), used = strcspn(text, "#\n");

		line++;
		for (size_t k = 0; k < used; k++)
			if (!isspace((unsigned char)text[k]))
				last = line;
		text += len + (text[len] == '\n');
	}
	return last;
}

/* A timestamp in ms: digits only (mahimahi reads them as integers), never before @prev. */
static int timestamp_line(const char *s, size_t n, uint32_t prev, uint32_t *out)
{
	unsigned long long v = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s))
			return -EINVAL;
		v = v * 10 + (unsigned long long)(*s - '0');
		if (v > LEM_OPP_MS_MAX)
			return -EINVAL;
	}
	if (n && v < prev)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

int lem_opportunities_parse(const char *text, uint32_t **out, int *bad_line)
{
	int n = parse_lines(text, timestamp_line, out, bad_line);

	/* The trace loops at its last timestamp: it must be after the start. */
	if (n > 0 && !(*out)[n - 1]) {
		free(*out);
		*out = NULL;
		*bad_line = last_value_line(text);
		return -EINVAL;
	}
	return n;
}

int lem_parse_swing(const char *s, int64_t *swing_ns, int64_t *period_ns)
{
	const char *slash = s ? strchr(s, '/') : NULL;
	int64_t amount_ns, every_ns;
	char amount[32];

	if (!slash || (size_t)(slash - s) >= sizeof(amount))
		return -EINVAL;
	memcpy(amount, s, (size_t)(slash - s));
	amount[slash - s] = '\0';
	if (lem_parse_time(amount, &amount_ns) || lem_parse_time(slash + 1, &every_ns) ||
	    !amount_ns || every_ns < 2)
		return -EINVAL;
	*swing_ns = amount_ns;
	*period_ns = every_ns;
	return 0;
}
