// SPDX-License-Identifier: MIT
/*
 * Enhanced FLV read back: tags as FFmpeg's RTMP protocol frames them, and
 * the extended video header. Input from a server: every read is bounded.
 */
#include "eflv.h"

#include <errno.h>

#define TAG_TYPE_MASK 0x1f /* the upper 3 bits: reserved, and the filter bit */
#define SI24_SIGN     0x800000

static uint32_t be(const uint8_t *p, int n)
{
	uint32_t v = 0;

	while (n--)
		v = v << 8 | *p++;
	return v;
}

int eflv_read_tag(const uint8_t *p, size_t len, struct eflv_tag_view *t, size_t *used)
{
	size_t size;

	if (len < EFLV_TAG_HEADER_SIZE)
		return -EAGAIN;
	if (p[0] & ~TAG_TYPE_MASK)
		return -EINVAL;
	size = be(p + 1, 3);
	if (len - EFLV_TAG_HEADER_SIZE < size + 4)
		return -EAGAIN;
	if (be(p + EFLV_TAG_HEADER_SIZE + size, 4) != EFLV_TAG_HEADER_SIZE + size)
		return -EINVAL;
	t->type = (enum eflv_tag_type)p[0];
	t->ts_ms = be(p + 4, 3) | (uint32_t)p[7] << 24;
	t->body = p + EFLV_TAG_HEADER_SIZE;
	t->len = size;
	*used = EFLV_TAG_OVERHEAD + size;
	return 0;
}

int eflv_parse_video(const uint8_t *body, size_t len, struct eflv_video *v)
{
	size_t at = 5;

	if (len < 1)
		return -EINVAL;
	if (!(body[0] & EFLV_EX_HEADER))
		return -ENOTSUP;
	if (len < at)
		return -EINVAL;
	*v = (struct eflv_video){.frame = (enum eflv_frame_type)(body[0] >> 4 & 7),
				 .packet = (enum eflv_packet_type)(body[0] & 0x0f),
				 .fourcc = be(body + 1, 4)};
	if (v->packet == EFLV_PKT_CODED_FRAMES) {
		uint32_t cts;

		if (len < at + 3)
			return -EINVAL;
		cts = be(body + at, 3);
		v->cts_ms = (int32_t)(cts & (SI24_SIGN - 1)) - (int32_t)(cts & SI24_SIGN);
		at += 3;
	}
	v->data = body + at;
	v->len = len - at;
	return 0;
}
