// SPDX-License-Identifier: GPL-2.0
/* The teardown view as text: verdicts, then a row per teardown. */
#include "core/vm_name.h"
#include "teardown_model.h"

void teardown_view_text(FILE *out, const void *view, const char *modes)
{
	const struct teardown_view *v = view;
	bool marks = false, outside_marks = false;
	size_t i;

	text_wrapped(out, 2, "teardown (%s): %llu ended, %llu open; kernel: %s, behaviour: %s",
		modes, (unsigned long long)v->teardowns,
		(unsigned long long)v->open, v->symbols, v->behaviour);
	text_wrapped(out, 4, "  %s", v->symbols_why);
	text_wrapped(out, 4, "  %s", v->behaviour_why);
	if (!v->nitems)
		return;
	/* Under 130 columns the wait, the waiter and the size go. */
	if (text_narrow())
		fprintf(out, "  %-5s %-7s %-10s %9s %8s %10s  %-14s %6s\n",
			"ID", "VM", "NAME", "TOTAL_MS", "RUN_MS", "STRETCH_MS",
			"HELD_BY", "YIELDS");
	else
		fprintf(out, "  %-7s %-7s %-12s %9s %8s %10s %9s  %-34s %-20s %6s %9s\n",
		"ID", "VM", "NAME", "TOTAL_MS", "RUN_MS", "STRETCH_MS",
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
			/* A wait lasts until the thread's schedule point,
			 * which may come after the teardown's end, and one
			 * already queued counts from the run's start, which
			 * may come before its start: marked, as RUN_MS is
			 * cut at both. */
			bool outside = r->max_stretch_start < r->start_ns ||
				(r->end_ns && r->max_stretch_end > r->end_ns);

			snprintf(stretch, sizeof(stretch), "%.1f%s",
				 r->max_stretch_ns / 1e6, outside ? "*" : "");
			outside_marks |= outside;
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
		if (text_narrow()) {
			/* Open or earlier: a mark after the id, said once. */
			fprintf(out, "  %-4llu%c %-7u %-10.10s %9.1f %8.1f %10s  %-14.14s %6u\n",
				(unsigned long long)r->id,
				it->open ? '+' : it->in_interval ? ' ' : '~',
				r->pid,
				vm_name_or(r->pid, r->vm_start, r->comm),
				it->duration_ns / 1e6, r->max_run_inside_ns / 1e6,
				stretch, holder ? holder : "-", r->yields);
			marks |= it->open || !it->in_interval;
			continue;
		}
		fprintf(out, "  %-7llu %-7u %-12.12s %9.1f %8.1f %10s %9s  %-34s %-20s %6u %9s%s\n",
			(unsigned long long)r->id, r->pid,
			vm_name_or(r->pid, r->vm_start, r->comm),
			it->duration_ns / 1e6, r->max_run_inside_ns / 1e6, stretch,
			wait, holder ? holder : "-", waiter, r->yields,
			mapped, it->open ? " (open)" :
			it->in_interval ? "" : " (earlier)");
	}
	if (marks)
		fprintf(out, "  (+ still open, ~ ended before this interval)\n");
	if (outside_marks)
		text_wrapped(out, 4, "  (* the wait began before the teardown or went on after it, to its thread's next schedule point)");
}
