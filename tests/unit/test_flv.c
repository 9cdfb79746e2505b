// SPDX-License-Identifier: MIT
/*
 * The Enhanced FLV writer, byte for byte: layouts written out here by hand
 * from FLV 10.1 (Annex E), Veovera's enhanced-rtmp-v1 (Table 4) and ISO/IEC
 * 14496-15 8.3.3.1.2, and the records FFmpeg writes for the same parameter
 * sets (eflv_fixtures.h says how they were made).
 */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "eflv.h"
#include "eflv_fixtures.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static void assert_bytes(const struct eflv_buf *b, const uint8_t *want, size_t len)
{
	assert_int_equal(b->len, len);
	assert_memory_equal(b->data, want, len);
}

static void test_file_header(void **state)
{
	static const uint8_t want[] = {'F', 'L', 'V', 1, 0x05, 0, 0, 0, 9, 0, 0, 0, 0};
	struct eflv_buf b = {0};

	assert_int_equal(eflv_file_header(&b, true, true), 0);
	assert_bytes(&b, want, sizeof(want));
	eflv_buf_reset(&b);
	assert_int_equal(eflv_file_header(&b, false, true), 0);
	assert_int_equal(b.data[4], 0x01);
	eflv_buf_free(&b);
}

/* Header: type, DataSize (24), timestamp low 24 then high 8, StreamID 0; then PreviousTagSize. */
static void test_tag_layout(void **state)
{
	static const uint8_t body[] = {0xaa, 0xbb, 0xcc};
	static const uint8_t want[] = {9, 0, 0,	   3,	 0x34, 0x56, 0x78, 0x12, 0,
				       0, 0, 0xaa, 0xbb, 0xcc, 0x00, 0x00, 0x00, 14};
	struct eflv_buf b = {0};

	assert_int_equal(eflv_tag(&b, EFLV_TAG_VIDEO, 0x12345678, body, sizeof(body)), 0);
	assert_bytes(&b, want, sizeof(want));
	eflv_buf_free(&b);
}

static void test_tag_too_big(void **state)
{
	struct eflv_buf b = {0};
	uint8_t *big = calloc(1, EFLV_MAX_DATA_SIZE + 1);

	assert_non_null(big);
	assert_int_equal(eflv_tag(&b, EFLV_TAG_VIDEO, 0, big, EFLV_MAX_DATA_SIZE + 1), -EMSGSIZE);
	assert_int_equal(b.len, 0);
	assert_int_equal(eflv_tag(&b, EFLV_TAG_VIDEO, 0, big, EFLV_MAX_DATA_SIZE), 0);
	assert_int_equal(b.len, EFLV_TAG_OVERHEAD + EFLV_MAX_DATA_SIZE);
	assert_memory_equal(b.data + 1, "\xff\xff\xff", 3);
	assert_memory_equal(b.data + b.len - 4, "\x01\x00\x00\x0a", 4);
	free(big);
	eflv_buf_free(&b);
}

static void assert_sps(const uint8_t *nal, size_t len, const struct eflv_hevc_sps *want)
{
	struct eflv_hevc_sps s;

	assert_int_equal(eflv_hevc_parse_sps(&(struct eflv_nal){nal, len}, &s), 0);
	assert_int_equal(s.profile_space, want->profile_space);
	assert_int_equal(s.tier, want->tier);
	assert_int_equal(s.profile_idc, want->profile_idc);
	assert_int_equal(s.profile_compatibility, want->profile_compatibility);
	assert_int_equal(s.constraint_flags, want->constraint_flags);
	assert_int_equal(s.level_idc, want->level_idc);
	assert_int_equal(s.chroma_format_idc, want->chroma_format_idc);
	assert_int_equal(s.bit_depth_luma, want->bit_depth_luma);
	assert_int_equal(s.bit_depth_chroma, want->bit_depth_chroma);
	assert_int_equal(s.width, want->width);
	assert_int_equal(s.height, want->height);
	assert_int_equal(s.max_sub_layers, want->max_sub_layers);
	assert_int_equal(s.temporal_id_nesting, want->temporal_id_nesting);
}

static void test_sps_main(void **state)
{
	const struct eflv_hevc_sps want = {
		.profile_idc = 1, /* Main */
		.profile_compatibility = 0x60000000,
		.constraint_flags = 0x900000000000ull, /* progressive source, frame only */
		.level_idc = 60,		       /* level 2: 30 * 2 */
		.chroma_format_idc = 1,
		.bit_depth_luma = 8,
		.bit_depth_chroma = 8,
		.width = 320,
		.height = 240,
		.max_sub_layers = 1,
		.temporal_id_nesting = true,
	};

	assert_sps(main_sps, sizeof(main_sps), &want);
}

/* Two sub-layers: the sub-layer flags and the reserved bits of profile_tier_level are read. */
static void test_sps_rext(void **state)
{
	const struct eflv_hevc_sps want = {
		.profile_idc = 4, /* format range extensions: Main 4:2:2 10 */
		.profile_compatibility = 0x08000000,
		.constraint_flags = 0x9d0800000000ull,
		.level_idc = 60,
		.chroma_format_idc = 2,
		.bit_depth_luma = 10,
		.bit_depth_chroma = 10,
		.width = 320,
		.height = 240,
		.max_sub_layers = 2,
	};

	assert_sps(rext_sps, sizeof(rext_sps), &want);
}

/*
 * Every prefix of a real SPS: refused while it stops before the bit depths,
 * never read past (the copy is of the prefix's exact size, for ASan), and
 * from the first one that holds them on, the same fields as the whole.
 */
static void test_sps_truncated(void **state)
{
	struct eflv_hevc_sps whole, s;
	bool taken = false;

	assert_int_equal(
		eflv_hevc_parse_sps(&(struct eflv_nal){main_sps, sizeof(main_sps)}, &whole), 0);
	for (size_t len = 0; len <= sizeof(main_sps); len++) {
		uint8_t *copy = malloc(len ? len : 1);
		int ret;

		memcpy(copy, main_sps, len);
		ret = eflv_hevc_parse_sps(&(struct eflv_nal){copy, len}, &s);
		free(copy);
		assert_true(ret == 0 || ret == -EINVAL);
		if (len < 20)
			assert_int_equal(
				ret, -EINVAL); /* header, ids, profile_tier_level: 18 bytes here */
		taken = taken || ret == 0;
		if (taken) {
			assert_int_equal(ret, 0);
			assert_int_equal(s.width, whole.width);
			assert_int_equal(s.bit_depth_chroma, whole.bit_depth_chroma);
		}
	}
	assert_true(taken);
	assert_int_equal(eflv_hevc_parse_sps(&(struct eflv_nal){main_vps, sizeof(main_vps)}, &s),
			 -EINVAL);
}

/*
 * Emulation prevention: main_sps carries three "00 00 03" (offsets 5-7, 10-12,
 * 13-15) inside the compatibility and constraint flags. Read with the 03s,
 * the compatibility flags would be 0x60000003 and the level the wrong byte;
 * read as the RBSP they are 0x60000000, 0x900000000000 and 60.
 */
static void test_sps_emulation_prevention(void **state)
{
	static const size_t epb[] = {7, 12, 15};
	struct eflv_nal nal = {main_sps, sizeof(main_sps)};
	struct eflv_hevc_sps s;

	for (size_t i = 0; i < ARRAY_LEN(epb); i++) {
		assert_int_equal(main_sps[epb[i] - 2], 0);
		assert_int_equal(main_sps[epb[i] - 1], 0);
		assert_int_equal(main_sps[epb[i]], 3);
	}
	assert_int_equal(eflv_hevc_parse_sps(&nal, &s), 0);
	assert_int_equal(s.profile_compatibility, 0x60000000);
	assert_int_equal(s.constraint_flags, 0x900000000000ull);
	assert_int_equal(s.level_idc, 60);
}

/* FFmpeg's record of the same sets ('hvc1'), byte for byte. */
static void check_against_ffmpeg(const struct eflv_nal *nals, size_t n, const uint8_t *ffmpeg,
				 size_t len)
{
	struct eflv_buf b = {0};

	assert_int_equal(eflv_hvcc_build(nals, n, 0, &b, NULL), 0);
	assert_bytes(&b, ffmpeg, len);
	eflv_buf_free(&b);
}

static void test_hvcc_matches_ffmpeg(void **state)
{
	struct eflv_nal main_nals[] = {{main_vps, sizeof(main_vps)},
				       {main_sps, sizeof(main_sps)},
				       {main_pps, sizeof(main_pps)}};
	struct eflv_nal rext_nals[] = {{rext_vps, sizeof(rext_vps)},
				       {rext_sps, sizeof(rext_sps)},
				       {rext_pps, sizeof(rext_pps)}};

	check_against_ffmpeg(main_nals, 3, main_ffmpeg_hvcc, sizeof(main_ffmpeg_hvcc));
	check_against_ffmpeg(rext_nals, 3, rext_ffmpeg_hvcc, sizeof(rext_ffmpeg_hvcc));
}

/* The record's fields, at the offsets 14496-15 gives them. */
static void test_hvcc_fields(void **state)
{
	struct eflv_nal nals[] = {{main_pps, sizeof(main_pps)},
				  {main_sps, sizeof(main_sps)},
				  {main_vps, sizeof(main_vps)}};
	struct eflv_buf b = {0};
	struct eflv_hevc_sps s;
	const uint8_t *r;

	/* given in another order, written VPS, SPS, PPS */
	assert_int_equal(eflv_hvcc_build(nals, 3, 0, &b, &s), 0);
	r = b.data;
	assert_int_equal(r[0], 1);			       /* configurationVersion */
	assert_int_equal(r[1], 0x01);			       /* space 0, tier 0, profile 1 */
	assert_memory_equal(r + 2, "\x60\x00\x00\x00", 4);     /* compatibility */
	assert_memory_equal(r + 6, "\x90\0\0\0\0\0", 6);       /* constraint flags */
	assert_int_equal(r[12], 60);			       /* level */
	assert_memory_equal(r + 13, "\xf0\x00\xfc", 3);	       /* min_spatial 0, parallelism 0 */
	assert_int_equal(r[16], 0xfd);			       /* chroma 4:2:0 */
	assert_memory_equal(r + 17, "\xf8\xf8", 2);	       /* 8-bit luma and chroma */
	assert_memory_equal(r + 19, "\x00\x00", 2);	       /* avgFrameRate */
	assert_int_equal(r[21], 0 << 6 | 1 << 3 | 1 << 2 | 3); /* cfr 0, 1 layer, nested, 4 bytes */
	assert_int_equal(r[22], 3);			       /* arrays */
	assert_memory_equal(r + 23, "\xa0\x00\x01\x00\x18",
			    5); /* complete, VPS, 1 unit, 24 bytes */
	assert_memory_equal(r + 28, main_vps, sizeof(main_vps));
	assert_memory_equal(r + 52, "\xa1\x00\x01\x00\x2a", 5); /* SPS, 42 bytes */
	assert_memory_equal(r + 99, "\xa2\x00\x01\x00\x07", 5); /* PPS, 7 bytes */
	assert_int_equal(b.len, 111);
	assert_int_equal(s.level_idc, 60);
	eflv_buf_free(&b);
}

static void test_hvcc_missing_set(void **state)
{
	struct eflv_nal nals[] = {{main_vps, sizeof(main_vps)}, {main_sps, sizeof(main_sps)}};
	struct eflv_buf b = {0};

	assert_int_equal(eflv_hvcc_build(nals, 2, 0, &b, NULL), -EINVAL);
	assert_int_equal(b.len, 0);
	eflv_buf_free(&b);
}

/* Annex B as libx265 gives its extradata: VPS, SPS, PPS, a prefix SEI, with 4-byte start codes. */
static size_t annexb_extradata(uint8_t *out)
{
	static const uint8_t sc[] = {0, 0, 0, 1};
	static const uint8_t sei[] = {0x4e, 0x01, 0x05, 0x02, 0xaa, 0xbb, 0x80};
	const struct eflv_nal parts[] = {{main_vps, sizeof(main_vps)},
					 {main_sps, sizeof(main_sps)},
					 {main_pps, sizeof(main_pps)},
					 {sei, sizeof(sei)}};
	size_t len = 0;

	for (size_t i = 0; i < ARRAY_LEN(parts); i++) {
		memcpy(out + len, sc + (i == 2), sizeof(sc) - (i == 2)); /* one 3-byte start code */
		len += sizeof(sc) - (i == 2);
		memcpy(out + len, parts[i].data, parts[i].len);
		len += parts[i].len;
	}
	return len;
}

static void test_hvcc_from_annexb(void **state)
{
	uint8_t ex[128];
	size_t len = annexb_extradata(ex);
	struct eflv_nal nals[] = {{main_vps, sizeof(main_vps)},
				  {main_sps, sizeof(main_sps)},
				  {main_pps, sizeof(main_pps)}};
	struct eflv_buf a = {0}, b = {0};

	assert_int_equal(eflv_hvcc_from_annexb(ex, len, 0, &a, NULL), 0);
	assert_int_equal(eflv_hvcc_build(nals, 3, 0, &b, NULL), 0);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.data, b.data, a.len);
	/* With SEI kept: a fourth array, not complete, type 39 */
	eflv_buf_reset(&a);
	assert_int_equal(eflv_hvcc_from_annexb(ex, len, EFLV_HVCC_SEI, &a, NULL), 0);
	assert_int_equal(a.data[22], 4);
	assert_int_equal(a.len, 111 + 3 + 2 + 7);
	assert_memory_equal(a.data + 111, "\x27\x00\x01\x00\x07\x4e\x01", 7);
	eflv_buf_free(&a);
	eflv_buf_free(&b);
}

static void test_annexb_split(void **state)
{
	static const uint8_t in[] = {0xff, 0,	 0,    1,    0x26, 0x01, 0xaf, 0,    0, 0, 0,
				     1,	   0x02, 0x01, 0x00, 0,	   0,	 3,    0x01, 0, 0, 0};
	struct eflv_nal nals[4];
	size_t n;

	assert_int_equal(eflv_annexb_split(in, sizeof(in), nals, 4, &n), 0);
	assert_int_equal(n, 2);
	assert_ptr_equal(nals[0].data, in + 4);
	assert_int_equal(nals[0].len, 3);
	assert_int_equal(eflv_nal_type(&nals[0]), 19); /* IDR_W_RADL */
	assert_ptr_equal(nals[1].data, in + 12);
	assert_int_equal(nals[1].len, 7); /* its 00 00 03 stays: it is the NAL unit's */
	assert_int_equal(eflv_annexb_split(in + 4, 3, nals, 4, &n), -EINVAL);
}

static void test_annexb_to_lp(void **state)
{
	uint8_t ex[160];
	size_t len = annexb_extradata(ex);
	static const uint8_t idr[] = {0, 0, 1, 0x26, 0x01, 0xaf, 0x10, 0, 0};
	struct eflv_buf b = {0};

	memcpy(ex + len, idr, sizeof(idr));
	len += sizeof(idr);
	assert_int_equal(eflv_annexb_to_lp(ex, len, 0, &b), 0);
	assert_int_equal(b.len, 5 * 4 + 24 + 42 + 7 + 7 + 4);
	assert_memory_equal(b.data, "\x00\x00\x00\x18\x40\x01", 6);
	assert_memory_equal(b.data + b.len - 8, "\x00\x00\x00\x04\x26\x01\xaf\x10", 8);
	eflv_buf_reset(&b);
	/* the parameter sets left out: the SEI and the slice */
	assert_int_equal(eflv_annexb_to_lp(ex, len, EFLV_LP_DROP_PS, &b), 0);
	assert_int_equal(b.len, 4 + 7 + 4 + 4);
	assert_memory_equal(b.data, "\x00\x00\x00\x07\x4e\x01", 6);
	eflv_buf_reset(&b);
	assert_int_equal(eflv_annexb_to_lp(ex, 73, EFLV_LP_DROP_PS, &b), -EINVAL);
	assert_int_equal(b.len, 0);
	eflv_buf_free(&b);
}

/* A splice: CRA slices become BLA_W_LP ones, their other bits kept; nothing else changes. */
static void test_cra_to_bla(void **state)
{
	/* VPS, a CRA slice (nuh_layer_id 0, TemporalId 0), another CRA slice, a TRAIL_R slice */
	uint8_t in[] = {0, 0, 0, 1,    0x40, 0x01, 0x0c, 0, 0, 1,    0x2a, 0x01, 0xaf,
			0, 0, 1, 0x2a, 0x01, 0x10, 0,	 0, 1, 0x02, 0x01, 0xd0};
	uint8_t want[sizeof(in)];

	(void)state;
	memcpy(want, in, sizeof(in));
	want[10] = want[16] = 0x20; /* type 16 << 1, forbidden bit and layer's top bit 0 */
	assert_int_equal(eflv_annexb_cra_to_bla(in, sizeof(in)), 2);
	assert_memory_equal(in, want, sizeof(in));
	assert_int_equal(eflv_annexb_cra_to_bla(in, sizeof(in)), 0); /* no CRA left */
	assert_int_equal(eflv_annexb_cra_to_bla(in, 3), 0);
	assert_true(eflv_is_annexb(in, sizeof(in)));
	assert_true(eflv_is_annexb(in + 1, 3)); /* 00 00 01 */
	assert_false(eflv_is_annexb(in, 3));
	assert_false(eflv_is_hvcc(in, sizeof(in)));
	/* Length-prefixed: a second NAL unit of 298 bytes has 00 00 01 2a for its length. */
	{
		uint8_t lp[] = {0, 0, 0, 3, 0x2a, 0x01, 0xaf, 0, 0, 1, 0x2a, 0x2a, 0x01};

		assert_int_equal(eflv_annexb_cra_to_bla(lp, sizeof(lp)), 0);
		assert_int_equal(lp[4], 0x2a);
		assert_int_equal(lp[10], 0x2a);
		assert_false(eflv_is_annexb(lp, sizeof(lp)));
	}
}

/* A SequenceStart tag, written out by hand around the record. */
static void test_sequence_start_tag(void **state)
{
	struct eflv_buf hvcc = {0}, b = {0};
	uint8_t want[EFLV_TAG_OVERHEAD + 5 + 111];
	size_t body = 5 + 111;

	assert_int_equal(eflv_hvcc_from_annexb(main_vps, sizeof(main_vps), 0, &hvcc, NULL),
			 -EINVAL); /* no start code: nothing */
	{
		uint8_t ex[128];
		size_t len = annexb_extradata(ex);

		assert_int_equal(eflv_hvcc_from_annexb(ex, len, 0, &hvcc, NULL), 0);
	}
	assert_int_equal(hvcc.len, 111);
	memcpy(want, "\x09\x00\x00\x74\x00\x00\x00\x00\x00\x00\x00", 11); /* DataSize 116, ts 0 */
	/* IsExHeader | FrameType key (1) << 4 | SequenceStart (0); 'hvc1' */
	memcpy(want + 11, "\x90hvc1", 5);
	memcpy(want + 16, hvcc.data, 111);
	memcpy(want + 16 + 111, "\x00\x00\x00\x7f", 4); /* 11 + 116 */
	assert_int_equal(body, 0x74);
	assert_int_equal(eflv_hevc_sequence_start(&b, 0, hvcc.data, hvcc.len), 0);
	assert_bytes(&b, want, sizeof(want));
	eflv_buf_free(&hvcc);
	eflv_buf_free(&b);
}

/* CodedFrames with its SI24 offset, negative and positive; CodedFramesX without. */
static void test_coded_frames(void **state)
{
	static const uint8_t au[] = {0, 0, 0, 3, 0x02, 0x01, 0xd0};
	static const uint8_t neg[] = {9, 0,    0,   0x0f, 0x00, 0x03, 0xe8, 0x00, 0,	0,
				      0, 0xa1, 'h', 'v',  'c',	'1',  0xff, 0xff, 0xd8, 0,
				      0, 0,    3,   0x02, 0x01, 0xd0, 0,    0,	  0,	0x1a};
	static const uint8_t pos[] = {0x91, 'h', 'v', 'c', '1', 0x00, 0x00, 0x50};
	static const uint8_t x[] = {9, 0, 0, 0x0c, 0x00, 0x00, 0x01, 0x01,
				    0, 0, 0, 0xa3, 'h',	 'v',  'c',  '1'};
	struct eflv_buf b = {0};

	/* a B-frame shown 40 ms before it is decoded, at 1000 ms: inter, CodedFrames, -40 */
	assert_int_equal(eflv_hevc_frame(&b, 1000, -40, false, au, sizeof(au)), 0);
	assert_bytes(&b, neg, sizeof(neg));
	eflv_buf_reset(&b);
	/* a keyframe shown 80 ms after */
	assert_int_equal(eflv_hevc_frame(&b, 0, 80, true, au, sizeof(au)), 0);
	assert_int_equal(b.len, EFLV_TAG_OVERHEAD + 8 + sizeof(au));
	assert_memory_equal(b.data + 11, pos, sizeof(pos));
	eflv_buf_reset(&b);
	/* offset 0 at 0x01000001 ms (timestamp extended byte 1): CodedFramesX, no SI24 */
	assert_int_equal(eflv_hevc_frame(&b, 0x01000001, 0, false, au, sizeof(au)), 0);
	assert_int_equal(b.len, EFLV_TAG_OVERHEAD + 5 + sizeof(au));
	assert_memory_equal(b.data, x, sizeof(x));
	assert_memory_equal(b.data + 16, au, sizeof(au));
	eflv_buf_free(&b);
}

static void test_sequence_end_and_errors(void **state)
{
	static const uint8_t end[] = {9, 0,    0,   5,	 0,   0,   0x64, 0, 0, 0,
				      0, 0x92, 'h', 'v', 'c', '1', 0,	 0, 0, 16};
	struct eflv_buf b = {0};
	struct eflv_video v = {.frame = EFLV_FRAME_INTER,
			       .packet = EFLV_PKT_CODED_FRAMES,
			       .fourcc = EFLV_FOURCC_HVC1,
			       .cts_ms = EFLV_CTS_MAX + 1};

	assert_int_equal(eflv_hevc_sequence_end(&b, 100), 0);
	assert_bytes(&b, end, sizeof(end));
	eflv_buf_reset(&b);
	assert_int_equal(eflv_video_tag(&b, &v), -ERANGE);
	v.cts_ms = EFLV_CTS_MIN - 1;
	assert_int_equal(eflv_video_tag(&b, &v), -ERANGE);
	v.cts_ms = EFLV_CTS_MIN;
	assert_int_equal(eflv_video_tag(&b, &v), 0);
	assert_memory_equal(b.data + 16, "\x80\x00\x00", 3);
	eflv_buf_reset(&b);
	v.packet = EFLV_PKT_CODED_FRAMES_X;
	assert_int_equal(eflv_video_tag(&b, &v), -EINVAL);
	v.packet = 6;
	v.cts_ms = 0;
	assert_int_equal(eflv_video_tag(&b, &v), -EINVAL);
	assert_int_equal(b.len, 0);
	assert_int_equal(EFLV_FOURCC_HVC1, 0x68766331);
	eflv_buf_free(&b);
}

static void test_aac_tag(void **state)
{
	static const uint8_t asc[] = {0x11, 0x90};
	static const uint8_t want[] = {8, 0,	0,    4,    0,	  0, 0, 0, 0, 0,
				       0, 0xaf, 0x00, 0x11, 0x90, 0, 0, 0, 15};
	struct eflv_buf b = {0};

	assert_int_equal(eflv_aac_tag(&b, 0, true, asc, sizeof(asc)), 0);
	assert_bytes(&b, want, sizeof(want));
	eflv_buf_reset(&b);
	assert_int_equal(eflv_aac_tag(&b, 21, false, asc, sizeof(asc)), 0);
	assert_int_equal(b.data[6], 21);
	assert_int_equal(b.data[12], 0x01);
	eflv_buf_free(&b);
}

/* An AMF0 property: u16 name length, name, then the value with its marker. */
static size_t amf_number(uint8_t *p, const char *name, const uint8_t be_double[8])
{
	size_t n = strlen(name);

	p[0] = 0;
	p[1] = (uint8_t)n;
	memcpy(p + 2, name, n);
	p[2 + n] = 0x00;
	memcpy(p + 3 + n, be_double, 8);
	return 11 + n;
}

static void test_metadata(void **state)
{
	struct eflv_metadata md = {.width = 1280,
				   .height = 720,
				   .framerate = 30,
				   .videodatarate_kbps = 2500,
				   .video_fourcc = EFLV_FOURCC_HVC1,
				   .encoder = "mpstream"};
	struct eflv_buf b = {0};
	uint8_t want[256];
	size_t p = 11;

	/* IEEE 754 doubles, big endian */
	memcpy(want + p, "\x02\x00\x0aonMetaData", 13);
	p += 13;
	memcpy(want + p, "\x08\x00\x00\x00\x06", 5); /* ECMA array of 6 */
	p += 5;
	p += amf_number(want + p, "width", (const uint8_t *)"\x40\x94\x00\x00\x00\x00\x00\x00");
	p += amf_number(want + p, "height", (const uint8_t *)"\x40\x86\x80\x00\x00\x00\x00\x00");
	p += amf_number(want + p, "videodatarate",
			(const uint8_t *)"\x40\xa3\x88\x00\x00\x00\x00\x00");
	p += amf_number(want + p, "framerate", (const uint8_t *)"\x40\x3e\x00\x00\x00\x00\x00\x00");
	/* 'hvc1' = 1752589105 */
	p += amf_number(want + p, "videocodecid",
			(const uint8_t *)"\x41\xda\x1d\x98\xcc\x40\x00\x00");
	memcpy(want + p,
	       "\x00\x07"
	       "encoder"
	       "\x02\x00\x08"
	       "mpstream",
	       20);
	p += 20;
	memcpy(want + p, "\x00\x00\x09", 3);
	p += 3;
	memcpy(want, "\x12\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 11);
	want[2] = (uint8_t)((p - 11) >> 8);
	want[3] = (uint8_t)(p - 11);
	want[p] = 0;
	want[p + 1] = 0;
	want[p + 2] = (uint8_t)(p >> 8);
	want[p + 3] = (uint8_t)p;
	p += 4;
	assert_int_equal(eflv_metadata_tag(&b, &md), 0);
	assert_bytes(&b, want, p);
	eflv_buf_free(&b);
}

static void test_metadata_audio(void **state)
{
	struct eflv_metadata md = {.width = 2,
				   .video_fourcc = EFLV_FOURCC_HVC1,
				   .has_audio = true,
				   .audiocodecid = 10,
				   .audiosamplerate = 48000,
				   .audiosamplesize = 16,
				   .stereo = true};
	struct eflv_buf b = {0};
	static const uint8_t stereo[] = {0, 6, 's', 't', 'e', 'r', 'e', 'o', 0x01, 0x01};

	assert_int_equal(eflv_metadata_tag(&b, &md), 0);
	/* width, videocodecid, audiosamplerate, audiosamplesize, stereo, audiocodecid */
	assert_memory_equal(b.data + 11 + 13, "\x08\x00\x00\x00\x06", 5);
	assert_non_null(memmem(b.data, b.len, stereo, sizeof(stereo)));
	assert_memory_equal(b.data + b.len - 7, "\x00\x00\x09", 3);
	eflv_buf_free(&b);
}

/* The tags a stream would carry, in order; test_round_trip reads them back. */
static void write_stream(struct eflv_buf *b, const uint8_t *au, size_t au_len)
{
	struct eflv_metadata md = {.width = 320, .height = 240, .video_fourcc = EFLV_FOURCC_HVC1};
	uint8_t ex[128];
	struct eflv_buf hvcc = {0};

	assert_int_equal(eflv_hvcc_from_annexb(ex, annexb_extradata(ex), 0, &hvcc, NULL), 0);
	assert_int_equal(eflv_file_header(b, false, true), 0);
	assert_int_equal(eflv_metadata_tag(b, &md), 0);
	assert_int_equal(eflv_hevc_sequence_start(b, 0, hvcc.data, hvcc.len), 0);
	assert_int_equal(eflv_hevc_frame(b, 0, 80, true, au, au_len), 0);
	assert_int_equal(eflv_hevc_frame(b, 40, -40, false, au, au_len), 0);
	assert_int_equal(eflv_hevc_frame(b, 0x1000000, 0, false, au, au_len), 0);
	assert_int_equal(eflv_hevc_sequence_end(b, 0x1000028), 0);
	eflv_buf_free(&hvcc);
}

/*
 * Read back as FFmpeg's rtmp_write() frames it: 13 bytes skipped, then tag
 * after tag, each body whole. Fed a byte at a time as well as all at once.
 */
static void test_round_trip(void **state)
{
	static const uint8_t au[] = {0, 0, 0, 4, 0x28, 0x01, 0xaf, 0x1d};
	static const struct {
		uint8_t type;
		uint32_t ts;
		int packet;
		int32_t cts;
	} want[] = {{18, 0, -1, 0},	  {9, 0, EFLV_PKT_SEQUENCE_START, 0},
		    {9, 0, 1, 80},	  {9, 40, 1, -40},
		    {9, 0x1000000, 3, 0}, {9, 0x1000028, EFLV_PKT_SEQUENCE_END, 0}};
	struct eflv_buf b = {0};
	size_t at = EFLV_FILE_HEADER_SIZE, used, k = 0, avail = at;

	write_stream(&b, au, sizeof(au));
	while (at < b.len) {
		struct eflv_tag_view t;
		struct eflv_video v;
		int ret = eflv_read_tag(b.data + at, avail - at, &t, &used);

		if (ret == -EAGAIN) {
			assert_true(avail < b.len);
			avail++;
			continue;
		}
		assert_int_equal(ret, 0);
		assert_true(k < ARRAY_LEN(want));
		assert_int_equal(t.type, want[k].type);
		assert_int_equal(t.ts_ms, want[k].ts);
		if (t.type == EFLV_TAG_VIDEO) {
			assert_int_equal(eflv_parse_video(t.body, t.len, &v), 0);
			assert_int_equal(v.packet, want[k].packet);
			assert_int_equal(v.fourcc, EFLV_FOURCC_HVC1);
			assert_int_equal(v.cts_ms, want[k].cts);
			if (v.packet == EFLV_PKT_CODED_FRAMES ||
			    v.packet == EFLV_PKT_CODED_FRAMES_X) {
				assert_int_equal(v.len, sizeof(au));
				assert_memory_equal(v.data, au, sizeof(au));
			}
		}
		at += used;
		k++;
	}
	assert_int_equal(k, ARRAY_LEN(want));
	eflv_buf_free(&b);
}

static void test_read_errors(void **state)
{
	static const uint8_t avc[] = {0x17, 0x01, 0, 0, 0};
	uint8_t tag[] = {9, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0x92, 0, 0, 0, 12};
	struct eflv_tag_view t;
	struct eflv_video v;
	size_t used;

	assert_int_equal(eflv_read_tag(tag, sizeof(tag), &t, &used), 0);
	assert_int_equal(used, sizeof(tag));
	assert_int_equal(eflv_read_tag(tag, sizeof(tag) - 1, &t, &used), -EAGAIN);
	tag[15] = 13; /* PreviousTagSize wrong */
	assert_int_equal(eflv_read_tag(tag, sizeof(tag), &t, &used), -EINVAL);
	tag[0] = 0x29; /* reserved bits */
	assert_int_equal(eflv_read_tag(tag, sizeof(tag), &t, &used), -EINVAL);
	assert_int_equal(eflv_parse_video(avc, sizeof(avc), &v), -ENOTSUP);
	assert_int_equal(eflv_parse_video(tag + 11, 1, &v), -EINVAL);
	assert_int_equal(eflv_parse_video((const uint8_t *)"\x91hvc1\xff", 6, &v), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_header),
		cmocka_unit_test(test_tag_layout),
		cmocka_unit_test(test_tag_too_big),
		cmocka_unit_test(test_sps_main),
		cmocka_unit_test(test_sps_rext),
		cmocka_unit_test(test_sps_truncated),
		cmocka_unit_test(test_sps_emulation_prevention),
		cmocka_unit_test(test_hvcc_matches_ffmpeg),
		cmocka_unit_test(test_hvcc_fields),
		cmocka_unit_test(test_hvcc_missing_set),
		cmocka_unit_test(test_hvcc_from_annexb),
		cmocka_unit_test(test_annexb_split),
		cmocka_unit_test(test_cra_to_bla),
		cmocka_unit_test(test_annexb_to_lp),
		cmocka_unit_test(test_sequence_start_tag),
		cmocka_unit_test(test_coded_frames),
		cmocka_unit_test(test_sequence_end_and_errors),
		cmocka_unit_test(test_aac_tag),
		cmocka_unit_test(test_metadata),
		cmocka_unit_test(test_metadata_audio),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_read_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
