// SPDX-License-Identifier: MIT
/*
 * The slate that stands in for a lost input: the last picture darkened (or
 * an image of the operator's), with "SIGNAL LOST" and how long, drawn with a
 * 5x7 pixel font of the few characters it needs. Viewers see that the
 * broadcast is alive and waiting, rather than a frozen or a black picture.
 */
#include "live.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libswscale/swscale.h>
#include <string.h>

#define GLYPH_W 5
#define GLYPH_H 7
#define INK	235 /* white, in limited-range luma */
#define SHADOW	16

static const struct glyph {
	char c;
	uint8_t rows[GLYPH_H]; /* bit 4 is the leftmost pixel */
} font[] = {
	{' ', {0, 0, 0, 0, 0, 0, 0}},
	{':', {0x00, 0x0c, 0x0c, 0x00, 0x0c, 0x0c, 0x00}},
	{'0', {0x0e, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0e}},
	{'1', {0x04, 0x0c, 0x04, 0x04, 0x04, 0x04, 0x0e}},
	{'2', {0x0e, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1f}},
	{'3', {0x1e, 0x01, 0x01, 0x0e, 0x01, 0x01, 0x1e}},
	{'4', {0x02, 0x06, 0x0a, 0x12, 0x1f, 0x02, 0x02}},
	{'5', {0x1f, 0x10, 0x1e, 0x01, 0x01, 0x11, 0x0e}},
	{'6', {0x06, 0x08, 0x10, 0x1e, 0x11, 0x11, 0x0e}},
	{'7', {0x1f, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08}},
	{'8', {0x0e, 0x11, 0x11, 0x0e, 0x11, 0x11, 0x0e}},
	{'9', {0x0e, 0x11, 0x11, 0x0f, 0x01, 0x02, 0x0c}},
	{'A', {0x0e, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11}},
	{'G', {0x0e, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0f}},
	{'I', {0x0e, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0e}},
	{'L', {0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1f}},
	{'N', {0x11, 0x19, 0x15, 0x13, 0x11, 0x11, 0x11}},
	{'O', {0x0e, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e}},
	{'S', {0x0f, 0x10, 0x10, 0x0e, 0x01, 0x01, 0x1e}},
	{'T', {0x1f, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04}},
};

static const uint8_t *glyph_rows(char c)
{
	for (size_t i = 0; i < sizeof(font) / sizeof(font[0]); i++)
		if (font[i].c == c)
			return font[i].rows;
	return font[0].rows;
}

static void fill_block(AVFrame *f, int x, int y, int size, uint8_t v)
{
	for (int r = y; r < y + size && r < f->height; r++)
		if (r >= 0 && x >= 0 && x + size <= f->width)
			memset(f->data[0] + (ptrdiff_t)r * f->linesize[0] + x, v, (size_t)size);
}

/* @text in white with a dark shadow, centred on row @cy, each font pixel @px square. */
static void draw_text(AVFrame *f, const char *text, int cy, int px)
{
	int n = (int)strlen(text), advance = (GLYPH_W + 1) * px;
	int x0 = (f->width - n * advance + px) / 2, y0 = cy - GLYPH_H * px / 2;

	for (int pass = 0; pass < 2; pass++) {
		int off = pass ? 0 : px / 3 + 1; /* the shadow first, then the ink */

		for (int i = 0; i < n; i++) {
			const uint8_t *rows = glyph_rows(text[i]);

			for (int r = 0; r < GLYPH_H; r++)
				for (int col = 0; col < GLYPH_W; col++)
					if (rows[r] & (0x10 >> col))
						fill_block(f, x0 + i * advance + col * px + off,
							   y0 + r * px + off, px,
							   pass ? INK : SHADOW);
		}
	}
}

/* A quarter of the brightness, and most of the colour gone. */
static void darken(AVFrame *f)
{
	for (int p = 0; p < 3; p++) {
		int w = p ? (f->width + 1) / 2 : f->width, h = p ? (f->height + 1) / 2 : f->height;

		for (int y = 0; y < h; y++) {
			uint8_t *row = f->data[p] + (ptrdiff_t)y * f->linesize[p];

			for (int x = 0; x < w; x++)
				row[x] = p ? (uint8_t)(128 + (row[x] - 128) / 4)
					   : (uint8_t)(16 + (row[x] > 16 ? row[x] - 16 : 0) / 4);
		}
	}
}

static void fill_grey(AVFrame *f)
{
	for (int p = 0; p < 3; p++) {
		int w = p ? (f->width + 1) / 2 : f->width, h = p ? (f->height + 1) / 2 : f->height;

		for (int y = 0; y < h; y++)
			memset(f->data[p] + (ptrdiff_t)y * f->linesize[p], p ? 128 : 32, (size_t)w);
	}
}

int enc_slate_draw(AVFrame *dst, const AVFrame *image, const AVFrame *last, int64_t seconds)
{
	int px = dst->height / 60 > 1 ? dst->height / 60 : 1;
	char clock[32];
	int ret = av_frame_make_writable(dst);

	if (ret < 0)
		return ret;
	if (image || last) {
		if ((ret = av_frame_copy(dst, image ? image : last)) < 0)
			return ret;
		if (!image)
			darken(dst);
	} else {
		fill_grey(dst);
	}
	snprintf(clock, sizeof(clock), "%lld:%02lld", (long long)(seconds / 60),
		 (long long)(seconds % 60));
	draw_text(dst, "SIGNAL LOST", dst->height / 2 - GLYPH_H * px, px);
	draw_text(dst, clock, dst->height / 2 + GLYPH_H * px, px);
	return 0;
}

/* The first picture of @ic's stream @idx, decoded into @out. */
static int decode_first(AVFormatContext *ic, int idx, AVFrame *out)
{
	AVPacket *pkt = av_packet_alloc();
	AVCodecContext *d = NULL;
	int ret = pkt ? enc_open_decoder(ic->streams[idx], false, &d) : AVERROR(ENOMEM);

	while (ret >= 0) {
		ret = avcodec_receive_frame(d, out);
		if (ret != AVERROR(EAGAIN))
			break;
		ret = av_read_frame(ic, pkt);
		if (ret < 0) {
			ret = avcodec_send_packet(d, NULL); /* the end: what the decoder holds */
			continue;
		}
		ret = pkt->stream_index == idx ? avcodec_send_packet(d, pkt) : 0;
		av_packet_unref(pkt);
		if (ret == AVERROR_INVALIDDATA)
			ret = 0;
	}
	av_packet_free(&pkt);
	avcodec_free_context(&d);
	return ret;
}

int enc_slate_load(const char *path, int width, int height, AVFrame **out)
{
	AVFormatContext *ic = NULL;
	AVFrame *dec = av_frame_alloc(), *f = enc_video_frame_alloc(width, height);
	struct SwsContext *sws = NULL;
	int idx, ret = AVERROR(ENOMEM);

	if (!dec || !f)
		goto out;
	if ((ret = avformat_open_input(&ic, path, NULL, NULL)) < 0 ||
	    (ret = avformat_find_stream_info(ic, NULL)) < 0 ||
	    (ret = idx = av_find_best_stream(ic, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0)) < 0 ||
	    (ret = decode_first(ic, idx, dec)) < 0)
		goto out;
	sws = sws_getContext(dec->width, dec->height, dec->format, width, height,
			     AV_PIX_FMT_YUV420P, SWS_BICUBIC, NULL, NULL, NULL);
	ret = sws ? sws_scale(sws, (const uint8_t *const *)dec->data, dec->linesize, 0, dec->height,
			      f->data, f->linesize)
		  : AVERROR(EINVAL);
	if (ret < 0)
		goto out;
	*out = f;
	f = NULL;
	ret = 0;
out:
	sws_freeContext(sws);
	avformat_close_input(&ic);
	av_frame_free(&dec);
	av_frame_free(&f);
	return ret;
}
