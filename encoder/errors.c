// SPDX-License-Identifier: MIT
#include "encoder.h"

#include <errno.h>
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
	if (err == ENC_ERR_DECODER)
		return "the decoder of the stream's video does not open";
	return av_make_error_string(buf, size, err);
}

bool enc_err_is_input(int err)
{
	static const int input[] = {
		AVERROR(ENOENT),
		AVERROR(EACCES),
		AVERROR(EPERM),
		AVERROR(EISDIR),
		AVERROR(EIO),
		AVERROR(ENXIO),
		AVERROR(ECONNREFUSED),
		AVERROR(ECONNRESET),
		AVERROR(EHOSTUNREACH),
		AVERROR(ENETUNREACH),
		AVERROR(ETIMEDOUT),
		AVERROR_INVALIDDATA,
		AVERROR_STREAM_NOT_FOUND,
		AVERROR_PROTOCOL_NOT_FOUND,
		AVERROR_DEMUXER_NOT_FOUND,
		AVERROR_HTTP_BAD_REQUEST,
		AVERROR_HTTP_UNAUTHORIZED,
		AVERROR_HTTP_FORBIDDEN,
		AVERROR_HTTP_NOT_FOUND,
		AVERROR_HTTP_OTHER_4XX,
		AVERROR_HTTP_SERVER_ERROR,
	};

	for (size_t i = 0; i < sizeof(input) / sizeof(input[0]); i++)
		if (err == input[i])
			return true;
	return false;
}
