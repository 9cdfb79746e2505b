// SPDX-License-Identifier: MIT
/*
 * The MPTCP path manager ("mptcp_pm" generic-netlink family): endpoints and
 * limits of the current network namespace.
 */
#include "log.h"
#include "rt_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/mptcp.h>
#include <netlink/errno.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>

struct rt_pm {
	struct nl_sock *sk;
	int family_id;
};

/* State of one request: replies go to @parse, the final ACK/DONE/error ends it. */
struct transaction {
	int (*parse)(struct nlmsghdr *nlh, void *arg);
	void *arg;
	int err;
	bool done;
};

static int on_valid(struct nl_msg *msg, void *arg)
{
	struct transaction *t = arg;

	if (t->parse && !t->err)
		t->err = t->parse(nlmsg_hdr(msg), t->arg);
	return NL_OK;
}

static int on_finish(struct nl_msg *msg, void *arg)
{
	struct transaction *t = arg;

	(void)msg;
	t->done = true;
	return NL_STOP;
}

static int on_error(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct transaction *t = arg;

	(void)nla;
	t->err = e->error < 0 ? e->error : -e->error;
	t->done = true;
	return NL_STOP;
}

/* Send @msg (consumed) and collect its replies until the ACK or DONE. */
static int transact(struct rt_pm *pm, struct nl_msg *msg,
		    int (*parse)(struct nlmsghdr *nlh, void *arg), void *arg)
{
	struct transaction t = {.parse = parse, .arg = arg};
	struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);
	int ret;

	if (!cb) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_valid, &t);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, on_finish, &t);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, on_finish, &t);
	nl_cb_err(cb, NL_CB_CUSTOM, on_error, &t);

	ret = nl_send_auto(pm->sk, msg);
	nlmsg_free(msg);
	if (ret < 0) {
		ret = rt_nlerr_to_errno(ret);
		goto out;
	}
	ret = 0;
	while (!t.done) {
		ret = nl_recvmsgs(pm->sk, cb);
		if (ret < 0) {
			ret = rt_nlerr_to_errno(ret);
			break;
		}
		ret = 0;
	}
	if (!ret)
		ret = t.err;
out:
	nl_cb_put(cb);
	return ret;
}

int rt_pm_open(struct rt_pm **out)
{
	struct rt_pm *pm = calloc(1, sizeof(*pm));
	int ret;

	if (!pm)
		return -ENOMEM;
	pm->sk = nl_socket_alloc();
	if (!pm->sk) {
		ret = -ENOMEM;
		goto fail;
	}
	ret = genl_connect(pm->sk);
	if (ret < 0) {
		ret = rt_nlerr_to_errno(ret);
		goto fail;
	}
	pm->family_id = genl_ctrl_resolve(pm->sk, MPTCP_PM_NAME);
	if (pm->family_id < 0) {
		/* No such family: a kernel without MPTCP. */
		ret = -EPROTONOSUPPORT;
		goto fail;
	}
	*out = pm;
	return 0;
fail:
	rt_pm_close(pm);
	return ret;
}

void rt_pm_close(struct rt_pm *pm)
{
	if (!pm)
		return;
	nl_socket_free(pm->sk);
	free(pm);
}

/* Build a message with @build and run it; @parse gets the replies. */
#define PM_REQUEST(pm, parse, arg, build, ...)                                           \
	({                                                                               \
		struct nl_msg *msg_ = nlmsg_alloc();                                     \
		int ret_ = msg_ ? build(msg_, (pm)->family_id, ##__VA_ARGS__) : -ENOMEM; \
		if (!ret_)                                                               \
			ret_ = transact((pm), msg_, (parse), (arg));                     \
		else                                                                     \
			nlmsg_free(msg_);                                                \
		ret_;                                                                    \
	})

int rt_pm_add_endpoint(struct rt_pm *pm, const struct rt_endpoint *ep)
{
	return PM_REQUEST(pm, NULL, NULL, rt_pm_build_add_addr, ep);
}

int rt_pm_del_endpoint(struct rt_pm *pm, const struct rt_endpoint *ep)
{
	return PM_REQUEST(pm, NULL, NULL, rt_pm_build_del_addr, ep);
}

struct endpoint_list {
	struct rt_endpoint *v;
	size_t n, cap;
};

static int collect_endpoint(struct nlmsghdr *nlh, void *arg)
{
	struct endpoint_list *l = arg;
	struct rt_endpoint ep;

	if (rt_pm_parse_endpoint(nlh, &ep))
		return 0; /* an IPv6 or malformed entry does not stop the dump */
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 8;
		struct rt_endpoint *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = ep;
	return 0;
}

int rt_pm_list_endpoints(struct rt_pm *pm, struct rt_endpoint **out, size_t *n)
{
	struct endpoint_list l = {0};
	int ret = PM_REQUEST(pm, collect_endpoint, &l, rt_pm_build_get_addrs);

	if (ret) {
		free(l.v);
		return ret;
	}
	*out = l.v;
	*n = l.n;
	return 0;
}

static int parse_limits(struct nlmsghdr *nlh, void *arg)
{
	return rt_pm_parse_limits(nlh, arg);
}

int rt_pm_get_limits(struct rt_pm *pm, struct rt_limits *lim)
{
	return PM_REQUEST(pm, parse_limits, lim, rt_pm_build_get_limits);
}

int rt_pm_set_limits(struct rt_pm *pm, const struct rt_limits *lim)
{
	return PM_REQUEST(pm, NULL, NULL, rt_pm_build_set_limits, lim);
}

int rt_pm_set_flags(struct rt_pm *pm, const struct rt_endpoint *ep)
{
	return PM_REQUEST(pm, NULL, NULL, rt_pm_build_set_flags, ep);
}

struct nl_sock *rt_pm_events_open(void)
{
	struct nl_sock *sk = nl_socket_alloc();
	int grp;

	if (!sk)
		return NULL;
	if (genl_connect(sk) < 0)
		goto fail;
	grp = genl_ctrl_resolve_grp(sk, MPTCP_PM_NAME, MPTCP_PM_EV_GRP_NAME);
	if (grp < 0 || nl_socket_add_membership(sk, grp) < 0)
		goto fail;
	/* Events are not replies: no sequence numbers to check. */
	nl_socket_disable_seq_check(sk);
	nl_socket_set_nonblocking(sk);
	return sk;
fail:
	LOG_WARN(RT_TAG, "no MPTCP path-manager events: cannot join %s", MPTCP_PM_EV_GRP_NAME);
	nl_socket_free(sk);
	return NULL;
}
