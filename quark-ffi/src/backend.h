/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The plug point for event sources. A backend turns what the kernel tells
 * it into struct qf_raw (raw.h) and hands each to the sink, in per-pid
 * causal order (fork before the child's exec before its exit): a backend
 * reading several unordered rings (per-CPU perf buffers) sorts what it read
 * by time before handing it over.
 *
 * The eBPF backend is bpf_backend.c; the kprobe backend (kprobe_backend.c)
 * fills the same struct qf_raw and clears the validity bits of what its
 * fetch arguments cannot reach.
 */
#ifndef QF_BACKEND_H
#define QF_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "quark_ffi.h"
#include "raw.h"

/* Receives one event; raw and its blobs stay owned by the backend. */
typedef void (*qf_raw_sink)(void *ctx, const struct qf_raw *raw);

struct qf_backend_counters {
	uint64_t ring_lost;	/* the kernel side could not hand an event over */
	uint64_t truncated;	/* events with something cut short */
	uint64_t decode_errors;	/* events the backend could not decode */
	uint64_t out_of_order;	/* samples read after newer ones were handed on */
	uint64_t kernel_skipped;	/* probe runs the kernel skipped (a program re-entered) */
};

struct qf_backend_ops {
	const char *name;	/* "ebpf", "kprobe" */
	uint16_t source;	/* QF_SOURCE_* */
	/* Loads and attaches. Returns 0 and *state, or -errno with a reason in err. */
	int (*open)(const struct qf_options *o, qf_raw_sink sink, void *sink_ctx,
	    void **state, char *err, size_t errlen);
	/* A descriptor that polls readable when events are waiting. */
	int (*fd)(void *state);
	/*
	 * Hands up to max events that are waiting to the sink without blocking.
	 * Returns how many it handed over, or -errno.
	 */
	int (*drain)(void *state, int max);
	void (*counters)(void *state, struct qf_backend_counters *c);
	void (*close)(void *state);
};

extern const struct qf_backend_ops qf_bpf_backend;
extern const struct qf_backend_ops qf_kprobe_backend;

#endif
