// SPDX-License-Identifier: GPL-2.0
/* The record of a run that just ended, from the runner that watched it. */
#include <string.h>
#include <time.h>

#include "core/runner.h"
#include "record_file.h"
#include "workload.h"

int record_from_runner(struct record *rec, const struct runner *r,
		       char **command, const struct workload_run *run)
{
	enum detector_id det;
	size_t i;
	int err;

	memset(rec, 0, sizeof(*rec));
	rec->schema = RECORD_SCHEMA;
	snprintf(rec->version, sizeof(rec->version), "%s", KVMWATCH_VERSION);
	rec->time = time(NULL);
	snprintf(rec->release, sizeof(rec->release), "%s", r->caps->release);
	snprintf(rec->arch, sizeof(rec->arch), "%s", arch_name(r->caps->arch));
	snprintf(rec->vendor, sizeof(rec->vendor), "%s",
		 vendor_name(r->caps->vendor));
	rec->duration_sec = run->elapsed_sec > 0 ? run->elapsed_sec : 1e-9;
	rec->runs = 1;
	rec->command_exit = -1;
	if (command) {
		rec->command = json_array();
		for (i = 0; command[i]; i++)
			json_array_append_new(rec->command,
					      json_string(command[i]));
		rec->command_exit = workload_exit_status(run);
	}
	for (det = 0; det < DET_COUNT; det++) {
		const struct detector_run *dr = &r->runs[det];
		struct record_detector *d = &rec->detectors[rec->ndetectors++];

		snprintf(d->name, sizeof(d->name), "%s", detectors[det].name);
		d->ran = dr->on;
		if (!detector_implemented(det)) {
			snprintf(d->status, sizeof(d->status), "%s",
				 detector_status_name(DETECTOR_NOT_IMPLEMENTED));
			snprintf(d->why, sizeof(d->why), "not in this build of kvmwatch");
		} else {
			snprintf(d->status, sizeof(d->status), "%s",
				 detector_status_name(attach_plan_status(r->plan,
									 det)));
			if (!dr->on)
				snprintf(d->why, sizeof(d->why), "%s", dr->why);
		}
		snprintf(d->modes, sizeof(d->modes), "%s",
			 dr->on ? dr->modes : "none");
	}
	err = runner_metrics(r, &rec->metrics);
	if (err)
		record_free(rec);
	return err;
}
