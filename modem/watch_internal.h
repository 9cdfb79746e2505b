/* SPDX-License-Identifier: MIT */
/*
 * The watch's insides, shared by watch.c (start and stop, the thread, the bus
 * and ModemManager's presence), track.c (which modem is which uplink's, and
 * its signals), read.c (a modem's values as a struct modem_radio) and
 * snapshot.c (what the thread publishes and the other threads read).
 *
 * Two sides: what is under @lock (the status, the generation, each slot's
 * radio) is read by any thread; everything else belongs to the watch's
 * thread alone, in its GMainContext @ctx.
 */
#ifndef MPS_MODEM_WATCH_INTERNAL_H
#define MPS_MODEM_WATCH_INTERNAL_H

#include "log.h"
#include "modem.h"

#include <libmm-glib.h>
#include <net/if.h>
#include <pthread.h>

#define MODEM_TAG "modem"

struct modem_watch;

/* One watched uplink. */
struct mm_slot {
	struct modem_watch *w;
	char ifname[IFNAMSIZ];
	struct modem_radio radio; /* under w->lock */
	const char *busy;	  /* under w->lock: the control under way ("reset"), or NULL */

	/* The watch's thread only: the modem bound to this uplink, if any. */
	MMObject *obj;
	MMModem *modem;
	MMModem3gpp *m3gpp;
	MMModemSignal *sig;
	gulong on_modem, on_3gpp, on_sig; /* "notify" handlers */
	bool said_setup_failed;
};

struct modem_watch {
	pthread_mutex_t lock;
	pthread_cond_t changed;
	uint64_t generation;		/* under lock */
	enum modem_watch_status status; /* under lock */
	size_t n;
	struct mm_slot *slots;

	/* The watch's thread only. */
	pthread_t thread;
	bool thread_started;
	GMainContext *ctx;
	GMainLoop *loop;
	GCancellable *cancel;
	char *bus_address; /* NULL: the system bus */
	unsigned rate_s, retry_s;
	GDBusConnection *conn;
	MMManager *manager;
	GSource *retry;
	GHashTable *bearers; /* a modem's object path -> its bearers (bearers.c) */
	void (*bearers_changed)(struct modem_watch *w);
	unsigned pending; /* asynchronous calls not finished yet */
	bool said_no_bus, said_no_mm, had_bus, had_mm;
};

/* snapshot.c: publish a slot's new radio (a change bumps the generation). */
void mw_publish(struct modem_watch *w, struct mm_slot *slot, const struct modem_radio *r);
/* snapshot.c: set the status (a change bumps the generation). */
void mw_set_status(struct modem_watch *w, enum modem_watch_status status);

/* track.c: bind every slot to the modem that has its interface now (or to none), and read it. */
void mw_track_all(struct modem_watch *w);
/* track.c: unbind every slot (the bus gone, or the end); @quiet: no line per uplink. */
void mw_untrack_all(struct modem_watch *w, bool quiet);

/* bearers.c: @obj's modem (not a reference), or NULL when @obj is no modem (a SIM, a bearer). */
MMModem *mw_modem_of(gpointer obj);

/*
 * bearers.c: keep the bearers of every modem of @objects listed; a change of
 * a modem's Bearers, or of a bearer's Interface, calls @changed.
 */
void mw_bearers_update(struct modem_watch *w, GList *objects,
		       void (*changed)(struct modem_watch *w));
/* bearers.c: a bearer of @obj's modem has @ifname as its interface (QMI mux, rmnet). */
bool mw_bearers_have(struct modem_watch *w, MMObject *obj, const char *ifname);
/* bearers.c: forget every modem's bearers. */
void mw_bearers_clear(struct modem_watch *w);

/* read.c: @slot's bound modem's values (not present when none is bound). */
void mw_read(const struct mm_slot *slot, struct modem_radio *r);

#endif
