// SPDX-License-Identifier: GPL-2.0
/*
 * top -l / -L / -c: kvm_stat's logging mode. One line per interval with
 * its time of day, as text (a header every LOG_HEADER_EVERY lines, as
 * vmstat does) or CSV (one header, then a column per exit reason the
 * kernel's table names: the columns never change within a run).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "exits_model.h"

#define LOG_HEADER_EVERY 20
#define LOG_TOP_REASONS 3

/* Exits of one reason summed over every VM of the view. */
static uint64_t reason_count(const struct top_view *view, enum exit_kind kind,
			     uint32_t code)
{
	uint64_t n = 0;
	size_t i, j;

	for (i = 0; i < view->nvms; i++)
		for (j = 0; j < view->vms[i].nreasons; j++)
			if (view->vms[i].reasons[j].kind == kind &&
			    view->vms[i].reasons[j].code == code)
				n += view->vms[i].reasons[j].count;
	return n;
}

static void time_of_day(char *buf, size_t len, bool iso)
{
	time_t t = time(NULL);
	struct tm tm;

	buf[0] = '\0';
	if (localtime_r(&t, &tm))
		strftime(buf, len, iso ? "%Y-%m-%dT%H:%M:%S%z" : "%H:%M:%S",
			 &tm);
}

static void csv_header(FILE *out, enum exit_table table)
{
	const char *name;
	uint32_t code;
	size_t i;

	fprintf(out, "time,interval_s,vms,exits,exits_per_s,vmm_exits,vmm_exits_per_s");
	for (i = 0; exit_reason_at(table, i, &code, &name); i++)
		fprintf(out, ",%s", name);
	fprintf(out, ",other");
	for (i = 0; exit_reason_at(EXIT_TABLE_KVM_RUN, i, &code, &name); i++)
		fprintf(out, ",vmm_%s", name);
	fprintf(out, ",vmm_other\n");
}

/* Counts in the interval: the named reasons of one table, then the rest. */
static void csv_reasons(FILE *out, const struct top_view *view,
			enum exit_table table, enum exit_kind kind,
			uint64_t total)
{
	uint64_t named = 0, n;
	const char *name;
	uint32_t code;
	size_t i;

	for (i = 0; exit_reason_at(table, i, &code, &name); i++) {
		n = reason_count(view, kind, code);
		named += n;
		fprintf(out, ",%llu", (unsigned long long)n);
	}
	fprintf(out, ",%llu", (unsigned long long)(total - named));
}

struct reason_total {
	const char *name;
	uint64_t n;
};

static int busier_first(const void *a, const void *b)
{
	const struct reason_total *x = a, *y = b;

	return x->n < y->n ? 1 : x->n > y->n ? -1 : strcmp(x->name, y->name);
}

/* "npf 49%  io 48%  hlt 3%": the busiest in-kernel reasons over every VM. */
static void top_reasons(char *buf, size_t len, const struct top_view *view)
{
	struct reason_total *totals = NULL, *grown;
	size_t i, j, k, n = 0, used = 0;

	buf[0] = '\0';
	for (i = 0; i < view->nvms; i++) {
		for (j = 0; j < view->vms[i].nreasons; j++) {
			const struct reason_view *r = &view->vms[i].reasons[j];

			if (r->kind != EXIT_KIND_KERNEL || !r->count)
				continue;
			for (k = 0; k < n && strcmp(totals[k].name, r->name); k++)
				;
			if (k == n) {
				grown = realloc(totals, (n + 1) * sizeof(*totals));
				if (!grown)
					break;
				totals = grown;
				totals[n++] = (struct reason_total){ r->name, 0 };
			}
			totals[k].n += r->count;
		}
	}
	if (n)
		qsort(totals, n, sizeof(*totals), busier_first);
	for (k = 0; k < n && k < LOG_TOP_REASONS && used < len; k++)
		used += snprintf(buf + used, len - used, "%s%s %.0f%%",
				 k ? "  " : "", totals[k].name,
				 100.0 * totals[k].n / view->exits);
	free(totals);
}

void exits_log_line(FILE *out, const void *exits_view, bool csv,
		    unsigned long line)
{
	const struct exits_view *ev = exits_view;
	const struct top_view *view = &ev->top;
	enum exit_table table = exit_table_for(ev->caps);
	char now[40], why[120];

	time_of_day(now, sizeof(now), csv);
	if (csv) {
		if (!line)
			csv_header(out, table);
		fprintf(out, "%s,%.3f,%zu,%llu,%.1f,%llu,%.1f", now,
			view->interval_sec, view->nvms,
			(unsigned long long)view->exits, view->exits_per_sec,
			(unsigned long long)view->user_exits,
			view->user_exits_per_sec);
		csv_reasons(out, view, table, EXIT_KIND_KERNEL, view->exits);
		csv_reasons(out, view, EXIT_TABLE_KVM_RUN, EXIT_KIND_USER,
			    view->user_exits);
		fputc('\n', out);
		return;
	}
	if (line % LOG_HEADER_EVERY == 0)
		fprintf(out, "%-8s %4s %11s %11s  %s\n", "TIME", "VMS",
			view->cumulative ? "EXITS" : "EXITS/s",
			view->cumulative ? "TO-VMM" : "TO-VMM/s",
			"TOP REASONS (% of exits)");
	top_reasons(why, sizeof(why), view);
	if (view->cumulative)
		fprintf(out, "%-8s %4zu %11llu %11llu  %s\n", now, view->nvms,
			(unsigned long long)view->exits,
			(unsigned long long)view->user_exits, why);
	else
		fprintf(out, "%-8s %4zu %11.1f %11.1f  %s\n", now, view->nvms,
			view->exits_per_sec, view->user_exits_per_sec, why);
}
