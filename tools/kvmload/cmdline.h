/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvmload's command line: parsed and range-checked into the options the
 * arch code may trust (struct kvmload_opts in arch.h).
 */
#ifndef KVMLOAD_CMDLINE_H
#define KVMLOAD_CMDLINE_H

#include "arch.h"

#define MAX_VMS		64

/* Fill o from argv, or print why not and exit 2. */
void kvmload_parse_args(int argc, char **argv, struct kvmload_opts *o);

/* The scenario's name on the command line and in the JSON. */
const char *kvmload_scenario_name(enum kvmload_scenario scenario);

#endif /* KVMLOAD_CMDLINE_H */
