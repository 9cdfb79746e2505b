// SPDX-License-Identifier: MIT
/* Outside input: the URL, uplink and bit-rate parsers, and the redaction. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char s[1024], out[1024], key[1024];
	struct rt_uplink_spec spec;
	int64_t rate;

	if (size >= sizeof(s))
		size = sizeof(s) - 1;
	memcpy(s, data, size);
	s[size] = '\0';

	mps_url_key(s, key, sizeof(key));
	mps_url_redacted(s, out, sizeof(out));
	/*
	 * A valid URL's redacted form is the URL with exactly its key replaced.
	 * (A short key may still occur elsewhere, as "e" in "live".)
	 */
	if (mps_url_check(s) == 0 && key[0] &&
	    (strlen(out) != strlen(s) - strlen(key) + 3 || strcmp(out + strlen(out) - 3, "***") ||
	     strncmp(out, s, strlen(out) - 3)))
		abort();
	if (rt_uplink_spec_parse(s, &spec) == 0 && (!spec.ifname[0] || strchr(spec.ifname, ',')))
		abort();
	if (snd_parse_bitrate(s, &rate) == 0 && (rate < 10000 || rate > 1000000000))
		abort();

	mps_log_clear_secrets();
	if (mps_log_add_secret("s3cr3t") == 0) {
		mps_log_redact(s, out, sizeof(out));
		if (strstr(out, "s3cr3t"))
			abort();
		mps_log_redact(s, out, 7);
	}
	mps_log_clear_secrets();
	return 0;
}
