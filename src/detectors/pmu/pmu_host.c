// SPDX-License-Identifier: GPL-2.0
/*
 * What the host says about its vPMU, read once as the pmu detector starts:
 * kallsyms, BTF, module parameters and perf's PMU devices.
 */
#include <dirent.h>
#include <stdio.h>
#include <string.h>


#include "pmu_model.h"

/* A bool module parameter: 1, 0, or -1 when the kernel has none. */
static int read_param(const char *module, const char *param)
{
	char path[128], buf[16];

	snprintf(path, sizeof(path), "/sys/module/%s/parameters/%s", module,
		 param);
	if (read_text_file(path, buf, sizeof(buf)))
		return -1;
	return buf[0] == 'Y' || buf[0] == 'y' || buf[0] == '1';
}

/* perf's core PMU: x86 "cpu" (or the hybrid "cpu_core"); on arm64 the
 * arm_pmu devices are the ones with a "cpus" attribute. */
static void find_host_pmu(enum kw_arch arch, char *name, size_t len)
{
	static const char *const dir = "/sys/bus/event_source/devices";
	static const char *const x86[] = { "cpu", "cpu_core" };
	char path[320];
	struct dirent *e;
	size_t i;
	DIR *d;

	name[0] = '\0';
	if (arch == ARCH_X86_64) {
		for (i = 0; i < sizeof(x86) / sizeof(x86[0]); i++) {
			snprintf(path, sizeof(path), "%s/%s", dir, x86[i]);
			if (path_exists(path)) {
				snprintf(name, len, "%s", x86[i]);
				return;
			}
		}
		return;
	}
	d = opendir(dir);
	if (!d)
		return;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/cpus", dir, e->d_name);
		if (path_exists(path) && strlen(e->d_name) < len) {
			memcpy(name, e->d_name, strlen(e->d_name) + 1);
			break;
		}
	}
	closedir(d);
}

static bool cpu_has_flag(const char *flag)
{
	char line[4096], *p;
	size_t n = strlen(flag);
	bool found = false;
	FILE *f = fopen("/proc/cpuinfo", "r");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags", 5))
			continue;
		for (p = strstr(line, flag); p; p = strstr(p + 1, flag))
			if (p[-1] == ' ' && (p[n] == ' ' || p[n] == '\n' ||
					     !p[n])) {
				found = true;
				break;
			}
		break;	/* the first CPU says it for all */
	}
	fclose(f);
	return found;
}

const char *const pmu_kernel_symbols[] = {
	"kvm_mediated_pmu_load", "perf_load_guest_context",
	"kvm_vcpu_pmu_restore_guest", "perf_guest_get_msrs", NULL,
};

/* AMD's PMC virtualization (VMCB fields) and the mediated vPMU's ops. */
const char *const pmu_kernel_members[] = {
	"vmcb_save_area.perf_cntr_global_control",
	"kvm_pmu_ops.mediated_load", NULL,
};

void pmu_gather_facts(const struct kernel_caps *caps,
		      struct pmu_host_facts *f)
{
	struct ksym_query q[] = {
		{ .name = pmu_kernel_symbols[0] },
		{ .name = pmu_kernel_symbols[1] },
		{ .name = pmu_kernel_symbols[2] },
		{ .name = pmu_kernel_symbols[3] },
	};

	memset(f, 0, sizeof(*f));
	f->arch = caps->arch;
	f->vendor = caps->vendor;
	f->enable_pmu = read_param("kvm", "enable_pmu");
	f->enable_mediated_pmu = read_param(caps->vendor == VENDOR_VMX ?
					    "kvm_intel" : "kvm_amd",
					    "enable_mediated_pmu");
	if (f->enable_mediated_pmu < 0)
		f->enable_mediated_pmu = read_param("kvm",
						    "enable_mediated_pmu");
	f->vpmc = read_param("kvm_amd", "vpmc");
	find_host_pmu(caps->arch, f->host_pmu, sizeof(f->host_pmu));
	if (caps->arch == ARCH_X86_64)
		f->cpu_perfctr_virt = cpu_has_flag("perfctr_virt");
	if (!caps_lookup_ksyms(q, sizeof(q) / sizeof(q[0]))) {
		f->has_mediated_load = q[0].found;
		f->has_perf_guest_context = q[1].found;
		f->has_restore_guest = q[2].found;
		f->has_guest_get_msrs = q[3].found;
	}
	if (caps->arch == ARCH_X86_64) {
		f->btf_vmcb_pmc = caps_has_member(caps, pmu_kernel_members[0]);
		f->btf_mediated_ops = caps_has_member(caps,
						      pmu_kernel_members[1]);
	}
}
