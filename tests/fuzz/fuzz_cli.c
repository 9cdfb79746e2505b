// SPDX-License-Identifier: MIT
/* Outside input: the URL, uplink and bit-rate parsers, and the redaction. */
#include <ctype.h>
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
	 * A valid URL's redacted form is the URL with exactly its key replaced,
	 * and its user:password@, if any, by ***@. (A short key may still occur
	 * elsewhere, as "e" in "live".)
	 */
	if (mps_url_check(s) == 0 && key[0]) {
		const char *host = strstr(s, "://") + 3;
		char ui[1024], want[2100];

		mps_url_userinfo(s, ui, sizeof(ui));
		snprintf(want, sizeof(want), "%.*s%s%.*s***", (int)(host - s), s,
			 ui[0] ? "***@" : "",
			 (int)(strlen(host) - (ui[0] ? strlen(ui) + 1 : 0) - strlen(key)),
			 host + (ui[0] ? strlen(ui) + 1 : 0));
		if (strcmp(out, want))
			abort();
	}
	if (rt_uplink_spec_parse(s, &spec) == 0 && (!spec.ifname[0] || strchr(spec.ifname, ',')))
		abort();
	if (snd_parse_bitrate(s, &rate) == 0 && (rate < 10000 || rate > 1000000000))
		abort();

	/*
	 * The secret never stands as a word of its own after redaction (it may
	 * stay inside a longer word: a key "rec" leaves "record" alone), nor
	 * as the key of a URL that is valid.
	 */
	mps_log_clear_secrets();
	if (mps_log_add_secret("s3cr3t") == 0) {
		mps_log_redact(s, out, sizeof(out));
		for (const char *p = out; (p = strstr(p, "s3cr3t")); p++)
			if ((p == out || !isalnum((unsigned char)p[-1])) &&
			    !isalnum((unsigned char)p[6]))
				abort();
		mps_log_redact(s, out, 7);
	}
	mps_log_clear_secrets();
	return 0;
}
