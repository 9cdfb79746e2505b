// SPDX-License-Identifier: MIT
/*
 * The encoder end to end without a network: the test pattern encoded to an
 * FLV file, read back with libavformat; then that file as a looped input.
 * HEVC also through FFmpeg's rtmp:// on loopback (its listen=1 as the server).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <libavformat/avformat.h>
#include <libavutil/file.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "eflv.h"
#include "encoder.h"
#include "live.h"
#include "loopback.h"

struct flv_facts {
	int width, height;
	enum AVCodecID vcodec, acodec;
	int sample_rate, channels;
	int video_packets, keyframes, audio_packets;
	double last_video_s, max_gap_s;
};

static void read_flv(const char *path, struct flv_facts *f)
{
	AVFormatContext *ic = NULL;
	AVPacket *pkt = av_packet_alloc();
	double prev = -1;
	int vidx = -1;

	memset(f, 0, sizeof(*f));
	assert_int_equal(avformat_open_input(&ic, path, NULL, NULL), 0);
	assert_true(avformat_find_stream_info(ic, NULL) >= 0);
	for (unsigned i = 0; i < ic->nb_streams; i++) {
		AVCodecParameters *par = ic->streams[i]->codecpar;

		if (par->codec_type == AVMEDIA_TYPE_VIDEO) {
			vidx = (int)i;
			f->vcodec = par->codec_id;
			f->width = par->width;
			f->height = par->height;
		} else if (par->codec_type == AVMEDIA_TYPE_AUDIO) {
			f->acodec = par->codec_id;
			f->sample_rate = par->sample_rate;
			f->channels = par->ch_layout.nb_channels;
		}
	}
	while (av_read_frame(ic, pkt) >= 0) {
		if (pkt->stream_index == vidx) {
			double t = (double)pkt->pts * av_q2d(ic->streams[vidx]->time_base);

			f->video_packets++;
			f->keyframes += !!(pkt->flags & AV_PKT_FLAG_KEY);
			if (prev >= 0 && t - prev > f->max_gap_s)
				f->max_gap_s = t - prev;
			prev = t;
			f->last_video_s = t;
		} else {
			f->audio_packets++;
		}
		av_packet_unref(pkt);
	}
	av_packet_free(&pkt);
	avformat_close_input(&ic);
}

/*
 * Both sides in one thread: encode a frame, send what it produced; at half
 * time the bit rate goes to @half_bps (0: it stays).
 */
static void encode_rated(const struct enc_config *cfg, const char *out, double seconds,
			 int64_t half_bps)
{
	struct enc_output_config oc = {.url = out, .connect_timeout_ms = 5000};
	struct enc_session *s = NULL;
	struct enc_output *o = NULL;
	struct enc_progress p = {0};
	int ret;

	assert_int_equal(enc_session_create(cfg, &s), 0);
	/* A server (a thread of the test) that is not listening yet refuses: again, up to 5 s. */
	for (int i = 0; (ret = enc_output_open(s, &oc, &o)) == AVERROR(ECONNREFUSED) && i < 50; i++)
		usleep(100000);
	assert_int_equal(ret, 0);
	while (p.media_time_us < (int64_t)(seconds * 1e6)) {
		ret = enc_session_step(s);
		if (ret == AVERROR_EOF)
			break;
		assert_int_equal(ret, 0);
		while ((ret = enc_output_send(o, 0)) == 0)
			;
		assert_int_equal(ret, AVERROR(EAGAIN));
		enc_session_progress(s, &p);
		if (half_bps && p.media_time_us >= (int64_t)(seconds * 5e5))
			assert_int_equal(enc_session_set_bitrate(s, half_bps), 0);
	}
	assert_int_equal(enc_session_drain(s), 0);
	while ((ret = enc_output_send(o, 0)) == 0)
		;
	assert_int_equal(ret, ENC_OUTPUT_DONE);
	assert_int_equal(enc_output_finish(o), 0);
	enc_output_close(o, 1000);
	enc_session_progress(s, &p);
	assert_true(p.bytes_out > 0);
	assert_int_equal(p.dropped_frames, 0);
	enc_session_destroy(s);
}

static void encode_with(const struct enc_config *cfg, const char *out, double seconds)
{
	encode_rated(cfg, out, seconds, 0);
}

static void encode_copy(const char *input, bool loop, bool copy, const char *out, double seconds)
{
	struct enc_config cfg = {
		.input = input,
		.loop = loop,
		.copy = copy,
		.width = 320,
		.height = 240,
		.fps = 30,
		.preset = "ultrafast",
		.bitrate = 400000,
		.buffer_ms = 2000,
	};

	encode_with(&cfg, out, seconds);
}

static void encode(const char *input, bool loop, const char *out, double seconds)
{
	encode_copy(input, loop, false, out, seconds);
}

static void temp_flv(char *path)
{
	int fd = mkstemps(path, 4);

	assert_true(fd >= 0);
	close(fd);
}

/* Stamped frame numbers of a file, in order; returns how many. */
static int read_stamps(const char *path, uint32_t *frames, int max)
{
	struct enc_player *p = NULL;
	struct enc_player_frame fr;
	int n = 0;

	assert_int_equal(enc_player_open(path, 5000, NULL, NULL, &p), 0);
	while (enc_player_next(p, &fr) == 0 && n < max) {
		assert_true(fr.stamped); /* decoded whole: nothing refers to a dropped frame */
		frames[n++] = fr.stamp.frame;
	}
	enc_player_close(p);
	return n;
}

/* libx265's test pattern, small. */
static const struct enc_config hevc_small = {
	.input = ENC_INPUT_TEST,
	.codec = ENC_CODEC_HEVC,
	.width = 320,
	.height = 240,
	.fps = 30,
	.preset = "ultrafast",
	.bitrate = 400000,
	.buffer_ms = 2000,
};

/*
 * --copy: an H.264/AAC file goes through as it is, looped with its timestamps
 * going on; the test pattern cannot be copied.
 */
static void test_copy(void **state)
{
	char src[] = "/tmp/mps-enc-XXXXXX.flv", out[] = "/tmp/mps-enc-XXXXXX.flv";
	struct enc_config cfg = {.input = ENC_INPUT_TEST, .copy = true, .preset = "ultrafast"};
	struct enc_session *s = NULL;
	struct flv_facts a, b;
	uint32_t frames[400];
	int n;

	temp_flv(src);
	temp_flv(out);
	encode(ENC_INPUT_TEST, false, src, 2.0);
	read_flv(src, &a);
	encode_copy(src, true, true, out, 5.0);
	read_flv(out, &b);
	assert_int_equal(b.vcodec, AV_CODEC_ID_H264);
	assert_int_equal(b.acodec, AV_CODEC_ID_AAC);
	assert_int_equal(b.width, a.width);
	/* 2 s looped to 5 s: the same frames, no re-encoding, timestamps on. */
	assert_in_range(b.video_packets, 2 * a.video_packets, 3 * a.video_packets);
	assert_true(b.last_video_s > 4.8);
	assert_true(b.max_gap_s < 0.1);
	n = read_stamps(out, frames, 400);
	assert_int_equal(frames[0], 0);
	assert_int_equal(frames[a.video_packets], 0); /* the second pass begins again */
	assert_true(n >= 2 * a.video_packets);

	assert_int_equal(enc_session_create(&cfg, &s), AVERROR(EINVAL));
	assert_null(s);
	unlink(src);
	unlink(out);
}

/* @in remuxed into @out (FLV) with its sound cut at @cut_s: the sound stops, the video goes on. */
static void cut_sound(const char *in, const char *out, double cut_s)
{
	AVFormatContext *ic = NULL, *oc = NULL;
	AVPacket *pkt = av_packet_alloc();

	assert_int_equal(avformat_open_input(&ic, in, NULL, NULL), 0);
	assert_true(avformat_find_stream_info(ic, NULL) >= 0);
	assert_int_equal(avformat_alloc_output_context2(&oc, NULL, "flv", out), 0);
	for (unsigned i = 0; i < ic->nb_streams; i++) {
		AVStream *st = avformat_new_stream(oc, NULL);

		assert_non_null(st);
		assert_int_equal(avcodec_parameters_copy(st->codecpar, ic->streams[i]->codecpar),
				 0);
		st->codecpar->codec_tag = 0;
	}
	assert_int_equal(avio_open(&oc->pb, out, AVIO_FLAG_WRITE), 0);
	assert_int_equal(avformat_write_header(oc, NULL), 0);
	while (av_read_frame(ic, pkt) >= 0) {
		AVStream *st = ic->streams[pkt->stream_index];

		if (st->codecpar->codec_type != AVMEDIA_TYPE_AUDIO ||
		    (double)pkt->pts * av_q2d(st->time_base) < cut_s) {
			av_packet_rescale_ts(pkt, st->time_base,
					     oc->streams[pkt->stream_index]->time_base);
			assert_int_equal(av_interleaved_write_frame(oc, pkt), 0);
		}
		av_packet_unref(pkt);
	}
	assert_int_equal(av_write_trailer(oc), 0);
	assert_int_equal(avio_closep(&oc->pb), 0);
	avformat_free_context(oc);
	avformat_close_input(&ic);
	av_packet_free(&pkt);
}

/*
 * Sound that stops (H.264 through libavformat's FLV muxer): the video after
 * it is written with at most half a second waiting for sound, not held for
 * the muxer's default max_interleave_delta of 10 s. The input, a file passed
 * through (--copy) whose sound ends at 1 s of 3.
 */
static void test_sound_stops(void **state)
{
	char src[] = "/tmp/mps-enc-XXXXXX.flv", cut[] = "/tmp/mps-enc-XXXXXX.flv",
	     out[] = "/tmp/mps-enc-XXXXXX.flv";
	struct enc_config cfg = {.input = cut, .copy = true, .fps = 30, .buffer_ms = 2000};
	struct enc_output_config oc = {.url = out, .connect_timeout_ms = 5000};
	struct enc_session *s = NULL;
	struct enc_output *o = NULL;
	struct enc_progress p = {0};
	int64_t at_2s = -1;
	int ret;

	(void)state;
	temp_flv(src);
	temp_flv(cut);
	temp_flv(out);
	encode(ENC_INPUT_TEST, false, src, 3.0);
	cut_sound(src, cut, 1.0);
	assert_int_equal(enc_session_create(&cfg, &s), 0);
	assert_int_equal(enc_output_open(s, &oc, &o), 0);
	while ((ret = enc_session_step(s)) == 0) {
		while ((ret = enc_output_send(o, 0)) == 0)
			;
		assert_int_equal(ret, AVERROR(EAGAIN));
		enc_session_progress(s, &p);
		if (at_2s < 0 && p.media_time_us >= 2000000)
			at_2s = p.bytes_out;
		/* From 2 s to 2.8 s, 1 s and more after the sound's end: written as it comes. */
		if (p.media_time_us >= 2800000)
			break;
	}
	assert_true(at_2s > 0);
	assert_true(p.media_time_us >= 2800000);
	print_message("figure: sound stopped at 1 s: %" PRId64 " bytes out at 2 s, %" PRId64
		      " at 2.8 s\n",
		      at_2s, p.bytes_out);
	assert_true(p.bytes_out > at_2s);
	enc_output_close(o, 1000);
	enc_session_destroy(s);
	unlink(src);
	unlink(cut);
	unlink(out);
}

/*
 * --copy of HEVC: libx265's pattern recorded into Matroska (an hvcC record,
 * length-prefixed packets), that file passed through as Enhanced FLV
 * (eflv_out.c takes the record and the packets as they are): every frame
 * decodes, in order. --codec h264 refuses the file.
 */
static void test_hevc_copy(void **state)
{
	char src[] = "/tmp/mps-enc-XXXXXX.mkv", out[] = "/tmp/mps-enc-XXXXXX.flv";
	struct enc_config cfg = {
		.input = src, .copy = true, .codec = ENC_CODEC_HEVC, .fps = 30, .buffer_ms = 2000};
	struct enc_session *s = NULL;
	struct enc_record *r = NULL;
	struct enc_progress p = {0};
	uint32_t frames[200];
	int n;

	(void)state;
	temp_flv(src); /* an empty file: the recording takes it */
	temp_flv(out);
	assert_int_equal(enc_session_create(&hevc_small, &s), 0);
	assert_int_equal(enc_record_open(src, &r), 0);
	assert_int_equal(enc_session_record(s, r), 0);
	while (p.media_time_us < 2000000) {
		assert_int_equal(enc_session_step(s), 0);
		enc_session_skip_to_keyframe(s); /* nothing takes the network queue */
		enc_session_progress(s, &p);
	}
	enc_session_destroy(s);
	assert_int_equal(enc_record_close(r), 0);
	encode_with(&cfg, out, 5.0); /* ends with the file */
	n = read_stamps(out, frames, 200);
	assert_in_range(n, 59, 62);
	for (int i = 0; i < n; i++)
		assert_int_equal(frames[i], (uint32_t)i);
	cfg.codec = ENC_CODEC_H264;
	s = NULL;
	assert_int_equal(enc_session_create(&cfg, &s), AVERROR_INVALIDDATA);
	unlink(src);
	unlink(out);
}

/* Video bytes over a stretch of media time, in bit/s. */
static double encode_rate(struct enc_session *s, double seconds)
{
	struct enc_progress p0, p;

	enc_session_progress(s, &p0);
	p = p0;
	while (p.media_time_us < p0.media_time_us + (int64_t)(seconds * 1e6)) {
		assert_int_equal(enc_session_step(s), 0);
		enc_session_skip_to_keyframe(
			s); /* keep the queue small; drops are not counted here */
		enc_session_progress(s, &p);
	}
	return 8.0 * (double)(p.video_bytes - p0.video_bytes) /
	       ((double)(p.media_time_us - p0.media_time_us) / 1e6);
}

/*
 * The bit rate changes between frames (FFmpeg 5.1's libx264 wrapper
 * reconfigures x264): 2 Mbit/s, then 500 kbit/s, then 2 Mbit/s again.
 */
/* FFmpeg's rtmp:// as a server (listen=1) for one publisher: what it receives, into a file. */
struct rtmp_sink {
	char url[64];
	const char *path;
	int64_t bytes;
	int ret;
};

static void *rtmp_sink_run(void *arg)
{
	struct rtmp_sink *k = arg;
	AVIOContext *in = NULL;
	AVDictionary *opts = NULL;
	uint8_t buf[65536];
	FILE *f = fopen(k->path, "wb");
	int n;

	av_dict_set(&opts, "listen", "1", 0);
	av_dict_set(&opts, "timeout", "10", 0); /* s, for the publisher to come */
	k->ret = f ? avio_open2(&in, k->url, AVIO_FLAG_READ, NULL, &opts) : AVERROR(errno);
	av_dict_free(&opts);
	while (k->ret >= 0 && (n = avio_read(in, buf, sizeof(buf))) > 0) {
		k->ret = fwrite(buf, 1, (size_t)n, f) == (size_t)n ? 0 : AVERROR(EIO);
		k->bytes += n;
	}
	avio_closep(&in);
	if (f)
		fclose(f);
	return NULL;
}

/*
 * HEVC over RTMP on loopback: libx265's stamped pattern through eflv_out.c
 * into FFmpeg's rtmp:// as a publisher, received by FFmpeg's rtmp:// as the
 * server (append_flv_data() gives the tags back), read by the player
 * (player_eflv.c): every frame decodes, numbers 0, 1, 2, ... none missing.
 */
static void test_hevc_rtmp(void **state)
{
	struct enc_config cfg = hevc_small;
	char path[] = "/tmp/mps-enc-XXXXXX.flv";
	struct rtmp_sink sink = {.path = path};
	struct sockaddr_in addr;
	uint32_t frames[200];
	pthread_t th;
	int n;

	(void)state;
	temp_flv(path);
	close(loopback_listener(1, &addr)); /* a free port */
	snprintf(sink.url, sizeof(sink.url), "rtmp://127.0.0.1:%d/live/hevc", ntohs(addr.sin_port));
	assert_int_equal(pthread_create(&th, NULL, rtmp_sink_run, &sink), 0);
	encode_with(&cfg, sink.url, 3.0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_true(sink.ret >= 0 || sink.ret == AVERROR_EOF);
	n = read_stamps(path, frames, 200);
	print_message("figure: HEVC over rtmp:// on loopback: %" PRId64 " bytes, %d frames\n",
		      sink.bytes, n);
	assert_in_range(n, 89, 92);
	for (int i = 0; i < n; i++)
		assert_int_equal(frames[i], (uint32_t)i);
	unlink(path);
}

/* The bit rate follows enc_session_set_bitrate(): x264 reconfigured, x265 opened again. */
static void bitrate_change(enum enc_codec codec)
{
	struct enc_config cfg = {
		.input = ENC_INPUT_TEST,
		.codec = codec,
		.width = 640,
		.height = 360,
		.fps = 30,
		.preset = "ultrafast",
		.bitrate = 2000000,
		.buffer_ms = 2000,
	};
	struct enc_session *s = NULL;
	struct enc_progress p;
	double high, low, again;

	assert_int_equal(enc_session_create(&cfg, &s), 0);
	high = encode_rate(s, 4.0);
	assert_int_equal(enc_session_set_bitrate(s, 500000), 0);
	encode_rate(s, 1.0); /* the VBV buffer empties */
	low = encode_rate(s, 3.0);
	enc_session_progress(s, &p);
	assert_int_equal(p.target_bps, 500000);
	assert_int_equal(enc_session_set_bitrate(s, 2000000), 0);
	encode_rate(s, 1.0);
	again = encode_rate(s, 3.0);
	print_message("%s output: %.0f, then %.0f, then %.0f bit/s\n", enc_codec_name(codec), high,
		      low, again);
	assert_true(high > 1.4e6 && high < 2.6e6);
	assert_true(low > 0.3e6 && low < 0.7e6);
	assert_true(again > 1.4e6 && again < 2.6e6);
	enc_session_destroy(s);
}

static void test_bitrate_change(void **state)
{
	(void)state;
	bitrate_change(ENC_CODEC_H264);
}

static void test_hevc_bitrate_change(void **state)
{
	(void)state;
	bitrate_change(ENC_CODEC_HEVC);
}

/* The whole of a file mapped, in *len bytes (av_file_unmap() it). */
static uint8_t *slurp(const char *path, size_t *len)
{
	uint8_t *p = NULL;

	assert_int_equal(av_file_map(path, &p, len, 0, NULL), 0);
	return p;
}

/*
 * @in's enhanced HEVC video tags rewritten with the legacy header as
 * Node-Media-Server 2.7 sends them: FrameType << 4 | 12, AVCPacketType, SI24
 * composition time, then the record or the NAL units; the rest as it is.
 */
static void to_legacy_hevc(const char *in, const char *out)
{
	struct eflv_buf b = {0};
	size_t len, used, at = EFLV_FILE_HEADER_SIZE;
	uint8_t *p = slurp(in, &len);
	FILE *f = fopen(out, "wb");

	assert_non_null(f);
	assert_int_equal(eflv_put(&b, p, EFLV_FILE_HEADER_SIZE), 0);
	while (at < len) {
		struct eflv_tag_view t;
		struct eflv_video v;
		size_t mark;

		assert_int_equal(eflv_read_tag(p + at, len - at, &t, &used), 0);
		at += used;
		if (t.type != EFLV_TAG_VIDEO) {
			assert_int_equal(eflv_tag(&b, t.type, t.ts_ms, t.body, t.len), 0);
			continue;
		}
		assert_int_equal(eflv_parse_video(t.body, t.len, &v), 0);
		if (v.packet == EFLV_PKT_CODED_FRAMES_X)
			v.packet = EFLV_PKT_CODED_FRAMES;
		uint8_t head[] = {(uint8_t)(v.frame << 4 | 12), (uint8_t)v.packet,
				  (uint8_t)(v.cts_ms >> 16), (uint8_t)(v.cts_ms >> 8),
				  (uint8_t)v.cts_ms};
		assert_int_equal(eflv_tag_begin(&b, EFLV_TAG_VIDEO, t.ts_ms, &mark), 0);
		assert_int_equal(eflv_put(&b, head, sizeof(head)), 0);
		assert_int_equal(eflv_put(&b, v.data, v.len), 0);
		assert_int_equal(eflv_tag_end(&b, mark), 0);
	}
	assert_int_equal(fwrite(b.data, 1, b.len, f), b.len);
	fclose(f);
	eflv_buf_free(&b);
	av_file_unmap(p, len);
}

/*
 * HEVC: libx265's test pattern written as Enhanced FLV (eflv_out.c), its rate
 * halved half-way (libx265 opened again: a keyframe with its parameter sets),
 * read back by the player (player_eflv.c, libavcodec's HEVC decoder): every
 * frame decodes, with its stamp, numbers 0, 1, 2, ... with none missing; and
 * so does the same stream in legacy tags of CodecID 12.
 */
static void test_hevc_flv(void **state)
{
	struct enc_config cfg = hevc_small;
	char path[] = "/tmp/mps-enc-XXXXXX.flv";
	uint32_t frames[200];
	int n;

	(void)state;
	temp_flv(path);
	encode_rated(&cfg, path, 4.0, 200000);
	n = read_stamps(path, frames, 200);
	assert_in_range(n, 120, 122);
	for (int i = 0; i < n; i++)
		assert_int_equal(frames[i], (uint32_t)i);
	/* The same stream as a server older than Enhanced RTMP relays it (CodecID 12). */
	char legacy[] = "/tmp/mps-enc-XXXXXX.flv";
	temp_flv(legacy);
	to_legacy_hevc(path, legacy);
	assert_int_equal(read_stamps(legacy, frames, 200), n);
	for (int i = 0; i < n; i++)
		assert_int_equal(frames[i], (uint32_t)i);
	unlink(legacy);
	unlink(path);
}

/*
 * An FLV with sound only (what nginx-rtmp records of an HEVC stream: it drops
 * the video tags): the player's look for the first video tag ends at the end
 * of the file, which goes to libavformat then: no video stream, not "End of file".
 */
static void test_sound_only_flv(void **state)
{
	char path[] = "/tmp/mps-enc-XXXXXX.flv", sound[] = "/tmp/mps-enc-XXXXXX.flv";
	struct eflv_buf b = {0};
	struct enc_player *p = NULL;
	size_t len, used, at = EFLV_FILE_HEADER_SIZE;
	uint8_t *in;
	FILE *f;

	(void)state;
	temp_flv(path);
	temp_flv(sound);
	encode(ENC_INPUT_TEST, false, path, 1.0);
	in = slurp(path, &len);
	assert_int_equal(eflv_put(&b, in, EFLV_FILE_HEADER_SIZE), 0);
	while (at < len) {
		struct eflv_tag_view t;

		assert_int_equal(eflv_read_tag(in + at, len - at, &t, &used), 0);
		at += used;
		if (t.type != EFLV_TAG_VIDEO)
			assert_int_equal(eflv_tag(&b, t.type, t.ts_ms, t.body, t.len), 0);
	}
	av_file_unmap(in, len);
	f = fopen(sound, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(b.data, 1, b.len, f), b.len);
	assert_int_equal(fclose(f), 0);
	eflv_buf_free(&b);
	assert_int_equal(enc_player_open(sound, 5000, NULL, NULL, &p), AVERROR_STREAM_NOT_FOUND);
	assert_null(p);
	unlink(sound);
	unlink(path);
}

/*
 * Cutting the delay: the queue goes up to its newest keyframe, or all of it
 * and on to the next keyframe, asked for at once. What is sent stays
 * decodable, and the frame numbers jump forward only.
 */
static void test_skip_to_keyframe(void **state)
{
	struct enc_config cfg = {
		.input = ENC_INPUT_TEST,
		.width = 320,
		.height = 240,
		.fps = 30,
		.preset = "ultrafast",
		.bitrate = 400000,
		.buffer_ms = 5000,
	};
	char out[] = "/tmp/mps-enc-XXXXXX.flv";
	struct enc_output_config oc = {.url = out, .connect_timeout_ms = 5000};
	struct enc_session *s = NULL;
	struct enc_output *o = NULL;
	struct enc_progress p = {0};
	uint32_t frames[400];
	int64_t dropped;
	int n, ret, jumps = 0;

	temp_flv(out);
	assert_int_equal(enc_session_create(&cfg, &s), 0);
	assert_int_equal(enc_output_open(s, &oc, &o), 0);
	/* 1 s sent, then 2.5 s queued (a keyframe at 2 s in it). */
	while (p.media_time_us < 3500000) {
		assert_int_equal(enc_session_step(s), 0);
		enc_session_progress(s, &p);
		while (p.media_time_us < 1000000 && (ret = enc_output_send(o, 0)) == 0)
			;
	}
	dropped = enc_session_skip_to_keyframe(s);
	enc_session_progress(s, &p);
	print_message("dropped %lld frames up to the keyframe at 2 s; %d ms left\n",
		      (long long)dropped, p.queue_ms);
	assert_in_range(dropped, 25, 35); /* 1 s to 2 s */
	assert_in_range(p.queue_ms, 1400, 1600);
	/* Again: the newest keyframe is the head; then nothing queued but after it. */
	while ((ret = enc_output_send(o, 0)) == 0)
		;
	dropped = enc_session_skip_to_keyframe(s); /* empty queue: wait for the next keyframe */
	assert_int_equal(dropped, 0);
	for (int i = 0; i < 30; i++) {
		assert_int_equal(enc_session_step(s), 0);
		while ((ret = enc_output_send(o, 0)) == 0)
			;
	}
	assert_int_equal(enc_session_drain(s), 0);
	while ((ret = enc_output_send(o, 0)) == 0)
		;
	assert_int_equal(ret, ENC_OUTPUT_DONE);
	assert_int_equal(enc_output_finish(o), 0);
	enc_output_close(o, 1000);
	enc_session_destroy(s);

	n = read_stamps(out, frames, 400);
	for (int i = 1; i < n; i++) {
		assert_true(frames[i] > frames[i - 1]);
		jumps += frames[i] != frames[i - 1] + 1;
	}
	print_message("%d frames decoded, %d jumps forward\n", n, jumps);
	assert_int_equal(jumps, 1); /* 1 s -> 2 s; the forced keyframe follows at once */
	unlink(out);
}

/*
 * A network that takes nothing for 4 s: the queue keeps 2 s (--buffer),
 * dropping whole GOPs; or the delay budget in force, when that is more.
 */
static void test_queue_bound(void **state)
{
	struct enc_config cfg = {
		.input = ENC_INPUT_TEST,
		.width = 160,
		.height = 120,
		.fps = 30,
		.preset = "ultrafast",
		.bitrate = 200000,
		.buffer_ms = 2000,
	};
	struct enc_session *s = NULL;
	struct enc_progress p = {0};

	assert_int_equal(enc_session_create(&cfg, &s), 0);
	while (p.media_time_us < 4500000) {
		assert_int_equal(enc_session_step(s), 0);
		enc_session_progress(s, &p);
		assert_true(p.queue_ms <= 2000 + 2000); /* the bound, plus at most one GOP */
	}
	/* 135 frames made; whole GOPs of 60 dropped: 60 or 120. */
	assert_true(p.dropped_frames == 60 || p.dropped_frames == 120);
	assert_true(p.queue_ms >= 400 && p.queue_ms <= 2000);
	enc_session_destroy(s);

	/* The delay budget raised to 4 s: the queue keeps what it covers. */
	memset(&p, 0, sizeof(p));
	assert_int_equal(enc_session_create(&cfg, &s), 0);
	enc_session_keep_at_least(s, 4000);
	while (p.media_time_us < 4500000) {
		assert_int_equal(enc_session_step(s), 0);
		enc_session_progress(s, &p);
	}
	print_message("kept at least 4 s: %lld frames dropped, %d ms queued\n",
		      (long long)p.dropped_frames, p.queue_ms);
	assert_true(p.dropped_frames == 60);
	assert_true(p.queue_ms >= 2400 && p.queue_ms <= 4000);
	/* Lowered again (under --buffer: --buffer holds). */
	enc_session_keep_at_least(s, 1000);
	for (int i = 0; i < 60; i++)
		assert_int_equal(enc_session_step(s), 0);
	enc_session_progress(s, &p);
	assert_true(p.queue_ms <= 2000);
	enc_session_destroy(s);
}

static void test_pattern_to_flv(void **state)
{
	char path[] = "/tmp/mps-enc-XXXXXX.flv";
	struct flv_facts f;
	int fd = mkstemps(path, 4);

	assert_true(fd >= 0);
	close(fd);
	encode(ENC_INPUT_TEST, false, path, 4.0);
	read_flv(path, &f);
	assert_int_equal(f.vcodec, AV_CODEC_ID_H264);
	assert_int_equal(f.acodec, AV_CODEC_ID_AAC);
	assert_int_equal(f.width, 320);
	assert_int_equal(f.height, 240);
	assert_int_equal(f.sample_rate, 48000);
	assert_int_equal(f.channels, 2);
	/* 4 s at 30 fps, a keyframe every 2 s, frames 33 ms apart. */
	assert_in_range(f.video_packets, 120, 122);
	assert_in_range(f.keyframes, 2, 3);
	assert_true(f.max_gap_s < 0.050);
	assert_in_range(f.audio_packets, 185, 190);

	/* Every frame carries its stamp through x264 at 400 kbit/s: numbers 0, 1, 2, ... */
	struct enc_player *p = NULL;
	struct enc_player_frame fr;
	uint32_t expect = 0;
	uint64_t first_ms = 0;

	assert_int_equal(enc_player_open(path, 5000, NULL, NULL, &p), 0);
	while (enc_player_next(p, &fr) == 0) {
		assert_true(fr.stamped);
		assert_int_equal(fr.stamp.frame, expect);
		if (!expect)
			first_ms = fr.stamp.time_ms;
		expect++;
	}
	enc_player_close(p);
	assert_in_range(expect, 120, 122);
	/* The stamps are the sender's clock when each frame was due: 33 ms apart. */
	assert_in_range(fr.stamp.time_ms - first_ms, 3900, 4200);

	/* The file as input, looped: timestamps go on across the loop, without a gap. */
	char out[] = "/tmp/mps-enc-XXXXXX.flv";
	fd = mkstemps(out, 4);
	assert_true(fd >= 0);
	close(fd);
	encode(path, true, out, 6.0);
	read_flv(out, &f);
	assert_in_range(f.video_packets, 175, 185);
	assert_true(f.last_video_s > 5.8);
	assert_true(f.max_gap_s < 0.1);
	unlink(path);
	unlink(out);
}

static void test_unreadable_input(void **state)
{
	struct enc_config cfg = {
		.input = "/nonexistent/clip.mp4",
		.width = 320,
		.height = 240,
		.fps = 30,
		.preset = "ultrafast",
		.bitrate = 400000,

	};
	struct enc_session *s = NULL;

	assert_int_equal(enc_session_create(&cfg, &s), AVERROR(ENOENT));
	assert_null(s);
	assert_int_equal(access("/tmp/never.flv", F_OK), -1);
}

static void test_bad_preset(void **state)
{
	struct enc_config cfg = {
		.input = ENC_INPUT_TEST,
		.width = 320,
		.height = 240,
		.fps = 30,
		.preset = "warpspeed",
		.bitrate = 400000,

	};
	struct enc_session *s = NULL;

	assert_true(enc_session_create(&cfg, &s) < 0);
}

/*
 * --encoder: a name libavcodec lacks, an encoder of something else than
 * H.264, hardware encoders whose hardware is not here (no GPU, no V4L2
 * mem2mem device, no CUDA on these machines: told apart from the others),
 * and another software encoder, libx264rgb, whose pictures go through the
 * pixel format conversion (yuv420p to bgr0) that hardware encoders' need too.
 */
static void test_encoder_choice(void **state)
{
	struct enc_config cfg = {
		.input = ENC_INPUT_TEST,
		.width = 320,
		.height = 240,
		.fps = 30,
		.bitrate = 400000,
		.buffer_ms = 2000,
	};
	static const char *const hardware[] = {"h264_vaapi", "h264_v4l2m2m", "h264_nvenc",
					       "h264_qsv"};
	struct enc_session *s = NULL;
	char out[] = "/tmp/mps-enc-XXXXXX.flv";
	struct flv_facts f;

	(void)state;
	cfg.encoder = "h264_warp";
	assert_int_equal(enc_session_create(&cfg, &s), ENC_ERR_ENCODER_NOT_FOUND);
	cfg.encoder = "aac";
	assert_int_equal(enc_session_create(&cfg, &s), AVERROR(EINVAL));
	for (size_t i = 0; i < sizeof(hardware) / sizeof(hardware[0]); i++) {
		int ret;

		cfg.encoder = hardware[i];
		ret = enc_session_create(&cfg, &s);
		printf("figure: --encoder %s here: %s\n", hardware[i],
		       ret == 0 ? "opened" : av_err2str(ret));
		if (ret == 0) {
			/* A machine with the hardware: it must then encode. */
			enc_session_destroy(s);
			s = NULL;
			continue;
		}
		assert_int_equal(ret, AVERROR(ENODEV));
		assert_null(s);
	}
	cfg.encoder = "libx264rgb";
	cfg.preset = "ultrafast";
	temp_flv(out);
	encode_with(&cfg, out, 2.0);
	read_flv(out, &f);
	assert_int_equal(f.vcodec, AV_CODEC_ID_H264);
	assert_in_range(f.video_packets, 60, 62);
	assert_int_equal(f.width, 320);
	unlink(out);
}

static double mean_luma(const AVFrame *f)
{
	double sum = 0;

	for (int y = 0; y < f->height; y++)
		for (int x = 0; x < f->width; x++)
			sum += f->data[0][y * f->linesize[0] + x];
	return sum / (f->width * f->height);
}

static int count_luma(const AVFrame *f, int v)
{
	int n = 0;

	for (int y = 0; y < f->height; y++)
		for (int x = 0; x < f->width; x++)
			n += f->data[0][y * f->linesize[0] + x] == v;
	return n;
}

/* The slate: the last picture darkened, with white text across its middle; or grey at first. */
static void test_slate(void **state)
{
	AVFrame *last = av_frame_alloc(), *slate = av_frame_alloc();

	(void)state;
	for (AVFrame *f = last; f; f = f == last ? slate : NULL) {
		f->format = AV_PIX_FMT_YUV420P;
		f->width = 640;
		f->height = 360;
		assert_int_equal(av_frame_get_buffer(f, 0), 0);
	}
	enc_pattern_draw(last, 7);
	assert_true(mean_luma(last) > 90);
	assert_int_equal(enc_slate_draw(slate, NULL, last, 65), 0);
	/* Darker than the picture, with its text in white (1:05 lost). */
	assert_true(mean_luma(slate) < mean_luma(last) / 2);
	assert_true(count_luma(slate, 235) > 1000);
	/* Nothing came yet: a dark grey with the same text. */
	assert_int_equal(enc_slate_draw(slate, NULL, NULL, 0), 0);
	assert_true(mean_luma(slate) < 60);
	assert_true(count_luma(slate, 235) > 1000);
	/* --slate reads a picture (here the first of a file of the test pattern), scaled. */
	{
		char path[] = "/tmp/mps-enc-XXXXXX.flv";
		AVFrame *image = NULL;

		temp_flv(path);
		encode(ENC_INPUT_TEST, false, path, 0.3);
		assert_int_equal(enc_slate_load(path, 320, 180, &image), 0);
		assert_int_equal(image->width, 320);
		assert_true(mean_luma(image) > 90);
		av_frame_free(&image);
		unlink(path);
		assert_int_equal(enc_slate_load(path, 320, 180, &image), AVERROR(ENOENT));
	}
	/* An image of the operator's is taken as it is. */
	assert_int_equal(enc_slate_draw(slate, last, NULL, 3), 0);
	assert_true(mean_luma(slate) > 90);
	av_frame_free(&last);
	av_frame_free(&slate);
}

/* A live device that does not exist is an error at once; an option it does not know too. */
static void test_live_errors(void **state)
{
	struct enc_live_config cfg = {.width = 320, .height = 240, .fps = 25, .timeout_ms = 500};
	struct enc_live *l = NULL;

	(void)state;
	cfg.input = "v4l2:/dev/video97";
	assert_int_equal(enc_live_start(&cfg, &l), AVERROR(ENOENT));
	cfg.input = "v4l2:/dev/video97?size";
	assert_int_equal(enc_live_start(&cfg, &l), AVERROR(EINVAL));
	cfg.input = "lavfi:nullsrc=size=320x240";
	cfg.slate = "/nonexistent/slate.png";
	assert_int_equal(enc_live_start(&cfg, &l), AVERROR(ENOENT));
	assert_null(l);
}

/* The lavfi device, through the same path as V4L2's: pictures come, and keep coming when it ends. */
static void test_live_device(void **state)
{
	struct enc_live_config cfg = {
		.input = "lavfi:testsrc2=size=320x240:rate=25:duration=1,realtime",
		.audio = "none",
		.width = 320,
		.height = 240,
		.fps = 25,
		.timeout_ms = 300,
	};
	struct enc_input_status st;
	struct enc_live *l = NULL;

	(void)state;
	assert_int_equal(enc_live_start(&cfg, &l), 0);
	for (int i = 0; i < 50; i++) {
		enc_live_status(l, &st);
		if (st.state == ENC_INPUT_UP)
			break;
		usleep(20000);
	}
	assert_int_equal(st.state, ENC_INPUT_UP);
	/* The graph ends after 1 s and is opened again at once: never lost. */
	for (int i = 0; i < 100; i++) {
		enc_live_status(l, &st);
		assert_int_equal(st.state, ENC_INPUT_UP);
		usleep(20000);
	}
	assert_int_equal(st.losses, 0);
	enc_live_stop(l);
}

/*
 * The live sound's jitter buffer, in simulated time (a frame of 1024 taken
 * every 21.3 ms): a source whose sound comes in bursts (300 ms every 300 ms,
 * as an MPEG-TS muxer sends it) loses nothing once the buffer has grown to
 * its bursts; one whose clock runs 1 % fast has that 1 % dropped, its buffer
 * bounded; an exact one is neither dropped nor starved.
 */
static int64_t feed(struct enc_abuf *b, double seconds, int burst, double period_s, double rate,
		    int64_t *underruns_late)
{
	AVFrame *out = enc_audio_frame_alloc();
	uint8_t **buf = NULL;
	double next_burst = 0, owed = 0;
	int64_t t_ns = 1, frames = (int64_t)(seconds * 48000 / 1024), u0 = 0, max_level = 0;

	assert_non_null(out);
	assert_true(av_samples_alloc_array_and_samples(&buf, NULL, 2, 48000, AV_SAMPLE_FMT_FLTP,
						       0) >= 0);
	for (int64_t k = 0; k < frames; k++) {
		double now = k * 1024.0 / 48000;

		while (next_burst <= now) {
			owed += burst * rate;
			assert_int_equal(enc_abuf_put(b, buf, (int)owed), 0);
			owed -= (int)owed;
			next_burst += period_s;
		}
		if (now >= seconds / 4 && !u0)
			u0 = b->underruns + 1;
		t_ns = (int64_t)(now * 1e9) + 1;
		assert_int_equal(enc_abuf_take(b, out, t_ns), 0);
		if (av_audio_fifo_size(b->fifo) > max_level)
			max_level = av_audio_fifo_size(b->fifo);
	}
	*underruns_late = b->underruns + 1 - u0;
	av_freep(&buf[0]);
	av_freep(&buf);
	av_frame_free(&out);
	return max_level;
}

static void test_audio_buffer(void **state)
{
	struct enc_abuf b;
	int64_t late, level;

	(void)state;
	/* Bursts of 300 ms every 300 ms. */
	assert_int_equal(enc_abuf_init(&b, 2048, 4 * 48000), 0);
	level = feed(&b, 40, 14400, 0.3, 1.0, &late);
	printf("figure: bursts of 300 ms: %" PRId64 " underruns (%" PRId64
	       " after the first 10 s), %" PRId64 " samples dropped, target %d ms, peak %" PRId64
	       " ms\n",
	       b.underruns, late, b.dropped, b.target / 48, level / 48);
	assert_int_equal(b.dropped, 0);
	assert_int_equal(late, 0);
	assert_true(b.target <= 2048 + 400 * 48);
	enc_abuf_free(&b);

	/* A clock 1 % fast, steady delivery of 1024 at a time. */
	assert_int_equal(enc_abuf_init(&b, 2048, 4 * 48000), 0);
	level = feed(&b, 60, 1024, 1024.0 / 48000, 1.01, &late);
	printf("figure: 1 %% fast: %" PRId64 " ms dropped of 600, %" PRId64 " drains, peak %" PRId64
	       " ms\n",
	       b.dropped / 48, b.drains, level / 48);
	assert_in_range(b.dropped / 48, 450, 620);
	assert_true(level / 48 <= 2048 / 48 + 100 + 20 + 40);
	assert_int_equal(late, 0);
	enc_abuf_free(&b);

	/* Exact. */
	assert_int_equal(enc_abuf_init(&b, 2048, 4 * 48000), 0);
	feed(&b, 60, 1024, 1024.0 / 48000, 1.0, &late);
	assert_int_equal(b.dropped, 0);
	assert_int_equal(b.underruns, 0);
	enc_abuf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pattern_to_flv),	 cmocka_unit_test(test_unreadable_input),
		cmocka_unit_test(test_bad_preset),	 cmocka_unit_test(test_encoder_choice),
		cmocka_unit_test(test_queue_bound),	 cmocka_unit_test(test_copy),
		cmocka_unit_test(test_bitrate_change),	 cmocka_unit_test(test_hevc_bitrate_change),
		cmocka_unit_test(test_hevc_flv),	 cmocka_unit_test(test_hevc_rtmp),
		cmocka_unit_test(test_hevc_copy),	 cmocka_unit_test(test_sound_stops),
		cmocka_unit_test(test_skip_to_keyframe), cmocka_unit_test(test_slate),
		cmocka_unit_test(test_sound_only_flv),	 cmocka_unit_test(test_live_errors),
		cmocka_unit_test(test_live_device),	 cmocka_unit_test(test_audio_buffer),
	};

	av_log_set_level(AV_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
