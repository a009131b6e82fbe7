// SPDX-License-Identifier: GPL-2.0
/* Ground truth for the smoke test: does this kernel load fentry at all? */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

SEC("fentry/hrtimer_start_range_ns")
int BPF_PROG(trial)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
