/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Immutable, reference-counted byte strings. An argv of 64 KiB is shared by
 * the raw event, the held record, the cache entry and the previous images
 * instead of being copied into each. Only used under the handle's mutex, so
 * the count is a plain integer.
 */
#ifndef QF_BLOB_H
#define QF_BLOB_H

#include <stdint.h>

struct qf_blob {
	uint32_t refs;
	uint32_t len;
	uint32_t orig_len;	/* before truncation */
	uint16_t flags;		/* QF_ITEM_F_* */
	uint16_t pad;
	char data[];
};

/* Returns NULL on allocation failure. */
struct qf_blob *qf_blob_new(const void *data, uint32_t len, uint32_t orig_len, uint16_t flags);
struct qf_blob *qf_blob_ref(struct qf_blob *b);	/* NULL-safe */
void qf_blob_unref(struct qf_blob *b);		/* NULL-safe */
/* Replaces *slot with b (taking a new reference), dropping the old one. */
void qf_blob_set(struct qf_blob **slot, struct qf_blob *b);

#endif
