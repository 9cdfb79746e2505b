// SPDX-License-Identifier: MIT
/*
 * Messages of the "mptcp_pm" generic-netlink family, as iproute2's "ip mptcp"
 * sends them: ADD_ADDR/DEL_ADDR carry a nested MPTCP_PM_ATTR_ADDR; the limits
 * sit at the top level. Built and decoded here without any socket, so that the
 * unit tests can check them byte for byte.
 */
#include "rt_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>

#include <linux/mptcp.h>
#include <netlink/errno.h>
#include <netlink/genl/genl.h>

const struct rt_flag_name rt_endpoint_flag_names[] = {
	{MPTCP_PM_ADDR_FLAG_SIGNAL, "signal"},	   {MPTCP_PM_ADDR_FLAG_SUBFLOW, "subflow"},
	{MPTCP_PM_ADDR_FLAG_BACKUP, "backup"},	   {MPTCP_PM_ADDR_FLAG_FULLMESH, "fullmesh"},
	{MPTCP_PM_ADDR_FLAG_IMPLICIT, "implicit"}, {0, NULL},
};

const char *rt_endpoint_flags_str(uint32_t flags, char *buf, size_t size)
{
	size_t n = 0;

	if (!size)
		return buf;
	buf[0] = '\0';
	for (const struct rt_flag_name *f = rt_endpoint_flag_names; f->name; f++) {
		if (!(flags & f->flag))
			continue;
		n += snprintf(buf + n, n < size ? size - n : 0, "%s%s", n ? "," : "", f->name);
	}
	return buf;
}

int rt_nlerr_to_errno(int nlerr)
{
	static const struct {
		int nle, err;
	} map[] = {
		{NLE_SUCCESS, 0},
		{NLE_INTR, EINTR},
		{NLE_BAD_SOCK, EBADF},
		{NLE_AGAIN, EAGAIN},
		{NLE_NOMEM, ENOMEM},
		{NLE_EXIST, EEXIST},
		{NLE_INVAL, EINVAL},
		{NLE_RANGE, ERANGE},
		{NLE_MSGSIZE, EMSGSIZE},
		{NLE_OPNOTSUPP, EOPNOTSUPP},
		{NLE_AF_NOSUPPORT, EAFNOSUPPORT},
		{NLE_OBJ_NOTFOUND, ENOENT},
		{NLE_NOATTR, ENOENT},
		{NLE_MISSING_ATTR, EINVAL},
		{NLE_AF_MISMATCH, EINVAL},
		{NLE_SEQ_MISMATCH, EPROTO},
		{NLE_MSG_OVERFLOW, EOVERFLOW},
		{NLE_MSG_TRUNC, EMSGSIZE},
		{NLE_NOADDR, EADDRNOTAVAIL},
		{NLE_SRCRT_NOSUPPORT, EOPNOTSUPP},
		{NLE_MSG_TOOSHORT, EBADMSG},
		{NLE_MSGTYPE_NOSUPPORT, EOPNOTSUPP},
		{NLE_OBJ_MISMATCH, EINVAL},
		{NLE_NOCACHE, ENOENT},
		{NLE_BUSY, EBUSY},
		{NLE_PROTO_MISMATCH, EPROTONOSUPPORT},
		{NLE_NOACCESS, EACCES},
		{NLE_PERM, EPERM},
		{NLE_PKTLOC_FILE, ENOENT},
		{NLE_PARSE_ERR, EBADMSG},
		{NLE_NODEV, ENODEV},
		{NLE_IMMUTABLE, EPERM},
		{NLE_DUMP_INTR, EINTR},
		{NLE_ATTRSIZE, EBADMSG},
	};
	int code = nlerr < 0 ? -nlerr : nlerr;

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (map[i].nle == code)
			return -map[i].err;
	}
	return -EIO;
}

static int put_header(struct nl_msg *msg, int family_id, uint8_t cmd, int flags)
{
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family_id, 0, flags, cmd, MPTCP_PM_VER))
		return -ENOMEM;
	return 0;
}

static int put_addr(struct nl_msg *msg, const struct rt_endpoint *ep)
{
	struct nlattr *nest = nla_nest_start(msg, MPTCP_PM_ATTR_ADDR | NLA_F_NESTED);

	if (!nest)
		return -ENOMEM;
	if (ep->ip.family != AF_INET && ep->ip.family != AF_INET6)
		return -EINVAL;
	if (nla_put_u16(msg, MPTCP_PM_ADDR_ATTR_FAMILY, (uint16_t)ep->ip.family) < 0)
		return -ENOMEM;
	if (ep->ip.family == AF_INET
		    ? nla_put(msg, MPTCP_PM_ADDR_ATTR_ADDR4, sizeof(ep->ip.v4), &ep->ip.v4) < 0
		    : nla_put(msg, MPTCP_PM_ADDR_ATTR_ADDR6, sizeof(ep->ip.v6), &ep->ip.v6) < 0)
		return -ENOMEM;
	if (ep->id && nla_put_u8(msg, MPTCP_PM_ADDR_ATTR_ID, ep->id) < 0)
		return -ENOMEM;
	if (ep->flags && nla_put_u32(msg, MPTCP_PM_ADDR_ATTR_FLAGS, ep->flags) < 0)
		return -ENOMEM;
	if (ep->ifindex && nla_put_s32(msg, MPTCP_PM_ADDR_ATTR_IF_IDX, ep->ifindex) < 0)
		return -ENOMEM;
	nla_nest_end(msg, nest);
	return 0;
}

int rt_pm_build_add_addr(struct nl_msg *msg, int family_id, const struct rt_endpoint *ep)
{
	int ret = put_header(msg, family_id, MPTCP_PM_CMD_ADD_ADDR, 0);

	return ret ? ret : put_addr(msg, ep);
}

int rt_pm_build_del_addr(struct nl_msg *msg, int family_id, const struct rt_endpoint *ep)
{
	/* The kernel deletes by id; the address is there for id 0 and for readers of traces. */
	struct rt_endpoint del = *ep;
	int ret = put_header(msg, family_id, MPTCP_PM_CMD_DEL_ADDR, 0);

	del.flags = 0;
	del.ifindex = 0;
	return ret ? ret : put_addr(msg, &del);
}

int rt_pm_build_get_addrs(struct nl_msg *msg, int family_id)
{
	return put_header(msg, family_id, MPTCP_PM_CMD_GET_ADDR, NLM_F_DUMP);
}

int rt_pm_build_get_limits(struct nl_msg *msg, int family_id)
{
	return put_header(msg, family_id, MPTCP_PM_CMD_GET_LIMITS, 0);
}

int rt_pm_build_set_limits(struct nl_msg *msg, int family_id, const struct rt_limits *lim)
{
	int ret = put_header(msg, family_id, MPTCP_PM_CMD_SET_LIMITS, 0);

	if (ret)
		return ret;
	if (nla_put_u32(msg, MPTCP_PM_ATTR_RCV_ADD_ADDRS, lim->add_addr_accepted) < 0 ||
	    nla_put_u32(msg, MPTCP_PM_ATTR_SUBFLOWS, lim->subflows) < 0)
		return -ENOMEM;
	return 0;
}

static const struct nla_policy addr_policy[MPTCP_PM_ADDR_ATTR_MAX + 1] = {
	[MPTCP_PM_ADDR_ATTR_FAMILY] = {.type = NLA_U16},
	[MPTCP_PM_ADDR_ATTR_ID] = {.type = NLA_U8},
	[MPTCP_PM_ADDR_ATTR_ADDR4] = {.minlen = 4, .maxlen = 4},
	[MPTCP_PM_ADDR_ATTR_ADDR6] = {.minlen = 16, .maxlen = 16},
	[MPTCP_PM_ADDR_ATTR_PORT] = {.type = NLA_U16},
	[MPTCP_PM_ADDR_ATTR_FLAGS] = {.type = NLA_U32},
	[MPTCP_PM_ADDR_ATTR_IF_IDX] = {.type = NLA_U32},
};

int rt_pm_parse_endpoint(struct nlmsghdr *nlh, struct rt_endpoint *ep)
{
	struct nlattr *top[MPTCP_PM_ATTR_MAX + 1];
	struct nlattr *a[MPTCP_PM_ADDR_ATTR_MAX + 1], *addr;
	int family;

	if (genlmsg_parse(nlh, 0, top, MPTCP_PM_ATTR_MAX, NULL) < 0)
		return -EBADMSG;
	if (!top[MPTCP_PM_ATTR_ADDR])
		return -EINVAL;
	if (nla_parse_nested(a, MPTCP_PM_ADDR_ATTR_MAX, top[MPTCP_PM_ATTR_ADDR], addr_policy) < 0)
		return -EBADMSG;
	if (!a[MPTCP_PM_ADDR_ATTR_FAMILY])
		return -EINVAL;

	memset(ep, 0, sizeof(*ep));
	family = nla_get_u16(a[MPTCP_PM_ADDR_ATTR_FAMILY]);
	addr = a[family == AF_INET6 ? MPTCP_PM_ADDR_ATTR_ADDR6 : MPTCP_PM_ADDR_ATTR_ADDR4];
	if (!addr || !mps_ip_set(&ep->ip, family, nla_data(addr), (size_t)nla_len(addr)))
		return -EINVAL;
	if (a[MPTCP_PM_ADDR_ATTR_ID])
		ep->id = nla_get_u8(a[MPTCP_PM_ADDR_ATTR_ID]);
	if (a[MPTCP_PM_ADDR_ATTR_FLAGS])
		ep->flags = nla_get_u32(a[MPTCP_PM_ADDR_ATTR_FLAGS]);
	if (a[MPTCP_PM_ADDR_ATTR_IF_IDX])
		ep->ifindex = (int)nla_get_u32(a[MPTCP_PM_ADDR_ATTR_IF_IDX]);
	return 0;
}

int rt_pm_parse_limits(struct nlmsghdr *nlh, struct rt_limits *lim)
{
	static struct nla_policy policy[MPTCP_PM_ATTR_MAX + 1] = {
		[MPTCP_PM_ATTR_RCV_ADD_ADDRS] = {.type = NLA_U32},
		[MPTCP_PM_ATTR_SUBFLOWS] = {.type = NLA_U32},
	};
	struct nlattr *top[MPTCP_PM_ATTR_MAX + 1];

	if (genlmsg_parse(nlh, 0, top, MPTCP_PM_ATTR_MAX, policy) < 0)
		return -EBADMSG;
	if (!top[MPTCP_PM_ATTR_SUBFLOWS] || !top[MPTCP_PM_ATTR_RCV_ADD_ADDRS])
		return -EINVAL;
	lim->subflows = nla_get_u32(top[MPTCP_PM_ATTR_SUBFLOWS]);
	lim->add_addr_accepted = nla_get_u32(top[MPTCP_PM_ATTR_RCV_ADD_ADDRS]);
	return 0;
}

int rt_pm_build_set_flags(struct nl_msg *msg, int family_id, const struct rt_endpoint *ep)
{
	/* SET_FLAGS takes the flags to set; a flag absent is cleared (backup, fullmesh). */
	int ret = put_header(msg, family_id, MPTCP_PM_CMD_SET_FLAGS, 0);

	if (ret)
		return ret;
	ret = put_addr(msg, ep);
	if (ret)
		return ret;
	return 0;
}

static const struct {
	uint8_t type;
	const char *name;
} event_names[] = {
	{MPTCP_EVENT_CREATED, "created"},	{MPTCP_EVENT_ESTABLISHED, "established"},
	{MPTCP_EVENT_CLOSED, "closed"},		{MPTCP_EVENT_ANNOUNCED, "announced"},
	{MPTCP_EVENT_REMOVED, "removed"},	{MPTCP_EVENT_SUB_ESTABLISHED, "sub_established"},
	{MPTCP_EVENT_SUB_CLOSED, "sub_closed"}, {MPTCP_EVENT_SUB_PRIORITY, "sub_priority"},
};

const char *rt_pm_event_name(uint8_t type)
{
	for (size_t i = 0; i < sizeof(event_names) / sizeof(event_names[0]); i++)
		if (event_names[i].type == type)
			return event_names[i].name;
	return NULL;
}

/* Whether the event's type carries a subflow's (or the connection's) two ends. */
static bool has_ends(uint8_t type)
{
	return type == MPTCP_EVENT_CREATED || type == MPTCP_EVENT_ESTABLISHED ||
	       type == MPTCP_EVENT_SUB_ESTABLISHED || type == MPTCP_EVENT_SUB_CLOSED ||
	       type == MPTCP_EVENT_SUB_PRIORITY;
}

/* The two ends, all required: the family, both addresses of it, both ports. */
static int parse_ends(struct nlattr **a, struct rt_pm_event *ev)
{
	int saddr = MPTCP_ATTR_SADDR4, daddr = MPTCP_ATTR_DADDR4;

	if (!a[MPTCP_ATTR_FAMILY] || !a[MPTCP_ATTR_SPORT] || !a[MPTCP_ATTR_DPORT])
		return -EBADMSG;
	ev->family = nla_get_u16(a[MPTCP_ATTR_FAMILY]);
	if (ev->family == AF_INET6) {
		saddr = MPTCP_ATTR_SADDR6;
		daddr = MPTCP_ATTR_DADDR6;
	} else if (ev->family != AF_INET) {
		return -EBADMSG;
	}
	if (!a[saddr] || !a[daddr])
		return -EBADMSG;
	if (ev->family == AF_INET) {
		ev->saddr.s_addr = nla_get_u32(a[saddr]);
		ev->daddr.s_addr = nla_get_u32(a[daddr]);
	} else {
		nla_memcpy(&ev->saddr6, a[saddr], sizeof(ev->saddr6));
		nla_memcpy(&ev->daddr6, a[daddr], sizeof(ev->daddr6));
	}
	ev->sport = ntohs(nla_get_u16(a[MPTCP_ATTR_SPORT]));
	ev->dport = ntohs(nla_get_u16(a[MPTCP_ATTR_DPORT]));
	return 0;
}

int rt_pm_parse_event(struct nlmsghdr *nlh, struct rt_pm_event *ev)
{
	static const struct nla_policy policy[MPTCP_ATTR_MAX + 1] = {
		[MPTCP_ATTR_TOKEN] = {.type = NLA_U32},
		[MPTCP_ATTR_FAMILY] = {.type = NLA_U16},
		[MPTCP_ATTR_LOC_ID] = {.type = NLA_U8},
		[MPTCP_ATTR_REM_ID] = {.type = NLA_U8},
		[MPTCP_ATTR_SADDR4] = {.type = NLA_U32},
		[MPTCP_ATTR_DADDR4] = {.type = NLA_U32},
		[MPTCP_ATTR_SADDR6] = {.minlen = sizeof(struct in6_addr)},
		[MPTCP_ATTR_DADDR6] = {.minlen = sizeof(struct in6_addr)},
		[MPTCP_ATTR_SPORT] = {.type = NLA_U16},
		[MPTCP_ATTR_DPORT] = {.type = NLA_U16},
		[MPTCP_ATTR_BACKUP] = {.type = NLA_U8},
		[MPTCP_ATTR_ERROR] = {.type = NLA_U8},
		[MPTCP_ATTR_IF_IDX] = {.type = NLA_U32},
	};
	struct nlattr *a[MPTCP_ATTR_MAX + 1];
	struct genlmsghdr *gh;

	if (!genlmsg_valid_hdr(nlh, 0))
		return -EBADMSG;
	gh = nlmsg_data(nlh);
	if (genlmsg_parse(nlh, 0, a, MPTCP_ATTR_MAX, policy) < 0)
		return -EBADMSG;
	memset(ev, 0, sizeof(*ev));
	ev->type = gh->cmd;
	/* Every event names its connection; one with ends names them all. */
	if (!a[MPTCP_ATTR_TOKEN])
		return -EBADMSG;
	ev->token = nla_get_u32(a[MPTCP_ATTR_TOKEN]);
	if (has_ends(ev->type) && parse_ends(a, ev))
		return -EBADMSG;
	if (a[MPTCP_ATTR_LOC_ID])
		ev->loc_id = nla_get_u8(a[MPTCP_ATTR_LOC_ID]);
	if (a[MPTCP_ATTR_REM_ID])
		ev->rem_id = nla_get_u8(a[MPTCP_ATTR_REM_ID]);
	if (a[MPTCP_ATTR_ERROR])
		ev->error = nla_get_u8(a[MPTCP_ATTR_ERROR]);
	if (a[MPTCP_ATTR_BACKUP])
		ev->backup = nla_get_u8(a[MPTCP_ATTR_BACKUP]);
	if (a[MPTCP_ATTR_IF_IDX])
		ev->ifindex = (int)nla_get_u32(a[MPTCP_ATTR_IF_IDX]);
	return 0;
}
