/* SPDX-License-Identifier: MIT */
/*
 * What every subcommand's option parser shares: the exit codes, the parse
 * results, and the parsers of numbers and listening addresses.
 */
#ifndef MPS_COMMON_ARGS_H
#define MPS_COMMON_ARGS_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>

/* Exit codes (sysexits.h values). */
enum mps_exit {
	MPS_EXIT_OK = 0,
	MPS_EXIT_FAILURE = 1,
	MPS_EXIT_VERDICT = 2, /* mpstream probe: what arrived failed the checks */
	MPS_EXIT_USAGE = 64,
	MPS_EXIT_NOINPUT = 66,
	MPS_EXIT_UNAVAILABLE = 69,
	MPS_EXIT_CANTCREAT = 73, /* the recording */
	MPS_EXIT_NOPERM = 77,
};

enum mps_args_result {
	MPS_ARGS_RUN,	  /* options parsed: run */
	MPS_ARGS_HELP,	  /* --help */
	MPS_ARGS_VERSION, /* --version */
	MPS_ARGS_ERROR,	  /* bad usage; the message is in err */
	MPS_ARGS_NOINPUT, /* a file named by an option cannot be read; the message is in err */
};

/* In a parser: put the message in @err and return MPS_ARGS_ERROR. */
#define MPS_ARGS_FAIL(err, errlen, ...)             \
	do {                                        \
		snprintf(err, errlen, __VA_ARGS__); \
		return MPS_ARGS_ERROR;              \
	} while (0)

/*
 * A file an option names, before anything reads it: it exists and can be
 * read, is a regular file (never a device such as /dev/zero, a directory or a
 * FIFO that never ends) and holds at most @max_bytes. Returns 0, or -errno
 * (-EISDIR a directory, -ENODEV not a regular file, -EFBIG too large) with
 * what is wrong, for a log line, in @why.
 */
int mps_check_file(const char *path, long long max_bytes, char *why, size_t size)
	__attribute__((warn_unused_result));

/*
 * The same checks on the file opened to read (O_RDONLY, O_CLOEXEC, O_NONBLOCK,
 * O_NOCTTY and @flags, e.g. O_NOFOLLOW): the descriptor, with its fstat() in
 * @sb, or -errno with @why as mps_check_file() has them.
 */
struct stat;
int mps_open_regular(const char *path, int flags, long long max_bytes, struct stat *sb, char *why,
		     size_t size) __attribute__((warn_unused_result));

/* Parse a number in [@min, @max] (seconds, milliseconds...). Returns 0 or -EINVAL. */
int mps_parse_number(const char *s, double min, double max, double *out)
	__attribute__((warn_unused_result));

/* Parse "[ADDR:]PORT" (no ADDR: every address). Returns 0 or -EINVAL. */
int mps_parse_listen(const char *s, struct sockaddr_in *out) __attribute__((warn_unused_result));
/*
 * [ADDR:]PORT of either family: "1940" (every address, IPv6 and IPv4: [::]
 * for a dual-stack socket), "10.0.0.1:1940", "[2001:db8::1]:1940". Returns 0
 * or -EINVAL.
 */
int mps_parse_listen_any(const char *s, struct sockaddr_storage *out)
	__attribute__((warn_unused_result));

#endif
