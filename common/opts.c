// SPDX-License-Identifier: MIT
#include "opts.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FAIL(...) MPS_ARGS_FAIL(err, errlen, __VA_ARGS__)

static int row_val(const struct mps_opt_set *set, size_t i)
{
	return set->rows[i].short_name ? set->rows[i].short_name : MPS_OPTS_LONG + (int)i;
}

void mps_opts_getopt(const struct mps_opt_set *set, struct mps_getopt *g)
{
	char *s = g->shortopts;
	size_t n = set->n_rows < MPS_OPTS_MAX ? set->n_rows : MPS_OPTS_MAX;

	*s++ = ':';
	for (size_t i = 0; i < n; i++) {
		const struct mps_opt *r = &set->rows[i];

		g->longopts[i] = (struct option){
			.name = r->name,
			.has_arg = r->metavar ? required_argument : no_argument,
			.val = row_val(set, i),
		};
		if (r->short_name) {
			*s++ = r->short_name;
			if (r->metavar)
				*s++ = ':';
		}
	}
	g->longopts[n] = (struct option){0};
	*s = '\0';
}

const struct mps_opt *mps_opts_by_val(const struct mps_opt_set *set, int val)
{
	for (size_t i = 0; i < set->n_rows; i++)
		if (row_val(set, i) == val)
			return &set->rows[i];
	return NULL;
}

enum mps_args_result mps_opts_parse(const struct mps_opt_set *set, const struct mps_getopt *g,
				    int argc, char **argv, void *opts, void *state, const char *see,
				    char *err, size_t errlen)
{
	int c;

	optind = 0; /* reset getopt (GNU): the tests parse many times */
	opterr = 0;
	while ((c = getopt_long(argc, argv, g->shortopts, g->longopts, NULL)) != -1) {
		const struct mps_opt *opt = mps_opts_by_val(set, c);
		enum mps_args_result r;

		if (c == ':')
			FAIL("option '%s' needs a value", argv[optind - 1]);
		if (!opt)
			FAIL("unknown option '%s' (see %s)", argv[optind - 1], see);
		r = opt->apply(opt, opts, state, optarg, err, errlen);
		if (r != MPS_ARGS_RUN)
			return r;
	}
	return MPS_ARGS_RUN;
}

const struct mps_opt *mps_opts_by_name(const struct mps_opt_set *set, const char *name)
{
	for (size_t i = 0; i < set->n_rows; i++)
		if (!strcmp(set->rows[i].name, name))
			return &set->rows[i];
	return NULL;
}

/*
 * "  -x, --name METAVAR" (a key: "  name = METAVAR"), then the help's lines
 * from the column on (below it if too long).
 */
static void help_row(const struct mps_opt *r, bool key, int column, FILE *f)
{
	const char *line = r->help;
	int n;

	if (r->heading)
		fprintf(f, "%s:\n", r->heading);
	if (key)
		n = fprintf(f, "  %s =", r->name);
	else if (r->short_name)
		n = fprintf(f, "  -%c, --%s", r->short_name, r->name);
	else
		n = fprintf(f, "      --%s", r->name);
	if (r->metavar)
		n += fprintf(f, " %s", r->metavar);
	if (n >= column) {
		fputc('\n', f);
		n = 0;
	}
	for (;;) {
		size_t len = strcspn(line, "\n");

		fprintf(f, "%*s%.*s\n", column - n, "", (int)len, line);
		if (!line[len])
			break;
		line += len + 1;
		n = 0;
	}
}

void mps_opts_help(const struct mps_opt_set *set, FILE *f)
{
	fputs(set->head, f);
	for (size_t i = 0; i < set->n_rows; i++)
		help_row(&set->rows[i], set->keys, set->help_column, f);
	fputs(set->tail, f);
}

void mps_opts_names(const struct mps_opt_set *set, char *buf, size_t size)
{
	size_t used = 0;

	if (!size)
		return;
	buf[0] = '\0';
	for (size_t i = 0; i < set->n_rows && used < size; i++) {
		int n = snprintf(buf + used, size - used, "%s%s", i ? ", " : "", set->rows[i].name);

		if (n < 0)
			break;
		used += (size_t)n;
	}
}

enum mps_args_result mps_opt_number(const struct mps_opt *row, void *opts, void *state,
				    const char *arg, char *err, size_t errlen)
{
	(void)state;
	if (mps_parse_number(arg, row->min, row->max, (double *)((char *)opts + row->off)))
		FAIL("--%s '%s': expected %s", row->name, arg, row->expect);
	return MPS_ARGS_RUN;
}

enum mps_args_result mps_opt_int(const struct mps_opt *row, void *opts, void *state,
				 const char *arg, char *err, size_t errlen)
{
	char *end;
	long v;

	(void)state;
	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v < row->min || v > row->max)
		FAIL("--%s '%s': expected %s", row->name, arg, row->expect);
	*(int *)((char *)opts + row->off) = (int)v;
	return MPS_ARGS_RUN;
}

enum mps_args_result mps_opt_string(const struct mps_opt *row, void *opts, void *state,
				    const char *arg, char *err, size_t errlen)
{
	(void)state, (void)err, (void)errlen;
	*(const char **)((char *)opts + row->off) = arg;
	return MPS_ARGS_RUN;
}

enum mps_args_result mps_opt_true(const struct mps_opt *row, void *opts, void *state,
				  const char *arg, char *err, size_t errlen)
{
	(void)state, (void)arg, (void)err, (void)errlen;
	*(bool *)((char *)opts + row->off) = true;
	return MPS_ARGS_RUN;
}

enum mps_args_result mps_opt_help(const struct mps_opt *row, void *opts, void *state,
				  const char *arg, char *err, size_t errlen)
{
	(void)row, (void)opts, (void)state, (void)arg, (void)err, (void)errlen;
	return MPS_ARGS_HELP;
}

enum mps_args_result mps_opt_version(const struct mps_opt *row, void *opts, void *state,
				     const char *arg, char *err, size_t errlen)
{
	(void)row, (void)opts, (void)state, (void)arg, (void)err, (void)errlen;
	return MPS_ARGS_VERSION;
}
