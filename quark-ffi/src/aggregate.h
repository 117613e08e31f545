/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Aggregation, in the design of quark: a raw event does not become a record
 * at once. It is held for the hold time, and later events of the same pid
 * are merged into it: fork + exec + exit of a short-lived process become one
 * record. Two execs are never merged (the second starts a new record whose
 * previous images include the first), nor is anything merged into a record
 * that already has an exit.
 *
 * Memory is bounded by max_pending held records: the fuller the queue, the
 * shorter the hold (full hold up to 10% of the bound, none from 90%, linear
 * in between from the hold time down to a tenth of it), and a record added
 * to a full queue pushes the oldest out at once. Held and ready records
 * together are bounded too, in records and bytes: the caller asks
 * qf_agg_room() before taking events from the backend, so the excess stays
 * in (and is dropped and counted by) the kernel's ring.
 *
 * A pid's events belong to one life only when the start times agree: an
 * exec or exit whose start differs from the cache's (a lost fork, a reused
 * pid) starts over instead of inheriting the old life's images.
 *
 * Every raw event also updates the process cache on arrival, so lookups and
 * parent information are never older than the newest event.
 */
#ifndef QF_AGGREGATE_H
#define QF_AGGREGATE_H

#include <stddef.h>
#include <stdint.h>

#include "cache.h"
#include "pidmap.h"
#include "raw.h"

struct qf_rec {
	struct qf_pidnode node;		/* first: the held map links it */
	struct qf_rec *prev, *next;	/* on the held or the ready list */
	uint64_t born_mono_ns;
	size_t bytes;			/* counted in qf_agg.bytes */
	uint32_t flags;			/* QF_REC_* */
	struct qf_proc p;
};

struct qf_agg {
	struct qf_pidmap held_map;
	struct qf_rec held;		/* list heads (sentinels) */
	struct qf_rec ready;
	size_t nheld;
	size_t nready;
	uint64_t hold_ns;
	size_t max_pending;
	size_t bytes;			/* held + ready */
	size_t max_bytes;
	uint64_t tick_ns;		/* /proc's start-time unit */
	int flushing;			/* qf_flush(): hold nothing from now on */
	struct qf_cache *cache;
	struct qf_stats *st;
};

int qf_agg_init(struct qf_agg *a, uint64_t hold_ns, size_t max_pending, size_t max_bytes,
    struct qf_cache *cache, struct qf_stats *st);
/* How many more raw events may be taken now (each makes at most one record). */
size_t qf_agg_room(const struct qf_agg *a);
/* Releases every held record, and holds nothing from now on. */
void qf_agg_flush(struct qf_agg *a);
void qf_agg_free(struct qf_agg *a);
/* Applies one raw event to the cache and the held records. Consumes nothing: raw stays the caller's. */
void qf_agg_event(struct qf_agg *a, const struct qf_raw *raw, uint64_t now_mono_ns);
/* Moves held records whose (pressure-adjusted) hold time passed to the ready list. */
void qf_agg_release(struct qf_agg *a, uint64_t now_mono_ns);
/* ns until the oldest held record is due; UINT64_MAX when nothing is held. */
uint64_t qf_agg_next_due(const struct qf_agg *a, uint64_t now_mono_ns);
/* The hold time in force for the current queue length. */
uint64_t qf_agg_target_hold(const struct qf_agg *a);
/* Appends a record (e.g. a snapshot one) straight to the ready list; takes ownership. */
void qf_agg_add_ready(struct qf_agg *a, struct qf_rec *r);
struct qf_rec *qf_agg_ready_head(const struct qf_agg *a);
/* Unlinks the ready head and returns it; the caller frees it with qf_rec_free(). */
struct qf_rec *qf_agg_ready_pop(struct qf_agg *a);

struct qf_rec *qf_rec_new(uint32_t flags, uint64_t now_mono_ns);
void qf_rec_free(struct qf_rec *r);

#endif
