// SPDX-License-Identifier: GPL-2.0
/*
 * The exits view as text: top's first table, one row per VM then its
 * vCPUs, sized to the terminal (80 columns hold every column; wider ones
 * give the name and the reasons more room), and, for one VM looked at
 * closely, its exits reason by reason.
 */
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/vm_name.h"
#include "exits_model.h"

/* PID VCPU EXITS/s TO-VMM/s AVG-US and the gaps: a row but its NAME and
 * TOP REASONS. */
#define ROW_FIXED 44
#define NAME_MIN 15
#define NAME_MAX 32
/* The reason table: COUNT %TOTAL RATE/s and four times, with their gaps
 * (80 columns leave its REASON 20). */
#define REASON_FIGURES_W 60
#define REASON_NAME_MIN 20
#define REASON_NAME_MAX 32

static const char *const sort_names[EXITS_SORT_COUNT] = {
	[EXITS_SORT_EXITS] = "exits",
	[EXITS_SORT_VMM] = "vmm",
	[EXITS_SORT_AVG] = "avg",
	[EXITS_SORT_PID] = "pid",
	[EXITS_SORT_NAME] = "name",
};

const char *exits_sort_name(enum exits_sort sort)
{
	return sort_names[sort];
}

int exits_sort_parse(const char *arg, enum exits_sort *sort)
{
	int i = string_index(sort_names, EXITS_SORT_COUNT, arg);

	/* perf kvm stat's keys: sample (the count) and time. */
	if (i < 0 && !strcmp(arg, "sample"))
		i = EXITS_SORT_EXITS;
	if (i < 0 && !strcmp(arg, "time"))
		i = EXITS_SORT_AVG;
	if (i < 0)
		return -1;
	*sort = i;
	return 0;
}

static bool reason_shown(const struct exits_text_opts *o,
			 const struct reason_view *r)
{
	return !o->reasons || !regexec(o->reasons, r->name, 0, NULL, 0);
}

/* Every share is of the exits (a return to the VMM follows one), or of
 * the returns where no in-kernel exit is seen (kvm_pvm emits none). */
static uint64_t share_base(uint64_t exits, uint64_t user_exits)
{
	return exits ? exits : user_exits;
}

/* "npf 49%  io 48%  vmm:IO 48%": whole reasons, as many as fit in len,
 * each a share of one base. */
static void top_reasons(char *buf, size_t len, const struct reason_view *r,
			size_t n, uint64_t exits, uint64_t user_exits,
			const struct exits_text_opts *o)
{
	uint64_t total = share_base(exits, user_exits);
	size_t i, used = 0;
	char one[64];
	int w;

	buf[0] = '\0';
	for (i = 0; total && i < n; i++) {
		if (!r[i].count || !reason_shown(o, &r[i]))
			continue;
		w = snprintf(one, sizeof(one), "%s%s%s %.0f%%",
			     used ? "  " : "",
			     r[i].kind == EXIT_KIND_USER ? "vmm:" : "",
			     r[i].name, 100.0 * r[i].count / total);
		if (used + w >= len)
			break;
		memcpy(buf + used, one, w + 1);
		used += w;
	}
}

/* Microseconds in at most width characters: fewer decimals as they
 * grow (a loaded host's 10850.18 overflowed a 7-wide column). */
static void us_fitting(char *buf, size_t len, double us, int width)
{
	int decimals;

	for (decimals = 2; decimals >= 0; decimals--)
		if (snprintf(buf, len, "%.*f", decimals, us) <= width)
			return;
	snprintf(buf, len, "%.1e", us);
}

static double avg_us(const struct reason_view *r, size_t n)
{
	uint64_t ns = 0, timed = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (r[i].kind != EXIT_KIND_KERNEL)
			continue;
		ns += r[i].total_ns;
		timed += r[i].timed;
	}
	return timed ? ns / 1000.0 / timed : -1;
}

struct row_layout {
	int name;		/* NAME column width */
	size_t reasons;		/* room for TOP REASONS */
};

static void text_row(FILE *out, const struct row_layout *l, const char *id,
		     const char *vcpu, const char *name, bool cumulative,
		     uint64_t exits, double exits_rate, uint64_t user,
		     double user_rate, const struct reason_view *reasons,
		     size_t n, const struct exits_text_opts *o)
{
	char why[512], avg[16];
	double us = avg_us(reasons, n);

	top_reasons(why, l->reasons < sizeof(why) ? l->reasons + 1 :
		    sizeof(why), reasons, n, exits, user, o);
	if (us < 0)
		snprintf(avg, sizeof(avg), "-");
	else
		us_fitting(avg, sizeof(avg), us, 7);
	if (cumulative)
		fprintf(out, "%8s %4s %-*.*s %9llu %9llu %7s  %s\n", id, vcpu,
			l->name, l->name, name, (unsigned long long)exits,
			(unsigned long long)user, avg, why);
	else
		fprintf(out, "%8s %4s %-*.*s %9.1f %9.1f %7s  %s\n", id, vcpu,
			l->name, l->name, name, exits_rate, user_rate, avg,
			why);
}

static int compare_double(double a, double b)
{
	return a < b ? 1 : a > b ? -1 : 0;	/* larger first */
}

static enum exits_sort sort_key;

static int compare_vms(const void *pa, const void *pb)
{
	const struct vm_view *a = *(const struct vm_view *const *)pa;
	const struct vm_view *b = *(const struct vm_view *const *)pb;
	int c = 0;

	switch (sort_key) {
	case EXITS_SORT_EXITS:
		c = compare_double(a->exits, b->exits);
		break;
	case EXITS_SORT_VMM:
		c = compare_double(a->user_exits, b->user_exits);
		break;
	case EXITS_SORT_AVG:
		c = compare_double(avg_us(a->reasons, a->nreasons),
				   avg_us(b->reasons, b->nreasons));
		break;
	case EXITS_SORT_NAME:
		c = strcmp(vm_name_or(a->pid, a->vm_start, a->comm),
			   vm_name_or(b->pid, b->vm_start, b->comm));
		break;
	default:
		break;
	}
	return c ? c : vm_ident_compare(a->pid, a->vm_start, b->pid,
					b->vm_start);
}

/* One VM's exits reason by reason: how many, their share, the rate and
 * how long they took (the kernel keeps a log2 histogram, so MIN is the
 * lower bound of its bucket, P99 and MAX the upper bounds of theirs).
 * The reason's name takes what the terminal has beyond the figures. */
static void reason_table(FILE *out, const struct top_view *view,
			 const struct vm_view *vm,
			 const struct exits_text_opts *o)
{
	int width = kw_columns > 0 ? kw_columns : 160;
	int name_w = width - REASON_FIGURES_W;
	uint64_t total = share_base(vm->exits, vm->user_exits);
	size_t i;

	if (name_w < REASON_NAME_MIN)
		name_w = REASON_NAME_MIN;
	if (name_w > REASON_NAME_MAX)
		name_w = REASON_NAME_MAX;
	fprintf(out, "\n%-*s %9s %7s %9s %7s %7s %7s %7s\n", name_w, "REASON",
		view->cumulative ? "TOTAL" : "COUNT", "%TOTAL", "RATE/s",
		"MIN-US", "AVG-US", "P99-US", "MAX-US");
	for (i = 0; i < vm->nreasons; i++) {
		const struct reason_view *r = &vm->reasons[i];
		char name[48], min[16] = "-", avg[16] = "-", p99[16] = "-",
		     max[16] = "-";

		if (!r->count || !reason_shown(o, r))
			continue;
		snprintf(name, sizeof(name), "%s%s",
			 r->kind == EXIT_KIND_USER ? "vmm:" : "", r->name);
		if (r->timed) {
			us_fitting(min, sizeof(min),
				   r->min_ns_ge / 1e3, 7);
			us_fitting(avg, sizeof(avg),
				   r->total_ns / 1e3 / r->timed, 7);
			us_fitting(p99, sizeof(p99),
				   r->p99_ns_le / 1e3, 7);
			us_fitting(max, sizeof(max),
				   r->max_ns_le / 1e3, 7);
		}
		fprintf(out, "%-*.*s %9llu %6.1f%% %9.1f %7s %7s %7s %7s\n",
			name_w, name_w, name, (unsigned long long)r->count,
			total ? 100.0 * r->count / total : 0.0, r->per_sec,
			min, avg, p99, max);
	}
}

void exits_view_text_opts(FILE *out, const void *exits_view,
			  const char *modes, const struct exits_text_opts *o)
{
	const struct exits_view *ev = exits_view;
	const struct top_view *view = &ev->top;
	const struct kernel_caps *caps = ev->caps;
	int width = kw_columns > 0 ? kw_columns : 160;
	struct row_layout l = { .name = NAME_MIN };
	const struct vm_view **order;
	char pid[24], tid[24], vcpu[24], now[16] = "";
	time_t t = time(NULL);
	struct tm tm;
	size_t i, j;

	/* A wider terminal gives the name room first, then the reasons. */
	if (width > 80)
		l.name += width - 80 < NAME_MAX - NAME_MIN ? width - 80 :
			NAME_MAX - NAME_MIN;
	l.reasons = width > ROW_FIXED + l.name + 10 ?
		width - ROW_FIXED - l.name : 10;
	/* The time of day, as top(1) shows it: batch logs are read later. */
	if (localtime_r(&t, &tm))
		strftime(now, sizeof(now), "%H:%M:%S", &tm);
	fprintf(out, "kvmwatch top - %s - %s %s %s - %s %.2f s\n", now,
		caps->release, arch_name(caps->arch),
		vendor_name(caps->vendor),
		view->cumulative ? "total over" : "interval",
		view->interval_sec);
	text_wrapped(out, 2, "exits (%s): %zu VM%s with exits, %.1f exits/s, %.1f to the VMM/s",
		modes, view->nvms, view->nvms == 1 ? "" : "s",
		view->exits_per_sec, view->user_exits_per_sec);
	fprintf(out, "%8s %4s %-*s %9s %9s %7s  %s\n", "PID/TID", "VCPU",
		l.name, "NAME", view->cumulative ? "EXITS" : "EXITS/s",
		view->cumulative ? "TO-VMM" : "TO-VMM/s", "AVG-US",
		"TOP REASONS");
	order = calloc(view->nvms ? view->nvms : 1, sizeof(*order));
	if (!order)
		return;
	for (i = 0; i < view->nvms; i++)
		order[i] = &view->vms[i];
	sort_key = o->sort;
	if (o->sort != EXITS_SORT_EXITS)
		qsort(order, view->nvms, sizeof(*order), compare_vms);
	for (i = 0; i < view->nvms; i++) {
		const struct vm_view *vm = order[i];

		snprintf(pid, sizeof(pid), "%u", vm->pid);
		/* The guest's name; its vCPU rows, their threads' names. */
		text_row(out, &l, pid, "-",
			 vm_name_or(vm->pid, vm->vm_start, vm->comm),
			 view->cumulative, vm->exits, vm->exits_per_sec,
			 vm->user_exits, vm->user_exits_per_sec, vm->reasons,
			 vm->nreasons, o);
		for (j = 0; j < vm->nvcpus; j++) {
			const struct vcpu_view *v = &vm->vcpus[j];

			if (o->vcpu >= 0 && v->vcpu_id != o->vcpu)
				continue;
			snprintf(tid, sizeof(tid), "%u", v->tid);
			if (v->vcpu_id < 0)
				strcpy(vcpu, "?");
			else
				snprintf(vcpu, sizeof(vcpu), "%lld",
					 (long long)v->vcpu_id);
			text_row(out, &l, tid, vcpu, v->comm,
				 view->cumulative, v->exits, v->exits_per_sec,
				 v->user_exits, v->user_exits_per_sec,
				 v->reasons, v->nreasons, o);
		}
		if (o->detail) {
			reason_table(out, view, vm, o);
			pio_text(out, vm, view->cumulative);
		}
	}
	free(order);
	if (!view->nvms)
		fprintf(out, "(no guest exits in this interval)\n");
	for (i = 0; i < view->nvms; i++)
		if (!view->vms[i].exits && view->vms[i].user_exits)
			text_wrapped(out, 2, "note: VM %u returned to its VMM %llu times without one kvm:kvm_exit: this KVM (vendor %s) does not emit that tracepoint, so its in-kernel exits are unknown, not 0",
				view->vms[i].pid,
				(unsigned long long)view->vms[i].user_exits,
				vendor_name(caps->vendor));
	fflush(out);
}

void exits_view_text(FILE *out, const void *exits_view, const char *modes)
{
	const struct exits_text_opts every = { .vcpu = -1 };

	exits_view_text_opts(out, exits_view, modes, &every);
}
