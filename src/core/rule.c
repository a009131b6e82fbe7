// SPDX-License-Identifier: GPL-2.0
/* What every detector's rules share: the kernel's counters, event times. */
#include <stdio.h>
#include <time.h>

#include "kvmwatch.h"
#include "rule.h"

static const char *const counter_files[KCOUNT_COUNT] = {
	[KCOUNT_HARDLOCKUP] = "/sys/kernel/hardlockup_count",
	[KCOUNT_SOFTLOCKUP] = "/sys/kernel/softlockup_count",
	[KCOUNT_RCU_STALL] = "/sys/kernel/rcu_stall_count",
	[KCOUNT_WARN] = "/sys/kernel/warn_count",
};

const char *check_counter_file(enum kernel_counter c)
{
	return counter_files[c];
}

enum measure_outcome
check_measure_counter(const struct check_data *d, enum kernel_counter c,
		      double *value, char *evidence, size_t evidence_len,
		      char *why, size_t why_len)
{
	const struct counter_pair *p = &d->counters[c];

	if (!p->present) {
		snprintf(why, why_len, "%s does not exist on this kernel",
			 counter_files[c]);
		return NOT_MEASURED;
	}
	*value = p->after >= p->before ? p->after - p->before : 0;
	snprintf(evidence, evidence_len,
		 "%s went from %llu to %llu during the run (see dmesg)",
		 counter_files[c], (unsigned long long)p->before,
		 (unsigned long long)p->after);
	return HOST_FACT;
}

void check_when(const struct check_data *d, uint64_t mono_ns, char *buf,
		size_t len)
{
	double since = ((double)mono_ns - (double)d->start_mono_ns) / 1e9;
	time_t wall = (time_t)(d->start_epoch + since);
	struct tm tm;

	if (!mono_ns) {
		snprintf(buf, len, "unknown");
		return;
	}
	gmtime_r(&wall, &tm);
	snprintf(buf, len, "%+.2f s after the start (%02d:%02d:%02dZ)", since,
		 tm.tm_hour, tm.tm_min, tm.tm_sec);
}

bool kernel_counter_read(enum kernel_counter c, uint64_t *value)
{
	unsigned long long v;
	char buf[32];

	if (read_text_file(check_counter_file(c), buf, sizeof(buf)) ||
	    sscanf(buf, "%llu", &v) != 1)
		return false;
	*value = v;
	return true;
}

void check_read_counters(struct check_data *d, bool after)
{
	enum kernel_counter c;
	uint64_t v;

	for (c = 0; c < KCOUNT_COUNT; c++) {
		struct counter_pair *p = &d->counters[c];

		if (!kernel_counter_read(c, &v)) {
			p->present = false;
			continue;
		}
		if (!after) {
			p->present = true;
			p->before = v;
		}
		p->after = v;
	}
}

const void *check_view(const struct check_data *d, enum detector_id det,
		       char *why, size_t len)
{
	if (d->views[det])
		return d->views[det];
	if (d->why[det])
		snprintf(why, len, "%s", d->why[det]);
	else
		snprintf(why, len, "the %s detector did not run",
			 detectors[det].name);
	return NULL;
}
