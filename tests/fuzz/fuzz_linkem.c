// SPDX-License-Identifier: MIT
/*
 * Outside input: linkem's link specs and trace files, as anyone may hand them
 * to it. The first byte picks the parser: a schedule of rates (`trace=`),
 * mahimahi's delivery opportunities (`mahimahi=`), a swing (`swing=`), a time
 * or a rate. Each must return a count with its array, or -EINVAL (with the
 * line, for a file), never read past the text, and give only what the pipe
 * takes (lem_pipe_create()).
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pipe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void file_parsers(const char *text, bool opps)
{
	uint32_t *out = NULL;
	int bad = -1, n;

	if (opps) {
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
}

/* A swing the parser takes is one a pipe takes. */
static void swing(const char *text)
{
	static uint32_t rate = 1000;
	struct lem_params p = {.rates_kbps = &rate, .n_rates = 1};
	struct lem_pipe *pipe = NULL;

	if (lem_parse_swing(text, &p.swing_ns, &p.swing_period_ns))
		return;
	if (p.swing_ns <= 0 || p.swing_period_ns < 2 || lem_pipe_create(&p, 0, &pipe))
		abort();
	lem_pipe_destroy(pipe);
}

static void value(const char *text)
{
	int64_t ns = -1;
	uint32_t kbps;

	if (!lem_parse_time(text, &ns) && ns < 0)
		abort();
	lem_parse_rate(text, &kbps);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);

	if (!text)
		return 0;
	/* A NUL-terminated text, as linkem reads a file or an argument. */
	if (size)
		memcpy(text, data + 1, size - 1);
	text[size ? size - 1 : 0] = 0;
	switch (size ? data[0] % 4 : 0) {
	case 0:
		file_parsers(text, false);
		break;
	case 1:
		file_parsers(text, true);
		break;
	case 2:
		swing(text);
		break;
	default:
		value(text);
		break;
	}
	free(text);
	return 0;
}
