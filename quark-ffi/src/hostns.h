/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The library must run in the host's (initial) pid namespace: both backends
 * and the /proc snapshot identify processes by their pid there (the kprobe
 * backend joins exec samples by the perf sample's pid, which is
 * namespace-local; the snapshot takes pids from /proc).
 */
#ifndef QF_HOSTNS_H
#define QF_HOSTNS_H

#include <stddef.h>

/* 0 in the initial pid namespace with its /proc; else -EPERM/-errno and a reason in err. */
int qf_check_host_pidns(char *err, size_t errlen);

#endif
