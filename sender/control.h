/* SPDX-License-Identifier: MIT */
/*
 * The operator's controls (`--http`): the operations the web server calls
 * (web/web.h), and what the stream reads of them. Going live and stopping
 * are flags the stream's loop waits on; the bit-rate bounds wait for the
 * rate controller's next tick; an uplink is taken out or made a backup
 * through routing at once (thread-safe); a keyframe is asked of the encoder
 * session in use; a modem's reset, SIM PIN and connect go to the modem
 * watch, which runs them on its own thread and answers within 3 s (this,
 * the web server's thread, waits).
 */
#ifndef MPS_SENDER_CONTROL_H
#define MPS_SENDER_CONTROL_H

#include "cli.h"
#include "encoder.h"
#include "modem.h"
#include "routing.h"
#include "web.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct snd_control {
	struct rt_uplinks *uplinks; /* NULL: none configured */
	bool copy;		    /* --copy: no bounds, no keyframe */
	char url[512];		    /* the ingest, its key redacted */
	atomic_bool live_asked;	    /* "go live" while in standby */
	atomic_int end_live;	    /* "stop": the live period ends (1: cleanly) */
	atomic_bool bounds_new;	    /* min_bps/max_bps changed since the stream read them */
	atomic_int mode;	    /* enum web_mode */
	pthread_mutex_t lock;	    /* enc, the bounds */
	struct enc_session *enc;    /* the session streaming, NULL in standby */
	int64_t min_bps, max_bps;
	struct modem_watch *modems;	   /* the uplinks' modems; NULL: none watched */
	const struct snd_options *options; /* the APNs ([uplink IFACE] apn =); NULL: none */
};

extern const struct web_ops snd_control_ops;

/* Bounds from the options; @url is shown redacted. */
void snd_control_init(struct snd_control *c, struct rt_uplinks *uplinks, const char *url, bool copy,
		      int64_t min_bps, int64_t max_bps);
void snd_control_destroy(struct snd_control *c);

/* The stream's side: the session in use (NULL: none), the mode. */
void snd_control_set_session(struct snd_control *c, struct enc_session *enc);
void snd_control_set_mode(struct snd_control *c, enum web_mode mode);

/* The bounds in force, and whether they changed since the last call (the rate tick). */
bool snd_control_take_bounds(struct snd_control *c, int64_t *min_bps, int64_t *max_bps);

#define SND_TOKEN_FILE "http-token" /* in the state directory (common/state.h) */

/*
 * The control token into @out (and the file it is kept in, into @where):
 * the first line of @file, or (@file NULL) the one kept in the state
 * directory, made at random (0600) when there is none. Returns 0, -EINVAL
 * (@file holds no token: 16 to 128 printable characters), or -errno; said
 * in one line.
 */
int snd_control_token(const char *file, char *out, size_t size, char *where, size_t wsize)
	__attribute__((warn_unused_result));

#endif
