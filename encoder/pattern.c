// SPDX-License-Identifier: MIT
/*
 * The built-in test pattern: colour bars, a box that moves one step per frame
 * (so a frozen or skipped frame is visible) and the frame number in large
 * digits; and a 1 kHz tone. Drawn straight into yuv420p so that generating a
 * frame costs far less than encoding it.
 */
#include "encoder.h"
#include "source.h"

#include <math.h>
#include <string.h>

#define TONE_HZ	       1000.0
#define TONE_AMPLITUDE 0.25

/* 5x7 digits, one byte per row, bit 4 = leftmost column. */
static const uint8_t digit_font[10][7] = {
	{0x0e, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0e}, {0x04, 0x0c, 0x04, 0x04, 0x04, 0x04, 0x0e},
	{0x0e, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1f}, {0x1f, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0e},
	{0x02, 0x06, 0x0a, 0x12, 0x1f, 0x02, 0x02}, {0x1f, 0x10, 0x1e, 0x01, 0x01, 0x11, 0x0e},
	{0x06, 0x08, 0x10, 0x1e, 0x11, 0x11, 0x0e}, {0x1f, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08},
	{0x0e, 0x11, 0x11, 0x0e, 0x11, 0x11, 0x0e}, {0x0e, 0x11, 0x11, 0x0f, 0x01, 0x02, 0x0c},
};

/* 75 % colour bars in BT.601 limited range: white, yellow, cyan, green, magenta, red, blue, black. */
static const uint8_t bars_yuv[8][3] = {
	{180, 128, 128}, {162, 44, 142}, {131, 156, 44}, {112, 72, 58},
	{84, 184, 198},	 {65, 100, 212}, {35, 212, 114}, {16, 128, 128},
};

/* Fill a rectangle in luma coordinates (even-aligned for chroma). */
static void fill_rect(AVFrame *f, int x, int y, int w, int h, const uint8_t yuv[3])
{
	if (x < 0) {
		w += x;
		x = 0;
	}
	if (y < 0) {
		h += y;
		y = 0;
	}
	if (x + w > f->width)
		w = f->width - x;
	if (y + h > f->height)
		h = f->height - y;
	if (w <= 0 || h <= 0)
		return;
	for (int r = y; r < y + h; r++)
		memset(f->data[0] + (ptrdiff_t)r * f->linesize[0] + x, yuv[0], (size_t)w);
	for (int r = y / 2; r < (y + h + 1) / 2; r++) {
		memset(f->data[1] + (ptrdiff_t)r * f->linesize[1] + x / 2, yuv[1],
		       (size_t)(w + 1) / 2);
		memset(f->data[2] + (ptrdiff_t)r * f->linesize[2] + x / 2, yuv[2],
		       (size_t)(w + 1) / 2);
	}
}

static void draw_number(AVFrame *f, int64_t n, int x, int y, int scale)
{
	static const uint8_t white[3] = {235, 128, 128}, black[3] = {16, 128, 128};
	char digits[24];
	int len = 0;

	do {
		digits[len++] = (char)(n % 10);
		n /= 10;
	} while (n && len < (int)sizeof(digits));

	fill_rect(f, x - scale, y - scale, (len * 6 + 1) * scale, 9 * scale, black);
	for (int i = 0; i < len; i++) {
		const uint8_t *glyph = digit_font[(int)digits[len - 1 - i]];

		for (int row = 0; row < 7; row++)
			for (int col = 0; col < 5; col++)
				if (glyph[row] & (0x10 >> col))
					fill_rect(f, x + (i * 6 + col) * scale, y + row * scale,
						  scale, scale, white);
	}
}

/*
 * Fresh noise in a band, every frame: x264 cannot predict it, so the stream
 * really runs at the configured bit rate (bars alone compress to almost
 * nothing). xorshift32 seeded by the frame number: the same frame number
 * always draws the same picture.
 */
static void fill_noise(AVFrame *f, int y, int h, int64_t frame_no)
{
	uint32_t state = (uint32_t)(frame_no * 2654435761u) | 1u;

	for (int r = y; r < y + h && r < f->height; r++) {
		uint8_t *row = f->data[0] + (ptrdiff_t)r * f->linesize[0];

		for (int x = 0; x + 4 <= f->width; x += 4) {
			uint32_t v;

			state ^= state << 13;
			state ^= state >> 17;
			state ^= state << 5;
			/* Luma 64..191: visible texture, far from clipping. */
			v = (state & 0x7f7f7f7fu) + 0x40404040u;
			memcpy(row + x, &v, 4);
		}
	}
}

void enc_pattern_draw(AVFrame *f, int64_t frame_no)
{
	static const uint8_t grey[3] = {128, 128, 128}, box[3] = {235, 128, 128};
	int bar_w = (f->width + 7) / 8;
	int bars_h = f->height * 2 / 3;
	int box_size = f->height / 6;
	int travel = f->width - box_size;
	int64_t step = frame_no * 8 % (2 * (travel > 0 ? travel : 1));
	int box_x = (int)(step < travel ? step : 2 * travel - step);
	int scale = f->height / 40 > 1 ? f->height / 40 : 1;

	for (int i = 0; i < 8; i++)
		fill_rect(f, i * bar_w, 0, bar_w, bars_h, bars_yuv[i]);
	fill_rect(f, 0, bars_h, f->width, f->height - bars_h, grey);
	fill_noise(f, bars_h, (f->height - bars_h) / 4, frame_no);
	fill_rect(f, box_x & ~1, bars_h + (f->height - bars_h - box_size) / 2, box_size, box_size,
		  box);
	/* Below the stamp band that session.c writes when the frame is due. */
	draw_number(f, frame_no, 2 * scale, ENC_STAMP_HEIGHT(f->height) + 2 * scale, scale);
}

void enc_tone_fill(AVFrame *f, int64_t first_sample)
{
	for (int i = 0; i < f->nb_samples; i++) {
		int64_t k = (first_sample + i) % ENC_AUDIO_RATE;
		float v = (float)(TONE_AMPLITUDE *
				  sin(2.0 * M_PI * TONE_HZ * (double)k / ENC_AUDIO_RATE));

		for (int ch = 0; ch < f->ch_layout.nb_channels; ch++)
			((float *)f->data[ch])[i] = v;
	}
}
