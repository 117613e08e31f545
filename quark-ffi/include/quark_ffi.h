/* SPDX-License-Identifier: Apache-2.0 */
/*
 * quark-ffi: process events from the kernel (fork, exec, exit), aggregated
 * and cached in the design of Elastic's quark, handed out as binary batches
 * (see quark_ffi_format.h and FORMAT.md).
 *
 * The surface is kept to integers, pointers and caller-owned buffers so any
 * FFI (ffi-rs here) can call it. Every function returning int returns a
 * negative errno on failure.
 *
 * Threads: one thread may block in qf_poll() while others call qf_stats(),
 * qf_lookup() and qf_backend(); the handle's state is behind a mutex that
 * qf_poll() does not hold while it waits. qf_close() may be called while
 * another thread is inside qf_poll(): it wakes that poll (which returns
 * -ECANCELED) and waits for it to leave before freeing. After qf_close()
 * starts, the handle must not be passed to any function again.
 */
#ifndef QUARK_FFI_H
#define QUARK_FFI_H

#include <stddef.h>
#include <stdint.h>

#include "quark_ffi_format.h"

#ifdef __cplusplus
extern "C" {
#endif

/* qf_options.backends: which backends qf_open() may try, eBPF first. */
#define QF_BACKEND_EBPF		0x1u
#define QF_BACKEND_KPROBE	0x2u
#define QF_BACKEND_ALL		(QF_BACKEND_EBPF | QF_BACKEND_KPROBE)

/* qf_options.flags */
#define QF_OPT_SNAPSHOT		0x1u	/* emit the initial /proc snapshot as records */

/* Defaults used for a zero (or, for hold_time_ms, negative) option. */
#define QF_DEFAULT_HOLD_MS	1000
#define QF_DEFAULT_RING_BYTES	(8u * 1024u * 1024u)
#define QF_DEFAULT_MAX_CACHE	65536u
#define QF_DEFAULT_MAX_PENDING	10000u
#define QF_DEFAULT_GRACE_MS	4000u
#define QF_DEFAULT_CACHE_MIB	256u
#define QF_DEFAULT_PENDING_MIB	128u
#define QF_DEFAULT_SNAPSHOT_MS	2000u

/*
 * Upper limits qf_open() accepts (it refuses larger values with a reason
 * naming the field): tables are sized from these, and the hold-time
 * arithmetic must not overflow.
 */
#define QF_LIMIT_HOLD_MS	60000
#define QF_LIMIT_RING_BYTES	(1024u * 1024u * 1024u)
#define QF_LIMIT_MAX_CACHE	4194304u	/* the kernel's PID_MAX_LIMIT */
#define QF_LIMIT_MAX_PENDING	1000000u
#define QF_LIMIT_GRACE_MS	3600000u
#define QF_LIMIT_MIB		65536u		/* 64 GiB, for either byte bound */
#define QF_LIMIT_SNAPSHOT_MS	600000u

/*
 * All fields are fixed-size so a caller can build this in a byte buffer:
 *   0 u32 size            sizeof(struct qf_options) as the caller knows it
 *   4 u32 backends        QF_BACKEND_* mask; 0 means QF_BACKEND_ALL
 *   8 u32 flags           QF_OPT_*
 *  12 i32 hold_time_ms    <0 default (1000), 0 no holding (no aggregation)
 *  16 u32 ring_bytes      eBPF ring buffer size, rounded up to a power of 2
 *  20 u32 max_cache       process cache bound (entries)
 *  24 u32 max_pending     held-record bound; hold time shrinks towards it
 *  28 u32 cache_grace_ms  how long an exited process stays in the cache
 *  32 u32 max_cache_mib   process cache bound in MiB of strings (0: 256)
 *  36 u32 max_pending_mib held + ready records bound in MiB (0: 128)
 *  40 u32 snapshot_ms     time budget of the /proc snapshot (0: 2000)
 *  44 u32 reserved        0
 * A caller built against the 32-byte version passes size 32: the fields
 * after it take their defaults.
 */
struct qf_options {
	uint32_t size;
	uint32_t backends;
	uint32_t flags;
	int32_t  hold_time_ms;
	uint32_t ring_bytes;
	uint32_t max_cache;
	uint32_t max_pending;
	uint32_t cache_grace_ms;
	uint32_t max_cache_mib;
	uint32_t max_pending_mib;
	uint32_t snapshot_ms;
	uint32_t reserved;
};

struct qf_handle;

/* Fills *opts with the defaults (snapshot on, all backends). */
void qf_options_init(struct qf_options *opts);

/*
 * Opens a backend (eBPF, then kprobe, as allowed by opts->backends; NULL opts
 * means defaults), attaches it, then scrapes /proc into the cache. Returns
 * NULL with a human-readable reason in err (always NUL-terminated when
 * errlen > 0); when several backends were tried, err names each failure.
 */
struct qf_handle *qf_open(const struct qf_options *opts, char *err, size_t errlen);

/*
 * Waits up to timeout_ms (-1 forever, 0 don't wait) for records whose hold
 * time has passed, and writes one batch of them into buf. Returns the batch
 * length in bytes, 0 on timeout with nothing to report, or a negative errno:
 * -EINVAL (bad arguments), -ENOBUFS (buflen below one pending record; use at
 * least QF_MIN_POLL_BUF), -ECANCELED (qf_close() was called), or an error of
 * the backend. A batch with record_count 0 may be returned to report lost
 * events.
 */
int qf_poll(struct qf_handle *h, uint8_t *buf, size_t buflen, int timeout_ms);

/*
 * For a clean stop: releases every held record at once, and from now on
 * whatever the backend still delivers too, so the next qf_poll() calls (with
 * timeout 0, until one returns 0) hand out everything without waiting for
 * the hold time. Returns the number of records now pending, or -EINVAL.
 */
int qf_flush(struct qf_handle *h);

/* Writes a struct qf_stats (truncated to outlen). Returns bytes written. */
int qf_stats(struct qf_handle *h, uint8_t *out, size_t outlen);

/*
 * Writes a batch holding one PROCESS record (flag QF_REC_LOOKUP) with the
 * cache's latest state of pid. Returns its length, -ENOENT when the cache
 * does not know pid, -ENOBUFS when buf is too small.
 */
int qf_lookup(struct qf_handle *h, int32_t pid, uint8_t *buf, size_t buflen);

/* "ebpf" or "kprobe": the backend in use (static string). */
const char *qf_backend(struct qf_handle *h);

/* QF_FORMAT_VERSION, so a binding can refuse a library it cannot read. */
int qf_format_version(void);

/* Detaches, frees everything. NULL is accepted. */
void qf_close(struct qf_handle *h);

#ifdef __cplusplus
}
#endif

#endif /* QUARK_FFI_H */
