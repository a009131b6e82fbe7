// SPDX-License-Identifier: GPL-2.0
/* Writing the JSON documents of every command. */
#include <errno.h>

#include "json_figures.h"
#include "vm_ident.h"
#include "vm_name.h"

int json_emit(FILE *out, json_t *doc)
{
	int err = 0;

	if (!doc)
		return -ENOMEM;
	if (json_dumpf(doc, out, JSON_COMPACT) || fputc('\n', out) == EOF ||
	    fflush(out))
		err = -EIO;
	json_decref(doc);
	return err;
}

json_t *json_vm_start(uint64_t start)
{
	return start ? json_real(vm_start_unix(start)) : json_null();
}

json_t *json_vm_name(uint32_t pid, uint64_t start)
{
	const char *name = vm_name(pid, start);

	return name[0] ? json_string(name) : json_null();
}
