// SPDX-License-Identifier: MIT
/*
 * Outside input: linkem's trace files (a schedule of rates, `trace=`, or
 * mahimahi's delivery opportunities, `mahimahi=`), as anyone may hand it one.
 * The first byte picks the parser; each must return a count with its array,
 * or -EINVAL with the line, and never read past the text.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pipe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	uint32_t *out = NULL;
	int bad = -1, n;

	if (!text)
		return 0;
	/* A NUL-terminated text, as linkem reads a file; the first byte picks the parser. */
	if (size)
		memcpy(text, data + 1, size - 1);
	text[size ? size - 1 : 0] = 0;
	if (size && data[0] & 1) {
		n = lem_opportunities_parse(text, &out, &bad);
		/* Opportunities never go back in time. */
		for (int i = 1; i < n; i++)
			if (out[i] < out[i - 1])
				abort();
	} else {
		n = lem_schedule_parse(text, &out, &bad);
	}
	if (n > 0 ? !out : n != -EINVAL && n != -ENOMEM)
		abort();
	if (n == -EINVAL && bad < 0)
		abort();
	free(out);
	free(text);
	return 0;
}
