// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the rules-file parser on arbitrary bytes. It must
 * return 0 or an error naming "<file>:<line>:", never crash, leak or read
 * out of bounds (built with ASan and UBSan). `make fuzz` runs it for a
 * bounded time over the kept corpus in tests/fuzz/rules_file/.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gate/rules_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct baseline_settings s;
	struct rules_file rf;
	char error[256];
	int err;

	err = rules_file_parse("fuzz.yaml", (const char *)data, size, &rf,
			       error, sizeof(error));
	if (err) {
		/* Every error says where. */
		if (strncmp(error, "fuzz.yaml", 9))
			abort();
		return 0;
	}
	baseline_settings_init(&s);
	if (rules_file_apply(&rf, &s))
		abort();
	baseline_settings_free(&s);
	rules_file_free(&rf);
	return 0;
}
