/* SPDX-License-Identifier: MIT */
/*
 * The state directory: what a run keeps for the next one (the MPTCP limit it
 * raised, the operator page's token). $RUNTIME_DIRECTORY when systemd gives
 * one (RuntimeDirectory=), else MPS_STATE_DIR.
 */
#ifndef MPS_COMMON_STATE_H
#define MPS_COMMON_STATE_H

#include <stddef.h>

#define MPS_STATE_DIR "/run/mpstream"

/*
 * The path of file @name in the state directory, into @buf (MPS_STATE_DIR is
 * made if it is missing). Returns 0, -ENAMETOOLONG, or -errno of mkdir().
 */
int mps_state_path(const char *name, char *buf, size_t size) __attribute__((warn_unused_result));

#endif
