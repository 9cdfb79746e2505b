/* SPDX-License-Identifier: MIT */
/*
 * One table per option set: each row is one option (its names, its value,
 * its --help lines, whether the config file takes it, and how it is
 * applied). getopt_long()'s arrays, --help and the config file's keys are all
 * read from the rows, so an option is written once. A set may also be the
 * keys of a config file's section (.keys): each row is a key, its name the
 * key's, shown in --help as "KEY = VALUE".
 */
#ifndef MPS_COMMON_OPTS_H
#define MPS_COMMON_OPTS_H

#include "args.h"

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define MPS_OPTS_MAX  64  /* rows in one set */
#define MPS_OPTS_LONG 256 /* getopt's value of row i without a short name: MPS_OPTS_LONG + i */

struct mps_opt;

/*
 * Apply one option with its value @arg (NULL for a flag) to @opts (the
 * set's options struct; the row's @off is in it) and @state (the parser's
 * own, or NULL). Returns MPS_ARGS_RUN, or MPS_ARGS_ERROR with one line in @err
 * (MPS_ARGS_HELP or MPS_ARGS_VERSION for --help and --version).
 */
typedef enum mps_args_result mps_opt_apply_fn(const struct mps_opt *row, void *opts, void *state,
					      const char *arg, char *err, size_t errlen);

struct mps_opt {
	const char *name;    /* --name, and the config file's key */
	char short_name;     /* -x, or 0 */
	const char *metavar; /* the value's name in --help; NULL: a flag, no value */
	const char *help;    /* its --help text, lines joined by '\n' */
	const char *heading; /* a section of --help that starts at this row, or NULL */
	bool cli_only;	     /* not a key of the config file */
	mps_opt_apply_fn *apply;
	/* What the generic appliers below read: */
	size_t off;	    /* the field they set, offsetof() in the options struct */
	double min, max;    /* the value's range */
	const char *expect; /* a bad value's error: "--NAME 'VALUE': expected EXPECT" */
};

struct mps_opt_set {
	const struct mps_opt *rows;
	size_t n_rows;
	const char *head; /* --help before the options */
	const char *tail; /* --help after them */
	int help_column;  /* where the options' help text starts */
	bool keys;	  /* the rows are a config section's keys, not options */
};

/* getopt_long()'s two tables, built from a set's rows. */
struct mps_getopt {
	struct option longopts[MPS_OPTS_MAX + 1];
	char shortopts[2 + 2 * MPS_OPTS_MAX];
};

/*
 * A row's field: its offset in @st, which only compiles when the field is of
 * @type (the generic appliers write through the offset). The rows of the
 * generic appliers, with their field, range and error:
 *   {.name = "buffer", .metavar = "SECONDS",
 *    MPS_OPT_NUMBER(struct snd_options, buffer_s, 0.1, 60, "0.1 to 60 seconds"), .help = ...}
 */
#define MPS_OPT_FIELD(st, field, type) _Generic(((st *)0)->field, type : offsetof(st, field))
#define MPS_OPT_NUMBER(st, field, lo, hi, what)                                        \
	.apply = mps_opt_number, .off = MPS_OPT_FIELD(st, field, double), .min = (lo), \
	.max = (hi), .expect = (what)
#define MPS_OPT_INT(st, field, lo, hi, what)                                                  \
	.apply = mps_opt_int, .off = MPS_OPT_FIELD(st, field, int), .min = (lo), .max = (hi), \
	.expect = (what)
#define MPS_OPT_STRING(st, field) \
	.apply = mps_opt_string, .off = MPS_OPT_FIELD(st, field, const char *)
#define MPS_OPT_TRUE(st, field) .apply = mps_opt_true, .off = MPS_OPT_FIELD(st, field, bool)

/* Fill @g from @set's rows (at most MPS_OPTS_MAX), with ':' first (a missing value is ':'). */
void mps_opts_getopt(const struct mps_opt_set *set, struct mps_getopt *g);

/*
 * Apply every option of @argv (getopt_long() from the start, with @g built
 * from @set) to @opts and @state. MPS_ARGS_RUN with optind at the first
 * operand; else what an applier returned, or MPS_ARGS_ERROR with one line in
 * @err for a missing value or an unknown option ("see @see").
 */
enum mps_args_result mps_opts_parse(const struct mps_opt_set *set, const struct mps_getopt *g,
				    int argc, char **argv, void *opts, void *state, const char *see,
				    char *err, size_t errlen) __attribute__((warn_unused_result));

/* The row getopt_long() returned @val for, or NULL ('?', ':'). */
const struct mps_opt *mps_opts_by_val(const struct mps_opt_set *set, int val);

/* The row named @name (its long name), or NULL. */
const struct mps_opt *mps_opts_by_name(const struct mps_opt_set *set, const char *name);

/*
 * Write @set's --help to @f: head, each row (and its heading), tail. A row is
 * "-x, --name METAVAR", or "name = METAVAR" in a set of keys.
 */
void mps_opts_help(const struct mps_opt_set *set, FILE *f);

/* @set's long names, in order, joined by ", " into @buf (cut to @size). */
void mps_opts_names(const struct mps_opt_set *set, char *buf, size_t size);

/* Generic appliers. A bad value gets the row's @expect. */
mps_opt_apply_fn mps_opt_number;  /* a double in [min, max] at off */
mps_opt_apply_fn mps_opt_int;	  /* a whole int in [min, max] at off (no fraction, no unit) */
mps_opt_apply_fn mps_opt_string;  /* the const char * at off points at @arg (argv's lifetime) */
mps_opt_apply_fn mps_opt_true;	  /* the bool at off becomes true */
mps_opt_apply_fn mps_opt_help;	  /* MPS_ARGS_HELP */
mps_opt_apply_fn mps_opt_version; /* MPS_ARGS_VERSION */

#endif
