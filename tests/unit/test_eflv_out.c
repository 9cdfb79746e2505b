// SPDX-License-Identifier: MIT
/*
 * The HEVC output (encoder/eflv_out.c) into a memory AVIOContext: the bytes
 * of each tag against the layouts of FLV 10.1 Annex E and Veovera's
 * enhanced-rtmp-v1 written out by hand, the interleaving by decoding time,
 * a new SequenceStart for new parameter sets, and, end to end, libx265's
 * stream through the writer and back with eflv_read_tag() into libavcodec's
 * HEVC decoder.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <libavcodec/avcodec.h>
#include <libavutil/channel_layout.h>
#include <string.h>

#include "eflv.h"
#include "eflv_fixtures.h"
#include "eflv_out.h"

#define MS ((AVRational){1, 1000})

/* The parameter sets as libx265's global header has them: Annex B, 4-byte start codes. */
static void annexb_extradata(AVCodecParameters *par, const uint8_t *vps, size_t nv,
			     const uint8_t *sps, size_t ns, const uint8_t *pps, size_t np)
{
	const uint8_t *sets[] = {vps, sps, pps};
	size_t lens[] = {nv, ns, np}, at = 0;

	par->extradata_size = (int)(12 + nv + ns + np);
	par->extradata = av_mallocz((size_t)par->extradata_size + AV_INPUT_BUFFER_PADDING_SIZE);
	assert_non_null(par->extradata);
	for (int i = 0; i < 3; i++) {
		memcpy(par->extradata + at, "\0\0\0\1", 4);
		memcpy(par->extradata + at + 4, sets[i], lens[i]);
		at += 4 + lens[i];
	}
}

struct fixture {
	AVCodecParameters *par[2];
	AVIOContext *pb;
	struct enc_eflv *w;
};

static void open_writer(struct fixture *f, bool audio)
{
	AVChannelLayout stereo = AV_CHANNEL_LAYOUT_STEREO;
	struct enc_eflv_streams st = {.tb = {MS, MS}, .fps = 30};

	memset(f, 0, sizeof(*f));
	f->par[0] = avcodec_parameters_alloc();
	f->par[0]->codec_type = AVMEDIA_TYPE_VIDEO;
	f->par[0]->codec_id = AV_CODEC_ID_HEVC;
	f->par[0]->width = 320;
	f->par[0]->height = 240;
	annexb_extradata(f->par[0], main_vps, sizeof(main_vps), main_sps, sizeof(main_sps),
			 main_pps, sizeof(main_pps));
	if (audio) {
		f->par[1] = avcodec_parameters_alloc();
		f->par[1]->codec_type = AVMEDIA_TYPE_AUDIO;
		f->par[1]->codec_id = AV_CODEC_ID_AAC;
		f->par[1]->sample_rate = 48000;
		f->par[1]->bit_rate = 128000;
		assert_int_equal(av_channel_layout_copy(&f->par[1]->ch_layout, &stereo), 0);
		f->par[1]->extradata = av_mallocz(2 + AV_INPUT_BUFFER_PADDING_SIZE);
		f->par[1]->extradata_size = 2;
		memcpy(f->par[1]->extradata, "\x11\x90", 2);
	}
	st.par[0] = f->par[0];
	st.par[1] = f->par[1];
	assert_int_equal(avio_open_dyn_buf(&f->pb), 0);
	assert_int_equal(enc_eflv_open(f->pb, &st, &f->w), 0);
}

/* Everything written so far (the caller frees it) and the writer freed. */
static size_t close_writer(struct fixture *f, uint8_t **out)
{
	int n;

	enc_eflv_free(f->w);
	n = avio_close_dyn_buf(f->pb, out);
	avcodec_parameters_free(&f->par[0]);
	avcodec_parameters_free(&f->par[1]);
	return (size_t)n;
}

static void write_packet(struct fixture *f, int kind, int64_t dts, int64_t pts, bool key,
			 const uint8_t *data, size_t len)
{
	AVPacket *pkt = av_packet_alloc();

	assert_int_equal(av_new_packet(pkt, (int)len), 0);
	memcpy(pkt->data, data, len);
	pkt->dts = dts;
	pkt->pts = pts;
	pkt->flags = key ? AV_PKT_FLAG_KEY : 0;
	assert_int_equal(enc_eflv_write(f->w, pkt, kind), 0);
	av_packet_free(&pkt);
}

/* The tags after the FLV header, read back; returns how many. */
static size_t read_tags(const uint8_t *p, size_t len, struct eflv_tag_view *t, size_t max)
{
	size_t n = 0, at = EFLV_FILE_HEADER_SIZE, used;

	while (at < len && n < max) {
		assert_int_equal(eflv_read_tag(p + at, len - at, &t[n], &used), 0);
		at += used;
		n++;
	}
	assert_int_equal(at, len);
	return n;
}

static bool contains(const uint8_t *p, size_t len, const void *what, size_t n)
{
	for (size_t i = 0; i + n <= len; i++)
		if (!memcmp(p + i, what, n))
			return true;
	return false;
}

/*
 * Two video packets and two audio ones, byte for byte: the header tags, then
 * by decoding time (video first on a tie), the inter frame with its
 * composition offset after the sound it waited for, the SequenceEnd last.
 */
static void test_layout(void **state)
{
	static const uint8_t idr[] = {0, 0, 0, 1, 0x26, 0x01, 0xaf, 0x09};
	static const uint8_t trail[] = {0, 0, 1, 0x02, 0x01, 0xd0};
	static const uint8_t flv_header[] = {'F', 'L', 'V', 1, 5, 0, 0, 0, 9, 0, 0, 0, 0};
	static const uint8_t aac_config[] = {8, 0,    0, 4,    0,    0, 0, 0, 0, 0,
					     0, 0xaf, 0, 0x11, 0x90, 0, 0, 0, 15};
	static const uint8_t v0[] = {9, 0, 0, 13,   0,	  0,	0,    0,
				     0, 0, 0, 0x93, 'h',  'v',	'c',  '1',  /* key, CodedFramesX */
				     0, 0, 0, 4,    0x26, 0x01, 0xaf, 0x09, /* one NAL */
				     0, 0, 0, 24};
	static const uint8_t a0[] = {8, 0,    0, 4,    0,    0, 0, 0, 0, 0,
				     0, 0xaf, 1, 0xaa, 0xbb, 0, 0, 0, 15};
	static const uint8_t a1[] = {8, 0, 0, 3, 0, 0, 21, 0, 0, 0, 0, 0xaf, 1, 0xcc, 0, 0, 0, 14};
	static const uint8_t v1[] = {9, 0, 0,  15,   0,	   0,	 33,   0,
				     0, 0, 0,  0xa1, 'h',  'v',	 'c',  '1', /* inter, CodedFrames */
				     0, 0, 33,			       /* composition offset, ms */
				     0, 0, 0,  3,    0x02, 0x01, 0xd0, /* one NAL */
				     0, 0, 0,  26};
	static const uint8_t end[] = {9, 0,    0,   5,	 0,   0,   33, 0, 0, 0,
				      0, 0x92, 'h', 'v', 'c', '1', 0,  0, 0, 16};
	/* onMetaData's videocodecid: AMF0 number 1752589105 ('hvc1'), big-endian double. */
	static const uint8_t codecid[] = {'v', 'i', 'd', 'e',  'o',  'c',  'o',	 'd',  'e', 'c',
					  'i', 'd', 0,	 0x41, 0xda, 0x1d, 0x98, 0xcc, 0x40};
	struct eflv_tag_view t[16];
	struct eflv_video v;
	struct fixture f;
	uint8_t *out;
	size_t len, n, at;

	(void)state;
	open_writer(&f, true);
	write_packet(&f, 0, 0, 0, true, idr, sizeof(idr));
	write_packet(&f, 0, 33, 66, false, trail, sizeof(trail));
	write_packet(&f, 1, 0, 0, true, (const uint8_t *)"\xaa\xbb", 2);
	write_packet(&f, 1, 21, 21, true, (const uint8_t *)"\xcc", 1);
	assert_int_equal(enc_eflv_finish(f.w), 0);
	len = close_writer(&f, &out);

	assert_memory_equal(out, flv_header, sizeof(flv_header));
	n = read_tags(out, len, t, 16);
	assert_int_equal(n, 8);
	assert_int_equal(t[0].type, EFLV_TAG_SCRIPT);
	assert_memory_equal(t[0].body, "\x02\x00\x0aonMetaData", 13);
	assert_true(contains(t[0].body, t[0].len, codecid, sizeof(codecid)));
	/* Each tag in turn: its header starts 11 bytes before its body. */
	at = (size_t)(t[1].body - out) - EFLV_TAG_HEADER_SIZE;
	assert_memory_equal(out + at, aac_config, sizeof(aac_config));
	assert_int_equal(t[2].type, EFLV_TAG_VIDEO);
	assert_int_equal(eflv_parse_video(t[2].body, t[2].len, &v), 0);
	assert_int_equal(v.packet, EFLV_PKT_SEQUENCE_START);
	assert_int_equal(v.frame, EFLV_FRAME_KEY);
	assert_int_equal(t[2].body[0], 0x90);
	assert_int_equal(v.len, sizeof(main_ffmpeg_hvcc));
	assert_memory_equal(v.data, main_ffmpeg_hvcc, sizeof(main_ffmpeg_hvcc));
	at = (size_t)(t[3].body - out) - EFLV_TAG_HEADER_SIZE;
	assert_memory_equal(out + at, v0, sizeof(v0));
	at += sizeof(v0);
	assert_memory_equal(out + at, a0, sizeof(a0));
	at += sizeof(a0);
	assert_memory_equal(out + at, a1, sizeof(a1));
	at += sizeof(a1);
	assert_memory_equal(out + at, v1, sizeof(v1));
	at += sizeof(v1);
	assert_memory_equal(out + at, end, sizeof(end));
	assert_int_equal(at + sizeof(end), len);
	av_free(out);
}

/*
 * Interleaving: a stream waits for the other, tags leave in decoding order
 * whatever the order they came in; with no audio, video goes at once.
 */
static void test_interleave(void **state)
{
	static const uint8_t frame[] = {0, 0, 0, 1, 0x02, 0x01, 0x55};
	struct eflv_tag_view t[64];
	struct fixture f;
	uint8_t *out;
	size_t len, n;
	int64_t last = -1;
	int64_t before;

	(void)state;
	open_writer(&f, true);
	/* Video runs half a second ahead of the sound, as an encoder's burst might. */
	for (int i = 0; i < 15; i++)
		write_packet(&f, 0, i * 33, i * 33, i == 0, frame, sizeof(frame));
	for (int i = 0; i < 24; i++)
		write_packet(&f, 1, i * 21, i * 21, true, (const uint8_t *)"\x01", 1);
	assert_int_equal(enc_eflv_finish(f.w), 0);
	len = close_writer(&f, &out);
	n = read_tags(out, len, t, 64);
	assert_int_equal(n, 3 + 15 + 24 + 1);
	for (size_t i = 3; i < n; i++) {
		assert_true((int64_t)t[i].ts_ms >= last);
		last = t[i].ts_ms;
	}
	av_free(out);

	/* Without sound, nothing waits. */
	open_writer(&f, false);
	before = avio_tell(f.pb);
	write_packet(&f, 0, 0, 0, true, frame, sizeof(frame));
	assert_int_equal(avio_tell(f.pb) - before, EFLV_TAG_OVERHEAD + 5 + 4 + 3);
	len = close_writer(&f, &out);
	av_free(out);
}

/*
 * Sound announced but never coming (a lost input's): video waits for it by
 * EFLV_OUT_MAX_WAIT_MS of its own timestamps at most, whatever the frame
 * rate, not by a count of tags; within the bound it still waits.
 */
static void test_interleave_no_audio(void **state)
{
	static const uint8_t frame[] = {0, 0, 0, 1, 0x02, 0x01, 0x55};
	const int64_t tag = EFLV_TAG_OVERHEAD + 5 + 4 + 3, step_ms[] = {33, 17, 100};
	struct fixture f;
	uint8_t *out;

	(void)state;
	for (size_t r = 0; r < sizeof(step_ms) / sizeof(step_ms[0]); r++) {
		int64_t before, written, newest;

		open_writer(&f, true);
		before = avio_tell(f.pb);
		for (int i = 0; i < 120; i++) {
			newest = i * step_ms[r];
			write_packet(&f, 0, newest, newest, i == 0, frame, sizeof(frame));
			written = (avio_tell(f.pb) - before) / tag;
			/* The oldest frame still held (number `written`) is within the bound. */
			assert_true(newest - written * step_ms[r] <= EFLV_OUT_MAX_WAIT_MS);
			if (newest <= EFLV_OUT_MAX_WAIT_MS)
				assert_int_equal(written, 0);
		}
		/* Sound that comes at last goes out in its place among the frames held. */
		before = avio_tell(f.pb);
		write_packet(&f, 1, newest - 10, newest - 10, true, (const uint8_t *)"\x01", 1);
		assert_true(avio_tell(f.pb) > before);
		close_writer(&f, &out);
		av_free(out);
	}
}

/* A keyframe's slice (IDR_W_RADL), Annex B. */
static const uint8_t idr[] = {0, 0, 0, 1, 0x26, 0x01, 0xaf};

/* Parameters whose extradata is the RExt sets of eflv_fixtures.h, Annex B. */
static AVCodecParameters *rext_params(void)
{
	AVCodecParameters *rext = avcodec_parameters_alloc();

	assert_non_null(rext);
	annexb_extradata(rext, rext_vps, sizeof(rext_vps), rext_sps, sizeof(rext_sps), rext_pps,
			 sizeof(rext_pps));
	return rext;
}

/* A keyframe at @dts: @inband's bytes then the slice, @side's extradata beside it. */
static void write_keyframe(struct fixture *f, int64_t dts, const uint8_t *inband, size_t n,
			   const AVCodecParameters *side)
{
	AVPacket *pkt = av_packet_alloc();
	uint8_t *x;

	assert_int_equal(av_new_packet(pkt, (int)(n + sizeof(idr))), 0);
	if (n) /* memcpy() from NULL, even of 0 bytes, is undefined (the sanitizer pass) */
		memcpy(pkt->data, inband, n);
	memcpy(pkt->data + n, idr, sizeof(idr));
	pkt->dts = pkt->pts = dts;
	pkt->flags = AV_PKT_FLAG_KEY;
	x = av_packet_new_side_data(pkt, AV_PKT_DATA_NEW_EXTRADATA, (size_t)side->extradata_size);
	assert_non_null(x);
	memcpy(x, side->extradata, (size_t)side->extradata_size);
	assert_int_equal(enc_eflv_write(f->w, pkt, 0), 0);
	av_packet_free(&pkt);
}

/* Whether tag @t is a SequenceStart at @ts_ms; @v gets it. */
static void assert_sequence_start(const struct eflv_tag_view *t, uint32_t ts_ms,
				  struct eflv_video *v)
{
	assert_int_equal(eflv_parse_video(t->body, t->len, v), 0);
	assert_int_equal(v->packet, EFLV_PKT_SEQUENCE_START);
	assert_int_equal(t->ts_ms, ts_ms);
}

/* A keyframe with other parameter sets as new extradata gets a SequenceStart; the same, none. */
static void test_new_extradata(void **state)
{
	AVCodecParameters *rext = rext_params();
	struct eflv_tag_view t[16];
	struct eflv_video v;
	struct fixture f;
	uint8_t *out;
	size_t len, n;

	(void)state;
	open_writer(&f, false);
	/* The first: the same sets as the header's; the second: others. */
	write_keyframe(&f, 1000, NULL, 0, f.par[0]);
	write_keyframe(&f, 2000, NULL, 0, rext);
	len = close_writer(&f, &out);
	n = read_tags(out, len, t, 16);
	assert_int_equal(n, 2 + 1 + 2); /* metadata, SequenceStart; frame; SequenceStart, frame */
	assert_sequence_start(&t[3], 2000, &v);
	assert_memory_equal(v.data, rext_ffmpeg_hvcc, sizeof(rext_ffmpeg_hvcc));
	assert_int_equal(eflv_parse_video(t[4].body, t[4].len, &v), 0);
	assert_int_equal(v.packet, EFLV_PKT_CODED_FRAMES_X);
	av_free(out);
	avcodec_parameters_free(&rext);
}

/*
 * A camera passed through that changes its settings on the same connection:
 * its keyframes carry the new parameter sets in Annex B, its extradata (read
 * when it connected) the old ones. The keyframe's own win: a SequenceStart
 * with them, once; a keyframe without any keeps them while its extradata is
 * the same; an extradata that changed (a switch to the slate) goes.
 */
static void test_inband_parameter_sets(void **state)
{
	AVCodecParameters *rext = rext_params();
	struct eflv_tag_view t[16];
	struct eflv_video v;
	struct fixture f;
	uint8_t *out;
	size_t len, n;

	(void)state;
	open_writer(&f, false);
	/* Two keyframes with the new sets in them, then one with none; the stale extradata beside each. */
	for (int i = 0; i < 3; i++)
		write_keyframe(&f, 1000 * (i + 1), rext->extradata,
			       i < 2 ? (size_t)rext->extradata_size : 0, f.par[0]);
	/* The extradata changes: to the sets in force (nothing new), then to the old ones. */
	write_keyframe(&f, 4000, NULL, 0, rext);
	write_keyframe(&f, 5000, NULL, 0, f.par[0]);
	len = close_writer(&f, &out);
	n = read_tags(out, len, t, 16);
	/* metadata, SequenceStart; SequenceStart (the new sets), frame; 3 frames; SequenceStart, frame */
	assert_int_equal(n, 2 + 2 + 3 + 2);
	assert_sequence_start(&t[2], 1000, &v);
	assert_memory_equal(v.data, rext_ffmpeg_hvcc, sizeof(rext_ffmpeg_hvcc));
	assert_int_equal(eflv_parse_video(t[3].body, t[3].len, &v), 0);
	assert_int_equal(v.packet, EFLV_PKT_CODED_FRAMES_X);
	/* The parameter sets are not sent again inside the frame: the slice alone, 4-byte length. */
	assert_int_equal(v.len, sizeof(idr));
	for (int i = 4; i < 7; i++) {
		assert_int_equal(eflv_parse_video(t[i].body, t[i].len, &v), 0);
		assert_int_equal(v.packet, EFLV_PKT_CODED_FRAMES_X);
	}
	assert_sequence_start(&t[7], 5000, &v);
	assert_memory_equal(v.data, main_ffmpeg_hvcc, sizeof(main_ffmpeg_hvcc));
	av_free(out);
	avcodec_parameters_free(&rext);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_interleave),
		cmocka_unit_test(test_interleave_no_audio),
		cmocka_unit_test(test_new_extradata),
		cmocka_unit_test(test_inband_parameter_sets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
