// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: kvmwatch's command lines. The input is split at NUL
 * bytes into arguments; they go through the options before the command
 * and then the command's own parser, as main() would hand them over.
 * Parsing must accept, or refuse with exit 2 after saying why, or print
 * what was asked (-h, --list-rules); never crash, leak or read out of
 * bounds (built with ASan and UBSan). Nothing is run.
 *
 * Arguments holding a '/' are dropped, so every path a parser checks or
 * reads is relative to a scratch folder of the fuzzer's own.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/commands.h"
#include "cmd/options.h"

#define MAX_ARGS 24
#define MAX_ARG_LEN 256

/* What the parsers say, kept to tell a silent refusal. */
static char *said;
static size_t said_len;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char dir[] = "/tmp/kvmwatch-fuzz-cli.XXXXXX";

	(void)argc;
	(void)argv;
	if (!mkdtemp(dir) || chdir(dir))
		abort();
	stdout = fopen("/dev/null", "w");
	if (!stdout)
		abort();
	return 0;
}

/* The arguments in data, after a program name; their count. */
static int split(const uint8_t *data, size_t size, char **args)
{
	size_t start = 0, i;
	int n = 0;

	args[n++] = strdup("kvmwatch");
	for (i = 0; i <= size && n < MAX_ARGS; i++) {
		if (i < size && data[i])
			continue;
		if (i - start <= MAX_ARG_LEN &&
		    !memchr(data + start, '/', i - start)) {
			args[n] = strndup((const char *)data + start, i - start);
			if (!args[n])
				abort();
			n++;
		}
		start = i + 1;
	}
	args[n] = NULL;
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *args[MAX_ARGS + 1], *copy[MAX_ARGS + 1];
	const struct kvmwatch_command *command;
	FILE *saved = stderr;
	int argc, at = 0, rc, i;

	argc = split(data, size, args);
	/* Parsers may reorder argv (getopt): free what was allocated. */
	memcpy(copy, args, sizeof(copy));
	stderr = open_memstream(&said, &said_len);
	if (!stderr)
		abort();
	rc = parse_global_options(argc, args, &at);
	if (rc == KW_EXIT_OK) {
		/* As main() hands it over, with the parser alone. */
		command = kvmwatch_command(args[at]);
		rc = command ? command->parse(argc - at, args + at) :
			KW_EXIT_USAGE;
		if (!command)
			fputs("unknown command\n", stderr);
	}
	fclose(stderr);
	stderr = saved;
	/* A refusal always says why. */
	if (rc != KW_EXIT_OK && rc != OPTIONS_SHOWN &&
	    (rc != KW_EXIT_USAGE || !said_len))
		abort();
	free(said);
	said = NULL;
	for (i = 0; i < argc; i++)
		free(copy[i]);
	return 0;
}
