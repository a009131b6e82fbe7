// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the baseline loader (a record document) on arbitrary
 * bytes, and a comparison of what it accepted with itself. Loading must
 * succeed or fail with a message, never crash, leak or read out of
 * bounds; an accepted record compared with itself must PASS or refuse,
 * never FAIL (built with ASan and UBSan).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gate/baseline.h"
#include "gate/record_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct baseline_settings s;
	struct baseline_result res;
	struct record r;
	json_error_t jerr;
	char error[512];
	json_t *doc;

	if (size > RECORD_MAX_SIZE)
		return 0;
	doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES,
			 &jerr);
	if (!doc)
		return 0;
	error[0] = '\0';
	if (record_from_json(doc, &r, error, sizeof(error))) {
		/* Every refusal says why. */
		if (!error[0])
			abort();
		json_decref(doc);
		record_free(&r);
		return 0;
	}
	json_decref(doc);
	baseline_settings_init(&s);
	memset(&res, 0, sizeof(res));
	if (!baseline_compare(&r, &r, &s, &res, error, sizeof(error)) &&
	    res.failed)
		abort();
	baseline_result_free(&res);
	baseline_settings_free(&s);
	record_free(&r);
	return 0;
}
