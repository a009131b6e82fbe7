// SPDX-License-Identifier: GPL-2.0
/* The registry of detectors: names from detector_id.h, ops as each
 * detector registers them at start-up. */
#include "detector.h"

const struct detector_info detectors[DET_COUNT] = {
#define DETECTOR_INFO(id, name, title) [DET_##id] = { name, title },
	DETECTOR_LIST(DETECTOR_INFO)
#undef DETECTOR_INFO
};

static const struct detector_ops *registered[DET_COUNT];

void detector_register(const struct detector_ops *ops)
{
	if (ops->id < DET_COUNT)
		registered[ops->id] = ops;
}

const struct detector_ops *detector_ops(enum detector_id id)
{
	return id < DET_COUNT ? registered[id] : NULL;
}

bool detector_implemented(enum detector_id id)
{
	return detector_ops(id) != NULL;
}
