// SPDX-License-Identifier: MIT
/*
 * Outside input: netlink replies and events from the kernel, decoded by
 * routing/pm_msg.c. The bytes become the payload of a generic-netlink message.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "rt_internal.h"

#include <linux/mptcp.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nl_msg *msg = nlmsg_alloc();
	struct rt_endpoint ep;
	struct rt_limits lim;
	struct rt_pm_event ev;
	uint8_t cmd = size ? data[0] : 0;

	if (!msg)
		return 0;
	/*
	 * Odd first byte: the rest is the content of a nested address attribute,
	 * so that the nested parser sees well-framed input too.
	 */
	if (!genlmsg_put(msg, 0, 0, 0x1d, 0, 0, cmd, 1))
		goto out;
	if (cmd & 1) {
		struct nlattr *nest = nla_nest_start(msg, MPTCP_PM_ATTR_ADDR | NLA_F_NESTED);

		if (!nest || nlmsg_append(msg, (void *)(data + 1), size - 1, NLA_ALIGNTO) < 0)
			goto out;
		nla_nest_end(msg, nest);
	} else if (nlmsg_append(msg, (void *)(size ? data + 1 : data), size ? size - 1 : 0, 0) <
		   0) {
		goto out;
	}
	{
		rt_pm_parse_endpoint(nlmsg_hdr(msg), &ep);
		rt_pm_parse_limits(nlmsg_hdr(msg), &lim);
		rt_pm_parse_event(nlmsg_hdr(msg), &ev);
	}
out:
	nlmsg_free(msg);
	return 0;
}
