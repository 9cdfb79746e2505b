// SPDX-License-Identifier: MIT
/*
 * Outside input: the parameter sets and access units of an HEVC encoder or
 * of a camera passed through. The first byte picks what reads the rest:
 * even, the Annex B builder of the decoder configuration record and the
 * length-prefixed conversion; odd, the SPS parser on the rest behind an SPS
 * NAL header. Each must return 0 or an error, never read past the input
 * (the input is copied to a buffer of its exact size, for ASan), and what
 * it returns must be well formed: a record whose arrays add up to its
 * length and repeat the SPS the parser reads, lengths that add up.
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;

	if (size < 1)
		return 0;
	copy = malloc(size - 1 ? size - 1 : 1);
	if (!copy)
		return 0;
	memcpy(copy, data + 1, size - 1);
	if (data[0] & 1)
		sps(copy, size - 1);
	else
		annexb(copy, size - 1, data[0] >> 1);
	free(copy);
	return 0;
}
