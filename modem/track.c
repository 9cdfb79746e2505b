// SPDX-License-Identifier: MIT
/*
 * Which modem is which uplink's: the modem whose Ports property lists the
 * uplink's interface as its network port, or one of whose bearers has it as
 * its Interface (QMI multiplexing: qmimux0, rmnet_data0; bearers.c). A slot keeps its modem's proxies
 * (Modem, Modem3gpp, Modem.Signal) and a "notify" handler on each, so that a
 * PropertiesChanged signal from ModemManager becomes a new snapshot. Any
 * change to the set of objects or of their interfaces runs mw_track_all()
 * again: it rebinds the slots whose modem, or whose modem's interfaces, are
 * not what they were.
 */
#include "watch_internal.h"

#include <string.h>

static bool has_net_port(MMModem *modem, const char *ifname)
{
	const MMModemPortInfo *ports = NULL;
	guint n = 0;

	if (!mm_modem_peek_ports(modem, &ports, &n))
		return false;
	for (guint i = 0; i < n; i++)
		if (ports[i].type == MM_MODEM_PORT_TYPE_NET && ports[i].name &&
		    !strcmp(ports[i].name, ifname))
			return true;
	return false;
}

/*
 * The object (of @objects) whose modem has @ifname as its network port, else
 * the one with a bearer on @ifname, or NULL.
 */
static MMObject *find_modem(struct modem_watch *w, GList *objects, const char *ifname)
{
	for (GList *l = objects; l; l = l->next) {
		MMModem *modem = mw_modem_of(l->data);

		if (modem && has_net_port(modem, ifname))
			return MM_OBJECT(l->data);
	}
	for (GList *l = objects; l; l = l->next)
		if (mw_modem_of(l->data) && mw_bearers_have(w, MM_OBJECT(l->data), ifname))
			return MM_OBJECT(l->data);
	return NULL;
}

static void disconnect(gpointer proxy, gulong *handler)
{
	if (proxy && *handler)
		g_signal_handler_disconnect(proxy, *handler);
	*handler = 0;
}

/* @quiet: the same modem is bound again (its interfaces changed). */
static void unbind_modem(struct mm_slot *slot, bool quiet)
{
	disconnect(slot->modem, &slot->on_modem);
	disconnect(slot->m3gpp, &slot->on_3gpp);
	disconnect(slot->sig, &slot->on_sig);
	g_clear_object(&slot->modem);
	g_clear_object(&slot->m3gpp);
	g_clear_object(&slot->sig);
	if (slot->obj && !quiet)
		LOG_INFO(MODEM_TAG, "%s: its modem is gone", slot->ifname);
	g_clear_object(&slot->obj);
}

static void reread(struct mm_slot *slot)
{
	struct modem_radio r;

	mw_read(slot, &r);
	mw_publish(slot->w, slot, &r);
}

static void on_notify(GObject *proxy, GParamSpec *pspec, gpointer data)
{
	struct mm_slot *slot = data;

	/* A modem's ports changed: it may be another uplink's now. */
	if (!strcmp(g_param_spec_get_name(pspec), "ports"))
		mw_track_all(slot->w);
	else
		reread(slot);
}

static void on_setup(GObject *source, GAsyncResult *res, gpointer data)
{
	struct mm_slot *slot = data;
	GError *err = NULL;

	slot->w->pending--;
	if (mm_modem_signal_setup_finish(MM_MODEM_SIGNAL(source), res, &err))
		return;
	/* A modem gone (or ModemManager) meanwhile is no failure to report. */
	bool moot = g_error_matches(err, G_IO_ERROR, G_IO_ERROR_CANCELLED) ||
		    slot->sig != MM_MODEM_SIGNAL(source);
	if (!moot && !slot->said_setup_failed) {
		slot->said_setup_failed = true;
		LOG_INFO(MODEM_TAG, "%s: the modem's extended signal values stay off: %s",
			 slot->ifname, err->message);
	}
	g_error_free(err);
}

/* Ask ModemManager to refresh the extended signal values every rate_s seconds. */
static void setup_signal(struct mm_slot *slot)
{
	struct modem_watch *w = slot->w;

	if (mm_modem_signal_get_rate(slot->sig) == w->rate_s)
		return;
	w->pending++;
	mm_modem_signal_setup(slot->sig, w->rate_s, w->cancel, on_setup, slot);
}

static void bind_modem(struct mm_slot *slot, MMObject *obj)
{
	slot->obj = g_object_ref(obj);
	slot->modem = mm_object_get_modem(obj);
	slot->m3gpp = mm_object_get_modem_3gpp(obj);
	slot->sig = mm_object_get_modem_signal(obj);
	if (slot->modem)
		slot->on_modem =
			g_signal_connect(slot->modem, "notify", G_CALLBACK(on_notify), slot);
	if (slot->m3gpp)
		slot->on_3gpp =
			g_signal_connect(slot->m3gpp, "notify", G_CALLBACK(on_notify), slot);
	if (slot->sig) {
		slot->on_sig = g_signal_connect(slot->sig, "notify", G_CALLBACK(on_notify), slot);
		setup_signal(slot);
	}
}

static const char *text(const char *s)
{
	return s ? s : "?";
}

static void say_bound(const struct mm_slot *slot)
{
	LOG_INFO(MODEM_TAG, "%s: modem %s %s (%s)", slot->ifname,
		 text(slot->modem ? mm_modem_get_manufacturer(slot->modem) : NULL),
		 text(slot->modem ? mm_modem_get_model(slot->modem) : NULL),
		 text(mm_object_get_path(slot->obj)));
}

/* Bound to @obj with the interfaces @obj has now. */
static bool bound_to(const struct mm_slot *slot, MMObject *obj)
{
	return slot->obj == obj && (!obj || (mm_object_peek_modem(obj) == slot->modem &&
					     mm_object_peek_modem_3gpp(obj) == slot->m3gpp &&
					     mm_object_peek_modem_signal(obj) == slot->sig));
}

static bool has_owner(struct modem_watch *w)
{
	gchar *owner = w->manager ? g_dbus_object_manager_client_get_name_owner(
					    G_DBUS_OBJECT_MANAGER_CLIENT(w->manager))
				  : NULL;
	bool has = owner != NULL;

	g_free(owner);
	return has;
}

void mw_track_all(struct modem_watch *w)
{
	GList *objects =
		w->manager ? g_dbus_object_manager_get_objects(G_DBUS_OBJECT_MANAGER(w->manager))
			   : NULL;
	/* ModemManager gone says so once, not once per uplink. */
	bool quiet_gone = !has_owner(w);

	mw_bearers_update(w, objects, mw_track_all);
	for (size_t i = 0; i < w->n; i++) {
		struct mm_slot *slot = &w->slots[i];
		MMObject *obj = find_modem(w, objects, slot->ifname);

		if (!bound_to(slot, obj)) {
			bool again = obj && slot->obj == obj;
			unbind_modem(slot, again || quiet_gone);
			if (obj)
				bind_modem(slot, obj);
			if (obj && !again)
				say_bound(slot);
		}
		reread(slot);
	}
	g_list_free_full(objects, g_object_unref);
}

void mw_untrack_all(struct modem_watch *w, bool quiet)
{
	mw_bearers_clear(w);
	for (size_t i = 0; i < w->n; i++) {
		unbind_modem(&w->slots[i], quiet);
		reread(&w->slots[i]);
	}
}
