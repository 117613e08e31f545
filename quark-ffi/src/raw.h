/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The backend-neutral view of a process and of one kernel event.
 *
 * struct qf_proc is the state of one process: the numeric fields use the
 * batch format's fixed part (struct qf_process_fixed, header unused except
 * h.valid) so the encoder copies them as they are, and the strings are
 * shared blobs. It serves the cache entry, the held record and the raw event.
 *
 * struct qf_raw is what every backend hands to the library: one fork, exec
 * or exit, with the validity bits of what that backend could read. The eBPF
 * backend (bpf_backend.c) and the kprobe backend (kprobe_backend.c) both
 * fill it; nothing after them knows which one did, except p.fx.source.
 */
#ifndef QF_RAW_H
#define QF_RAW_H

#include <stdint.h>

#include "quark_ffi_format.h"
#include "blob.h"

struct qf_image {
	struct qf_blob *exe;
	struct qf_blob *argv;
	struct qf_blob *comm;
	struct qf_blob *filename;
	uint64_t time_ns;
	uint64_t exe_ino;
	uint32_t exe_dev_major;
	uint32_t exe_dev_minor;
	uint32_t pid;
	uint32_t argc;
	uint32_t flags;		/* QF_IMG_* */
};

struct qf_proc {
	struct qf_process_fixed fx;	/* fx.h.valid = QF_VALID_* */
	struct qf_blob *comm;
	struct qf_blob *exe;
	struct qf_blob *filename;
	struct qf_blob *argv;
	struct qf_blob *cwd;
	struct qf_blob *cgroup;
	struct qf_image prev[QF_MAX_PREVIOUS];	/* newest first */
	uint32_t nprev;
};

enum qf_raw_kind {
	QF_RAW_FORK = 1,
	QF_RAW_EXEC = 2,
	QF_RAW_EXIT = 3,
};

struct qf_raw {
	enum qf_raw_kind kind;
	uint64_t time_ns;	/* boot ns */
	struct qf_proc p;	/* prev unused */
};

void qf_proc_init(struct qf_proc *p);
/* Drops every blob reference; p can be reused after qf_proc_init(). */
void qf_proc_clear(struct qf_proc *p);
/* dst (cleared first) becomes a copy of src sharing its blobs. */
void qf_proc_copy(struct qf_proc *dst, const struct qf_proc *src);
/*
 * Copies into dst the field groups src->fx.h.valid names and the strings
 * src has; dst keeps what src lacks. Previous images are not touched.
 */
void qf_proc_merge(struct qf_proc *dst, const struct qf_proc *src);
/*
 * Pushes dst's current image (exe, argv, comm) in front of dst->prev. An
 * image keeps only the QF_PREV_ARGV_MAX bytes of argv the format encodes.
 */
void qf_proc_push_image(struct qf_proc *dst, uint32_t img_flags, uint64_t time_ns);
/* dst->prev becomes a copy of src->prev. */
void qf_proc_copy_prev(struct qf_proc *dst, const struct qf_proc *src);
void qf_proc_drop_prev(struct qf_proc *p);
/* Forgets the current image (exe, argv, filename, file facts): an exec replaces all of it. */
void qf_proc_drop_image(struct qf_proc *p);

void qf_image_clear(struct qf_image *img);

/* Bytes p and its strings take (shared strings counted in full: an upper bound). */
size_t qf_proc_bytes(const struct qf_proc *p);

/* Argument count of a NUL-separated argv area. */
uint32_t qf_count_args(const struct qf_blob *argv);
/* Fills exit_code, exit_signal and the EXIT bit from a raw wait status. */
void qf_proc_set_exit_status(struct qf_proc *p, uint32_t status, uint64_t time_ns);

#endif
