// SPDX-License-Identifier: GPL-2.0
/*
 * kvmwatch export: every detector's metrics for Prometheus, served over
 * HTTP (libevent's evhttp) or written to a node_exporter textfile.
 *
 * Counters must only grow, so the exporter keeps its own series: every
 * read takes the detectors' figures since the previous read (the runner
 * forgets exited VMs from the maps) and adds them up. Series of a VM
 * whose process has exited are dropped after a grace period, and the
 * number of per-VM series is capped: label cardinality stays bounded
 * however many VMs come and go.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "export.h"
#include "options.h"
#include "views/export_store.h"
#include "views/prom.h"
#include "core/files.h"
#include "gate/record_file.h"
#include "core/rule.h"
#include "core/runner.h"
#include "core/session.h"
#include "core/vm_ident.h"


static void export_usage(FILE *out)
{
	fprintf(out,
		"usage: kvmwatch export --listen ADDR:PORT | --textfile PATH\n"
		"                       [-i SEC] [--grace SEC] [--max-series N] [-n COUNT] [-p PID] [-g NAME]\n"
		"  --listen ADDR:PORT    serve GET /metrics over HTTP: 127.0.0.1:9477,\n"
		"                        [::1]:9477, or :9477 for every address (port 0:\n"
		"                        any free port; the address is printed on stderr)\n"
		"  --textfile PATH       write the exposition to PATH every interval\n"
		"                        (atomically; node_exporter's textfile collector\n"
		"                        reads *.prom files)\n"
		"  -i, --interval SEC    read the detectors every SEC (default %g); a\n"
		"                        scrape also reads when the last read is older\n"
		"                        than %g s\n"
		"  --grace SEC           keep an exited VM's series SEC (default %g)\n"
		"  --max-series N        at most N per-VM series (default %d); more are\n"
		"                        counted in kvmwatch_export_dropped_series_total\n"
		"  -n, --count N         stop after N reads (default: until SIGINT)\n"
		"  -p, --pid PID         watch only the VMM process PID\n"
		GUEST_HELP
		GLOBAL_OPTIONS_HELP,
		EXPORT_DEFAULT_INTERVAL, EXPORT_FRESH_SEC, EXPORT_DEFAULT_GRACE,
		EXPORT_DEFAULT_MAX_SERIES);
}

static int parse_export_options(int argc, char **argv, struct export_options *o)
{
	enum { OPT_LISTEN = 256, OPT_TEXTFILE, OPT_GRACE, OPT_MAX_SERIES };
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, OPT_LISTEN },
		{ "textfile", required_argument, NULL, OPT_TEXTFILE },
		{ "interval", required_argument, NULL, 'i' },
		{ "grace", required_argument, NULL, OPT_GRACE },
		{ "max-series", required_argument, NULL, OPT_MAX_SERIES },
		{ "count", required_argument, NULL, 'n' },
		{ "pid", required_argument, NULL, 'p' },
		{ "guest", required_argument, NULL, 'g' },
		{ "help", no_argument, NULL, 'h' },
		GLOBAL_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	o->interval_sec = EXPORT_DEFAULT_INTERVAL;
	o->grace_sec = EXPORT_DEFAULT_GRACE;
	o->max_series = EXPORT_DEFAULT_MAX_SERIES;
	optind = 0;	/* all of getopt's state, not only its index */
	while ((opt = getopt_long(argc, argv, GLOBAL_SHORTOPTS "i:n:p:hg:",
				  longopts, NULL)) != -1) {
		switch (opt) {
		case OPT_LISTEN:
			o->listen = optarg;
			break;
		case OPT_TEXTFILE:
			o->textfile = optarg;
			break;
		case 'i':
			if (opt_seconds("export", "--interval", optarg, &o->interval_sec))
				return KW_EXIT_USAGE;
			break;
		case OPT_GRACE:
			if (opt_seconds("export", "--grace", optarg, &o->grace_sec))
				return KW_EXIT_USAGE;
			break;
		case OPT_MAX_SERIES:
			if (opt_count("export", "--max-series", optarg, 100000000,
				      &o->max_series))
				return KW_EXIT_USAGE;
			break;
		case 'n':
			if (opt_count("export", "-n", optarg, 1000000000,
				      &o->count))
				return KW_EXIT_USAGE;
			break;
		case 'p':
			if (opt_pid("export", optarg, &o->pid))
				return KW_EXIT_USAGE;
			break;
		case 'g':
			if (opt_guest("export", optarg, &o->guest))
				return KW_EXIT_USAGE;
			break;
		case 'h':
			export_usage(stdout);
			return OPTIONS_SHOWN;
		default:
			if (opt_is_global(opt)) {
				if (opt_global(opt, optarg))
					return KW_EXIT_USAGE;
				break;
			}
			export_usage(stderr);
			return KW_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		kw_warn("export: unexpected argument '%s'", argv[optind]);
		return KW_EXIT_USAGE;
	}
	if (!o->listen == !o->textfile) {
		kw_warn("export: give one of --listen ADDR:PORT and --textfile PATH");
		export_usage(stderr);
		return KW_EXIT_USAGE;
	}
	/* Find out now, not after attaching, that it cannot be written. */
	if (o->textfile) {
		char error[512];

		if (output_path_check(o->textfile, error, sizeof(error))) {
			kw_warn("export: --textfile: %s", error);
			return KW_EXIT_USAGE;
		}
	}
	return KW_EXIT_OK;
}

/* A series' VM runs while its process exists and started when the series
 * says: a later VMM at the same pid is another VM. */
static bool series_vm_alive(const struct metric *m)
{
	const char *pid = NULL, *start = NULL;
	int i;

	for (i = 0; i < m->nlabels; i++)
		if (!strcmp(metric_label_key(m, i), "vm"))
			pid = metric_label_value(m, i);
		else if (!strcmp(metric_label_key(m, i), "vm_start"))
			start = metric_label_value(m, i);
	return !pid || vm_label_alive(pid, start);
}

/* Metrics a detector's read gives, handed to the store so many at a time. */
#define STORE_BATCH 256

static int drain_to_store(struct metric_set *fresh, void *exporter)
{
	struct exporter *x = exporter;
	size_t i;
	int err = 0;

	for (i = 0; i < fresh->count; i++) {
		if (!err)
			err = export_store_add(&x->store, &fresh->items[i],
					       x->o->max_series);
		metric_release(&fresh->items[i]);
	}
	fresh->count = 0;
	return err;
}

/* A detector's figures of the last read into the store, a batch at a
 * time: at 1024 vCPUs one detector's were 20000 metrics (7 MiB) beside
 * the store. */
static int store_metrics(struct runner *r, enum detector_id det,
			 void *exporter)
{
	struct exporter *x = exporter;
	struct metric_set fresh = {
		.drain = drain_to_store, .drain_arg = x, .batch = STORE_BATCH,
	};
	int err;

	err = runner_detector_metrics(r, det, &fresh);
	if (!err)
		err = drain_to_store(&fresh, x);
	kw_timing_heap("%s metrics", detectors[det].name);
	metric_set_free(&fresh);
	/* The store has what export serves: the view would only sit beside
	 * the next detector's samples. */
	runner_release_view(r, det);
	return err;
}

int export_read(struct exporter *x)
{
	int err;

	/* Each detector's figures go to the store as soon as its view is
	 * built (at 256 VMs x 4 vCPUs the exits and timer views held 1.2
	 * MiB beside the MMIO read's samples, export's peak). */
	err = runner_read_each(&x->runner, true, store_metrics, x);
	if (err) {
		kw_warn("export: reading the detectors failed: %s",
			strerror(-err));
		x->error = err;
		return err;
	}
	x->last_read = export_now();
	err = export_store_expire(&x->store, x->last_read, x->o->grace_sec,
				  series_vm_alive);
	if (err) {
		x->error = err;
		return err;
	}
	x->store.reads++;
	return 0;
}

/* Which programs of det had runs skipped, by name: which events it may
 * be short of (kvm_mmio: writes). Only those that had any. */
static int program_misses(const struct exporter *x, enum detector_id det,
			  struct metric_set *out)
{
	const struct detector_bpf *bpf = &x->runner.runs[det].bpf;
	struct bpf_program *prog;
	struct metric *m;
	uint64_t missed;

	if (!bpf->object)
		return 0;
	bpf_object__for_each_program(prog, *bpf->object->obj) {
		missed = bpf_program_missed_runs(prog);
		if (!missed)
			continue;
		m = metric_add(out, METRIC_COUNTER, "runs",
			       "runs of one BPF program the kernel skipped",
			       BETTER_NEITHER, "%s", "export.program_missed_runs");
		if (!m || metric_label(m, "detector", "%s",
				       detectors[det].name) ||
		    metric_label(m, "program", "%s", bpf_program__name(prog)))
			return -ENOMEM;
		m->value = missed;
	}
	return 0;
}

/* The kernel's own lockup counters, which check --lockup also judges:
 * an alert on them needs them in the same scrape. */
static int kernel_counters(struct metric_set *out)
{
	static const struct {
		enum kernel_counter counter;
		const char *name, *help;
	} counters[] = {
		{ KCOUNT_HARDLOCKUP, "kernel.hardlockups",
		  "hard lockups the kernel detected (/sys/kernel/hardlockup_count)" },
		{ KCOUNT_SOFTLOCKUP, "kernel.softlockups",
		  "soft lockups the kernel detected (/sys/kernel/softlockup_count)" },
		{ KCOUNT_RCU_STALL, "kernel.rcu_stalls",
		  "RCU stalls the kernel detected (/sys/kernel/rcu_stall_count)" },
	};
	struct metric *m;
	uint64_t value;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(counters); i++) {
		m = metric_add(out, METRIC_COUNTER, NULL, counters[i].help,
			       BETTER_LOWER, "%s", counters[i].name);
		if (!m)
			return -ENOMEM;
		if (kernel_counter_read(counters[i].counter, &value))
			m->value = value;
		else
			m->unavailable = "this kernel has no such counter file";
	}
	return 0;
}

/* The exporter's own figures, built fresh for each exposition. */
static int self_metrics(const struct exporter *x, struct metric_set *out)
{
	const struct kernel_caps *caps = x->runner.caps;
	enum detector_id det;
	struct metric *m;

#define SELF(type, unit, help, name, v) do {				\
		m = metric_add(out, type, unit, help, BETTER_NEITHER,	\
			       "%s", name);				\
		if (!m)							\
			return -ENOMEM;					\
		m->value = (v);						\
	} while (0)

	SELF(METRIC_GAUGE, NULL, "kvmwatch version and the host it watches",
	     "build.info", 1);
	metric_label(m, "version", "%s", KVMWATCH_VERSION);
	metric_label(m, "kernel", "%s", caps->release);
	metric_label(m, "arch", "%s", arch_name(caps->arch));
	metric_label(m, "vendor", "%s", vendor_name(caps->vendor));
	for (det = 0; det < DET_COUNT; det++) {
		if (!detector_implemented(det))
			continue;
		SELF(METRIC_GAUGE, NULL,
		     "1 when the detector runs, in these attach modes",
		     "export.detector_up", runner_on(&x->runner, det));
		metric_label(m, "detector", "%s", detectors[det].name);
		metric_label(m, "modes", "%s", x->runner.runs[det].modes);
		if (!runner_on(&x->runner, det))
			continue;
		/* Each is an event the detector did not see: its counts
		 * may be short by that much. */
		SELF(METRIC_COUNTER, "runs",
		     "runs of the detector's BPF programs the kernel skipped (one already running on that CPU)",
		     "export.missed_runs",
		     runner_missed_runs(&x->runner, det));
		metric_label(m, "detector", "%s", detectors[det].name);
		if (program_misses(x, det, out))
			return -ENOMEM;
	}
	if (kernel_counters(out))
		return -ENOMEM;
	SELF(METRIC_GAUGE, "series", "series kept, per VM or vCPU",
	     "export.series", x->store.per_entity);
	SELF(METRIC_COUNTER, "series",
	     "per-VM series not exported because of --max-series",
	     "export.dropped_series", x->store.dropped);
	SELF(METRIC_COUNTER, "series",
	     "series of exited VMs dropped after the grace period",
	     "export.expired_series", x->store.expired);
	SELF(METRIC_COUNTER, "reads", "reads of the detectors' maps",
	     "export.reads", x->store.reads);
#undef SELF
	return 0;
}

/* The whole exposition into f. */
static int render_to(FILE *f, struct exporter *x, bool last)
{
	struct metric_set self = { 0 };
	int err;

	/* A new VM's counters at 0 first (export_store.h), but in the last
	 * file of a run, which nothing reads again. */
	err = prom_render_zeroed(f, &x->store.set,
				 last ? NULL : x->store.fresh);
	if (!err)
		err = self_metrics(x, &self);
	if (!err)
		err = prom_render(f, &self);
	metric_set_free(&self);
	if (!err && ferror(f))
		err = -EIO;
	return err;
}

/* The whole exposition into a malloc'd buffer. */
int export_render(struct exporter *x, bool last, char **text, size_t *len)
{
	FILE *f;
	int err;

	*text = NULL;
	f = open_memstream(text, len);
	if (!f)
		return -ENOMEM;
	err = render_to(f, x, last);
	if (fclose(f) && !err)
		err = -EIO;
	if (err) {
		free(*text);
		*text = NULL;
		return err;
	}
	export_store_exposed(&x->store);
	return 0;
}

/* ------------------------------------------------------------ textfile */

struct textfile {
	struct exporter *x;
	bool last;
};

static int fill_textfile(FILE *out, void *textfile)
{
	const struct textfile *t = textfile;

	return render_to(out, t->x, t->last);
}

/* Rendered straight into the file: at 10000 series the exposition is
 * megabytes, which a buffer held beside the store. */
static int write_textfile(struct exporter *x, bool last)
{
	struct textfile t = { x, last };
	char error[512];
	int err;

	err = write_file_atomic_with(x->o->textfile, fill_textfile, &t, error,
				     sizeof(error));
	if (err) {
		kw_warn("export: %s", error);
		return err;
	}
	export_store_exposed(&x->store);
	return 0;
}

static int run_textfile(struct exporter *x)
{
	sigset_t signals;
	struct timespec ts;
	uint64_t next = monotonic_ns(), now;
	unsigned long n = 0;

	sigemptyset(&signals);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGTERM);
	sigprocmask(SIG_BLOCK, &signals, NULL);
	/* The first read was made at start: write it at once. */
	for (;;) {
		if (write_textfile(x, x->o->count && n + 1 >= x->o->count))
			return KW_EXIT_RUNTIME;
		if (x->o->count && ++n >= x->o->count)
			return KW_EXIT_OK;
		next += (uint64_t)(x->o->interval_sec * 1e9);
		while ((now = monotonic_ns()) < next) {
			ts.tv_sec = (next - now) / 1000000000ull;
			ts.tv_nsec = (next - now) % 1000000000ull;
			if (sigtimedwait(&signals, NULL, &ts) > 0)
				return KW_EXIT_OK;
		}
		if (export_read(x))
			return KW_EXIT_RUNTIME;
	}
}

int cmd_export_parse(int argc, char **argv)
{
	struct export_options o = { 0 };

	return parse_export_options(argc, argv, &o);
}

int cmd_export(int argc, char **argv)
{
	struct export_options o = { 0 };
	struct exporter x = { 0 };
	struct kernel_caps caps;
	struct attach_plan plan;
	unsigned int mask = 0;
	enum detector_id det;
	int rc;

	rc = parse_export_options(argc, argv, &o);
	if (rc)
		return rc == OPTIONS_SHOWN ? KW_EXIT_OK : rc;
	for (det = 0; det < DET_COUNT; det++)
		mask |= 1u << det;
	rc = session_prepare(&caps, &plan, mask);
	if (rc != KW_EXIT_OK)
		goto out;
	x.o = &o;
	if (runner_start(&x.runner, &plan, mask, 0, o.pid, o.guest)) {
		rc = KW_EXIT_RUNTIME;
		goto out;
	}
	for (det = 0; det < DET_COUNT && !runner_on(&x.runner, det); det++)
		;
	if (det == DET_COUNT) {
		kw_warn("export: no detector can run here (kvmwatch probe says why)");
		rc = KW_EXIT_UNSUPPORTED;
	} else {
		runner_announce(&x.runner, stderr);
		/* A first read, so the first scrape has figures. */
		rc = export_read(&x) ? KW_EXIT_RUNTIME :
			o.textfile ? run_textfile(&x) : export_serve_http(&x);
	}
	runner_stop(&x.runner);
	export_store_free(&x.store);
out:
	caps_release(&caps);
	return rc;
}
