// SPDX-License-Identifier: GPL-2.0
/* The teardown view as text: verdicts, then a row per teardown. */
#include "teardown_model.h"

void teardown_view_text(FILE *out, const void *view, const char *modes)
{
	const struct teardown_view *v = view;
	size_t i;

	fprintf(out, "teardown (%s): %llu ended, %llu open; kernel: %s, behaviour: %s\n",
		modes, (unsigned long long)v->teardowns,
		(unsigned long long)v->open, v->symbols, v->behaviour);
	fprintf(out, "  %s\n  %s\n", v->symbols_why, v->behaviour_why);
	if (!v->nitems)
		return;
	fprintf(out, "  %-7s %-7s %-12s %9s %8s %10s %9s  %-34s %-20s %6s %9s\n",
		"ID", "VM", "COMM", "TOTAL_MS", "RUN_MS", "STRETCH_MS",
		"WAIT_MS", "HELD_BY", "WAITER", "YIELDS", "MAPPED");
	for (i = 0; i < v->nitems; i++) {
		const struct teardown_item *it = &v->items[i];
		const struct td_record *r = it->rec;
		char waiter[40], mapped[24], stretch[16], wait[16];
		const char *holder;
		uint64_t entries;
		double mib;

		if (it->has_stretch && r->max_stretch_waiter)
			snprintf(waiter, sizeof(waiter), "%.12s/%u",
				 r->max_stretch_waiter_comm, r->max_stretch_waiter);
		else
			snprintf(waiter, sizeof(waiter), "-");
		if (it->has_stretch) {
			snprintf(stretch, sizeof(stretch), "%.1f",
				 r->max_stretch_ns / 1e6);
			snprintf(wait, sizeof(wait), "%.1f",
				 r->max_stretch_wait_ns / 1e6);
			holder = it->holder;
		} else {
			/* Nobody wanted the CPU: no stretch to show. */
			snprintf(stretch, sizeof(stretch), "-");
			snprintf(wait, sizeof(wait), "-");
			holder = NULL;
		}
		if (teardown_mapped(&v->kernel, r, &entries, &mib))
			snprintf(mapped, sizeof(mapped), "%.0fMiB", mib);
		else
			snprintf(mapped, sizeof(mapped), "n/a");
		fprintf(out, "  %-7llu %-7u %-12.12s %9.1f %8.1f %10s %9s  %-34s %-20s %6u %9s%s\n",
			(unsigned long long)r->id, r->pid, r->comm,
			it->duration_ns / 1e6, r->max_run_ns / 1e6, stretch,
			wait, holder ? holder : "-", waiter, r->yields,
			mapped, it->open ? " (open)" :
			it->in_interval ? "" : " (earlier)");
	}
}
