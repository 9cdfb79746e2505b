/* SPDX-License-Identifier: MIT */
/* The stream URL: its check, its key, and the URL as log lines show it. */
#ifndef MPS_COMMON_URL_H
#define MPS_COMMON_URL_H

#include <stddef.h>

/*
 * Check an rtmp:// or rtmps:// URL: scheme, host, optional port, and a path of
 * at least APP/KEY. Returns 0 or -EINVAL.
 */
int mps_url_check(const char *url) __attribute__((warn_unused_result));

/*
 * The stream key: the URL's last path element and its query string, which
 * must never be printed. Writes it to @key (empty when there is none).
 */
void mps_url_key(const char *url, char *key, size_t size);

/*
 * The URL's user:password (before an '@' in its authority), as secret as the
 * key. Writes it to @userinfo (empty when there is none).
 */
void mps_url_userinfo(const char *url, char *userinfo, size_t size);

/* @url with its key (and any user:password) replaced by "***", for log lines. */
void mps_url_redacted(const char *url, char *out, size_t size);

#endif
