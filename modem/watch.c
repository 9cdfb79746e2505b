// SPDX-License-Identifier: MIT
/*
 * The watch: start and stop, its thread, the bus and ModemManager's presence.
 *
 * The thread pushes a GMainContext of its own as its thread-default context
 * before it creates anything, so that every signal of the connection, of
 * libmm-glib's object manager and of its proxies is dispatched there, and
 * the process's default context (which a host program or another library may
 * run, or not) is never touched. The bus connection is private (not
 * g_bus_get()'s shared singleton) and never exits the process when it closes.
 *
 * ModemManager is followed by name, without auto-starting it: libmm-glib's
 * MMManager is a GDBusObjectManagerClient, which removes every object when
 * the name loses its owner and fetches them again when it gets one. A bus
 * that is not there, or closes, is tried again every retry_s (MM_WATCH_RETRY_S).
 */
#include "radio.h"
#include "watch_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void connect_bus(struct mm_watch *w);

static bool cancelled(const GError *err)
{
	return g_error_matches(err, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

static gboolean on_retry(gpointer data)
{
	struct mm_watch *w = data;

	g_source_unref(w->retry);
	w->retry = NULL;
	connect_bus(w);
	return G_SOURCE_REMOVE;
}

static void retry_later(struct mm_watch *w)
{
	if (w->retry)
		return;
	w->retry = g_timeout_source_new_seconds(w->retry_s);
	g_source_set_callback(w->retry, on_retry, w, NULL);
	g_source_attach(w->retry, w->ctx);
}

static void drop_manager(struct mm_watch *w)
{
	if (!w->manager)
		return;
	g_signal_handlers_disconnect_by_data(w->manager, w);
	g_clear_object(&w->manager);
}

/* Closed, or never opened: the modems are unknown until the bus is back. */
static void bus_lost(struct mm_watch *w, const char *why)
{
	drop_manager(w);
	mw_untrack_all(w, true);
	if (w->conn) {
		g_signal_handlers_disconnect_by_data(w->conn, w);
		g_clear_object(&w->conn);
	}
	mw_set_status(w, MM_WATCH_NO_BUS);
	/* A box with no modem need not run a bus: a warning only when one was there. */
	if (!w->said_no_bus)
		mps_log(w->had_bus ? MPS_LOG_WARN : MPS_LOG_INFO, MODEM_TAG,
			"no system bus (%s): no modem figures; trying again every %u s", why,
			w->retry_s);
	w->said_no_bus = true;
	retry_later(w);
}

static void on_owner(GObject *manager, GParamSpec *pspec, gpointer data)
{
	struct mm_watch *w = data;
	gchar *owner = g_dbus_object_manager_client_get_name_owner(
		G_DBUS_OBJECT_MANAGER_CLIENT(w->manager));

	if (owner) {
		mw_set_status(w, MM_WATCH_RUNNING);
		if (w->said_no_mm)
			LOG_INFO(MODEM_TAG, "ModemManager is %s",
				 w->had_mm ? "back" : "running now");
		w->said_no_mm = false;
		w->had_mm = true;
	} else {
		mw_set_status(w, MM_WATCH_NO_MODEMMANAGER);
		/* Nor ModemManager: a warning only when it was there and went. */
		if (!w->said_no_mm && w->had_mm)
			LOG_WARN(MODEM_TAG, "ModemManager went away: the uplinks' radios are "
					    "unknown until it is back");
		else if (!w->said_no_mm)
			LOG_INFO(MODEM_TAG, "ModemManager is not running: no modem figures until "
					    "it starts");
		w->said_no_mm = true;
	}
	g_free(owner);
	mw_track_all(w);
}

static void on_object(GDBusObjectManager *manager, GDBusObject *obj, gpointer data)
{
	mw_track_all(data);
}

static void on_interface(GDBusObjectManager *manager, GDBusObject *obj, GDBusInterface *iface,
			 gpointer data)
{
	mw_track_all(data);
}

/* The uplinks no modem has, said once when ModemManager is first seen with its modems. */
static void say_not_modems(struct mm_watch *w)
{
	for (size_t i = 0; i < w->n; i++)
		if (!w->slots[i].obj)
			LOG_INFO(MODEM_TAG, "%s is not a modem's network port", w->slots[i].ifname);
}

/*
 * ModemManager's object manager. Built synchronously, here: GDBusObjectManagerClient's
 * asynchronous constructor runs its GInitable code in a worker thread, which would tie
 * its name-owner and signal subscriptions to the process's default context instead of
 * this thread's. With ModemManager running this waits for its GetManagedObjects answer
 * (cancelled by mm_watch_stop()).
 */
static void start_manager(struct mm_watch *w)
{
	GError *err = NULL;
	MMManager *manager = mm_manager_new_sync(
		w->conn, G_DBUS_OBJECT_MANAGER_CLIENT_FLAGS_DO_NOT_AUTO_START, w->cancel, &err);

	if (!manager) {
		if (!cancelled(err))
			bus_lost(w, err->message);
		g_error_free(err);
		return;
	}
	w->manager = manager;
	g_signal_connect(manager, "notify::name-owner", G_CALLBACK(on_owner), w);
	g_signal_connect(manager, "object-added", G_CALLBACK(on_object), w);
	g_signal_connect(manager, "object-removed", G_CALLBACK(on_object), w);
	g_signal_connect(manager, "interface-added", G_CALLBACK(on_interface), w);
	g_signal_connect(manager, "interface-removed", G_CALLBACK(on_interface), w);
	on_owner(G_OBJECT(manager), NULL, w);
	if (w->had_mm)
		say_not_modems(w);
}

static void on_closed(GDBusConnection *conn, gboolean vanished, GError *err, gpointer data)
{
	bus_lost(data, "it closed");
}

/* A private connection (not g_bus_get()'s shared one), made in this thread's context. */
static void connect_bus(struct mm_watch *w)
{
	GError *err = NULL;
	gchar *address = w->bus_address ? g_strdup(w->bus_address)
					: g_dbus_address_get_for_bus_sync(G_BUS_TYPE_SYSTEM,
									  w->cancel, &err);

	if (address)
		w->conn = g_dbus_connection_new_for_address_sync(
			address,
			G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
				G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
			NULL, w->cancel, &err);
	g_free(address);
	if (!w->conn) {
		if (!cancelled(err))
			bus_lost(w, err->message);
		g_error_free(err);
		return;
	}
	g_dbus_connection_set_exit_on_close(w->conn, FALSE);
	g_signal_connect(w->conn, "closed", G_CALLBACK(on_closed), w);
	if (w->said_no_bus)
		LOG_INFO(MODEM_TAG, "the system bus is there now");
	w->said_no_bus = false;
	w->had_bus = true;
	mw_set_status(w, MM_WATCH_NO_MODEMMANAGER);
	start_manager(w);
}

/* The end: cancel what is under way and wait for it, drop everything. */
static void teardown(struct mm_watch *w)
{
	g_cancellable_cancel(w->cancel);
	if (w->retry) {
		g_source_destroy(w->retry);
		g_source_unref(w->retry);
		w->retry = NULL;
	}
	drop_manager(w);
	mw_untrack_all(w, true);
	if (w->conn) {
		g_signal_handlers_disconnect_by_data(w->conn, w);
		g_dbus_connection_close_sync(w->conn, NULL, NULL);
		g_clear_object(&w->conn);
	}
	while (w->pending > 0)
		g_main_context_iteration(w->ctx, TRUE);
	while (g_main_context_iteration(w->ctx, FALSE))
		;
}

static void *run(void *arg)
{
	struct mm_watch *w = arg;

	g_main_context_push_thread_default(w->ctx);
	connect_bus(w);
	g_main_loop_run(w->loop);
	teardown(w);
	g_main_context_pop_thread_default(w->ctx);
	return NULL;
}

static gboolean on_quit(gpointer data)
{
	g_main_loop_quit(data);
	return G_SOURCE_REMOVE;
}

void mm_watch_stop(struct mm_watch *w)
{
	if (!w)
		return;
	if (w->thread_started) {
		/* A call to ModemManager under way returns at once. */
		g_cancellable_cancel(w->cancel);
		/* A source, not g_main_loop_quit(): the loop may not be running yet. */
		GSource *quit = g_idle_source_new();
		g_source_set_callback(quit, on_quit, w->loop, NULL);
		g_source_attach(quit, w->ctx);
		g_source_unref(quit);
		pthread_join(w->thread, NULL);
	}
	if (w->loop)
		g_main_loop_unref(w->loop);
	if (w->ctx)
		g_main_context_unref(w->ctx);
	if (w->cancel)
		g_object_unref(w->cancel);
	g_free(w->bus_address);
	free(w->slots);
	pthread_cond_destroy(&w->changed);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

static int init_sync(struct mm_watch *w)
{
	pthread_condattr_t attr;
	int rc;

	if ((rc = pthread_mutex_init(&w->lock, NULL)))
		return -rc;
	if ((rc = pthread_condattr_init(&attr)))
		return -rc;
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	rc = pthread_cond_init(&w->changed, &attr);
	pthread_condattr_destroy(&attr);
	return -rc;
}

int mm_watch_start(const char *const *ifnames, size_t n, const struct mm_watch_config *cfg,
		   struct mm_watch **out)
{
	struct mm_watch *w;
	int rc;

	*out = NULL;
	if (!n || !ifnames)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!ifnames[i] || !ifnames[i][0] || strlen(ifnames[i]) >= IFNAMSIZ)
			return -EINVAL;
	if (!(w = calloc(1, sizeof(*w))) || (rc = init_sync(w))) {
		free(w);
		return -ENOMEM;
	}
	w->n = n;
	if (!(w->slots = calloc(n, sizeof(*w->slots)))) {
		rc = -ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		w->slots[i].w = w;
		snprintf(w->slots[i].ifname, sizeof(w->slots[i].ifname), "%s", ifnames[i]);
		modem_radio_unknown(&w->slots[i].radio);
	}
	w->rate_s = cfg && cfg->signal_rate_s ? cfg->signal_rate_s : MODEM_SIGNAL_RATE_S;
	w->retry_s = cfg && cfg->retry_s ? cfg->retry_s : MM_WATCH_RETRY_S;
	w->bus_address = g_strdup(cfg ? cfg->bus_address : NULL);
	w->ctx = g_main_context_new();
	w->loop = g_main_loop_new(w->ctx, FALSE);
	w->cancel = g_cancellable_new();
	if ((rc = -pthread_create(&w->thread, NULL, run, w)))
		goto fail;
	w->thread_started = true;
	*out = w;
	return 0;
fail:
	mm_watch_stop(w);
	return rc == -ENOMEM ? rc : -EAGAIN;
}
