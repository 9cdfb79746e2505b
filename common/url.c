// SPDX-License-Identifier: MIT
/*
 * Stream URLs: rtmp[s]://HOST[:PORT]/APP[/...]/KEY[?QUERY]. The key (and any
 * query string, which some services use for tokens) is a secret.
 */
#include "url.h"

#include <errno.h>
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

int mps_url_check(const char *url)
{
	const char *host = after_scheme(url);
	const char *path, *key;
	size_t host_len;

	if (!host)
		return -EINVAL;
	path = strchr(host, '/');
	host_len = path ? (size_t)(path - host) : strlen(host);
	if (!path || host_len == 0 || memchr(host, '@', host_len) || strpbrk(url, " \t\r\n"))
		return -EINVAL;
	/* host[:port], port numeric */
	const char *colon = memchr(host, ':', host_len);

	if (colon && host[0] != '[') {
		char *end;
		long port = strtol(colon + 1, &end, 10);

		if (colon == host || end != path || port < 1 || port > 65535)
			return -EINVAL;
	}
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

void mps_url_redacted(const char *url, char *out, size_t size)
{
	/*
	 * Stricter than mps_url_key(): whatever the URL, valid or not, its last
	 * path element and query are hidden, since that is where keys go.
	 */
	const char *scheme = strstr(url, "://");
	const char *path = strchr(scheme ? scheme + 3 : url, '/');
	const char *query, *last = NULL;

	if (!path) {
		snprintf(out, size, "%s", url);
		return;
	}
	query = strchr(path, '?');
	for (const char *p = path; *p && (!query || p < query); p++)
		if (*p == '/')
			last = p;
	snprintf(out, size, "%.*s***", (int)(last + 1 - url), url);
}
