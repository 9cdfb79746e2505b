// SPDX-License-Identifier: MIT
/*
 * The local recording (--record): every packet the encoders made, before the
 * network queue can drop any, written by a thread of its own (a slow or full
 * card must not hold up the stream) into a container that a crash or a power
 * cut leaves readable: Matroska (a cluster per keyframe, the segment's size
 * left unknown until the end), fragmented MP4 (a fragment per keyframe),
 * MPEG-TS or FLV. Live periods one after another go into the same file, their
 * timestamps one after the other.
 */
#include "enc_internal.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <libavutil/mathematics.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define RECORD_TAG     "record"
#define MAX_WAITING    4000 /* packets: about 1 min of 30 fps video with its audio */
#define MAX_PATH_BYTES 4096

struct rec_node {
	AVPacket *pkt; /* in the recording's stream time base */
	struct rec_node *next;
};

struct enc_record {
	char path[MAX_PATH_BYTES];
	int fd;		     /* open for the whole run, its flock() held: the file is this run's */
	AVFormatContext *oc; /* NULL until the first session gives the streams */
	AVRational tb_in[2]; /* the current session's time bases */
	int64_t offset_us;   /* added to the current session's timestamps */
	int64_t end_us;	     /* end of the latest packet, recording time */
	int64_t frame_us;    /* a video frame's duration */
	bool header_failed;  /* the muxer could not start: nothing is ever recorded */

	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct rec_node *head, *tail;
	int waiting;
	bool closing;
	bool failed;	  /* a write failed: the recording ended there */
	bool skip_to_key; /* the queue was full: nothing until a video keyframe */
	int64_t written;  /* packets the muxer took */
	struct enc_record_stats stats;
};

int enc_record_name(const char *pattern, char *out, size_t size)
{
	time_t now = time(NULL);
	struct tm tm;
	size_t n;

	if (!localtime_r(&now, &tm))
		return -EINVAL;
		/* The pattern is the user's, as date(1)'s is. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	n = strftime(out, size, pattern, &tm);
#pragma GCC diagnostic pop
	return n == 0 || n >= size ? -ENAMETOOLONG : 0;
}

static const char *format_for(const char *path)
{
	static const struct {
		const char *ext, *format;
	} formats[] = {
		{".mkv", "matroska"}, {".mp4", "mp4"}, {".mov", "mov"},
		{".ts", "mpegts"},    {".flv", "flv"},
	};
	size_t len = strlen(path);

	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		size_t el = strlen(formats[i].ext);

		if (len > el && !strcasecmp(path + len - el, formats[i].ext))
			return formats[i].format;
	}
	return NULL;
}

static void *writer(void *opaque);

/*
 * An empty regular file of that name holds no recording (a run killed during
 * its set-up left it): take it rather than refuse to start. -1 with errno
 * EEXIST otherwise.
 */
static int take_over_empty(const char *path)
{
	int fd = open(path, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC); /* a FIFO: no wait */
	struct stat sb;

	/* Not one that a recording under way has just created: that one holds its lock. */
	if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0 && fstat(fd, &sb) == 0 &&
	    S_ISREG(sb.st_mode) && sb.st_size == 0) {
		LOG_WARN(RECORD_TAG,
			 "%s is there and empty (an earlier run ended before it "
			 "recorded anything): recording into it",
			 path);
		return fd;
	}
	if (fd >= 0)
		close(fd);
	errno = EEXIST;
	return -1;
}

int enc_record_open(const char *pattern, struct enc_record **out)
{
	struct enc_record *r = calloc(1, sizeof(*r));
	int fd, ret;

	if (!r)
		return -ENOMEM;
	ret = enc_record_name(pattern, r->path, sizeof(r->path));
	if (ret < 0) {
		LOG_ERR(RECORD_TAG, "--record '%s': the name is too long", pattern);
		free(r);
		return -EINVAL;
	}
	if (!format_for(r->path)) {
		LOG_ERR(RECORD_TAG,
			"--record %s: expected a name ending in .mkv, .mp4, .mov, .ts "
			"or .flv",
			r->path);
		free(r);
		return -EINVAL;
	}
	/* Never over an earlier recording: a restart must not wipe the last one out. */
	fd = open(r->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0 && errno == EEXIST)
		fd = take_over_empty(r->path);
	if (fd < 0) {
		ret = -errno;
		LOG_ERR(RECORD_TAG, "cannot create %s: %s%s", r->path, strerror(-ret),
			ret == -EEXIST ? " (a recording is never overwritten: put %Y%m%d-%H%M%S "
					 "in the name for one file per run)"
				       : "");
		free(r);
		return ret;
	}
	if (flock(fd, LOCK_EX | LOCK_NB))
		LOG_DEBUG(RECORD_TAG, "cannot lock %s: %s", r->path, strerror(errno));
	r->fd = fd;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	ret = -pthread_create(&r->thread, NULL, writer, r);
	if (ret < 0) {
		unlink(r->path);
		close(fd);
		pthread_mutex_destroy(&r->lock);
		pthread_cond_destroy(&r->cond);
		free(r);
		return ret;
	}
	*out = r;
	return 0;
}

const char *enc_record_path(const struct enc_record *r)
{
	return r->path;
}

/* A muxer that failed half-way: gone, so that nothing writes into it. */
static void drop_muxer(struct enc_record *r)
{
	if (!r->oc)
		return;
	avio_closep(&r->oc->pb);
	avformat_free_context(r->oc);
	r->oc = NULL;
}

/* The muxer, with the first session's streams. */
static int open_muxer(struct enc_record *r, const struct enc_session *s)
{
	const char *fmt = format_for(r->path);
	bool hevc = s->par[ENC_VIDEO] && s->par[ENC_VIDEO]->codec_id == AV_CODEC_ID_HEVC;
	AVDictionary *opts = NULL;
	char url[MAX_PATH_BYTES + 8];
	int ret;

	/*
	 * The name is a file's, never a URL: "x:1.ts" is not protocol x (libavformat
	 * takes what comes before a colon for a protocol's name unless told "file:").
	 */
	snprintf(url, sizeof(url), "file:%s", r->path);
	if (hevc && !strcmp(fmt, "flv")) {
		/* FFmpeg 5.1's FLV muxer has no HEVC; Matroska and MP4 have. */
		LOG_ERR(RECORD_TAG, "--record %s: FLV takes no HEVC here; record to .mkv or .mp4",
			r->path);
		return AVERROR(ENOTSUP);
	}
	ret = avformat_alloc_output_context2(&r->oc, NULL, fmt, url);
	if (ret < 0)
		return ret;
	for (int k = ENC_VIDEO; k <= ENC_AUDIO; k++) {
		AVStream *st;

		if (!s->par[k])
			continue;
		st = avformat_new_stream(r->oc, NULL);
		if (!st)
			return AVERROR(ENOMEM);
		if ((ret = avcodec_parameters_copy(st->codecpar, s->par[k])) < 0)
			return ret;
		st->codecpar->codec_tag = 0;
		/* 'hvc1' (the parameter sets in the sample entry only), which Apple's players want. */
		if (hevc && k == ENC_VIDEO && (!strcmp(fmt, "mp4") || !strcmp(fmt, "mov")))
			st->codecpar->codec_tag = MKTAG('h', 'v', 'c', '1');
		st->time_base = s->tb[k];
	}
	ret = avio_open(&r->oc->pb, url, AVIO_FLAG_WRITE);
	if (ret < 0)
		return ret;
	/* A fragment per keyframe, each complete on its own: readable after a crash. */
	if (!strcmp(fmt, "mp4") || !strcmp(fmt, "mov"))
		av_dict_set(&opts, "movflags", "frag_keyframe+empty_moov+default_base_moof", 0);
	/* A cluster ends at a keyframe and at least every second. */
	if (!strcmp(fmt, "matroska"))
		av_dict_set(&opts, "cluster_time_limit", "1000", 0);
	r->oc->flags |= AVFMT_FLAG_FLUSH_PACKETS;
	ret = avformat_write_header(r->oc, &opts);
	av_dict_free(&opts);
	return ret < 0 ? ret : 0;
}

int enc_record_attach(struct enc_record *r, struct enc_session *s)
{
	int ret = 0;

	pthread_mutex_lock(&r->lock);
	if (!r->oc && !r->header_failed) {
		ret = open_muxer(r, s);
		if (ret < 0) {
			LOG_ERR(RECORD_TAG,
				"cannot write %s: %s; the stream goes on without the recording",
				r->path, av_err2str(ret));
			drop_muxer(r);
			r->header_failed = true;
		}
	}
	for (int k = ENC_VIDEO; k <= ENC_AUDIO; k++)
		r->tb_in[k] = s->tb[k];
	r->frame_us = s->cfg.fps > 0 ? 1000000 / s->cfg.fps : 33333;
	/* A later live period goes on a frame after the previous one ended. */
	r->offset_us = r->stats.packets ? r->end_us + r->frame_us : 0;
	pthread_mutex_unlock(&r->lock);
	return ret;
}

/* Under lock: @pkt (in the session's time base) into the recording's timeline. */
static void retime(struct enc_record *r, AVPacket *pkt, int k)
{
	AVRational out = r->oc->streams[k]->time_base;
	int64_t off = av_rescale_q(r->offset_us, AV_TIME_BASE_Q, out);
	int64_t end_us;

	av_packet_rescale_ts(pkt, r->tb_in[k], out);
	if (pkt->pts != AV_NOPTS_VALUE)
		pkt->pts += off;
	if (pkt->dts != AV_NOPTS_VALUE)
		pkt->dts += off;
	end_us = av_rescale_q(pkt->dts + pkt->duration, out, AV_TIME_BASE_Q);
	if (end_us > r->end_us)
		r->end_us = end_us;
}

void enc_record_packet(struct enc_record *r, const AVPacket *pkt, int kind, bool key)
{
	struct rec_node *n;

	pthread_mutex_lock(&r->lock);
	if (!r->oc || r->header_failed || r->failed || r->closing || kind >= (int)r->oc->nb_streams)
		goto out;
	if (r->skip_to_key && !(kind == ENC_VIDEO && key)) {
		r->stats.dropped += kind == ENC_VIDEO;
		goto out;
	}
	if (r->waiting >= MAX_WAITING) {
		if (!r->skip_to_key)
			LOG_WARN(RECORD_TAG,
				 "%s cannot keep up: frames are left out of the "
				 "recording until it can",
				 r->path);
		r->skip_to_key = true;
		r->stats.dropped += kind == ENC_VIDEO;
		goto out;
	}
	r->skip_to_key = false;
	n = calloc(1, sizeof(*n));
	if (!n || !(n->pkt = av_packet_clone(pkt))) {
		free(n);
		goto out;
	}
	n->pkt->stream_index = kind;
	retime(r, n->pkt, kind);
	if (r->tail)
		r->tail->next = n;
	else
		r->head = n;
	r->tail = n;
	r->waiting++;
	r->stats.packets++;
	pthread_cond_signal(&r->cond);
out:
	pthread_mutex_unlock(&r->lock);
}

static void *writer(void *opaque)
{
	struct enc_record *r = opaque;

	pthread_mutex_lock(&r->lock);
	for (;;) {
		struct rec_node *n;
		int ret;

		while (!r->head && !r->closing)
			pthread_cond_wait(&r->cond, &r->lock);
		n = r->head;
		if (!n)
			break;
		r->head = n->next;
		if (!r->head)
			r->tail = NULL;
		r->waiting--;
		pthread_mutex_unlock(&r->lock);

		ret = r->failed ? 0 : av_interleaved_write_frame(r->oc, n->pkt);
		av_packet_free(&n->pkt);
		free(n);

		pthread_mutex_lock(&r->lock);
		r->written += ret >= 0 && !r->failed;
		if (ret < 0) {
			LOG_ERR(RECORD_TAG,
				"writing %s failed: %s; the stream goes on, the "
				"recording ends here",
				r->path, av_err2str(ret));
			r->failed = true;
		}
		r->stats.bytes = r->oc && r->oc->pb ? avio_tell(r->oc->pb) : 0;
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

void enc_record_stats(struct enc_record *r, struct enc_record_stats *st)
{
	pthread_mutex_lock(&r->lock);
	*st = r->stats;
	st->failed = r->failed || r->header_failed;
	pthread_mutex_unlock(&r->lock);
}

/* The size of @path; 0 when it cannot be told. */
static int64_t file_size(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? (int64_t)sb.st_size : 0;
}

int enc_record_close(struct enc_record *r)
{
	int ret = 0;
	bool empty;

	if (!r)
		return 0;
	pthread_mutex_lock(&r->lock);
	r->closing = true;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->thread, NULL);
	if (r->oc && !r->failed && !r->header_failed && (ret = av_write_trailer(r->oc)) > 0)
		ret = 0; /* mov's trailer returns what it wrote */
	drop_muxer(r);
	empty = !r->written || !file_size(r->path);
	if (empty) {
		/*
		 * Nothing was recorded (the run ended during set-up, the muxer could
		 * not start, the disk was full from the first byte): nothing is left,
		 * and a restart with the same name does not find a file in its way.
		 */
		unlink(r->path);
		if (r->header_failed || r->failed)
			LOG_WARN(RECORD_TAG, "nothing was recorded: %s removed", r->path);
	} else if (ret < 0 || r->failed) {
		LOG_WARN(RECORD_TAG, "%s is complete up to where writing failed", r->path);
	} else {
		LOG_INFO(RECORD_TAG, "recorded %.1f s to %s (%.1f MB%s)", r->end_us / 1e6, r->path,
			 r->stats.bytes / 1e6,
			 r->stats.dropped ? ", some frames left out: the disk was too slow" : "");
	}
	close(r->fd); /* the lock goes after the file: no other run takes it half-removed */
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->cond);
	free(r);
	return ret;
}
