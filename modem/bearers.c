// SPDX-License-Identifier: MIT
/*
 * Each modem's bearers and their interfaces, for the uplinks that are no
 * modem's port but a bearer's: with QMI multiplexing (qmi_wwan's qmimux0,
 * rmnet's rmnet_data0), the modem's Ports list its network port (wwan0), and
 * the interface that carries data is the connected bearer's Interface.
 *
 * The bearers are listed asynchronously (mm_modem_list_bearers(): a proxy per
 * path of the modem's Bearers property) whenever that property is not what
 * the last list was made for; a new list, or a bearer's Interface changing,
 * calls the watch's bearers_changed (track.c's mw_track_all(), which rebinds
 * the slots: a callback, so that this file calls nothing of track.c's). Every modem object of
 * the object manager has an entry, whether a slot is bound to it or not (a
 * modem is found by its bearers before any slot is bound to it).
 */
#include "watch_internal.h"

#include <string.h>

MMModem *mw_modem_of(gpointer obj)
{
	if (!MM_IS_OBJECT(obj))
		return NULL;
	/* Not every object is a modem (a SIM, a bearer): libmm-glib warns if asked. */
	GDBusInterface *has =
		g_dbus_object_get_interface(G_DBUS_OBJECT(obj), MM_DBUS_INTERFACE_MODEM);
	if (!has)
		return NULL;
	g_object_unref(has);
	return mm_object_peek_modem(MM_OBJECT(obj));
}

struct mw_bearers {
	struct modem_watch *w;
	MMModem *modem;
	gulong on_paths;      /* "notify::bearers" on the modem */
	gchar **listed;	      /* the Bearers the list is for; NULL: none listed yet */
	GPtrArray *bearers;   /* MMBearer, each with a "notify::interface" handler */
	GCancellable *cancel; /* the listing under way: cancelled when the entry goes */
	bool seen;	      /* in this round of mw_bearers_update() */
};

/* A listing under way: what it is for, and whether its entry still is. */
struct mw_listing {
	struct modem_watch *w;
	struct mw_bearers *b; /* valid unless @cancel was cancelled */
	GCancellable *cancel;
	gchar **paths;
};

static void drop_bearers(struct mw_bearers *b)
{
	if (!b->bearers)
		return;
	for (guint i = 0; i < b->bearers->len; i++)
		g_signal_handlers_disconnect_by_data(g_ptr_array_index(b->bearers, i), b);
	g_clear_pointer(&b->bearers, g_ptr_array_unref);
}

static void free_entry(gpointer data)
{
	struct mw_bearers *b = data;

	if (b->cancel) {
		g_cancellable_cancel(b->cancel);
		g_clear_object(&b->cancel);
	}
	drop_bearers(b);
	if (b->on_paths)
		g_signal_handler_disconnect(b->modem, b->on_paths);
	g_clear_object(&b->modem);
	g_strfreev(b->listed);
	g_free(b);
}

static void on_interface(GObject *bearer, GParamSpec *pspec, gpointer data)
{
	struct mw_bearers *b = data;

	b->w->bearers_changed(b->w);
}

static void on_listed(GObject *source, GAsyncResult *res, gpointer data)
{
	struct mw_listing *l = data;
	GError *err = NULL;
	GList *list = mm_modem_list_bearers_finish(MM_MODEM(source), res, &err);
	bool gone = g_cancellable_is_cancelled(l->cancel);

	l->w->pending--;
	if (!gone) {
		struct mw_bearers *b = l->b;

		g_clear_object(&b->cancel);
		drop_bearers(b);
		b->bearers = g_ptr_array_new_with_free_func(g_object_unref);
		for (GList *i = list; i; i = i->next) {
			g_signal_connect(i->data, "notify::interface", G_CALLBACK(on_interface), b);
			g_ptr_array_add(b->bearers, g_object_ref(i->data));
		}
		g_strfreev(b->listed);
		/* A failed list is not tried again until the Bearers change. */
		b->listed = g_steal_pointer(&l->paths);
		if (err)
			LOG_DEBUG(MODEM_TAG, "a modem's bearers not listed: %s", err->message);
		l->w->bearers_changed(l->w);
	}
	g_list_free_full(list, g_object_unref);
	g_clear_error(&err);
	g_strfreev(l->paths);
	g_object_unref(l->cancel);
	g_free(l);
}

/* The same paths in the same order (NULL and an empty list are the same: none). */
static bool same_paths(gchar **a, const gchar *const *b)
{
	size_t i = 0;

	for (; a && a[i] && b && b[i]; i++)
		if (strcmp(a[i], b[i]))
			return false;
	return !(a && a[i]) && !(b && b[i]);
}

static void list_if_changed(struct mw_bearers *b)
{
	const gchar *const *now = mm_modem_get_bearer_paths(b->modem);
	struct mw_listing *l;

	if (b->cancel || (b->listed && same_paths(b->listed, now)))
		return;
	if (!now || !now[0]) { /* none: nothing to ask */
		drop_bearers(b);
		g_strfreev(b->listed);
		b->listed = g_new0(gchar *, 1);
		return;
	}
	l = g_new0(struct mw_listing, 1);
	l->w = b->w;
	l->b = b;
	l->cancel = g_cancellable_new();
	l->paths = g_strdupv((gchar **)now);
	b->cancel = g_object_ref(l->cancel);
	b->w->pending++;
	mm_modem_list_bearers(b->modem, l->cancel, on_listed, l);
}

static void on_paths(GObject *modem, GParamSpec *pspec, gpointer data)
{
	list_if_changed(data);
}

static struct mw_bearers *entry(struct modem_watch *w, MMObject *obj, MMModem *modem)
{
	const char *path = g_dbus_object_get_object_path(G_DBUS_OBJECT(obj));
	struct mw_bearers *b;

	if (!w->bearers)
		w->bearers = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, free_entry);
	b = g_hash_table_lookup(w->bearers, path);
	if (b && b->modem != modem) { /* the same path, a new modem (ModemManager restarted) */
		g_hash_table_remove(w->bearers, path);
		b = NULL;
	}
	if (!b) {
		b = g_new0(struct mw_bearers, 1);
		b->w = w;
		b->modem = g_object_ref(modem);
		b->on_paths = g_signal_connect(modem, "notify::bearers", G_CALLBACK(on_paths), b);
		g_hash_table_insert(w->bearers, g_strdup(path), b);
	}
	return b;
}

static gboolean unseen(gpointer key, gpointer value, gpointer data)
{
	struct mw_bearers *b = value;
	bool drop = !b->seen;

	b->seen = false;
	return drop;
}

void mw_bearers_update(struct modem_watch *w, GList *objects,
		       void (*changed)(struct modem_watch *w))
{
	w->bearers_changed = changed;
	for (GList *l = objects; l; l = l->next) {
		MMModem *modem = mw_modem_of(l->data);

		if (modem) {
			struct mw_bearers *b = entry(w, MM_OBJECT(l->data), modem);

			b->seen = true;
			list_if_changed(b);
		}
	}
	if (w->bearers)
		g_hash_table_foreach_remove(w->bearers, unseen, NULL);
}

bool mw_bearers_have(struct modem_watch *w, MMObject *obj, const char *ifname)
{
	struct mw_bearers *b =
		w->bearers ? g_hash_table_lookup(w->bearers,
						 g_dbus_object_get_object_path(G_DBUS_OBJECT(obj)))
			   : NULL;

	for (guint i = 0; b && b->bearers && i < b->bearers->len; i++) {
		const char *iface = mm_bearer_get_interface(g_ptr_array_index(b->bearers, i));

		if (iface && !strcmp(iface, ifname))
			return true;
	}
	return false;
}

void mw_bearers_clear(struct modem_watch *w)
{
	g_clear_pointer(&w->bearers, g_hash_table_unref);
}
