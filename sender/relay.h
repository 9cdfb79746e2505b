/* SPDX-License-Identifier: MIT */
/*
 * `mpstream relay`: MPTCP in, plain TCP out, for ingests that do not speak
 * MPTCP (see relay.c).
 */
#ifndef MPS_RELAY_H
#define MPS_RELAY_H

#include <signal.h>

extern const char snd_relay_usage[];

/* The subcommand: argv[0] is "relay". Returns the exit code. */
int snd_relay_main(int argc, char **argv, volatile sig_atomic_t *stop);

#endif
