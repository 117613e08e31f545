// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/btf.h>

#include "kprobe_btf.h"

struct kp_btf {
	struct btf *btf;
};

int
kp_btf_open(struct kp_btf **out, char *err, size_t errlen)
{
	struct kp_btf *b;
	int r;

	*out = NULL;
	if (access(KP_BTF_PATH, R_OK) != 0) {
		r = -errno;
		snprintf(err, errlen, "no BTF at %s (%s)", KP_BTF_PATH, strerror(-r));
		return r;
	}
	b = calloc(1, sizeof(*b));
	if (b == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	b->btf = btf__parse(KP_BTF_PATH, NULL);
	if (b->btf == NULL) {
		r = -errno;
		snprintf(err, errlen, "cannot parse BTF at %s: %s", KP_BTF_PATH, strerror(-r));
		free(b);
		return r;
	}
	*out = b;
	return 0;
}

void
kp_btf_close(struct kp_btf *b)
{
	if (b == NULL)
		return;
	btf__free(b->btf);
	free(b);
}

/* Follows typedefs and qualifiers to the type they name. */
static const struct btf_type *
skip_mods(const struct btf *btf, __u32 id, __u32 *out_id)
{
	const struct btf_type *t = btf__type_by_id(btf, id);

	while (t != NULL && (btf_is_mod(t) || btf_is_typedef(t))) {
		id = t->type;
		t = btf__type_by_id(btf, id);
	}
	if (out_id != NULL)
		*out_id = id;
	return t;
}

/*
 * Looks for member NAME in composite type T, descending into anonymous
 * members. Returns the bit offset and the member's type id, or -1.
 */
static long
find_member(const struct btf *btf, const struct btf_type *t, const char *name, __u32 *type_id)
{
	const struct btf_member *m = btf_members(t);
	__u16 i, n = btf_vlen(t);

	for (i = 0; i < n; i++, m++) {
		const char *mname = btf__name_by_offset(btf, m->name_off);
		long off = (long)btf_member_bit_offset(t, i);

		if (mname != NULL && mname[0] != 0) {
			if (strcmp(mname, name) == 0) {
				*type_id = m->type;
				return off;
			}
			continue;
		}
		/* anonymous struct or union: its members belong to t */
		{
			const struct btf_type *inner = skip_mods(btf, m->type, NULL);
			long sub;

			if (inner == NULL || !btf_is_composite(inner))
				continue;
			sub = find_member(btf, inner, name, type_id);
			if (sub >= 0)
				return off + sub;
		}
	}
	return -1;
}

static const struct btf_type *
find_composite(const struct btf *btf, const char *name)
{
	__s32 id = btf__find_by_name_kind(btf, name, BTF_KIND_STRUCT);

	if (id < 0)
		id = btf__find_by_name_kind(btf, name, BTF_KIND_UNION);
	if (id < 0)
		return NULL;
	return btf__type_by_id(btf, (__u32)id);
}

long
kp_btf_off(struct kp_btf *b, const char *path)
{
	char buf[256], *tok, *save = NULL;
	const struct btf_type *t;
	long bits = 0, off;
	__u32 tid;

	if (strlen(path) >= sizeof(buf))
		return -1;
	snprintf(buf, sizeof(buf), "%s", path);
	tok = strtok_r(buf, ".", &save);
	if (tok == NULL || (t = find_composite(b->btf, tok)) == NULL)
		return -1;
	while ((tok = strtok_r(NULL, ".", &save)) != NULL) {
		if (t == NULL || !btf_is_composite(t))
			return -1;
		off = find_member(b->btf, t, tok, &tid);
		if (off < 0)
			return -1;
		bits += off;
		t = skip_mods(b->btf, tid, NULL);
	}
	/* fetch arguments address bytes; a bitfield member is not one of ours */
	if (bits % 8 != 0)
		return -1;
	return bits / 8;
}

long
kp_btf_size(struct kp_btf *b, const char *name)
{
	const struct btf_type *t = find_composite(b->btf, name);

	return t != NULL ? (long)t->size : -1;
}

long
kp_btf_enum(struct kp_btf *b, const char *name, const char *val)
{
	const struct btf_type *t;
	const struct btf_enum *e;
	__s32 id;
	__u16 i;

	id = btf__find_by_name_kind(b->btf, name, BTF_KIND_ENUM);
	if (id < 0)
		return -1;
	t = btf__type_by_id(b->btf, (__u32)id);
	e = btf_enum(t);
	for (i = 0; i < btf_vlen(t); i++, e++)
		if (strcmp(btf__name_by_offset(b->btf, e->name_off), val) == 0)
			return (long)e->val;
	return -1;
}
