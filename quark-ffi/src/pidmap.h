/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pid -> node hash, intrusive: the caller embeds struct qf_pidnode in its
 * own object and owns that object; the map only links it. Grows by doubling.
 */
#ifndef QF_PIDMAP_H
#define QF_PIDMAP_H

#include <stddef.h>
#include <stdint.h>

struct qf_pidnode {
	struct qf_pidnode *next;
	uint32_t pid;
};

struct qf_pidmap {
	struct qf_pidnode **buckets;
	size_t nbuckets;	/* power of two */
	size_t count;
};

int qf_pidmap_init(struct qf_pidmap *m, size_t hint);
void qf_pidmap_free(struct qf_pidmap *m);	/* frees the table, not the nodes */
struct qf_pidnode *qf_pidmap_get(const struct qf_pidmap *m, uint32_t pid);
/* The pid must not be present. Returns -ENOMEM when growing failed (node still inserted). */
int qf_pidmap_put(struct qf_pidmap *m, struct qf_pidnode *n);
void qf_pidmap_del(struct qf_pidmap *m, struct qf_pidnode *n);

#endif
