/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers of quark-test: a strict decoder of the batch format (it checks
 * every length and alignment FORMAT.md promises, so the tests also test the
 * encoder), a store of decoded records, and waiting for records.
 */
#ifndef QF_TEST_UTIL_H
#define QF_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "quark_ffi.h"

struct tstr {
	char *data;		/* NUL-terminated copy, NULL when the item was absent */
	uint32_t len;
	uint32_t orig_len;
	uint16_t flags;
};

struct timage {
	uint32_t flags;
	uint64_t time_ns;
	uint32_t pid;
	uint32_t argc;
	struct tstr comm, exe, argv, filename;
};

struct trec {
	struct qf_process_fixed fx;	/* fx.h.flags, fx.h.valid as decoded */
	struct tstr comm, exe, filename, argv, cwd, cgroup;
	struct timage prev[QF_MAX_PREVIOUS];
	uint32_t nprev;
};

struct tstore {
	struct trec *recs;
	size_t n, cap;
	uint64_t lost;		/* sum of batch lost_count */
	uint64_t batches;
};

/*
 * Decodes one batch into the store. Returns 0, or -1 with a reason in why
 * when the batch breaks a rule of FORMAT.md.
 */
int tdecode(struct tstore *st, const uint8_t *buf, size_t len, char *why, size_t whylen);
void tstore_free(struct tstore *st);

/* Polls h into st until pred matches a record or timeout_ms passes. Returns the index or -1. */
typedef int (*tpred)(const struct trec *r, const void *arg);
long twait(struct qf_handle *h, struct tstore *st, tpred pred, const void *arg, int timeout_ms,
    char *why, size_t whylen);

/* Predicates: record of pid carrying EXIT; any record of pid. */
int tpred_exit_of(const struct trec *r, const void *pidp);
int tpred_pid(const struct trec *r, const void *pidp);

/* The i-th argument (0-based) of an argv item, or NULL. */
const char *targ(const struct tstr *argv, uint32_t i);

/* Starts argv[0] with argv in a child; returns the pid. */
pid_t tspawn(char *const argv[]);
/* Waits for a child; returns its wait status, -1 on error. */
int treap(pid_t pid);

/* Copies a file; returns 0 or -errno. */
int tcopy_file(const char *from, const char *to, mode_t mode);

/* Removes a directory tree (symlinks are not followed). */
void trm_rf(const char *path);

#endif
