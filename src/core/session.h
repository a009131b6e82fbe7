/* SPDX-License-Identifier: GPL-2.0 */
/* Start-up shared by the commands: probe the kernel, refuse plainly. */
#ifndef KVMWATCH_SESSION_H
#define KVMWATCH_SESSION_H

#include <stdio.h>

#include "attach.h"

/* Probe the kernel and plan the detectors in mask. Returns KW_EXIT_OK or
 * the exit code for a one-line reason already printed. */
int session_prepare(struct kernel_caps *caps, struct attach_plan *plan,
		    unsigned int detector_mask);

/* "tracepoint" or "fentry+tracepoint": the modes a detector runs in. */
void session_modes(const struct attach_plan *plan, enum detector_id det,
		   char *buf, size_t len);

/* One line per point of det watched in a weaker mode, saying what is
 * lost, when verbose is set; returns how many such points det has. */
int session_lost_figures(FILE *out, const struct attach_plan *plan,
			 enum detector_id det, bool verbose);

#endif
