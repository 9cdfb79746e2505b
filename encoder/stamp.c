// SPDX-License-Identifier: MIT
/*
 * The stamp is 96 blocks (2 rows of 48): 88 data bits, MSB first, then
 * padding. Reading takes the mean luma of the middle of each block, so that
 * the ringing x264 leaves at block edges does not matter.
 */
#include "encoder.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#define STAMP_MAGIC 0xa5
#define STAMP_BITS  88
#define LUMA_BLACK  16
#define LUMA_WHITE  235

/* CRC-8, polynomial 0x07, over @n bytes. */
static uint8_t crc8(const uint8_t *p, size_t n)
{
	uint8_t crc = 0;

	while (n--) {
		crc ^= *p++;
		for (int i = 0; i < 8; i++)
			crc = (uint8_t)(crc & 0x80 ? (crc << 1) ^ 0x07 : crc << 1);
	}
	return crc;
}

static void pack(const struct enc_stamp *st, uint8_t bytes[11])
{
	uint64_t t = st->time_ms & 0xffffffffffffull;

	bytes[0] = STAMP_MAGIC;
	bytes[1] = (uint8_t)(st->frame >> 16);
	bytes[2] = (uint8_t)(st->frame >> 8);
	bytes[3] = (uint8_t)st->frame;
	for (int i = 0; i < 6; i++)
		bytes[4 + i] = (uint8_t)(t >> (40 - 8 * i));
	bytes[10] = crc8(bytes, 10);
}

/* Block @i's rectangle. */
static void block(int i, int width, int height, int *x, int *y, int *w, int *h)
{
	int band = ENC_STAMP_HEIGHT(height);

	*w = width / ENC_STAMP_COLS;
	*h = band / 2;
	*x = (i % ENC_STAMP_COLS) * *w;
	*y = (i / ENC_STAMP_COLS) * *h;
}

void enc_stamp_write(uint8_t *luma, int linesize, int width, int height, const struct enc_stamp *st)
{
	uint8_t bytes[11];

	pack(st, bytes);
	for (int i = 0; i < 2 * ENC_STAMP_COLS; i++) {
		int bit = i < STAMP_BITS ? (bytes[i / 8] >> (7 - i % 8)) & 1 : 0;
		int x, y, w, h;

		block(i, width, height, &x, &y, &w, &h);
		for (int r = y; r < y + h; r++)
			memset(luma + (ptrdiff_t)r * linesize + x, bit ? LUMA_WHITE : LUMA_BLACK,
			       (size_t)w);
	}
}

int enc_stamp_read(const uint8_t *luma, int linesize, int width, int height, struct enc_stamp *st)
{
	uint8_t bytes[11] = {0};

	if (width < ENC_STAMP_COLS * 2 || height < 16)
		return -EBADMSG;
	for (int i = 0; i < STAMP_BITS; i++) {
		int x, y, w, h, sum = 0, n = 0;

		block(i, width, height, &x, &y, &w, &h);
		for (int r = y + h / 4; r < y + h - h / 4; r++)
			for (int c = x + w / 4; c < x + w - w / 4; c++, n++)
				sum += luma[(ptrdiff_t)r * linesize + c];
		if (n && sum / n > (LUMA_BLACK + LUMA_WHITE) / 2)
			bytes[i / 8] |= (uint8_t)(0x80 >> (i % 8));
	}
	if (bytes[0] != STAMP_MAGIC || crc8(bytes, 10) != bytes[10])
		return -EBADMSG;
	st->frame = (uint32_t)bytes[1] << 16 | (uint32_t)bytes[2] << 8 | bytes[3];
	st->time_ms = 0;
	for (int i = 0; i < 6; i++)
		st->time_ms = st->time_ms << 8 | bytes[4 + i];
	return 0;
}
