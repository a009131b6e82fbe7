/* SPDX-License-Identifier: GPL-2.0 */
/* The subcommands; each returns a process exit code (enum kw_exit). */
#ifndef KVMWATCH_COMMANDS_H
#define KVMWATCH_COMMANDS_H

int cmd_probe(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_record(int argc, char **argv);
int cmd_export(int argc, char **argv);

/*
 * The same command lines parsed and checked, nothing run: KW_EXIT_OK,
 * KW_EXIT_USAGE after saying why, or OPTIONS_SHOWN after printing what
 * was asked (-h, --list-rules). For the parser's fuzzer.
 */
int cmd_probe_parse(int argc, char **argv);
int cmd_top_parse(int argc, char **argv);
int cmd_check_parse(int argc, char **argv);
int cmd_record_parse(int argc, char **argv);
int cmd_export_parse(int argc, char **argv);

/* A command by its name: what runs it, and its parser alone. */
struct kvmwatch_command {
	const char *name;
	int (*run)(int argc, char **argv);
	int (*parse)(int argc, char **argv);
};

/* The command called name, or NULL. */
const struct kvmwatch_command *kvmwatch_command(const char *name);

#endif
