/* SPDX-License-Identifier: MIT */
/*
 * What --input names, told from its spelling alone (no library needed): the
 * test pattern, a file (or a URL read as a file, paced), or a live source
 * (a listening or calling URL, or a capture device as FORMAT:DEVICE).
 */
#ifndef MPS_COMMON_INPUT_H
#define MPS_COMMON_INPUT_H

#include <stdbool.h>
#include <stddef.h>

enum mps_input_kind { MPS_INPUT_TEST, MPS_INPUT_FILE, MPS_INPUT_LIVE };

enum mps_input_kind mps_input_kind(const char *input);

/*
 * For a capture device "FORMAT:DEVICE[?k=v&...]": its libavdevice format
 * name in @fmt (e.g. "v4l2", "alsa", "pulse", "lavfi"), and true; false for
 * anything else.
 */
bool mps_input_device(const char *input, char *fmt, size_t size);

/* --audio: the input's own, a 1 kHz tone, silence, or a source of its own. */
enum mps_audio_kind { MPS_AUDIO_INPUT, MPS_AUDIO_TONE, MPS_AUDIO_NONE, MPS_AUDIO_SOURCE };

/* What --audio @audio (NULL: the input's own) names; a source is a device or a live URL. */
enum mps_audio_kind mps_audio_kind(const char *audio);

#endif
