// SPDX-License-Identifier: MIT
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "url.h"
#include "log.h"

static void test_url_key(void **state)
{
	char key[128];

	mps_url_key("rtmp://h/live/abc123", key, sizeof(key));
	assert_string_equal(key, "abc123");
	mps_url_key("rtmps://h:443/app/x/live_9?auth=zz", key, sizeof(key));
	assert_string_equal(key, "live_9?auth=zz");
	mps_url_key("rtmp://h/app/k?a=/b", key, sizeof(key));
	assert_string_equal(key, "k?a=/b");
	mps_url_key("rtmp://h", key, sizeof(key));
	assert_string_equal(key, "");
}

static void test_url_redacted(void **state)
{
	char out[128];

	mps_url_redacted("rtmp://h/live/abc123", out, sizeof(out));
	assert_string_equal(out, "rtmp://h/live/***");
	mps_url_redacted("rtmps://h:443/app/x/live_9?auth=zz", out, sizeof(out));
	assert_string_equal(out, "rtmps://h:443/app/x/***");
	mps_url_redacted("rtmp://h/app/k?a=/b", out, sizeof(out));
	assert_string_equal(out, "rtmp://h/app/***");
	/* A user:password@ is hidden too, valid URL or not. */
	mps_url_redacted("rtmp://user:PASSWORD@h/app/k", out, sizeof(out));
	assert_string_equal(out, "rtmp://***@h/app/***");
	mps_url_redacted("rtmp://user:PASSWORD@h", out, sizeof(out));
	assert_string_equal(out, "rtmp://***@h");
	mps_url_userinfo("rtmp://user:PASSWORD@h/app/k", out, sizeof(out));
	assert_string_equal(out, "user:PASSWORD");
	mps_url_userinfo("rtmp://h/app/k@x", out, sizeof(out));
	assert_string_equal(out, "");
}

static void test_log_redact(void **state)
{
	char out[64];

	mps_log_clear_secrets();
	assert_int_equal(mps_log_add_secret("s3cr3t"), 0);
	assert_int_equal(mps_log_add_secret("ab"), 0); /* too short: ignored */

	mps_log_redact("url rtmp://h/live/s3cr3t ok", out, sizeof(out));
	assert_string_equal(out, "url rtmp://h/live/*** ok");
	mps_log_redact("fname=s3cr3t, s3cr3t.", out, sizeof(out));
	assert_string_equal(out, "fname=***, ***.");
	mps_log_redact("about abc", out, sizeof(out));
	assert_string_equal(out, "about abc");
	/* A line cut by the buffer never shows a part of the secret either. */
	mps_log_redact("xxxxxx s3cr3t", out, 10);
	assert_string_equal(out, "xxxxxx **");
	assert_null(strstr(out, "s3"));
	mps_log_clear_secrets();
	mps_log_redact("s3cr3t", out, sizeof(out));
	assert_string_equal(out, "s3cr3t");
}

/*
 * The mask follows the URL's structure, not the secret's letters: a key "rec"
 * leaves "record" alone, a password "live" the application "live" and the
 * word "live", so the log does not tell which word the secret is.
 */
static void test_mask_by_structure(void **state)
{
	const char *url = "rtmp://user:live@h:1935/live/rec?auth=zz";
	char key[64], user[64], out[256];

	mps_log_clear_secrets();
	mps_url_key(url, key, sizeof(key));
	mps_url_userinfo(url, user, sizeof(user));
	assert_int_equal(mps_log_add_secret(key), 0);
	assert_int_equal(mps_log_add_secret(user), 0);
	mps_log_redact("recording to /tmp/record.ts, going live", out, sizeof(out));
	assert_string_equal(out, "recording to /tmp/record.ts, going live");
	mps_log_redact("Cannot open rtmp://user:live@h:1935/live/rec?auth=zz: refused", out,
		       sizeof(out));
	assert_string_equal(out, "Cannot open rtmp://***@h:1935/live/***: refused");
	mps_log_redact("'rtmps://user:live@h/record/live/rec' and tcp://h:1935", out, sizeof(out));
	assert_string_equal(out, "'rtmps://***@h/record/live/***' and tcp://h:1935");
	mps_log_clear_secrets();

	/* A key alone: where it stands as a word, and in a URL's path or query only. */
	assert_int_equal(mps_log_add_secret("rec"), 0);
	mps_log_redact("record rtmp://h/record/rec fname = rec", out, sizeof(out));
	assert_string_equal(out, "record rtmp://h/record/*** fname = ***");
	mps_log_redact("rtmp://h/app/x?k=rec ://rec rec://", out, sizeof(out));
	assert_string_equal(out, "rtmp://h/app/*** ://*** ***://");
	/* No path to hide it by, or not in the last element: where it stands as a word. */
	mps_log_redact("srt://rec:9000 ok", out, sizeof(out));
	assert_string_equal(out, "srt://***:9000 ok");
	mps_log_redact("rtmp://h/rec/x and rec.y.rtmp://h/a/b", out, sizeof(out));
	assert_string_equal(out, "rtmp://h/***/*** and ***.y.rtmp://h/a/***");
	mps_log_clear_secrets();
}

/* What reaches stderr, libav*'s lines included, is redacted. */
static void test_log_line(void **state)
{
	char buf[512] = {0};
	FILE *tmp = tmpfile();
	int saved = dup(STDERR_FILENO);

	assert_non_null(tmp);
	mps_log_add_secret("topsecretkey");
	fflush(stderr);
	dup2(fileno(tmp), STDERR_FILENO);
	mps_log(MPS_LOG_ERROR, "test", "connect rtmp://x/live/%s failed", "topsecretkey");
	mps_log(MPS_LOG_DEBUG, "test", "not shown at the default level");
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(tmp);
	assert_true(fread(buf, 1, sizeof(buf) - 1, tmp) > 0);
	fclose(tmp);
	mps_log_clear_secrets();
	assert_non_null(strstr(buf, "error test    connect rtmp://x/live/*** failed"));
	assert_null(strstr(buf, "topsecretkey"));
	assert_null(strstr(buf, "not shown"));
}

/* Outside input cannot start a line of its own or drive the terminal: \xNN instead. */
static void test_log_escape(void **state)
{
	char out[64];

	mps_log_escape("x\n14:00:00.000 error stream FORGED", out, sizeof(out));
	assert_string_equal(out, "x\\x0a14:00:00.000 error stream FORGED");
	mps_log_escape("\x1b]0;PWNED\x07\x1b[2J\r\t\x7f", out, sizeof(out));
	assert_string_equal(out, "\\x1b]0;PWNED\\x07\\x1b[2J\\x0d\\x09\\x7f");
	/* UTF-8 stays; a C1 control (CSI as U+009B), a lone byte and an overlong form do not. */
	mps_log_escape("caf\xc3\xa9 \xc2\x9b"
		       "2J \xff \xc0\xae",
		       out, sizeof(out));
	assert_string_equal(out, "caf\xc3\xa9 \\xc2\\x9b2J \\xff \\xc0\\xae");
	/* Cut at the buffer's end, never inside an escape. */
	mps_log_escape("ab\n", out, 6);
	assert_string_equal(out, "ab");
}

/* One call, one line on stderr and in the ring, whatever the arguments hold. */
static void test_log_line_forged(void **state)
{
	char buf[512] = {0};
	FILE *tmp = tmpfile();
	int saved = dup(STDERR_FILENO);
	struct mps_log_line last;

	assert_non_null(tmp);
	fflush(stderr);
	dup2(fileno(tmp), STDERR_FILENO);
	mps_log(MPS_LOG_WARN, "http", "refused POST %s from 10.0.0.7",
		"/api/uplinks/x\n14:00:00.000 error stream FORGED\x1b[2J");
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(tmp);
	assert_true(fread(buf, 1, sizeof(buf) - 1, tmp) > 0);
	fclose(tmp);
	assert_non_null(strchr(buf, '\n'));
	assert_int_equal(strchr(buf, '\n') - buf, strlen(buf) - 1);
	assert_null(strchr(buf, '\x1b'));
	assert_non_null(strstr(buf, "x\\x0a14:00:00.000 error stream FORGED\\x1b[2J from"));
	assert_int_equal(mps_log_recent(&last, 1, 0), 1);
	assert_null(strchr(last.text, '\n'));
	assert_null(strchr(last.text, '\x1b'));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url_key),		cmocka_unit_test(test_url_redacted),
		cmocka_unit_test(test_log_redact),	cmocka_unit_test(test_mask_by_structure),
		cmocka_unit_test(test_log_line),	cmocka_unit_test(test_log_escape),
		cmocka_unit_test(test_log_line_forged),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
