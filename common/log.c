// SPDX-License-Identifier: MIT
#define _GNU_SOURCE /* memmem */
/*
 * The logger is process-wide configuration, set once in main() before any
 * thread starts: the level and the list of secrets. Writers take a mutex so
 * that lines from the driver's thread, the others and libav* never interleave.
 */
#include "log.h"
#include "url.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_SECRETS  4
#define LINE_MAX_LEN 2048
#define REDACTED     "***"

static struct {
	enum mps_log_level level;
	char *secrets[MAX_SECRETS];
	pthread_mutex_t lock;
	int tty;		   /* stderr is a terminal: -1 not known yet */
	char status[LINE_MAX_LEN]; /* the status line shown; "" none */
	/* The last lines, for the operator's page: a ring, recent[seq % MPS_LOG_RECENT]. */
	struct mps_log_line recent[MPS_LOG_RECENT];
	uint64_t seq; /* lines kept so far */
} logger = {
	.tty = -1,
	.level = MPS_LOG_INFO,
	.lock = PTHREAD_MUTEX_INITIALIZER,
};

static const char *const level_names[] = {
	[MPS_LOG_ERROR] = "error",
	[MPS_LOG_WARN] = "warn",
	[MPS_LOG_INFO] = "info",
	[MPS_LOG_DEBUG] = "debug",
};

void mps_log_set_level(enum mps_log_level level)
{
	logger.level = level;
}

enum mps_log_level mps_log_get_level(void)
{
	return logger.level;
}

int mps_log_add_secret(const char *secret)
{
	if (!secret || strlen(secret) < 3)
		return 0;
	for (size_t i = 0; i < MAX_SECRETS; i++) {
		if (logger.secrets[i])
			continue;
		logger.secrets[i] = strdup(secret);
		return logger.secrets[i] ? 0 : -ENOMEM;
	}
	return -ENOSPC;
}

void mps_log_clear_secrets(void)
{
	for (size_t i = 0; i < MAX_SECRETS; i++) {
		free(logger.secrets[i]);
		logger.secrets[i] = NULL;
	}
}

struct out {
	char *buf;
	size_t size, len;
};

static void put(struct out *o, const char *s, size_t n)
{
	size_t room = o->size - 1 - o->len;

	if (n > room)
		n = room;
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

static bool word_char(char c)
{
	return isalnum((unsigned char)c);
}

/* Does a registered secret occur in the @len bytes at @s? */
static bool has_secret(const char *s, size_t len)
{
	for (size_t i = 0; i < MAX_SECRETS; i++)
		if (logger.secrets[i] &&
		    memmem(s, len, logger.secrets[i], strlen(logger.secrets[i])))
			return true;
	return false;
}

/* The secret that stands as a word of its own at @s (start of a word), or 0; its length. */
static size_t secret_word_at(const char *s, const char *start)
{
	if (s > start && word_char(s[-1]))
		return 0;
	for (size_t i = 0; i < MAX_SECRETS; i++) {
		size_t n = logger.secrets[i] ? strlen(logger.secrets[i]) : 0;

		if (n && !strncmp(s, logger.secrets[i], n) && !word_char(s[n]))
			return n;
	}
	return 0;
}

/* @len bytes of text outside URLs: a secret is hidden where it stands as a word. */
static void redact_words(struct out *o, const char *s, size_t len)
{
	char word[LINE_MAX_LEN];
	size_t i = 0, from = 0;

	/* Matched on a copy: a secret must not run past @len. */
	len = len < sizeof(word) - 1 ? len : sizeof(word) - 1;
	memcpy(word, s, len);
	word[len] = '\0';
	while (i < len) {
		size_t n = secret_word_at(word + i, word);

		if (!n) {
			i++;
			continue;
		}
		put(o, word + from, i - from);
		put(o, REDACTED, strlen(REDACTED));
		i += n;
		from = i;
	}
	put(o, word + from, len - from);
}

/* Where the URL that has "://" at @sep begins (its scheme), not before @start. */
static const char *url_begin(const char *sep, const char *start)
{
	const char *p = sep;

	while (p > start && (isalnum((unsigned char)p[-1]) || strchr("+.-", p[-1])))
		p--;
	return p;
}

/* A URL's end: white space, a quote or an angle bracket; not trailing punctuation. */
static size_t url_len(const char *url)
{
	size_t n = strcspn(url, " \t\r\n\"'<>");

	while (n && strchr(":,;.)]", url[n - 1]))
		n--;
	return n;
}

/*
 * A URL that carries a secret is shown by its structure: its user:password
 * and its last path element and query hidden, the rest as it is (so a key
 * "rec" leaves "record" alone and a password "live" the application "live").
 */
static void redact_url(struct out *o, const char *url, size_t len)
{
	char copy[LINE_MAX_LEN], shown[LINE_MAX_LEN];

	if (!has_secret(url, len))
		return put(o, url, len);
	snprintf(copy, sizeof(copy), "%.*s", (int)len, url);
	mps_url_redacted(copy, shown, sizeof(shown));
	/* What is left of it (in the host, the scheme, a path element before the last). */
	redact_words(o, shown, strlen(shown));
}

size_t mps_log_redact(const char *in, char *out, size_t size)
{
	struct out o = {.buf = out, .size = size};
	const char *sep;

	if (!size)
		return 0;
	out[0] = '\0';
	while ((sep = strstr(in, "://"))) {
		const char *url = url_begin(sep, in);
		size_t n = url_len(url);

		redact_words(&o, in, (size_t)(url - in));
		if (url == sep || n <= (size_t)(sep + 3 - url)) {
			/* No scheme, or nothing after it: not a URL. */
			redact_words(&o, url, (size_t)(sep + 3 - url));
			in = sep + 3;
			continue;
		}
		redact_url(&o, url, n);
		in = url + n;
	}
	redact_words(&o, in, strlen(in));
	return o.len;
}

/* The length of the UTF-8 sequence at @s that prints (not C1, not overlong), or 0. */
static size_t utf8_printable(const unsigned char *s)
{
	size_t n = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;

	if (!n || s[0] > 0xf4)
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	/* C1 controls (U+0080..U+009F: CSI and OSC to some terminals), overlong forms. */
	if ((n == 2 && s[0] == 0xc2 && s[1] < 0xa0) || (n == 3 && s[0] == 0xe0 && s[1] < 0xa0) ||
	    (n == 4 && s[0] == 0xf0 && s[1] < 0x90) || (n == 4 && s[0] == 0xf4 && s[1] > 0x8f))
		return 0;
	return n;
}

size_t mps_log_escape(const char *in, char *out, size_t size)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t n = 0;

	if (!size)
		return 0;
	while (*s) {
		size_t u = *s >= 0x80 ? utf8_printable(s) : 0;

		if (u) {
			if (n + u >= size)
				break;
			memcpy(out + n, s, u);
			n += u;
			s += u;
		} else if (*s < 0x20 || *s >= 0x7f) {
			if (n + 4 >= size)
				break;
			n += (size_t)snprintf(out + n, size - n, "\\x%02x", *s++);
		} else {
			if (n + 1 >= size)
				break;
			out[n++] = (char)*s++;
		}
	}
	out[n] = '\0';
	return n;
}

/* Keep a line (already redacted) in the ring. Under the lock. */
static void keep(enum mps_log_level level, const char *tag, const char *text, int64_t time_ms)
{
	struct mps_log_line *l = &logger.recent[logger.seq % MPS_LOG_RECENT];

	l->seq = ++logger.seq;
	l->time_ms = time_ms;
	l->level = level_names[level];
	snprintf(l->tag, sizeof(l->tag), "%s", tag);
	snprintf(l->text, sizeof(l->text), "%.*s", (int)sizeof(l->text) - 1, text);
}

void mps_vlog(enum mps_log_level level, const char *tag, const char *fmt, va_list ap)
{
	char raw[LINE_MAX_LEN], redacted[LINE_MAX_LEN], clean[LINE_MAX_LEN];
	struct timespec ts;
	struct tm tm;
	size_t len;

	if (level > logger.level)
		return;
	vsnprintf(raw, sizeof(raw), fmt, ap);
	len = strlen(raw);
	while (len && (raw[len - 1] == '\n' || raw[len - 1] == '\r'))
		raw[--len] = '\0';
	if (!len)
		return;
	/* Outside input (a path, a server's message) must not start lines or drive the terminal. */
	mps_log_redact(raw, redacted, sizeof(redacted));
	mps_log_escape(redacted, clean, sizeof(clean));

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	pthread_mutex_lock(&logger.lock);
	/* Over the status line, which comes back below. */
	if (logger.status[0])
		fputs("\r\033[K", stderr);
	fprintf(stderr, "%02d:%02d:%02d.%03ld %-5s %-7s %s\n", tm.tm_hour, tm.tm_min, tm.tm_sec,
		ts.tv_nsec / 1000000, level_names[level], tag, clean);
	if (logger.status[0])
		fputs(logger.status, stderr);
	keep(level, tag, clean, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
	pthread_mutex_unlock(&logger.lock);
}

size_t mps_log_recent(struct mps_log_line *out, size_t max, uint64_t after)
{
	size_t n = 0;
	uint64_t first;

	pthread_mutex_lock(&logger.lock);
	first = logger.seq > MPS_LOG_RECENT ? logger.seq - MPS_LOG_RECENT : 0;
	if (after > first)
		first = after;
	if (logger.seq - first > max)
		first = logger.seq - max;
	for (uint64_t s = first; s < logger.seq; s++)
		out[n++] = logger.recent[s % MPS_LOG_RECENT];
	pthread_mutex_unlock(&logger.lock);
	return n;
}

bool mps_log_is_tty(void)
{
	pthread_mutex_lock(&logger.lock);
	if (logger.tty < 0)
		logger.tty =
			isatty(STDERR_FILENO) && getenv("TERM") && strcmp(getenv("TERM"), "dumb");
	pthread_mutex_unlock(&logger.lock);
	return logger.tty > 0;
}

void mps_log_status(const char *line)
{
	char redacted[LINE_MAX_LEN], clean[LINE_MAX_LEN];
	struct winsize ws;
	size_t len = 0;

	if (!mps_log_is_tty())
		return;
	clean[0] = '\0'; /* NULL: the status line is cleared, and kept empty */
	if (line) {
		mps_log_redact(line, redacted, sizeof(redacted));
		len = mps_log_escape(redacted, clean, sizeof(clean));
	}
	/* One terminal line, or it would scroll instead of being redrawn. */
	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1 && len >= ws.ws_col)
		clean[len = ws.ws_col - 1] = '\0';
	pthread_mutex_lock(&logger.lock);
	fputs("\r\033[K", stderr);
	if (len)
		fputs(clean, stderr);
	memcpy(logger.status, clean, len + 1);
	fflush(stderr);
	pthread_mutex_unlock(&logger.lock);
}

void mps_log(enum mps_log_level level, const char *tag, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mps_vlog(level, tag, fmt, ap);
	va_end(ap);
}
