/* SPDX-License-Identifier: Apache-2.0 */
/*
 * quark-test cases about who a process is and where it comes from: thread
 * exits, unusual ways to fork, reparenting, credentials changed without an
 * exec, deep pid namespaces, kernel threads, and the pid namespace the
 * library itself runs in. Included once by quark_test.c, after its helpers
 * (struct ctx, CHECK, twait, marker_pred), and listed by LINEAGE_CASES.
 */
#ifndef QF_CASES_LINEAGE_H
#define QF_CASES_LINEAGE_H

#include <dirent.h>
#include <poll.h>
#include <sys/prctl.h>

#include "taskdump.h"

/* What a child tells the test through a pipe. */
struct lin_report {
	int32_t host_pid;
	int32_t host_ppid;
	uint64_t pidns_ino;
	int32_t tid;
	int32_t err;		/* errno of a failed step, 0 ok */
	int32_t step;		/* which step failed */
	char msg[200];
};

static int
never(const struct trec *r, const void *arg)
{
	(void)r;
	(void)arg;
	return 0;
}

/* Keeps polling for ms, so that late or duplicate records reach the store. */
static void
lin_settle(struct ctx *c, int ms)
{
	char scratch[WHY_LEN];

	twait(c->h, &c->st, never, NULL, ms, scratch, sizeof(scratch));
}

/* lin_reap's answer for a child that did not end within REAP_TIMEOUT_S (killed). */
#define LIN_REAP_STUCK	(-2)

/*
 * Waits for a child while draining the library, so that a child that takes
 * its time does not leave the ring to fill up with the rest of the host's
 * events (a busy shared machine). Returns the wait status, -1 on error.
 */
#define REAP_TIMEOUT_S	30

/*
 * SIGKILL to pid and everything below it (a pid namespace's init too), then
 * reap pid for at most 2 s: a task stuck in the kernel may never go.
 */
static void
lin_kill(pid_t pid)
{
	pid_t below[TD_MAX_PIDS];
	int i, n = td_descendants(pid, below, TD_MAX_PIDS);

	kill(pid, SIGKILL);
	for (i = 0; i < n; i++)
		kill(below[i], SIGKILL);
	for (i = 0; i < 200; i++) {
		if (waitpid(pid, NULL, WNOHANG) != 0)
			return;
		usleep(10 * 1000);
	}
}

/*
 * A child that did not get on within REAP_TIMEOUT_S: where its tasks are
 * (one line in why, the kernel stacks on stderr), then it and everything
 * below it are killed. Skips when the stacks prove a stall of the kernel or
 * the emulator that we play no part in: a task inside the kernel's exit
 * (do_exit) and no BPF program on any stack (the library holds nothing of a
 * task: no pidfd, no /proc file open after qf_open). Fails otherwise.
 */
static int
lin_stuck(struct ctx *c, pid_t pid, const char *what)
{
	pid_t pids[TD_MAX_PIDS];
	char sum[WHY_LEN - 256];
	struct td_found f;
	int n;

	pids[0] = pid;
	n = 1 + td_descendants(pid, pids + 1, TD_MAX_PIDS - 1);
	fprintf(stderr, "quark-test: %s after %d s; its tasks:\n", what, REAP_TIMEOUT_S);
	memset(&f, 0, sizeof(f));
	td_diagnose(pids, n, pid, STDERR_FILENO, sum, sizeof(sum), 10000, &f);
	lin_kill(pid);
	if (f.in_exit > 0 && f.in_bpf == 0)
		return why(c, T_SKIP, "%s after %d s (killed): %d of %d threads stuck in the kernel's exit "
		    "(do_exit), no BPF program on any stack, so a kernel or emulator stall: %s", what,
		    REAP_TIMEOUT_S, f.in_exit, f.threads, sum);
	return why(c, T_FAIL, "%s after %d s (killed; %d threads, %d in do_exit, %d in BPF): %s", what,
	    REAP_TIMEOUT_S, f.threads, f.in_exit, f.in_bpf, sum);
}

/* Bounded: a stuck child is diagnosed and killed (lin_stuck; its verdict in *verdict). */
static int
lin_reap(struct ctx *c, pid_t pid, int *verdict)
{
	char scratch[WHY_LEN];
	uint64_t end = tclock_ms() + REAP_TIMEOUT_S * 1000;
	int status;
	pid_t r;

	for (;;) {
		r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return status;
		if (r < 0 && errno != EINTR)
			return -1;
		if (tclock_ms() >= end) {
			/* A child stuck in its own exit must not hang the whole run. */
			*verdict = lin_stuck(c, pid, "a test process did not finish");
			return LIN_REAP_STUCK;
		}
		twait(c->h, &c->st, never, NULL, 20, scratch, sizeof(scratch));
	}
}

/*
 * Reads len bytes a child sends through a pipe, draining the library
 * meanwhile, for at most REAP_TIMEOUT_S: then the child is diagnosed and
 * killed (lin_stuck; verdict in *verdict) and LIN_REAP_STUCK returned. Returns
 * the bytes read otherwise (0: the child closed the pipe without a word).
 */
static ssize_t
lin_read(struct ctx *c, int fd, void *buf, size_t len, pid_t child, int *verdict)
{
	char scratch[WHY_LEN];
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	uint64_t end = tclock_ms() + REAP_TIMEOUT_S * 1000;
	ssize_t n;

	for (;;) {
		if (poll(&pfd, 1, 0) > 0) {
			n = read(fd, buf, len);
			if (n >= 0 || errno != EINTR)
				return n;
		}
		if (tclock_ms() >= end) {
			*verdict = lin_stuck(c, child, "no word from a test process");
			return LIN_REAP_STUCK;
		}
		twait(c->h, &c->st, never, NULL, 20, scratch, sizeof(scratch));
	}
}

/*
 * pids are reused within seconds on a busy host (pid_max 32768), so a
 * process is its pid and its start: records of an older life started
 * before the case did, and a later life starts after ours.
 */
struct life {
	uint32_t pid;
	uint64_t after;		/* boot ns when the case began */
};

static uint64_t
boot_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int
pred_exit_life(const struct trec *r, const void *arg)
{
	const struct life *l = arg;

	return r->fx.pid == l->pid && r->fx.start_ns >= l->after && (r->fx.h.flags & QF_REC_EXIT);
}

/* The EXIT record of pid's life that began after `after`, waiting for it. */
static long
wait_exit_life(struct ctx *c, pid_t pid, uint64_t after)
{
	struct life l = { (uint32_t)pid, after };

	return twait(c->h, &c->st, pred_exit_life, &l, WAIT_MS, c->why, WHY_LEN);
}

/* Records of pid, started at start (one life), carrying all of flags. */
static int
records_of_life(struct ctx *c, uint32_t pid, uint64_t start, uint32_t flags)
{
	size_t i;
	int n = 0;

	for (i = 0; i < c->st.n; i++)
		n += c->st.recs[i].fx.pid == pid && c->st.recs[i].fx.start_ns == start &&
		    (c->st.recs[i].fx.h.flags & flags) == flags;
	return n;
}

/* EXIT records of pid from lives that began after `after`. */
static int
exits_after(struct ctx *c, uint32_t pid, uint64_t after)
{
	size_t i;
	int n = 0;

	for (i = 0; i < c->st.n; i++)
		n += c->st.recs[i].fx.pid == pid && c->st.recs[i].fx.start_ns >= after &&
		    (c->st.recs[i].fx.h.flags & QF_REC_EXIT);
	return n;
}

/* Host pid and host ppid of the caller, from the host's /proc (whatever namespace it is in). */
static void
host_ids(struct lin_report *rep)
{
	char buf[512], *p;
	ssize_t n;
	int fd;

	n = readlink("/proc/self", buf, sizeof(buf) - 1);
	rep->host_pid = n > 0 ? (buf[n] = 0, atoi(buf)) : -1;
	fd = open("/proc/self/stat", O_RDONLY);
	n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (fd >= 0)
		close(fd);
	rep->host_ppid = -1;
	if (n > 0) {
		buf[n] = 0;
		p = strrchr(buf, ')');
		if (p != NULL)
			sscanf(p + 1, " %*c %d", &rep->host_ppid);
	}
}

/* 0, -1 when the child sent none, LIN_REAP_STUCK (child killed; verdict in *verdict). */
static int
read_report(struct ctx *c, int fd, struct lin_report *rep, pid_t child, int *verdict)
{
	ssize_t n = lin_read(c, fd, rep, sizeof(*rep), child, verdict);

	close(fd);
	if (n == LIN_REAP_STUCK)
		return LIN_REAP_STUCK;
	return n == (ssize_t)sizeof(*rep) ? 0 : -1;
}

static void
send_report(int fd, struct lin_report *rep)
{
	if (write(fd, rep, sizeof(*rep)) != (ssize_t)sizeof(*rep))
		_exit(126);
}

/* ---- threads exiting -------------------------------------------------- */

struct mt_arg {
	pthread_barrier_t *bar;
	int code;
	int delay_ms;
	int tidfd;
};

static void *
mt_exit_thread(void *p)
{
	struct mt_arg *a = p;
	pid_t tid = (pid_t)syscall(SYS_gettid);

	if (a->tidfd >= 0 && write(a->tidfd, &tid, sizeof(tid)) != sizeof(tid))
		_exit(126);
	if (a->bar != NULL)
		pthread_barrier_wait(a->bar);
	if (a->delay_ms > 0)
		usleep((useconds_t)a->delay_ms * 1000);
	/* the thread's own exit, not exit_group */
	syscall(SYS_exit, a->code);
	return NULL;
}

/* The leader exits first; the last thread, a non-leader, ends the process. */
static int
t_mt_exit_leader_first(struct ctx *c)
{
	struct trec *r;
	pid_t pid, tid = 0;
	int fds[2], status, n, verdict;
	uint64_t t0 = boot_ns();
	long i;

	if (pipe(fds) == -1)
		return why(c, T_FAIL, "pipe: %s", strerror(errno));
	pid = fork();
	if (pid == 0) {
		static struct mt_arg a;
		pthread_t t;

		a.code = 5;
		a.delay_ms = 300;
		a.tidfd = fds[1];
		if (pthread_create(&t, NULL, mt_exit_thread, &a) != 0)
			_exit(125);
		syscall(SYS_exit, 5);
	}
	close(fds[1]);
	n = (int)lin_read(c, fds[0], &tid, sizeof(tid), pid, &verdict);
	close(fds[0]);
	if (n == LIN_REAP_STUCK)
		return verdict;
	if (n != sizeof(tid))
		tid = 0;
	status = lin_reap(c, pid, &verdict);
	if (status == LIN_REAP_STUCK)
		return verdict;
	i = wait_exit_life(c, pid, t0);
	if (i < 0)
		return T_FAIL;
	lin_settle(c, 1500);
	r = &c->st.recs[i];
	n = records_of_life(c, (uint32_t)pid, r->fx.start_ns, QF_REC_EXIT);
	CHECK(n == 1, "%d EXIT records for the process, want 1", n);
	CHECK(tid != 0 && tid != pid, "thread id %d", tid);
	CHECK(r->fx.tid == (uint32_t)tid, "EXIT from tid %u, want the last thread %d", r->fx.tid, tid);
	CHECK(r->fx.exit_status == (uint32_t)status && r->fx.exit_code == 5,
	    "exit status %#x code %d, wait(2) says %#x", r->fx.exit_status, r->fx.exit_code, status);
	return T_OK;
}

/*
 * All threads of a process exit at once while another process sharing its
 * memory (clone(CLONE_VM), not a thread) keeps the address space's lock busy
 * with mprotect(): before 6.16 the exit tracepoint comes after exit_mm(), so
 * the exiting threads wait there after counting themselves out, and all of
 * them find signal->live at 0. One EXIT per process all the same.
 */
#define MT_PROCS	6
#define MT_THREADS	8
#define MT_REGION	(16u << 20)

struct hammer {
	char *region;
	volatile int stop;
};

static int
hammer_main(void *p)
{
	struct hammer *h = p;
	uint64_t end = tclock_ms() + 250;

	do {
		mprotect(h->region, MT_REGION, PROT_READ);
		mprotect(h->region, MT_REGION, PROT_READ | PROT_WRITE);
	} while (!h->stop && tclock_ms() < end);
	syscall(SYS_exit, 0);
	return 0;
}

static void
mt_exit_together(int by_group)
{
	static pthread_barrier_t bar;
	static struct mt_arg a;
	static struct hammer h;
	pthread_t t;
	char *stack;
	int j;

	h.region = mmap(NULL, MT_REGION, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	stack = malloc(64 * 1024);
	if (h.region == MAP_FAILED || stack == NULL)
		_exit(125);
	pthread_barrier_init(&bar, NULL, MT_THREADS);
	a.bar = &bar;
	a.tidfd = -1;
	for (j = 1; j < MT_THREADS; j++)
		if (pthread_create(&t, NULL, mt_exit_thread, &a) != 0)
			_exit(125);
	if (clone(hammer_main, stack + 64 * 1024, CLONE_VM | SIGCHLD, &h) == -1)
		_exit(125);
	usleep(20 * 1000);
	pthread_barrier_wait(&bar);
	if (!by_group)
		syscall(SYS_exit, 0);
	_exit(0);
}

static int
t_mt_exit_simultaneous(struct ctx *c)
{
	pid_t pids[MT_PROCS];
	uint64_t t0 = boot_ns();
	long i;
	int k, n;

	if (c->under_valgrind)
		return why(c, T_SKIP, "valgrind does not run clone(CLONE_VM) without CLONE_THREAD");
	for (k = 0; k < MT_PROCS; k++) {
		pids[k] = fork();
		if (pids[k] == 0)
			mt_exit_together(k % 2);
		if (pids[k] < 0)
			return why(c, T_FAIL, "fork: %s", strerror(errno));
	}
	for (k = 0; k < MT_PROCS; k++) {
		int verdict, st = lin_reap(c, pids[k], &verdict);

		if (st == LIN_REAP_STUCK) {
			while (++k < MT_PROCS)
				lin_kill(pids[k]);
			return verdict;
		}
		if (st != 0)
			return why(c, T_FAIL, "process %d failed to start its threads", pids[k]);
	}
	for (k = 0; k < MT_PROCS; k++)
		if (wait_exit_life(c, pids[k], t0) < 0)
			return T_FAIL;
	lin_settle(c, 1500);
	for (k = 0; k < MT_PROCS; k++) {
		i = wait_exit_life(c, pids[k], t0);
		if (i < 0)
			return T_FAIL;
		n = records_of_life(c, (uint32_t)pids[k], c->st.recs[i].fx.start_ns, QF_REC_EXIT);
		CHECK(n == 1, "process %d (%s) has %d EXIT records, want 1", pids[k],
		    k % 2 == 0 ? "threads' own exits" : "exit_group", n);
	}
	return T_OK;
}

/* A thread exits; the process goes on: no EXIT until the process ends. */
static int
t_mt_thread_exit_only(struct ctx *c)
{
	int go[2], fds[2], n, verdict;
	pid_t pid, tid = 0;
	uint64_t t0 = boot_ns();
	char b = 0;
	long i;

	if (pipe(go) == -1 || pipe(fds) == -1)
		return why(c, T_FAIL, "pipe: %s", strerror(errno));
	pid = fork();
	if (pid == 0) {
		static struct mt_arg a;
		pthread_t t;

		close(go[1]);
		a.tidfd = fds[1];
		if (pthread_create(&t, NULL, mt_exit_thread, &a) != 0)
			_exit(125);
		/* wait for the test's go, then end the whole process */
		if (read(go[0], &b, 1) != 1)
			_exit(124);
		_exit(0);
	}
	close(go[0]);
	close(fds[1]);
	n = (int)lin_read(c, fds[0], &tid, sizeof(tid), pid, &verdict);
	close(fds[0]);
	if (n == LIN_REAP_STUCK) {
		close(go[1]);
		return verdict;
	}
	if (n != sizeof(tid))
		tid = 0;
	lin_settle(c, 1500);
	CHECK(exits_after(c, (uint32_t)pid, t0) == 0, "an EXIT record for %d while it still runs (thread %d "
	    "exited)", pid, tid);
	if (write(go[1], &b, 1) != 1)
		return why(c, T_FAIL, "write: %s", strerror(errno));
	close(go[1]);
	if (lin_reap(c, pid, &verdict) == LIN_REAP_STUCK)
		return verdict;
	i = wait_exit_life(c, pid, t0);
	if (i < 0)
		return T_FAIL;
	lin_settle(c, 1200);
	n = records_of_life(c, (uint32_t)pid, c->st.recs[i].fx.start_ns, QF_REC_EXIT);
	CHECK(n == 1, "%d EXIT records, want 1", n);
	CHECK(c->st.recs[i].fx.tid == (uint32_t)pid, "EXIT from tid %u, want the leader %d",
	    c->st.recs[i].fx.tid, pid);
	return T_OK;
}

/* ---- ways to fork ------------------------------------------------------- */

/* The marker's EXIT record: FORK|EXEC|EXIT, parent as expected, the fork image as previous. */
static int
check_forked(struct ctx *c, const char *marker, uint32_t want_ppid, const char *want_prev_exe)
{
	struct trec *r;
	long i;

	i = twait(c->h, &c->st, marker_pred, marker, WAIT_MS, c->why, WHY_LEN);
	if (i < 0)
		return T_FAIL;
	r = &c->st.recs[i];
	CHECK((r->fx.h.flags & (QF_REC_FORK | QF_REC_EXEC | QF_REC_EXIT)) ==
	    (QF_REC_FORK | QF_REC_EXEC | QF_REC_EXIT), "flags %#x, want FORK|EXEC|EXIT", r->fx.h.flags);
	CHECK(r->fx.ppid == want_ppid, "ppid %u, want %u", r->fx.ppid, want_ppid);
	CHECK(r->exe.data && strcmp(r->exe.data, c->true_path) == 0, "exe %s", STR(r->exe));
	CHECK(r->nprev >= 1 && (r->prev[0].flags & QF_IMG_FORK) &&
	    (want_prev_exe == NULL || (r->prev[0].exe.data &&
	    strcmp(r->prev[0].exe.data, want_prev_exe) == 0) || c->under_valgrind),
	    "previous: %u images, first flags %#x exe %s, want the fork image of %s", r->nprev,
	    r->nprev ? r->prev[0].flags : 0, r->nprev ? STR(r->prev[0].exe) : "-",
	    want_prev_exe ? want_prev_exe : "(any)");
	CHECK(records_of_life(c, r->fx.pid, r->fx.start_ns, 0) == 1, "%d records for the process, "
	    "want 1", records_of_life(c, r->fx.pid, r->fx.start_ns, 0));
	return T_OK;
}

static int
t_vfork(struct ctx *c)
{
	char marker[64];
	pid_t pid;

	snprintf(marker, sizeof(marker), "qf-vfork-%d", getpid());
	pid = vfork();
	if (pid == 0) {
		execl("/bin/true", "/bin/true", marker, (char *)NULL);
		_exit(127);
	}
	if (pid < 0)
		return why(c, T_FAIL, "vfork: %s", strerror(errno));
	treap(pid);
	return check_forked(c, marker, (uint32_t)getpid(), c->self_exe);
}

static int
clone_parent_child(void *arg)
{
	execl("/bin/true", "/bin/true", (char *)arg, (char *)NULL);
	return 127;
}

/* A child's clone(CLONE_PARENT) makes a sibling: its parent is the test. */
static int
t_clone_parent(struct ctx *c)
{
	static char stack[64 * 1024] __attribute__((aligned(16)));
	char marker[64];
	int fds[2], r;
	pid_t pid, sib = 0;

	snprintf(marker, sizeof(marker), "qf-clone-parent-%d", getpid());
	if (pipe(fds) == -1)
		return why(c, T_FAIL, "pipe: %s", strerror(errno));
	pid = fork();
	if (pid == 0) {
		sib = clone(clone_parent_child, stack + sizeof(stack), CLONE_PARENT | SIGCHLD, marker);
		if (write(fds[1], &sib, sizeof(sib)) != sizeof(sib))
			_exit(126);
		_exit(sib > 0 ? 0 : 1);
	}
	close(fds[1]);
	if (read(fds[0], &sib, sizeof(sib)) != sizeof(sib))
		sib = 0;
	close(fds[0]);
	treap(pid);
	if (sib <= 0)
		return why(c, T_FAIL, "clone(CLONE_PARENT) failed");
	treap(sib);
	r = check_forked(c, marker, (uint32_t)getpid(), c->self_exe);
	return r;
}

struct fork_thr {
	const char *marker;
	pid_t child;
};

static void *
fork_in_thread(void *p)
{
	struct fork_thr *a = p;

	a->child = fork();
	if (a->child == 0) {
		execl("/bin/true", "/bin/true", a->marker, (char *)NULL);
		_exit(127);
	}
	return NULL;
}

/* A non-leader thread forks: the child's parent is the process (its tgid). */
static int
t_fork_from_thread(struct ctx *c)
{
	char marker[64];
	pid_t pid;

	snprintf(marker, sizeof(marker), "qf-thread-fork-%d", getpid());
	pid = fork();
	if (pid == 0) {
		struct fork_thr a = { marker, 0 };
		pthread_t t;

		if (pthread_create(&t, NULL, fork_in_thread, &a) != 0)
			_exit(125);
		pthread_join(t, NULL);
		_exit(a.child > 0 && treap(a.child) == 0 ? 0 : 1);
	}
	if (treap(pid) != 0)
		return why(c, T_FAIL, "the forking process failed");
	return check_forked(c, marker, (uint32_t)pid, c->self_exe);
}

/* The parent exits; the orphan is reparented to a subreaper, then execs. */
static int
t_reparent_subreaper(struct ctx *c)
{
	char marker[64];
	int fds[2], status, verdict;
	pid_t reaper;
	struct trec *r;
	long i;

	snprintf(marker, sizeof(marker), "qf-reparent-%d", getpid());
	if (pipe(fds) == -1)
		return why(c, T_FAIL, "pipe: %s", strerror(errno));
	reaper = fork();
	if (reaper == 0) {
		pid_t mid, self = getpid();
		int k;

		close(fds[0]);
		if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
			_exit(120);
		mid = fork();
		if (mid == 0) {
			pid_t orphan = fork();

			if (orphan == 0) {
				/* exec only once adopted by the subreaper */
				for (k = 0; k < 2000 && getppid() != self; k++)
					usleep(1000);
				execl("/bin/true", "/bin/true", marker, (char *)NULL);
				_exit(127);
			}
			_exit(0);
		}
		treap(mid);
		/* reap the adopted orphan too */
		while (wait(NULL) > 0)
			;
		_exit(0);
	}
	close(fds[1]);
	close(fds[0]);
	status = lin_reap(c, reaper, &verdict);
	if (status == LIN_REAP_STUCK)
		return verdict;
	if (status == (120 << 8))
		return why(c, T_SKIP, "PR_SET_CHILD_SUBREAPER refused");
	i = twait(c->h, &c->st, marker_pred, marker, WAIT_MS, c->why, WHY_LEN);
	if (i < 0)
		return T_FAIL;
	r = &c->st.recs[i];
	CHECK(r->fx.ppid == (uint32_t)reaper, "ppid %u, want the subreaper %d", r->fx.ppid, reaper);
	CHECK((r->fx.h.flags & QF_REC_FORK) || r->nprev >= 1,
	    "neither a FORK nor a previous image: the fork was lost (flags %#x)", r->fx.h.flags);
	CHECK(r->fx.h.flags & QF_REC_COMPLETE, "not COMPLETE");
	return T_OK;
}

/* setsid() and setuid() without an exec: the EXIT record carries the new ids. */
static int
t_setuid_setsid_no_exec(struct ctx *c)
{
	struct trec *r;
	uint64_t t0 = boot_ns();
	pid_t pid;
	long i;

	pid = fork();
	if (pid == 0) {
		if (setsid() == -1 || setgroups(0, NULL) == -1 || setresgid(65534, 65534, 65534) == -1 ||
		    setresuid(65534, 65534, 65534) == -1)
			_exit(120);
		_exit(0);
	}
	if (treap(pid) != 0)
		return why(c, T_FAIL, "setsid/setresuid failed in the child");
	i = wait_exit_life(c, pid, t0);
	if (i < 0)
		return T_FAIL;
	r = &c->st.recs[i];
	CHECK((r->fx.h.flags & (QF_REC_FORK | QF_REC_EXEC)) == QF_REC_FORK, "flags %#x, want FORK "
	    "without EXEC", r->fx.h.flags);
	CHECK(r->fx.sid == (uint32_t)pid && r->fx.pgid == (uint32_t)pid, "sid %u pgid %u, want %d",
	    r->fx.sid, r->fx.pgid, pid);
	CHECK(r->fx.uid == 65534 && r->fx.euid == 65534 && r->fx.suid == 65534 && r->fx.gid == 65534,
	    "uid %u euid %u suid %u gid %u, want 65534", r->fx.uid, r->fx.euid, r->fx.suid, r->fx.gid);
	CHECK(is_self_exe(c, r->exe.data), "exe %s", STR(r->exe));
	return T_OK;
}

static int
argv_has(const struct trec *r, const void *marker)
{
	uint32_t k;

	if (!(r->fx.h.flags & QF_REC_EXIT))
		return 0;
	for (k = 0; k < 4; k++)
		if (targ(&r->argv, k) && strcmp(targ(&r->argv, k), marker) == 0)
			return 1;
	return 0;
}

/* A "#!" script: the interpreter is the executable, the script the filename. */
static int
t_shebang(struct ctx *c)
{
	char marker[64], path[PATH_MAX + 32];
	char *argv[3];
	struct trec *r;
	FILE *f;
	long i;
	int status;

	snprintf(marker, sizeof(marker), "qf-shebang-%d", getpid());
	snprintf(path, sizeof(path), "%s/qf-script-%d", c->cwd, getpid());
	f = fopen(path, "w");
	if (f == NULL)
		return why(c, T_FAIL, "%s: %s", path, strerror(errno));
	fprintf(f, "#!/bin/sh\nexit 4\n");
	fclose(f);
	chmod(path, 0755);
	argv[0] = path;
	argv[1] = marker;
	argv[2] = NULL;
	pid_t pid = tspawn(argv);
	status = treap(pid);
	unlink(path);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 4, "script status %#x", status);
	i = twait(c->h, &c->st, argv_has, marker, WAIT_MS, c->why, WHY_LEN);
	if (i < 0)
		return T_FAIL;
	r = &c->st.recs[i];
	CHECK(r->fx.pid == (uint32_t)pid, "pid %u, want %d", r->fx.pid, pid);
	CHECK((r->fx.h.flags & (QF_REC_FORK | QF_REC_EXEC | QF_REC_EXIT)) ==
	    (QF_REC_FORK | QF_REC_EXEC | QF_REC_EXIT), "flags %#x", r->fx.h.flags);
	CHECK(r->exe.data && strcmp(r->exe.data, c->sh_path) == 0, "exe %s, want the interpreter %s",
	    STR(r->exe), c->sh_path);
	CHECK(r->filename.data && strcmp(r->filename.data, path) == 0, "filename %s, want %s",
	    STR(r->filename), path);
	CHECK(targ(&r->argv, 1) && strcmp(targ(&r->argv, 1), path) == 0, "argv[1] %s, want the script",
	    targ(&r->argv, 1) ? targ(&r->argv, 1) : "(none)");
	CHECK(r->fx.exit_code == 4, "exit code %d", r->fx.exit_code);
	return T_OK;
}

/* ---- pid namespaces ----------------------------------------------------- */

/*
 * 32 nested pid namespaces, the kernel's maximum, made by an unprivileged
 * user inside its own user namespace. The innermost init execs the marker.
 */
#define PIDNS_DEPTH	32
static int
t_pidns_32_deep(struct ctx *c)
{
	struct lin_report rep;
	char marker[64];
	struct stat host;
	struct trec *r;
	int fds[2], status, verdict, rr, kprobe = c->backends == QF_BACKEND_KPROBE;
	pid_t pid;
	long i;

	if (c->under_valgrind)
		return why(c, T_SKIP, "valgrind cannot fork in a new pid namespace");
	if (stat("/proc/self/ns/pid", &host) == -1)
		return why(c, T_SKIP, "no /proc/self/ns/pid");
	snprintf(marker, sizeof(marker), "qf-pidns32-%d", getpid());
	if (pipe(fds) == -1)
		return why(c, T_FAIL, "pipe: %s", strerror(errno));
	pid = fork();
	if (pid == 0) {
		struct stat st;
		int level;

		close(fds[0]);
		memset(&rep, 0, sizeof(rep));
		if (setgroups(0, NULL) == -1 || setresgid(65534, 65534, 65534) == -1 ||
		    setresuid(65534, 65534, 65534) == -1)
			_exit(121);
		if (unshare(CLONE_NEWUSER) == -1) {
			rep.err = errno;
			rep.step = -1;
			send_report(fds[1], &rep);
			_exit(120);
		}
		for (level = 1; level <= PIDNS_DEPTH; level++) {
			pid_t child;

			if (unshare(CLONE_NEWPID) == -1) {
				rep.err = errno;
				rep.step = level;
				send_report(fds[1], &rep);
				_exit(120);
			}
			child = fork();
			if (child < 0)
				_exit(122);
			if (child > 0)
				_exit(treap(child) == 0 ? 0 : 1);
		}
		host_ids(&rep);
		rep.pidns_ino = stat("/proc/self/ns/pid", &st) == 0 ? st.st_ino : 0;
		send_report(fds[1], &rep);
		execl("/bin/true", "/bin/true", marker, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	memset(&rep, 0, sizeof(rep));
	rr = read_report(c, fds[0], &rep, pid, &verdict);
	if (rr == LIN_REAP_STUCK)
		return verdict;
	if (rr != 0)
		rep.err = -1;
	status = lin_reap(c, pid, &verdict);
	if (status == LIN_REAP_STUCK)
		return verdict;
	if (rep.step == -1)
		return why(c, T_SKIP, "an unprivileged user namespace was refused: %s", strerror(rep.err));
	if (rep.step > 0)
		return why(c, T_FAIL, "unshare(CLONE_NEWPID) at level %d: %s", rep.step,
		    strerror(rep.err));
	CHECK(status == 0 && rep.err == 0, "nesting failed: status %#x", status);
	i = twait(c->h, &c->st, marker_pred, marker, WAIT_MS, c->why, WHY_LEN);
	if (i < 0)
		return T_FAIL;
	r = &c->st.recs[i];
	CHECK(r->fx.pid == (uint32_t)rep.host_pid, "pid %u, want the host's %d", r->fx.pid,
	    rep.host_pid);
	CHECK(r->fx.h.valid & QF_VALID_IDS, "ids not valid (valid %#x)", r->fx.h.valid);
	CHECK(r->fx.ppid == (uint32_t)rep.host_ppid, "ppid %u, want the level-31 init %d", r->fx.ppid,
	    rep.host_ppid);
	CHECK(r->fx.uid == 65534, "uid %u", r->fx.uid);
	CHECK(r->fx.h.flags & QF_REC_COMPLETE, "not COMPLETE (flags %#x valid %#x)", r->fx.h.flags,
	    r->fx.h.valid);
	CHECK(r->fx.ns_pid != (uint32_t)host.st_ino, "reported in the host's pid namespace");
	if (kprobe) {
		/* the kprobe backend reads 4 levels: deeper, vpid and ns_pid are unknown (0) */
		CHECK(r->fx.vpid == 0 || r->fx.vpid == 1, "vpid %u, want 1 or unknown (0)", r->fx.vpid);
		CHECK(r->fx.vpid != r->fx.pid, "vpid is the host pid");
		CHECK(r->fx.ns_pid == 0 || r->fx.ns_pid == rep.pidns_ino, "ns_pid %u, want %llu or 0",
		    r->fx.ns_pid, (unsigned long long)rep.pidns_ino);
		return T_OK;
	}
	CHECK(r->fx.vpid == 1, "vpid %u, want 1 (the innermost init)", r->fx.vpid);
	CHECK(r->fx.ns_pid == rep.pidns_ino, "ns_pid %u, want the innermost %llu", r->fx.ns_pid,
	    (unsigned long long)rep.pidns_ino);
	CHECK((r->fx.h.valid & QF_VALID_PIDNS_INIT) && r->fx.pidns_init_start_ns == r->fx.start_ns,
	    "pidns_init_start_ns %llu, want its own start %llu",
	    (unsigned long long)r->fx.pidns_init_start_ns, (unsigned long long)r->fx.start_ns);
	return T_OK;
}

static void *
idle_thread(void *p)
{
	(void)p;
	pause();
	return NULL;
}

/*
 * PID 1 of a pid namespace with several threads forks from the leader and
 * from another thread, and adopts an orphan: every child comes with its fork.
 */
static int
t_pid1_multithreaded(struct ctx *c)
{
	char m_leader[64], m_thread[64], m_orphan[64], inner[WHY_LEN - 64];
	struct lin_report rep;
	int fds[2], status, r, verdict;
	pid_t pid;

	if (c->under_valgrind)
		return why(c, T_SKIP, "valgrind cannot fork in a new pid namespace");
	snprintf(m_leader, sizeof(m_leader), "qf-pid1-leader-%d", getpid());
	snprintf(m_thread, sizeof(m_thread), "qf-pid1-thread-%d", getpid());
	snprintf(m_orphan, sizeof(m_orphan), "qf-pid1-orphan-%d", getpid());
	if (pipe(fds) == -1)
		return why(c, T_FAIL, "pipe: %s", strerror(errno));
	pid = fork();
	if (pid == 0) {
		pid_t init;

		close(fds[0]);
		if (unshare(CLONE_NEWPID) == -1)
			_exit(120);
		init = fork();
		if (init == 0) {
			struct fork_thr a = { m_thread, 0 };
			pthread_t t;
			pid_t kid, mid;
			int k;

			memset(&rep, 0, sizeof(rep));
			host_ids(&rep);
			send_report(fds[1], &rep);
			for (k = 0; k < 3; k++)
				if (pthread_create(&t, NULL, idle_thread, NULL) != 0)
					_exit(125);
			if (pthread_create(&t, NULL, fork_in_thread, &a) != 0)
				_exit(125);
			pthread_join(t, NULL);
			kid = fork();
			if (kid == 0) {
				execl("/bin/true", "/bin/true", m_leader, (char *)NULL);
				_exit(127);
			}
			mid = fork();
			if (mid == 0) {
				if (fork() == 0) {
					/* adopted by this init once mid is gone */
					while (getppid() != 1)
						usleep(1000);
					execl("/bin/true", "/bin/true", m_orphan, (char *)NULL);
					_exit(127);
				}
				_exit(0);
			}
			for (k = 0; k < 4; k++)
				wait(NULL);
			_exit(0);
		}
		_exit(treap(init) == 0 ? 0 : 1);
	}
	close(fds[1]);
	memset(&rep, 0, sizeof(rep));
	r = read_report(c, fds[0], &rep, pid, &verdict);
	if (r == LIN_REAP_STUCK)
		return verdict;
	if (r != 0)
		rep.host_pid = -1;
	status = lin_reap(c, pid, &verdict);
	if (status == LIN_REAP_STUCK)
		return verdict;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 120)
		return why(c, T_SKIP, "unshare(CLONE_NEWPID) refused");
	CHECK(status == 0 && rep.host_pid > 0, "child status %#x", status);
	/* c->why cannot be both the source and the target of why() */
	r = check_forked(c, m_thread, (uint32_t)rep.host_pid, c->self_exe);
	if (r != T_OK) {
		snprintf(inner, sizeof(inner), "%s", c->why);
		return why(c, r, "child of a non-leader thread of pid 1: %s", inner);
	}
	r = check_forked(c, m_leader, (uint32_t)rep.host_pid, c->self_exe);
	if (r != T_OK) {
		snprintf(inner, sizeof(inner), "%s", c->why);
		return why(c, r, "child of pid 1's leader: %s", inner);
	}
	{
		struct trec *o;
		long i = twait(c->h, &c->st, marker_pred, m_orphan, WAIT_MS, c->why, WHY_LEN);

		if (i < 0)
			return T_FAIL;
		o = &c->st.recs[i];
		CHECK(o->fx.ppid == (uint32_t)rep.host_pid, "orphan's ppid %u, want pid 1 (%d)",
		    o->fx.ppid, rep.host_pid);
		CHECK((o->fx.h.flags & QF_REC_FORK) || (o->nprev >= 1 && (o->prev[0].flags & QF_IMG_FORK)),
		    "orphan adopted by pid 1 has no fork phase: flags %#x, %u previous", o->fx.h.flags,
		    o->nprev);
	}
	return T_OK;
}

/* The library refuses to run outside the host's pid namespace, and says why. */
static int
t_refuse_child_pidns(struct ctx *c)
{
	struct lin_report rep;
	int fds[2], status, r, verdict;
	pid_t pid;

	if (c->under_valgrind)
		return why(c, T_SKIP, "valgrind cannot fork in a new pid namespace");
	if (pipe(fds) == -1)
		return why(c, T_FAIL, "pipe: %s", strerror(errno));
	pid = fork();
	if (pid == 0) {
		pid_t inner;

		close(fds[0]);
		if (unshare(CLONE_NEWPID) == -1)
			_exit(120);
		inner = fork();
		if (inner == 0) {
			struct qf_options o;
			struct qf_handle *h;

			memset(&rep, 0, sizeof(rep));
			qf_options_init(&o);
			o.backends = c->backends;
			h = qf_open(&o, rep.msg, sizeof(rep.msg));
			rep.err = h != NULL;
			if (h != NULL)
				snprintf(rep.msg, sizeof(rep.msg), "qf_open succeeded");
			qf_close(h);
			send_report(fds[1], &rep);
			_exit(0);
		}
		_exit(treap(inner) == 0 ? 0 : 1);
	}
	close(fds[1]);
	memset(&rep, 0, sizeof(rep));
	r = read_report(c, fds[0], &rep, pid, &verdict);
	if (r == LIN_REAP_STUCK)
		return verdict;
	if (r != 0)
		snprintf(rep.msg, sizeof(rep.msg), "no report from the child");
	status = lin_reap(c, pid, &verdict);
	if (status == LIN_REAP_STUCK)
		return verdict;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 120)
		return why(c, T_SKIP, "unshare(CLONE_NEWPID) refused");
	CHECK(rep.err == 0, "qf_open in a child pid namespace: %s", rep.msg);
	CHECK(strstr(rep.msg, "pid namespace") != NULL, "reason '%s' does not name the pid namespace",
	    rep.msg);
	return T_OK;
}

/* ---- kernel threads ----------------------------------------------------- */

/* pids of kthreadd's children (kernel threads) now, at most max. */
static int
kthreads(pid_t *out, int max)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL && n < max) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		if (td_ppid(e->d_name) == 2)
			out[n++] = atoi(e->d_name);
	}
	closedir(d);
	return n;
}

static int
write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY), r;

	if (fd < 0)
		return -errno;
	r = write(fd, s, strlen(s)) == (ssize_t)strlen(s) ? 0 : -errno;
	close(fd);
	return r;
}

/*
 * kthreadd starts a kernel thread: here a worker of a new unbound pool,
 * which a workqueue gets when its nice level changes. None is reported.
 */
#define MAX_KT	4096
static int
t_kthread_not_reported(struct ctx *c)
{
	static const char *wq = "/sys/devices/virtual/workqueue/writeback/nice";
	static pid_t before[MAX_KT], after[MAX_KT];
	char old[16] = "0", val[16];
	int nb, na, k, j, fresh = -1, fd, r;
	ssize_t n;
	size_t i;

	fd = open(wq, O_RDONLY);
	if (fd < 0)
		return why(c, T_SKIP, "%s: %s", wq, strerror(errno));
	n = read(fd, old, sizeof(old) - 1);
	close(fd);
	old[n > 0 ? n : 0] = 0;
	nb = kthreads(before, MAX_KT);
	/* a nice level no pool has yet: a new pool, so a new kernel thread */
	snprintf(val, sizeof(val), "%d", -7 - (getpid() % 5));
	r = write_str(wq, val);
	if (r != 0)
		return why(c, T_SKIP, "writing %s: %s", wq, strerror(-r));
	/* run work on it: a sync wakes the writeback workers */
	sync();
	usleep(200 * 1000);
	na = kthreads(after, MAX_KT);
	write_str(wq, old);
	for (k = 0; k < na && fresh < 0; k++) {
		for (j = 0; j < nb && before[j] != after[k]; j++)
			;
		if (j == nb)
			fresh = after[k];
	}
	if (fresh < 0)
		return why(c, T_SKIP, "no new kernel thread appeared after setting %s", wq);
	lin_settle(c, 1500);
	for (i = 0; i < c->st.n; i++) {
		const struct trec *x = &c->st.recs[i];

		/* its pid may be reused by a user process soon after on a busy host */
		CHECK((x->fx.h.flags & QF_REC_SNAPSHOT) || x->fx.pid != (uint32_t)fresh ||
		    x->fx.ppid != 2, "kernel thread %d reported as a process (flags %#x, comm %s)",
		    fresh, x->fx.h.flags, STR(x->comm));
		CHECK((x->fx.h.flags & QF_REC_SNAPSHOT) || !(x->fx.h.flags & QF_REC_FORK) ||
		    x->fx.ppid != 2, "a FORK record of kthreadd's child %u (%s)", x->fx.pid, STR(x->comm));
	}
	return T_OK;
}

/* ---- the executable's times ------------------------------------------- */

/*
 * Since 6.13 a stat(2) of a file sets a flag in its ctime's nanoseconds
 * (multigrain timestamps, bit 31): the reported ctime must still be stat's.
 */
static int
t_exe_ctime_after_stat(struct ctx *c)
{
	char path[PATH_MAX + 32], marker[64];
	char *argv[3];
	struct stat sb;
	struct trec *r;
	pid_t pid;
	long i;
	int e;

	snprintf(path, sizeof(path), "%s/qf-ctime-%d", c->cwd, getpid());
	snprintf(marker, sizeof(marker), "qf-ctime-%d", getpid());
	e = tcopy_file(c->true_path, path, 0755);
	if (e != 0)
		return why(c, T_FAIL, "copy to %s: %s", path, strerror(-e));
	/* the query that sets the flag, before the exec reads the inode */
	if (stat(path, &sb) == -1) {
		unlink(path);
		return why(c, T_FAIL, "stat %s: %s", path, strerror(errno));
	}
	argv[0] = path;
	argv[1] = marker;
	argv[2] = NULL;
	pid = tspawn(argv);
	treap(pid);
	i = twait(c->h, &c->st, marker_pred, marker, WAIT_MS, c->why, WHY_LEN);
	unlink(path);
	if (i < 0)
		return T_FAIL;
	r = &c->st.recs[i];
	CHECK(r->fx.h.valid & QF_VALID_EXE_FILE, "no executable facts");
	CHECK(r->fx.exe_ctime_ns == (int64_t)sb.st_ctim.tv_sec * 1000000000LL + sb.st_ctim.tv_nsec,
	    "exe ctime %lld, stat says %lld.%09ld (%+lld ns)", (long long)r->fx.exe_ctime_ns,
	    (long long)sb.st_ctim.tv_sec, sb.st_ctim.tv_nsec,
	    (long long)(r->fx.exe_ctime_ns - ((int64_t)sb.st_ctim.tv_sec * 1000000000LL +
	    sb.st_ctim.tv_nsec)));
	return T_OK;
}

/* ---- kprobe: samples that miss the settle window ------------------------ */

/*
 * The kprobe backend hands samples on once they are older than its settle
 * window; one that becomes visible later (vCPU steal) is out of order and is
 * counted. A window of 0 ms (QF_KPROBE_SETTLE_MS) provokes that under a burst;
 * a bad value is refused with the variable's name.
 */
static int
t_kprobe_out_of_order(struct ctx *c)
{
	char *argv[] = { "/bin/true", NULL };
	char err[512], scratch[WHY_LEN];
	struct qf_options o;
	struct qf_handle *h;
	struct tstore st;
	struct qf_stats s;
	int k, n;

	if (c->backends != QF_BACKEND_KPROBE) {
		memset(&s, 0, sizeof(s));
		n = qf_stats(c->h, (uint8_t *)&s, sizeof(s));
		CHECK(n >= (int)sizeof(s), "stats block of %d bytes, want %zu (out_of_order)", n,
		    sizeof(s));
		printf("# ebpf so far: %llu raw events, ring_lost %llu, decode_errors %llu\n",
		    (unsigned long long)s.raw_events, (unsigned long long)s.ring_lost,
		    (unsigned long long)s.decode_errors);
		CHECK(s.out_of_order == 0, "eBPF (one ordered ring) counted %llu out-of-order samples",
		    (unsigned long long)s.out_of_order);
		return T_OK;
	}
	qf_options_init(&o);
	o.backends = QF_BACKEND_KPROBE;
	setenv("QF_KPROBE_SETTLE_MS", "soon", 1);
	h = qf_open(&o, err, sizeof(err));
	qf_close(h);
	CHECK(h == NULL && strstr(err, "QF_KPROBE_SETTLE_MS") != NULL,
	    "QF_KPROBE_SETTLE_MS=soon: %s", h ? "accepted" : err);
	setenv("QF_KPROBE_SETTLE_MS", "0", 1);
	h = qf_open(&o, err, sizeof(err));
	unsetenv("QF_KPROBE_SETTLE_MS");
	if (h == NULL)
		return why(c, T_FAIL, "qf_open: %s", err);
	memset(&st, 0, sizeof(st));
	for (k = 0; k < 200; k++)
		treap(tspawn(argv));
	twait(h, &st, never, NULL, 1500, scratch, sizeof(scratch));
	memset(&s, 0, sizeof(s));
	n = qf_stats(h, (uint8_t *)&s, sizeof(s));
	qf_close(h);
	tstore_free(&st);
	CHECK(n >= (int)sizeof(s), "stats block of %d bytes, want %zu (out_of_order)", n, sizeof(s));
	printf("# kprobe settle window 0 ms: %llu of %llu samples out of order\n",
	    (unsigned long long)s.out_of_order, (unsigned long long)s.raw_events);
	if (s.out_of_order == 0)
		return why(c, T_SKIP, "no sample arrived late in this run (nothing to count)");
	return T_OK;
}

#define LINEAGE_CASES \
	{ "mt_exit_leader_first", t_mt_exit_leader_first }, \
	{ "mt_exit_simultaneous", t_mt_exit_simultaneous }, \
	{ "mt_thread_exit_process_lives", t_mt_thread_exit_only }, \
	{ "vfork", t_vfork }, \
	{ "clone_parent", t_clone_parent }, \
	{ "fork_from_thread", t_fork_from_thread }, \
	{ "reparent_to_subreaper", t_reparent_subreaper }, \
	{ "setuid_setsid_without_exec", t_setuid_setsid_no_exec }, \
	{ "shebang_script", t_shebang }, \
	{ "pidns_32_deep_unprivileged", t_pidns_32_deep }, \
	{ "pid1_multithreaded_children", t_pid1_multithreaded }, \
	{ "refuse_child_pid_namespace", t_refuse_child_pidns }, \
	{ "kthread_fork_not_reported", t_kthread_not_reported }, \
	{ "exe_ctime_after_stat", t_exe_ctime_after_stat }, \
	{ "kprobe_out_of_order_counted", t_kprobe_out_of_order },

#endif
