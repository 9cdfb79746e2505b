// SPDX-License-Identifier: MIT
/*
 * Outside input: the --config file (libinih with mpstream's own line reader
 * and handlers), read the way mpstream reads it: `mpstream --config FILE`,
 * FILE a memfd holding the input. What must hold for every input: a NUL byte
 * anywhere is an error, never a value cut short; an error is one line of
 * printable text (what the file holds is shown, its control bytes never); a
 * file that parses names a valid URL and uplinks with a name.
 */
#define _GNU_SOURCE /* memfd_create */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cli.h"
#include "url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct snd_options o; /* 8 KiB of strings: not on the stack of every run */
	char path[64], err[1024];
	char *argv[] = {"mpstream", "--config", path, NULL};
	enum mps_args_result r;
	int fd = memfd_create("fuzz-config", MFD_CLOEXEC);

	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	r = snd_cli_parse(3, argv, &o, err, sizeof(err));
	close(fd);

	if (memchr(data, '\0', size) && r == MPS_ARGS_RUN)
		abort(); /* a value cut at the NUL */
	if (r == MPS_ARGS_ERROR || r == MPS_ARGS_NOINPUT) {
		if (!err[0])
			abort();
		for (const char *c = err; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				abort();
	} else if (r == MPS_ARGS_RUN) {
		if (!o.url || mps_url_check(o.url))
			abort();
		for (size_t i = 0; i < o.n_uplinks; i++)
			if (!o.uplinks[i].ifname[0])
				abort();
	} else {
		abort(); /* no --help or --version in a file */
	}
	return 0;
}
