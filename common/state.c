// SPDX-License-Identifier: MIT
#include "state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

int mps_state_path(const char *name, char *buf, size_t size)
{
	const char *dir = getenv("RUNTIME_DIRECTORY");

	if (!dir || !*dir) {
		dir = MPS_STATE_DIR;
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return -errno;
	}
	if ((size_t)snprintf(buf, size, "%s/%s", dir, name) >= size)
		return -ENAMETOOLONG;
	return 0;
}
