// SPDX-License-Identifier: GPL-2.0
/* A document written a member at a time reads back as the one built
 * whole: the same members, in the same order, one line. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json_figures.h"

static char *streamed(json_t *middle, json_t *last, int *err)
{
	struct json_stream js;
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	assert_non_null(out);
	json_stream_open(&js, out);
	json_stream_member(&js, "type", json_string("top"));
	json_stream_member(&js, "time", json_real(1.5));
	json_stream_members(&js, middle);
	json_stream_member(&js, "none", json_null());
	json_stream_member(&js, "last", last);
	*err = json_stream_close(&js);
	fclose(out);
	return text;
}

static void reads_back_in_order(void **state)
{
	json_t *middle = json_pack("{s:i, s:[i, i], s:{s:s}}", "a", 1, "b", 2,
				   3, "c", "d", "e \"quoted\"");
	const char *const keys[] = { "type", "time", "a", "b", "c", "none",
				     "last" };
	json_t *doc, *value;
	json_error_t jerr;
	const char *key;
	size_t i = 0;
	char *text;
	int err;

	(void)state;
	text = streamed(middle, json_integer(7), &err);
	assert_int_equal(err, 0);
	assert_non_null(strchr(text, '\n'));
	assert_int_equal(strchr(text, '\n') - text, strlen(text) - 1);
	doc = json_loads(text, 0, &jerr);
	assert_non_null(doc);
	json_object_foreach(doc, key, value) {
		assert_true(i < sizeof(keys) / sizeof(keys[0]));
		assert_string_equal(key, keys[i++]);
	}
	assert_int_equal(i, sizeof(keys) / sizeof(keys[0]));
	assert_string_equal(json_string_value(json_object_get(
		json_object_get(doc, "c"), "d")), "e \"quoted\"");
	assert_int_equal(json_integer_value(json_array_get(
		json_object_get(doc, "b"), 1)), 3);
	assert_true(json_is_null(json_object_get(doc, "none")));
	assert_int_equal(json_integer_value(json_object_get(doc, "last")), 7);
	json_decref(doc);
	free(text);
}

/* A member that could not be made (NULL) fails the document, not a
 * silent gap in it. */
static void a_missing_member_is_an_error(void **state)
{
	char *text;
	int err;

	(void)state;
	text = streamed(json_object(), NULL, &err);
	assert_int_equal(err, -ENOMEM);
	free(text);
	text = streamed(NULL, json_integer(1), &err);
	assert_int_equal(err, -ENOMEM);
	free(text);
}

static json_t *vm_number(const void *view, size_t i)
{
	const int *base = view;

	return json_pack("{s:i}", "pid", *base + (int)i);
}

/* Levels opened and closed around VMs written one at a time read back as
 * the object json_with_vms() builds whole. */
static void nested_levels_read_back_as_whole(void **state)
{
	static const int first_pid = 100;
	json_t *whole, *doc;
	struct json_stream js;
	char *text = NULL;
	size_t len = 0, i;
	FILE *out = open_memstream(&text, &len);

	(void)state;
	assert_non_null(out);
	json_stream_open(&js, out);
	json_stream_member(&js, "type", json_string("top"));
	json_stream_open_object(&js, "pmu");
	json_stream_members(&js, json_pack("{s:i}", "interval_s", 2));
	json_stream_open_array(&js, "vms");
	for (i = 0; i < 3; i++)
		json_stream_element(&js, vm_number(&first_pid, i));
	json_stream_close_array(&js);
	json_stream_close_object(&js);
	json_stream_open_array(&js, "empty");
	json_stream_close_array(&js);
	json_stream_member(&js, "last", json_true());
	assert_int_equal(json_stream_close(&js), 0);
	fclose(out);
	doc = json_loads(text, 0, NULL);
	assert_non_null(doc);
	whole = json_with_vms(json_pack("{s:i}", "interval_s", 2), &first_pid,
			      3, vm_number);
	assert_true(json_equal(json_object_get(doc, "pmu"), whole));
	assert_int_equal(json_array_size(json_object_get(doc, "empty")), 0);
	assert_true(json_is_true(json_object_get(doc, "last")));
	json_decref(whole);
	json_decref(doc);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reads_back_in_order),
		cmocka_unit_test(a_missing_member_is_an_error),
		cmocka_unit_test(nested_levels_read_back_as_whole),
	};

	return cmocka_run_group_tests_name("json_stream", tests, NULL, NULL);
}
