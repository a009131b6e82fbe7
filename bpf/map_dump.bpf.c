// SPDX-License-Identifier: GPL-2.0
/*
 * Any map's entries, key then value, as user space reads an iterator on
 * it (core/bpf_maps.c). Reading a map with bpf(2) lookups holds the CPU
 * against every classic tracepoint and kprobe program for each call (the
 * kernel's bpf_prog_active): a reader preempted in one made the counting
 * programs of whatever ran there next skip their events, each skip a
 * count lost. An iterator holds nothing of the kind.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

/* Key and value of one entry, each at most half of it. */
#define DUMP_ENTRY_MAX 4096

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, char[DUMP_ENTRY_MAX]);
} dump_entry SEC(".maps");

SEC("iter/bpf_map_elem")
int dump_map_elem(struct bpf_iter__bpf_map_elem *ctx)
{
	struct bpf_map *map = ctx->map;
	/* 64-bit, so that the bounds below hold for the very registers that
	 * carry the sizes: compared on a 32-bit copy, the verifier of 7.3
	 * saw the value size unbounded and refused the program. */
	__u64 key_size, value_size;
	__u32 zero = 0;
	char *buf;

	if (!ctx->key || !ctx->value)
		return 0;
	key_size = map->key_size;
	value_size = map->value_size;
	barrier_var(key_size);
	barrier_var(value_size);
	buf = bpf_map_lookup_elem(&dump_entry, &zero);
	if (!buf || key_size > DUMP_ENTRY_MAX / 2 ||
	    value_size > DUMP_ENTRY_MAX / 2)
		return 0;
	bpf_probe_read_kernel(buf, key_size, ctx->key);
	bpf_probe_read_kernel(buf + key_size, value_size, ctx->value);
	bpf_seq_write(ctx->meta->seq, buf, key_size + value_size);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
