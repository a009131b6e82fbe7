// SPDX-License-Identifier: GPL-2.0
/* The MMIO view as text: a header line, then a row per VM and address. */
#include <inttypes.h>

#include "mmio_model.h"

/* Candidates listed per VM at most (the view keeps a bounded list). */
#define MMIO_TEXT_CANDS 64

static void cost_cell(char *buf, size_t len, const struct mmio_setup *s,
		      const struct mmio_path_view *p)
{
	if (!s->handler_probed || !p->timed)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.1f/%.0f", p->cost_avg_ns / 1e3,
			 p->cost_p99_ns_le / 1e3);
}

static void reason_cell(char *buf, size_t len, const struct mmio_addr_view *a)
{
	const struct mmio_path_view *main = NULL;
	uint64_t other = 0;
	int p;

	for (p = 0; p < MMIO_PATH_COUNT; p++) {
		const struct mmio_path_view *v = &a->path[p];

		if (v->reason_set && (!main || v->writes > main->writes))
			main = v;
	}
	if (!main) {
		snprintf(buf, len, "-");
		return;
	}
	for (p = 0; p < MMIO_PATH_COUNT; p++) {
		const struct mmio_path_view *v = &a->path[p];

		other += v->other_reason;
		if (v != main && v->reason_set && v->reason != main->reason)
			other += v->writes - v->other_reason - v->no_exit;
	}
	if (other)
		snprintf(buf, len, "%s+%llu", main->reason_name,
			 (unsigned long long)other);
	else
		snprintf(buf, len, "%s", main->reason_name);
}

void mmio_view_text(FILE *out, const void *mmio_view, const char *modes)
{
	const struct mmio_view *view = mmio_view;
	const struct mmio_setup *s = &view->setup;
	const struct mmio_fast_path *fp = &view->fast_path;
	char share[24], epw[24], cand[8], insn[24], efd[24], reason[64];
	char cost[MMIO_PATH_COUNT][24];
	size_t i, j;
	int p;

	if (view->fast_share < 0)
		snprintf(share, sizeof(share), "-");
	else
		snprintf(share, sizeof(share), "%.1f%%", 100 * view->fast_share);
	if (view->exits_per_write < 0)
		snprintf(epw, sizeof(epw), "-");
	else
		snprintf(epw, sizeof(epw), "%.2f", view->exits_per_write);
	text_wrapped(out, 2, "MMIO writes - mmio: %s - %s %s: fast path %s%s%s%s - %llu writes: fast %llu, emulated %llu, to VMM %llu; fast share %s; %s exits/write",
		modes, vendor_name(s->vendor),
		s->handler ? s->handler : "(no MMIO exit handler known)",
		mmio_fast_state_name(fp->state), fp->basis ? " (" : "",
		fp->basis ? fp->basis : "", fp->basis ? ")" : "",
		(unsigned long long)view->writes,
		(unsigned long long)view->by_path[MMIO_PATH_FAST],
		(unsigned long long)view->by_path[MMIO_PATH_EMULATED],
		(unsigned long long)view->by_path[MMIO_PATH_USER], share, epw);
	text_wrapped(out, 2, "fast path: %s", fp->why);
	if (!s->bus_probed)
		text_wrapped(out, 2, "candidates: unknown (%s)",
			     s->candidates_why);
	if (!s->handler_probed)
		text_wrapped(out, 2, "costs: not measured (%s)", s->costs_why);
	if (!view->nvms)
		return;
	/* Under 130 columns the instruction emulations, the ioeventfd
	 * signals and the costs go; the paths and the exit stay. */
	if (text_narrow())
		fprintf(out, "%7s %-14s %3s %4s %8s %8s %8s %8s %-12s\n",
			"PID", "GPA", "LEN", "CAND", "WRITES", "FAST", "EMUL",
			"TO-VMM", "EXIT");
	/* Costs: avg/p99 in us, from the handler's entry to its return. */
	else
		fprintf(out, "%8s %-18s %3s %4s %8s %8s %8s %8s %-14s %9s %8s %11s %11s %11s\n",
		"PID", "GPA", "LEN", "CAND", "WRITES", "FAST", "EMUL", "TO-VMM",
		"EXIT", "EMUL-INSN", "EVENTFD", "FAST-US", "EMUL-US", "VMM-US");
	for (i = 0; i < view->nvms; i++) {
		const struct mmio_vm_view *vm = &view->vms[i];

		for (j = 0; j < vm->naddrs; j++) {
			const struct mmio_addr_view *a = &vm->addrs[j];

			snprintf(cand, sizeof(cand), "%s", a->candidate < 0 ?
				 "?" : a->candidate ? "yes" : "no");
			if (s->emulate_watched)
				snprintf(insn, sizeof(insn), "%llu",
					 (unsigned long long)
					 (a->path[MMIO_PATH_EMULATED].insn_emulated +
					  a->path[MMIO_PATH_USER].insn_emulated));
			else
				snprintf(insn, sizeof(insn), "-");
			if (s->ioeventfd_probed)
				snprintf(efd, sizeof(efd), "%llu",
					 (unsigned long long)a->ioeventfd_signals);
			else
				snprintf(efd, sizeof(efd), "-");
			reason_cell(reason, sizeof(reason), a);
			if (text_narrow()) {
				fprintf(out, "%7u 0x%-12" PRIx64 " %3u %4s %8llu %8llu %8llu %8llu %-12.12s\n",
					vm->pid, a->gpa, a->len, cand,
					(unsigned long long)a->writes,
					(unsigned long long)a->path[MMIO_PATH_FAST].writes,
					(unsigned long long)a->path[MMIO_PATH_EMULATED].writes,
					(unsigned long long)a->path[MMIO_PATH_USER].writes,
					reason);
				continue;
			}
			for (p = 0; p < MMIO_PATH_COUNT; p++)
				cost_cell(cost[p], sizeof(cost[p]), s,
					  &a->path[p]);
			fprintf(out, "%8u 0x%-16" PRIx64 " %3u %4s %8llu %8llu %8llu %8llu %-14s %9s %8s %11s %11s %11s\n",
				vm->pid, a->gpa, a->len, cand,
				(unsigned long long)a->writes,
				(unsigned long long)a->path[MMIO_PATH_FAST].writes,
				(unsigned long long)a->path[MMIO_PATH_EMULATED].writes,
				(unsigned long long)a->path[MMIO_PATH_USER].writes,
				reason, insn, efd, cost[MMIO_PATH_FAST],
				cost[MMIO_PATH_EMULATED], cost[MMIO_PATH_USER]);
		}
		if (vm->cands_known && vm->ncands) {
			char list[MMIO_TEXT_CANDS * 20] = "";
			size_t used = 0;

			for (j = 0; j < vm->ncands && j < MMIO_TEXT_CANDS; j++)
				used += snprintf(list + used, sizeof(list) - used,
						 " 0x%" PRIx64, vm->cands[j]);
			text_wrapped(out, 9, "%8u candidates (len-0 ioeventfds):%s%s",
				     vm->pid, list, vm->cands_truncated ||
				     vm->ncands > MMIO_TEXT_CANDS ?
				     " (first entries only)" : "");
		}
	}
}
