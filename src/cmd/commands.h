/* SPDX-License-Identifier: GPL-2.0 */
/* The subcommands; each returns a process exit code (enum kw_exit). */
#ifndef KVMWATCH_COMMANDS_H
#define KVMWATCH_COMMANDS_H

int cmd_probe(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_record(int argc, char **argv);
int cmd_export(int argc, char **argv);

#endif
