// SPDX-License-Identifier: MIT
#include "routing.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

int rt_uplink_spec_parse(const char *arg, struct rt_uplink_spec *out)
{
	const char *comma = strchr(arg, ',');
	size_t name_len = comma ? (size_t)(comma - arg) : strlen(arg);

	memset(out, 0, sizeof(*out));
	if (!name_len || memchr(arg, '/', name_len) || memchr(arg, ' ', name_len))
		return -EINVAL;
	if (name_len >= IFNAMSIZ)
		return -ENAMETOOLONG;
	memcpy(out->ifname, arg, name_len);

	while (comma) {
		const char *opt = comma + 1;
		size_t len;
		char value[INET_ADDRSTRLEN];

		comma = strchr(opt, ',');
		len = comma ? (size_t)(comma - opt) : strlen(opt);
		if (len <= 3 || strncmp(opt, "gw=", 3) != 0 || out->has_gw ||
		    len - 3 >= sizeof(value))
			return -EINVAL;
		memcpy(value, opt + 3, len - 3);
		value[len - 3] = '\0';
		if (inet_pton(AF_INET, value, &out->gw) != 1 || out->gw.s_addr == INADDR_ANY)
			return -EINVAL;
		out->has_gw = true;
	}
	return 0;
}
