/* SPDX-License-Identifier: GPL-2.0 */
/* What the running kernel lets kvmwatch observe, found out by trying. */
#ifndef KVMWATCH_KERNEL_CAPS_H
#define KVMWATCH_KERNEL_CAPS_H

#include "kvmwatch.h"

struct btf;

enum kw_arch { ARCH_OTHER = 0, ARCH_X86_64 = 1 << 0, ARCH_ARM64 = 1 << 1 };

enum kvm_vendor {
	VENDOR_NONE = 0,	/* KVM not loaded */
	VENDOR_VMX = 1 << 0,	/* kvm_intel */
	VENDOR_SVM = 1 << 1,	/* kvm_amd */
	VENDOR_ARM64 = 1 << 2,
	VENDOR_OTHER = 1 << 3,	/* e.g. kvm_pvm */
};
#define VENDOR_ANY (VENDOR_VMX | VENDOR_SVM | VENDOR_ARM64 | VENDOR_OTHER)

#define WHY_LEN 256

struct kernel_caps {
	char release[65];
	char machine[65];
	enum kw_arch arch;

	bool privileged;
	bool cap_sys_admin;	/* in the effective set */
	char privilege_why[WHY_LEN];

	bool btf_vmlinux;
	struct btf *vmlinux_btf;	/* parsed once, for the fentry trials */
	/* Where struct kvm_vcpu is described: "vmlinux", "kvm" or "". */
	char kvm_btf[16];
	char kvm_module_btfs[64];	/* e.g. "kvm kvm_amd" */
	/* x86 struct kvm_vm_stat counts leaf mappings by size (pages_4k). */
	bool kvm_page_stats;

	bool kvm_loaded;
	bool dev_kvm;
	enum kvm_vendor vendor;
	char vendor_module[32];		/* kvm_intel, kvm_amd, built-in... */

	bool tracefs;
	char tracefs_path[64];
	char tracefs_why[WHY_LEN];

	bool kprobes;
	char kprobes_why[WHY_LEN];

	/* Result of the first fentry load attempt, reused for the others
	 * when the refusal is global (EPERM, no BTF). */
	int fentry_global_err;
	char fentry_why[WHY_LEN];
	/* One trial attached: every later point is only loaded (each
	 * trampoline took ~0.4 s to make and free under TCG). */
	bool fentry_attached_once;
	/* KVM modules' BTF for the fentry trials, parsed once each. */
	struct caps_module_btf {
		char name[32];
		struct btf *btf;
		int fd;
	} module_btfs[4];
	size_t nmodule_btfs;
	/* The detectors' questions about KVM's types ("struct.member"),
	 * answered while planning holds the BTF; kept once it is freed. */
	struct caps_member {
		const char *question;
		bool found;
	} members[8];
	size_t nmembers;
};

void caps_probe(struct kernel_caps *caps);
void caps_release(struct kernel_caps *caps);
/*
 * Free the parsed BTF once planning is done: libbpf parses its own copy
 * for each object it loads, and both at once were a third of the peak
 * RSS (6 of 18 MB on a 6.18 host).
 */
void caps_drop_btf(struct kernel_caps *caps);

/* Answer "struct.member" from vmlinux's and the KVM modules' BTF (a
 * member of an anonymous struct or union counts); before caps_drop_btf. */
void caps_answer_member(struct kernel_caps *caps, const char *question);
/* The answer kept for question; false if it was never asked. */
bool caps_has_member(const struct kernel_caps *caps, const char *question);

const char *arch_name(enum kw_arch arch);
const char *vendor_name(enum kvm_vendor vendor);

struct ksym_query {
	const char *name;
	bool found;
	char module[64];	/* "" for vmlinux */
	uint64_t addr;		/* 0 when kptr_restrict hides it */
};

/*
 * Resolve names in one pass over /proc/kallsyms (5 MB, seconds under
 * TCG), or from what an earlier pass kept: each pass keeps its answers.
 */
int caps_lookup_ksyms(struct ksym_query *queries, size_t count);
/* The same, also resolving (and keeping) more, for later lookups. */
int caps_lookup_ksyms_also(struct ksym_query *queries, size_t count,
			   struct ksym_query *more, size_t nmore);

bool caps_tracepoint_exists(const struct kernel_caps *caps,
			    const char *category_slash_name);

/*
 * Try a no-op fentry program on func: loaded for every function, attached
 * for the first that loads (whether this kernel can attach fentry at all,
 * e.g. not arm64 6.1). A later attach that fails is the point's own.
 */
bool caps_fentry_can_attach(struct kernel_caps *caps, const char *func,
			    const char *module, char *why, size_t why_len);

#endif
