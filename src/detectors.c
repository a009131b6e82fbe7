// SPDX-License-Identifier: GPL-2.0
/*
 * The registry of detectors. Each one defines its ops in its own file;
 * weak references keep this table free of edits when one is added.
 */
#include "detector.h"

extern const struct detector_ops exits_ops __attribute__((weak));
extern const struct detector_ops timer_ops __attribute__((weak));
extern const struct detector_ops mmio_ops __attribute__((weak));
extern const struct detector_ops teardown_ops __attribute__((weak));
extern const struct detector_ops pmu_ops __attribute__((weak));

const struct detector_ops *detector_ops(enum detector_id id)
{
	switch (id) {
	case DET_EXITS: return &exits_ops;
	case DET_TIMER: return &timer_ops;
	case DET_MMIO: return &mmio_ops;
	case DET_TEARDOWN: return &teardown_ops;
	case DET_PMU: return &pmu_ops;
	default: return NULL;
	}
}

bool detector_implemented(enum detector_id id)
{
	return detector_ops(id) != NULL;
}
