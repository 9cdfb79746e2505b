// SPDX-License-Identifier: MIT
/* The netlink messages routing/ would send, checked without sending them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <linux/fib_rules.h>
#include <linux/mptcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <netlink/errno.h>

#include "rt_internal.h"

#define FAMILY_ID 0x1d

static struct nl_msg *new_msg(void)
{
	struct nl_msg *msg = nlmsg_alloc();

	assert_non_null(msg);
	return msg;
}

static struct genlmsghdr *genl_hdr(struct nl_msg *msg)
{
	return nlmsg_data(nlmsg_hdr(msg));
}

static void test_add_addr(void **state)
{
	struct rt_endpoint ep =
				   {
					   .id = 241,
					   .ip = {.family = AF_INET,
						  .v4.s_addr = inet_addr("10.2.0.2")},
					   .flags = MPTCP_PM_ADDR_FLAG_SUBFLOW,
					   .ifindex = 7,
				   },
			   back;
	struct nl_msg *msg = new_msg();
	struct nlattr *top[MPTCP_PM_ATTR_MAX + 1];

	assert_int_equal(rt_pm_build_add_addr(msg, FAMILY_ID, &ep), 0);
	assert_int_equal(nlmsg_hdr(msg)->nlmsg_type, FAMILY_ID);
	assert_int_equal(genl_hdr(msg)->cmd, MPTCP_PM_CMD_ADD_ADDR);
	assert_int_equal(genl_hdr(msg)->version, MPTCP_PM_VER);

	/* The address is one nested attribute, marked NLA_F_NESTED as the kernel requires. */
	assert_int_equal(genlmsg_parse(nlmsg_hdr(msg), 0, top, MPTCP_PM_ATTR_MAX, NULL), 0);
	assert_non_null(top[MPTCP_PM_ATTR_ADDR]);
	assert_true(top[MPTCP_PM_ATTR_ADDR]->nla_type & NLA_F_NESTED);
	assert_null(top[MPTCP_PM_ATTR_SUBFLOWS]);

	assert_int_equal(rt_pm_parse_endpoint(nlmsg_hdr(msg), &back), 0);
	assert_int_equal(back.id, 241);
	assert_int_equal(back.ip.family, AF_INET);
	assert_int_equal(back.ip.v4.s_addr, inet_addr("10.2.0.2"));
	assert_int_equal(back.flags, MPTCP_PM_ADDR_FLAG_SUBFLOW);
	assert_int_equal(back.ifindex, 7);
	nlmsg_free(msg);
}

static void test_del_addr(void **state)
{
	struct rt_endpoint ep =
				   {
					   .id = 240,
					   .ip = {.family = AF_INET,
						  .v4.s_addr = inet_addr("10.1.0.2")},
					   .flags = MPTCP_PM_ADDR_FLAG_SUBFLOW,
					   .ifindex = 3,
				   },
			   back;
	struct nl_msg *msg = new_msg();

	assert_int_equal(rt_pm_build_del_addr(msg, FAMILY_ID, &ep), 0);
	assert_int_equal(genl_hdr(msg)->cmd, MPTCP_PM_CMD_DEL_ADDR);
	assert_int_equal(rt_pm_parse_endpoint(nlmsg_hdr(msg), &back), 0);
	assert_int_equal(back.id, 240);
	assert_int_equal(back.ip.v4.s_addr, inet_addr("10.1.0.2"));
	assert_int_equal(back.flags, 0); /* deletion is by id: no flags, no device */
	assert_int_equal(back.ifindex, 0);
	nlmsg_free(msg);
}

/* An IPv6 endpoint goes out as ADDR6 and comes back the same. */
static void test_addr_v6(void **state)
{
	struct rt_endpoint ep = {.id = 242, .flags = MPTCP_PM_ADDR_FLAG_SUBFLOW}, back;
	struct nl_msg *msg = new_msg();
	struct nlattr *top[MPTCP_PM_ATTR_MAX + 1], *a[MPTCP_PM_ADDR_ATTR_MAX + 1];

	ep.ip.family = AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, "fd00:2::2", &ep.ip.v6), 1);
	assert_int_equal(rt_pm_build_add_addr(msg, FAMILY_ID, &ep), 0);
	assert_int_equal(genlmsg_parse(nlmsg_hdr(msg), 0, top, MPTCP_PM_ATTR_MAX, NULL), 0);
	assert_int_equal(nla_parse_nested(a, MPTCP_PM_ADDR_ATTR_MAX, top[MPTCP_PM_ATTR_ADDR], NULL),
			 0);
	assert_null(a[MPTCP_PM_ADDR_ATTR_ADDR4]);
	assert_int_equal(nla_len(a[MPTCP_PM_ADDR_ATTR_ADDR6]), 16);
	assert_int_equal(rt_pm_parse_endpoint(nlmsg_hdr(msg), &back), 0);
	assert_true(mps_ip_equal(&back.ip, &ep.ip));
	assert_int_equal(back.id, 242);
	nlmsg_free(msg);
}

static void test_bad_family(void **state)
{
	struct rt_endpoint ep = {.ip.family = AF_UNIX};
	struct nl_msg *msg = new_msg();

	assert_int_equal(rt_pm_build_add_addr(msg, FAMILY_ID, &ep), -EINVAL);
	nlmsg_free(msg);
}

static void test_limits(void **state)
{
	struct rt_limits lim = {.subflows = 2, .add_addr_accepted = 5}, back;
	struct nl_msg *msg = new_msg();

	assert_int_equal(rt_pm_build_set_limits(msg, FAMILY_ID, &lim), 0);
	assert_int_equal(genl_hdr(msg)->cmd, MPTCP_PM_CMD_SET_LIMITS);
	assert_int_equal(rt_pm_parse_limits(nlmsg_hdr(msg), &back), 0);
	assert_int_equal(back.subflows, 2);
	assert_int_equal(back.add_addr_accepted, 5);
	nlmsg_free(msg);

	msg = new_msg();
	assert_int_equal(rt_pm_build_get_limits(msg, FAMILY_ID), 0);
	assert_int_equal(genl_hdr(msg)->cmd, MPTCP_PM_CMD_GET_LIMITS);
	assert_int_equal(rt_pm_parse_limits(nlmsg_hdr(msg), &back), -EINVAL);
	nlmsg_free(msg);

	msg = new_msg();
	assert_int_equal(rt_pm_build_get_addrs(msg, FAMILY_ID), 0);
	assert_int_equal(genl_hdr(msg)->cmd, MPTCP_PM_CMD_GET_ADDR);
	assert_true(nlmsg_hdr(msg)->nlmsg_flags & NLM_F_DUMP);
	nlmsg_free(msg);
}

static void test_flags_str(void **state)
{
	char buf[64];

	assert_string_equal(rt_endpoint_flags_str(MPTCP_PM_ADDR_FLAG_SUBFLOW, buf, sizeof(buf)),
			    "subflow");
	assert_string_equal(
		rt_endpoint_flags_str(MPTCP_PM_ADDR_FLAG_SUBFLOW | MPTCP_PM_ADDR_FLAG_BACKUP, buf,
				      sizeof(buf)),
		"subflow,backup");
	assert_string_equal(rt_endpoint_flags_str(0, buf, sizeof(buf)), "");
}

static const struct rt_uplink uplink = {
	.ifname = "up1",
	.ifindex = 5,
	.side[RT_V4] = {.addr = {.family = AF_INET, .v4.s_addr = 0x0200020a}, /* 10.2.0.2 */
			.prefixlen = 24,
			.gw = {.family = AF_INET, .v4.s_addr = 0x0100020a}}, /* 10.2.0.1 */
	.table = RT_TABLE_BASE + 1,
};

static void expect_addr(struct nl_addr *a, const char *ip, int prefixlen)
{
	struct mps_ip want;
	size_t len;
	const void *bytes;

	assert_true(mps_ip_parse(&want, ip));
	bytes = mps_ip_bytes(&want, &len);
	assert_non_null(a);
	assert_int_equal(nl_addr_get_family(a), want.family);
	assert_int_equal(nl_addr_get_prefixlen(a), prefixlen);
	if (prefixlen)
		assert_memory_equal(nl_addr_get_binary_addr(a), bytes, len);
}

static void test_table_routes(void **state)
{
	struct rtnl_route *subnet, *deflt;
	struct rtnl_nexthop *nh;

	assert_int_equal(rt_build_table_routes(&uplink, RT_V4, &subnet, &deflt), 0);

	assert_int_equal(rtnl_route_get_table(subnet), RT_TABLE_BASE + 1);
	assert_int_equal(rtnl_route_get_protocol(subnet), RT_PROTO);
	assert_int_equal(rtnl_route_get_scope(subnet), RT_SCOPE_LINK);
	expect_addr(rtnl_route_get_dst(subnet), "10.2.0.0", 24);
	expect_addr(rtnl_route_get_pref_src(subnet), "10.2.0.2", 32);
	assert_int_equal(rtnl_route_get_nnexthops(subnet), 1);
	nh = rtnl_route_nexthop_n(subnet, 0);
	assert_int_equal(rtnl_route_nh_get_ifindex(nh), 5);
	assert_null(rtnl_route_nh_get_gateway(nh));

	assert_int_equal(rtnl_route_get_table(deflt), RT_TABLE_BASE + 1);
	assert_int_equal(rtnl_route_get_protocol(deflt), RT_PROTO);
	assert_int_equal(rtnl_route_get_scope(deflt), RT_SCOPE_UNIVERSE);
	expect_addr(rtnl_route_get_dst(deflt), "0.0.0.0", 0);
	nh = rtnl_route_nexthop_n(deflt, 0);
	assert_int_equal(rtnl_route_nh_get_ifindex(nh), 5);
	expect_addr(rtnl_route_nh_get_gateway(nh), "10.2.0.1", 32);
	assert_false(rtnl_route_nh_get_flags(nh) & RTNH_F_ONLINK);
	rtnl_route_put(subnet);
	rtnl_route_put(deflt);
}

static void test_table_routes_p2p(void **state)
{
	struct rt_uplink u = uplink;
	struct rtnl_route *subnet, *deflt;
	struct rtnl_nexthop *nh;

	/* A modem's /32 with a gateway outside it: reached on-link. */
	u.side[RT_V4].prefixlen = 32;
	assert_int_equal(rt_build_table_routes(&u, RT_V4, &subnet, &deflt), 0);
	nh = rtnl_route_nexthop_n(deflt, 0);
	assert_true(rtnl_route_nh_get_flags(nh) & RTNH_F_ONLINK);
	rtnl_route_put(subnet);
	rtnl_route_put(deflt);

	/* No gateway at all: a device route. */
	memset(&u.side[RT_V4].gw, 0, sizeof(u.side[RT_V4].gw));
	assert_int_equal(rt_build_table_routes(&u, RT_V4, &subnet, &deflt), 0);
	assert_int_equal(rtnl_route_get_scope(deflt), RT_SCOPE_LINK);
	assert_null(rtnl_route_nh_get_gateway(rtnl_route_nexthop_n(deflt, 0)));
	rtnl_route_put(subnet);
	rtnl_route_put(deflt);
}

/* An IPv6 side: a /64 from SLAAC, the router's link-local address as gateway. */
static void test_table_routes_v6(void **state)
{
	struct rt_uplink u = uplink;
	struct rt_side *s = &u.side[RT_V6];
	struct rtnl_route *subnet, *deflt;
	struct rtnl_nexthop *nh;
	struct rtnl_rule *rule;

	assert_true(mps_ip_parse(&s->addr, "2001:db8:2:0:5054:ff:fe12:3456"));
	s->prefixlen = 64;
	assert_true(mps_ip_parse(&s->gw, "fe80::1"));
	assert_int_equal(rt_build_table_routes(&u, RT_V6, &subnet, &deflt), 0);
	assert_int_equal(rtnl_route_get_family(subnet), AF_INET6);
	assert_int_equal(rtnl_route_get_table(subnet), RT_TABLE_BASE + 1);
	expect_addr(rtnl_route_get_dst(subnet), "2001:db8:2::", 64);
	expect_addr(rtnl_route_get_pref_src(subnet), "2001:db8:2:0:5054:ff:fe12:3456", 128);
	assert_int_equal(rtnl_route_get_family(deflt), AF_INET6);
	expect_addr(rtnl_route_get_dst(deflt), "::", 0);
	nh = rtnl_route_nexthop_n(deflt, 0);
	assert_int_equal(rtnl_route_nh_get_ifindex(nh), 5);
	expect_addr(rtnl_route_nh_get_gateway(nh), "fe80::1", 128);
	/* A link-local gateway is on the link by definition: no ONLINK. */
	assert_false(rtnl_route_nh_get_flags(nh) & RTNH_F_ONLINK);
	rtnl_route_put(subnet);
	rtnl_route_put(deflt);

	rule = rt_build_source_rule(&u, RT_V6);
	assert_non_null(rule);
	assert_int_equal(rtnl_rule_get_family(rule), AF_INET6);
	expect_addr(rtnl_rule_get_src(rule), "2001:db8:2:0:5054:ff:fe12:3456", 128);
	assert_int_equal(rtnl_rule_get_table(rule), RT_TABLE_BASE + 1);
	rtnl_rule_put(rule);
}

static void test_source_rule(void **state)
{
	struct rtnl_rule *rule = rt_build_source_rule(&uplink, RT_V4);
	uint8_t proto = 0;

	assert_non_null(rule);
	assert_int_equal(rtnl_rule_get_family(rule), AF_INET);
	expect_addr(rtnl_rule_get_src(rule), "10.2.0.2", 32);
	assert_int_equal(rtnl_rule_get_table(rule), RT_TABLE_BASE + 1);
	assert_int_equal(rtnl_rule_get_prio(rule), RT_RULE_PRIORITY);
	assert_int_equal(rtnl_rule_get_action(rule), FR_ACT_TO_TBL);
	assert_int_equal(rtnl_rule_get_protocol(rule, &proto), 0);
	assert_int_equal(proto, RT_PROTO);
	assert_true(RT_RULE_PRIORITY < 32766); /* before the main table's rule */
	rtnl_rule_put(rule);
}

static void test_uplink_spec(void **state)
{
	struct rt_uplink_spec s;

	assert_int_equal(rt_uplink_spec_parse("eth0", &s), 0);
	assert_string_equal(s.ifname, "eth0");
	assert_false(s.gw[RT_V4].family || s.gw[RT_V6].family);
	assert_int_equal(rt_uplink_spec_parse("wwan0,gw=192.0.2.1", &s), 0);
	assert_string_equal(s.ifname, "wwan0");
	assert_int_equal(s.gw[RT_V4].family, AF_INET);
	assert_int_equal(s.gw[RT_V4].v4.s_addr, inet_addr("192.0.2.1"));
	assert_int_equal(s.gw[RT_V6].family, 0);
	assert_int_equal(rt_uplink_spec_parse("eth0,gw=", &s), -EINVAL);
	assert_int_equal(rt_uplink_spec_parse("eth0,gw=0.0.0.0", &s), -EINVAL);
	assert_int_equal(rt_uplink_spec_parse("eth0,gw=::", &s), -EINVAL);
	assert_int_equal(rt_uplink_spec_parse("eth0,gw=1.2.3.4,gw=1.2.3.5", &s), -EINVAL);
	assert_int_equal(rt_uplink_spec_parse("eth0,gw=fe80::1,gw=fe80::2", &s), -EINVAL);
	/* One gateway per family. */
	assert_int_equal(rt_uplink_spec_parse("eth0,gw=fe80::1,gw=1.2.3.4", &s), 0);
	assert_int_equal(s.gw[RT_V6].family, AF_INET6);
	assert_int_equal(s.gw[RT_V4].family, AF_INET);
	assert_int_equal(rt_uplink_spec_parse("eth0,gw=[fe80::1]", &s), -EINVAL);
	assert_int_equal(rt_uplink_spec_parse(",gw=1.2.3.4", &s), -EINVAL);
	assert_int_equal(rt_uplink_spec_parse("a/b", &s), -EINVAL);
	assert_int_equal(rt_uplink_spec_parse("0123456789abcdef", &s), -ENAMETOOLONG);
	assert_int_equal(rt_uplink_spec_parse("0123456789abcde", &s), 0);
	assert_int_equal(rt_uplink_spec_parse("wwan0:backup", &s), 0);
	assert_string_equal(s.ifname, "wwan0");
	assert_true(s.backup);
	assert_int_equal(rt_uplink_spec_parse("wwan0:backup,gw=10.0.0.1", &s), 0);
	assert_true(s.backup && s.gw[RT_V4].family == AF_INET);
	assert_int_equal(rt_uplink_spec_parse("eth1,backup", &s), 0);
	assert_true(s.backup);
	assert_false(rt_uplink_spec_parse("eth1", &s) || s.backup);
	assert_int_equal(rt_uplink_spec_parse("eth1:primary", &s), -EINVAL);
	assert_int_equal(rt_uplink_spec_parse(":backup", &s), -EINVAL);
	/* cc=NAME: a congestion control's name, once. */
	assert_int_equal(rt_uplink_spec_parse("wwan0,cc=bbr,backup", &s), 0);
	assert_string_equal(s.cc, "bbr");
	assert_true(s.backup);
	assert_int_equal(rt_uplink_spec_parse("eth0", &s), 0);
	assert_string_equal(s.cc, "");
	assert_int_equal(rt_uplink_spec_parse("eth0,cc=", &s), -EINVAL);
	assert_int_equal(rt_uplink_spec_parse("eth0,cc=BBR", &s), -EINVAL);
	assert_int_equal(rt_uplink_spec_parse("eth0,cc=bbr,cc=cubic", &s), -EINVAL);
	assert_int_equal(rt_uplink_spec_parse("eth0,cc=0123456789abcdef", &s), -EINVAL);
	assert_int_equal(rt_uplink_spec_parse("eth0,cc=0123456789abcde", &s), 0);
	assert_int_equal(rt_uplink_spec_parse("eth0,cc=a b", &s), -EINVAL);
}

/* The RTA_METRICS nest of the request @msg: RTAX_CC_ALGO's string, or NULL without one. */
static const char *request_cc(struct nl_msg *msg)
{
	struct nlmsghdr *h = nlmsg_hdr(msg);
	struct nlattr *tb[RTA_MAX + 1], *mx[RTAX_MAX + 1];

	assert_int_equal(h->nlmsg_type, RTM_NEWROUTE);
	assert_int_equal(nlmsg_parse(h, sizeof(struct rtmsg), tb, RTA_MAX, NULL), 0);
	if (!tb[RTA_METRICS])
		return NULL;
	assert_int_equal(nla_parse_nested(mx, RTAX_MAX, tb[RTA_METRICS], NULL), 0);
	/* congctl is the only metric, and a string (libnl would put a u32). */
	for (int k = 1; k <= RTAX_MAX; k++)
		if (k != RTAX_CC_ALGO)
			assert_null(mx[k]);
	assert_non_null(mx[RTAX_CC_ALGO]);
	return nla_get_string(mx[RTAX_CC_ALGO]);
}

/* An uplink's congestion control goes as the route metric congctl, and only when it has one. */
static void test_route_congctl(void **state)
{
	struct rtnl_route *subnet, *deflt;
	struct nl_msg *msg;

	assert_int_equal(rt_build_table_routes(&uplink, RT_V4, &subnet, &deflt), 0);
	assert_int_equal(rt_build_route_request(deflt, "bbr", NLM_F_CREATE | NLM_F_EXCL, &msg), 0);
	assert_true(nlmsg_hdr(msg)->nlmsg_flags & NLM_F_EXCL);
	assert_string_equal(request_cc(msg), "bbr");
	nlmsg_free(msg);
	assert_int_equal(rt_build_route_request(subnet, "", NLM_F_CREATE, &msg), 0);
	assert_null(request_cc(msg));
	nlmsg_free(msg);
	assert_int_equal(rt_build_route_request(subnet, NULL, NLM_F_CREATE, &msg), 0);
	assert_null(request_cc(msg));
	nlmsg_free(msg);
	rtnl_route_put(subnet);
	rtnl_route_put(deflt);
}

/* The same on an IPv6 side: its routes carry the metric too (a subflow may leave through them). */
static void test_route_congctl_v6(void **state)
{
	struct rt_uplink u = uplink;
	struct rt_side *s = &u.side[RT_V6];
	struct rtnl_route *subnet, *deflt;
	struct nl_msg *msg;

	assert_true(mps_ip_parse(&s->addr, "2001:db8:2:0:5054:ff:fe12:3456"));
	s->prefixlen = 64;
	assert_true(mps_ip_parse(&s->gw, "fe80::1"));
	assert_int_equal(rt_build_table_routes(&u, RT_V6, &subnet, &deflt), 0);
	for (int k = 0; k < 2; k++) {
		assert_int_equal(
			rt_build_route_request(k ? deflt : subnet, "cubic", NLM_F_CREATE, &msg), 0);
		assert_int_equal(((struct rtmsg *)nlmsg_data(nlmsg_hdr(msg)))->rtm_family,
				 AF_INET6);
		assert_string_equal(request_cc(msg), "cubic");
		nlmsg_free(msg);
	}
	rtnl_route_put(subnet);
	rtnl_route_put(deflt);
}

/* mkdir -p @path (whose parents are under /tmp). */
static int mkdir_p(const char *path)
{
	char copy[512];

	snprintf(copy, sizeof(copy), "%s", path);
	for (char *p = copy + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, 0700) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return mkdir(copy, 0700) < 0 && errno != EEXIST ? -errno : 0;
}

/* Remove what fake_sysfs() made for @ifname in @root. */
static void unfake_sysfs(const char *root, const char *ifname)
{
	static const char *const parts[] = {"/device/driver", "/device", "/uevent", ""};
	char path[512];

	for (size_t k = 0; k < sizeof(parts) / sizeof(parts[0]); k++) {
		snprintf(path, sizeof(path), "%s/%s%s", root, ifname, parts[k]);
		if (remove(path) < 0)
			assert_int_equal(errno, ENOENT);
	}
}

/* A fake /sys/class/net/@ifname in @root: its uevent's DEVTYPE (or none), its driver (or none). */
static void fake_sysfs(const char *root, const char *ifname, const char *devtype,
		       const char *driver)
{
	char path[512], target[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/device", root, ifname);
	assert_int_equal(mkdir_p(path), 0);
	snprintf(path, sizeof(path), "%s/%s/uevent", root, ifname);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "INTERFACE=%s\nIFINDEX=3\n%s%s%s", ifname, devtype ? "DEVTYPE=" : "",
		devtype ? devtype : "", devtype ? "\n" : "");
	fclose(f);
	if (!driver)
		return;
	snprintf(target, sizeof(target), "../../../bus/usb/drivers/%s", driver);
	snprintf(path, sizeof(path), "%s/%s/device/driver", root, ifname);
	assert_int_equal(symlink(target, path), 0);
}

static void test_cellular_link(void **state)
{
	static const char *const names[] = {"wwan0", "usb0", "eth1", "eth0", "veth0", "wlan0"};
	char root[] = "/tmp/mps-sysfs-XXXXXX", what[32] = "";

	assert_non_null(mkdtemp(root));
	fake_sysfs(root, "wwan0", "wwan", NULL);
	fake_sysfs(root, "usb0", NULL, "rndis_host");
	fake_sysfs(root, "eth1", NULL, "qmi_wwan");
	fake_sysfs(root, "eth0", NULL, "e1000e");
	fake_sysfs(root, "veth0", NULL, NULL);
	fake_sysfs(root, "wlan0", "wlan", "iwlwifi");

	assert_int_equal(rt_cellular_link(root, "wwan0", what, sizeof(what)), 1);
	assert_string_equal(what, "a WWAN device");
	assert_int_equal(rt_cellular_link(root, "usb0", what, sizeof(what)), 1);
	assert_string_equal(what, "driver rndis_host");
	assert_int_equal(rt_cellular_link(root, "eth1", what, sizeof(what)), 1);
	assert_string_equal(what, "driver qmi_wwan");
	assert_int_equal(rt_cellular_link(root, "eth0", what, sizeof(what)), 0);
	assert_int_equal(rt_cellular_link(root, "veth0", what, sizeof(what)), 0);
	assert_int_equal(rt_cellular_link(root, "wlan0", what, sizeof(what)), 0);
	assert_int_equal(rt_cellular_link(root, "absent0", what, sizeof(what)), 0);
	assert_int_equal(rt_cellular_link(root, "../eth1", what, sizeof(what)), 0);
	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++)
		unfake_sysfs(root, names[k]);
	assert_int_equal(rmdir(root), 0);
}

/* What the others see of an uplink: both sides' addresses, with whether each is in use. */
static void test_uplink_view(void **state)
{
	struct rt_uplink up = {
		.ifname = "wwan0", .installed = true, .link_up = true, .backup = true};
	struct mps_uplink_view v;
	struct sockaddr_storage ss4 = {0}, ss6 = {0};
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss4;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss6;

	(void)state;
	assert_true(mps_ip_parse(&up.side[RT_V4].addr, "192.0.2.7"));
	assert_true(mps_ip_parse(&up.side[RT_V6].addr, "2001:db8::7"));
	up.side[RT_V6].installed = true; /* IPv4: an address, no gateway yet */
	rt_uplink_view_of(&up, &v);
	assert_string_equal(v.name, "wwan0");
	assert_true(v.installed && v.link_up && v.backup && !v.disabled);
	assert_true(mps_ip_equal(&v.side[RT_V4].addr, &up.side[RT_V4].addr));
	assert_false(v.side[RT_V4].installed);
	assert_null(mps_uplink_view_addr(&v, AF_INET));
	assert_true(mps_ip_equal(mps_uplink_view_addr(&v, AF_INET6), &up.side[RT_V6].addr));
	/* A subflow leaves from it only from an address in use. */
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = inet_addr("192.0.2.7");
	sin6->sin6_family = AF_INET6;
	sin6->sin6_addr = up.side[RT_V6].addr.v6;
	assert_false(mps_uplink_view_owns(&v, &ss4));
	assert_true(mps_uplink_view_owns(&v, &ss6));
	assert_int_equal(rt_uplinks_view(NULL, 0, &v), -ENOENT);
}

/*
 * Naming a subflow and counting it for failover follow one rule: an uplink with
 * a second address not in use (IPv6 with no gateway yet) owns no subflow from
 * it. Subflows used to be named by any address of an uplink: one from that
 * address was "wwan0" in the log while failover counted it on no uplink.
 */
static void test_subflow_owner(void **state)
{
	struct rt_uplink ups[2] = {{.ifname = "eth0", .ifindex = 2, .installed = true},
				   {.ifname = "wwan0", .ifindex = 3, .installed = true}};
	struct mps_uplink_view v[2];
	struct sockaddr_storage from_v4 = {0}, from_v6 = {0}, from_eth0 = {0}, elsewhere = {0};
	struct mps_ip other;

	(void)state;
	assert_true(mps_ip_parse(&ups[0].side[RT_V4].addr, "192.0.2.1"));
	ups[0].side[RT_V4].installed = true;
	assert_true(mps_ip_parse(&ups[1].side[RT_V4].addr, "198.51.100.7"));
	ups[1].side[RT_V4].installed = true;
	assert_true(mps_ip_parse(&ups[1].side[RT_V6].addr, "2001:db8::7")); /* not in use */
	for (int i = 0; i < 2; i++)
		rt_uplink_view_of(&ups[i], &v[i]);
	mps_ip_sockaddr(&ups[1].side[RT_V4].addr, 40000, false, &from_v4);
	mps_ip_sockaddr(&ups[1].side[RT_V6].addr, 40001, false, &from_v6);
	mps_ip_sockaddr(&ups[0].side[RT_V4].addr, 40002, true, &from_eth0); /* IPv4-mapped */
	assert_true(mps_ip_parse(&other, "2001:db8::99"));
	mps_ip_sockaddr(&other, 40003, false, &elsewhere);
	/* The address in use: named wwan0, and failover counts it on wwan0. */
	assert_ptr_equal(mps_uplink_view_owner(v, 2, &from_v4), &v[1]);
	assert_true(mps_uplink_view_owns(&v[1], &from_v4));
	/* The address not in use: neither named nor counted (the case that differed). */
	assert_null(mps_uplink_view_owner(v, 2, &from_v6));
	assert_false(mps_uplink_view_owns(&v[0], &from_v6) ||
		     mps_uplink_view_owns(&v[1], &from_v6));
	/* IPv4-mapped, and an address of no uplink. */
	assert_ptr_equal(mps_uplink_view_owner(v, 2, &from_eth0), &v[0]);
	assert_null(mps_uplink_view_owner(v, 2, &elsewhere));
	/* Once in use, it is named and counted. */
	ups[1].side[RT_V6].installed = true;
	rt_uplink_view_of(&ups[1], &v[1]);
	assert_ptr_equal(mps_uplink_view_owner(v, 2, &from_v6), &v[1]);
	assert_true(mps_uplink_view_owns(&v[1], &from_v6));
}

static void test_set_flags_and_events(void **state)
{
	struct rt_endpoint ep = {.id = 241,
				 .ip = {.family = AF_INET, .v4.s_addr = inet_addr("10.2.0.2")},
				 .flags = MPTCP_PM_ADDR_FLAG_BACKUP},
			   back;
	struct nl_msg *msg = new_msg();
	struct rt_pm_event ev;
	struct nlattr *nest;

	assert_int_equal(rt_pm_build_set_flags(msg, FAMILY_ID, &ep), 0);
	assert_int_equal(genl_hdr(msg)->cmd, MPTCP_PM_CMD_SET_FLAGS);
	assert_int_equal(rt_pm_parse_endpoint(nlmsg_hdr(msg), &back), 0);
	assert_int_equal(back.id, 241);
	assert_int_equal(back.flags, MPTCP_PM_ADDR_FLAG_BACKUP);
	nlmsg_free(msg);

	/* An event as the kernel sends it: attributes at the top level. */
	msg = new_msg();
	assert_non_null(genlmsg_put(msg, 0, 0, FAMILY_ID, 0, 0, MPTCP_EVENT_SUB_CLOSED, 1));
	nla_put_u32(msg, MPTCP_ATTR_TOKEN, 0xdeadbeef);
	nla_put_u16(msg, MPTCP_ATTR_FAMILY, AF_INET);
	nla_put_u32(msg, MPTCP_ATTR_SADDR4, inet_addr("10.1.0.2"));
	nla_put_u32(msg, MPTCP_ATTR_DADDR4, inet_addr("10.9.0.2"));
	nla_put_u16(msg, MPTCP_ATTR_SPORT, htons(40000));
	nla_put_u16(msg, MPTCP_ATTR_DPORT, htons(1935));
	nla_put_u8(msg, MPTCP_ATTR_ERROR, 110);
	(void)nest;
	assert_int_equal(rt_pm_parse_event(nlmsg_hdr(msg), &ev), 0);
	assert_int_equal(ev.type, MPTCP_EVENT_SUB_CLOSED);
	assert_string_equal(rt_pm_event_name(ev.type), "sub_closed");
	assert_int_equal(ev.token, 0xdeadbeef);
	assert_int_equal(ev.saddr.s_addr, inet_addr("10.1.0.2"));
	assert_int_equal(ev.sport, 40000);
	assert_int_equal(ev.dport, 1935);
	assert_int_equal(ev.error, 110);
	assert_null(rt_pm_event_name(99));
	nlmsg_free(msg);

	/* A subflow event without its source address is rejected, not read as 0.0.0.0. */
	msg = new_msg();
	assert_non_null(genlmsg_put(msg, 0, 0, FAMILY_ID, 0, 0, MPTCP_EVENT_SUB_ESTABLISHED, 1));
	nla_put_u32(msg, MPTCP_ATTR_TOKEN, 0xdeadbeef);
	nla_put_u16(msg, MPTCP_ATTR_FAMILY, AF_INET);
	nla_put_u32(msg, MPTCP_ATTR_DADDR4, inet_addr("10.9.0.2"));
	nla_put_u16(msg, MPTCP_ATTR_SPORT, htons(40000));
	nla_put_u16(msg, MPTCP_ATTR_DPORT, htons(1935));
	assert_int_equal(rt_pm_parse_event(nlmsg_hdr(msg), &ev), -EBADMSG);
	nlmsg_free(msg);

	/* Nor one without a token, or without its family. */
	msg = new_msg();
	assert_non_null(genlmsg_put(msg, 0, 0, FAMILY_ID, 0, 0, MPTCP_EVENT_CLOSED, 1));
	assert_int_equal(rt_pm_parse_event(nlmsg_hdr(msg), &ev), -EBADMSG);
	nla_put_u32(msg, MPTCP_ATTR_TOKEN, 7);
	assert_int_equal(rt_pm_parse_event(nlmsg_hdr(msg), &ev), 0); /* closed: a token is all */
	nlmsg_free(msg);
	msg = new_msg();
	assert_non_null(genlmsg_put(msg, 0, 0, FAMILY_ID, 0, 0, MPTCP_EVENT_SUB_CLOSED, 1));
	nla_put_u32(msg, MPTCP_ATTR_TOKEN, 7);
	nla_put_u32(msg, MPTCP_ATTR_SADDR4, inet_addr("10.1.0.2"));
	nla_put_u32(msg, MPTCP_ATTR_DADDR4, inet_addr("10.9.0.2"));
	nla_put_u16(msg, MPTCP_ATTR_SPORT, htons(40000));
	nla_put_u16(msg, MPTCP_ATTR_DPORT, htons(1935));
	assert_int_equal(rt_pm_parse_event(nlmsg_hdr(msg), &ev), -EBADMSG);
	nlmsg_free(msg);

	/* IPv6 ends are read as such. */
	{
		struct in6_addr s6, d6;

		inet_pton(AF_INET6, "2001:db8:1::2", &s6);
		inet_pton(AF_INET6, "2001:db8:9::2", &d6);
		msg = new_msg();
		assert_non_null(
			genlmsg_put(msg, 0, 0, FAMILY_ID, 0, 0, MPTCP_EVENT_SUB_ESTABLISHED, 1));
		nla_put_u32(msg, MPTCP_ATTR_TOKEN, 7);
		nla_put_u16(msg, MPTCP_ATTR_FAMILY, AF_INET6);
		nla_put(msg, MPTCP_ATTR_SADDR6, sizeof(s6), &s6);
		nla_put(msg, MPTCP_ATTR_DADDR6, sizeof(d6), &d6);
		nla_put_u16(msg, MPTCP_ATTR_SPORT, htons(40000));
		nla_put_u16(msg, MPTCP_ATTR_DPORT, htons(1935));
		assert_int_equal(rt_pm_parse_event(nlmsg_hdr(msg), &ev), 0);
		assert_int_equal(ev.family, AF_INET6);
		assert_memory_equal(&ev.saddr6, &s6, sizeof(s6));
		assert_memory_equal(&ev.daddr6, &d6, sizeof(d6));
		nlmsg_free(msg);
	}
}

static void test_nlerr(void **state)
{
	assert_int_equal(rt_nlerr_to_errno(-NLE_PERM), -EPERM);
	assert_int_equal(rt_nlerr_to_errno(-NLE_EXIST), -EEXIST);
	assert_int_equal(rt_nlerr_to_errno(-NLE_OBJ_NOTFOUND), -ENOENT);
	assert_int_equal(rt_nlerr_to_errno(NLE_NODEV), -ENODEV);
	assert_int_equal(rt_nlerr_to_errno(0), 0);
	assert_int_equal(rt_nlerr_to_errno(-9999), -EIO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_addr),
		cmocka_unit_test(test_del_addr),
		cmocka_unit_test(test_addr_v6),
		cmocka_unit_test(test_bad_family),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_flags_str),
		cmocka_unit_test(test_table_routes),
		cmocka_unit_test(test_table_routes_p2p),
		cmocka_unit_test(test_table_routes_v6),
		cmocka_unit_test(test_source_rule),
		cmocka_unit_test(test_uplink_spec),
		cmocka_unit_test(test_uplink_view),
		cmocka_unit_test(test_route_congctl),
		cmocka_unit_test(test_route_congctl_v6),
		cmocka_unit_test(test_cellular_link),
		cmocka_unit_test(test_nlerr),
		cmocka_unit_test(test_set_flags_and_events),
		cmocka_unit_test(test_subflow_owner),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
