// SPDX-License-Identifier: MIT
/*
 * FLV tags, the Enhanced RTMP video tag bodies and onMetaData: byte layouts
 * of FLV 10.1 (Annex E) and Veovera's enhanced-rtmp-v1 (Table 4).
 */
#include "eflv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define FLV_VERSION	 1
#define FLV_HAS_AUDIO	 0x04
#define FLV_HAS_VIDEO	 0x01
#define FLV_HEADER_BYTES 9

/* SoundFormat 10 (AAC) << 4 | 44 kHz (3) << 2 | 16-bit << 1 | stereo: FLV's fixed AAC header. */
#define FLV_AAC_HEADER 0xaf

#define AMF0_NUMBER	0x00
#define AMF0_BOOLEAN	0x01
#define AMF0_STRING	0x02
#define AMF0_ECMA_ARRAY 0x08
#define AMF0_END	0x09

void eflv_buf_free(struct eflv_buf *b)
{
	if (!b)
		return;
	free(b->data);
	*b = (struct eflv_buf){0};
}

void eflv_buf_reset(struct eflv_buf *b)
{
	b->len = 0;
}

static int reserve(struct eflv_buf *b, size_t more)
{
	size_t cap = b->cap ? b->cap : 256;
	uint8_t *p;

	if (more > SIZE_MAX / 2 - b->len)
		return -ENOMEM;
	if (b->len + more <= b->cap)
		return 0;
	while (cap < b->len + more)
		cap *= 2;
	p = realloc(b->data, cap);
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

int eflv_put(struct eflv_buf *out, const void *p, size_t len)
{
	int ret = reserve(out, len);

	if (ret)
		return ret;
	if (len)
		memcpy(out->data + out->len, p, len);
	out->len += len;
	return 0;
}

int eflv_extend(struct eflv_buf *out, size_t len, uint8_t **at)
{
	int ret = reserve(out, len);

	if (ret)
		return ret;
	*at = out->data + out->len;
	out->len += len;
	return 0;
}

static int put_u8(struct eflv_buf *out, uint8_t v)
{
	return eflv_put(out, &v, 1);
}

static int put_be(struct eflv_buf *out, uint64_t v, int bytes)
{
	uint8_t b[8];

	for (int i = 0; i < bytes; i++)
		b[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
	return eflv_put(out, b, (size_t)bytes);
}

static void set_be24(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 16);
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)v;
}

int eflv_file_header(struct eflv_buf *out, bool has_audio, bool has_video)
{
	uint8_t h[EFLV_FILE_HEADER_SIZE] = {'F', 'L', 'V', FLV_VERSION,	    0,
					    0,	 0,   0,   FLV_HEADER_BYTES};

	h[4] = (uint8_t)((has_audio ? FLV_HAS_AUDIO : 0) | (has_video ? FLV_HAS_VIDEO : 0));
	/* h[9..12]: PreviousTagSize0, always 0 */
	return eflv_put(out, h, sizeof(h));
}

int eflv_tag_begin(struct eflv_buf *out, enum eflv_tag_type type, uint32_t ts_ms, size_t *mark)
{
	uint8_t h[EFLV_TAG_HEADER_SIZE] = {(uint8_t)type};

	/* h[1..3] DataSize, set at the end; the timestamp's lower 24 bits, then its upper 8 */
	set_be24(h + 4, ts_ms & 0xffffff);
	h[7] = (uint8_t)(ts_ms >> 24);
	/* h[8..10]: StreamID, always 0 */
	*mark = out->len;
	return eflv_put(out, h, sizeof(h));
}

int eflv_tag_end(struct eflv_buf *out, size_t mark)
{
	size_t size = out->len - mark - EFLV_TAG_HEADER_SIZE;

	if (size > EFLV_MAX_DATA_SIZE) {
		out->len = mark;
		return -EMSGSIZE;
	}
	set_be24(out->data + mark + 1, (uint32_t)size);
	return put_be(out, EFLV_TAG_HEADER_SIZE + size, 4);
}

/* A tag whose body is a few header bytes, then data; nothing is left of it on failure. */
static int tag_with_head(struct eflv_buf *out, enum eflv_tag_type type, uint32_t ts_ms,
			 const uint8_t *head, size_t head_len, const uint8_t *data, size_t len)
{
	size_t mark;
	int ret;

	if (len > EFLV_MAX_DATA_SIZE - head_len)
		return -EMSGSIZE;
	ret = eflv_tag_begin(out, type, ts_ms, &mark);
	if (!ret)
		ret = eflv_put(out, head, head_len);
	if (!ret)
		ret = eflv_put(out, data, len);
	if (!ret)
		ret = eflv_tag_end(out, mark);
	if (ret)
		out->len = mark;
	return ret;
}

int eflv_tag(struct eflv_buf *out, enum eflv_tag_type type, uint32_t ts_ms, const uint8_t *body,
	     size_t len)
{
	return tag_with_head(out, type, ts_ms, NULL, 0, body, len);
}

static int check_video(const struct eflv_video *v)
{
	if ((unsigned)v->frame > 7)
		return -EINVAL;
	switch (v->packet) {
	case EFLV_PKT_SEQUENCE_START:
	case EFLV_PKT_MPEG2TS_SEQUENCE_START:
	case EFLV_PKT_METADATA:
		return 0;
	case EFLV_PKT_CODED_FRAMES:
		return v->cts_ms < EFLV_CTS_MIN || v->cts_ms > EFLV_CTS_MAX ? -ERANGE : 0;
	case EFLV_PKT_CODED_FRAMES_X:
		return v->cts_ms ? -EINVAL : 0;
	case EFLV_PKT_SEQUENCE_END:
		return v->len ? -EINVAL : 0;
	}
	return -EINVAL;
}

int eflv_video_tag(struct eflv_buf *out, const struct eflv_video *v)
{
	uint8_t head[8] = {
		(uint8_t)(EFLV_EX_HEADER | (unsigned)v->frame << 4 | (unsigned)v->packet),
		(uint8_t)(v->fourcc >> 24), (uint8_t)(v->fourcc >> 16), (uint8_t)(v->fourcc >> 8),
		(uint8_t)v->fourcc};
	size_t head_len = 5;
	int ret = check_video(v);

	if (ret)
		return ret;
	if (v->packet == EFLV_PKT_CODED_FRAMES) {
		/* SI24, two's complement: the low 24 bits of the offset */
		set_be24(head + head_len, (uint32_t)v->cts_ms & 0xffffff);
		head_len += 3;
	}
	return tag_with_head(out, EFLV_TAG_VIDEO, v->ts_ms, head, head_len, v->data, v->len);
}

int eflv_hevc_sequence_start(struct eflv_buf *out, uint32_t ts_ms, const uint8_t *hvcc, size_t len)
{
	struct eflv_video v = {.ts_ms = ts_ms,
			       .frame = EFLV_FRAME_KEY,
			       .packet = EFLV_PKT_SEQUENCE_START,
			       .fourcc = EFLV_FOURCC_HVC1,
			       .data = hvcc,
			       .len = len};

	return eflv_video_tag(out, &v);
}

int eflv_hevc_frame(struct eflv_buf *out, uint32_t ts_ms, int32_t cts_ms, bool key,
		    const uint8_t *data, size_t len)
{
	struct eflv_video v = {.ts_ms = ts_ms,
			       .frame = key ? EFLV_FRAME_KEY : EFLV_FRAME_INTER,
			       .packet = cts_ms ? EFLV_PKT_CODED_FRAMES : EFLV_PKT_CODED_FRAMES_X,
			       .fourcc = EFLV_FOURCC_HVC1,
			       .cts_ms = cts_ms,
			       .data = data,
			       .len = len};

	return eflv_video_tag(out, &v);
}

int eflv_hevc_sequence_end(struct eflv_buf *out, uint32_t ts_ms)
{
	struct eflv_video v = {.ts_ms = ts_ms,
			       .frame = EFLV_FRAME_KEY,
			       .packet = EFLV_PKT_SEQUENCE_END,
			       .fourcc = EFLV_FOURCC_HVC1};

	return eflv_video_tag(out, &v);
}

int eflv_aac_tag(struct eflv_buf *out, uint32_t ts_ms, bool config, const uint8_t *data, size_t len)
{
	const uint8_t head[] = {FLV_AAC_HEADER, config ? 0 : 1}; /* AACPacketType */

	return tag_with_head(out, EFLV_TAG_AUDIO, ts_ms, head, sizeof(head), data, len);
}

/* An AMF0 string without its type marker (a property name), or with it. */
static int amf_str(struct eflv_buf *out, const char *s, bool marker)
{
	size_t len = strlen(s);
	int ret = 0;

	if (len > UINT16_MAX)
		return -ERANGE;
	if (marker)
		ret = put_u8(out, AMF0_STRING);
	if (!ret)
		ret = put_be(out, len, 2);
	return ret ? ret : eflv_put(out, s, len);
}

static int amf_num(struct eflv_buf *out, const char *name, double v, unsigned *count)
{
	uint64_t bits;
	int ret = amf_str(out, name, false);

	memcpy(&bits, &v, sizeof(bits));
	if (!ret)
		ret = put_u8(out, AMF0_NUMBER);
	if (!ret)
		ret = put_be(out, bits, 8);
	++*count;
	return ret;
}

static int amf_bool(struct eflv_buf *out, const char *name, bool v, unsigned *count)
{
	int ret = amf_str(out, name, false);

	if (!ret)
		ret = put_u8(out, AMF0_BOOLEAN);
	if (!ret)
		ret = put_u8(out, v);
	++*count;
	return ret;
}

/* The ECMA array's properties, in FFmpeg's flvenc order; returns how many in *count. */
static int metadata_props(struct eflv_buf *out, const struct eflv_metadata *md, unsigned *count)
{
	int ret = 0;

#define NUM(cond, name, v)  \
	if (!ret && (cond)) \
	ret = amf_num(out, name, (double)(v), count)
	NUM(md->width, "width", md->width);
	NUM(md->height, "height", md->height);
	NUM(md->videodatarate_kbps > 0, "videodatarate", md->videodatarate_kbps);
	NUM(md->framerate > 0, "framerate", md->framerate);
	NUM(md->video_fourcc, "videocodecid", md->video_fourcc);
	if (md->has_audio) {
		NUM(md->audiodatarate_kbps > 0, "audiodatarate", md->audiodatarate_kbps);
		NUM(md->audiosamplerate, "audiosamplerate", md->audiosamplerate);
		NUM(md->audiosamplesize, "audiosamplesize", md->audiosamplesize);
		if (!ret)
			ret = amf_bool(out, "stereo", md->stereo, count);
		NUM(true, "audiocodecid", md->audiocodecid);
	}
#undef NUM
	if (!ret && md->encoder) {
		ret = amf_str(out, "encoder", false);
		if (!ret)
			ret = amf_str(out, md->encoder, true);
		++*count;
	}
	return ret;
}

int eflv_metadata_tag(struct eflv_buf *out, const struct eflv_metadata *md)
{
	size_t mark, count_at;
	unsigned count = 0;
	int ret = eflv_tag_begin(out, EFLV_TAG_SCRIPT, 0, &mark);

	if (!ret)
		ret = amf_str(out, "onMetaData", true);
	if (!ret)
		ret = put_u8(out, AMF0_ECMA_ARRAY);
	count_at = out->len;
	if (!ret)
		ret = put_be(out, 0, 4);
	if (!ret)
		ret = metadata_props(out, md, &count);
	if (!ret) {
		/* the count of properties, then the object end marker (an empty name and 0x09) */
		for (int i = 0; i < 4; i++)
			out->data[count_at + i] = (uint8_t)(count >> (8 * (3 - i)));
		ret = put_be(out, AMF0_END, 3);
	}
	if (!ret)
		ret = eflv_tag_end(out, mark);
	if (ret)
		out->len = mark;
	return ret;
}
