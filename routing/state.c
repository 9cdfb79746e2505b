// SPDX-License-Identifier: MIT
/*
 * What a run changed that the kernel cannot tell was mpstream's: the MPTCP
 * subflow and ADD_ADDR limits. Written to a file when it is raised, so that the next run
 * can put it back after a SIGKILL; removed when the run restores it. One
 * file per network namespace (by the inode of /proc/self/ns/net), in
 * the state directory (common/state.h).
 */
#include "rt_internal.h"
#include "state.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static int state_path(char *buf, size_t size)
{
	struct stat st;
	char name[64];

	if (stat("/proc/self/ns/net", &st) < 0)
		return -errno;
	snprintf(name, sizeof(name), "netns-%llu.limits", (unsigned long long)st.st_ino);
	return mps_state_path(name, buf, size);
}

int rt_state_save_limits(const struct rt_limits *before, const struct rt_limits *set)
{
	char path[512], tmp[520];
	FILE *f;
	int ret = state_path(path, sizeof(path));

	if (ret)
		return ret;
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	f = fopen(tmp, "we");
	if (!f)
		return -errno;
	fprintf(f, "subflows %" PRIu32 " %" PRIu32 "\nadd_addr_accepted %" PRIu32 " %" PRIu32 "\n",
		before->subflows, set->subflows, before->add_addr_accepted, set->add_addr_accepted);
	if (fclose(f) != 0 || rename(tmp, path) < 0) {
		ret = -errno;
		unlink(tmp);
	}
	return ret;
}

int rt_state_load_limits(struct rt_limits *before, struct rt_limits *set)
{
	char path[512];
	FILE *f;
	int ret = state_path(path, sizeof(path));

	if (ret)
		return ret;
	f = fopen(path, "re");
	if (!f)
		return -errno;
	ret = fscanf(f, "subflows %" SCNu32 " %" SCNu32, &before->subflows, &set->subflows) == 2
		      ? 0
		      : -EBADMSG;
	if (!ret && fscanf(f, " add_addr_accepted %" SCNu32 " %" SCNu32, &before->add_addr_accepted,
			   &set->add_addr_accepted) != 2)
		before->add_addr_accepted = set->add_addr_accepted = UINT32_MAX;
	fclose(f);
	return ret;
}

void rt_state_forget(void)
{
	char path[512];

	if (state_path(path, sizeof(path)) == 0)
		unlink(path);
}
