/* SPDX-License-Identifier: MIT */
/*
 * Enhanced FLV, written by mpstream itself: FFmpeg 5.1's FLV muxer cannot
 * carry HEVC ("Video codec hevc not compatible with flv"), and its rtmp://
 * protocol sends whatever FLV tags are written to it, one RTMP message per
 * tag (rtmpproto.c rtmp_write(): it skips the first 13 bytes, reads each
 * 11-byte tag header for type, size and timestamp, sends the body as it is,
 * skips the 4-byte PreviousTagSize). So the bytes built here are written to
 * the rtmp:// (or rtmps://) AVIOContext as they are.
 *
 * What is here is pure (no library, no I/O): the FLV file header and tags,
 * the Enhanced RTMP v1 video tag bodies for HEVC ('hvc1'; Veovera
 * enhanced-rtmp-v1, "Defining Additional Video Codecs"), AAC audio tags,
 * onMetaData in AMF0, the HEVCDecoderConfigurationRecord (ISO/IEC 14496-15
 * 8.3.3.1.2) built from the encoder's parameter sets, and Annex B access
 * units turned into 4-byte length-prefixed NAL units.
 *
 * Errors are negative errno: -EINVAL (malformed input), -ERANGE (a value the
 * format cannot carry), -EMSGSIZE (a tag over 16 MiB), -ENOMEM.
 */
#ifndef MPS_FLV_EFLV_H
#define MPS_FLV_EFLV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EFLV_WUR __attribute__((warn_unused_result))

/* A FourCC as the spec puts it on the wire: big endian of the four characters. */
#define EFLV_FOURCC(a, b, c, d)                                        \
	((uint32_t)(uint8_t)(a) << 24 | (uint32_t)(uint8_t)(b) << 16 | \
	 (uint32_t)(uint8_t)(c) << 8 | (uint32_t)(uint8_t)(d))
#define EFLV_FOURCC_HVC1 EFLV_FOURCC('h', 'v', 'c', '1')

/* FLV tag types (FLV 10.1, E.4.1). */
enum eflv_tag_type {
	EFLV_TAG_AUDIO = 8,
	EFLV_TAG_VIDEO = 9,
	EFLV_TAG_SCRIPT = 18,
};

/* Bytes of a tag besides its body: the 11-byte header and the PreviousTagSize. */
#define EFLV_TAG_HEADER_SIZE 11
#define EFLV_TAG_OVERHEAD    (EFLV_TAG_HEADER_SIZE + 4)
#define EFLV_MAX_DATA_SIZE   0xffffffu
/* The FLV header (9 bytes) and PreviousTagSize0: what rtmp_write() skips. */
#define EFLV_FILE_HEADER_SIZE 13

/* FrameType (UB[3] after IsExHeader). */
enum eflv_frame_type {
	EFLV_FRAME_KEY = 1,
	EFLV_FRAME_INTER = 2,
	EFLV_FRAME_DISPOSABLE = 3,
	EFLV_FRAME_GENERATED_KEY = 4,
	EFLV_FRAME_COMMAND = 5,
};

/* PacketType (UB[4], where the legacy header has CodecID). */
enum eflv_packet_type {
	EFLV_PKT_SEQUENCE_START = 0,
	EFLV_PKT_CODED_FRAMES = 1,
	EFLV_PKT_SEQUENCE_END = 2,
	EFLV_PKT_CODED_FRAMES_X = 3,
	EFLV_PKT_METADATA = 4,
	EFLV_PKT_MPEG2TS_SEQUENCE_START = 5,
};

#define EFLV_EX_HEADER 0x80 /* IsExHeader: the top bit of the first byte */
/* SI24 composition time offset, in ms. */
#define EFLV_CTS_MIN (-8388608)
#define EFLV_CTS_MAX 8388607

/* A growing byte buffer every writer appends to. Zero-initialise; free with eflv_buf_free(). */
struct eflv_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
};

/* Frees the buffer's bytes and empties it (the struct itself is the caller's). */
void eflv_buf_free(struct eflv_buf *b);
/* Empties the buffer, keeping its memory for the next tag. */
void eflv_buf_reset(struct eflv_buf *b);

/*
 * The 9-byte FLV header ("FLV", version 1, the audio/video flags, data offset
 * 9) and PreviousTagSize0. Returns 0 or -ENOMEM.
 */
int eflv_file_header(struct eflv_buf *out, bool has_audio, bool has_video) EFLV_WUR;

/*
 * One whole tag: the header (type, 24-bit DataSize, 24-bit timestamp and its
 * upper 8 bits, StreamID 0), the body, and PreviousTagSize (11 + DataSize).
 * ts_ms is the decoding time in ms; it wraps at 2^32 as FLV's does.
 * Returns 0, -EMSGSIZE (body over 16 MiB - 1) or -ENOMEM.
 */
int eflv_tag(struct eflv_buf *out, enum eflv_tag_type type, uint32_t ts_ms, const uint8_t *body,
	     size_t len) EFLV_WUR;

/*
 * Building a tag in place: eflv_tag_begin() writes a header with DataSize 0
 * and returns where it starts in *mark; the caller appends the body with
 * eflv_put_*(); eflv_tag_end() sets DataSize and appends PreviousTagSize.
 * eflv_tag_end() returns -EMSGSIZE when the body is too long.
 */
int eflv_tag_begin(struct eflv_buf *out, enum eflv_tag_type type, uint32_t ts_ms,
		   size_t *mark) EFLV_WUR;
int eflv_tag_end(struct eflv_buf *out, size_t mark) EFLV_WUR;
int eflv_put(struct eflv_buf *out, const void *p, size_t len) EFLV_WUR;
/* Appends len bytes for the caller to fill, at *at (valid until the buffer grows again). */
int eflv_extend(struct eflv_buf *out, size_t len, uint8_t **at) EFLV_WUR;

/* What an enhanced video tag holds. */
struct eflv_video {
	uint32_t ts_ms;		      /* decoding time */
	enum eflv_frame_type frame;   /* key or inter */
	enum eflv_packet_type packet; /* SequenceStart, CodedFrames[X], SequenceEnd */
	uint32_t fourcc;	      /* EFLV_FOURCC_HVC1 */
	int32_t cts_ms;		      /* presentation minus decoding time: CodedFrames only */
	const uint8_t *data;	      /* the record, or the length-prefixed NAL units */
	size_t len;
};

/*
 * A video tag with the extended VideoTagHeader: IsExHeader | FrameType << 4 |
 * PacketType, the FourCC, for CodedFrames the SI24 composition time offset
 * (CodedFramesX has none: its offset is 0), then the data (none for
 * SequenceEnd). Returns 0, -EINVAL (a packet type that is not one of those, a
 * frame type over 7, data with SequenceEnd, an offset with CodedFramesX),
 * -ERANGE (an offset beyond SI24), -EMSGSIZE or -ENOMEM.
 */
int eflv_video_tag(struct eflv_buf *out, const struct eflv_video *v) EFLV_WUR;

/* The HEVC sequence start: a key frame, PacketType SequenceStart, 'hvc1', the record. */
int eflv_hevc_sequence_start(struct eflv_buf *out, uint32_t ts_ms, const uint8_t *hvcc,
			     size_t len) EFLV_WUR;
/*
 * One HEVC access unit (length-prefixed NAL units): CodedFramesX when its
 * composition offset is 0, CodedFrames with the offset otherwise.
 */
int eflv_hevc_frame(struct eflv_buf *out, uint32_t ts_ms, int32_t cts_ms, bool key,
		    const uint8_t *data, size_t len) EFLV_WUR;
/* The HEVC sequence end (before a new sequence start, or at the end of the stream). */
int eflv_hevc_sequence_end(struct eflv_buf *out, uint32_t ts_ms) EFLV_WUR;

/*
 * An AAC audio tag (legacy header 0xAF: AAC, 44 kHz, 16-bit, stereo, as FLV
 * says AAC is always signalled), AACPacketType 0 with the
 * AudioSpecificConfig when config is true, 1 with a raw frame otherwise.
 */
int eflv_aac_tag(struct eflv_buf *out, uint32_t ts_ms, bool config, const uint8_t *data,
		 size_t len) EFLV_WUR;

/* A tag read back: its body points into the bytes read. */
struct eflv_tag_view {
	enum eflv_tag_type type;
	uint32_t ts_ms;
	const uint8_t *body;
	size_t len;
};

/*
 * Reads the tag at p the way FFmpeg's rtmp_write() takes it (header, body,
 * PreviousTagSize; the caller skips the first EFLV_FILE_HEADER_SIZE bytes of
 * a stream). *used is the tag's size with its PreviousTagSize. Returns 0,
 * -EAGAIN when len does not hold the whole tag yet, or -EINVAL (reserved
 * bits set, a PreviousTagSize that is not 11 + DataSize).
 */
int eflv_read_tag(const uint8_t *p, size_t len, struct eflv_tag_view *t, size_t *used) EFLV_WUR;

/*
 * Parses a video tag's body with the extended header (what mpstream probe
 * will read): frame and packet type, FourCC, the composition offset of
 * CodedFrames (sign-extended), and the data after them (ts_ms is the tag's,
 * left 0 here). Returns 0, -ENOTSUP
 * for a legacy header (IsExHeader 0: the caller reads it as before), or
 * -EINVAL when it is cut short.
 */
int eflv_parse_video(const uint8_t *body, size_t len, struct eflv_video *v) EFLV_WUR;

/* onMetaData's properties; a zero (or NULL) one is left out. */
struct eflv_metadata {
	uint32_t width, height;
	double framerate;
	double videodatarate_kbps;
	uint32_t video_fourcc; /* videocodecid: the FourCC's value as a number */
	bool has_audio;	       /* then the audio properties below are written */
	unsigned audiocodecid; /* 10: AAC */
	double audiodatarate_kbps;
	uint32_t audiosamplerate;
	unsigned audiosamplesize;
	bool stereo;
	const char *encoder;
};

/*
 * The script tag (type 18, timestamp 0): the AMF0 string "onMetaData" and an
 * ECMA array of the properties set. FFmpeg's rtmp:// prepends
 * "@setDataFrame" to it on the wire. Returns 0, -ERANGE (an encoder name over
 * 65535 bytes) or -ENOMEM.
 */
int eflv_metadata_tag(struct eflv_buf *out, const struct eflv_metadata *md) EFLV_WUR;

/* HEVC NAL unit types used here (H.265 table 7-1). */
enum eflv_hevc_nal {
	EFLV_NAL_BLA_W_LP = 16,
	EFLV_NAL_CRA = 21,
	EFLV_NAL_VPS = 32,
	EFLV_NAL_SPS = 33,
	EFLV_NAL_PPS = 34,
	EFLV_NAL_AUD = 35,
	EFLV_NAL_SEI_PREFIX = 39,
	EFLV_NAL_SEI_SUFFIX = 40,
};

/* One NAL unit, its 2-byte header first, without start code or length. */
struct eflv_nal {
	const uint8_t *data;
	size_t len;
};

/* The type of a NAL unit (its header's bits 1-6); -1 when it is shorter than its header. */
int eflv_nal_type(const struct eflv_nal *nal);

/*
 * Splits Annex B bytes (3- or 4-byte start codes) into NAL units pointing into
 * them, trailing zero bytes left out. Bytes before the first start code are
 * ignored. At most max are stored; *n is how many there are in all.
 * Returns 0, or -EINVAL when there is no NAL unit.
 */
int eflv_annexb_split(const uint8_t *p, size_t len, struct eflv_nal *nals, size_t max,
		      size_t *n) EFLV_WUR;

/* What the SPS says that the record repeats (H.265 7.3.2.2 up to the bit depths). */
struct eflv_hevc_sps {
	uint8_t max_sub_layers; /* sps_max_sub_layers_minus1 + 1 */
	bool temporal_id_nesting;
	uint8_t profile_space;
	bool tier;
	uint8_t profile_idc;
	uint32_t profile_compatibility;
	uint64_t constraint_flags; /* the 48 bits after the compatibility flags */
	uint8_t level_idc;
	uint8_t chroma_format_idc;
	uint32_t width, height; /* pic_{width,height}_in_luma_samples */
	uint8_t bit_depth_luma;
	uint8_t bit_depth_chroma;
};

/*
 * Parses an SPS NAL unit (header included), emulation prevention bytes
 * removed as it reads. Never reads past len. Returns 0, or -EINVAL when it is
 * not an SPS, is cut short, or has a value out of its range.
 */
int eflv_hevc_parse_sps(const struct eflv_nal *nal, struct eflv_hevc_sps *sps) EFLV_WUR;

/* Flags of eflv_hvcc_build(). */
#define EFLV_HVCC_SEI 1u /* keep prefix/suffix SEI NAL units in arrays (as FFmpeg does) */

/*
 * Builds an HEVCDecoderConfigurationRecord from the encoder's NAL units: at
 * least one VPS, SPS and PPS (other types are left out, SEI too unless
 * EFLV_HVCC_SEI). The general profile, tier, level, chroma format and bit
 * depths come from the first SPS; min_spatial_segmentation_idc and
 * parallelismType are 0 (not known: 14496-15 allows it), avgFrameRate and
 * constantFrameRate 0, numTemporalLayers and temporalIdNested from the SPS,
 * lengthSizeMinusOne 3. Arrays VPS, SPS, PPS (array_completeness 1, as 'hvc1'
 * requires), then SEI (0). If sps is not NULL the parsed SPS is stored there.
 * Returns 0, -EINVAL (a set missing, an SPS that does not parse, a NAL unit
 * over 65535 bytes) or -ENOMEM.
 */
int eflv_hvcc_build(const struct eflv_nal *nals, size_t n, unsigned flags, struct eflv_buf *out,
		    struct eflv_hevc_sps *sps) EFLV_WUR;

/* The same from Annex B bytes: libx265's extradata (VPS, SPS, PPS, an SEI), or a keyframe. */
int eflv_hvcc_from_annexb(const uint8_t *p, size_t len, unsigned flags, struct eflv_buf *out,
			  struct eflv_hevc_sps *sps) EFLV_WUR;

/* Whether @p starts with an Annex B start code (00 00 01 or 00 00 00 01). */
bool eflv_is_annexb(const uint8_t *p, size_t len);

/*
 * Whether @p is an HEVCDecoderConfigurationRecord (configurationVersion 1, at
 * least its fixed 23 bytes): its stream's NAL units are length-prefixed,
 * and a length of 256 to 511 bytes reads as a start code.
 */
bool eflv_is_hvcc(const uint8_t *p, size_t len);

/*
 * A splice: the CRA slices of Annex B bytes made BLA_W_LP slices, in place
 * (the same picture; its leading pictures, which refer to what came before
 * it, are then skipped by a decoder instead of decoded into errors). Bytes
 * that do not start with a start code (length-prefixed NAL units) are left as
 * they are. Returns how many NAL units it changed.
 */
size_t eflv_annexb_cra_to_bla(uint8_t *p, size_t len);

/* Flags of eflv_annexb_to_lp(). */
#define EFLV_LP_DROP_PS 1u /* leave out VPS, SPS, PPS and access unit delimiters */

/*
 * Appends the NAL units of Annex B bytes, each with a 4-byte big-endian length
 * before it (lengthSizeMinusOne 3): the data of CodedFrames.
 * Returns 0, -EINVAL (no NAL unit, or none left) or -ENOMEM.
 */
int eflv_annexb_to_lp(const uint8_t *p, size_t len, unsigned flags, struct eflv_buf *out) EFLV_WUR;

#endif
