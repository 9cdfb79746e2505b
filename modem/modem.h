/* SPDX-License-Identifier: MIT */
/*
 * modem: each uplink's radio, as ModemManager reports it.
 *
 * modem_watch_start() starts one thread of its own that talks to ModemManager
 * over D-Bus through libmm-glib (ModemManager's client library), in a
 * GMainContext of its own (never the default one). An uplink is a modem's
 * when a modem lists the uplink's interface among its ports as its network
 * port (MM_MODEM_PORT_TYPE_NET). What the modem reports arrives as D-Bus
 * signals (objects added and removed, properties changed), not by polling;
 * the extended signal values (RSRP, RSRQ, SNR) are refreshed by ModemManager
 * at the rate asked of its Modem.Signal interface.
 *
 * Nothing here fails for want of ModemManager: no system bus, ModemManager
 * not running, gone and back, a modem unplugged: the uplink's radio is then
 * "not present", one line is logged at each such change, and the modems come
 * back when ModemManager does.
 *
 * modem_watch_get() copies one uplink's radio under the watch's lock: any thread
 * may call it, at any rate. No glib type or header is seen outside.
 */
#ifndef MPS_MODEM_H
#define MPS_MODEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MODEM_WARN_UNUSED __attribute__((warn_unused_result))

/* The extended signal values' refresh period asked of ModemManager, by default. */
#define MODEM_SIGNAL_RATE_S 5
/* Strings as the modem or ModemManager gave them (outside input: escape before showing). */
#define MODEM_TEXT 64

/* The 3GPP registration, in the few states an operator acts on. */
enum modem_reg {
	MODEM_REG_UNKNOWN = 0, /* no modem, no 3GPP interface yet, or the modem does not say */
	MODEM_REG_IDLE,	       /* not registered, not searching (a disabled modem says unknown) */
	MODEM_REG_SEARCHING,
	MODEM_REG_DENIED, /* refused; emergency calls only counts as refused */
	MODEM_REG_HOME,
	MODEM_REG_ROAMING,
};

/* The SIM, as the modem's lock and state say. */
enum modem_sim {
	MODEM_SIM_UNKNOWN = 0,
	MODEM_SIM_MISSING,
	MODEM_SIM_PIN,	  /* locked: the PIN is asked for */
	MODEM_SIM_PUK,	  /* locked: the PUK is asked for (the PIN's attempts are used up) */
	MODEM_SIM_LOCKED, /* another lock (a network or PH-SIM lock, PIN2/PUK2) */
	MODEM_SIM_READY,
};

/* Where the watch is. */
enum modem_watch_status {
	MODEM_WATCH_STARTING = 0,    /* not connected to the bus yet */
	MODEM_WATCH_NO_BUS,	     /* no system bus (tried again every retry_s) */
	MODEM_WATCH_NO_MODEMMANAGER, /* the bus is there, ModemManager is not */
	MODEM_WATCH_RUNNING,	     /* ModemManager answers */
};
#define MODEM_WATCH_RETRY_S 10

/* One uplink's radio. Doubles are NAN where the modem reports nothing. */
struct modem_radio {
	/*
	 * The watch's generation (modem_watch_generation()) when this uplink's
	 * radio last changed; 0 while it never was seen.
	 */
	uint64_t generation;
	bool present; /* a modem has this interface as its network port */
	char model[MODEM_TEXT];
	char manufacturer[MODEM_TEXT];
	char operator_name[MODEM_TEXT];
	char operator_code[8]; /* MCC and MNC, "20801" */
	char tech[8];	       /* "5G", "LTE", "3G", "2G", "" (none or unknown) */
	char state[16]; /* ModemManager's modem state: "registered", "connected", "locked", ... */
	enum modem_reg reg;
	int quality;	     /* signal quality, 0..100 %; -1 unknown */
	bool quality_recent; /* ModemManager's flag: the quality was read recently */
	struct {
		double rsrp, rsrq, snr, rssi; /* dBm, dB, dB, dBm */
	} lte;
	struct {
		double rsrp, rsrq, sinr; /* dBm, dB, dB: ModemManager's Nr5g "snr" */
	} nr;
	double rssi;		/* dBm: UMTS's, or GSM's, where there is no LTE or 5G figure */
	unsigned signal_rate_s; /* the Modem.Signal refresh period in effect; 0: none */
	enum modem_sim sim;
	int sim_retries; /* the attempts left for the code asked for (PIN or PUK); -1 unknown */
};

struct modem_watch;

struct modem_watch_config {
	/*
	 * The D-Bus address to find ModemManager on; NULL: the system bus (gio
	 * honours DBUS_SYSTEM_BUS_ADDRESS, which the tests use).
	 */
	const char *bus_address;
	unsigned signal_rate_s; /* 0: MODEM_SIGNAL_RATE_S */
	unsigned retry_s; /* a bus not there is tried again after this; 0: MODEM_WATCH_RETRY_S */
};

/*
 * Start watching the modems of the interfaces @ifnames (@n of them, each
 * shorter than IFNAMSIZ); @cfg may be NULL. Returns at once: the watch's
 * thread connects, and keeps trying, on its own. Returns 0 and *@out, or
 * -EINVAL (a name too long, n == 0), -ENOMEM, -EAGAIN (no thread).
 */
MODEM_WARN_UNUSED int modem_watch_start(const char *const *ifnames, size_t n,
					const struct modem_watch_config *cfg,
					struct modem_watch **out);

/* Stop the thread and free everything. NULL is accepted. */
void modem_watch_stop(struct modem_watch *w);

/*
 * Copy @ifname's radio into *@out. Returns 0, or -ENOENT when @ifname is not
 * one of the watched interfaces (*@out is then "not present").
 */
MODEM_WARN_UNUSED int modem_watch_get(struct modem_watch *w, const char *ifname,
				      struct modem_radio *out);

/* Bumped at every change of any uplink's radio and of the status. */
uint64_t modem_watch_generation(struct modem_watch *w);

enum modem_watch_status modem_watch_status(struct modem_watch *w);

/*
 * Wait until the generation passes @after, or @timeout_ms (< 0: no limit)
 * has gone by. Returns the generation.
 */
uint64_t modem_watch_wait(struct modem_watch *w, uint64_t after, int timeout_ms);

/* Names for the API, the CSV and the log: "home", "roaming", ...; "ready", "pin", ... */
const char *modem_reg_name(enum modem_reg reg);
const char *modem_sim_name(enum modem_sim sim);
const char *modem_watch_status_name(enum modem_watch_status status);

/* Registered (home or roaming): the uplink can carry data. */
bool modem_reg_registered(enum modem_reg reg);

/*
 * On its network as failover judges it: registered (home or roaming), or a
 * registration ModemManager does not tell yet while the modem is not off
 * (disabled, disabling, failed or locked: ModemManager then says "unknown"),
 * which the link decides. Pure (radio.c).
 */
bool modem_radio_on_network(const struct modem_radio *r);

/*
 * The radio in the few words every place shows it: the status line, the log
 * ("wwan0 down: the modem lost its network (searching)"), the page's alert.
 * One wording for each state: "" (not present); the SIM first: "no SIM",
 * "SIM PIN", "SIM PUK", "SIM locked"; off its network: "searching",
 * "refused", "radio off", or the modem's state ("disabled", "failed", ...);
 * on it: "LTE 72%", "LTE", "72%", else the modem's state, else
 * "registration unknown". No text of the modem's goes in (the technology is
 * from a table, the state is libmm-glib's name). Writes at most @size bytes,
 * NUL included; returns what it wanted to write, as snprintf() does. Pure.
 */
int modem_radio_words(const struct modem_radio *r, char *buf, size_t size);
#define MODEM_WORDS 24 /* enough for every wording */

/*
 * The operator's controls (control.c). Each is handed to the watch's thread
 * (libmm-glib is only ever used there) and waits for ModemManager's answer,
 * at most MODEM_CONTROL_TIMEOUT_MS: call them from any other thread (the web
 * server's), never from the watch's. Each returns 0 or -errno and fills *@out:
 * what was done or why not, in words fit for the log and the API (never the
 * PIN), and the PIN's attempts left (-1: unknown, or not a PIN). Errors:
 * -ENOENT (@ifname is not watched), -ENODEV (no modem has @ifname: not a modem,
 * or no ModemManager), -EINVAL (a PIN or APN not valid), -EIO (ModemManager
 * refused: its reason in @out->msg), -EBUSY (another control of the same
 * modem is under way, until ModemManager answers it, even when its caller
 * stopped waiting: one at a time per modem), -ETIMEDOUT, -ENOTSUP, -ENOMEM.
 * The PIN's attempts left are the count after the attempt (read from
 * ModemManager once SendPin answered, not from a cache that may lag).
 */
/*
 * Short: the caller is the web server's one thread, whose other requests (the
 * operator's "stop" among them) wait meanwhile; a control not answered by then
 * goes on, and its end is logged.
 */
#define MODEM_CONTROL_TIMEOUT_MS 3000
#define MODEM_CONTROL_MSG	 192
#define MODEM_PIN_MIN		 4
#define MODEM_PIN_MAX		 8
#define MODEM_APN_MAX		 100 /* 3GPP TS 23.003 */

struct modem_control_result {
	int retries; /* the SIM PIN's attempts left after the call; -1: unknown */
	char msg[MODEM_CONTROL_MSG];
};

/* A SIM PIN: 4 to 8 digits (3GPP TS 31.101), nothing else. Pure. */
bool modem_pin_valid(const char *pin);
/* An APN: 1 to 100 letters, digits, '-' and '.'. Pure. */
bool modem_apn_valid(const char *apn);

/* Reset @ifname's modem (Modem.Reset): it leaves the bus and comes back. */
MODEM_WARN_UNUSED int modem_watch_reset(struct modem_watch *w, const char *ifname,
					struct modem_control_result *out);

/*
 * Send @pin to @ifname's modem's SIM (Sim.SendPin on the modem's Sim). @pin
 * is checked here (modem_pin_valid()), copied for the watch's thread, and
 * wiped (explicit_bzero) in place before this returns, whatever the outcome;
 * the copy is wiped once ModemManager has answered.
 */
MODEM_WARN_UNUSED int modem_watch_send_pin(struct modem_watch *w, const char *ifname, char *pin,
					   struct modem_control_result *out);

/* Connect @ifname's modem with @apn (Modem.Simple.Connect, {"apn": @apn}). */
MODEM_WARN_UNUSED int modem_watch_connect(struct modem_watch *w, const char *ifname,
					  const char *apn, struct modem_control_result *out);

#endif
