// SPDX-License-Identifier: MIT
/*
 * Which uplinks are cellular: read from sysfs, the kernel's own word on the
 * device behind an interface. Cellular modems queue seconds of data when
 * their radio slows (the recorded links in bench/RESULTS.md), where a
 * loss-based congestion control fills the queue; routing gives their routes
 * another one (rt_config.cellular_cc).
 */
#include "routing.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/*
 * Drivers of cellular modems and of phones sharing theirs over USB: QMI,
 * MBIM, NCM and ECM modems (and Huawei's NCM), RNDIS (Android's USB
 * tethering), Apple's iPhone tethering, Sierra's and the PCIe modems' network
 * functions (MHI, Qualcomm IPA).
 */
static const char *const cellular_drivers[] = {
	"qmi_wwan",  "cdc_mbim",   "cdc_ncm", "huawei_cdc_ncm",
	"cdc_ether", "rndis_host", "ipheth",  "sierra_net",
	"mhi_net",   "ipa",	   NULL,
};

/* Whether the uevent file of @dir says DEVTYPE=wwan. */
static bool is_wwan(const char *dir)
{
	char path[PATH_MAX], line[128];
	bool wwan = false;
	FILE *f;

	if (snprintf(path, sizeof(path), "%s/uevent", dir) >= (int)sizeof(path))
		return false;
	f = fopen(path, "r");
	if (!f)
		return false;
	while (!wwan && fgets(line, sizeof(line), f))
		wwan = !strcmp(line, "DEVTYPE=wwan\n") || !strcmp(line, "DEVTYPE=wwan");
	fclose(f);
	return wwan;
}

int rt_cellular_link(const char *sysfs_net, const char *ifname, char *what, size_t size)
{
	char dir[PATH_MAX], path[PATH_MAX], target[PATH_MAX];
	const char *driver;
	ssize_t n;

	if (!ifname[0] || strchr(ifname, '/') ||
	    snprintf(dir, sizeof(dir), "%s/%s", sysfs_net, ifname) >= (int)sizeof(dir))
		return 0;
	if (is_wwan(dir)) {
		snprintf(what, size, "a WWAN device");
		return 1;
	}
	if (snprintf(path, sizeof(path), "%s/device/driver", dir) >= (int)sizeof(path))
		return 0;
	n = readlink(path, target, sizeof(target) - 1);
	if (n <= 0)
		return 0;
	target[n] = '\0';
	driver = strrchr(target, '/');
	driver = driver ? driver + 1 : target;
	for (size_t i = 0; cellular_drivers[i]; i++)
		if (!strcmp(driver, cellular_drivers[i])) {
			snprintf(what, size, "driver %s", driver);
			return 1;
		}
	return 0;
}
