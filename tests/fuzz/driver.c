// SPDX-License-Identifier: MIT
/*
 * A stand-in for libFuzzer where it is not available (gcc): feeds the target
 * a bounded number of inputs, random and mutated from the seeds given as
 * arguments, with a fixed seed so that a failure can be replayed. Built with
 * clang -fsanitize=fuzzer, the same target runs under libFuzzer instead.
 * A seed is the argument's text, or with '@' before a path the bytes of that
 * file (binary seeds: parameter sets), its first MAX_LEN bytes.
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

struct seed {
	uint8_t bytes[MAX_LEN];
	size_t len;
};

static void load_seed(const char *arg, struct seed *s)
{
	FILE *f;

	if (arg[0] != '@') {
		s->len = strlen(arg) < MAX_LEN ? strlen(arg) : MAX_LEN;
		memcpy(s->bytes, arg, s->len);
		return;
	}
	f = fopen(arg + 1, "rb");
	if (!f) {
		perror(arg + 1);
		exit(2);
	}
	s->len = fread(s->bytes, 1, MAX_LEN, f);
	fclose(f);
}

int main(int argc, char **argv)
{
	uint8_t buf[MAX_LEN];
	uint32_t rnd = 0x6d707374; /* "mpst" */
	struct seed *seeds = calloc(argc > 1 ? (size_t)argc - 1 : 1, sizeof(*seeds));

	if (!seeds)
		return 2;
	for (int i = 1; i < argc; i++)
		load_seed(argv[i], &seeds[i - 1]);

	for (long run = 0; run < RUNS; run++) {
		size_t len;
		const struct seed *seed = argc > 1 ? &seeds[run % (argc - 1)] : NULL;

		/* Half the runs mutate a seed, half are random bytes. */
		if (run % 2) {
			len = seed ? seed->len : 0;
			if (len)
				memcpy(buf, seed->bytes, len);
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
	free(seeds);
	return 0;
}
