/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Turns the fixed-depth walks the kprobes fetched (dentry pointers and
 * names, mount roots, parent mounts; kernfs nodes) into paths, the way
 * d_path() would have built them in the kernel.
 */
#ifndef QF_KPROBE_PATH_H
#define QF_KPROBE_PATH_H

#include <stdint.h>

#include "blob.h"
#include "kprobe_defs.h"

/*
 * The absolute path of a walk, stopping at the task's root (root_d,
 * root_m; 0 when unknown). A walk that ran out of levels before reaching a
 * root gives its deepest components without the leading '/', flagged
 * TRUNCATED with orig_len 0xFFFFFFFF (FORMAT.md), and sets *truncated.
 * NULL when the walk is unusable (a fetch faulted).
 */
struct qf_blob *kp_path_blob(const struct kp_pathv *pv, uint64_t root_d, uint64_t root_m,
    long mount_mnt_off, int *truncated);

/* The cgroup v2 path of a kernfs walk ("/" for the root cgroup). */
struct qf_blob *kp_cgroup_blob(const struct kp_vals *v, int *truncated);

#endif
