/* SPDX-License-Identifier: MIT */
/*
 * The HEVC output: Enhanced FLV written by mpstream itself into an
 * AVIOContext (the rtmp:// or rtmps:// one output.c opens), since FFmpeg
 * 5.1's FLV muxer refuses HEVC. The tags are built by mps_flv (flv/eflv.h).
 *
 * enc_eflv_open() writes the FLV header, onMetaData (videocodecid 'hvc1'),
 * the AAC config and the HEVC SequenceStart; enc_eflv_write() takes packets
 * in their stream's time base and writes them interleaved by decoding time,
 * as av_interleaved_write_frame() does (a packet waits for the other stream
 * while its own goes on by EFLV_OUT_MAX_WAIT_MS at most, in the packets'
 * timestamps); enc_eflv_finish() writes what waits
 * and the SequenceEnd. Each tag is one avio_write(), flushed at once.
 * Timestamps are the packets' own (ms), so a new connection goes on from
 * where the last one was, as flvenc's do.
 *
 * Errors: AVERROR(EINVAL) (no parameter sets, a packet with none of its NAL
 * units), AVERROR(ENOTSUP) (a record whose NAL lengths are not 4 bytes),
 * AVERROR(ERANGE), AVERROR(ENOMEM), or the AVIOContext's error.
 */
#ifndef MPS_ENC_EFLV_OUT_H
#define MPS_ENC_EFLV_OUT_H

#include <libavcodec/avcodec.h>
#include <libavformat/avio.h>

struct enc_eflv;

/*
 * How far (ms of stream time) a stream goes on while its first packet waits
 * for the other stream's: what a stream that stops (a lost input's sound)
 * delays the other by. output.c gives the FLV muxer the same bound
 * (max_interleave_delta, whose default of 10 s would hold H.264 that long).
 */
#define EFLV_OUT_MAX_WAIT_MS 500

/*
 * What the writer needs of the streams: par[0] video (HEVC, its extradata
 * Annex B parameter sets or an hvcC record), par[1] audio (AAC) or NULL, each
 * stream's time base, and the frame rate for onMetaData.
 */
struct enc_eflv_streams {
	const AVCodecParameters *par[2];
	AVRational tb[2];
	int fps;
};

/* Writes the header tags into @pb and returns the writer in *out. */
int enc_eflv_open(AVIOContext *pb, const struct enc_eflv_streams *st, struct enc_eflv **out)
	__attribute__((warn_unused_result));
/* @pkt of stream @kind (0 video, 1 audio), in its time base; it is not kept. */
int enc_eflv_write(struct enc_eflv *w, const AVPacket *pkt, int kind)
	__attribute__((warn_unused_result));
/* What waits to be interleaved, then the SequenceEnd. */
int enc_eflv_finish(struct enc_eflv *w) __attribute__((warn_unused_result));
/* Frees the writer (NULL is fine); the AVIOContext is the caller's. */
void enc_eflv_free(struct enc_eflv *w);

#endif
