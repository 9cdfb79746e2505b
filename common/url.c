// SPDX-License-Identifier: MIT
/*
 * Stream URLs: rtmp[s]://HOST[:PORT]/APP[/...]/KEY[?QUERY]. The key (and any
 * query string, which some services use for tokens) is a secret.
 */
#include "url.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *after_scheme(const char *url)
{
	if (strncasecmp(url, "rtmp://", 7) == 0)
		return url + 7;
	if (strncasecmp(url, "rtmps://", 8) == 0)
		return url + 8;
	return NULL;
}

/* Where the key starts: after the last '/' of the path (the query is part of it). */
static const char *key_start(const char *url)
{
	const char *rest = after_scheme(url);
	const char *path, *query, *slash = NULL;

	if (!rest)
		return NULL;
	path = strchr(rest, '/');
	if (!path)
		return NULL;
	query = strchr(path, '?');
	for (const char *p = path; *p && (!query || p < query); p++)
		if (*p == '/')
			slash = p;
	return slash == path ? NULL : slash + 1;
}

/* "HOST[:PORT]" or "[V6ADDR][:PORT]", @len bytes at @host. */
static bool valid_authority(const char *host, size_t len)
{
	const char *port = NULL, *end = host + len;
	char v6[INET6_ADDRSTRLEN];

	if (!len)
		return false;
	if (host[0] == '[') {
		const char *close = memchr(host, ']', len);

		if (!close || (size_t)(close - host - 1) >= sizeof(v6))
			return false;
		memcpy(v6, host + 1, (size_t)(close - host - 1));
		v6[close - host - 1] = '\0';
		if (inet_pton(AF_INET6, v6, &(struct in6_addr){0}) != 1)
			return false;
		if (close + 1 != end && close[1] != ':')
			return false;
		port = close + 1 != end ? close + 1 : NULL;
	} else {
		port = memchr(host, ':', len);
		if (port == host || memchr(host, '[', len) || memchr(host, ']', len))
			return false;
	}
	if (port) {
		char *stop;
		long n = strtol(port + 1, &stop, 10);

		if (stop != end || port + 1 == end || n < 1 || n > 65535)
			return false;
	}
	return true;
}

int mps_url_check(const char *url)
{
	const char *host = after_scheme(url);
	const char *path, *key, *at;
	size_t host_len;

	if (!host)
		return -EINVAL;
	path = strchr(host, '/');
	host_len = path ? (size_t)(path - host) : strlen(host);
	/* user:password@ (servers that authenticate so): not empty, then the host. */
	at = memchr(host, '@', host_len);
	if (at) {
		if (at == host || memchr(at + 1, '@', host_len - (size_t)(at + 1 - host)))
			return -EINVAL;
		host_len -= (size_t)(at + 1 - host);
		host = at + 1;
	}
	if (!path || strpbrk(url, " \t\r\n") || !valid_authority(host, host_len))
		return -EINVAL;
	key = key_start(url);
	if (!key || !*key || *key == '?' || key == path + 1)
		return -EINVAL;
	return 0;
}

void mps_url_key(const char *url, char *key, size_t size)
{
	const char *k = key_start(url);

	snprintf(key, size, "%s", k ? k : "");
}

void mps_url_userinfo(const char *url, char *userinfo, size_t size)
{
	const char *scheme = strstr(url, "://");
	const char *host = scheme ? scheme + 3 : url;
	size_t len = strcspn(host, "/");
	const char *at = memchr(host, '@', len);

	snprintf(userinfo, size, "%.*s", at ? (int)(at - host) : 0, host);
}

void mps_url_redacted(const char *url, char *out, size_t size)
{
	/*
	 * Stricter than mps_url_key(): whatever the URL, valid or not, its last
	 * path element and query are hidden, since that is where keys go.
	 */
	const char *scheme = strstr(url, "://");
	const char *host = scheme ? scheme + 3 : url;
	const char *path = strchr(host, '/');
	const char *query, *last = NULL, *at;
	int len;

	/* A user:password@ is as secret as the key. */
	at = memchr(host, '@', path ? (size_t)(path - host) : strlen(host));
	len = snprintf(out, size, "%.*s%s", (int)(host - url), url, at ? "***@" : "");
	if (len < 0 || (size_t)len >= size)
		return;
	host = at ? at + 1 : host;
	if (!path) {
		snprintf(out + len, size - (size_t)len, "%s", host);
		return;
	}
	query = strchr(path, '?');
	for (const char *p = path; *p && (!query || p < query); p++)
		if (*p == '/')
			last = p;
	snprintf(out + len, size - (size_t)len, "%.*s***", (int)(last + 1 - host), host);
}
