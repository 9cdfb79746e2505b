// SPDX-License-Identifier: MIT
#define _GNU_SOURCE /* mkostemp */
#include "control.h"
#include "args.h"
#include "log.h"
#include "state.h"
#include "url.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/* The page names an uplink: from here on it is routing's uplink @index. */
static int find_uplink(struct snd_control *c, const char *name, size_t *index)
{
	struct mps_uplink_view v;

	for (size_t i = 0; c->uplinks && i < rt_uplinks_count(c->uplinks); i++)
		if (!rt_uplinks_view(c->uplinks, i, &v) && !strcmp(v.name, name)) {
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

/*
 * The uplink @name's modem. What the modem library runs it logs (one line,
 * never the PIN); what is refused before it gets there is logged here.
 */
static int modem(void *ctx, const char *name, struct web_modem_request *req,
		 struct web_modem_answer *ans)
{
	struct snd_control *c = ctx;
	struct modem_control_result res = {.retries = -1};
	const char *apn = c->options ? snd_options_apn(c->options, name) : NULL;
	size_t i;
	int ret = find_uplink(c, name, &i);

	if (ret) {
		snprintf(res.msg, sizeof(res.msg), "no such uplink");
	} else if (!c->modems) {
		snprintf(res.msg, sizeof(res.msg), "the uplinks' modems are not watched");
		ret = -ENODEV;
	} else if (req->op == WEB_MODEM_CONNECT && !apn) {
		snprintf(res.msg, sizeof(res.msg), "no APN in the config ([uplink %s] apn = NAME)",
			 name);
		ret = -EINVAL;
	}
	if (ret)
		LOG_WARN(TAG, "modem control for %s refused: %s", name, res.msg);
	else if (req->op == WEB_MODEM_RESET)
		ret = modem_watch_reset(c->modems, name, &res);
	else if (req->op == WEB_MODEM_PIN)
		ret = modem_watch_send_pin(c->modems, name, req->pin, &res);
	else
		ret = modem_watch_connect(c->modems, name, apn, &res);
	explicit_bzero(req->pin, sizeof(req->pin));
	snprintf(ans->msg, sizeof(ans->msg), "%s", res.msg);
	ans->pin_attempts_left = res.retries;
	return ret;
}

const struct web_ops snd_control_ops = {
	.fill = fill,
	.live = live,
	.stop = stop,
	.set_bounds = set_bounds,
	.set_uplink = set_uplink,
	.keyframe = keyframe,
	.modem = modem,
};

/*
 * Why a token file that others could read, write or replace is unsafe, or NULL. The file's
 * owner is root or this user; a group may read it (0640 root:mpstream), no one else may.
 */
static const char *unsafe_mode(const struct stat *sb)
{
	if (sb->st_uid != 0 && sb->st_uid != geteuid())
		return "it belongs to another user";
	if (sb->st_mode & (S_IWGRP | S_IWOTH))
		return "others can write it (chmod 600 it)";
	if (sb->st_mode & S_IROTH)
		return "everyone can read it (chmod 600 it)";
	return NULL;
}

/*
 * Whether a directory on the way to @dir (resolved) lets someone else replace what it holds:
 * one that belongs to another user than root or this one, or that its group or others can
 * write without the sticky bit (/tmp has it): OpenSSH's rule for its key files. 0, or
 * -EPERM with the directory in @why.
 */
static int unsafe_dirs(const char *dir, char *why, size_t size)
{
	char real[PATH_MAX], *slash;
	struct stat sb;

	if (!realpath(dir, real))
		return 0; /* the open that follows says what is wrong */
	for (;;) {
		if (stat(real, &sb) == 0 && S_ISDIR(sb.st_mode)) {
			if (sb.st_uid != 0 && sb.st_uid != geteuid()) {
				snprintf(why, size, "its directory %s belongs to another user",
					 real);
				return -EPERM;
			}
			if ((sb.st_mode & (S_IWGRP | S_IWOTH)) && !(sb.st_mode & S_ISVTX)) {
				snprintf(why, size, "others can write its directory %s", real);
				return -EPERM;
			}
		}
		slash = strrchr(real, '/');
		if (!slash || slash == real) {
			if (real[1] == '\0')
				return 0;
			real[1] = '\0'; /* "/" itself, last */
		} else {
			*slash = '\0';
		}
	}
}

/* The directory part of @path into @dir: "." for a bare name, "/" for "/name". */
static void dir_of(const char *path, char *dir, size_t size)
{
	char *slash;

	snprintf(dir, size, "%s", path);
	slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, size, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
}

/*
 * The directories where @path and, when @follow, every link of its chain sit: none may let
 * someone else swap what it holds (unsafe_dirs()). 0, -EPERM, -ELOOP (a chain too long),
 * -ENAMETOOLONG (a link's path too long to check).
 */
static int unsafe_chain(const char *path, bool follow, char *why, size_t size)
{
	char cur[PATH_MAX], dir[PATH_MAX], target[PATH_MAX];
	struct stat sb;
	ssize_t n;
	int ret;

	snprintf(cur, sizeof(cur), "%s", path);
	for (int hop = 0; hop < 40; hop++) {
		dir_of(cur, dir, sizeof(dir));
		if ((ret = unsafe_dirs(dir, why, size)))
			return ret;
		if (!follow || lstat(cur, &sb) < 0 || !S_ISLNK(sb.st_mode))
			return 0;
		n = readlink(cur, target, sizeof(target) - 1);
		if (n < 0)
			return 0; /* the open that follows says what is wrong */
		target[n] = '\0';
		if (target[0] == '/' || !strcmp(dir, "."))
			snprintf(cur, sizeof(cur), "%s", target);
		else if ((size_t)snprintf(cur, sizeof(cur), "%s/%s", dir, target) >= sizeof(cur)) {
			snprintf(why, size, "%s",
				 strerror(ENAMETOOLONG)); /* not checked: refused */
			return -ENAMETOOLONG;
		}
	}
	snprintf(why, size, "%s", strerror(ELOOP));
	return -ELOOP;
}

/*
 * Open the token file @path to read it: a regular file of at most MAX_TOKEN_FILE_BYTES that
 * no one but its owner (root or this user) can write or replace and others cannot read; a
 * symbolic link only when @follow. The descriptor, or -errno with the reason in @why: -EPERM
 * (unsafe), -ELOOP (a link), -EISDIR, -ENODEV (not a regular file), -EFBIG, open()'s.
 */
static int open_token(const char *path, bool follow, char *why, size_t size)
{
	const char *unsafe;
	struct stat sb;
	int fd, ret;

	/* Where the name sits (a link planted there counts), and each link it leads through. */
	if ((ret = unsafe_chain(path, follow, why, size)))
		return ret;
	fd = mps_open_regular(path, follow ? 0 : O_NOFOLLOW, MAX_TOKEN_FILE_BYTES, &sb, why, size);
	if (fd == -ELOOP && !follow)
		snprintf(why, size, "a symbolic link: mpstream makes this file itself");
	if (fd < 0)
		return fd;
	if ((unsafe = unsafe_mode(&sb))) {
		snprintf(why, size, "%s", unsafe);
		close(fd);
		return -EPERM;
	}
	return fd;
}

/* The first line of the file open at @fd (closed), trimmed, into @out. 0, -EINVAL (not a token). */
static int read_token(int fd, char *out, size_t size)
{
	FILE *f = fdopen(fd, "r");
	size_t n;

	if (!f) {
		close(fd);
		return -ENOMEM;
	}
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

/*
 * A new random token in @path: written whole into a new file of its own (0600, O_EXCL: no
 * link or file planted beforehand is followed or reused), then renamed into place.
 */
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
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = mkostemp(tmp, O_CLOEXEC);
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

/* The token file's failure @err in one line: what cannot be read, or what is refused. */
static void say_token_error(const char *path, int err, const char *why)
{
	if (err == -EPERM || err == -ELOOP)
		LOG_ERR(TAG, "refusing the token file %s: %s", path, why);
	else
		LOG_ERR(TAG, "cannot read %s: %s", path, why);
}

int snd_control_token(const char *file, char *out, size_t size, char *where, size_t wsize)
{
	char why[PATH_MAX + 64];
	int ret;

	if (file) {
		snprintf(where, wsize, "%s", file);
		/* The operator's file: a link is followed (a mounted secret is one). */
		ret = open_token(file, true, why, sizeof(why));
		if (ret < 0) {
			say_token_error(file, ret, why);
			return ret;
		}
		ret = read_token(ret, out, size);
		if (ret == -EINVAL)
			LOG_ERR(TAG, "%s: expected one line of %d to %d printable characters", file,
				WEB_TOKEN_MIN, WEB_TOKEN_MAX);
		return ret;
	}
	ret = mps_state_path(SND_TOKEN_FILE, where, wsize);
	if (ret)
		return ret;
	ret = open_token(where, false, why, sizeof(why));
	if (ret >= 0 && read_token(ret, out, size) == 0)
		return 0; /* the one of an earlier run: the operator's bookmark still works */
	if (ret < 0 && ret != -ENOENT) {
		say_token_error(where, ret, why);
		return ret;
	}
	ret = make_token(where, out, size);
	if (ret)
		LOG_ERR(TAG, "cannot keep a control token in %s: %s", where, strerror(-ret));
	return ret;
}
