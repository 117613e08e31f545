/* SPDX-License-Identifier: Apache-2.0 */
/*
 * quark-test's watchdog: the cases run in a child process (the runner) while
 * the parent (the supervisor) watches the case in progress. A case that runs
 * past the limit is diagnosed (taskdump.h: every test task's state, wait
 * channel, syscall and kernel stack, to stderr), reported as failed with where
 * it hung, its processes are killed, and a new runner goes on with the next
 * case. A runner that dies in a case fails that case the same way. So one
 * stuck case can neither hang the run nor hide the cases after it.
 */
#ifndef QF_TEST_WATCHDOG_H
#define QF_TEST_WATCHDOG_H

#include <stdint.h>

/* Progress, shared between the supervisor and the runner. */
struct tw_state {
	volatile long cur;		/* item in progress, -1 between items */
	volatile uint64_t started_ms;	/* when cur began (CLOCK_MONOTONIC) */
	volatile long next;		/* first item not yet reported */
	volatile int passed, failed, skipped;
};

/* Runs items s->next .. end-1, calling tw_begin/tw_end around each. */
typedef void (*tw_runner)(struct tw_state *s, long end, void *arg);
typedef const char *(*tw_namer)(long i, void *arg);

void tw_begin(struct tw_state *s, long i);
/* Counts the verdict (0 ok, -1 failed, 1 skipped) of item i, printed before; its time to stderr. */
void tw_end(struct tw_state *s, long i, const char *name, int verdict);

/*
 * Runs n items under the watchdog (limit_s > 0) or in this process
 * (limit_s == 0), in rounds of `round` items (0: one round), each round in a
 * fresh runner process under the watchdog. Prints the closing count; returns
 * the exit status.
 */
int tw_run(long n, long round, int limit_s, tw_runner run, tw_namer name, void *arg);

#endif
