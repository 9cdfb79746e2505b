// SPDX-License-Identifier: MIT
#include "args.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int mps_parse_number(const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int mps_parse_listen(const char *s, struct sockaddr_in *out)
{
	const char *colon = strrchr(s, ':');
	char addr[INET_ADDRSTRLEN];
	char *end;
	long port;

	memset(out, 0, sizeof(*out));
	out->sin_family = AF_INET;
	out->sin_addr.s_addr = htonl(INADDR_ANY);
	if (colon) {
		if ((size_t)(colon - s) >= sizeof(addr))
			return -EINVAL;
		memcpy(addr, s, (size_t)(colon - s));
		addr[colon - s] = '\0';
		if (inet_pton(AF_INET, addr, &out->sin_addr) != 1)
			return -EINVAL;
		s = colon + 1;
	}
	errno = 0;
	port = strtol(s, &end, 10);
	if (errno || end == s || *end || port < 1 || port > 65535)
		return -EINVAL;
	out->sin_port = htons((uint16_t)port);
	return 0;
}
