// SPDX-License-Identifier: GPL-2.0
/*
 * The pmu detector without a kernel: which MSRs and system registers are
 * the PMU's (the very ranges bpf/pmu.bpf.c filters on), the mechanism
 * decision, and synthetic vCPU runs - calls timed the way op_begin/op_end
 * time them, register exits counted the way count_reg counts them
 * (pmu_sim.h) - through samples, deltas, views, JSON and metrics. The
 * check --pmu rules are in test_pmu_rules.c.
 */
#include "pmu_sim.h"

/* ------------------------------------------------------- classification */

static void msr_ranges(void **state)
{
	static const struct { uint32_t msr; enum pmu_reg_kind kind; } cases[] = {
		{ 0xc0, PMU_REG_NONE }, { 0xc1, PMU_REG_COUNTER },
		{ 0xc8, PMU_REG_COUNTER }, { 0xc9, PMU_REG_NONE },
		{ 0x4c1, PMU_REG_COUNTER }, { 0x4c9, PMU_REG_NONE },
		{ 0x185, PMU_REG_NONE }, { 0x186, PMU_REG_EVENTSEL },
		{ 0x18d, PMU_REG_EVENTSEL }, { 0x18e, PMU_REG_NONE },
		{ 0x308, PMU_REG_NONE }, { 0x309, PMU_REG_FIXED },
		{ 0x30f, PMU_REG_FIXED }, { 0x310, PMU_REG_NONE },
		{ 0x38d, PMU_REG_CONTROL }, { 0x38e, PMU_REG_GLOBAL },
		{ 0x38f, PMU_REG_GLOBAL }, { 0x390, PMU_REG_GLOBAL },
		{ 0x393, PMU_REG_NONE }, { 0x345, PMU_REG_CONTROL },
		{ 0xbfffffff, PMU_REG_NONE },
		{ 0xc000ffff, PMU_REG_NONE },
		{ 0xc0010000, PMU_REG_EVENTSEL }, { 0xc0010003, PMU_REG_EVENTSEL },
		{ 0xc0010004, PMU_REG_COUNTER }, { 0xc0010007, PMU_REG_COUNTER },
		{ 0xc0010008, PMU_REG_NONE }, { 0xc00101ff, PMU_REG_NONE },
		{ 0xc0010200, PMU_REG_EVENTSEL }, { 0xc0010201, PMU_REG_COUNTER },
		{ 0xc001020a, PMU_REG_EVENTSEL }, { 0xc001020b, PMU_REG_COUNTER },
		{ 0xc001020c, PMU_REG_NONE },
		{ 0xc00002ff, PMU_REG_NONE }, { 0xc0000300, PMU_REG_GLOBAL },
		{ 0xc0000303, PMU_REG_GLOBAL }, { 0xc0000304, PMU_REG_NONE },
		/* Not the PMU's: TSC, APIC base, EFER, x2APIC, kvmclock. */
		{ 0x10, PMU_REG_NONE }, { 0x1b, PMU_REG_NONE },
		{ 0xc0000080, PMU_REG_NONE }, { 0x830, PMU_REG_NONE },
		{ 0x4b564d01, PMU_REG_NONE },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (pmu_msr_kind(cases[i].msr) != cases[i].kind)
			fail_msg("MSR 0x%x: kind %d, expected %d", cases[i].msr,
				 pmu_msr_kind(cases[i].msr), cases[i].kind);
	}
}

static void describe(enum kw_arch arch, uint32_t reg, const char *name,
		     const char *encoding)
{
	char n[32], e[24];
	enum pmu_reg_kind kind;

	assert_true(pmu_reg_describe(arch, reg, n, sizeof(n), e, sizeof(e),
				     &kind));
	assert_string_equal(n, name);
	if (encoding)
		assert_string_equal(e, encoding);
}

static void register_names(void **state)
{
	char n[32], e[24];
	enum pmu_reg_kind kind;

	(void)state;
	/* The names kvmload's ground truth uses. */
	describe(ARCH_X86_64, 0xc0010000, "K7_EVNTSEL0", "0xc0010000");
	describe(ARCH_X86_64, 0xc0010004, "K7_PERFCTR0", "0xc0010004");
	describe(ARCH_X86_64, 0x186, "IA32_PERFEVTSEL0", "0x186");
	describe(ARCH_X86_64, 0xc1, "IA32_PMC0", "0xc1");
	describe(ARCH_X86_64, 0x4c3, "IA32_A_PMC2", NULL);
	describe(ARCH_X86_64, 0x30b, "IA32_FIXED_CTR2", NULL);
	describe(ARCH_X86_64, 0x38f, "IA32_PERF_GLOBAL_CTRL", NULL);
	describe(ARCH_X86_64, 0xc0010204, "F15H_PERF_CTL2", NULL);
	describe(ARCH_X86_64, 0xc001020b, "F15H_PERF_CTR5", NULL);
	describe(ARCH_X86_64, 0xc0000301, "AMD64_PERF_CNTR_GLOBAL_CTL", NULL);
	describe(ARCH_ARM64, PMU_SYSREG(3, 3, 9, 12, 0), "PMCR_EL0",
		 "S3_3_C9_C12_0");
	describe(ARCH_ARM64, PMU_SYSREG(3, 3, 9, 12, 1), "PMCNTENSET_EL0",
		 "S3_3_C9_C12_1");
	describe(ARCH_ARM64, PMU_SYSREG(3, 3, 9, 12, 2), "PMCNTENCLR_EL0",
		 "S3_3_C9_C12_2");
	describe(ARCH_ARM64, PMU_SYSREG(3, 3, 14, 8, 0), "PMEVCNTR0_EL0",
		 "S3_3_C14_C8_0");
	describe(ARCH_ARM64, PMU_SYSREG(3, 3, 14, 12, 0), "PMEVTYPER0_EL0",
		 "S3_3_C14_C12_0");
	describe(ARCH_ARM64, PMU_SYSREG(3, 3, 14, 10, 1), "PMEVCNTR17_EL0",
		 NULL);
	describe(ARCH_ARM64, PMU_SYSREG(3, 3, 14, 15, 6), "PMEVTYPER30_EL0",
		 NULL);
	describe(ARCH_ARM64, PMU_SYSREG(3, 3, 14, 15, 7), "PMCCFILTR_EL0",
		 NULL);
	describe(ARCH_ARM64, PMU_SYSREG(3, 3, 9, 13, 0), "PMCCNTR_EL0", NULL);
	describe(ARCH_ARM64, PMU_SYSREG(3, 0, 9, 14, 1), "PMINTENSET_EL1",
		 NULL);
	describe(ARCH_ARM64, PMU_SYSREG(3, 3, 9, 14, 0), "PMUSERENR_EL0", NULL);
	/* Not the PMU's: CNTV_CTL_EL0, SCTLR_EL1, the AMU, MDSCR_EL1. */
	assert_false(pmu_reg_describe(ARCH_ARM64, PMU_SYSREG(3, 3, 14, 3, 1),
				      n, sizeof(n), e, sizeof(e), &kind));
	assert_false(pmu_reg_describe(ARCH_ARM64, PMU_SYSREG(3, 0, 1, 0, 0),
				      n, sizeof(n), e, sizeof(e), &kind));
	assert_false(pmu_reg_describe(ARCH_ARM64, PMU_SYSREG(3, 3, 13, 2, 0),
				      n, sizeof(n), e, sizeof(e), &kind));
	assert_false(pmu_reg_describe(ARCH_ARM64, PMU_SYSREG(2, 0, 0, 2, 2),
				      n, sizeof(n), e, sizeof(e), &kind));
	assert_false(pmu_reg_describe(ARCH_X86_64, 0x10, n, sizeof(n), e,
				      sizeof(e), &kind));
	/* The encoding round-trips through the field macros. */
	assert_int_equal(PMU_SYSREG_CRM(PMU_SYSREG(3, 3, 14, 11, 7)), 11);
	assert_int_equal(PMU_SYSREG_OP2(PMU_SYSREG(3, 3, 14, 11, 7)), 7);
	assert_int_equal(PMU_SYSREG_CRN(PMU_SYSREG(3, 3, 14, 11, 7)), 14);
	assert_int_equal(PMU_SYSREG_OP1(PMU_SYSREG(3, 3, 14, 11, 7)), 3);
	assert_int_equal(PMU_SYSREG_OP0(PMU_SYSREG(3, 3, 14, 11, 7)), 3);
}

/* ------------------------------------------------------- mechanism */

static void mechanism_decision(void **state)
{
	struct pmu_host_facts f;
	struct pmu_mechanism m;

	(void)state;
	/* The x86 testbed: SVM under TCG, no host PMU, enable_pmu N. */
	f = x86_facts(VENDOR_SVM, 0);
	pmu_mechanism_decide(&f, &m);
	assert_int_equal(m.mech, PMU_MECH_OFF);
	assert_false(m.vpmu_enabled);
	assert_non_null(strstr(m.why, "kvm.enable_pmu is N"));
	assert_non_null(strstr(m.why, "no hardware PMU"));
	assert_int_equal(m.load_op, PMU_OP_COUNT);
	/* A host PMU, but the parameter off. */
	snprintf(f.host_pmu, sizeof(f.host_pmu), "cpu");
	pmu_mechanism_decide(&f, &m);
	assert_int_equal(m.mech, PMU_MECH_OFF);
	assert_non_null(strstr(m.why, "'cpu'"));

	/* Legacy on SVM: nothing switched at entry. */
	f = x86_facts(VENDOR_SVM, 1);
	pmu_mechanism_decide(&f, &m);
	assert_int_equal(m.mech, PMU_MECH_LEGACY);
	assert_true(m.vpmu_enabled);
	assert_int_equal(m.load_op, PMU_OP_COUNT);
	assert_int_equal(m.put_op, PMU_OP_COUNT);
	assert_string_equal(m.offered, "");
	/* Legacy on VMX: perf_guest_get_msrs at every entry. */
	f = x86_facts(VENDOR_VMX, 1);
	f.has_guest_get_msrs = true;
	pmu_mechanism_decide(&f, &m);
	assert_int_equal(m.mech, PMU_MECH_LEGACY);
	assert_int_equal(m.load_op, PMU_OP_GUEST_MSRS);
	assert_int_equal(m.put_op, PMU_OP_COUNT);

	/* Mediated: the parameter and the function. */
	f.has_mediated_load = true;
	f.enable_mediated_pmu = 1;
	pmu_mechanism_decide(&f, &m);
	assert_int_equal(m.mech, PMU_MECH_MEDIATED);
	assert_int_equal(m.load_op, PMU_OP_MEDIATED_LOAD);
	assert_int_equal(m.put_op, PMU_OP_MEDIATED_PUT);
	assert_non_null(strstr(m.why, "kvm_intel.enable_mediated_pmu=Y"));
	/* Offered, not used. */
	f.enable_mediated_pmu = 0;
	pmu_mechanism_decide(&f, &m);
	assert_int_equal(m.mech, PMU_MECH_LEGACY);
	assert_non_null(strstr(m.offered, "mediated vPMU"));
	assert_non_null(strstr(m.offered, "enable_mediated_pmu is N"));
	/* A parameter without the function is not the mediated vPMU. */
	f.has_mediated_load = false;
	f.enable_mediated_pmu = 1;
	pmu_mechanism_decide(&f, &m);
	assert_int_equal(m.mech, PMU_MECH_LEGACY);

	/* AMD PMC virtualization. */
	f = x86_facts(VENDOR_SVM, 1);
	f.has_mediated_load = true;
	f.enable_mediated_pmu = 1;
	f.vpmc = 1;
	f.btf_vmcb_pmc = true;
	f.cpu_perfctr_virt = true;
	pmu_mechanism_decide(&f, &m);
	assert_int_equal(m.mech, PMU_MECH_HW_VIRT);
	assert_int_equal(m.load_op, PMU_OP_MEDIATED_LOAD);
	assert_string_equal(m.offered, "");
	f.vpmc = 0;
	pmu_mechanism_decide(&f, &m);
	assert_int_equal(m.mech, PMU_MECH_MEDIATED);
	assert_non_null(strstr(m.offered, "perfctr_virt"));
	assert_non_null(strstr(m.offered, "kvm_amd.vpmc is N"));

	/* No enable_pmu parameter: on, and said so. */
	f = x86_facts(VENDOR_SVM, -1);
	pmu_mechanism_decide(&f, &m);
	assert_int_equal(m.mech, PMU_MECH_LEGACY);
	assert_non_null(strstr(m.why, "taken as on"));
	/* KVM not loaded. */
	f = x86_facts(VENDOR_NONE, 1);
	pmu_mechanism_decide(&f, &m);
	assert_int_equal(m.mech, PMU_MECH_UNKNOWN);
	assert_false(m.vpmu_enabled);

	/* arm64 with and without a PMUv3 driver. */
	memset(&f, 0, sizeof(f));
	f.arch = ARCH_ARM64;
	f.vendor = VENDOR_ARM64;
	f.enable_pmu = -1;
	pmu_mechanism_decide(&f, &m);
	assert_int_equal(m.mech, PMU_MECH_OFF);
	assert_false(m.vpmu_enabled);
	assert_non_null(strstr(m.why, "no PMUv3 driver"));
	snprintf(f.host_pmu, sizeof(f.host_pmu), "armv8_pmuv3");
	f.has_restore_guest = true;
	pmu_mechanism_decide(&f, &m);
	assert_int_equal(m.mech, PMU_MECH_ARM64);
	assert_true(m.vpmu_enabled);
	assert_int_equal(m.load_op, PMU_OP_RESTORE_GUEST);
	assert_int_equal(m.put_op, PMU_OP_RESTORE_HOST);
	assert_non_null(strstr(m.why, "armv8_pmuv3"));
}

/* ------------------------------------------------------- synthetic runs */

static void arm64_view(void **state)
{
	struct pmu_host_facts f = arm64_facts();
	struct pmu_sample sample;
	struct pmu_view view;
	const struct pmu_vcpu_view *v;
	const struct pmu_reg_view *r;
	struct sim s;

	(void)state;
	sim_init(&s, &f);
	/* Two VMs of two vCPUs, as the VM suite runs kvmload pmu -k 1000. */
	sim_arm64_vcpu(&s, 200, 202, 1, 1000, 3, 8000);
	sim_arm64_vcpu(&s, 200, 201, 0, 1000, 4, 6000);
	sim_arm64_vcpu(&s, 100, 101, 0, 1000, 2, 2000);
	sim_arm64_vcpu(&s, 100, 102, 1, 1000, 2, 2000);
	/* A thread that did nothing in the interval is left out. */
	sim_vcpu(&s, 300, 301, 0);
	sim_sample(&s, 10, &sample);
	assert_int_equal(pmu_view_build(&sample, 2.0, NULL, &view), 0);

	assert_int_equal(view.nvms, 2);
	assert_int_equal(view.nvcpus, 4);
	assert_int_equal(view.vms[0].pid, 100);
	assert_int_equal(view.vms[1].pid, 200);
	/* vCPUs in index order, whatever their thread ids. */
	assert_int_equal(view.vms[1].vcpus[0].vcpu_id, 0);
	assert_int_equal(view.vms[1].vcpus[0].tid, 201);
	assert_int_equal(view.vms[1].loads, 7);
	assert_int_equal(view.loads, 11);
	assert_int_equal(view.puts, 11);

	v = find_vcpu(&view, 201);
	assert_non_null(v);
	assert_int_equal(v->vpmu, 1);
	assert_int_equal(v->loads, 4);
	assert_int_equal(v->puts, 4);
	assert_int_equal(v->exits, 5002);
	assert_true(v->switches_per_exit > 4.0 / 5002 - 1e-12 &&
		    v->switches_per_exit < 4.0 / 5002 + 1e-12);
	/* Loads 6000 ns, puts 3000 ns: 4500 on average. */
	assert_true(v->switch_avg_ns == 4500);
	/* Re-syncs are not world switches. */
	assert_int_equal(v->ops[PMU_OP_RESYNC_GUEST].count, 2000);
	assert_true(v->ops[PMU_OP_RESYNC_GUEST].avg_ns == 900);
	/* kvmload's ground truth per vCPU: 1001 reads, 4001 writes. */
	assert_int_equal(v->reg_reads, 1001);
	assert_int_equal(v->reg_writes, 4001);
	assert_int_equal(v->reg_exits, 5002);
	assert_true(v->reg_exits_per_sec == 5002 / 2.0);
	assert_int_equal(v->nregs, 5);
	r = find_reg(v, "PMEVCNTR0_EL0");
	assert_non_null(r);
	assert_int_equal(r->reads, 1000);
	assert_int_equal(r->writes, 1000);
	assert_string_equal(r->encoding, "S3_3_C14_C8_0");
	assert_int_equal(r->kind, PMU_REG_COUNTER);
	r = find_reg(v, "PMCR_EL0");
	assert_non_null(r);
	assert_int_equal(r->reads, 1);
	assert_int_equal(r->writes, 1);
	assert_int_equal(find_reg(v, "PMCNTENCLR_EL0")->writes, 1000);

	pmu_view_free(&view);
	pmu_sample_free(&sample);
}

static void deltas(void **state)
{
	struct pmu_host_facts f = arm64_facts();
	struct pmu_sample a, b, d;
	struct pmu_view view;
	const struct pmu_vcpu_view *v;
	struct sim s;
	size_t i;

	(void)state;
	sim_init(&s, &f);
	sim_arm64_vcpu(&s, 100, 101, 0, 100, 2, 1000);
	sim_arm64_vcpu(&s, 100, 102, 2, 10, 1, 1000);	/* idle after a */
	sim_sample(&s, 1000, &a);
	/* The next interval: 50 more iterations, one slow load. */
	sim_arm64_vcpu(&s, 100, 101, 0, 50, 1, 100000);
	sim_arm64_vcpu(&s, 100, 105, 1, 10, 1, 1000);	/* a new thread */
	sim_sample(&s, 2000, &b);
	assert_int_equal(pmu_sample_delta(&a, &b, &d), 0);
	/* The idle thread and its registers are left out of the delta. */
	assert_int_equal(d.nvcpus, 2);
	for (i = 0; i < d.nregs; i++)
		assert_int_not_equal(d.regs[i].key.tid, 102);
	assert_int_equal(pmu_view_build(&d, 1.0, NULL, &view), 0);
	assert_null(find_vcpu(&view, 102));
	v = find_vcpu(&view, 101);
	assert_non_null(v);
	assert_int_equal(v->loads, 1);
	assert_int_equal(v->exits, 5 * 50 + 2);
	assert_int_equal(v->reg_writes, 4 * 50 + 1);
	assert_int_equal(v->reg_reads, 50 + 1);
	assert_true(v->switch_avg_ns == (100000 + 50000) / 2);
	/* The maximum is since attach. */
	assert_int_equal(v->ops[PMU_OP_RESTORE_GUEST].max_ns, 100000);
	assert_int_equal(find_reg(v, "PMEVCNTR0_EL0")->reads, 50);
	v = find_vcpu(&view, 105);
	assert_non_null(v);
	assert_int_equal(v->loads, 1);
	pmu_view_free(&view);
	pmu_sample_free(&d);

	/* A key deleted and re-created restarts: taken as it is. */
	s.vcpus[0].stats.exits = 3;
	sim_op(&s, 100, 101, PMU_OP_RESTORE_GUEST)->count = 1;
	pmu_sample_free(&b);
	sim_sample(&s, 3000, &b);
	assert_int_equal(pmu_sample_delta(&a, &b, &d), 0);
	assert_int_equal(pmu_view_build(&d, 1.0, NULL, &view), 0);
	assert_int_equal(find_vcpu(&view, 101)->exits, 3);
	pmu_view_free(&view);
	pmu_sample_free(&d);
	pmu_sample_free(&a);
	pmu_sample_free(&b);
}

/* Ops are kept apart from their vCPU (bpf/pmu.h): a thread whose only
 * work in an interval was PMU calls is still in it, with only the ops it
 * called, and an op it stopped calling has no histogram. */
static void ops_only_interval(void **state)
{
	struct pmu_host_facts f = arm64_facts();
	struct pmu_sample a, b, d;
	struct pmu_view view;
	const struct pmu_vcpu_view *v;
	struct sim s;
	int i;

	(void)state;
	sim_init(&s, &f);
	sim_arm64_vcpu(&s, 100, 101, 0, 10, 2, 1000);
	sim_sample(&s, 1000, &a);
	for (i = 0; i < 7; i++)
		sim_call(&s, 100, 101, PMU_OP_RESYNC_GUEST, 3000);
	sim_sample(&s, 2000, &b);
	assert_int_equal(pmu_sample_delta(&a, &b, &d), 0);
	assert_int_equal(d.nvcpus, 1);
	assert_int_equal(d.nops, 1);
	assert_int_equal(pmu_view_build(&d, 1.0, NULL, &view), 0);
	v = find_vcpu(&view, 101);
	assert_non_null(v);
	assert_int_equal(v->exits, 0);
	assert_int_equal(v->ops[PMU_OP_RESYNC_GUEST].count, 7);
	assert_int_equal(v->ops[PMU_OP_RESYNC_GUEST].hist->slots[log2_slot(3000)], 7);
	assert_true(v->ops[PMU_OP_RESYNC_GUEST].avg_ns == 3000);
	assert_int_equal(v->ops[PMU_OP_RESTORE_GUEST].count, 0);
	assert_null(v->ops[PMU_OP_RESTORE_GUEST].hist);
	assert_int_equal(v->loads, 0);
	assert_int_equal(view.op_counts[PMU_OP_RESYNC_GUEST], 7);
	pmu_view_free(&view);
	pmu_sample_free(&d);
	pmu_sample_free(&a);
	pmu_sample_free(&b);
}

static void x86_off_view(void **state)
{
	struct pmu_sample sample;
	struct pmu_view view;
	const struct pmu_vcpu_view *v;
	struct sim s;

	(void)state;
	sim_x86_off(&s, 1000);
	sim_sample(&s, 10, &sample);
	assert_int_equal(pmu_view_build(&sample, 1.0, NULL, &view), 0);
	assert_string_equal(pmu_view_off_reason(&view), view.run.mech.why);
	v = find_vcpu(&view, 501);
	assert_non_null(v);
	assert_int_equal(v->vpmu, 0);
	v = find_vcpu(&view, 502);
	assert_non_null(v);
	assert_int_equal(v->vpmu, 0);
	assert_int_equal(v->pmu_version, 1);
	assert_int_equal(v->loads, 0);
	assert_true(v->switches_per_exit < 0);
	assert_int_equal(v->reg_reads, 1000);
	assert_int_equal(v->reg_writes, 3000);
	assert_int_equal(find_reg(v, "K7_EVNTSEL0")->writes, 2000);
	assert_int_equal(find_reg(v, "K7_PERFCTR0")->writes, 1000);
	assert_int_equal(find_reg(v, "K7_PERFCTR0")->reads, 1000);
	pmu_view_free(&view);
	pmu_sample_free(&sample);
}

/* ------------------------------------------------------- JSON, text, metrics */

static void json_document(void **state)
{
	struct pmu_host_facts f = arm64_facts();
	struct pmu_sample sample;
	struct pmu_view view;
	json_t *doc, *vcpu, *regs, *ops;
	struct sim s;

	(void)state;
	sim_init(&s, &f);
	s.run.ops[PMU_OP_RESTORE_HOST].state = PMU_WATCH_OFF;
	snprintf(s.run.ops[PMU_OP_RESTORE_HOST].why, WHY_LEN, "inlined");
	sim_arm64_vcpu(&s, 100, 101, 0, 10, 2, 2000);
	sim_sample(&s, 10, &sample);
	assert_int_equal(pmu_view_build(&sample, 1.0, NULL, &view), 0);
	doc = pmu_view_json(&view);
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(
		json_object_get(doc, "mechanism"), "name")), "arm64");
	assert_true(json_is_true(json_object_get(json_object_get(doc,
		"mechanism"), "vpmu_enabled")));
	vcpu = json_array_get(json_object_get(json_array_get(
		json_object_get(doc, "vms"), 0), "vcpus"), 0);
	assert_int_equal(json_integer_value(json_object_get(vcpu, "tid")), 101);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
		vcpu, "switches"), "loads")), 2);
	/* The put not watched: null, and no part of the average. */
	assert_true(json_is_null(json_object_get(json_object_get(vcpu,
		"switches"), "puts")));
	assert_true(json_real_value(json_object_get(json_object_get(vcpu,
		"switches"), "avg_ns")) == 2000);
	ops = json_object_get(vcpu, "ops");
	/* Unwatched: null, never 0; another arch's ops: absent. */
	assert_true(json_is_null(json_object_get(ops, "restore_host")));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
		ops, "restore_guest"), "count")), 2);
	assert_null(json_object_get(ops, "mediated_load"));
	regs = json_object_get(vcpu, "registers");
	assert_int_equal(json_integer_value(json_object_get(regs, "reads")), 11);
	/* arm64 cannot tell a faulting access apart. */
	assert_true(json_is_null(json_object_get(regs, "faults")));
	assert_int_equal(json_array_size(json_object_get(regs, "by_register")),
			 5);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
		ops, "resync_guest"), "count")), 20);
	json_decref(doc);
	pmu_view_free(&view);
	pmu_sample_free(&sample);

	/* The switch not watched (tracepoint mode): no switch figures, not
	 * zeros. */
	s.run.ops[PMU_OP_RESTORE_GUEST].state = PMU_WATCH_OFF;
	sim_sample(&s, 10, &sample);
	assert_int_equal(pmu_view_build(&sample, 1.0, NULL, &view), 0);
	assert_true(view.vms[0].vcpus[0].switches_per_exit < 0);
	assert_int_equal(view.loads, 0);
	doc = pmu_view_json(&view);
	vcpu = json_array_get(json_object_get(json_array_get(
		json_object_get(doc, "vms"), 0), "vcpus"), 0);
	assert_true(json_is_null(json_object_get(vcpu, "switches")));
	assert_true(json_is_null(json_object_get(json_object_get(vcpu, "ops"),
						 "restore_guest")));
	json_decref(doc);
	pmu_view_free(&view);
	pmu_sample_free(&sample);

	/* x86 without a vPMU: no switch figures, faults counted. */
	sim_x86_off(&s, 10);
	s.run.regs.state = PMU_WATCH_ON;
	sim_sample(&s, 10, &sample);
	assert_int_equal(pmu_view_build(&sample, 1.0, NULL, &view), 0);
	doc = pmu_view_json(&view);
	assert_true(json_is_false(json_object_get(json_object_get(doc,
		"mechanism"), "vpmu_enabled")));
	vcpu = json_array_get(json_object_get(json_array_get(
		json_object_get(doc, "vms"), 0), "vcpus"), 0);
	assert_true(json_is_null(json_object_get(vcpu, "switches")));
	assert_true(json_is_false(json_object_get(vcpu, "vpmu")));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
		vcpu, "registers"), "faults")), 0);
	json_decref(doc);
	pmu_view_free(&view);
	pmu_sample_free(&sample);
}

static void text_table(void **state)
{
	struct pmu_host_facts f = arm64_facts();
	struct pmu_sample sample;
	struct pmu_view view;
	char *buf = NULL;
	size_t len = 0;
	struct sim s;
	FILE *out;

	(void)state;
	sim_init(&s, &f);
	sim_arm64_vcpu(&s, 100, 101, 0, 10, 2, 2000);
	sim_sample(&s, 10, &sample);
	assert_int_equal(pmu_view_build(&sample, 1.0, NULL, &view), 0);
	out = open_memstream(&buf, &len);
	assert_non_null(out);
	pmu_view_text(out, &view, "fentry+tracepoint");
	fclose(out);
	assert_non_null(strstr(buf, "mechanism arm64"));
	assert_non_null(strstr(buf, "load = restore_guest, put = restore_host"));
	assert_non_null(strstr(buf, "PMEVCNTR0_EL0"));
	assert_non_null(strstr(buf, "resync_guest"));
	free(buf);
	pmu_view_free(&view);
	pmu_sample_free(&sample);
}

static void metrics(void **state)
{
	struct pmu_host_facts f = arm64_facts();
	struct metric_set set = { 0 };
	const struct metric *m;
	struct pmu_sample sample;
	struct pmu_view view;
	struct sim s;

	(void)state;
	sim_init(&s, &f);
	sim_arm64_vcpu(&s, 100, 101, 0, 100, 2, 2000);
	sim_arm64_vcpu(&s, 100, 102, 1, 100, 3, 2000);
	sim_sample(&s, 10, &sample);
	assert_int_equal(pmu_view_build(&sample, 1.0, NULL, &view), 0);
	assert_int_equal(pmu_view_metrics(&view, &set), 0);
	m = metric_find(&set, "pmu.vpmu_enabled", "");
	assert_non_null(m);
	assert_true(m->value == 1);
	m = metric_find(&set, "pmu.switch_loads", "");
	assert_non_null(m);
	assert_true(m->value == 5);
	assert_string_equal(m->per, "pmu.exits");
	assert_false(m->per_entity);
	m = metric_find(&set, "pmu.switch_cost_ns", "");
	assert_non_null(m);
	assert_int_equal(m->type, METRIC_HISTOGRAM);
	assert_true(m->value == 10);	/* 5 loads and 5 puts */
	m = metric_find(&set, "pmu.switch_loads", "vm=100,vcpu=1");
	assert_non_null(m);
	assert_true(m->value == 3);
	assert_true(m->per_entity);
	m = metric_find(&set, "pmu.switches_per_exit", "vm=100,vcpu=0");
	assert_non_null(m);
	assert_true(m->value == 2.0 / 502);
	m = metric_find(&set, "pmu.reg_exits_by_reg",
			"vm=100,vcpu=0,reg=PMEVCNTR0_EL0,dir=read");
	assert_non_null(m);
	assert_true(m->value == 100);
	m = metric_find(&set, "pmu.op_calls", "op=resync_guest");
	assert_non_null(m);
	assert_true(m->value == 2 * 200);
	/* No figure for what this arch does not have. */
	assert_null(metric_find(&set, "pmu.op_calls", "op=mediated_load"));
	metric_set_free(&set);
	pmu_view_free(&view);
	pmu_sample_free(&sample);

	/* The switch not watched in this attach mode: left out, not 0, so
	 * a baseline that has it refuses the comparison. */
	s.run.ops[PMU_OP_RESTORE_GUEST].state = PMU_WATCH_OFF;
	s.run.ops[PMU_OP_RESTORE_HOST].state = PMU_WATCH_OFF;
	s.run.ops[PMU_OP_RESYNC_GUEST].state = PMU_WATCH_OFF;
	sim_sample(&s, 10, &sample);
	assert_int_equal(pmu_view_build(&sample, 1.0, NULL, &view), 0);
	assert_int_equal(pmu_view_metrics(&view, &set), 0);
	assert_null(metric_find(&set, "pmu.switch_loads", ""));
	assert_null(metric_find(&set, "pmu.switch_cost_ns", ""));
	assert_null(metric_find(&set, "pmu.switches_per_exit", ""));
	assert_null(metric_find(&set, "pmu.op_calls", "op=resync_guest"));
	/* The tracepoints still measure. */
	assert_true(metric_find(&set, "pmu.reg_exits", "")->value == 2 * 502);
	assert_non_null(metric_find(&set, "pmu.reg_exits_per_exit", ""));
	metric_set_free(&set);
	pmu_view_free(&view);
	pmu_sample_free(&sample);

	/* No vPMU, no switch on this mechanism: no switch figures. */
	sim_x86_off(&s, 10);
	sim_sample(&s, 10, &sample);
	assert_int_equal(pmu_view_build(&sample, 1.0, NULL, &view), 0);
	assert_int_equal(pmu_view_metrics(&view, &set), 0);
	assert_true(metric_find(&set, "pmu.vpmu_enabled", "")->value == 0);
	assert_null(metric_find(&set, "pmu.switch_loads", ""));
	assert_true(metric_find(&set, "pmu.reg_exits", "")->value == 80);
	metric_set_free(&set);
	pmu_view_free(&view);
	pmu_sample_free(&sample);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(msr_ranges),
		cmocka_unit_test(register_names),
		cmocka_unit_test(mechanism_decision),
		cmocka_unit_test(arm64_view),
		cmocka_unit_test(deltas),
		cmocka_unit_test(ops_only_interval),
		cmocka_unit_test(x86_off_view),
		cmocka_unit_test(json_document),
		cmocka_unit_test(text_table),
		cmocka_unit_test(metrics),
	};

	return cmocka_run_group_tests_name("pmu", tests, NULL, NULL);
}
