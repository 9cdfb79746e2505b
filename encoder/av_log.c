// SPDX-License-Identifier: MIT
/* libav*'s messages go through mpstream's logger, so they are redacted too. */
#include "encoder.h"
#include "log.h"

#include <libavutil/log.h>
#include <stdio.h>

static void av_log_to_mps(void *avcl, int level, const char *fmt, va_list vl)
{
	char line[1024];
	int print_prefix = 1;
	enum mps_log_level mine;

	if (level > av_log_get_level())
		return;
	if (level <= AV_LOG_ERROR)
		mine = MPS_LOG_ERROR;
	else if (level <= AV_LOG_WARNING)
		mine = MPS_LOG_WARN;
	else
		mine = MPS_LOG_DEBUG; /* libav*'s "info" is chatty: debug for us */
	if (mine > mps_log_get_level())
		return;
	av_log_format_line2(avcl, level, fmt, vl, line, sizeof(line), &print_prefix);
	mps_log(mine, "libav", "%s", line);
}

void enc_route_av_log(void)
{
	av_log_set_level(mps_log_get_level() >= MPS_LOG_DEBUG ? AV_LOG_VERBOSE : AV_LOG_WARNING);
	av_log_set_callback(av_log_to_mps);
}
