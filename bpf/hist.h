/* SPDX-License-Identifier: GPL-2.0 */
/* log2 histograms shared by the BPF programs and user space. */
#ifndef KVMWATCH_HIST_H
#define KVMWATCH_HIST_H

#ifndef __VMLINUX_H__	/* user space; BPF code gets these from vmlinux.h */
#include <linux/types.h>
#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
#endif

/* Slot i counts values v with 2^(i-1) <= v < 2^i (slot 0: v == 0).
 * 40 slots reach 2^39 ns, about nine minutes. */
#define HIST_SLOTS 40

struct log2_hist {
	__u32 slots[HIST_SLOTS];
};

static __always_inline unsigned int log2_slot(__u64 v)
{
	unsigned int slot = 0;

	/* Unrolled binary search: the verifier wants bounded work. */
	if (v >> 32) { v >>= 32; slot += 32; }
	if (v >> 16) { v >>= 16; slot += 16; }
	if (v >> 8) { v >>= 8; slot += 8; }
	if (v >> 4) { v >>= 4; slot += 4; }
	if (v >> 2) { v >>= 2; slot += 2; }
	if (v >> 1) { v >>= 1; slot += 1; }
	slot += v;
	return slot < HIST_SLOTS ? slot : HIST_SLOTS - 1;
}

/*
 * Count v in h. The slot is bounded on the very register that indexes
 * the array: the empty asm keeps the compiler from testing a copy, whose
 * bounds older verifiers (6.1) do not carry over to the index.
 */
static __always_inline void hist_add(struct log2_hist *h, __u64 v)
{
	__u64 slot = log2_slot(v);

	asm volatile("" : "+r"(slot));
	if (slot < HIST_SLOTS)
		h->slots[slot]++;
}

#endif
