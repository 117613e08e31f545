// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "taskdump.h"
#include "watchdog.h"
#include "clock_ms.h"

#define DIAG_LIMIT_MS	10000	/* reading /proc for the diagnosis, at most */
#define KILL_WAIT_MS	5000	/* for the killed tasks to go */
#define WHERE_LEN	1200	/* bytes of the diagnosis in the result line */

void
tw_begin(struct tw_state *s, long i)
{
	s->started_ms = tclock_ms();
	__sync_synchronize();
	s->cur = i;
	__sync_synchronize();
}

void
tw_end(struct tw_state *s, long i, const char *name, int verdict)
{
	/* the case's line is out before the supervisor may count past it */
	fflush(stdout);
	fprintf(stderr, "quark-test: %s: %llu ms\n", name, (unsigned long long)(tclock_ms() - s->started_ms));
	if (verdict == 0)
		s->passed++;
	else if (verdict > 0)
		s->skipped++;
	else
		s->failed++;
	__sync_synchronize();
	s->next = i + 1;
	s->cur = -1;
	__sync_synchronize();
}

/* Reaps every child that ended (orphans adopted as subreaper too); notes the runner's end. */
static void
reap_any(pid_t runner, int *status, int *done)
{
	pid_t w;
	int st;

	while ((w = waitpid(-1, &st, WNOHANG)) > 0) {
		if (w == runner) {
			*status = st;
			*done = 1;
		}
	}
}

static void
describe(int st, char *out, size_t cap)
{
	if (WIFSIGNALED(st))
		snprintf(out, cap, "was killed by signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
	else
		snprintf(out, cap, "exited with status %d", WEXITSTATUS(st));
}

/*
 * SIGKILLs every task below us until none is left or KILL_WAIT_MS passed;
 * returns how many are left (in pids): tasks stuck where SIGKILL cannot reach.
 */
static int
kill_tree(pid_t self, pid_t runner, int *status, int *done, pid_t *pids)
{
	uint64_t end = tclock_ms() + KILL_WAIT_MS;
	int n, i;

	for (;;) {
		n = td_descendants(self, pids, TD_MAX_PIDS);
		for (i = 0; i < n; i++)
			kill(pids[i], SIGKILL);
		reap_any(runner, status, done);
		if (n == 0 || tclock_ms() >= end)
			break;
		usleep(100 * 1000);
	}
	reap_any(runner, status, done);
	return td_descendants(self, pids, TD_MAX_PIDS);
}

static volatile sig_atomic_t terminated;

static void
on_term(int sig)
{
	terminated = sig;
}

/*
 * The case in progress overran the limit, or the run is being stopped
 * (SIGTERM: the caller's time limit): diagnose, kill, report the case failed
 * with where it was.
 */
static void
hung(struct tw_state *s, int limit_s, pid_t runner, int *status, int *done, tw_namer name, void *arg)
{
	static pid_t pids[TD_MAX_PIDS];
	static char where[WHERE_LEN], left[WHERE_LEN], what[128];
	pid_t self = getpid();
	uint64_t secs = (tclock_ms() - s->started_ms) / 1000;
	long i = s->cur;
	int n;

	if (terminated)
		snprintf(what, sizeof(what), "stopped by signal %d after %llu s (the run's time limit)",
		    (int)terminated, (unsigned long long)secs);
	else
		snprintf(what, sizeof(what), "hung for %llu s (watchdog, limit %d s)", (unsigned long long)secs,
		    limit_s);
	fflush(stdout);
	fprintf(stderr, "quark-test: watchdog: %s %s; its tasks:\n", name(i, arg), what);
	n = td_descendants(self, pids, TD_MAX_PIDS);
	/* stopped: the caller's SIGKILL may follow soon, so the reading gets less time */
	td_diagnose(pids, n, runner, STDERR_FILENO, where, sizeof(where),
	    terminated ? DIAG_LIMIT_MS / 4 : DIAG_LIMIT_MS, NULL);
	left[0] = 0;
	n = kill_tree(self, runner, status, done, pids);
	if (n > 0 && !terminated) {
		fprintf(stderr, "quark-test: watchdog: still there %d s after SIGKILL:\n", KILL_WAIT_MS / 1000);
		td_diagnose(pids, n, runner, STDERR_FILENO, left, sizeof(left), DIAG_LIMIT_MS, NULL);
	}
	/* the runner may have ended the case in the meantime: report only what it left unfinished */
	i = s->cur;
	if (i < 0)
		return;
	printf("not ok %s: %s; stacks on stderr: %s%s%s\n", name(i, arg), what, where,
	    left[0] ? "; still there after SIGKILL: " : "", left);
	fflush(stdout);
	s->failed++;
	s->next = i + 1;
	s->cur = -1;
}

static int
closing(const struct tw_state *s, int rc)
{
	printf("%d passed, %d failed, %d skipped\n", s->passed, s->failed, s->skipped);
	fflush(stdout);
	return s->failed ? 1 : rc;
}

/* The end of the round item i belongs to. */
static long
round_end(long i, long n, long round)
{
	long end = round > 0 ? (i / round + 1) * round : n;

	return end < n ? end : n;
}

int
tw_run(long n, long round, int limit_s, tw_runner run, tw_namer name, void *arg)
{
	static struct tw_state local;
	static pid_t pids[TD_MAX_PIDS];
	struct tw_state *s = &local;
	pid_t self = getpid(), runner;
	char how[128];
	int rc = 0;

	if (limit_s > 0) {
		s = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (s == MAP_FAILED) {
			fprintf(stderr, "quark-test: watchdog off: mmap: %s\n", strerror(errno));
			s = &local;
			limit_s = 0;
		}
	}
	memset(s, 0, sizeof(*s));
	s->cur = -1;
	if (limit_s == 0) {
		while (s->next < n)
			run(s, round_end(s->next, n, round), arg);
		return closing(s, 0);
	}
	/* a hung case's orphans come to us, to be found, diagnosed and killed */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	{
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_term;
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
	}
	while (s->next < n && !terminated) {
		long before = s->next;
		int status = 0, done = 0, overran = 0;

		fflush(stdout);
		fflush(stderr);
		runner = fork();
		if (runner < 0) {
			fprintf(stderr, "quark-test: watchdog: fork: %s\n", strerror(errno));
			rc = 1;
			break;
		}
		if (runner == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != self)
				_exit(1);
			signal(SIGTERM, SIG_DFL);
			signal(SIGINT, SIG_DFL);
			/*
			 * Its own process group: a signal to ours (timeout(1), ^C) reaches the
			 * supervisor alone, which says where the case was before it stops it.
			 */
			setpgid(0, 0);
			run(s, round_end(s->next, n, round), arg);
			exit(0);
		}
		while (!done) {
			usleep(100 * 1000);
			reap_any(runner, &status, &done);
			if (!done && terminated) {
				/* where the time went, then stop: no new runner */
				if (s->cur >= 0)
					hung(s, limit_s, runner, &status, &done, name, arg);
				else
					kill_tree(self, runner, &status, &done, pids);
				overran = 1;
				break;
			}
			if (!done && s->cur >= 0 && tclock_ms() - s->started_ms >= (uint64_t)limit_s * 1000) {
				hung(s, limit_s, runner, &status, &done, name, arg);
				overran = 1;
				break;
			}
		}
		if (overran)
			continue;	/* reported; a runner SIGKILL could not end stays behind */
		describe(status, how, sizeof(how));
		if (s->cur >= 0) {
			printf("not ok %s: the test process %s during the case\n", name(s->cur, arg), how);
			s->failed++;
			s->next = s->cur + 1;
			s->cur = -1;
			kill_tree(self, runner, &status, &done, pids);
		} else if (s->next == before) {
			printf("not ok %s: the test process %s before the case began\n", name(s->next, arg), how);
			s->failed++;
			s->next++;
		} else if (status != 0) {
			/* after its last case: a sanitizer's leak report, say */
			fprintf(stderr, "quark-test: the test process %s after case %ld of %ld\n", how, s->next, n);
			rc = 1;
		}
	}
	rc = closing(s, rc);
	return terminated ? 128 + (int)terminated : rc;
}
