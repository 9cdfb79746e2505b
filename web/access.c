// SPDX-License-Identifier: MIT
/*
 * Who may read without the token, and how many refusals the log tells of.
 * Pure (no libmicrohttpd), for the unit tests.
 */
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

bool web_host_is_local(const char *host, const struct sockaddr_in *bound)
{
	char name[64], a[INET_ADDRSTRLEN];
	struct in6_addr v6;
	struct in_addr v4;

	if (!host)
		return true; /* HTTP/1.0 without Host: no browser sends that */
	if (!host_name(host, name, sizeof(name)))
		return false;
	if (!strcasecmp(name, "localhost"))
		return true;
	if (inet_pton(AF_INET6, name, &v6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&v6);
	if (inet_pton(AF_INET, name, &v4) != 1)
		return false; /* a name: what a rebinding page's host would be */
	if (v4.s_addr == htonl(INADDR_LOOPBACK))
		return true;
	inet_ntop(AF_INET, &v4, a, sizeof(a));
	return bound && bound->sin_addr.s_addr != htonl(INADDR_ANY) &&
	       v4.s_addr == bound->sin_addr.s_addr && !strcmp(a, name);
}

enum web_access web_read_access(const struct sockaddr *client, const char *host,
				const struct sockaddr_in *bound, bool open)
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
