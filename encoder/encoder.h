/* SPDX-License-Identifier: MIT */
/*
 * encoder: read or generate audio/video, encode it with x264 and AAC, and push
 * it as FLV to an rtmp:// (or rtmps://, or file) URL with libavformat, paced in
 * real time.
 *
 * Errors are negative errno values, or one of the ENC_ERR_* codes below
 * (libav*'s own codes, with the same values: nothing outside encoder/ needs
 * libav*'s headers to read them). enc_strerror() names any of them.
 */
#ifndef MPS_ENCODER_H
#define MPS_ENCODER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ENC_INPUT_TEST	  "test"
#define ENC_AUDIO_BITRATE 128000 /* AAC, stereo 48 kHz */

#define ENC_WARN_UNUSED __attribute__((warn_unused_result))

/* libav*'s error tags, as FFERRTAG() makes them. */
#define ENC_ERRTAG(a, b, c, d)                                                 \
	(-(int)((unsigned)(a) | ((unsigned)(b) << 8) | ((unsigned)(c) << 16) | \
		((unsigned)(d) << 24)))
#define ENC_ERR_EOF		  ENC_ERRTAG('E', 'O', 'F', ' ') /* the end of the input or stream */
#define ENC_ERR_EXIT		  ENC_ERRTAG('E', 'X', 'I', 'T')  /* interrupted on purpose */
#define ENC_ERR_INVALIDDATA	  ENC_ERRTAG('I', 'N', 'D', 'A')  /* an input it cannot read */
#define ENC_ERR_STREAM_NOT_FOUND  ENC_ERRTAG(0xF8, 'S', 'T', 'R') /* no video in the input */
#define ENC_ERR_OPTION_NOT_FOUND  ENC_ERRTAG(0xF8, 'O', 'P', 'T') /* a device option unknown */
#define ENC_ERR_ENCODER_NOT_FOUND ENC_ERRTAG(0xF8, 'E', 'N', 'C') /* no such encoder */
/* mpstream's own (no libav* code has it): the stream's video, whose decoder does not open */
#define ENC_ERR_DECODER ENC_ERRTAG('D', 'E', 'C', 'O')

/* A line for @err (-errno or ENC_ERR_*) in @buf; returns @buf. */
const char *enc_strerror(int err, char *buf, size_t size);
/*
 * Whether @err, from opening an input, says the input cannot be read (no
 * such file, a file that cannot be read such as /proc/self/mem, a server
 * that refuses or answers 404, no protocol or demuxer for it): exit 66.
 */
bool enc_err_is_input(int err);

struct enc_live;

/*
 * The video codec sent. ENC_CODEC_AUTO: H.264 when encoding (nothing tells
 * whether a server takes HEVC before it is sent), the file's own with --copy
 * of a file, H.264 with --copy of a live input.
 */
enum enc_codec { ENC_CODEC_H264, ENC_CODEC_HEVC, ENC_CODEC_AUTO };

/* "h264", "hevc", "auto". */
const char *enc_codec_name(enum enc_codec c);

struct enc_config {
	const char *input;     /* ENC_INPUT_TEST or a file/URL libavformat reads */
	struct enc_live *live; /* a live input (enc_live_start), read instead of @input */
	bool loop;	       /* start a file input again at its end */
	int width, height;
	int fps;
	enum enc_codec codec;
	const char *encoder; /* libavcodec's encoder of @codec; NULL: libx264 or libx265 */
	const char *preset;  /* x264's or x265's preset */
	int64_t bitrate;     /* video bit/s, at the start (enc_session_set_bitrate) */
	int buffer_ms;	     /* packets waiting for the network: beyond this, whole GOPs go */
	bool copy; /* pass an H.264 or HEVC/AAC file, or a live source's H.264 (HEVC), as it is */
};

struct enc_output_config {
	const char *url;
	int connect_timeout_ms;
	/* rtmps://: the server's certificate is checked against the system's CAs, or @ca_file's;
	 * @insecure skips the check. */
	const char *ca_file;
	bool insecure;
	/*
	 * Polled while libavformat blocks on the network. @blocked_ms is how long
	 * the current write has been blocked (0 while connecting). Non-zero
	 * aborts the I/O.
	 */
	int (*interrupt)(void *opaque, int blocked_ms);
	void *opaque;
};

/* A live input's state (ENC_INPUT_NONE: the input is not live). */
enum enc_input_state { ENC_INPUT_NONE, ENC_INPUT_WAITING, ENC_INPUT_UP, ENC_INPUT_LOST };

struct enc_input_status {
	enum enc_input_state state;
	int64_t lost_ms;       /* how long it has been lost or waited for; 0 while up */
	int64_t lost_total_ms; /* all its losses, the one going on included */
	int64_t losses;	       /* times it was lost after it had been up */
};

/* "up", "lost", "waiting" or "-". */
const char *enc_input_state_name(enum enc_input_state st);

struct enc_progress {
	int64_t video_frames; /* encoded */
	int64_t audio_frames;
	int64_t media_time_us;	/* timestamp of the last frame encoded */
	int64_t bytes_out;	/* written to outputs, headers included, all connections */
	int64_t dropped_frames; /* video frames dropped from the queue (whole GOPs) */
	int queue_ms;		/* media time waiting in the queue */
	int64_t video_bytes;	/* of encoded video */
	int64_t target_bps;	/* the video encoder's bit rate now (0 with cfg.copy) */
	struct enc_input_status input;
};

struct enc_session;
struct enc_output;

/*
 * A live input: a camera or phone pushing to a listening URL (srt://,
 * udp://, rtmp:// with a 0.0.0.0 host), a URL to call, or a capture device
 * (FORMAT:DEVICE through libavdevice: v4l2:/dev/video0?size=1280x720,
 * alsa:hw:1,0, lavfi:...). Each source is read by a thread of its own that
 * reopens it, with back-off, whenever it drops. The session samples the
 * newest picture at the stream's own frame rate and clock; when no picture
 * came for timeout_ms it sends the slate instead, so that the stream goes on.
 */
struct enc_live_config {
	const char *input;
	const char *audio; /* NULL or "input": the input's own; "tone"; "none"; a device or URL */
	int width, height, fps;
	int timeout_ms;		 /* no picture for this long: the slate */
	int av_offset_ms;	 /* > 0: the audio is delayed by this; < 0: the picture is */
	const char *slate;	 /* an image for the slate; NULL: the last picture, darkened */
	bool copy;		 /* the source's video goes through as it is (enc_config.copy) */
	enum enc_codec codec;	 /* ... if it is HEVC with ENC_CODEC_HEVC, else if H.264 */
	int64_t clock_offset_ns; /* the stream's clock starts this far along (tests: long runs) */
};

/*
 * Start reading. A source that cannot be opened at all (no such device, a
 * port taken, an option the device does not know, an unreadable slate) is an
 * error now; one that is not there yet (no camera connected) is waited for.
 * Returns 0, -ENOENT, -EACCES, -EADDRINUSE, -EBUSY, -EINVAL or another AVERROR.
 */
int enc_live_start(const struct enc_live_config *cfg, struct enc_live **out) ENC_WARN_UNUSED;

/* Thread-safe. */
void enc_live_status(struct enc_live *l, struct enc_input_status *st);

/* Stop the threads and free everything. NULL is fine. */
void enc_live_stop(struct enc_live *l);

/* Route libav*'s log into mpstream's log. Call once before anything else. */
void enc_route_av_log(void);

/*
 * Open the input and the encoders; nothing touches the network. Returns 0,
 * AVERROR(ENOENT)/AVERROR(EACCES)/AVERROR_INVALIDDATA for an input that cannot
 * be read, AVERROR_ENCODER_NOT_FOUND (no such encoder), AVERROR(EINVAL) (not
 * an H.264 encoder), AVERROR(ENODEV) (its hardware is not there), or another
 * AVERROR.
 */
int enc_session_create(const struct enc_config *cfg, struct enc_session **out) ENC_WARN_UNUSED;

/*
 * The encoding side (one thread): wait until the next frame is due, encode it
 * and queue the packets. Returns 0, AVERROR_EOF at the end of the input (the
 * encoders are then drained), AVERROR(EINTR) when the wait was cut short by a
 * signal, or another AVERROR.
 */
int enc_session_step(struct enc_session *s) ENC_WARN_UNUSED;

/* Drain the encoders into the queue (the input ends). Returns 0 or an AVERROR. */
int enc_session_drain(struct enc_session *s) ENC_WARN_UNUSED;

/* Thread-safe. */
void enc_session_progress(struct enc_session *s, struct enc_progress *p);

/*
 * Thread-safe: the video bit rate (x264's bitrate, maxrate and a half-second
 * VBV buffer), applied from the next frame on. Returns 0, or -ENOTSUP with
 * cfg.copy.
 */
int enc_session_set_bitrate(struct enc_session *s, int64_t bps) ENC_WARN_UNUSED;

/*
 * Thread-safe: the queue keeps at least @ms of media (the delay budget in
 * force: what it covers is not dropped by the queue's bound before the
 * budget's own rule), and never less than cfg.buffer_ms.
 */
void enc_session_keep_at_least(struct enc_session *s, int ms);

/* Thread-safe: the next video frame is a keyframe. Returns 0, or -ENOTSUP with cfg.copy. */
int enc_session_request_keyframe(struct enc_session *s) ENC_WARN_UNUSED;

/*
 * Thread-safe: cut the delay. Drop the queue up to its newest video keyframe;
 * when it holds none, drop all of it and whatever comes next up to the next
 * keyframe, asked for now (with cfg.copy, the input's next one). What was sent
 * stays decodable: no reference frame of a GOP already begun is dropped while
 * a frame that depends on it is sent. Returns the video frames dropped.
 */
int64_t enc_session_skip_to_keyframe(struct enc_session *s);

/*
 * The local recording (--record FILE): every packet the session makes, the
 * ones the network queue drops included, written by a thread of its own into
 * FILE (.mkv, .mp4 or .mov (fragmented), .ts or .flv: each readable after a
 * crash). FILE's name goes through strftime(3) (%Y%m%d-%H%M%S: a file per
 * run); an existing file is never overwritten. A failed write ends the
 * recording, not the stream.
 */
struct enc_record;

struct enc_record_stats {
	int64_t packets; /* recorded, audio and video */
	int64_t bytes;	 /* written */
	int64_t dropped; /* video frames left out: the disk could not keep up */
	bool failed;	 /* a write failed: the recording ended there */
};

/* Create the file (O_EXCL). 0, -EINVAL (a name without a known extension), -EEXIST, -errno. */
int enc_record_open(const char *pattern, struct enc_record **out) ENC_WARN_UNUSED;
/* The file's name, the pattern expanded. */
const char *enc_record_path(const struct enc_record *r);
/* strftime(@pattern) at this moment into @out: 0 or -ENAMETOOLONG. */
int enc_record_name(const char *pattern, char *out, size_t size) ENC_WARN_UNUSED;
/*
 * Record @s from now on (before its first step). The first session gives the
 * file its streams; later ones (live periods) go on where the previous ended.
 * Returns 0, or the AVERROR that kept the file from being written (the
 * stream goes on without it).
 */
int enc_session_record(struct enc_session *s, struct enc_record *r);
/* Thread-safe. */
void enc_record_stats(struct enc_record *r, struct enc_record_stats *st);
/*
 * Write what waits and the trailer, and close. A recording that got nothing
 * is removed. Returns 0 or an AVERROR. NULL is fine.
 */
int enc_record_close(struct enc_record *r);

/* Free everything (outputs must be closed first). NULL is fine. */
void enc_session_destroy(struct enc_session *s);

/*
 * The network side (another thread): connect to the URL and write the FLV
 * header. Returns 0 or an AVERROR: AVERROR(ECONNREFUSED), AVERROR(ETIMEDOUT)
 * (no answer within connect_timeout_ms), AVERROR_EXIT (interrupted), ...
 * A new connection starts at the oldest keyframe in the queue (or asks the
 * encoder for one); its timestamps go on from where the stream was.
 */
int enc_output_open(struct enc_session *s, const struct enc_output_config *cfg,
		    struct enc_output **out) ENC_WARN_UNUSED;

#define ENC_OUTPUT_DONE 1

/*
 * Write the next queued packet, waiting up to @wait_ms for one. Returns 0,
 * AVERROR(EAGAIN) when none came, ENC_OUTPUT_DONE when the queue is drained
 * and the input has ended, or the write's error (the connection is then
 * lost; AVERROR_EOF there means the server closed it).
 */
int enc_output_send(struct enc_output *o, int wait_ms) ENC_WARN_UNUSED;

/* Write the trailer (after ENC_OUTPUT_DONE). Returns 0 or an AVERROR. */
int enc_output_finish(struct enc_output *o) ENC_WARN_UNUSED;

/*
 * Close the connection, waiting at most @timeout_ms for a graceful end (0 for
 * a connection known to be dead). NULL is fine.
 */
void enc_output_close(struct enc_output *o, int timeout_ms);

/*
 * The stamp of the test pattern: 2 rows of ENC_STAMP_COLS blocks across the
 * top ENC_STAMP_HEIGHT(h) rows of the picture. 88 bits: magic 0xa5, frame
 * number (24 bits), sender wall-clock time in ms since the epoch (48 bits),
 * CRC-8. Blocks are luma 16 or 235, so they survive x264 at low bit rates.
 */
#define ENC_STAMP_COLS	    48
#define ENC_STAMP_HEIGHT(h) ((h) / 24 > 8 ? (h) / 24 & ~1 : 8)

struct enc_stamp {
	uint32_t frame; /* modulo 2^24 */
	uint64_t time_ms;
};

/*
 * Write @st into a luma plane of @width x @height (stride @linesize), and read
 * it back. enc_stamp_read() returns 0, or -EBADMSG when the picture carries no
 * valid stamp (another input, a corrupted frame).
 */
void enc_stamp_write(uint8_t *luma, int linesize, int width, int height,
		     const struct enc_stamp *st);
int enc_stamp_read(const uint8_t *luma, int linesize, int width, int height,
		   struct enc_stamp *st) ENC_WARN_UNUSED;

/*
 * The player (player.c), the receiving side of `mpstream probe`: play a
 * stream (rtmp://, or any URL or file libavformat reads) and decode its video.
 */
struct enc_player;

struct enc_player_frame {
	int64_t arrival_us; /* CLOCK_REALTIME when decoded */
	int64_t pts_us;	    /* its presentation time in the stream */
	int64_t bytes;	    /* bytes of every stream received since the previous frame */
	bool stamped;	    /* the picture carries a valid stamp */
	struct enc_stamp stamp;
};

/*
 * Connect and find the video stream. Gives up after @timeout_ms without data,
 * or when @interrupt returns non-zero. Returns 0, AVERROR(ETIMEDOUT),
 * AVERROR_STREAM_NOT_FOUND, or another AVERROR.
 */
int enc_player_open(const char *url, int timeout_ms, int (*interrupt)(void *), void *opaque,
		    struct enc_player **out) ENC_WARN_UNUSED;
/*
 * The next decoded video frame. 0, AVERROR_EOF (stream ended), AVERROR(ETIMEDOUT),
 * AVERROR_STREAM_NOT_FOUND (no video), ENC_ERR_DECODER (HEVC whose decoder does not
 * open for its configuration record; said in the log with the reason), ... A new
 * record drains the decoder it replaces: its last frames come first.
 */
int enc_player_next(struct enc_player *p, struct enc_player_frame *out) ENC_WARN_UNUSED;
void enc_player_close(struct enc_player *p);

#endif
