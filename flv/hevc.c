// SPDX-License-Identifier: MIT
/*
 * HEVC for Enhanced FLV: Annex B split into NAL units, the SPS read as far
 * as the record needs (H.265 7.3.2.2, 7.3.3), the
 * HEVCDecoderConfigurationRecord (ISO/IEC 14496-15 8.3.3.1.2), and access
 * units with 4-byte lengths. Input is the encoder's, or a camera's when
 * passed through: every read is bounded and a malformed one is -EINVAL.
 */
#include "eflv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define NAL_HEADER_BYTES   2
#define HVCC_VERSION	   1
#define LENGTH_SIZE_MINUS1 3
#define MAX_SUB_LAYERS	   7
#define MAX_UE_ZEROS	   31
#define MAX_CHROMA_FORMAT  3
#define MAX_BIT_DEPTH	   15 /* 8 + the 3 bits the record has for it */
#define MAX_SPS_ID	   15
#define MAX_NAL_IN_HVCC	   UINT16_MAX

int eflv_nal_type(const struct eflv_nal *nal)
{
	if (nal->len < NAL_HEADER_BYTES)
		return -1;
	return (nal->data[0] >> 1) & 0x3f;
}

/* The start code at p[i], if any: its length (3 or 4, a leading zero counted), else 0. */
static size_t start_code_at(const uint8_t *p, size_t len, size_t i)
{
	if (i + 3 <= len && p[i] == 0 && p[i + 1] == 0 && p[i + 2] == 1)
		return 3;
	if (i + 4 <= len && p[i] == 0 && p[i + 1] == 0 && p[i + 2] == 0 && p[i + 3] == 1)
		return 4;
	return 0;
}

/* The offset of the next start code at or after i, or len. */
static size_t next_start(const uint8_t *p, size_t len, size_t i)
{
	for (; i + 3 <= len; i++)
		if (p[i] == 0 && p[i + 1] == 0 && (p[i + 2] == 1 || p[i + 2] == 0) &&
		    start_code_at(p, len, i))
			return i;
	return len;
}

int eflv_annexb_split(const uint8_t *p, size_t len, struct eflv_nal *nals, size_t max, size_t *n)
{
	size_t i = next_start(p, len, 0), count = 0;

	while (i < len) {
		size_t begin = i + start_code_at(p, len, i);
		size_t end = next_start(p, len, begin);

		i = end;
		/* trailing_zero_8bits (and a 4-byte start code's first zero) belong to no NAL unit */
		while (end > begin && p[end - 1] == 0)
			end--;
		if (end == begin)
			continue;
		if (count < max)
			nals[count] = (struct eflv_nal){p + begin, end - begin};
		count++;
	}
	*n = count;
	return count ? 0 : -EINVAL;
}

/* A bit reader over an RBSP that drops emulation prevention bytes (00 00 03) as it goes. */
struct bits {
	const uint8_t *p;
	size_t len, pos;
	int zeros; /* zero bytes just read */
	uint8_t cur;
	int left; /* bits of cur not read yet */
	bool overrun;
};

static bool next_byte(struct bits *b)
{
	uint8_t v;

	if (b->pos >= b->len)
		return false;
	v = b->p[b->pos++];
	if (b->zeros >= 2 && v == 3) {
		b->zeros = 0;
		if (b->pos >= b->len)
			return false;
		v = b->p[b->pos++];
	}
	b->zeros = v ? 0 : b->zeros + 1;
	b->cur = v;
	b->left = 8;
	return true;
}

static uint32_t read_bits(struct bits *b, int n)
{
	uint32_t v = 0;

	while (n-- > 0) {
		if (!b->left && !next_byte(b)) {
			b->overrun = true;
			return 0;
		}
		b->left--;
		v = v << 1 | ((b->cur >> b->left) & 1);
	}
	return v;
}

static uint32_t read_ue(struct bits *b)
{
	int zeros = 0;

	while (!read_bits(b, 1)) {
		if (b->overrun || ++zeros > MAX_UE_ZEROS) {
			b->overrun = true;
			return 0;
		}
	}
	return (uint32_t)((1ull << zeros) - 1 + read_bits(b, zeros));
}

/* profile_tier_level(1, max_sub_layers_minus1), H.265 7.3.3: the general part kept. */
static void read_ptl(struct bits *b, struct eflv_hevc_sps *s)
{
	int sub = s->max_sub_layers - 1;
	bool profile[MAX_SUB_LAYERS] = {0}, level[MAX_SUB_LAYERS] = {0};

	s->profile_space = (uint8_t)read_bits(b, 2);
	s->tier = read_bits(b, 1);
	s->profile_idc = (uint8_t)read_bits(b, 5);
	s->profile_compatibility = read_bits(b, 32);
	s->constraint_flags = (uint64_t)read_bits(b, 16) << 32;
	s->constraint_flags |= read_bits(b, 32);
	s->level_idc = (uint8_t)read_bits(b, 8);
	for (int i = 0; i < sub; i++) {
		profile[i] = read_bits(b, 1);
		level[i] = read_bits(b, 1);
	}
	if (sub > 0)
		for (int i = sub; i < 8; i++)
			read_bits(b, 2); /* reserved_zero_2bits */
	for (int i = 0; i < sub; i++) {
		if (profile[i]) {
			/* profile space, tier, idc (8), compatibility (32), flags (48) */
			read_bits(b, 8);
			read_bits(b, 32);
			read_bits(b, 24);
			read_bits(b, 24);
		}
		if (level[i])
			read_bits(b, 8);
	}
}

int eflv_hevc_parse_sps(const struct eflv_nal *nal, struct eflv_hevc_sps *sps)
{
	struct bits b = {.p = nal->data, .len = nal->len};
	struct eflv_hevc_sps s = {0};
	uint32_t sps_id, luma, chroma;

	if (eflv_nal_type(nal) != EFLV_NAL_SPS)
		return -EINVAL;
	read_bits(&b, 16); /* the NAL unit header */
	read_bits(&b, 4);  /* sps_video_parameter_set_id */
	s.max_sub_layers = (uint8_t)(read_bits(&b, 3) + 1);
	s.temporal_id_nesting = read_bits(&b, 1);
	if (s.max_sub_layers > MAX_SUB_LAYERS)
		return -EINVAL;
	read_ptl(&b, &s);
	sps_id = read_ue(&b);
	s.chroma_format_idc = (uint8_t)read_ue(&b);
	if (s.chroma_format_idc == MAX_CHROMA_FORMAT)
		read_bits(&b, 1); /* separate_colour_plane_flag */
	s.width = read_ue(&b);
	s.height = read_ue(&b);
	if (read_bits(&b, 1)) /* conformance_window_flag: its four offsets */
		for (int i = 0; i < 4; i++)
			read_ue(&b);
	luma = read_ue(&b) + 8;
	chroma = read_ue(&b) + 8;
	if (b.overrun || sps_id > MAX_SPS_ID || s.chroma_format_idc > MAX_CHROMA_FORMAT ||
	    luma > MAX_BIT_DEPTH || chroma > MAX_BIT_DEPTH)
		return -EINVAL;
	s.bit_depth_luma = (uint8_t)luma;
	s.bit_depth_chroma = (uint8_t)chroma;
	*sps = s;
	return 0;
}

/* The arrays in the record's order; SEI only with EFLV_HVCC_SEI. */
static const uint8_t array_types[] = {EFLV_NAL_VPS, EFLV_NAL_SPS, EFLV_NAL_PPS, EFLV_NAL_SEI_PREFIX,
				      EFLV_NAL_SEI_SUFFIX};
#define N_PS_ARRAYS 3

static void put8(uint8_t **w, uint8_t v)
{
	*(*w)++ = v;
}

static void put16(uint8_t **w, uint32_t v)
{
	put8(w, (uint8_t)(v >> 8));
	put8(w, (uint8_t)v);
}

static void put32(uint8_t **w, uint32_t v)
{
	put16(w, v >> 16);
	put16(w, v);
}

/* The 23 bytes before the arrays. */
static void put_fixed(uint8_t **w, const struct eflv_hevc_sps *s, unsigned n_arrays)
{
	put8(w, HVCC_VERSION);
	put8(w, (uint8_t)(s->profile_space << 6 | s->tier << 5 | s->profile_idc));
	put32(w, s->profile_compatibility);
	put16(w, (uint32_t)(s->constraint_flags >> 32));
	put32(w, (uint32_t)s->constraint_flags);
	put8(w, s->level_idc);
	put16(w, 0xf000); /* reserved '1111', min_spatial_segmentation_idc 0 */
	put8(w, 0xfc);	  /* reserved '111111', parallelismType 0 */
	put8(w, (uint8_t)(0xfc | s->chroma_format_idc));
	put8(w, (uint8_t)(0xf8 | (s->bit_depth_luma - 8)));
	put8(w, (uint8_t)(0xf8 | (s->bit_depth_chroma - 8)));
	put16(w, 0); /* avgFrameRate: not given */
	/* constantFrameRate 0, numTemporalLayers, temporalIdNested, lengthSizeMinusOne */
	put8(w,
	     (uint8_t)(s->max_sub_layers << 3 | s->temporal_id_nesting << 2 | LENGTH_SIZE_MINUS1));
	put8(w, (uint8_t)n_arrays);
}

/* Counts the NAL units of each array type and the record's size; -EINVAL when one is too big. */
static int measure(const struct eflv_nal *nals, size_t n, size_t n_types, size_t counts[],
		   size_t *size, const struct eflv_nal **first_sps)
{
	*size = 23;
	*first_sps = NULL;
	for (size_t i = 0; i < n; i++) {
		int type = eflv_nal_type(&nals[i]);

		for (size_t t = 0; t < n_types; t++) {
			if (type != array_types[t])
				continue;
			if (nals[i].len > MAX_NAL_IN_HVCC || counts[t] == UINT16_MAX)
				return -EINVAL;
			if (!counts[t]++)
				*size += 3;
			*size += 2 + nals[i].len;
			if (type == EFLV_NAL_SPS && !*first_sps)
				*first_sps = &nals[i];
		}
	}
	for (size_t t = 0; t < N_PS_ARRAYS; t++)
		if (!counts[t])
			return -EINVAL;
	return 0;
}

/* The arrays: array_completeness 1 for the parameter sets ('hvc1'), 0 for SEI. */
static void put_arrays(uint8_t *w, const struct eflv_nal *nals, size_t n, size_t n_types,
		       const size_t counts[])
{
	for (size_t t = 0; t < n_types; t++) {
		if (!counts[t])
			continue;
		put8(&w, (uint8_t)((t < N_PS_ARRAYS ? 0x80 : 0) | array_types[t]));
		put16(&w, (uint32_t)counts[t]);
		for (size_t i = 0; i < n; i++) {
			if (eflv_nal_type(&nals[i]) != array_types[t])
				continue;
			put16(&w, (uint32_t)nals[i].len);
			memcpy(w, nals[i].data, nals[i].len);
			w += nals[i].len;
		}
	}
}

int eflv_hvcc_build(const struct eflv_nal *nals, size_t n, unsigned flags, struct eflv_buf *out,
		    struct eflv_hevc_sps *sps)
{
	size_t n_types = flags & EFLV_HVCC_SEI ? sizeof(array_types) : N_PS_ARRAYS;
	size_t counts[sizeof(array_types)] = {0}, size, n_arrays = 0;
	const struct eflv_nal *first_sps;
	struct eflv_hevc_sps s;
	uint8_t *w;
	int ret = measure(nals, n, n_types, counts, &size, &first_sps);

	if (!ret)
		ret = eflv_hevc_parse_sps(first_sps, &s);
	if (!ret)
		ret = eflv_extend(out, size, &w);
	if (ret)
		return ret;
	for (size_t t = 0; t < n_types; t++)
		n_arrays += counts[t] > 0;
	put_fixed(&w, &s, (unsigned)n_arrays);
	put_arrays(w, nals, n, n_types, counts);
	if (sps)
		*sps = s;
	return 0;
}

int eflv_hvcc_from_annexb(const uint8_t *p, size_t len, unsigned flags, struct eflv_buf *out,
			  struct eflv_hevc_sps *sps)
{
	struct eflv_nal *nals;
	size_t n;
	int ret = eflv_annexb_split(p, len, NULL, 0, &n);

	if (ret)
		return ret;
	nals = calloc(n, sizeof(*nals));
	if (!nals)
		return -ENOMEM;
	ret = eflv_annexb_split(p, len, nals, n, &n);
	if (!ret)
		ret = eflv_hvcc_build(nals, n, flags, out, sps);
	free(nals);
	return ret;
}

bool eflv_is_annexb(const uint8_t *p, size_t len)
{
	return start_code_at(p, len, 0) != 0;
}

bool eflv_is_hvcc(const uint8_t *p, size_t len)
{
	return len >= 23 && p[0] == 1;
}

size_t eflv_annexb_cra_to_bla(uint8_t *p, size_t len)
{
	size_t i = next_start(p, len, 0), changed = 0;

	/* Length-prefixed data (an hvcC stream) can hold 00 00 01 in a length: not touched. */
	if (!eflv_is_annexb(p, len))
		return 0;
	while (i < len) {
		size_t h = i + start_code_at(p, len, i);

		if (h < len && ((p[h] >> 1) & 0x3f) == EFLV_NAL_CRA) {
			p[h] = (uint8_t)((p[h] & 0x81) | (EFLV_NAL_BLA_W_LP << 1));
			changed++;
		}
		i = next_start(p, len, h);
	}
	return changed;
}

static bool dropped(int type, unsigned flags)
{
	return (flags & EFLV_LP_DROP_PS) && ((type >= EFLV_NAL_VPS && type <= EFLV_NAL_AUD));
}

int eflv_annexb_to_lp(const uint8_t *p, size_t len, unsigned flags, struct eflv_buf *out)
{
	size_t i = next_start(p, len, 0), at = out->len;
	int ret = 0;

	while (i < len && !ret) {
		size_t begin = i + start_code_at(p, len, i), end = next_start(p, len, begin);
		struct eflv_nal nal;
		uint8_t be[4];

		i = end;
		while (end > begin && p[end - 1] == 0)
			end--;
		nal = (struct eflv_nal){p + begin, end - begin};
		if (end == begin || dropped(eflv_nal_type(&nal), flags))
			continue;
		if (nal.len > UINT32_MAX)
			ret = -EINVAL;
		for (int k = 0; k < 4; k++)
			be[k] = (uint8_t)(nal.len >> (8 * (3 - k)));
		if (!ret)
			ret = eflv_put(out, be, 4);
		if (!ret)
			ret = eflv_put(out, nal.data, nal.len);
	}
	if (!ret && out->len == at)
		ret = -EINVAL;
	if (ret)
		out->len = at;
	return ret;
}
