// SPDX-License-Identifier: MIT
/*
 * Who may read without the token, and how many refusals the log tells of.
 * Pure (no libmicrohttpd), for the unit tests.
 */
#include "inet.h"
#include "web.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

bool web_loopback(const struct sockaddr *sa)
{
	if (!sa)
		return false;
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		return IN6_IS_ADDR_LOOPBACK(a) ||
		       (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
	}
	return false;
}

bool web_host_of(const struct sockaddr *sa, struct web_host *h)
{
	memset(h, 0, sizeof(*h));
	if (!sa)
		return false;
	if (sa->sa_family == AF_INET) {
		memcpy(h->bytes, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a)) {
			memcpy(h->bytes, &a->s6_addr[12], 4);
		} else {
			memcpy(h->bytes, a->s6_addr, 8);
			h->ipv6 = true;
		}
		return true;
	}
	return false;
}

bool web_host_equal(const struct web_host *a, const struct web_host *b)
{
	return a->ipv6 == b->ipv6 && !memcmp(a->bytes, b->bytes, sizeof(a->bytes));
}

void web_host_str(const struct web_host *h, char *out, size_t size)
{
	char ip[INET6_ADDRSTRLEN];
	struct in6_addr a = {0};

	if (!h->ipv6) {
		inet_ntop(AF_INET, h->bytes, ip, sizeof(ip));
		snprintf(out, size, "%s", ip);
		return;
	}
	memcpy(a.s6_addr, h->bytes, 8);
	inet_ntop(AF_INET6, &a, ip, sizeof(ip));
	snprintf(out, size, "%s/64", ip);
}

/* The host part of a Host header (no port, no brackets) in @out; false when malformed. */
static bool host_name(const char *host, char *out, size_t size)
{
	size_t len;

	if (host[0] == '[') {
		const char *close = strchr(host, ']');

		if (!close || (close[1] && close[1] != ':'))
			return false;
		len = (size_t)(close - host - 1);
		host++;
	} else {
		len = strcspn(host, ":");
	}
	if (!len || len >= size)
		return false;
	memcpy(out, host, len);
	out[len] = '\0';
	return true;
}

bool web_host_is_local(const char *host, const struct sockaddr *bound)
{
	struct mps_ip ip, mine, any = {0};
	char name[64];

	if (!host)
		return true; /* HTTP/1.0 without Host: no browser sends that */
	if (!host_name(host, name, sizeof(name)))
		return false;
	if (!strcasecmp(name, "localhost"))
		return true;
	if (!mps_ip_parse(&ip, name))
		return false; /* a name: what a rebinding page's host would be */
	if ((host[0] == '[') != (ip.family == AF_INET6))
		return false; /* [127.0.0.1], or an IPv6 address without brackets */
	if (ip.family == AF_INET6) {
		struct in6_addr v6 = ip.v6;

		if (IN6_IS_ADDR_LOOPBACK(&v6))
			return true;
		mps_ip_set(&ip, AF_INET6, &v6, sizeof(v6)); /* [::ffff:a.b.c.d]: IPv4 */
	}
	if (ip.family == AF_INET && ip.v4.s_addr == htonl(INADDR_LOOPBACK))
		return true;
	if (!bound || !mps_ip_from_sockaddr(&mine, bound))
		return false;
	any.family = mine.family;
	return !mps_ip_equal(&mine, &any) && mps_ip_equal(&ip, &mine);
}

enum web_access web_read_access(const struct sockaddr *client, const char *host,
				const struct sockaddr *bound, bool open)
{
	bool local = web_loopback(client);

	if (!local && !open)
		return WEB_NEED_TOKEN;
	/*
	 * A page another site served can make this host's browser read from
	 * 127.0.0.1 under that site's name (DNS rebinding): it sends that name.
	 */
	if (local && !web_host_is_local(host, bound))
		return WEB_FOREIGN_HOST;
	return WEB_ALLOWED;
}

bool web_refusal_to_log(struct web_refusals *r, int64_t now_ms, unsigned *untold)
{
	*untold = 0;
	if (!r->window_ms || now_ms - r->window_ms >= WEB_REFUSAL_WINDOW_MS) {
		*untold = r->untold;
		r->window_ms = now_ms;
		r->logged = 0;
		r->untold = 0;
	}
	if (r->logged >= WEB_REFUSALS_LOGGED) {
		r->untold++;
		return false;
	}
	r->logged++;
	return true;
}
