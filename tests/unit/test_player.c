// SPDX-License-Identifier: MIT
/*
 * The player (encoder/player.c, `mpstream probe`'s decoding) on Enhanced FLV
 * files that eflv_out.c writes: a new decoder configuration record mid-stream
 * drains the decoder it replaces first (libx265 with B-frames, whose decoder
 * holds frames back to reorder them), and a record the decoder refuses is
 * said as that, not as a stream without video.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavformat/avio.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "encoder.h"
#include "eflv_out.h"
#include "loopback.h"

#define FPS	  30
#define MAX_PKTS  64
#define START	  FPS /* a second in: B-frames' first decoding times stay positive */
#define CLIP_GAP  5   /* frames between two clips: their decoding times do not overlap */
#define TB	  ((AVRational){1, FPS})
#define PAD_BYTES 16

struct clip {
	AVPacket *pkt[MAX_PKTS];
	int n;
	int frames;
	AVCodecParameters *par;
};

/* A moving gradient, so that the encoder has something to predict. */
static void fill(AVFrame *f, int i)
{
	assert_int_equal(av_frame_make_writable(f), 0);
	for (int y = 0; y < f->height; y++)
		for (int x = 0; x < f->width; x++)
			f->data[0][y * f->linesize[0] + x] = (uint8_t)(x + y + 4 * i);
	for (int p = 1; p < 3; p++)
		for (int y = 0; y < f->height / 2; y++)
			memset(f->data[p] + y * f->linesize[p], 128, (size_t)f->width / 2);
}

/* @frames frames of @w x @h from libx265 with B-frames, its parameter sets as extradata. */
static void encode_clip(int w, int h, int frames, struct clip *c)
{
	const AVCodec *codec = avcodec_find_encoder_by_name("libx265");
	AVCodecContext *enc;
	AVFrame *f = av_frame_alloc();
	AVPacket *pkt = av_packet_alloc();
	AVDictionary *opts = NULL;

	memset(c, 0, sizeof(*c));
	assert_non_null(codec);
	enc = avcodec_alloc_context3(codec);
	assert_non_null(enc);
	enc->width = w;
	enc->height = h;
	enc->pix_fmt = AV_PIX_FMT_YUV420P;
	enc->time_base = TB;
	enc->framerate = (AVRational){FPS, 1};
	enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
	av_dict_set(&opts, "preset", "ultrafast", 0);
	av_dict_set(&opts, "x265-params", "bframes=3:b-adapt=0:log-level=error", 0);
	assert_int_equal(avcodec_open2(enc, codec, &opts), 0);
	av_dict_free(&opts);
	f->format = enc->pix_fmt;
	f->width = w;
	f->height = h;
	assert_int_equal(av_frame_get_buffer(f, 0), 0);
	for (int i = 0; i <= frames; i++) {
		if (i < frames) {
			fill(f, i);
			f->pts = i;
		}
		assert_int_equal(avcodec_send_frame(enc, i < frames ? f : NULL), 0);
		while (avcodec_receive_packet(enc, pkt) == 0) {
			assert_true(c->n < MAX_PKTS);
			c->pkt[c->n++] = av_packet_clone(pkt);
			av_packet_unref(pkt);
		}
	}
	c->frames = frames;
	c->par = avcodec_parameters_alloc();
	assert_int_equal(avcodec_parameters_from_context(c->par, enc), 0);
	av_packet_free(&pkt);
	av_frame_free(&f);
	avcodec_free_context(&enc);
}

static void free_clip(struct clip *c)
{
	for (int i = 0; i < c->n; i++)
		av_packet_free(&c->pkt[i]);
	avcodec_parameters_free(&c->par);
}

/* @c's packets, @offset frames later; the first carries @c's parameter sets when @announce. */
static void write_clip(struct enc_eflv *w, const struct clip *c, int64_t offset, bool announce)
{
	for (int i = 0; i < c->n; i++) {
		AVPacket *pkt = av_packet_clone(c->pkt[i]);
		uint8_t *side;

		assert_non_null(pkt);
		pkt->pts += offset;
		pkt->dts += offset;
		if (!i && announce) {
			side = av_packet_new_side_data(pkt, AV_PKT_DATA_NEW_EXTRADATA,
						       (size_t)c->par->extradata_size);
			assert_non_null(side);
			memcpy(side, c->par->extradata, (size_t)c->par->extradata_size);
		}
		assert_int_equal(enc_eflv_write(w, pkt, 0), 0);
		av_packet_free(&pkt);
	}
}

/* An Enhanced FLV file of video only: @a, then @b (NULL: none) with its new record. */
static void write_file(const char *path, const AVCodecParameters *par, const struct clip *a,
		       const struct clip *b)
{
	struct enc_eflv_streams st = {.par = {par, NULL}, .tb = {TB, TB}, .fps = FPS};
	struct enc_eflv *w = NULL;
	AVIOContext *pb = NULL;

	assert_int_equal(avio_open(&pb, path, AVIO_FLAG_WRITE), 0);
	assert_int_equal(enc_eflv_open(pb, &st, &w), 0);
	if (a)
		write_clip(w, a, START, false);
	if (b)
		write_clip(w, b, START + a->frames + CLIP_GAP, true);
	assert_int_equal(enc_eflv_finish(w), 0);
	enc_eflv_free(w);
	assert_int_equal(avio_closep(&pb), 0);
}

static void temp_path(char *path)
{
	int fd = mkstemps(path, 4);

	assert_true(fd >= 0);
	close(fd);
}

/*
 * Two clips of other sizes, so other parameter sets, one after the other: every
 * frame of both decodes, in presentation order (the first clip's last frames,
 * drained from its decoder, before the second's).
 */
static void test_new_record_drains(void **state)
{
	char path[] = "/tmp/mps-player-XXXXXX.flv";
	struct enc_player *p = NULL;
	struct enc_player_frame fr;
	struct clip a, b;
	int64_t last = -1;
	int n = 0, ret;

	(void)state;
	encode_clip(320, 240, 20, &a);
	encode_clip(256, 144, 20, &b);
	assert_true(memcmp(a.par->extradata, b.par->extradata, (size_t)a.par->extradata_size) != 0);
	temp_path(path);
	write_file(path, a.par, &a, &b);
	assert_int_equal(enc_player_open(path, 5000, NULL, NULL, &p), 0);
	while ((ret = enc_player_next(p, &fr)) == 0) {
		assert_true(fr.pts_us > last);
		last = fr.pts_us;
		n++;
	}
	assert_int_equal(ret, ENC_ERR_EOF);
	assert_int_equal(n, a.frames + b.frames);
	enc_player_close(p);
	free_clip(&a);
	free_clip(&b);
	unlink(path);
}

/*
 * A record whose only parameter set is cut short: libavcodec's HEVC decoder
 * refuses to open. The player says so (ENC_ERR_DECODER), not that the stream
 * has no video.
 */
static void test_refused_record(void **state)
{
	/* configurationVersion 1, 4-byte NAL lengths, one array (SPS) of one NAL of 1000 bytes. */
	static const uint8_t record[] = {1, 1,	  0x60, 0,    0, 0, 0x90, 0,	0,    0,
					 0, 0,	  0,	0x3c, 0, 0, 1,	  0,	0,    0,
					 0, 0x03, 1,	0x21, 0, 1, 0x03, 0xe8, 0x42, 0x01};
	static const uint8_t idr[] = {0, 0, 0, 3, 0x26, 0x01, 0xaf};
	char path[] = "/tmp/mps-player-XXXXXX.flv", buf[128];
	AVCodecParameters *par = avcodec_parameters_alloc();
	struct enc_eflv_streams st = {.par = {par, NULL}, .tb = {TB, TB}, .fps = FPS};
	struct enc_player *p = NULL;
	struct enc_player_frame fr;
	struct enc_eflv *w = NULL;
	AVIOContext *pb = NULL;
	AVPacket *pkt = av_packet_alloc();
	int ret;

	(void)state;
	par->codec_type = AVMEDIA_TYPE_VIDEO;
	par->codec_id = AV_CODEC_ID_HEVC;
	par->width = 320;
	par->height = 240;
	par->extradata = av_mallocz(sizeof(record) + PAD_BYTES);
	memcpy(par->extradata, record, sizeof(record));
	par->extradata_size = sizeof(record);
	temp_path(path);
	assert_int_equal(avio_open(&pb, path, AVIO_FLAG_WRITE), 0);
	assert_int_equal(enc_eflv_open(pb, &st, &w), 0);
	assert_int_equal(av_new_packet(pkt, sizeof(idr)), 0);
	memcpy(pkt->data, idr, sizeof(idr));
	pkt->pts = pkt->dts = START;
	pkt->flags = AV_PKT_FLAG_KEY;
	assert_int_equal(enc_eflv_write(w, pkt, 0), 0);
	assert_int_equal(enc_eflv_finish(w), 0);
	enc_eflv_free(w);
	assert_int_equal(avio_closep(&pb), 0);

	assert_int_equal(enc_player_open(path, 5000, NULL, NULL, &p), 0);
	ret = enc_player_next(p, &fr);
	assert_int_equal(ret, ENC_ERR_DECODER);
	assert_string_equal(enc_strerror(ret, buf, sizeof(buf)),
			    "the decoder of the stream's video does not open");
	enc_player_close(p);
	av_packet_free(&pkt);
	avcodec_parameters_free(&par);
	unlink(path);
}

struct ts_caller {
	const struct clip *c;
	char url[64];
	int ret;
};

/* A caller of @arg's url: @arg's clip as MPEG-TS, once the player listens. */
static void *ts_call(void *arg)
{
	struct ts_caller *t = arg;
	AVFormatContext *oc = NULL;
	AVStream *st;
	int ret = -1;

	if (avformat_alloc_output_context2(&oc, NULL, "mpegts", t->url) < 0)
		goto out;
	st = avformat_new_stream(oc, NULL);
	if (!st || avcodec_parameters_copy(st->codecpar, t->c->par) < 0)
		goto out;
	st->time_base = TB;
	for (int i = 0; i < 100 && (ret = avio_open(&oc->pb, t->url, AVIO_FLAG_WRITE)) < 0; i++)
		usleep(20000); /* until the player listens */
	if (ret < 0 || (ret = avformat_write_header(oc, NULL)) < 0)
		goto out;
	for (int i = 0; i < t->c->n && ret >= 0; i++) {
		AVPacket *pkt = av_packet_clone(t->c->pkt[i]);

		pkt->pts += START;
		pkt->dts += START;
		av_packet_rescale_ts(pkt, TB, st->time_base);
		ret = av_interleaved_write_frame(oc, pkt);
		av_packet_free(&pkt);
	}
	if (ret >= 0)
		ret = av_write_trailer(oc);
out:
	if (oc)
		avio_closep(&oc->pb);
	avformat_free_context(oc);
	t->ret = ret;
	return NULL;
}

/*
 * Another format than FLV on a connection the player listens on (MPEG-TS, as
 * srtla's receiver hands it over SRT): the bytes read to tell the format are
 * given to libavformat with the rest. Opened again, the listener waited for a
 * caller that was gone, and timed out.
 */
static void test_listener_not_flv(void **state)
{
	struct ts_caller t = {0};
	struct enc_player *p = NULL;
	struct enc_player_frame fr;
	struct sockaddr_in a;
	struct clip c;
	char url[80];
	pthread_t th;
	int n = 0, ret, fd;

	(void)state;
	encode_clip(320, 240, 20, &c);
	fd = loopback_listener(1, &a);
	close(fd); /* a free port, for the player to listen on */
	t.c = &c;
	snprintf(t.url, sizeof(t.url), "tcp://127.0.0.1:%d", ntohs(a.sin_port));
	snprintf(url, sizeof(url), "%s?listen=1", t.url);
	assert_int_equal(pthread_create(&th, NULL, ts_call, &t), 0);
	ret = enc_player_open(url, 5000, NULL, NULL, &p);
	if (!ret) {
		while ((ret = enc_player_next(p, &fr)) == 0)
			n++;
		enc_player_close(p);
	}
	pthread_join(th, NULL);
	print_message("MPEG-TS to a listening player: %d of %d frames (%d)\n", n, c.frames, ret);
	assert_int_equal(t.ret, 0);
	assert_int_equal(ret, ENC_ERR_EOF);
	assert_int_equal(n, c.frames);
	free_clip(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_record_drains),
		cmocka_unit_test(test_refused_record),
		cmocka_unit_test(test_listener_not_flv),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
