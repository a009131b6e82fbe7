// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "pmu_model.h"

static const char *const op_names[PMU_OP_COUNT] = {
	[PMU_OP_RESTORE_GUEST] = "restore_guest",
	[PMU_OP_RESYNC_GUEST] = "resync_guest",
	[PMU_OP_RESTORE_HOST] = "restore_host",
	[PMU_OP_MEDIATED_LOAD] = "mediated_load",
	[PMU_OP_MEDIATED_PUT] = "mediated_put",
	[PMU_OP_LOAD_PMCS] = "load_guest_pmcs",
	[PMU_OP_PUT_PMCS] = "put_guest_pmcs",
	[PMU_OP_GUEST_MSRS] = "guest_get_msrs",
	[PMU_OP_HANDLE_EVENT] = "handle_event",
	[PMU_OP_DELIVER_PMI] = "deliver_pmi",
};

const char *pmu_op_name(enum pmu_op op)
{
	return op < PMU_OP_COUNT ? op_names[op] : "none";
}

const char *pmu_mech_name(enum pmu_mech mech)
{
	switch (mech) {
	case PMU_MECH_OFF: return "off";
	case PMU_MECH_LEGACY: return "legacy";
	case PMU_MECH_MEDIATED: return "mediated";
	case PMU_MECH_HW_VIRT: return "hw-virtualized";
	case PMU_MECH_ARM64: return "arm64";
	default: return "unknown";
	}
}

const char *pmu_reg_kind_name(enum pmu_reg_kind kind)
{
	switch (kind) {
	case PMU_REG_COUNTER: return "counter";
	case PMU_REG_EVENTSEL: return "event-select";
	case PMU_REG_FIXED: return "fixed-counter";
	case PMU_REG_GLOBAL: return "global";
	case PMU_REG_CONTROL: return "control";
	default: return "none";
	}
}

/* Append to a fixed buffer, dropping what does not fit. */
static void appendf(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void appendf(char *buf, size_t len, const char *fmt, ...)
{
	size_t used = strlen(buf);
	va_list ap;

	if (used + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
}

static const char *param_text(int v)
{
	return v < 0 ? "absent" : v ? "Y" : "N";
}

static void decide_arm64(const struct pmu_host_facts *f,
			 struct pmu_mechanism *m)
{
	if (!f->host_pmu[0]) {
		m->mech = PMU_MECH_OFF;
		snprintf(m->why, sizeof(m->why),
			 "no PMUv3 driver is registered on the host (no core PMU in /sys/bus/event_source/devices), so KVM cannot give guests a PMU");
		return;
	}
	m->mech = PMU_MECH_ARM64;
	m->vpmu_enabled = true;
	m->load_op = PMU_OP_RESTORE_GUEST;
	m->put_op = PMU_OP_RESTORE_HOST;
	snprintf(m->why, sizeof(m->why),
		 "guest PMUv3 counters are host perf events on %s; KVM switches the host and guest event filters at vCPU load and put (kvm_vcpu_pmu_restore_guest/host, VHE) and re-syncs them when the guest reprograms its counters",
		 f->host_pmu);
	if (!f->has_restore_guest)
		appendf(m->why, sizeof(m->why),
			"; kvm_vcpu_pmu_restore_guest is not in this kernel");
}

static void decide_x86(const struct pmu_host_facts *f,
		       struct pmu_mechanism *m)
{
	if (f->enable_pmu == 0) {
		m->mech = PMU_MECH_OFF;
		if (f->host_pmu[0])
			snprintf(m->why, sizeof(m->why),
				 "kvm.enable_pmu is N: the vPMU is disabled (by the module parameter, or KVM found the host PMU '%s' unusable)",
				 f->host_pmu);
		else
			snprintf(m->why, sizeof(m->why),
				 "kvm.enable_pmu is N: the host has no hardware PMU (perf has no 'cpu' PMU device, as in a VM whose hypervisor exposes none), so KVM turned its vPMU off; guest PMU MSR accesses still exit and KVM ignores them");
		return;
	}
	m->vpmu_enabled = true;
	if (f->vpmc == 1) {
		m->mech = PMU_MECH_HW_VIRT;
		m->load_op = PMU_OP_MEDIATED_LOAD;
		m->put_op = PMU_OP_MEDIATED_PUT;
		snprintf(m->why, sizeof(m->why),
			 "AMD PMC virtualization (kvm_amd.vpmc=Y): VMRUN and #VMEXIT restore and save the guest counters in the VMCB; kvm_mediated_pmu_load/put only switch perf's context");
	} else if (f->enable_mediated_pmu == 1 && f->has_mediated_load) {
		m->mech = PMU_MECH_MEDIATED;
		m->load_op = PMU_OP_MEDIATED_LOAD;
		m->put_op = PMU_OP_MEDIATED_PUT;
		snprintf(m->why, sizeof(m->why),
			 "mediated vPMU (%s.enable_mediated_pmu=Y): KVM loads the guest counters into the hardware before entry and saves them after exit (kvm_mediated_pmu_load/put)",
			 f->vendor == VENDOR_VMX ? "kvm_intel" : "kvm_amd");
	} else {
		m->mech = PMU_MECH_LEGACY;
		snprintf(m->why, sizeof(m->why),
			 "perf-event-backed vPMU: each guest counter is a host perf event, (re)created when the guest programs it (kvm_pmu_handle_event); ");
		if (f->vendor == VENDOR_VMX && f->has_guest_get_msrs) {
			m->load_op = PMU_OP_GUEST_MSRS;
			appendf(m->why, sizeof(m->why),
				"VMX switches PERF_GLOBAL_CTRL at every entry from perf_guest_get_msrs");
		} else {
			appendf(m->why, sizeof(m->why),
				"no PMU state is switched at entry and exit (guest-only event bits)");
		}
	}
	if (f->enable_pmu < 0)
		appendf(m->why, sizeof(m->why),
			" (kvm.enable_pmu not found: taken as on)");
}

void pmu_mechanism_decide(const struct pmu_host_facts *f,
			  struct pmu_mechanism *m)
{
	memset(m, 0, sizeof(*m));
	m->load_op = PMU_OP_COUNT;
	m->put_op = PMU_OP_COUNT;
	if (f->arch == ARCH_ARM64) {
		decide_arm64(f, m);
		return;
	}
	if (f->arch != ARCH_X86_64 || f->vendor == VENDOR_NONE) {
		m->mech = PMU_MECH_UNKNOWN;
		snprintf(m->why, sizeof(m->why), f->arch == ARCH_X86_64 ?
			 "KVM is not loaded (no kvm_intel or kvm_amd)" :
			 "not an arch kvmwatch knows the vPMU of");
		return;
	}
	decide_x86(f, m);
	if (f->has_mediated_load && m->mech != PMU_MECH_MEDIATED &&
	    m->mech != PMU_MECH_HW_VIRT)
		appendf(m->offered, sizeof(m->offered),
			"%sthe kernel has the mediated vPMU (kvm_mediated_pmu_load), enable_mediated_pmu is %s",
			m->offered[0] ? "; " : "",
			param_text(f->enable_mediated_pmu));
	if ((f->btf_vmcb_pmc || f->cpu_perfctr_virt) &&
	    m->mech != PMU_MECH_HW_VIRT)
		appendf(m->offered, sizeof(m->offered),
			"%sPMC virtualization:%s%s, kvm_amd.vpmc is %s",
			m->offered[0] ? "; " : "",
			f->cpu_perfctr_virt ? " the CPU has perfctr_virt" : "",
			f->btf_vmcb_pmc ? " the kernel's VMCB has its save slots" : "",
			param_text(f->vpmc));
}

/* ---------------------------------------------------------- registers */

static bool describe_msr(uint32_t msr, char *name, size_t len)
{
	static const struct {
		uint32_t first, last, step;
		const char *fmt;	/* %u: index in the range */
	} ranges[] = {
		{ 0xc1, 0xc8, 1, "IA32_PMC%u" },
		{ 0x4c1, 0x4c8, 1, "IA32_A_PMC%u" },
		{ 0x186, 0x18d, 1, "IA32_PERFEVTSEL%u" },
		{ 0x309, 0x30f, 1, "IA32_FIXED_CTR%u" },
		{ 0x38d, 0x38d, 1, "IA32_FIXED_CTR_CTRL" },
		{ 0x38e, 0x38e, 1, "IA32_PERF_GLOBAL_STATUS" },
		{ 0x38f, 0x38f, 1, "IA32_PERF_GLOBAL_CTRL" },
		{ 0x390, 0x390, 1, "IA32_PERF_GLOBAL_OVF_CTRL" },
		{ 0x391, 0x391, 1, "IA32_PERF_GLOBAL_STATUS_SET" },
		{ 0x392, 0x392, 1, "IA32_PERF_GLOBAL_INUSE" },
		{ 0x345, 0x345, 1, "IA32_PERF_CAPABILITIES" },
		{ 0xc0010000, 0xc0010003, 1, "K7_EVNTSEL%u" },
		{ 0xc0010004, 0xc0010007, 1, "K7_PERFCTR%u" },
		{ 0xc0010200, 0xc001020a, 2, "F15H_PERF_CTL%u" },
		{ 0xc0010201, 0xc001020b, 2, "F15H_PERF_CTR%u" },
		{ 0xc0000300, 0xc0000300, 1, "AMD64_PERF_CNTR_GLOBAL_STATUS" },
		{ 0xc0000301, 0xc0000301, 1, "AMD64_PERF_CNTR_GLOBAL_CTL" },
		{ 0xc0000302, 0xc0000302, 1, "AMD64_PERF_CNTR_GLOBAL_STATUS_CLR" },
		{ 0xc0000303, 0xc0000303, 1, "AMD64_PERF_CNTR_GLOBAL_STATUS_SET" },
	};
	size_t i;

	for (i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		if (msr < ranges[i].first || msr > ranges[i].last ||
		    (msr - ranges[i].first) % ranges[i].step)
			continue;
		snprintf(name, len, ranges[i].fmt,
			 (msr - ranges[i].first) / ranges[i].step);
		return true;
	}
	return false;
}

static bool describe_sysreg(uint32_t reg, char *name, size_t len)
{
	static const char *const c9_c12[8] = {
		"PMCR_EL0", "PMCNTENSET_EL0", "PMCNTENCLR_EL0", "PMOVSCLR_EL0",
		"PMSWINC_EL0", "PMSELR_EL0", "PMCEID0_EL0", "PMCEID1_EL0",
	};
	static const char *const c9_c13[3] = {
		"PMCCNTR_EL0", "PMXEVTYPER_EL0", "PMXEVCNTR_EL0",
	};
	uint32_t op1 = PMU_SYSREG_OP1(reg), crn = PMU_SYSREG_CRN(reg);
	uint32_t crm = PMU_SYSREG_CRM(reg), op2 = PMU_SYSREG_OP2(reg);
	uint32_t n = (crm & 3) << 3 | op2;

	if (op1 == 0) {
		snprintf(name, len, "%s", op2 == 1 ? "PMINTENSET_EL1" :
			 op2 == 2 ? "PMINTENCLR_EL1" : "PMMIR_EL1");
	} else if (crn == 9 && crm == 12) {
		snprintf(name, len, "%s", c9_c12[op2]);
	} else if (crn == 9 && crm == 13) {
		snprintf(name, len, "%s", c9_c13[op2 < 3 ? op2 : 0]);
	} else if (crn == 9 && crm == 14) {
		snprintf(name, len, "%s", op2 ? "PMOVSSET_EL0" : "PMUSERENR_EL0");
	} else if (crm < 12) {
		snprintf(name, len, "PMEVCNTR%u_EL0", n);
	} else if (n == 31) {
		snprintf(name, len, "PMCCFILTR_EL0");
	} else {
		snprintf(name, len, "PMEVTYPER%u_EL0", n);
	}
	return true;
}

bool pmu_reg_describe(enum kw_arch arch, uint32_t reg, char *name,
		      size_t name_len, char *encoding, size_t encoding_len,
		      enum pmu_reg_kind *kind)
{
	if (arch == ARCH_ARM64) {
		*kind = pmu_sysreg_kind(PMU_SYSREG_OP0(reg), PMU_SYSREG_OP1(reg),
					PMU_SYSREG_CRN(reg), PMU_SYSREG_CRM(reg),
					PMU_SYSREG_OP2(reg));
		if (*kind == PMU_REG_NONE)
			return false;
		snprintf(encoding, encoding_len, "S%u_%u_C%u_C%u_%u",
			 PMU_SYSREG_OP0(reg), PMU_SYSREG_OP1(reg),
			 PMU_SYSREG_CRN(reg), PMU_SYSREG_CRM(reg),
			 PMU_SYSREG_OP2(reg));
		return describe_sysreg(reg, name, name_len);
	}
	*kind = pmu_msr_kind(reg);
	if (*kind == PMU_REG_NONE)
		return false;
	snprintf(encoding, encoding_len, "0x%x", reg);
	return describe_msr(reg, name, name_len);
}

/* ---------------------------------------------------------- samples */

static int compare_vcpu_key(const void *a, const void *b)
{
	const struct pmu_vcpu_key *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

static int compare_reg_key(const void *a, const void *b)
{
	const struct pmu_reg_key *x = a, *y = b;
	int c = compare_vcpu_key(a, b);

	if (c)
		return c;
	return x->reg < y->reg ? -1 : x->reg > y->reg;
}

void pmu_sample_sort(struct pmu_sample *s)
{
	qsort(s->vcpus, s->nvcpus, sizeof(*s->vcpus), compare_vcpu_key);
	qsort(s->regs, s->nregs, sizeof(*s->regs), compare_reg_key);
}

void pmu_sample_free(struct pmu_sample *s)
{
	free(s->vcpus);
	free(s->regs);
	memset(s, 0, sizeof(*s));
}

/* A key deleted and re-created between two reads restarts its counts. */
static bool vcpu_restarted(const struct pmu_vcpu_stats *p,
			   const struct pmu_vcpu_stats *c)
{
	int i;

	if (p->exits > c->exits || p->reg_reads > c->reg_reads ||
	    p->reg_writes > c->reg_writes)
		return true;
	for (i = 0; i < PMU_OP_COUNT; i++)
		if (p->ops[i].count > c->ops[i].count ||
		    p->ops[i].timed > c->ops[i].timed)
			return true;
	return false;
}

static void vcpu_sub(struct pmu_vcpu_stats *out,
		     const struct pmu_vcpu_stats *c,
		     const struct pmu_vcpu_stats *p)
{
	int i, j;

	*out = *c;	/* identities and maxima */
	out->exits -= p->exits;
	out->reg_reads -= p->reg_reads;
	out->reg_writes -= p->reg_writes;
	out->reg_faults -= p->reg_faults;
	for (i = 0; i < PMU_OP_COUNT; i++) {
		struct pmu_op_stats *o = &out->ops[i];
		const struct pmu_op_stats *q = &p->ops[i];

		o->count -= q->count;
		o->timed -= q->timed;
		o->total_ns -= q->total_ns;
		for (j = 0; j < HIST_SLOTS; j++)
			o->hist.slots[j] -= q->hist.slots[j];
	}
}

int pmu_sample_delta(const struct pmu_sample *prev,
		     const struct pmu_sample *cur, struct pmu_sample *out)
{
	size_t i, j;

	memset(out, 0, sizeof(*out));
	out->ts_ns = cur->ts_ns;
	out->run = cur->run;
	out->vcpus = calloc(cur->nvcpus ? cur->nvcpus : 1, sizeof(*out->vcpus));
	out->regs = calloc(cur->nregs ? cur->nregs : 1, sizeof(*out->regs));
	if (!out->vcpus || !out->regs) {
		pmu_sample_free(out);
		return -ENOMEM;
	}
	for (i = 0, j = 0; j < cur->nvcpus; j++) {
		const struct pmu_vcpu_record *c = &cur->vcpus[j], *p = NULL;
		struct pmu_vcpu_record *o = &out->vcpus[out->nvcpus++];

		while (i < prev->nvcpus &&
		       compare_vcpu_key(&prev->vcpus[i].key, &c->key) < 0)
			i++;
		if (i < prev->nvcpus &&
		    !compare_vcpu_key(&prev->vcpus[i].key, &c->key))
			p = &prev->vcpus[i];
		o->key = c->key;
		if (p && !vcpu_restarted(&p->stats, &c->stats))
			vcpu_sub(&o->stats, &c->stats, &p->stats);
		else
			o->stats = c->stats;
	}
	for (i = 0, j = 0; j < cur->nregs; j++) {
		const struct pmu_reg_record *c = &cur->regs[j], *p = NULL;
		struct pmu_reg_record *o = &out->regs[out->nregs++];

		while (i < prev->nregs &&
		       compare_reg_key(&prev->regs[i].key, &c->key) < 0)
			i++;
		if (i < prev->nregs && !compare_reg_key(&prev->regs[i].key, &c->key))
			p = &prev->regs[i];
		o->key = c->key;
		o->stats = c->stats;
		if (p && p->stats.reads <= c->stats.reads &&
		    p->stats.writes <= c->stats.writes) {
			o->stats.reads -= p->stats.reads;
			o->stats.writes -= p->stats.writes;
			o->stats.read_faults -= p->stats.read_faults;
			o->stats.write_faults -= p->stats.write_faults;
		}
	}
	return 0;
}

/* ---------------------------------------------------------- views */

static double rate(uint64_t n, double sec)
{
	return sec > 0 ? n / sec : 0;
}

static void op_view(struct pmu_op_view *v, const struct pmu_op_stats *s,
		    double interval_sec)
{
	v->count = s->count;
	v->timed = s->timed;
	v->total_ns = s->total_ns;
	v->per_sec = rate(s->count, interval_sec);
	v->avg_ns = s->timed ? (double)s->total_ns / s->timed : 0;
	v->p50_ns_le = hist_percentile(&s->hist, 0.5);
	v->p99_ns_le = hist_percentile(&s->hist, 0.99);
	v->max_ns = s->max_ns;
	v->hist = s->hist;
}

static bool vcpu_active(const struct pmu_vcpu_stats *s)
{
	int i;

	if (s->exits || s->reg_reads || s->reg_writes)
		return true;
	for (i = 0; i < PMU_OP_COUNT; i++)
		if (s->ops[i].count)
			return true;
	return false;
}

/* Is the mechanism's world switch watched in this run? */
static bool switch_watched(const struct pmu_run_info *run)
{
	return run->mech.load_op < PMU_OP_COUNT &&
		run->ops[run->mech.load_op].state == PMU_WATCH_ON;
}

static bool put_watched(const struct pmu_run_info *run)
{
	return run->mech.put_op < PMU_OP_COUNT &&
		run->ops[run->mech.put_op].state == PMU_WATCH_ON;
}

static void switch_figures(struct pmu_vcpu_view *v,
			   const struct pmu_run_info *run)
{
	const struct pmu_mechanism *m = &run->mech;
	const struct pmu_op_view *ops[2] = { NULL, NULL };
	uint64_t timed = 0, total = 0;
	int i, j;

	v->switches_per_exit = -1;
	if (!switch_watched(run))
		return;
	if (m->load_op < PMU_OP_COUNT) {
		ops[0] = &v->ops[m->load_op];
		v->loads = ops[0]->count;
	}
	if (put_watched(run)) {
		ops[1] = &v->ops[m->put_op];
		v->puts = ops[1]->count;
	}
	if (m->load_op < PMU_OP_COUNT && v->exits)
		v->switches_per_exit = (double)v->loads / v->exits;
	for (i = 0; i < 2; i++) {
		if (!ops[i])
			continue;
		timed += ops[i]->timed;
		total += ops[i]->total_ns;
		for (j = 0; j < HIST_SLOTS; j++)
			v->switch_hist.slots[j] += ops[i]->hist.slots[j];
	}
	v->switch_avg_ns = timed ? (double)total / timed : 0;
}

static int compare_vcpu_view(const void *a, const void *b)
{
	const struct pmu_vcpu_view *x = a, *y = b;

	/* Known vCPU indexes first, in order; then by thread. */
	if ((x->vcpu_id < 0) != (y->vcpu_id < 0))
		return x->vcpu_id < 0 ? 1 : -1;
	if (x->vcpu_id != y->vcpu_id)
		return x->vcpu_id < y->vcpu_id ? -1 : 1;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

static int build_vcpu(struct pmu_vcpu_view *v, const struct pmu_sample *s,
		      const struct pmu_vcpu_record *r, size_t *reg_pos,
		      double interval_sec)
{
	const struct pmu_vcpu_stats *st = &r->stats;
	size_t first, i;
	int op;

	v->pid = r->key.pid;
	v->tid = r->key.tid;
	v->vcpu_id = st->vcpu_id == PMU_VCPU_ID_UNKNOWN ? -1 : (int64_t)st->vcpu_id;
	v->vpmu = st->vpmu == PMU_VPMU_UNKNOWN ? -1 : st->vpmu;
	v->pmu_version = st->pmu_version;
	v->gp_counters = st->gp_counters;
	v->exits = st->exits;
	v->exits_per_sec = rate(st->exits, interval_sec);
	for (op = 0; op < PMU_OP_COUNT; op++)
		op_view(&v->ops[op], &st->ops[op], interval_sec);
	switch_figures(v, &s->run);
	v->switches_per_sec = rate(v->loads, interval_sec);
	v->reg_reads = st->reg_reads;
	v->reg_writes = st->reg_writes;
	v->reg_faults = st->reg_faults;
	v->reg_exits = st->reg_reads + st->reg_writes;
	v->reg_exits_per_sec = rate(v->reg_exits, interval_sec);
	v->reg_exits_per_exit = st->exits ? (double)v->reg_exits / st->exits : -1;

	/* Registers of this thread: regs are sorted by (pid, tid, reg). */
	while (*reg_pos < s->nregs &&
	       compare_vcpu_key(&s->regs[*reg_pos].key, &r->key) < 0)
		(*reg_pos)++;
	first = *reg_pos;
	while (*reg_pos < s->nregs &&
	       !compare_vcpu_key(&s->regs[*reg_pos].key, &r->key))
		(*reg_pos)++;
	if (*reg_pos == first)
		return 0;
	v->regs = calloc(*reg_pos - first, sizeof(*v->regs));
	if (!v->regs)
		return -ENOMEM;
	for (i = first; i < *reg_pos; i++) {
		const struct pmu_reg_record *rr = &s->regs[i];
		struct pmu_reg_view *rv = &v->regs[v->nregs];

		if (!rr->stats.reads && !rr->stats.writes)
			continue;
		rv->reg = rr->key.reg;
		if (!pmu_reg_describe(s->run.facts.arch, rr->key.reg, rv->name,
				      sizeof(rv->name), rv->encoding,
				      sizeof(rv->encoding), &rv->kind))
			snprintf(rv->name, sizeof(rv->name), "unknown");
		rv->reads = rr->stats.reads;
		rv->writes = rr->stats.writes;
		rv->read_faults = rr->stats.read_faults;
		rv->write_faults = rr->stats.write_faults;
		v->nregs++;
	}
	return 0;
}

int pmu_view_build(const struct pmu_sample *s, double interval_sec,
		   struct pmu_view *view)
{
	struct pmu_vcpu_view *all;
	size_t i, n = 0, reg_pos = 0;
	int err, op;

	memset(view, 0, sizeof(*view));
	view->interval_sec = interval_sec;
	view->run = s->run;
	all = calloc(s->nvcpus ? s->nvcpus : 1, sizeof(*all));
	view->vms = calloc(s->nvcpus ? s->nvcpus : 1, sizeof(*view->vms));
	if (!all || !view->vms) {
		free(all);
		free(view->vms);
		view->vms = NULL;
		return -ENOMEM;
	}
	for (i = 0; i < s->nvcpus; i++) {
		if (!vcpu_active(&s->vcpus[i].stats))
			continue;
		err = build_vcpu(&all[n++], s, &s->vcpus[i], &reg_pos,
				 interval_sec);
		if (err)
			goto fail;
	}
	/* all[] is in pid order: cut it into VMs, each owning its slice. */
	for (i = 0; i < n; ) {
		struct pmu_vm_view *vm = &view->vms[view->nvms++];
		size_t j = i;

		vm->pid = all[i].pid;
		while (j < n && all[j].pid == vm->pid)
			j++;
		vm->nvcpus = j - i;
		vm->vcpus = calloc(vm->nvcpus, sizeof(*vm->vcpus));
		if (!vm->vcpus) {
			err = -ENOMEM;
			goto fail;
		}
		memcpy(vm->vcpus, &all[i], vm->nvcpus * sizeof(*all));
		memset(&all[i], 0, vm->nvcpus * sizeof(*all));
		qsort(vm->vcpus, vm->nvcpus, sizeof(*vm->vcpus),
		      compare_vcpu_view);
		for (j = 0; j < vm->nvcpus; j++) {
			const struct pmu_vcpu_view *v = &vm->vcpus[j];

			vm->exits += v->exits;
			vm->loads += v->loads;
			vm->puts += v->puts;
			vm->reg_exits += v->reg_exits;
			view->reg_faults += v->reg_faults;
			for (op = 0; op < PMU_OP_COUNT; op++)
				view->op_counts[op] += v->ops[op].count;
		}
		view->exits += vm->exits;
		view->loads += vm->loads;
		view->puts += vm->puts;
		view->reg_exits += vm->reg_exits;
		view->nvcpus += vm->nvcpus;
		i += vm->nvcpus;
	}
	free(all);
	return 0;
fail:
	for (i = 0; i < n; i++)
		free(all[i].regs);
	free(all);
	pmu_view_free(view);
	return err;
}

void pmu_view_free(struct pmu_view *view)
{
	size_t i, j;

	for (i = 0; i < view->nvms; i++) {
		for (j = 0; j < view->vms[i].nvcpus; j++)
			free(view->vms[i].vcpus[j].regs);
		free(view->vms[i].vcpus);
	}
	free(view->vms);
	memset(view, 0, sizeof(*view));
}

const char *pmu_view_off_reason(const struct pmu_view *view)
{
	return view->run.mech.vpmu_enabled ? NULL : view->run.mech.why;
}

/* ---------------------------------------------------------- JSON */

static json_t *json_param(int v)
{
	return v < 0 ? json_null() : json_boolean(v);
}

static json_t *json_string_or_null(const char *s)
{
	return s && *s ? json_string(s) : json_null();
}

static json_t *json_hist(const struct log2_hist *h)
{
	json_t *arr = json_array();
	int i;

	for (i = 0; i < HIST_SLOTS; i++)
		if (h->slots[i])
			json_array_append_new(arr, json_pack("{s:I, s:I}",
				"le_ns", (json_int_t)(i ? 1ull << i : 0),
				"count", (json_int_t)h->slots[i]));
	return arr;
}

static json_t *json_watch(const struct pmu_watch_state *w)
{
	if (w->state == PMU_WATCH_ON)
		return json_pack("{s:s}", "mode", attach_mode_name(w->mode));
	return json_pack("{s:n, s:s}", "mode", "why", w->why[0] ? w->why :
			 "not watched");
}

static json_t *json_mechanism(const struct pmu_run_info *run)
{
	const struct pmu_host_facts *f = &run->facts;
	const struct pmu_mechanism *m = &run->mech;
	json_t *ops = json_object(), *watched;
	int op;

	for (op = 0; op < PMU_OP_COUNT; op++)
		if (run->ops[op].state != PMU_WATCH_NA)
			json_object_set_new(ops, pmu_op_name(op),
					    json_watch(&run->ops[op]));
	watched = json_pack("{s:o, s:o, s:o, s:o}", "ops", ops,
			    "registers", run->regs.state == PMU_WATCH_NA ?
			    json_null() : json_watch(&run->regs),
			    "exits", json_watch(&run->exits),
			    "vcpu_ids", json_watch(&run->ids));
	return json_pack("{s:s, s:b, s:s, s:o, s:{s:o, s:o}, s:{s:o, s:o, s:o, s:o, s:b, s:{s:b, s:b, s:b, s:b}, s:{s:b, s:b}}, s:o}",
		"name", pmu_mech_name(m->mech),
		"vpmu_enabled", m->vpmu_enabled,
		"why", m->why,
		"offered", json_string_or_null(m->offered),
		"switch",
		"load", m->load_op < PMU_OP_COUNT ?
			json_string(pmu_op_name(m->load_op)) : json_null(),
		"put", m->put_op < PMU_OP_COUNT ?
			json_string(pmu_op_name(m->put_op)) : json_null(),
		"facts",
		"enable_pmu", json_param(f->enable_pmu),
		"enable_mediated_pmu", json_param(f->enable_mediated_pmu),
		"vpmc", json_param(f->vpmc),
		"host_pmu", json_string_or_null(f->host_pmu),
		"cpu_perfctr_virt", f->cpu_perfctr_virt,
		"symbols",
		"kvm_mediated_pmu_load", f->has_mediated_load,
		"perf_load_guest_context", f->has_perf_guest_context,
		"kvm_vcpu_pmu_restore_guest", f->has_restore_guest,
		"perf_guest_get_msrs", f->has_guest_get_msrs,
		"btf",
		"vmcb_save_area.perf_cntr_global_control", f->btf_vmcb_pmc,
		"kvm_pmu_ops.mediated_load", f->btf_mediated_ops,
		"watched", watched);
}

static json_t *json_real_or_null(double v, bool known)
{
	return known ? json_real(v) : json_null();
}

static json_t *json_op(const struct pmu_op_view *o)
{
	return json_pack("{s:I, s:f, s:I, s:o, s:I, s:I, s:I, s:o}",
			 "count", (json_int_t)o->count,
			 "per_s", o->per_sec,
			 "timed", (json_int_t)o->timed,
			 "avg_ns", json_real_or_null(o->avg_ns, o->timed),
			 "p50_ns_le", (json_int_t)o->p50_ns_le,
			 "p99_ns_le", (json_int_t)o->p99_ns_le,
			 "max_ns", (json_int_t)o->max_ns,
			 "hist", json_hist(&o->hist));
}

static json_t *json_switches(const struct pmu_vcpu_view *v,
			     const struct pmu_run_info *run)
{
	const struct pmu_mechanism *m = &run->mech;
	bool timed;

	/* No switch here, or not watched: mechanism says which. */
	if (!switch_watched(run))
		return json_null();
	timed = v->ops[m->load_op].timed ||
		(put_watched(run) && v->ops[m->put_op].timed);
	return json_pack("{s:I, s:o, s:f, s:o, s:o, s:o, s:I, s:I, s:o}",
			 "loads", (json_int_t)v->loads,
			 "puts", put_watched(run) ?
				json_integer(v->puts) : json_null(),
			 "per_s", v->switches_per_sec,
			 "puts_per_s", put_watched(run) ?
				json_real(v->ops[m->put_op].per_sec) : json_null(),
			 "per_exit", json_real_or_null(v->switches_per_exit,
						       v->switches_per_exit >= 0),
			 "avg_ns", json_real_or_null(v->switch_avg_ns, timed),
			 "p50_ns_le", (json_int_t)hist_percentile(&v->switch_hist, 0.5),
			 "p99_ns_le", (json_int_t)hist_percentile(&v->switch_hist, 0.99),
			 "hist", json_hist(&v->switch_hist));
}

static json_t *json_registers(const struct pmu_vcpu_view *v,
			      const struct pmu_run_info *run)
{
	bool x86 = run->facts.arch == ARCH_X86_64;
	json_t *regs = json_array();
	size_t i;

	if (run->regs.state != PMU_WATCH_ON) {
		json_decref(regs);
		return json_null();
	}
	for (i = 0; i < v->nregs; i++) {
		const struct pmu_reg_view *r = &v->regs[i];

		json_array_append_new(regs, json_pack(
			"{s:I, s:s, s:s, s:s, s:I, s:I, s:o, s:o}",
			"reg", (json_int_t)r->reg, "name", r->name,
			"encoding", r->encoding,
			"kind", pmu_reg_kind_name(r->kind),
			"reads", (json_int_t)r->reads,
			"writes", (json_int_t)r->writes,
			"read_faults", x86 ? json_integer(r->read_faults) :
				json_null(),
			"write_faults", x86 ? json_integer(r->write_faults) :
				json_null()));
	}
	return json_pack("{s:I, s:I, s:o, s:f, s:o, s:o}",
			 "reads", (json_int_t)v->reg_reads,
			 "writes", (json_int_t)v->reg_writes,
			 "faults", x86 ? json_integer(v->reg_faults) : json_null(),
			 "per_s", v->reg_exits_per_sec,
			 "per_exit", json_real_or_null(v->reg_exits_per_exit,
						       v->reg_exits_per_exit >= 0),
			 "by_register", regs);
}

static json_t *json_vcpu(const struct pmu_vcpu_view *v,
			 const struct pmu_run_info *run)
{
	json_t *ops = json_object(), *o;
	int op;

	for (op = 0; op < PMU_OP_COUNT; op++) {
		if (run->ops[op].state == PMU_WATCH_NA)
			continue;
		json_object_set_new(ops, pmu_op_name(op),
				    run->ops[op].state == PMU_WATCH_ON ?
				    json_op(&v->ops[op]) : json_null());
	}
	o = json_pack("{s:I, s:I, s:I, s:o, s:I, s:f, s:o, s:o, s:o}",
		      "pid", (json_int_t)v->pid,
		      "tid", (json_int_t)v->tid,
		      "vcpu_id", (json_int_t)v->vcpu_id,
		      "vpmu", v->vpmu < 0 ? json_null() : json_boolean(v->vpmu),
		      "exits", (json_int_t)v->exits,
		      "exits_per_s", v->exits_per_sec,
		      "switches", json_switches(v, run),
		      "ops", ops,
		      "registers", json_registers(v, run));
	if (run->facts.arch == ARCH_X86_64 && v->vpmu >= 0) {
		json_object_set_new(o, "pmu_version", json_integer(v->pmu_version));
		json_object_set_new(o, "gp_counters", json_integer(v->gp_counters));
	}
	return o;
}

json_t *pmu_view_json(const struct pmu_view *view)
{
	json_t *vms = json_array(), *ops = json_object();
	size_t i, j;
	int op;

	for (i = 0; i < view->nvms; i++) {
		const struct pmu_vm_view *vm = &view->vms[i];
		json_t *vcpus = json_array();

		for (j = 0; j < vm->nvcpus; j++)
			json_array_append_new(vcpus, json_vcpu(&vm->vcpus[j],
							       &view->run));
		json_array_append_new(vms, json_pack(
			"{s:I, s:I, s:I, s:I, s:I, s:o}",
			"pid", (json_int_t)vm->pid,
			"exits", (json_int_t)vm->exits,
			"loads", (json_int_t)vm->loads,
			"puts", (json_int_t)vm->puts,
			"reg_exits", (json_int_t)vm->reg_exits,
			"vcpus", vcpus));
	}
	for (op = 0; op < PMU_OP_COUNT; op++)
		if (view->run.ops[op].state == PMU_WATCH_ON)
			json_object_set_new(ops, pmu_op_name(op),
					    json_integer(view->op_counts[op]));
	return json_pack("{s:f, s:o, s:{s:I, s:I, s:I, s:I, s:o}, s:o}",
			 "interval_s", view->interval_sec,
			 "mechanism", json_mechanism(&view->run),
			 "totals",
			 "exits", (json_int_t)view->exits,
			 "loads", (json_int_t)view->loads,
			 "puts", (json_int_t)view->puts,
			 "reg_exits", (json_int_t)view->reg_exits,
			 "ops", ops,
			 "vms", vms);
}

/* ---------------------------------------------------------- text */

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

void pmu_view_text(FILE *out, const struct pmu_view *view, const char *modes)
{
	const struct pmu_run_info *run = &view->run;
	const struct pmu_mechanism *m = &run->mech;
	char a[16], b[16], c[16], d[16];
	size_t i, j, k;
	int op;

	fprintf(out, "PMU (pmu: %s) - %.2f s - mechanism %s%s: %s\n", modes,
		view->interval_sec, pmu_mech_name(m->mech),
		m->vpmu_enabled ? "" : ", no vPMU", m->why);
	if (m->offered[0])
		fprintf(out, "  also here: %s\n", m->offered);
	if (m->load_op == PMU_OP_COUNT)
		fprintf(out, "  world switch: none to watch on this mechanism\n");
	else
		fprintf(out, "  world switch: load = %s, put = %s%s\n",
			pmu_op_name(m->load_op), pmu_op_name(m->put_op),
			run->ops[m->load_op].state == PMU_WATCH_ON ? "" :
			" (not watched: see kvmwatch probe)");
	if (!view->nvcpus) {
		fprintf(out, "  no vCPU activity seen\n");
		return;
	}
	fprintf(out, "  %7s %5s %7s %9s %8s %8s %8s %8s %8s %9s %8s\n",
		"PID", "VCPU", "TID", "EXITS/s", "LOAD/s", "PUT/s", "SW/EXIT",
		"SW AVG", "SW P99<=", "PMU-REG/s", "REG/EXIT");
	for (i = 0; i < view->nvms; i++) {
		for (j = 0; j < view->vms[i].nvcpus; j++) {
			const struct pmu_vcpu_view *v = &view->vms[i].vcpus[j];

			fmt_ratio(a, sizeof(a), v->switches_per_exit);
			fmt_ns(b, sizeof(b), v->switch_avg_ns);
			fmt_ns(c, sizeof(c), (double)hist_percentile(
				&v->switch_hist, 0.99));
			fmt_ratio(d, sizeof(d), v->reg_exits_per_exit);
			fprintf(out, "  %7u %5lld %7u %9.1f %8.1f %8.1f %8s %8s %8s %9.1f %8s\n",
				v->pid, (long long)v->vcpu_id, v->tid,
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
				fprintf(out, "  %7u %5lld %7u %-16s %9.1f/s, avg %s, p99 <= %s\n",
					v->pid, (long long)v->vcpu_id, v->tid,
					pmu_op_name(op), o->per_sec, a, b);
			}
		}
	}
	if (run->regs.state != PMU_WATCH_ON) {
		fprintf(out, "  PMU register exits not watched: %s\n",
			run->regs.why);
		return;
	}
	if (!view->reg_exits)
		return;
	fprintf(out, "  %7s %5s %7s %-34s %9s %9s %7s\n", "PID", "VCPU", "TID",
		"PMU REGISTER", "READS", "WRITES", "FAULTS");
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
				fprintf(out, "  %7u %5lld %7u %-34s %9llu %9llu %7s\n",
					v->pid, (long long)v->vcpu_id, v->tid,
					r->name, (unsigned long long)r->reads,
					(unsigned long long)r->writes, a);
			}
		}
	}
}

/* ---------------------------------------------------------- metrics */

/* m = a new metric, or return -ENOMEM from the caller. */
#define NEW_METRIC(m, set, type, unit, help, better, ...)		\
	do {								\
		(m) = metric_add(set, type, unit, help, better, __VA_ARGS__); \
		if (!(m))						\
			return -ENOMEM;					\
	} while (0)

static int label_entity(struct metric *m, const struct pmu_vcpu_view *v)
{
	if (!v)
		return 0;
	if (metric_label(m, "vm", "%u", v->pid))
		return -E2BIG;
	/* A vCPU whose index no probe told is named by its thread. */
	if (v->vcpu_id >= 0)
		return metric_label(m, "vcpu", "%lld", (long long)v->vcpu_id);
	return metric_label(m, "vcpu", "tid%u", v->tid);
}

/* The figures of one vCPU, or of the whole run (v == NULL). */
/*
 * A figure is recorded only when its probe point is watched. One the
 * attach mode could not watch is left out, never a 0: a baseline that
 * has it then refuses the comparison ("not measured in this run"). So
 * that a missing one is never read as a zero of a breakdown, counters
 * with a verdict carry no labels but vm and vcpu.
 */
static bool measured(const struct pmu_watch_state *w)
{
	return w->state == PMU_WATCH_ON;
}

/* Sum the histograms of op (or of the switch, op < 0) over v, or over
 * every vCPU when v is NULL. */
static void sum_hist(const struct pmu_view *view,
		     const struct pmu_vcpu_view *v, int op,
		     struct log2_hist *h, uint64_t *count)
{
	size_t i, j;
	int s;

	memset(h, 0, sizeof(*h));
	*count = 0;
	for (i = 0; i < view->nvms; i++)
		for (j = 0; j < view->vms[i].nvcpus; j++) {
			const struct pmu_vcpu_view *x = &view->vms[i].vcpus[j];
			const struct log2_hist *src = op < 0 ? &x->switch_hist :
				&x->ops[op].hist;

			if (v && x != v)
				continue;
			if (op >= 0)
				*count += x->ops[op].count;
			for (s = 0; s < HIST_SLOTS; s++)
				h->slots[s] += src->slots[s];
		}
}

/* The switch figures, when the mechanism has a world switch. */
static int add_switches(struct metric_set *set, const struct pmu_view *view,
			const struct pmu_vcpu_view *v)
{
	const struct pmu_run_info *run = &view->run;
	const struct pmu_mechanism *mech = &run->mech;
	uint64_t exits = v ? v->exits : view->exits;
	struct log2_hist h;
	struct metric *m;
	uint64_t count;

	if (mech->load_op == PMU_OP_COUNT || !measured(&run->ops[mech->load_op]))
		return 0;
	NEW_METRIC(m, set, METRIC_COUNTER, "switches",
		   "PMU world switches into the guest (loads)", BETTER_LOWER,
		   "pmu.switch_loads");
	m->value = v ? v->loads : view->loads;
	m->per = "pmu.exits";
	if (label_entity(m, v))
		return -E2BIG;
	if (mech->put_op < PMU_OP_COUNT && measured(&run->ops[mech->put_op])) {
		NEW_METRIC(m, set, METRIC_COUNTER, "switches",
			   "PMU world switches back to the host (puts)",
			   BETTER_LOWER, "pmu.switch_puts");
		m->value = v ? v->puts : view->puts;
		m->per = "pmu.exits";
		if (label_entity(m, v))
			return -E2BIG;
	}
	sum_hist(view, v, -1, &h, &count);
	NEW_METRIC(m, set, METRIC_HISTOGRAM, "ns",
		   "cost of a PMU world switch (load or put)", BETTER_LOWER,
		   "pmu.switch_cost_ns");
	metric_set_hist(m, h.slots, -1);
	if (label_entity(m, v))
		return -E2BIG;
	/* No exit, no ratio: left out rather than a 0. */
	if (!exits || !measured(&run->exits))
		return 0;
	NEW_METRIC(m, set, METRIC_GAUGE, "ratio",
		   "PMU world switches (loads) per guest exit", BETTER_LOWER,
		   "pmu.switches_per_exit");
	m->value = (double)(v ? v->loads : view->loads) / exits;
	return label_entity(m, v);
}

/* The figures of one vCPU, or of the whole run (v == NULL). */
static int add_figures(struct metric_set *set, const struct pmu_view *view,
		       const struct pmu_vcpu_view *v)
{
	const struct pmu_run_info *run = &view->run;
	uint64_t exits = v ? v->exits : view->exits;
	uint64_t regs = v ? v->reg_exits : view->reg_exits;
	struct log2_hist h;
	struct metric *m;
	uint64_t count;
	size_t k;
	int op, err;

	if (measured(&run->exits)) {
		NEW_METRIC(m, set, METRIC_COUNTER, "exits",
			   "guest exits seen by the pmu detector",
			   BETTER_NEITHER, "pmu.exits");
		m->value = exits;
		if (label_entity(m, v))
			return -E2BIG;
	}
	err = add_switches(set, view, v);
	if (err)
		return err;
	for (op = 0; op < PMU_OP_COUNT; op++) {
		if (!measured(&run->ops[op]))
			continue;
		sum_hist(view, v, op, &h, &count);
		/* Informational: a missing one is never judged. */
		NEW_METRIC(m, set, METRIC_COUNTER, "calls",
			   "calls of a kernel PMU function (label op)",
			   BETTER_NEITHER, "pmu.op_calls");
		m->value = count;
		if (label_entity(m, v) ||
		    metric_label(m, "op", "%s", pmu_op_name(op)))
			return -E2BIG;
		NEW_METRIC(m, set, METRIC_HISTOGRAM, "ns",
			   "cost of a kernel PMU function call (label op)",
			   BETTER_LOWER, "pmu.op_cost_ns");
		metric_set_hist(m, h.slots, -1);
		if (label_entity(m, v) ||
		    metric_label(m, "op", "%s", pmu_op_name(op)))
			return -E2BIG;
	}
	if (!measured(&run->regs))
		return 0;
	NEW_METRIC(m, set, METRIC_COUNTER, "exits",
		   "guest PMU register accesses that exited to KVM",
		   BETTER_LOWER, "pmu.reg_exits");
	m->value = regs;
	m->per = "pmu.exits";
	if (label_entity(m, v))
		return -E2BIG;
	if (exits && measured(&run->exits)) {
		NEW_METRIC(m, set, METRIC_GAUGE, "ratio",
			   "guest PMU register exits per guest exit",
			   BETTER_LOWER, "pmu.reg_exits_per_exit");
		m->value = (double)regs / exits;
		if (label_entity(m, v))
			return -E2BIG;
	}
	if (!v)
		return 0;
	for (k = 0; k < v->nregs; k++) {
		const struct pmu_reg_view *r = &v->regs[k];
		int dir;

		for (dir = 0; dir < 2; dir++) {
			NEW_METRIC(m, set, METRIC_COUNTER, "exits",
				   "guest accesses of one PMU register that exited (labels reg, dir)",
				   BETTER_LOWER, "pmu.reg_exits_by_reg");
			m->value = dir ? r->writes : r->reads;
			if (label_entity(m, v) ||
			    metric_label(m, "reg", "%s", r->name) ||
			    metric_label(m, "dir", dir ? "write" : "read"))
				return -E2BIG;
		}
	}
	return 0;
}

int pmu_view_metrics(const struct pmu_view *view, struct metric_set *out)
{
	struct metric *m;
	size_t i, j;
	int err;

	NEW_METRIC(m, out, METRIC_GAUGE, "bool",
		"1 when this host gives guests a vPMU, 0 when it has none",
		BETTER_NEITHER, "pmu.vpmu_enabled");
	m->value = view->run.mech.vpmu_enabled;
	err = add_figures(out, view, NULL);
	for (i = 0; !err && i < view->nvms; i++)
		for (j = 0; !err && j < view->vms[i].nvcpus; j++)
			err = add_figures(out, view, &view->vms[i].vcpus[j]);
	return err;
}
