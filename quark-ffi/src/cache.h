/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The process cache: pid -> latest known state. Live entries sit on an LRU
 * list (least recently updated first), exited ones on a list in exit order
 * and are collected after the grace time. The cache never grows past its
 * bounds, in entries and in bytes (qf_proc_bytes of each entry, an upper
 * bound since strings are shared): going over first drops the oldest exited
 * entry, else the least recently updated live one (counted as an eviction).
 */
#ifndef QF_CACHE_H
#define QF_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "quark_ffi_format.h"
#include "pidmap.h"
#include "raw.h"

struct qf_centry {
	struct qf_pidnode node;		/* first: the map links it */
	struct qf_centry *prev, *next;	/* on live or exited list */
	int exited;
	size_t bytes;			/* counted in qf_cache.bytes */
	uint64_t exit_mono_ns;
	uint32_t img_flags;		/* how the current image came: QF_IMG_* */
	uint64_t img_time_ns;
	struct qf_proc p;
};

struct qf_cache {
	struct qf_pidmap map;
	struct qf_centry live;		/* list heads (sentinels) */
	struct qf_centry dead;
	size_t max;
	size_t max_bytes;
	size_t bytes;
	uint64_t grace_ns;
	struct qf_stats *st;		/* insertions removals garbage_collections evictions */
};

int qf_cache_init(struct qf_cache *c, size_t max, size_t max_bytes, uint64_t grace_ns,
    struct qf_stats *st);
void qf_cache_free(struct qf_cache *c);
struct qf_centry *qf_cache_get(struct qf_cache *c, uint32_t pid);
/* A fresh entry for pid (the pid must not be cached). NULL on ENOMEM. */
struct qf_centry *qf_cache_add(struct qf_cache *c, uint32_t pid);
/*
 * Recounts e's bytes after it changed, then evicts other entries (never e)
 * while the cache is over its byte bound.
 */
void qf_cache_account(struct qf_cache *c, struct qf_centry *e);
void qf_cache_touch(struct qf_cache *c, struct qf_centry *e);
void qf_cache_mark_exited(struct qf_cache *c, struct qf_centry *e, uint64_t now_mono_ns);
void qf_cache_remove(struct qf_cache *c, struct qf_centry *e);
/* Collects exited entries older than the grace time. */
void qf_cache_gc(struct qf_cache *c, uint64_t now_mono_ns);

#endif
