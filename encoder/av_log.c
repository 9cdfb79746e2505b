// SPDX-License-Identifier: MIT
/* libav*'s messages go through mpstream's logger, so they are redacted too. */
#include "encoder.h"
#include "log.h"

#include "clock.h"

#include <libavutil/log.h>
#include <pthread.h>
#include <stdio.h>

/*
 * A damaged input makes the decoders complain about every macroblock: at
 * most BURST lines a second reach the log, and a count of the rest.
 */
#define BURST 10

static pthread_mutex_t limit_lock = PTHREAD_MUTEX_INITIALIZER;
static int64_t limit_second;
static int limit_lines, limit_dropped;

/* May this line be logged? The count of those that were not, when they end, in *dropped. */
static bool within_limit(int *dropped)
{
	int64_t second = mps_mono_ns() / 1000000000;
	bool ok;

	pthread_mutex_lock(&limit_lock);
	if (second != limit_second) {
		limit_second = second;
		limit_lines = 0;
	}
	ok = limit_lines++ < BURST;
	*dropped = ok ? limit_dropped : 0;
	if (ok)
		limit_dropped = 0;
	else
		limit_dropped++;
	pthread_mutex_unlock(&limit_lock);
	return ok;
}

static void av_log_to_mps(void *avcl, int level, const char *fmt, va_list vl)
{
	char line[1024];
	int print_prefix = 1, dropped = 0;
	enum mps_log_level mine;

	if (level > av_log_get_level())
		return;
	if (level <= AV_LOG_ERROR)
		mine = MPS_LOG_ERROR;
	else if (level <= AV_LOG_WARNING)
		mine = MPS_LOG_WARN;
	else
		mine = MPS_LOG_DEBUG; /* libav*'s "info" is chatty: debug for us */
	if (mine > mps_log_get_level() || (mine < MPS_LOG_DEBUG && !within_limit(&dropped)))
		return;
	if (dropped)
		mps_log(MPS_LOG_WARN, "libav", "(%d more lines not shown)", dropped);
	av_log_format_line2(avcl, level, fmt, vl, line, sizeof(line), &print_prefix);
	mps_log(mine, "libav", "%s", line);
}

void enc_route_av_log(void)
{
	av_log_set_level(mps_log_get_level() >= MPS_LOG_DEBUG ? AV_LOG_VERBOSE : AV_LOG_WARNING);
	av_log_set_callback(av_log_to_mps);
}
