// SPDX-License-Identifier: MIT
#include "routing.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#define BACKUP_SUFFIX ":backup"

bool rt_cc_name_valid(const char *name, size_t len)
{
	size_t ok = 0;

	while (ok < len && name[ok] && strchr("abcdefghijklmnopqrstuvwxyz0123456789_", name[ok]))
		ok++;
	return len && ok == len && len < RT_CC_NAME_MAX;
}

/* cc=NAME, once. */
static int parse_cc(const char *name, size_t len, struct rt_uplink_spec *out)
{
	if (out->cc[0] || !rt_cc_name_valid(name, len))
		return -EINVAL;
	memcpy(out->cc, name, len);
	out->cc[len] = '\0';
	return 0;
}

/* One ",OPTION" of an uplink: gw=ADDR (IPv4 or IPv6), backup or cc=NAME. */
static int parse_option(const char *opt, size_t len, struct rt_uplink_spec *out)
{
	char value[INET6_ADDRSTRLEN];
	struct mps_ip gw;
	struct mps_ip *side;

	if (len == 6 && strncmp(opt, "backup", 6) == 0) {
		out->backup = true;
		return 0;
	}
	if (len >= 3 && strncmp(opt, "cc=", 3) == 0)
		return parse_cc(opt + 3, len - 3, out);
	if (len <= 3 || strncmp(opt, "gw=", 3) != 0 || len - 3 >= sizeof(value))
		return -EINVAL;
	memcpy(value, opt + 3, len - 3);
	value[len - 3] = '\0';
	if (!mps_ip_parse(&gw, value))
		return -EINVAL;
	side = &out->gw[rt_side_of(gw.family)];
	/* Neither "any" nor a second gateway of one family. */
	if (side->family || (gw.family == AF_INET && gw.v4.s_addr == INADDR_ANY) ||
	    (gw.family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&gw.v6)))
		return -EINVAL;
	*side = gw;
	return 0;
}

int rt_uplink_spec_parse(const char *arg, struct rt_uplink_spec *out)
{
	const char *comma = strchr(arg, ',');
	size_t name_len = comma ? (size_t)(comma - arg) : strlen(arg);
	const size_t suffix = strlen(BACKUP_SUFFIX);

	memset(out, 0, sizeof(*out));
	/* IFACE:backup, as in "--uplink wwan0:backup". */
	if (name_len > suffix && strncmp(arg + name_len - suffix, BACKUP_SUFFIX, suffix) == 0) {
		out->backup = true;
		name_len -= suffix;
	}
	if (!name_len || memchr(arg, '/', name_len) || memchr(arg, ' ', name_len) ||
	    memchr(arg, ':', name_len))
		return -EINVAL;
	if (name_len >= IFNAMSIZ)
		return -ENAMETOOLONG;
	memcpy(out->ifname, arg, name_len);

	while (comma) {
		const char *opt = comma + 1;
		size_t len;

		comma = strchr(opt, ',');
		len = comma ? (size_t)(comma - opt) : strlen(opt);
		if (parse_option(opt, len, out))
			return -EINVAL;
	}
	return 0;
}
