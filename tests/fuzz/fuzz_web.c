// SPDX-License-Identifier: MIT
/*
 * Outside input: the bodies of the operator's controls (web/json.c), as any
 * client on the page's address can send them. The first byte picks the
 * parser; each must return 0 or -EINVAL and leave sane values.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "web.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = size ? (const char *)data + 1 : "";
	size_t len = size ? size - 1 : 0;
	int64_t lo = 300000, hi = 5000000;
	int use, backup, ret;
	char err[160];

	if (size && data[0] & 1) {
		ret = web_parse_uplink(body, len, &use, &backup, err, sizeof(err));
		if (ret == 0 && ((use < 0 && backup < 0) || use > 1 || backup > 1))
			abort();
	} else {
		ret = web_parse_bounds(body, len, &lo, &hi, err, sizeof(err));
		if (ret == 0 && (lo <= 0 || lo > hi))
			abort();
	}
	if (ret != 0 && ret != -EINVAL)
		abort();
	return 0;
}
