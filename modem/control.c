// SPDX-License-Identifier: MIT
/*
 * The operator's controls of a modem: reset, the SIM's PIN, connect with an APN.
 *
 * libmm-glib's proxies belong to the watch's thread, so a control is not run
 * where it is asked (the web server's thread): it becomes a struct mw_call,
 * handed to the watch's GMainContext with g_main_context_invoke_full(), and
 * the caller waits for its end on the call's condition variable, at most
 * MODEM_CONTROL_TIMEOUT_MS. The call is shared by both threads and freed by
 * the last one to let go of it: a caller that gave up waiting leaves the
 * watch's thread a call it can still finish (and wipe) on its own. A call
 * under way counts in w->pending, so that modem_watch_stop() waits for its
 * (cancelled) answer.
 *
 * The PIN is copied into the call, wiped (explicit_bzero) by whichever side
 * lets go of the call last, and never logged: the log and the messages name
 * the interface, the operation and ModemManager's answer only.
 *
 * One control per modem at a time: a slot is busy from the moment a control
 * is accepted to ModemManager's answer (past the caller's wait too: a reset
 * that answered 202 still holds it), and a second one meanwhile is refused
 * at once with -EBUSY, saying which one is under way.
 *
 * The PIN's attempts left are read after SendPin answers, and not from the
 * modem proxy's cached UnlockRetries: ModemManager updates the property
 * before it answers but emits its PropertiesChanged from an idle callback,
 * which may reach us after the answer, so the cache could still hold the
 * count from before the attempt. A Properties.Get, sent after the answer
 * came, is answered after ModemManager's update: it is the new count (the
 * cache is the fallback when the Get fails).
 */
#define _GNU_SOURCE /* explicit_bzero */
#include "watch_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum mw_op { MW_RESET, MW_PIN, MW_CONNECT };

static const char *const op_names[] = {
	[MW_RESET] = "reset",
	[MW_PIN] = "SIM PIN",
	[MW_CONNECT] = "connect",
};

struct mw_call {
	atomic_int refs; /* the caller and the watch's thread */
	pthread_mutex_t lock;
	pthread_cond_t done_cond;
	bool done; /* under lock, with ret, msg and retries */
	int ret;
	char msg[MODEM_CONTROL_MSG];
	int retries;

	/* Set before the hand-off, read by the watch's thread. */
	struct modem_watch *w;
	enum mw_op op;
	char ifname[IFNAMSIZ];
	char secret[MODEM_PIN_MAX + 1]; /* the PIN; wiped at the end */
	char apn[MODEM_APN_MAX + 1];

	/* The watch's thread only. */
	struct mm_slot *slot;
	int pin_ret; /* SendPin's outcome, kept while the attempts left are read */
	char pin_msg[MODEM_CONTROL_MSG];
};

static void call_unref(gpointer data)
{
	struct mw_call *c = data;

	if (atomic_fetch_sub(&c->refs, 1) != 1)
		return;
	explicit_bzero(c->secret, sizeof(c->secret));
	explicit_bzero(c->pin_msg, sizeof(c->pin_msg));
	pthread_cond_destroy(&c->done_cond);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static struct mm_slot *find_slot(struct modem_watch *w, const char *ifname)
{
	for (size_t i = 0; i < w->n; i++)
		if (!strcmp(w->slots[i].ifname, ifname))
			return &w->slots[i];
	return NULL;
}

/*
 * Mark @ifname's modem busy with @op (NULL: free). Returns the control
 * already under way when it was busy (and leaves it so), else NULL.
 */
static const char *set_busy(struct modem_watch *w, const char *ifname, const char *op)
{
	struct mm_slot *slot = find_slot(w, ifname);
	const char *was = NULL;

	if (!slot)
		return NULL;
	pthread_mutex_lock(&w->lock);
	if (op && slot->busy)
		was = slot->busy;
	else
		slot->busy = op;
	pthread_mutex_unlock(&w->lock);
	return was;
}

/* The watch's thread: the answer, told to the caller (if it still waits) and logged. */
static void finish(struct mw_call *c, int ret, int retries, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void finish(struct mw_call *c, int ret, int retries, const char *fmt, ...)
{
	char msg[MODEM_CONTROL_MSG];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Nothing ModemManager says goes out with the PIN in it. */
	if (c->secret[0] && strstr(msg, c->secret))
		snprintf(msg, sizeof(msg), "the SIM refused the PIN");
	explicit_bzero(c->secret, sizeof(c->secret));
	if (ret)
		LOG_WARN(MODEM_TAG, "%s: %s: %s", c->ifname, op_names[c->op], msg);
	else
		LOG_INFO(MODEM_TAG, "%s: %s: %s", c->ifname, op_names[c->op], msg);
	set_busy(c->w, c->ifname, NULL);
	pthread_mutex_lock(&c->lock);
	c->ret = ret;
	c->retries = retries;
	snprintf(c->msg, sizeof(c->msg), "%s", msg);
	c->done = true;
	pthread_cond_signal(&c->done_cond);
	pthread_mutex_unlock(&c->lock);
}

/* ModemManager's own words, without GDBus's "GDBus.Error:org.freedesktop...: " prefix. */
static const char *reason(GError *err)
{
	if (g_dbus_error_is_remote_error(err))
		g_dbus_error_strip_remote_error(err);
	return err->message;
}

/* The attempts left for the SIM's PIN in an UnlockRetries dictionary (a{uu}); -1 unknown. */
static int pin_retries_in(GVariant *dict)
{
	GVariantIter it;
	guint32 lock, left;
	int n = -1;

	g_variant_iter_init(&it, dict);
	while (g_variant_iter_next(&it, "{uu}", &lock, &left))
		if (lock == MM_MODEM_LOCK_SIM_PIN && left != MM_UNLOCK_RETRIES_UNKNOWN)
			n = (int)left;
	return n;
}

/* The attempts left for the SIM's PIN, as the modem proxy's cache has them; -1 unknown. */
static int cached_pin_retries(struct mm_slot *slot)
{
	MMUnlockRetries *r = slot->modem ? mm_modem_get_unlock_retries(slot->modem) : NULL;
	guint n = r ? mm_unlock_retries_get(r, MM_MODEM_LOCK_SIM_PIN) : MM_UNLOCK_RETRIES_UNKNOWN;

	g_clear_object(&r);
	return n == MM_UNLOCK_RETRIES_UNKNOWN ? -1 : (int)n;
}

static void on_reset(GObject *source, GAsyncResult *res, gpointer data)
{
	struct mw_call *c = data;
	GError *err = NULL;

	c->w->pending--;
	if (mm_modem_reset_finish(MM_MODEM(source), res, &err))
		finish(c, 0, -1, "the modem resets (it comes back in a minute or so)");
	else
		finish(c, -EIO, -1, "ModemManager refused: %s", reason(err));
	g_clear_error(&err);
	call_unref(c);
}

/* The modem's UnlockRetries, read after SendPin's answer: the PIN's outcome told with it. */
static void on_retries(GObject *source, GAsyncResult *res, gpointer data)
{
	struct mw_call *c = data;
	GVariant *ret = g_dbus_proxy_call_finish(G_DBUS_PROXY(source), res, NULL);
	GVariant *dict = NULL;
	int left;

	c->w->pending--;
	if (ret) {
		g_variant_get(ret, "(v)", &dict);
		if (!g_variant_is_of_type(dict, G_VARIANT_TYPE("a{uu}")))
			g_clear_pointer(&dict, g_variant_unref);
	}
	left = dict ? pin_retries_in(dict) : cached_pin_retries(c->slot);
	g_clear_pointer(&dict, g_variant_unref);
	g_clear_pointer(&ret, g_variant_unref);
	finish(c, c->pin_ret, left, "%s", c->pin_msg);
	call_unref(c);
}

static void on_pin(GObject *source, GAsyncResult *res, gpointer data)
{
	struct mw_call *c = data;
	GError *err = NULL;

	c->w->pending--;
	c->pin_ret = mm_sim_send_pin_finish(MM_SIM(source), res, &err) ? 0 : -EIO;
	snprintf(c->pin_msg, sizeof(c->pin_msg), "%s%s",
		 err ? "ModemManager refused: " : "the SIM took the PIN", err ? reason(err) : "");
	g_clear_error(&err);
	if (!c->slot->modem) { /* the modem went meanwhile */
		finish(c, c->pin_ret, -1, "%s", c->pin_msg);
		call_unref(c);
		return;
	}
	c->w->pending++;
	g_dbus_proxy_call(G_DBUS_PROXY(c->slot->modem), "org.freedesktop.DBus.Properties.Get",
			  g_variant_new("(ss)", MM_DBUS_INTERFACE_MODEM, "UnlockRetries"),
			  G_DBUS_CALL_FLAGS_NONE, -1, c->w->cancel, on_retries, c);
}

/* The SIM's proxy (the modem's Sim property), then the PIN to its SendPin. */
static void on_sim(GObject *source, GAsyncResult *res, gpointer data)
{
	struct mw_call *c = data;
	GError *err = NULL;
	MMSim *sim = mm_modem_get_sim_finish(MM_MODEM(source), res, &err);

	c->w->pending--;
	if (!sim) {
		finish(c, err ? -EIO : -ENODEV, -1, "no SIM: %s",
		       err ? reason(err) : "the modem has none");
		g_clear_error(&err);
		call_unref(c);
		return;
	}
	c->w->pending++;
	mm_sim_send_pin(sim, c->secret, c->w->cancel, on_pin, c);
	g_object_unref(sim);
}

static void on_connect(GObject *source, GAsyncResult *res, gpointer data)
{
	struct mw_call *c = data;
	GError *err = NULL;
	MMBearer *bearer = mm_modem_simple_connect_finish(MM_MODEM_SIMPLE(source), res, &err);

	c->w->pending--;
	if (bearer)
		finish(c, 0, -1, "connected with APN %s (bearer %s)", c->apn,
		       mm_bearer_get_path(bearer));
	else
		finish(c, -EIO, -1, "ModemManager refused: %s", reason(err));
	g_clear_object(&bearer);
	g_clear_error(&err);
	call_unref(c);
}

static void start_connect(struct mw_call *c, MMModemSimple *simple)
{
	MMSimpleConnectProperties *props = mm_simple_connect_properties_new();

	mm_simple_connect_properties_set_apn(props, c->apn);
	c->w->pending++;
	mm_modem_simple_connect(simple, props, c->w->cancel, on_connect, c);
	g_object_unref(props);
}

/* The watch's thread: start the call's operation (its callback finishes it). */
static gboolean run_call(gpointer data)
{
	struct mw_call *c = data;
	struct mm_slot *slot = find_slot(c->w, c->ifname);
	MMModemSimple *simple;

	if (!slot || !slot->modem) {
		enum modem_watch_status st = modem_watch_status(c->w);

		finish(c, -ENODEV, -1, "no modem (%s)",
		       st == MODEM_WATCH_RUNNING  ? "not a modem's network port"
		       : st == MODEM_WATCH_NO_BUS ? "no system bus"
						  : "ModemManager is not running");
		return G_SOURCE_REMOVE;
	}
	simple = c->op == MW_CONNECT ? mm_object_get_modem_simple(slot->obj) : NULL;
	if (c->op == MW_CONNECT && !simple) {
		finish(c, -ENOTSUP, -1, "the modem has no Simple interface");
		return G_SOURCE_REMOVE;
	}
	c->slot = slot;
	atomic_fetch_add(&c->refs, 1); /* the callback's */
	if (c->op == MW_CONNECT) {
		start_connect(c, simple);
		g_object_unref(simple);
		return G_SOURCE_REMOVE;
	}
	c->w->pending++;
	if (c->op == MW_RESET)
		mm_modem_reset(slot->modem, c->w->cancel, on_reset, c);
	else
		mm_modem_get_sim(slot->modem, c->w->cancel, on_sim, c);
	return G_SOURCE_REMOVE;
}

static void deadline_in(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static int wait_call(struct mw_call *c, struct modem_control_result *out)
{
	struct timespec end;
	int ret = 0;

	deadline_in(&end, MODEM_CONTROL_TIMEOUT_MS);
	pthread_mutex_lock(&c->lock);
	while (!c->done && ret != ETIMEDOUT)
		ret = pthread_cond_timedwait(&c->done_cond, &c->lock, &end);
	if (c->done) {
		ret = c->ret;
		out->retries = c->retries;
		snprintf(out->msg, sizeof(out->msg), "%s", c->msg);
	} else {
		ret = -ETIMEDOUT;
		snprintf(out->msg, sizeof(out->msg), "no answer from ModemManager within %d s",
			 MODEM_CONTROL_TIMEOUT_MS / 1000);
	}
	pthread_mutex_unlock(&c->lock);
	return ret;
}

static struct mw_call *new_call(struct modem_watch *w, enum mw_op op, const char *ifname)
{
	struct mw_call *c = calloc(1, sizeof(*c));
	pthread_condattr_t attr;

	if (!c)
		return NULL;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (pthread_mutex_init(&c->lock, NULL) || pthread_cond_init(&c->done_cond, &attr)) {
		pthread_condattr_destroy(&attr);
		free(c);
		return NULL;
	}
	pthread_condattr_destroy(&attr);
	atomic_init(&c->refs, 1);
	c->w = w;
	c->op = op;
	c->retries = -1;
	snprintf(c->ifname, sizeof(c->ifname), "%s", ifname);
	return c;
}

/* A control refused before it goes to the watch's thread: @ret, said in @out and the log. */
static int refuse(const char *ifname, enum mw_op op, int ret, struct modem_control_result *out,
		  const char *why)
{
	snprintf(out->msg, sizeof(out->msg), "%s", why);
	LOG_WARN(MODEM_TAG, "%s: %s: %s", ifname ? ifname : "?", op_names[op], why);
	return ret;
}

/*
 * Hand @c to the watch's thread and wait for its answer; -EBUSY (and @c
 * freed) while another control of the same modem is under way.
 */
static int hand_off(struct mw_call *c, struct modem_control_result *out)
{
	const char *busy = set_busy(c->w, c->ifname, op_names[c->op]);
	int ret;

	if (busy) {
		char why[MODEM_CONTROL_MSG], ifname[IFNAMSIZ];
		enum mw_op op = c->op;

		snprintf(why, sizeof(why),
			 "busy: the modem is still answering a %s request; try again once it ends",
			 busy);
		snprintf(ifname, sizeof(ifname), "%s", c->ifname);
		call_unref(c);
		return refuse(ifname, op, -EBUSY, out, why);
	}
	atomic_fetch_add(&c->refs, 1); /* the watch's thread's, dropped when its source goes */
	g_main_context_invoke_full(c->w->ctx, G_PRIORITY_DEFAULT, run_call, c, call_unref);
	ret = wait_call(c, out);
	call_unref(c);
	return ret;
}

/* What every control checks before it goes to the watch's thread. */
static int check_args(struct modem_watch *w, const char *ifname, enum mw_op op,
		      struct modem_control_result *out)
{
	out->retries = -1;
	out->msg[0] = '\0';
	if (!w || !ifname || !find_slot(w, ifname))
		return refuse(ifname, op, -ENOENT, out, "not a watched uplink");
	return 0;
}

int modem_watch_reset(struct modem_watch *w, const char *ifname, struct modem_control_result *out)
{
	struct mw_call *c;
	int ret = check_args(w, ifname, MW_RESET, out);

	if (ret)
		return ret;
	if (!(c = new_call(w, MW_RESET, ifname)))
		return -ENOMEM;
	return hand_off(c, out);
}

int modem_watch_send_pin(struct modem_watch *w, const char *ifname, char *pin,
			 struct modem_control_result *out)
{
	struct mw_call *c = NULL;
	int ret = check_args(w, ifname, MW_PIN, out);

	if (!ret && !modem_pin_valid(pin))
		ret = refuse(ifname, MW_PIN, -EINVAL, out, "a PIN is 4 to 8 digits");
	if (!ret && !(c = new_call(w, MW_PIN, ifname)))
		ret = -ENOMEM;
	if (c)
		snprintf(c->secret, sizeof(c->secret), "%s", pin);
	if (pin)
		explicit_bzero(pin, strlen(pin));
	return ret ? ret : hand_off(c, out);
}

int modem_watch_connect(struct modem_watch *w, const char *ifname, const char *apn,
			struct modem_control_result *out)
{
	struct mw_call *c;
	int ret = check_args(w, ifname, MW_CONNECT, out);

	if (ret)
		return ret;
	if (!modem_apn_valid(apn))
		return refuse(ifname, MW_CONNECT, -EINVAL, out, "no APN, or not a valid one");
	if (!(c = new_call(w, MW_CONNECT, ifname)))
		return -ENOMEM;
	snprintf(c->apn, sizeof(c->apn), "%s", apn);
	return hand_off(c, out);
}
