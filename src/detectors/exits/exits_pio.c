// SPDX-License-Identifier: GPL-2.0
/*
 * Port I/O exits per VM, port and direction (kvm:kvm_pio, x86): what perf
 * kvm stat --event ioport reports, beside the exits they are part of.
 */
#include <stdlib.h>
#include <string.h>

#include "exits_model.h"

static int compare_pio_key(const struct pio_key *a, const struct pio_key *b)
{
	int vm = vm_ident_compare(a->pid, a->vm_start, b->pid, b->vm_start);

	if (vm)
		return vm;
	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	return a->in < b->in ? -1 : a->in > b->in;
}

static int compare_pio(const void *a, const void *b)
{
	return compare_pio_key(&((const struct pio_record *)a)->key,
			       &((const struct pio_record *)b)->key);
}

void pio_sample_sort(struct exits_sample *sample)
{
	qsort(sample->pios, sample->npios, sizeof(*sample->pios), compare_pio);
}

int pio_sample_delta(const struct exits_sample *prev,
		     const struct exits_sample *cur, struct exits_sample *out)
{
	size_t i = 0, j;

	out->pios = calloc(cur->npios ? cur->npios : 1, sizeof(*out->pios));
	if (!out->pios)
		return -1;
	for (j = 0; j < cur->npios; j++) {
		const struct pio_record *c = &cur->pios[j], *p = NULL;
		struct pio_record *o = &out->pios[out->npios];

		while (i < prev->npios &&
		       compare_pio_key(&prev->pios[i].key, &c->key) < 0)
			i++;
		if (i < prev->npios &&
		    !compare_pio_key(&prev->pios[i].key, &c->key))
			p = &prev->pios[i];
		/* A key deleted and made again counts from 0. */
		if (p && p->stats.count > c->stats.count)
			p = NULL;
		o->key = c->key;
		o->stats.count = c->stats.count - (p ? p->stats.count : 0);
		o->stats.bytes = c->stats.bytes - (p ? p->stats.bytes : 0);
		if (o->stats.count)
			out->npios++;
	}
	return 0;
}

static int busier_port(const void *a, const void *b)
{
	const struct port_view *x = a, *y = b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return x->port != y->port ? (x->port < y->port ? -1 : 1) :
		x->in - y->in;
}

int pio_view_build(const struct exits_sample *s, double interval_sec,
		   struct top_view *view)
{
	struct vm_view *vm = NULL;
	struct port_view *grown;
	size_t i, j;

	for (i = 0; i < s->npios; i++) {
		const struct pio_record *r = &s->pios[i];

		if (!vm || vm->pid != r->key.pid ||
		    vm->vm_start != r->key.vm_start) {
			vm = NULL;
			for (j = 0; j < view->nvms && !vm; j++)
				if (view->vms[j].pid == r->key.pid &&
				    view->vms[j].vm_start == r->key.vm_start)
					vm = &view->vms[j];
			/* Every port I/O is an exit: its VM is listed,
			 * unless the exit fell before the interval. */
			if (!vm)
				continue;
		}
		grown = realloc(vm->ports, (vm->nports + 1) * sizeof(*grown));
		if (!grown)
			return -1;
		vm->ports = grown;
		vm->ports[vm->nports++] = (struct port_view){
			.port = r->key.port, .in = r->key.in,
			.count = r->stats.count, .bytes = r->stats.bytes,
			.per_sec = interval_sec > 0 ?
				r->stats.count / interval_sec : 0,
		};
	}
	for (i = 0; i < view->nvms; i++)
		qsort(view->vms[i].ports, view->vms[i].nports,
		      sizeof(*view->vms[i].ports), busier_port);
	return 0;
}

void pio_text(FILE *out, const struct vm_view *vm, bool cumulative)
{
	size_t i;

	if (!vm->nports)
		return;
	fprintf(out, "\n%-8s %-4s %10s %10s %12s\n", "PORT", "DIR",
		cumulative ? "TOTAL" : "COUNT", "RATE/s", "BYTES");
	for (i = 0; i < vm->nports; i++) {
		const struct port_view *p = &vm->ports[i];

		fprintf(out, "0x%-6x %-4s %10llu %10.1f %12llu\n", p->port,
			p->in ? "in" : "out", (unsigned long long)p->count,
			p->per_sec, (unsigned long long)p->bytes);
	}
}

json_t *pio_json(const struct vm_view *vm)
{
	json_t *ports = json_array();
	char port[8];
	size_t i;

	for (i = 0; i < vm->nports; i++) {
		const struct port_view *p = &vm->ports[i];

		snprintf(port, sizeof(port), "0x%x", p->port);
		json_array_append_new(ports, json_pack(
			"{s:s, s:s, s:I, s:f, s:I}", "port", port,
			"direction", p->in ? "in" : "out",
			"count", (json_int_t)p->count, "per_s", p->per_sec,
			"bytes", (json_int_t)p->bytes));
	}
	return ports;
}
