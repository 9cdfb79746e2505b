/* SPDX-License-Identifier: MIT */
/*
 * One logger for every module: levels, a module tag, one line per call on stderr.
 *
 * Every line passes through the redaction filter, so a secret registered with
 * mps_log_add_secret() (the stream key) never reaches the log, whichever module
 * or library printed it, and then through mps_log_escape(), so that no line
 * carries a control character (a newline, a terminal's escape sequence).
 */
#ifndef MPS_LOG_H
#define MPS_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum mps_log_level {
	MPS_LOG_ERROR = 0,
	MPS_LOG_WARN,
	MPS_LOG_INFO,
	MPS_LOG_DEBUG,
};

/* Lines above @level are discarded. The default is MPS_LOG_INFO. */
void mps_log_set_level(enum mps_log_level level);
enum mps_log_level mps_log_get_level(void);

/*
 * Register a string that must never appear in a log line (the stream key,
 * the URL's user:password). A URL in a line that carries one is shown by its
 * structure (mps_url_redacted(): user:password, last path element and query
 * as "***", the rest as it is); elsewhere it is printed as "***" where it
 * stands as a word of its own (not inside a longer word: a key "rec" leaves
 * "record" alone). Strings shorter than 3 characters are ignored. Returns 0
 * or -ENOMEM / -ENOSPC.
 */
int mps_log_add_secret(const char *secret);

/* Forget every registered secret. */
void mps_log_clear_secrets(void);

void mps_log(enum mps_log_level level, const char *tag, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void mps_vlog(enum mps_log_level level, const char *tag, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

/*
 * Copy @in to @out (of @size bytes, always terminated) with the registered
 * secrets hidden as mps_log_add_secret() says. Returns the length written.
 */
size_t mps_log_redact(const char *in, char *out, size_t size);

/*
 * Copy @in to @out (of @size bytes, always terminated, never a cut escape)
 * with every byte that would not print as itself shown as \xNN: control
 * characters (newline, escape, ...), DEL, C1 controls and invalid UTF-8.
 * Valid UTF-8 is kept. Every log line passes through it, so outside input in
 * a line cannot forge another line or drive the operator's terminal.
 * Returns the length written.
 */
size_t mps_log_escape(const char *in, char *out, size_t size);

/* The last lines logged, as they were printed (redacted), for the operator's page. */
#define MPS_LOG_RECENT 50
struct mps_log_line {
	uint64_t seq;	   /* 1, 2, ... in the order they were logged */
	int64_t time_ms;   /* wall clock, ms since the epoch */
	const char *level; /* "error", "warn", "info", "debug" */
	char tag[12];
	char text[400]; /* longer lines are cut */
};

/*
 * Copy the kept lines logged after line @after (0: all kept), oldest first,
 * at most @max of them (the newest); returns how many. Thread-safe.
 */
size_t mps_log_recent(struct mps_log_line *out, size_t max, uint64_t after);

/*
 * When stderr is a terminal: a status line at the bottom, redrawn in place
 * (log lines scroll above it). NULL or "" takes it away. Nothing otherwise:
 * under journald the periodic lines are plain log lines.
 */
bool mps_log_is_tty(void);
void mps_log_status(const char *line);

#define LOG_ERR(tag, ...)   mps_log(MPS_LOG_ERROR, tag, __VA_ARGS__)
#define LOG_WARN(tag, ...)  mps_log(MPS_LOG_WARN, tag, __VA_ARGS__)
#define LOG_INFO(tag, ...)  mps_log(MPS_LOG_INFO, tag, __VA_ARGS__)
#define LOG_DEBUG(tag, ...) mps_log(MPS_LOG_DEBUG, tag, __VA_ARGS__)

#endif
