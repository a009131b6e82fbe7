// SPDX-License-Identifier: GPL-2.0
/* The MMIO view as metrics, for record, baselines and export. */
#include <errno.h>
#include <inttypes.h>

#include "mmio_model.h"

static struct metric *add(struct metric_set *out, enum metric_type type,
			  const char *unit, enum metric_better better,
			  const char *per, const char *name, const char *help,
			  double value)
{
	struct metric *m = metric_add(out, type, unit, help, better, "%s",
				      name);

	if (m) {
		m->value = value;
		m->per = per;
	}
	return m;
}

int mmio_view_metrics(const void *mmio_view, struct metric_set *out)
{
	const struct mmio_view *view = mmio_view;
	static const char *const path_help[MMIO_PATH_COUNT] = {
		"MMIO writes taken by KVM_FAST_MMIO_BUS without decoding",
		"MMIO writes decoded and handled in the kernel on KVM_MMIO_BUS",
		"MMIO writes that exited to the VMM (KVM_EXIT_MMIO)",
	};
	static const char *const path_metric[MMIO_PATH_COUNT] = {
		"mmio.fast_writes", "mmio.emulated_writes", "mmio.user_writes",
	};
	static const enum metric_better path_better[MMIO_PATH_COUNT] = {
		BETTER_HIGHER, BETTER_LOWER, BETTER_NEITHER,
	};
	const struct mmio_setup *s = &view->setup;
	struct metric *m;
	size_t i, j;
	int p;

	if (!add(out, METRIC_COUNTER, "writes", BETTER_NEITHER, NULL,
		 "mmio.writes", "guest MMIO writes seen (every path)",
		 view->writes))
		return -ENOMEM;
	for (p = 0; p < MMIO_PATH_COUNT; p++)
		if (!add(out, METRIC_COUNTER, "writes", path_better[p],
			 "mmio.writes", path_metric[p], path_help[p],
			 view->by_path[p]))
			return -ENOMEM;
	if (view->fast_share >= 0 &&
	    !add(out, METRIC_GAUGE, "ratio", BETTER_HIGHER, NULL,
		 "mmio.fast_share", "share of MMIO writes that took the fast bus",
		 view->fast_share))
		return -ENOMEM;
	/* No exit seen at all means the kernel does not report them
	 * (kvm_pvm), not zero exits per write. */
	if (s->exit_watched && view->exits_per_write >= 0 &&
	    !add(out, METRIC_COUNTER, "exits", BETTER_LOWER, "mmio.writes",
		 "mmio.exits",
		 "guest exits of the VMs that wrote MMIO (compared per MMIO write)",
		 view->exits))
		return -ENOMEM;
	if (s->bus_probed &&
	    (!add(out, METRIC_COUNTER, "writes", BETTER_NEITHER, NULL,
		  "mmio.candidate_writes",
		  "writes to len-0 ioeventfds (fast-MMIO candidates), every path",
		  view->candidate_writes) ||
	     !add(out, METRIC_COUNTER, "writes", BETTER_LOWER,
		  "mmio.candidate_writes", "mmio.emulated_candidate_writes",
		  "writes to len-0 ioeventfds that were decoded instead of taking the fast bus",
		  view->emulated_candidate_writes) ||
	     !add(out, METRIC_COUNTER, "tries", BETTER_NEITHER, "mmio.writes",
		  "mmio.fast_misses",
		  "KVM_FAST_MMIO_BUS tries that found no device",
		  view->fast_misses)))
		return -ENOMEM;
	if (view->fast_path.state != MMIO_FAST_UNKNOWN &&
	    !add(out, METRIC_GAUGE, "bool", BETTER_HIGHER, NULL,
		 "mmio.fast_path_present",
		 "1 when this kernel's vendor code has a fast MMIO path",
		 MMIO_FAST_IN_CODE(view->fast_path.state)))
		return -ENOMEM;
	if (view->fast_path.state != MMIO_FAST_UNKNOWN &&
	    !add(out, METRIC_GAUGE, "bool", BETTER_HIGHER, NULL,
		 "mmio.fast_path_usable",
		 "1 when writes can take the fast MMIO path on this host",
		 MMIO_FAST_USABLE(view->fast_path.state)))
		return -ENOMEM;
	/* Costs exist only where the handler is probed: absent otherwise,
	 * so a baseline from another mode does not compare them. */
	for (p = 0; s->handler_probed && p < MMIO_PATH_COUNT; p++) {
		m = add(out, METRIC_HISTOGRAM, "ns", BETTER_LOWER, NULL,
			"mmio.write_cost_ns",
			"cost of one MMIO write, exit handler entry to return",
			0);
		if (!m || metric_label(m, "path", "%s", mmio_path_name(p)))
			return -ENOMEM;
		if (metric_set_hist(m, view->cost[p].slots, view->cost_ns[p]))
			return -ENOMEM;
	}
	for (i = 0; i < view->nvms; i++) {
		const struct mmio_vm_view *vm = &view->vms[i];

		if (s->exit_watched && vm->exits_per_write >= 0) {
			m = add(out, METRIC_COUNTER, "exits", BETTER_LOWER, NULL,
				"mmio.vm_exits",
				"guest exits of one VM that wrote MMIO", vm->exits);
			if (!m || metric_vm_labels(m, vm->pid, vm->vm_start))
				return -ENOMEM;
		}
		for (j = 0; j < vm->naddrs; j++) {
			const struct mmio_addr_view *a = &vm->addrs[j];

			for (p = 0; p < MMIO_PATH_COUNT; p++) {
				const struct mmio_path_view *pv = &a->path[p];

				if (!pv->writes)
					continue;
				m = add(out, METRIC_COUNTER, "writes",
					path_better[p], NULL,
					"mmio.addr_writes",
					"MMIO writes to one address of one VM, by path",
					pv->writes);
				if (!m || metric_vm_labels(m, vm->pid, vm->vm_start) ||
				    metric_label(m, "addr", "0x%" PRIx64, a->gpa) ||
				    metric_label(m, "path", "%s",
						 mmio_path_name(p)))
					return -ENOMEM;
				if (!s->handler_probed)
					continue;
				m = add(out, METRIC_HISTOGRAM, "ns",
					BETTER_LOWER, NULL,
					"mmio.addr_write_cost_ns",
					"cost of one MMIO write to one address, by path",
					0);
				if (!m || metric_vm_labels(m, vm->pid, vm->vm_start) ||
				    metric_label(m, "addr", "0x%" PRIx64, a->gpa) ||
				    metric_label(m, "path", "%s",
						 mmio_path_name(p)))
					return -ENOMEM;
				if (metric_set_hist(m, pv->cost.slots, pv->cost_ns))
					return -ENOMEM;
			}
		}
	}
	return 0;
}
