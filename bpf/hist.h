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

/*
 * Without branches: each test of v was a branch the verifier walked, and
 * the bounds it learnt on v kept the paths apart in the code that used v
 * next (64 paths a histogram; in the teardown's sched_switch, 182,703
 * instructions processed against 48,260 now). A step's bit is 1 when v
 * has a bit at or above 2^s: adding 2^s - 1 carries out of the low s bits.
 */
static __always_inline unsigned int log2_slot(__u64 v)
{
	__u64 slot = 0, bit;

	bit = ((v >> 32) + 0xffffffffull) >> 32;	/* v < 2^64 */
	v >>= bit << 5;
	slot += bit << 5;
	bit = ((v >> 16) + 0xffffull) >> 16;		/* v < 2^32 */
	v >>= bit << 4;
	slot += bit << 4;
	bit = ((v >> 8) + 0xffull) >> 8;		/* v < 2^16 */
	v >>= bit << 3;
	slot += bit << 3;
	bit = ((v >> 4) + 0xfull) >> 4;			/* v < 2^8 */
	v >>= bit << 2;
	slot += bit << 2;
	bit = ((v >> 2) + 0x3ull) >> 2;			/* v < 2^4 */
	v >>= bit << 1;
	slot += bit << 1;
	bit = ((v >> 1) + 0x1ull) >> 1;			/* v < 2^2 */
	v >>= bit;
	slot += bit;
	slot += v;					/* v < 2 */
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
