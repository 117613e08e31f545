/* SPDX-License-Identifier: Apache-2.0 */
#ifndef QF_SNAPSHOT_H
#define QF_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "aggregate.h"

/*
 * Scrapes /proc into the aggregator's cache; with emit, also queues one
 * SNAPSHOT record per process on the ready list. *count gets the number of
 * processes read. Every read is capped in bytes, and the whole scan in time
 * (budget_ns): the processes left when the budget runs out are counted in
 * snapshot_skipped, not read. Returns 0 or -errno (the cache keeps what was
 * read).
 */
int qf_snapshot_scan(struct qf_agg *a, int emit, uint64_t now_mono_ns, uint64_t budget_ns,
    size_t *count);

#endif
