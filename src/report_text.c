// SPDX-License-Identifier: GPL-2.0
#include <string.h>

#include "report.h"

static const char *yes_no(bool v)
{
	return v ? "yes" : "no";
}

static void text_point(FILE *out, const struct point_state *s)
{
	const struct probe_point *p = s->point;
	enum attach_mode mode = s->attach_failed ? ATTACH_NONE : s->mode;

	fprintf(out, "  %-22s %-10s", p->name, attach_mode_name(mode));
	if (mode == ATTACH_FENTRY || mode == ATTACH_KPROBE)
		fprintf(out, " %s%s%s%s", p->func, s->func_module[0] ? " [" : "",
			s->func_module, s->func_module[0] ? "]" : "");
	else if (mode == ATTACH_TRACEPOINT)
		fprintf(out, " %s", p->tracepoint);
	fputc('\n', out);
	if (p->func && mode != ATTACH_FENTRY && s->fentry_why[0])
		fprintf(out, "  %22s   fentry: %s\n", "", s->fentry_why);
	if (p->func && mode != ATTACH_FENTRY && mode != ATTACH_KPROBE &&
	    s->kprobe_why[0])
		fprintf(out, "  %22s   kprobe: %s\n", "", s->kprobe_why);
	if (s->tracepoint_why[0] && mode != ATTACH_FENTRY &&
	    mode != ATTACH_KPROBE)
		fprintf(out, "  %22s   tracepoint: %s\n", "", s->tracepoint_why);
	if (s->attach_failed)
		fprintf(out, "  %22s   attach: %s\n", "", s->attach_error);
	if (s->opted_out)
		fprintf(out, "  %22s   off: %s (--point %s turns it on)\n", "",
			p->opt_in, p->name);
	if (point_loses(s))
		fprintf(out, "  %22s   lost: %s\n", "", p->lost);
}

void text_probe(FILE *out, const struct kernel_caps *caps,
		const struct attach_plan *plan)
{
	int det;
	size_t i;

	fprintf(out, "kernel       %s (%s)\n", caps->release, arch_name(caps->arch));
	fprintf(out, "privileges   %s\n", caps->privileged ? "ok" : caps->privilege_why);
	fprintf(out, "BTF          vmlinux: %s; KVM types in: %s; KVM module BTF: %s\n",
		yes_no(caps->btf_vmlinux), caps->kvm_btf[0] ? caps->kvm_btf : "none",
		caps->kvm_module_btfs[0] ? caps->kvm_module_btfs : "none");
	fprintf(out, "KVM          %s, vendor %s (%s), /dev/kvm %s\n",
		caps->kvm_loaded ? "loaded" : "not loaded",
		vendor_name(caps->vendor),
		caps->vendor_module[0] ? caps->vendor_module : "no vendor module",
		caps->dev_kvm ? "present" : "absent");
	fprintf(out, "tracefs      %s\n", caps->tracefs ? caps->tracefs_path : caps->tracefs_why);
	fprintf(out, "fentry       %s\n", caps->fentry_global_err == 0 ? "works" :
		caps->fentry_global_err < 0 ? caps->fentry_why : "not tried");
	fprintf(out, "kprobes      %s\n", caps->kprobes ? "available" : caps->kprobes_why);
	for (det = 0; det < DET_COUNT; det++) {
		fprintf(out, "\ndetector %s (%s): %s\n", detectors[det].name,
			detectors[det].title,
			detector_status_name(attach_plan_status(plan, det)));
		for (i = 0; i < plan->count; i++) {
			const struct point_state *s = &plan->points[i];

			if (s->point->detector == (enum detector_id)det &&
			    s->applicable)
				text_point(out, s);
		}
	}
}

void text_lost_figures(FILE *out, const struct attach_plan *plan,
		       enum detector_id det)
{
	size_t i;

	for (i = 0; i < plan->count; i++) {
		const struct point_state *s = &plan->points[i];

		if (s->point->detector != det || !point_loses(s))
			continue;
		if (s->opted_out)
			fprintf(out, "kvmwatch: %s: %s off (--point %s turns it on): lost: %s\n",
				detectors[det].name, s->point->name,
				s->point->name, s->point->lost);
		else
			fprintf(out, "kvmwatch: %s: %s in %s mode: lost: %s\n",
				detectors[det].name, s->point->name,
				attach_mode_name(s->attach_failed ? ATTACH_NONE :
						 s->mode), s->point->lost);
	}
}

/* "npf 49% io 48% hlt 3%": the reasons that make up most exits. */
static void top_reasons(char *buf, size_t len, const struct reason_view *r,
			size_t n, uint64_t exits, uint64_t user_exits)
{
	size_t i, used = 0, shown = 0;

	buf[0] = '\0';
	for (i = 0; i < n && shown < 4 && used < len; i++) {
		uint64_t total = r[i].kind == EXIT_KIND_USER ? user_exits : exits;

		if (!total)
			continue;
		used += snprintf(buf + used, len - used, "%s%s%s %.0f%%",
				 shown ? "  " : "",
				 r[i].kind == EXIT_KIND_USER ? "vmm:" : "",
				 r[i].name, 100.0 * r[i].count / total);
		shown++;
	}
}

static double avg_us(const struct reason_view *r, size_t n)
{
	uint64_t ns = 0, timed = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (r[i].kind != EXIT_KIND_KERNEL)
			continue;
		ns += r[i].total_ns;
		timed += r[i].timed;
	}
	return timed ? ns / 1000.0 / timed : -1;
}

static void text_row(FILE *out, const char *pid, const char *tid,
		     const char *vcpu, const char *comm, bool cumulative,
		     uint64_t exits, double exits_rate, uint64_t user,
		     double user_rate, const struct reason_view *reasons,
		     size_t n)
{
	char why[160], avg[16];
	double us = avg_us(reasons, n);

	top_reasons(why, sizeof(why), reasons, n, exits, user);
	if (us < 0)
		snprintf(avg, sizeof(avg), "-");
	else
		snprintf(avg, sizeof(avg), "%.2f", us);
	if (cumulative)
		fprintf(out, "%8s %8s %4s %-16s %11llu %11llu %9s  %s\n", pid,
			tid, vcpu, comm, (unsigned long long)exits,
			(unsigned long long)user, avg, why);
	else
		fprintf(out, "%8s %8s %4s %-16s %11.1f %11.1f %9s  %s\n", pid,
			tid, vcpu, comm, exits_rate, user_rate, avg, why);
}

void text_top_view(FILE *out, const struct top_view *view,
		   const struct kernel_caps *caps, const char *modes)
{
	char pid[24], tid[24], vcpu[24];
	size_t i, j;

	fprintf(out, "kvmwatch top - %s %s %s - exits: %s - %s %.2f s - %zu VM%s, %.1f exits/s\n",
		caps->release, arch_name(caps->arch), vendor_name(caps->vendor),
		modes, view->cumulative ? "total over" : "interval",
		view->interval_sec, view->nvms, view->nvms == 1 ? "" : "s",
		view->exits_per_sec);
	fprintf(out, "%8s %8s %4s %-16s %11s %11s %9s  %s\n", "PID", "TID",
		"VCPU", "COMM", view->cumulative ? "EXITS" : "EXITS/s",
		view->cumulative ? "TO-VMM" : "TO-VMM/s", "AVG-US",
		"TOP REASONS");
	for (i = 0; i < view->nvms; i++) {
		const struct vm_view *vm = &view->vms[i];

		snprintf(pid, sizeof(pid), "%u", vm->pid);
		text_row(out, pid, "-", "-", vm->comm, view->cumulative,
			 vm->exits, vm->exits_per_sec, vm->user_exits,
			 vm->user_exits_per_sec, vm->reasons, vm->nreasons);
		for (j = 0; j < vm->nvcpus; j++) {
			const struct vcpu_view *v = &vm->vcpus[j];

			snprintf(tid, sizeof(tid), "%u", v->tid);
			if (v->vcpu_id < 0)
				strcpy(vcpu, "?");
			else
				snprintf(vcpu, sizeof(vcpu), "%lld",
					 (long long)v->vcpu_id);
			text_row(out, "", tid, vcpu, v->comm, view->cumulative,
				 v->exits, v->exits_per_sec, v->user_exits,
				 v->user_exits_per_sec, v->reasons,
				 v->nreasons);
		}
	}
	if (!view->nvms)
		fprintf(out, "(no guest exits in this interval)\n");
	for (i = 0; i < view->nvms; i++)
		if (!view->vms[i].exits && view->vms[i].user_exits)
			fprintf(out, "note: VM %u returned to its VMM %llu times without one kvm:kvm_exit: this KVM (vendor %s) does not emit that tracepoint, so its in-kernel exits are unknown, not 0\n",
				view->vms[i].pid,
				(unsigned long long)view->vms[i].user_exits,
				vendor_name(caps->vendor));
	fflush(out);
}

static void format_us(char *buf, size_t len, uint64_t ns)
{
	if (ns >= 10000000000ull)
		snprintf(buf, len, "%.1fs", ns / 1e9);
	else if (ns >= 10000000)
		snprintf(buf, len, "%.1fms", ns / 1e6);
	else
		snprintf(buf, len, "%.1f", ns / 1e3);
}

void text_timer_view(FILE *out, const struct timer_view *view,
		     const char *modes)
{
	char period[24], avg[24], p99[24], max[24], programmed[24];
	size_t i;

	fprintf(out, "LAPIC timers - timer: %s - %zu vCPU timer%s, %llu callbacks, %llu catch-up chains, longest %llu\n",
		modes, view->nvcpus, view->nvcpus == 1 ? "" : "s",
		(unsigned long long)view->callbacks,
		(unsigned long long)view->chains,
		(unsigned long long)view->longest_chain);
	if (!view->nvcpus)
		return;
	/* Lateness in us; "ms"/"s" suffixed past 10 ms. */
	fprintf(out, "%8s %4s %8s %-11s %9s %10s %10s %11s %11s %11s %6s %9s %7s\n",
		"PID", "VCPU", "TID", "MODE", "PERIOD-US", "CALLBACK/s",
		"PROGRAM/s", "LATE-AVG-US", "LATE-P99-US", "LATE-MAX-US",
		"CHAINS", "MAX-CHAIN", "PERIOD0");
	for (i = 0; i < view->nvcpus; i++) {
		const struct timer_vcpu_view *v = &view->vcpus[i];

		snprintf(period, sizeof(period), "%.1f", v->period_ns / 1e3);
		if (v->programmed_per_sec > 0)
			snprintf(programmed, sizeof(programmed), "%.1f",
				 v->programmed_per_sec);
		else
			snprintf(programmed, sizeof(programmed), "-");
		format_us(avg, sizeof(avg), v->lateness_avg_ns);
		format_us(p99, sizeof(p99), v->lateness_p99_ns_le);
		format_us(max, sizeof(max), v->max_lateness_ns);
		fprintf(out, "%8u %4u %8u %-11s %9s %10.1f %10s %11s %11s %11s %6llu %9llu %7llu\n",
			v->pid, v->vcpu_id, v->tid, v->mode, period,
			v->callbacks_per_sec, programmed, avg, p99, max,
			(unsigned long long)v->stats.chains,
			(unsigned long long)v->longest_chain,
			(unsigned long long)v->stats.period0);
	}
}
