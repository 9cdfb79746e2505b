// SPDX-License-Identifier: MIT
#include "args.h"
#include "control.h"
#include "log.h"
#include "state.h"
#include "url.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#define TAG		     "control"
#define MAX_TOKEN_FILE_BYTES 65536 /* a token is a line; more is not a token file */

void snd_control_init(struct snd_control *c, struct rt_uplinks *uplinks, const char *url, bool copy,
		      int64_t min_bps, int64_t max_bps)
{
	memset(c, 0, sizeof(*c));
	c->uplinks = uplinks;
	c->copy = copy;
	c->min_bps = min_bps;
	c->max_bps = max_bps;
	mps_url_redacted(url, c->url, sizeof(c->url));
	atomic_init(&c->mode, WEB_STANDBY);
	pthread_mutex_init(&c->lock, NULL);
}

void snd_control_destroy(struct snd_control *c)
{
	pthread_mutex_destroy(&c->lock);
}

void snd_control_set_session(struct snd_control *c, struct enc_session *enc)
{
	pthread_mutex_lock(&c->lock);
	c->enc = enc;
	pthread_mutex_unlock(&c->lock);
}

void snd_control_set_mode(struct snd_control *c, enum web_mode mode)
{
	atomic_store(&c->mode, mode);
}

bool snd_control_take_bounds(struct snd_control *c, int64_t *min_bps, int64_t *max_bps)
{
	pthread_mutex_lock(&c->lock);
	*min_bps = c->min_bps;
	*max_bps = c->max_bps;
	pthread_mutex_unlock(&c->lock);
	return atomic_exchange(&c->bounds_new, false);
}

static void fill(void *ctx, struct web_status *st)
{
	struct snd_control *c = ctx;

	st->mode = (enum web_mode)atomic_load(&c->mode);
	st->copy = c->copy;
	st->url = c->url;
	pthread_mutex_lock(&c->lock);
	st->min_bps = c->min_bps;
	st->max_bps = c->max_bps;
	pthread_mutex_unlock(&c->lock);
}

static int live(void *ctx)
{
	struct snd_control *c = ctx;

	if (atomic_load(&c->mode) != WEB_STANDBY || atomic_exchange(&c->live_asked, true))
		return -EALREADY;
	LOG_INFO(TAG, "going live (asked by the operator)");
	return 0;
}

static int stop(void *ctx)
{
	struct snd_control *c = ctx;

	if (atomic_load(&c->mode) == WEB_STANDBY || atomic_load(&c->end_live))
		return -EALREADY;
	LOG_INFO(TAG, "stopping the stream (asked by the operator): standby");
	atomic_store(&c->end_live, 1);
	return 0;
}

static int set_bounds(void *ctx, int64_t min_bps, int64_t max_bps)
{
	struct snd_control *c = ctx;

	if (c->copy)
		return -ENOTSUP;
	if (min_bps <= 0 || min_bps > max_bps)
		return -EINVAL;
	pthread_mutex_lock(&c->lock);
	c->min_bps = min_bps;
	c->max_bps = max_bps;
	pthread_mutex_unlock(&c->lock);
	atomic_store(&c->bounds_new, true);
	LOG_INFO(TAG, "bit rate between %.2f and %.2f Mbit/s (asked by the operator)",
		 (double)min_bps / 1e6, (double)max_bps / 1e6);
	return 0;
}

static int find_uplink(struct snd_control *c, const char *name, size_t *index)
{
	struct rt_uplink up;

	for (size_t i = 0; c->uplinks && i < rt_uplinks_count(c->uplinks); i++)
		if (!rt_uplinks_get(c->uplinks, i, &up) && !strcmp(up.ifname, name)) {
			*index = i;
			return 0;
		}
	return -ENOENT;
}

static int set_uplink(void *ctx, const char *name, int use, int backup)
{
	struct snd_control *c = ctx;
	size_t i;
	int ret = find_uplink(c, name, &i);

	if (!ret && use >= 0)
		ret = rt_uplinks_set_use(c->uplinks, i, use);
	if (!ret && backup >= 0)
		ret = rt_uplinks_set_role(c->uplinks, i, backup);
	return ret;
}

static int keyframe(void *ctx)
{
	struct snd_control *c = ctx;
	int ret = -ENOTCONN;

	pthread_mutex_lock(&c->lock);
	if (c->enc)
		ret = enc_session_request_keyframe(c->enc);
	pthread_mutex_unlock(&c->lock);
	if (!ret)
		LOG_INFO(TAG, "a keyframe next (asked by the operator)");
	return ret;
}

const struct web_ops snd_control_ops = {
	.fill = fill,
	.live = live,
	.stop = stop,
	.set_bounds = set_bounds,
	.set_uplink = set_uplink,
	.keyframe = keyframe,
};

/* The first line of @path, trimmed, into @out. 0, or -errno / -EINVAL (not a token). */
static int read_token(const char *path, char *out, size_t size)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return -errno;
	if (!fgets(out, (int)size, f))
		out[0] = '\0';
	fclose(f);
	n = strcspn(out, "\r\n");
	out[n] = '\0';
	while (n && (out[n - 1] == ' ' || out[n - 1] == '\t'))
		out[--n] = '\0';
	if (n < WEB_TOKEN_MIN || n > WEB_TOKEN_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (out[i] <= ' ' || out[i] > '~')
			return -EINVAL;
	return 0;
}

/* A new random token in @path (0600, written whole or not at all). */
static int make_token(const char *path, char *out, size_t size)
{
	unsigned char raw[WEB_TOKEN_MIN + 8];
	char tmp[PATH_MAX];
	int fd, ret = 0;
	FILE *f;

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		return -EIO;
	for (size_t i = 0; i < sizeof(raw) && 2 * i + 2 < size; i++)
		snprintf(out + 2 * i, 3, "%02x", raw[i]);
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		ret = -errno;
		close(fd);
	} else {
		/* Both, whatever the first says: a failed fprintf() skipped fclose() (a leak). */
		bool printed = fprintf(f, "%s\n", out) >= 0;

		if (fclose(f) || !printed)
			ret = -EIO;
	}
	if (!ret && rename(tmp, path) < 0)
		ret = -errno;
	if (ret)
		unlink(tmp);
	return ret;
}

int snd_control_token(const char *file, char *out, size_t size, char *where, size_t wsize)
{
	int ret;

	if (file) {
		char why[128];

		snprintf(where, wsize, "%s", file);
		/* A directory was "no token" (exit 64); it is a file that cannot be read. */
		if ((ret = mps_check_file(file, MAX_TOKEN_FILE_BYTES, why, sizeof(why)))) {
			LOG_ERR(TAG, "cannot read %s: %s", file, why);
			return ret;
		}
		ret = read_token(file, out, size);
		if (ret == -EINVAL)
			LOG_ERR(TAG, "%s: expected one line of %d to %d printable characters", file,
				WEB_TOKEN_MIN, WEB_TOKEN_MAX);
		else if (ret)
			LOG_ERR(TAG, "cannot read %s: %s", file, strerror(-ret));
		return ret;
	}
	ret = mps_state_path(SND_TOKEN_FILE, where, wsize);
	if (ret)
		return ret;
	if (read_token(where, out, size) == 0)
		return 0; /* the one of an earlier run: the operator's bookmark still works */
	ret = make_token(where, out, size);
	if (ret)
		LOG_ERR(TAG, "cannot keep a control token in %s: %s", where, strerror(-ret));
	return ret;
}
