/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What a set of processes is doing, from /proc: for quark-test's watchdog,
 * which must say where a case that stopped making progress is stuck. The
 * reading itself can block (a /proc file of a task stuck in exit or exec can
 * wait on that task's locks), so it runs in a helper process under a time
 * limit, and when that limit passes the answer names the file that blocked.
 */
#ifndef QF_TEST_TASKDUMP_H
#define QF_TEST_TASKDUMP_H

#include <stddef.h>
#include <sys/types.h>

#define TD_MAX_PIDS	256

/* The parent pid /proc/<pid>/stat shows, or -1 when it cannot be read. */
int td_ppid(const char *pid);

/* The processes below root (children, theirs, ...), at most max; returns how many. */
int td_descendants(pid_t root, pid_t *out, int max);

/* What the stacks showed: threads read, and how many had these on their kernel stack. */
struct td_found {
	int threads;
	int in_exit;	/* do_exit: the task is ending */
	int in_bpf;	/* a BPF program or its trampoline */
};

/*
 * For every thread of every pid: state, wchan, syscall and kernel stack,
 * written to fd (the full dump); sum gets one line naming each thread's state
 * and wait channel, focus's threads first; found (may be NULL) what the stacks
 * showed. Bounded by limit_ms; returns 0, or -1 when the reading did not finish
 * in time (sum then says which file it was reading, after whatever it had
 * gathered).
 */
int td_diagnose(const pid_t *pids, int n, pid_t focus, int fd, char *sum, size_t sumlen,
    int limit_ms, struct td_found *found);

#endif
