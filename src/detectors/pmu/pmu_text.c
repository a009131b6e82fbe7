// SPDX-License-Identifier: GPL-2.0
/* The PMU view as text: the mechanism, then a row per vCPU. */
#include "core/histogram.h"
#include "pmu_model.h"

static void fmt_ns(char *buf, size_t len, double ns)
{
	if (ns <= 0)
		snprintf(buf, len, "-");
	else if (ns < 1e4)
		snprintf(buf, len, "%.0fns", ns);
	else if (ns < 1e7)
		snprintf(buf, len, "%.1fus", ns / 1e3);
	else
		snprintf(buf, len, "%.1fms", ns / 1e6);
}

static void fmt_ratio(char *buf, size_t len, double v)
{
	if (v < 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.3f", v);
}

/* The vCPU's index, or "?" where the kernel did not say, as top shows it. */
static const char *vcpu_cell(const struct pmu_vcpu_view *v, char *buf,
			     size_t len)
{
	if (v->vcpu_id < 0)
		return "?";
	snprintf(buf, len, "%lld", (long long)v->vcpu_id);
	return buf;
}

void pmu_view_text(FILE *out, const void *pmu_view, const char *modes)
{
	const struct pmu_view *view = pmu_view;
	const struct pmu_run_info *run = &view->run;
	const struct pmu_mechanism *m = &run->mech;
	char a[16], b[16], c[16], d[16], e[24];
	size_t i, j, k;
	int op;

	text_wrapped(out, 2, "PMU (pmu: %s) - %.2f s - mechanism %s%s: %s", modes,
		view->interval_sec, pmu_mech_name(m->mech),
		m->vpmu_enabled ? "" : ", no vPMU", m->why);
	if (m->offered[0])
		text_wrapped(out, 4, "  also here: %s", m->offered);
	if (m->load_op == PMU_OP_COUNT)
		fprintf(out, "  world switch: none to watch on this mechanism\n");
	else
		text_wrapped(out, 4, "  world switch: load = %s, put = %s%s",
			     pmu_op_name(m->load_op), pmu_op_name(m->put_op),
			     run->ops[m->load_op].state == PMU_WATCH_ON ? "" :
			     " (not watched: see kvmwatch probe)");
	if (!view->nvcpus) {
		fprintf(out, "  no vCPU activity seen\n");
		return;
	}
	/* Under 130 columns the vCPU's thread and the puts (as many as
	 * the loads) go. */
	if (text_narrow())
		fprintf(out, "  %7s %5s %9s %8s %8s %8s %8s %9s %8s\n", "PID",
			"VCPU", "EXITS/s", "LOAD/s", "SW/EXIT", "SW AVG",
			"SW P99<=", "PMU-REG/s", "REG/EXIT");
	else
		fprintf(out, "  %7s %5s %7s %9s %8s %8s %8s %8s %8s %9s %8s\n",
			"PID", "VCPU", "TID", "EXITS/s", "LOAD/s", "PUT/s",
			"SW/EXIT", "SW AVG", "SW P99<=", "PMU-REG/s",
			"REG/EXIT");
	for (i = 0; i < view->nvms; i++) {
		for (j = 0; j < view->vms[i].nvcpus; j++) {
			const struct pmu_vcpu_view *v = &view->vms[i].vcpus[j];

			fmt_ratio(a, sizeof(a), v->switches_per_exit);
			fmt_ns(b, sizeof(b), v->switch_avg_ns);
			fmt_ns(c, sizeof(c), (double)hist_percentile(
				&v->switch_hist, 0.99));
			fmt_ratio(d, sizeof(d), v->reg_exits_per_exit);
			if (text_narrow()) {
				fprintf(out, "  %7u %5s %9.1f %8.1f %8s %8s %8s %9.1f %8s\n",
					v->pid, vcpu_cell(v, e, sizeof(e)),
					v->exits_per_sec, v->switches_per_sec,
					a, b, c, v->reg_exits_per_sec, d);
				continue;
			}
			fprintf(out, "  %7u %5s %7u %9.1f %8.1f %8.1f %8s %8s %8s %9.1f %8s\n",
				v->pid, vcpu_cell(v, e, sizeof(e)), v->tid,
				v->exits_per_sec, v->switches_per_sec,
				m->put_op < PMU_OP_COUNT ?
				v->ops[m->put_op].per_sec : 0, a, b, c,
				v->reg_exits_per_sec, d);
		}
	}
	/* Other PMU work, where there was some. */
	for (i = 0; i < view->nvms; i++) {
		for (j = 0; j < view->vms[i].nvcpus; j++) {
			const struct pmu_vcpu_view *v = &view->vms[i].vcpus[j];

			for (op = 0; op < PMU_OP_COUNT; op++) {
				const struct pmu_op_view *o = &v->ops[op];

				if (!o->count || (enum pmu_op)op == m->load_op ||
				    (enum pmu_op)op == m->put_op)
					continue;
				fmt_ns(a, sizeof(a), o->avg_ns);
				fmt_ns(b, sizeof(b), (double)o->p99_ns_le);
				text_wrapped(out, 16, "  %7u %5s %7u %-16s %9.1f/s, avg %s, p99 <= %s",
					     v->pid, vcpu_cell(v, e, sizeof(e)),
					     v->tid, pmu_op_name(op), o->per_sec,
					     a, b);
			}
		}
	}
	if (run->regs.state != PMU_WATCH_ON) {
		text_wrapped(out, 4, "  PMU register exits not watched: %s",
			     run->regs.why);
		return;
	}
	if (!view->reg_exits)
		return;
	fprintf(out, "  %7s %5s %7s %-*s %9s %9s %7s\n", "PID", "VCPU", "TID",
		text_narrow() ? 28 : 34, "PMU REGISTER", "READS", "WRITES",
		"FAULTS");
	for (i = 0; i < view->nvms; i++) {
		for (j = 0; j < view->vms[i].nvcpus; j++) {
			const struct pmu_vcpu_view *v = &view->vms[i].vcpus[j];

			for (k = 0; k < v->nregs; k++) {
				const struct pmu_reg_view *r = &v->regs[k];

				if (run->facts.arch == ARCH_X86_64)
					snprintf(a, sizeof(a), "%llu",
						 (unsigned long long)(r->read_faults +
								      r->write_faults));
				else
					snprintf(a, sizeof(a), "-");
				fprintf(out, "  %7u %5s %7u %-*.*s %9llu %9llu %7s\n",
					v->pid, vcpu_cell(v, e, sizeof(e)), v->tid,
					text_narrow() ? 28 : 34,
					text_narrow() ? 28 : 34, r->name, (unsigned long long)r->reads,
					(unsigned long long)r->writes, a);
			}
		}
	}
}
