// SPDX-License-Identifier: MIT
/*
 * --copy of a live input: a camera that encodes H.264 (or, with --codec
 * hevc, HEVC) itself. Its video packets go to the server as they are; while
 * it is lost, the session encodes the slate with x264 (x265) at the stream's
 * size and rate, and the camera's stream resumes at its next keyframe. Every
 * keyframe carries its own parameter sets as new extradata, so the FLV muxer
 * (eflv_out.c for HEVC) sends a new sequence header at each switch (and
 * after a reconnect, whose header has the slate's): what the server gets
 * decodes throughout. An HEVC camera that resumes at an open GOP's CRA has it
 * spliced into a BLA (eflv_annexb_cra_to_bla()): its leading pictures refer
 * to pictures never sent. The sound is the session's AAC (decoded and
 * encoded again), continuous through the slate.
 *
 * The reader thread (live.c) puts each video packet into a queue (pktq.c)
 * with its arrival time; the session (one thread) takes them here at each of
 * its video ticks and queues them for the network side (queue.c). The
 * camera's timestamps are kept, anchored at the keyframe that starts a
 * connection on the stream's clock (its arrival), and anchored again at a
 * keyframe when the camera's clock has drifted 200 ms from it.
 */
#include "eflv.h"
#include "enc_internal.h"
#include "live.h"
#include "log.h"

#include <stdlib.h>

#define MAX_DRIFT_US 200000

int enc_video_onto_timeline(struct enc_session *s, AVPacket *pkt, int64_t *shift,
			    const uint8_t *extradata, int extradata_size)
{
	int64_t late;

	pkt->pts += *shift;
	pkt->dts += *shift;
	/* Never back in time (a camera's clock that jumped, the slate just before). */
	late = s->video_last_dts_us != INT64_MIN && pkt->dts <= s->video_last_dts_us
		       ? s->video_last_dts_us + 1000 - pkt->dts
		       : 0;
	*shift += late;
	pkt->pts += late;
	pkt->dts += late;
	s->video_last_dts_us = pkt->dts;
	av_packet_rescale_ts(pkt, AV_TIME_BASE_Q, s->tb[ENC_VIDEO]);
	return enc_packet_add_extradata(pkt, extradata, extradata_size);
}

/*
 * HEVC: the camera's stream starting at @p, a CRA made a BLA. Annex B only
 * (a camera's MPEG-TS): not when its extradata is an hvcC record
 * (eflv_is_hvcc(): length-prefixed packets).
 */
static int splice(AVPacket *p)
{
	size_t n = 0;
	const uint8_t *x = av_packet_get_side_data(p, AV_PKT_DATA_NEW_EXTRADATA, &n);
	int ret;

	if (x && eflv_is_hvcc(x, n))
		return 0;
	if ((ret = av_packet_make_writable(p)) < 0)
		return ret;
	if (eflv_annexb_cra_to_bla(p->data, (size_t)p->size))
		LOG_DEBUG(ENC_TAG, "--copy: the camera's stream starts at a CRA: spliced as a BLA");
	return 0;
}

/* The camera's packet @n into the queue, on the stream's timeline. */
static int pass(struct enc_session *s, struct enc_pktq_node *n)
{
	AVPacket *p = n->pkt;
	int64_t arrival_us = (n->arrival_ns - s->start_ns) / 1000;
	int ret;

	if (p->flags & AV_PKT_FLAG_KEY) {
		int64_t drift = p->dts + s->cam_offset_us - arrival_us;

		if (drift > MAX_DRIFT_US || drift < -MAX_DRIFT_US) {
			LOG_DEBUG(ENC_TAG,
				  "--copy: the camera's clock is %" PRId64 " ms off: "
				  "anchored again",
				  drift / 1000);
			s->cam_offset_us = arrival_us - p->dts;
		}
	}
	/* Its parameter sets were attached by the reader (enc_pktq_put()). */
	enc_video_onto_timeline(s, p, &s->cam_offset_us, NULL, 0);
	av_packet_unref(s->pkt);
	av_packet_move_ref(s->pkt, p);
	ret = enc_enqueue(s, ENC_VIDEO);
	av_packet_unref(s->pkt);
	return ret;
}

int enc_passthrough_tick(struct enc_session *s, int64_t due_us)
{
	struct enc_input_status st;
	struct enc_pktq_node *n;
	int ret = 0;

	enc_live_status(s->cfg.live, &st);
	if (s->cam_on_air && st.state != ENC_INPUT_UP) {
		/* Lost: the slate from now, from an IDR that carries its parameter sets. */
		s->cam_on_air = false;
		atomic_store(&s->want_keyframe, true);
		s->slate_shift_us =
			s->video_last_dts_us != INT64_MIN && s->video_last_dts_us + 1000 > due_us
				? s->video_last_dts_us + 1000 - due_us
				: 0;
	}
	while (ret >= 0 && (n = enc_pktq_take(enc_live_packets(s->cfg.live), !s->cam_on_air))) {
		if (!s->cam_on_air || n->generation != s->cam_generation) {
			if (!(n->pkt->flags & AV_PKT_FLAG_KEY)) {
				/* A new connection: nothing before its first keyframe decodes. */
				s->cam_on_air = false;
				enc_pktq_node_free(n);
				continue;
			}
			LOG_INFO(ENC_TAG,
				 "--copy: the camera's stream goes through from its keyframe");
			if (s->cfg.codec == ENC_CODEC_HEVC && (ret = splice(n->pkt)) < 0) {
				enc_pktq_node_free(n);
				break;
			}
			s->cam_on_air = true;
			s->cam_generation = n->generation;
			s->cam_offset_us = (n->arrival_ns - s->start_ns) / 1000 - n->pkt->dts;
		}
		ret = pass(s, n);
		enc_pktq_node_free(n);
	}
	return ret < 0 ? ret : s->cam_on_air;
}
