/* SPDX-License-Identifier: MIT */
/*
 * The receiving side of an Enhanced FLV stream, for player.c: FFmpeg 5.1's
 * FLV demuxer does not know the extended video tag header, so the bytes the
 * rtmp:// protocol (or a file) gives are read here as tags (flv/eflv.h's
 * eflv_read_tag()). Opening reads up to the first video tag: an enhanced one
 * (or a legacy one of CodecID 12, HEVC as servers older than Enhanced RTMP
 * relay it) means HEVC read here; anything else is handed to libavformat
 * through an AVIOContext that gives the bytes already read again, then the
 * rest.
 *
 * Errors: AVERROR(EINVAL) (a malformed tag), AVERROR_EOF, AVERROR(ENOMEM), or
 * the protocol's.
 */
#ifndef MPS_ENC_PLAYER_EFLV_H
#define MPS_ENC_PLAYER_EFLV_H

#include <libavcodec/avcodec.h>
#include <libavformat/avio.h>
#include <stdbool.h>

struct enc_eflv_reader;

/* What the start of a stream is. */
enum enc_eflv_kind {
	ENC_EFLV_NOT_FLV, /* no FLV header (a file of another format, MPEG-TS over SRT) */
	ENC_EFLV_LEGACY,  /* FLV whose first video tag has the legacy header (or no video) */
	ENC_EFLV_ENHANCED, /* FLV whose first video tag is HEVC: the extended header, or CodecID 12 */
};

/*
 * Opens @url with @cb and @opts (avio_open2()) and reads up to its first video
 * tag, whose header says *kind. Returns 0 or an AVERROR.
 */
int enc_eflv_reader_open(const char *url, const AVIOInterruptCB *cb, AVDictionary **opts,
			 struct enc_eflv_reader **out, enum enc_eflv_kind *kind)
	__attribute__((warn_unused_result));

/*
 * Legacy FLV, or another format on a connection: an AVIOContext giving every
 * byte from the start, for libavformat (r keeps it).
 */
AVIOContext *enc_eflv_reader_replay(struct enc_eflv_reader *r);

/*
 * Whether what was opened can be read again from its start (a file): a
 * connection cannot (a listener's caller is gone once it is closed).
 */
bool enc_eflv_reader_seekable(const struct enc_eflv_reader *r);

/*
 * The next HEVC access unit (length-prefixed NAL units; dts, pts in ms) into
 * @pkt. *record is set (else NULL) when a SequenceStart before it brought a
 * decoder configuration record other than the last one (valid until the next
 * call). *bytes grows by the tags read. Returns 0, AVERROR_EOF or an AVERROR.
 */
int enc_eflv_reader_next(struct enc_eflv_reader *r, AVPacket *pkt, const uint8_t **record,
			 size_t *record_len, int64_t *bytes) __attribute__((warn_unused_result));

void enc_eflv_reader_close(struct enc_eflv_reader *r);

#endif
