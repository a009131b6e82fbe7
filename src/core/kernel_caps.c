// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/capability.h>

#include "kernel_caps.h"

#ifndef ENOTSUPP
#define ENOTSUPP 524	/* kernel-internal, seen by BPF callers */
#endif

const char *arch_name(enum kw_arch arch)
{
	switch (arch) {
	case ARCH_X86_64: return "x86_64";
	case ARCH_ARM64: return "arm64";
	default: return "unsupported";
	}
}

const char *vendor_name(enum kvm_vendor vendor)
{
	switch (vendor) {
	case VENDOR_VMX: return "vmx";
	case VENDOR_SVM: return "svm";
	case VENDOR_ARM64: return "arm64";
	case VENDOR_OTHER: return "other";
	default: return "none";
	}
}

static void probe_privileges(struct kernel_caps *caps)
{
	char line[256];
	uint64_t eff = 0;
	bool bpf_ok, perf_ok, admin;
	FILE *f = fopen("/proc/self/status", "r");

	if (f) {
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "CapEff: %lx", &eff) == 1)
				break;
		fclose(f);
	}
	admin = eff & (1ull << CAP_SYS_ADMIN);
	caps->cap_sys_admin = admin;
	bpf_ok = admin || (eff & (1ull << 39 /* CAP_BPF */));
	perf_ok = admin || (eff & (1ull << 38 /* CAP_PERFMON */));
	caps->privileged = bpf_ok && perf_ok;
	if (!caps->privileged)
		snprintf(caps->privilege_why, WHY_LEN,
			 "needs root or CAP_BPF and CAP_PERFMON (missing:%s%s); run it with sudo",
			 bpf_ok ? "" : " CAP_BPF", perf_ok ? "" : " CAP_PERFMON");
}

static bool btf_has_struct(struct btf *btf, const char *name)
{
	return btf && btf__find_by_name_kind(btf, name, BTF_KIND_STRUCT) > 0;
}

/* A member by name, looking into anonymous structs and unions too. */
static bool btf_type_has_member(const struct btf *btf, const struct btf_type *t,
				const char *member, int depth)
{
	const struct btf_member *m = btf_members(t);
	int i;

	for (i = 0; i < btf_vlen(t); i++, m++) {
		const struct btf_type *mt;

		if (m->name_off) {
			if (!strcmp(btf__name_by_offset(btf, m->name_off), member))
				return true;
			continue;
		}
		mt = btf__type_by_id(btf, m->type);
		while (mt && (btf_is_mod(mt) || btf_is_typedef(mt)))
			mt = btf__type_by_id(btf, mt->type);
		if (mt && btf_is_composite(mt) && depth < 4 &&
		    btf_type_has_member(btf, mt, member, depth + 1))
			return true;
	}
	return false;
}

static bool btf_struct_has_member(const struct btf *btf, const char *name,
				  const char *member)
{
	int id = btf ? btf__find_by_name_kind(btf, name, BTF_KIND_STRUCT) : -1;

	return id > 0 && btf_type_has_member(btf, btf__type_by_id(btf, id),
					     member, 0);
}

/* Debian builds KVM as modules: their types are not in vmlinux. */
static const char *const kvm_modules[] = { "kvm", "kvm_amd", "kvm_intel" };

static void probe_btf(struct kernel_caps *caps)
{
	struct btf *vmlinux;
	char path[64];
	size_t i;

	caps->btf_vmlinux = path_exists("/sys/kernel/btf/vmlinux");
	if (!caps->btf_vmlinux)
		return;
	vmlinux = btf__load_vmlinux_btf();
	if (!vmlinux) {
		caps->btf_vmlinux = false;
		return;
	}
	if (btf_has_struct(vmlinux, "kvm_vcpu")) {
		strcpy(caps->kvm_btf, "vmlinux");
		caps->kvm_page_stats = btf_struct_has_member(vmlinux,
				"kvm_vm_stat", "pages_4k");
	}
	for (i = 0; i < sizeof(kvm_modules) / sizeof(kvm_modules[0]); i++) {
		snprintf(path, sizeof(path), "/sys/kernel/btf/%s", kvm_modules[i]);
		if (!path_exists(path))
			continue;
		if (caps->kvm_module_btfs[0])
			strcat(caps->kvm_module_btfs, " ");
		strcat(caps->kvm_module_btfs, kvm_modules[i]);
		if (!caps->kvm_btf[0] && !strcmp(kvm_modules[i], "kvm")) {
			struct btf *mod = btf__load_module_btf("kvm", vmlinux);

			if (btf_has_struct(mod, "kvm_vcpu")) {
				strcpy(caps->kvm_btf, "kvm");
				caps->kvm_page_stats = btf_struct_has_member(mod,
						"kvm_vm_stat", "pages_4k");
			}
			btf__free(mod);
		}
	}
	caps->vmlinux_btf = vmlinux;
}

/* What only CAP_SYS_ADMIN opens on some kernels, found by trying on
 * Debian's (docs/fleet.md): with CAP_BPF and CAP_PERFMON alone every
 * attach failed with EACCES there, or the KVM modules' types were not
 * found. Said plainly rather than as a run with nothing attached. */
static void probe_admin_needs(struct kernel_caps *caps)
{
	char buf[16], why[160] = "";
	int paranoid;

	if (!caps->privileged || caps->cap_sys_admin)
		return;
	/* Debian's kernels add a level 3: perf_event_open() only with
	 * CAP_SYS_ADMIN, CAP_PERFMON or not. */
	if (!read_text_file("/proc/sys/kernel/perf_event_paranoid", buf,
			    sizeof(buf)) &&
	    sscanf(buf, "%d", &paranoid) == 1 && paranoid > 2)
		snprintf(why, sizeof(why),
			 "kernel.perf_event_paranoid is %d, where perf events (tracepoints, kprobes) need it",
			 paranoid);
	/* A module's BTF object is opened by id: BPF_BTF_GET_FD_BY_ID. */
	if (caps->kvm_module_btfs[0])
		snprintf(why + strlen(why), sizeof(why) - strlen(why),
			 "%sthe KVM modules' BTF (%s) is opened only with it",
			 why[0] ? ", and " : "", caps->kvm_module_btfs);
	if (!why[0])
		return;
	caps->privileged = false;
	snprintf(caps->privilege_why, WHY_LEN,
		 "needs CAP_SYS_ADMIN on this kernel: %s; run it as root (the systemd units grant it)",
		 why);
}

void caps_drop_btf(struct kernel_caps *caps)
{
	size_t i;

	for (i = 0; i < caps->nmodule_btfs; i++) {
		btf__free(caps->module_btfs[i].btf);
		if (caps->module_btfs[i].fd >= 0)
			close(caps->module_btfs[i].fd);
	}
	caps->nmodule_btfs = 0;
	btf__free(caps->vmlinux_btf);
	caps->vmlinux_btf = NULL;
}

void caps_release(struct kernel_caps *caps)
{
	caps_drop_btf(caps);
}

static void probe_kvm(struct kernel_caps *caps)
{
	static const struct { const char *module; enum kvm_vendor vendor; } x86[] = {
		{ "kvm_intel", VENDOR_VMX },
		{ "kvm_amd", VENDOR_SVM },
		{ "kvm_pvm", VENDOR_OTHER },
	};
	char path[64];
	size_t i;

	caps->dev_kvm = path_exists("/dev/kvm");
	caps->kvm_loaded = path_exists("/sys/module/kvm");
	if (caps->arch == ARCH_ARM64) {
		if (caps->kvm_loaded || caps->dev_kvm) {
			caps->vendor = VENDOR_ARM64;
			strcpy(caps->vendor_module, "built-in");
		}
		return;
	}
	for (i = 0; i < sizeof(x86) / sizeof(x86[0]); i++) {
		snprintf(path, sizeof(path), "/sys/module/%s", x86[i].module);
		if (path_exists(path)) {
			caps->vendor = x86[i].vendor;
			strcpy(caps->vendor_module, x86[i].module);
			return;
		}
	}
}

static void probe_tracefs(struct kernel_caps *caps)
{
	static const char *const paths[] = {
		"/sys/kernel/tracing", "/sys/kernel/debug/tracing",
	};
	char events[96];
	size_t i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		snprintf(events, sizeof(events), "%s/events", paths[i]);
		if (path_exists(events)) {
			caps->tracefs = true;
			strcpy(caps->tracefs_path, paths[i]);
			return;
		}
	}
	/* Not mounted: mount it, as root may, where the kernel expects it. */
	if (caps->privileged &&
	    mount("nodev", "/sys/kernel/tracing", "tracefs", 0, NULL) == 0) {
		caps->tracefs = true;
		strcpy(caps->tracefs_path, "/sys/kernel/tracing");
		kw_info("mounted tracefs on /sys/kernel/tracing");
		return;
	}
	snprintf(caps->tracefs_why, WHY_LEN,
		 "tracefs is not mounted and could not be (%s); run 'mount -t tracefs nodev /sys/kernel/tracing'",
		 caps->privileged ? strerror(errno) : "not root");
}

static void probe_kprobes(struct kernel_caps *caps)
{
	char path[96];

	if (path_exists("/sys/bus/event_source/devices/kprobe/type")) {
		caps->kprobes = true;
		return;
	}
	snprintf(path, sizeof(path), "%s/kprobe_events", caps->tracefs_path);
	if (caps->tracefs && path_exists(path)) {
		caps->kprobes = true;
		return;
	}
	snprintf(caps->kprobes_why, WHY_LEN,
		 "the kernel has no kprobes (no kprobe PMU, no kprobe_events: CONFIG_KPROBES is off)");
}

void caps_probe(struct kernel_caps *caps)
{
	struct utsname uts;

	memset(caps, 0, sizeof(*caps));
	caps->fentry_global_err = 1;	/* not tried yet */
	uname(&uts);
	snprintf(caps->release, sizeof(caps->release), "%s", uts.release);
	snprintf(caps->machine, sizeof(caps->machine), "%s", uts.machine);
	if (!strcmp(uts.machine, "x86_64"))
		caps->arch = ARCH_X86_64;
	else if (!strcmp(uts.machine, "aarch64"))
		caps->arch = ARCH_ARM64;
	probe_privileges(caps);
	probe_btf(caps);
	probe_admin_needs(caps);
	probe_kvm(caps);
	probe_tracefs(caps);
	probe_kprobes(caps);
}

bool caps_tracepoint_exists(const struct kernel_caps *caps,
			    const char *category_slash_name)
{
	char path[192];

	if (!caps->tracefs)
		return false;
	snprintf(path, sizeof(path), "%s/events/%s/id", caps->tracefs_path,
		 category_slash_name);
	return path_exists(path);
}

/* The kernel's BTF object fd for a module, needed to attach into it. */
static int module_btf_fd(const char *module)
{
	struct bpf_btf_info info;
	char name[64];
	__u32 id = 0, len;
	int fd;

	while (!bpf_btf_get_next_id(id, &id)) {
		fd = bpf_btf_get_fd_by_id(id);
		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		info.name = (__u64)(unsigned long)name;
		info.name_len = sizeof(name);
		len = sizeof(info);
		if (!bpf_obj_get_info_by_fd(fd, &info, &len) &&
		    !strcmp(name, module))
			return fd;
		close(fd);
	}
	return -ENOENT;
}

/* A module's BTF and the kernel's fd for it, from the cache or loaded. */
static const struct caps_module_btf *module_btf(struct kernel_caps *caps,
						const char *module)
{
	struct caps_module_btf *m;
	size_t i;

	for (i = 0; i < caps->nmodule_btfs; i++)
		if (!strcmp(caps->module_btfs[i].name, module))
			return &caps->module_btfs[i];
	if (caps->nmodule_btfs == ARRAY_SIZE(caps->module_btfs))
		return NULL;
	m = &caps->module_btfs[caps->nmodule_btfs];
	m->btf = btf__load_module_btf(module, caps->vmlinux_btf);
	m->fd = module_btf_fd(module);
	if (!m->btf || m->fd < 0) {
		btf__free(m->btf);
		if (m->fd >= 0)
			close(m->fd);
		return NULL;
	}
	snprintf(m->name, sizeof(m->name), "%s", module);
	caps->nmodule_btfs++;
	return m;
}

static const struct caps_member *asked(const struct kernel_caps *caps,
				       const char *question)
{
	size_t i;

	for (i = 0; i < caps->nmembers; i++)
		if (!strcmp(caps->members[i].question, question))
			return &caps->members[i];
	return NULL;
}

void caps_answer_member(struct kernel_caps *caps, const char *question)
{
	const char *dot = strchr(question, '.');
	struct caps_member *answer;
	char sname[64];
	size_t i;

	if (asked(caps, question) || !dot ||
	    caps->nmembers == ARRAY_SIZE(caps->members) ||
	    (size_t)(dot - question) >= sizeof(sname))
		return;
	snprintf(sname, sizeof(sname), "%.*s", (int)(dot - question), question);
	answer = &caps->members[caps->nmembers++];
	answer->question = question;
	answer->found = btf_struct_has_member(caps->vmlinux_btf, sname, dot + 1);
	for (i = 0; !answer->found && caps->vmlinux_btf &&
	     i < ARRAY_SIZE(kvm_modules); i++) {
		char path[64];
		const struct caps_module_btf *m;

		snprintf(path, sizeof(path), "/sys/kernel/btf/%s",
			 kvm_modules[i]);
		if (!path_exists(path))
			continue;
		m = module_btf(caps, kvm_modules[i]);
		answer->found = m && btf_struct_has_member(m->btf, sname,
							   dot + 1);
	}
}

bool caps_has_member(const struct kernel_caps *caps, const char *question)
{
	const struct caps_member *answer = asked(caps, question);

	return answer && answer->found;
}

bool caps_fentry_can_attach(struct kernel_caps *caps, const char *func,
			    const char *module, char *why, size_t why_len)
{
	const struct bpf_insn return_zero[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts,
		    .expected_attach_type = BPF_TRACE_FENTRY);
	const struct caps_module_btf *m = NULL;
	struct btf *btf = caps->vmlinux_btf;
	int id, prog_fd, link_fd;
	bool ok = false;

	if (caps->fentry_global_err < 0) {
		snprintf(why, why_len, "%s", caps->fentry_why);
		return false;
	}
	if (!caps->btf_vmlinux) {
		snprintf(why, why_len, "no kernel BTF (/sys/kernel/btf/vmlinux)");
		return false;
	}
	if (btf && module && *module) {
		m = module_btf(caps, module);
		btf = m ? m->btf : NULL;
	}
	id = btf ? btf__find_by_name_kind(btf, func, BTF_KIND_FUNC) : -ENOENT;
	if (id <= 0) {
		snprintf(why, why_len, "%s has no BTF in %s", func,
			 module && *module ? module : "vmlinux");
		return false;
	}
	opts.attach_btf_id = id;
	if (m)
		opts.attach_btf_obj_fd = m->fd;
	prog_fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, "kw_fentry_probe",
				"GPL", return_zero, 2, &opts);
	if (prog_fd < 0) {
		int err = errno;

		snprintf(why, why_len, "the kernel refused to load fentry on %s: %s",
			 func, kw_strerror(err));
		/* EPERM here is a policy (lockdown, LSM, missing trampolines),
		 * not a property of this function: remember it. */
		if (err == EPERM || err == ENOTSUPP || err == EOPNOTSUPP) {
			caps->fentry_global_err = -err;
			snprintf(caps->fentry_why, WHY_LEN,
				 "the kernel refuses fentry programs (%s)",
				 kw_strerror(err));
		}
		return false;
	}
	if (caps->fentry_attached_once) {
		close(prog_fd);
		return true;
	}
	link_fd = bpf_raw_tracepoint_open(NULL, prog_fd);
	if (link_fd < 0) {
		int err = errno;

		snprintf(why, why_len, "fentry on %s loads but cannot attach: %s",
			 func, kw_strerror(err));
		/* No trampolines here (arm64 6.1): true of every function. */
		if (err == ENOTSUPP) {
			caps->fentry_global_err = -err;
			snprintf(caps->fentry_why, WHY_LEN,
				 "the kernel cannot attach fentry programs (%s)",
				 kw_strerror(err));
		}
	} else {
		ok = true;
		caps->fentry_global_err = 0;
		caps->fentry_attached_once = true;
		close(link_fd);
	}
	close(prog_fd);
	return ok;
}
