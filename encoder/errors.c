// SPDX-License-Identifier: MIT
#include "encoder.h"

#include <libavutil/error.h>

_Static_assert(ENC_ERR_EOF == AVERROR_EOF, "ENC_ERR_EOF");
_Static_assert(ENC_ERR_EXIT == AVERROR_EXIT, "ENC_ERR_EXIT");
_Static_assert(ENC_ERR_INVALIDDATA == AVERROR_INVALIDDATA, "ENC_ERR_INVALIDDATA");
_Static_assert(ENC_ERR_STREAM_NOT_FOUND == AVERROR_STREAM_NOT_FOUND, "ENC_ERR_STREAM_NOT_FOUND");
_Static_assert(ENC_ERR_OPTION_NOT_FOUND == AVERROR_OPTION_NOT_FOUND, "ENC_ERR_OPTION_NOT_FOUND");

const char *enc_strerror(int err, char *buf, size_t size)
{
	if (err == ENC_ERR_EXIT)
		return "aborted";
	return av_make_error_string(buf, size, err);
}
