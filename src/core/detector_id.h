/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every detector of kvmwatch, named once. Adding a detector is a line
 * here and a folder under src/detectors/ (docs/adding-a-detector.md).
 */
#ifndef KVMWATCH_DETECTOR_ID_H
#define KVMWATCH_DETECTOR_ID_H

#include <stdbool.h>

/* X(ID, name on the command line and in JSON, title), in report order. */
#define DETECTOR_LIST(X)						\
	X(EXITS, "exits", "exit accounting")				\
	X(TIMER, "timer", "LAPIC periodic timer restart loop")		\
	X(MMIO, "mmio", "fast MMIO bus writes")				\
	X(TEARDOWN, "teardown", "stage-2 teardown rescheduling")	\
	X(PMU, "pmu", "PMU world switches")

enum detector_id {
#define DETECTOR_ENUM(id, name, title) DET_##id,
	DETECTOR_LIST(DETECTOR_ENUM)
#undef DETECTOR_ENUM
	DET_COUNT,
};

struct detector_info {
	const char *name;
	const char *title;
};

extern const struct detector_info detectors[DET_COUNT];

/* Has its folder in this build: it registered its detector_ops. */
bool detector_implemented(enum detector_id id);

#endif
