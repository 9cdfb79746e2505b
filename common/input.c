// SPDX-License-Identifier: MIT
#include "input.h"

#include <string.h>
#include <strings.h>

/* libavdevice's input formats (Debian 12's FFmpeg 5.1), as FORMAT:DEVICE names them. */
static const char *const devices[] = {
	"v4l2",	   "video4linux2", "alsa", "pulse",  "lavfi",	 "x11grab",   "fbdev",
	"kmsgrab", "jack",	   "oss",  "openal", "iec61883", "libdc1394",
};

/* Protocols whose input is live: not paced, kept open, reopened when it drops. */
static const char *const live_schemes[] = {
	"srt", "udp", "rtp", "rist", "rtmp", "rtmps", "rtmpt", "tcp", "unix",
};

bool mps_input_device(const char *input, char *fmt, size_t size)
{
	const char *colon = strchr(input, ':');
	size_t len = colon ? (size_t)(colon - input) : 0;

	if (!len || (colon[1] == '/' && colon[2] == '/'))
		return false;
	for (size_t i = 0; i < sizeof(devices) / sizeof(devices[0]); i++)
		if (strlen(devices[i]) == len && !strncasecmp(input, devices[i], len)) {
			if (fmt && size) {
				size_t n = len < size - 1 ? len : size - 1;

				memcpy(fmt, input, n);
				fmt[n] = '\0';
			}
			return true;
		}
	return false;
}

static bool live_url(const char *input)
{
	const char *sep = strstr(input, "://");
	size_t len = sep ? (size_t)(sep - input) : 0;

	for (size_t i = 0; len && i < sizeof(live_schemes) / sizeof(live_schemes[0]); i++)
		if (strlen(live_schemes[i]) == len && !strncasecmp(input, live_schemes[i], len))
			return true;
	return false;
}

enum mps_input_kind mps_input_kind(const char *input)
{
	if (!strcmp(input, "test"))
		return MPS_INPUT_TEST;
	if (live_url(input) || mps_input_device(input, NULL, 0))
		return MPS_INPUT_LIVE;
	return MPS_INPUT_FILE;
}

enum mps_audio_kind mps_audio_kind(const char *audio)
{
	if (!audio || !strcmp(audio, "input"))
		return MPS_AUDIO_INPUT;
	if (!strcmp(audio, "tone"))
		return MPS_AUDIO_TONE;
	if (!strcmp(audio, "none"))
		return MPS_AUDIO_NONE;
	return MPS_AUDIO_SOURCE;
}
