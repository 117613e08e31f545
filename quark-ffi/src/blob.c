// SPDX-License-Identifier: Apache-2.0
#include <stdlib.h>
#include <string.h>

#include "quark_ffi_format.h"
#include "blob.h"

struct qf_blob *
qf_blob_new(const void *data, uint32_t len, uint32_t orig_len, uint16_t flags)
{
	struct qf_blob *b = malloc(sizeof(*b) + len + 1);

	if (b == NULL)
		return NULL;
	b->refs = 1;
	b->len = len;
	b->orig_len = orig_len;
	b->flags = flags;
	b->pad = 0;
	if (len > 0)
		memcpy(b->data, data, len);
	b->data[len] = 0;	/* so a path can be handed to libc as is */
	return b;
}

struct qf_blob *
qf_blob_ref(struct qf_blob *b)
{
	if (b != NULL)
		b->refs++;
	return b;
}

void
qf_blob_unref(struct qf_blob *b)
{
	if (b != NULL && --b->refs == 0)
		free(b);
}

void
qf_blob_set(struct qf_blob **slot, struct qf_blob *b)
{
	struct qf_blob *old = *slot;

	*slot = qf_blob_ref(b);
	qf_blob_unref(old);
}
