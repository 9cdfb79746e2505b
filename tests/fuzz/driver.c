// SPDX-License-Identifier: MIT
/*
 * A stand-in for libFuzzer where it is not available (gcc): feeds the target
 * a bounded number of inputs, random and mutated from the seeds given as
 * arguments, with a fixed seed so that a failure can be replayed. Built with
 * clang -fsanitize=fuzzer, the same target runs under libFuzzer instead.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RUNS	200000
#define MAX_LEN 512

static uint32_t next_random(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

int main(int argc, char **argv)
{
	uint8_t buf[MAX_LEN];
	uint32_t rnd = 0x6d707374; /* "mpst" */

	for (long run = 0; run < RUNS; run++) {
		size_t len;
		const char *seed = argc > 1 ? argv[1 + run % (argc - 1)] : "";

		/* Half the runs mutate a seed, half are random bytes. */
		if (run % 2) {
			len = strlen(seed) < MAX_LEN ? strlen(seed) : MAX_LEN;
			memcpy(buf, seed, len);
			for (int k = 0; k < 3 && len; k++)
				buf[next_random(&rnd) % len] = (uint8_t)next_random(&rnd);
			if (next_random(&rnd) % 4 == 0 && len)
				len = next_random(&rnd) % len;
		} else {
			len = next_random(&rnd) % MAX_LEN;
			for (size_t i = 0; i < len; i++)
				buf[i] = (uint8_t)next_random(&rnd);
		}
		LLVMFuzzerTestOneInput(buf, len);
	}
	printf("%d inputs, no crash\n", RUNS);
	return 0;
}
