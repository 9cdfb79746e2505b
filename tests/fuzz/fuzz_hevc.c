// SPDX-License-Identifier: MIT
/*
 * Outside input: the parameter sets and access units of an HEVC encoder or
 * of a camera passed through, and the tags a server sends back (what
 * mpstream probe will read). The first byte's low 2 bits pick what reads the
 * rest: 0 and 2, the Annex B builder of the decoder configuration record and
 * the length-prefixed conversion (2: SEI kept, parameter sets dropped); 1,
 * the SPS parser on the rest behind an SPS NAL header; 3, the tag reader and
 * the extended video header. Each must return 0 or an error, never read
 * past the input (it is copied to a buffer of its exact size, for ASan),
 * and what it returns must be well formed: a record whose arrays add up to
 * its length and repeat the SPS the parser reads, lengths that add up, tags
 * and their data within the input.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eflv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t be(const uint8_t *p, int n)
{
	uint32_t v = 0;

	while (n--)
		v = v << 8 | *p++;
	return v;
}

/* The record's arrays cover it exactly, and its fixed part is the SPS's. */
static void check_record(const struct eflv_buf *r, const struct eflv_hevc_sps *s)
{
	size_t p = 23;

	if (r->len < 23 || r->data[0] != 1 || (r->data[1] & 0x1f) != s->profile_idc ||
	    r->data[12] != s->level_idc || r->data[16] != (0xfc | s->chroma_format_idc) ||
	    r->data[17] != (0xf8 | (s->bit_depth_luma - 8)) || (r->data[21] & 3) != 3)
		abort();
	for (unsigned a = 0; a < r->data[22]; a++) {
		uint32_t count;

		if (p + 3 > r->len)
			abort();
		count = be(r->data + p + 1, 2);
		p += 3;
		for (uint32_t k = 0; k < count; k++) {
			if (p + 2 > r->len)
				abort();
			p += 2 + be(r->data + p, 2);
		}
	}
	if (p != r->len)
		abort();
}

static void lengths_add_up(const struct eflv_buf *lp)
{
	size_t p = 0;

	while (p < lp->len) {
		uint32_t n;

		if (p + 4 > lp->len)
			abort();
		n = be(lp->data + p, 4);
		if (n < 1)
			abort();
		p += 4 + n;
	}
	if (p != lp->len)
		abort();
}

static void annexb(const uint8_t *p, size_t len, unsigned flags)
{
	struct eflv_buf rec = {0}, lp = {0};
	struct eflv_hevc_sps s;
	int ret = eflv_hvcc_from_annexb(p, len, flags & EFLV_HVCC_SEI, &rec, &s);

	if (ret == 0)
		check_record(&rec, &s);
	else if (ret != -EINVAL || rec.len)
		abort();
	ret = eflv_annexb_to_lp(p, len, flags & EFLV_LP_DROP_PS, &lp);
	if (ret == 0)
		lengths_add_up(&lp);
	else if (ret != -EINVAL || lp.len)
		abort();
	eflv_buf_free(&rec);
	eflv_buf_free(&lp);
}

static void sps(const uint8_t *p, size_t len)
{
	uint8_t *nal = malloc(len + 2);
	struct eflv_hevc_sps s;
	int ret;

	if (!nal)
		return;
	nal[0] = EFLV_NAL_SPS << 1;
	nal[1] = 1;
	memcpy(nal + 2, p, len);
	ret = eflv_hevc_parse_sps(&(struct eflv_nal){nal, len + 2}, &s);
	if (ret == 0 && (s.chroma_format_idc > 3 || s.bit_depth_luma < 8 || s.bit_depth_luma > 15 ||
			 s.max_sub_layers < 1 || s.max_sub_layers > 7))
		abort();
	if (ret != 0 && ret != -EINVAL)
		abort();
	free(nal);
}

/* Tag after tag, each within the input; video bodies parsed within the tag. */
static void tags(const uint8_t *p, size_t len)
{
	struct eflv_tag_view t;
	size_t used;

	while (eflv_read_tag(p, len, &t, &used) == 0) {
		struct eflv_video v;

		if (used > len || t.body + t.len > p + len)
			abort();
		if (t.type == EFLV_TAG_VIDEO && eflv_parse_video(t.body, t.len, &v) == 0 &&
		    v.data + v.len != t.body + t.len)
			abort();
		p += used;
		len -= used;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;

	if (size < 1)
		return 0;
	copy = malloc(size - 1 ? size - 1 : 1);
	if (!copy)
		return 0;
	memcpy(copy, data + 1, size - 1);
	switch (data[0] & 3) {
	case 1:
		sps(copy, size - 1);
		break;
	case 3:
		tags(copy, size - 1);
		break;
	default:
		annexb(copy, size - 1, data[0] & 2 ? ~0u : 0);
	}
	free(copy);
	return 0;
}
