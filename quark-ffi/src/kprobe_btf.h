/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Structure offsets of the running kernel, from its BTF
 * (/sys/kernel/btf/vmlinux), for the kprobe backend's fetch arguments.
 * A kprobe cannot relocate anything itself: every "+off(...)" in a
 * kprobe_events line is a number we compute here.
 */
#ifndef QF_KPROBE_BTF_H
#define QF_KPROBE_BTF_H

#include <stddef.h>

#define KP_BTF_PATH	"/sys/kernel/btf/vmlinux"

struct kp_btf;

/* Returns 0 and *out, or -errno with a reason in err. */
int kp_btf_open(struct kp_btf **out, char *err, size_t errlen);
void kp_btf_close(struct kp_btf *b);

/*
 * Byte offset of a member path such as "task_struct.real_cred" or
 * "inode.i_ctime.tv_sec" (members of anonymous structs and unions are
 * found as if they were direct members). -1 when the kernel lacks it.
 */
long kp_btf_off(struct kp_btf *b, const char *path);
/* Size in bytes of struct/union NAME, -1 when absent. */
long kp_btf_size(struct kp_btf *b, const char *name);
/* Value of enumerator VAL of enum NAME, -1 when absent. */
long kp_btf_enum(struct kp_btf *b, const char *name, const char *val);

#endif
