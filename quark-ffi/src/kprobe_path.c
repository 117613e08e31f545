// SPDX-License-Identifier: Apache-2.0
#include <stdlib.h>
#include <string.h>

#include "quark_ffi_format.h"
#include "kprobe_path.h"


/*
 * Joins components given deepest first. Absolute paths start with '/'; a
 * truncated one keeps what fits of its end, without the leading '/'.
 */
static struct qf_blob *
join(const struct kp_str *comps, int n, int absolute, int *truncated)
{
	char *buf = malloc(QF_PATH_MAX * 2 + 2), *p;
	struct qf_blob *b;
	size_t len = 0, cl;
	int i, cut = !absolute;

	if (buf == NULL)
		return NULL;
	/* built backwards from the end of buf */
	p = buf + QF_PATH_MAX * 2 + 1;
	for (i = 0; i < n; i++) {
		cl = comps[i].len;
		if (len + cl + 1 > QF_PATH_MAX) {
			cut = 1;
			break;
		}
		p -= cl;
		memcpy(p, comps[i].p, cl);
		len += cl;
		if (i + 1 < n || absolute) {
			*--p = '/';
			len++;
		}
	}
	if (absolute && !cut && n == 0) {
		*--p = '/';
		len = 1;
	}
	if (cut && len > 0 && *p == '/') {
		p++;
		len--;
	}
	if (cut)
		*truncated = 1;
	b = qf_blob_new(p, (uint32_t)len, cut ? UINT32_MAX : (uint32_t)len,
	    cut ? QF_ITEM_F_TRUNCATED : 0);
	free(buf);
	return b;
}

struct qf_blob *
kp_path_blob(const struct kp_pathv *pv, uint64_t root_d, uint64_t root_m, long mount_mnt_off,
    int *truncated)
{
	struct kp_str comps[KP_MOUNTS * KP_LEVELS];
	uint64_t vmnt = pv->mnt, d, pm;
	int m, k, n = 0;

	if (!pv->have || vmnt == 0 || mount_mnt_off < 0)
		return NULL;
	for (m = 0; m < pv->nmounts; m++) {
		const struct kp_chain *ch = &pv->ch[m];

		for (k = 0;; k++) {
			if (k >= ch->nptr)
				return join(comps, n, 0, truncated);
			d = ch->ptr[k];
			if (d == 0)
				return NULL;
			if (root_d != 0 && d == root_d && vmnt == root_m)
				return join(comps, n, 1, truncated);
			if (d == pv->mroot[m])
				break;	/* top of this mount: continue in its parent */
			if (k >= ch->nname)
				return join(comps, n, 0, truncated);
			if (ch->name[k].len == 0)
				return NULL;
			comps[n++] = ch->name[k];
			/*
			 * A dentry that is its own parent without being the mount's
			 * root is a pseudo file (memfd, anonymous inode): its name is
			 * all the path there is.
			 */
			if (k + 1 < ch->nptr && ch->ptr[k + 1] == d)
				return join(comps, n, 1, truncated);
		}
		pm = pv->pmnt[m];
		/* the root mount of the namespace is its own parent */
		if (pm == 0 || pm == vmnt - (uint64_t)mount_mnt_off)
			return join(comps, n, 1, truncated);
		vmnt = pm + (uint64_t)mount_mnt_off;
	}
	return join(comps, n, 0, truncated);
}

struct qf_blob *
kp_cgroup_blob(const struct kp_vals *v, int *truncated)
{
	struct kp_str comps[KP_CG_LEVELS];
	int k, n = 0;

	if (v->ncg_ptr == 0 || v->cg_ptr[0] == 0)
		return NULL;
	for (k = 0;; k++) {
		/* the root kernfs node has no parent and is not part of the path */
		if (k + 1 >= v->ncg_ptr || k >= v->ncg_name)
			return join(comps, n, 0, truncated);
		if (v->cg_ptr[k + 1] == 0)
			return join(comps, n, 1, truncated);
		if (v->cg_name[k].len == 0)
			return NULL;
		comps[n++] = v->cg_name[k];
	}
}
