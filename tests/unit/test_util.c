// SPDX-License-Identifier: GPL-2.0
/* Command-line value parsing: bad input must be refused, not guessed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "kvmwatch.h"

static void uints(void **state)
{
	unsigned long v;

	(void)state;
	assert_true(parse_uint("42", 100, &v));
	assert_int_equal(v, 42);
	assert_false(parse_uint("", 100, &v));
	assert_false(parse_uint("-1", 100, &v));
	assert_false(parse_uint("+1", 100, &v));
	assert_false(parse_uint("12x", 100, &v));
	assert_false(parse_uint("101", 100, &v));
	assert_false(parse_uint("99999999999999999999999", ~0ul, &v));
}

static void seconds(void **state)
{
	double v;

	(void)state;
	assert_true(parse_seconds("0.5", &v));
	assert_true(v == 0.5);
	assert_false(parse_seconds("0", &v));
	assert_false(parse_seconds("-2", &v));
	assert_false(parse_seconds("nan", &v));
	assert_false(parse_seconds("inf", &v));
	assert_false(parse_seconds("1s", &v));
}

static void formats(void **state)
{
	enum output_format f;

	(void)state;
	assert_int_equal(parse_output_format("json", &f), 0);
	assert_int_equal(f, OUTPUT_JSON);
	assert_int_equal(parse_output_format("text", &f), 0);
	assert_int_equal(f, OUTPUT_TEXT);
	assert_int_not_equal(parse_output_format("yaml", &f), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(uints),
		cmocka_unit_test(seconds),
		cmocka_unit_test(formats),
	};

	return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
