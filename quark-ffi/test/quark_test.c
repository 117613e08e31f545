// SPDX-License-Identifier: Apache-2.0
/*
 * quark-test: one function per behaviour of quark-ffi, run against the real
 * kernel. Prints "ok NAME", "not ok NAME: WHY" or "skip NAME: WHY" per case,
 * lines starting with '#' for measurements, and a final
 * "N passed, N failed, N skipped". Exits 1 when a case failed.
 *
 *   quark-test [-b ebpf|kprobe] [-t NAME[,NAME...]]... [-n COUNT] [-w SECONDS] [-l] [-v]
 *
 * The cases run under a watchdog (watchdog.h) unless -w 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "quark_ffi.h"
#include "test_util.h"
#include "test_hostile.h"
#include "clock_ms.h"
#include "taskdump.h"
#include "watchdog.h"

#define WAIT_MS		15000
#define WHY_LEN		1024

extern char **environ;

struct ctx {
	struct qf_handle *h;	/* shared handle: default options, snapshot on */
	struct tstore st;	/* everything the shared handle delivered */
	uint32_t backends;
	char *why;
	char true_path[PATH_MAX];	/* realpath of /bin/true */
	char sh_path[PATH_MAX];
	char self_exe[PATH_MAX];
	char cwd[PATH_MAX];
	char **argv;
	int verbose;
	int under_valgrind;	/* the kernel sees valgrind's tool as our executable */
};

/* Our own executable as the kernel sees it (valgrind makes that its tool). */
static int
is_self_exe(const struct ctx *c, const char *exe)
{
	return exe != NULL && (c->under_valgrind || strcmp(exe, c->self_exe) == 0);
}

enum { T_OK = 0, T_FAIL = -1, T_SKIP = 1 };

static int
why(struct ctx *c, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->why, WHY_LEN, fmt, ap);
	va_end(ap);
	return ret;
}

#define CHECK(cond, ...) do { if (!(cond)) return why(c, T_FAIL, __VA_ARGS__); } while (0)
#define STR(s) ((s).data ? (s).data : "(absent)")

static long
wait_exit(struct ctx *c, pid_t pid)
{
	uint32_t p = (uint32_t)pid;

	return twait(c->h, &c->st, tpred_exit_of, &p, WAIT_MS, c->why, WHY_LEN);
}

/*
 * One deadline (WAIT_MS from the last reap) and the milliseconds left until it
 * (0 once passed): a case that waits for many processes shares one deadline
 * among them, so records the kernel lost (each would cost a whole WAIT_MS)
 * cannot add up to minutes.
 */
static int
ms_left(uint64_t end_ms)
{
	uint64_t now = tclock_ms();

	return now >= end_ms ? 0 : (int)(end_ms - now);
}

/* Index of the n-th (0-based) record of pid in the store, or -1. */
static long
nth_of(struct tstore *st, pid_t pid, int n)
{
	size_t i;

	for (i = 0; i < st->n; i++)
		if (st->recs[i].fx.pid == (uint32_t)pid && n-- == 0)
			return (long)i;
	return -1;
}

static int
count_of(struct tstore *st, pid_t pid)
{
	size_t i;
	int n = 0;

	for (i = 0; i < st->n; i++)
		n += st->recs[i].fx.pid == (uint32_t)pid;
	return n;
}

/* Runs argv in a child, waits for it, returns the EXIT record's index (or -1). */
static long
run_and_find(struct ctx *c, char *const argv[], int *status)
{
	pid_t pid = tspawn(argv);
	int s;

	if (pid < 0) {
		why(c, T_FAIL, "fork: %s", strerror(errno));
		return -1;
	}
	s = treap(pid);
	if (status != NULL)
		*status = s;
	return wait_exit(c, pid);
}

/* ---- the cases ------------------------------------------------------- */

/*
 * Losses that are all probe runs the kernel skipped (a preemptible kernel
 * re-entered a program on one CPU: kernel_skipped) are counted, not a bug
 * of ours: a case that lost only those, and no more processes than that,
 * skips with the count instead of failing.
 */
static int
only_kernel_skips(struct ctx *c, const struct qf_stats *s, int missing)
{
	if ((missing == 0 && s->lost == 0) || s->lost != s->kernel_skipped ||
	    (uint64_t)missing > s->kernel_skipped)
		return 0;
	why(c, T_SKIP, "%d processes missing, %llu events lost: all probe runs the kernel skipped "
	    "(kernel_skipped; a program re-entered on a preemptible kernel), counted in lost",
	    missing, (unsigned long long)s->lost);
	return 1;
}

static int
t_snapshot_self(struct ctx *c)
{
	uint32_t me = (uint32_t)getpid();
	struct trec *r;
	long i;

	i = twait(c->h, &c->st, tpred_pid, &me, WAIT_MS, c->why, WHY_LEN);
	if (i < 0)
		return T_FAIL;
	r = &c->st.recs[i];
	CHECK(r->fx.h.flags & QF_REC_SNAPSHOT, "first record of ourselves has flags %#x, no SNAPSHOT",
	    r->fx.h.flags);
	CHECK(!(r->fx.h.flags & (QF_REC_FORK | QF_REC_EXEC | QF_REC_EXIT)),
	    "snapshot record carries event flags %#x", r->fx.h.flags);
	CHECK(r->fx.source == QF_SOURCE_PROCFS, "source %u", r->fx.source);
	CHECK(is_self_exe(c, r->exe.data), "exe %s, want %s", STR(r->exe), c->self_exe);
	CHECK(r->cwd.data && strcmp(r->cwd.data, c->cwd) == 0, "cwd %s, want %s", STR(r->cwd), c->cwd);
	CHECK(c->under_valgrind || (targ(&r->argv, 0) && strcmp(targ(&r->argv, 0), c->argv[0]) == 0),
	    "argv[0] %s",
	    targ(&r->argv, 0) ? targ(&r->argv, 0) : "(none)");
	CHECK(r->fx.ppid == (uint32_t)getppid(), "ppid %u, want %u", r->fx.ppid, getppid());
	CHECK(r->fx.uid == getuid() && r->fx.euid == geteuid(), "uid %u euid %u", r->fx.uid, r->fx.euid);
	CHECK(r->fx.h.valid & QF_VALID_NS && r->fx.ns_mnt != 0, "no mount namespace");
	CHECK(r->fx.start_ns > 0, "no start time");
	CHECK(r->fx.h.flags & QF_REC_COMPLETE, "not COMPLETE");
	CHECK(r->comm.data && r->comm.len > 0, "no comm");
	return T_OK;
}

static int
t_fork_exec_exit(struct ctx *c)
{
	char *argv[] = { "/bin/true", NULL };
	struct trec *r;
	int status;
	long i;

	i = run_and_find(c, argv, &status);
	if (i < 0)
		return T_FAIL;
	r = &c->st.recs[i];
	CHECK((r->fx.h.flags & (QF_REC_FORK | QF_REC_EXEC | QF_REC_EXIT)) ==
	    (QF_REC_FORK | QF_REC_EXEC | QF_REC_EXIT), "flags %#x, want FORK|EXEC|EXIT", r->fx.h.flags);
	CHECK(count_of(&c->st, (pid_t)r->fx.pid) == 1, "%d records for the pid, want 1",
	    count_of(&c->st, (pid_t)r->fx.pid));
	CHECK(r->fx.h.valid & QF_VALID_EXIT, "EXIT not valid");
	CHECK(r->fx.exit_code == 0 && r->fx.exit_signal == 0 && r->fx.exit_status == 0,
	    "exit code %d signal %u status %#x", r->fx.exit_code, r->fx.exit_signal, r->fx.exit_status);
	CHECK(r->exe.data && strcmp(r->exe.data, c->true_path) == 0, "exe %s, want %s",
	    STR(r->exe), c->true_path);
	CHECK(r->filename.data && strcmp(r->filename.data, "/bin/true") == 0, "filename %s",
	    STR(r->filename));
	CHECK(targ(&r->argv, 0) && strcmp(targ(&r->argv, 0), "/bin/true") == 0 &&
	    r->fx.argc == 1 && (r->fx.h.valid & QF_VALID_ARGC), "argv %s argc %u",
	    targ(&r->argv, 0) ? targ(&r->argv, 0) : "(none)", r->fx.argc);
	CHECK(r->fx.ppid == (uint32_t)getpid(), "ppid %u, want %d", r->fx.ppid, getpid());
	CHECK(r->cwd.data && strcmp(r->cwd.data, c->cwd) == 0, "cwd %s, want %s", STR(r->cwd), c->cwd);
	CHECK(r->fx.ns_mnt != 0 && r->fx.ns_pid != 0 && r->fx.ns_net != 0, "namespaces missing");
	CHECK(r->fx.start_ns != 0 && r->fx.fork_time_ns != 0 && r->fx.exec_time_ns >= r->fx.fork_time_ns &&
	    r->fx.exit_time_ns >= r->fx.exec_time_ns, "times start %llu fork %llu exec %llu exit %llu",
	    (unsigned long long)r->fx.start_ns, (unsigned long long)r->fx.fork_time_ns,
	    (unsigned long long)r->fx.exec_time_ns, (unsigned long long)r->fx.exit_time_ns);
	CHECK(r->fx.vpid == r->fx.pid, "vpid %u != pid %u on the host namespace", r->fx.vpid, r->fx.pid);
	CHECK(r->fx.h.flags & QF_REC_COMPLETE, "not COMPLETE");
	CHECK(r->fx.h.valid & QF_VALID_EXE_FILE && r->fx.exe_ino != 0 && r->fx.exe_nlink > 0 &&
	    (r->fx.exe_mode & S_IFMT) == S_IFREG, "exe file ino %llu nlink %u mode %o",
	    (unsigned long long)r->fx.exe_ino, r->fx.exe_nlink, r->fx.exe_mode);
	CHECK(!(r->fx.exec_flags & (QF_EXEC_SETUID | QF_EXEC_MEMFD | QF_EXEC_UNLINKED)),
	    "exec_flags %#x on a plain exec", r->fx.exec_flags);
	{
		/* The file times must be the ones stat(2) reports, to the nanosecond. */
		struct stat sb;

		CHECK(stat(c->true_path, &sb) == 0, "stat %s: %s", c->true_path, strerror(errno));
		CHECK(r->fx.exe_ino == (uint64_t)sb.st_ino && r->fx.exe_size == (uint64_t)sb.st_size,
		    "exe ino %llu size %llu, stat says %llu %llu", (unsigned long long)r->fx.exe_ino,
		    (unsigned long long)r->fx.exe_size, (unsigned long long)sb.st_ino,
		    (unsigned long long)sb.st_size);
		CHECK(r->fx.exe_ctime_ns == (int64_t)sb.st_ctim.tv_sec * 1000000000LL + sb.st_ctim.tv_nsec &&
		    r->fx.exe_mtime_ns == (int64_t)sb.st_mtim.tv_sec * 1000000000LL + sb.st_mtim.tv_nsec,
		    "exe ctime %lld mtime %lld, stat says %lld.%09ld %lld.%09ld",
		    (long long)r->fx.exe_ctime_ns, (long long)r->fx.exe_mtime_ns,
		    (long long)sb.st_ctim.tv_sec, sb.st_ctim.tv_nsec,
		    (long long)sb.st_mtim.tv_sec, sb.st_mtim.tv_nsec);
	}
	CHECK(r->nprev == 1 && (r->prev[0].flags & QF_IMG_FORK) && is_self_exe(c, r->prev[0].exe.data),
	    "previous: %u images, first %s",
	    r->nprev, r->nprev ? STR(r->prev[0].exe) : "-");
	CHECK(r->cgroup.data && r->cgroup.data[0] == '/', "cgroup %s", STR(r->cgroup));
	return T_OK;
}

static int
t_exit_code(struct ctx *c)
{
	char *argv[] = { "/bin/sh", "-c", "exit 3", NULL };
	struct trec *r;
	long i;

	i = run_and_find(c, argv, NULL);
	if (i < 0)
		return T_FAIL;
	r = &c->st.recs[i];
	CHECK(r->fx.exit_code == 3 && r->fx.exit_signal == 0 && r->fx.exit_status == (3 << 8),
	    "exit code %d signal %u status %#x", r->fx.exit_code, r->fx.exit_signal, r->fx.exit_status);
	return T_OK;
}

static int
wait_image(pid_t pid, const char *exe)
{
	char path[64], link[PATH_MAX];
	ssize_t n;
	int tries;

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	for (tries = 0; tries < 2000; tries++) {
		n = readlink(path, link, sizeof(link) - 1);
		if (n > 0) {
			link[n] = 0;
			if (strcmp(link, exe) == 0)
				return 0;
		}
		usleep(5000);
	}
	return -1;
}

static int
t_sigkill(struct ctx *c)
{
	char *argv[] = { "/bin/sleep", "30", NULL };
	char sleep_path[PATH_MAX];
	struct trec *r;
	pid_t pid;
	long i;

	if (realpath("/bin/sleep", sleep_path) == NULL)
		return why(c, T_SKIP, "no /bin/sleep");
	pid = tspawn(argv);
	if (pid < 0)
		return why(c, T_FAIL, "fork: %s", strerror(errno));
	if (wait_image(pid, sleep_path) != 0) {
		kill(pid, SIGKILL);
		treap(pid);
		return why(c, T_FAIL, "child never ran %s", sleep_path);
	}
	kill(pid, SIGKILL);
	treap(pid);
	i = wait_exit(c, pid);
	if (i < 0)
		return T_FAIL;
	r = &c->st.recs[i];
	CHECK(r->fx.exit_signal == SIGKILL && r->fx.exit_code == -1 &&
	    (r->fx.exit_status & 0x7f) == SIGKILL, "signal %u code %d status %#x",
	    r->fx.exit_signal, r->fx.exit_code, r->fx.exit_status);
	CHECK(r->exe.data && strcmp(r->exe.data, sleep_path) == 0, "exe %s", STR(r->exe));
	return T_OK;
}

static int
t_relative_exec(struct ctx *c)
{
	char bin[PATH_MAX];
	struct trec *r;
	pid_t pid;
	long i;

	if (realpath("/bin", bin) == NULL)
		return why(c, T_FAIL, "realpath /bin: %s", strerror(errno));
	pid = fork();
	if (pid == 0) {
		if (chdir("/bin") == 0)
			execl("./true", "./true", (char *)NULL);
		_exit(127);
	}
	treap(pid);
	i = wait_exit(c, pid);
	if (i < 0)
		return T_FAIL;
	r = &c->st.recs[i];
	CHECK(r->exe.data && strcmp(r->exe.data, c->true_path) == 0, "exe %s, want %s",
	    STR(r->exe), c->true_path);
	CHECK(r->filename.data && strcmp(r->filename.data, "./true") == 0, "filename %s",
	    STR(r->filename));
	CHECK(r->cwd.data && strcmp(r->cwd.data, bin) == 0, "cwd %s, want %s", STR(r->cwd), bin);
	CHECK(r->fx.exit_code == 0, "exit code %d", r->fx.exit_code);
	return T_OK;
}

static int
t_execveat(struct ctx *c)
{
	char dir[PATH_MAX], *slash;
	char *argv[] = { "true", NULL };
	struct trec *r;
	pid_t pid;
	long i;

	if (c->under_valgrind)
		return why(c, T_SKIP, "valgrind turns execveat into execve");
	snprintf(dir, sizeof(dir), "%s", c->true_path);
	slash = strrchr(dir, '/');
	*slash = 0;
	pid = fork();
	if (pid == 0) {
		int dfd = open(dir, O_PATH | O_DIRECTORY);

		if (dfd >= 0 && chdir("/") == 0)
			syscall(SYS_execveat, dfd, "true", argv, environ, 0);
		_exit(127);
	}
	if ((treap(pid) >> 8) == 127)
		return why(c, T_FAIL, "execveat failed in the child");
	i = wait_exit(c, pid);
	if (i < 0)
		return T_FAIL;
	r = &c->st.recs[i];
	CHECK(r->fx.h.flags & QF_REC_EXEC, "no EXEC in flags %#x", r->fx.h.flags);
	CHECK(r->exe.data && strcmp(r->exe.data, c->true_path) == 0, "exe %s, want %s",
	    STR(r->exe), c->true_path);
	CHECK(r->filename.data && strncmp(r->filename.data, "/dev/fd/", 8) == 0, "filename %s",
	    STR(r->filename));
	CHECK(r->cwd.data && strcmp(r->cwd.data, "/") == 0, "cwd %s", STR(r->cwd));
	return T_OK;
}

static int
t_exec_no_fork(struct ctx *c)
{
	char *argv[] = { "/bin/sh", "-c", "exec /bin/true", NULL };
	struct trec *last, *first;
	long i, j;

	i = run_and_find(c, argv, NULL);
	if (i < 0)
		return T_FAIL;
	last = &c->st.recs[i];
	j = nth_of(&c->st, (pid_t)last->fx.pid, 0);
	first = &c->st.recs[j];
	CHECK(j != i, "one record for two execs (flags %#x)", last->fx.h.flags);
	CHECK(count_of(&c->st, (pid_t)last->fx.pid) == 2, "%d records, want 2",
	    count_of(&c->st, (pid_t)last->fx.pid));
	CHECK((first->fx.h.flags & (QF_REC_FORK | QF_REC_EXEC | QF_REC_EXIT)) == (QF_REC_FORK | QF_REC_EXEC),
	    "first record flags %#x, want FORK|EXEC", first->fx.h.flags);
	CHECK(first->exe.data && strcmp(first->exe.data, c->sh_path) == 0, "first exe %s, want %s",
	    STR(first->exe), c->sh_path);
	CHECK((last->fx.h.flags & (QF_REC_FORK | QF_REC_EXEC | QF_REC_EXIT)) == (QF_REC_EXEC | QF_REC_EXIT),
	    "second record flags %#x, want EXEC|EXIT", last->fx.h.flags);
	CHECK(last->exe.data && strcmp(last->exe.data, c->true_path) == 0, "second exe %s",
	    STR(last->exe));
	CHECK(last->nprev == 2 && last->prev[0].exe.data &&
	    strcmp(last->prev[0].exe.data, c->sh_path) == 0 && (last->prev[0].flags & QF_IMG_EXEC) &&
	    targ(&last->prev[0].argv, 2) && strcmp(targ(&last->prev[0].argv, 2), "exec /bin/true") == 0 &&
	    (last->prev[1].flags & QF_IMG_FORK), "previous images: %u, first %s",
	    last->nprev, last->nprev ? STR(last->prev[0].exe) : "-");
	return T_OK;
}

struct thr_arg {
	int fd;
};

static void *
thread_exec(void *p)
{
	struct thr_arg *a = p;
	pid_t tid = (pid_t)syscall(SYS_gettid);

	if (write(a->fd, &tid, sizeof(tid)) != sizeof(tid))
		_exit(126);
	execl("/bin/true", "/bin/true", "from-thread", (char *)NULL);
	_exit(127);
}

static int
t_thread_exec(struct ctx *c)
{
	struct trec *r;
	pid_t pid, tid = 0;
	int fds[2];
	long i;

	if (pipe(fds) == -1)
		return why(c, T_FAIL, "pipe: %s", strerror(errno));
	pid = fork();
	if (pid == 0) {
		struct thr_arg a = { fds[1] };
		pthread_t t;

		close(fds[0]);
		if (pthread_create(&t, NULL, thread_exec, &a) != 0)
			_exit(125);
		pthread_join(t, NULL);
		_exit(124);
	}
	close(fds[1]);
	if (read(fds[0], &tid, sizeof(tid)) != sizeof(tid))
		tid = 0;
	close(fds[0]);
	treap(pid);
	i = wait_exit(c, pid);
	if (i < 0)
		return T_FAIL;
	r = &c->st.recs[i];
	CHECK(tid != 0 && tid != pid, "thread id %d", tid);
	CHECK(r->fx.h.flags & QF_REC_EXEC, "no EXEC in flags %#x", r->fx.h.flags);
	CHECK((r->fx.h.valid & QF_VALID_OLD_PID) && r->fx.old_pid == (uint32_t)tid,
	    "old_pid %u (valid %d), want the thread's %d", r->fx.old_pid,
	    !!(r->fx.h.valid & QF_VALID_OLD_PID), tid);
	CHECK(r->exe.data && strcmp(r->exe.data, c->true_path) == 0, "exe %s", STR(r->exe));
	CHECK(targ(&r->argv, 1) && strcmp(targ(&r->argv, 1), "from-thread") == 0, "argv[1] %s",
	    targ(&r->argv, 1) ? targ(&r->argv, 1) : "(none)");
	return T_OK;
}

/* The kprobe backend reads argv with fixed-size fetch arguments (README.md). */
#define KPROBE_ARGV_MAX	2048u

static uint32_t
argv_cap(const struct ctx *c)
{
	return c->backends == QF_BACKEND_KPROBE ? KPROBE_ARGV_MAX : QF_ARGV_MAX;
}

/* Runs /bin/true with nargs arguments of 99 characters; checks argv. */
static int
argv_case(struct ctx *c, int nargs, int expect_trunc)
{
	char **argv = calloc((size_t)nargs + 2, sizeof(char *));
	char *expect = NULL;
	size_t total = 0, off = 0;
	struct trec *r;
	long i = -1;
	int k, ret = T_FAIL;

	if (argv == NULL)
		return why(c, T_FAIL, "out of memory");
	argv[0] = "/bin/true";
	for (k = 1; k <= nargs; k++) {
		argv[k] = malloc(100);
		if (argv[k] == NULL)
			goto out;
		memset(argv[k], 'a' + k % 26, 99);
		snprintf(argv[k], 8, "%06d", k);
		argv[k][6] = '-';
		argv[k][99] = 0;
	}
	for (k = 0; k <= nargs; k++)
		total += strlen(argv[k]) + 1;
	expect = malloc(total);
	if (expect == NULL)
		goto out;
	for (k = 0; k <= nargs; k++) {
		memcpy(expect + off, argv[k], strlen(argv[k]) + 1);
		off += strlen(argv[k]) + 1;
	}
	i = run_and_find(c, argv, NULL);
	if (i < 0)
		goto out;
	r = &c->st.recs[i];
	ret = T_OK;
	if (!(r->fx.h.valid & QF_VALID_ARGC) || r->fx.argc != (uint32_t)nargs + 1)
		ret = why(c, T_FAIL, "argc %u, want %d", r->fx.argc, nargs + 1);
	else if (r->argv.orig_len != total)
		ret = why(c, T_FAIL, "argv orig_length %u, want %zu", r->argv.orig_len, total);
	else if (!expect_trunc && (r->argv.len != total || (r->argv.flags & QF_ITEM_F_TRUNCATED) ||
	    memcmp(r->argv.data, expect, total) != 0))
		ret = why(c, T_FAIL, "argv of %u bytes (flags %#x), want all %zu", r->argv.len,
		    r->argv.flags, total);
	else if (expect_trunc && (!(r->argv.flags & QF_ITEM_F_TRUNCATED) ||
	    r->argv.len != argv_cap(c) || memcmp(r->argv.data, expect, r->argv.len) != 0))
		ret = why(c, T_FAIL, "argv of %u bytes (flags %#x), want the first %u, truncated",
		    r->argv.len, r->argv.flags, argv_cap(c));
	if (ret == T_OK && c->verbose)
		printf("# argv: %u of %zu bytes, argc %u\n", r->argv.len, total, r->fx.argc);
out:
	for (k = 1; k <= nargs; k++)
		free(argv[k]);
	free(argv);
	free(expect);
	return ret;
}

static int
t_argv_32k(struct ctx *c)
{
	/* 400 x 100 bytes: 40 KiB, more than the 32 KiB promised, less than the cap */
	if (c->backends == QF_BACKEND_KPROBE)
		return why(c, T_SKIP, "the kprobe backend reads only the first %u bytes of argv "
		    "(fixed-size fetch arguments); argv_truncated_64k checks that cut", KPROBE_ARGV_MAX);
	return argv_case(c, 400, 0);
}

static int
t_argv_truncated(struct ctx *c)
{
	/* 700 x 100 bytes: 70 KiB, past the 64 KiB cap */
	return argv_case(c, 700, 1);
}

static int
make_tmpdir(struct ctx *c, char *out, size_t outlen)
{
	char tmpl[] = "/tmp/qf-test-XXXXXX";

	if (mkdtemp(tmpl) == NULL)
		return why(c, T_FAIL, "mkdtemp: %s", strerror(errno));
	if (realpath(tmpl, out) == NULL || strlen(out) >= outlen) {
		trm_rf(tmpl);
		return why(c, T_FAIL, "realpath %s: %s", tmpl, strerror(errno));
	}
	return T_OK;
}

/* Runs path with the working directory wd; returns the EXIT record index. */
static long
run_in(struct ctx *c, const char *wd, const char *path, char *arg1)
{
	pid_t pid = fork();

	if (pid == 0) {
		if (chdir(wd) == 0)
			execl(path, "true", arg1, (char *)NULL);
		_exit(127);
	}
	if (pid < 0) {
		why(c, T_FAIL, "fork: %s", strerror(errno));
		return -1;
	}
	treap(pid);
	return wait_exit(c, pid);
}

static int
t_long_path(struct ctx *c)
{
	char base[PATH_MAX], dir[PATH_MAX], exe[PATH_MAX + 16];
	struct trec *r;
	int k, ret = T_FAIL;
	long i;

	if (make_tmpdir(c, base, sizeof(base)) != T_OK)
		return T_FAIL;
	snprintf(dir, sizeof(dir), "%s", base);
	for (k = 0; k < 6; k++) {
		size_t n = strlen(dir);

		snprintf(dir + n, sizeof(dir) - n, "/level-%d-%s", k,
		    "abcdefghijklmnopqrstuvwxyz-0123456789-abcdefghij");
		if (mkdir(dir, 0755) == -1) {
			why(c, T_FAIL, "mkdir: %s", strerror(errno));
			goto out;
		}
	}
	snprintf(exe, sizeof(exe), "%s/true-copy", dir);
	if (tcopy_file(c->true_path, exe, 0755) != 0) {
		why(c, T_FAIL, "copy to %s failed", exe);
		goto out;
	}
	if (strlen(exe) < 300) {
		why(c, T_FAIL, "path only %zu characters", strlen(exe));
		goto out;
	}
	i = run_in(c, dir, exe, NULL);
	if (i < 0)
		goto out;
	r = &c->st.recs[i];
	if (c->backends == QF_BACKEND_KPROBE && r->exe.data && (r->exe.flags & QF_ITEM_F_TRUNCATED) &&
	    strlen(r->exe.data) < strlen(exe) &&
	    strcmp(exe + strlen(exe) - strlen(r->exe.data), r->exe.data) == 0)
		/* a documented kprobe limit (README: fetch-argument nesting on 7.x), not a pass */
		ret = why(c, T_SKIP, "the kprobe walk on this kernel keeps the deepest %zu of %zu "
		    "characters (TRUNCATED): fewer nested dereferences allowed",
		    strlen(r->exe.data), strlen(exe));
	else if (!r->exe.data || strcmp(r->exe.data, exe) != 0)
		why(c, T_FAIL, "exe %s, want %s (%zu chars)", STR(r->exe), exe, strlen(exe));
	else if (!r->cwd.data || strcmp(r->cwd.data, dir) != 0)
		why(c, T_FAIL, "cwd %s, want %s", STR(r->cwd), dir);
	else if (r->exe.flags & QF_ITEM_F_TRUNCATED)
		why(c, T_FAIL, "exe flagged truncated");
	else
		ret = T_OK;
out:
	trm_rf(base);
	return ret;
}

static int
t_cwd(struct ctx *c)
{
	char base[PATH_MAX];
	struct trec *r;
	int ret = T_FAIL;
	long i;

	if (make_tmpdir(c, base, sizeof(base)) != T_OK)
		return T_FAIL;
	i = run_in(c, base, "/bin/true", NULL);
	if (i >= 0) {
		r = &c->st.recs[i];
		if (!r->cwd.data || strcmp(r->cwd.data, base) != 0)
			why(c, T_FAIL, "cwd %s, want %s", STR(r->cwd), base);
		else
			ret = T_OK;
	}
	trm_rf(base);
	return ret;
}

static int
marker_pred(const struct trec *r, const void *marker)
{
	const char *a = targ(&r->argv, 1);

	return (r->fx.h.flags & QF_REC_EXIT) && a != NULL && strcmp(a, marker) == 0;
}

static int
t_pidns(struct ctx *c)
{
	char marker[64];
	struct trec *r, *init;
	struct stat st;
	uint32_t init_pid;
	pid_t pid;
	long i, j;
	int status;

	if (c->under_valgrind)
		return why(c, T_SKIP, "valgrind cannot fork in a new pid namespace");
	if (stat("/proc/self/ns/pid", &st) == -1)
		return why(c, T_SKIP, "no /proc/self/ns/pid");
	snprintf(marker, sizeof(marker), "qf-pidns-%d", getpid());
	pid = fork();
	if (pid == 0) {
		pid_t init_child;

		if (unshare(CLONE_NEWPID) == -1)
			_exit(120);
		init_child = fork();
		if (init_child == 0) {
			/* pid 1 of the new namespace starts pid 2 */
			pid_t p2 = fork();

			if (p2 == 0) {
				execl("/bin/true", "/bin/true", marker, (char *)NULL);
				_exit(127);
			}
			_exit(treap(p2) == 0 ? 0 : 1);
		}
		_exit(treap(init_child) == 0 ? 0 : 1);
	}
	status = treap(pid);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 120)
		return why(c, T_SKIP, "unshare(CLONE_NEWPID) refused");
	if (status != 0)
		return why(c, T_FAIL, "child status %#x", status);
	i = twait(c->h, &c->st, marker_pred, marker, WAIT_MS, c->why, WHY_LEN);
	if (i < 0)
		return T_FAIL;
	init_pid = c->st.recs[i].fx.ppid;
	j = wait_exit(c, (pid_t)init_pid);
	if (j < 0)
		return T_FAIL;
	r = &c->st.recs[i];
	init = &c->st.recs[j];
	CHECK(r->fx.vpid == 2, "vpid %u, want 2", r->fx.vpid);
	CHECK(init->fx.vpid == 1, "init's vpid %u, want 1", init->fx.vpid);
	CHECK(r->fx.ns_pid != 0 && r->fx.ns_pid == init->fx.ns_pid, "pid ns %u vs init's %u",
	    r->fx.ns_pid, init->fx.ns_pid);
	CHECK(r->fx.ns_pid != (uint32_t)st.st_ino, "same pid namespace as the test");
	CHECK((r->fx.h.valid & QF_VALID_PIDNS_INIT) && r->fx.pidns_init_start_ns == init->fx.start_ns,
	    "pidns_init_start_ns %llu, init started %llu", (unsigned long long)r->fx.pidns_init_start_ns,
	    (unsigned long long)init->fx.start_ns);
	CHECK(r->fx.pid != 2, "pid is the namespace's, not the host's");
	return T_OK;
}

static int
exec_fd(int fd, char *const argv[])
{
	/* execveat(fd, "", AT_EMPTY_PATH): what fexecve() does */
	return (int)syscall(SYS_execveat, fd, "", argv, environ, AT_EMPTY_PATH);
}

static int
t_memfd(struct ctx *c)
{
	/* argv[0] "true" also suits a busybox /bin/true (the qemu kernel matrix) */
	char *argv[] = { "true", NULL };
	struct trec *r;
	pid_t pid;
	int status;
	long i;

	if (c->under_valgrind)
		return why(c, T_SKIP, "valgrind cannot execveat(AT_EMPTY_PATH)");
	pid = fork();
	if (pid == 0) {
		char buf[65536];
		ssize_t n;
		int in, fd;

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif
		fd = memfd_create("qf-test-memfd", MFD_EXEC);
		if (fd == -1)
			fd = memfd_create("qf-test-memfd", 0);
		in = open("/bin/true", O_RDONLY);
		if (fd == -1 || in == -1)
			_exit(120);
		while ((n = read(in, buf, sizeof(buf))) > 0)
			if (write(fd, buf, (size_t)n) != n)
				_exit(121);
		close(in);
		exec_fd(fd, argv);
		_exit(127);
	}
	status = treap(pid);
	if (WIFEXITED(status) && WEXITSTATUS(status) >= 120)
		return why(c, T_SKIP, "memfd exec refused here (status %d)", WEXITSTATUS(status));
	i = wait_exit(c, pid);
	if (i < 0)
		return T_FAIL;
	r = &c->st.recs[i];
	CHECK(r->fx.h.flags & QF_REC_EXEC, "no EXEC in flags %#x", r->fx.h.flags);
	CHECK(r->exe.data && strncmp(r->exe.data, "/memfd:qf-test-memfd", 20) == 0, "exe %s",
	    STR(r->exe));
	CHECK((r->fx.exec_flags & (QF_EXEC_MEMFD | QF_EXEC_UNLINKED)) == (QF_EXEC_MEMFD | QF_EXEC_UNLINKED),
	    "exec_flags %#x, want MEMFD|UNLINKED", r->fx.exec_flags);
	CHECK(r->fx.exe_nlink == 0, "nlink %u", r->fx.exe_nlink);
	return T_OK;
}

static int
t_unlinked(struct ctx *c)
{
	char base[PATH_MAX], exe[PATH_MAX + 16];
	char *argv[] = { "true", NULL };
	struct trec *r;
	int ret = T_FAIL;
	pid_t pid;
	long i;

	if (c->under_valgrind)
		return why(c, T_SKIP, "valgrind cannot execveat(AT_EMPTY_PATH)");
	if (make_tmpdir(c, base, sizeof(base)) != T_OK)
		return T_FAIL;
	snprintf(exe, sizeof(exe), "%s/true-gone", base);
	if (tcopy_file(c->true_path, exe, 0755) != 0) {
		why(c, T_FAIL, "copy failed");
		goto out;
	}
	pid = fork();
	if (pid == 0) {
		int fd = open(exe, O_RDONLY | O_CLOEXEC);

		if (fd == -1 || unlink(exe) == -1)
			_exit(120);
		exec_fd(fd, argv);
		_exit(121);
	}
	if (treap(pid) >= (120 << 8)) {
		why(c, T_FAIL, "child failed before or at exec");
		goto out;
	}
	i = wait_exit(c, pid);
	if (i < 0)
		goto out;
	r = &c->st.recs[i];
	if (!(r->fx.exec_flags & QF_EXEC_UNLINKED) || (r->fx.exec_flags & QF_EXEC_MEMFD))
		why(c, T_FAIL, "exec_flags %#x, want UNLINKED without MEMFD", r->fx.exec_flags);
	else if (r->fx.exe_nlink != 0)
		why(c, T_FAIL, "nlink %u", r->fx.exe_nlink);
	else if (!r->exe.data || strcmp(r->exe.data, exe) != 0)
		why(c, T_FAIL, "exe %s, want %s", STR(r->exe), exe);
	else
		ret = T_OK;
out:
	trm_rf(base);
	return ret;
}

static int
t_setuid(struct ctx *c)
{
	char base[PATH_MAX], exe[PATH_MAX + 16];
	const uid_t owner = 4242, runner = 65534;
	struct statvfs vfs;
	struct trec *r;
	int ret = T_FAIL;
	pid_t pid;
	long i;

	if (geteuid() != 0)
		return why(c, T_SKIP, "needs root to chown the binary");
	if (make_tmpdir(c, base, sizeof(base)) != T_OK)
		return T_FAIL;
	if (statvfs(base, &vfs) == 0 && (vfs.f_flag & ST_NOSUID)) {
		ret = why(c, T_SKIP, "%s is mounted nosuid", base);
		goto out;
	}
	snprintf(exe, sizeof(exe), "%s/true-suid", base);
	if (chmod(base, 0755) == -1 || tcopy_file(c->true_path, exe, 0755) != 0 ||
	    chown(exe, owner, owner) == -1 || chmod(exe, 04755) == -1) {
		why(c, T_FAIL, "setting up %s: %s", exe, strerror(errno));
		goto out;
	}
	pid = fork();
	if (pid == 0) {
		if (setgroups(0, NULL) == -1 || setresgid(runner, runner, runner) == -1 ||
		    setresuid(runner, runner, runner) == -1)
			_exit(120);
		execl(exe, "true", (char *)NULL);
		_exit(120);
	}
	if (treap(pid) == (120 << 8)) {
		why(c, T_FAIL, "child could not drop to uid %u", runner);
		goto out;
	}
	i = wait_exit(c, pid);
	if (i < 0)
		goto out;
	r = &c->st.recs[i];
	if (!(r->fx.h.valid & QF_VALID_EXEC_PRIV))
		why(c, T_FAIL, "EXEC_PRIV not valid");
	else if (!(r->fx.exec_flags & QF_EXEC_SETUID) || !(r->fx.exec_flags & QF_EXEC_PRIV_CHANGED))
		why(c, T_FAIL, "exec_flags %#x, want SETUID|PRIV_CHANGED", r->fx.exec_flags);
	else if (r->fx.uid != runner || r->fx.euid != owner || r->fx.suid != owner)
		why(c, T_FAIL, "uid %u euid %u suid %u, want %u %u %u", r->fx.uid, r->fx.euid,
		    r->fx.suid, runner, owner, owner);
	else if (r->fx.exe_uid != owner || !(r->fx.exe_mode & S_ISUID))
		why(c, T_FAIL, "exe owner %u mode %o", r->fx.exe_uid, r->fx.exe_mode);
	else
		ret = T_OK;
out:
	trm_rf(base);
	return ret;
}

static int
t_lookup(struct ctx *c)
{
	uint8_t *buf = malloc(QF_MIN_POLL_BUF);
	struct tstore st = { 0 };
	int n, ret = T_FAIL;

	if (buf == NULL)
		return why(c, T_FAIL, "out of memory");
	n = qf_lookup(c->h, getpid(), buf, QF_MIN_POLL_BUF);
	if (n <= 0) {
		why(c, T_FAIL, "qf_lookup(self): %d", n);
		goto out;
	}
	if (tdecode(&st, buf, (size_t)n, c->why, WHY_LEN) != 0)
		goto out;
	if (st.n != 1 || st.recs[0].fx.pid != (uint32_t)getpid() ||
	    !(st.recs[0].fx.h.flags & QF_REC_LOOKUP)) {
		why(c, T_FAIL, "lookup gave %zu records, flags %#x", st.n, st.n ? st.recs[0].fx.h.flags : 0);
		goto out;
	}
	if (!is_self_exe(c, st.recs[0].exe.data)) {
		why(c, T_FAIL, "lookup exe %s", STR(st.recs[0].exe));
		goto out;
	}
	n = qf_lookup(c->h, 0x3ffffffe, buf, QF_MIN_POLL_BUF);
	if (n != -ENOENT) {
		why(c, T_FAIL, "lookup of an unknown pid: %d, want -ENOENT", n);
		goto out;
	}
	n = qf_lookup(c->h, getpid(), buf, 40);
	if (n != -ENOBUFS) {
		why(c, T_FAIL, "lookup into 40 bytes: %d, want -ENOBUFS", n);
		goto out;
	}
	ret = T_OK;
out:
	tstore_free(&st);
	free(buf);
	return ret;
}

static struct qf_handle *
open_with(struct ctx *c, int32_t hold_ms, uint32_t flags)
{
	struct qf_options o;
	char err[512];
	struct qf_handle *h;

	qf_options_init(&o);
	o.backends = c->backends;
	o.hold_time_ms = hold_ms;
	o.flags = flags;
	h = qf_open(&o, err, sizeof(err));
	if (h == NULL)
		why(c, T_FAIL, "qf_open: %s", err);
	return h;
}

static int
t_hold_zero(struct ctx *c)
{
	char *argv[] = { "/bin/true", NULL };
	struct tstore st = { 0 };
	struct qf_handle *h;
	uint32_t p;
	int ret = T_FAIL, seen = 0;
	pid_t pid;
	size_t k;

	h = open_with(c, 0, 0);
	if (h == NULL)
		return T_FAIL;
	pid = tspawn(argv);
	treap(pid);
	p = (uint32_t)pid;
	if (twait(h, &st, tpred_exit_of, &p, WAIT_MS, c->why, WHY_LEN) < 0)
		goto out;
	for (k = 0; k < st.n; k++) {
		uint32_t f = st.recs[k].fx.h.flags & (QF_REC_FORK | QF_REC_EXEC | QF_REC_EXIT);

		if (st.recs[k].fx.pid != p)
			continue;
		if (f != QF_REC_FORK && f != QF_REC_EXEC && f != QF_REC_EXIT) {
			why(c, T_FAIL, "aggregated record (flags %#x) with hold time 0", f);
			goto out;
		}
		seen |= (int)f;
	}
	if (seen != (QF_REC_FORK | QF_REC_EXEC | QF_REC_EXIT))
		why(c, T_FAIL, "saw flags %#x, want a FORK, an EXEC and an EXIT record", seen);
	else
		ret = T_OK;
out:
	qf_close(h);
	tstore_free(&st);
	return ret;
}

struct poller {
	struct qf_handle *h;
	int ret;
};

static void *
poll_forever(void *p)
{
	struct poller *pl = p;
	uint8_t *buf = malloc(QF_MIN_POLL_BUF);

	pl->ret = -ENOMEM;
	if (buf == NULL)
		return NULL;
	do {
		pl->ret = qf_poll(pl->h, buf, QF_MIN_POLL_BUF, -1);
	} while (pl->ret >= 0);
	free(buf);
	return NULL;
}

static int
t_close_while_polling(struct ctx *c)
{
	struct poller pl = { NULL, 0 };
	struct timespec ts = { 0, 200 * 1000 * 1000 };
	uint8_t stats[sizeof(struct qf_stats)];
	pthread_t t;

	pl.h = open_with(c, -1, 0);
	if (pl.h == NULL)
		return T_FAIL;
	if (pthread_create(&t, NULL, poll_forever, &pl) != 0) {
		qf_close(pl.h);
		return why(c, T_FAIL, "pthread_create failed");
	}
	nanosleep(&ts, NULL);
	/* another thread may read stats while the poll sleeps */
	if (qf_stats(pl.h, stats, sizeof(stats)) != (int)sizeof(stats)) {
		qf_close(pl.h);
		pthread_join(t, NULL);
		return why(c, T_FAIL, "qf_stats during a poll failed");
	}
	qf_close(pl.h);
	pthread_join(t, NULL);
	CHECK(pl.ret == -ECANCELED, "poll returned %d, want -ECANCELED", pl.ret);
	return T_OK;
}

/* Definitions in kprobe_events that belong to pid (named qf_<pid>_...); -1 unreadable. */
static int
count_probes(pid_t pid)
{
	static const char *paths[] = { "/sys/kernel/tracing/kprobe_events",
	    "/sys/kernel/debug/tracing/kprobe_events" };
	char needle[32], line[8192];
	FILE *f = NULL;
	size_t i;
	int n = 0;

	for (i = 0; i < 2 && f == NULL; i++)
		f = fopen(paths[i], "r");
	if (f == NULL)
		return -1;
	snprintf(needle, sizeof(needle), "/qf_%d_", (int)pid);
	while (fgets(line, sizeof(line), f) != NULL)
		n += strstr(line, needle) != NULL;
	fclose(f);
	return n;
}

static int
t_kprobe_cleanup(struct ctx *c)
{
	struct qf_handle *h;
	int before, during, status;
	pid_t pid;

	if (c->backends != QF_BACKEND_KPROBE)
		return why(c, T_SKIP, "kprobe backend only (kprobe_events)");
	before = count_probes(getpid());
	CHECK(before > 0, "no qf_%d_ probe in kprobe_events while a handle is open (%d)",
	    getpid(), before);
	h = open_with(c, -1, 0);
	if (h == NULL)
		return T_FAIL;
	during = count_probes(getpid());
	qf_close(h);
	CHECK(during > before && count_probes(getpid()) == before,
	    "probes: %d before open, %d open, %d after close", before, during,
	    count_probes(getpid()));
	/* a crash: the child's probes stay behind until someone opens again */
	pid = fork();
	if (pid == 0) {
		struct qf_options o;
		char err[256];

		qf_options_init(&o);
		o.backends = QF_BACKEND_KPROBE;
		o.flags = 0;
		_exit(qf_open(&o, err, sizeof(err)) == NULL ? 1 : 0);
	}
	status = treap(pid);
	CHECK(status == 0, "child could not open the kprobe backend (status %#x)", status);
	CHECK(count_probes(pid) > 0, "the dead child left no probes to clean");
	h = open_with(c, -1, 0);
	if (h == NULL)
		return T_FAIL;
	qf_close(h);
	CHECK(count_probes(pid) == 0, "%d probes of dead pid %d survived the next open",
	    count_probes(pid), pid);
	return T_OK;
}

static int
t_pressure(struct ctx *c)
{
	enum { N = 200, MAXP = 16 };
	char *argv[] = { "/bin/true", NULL };
	struct tstore st = { 0 };
	struct qf_options o;
	struct qf_handle *h;
	struct qf_stats s;
	char err[512];
	pid_t pids[N];
	int k, ret = T_FAIL, missing = 0;
	uint64_t end;

	qf_options_init(&o);
	o.backends = c->backends;
	o.flags = 0;
	o.max_pending = MAXP;
	h = qf_open(&o, err, sizeof(err));
	if (h == NULL)
		return why(c, T_FAIL, "qf_open: %s", err);
	for (k = 0; k < N; k++)
		pids[k] = tspawn(argv);
	for (k = 0; k < N; k++)
		treap(pids[k]);
	end = tclock_ms() + WAIT_MS;
	for (k = 0; k < N; k++) {
		uint32_t p = (uint32_t)pids[k];

		if (twait(h, &st, tpred_exit_of, &p, ms_left(end), c->why, WHY_LEN) < 0)
			missing++;
	}
	qf_stats(h, (uint8_t *)&s, sizeof(s));
	printf("# pressure: max_pending %d, %d processes, %llu records forced out early, "
	    "%llu aggregations, lost %llu\n", MAXP, N, (unsigned long long)s.forced_flushes,
	    (unsigned long long)s.aggregations, (unsigned long long)s.lost);
	if (only_kernel_skips(c, &s, missing))
		ret = T_SKIP;
	else if (missing > 0)
		why(c, T_FAIL, "%d of %d processes without an EXIT record", missing, N);
	else if (s.pending > MAXP)
		why(c, T_FAIL, "%llu records held, bound %d", (unsigned long long)s.pending, MAXP);
	else if (s.lost != 0)
		why(c, T_FAIL, "lost %llu", (unsigned long long)s.lost);
	else
		ret = T_OK;
	qf_close(h);
	tstore_free(&st);
	return ret;
}

static int
t_cache_bounded(struct ctx *c)
{
	enum { MAXC = 32 };
	struct qf_options o;
	struct qf_handle *h;
	struct qf_stats s;
	char err[512];

	qf_options_init(&o);
	o.backends = c->backends;
	o.flags = 0;
	o.max_cache = MAXC;
	h = qf_open(&o, err, sizeof(err));
	if (h == NULL)
		return why(c, T_FAIL, "qf_open: %s", err);
	qf_stats(h, (uint8_t *)&s, sizeof(s));
	qf_close(h);
	if (s.insertions <= MAXC)
		return why(c, T_SKIP, "only %llu processes on this system", (unsigned long long)s.insertions);
	CHECK(s.cache_entries <= MAXC, "%llu entries, bound %d", (unsigned long long)s.cache_entries, MAXC);
	CHECK(s.evictions > 0 && s.removals >= s.evictions, "evictions %llu removals %llu",
	    (unsigned long long)s.evictions, (unsigned long long)s.removals);
	return T_OK;
}

static double
secs_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
t_burst(struct ctx *c)
{
	enum { N = 500 };
	char *argv[] = { "/bin/true", NULL };
	pid_t pids[N];
	struct qf_stats s;
	size_t before = c->st.n;
	double t0, t1;
	int k, missing = 0, merged = 0;
	uint64_t end;
	long i;

	t0 = secs_now();
	for (k = 0; k < N; k++) {
		pids[k] = tspawn(argv);
		if (pids[k] < 0)
			return why(c, T_FAIL, "fork %d: %s", k, strerror(errno));
	}
	for (k = 0; k < N; k++)
		treap(pids[k]);
	t1 = secs_now();
	end = tclock_ms() + WAIT_MS;
	for (k = 0; k < N; k++) {
		uint32_t p = (uint32_t)pids[k];

		i = twait(c->h, &c->st, tpred_exit_of, &p, ms_left(end), c->why, WHY_LEN);
		if (i < 0) {
			missing++;
			continue;
		}
		if ((c->st.recs[i].fx.h.flags & (QF_REC_FORK | QF_REC_EXEC | QF_REC_EXIT)) ==
		    (QF_REC_FORK | QF_REC_EXEC | QF_REC_EXIT))
			merged++;
	}
	qf_stats(c->h, (uint8_t *)&s, sizeof(s));
	printf("# burst: %d processes spawned in %.3f s (%.0f/s), %zu records received, "
	    "%d found, %d fully aggregated, lost %llu\n", N, t1 - t0, N / (t1 - t0),
	    c->st.n - before, N - missing, merged, (unsigned long long)s.lost);
	if (only_kernel_skips(c, &s, missing))
		return T_SKIP;
	CHECK(missing == 0, "%d of %d processes not reported", missing, N);
	CHECK(s.lost == 0, "lost %llu", (unsigned long long)s.lost);
	return T_OK;
}

static int
t_stats(struct ctx *c)
{
	char *argv[] = { "/bin/true", NULL };
	struct qf_stats s;
	int n;

	/* one process of its own: the counters move even in a fresh handle (a new runner) */
	if (run_and_find(c, argv, NULL) < 0)
		return T_FAIL;
	memset(&s, 0xff, sizeof(s));
	n = qf_stats(c->h, (uint8_t *)&s, sizeof(s));
	printf("# stats: insertions %llu removals %llu aggregations %llu non_aggregations %llu "
	    "lost %llu gc %llu cache %llu pending %llu out %llu raw %llu truncated %llu "
	    "evictions %llu forced %llu hold %llu ms snapshot %llu\n",
	    (unsigned long long)s.insertions, (unsigned long long)s.removals,
	    (unsigned long long)s.aggregations, (unsigned long long)s.non_aggregations,
	    (unsigned long long)s.lost, (unsigned long long)s.garbage_collections,
	    (unsigned long long)s.cache_entries, (unsigned long long)s.pending,
	    (unsigned long long)s.records_out, (unsigned long long)s.raw_events,
	    (unsigned long long)s.truncated, (unsigned long long)s.evictions,
	    (unsigned long long)s.forced_flushes, (unsigned long long)s.hold_time_ms,
	    (unsigned long long)s.snapshot_records);
	CHECK(n == (int)sizeof(s) && s.size == sizeof(s) && s.version == QF_STATS_VERSION,
	    "qf_stats returned %d, size %u version %u", n, s.size, s.version);
	CHECK(s.backend == (strcmp(qf_backend(c->h), "ebpf") == 0 ? QF_SOURCE_EBPF : QF_SOURCE_KPROBE),
	    "backend %llu for %s", (unsigned long long)s.backend, qf_backend(c->h));
	CHECK(s.insertions > 0 && s.aggregations > 0 && s.non_aggregations > 0 && s.raw_events > 0,
	    "counters did not move");
	CHECK(s.snapshot_records > 0, "no snapshot records counted");
	if (only_kernel_skips(c, &s, 0))
		return T_SKIP;
	CHECK(s.lost == 0 && s.ring_lost == 0 && s.decode_errors == 0, "lost %llu",
	    (unsigned long long)s.lost);
	CHECK(c->st.lost == 0, "batches reported %llu lost", (unsigned long long)c->st.lost);
	return T_OK;
}

/* The cgroup2 mount point, from mountinfo; 0 or -1 when there is none. */
static int
cgroup2_mount(char *out, size_t outlen)
{
	FILE *f = fopen("/proc/self/mountinfo", "r");
	char line[4096], mnt[PATH_MAX], *sep;
	int found = -1;

	if (f == NULL)
		return -1;
	while (found != 0 && fgets(line, sizeof(line), f) != NULL) {
		/* "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS... - FSTYPE SOURCE SUPEROPTS" */
		sep = strstr(line, " - ");
		if (sep == NULL || strncmp(sep + 3, "cgroup2 ", 8) != 0)
			continue;
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) == 1 && strlen(mnt) < outlen) {
			snprintf(out, outlen, "%s", mnt);
			found = 0;
		}
	}
	fclose(f);
	return found;
}

/*
 * A process in a cgroup two levels below the root: the record's cgroup path
 * names both levels, so the walk up the kernfs parents (a member renamed in
 * 6.15) really ran; in the root cgroup it stops at once.
 */
static int
t_cgroup_path(struct ctx *c)
{
	char mnt[PATH_MAX], top[PATH_MAX + 64], leaf[PATH_MAX + 96], procs[PATH_MAX + 128];
	char want[96], *argv[] = { "/bin/true", NULL };
	struct trec *r;
	int ret = T_FAIL, status = -1, tries;
	size_t wl, cl;
	pid_t pid;
	long i;

	if (cgroup2_mount(mnt, sizeof(mnt)) != 0)
		return why(c, T_SKIP, "no cgroup2 mount in /proc/self/mountinfo");
	snprintf(top, sizeof(top), "%s/qf-test-%d", mnt, getpid());
	snprintf(leaf, sizeof(leaf), "%s/inner", top);
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", leaf);
	snprintf(want, sizeof(want), "/qf-test-%d/inner", getpid());
	if (mkdir(top, 0755) != 0 || mkdir(leaf, 0755) != 0) {
		rmdir(top);
		return why(c, T_SKIP, "cannot create a cgroup under %s: %s", mnt, strerror(errno));
	}
	pid = fork();
	if (pid == 0) {
		char me[32];
		int fd = open(procs, O_WRONLY);

		snprintf(me, sizeof(me), "%d\n", getpid());
		if (fd < 0 || write(fd, me, strlen(me)) < 0)
			_exit(126);
		close(fd);
		execve(argv[0], argv, environ);
		_exit(127);
	}
	if (pid > 0)
		status = treap(pid);
	if (pid < 0) {
		why(c, T_FAIL, "fork: %s", strerror(errno));
	} else if (!WIFEXITED(status) || WEXITSTATUS(status) == 126) {
		why(c, T_SKIP, "cannot move a process into %s (status %#x)", leaf, status);
	} else if ((i = wait_exit(c, pid)) >= 0) {
		r = &c->st.recs[i];
		wl = strlen(want);
		cl = r->cgroup.data ? strlen(r->cgroup.data) : 0;
		if (r->cgroup.data == NULL || r->cgroup.data[0] != '/' || cl < wl ||
		    strcmp(r->cgroup.data + cl - wl, want) != 0)
			why(c, T_FAIL, "cgroup %s, want a path ending in %s", STR(r->cgroup), want);
		else
			ret = T_OK;
	}
	/* an exited process leaves its cgroup a moment after it is reaped */
	for (tries = 0; tries < 100 && rmdir(leaf) != 0 && errno == EBUSY; tries++)
		usleep(50 * 1000);
	rmdir(top);
	return ret;
}

/*
 * The raw_tp programs, the eBPF backend's fallback for kernels that refuse
 * tp_btf: forced with QF_EBPF_PROGRAMS, so every kernel proves them, not only
 * the ones that need them.
 */
static int
t_ebpf_raw_tp(struct ctx *c)
{
	char *argv[] = { "/bin/true", "raw-tp-arg", NULL };
	struct tstore st = { 0 };
	struct qf_handle *h;
	struct trec *r;
	struct stat sb;
	int ret = T_FAIL;
	uint32_t p;
	long i;

	if (c->backends != QF_BACKEND_EBPF)
		return why(c, T_SKIP, "eBPF only: forces the eBPF backend's raw_tp programs");
	if (stat(c->true_path, &sb) != 0)
		return why(c, T_FAIL, "stat %s: %s", c->true_path, strerror(errno));
	setenv("QF_EBPF_PROGRAMS", "raw_tp", 1);
	h = open_with(c, 1000, 0);
	unsetenv("QF_EBPF_PROGRAMS");
	if (h == NULL)
		return T_FAIL;
	p = (uint32_t)tspawn(argv);
	treap((pid_t)p);
	i = twait(h, &st, tpred_exit_of, &p, WAIT_MS, c->why, WHY_LEN);
	if (i < 0)
		goto out;
	r = &st.recs[i];
	if ((r->fx.h.flags & (QF_REC_FORK | QF_REC_EXEC | QF_REC_EXIT)) !=
	    (QF_REC_FORK | QF_REC_EXEC | QF_REC_EXIT))
		why(c, T_FAIL, "flags %#x, want FORK|EXEC|EXIT", r->fx.h.flags);
	else if (r->fx.source != QF_SOURCE_EBPF)
		why(c, T_FAIL, "source %u, want eBPF", r->fx.source);
	else if (r->exe.data == NULL || strcmp(r->exe.data, c->true_path) != 0)
		why(c, T_FAIL, "exe %s, want %s", STR(r->exe), c->true_path);
	else if (targ(&r->argv, 1) == NULL || strcmp(targ(&r->argv, 1), "raw-tp-arg") != 0)
		why(c, T_FAIL, "argv[1] %s", targ(&r->argv, 1) ? targ(&r->argv, 1) : "(none)");
	else if (r->fx.exit_code != 0 || r->fx.ppid != (uint32_t)getpid())
		why(c, T_FAIL, "exit code %d ppid %u", r->fx.exit_code, r->fx.ppid);
	else if (r->cwd.data == NULL || strcmp(r->cwd.data, c->cwd) != 0)
		why(c, T_FAIL, "cwd %s, want %s", STR(r->cwd), c->cwd);
	else if (r->fx.exe_ino != (uint64_t)sb.st_ino ||
	    r->fx.exe_mtime_ns != (int64_t)sb.st_mtim.tv_sec * 1000000000LL + sb.st_mtim.tv_nsec)
		why(c, T_FAIL, "exe ino %llu mtime %lld, stat says %llu %lld.%09ld",
		    (unsigned long long)r->fx.exe_ino, (long long)r->fx.exe_mtime_ns,
		    (unsigned long long)sb.st_ino, (long long)sb.st_mtim.tv_sec, sb.st_mtim.tv_nsec);
	else
		ret = T_OK;
out:
	qf_close(h);
	tstore_free(&st);
	return ret;
}

static int
t_backend_name(struct ctx *c)
{
	const char *b = qf_backend(c->h);

	CHECK(strcmp(b, (c->backends == QF_BACKEND_KPROBE) ? "kprobe" : "ebpf") == 0, "backend %s", b);
	CHECK(qf_format_version() == QF_FORMAT_VERSION, "format version %d", qf_format_version());
	return T_OK;
}

#include "cases_lineage.h"

/*
 * The watchdog's own checks, run only when named with -t: a case that never
 * ends (its child blocks in read(2) on a pipe nobody writes) and one that
 * crashes the test process.
 */
static int
t_selftest_hang(struct ctx *c)
{
	int fds[2];
	pid_t pid;
	char b;

	if (pipe(fds) == -1)
		return why(c, T_FAIL, "pipe: %s", strerror(errno));
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		pause();
		_exit(0);
	}
	if (read(fds[0], &b, 1) == 1)
		return why(c, T_FAIL, "read a byte nobody wrote");
	return why(c, T_FAIL, "read returned");
}

static int
t_selftest_crash(struct ctx *c)
{
	(void)c;
	signal(SIGSEGV, SIG_DFL);
	raise(SIGSEGV);
	return T_OK;
}

struct tcase {
	const char *name;
	int (*fn)(struct ctx *);
};

/* Run only when -t names them. */
static const struct tcase selftests[] = {
	{ "watchdog_selftest_hang", t_selftest_hang },
	{ "watchdog_selftest_crash", t_selftest_crash },
};
#define NSELFTESTS	(sizeof(selftests) / sizeof(selftests[0]))

static const struct tcase cases[] = {
	{ "snapshot_contains_self", t_snapshot_self },
	{ "backend_name", t_backend_name },
	{ "fork_exec_exit_aggregated", t_fork_exec_exit },
	{ "exit_code_3", t_exit_code },
	{ "sigkill_signal_kept", t_sigkill },
	{ "relative_exec", t_relative_exec },
	{ "execveat_dirfd", t_execveat },
	{ "exec_without_fork", t_exec_no_fork },
	{ "exec_from_thread_old_pid", t_thread_exec },
	{ "argv_32k", t_argv_32k },
	{ "argv_truncated_64k", t_argv_truncated },
	{ "path_300_chars", t_long_path },
	{ "cwd", t_cwd },
	{ "cgroup_path", t_cgroup_path },
	{ "pid_namespace", t_pidns },
	{ "memfd_exec", t_memfd },
	{ "unlinked_exec", t_unlinked },
	{ "setuid_exec", t_setuid },
	{ "lookup", t_lookup },
	{ "hold_time_zero_no_aggregation", t_hold_zero },
	{ "ebpf_raw_tp_programs", t_ebpf_raw_tp },
	{ "close_while_polling", t_close_while_polling },
	{ "kprobe_cleanup", t_kprobe_cleanup },
	{ "pressure_bounded_hold_queue", t_pressure },
	{ "cache_bounded", t_cache_bounded },
	{ "burst_500", t_burst },
	{ "stats", t_stats },
	LINEAGE_CASES
};
#define NCASES	(sizeof(cases) / sizeof(cases[0]))

/* Every case by one index: quark_test.c's, the hostile ones, then the self-tests. */
#define NDEFAULT	(NCASES + hostile_ncases)
#define NALL		(NDEFAULT + NSELFTESTS)
#define WATCHDOG_S	60
#define MAX_RUN		4096	/* items in one run: the selection times -n */

static const char *
case_name(size_t k)
{
	if (k < NCASES)
		return cases[k].name;
	return k < NDEFAULT ? hostile_cases[k - NCASES].name : selftests[k - NDEFAULT].name;
}

/*
 * A case that failed while the only events the shared handle lost meanwhile
 * are probe runs the kernel skipped (a program re-entered on a preemptible
 * kernel: 7.x under qemu loses a few that way, and counts them) skips, with its
 * failure and those counts: the record it missed, or the FORK its record lacks,
 * may be one of them. A failure with no loss, or with any other loss, fails.
 */
static int
run_case(struct ctx *c, const struct tcase *tc)
{
	struct qf_stats a, b;
	char inner[WHY_LEN - 256];
	int r, have;

	have = qf_stats(c->h, (uint8_t *)&a, sizeof(a)) == (int)sizeof(a);
	r = tc->fn(c);
	if (r != T_FAIL || !have || qf_stats(c->h, (uint8_t *)&b, sizeof(b)) != (int)sizeof(b))
		return r;
	if (b.lost == a.lost)
		return r;
	if (b.kernel_skipped == a.kernel_skipped || b.lost - a.lost != b.kernel_skipped - a.kernel_skipped) {
		snprintf(inner, sizeof(inner), "%s", c->why);
		return why(c, T_FAIL, "%s (the shared handle lost %llu events during the case, %llu of them "
		    "probe runs the kernel skipped)", inner, (unsigned long long)(b.lost - a.lost),
		    (unsigned long long)(b.kernel_skipped - a.kernel_skipped));
	}
	snprintf(inner, sizeof(inner), "%s", c->why);
	return why(c, T_SKIP, "%s; the only events lost during the case were %llu probe runs the "
	    "kernel skipped (kernel_skipped; a program re-entered on a preemptible kernel), counted in lost",
	    inner, (unsigned long long)(b.kernel_skipped - a.kernel_skipped));
}

/* What the runner needs: the options, and the run list (case indices, in order). */
struct plan {
	struct ctx *c;
	size_t list[MAX_RUN];
};

static const char *
plan_name(long i, void *arg)
{
	const struct plan *p = arg;

	return case_name(p->list[i]);
}

/* Opens the shared handle, runs items s->next.. of the plan, closes it. */
static void
run_plan(struct tw_state *s, long end, void *arg)
{
	struct plan *p = arg;
	struct ctx *c = p->c;
	char err[1024];
	long i;

	err[0] = 0;
	if (geteuid() != 0) {
		snprintf(err, sizeof(err), "not root");
	} else if (realpath("/bin/true", c->true_path) == NULL || realpath("/bin/sh", c->sh_path) == NULL ||
	    realpath("/proc/self/exe", c->self_exe) == NULL || getcwd(c->cwd, sizeof(c->cwd)) == NULL) {
		snprintf(err, sizeof(err), "cannot resolve /bin/true, /bin/sh or our own paths");
	} else {
		struct qf_options o;

		qf_options_init(&o);
		o.backends = c->backends;
		c->h = qf_open(&o, err, sizeof(err));
	}
	for (i = s->next; i < end; i++) {
		size_t k = p->list[i];
		const char *name = case_name(k);
		int r;

		tw_begin(s, i);
		c->why[0] = 0;
		if (c->h == NULL) {
			/* an unusable backend is a reason to skip, not a failure, only when expected */
			int expected = geteuid() != 0 || strstr(err, "not built") != NULL ||
			    strstr(err, "kernel has no kprobe_events") != NULL;

			r = expected ? T_SKIP : T_FAIL;
			snprintf(c->why, WHY_LEN, "%s%.1000s", expected ? "" : "qf_open: ", err);
		} else if (k < NCASES) {
			r = run_case(c, &cases[k]);
		} else if (k < NDEFAULT) {
			r = hostile_cases[k - NCASES].fn(c->backends, c->why, WHY_LEN);
		} else {
			r = selftests[k - NDEFAULT].fn(c);
		}
		if (r == T_OK)
			printf("ok %s\n", name);
		else if (r == T_SKIP)
			printf("skip %s: %s\n", name, c->why);
		else
			printf("not ok %s: %s\n", name, c->why[0] ? c->why : "failed");
		tw_end(s, i, name, r);
	}
	qf_close(c->h);
	c->h = NULL;
	tstore_free(&c->st);
}

static void
usage(void)
{
	fprintf(stderr, "usage: quark-test [-b ebpf|kprobe] [-t NAME[,NAME...]]... [-n COUNT] [-w SECONDS] "
	    "[-l] [-v]\n"
	    "  -t  run only these cases (repeatable; -l lists them)\n"
	    "  -n  run the selection COUNT times\n"
	    "  -w  watchdog: a case running longer fails with a diagnosis, the rest goes on "
	    "(default %d; 0: off, all in one process)\n", WATCHDOG_S);
	exit(2);
}

/* Adds the cases named in a comma-separated list to sel; exits on an unknown name. */
static void
select_cases(char *names, unsigned char *sel)
{
	char *name, *save = NULL;
	size_t k;

	for (name = strtok_r(names, ",", &save); name != NULL; name = strtok_r(NULL, ",", &save)) {
		for (k = 0; k < NALL; k++)
			if (strcmp(name, case_name(k)) == 0)
				break;
		if (k == NALL) {
			fprintf(stderr, "quark-test: no case named '%s' (quark-test -l lists them)\n", name);
			exit(2);
		}
		sel[k] = 1;
	}
}

int
main(int argc, char *argv[])
{
	static char whybuf[WHY_LEN];
	static struct plan plan;
	unsigned char *sel;
	struct ctx c;
	int opt, list = 0, any = 0, watchdog = WATCHDOG_S;
	long n = 0, count = 1, rep;
	char *end;
	size_t k;

	memset(&c, 0, sizeof(c));
	c.why = whybuf;
	c.argv = argv;
	c.backends = QF_BACKEND_EBPF;
	c.under_valgrind = getenv("LD_PRELOAD") != NULL && strstr(getenv("LD_PRELOAD"), "vgpreload") != NULL;
	sel = calloc(NALL, 1);
	if (sel == NULL)
		return 2;
	while ((opt = getopt(argc, argv, "b:t:n:w:lv")) != -1) {
		switch (opt) {
		case 'b':
			if (strcmp(optarg, "ebpf") == 0)
				c.backends = QF_BACKEND_EBPF;
			else if (strcmp(optarg, "kprobe") == 0)
				c.backends = QF_BACKEND_KPROBE;
			else
				usage();
			break;
		case 't':
			select_cases(optarg, sel);
			any = 1;
			break;
		case 'n':
			count = strtol(optarg, &end, 10);
			if (*end != 0 || count < 1 || count > MAX_RUN)
				usage();
			break;
		case 'w':
			watchdog = (int)strtol(optarg, &end, 10);
			if (*end != 0 || watchdog < 0 || watchdog > 86400)
				usage();
			break;
		case 'l':
			list = 1;
			break;
		case 'v':
			c.verbose = 1;
			break;
		default:
			usage();
		}
	}
	if (list) {
		for (k = 0; k < NDEFAULT; k++)
			printf("%s\n", case_name(k));
		free(sel);
		return 0;
	}
	for (rep = 0; rep < count; rep++) {
		for (k = 0; k < NALL; k++) {
			if (any ? !sel[k] : k >= NDEFAULT)
				continue;
			if (n == MAX_RUN) {
				fprintf(stderr, "quark-test: more than %d cases to run\n", MAX_RUN);
				return 2;
			}
			plan.list[n++] = k;
		}
	}
	free(sel);
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	plan.c = &c;
	/*
	 * Under valgrind a forked runner's errors would go unreported
	 * (--child-silent-after-fork): everything stays in this process.
	 */
	if (c.under_valgrind)
		watchdog = 0;
	/*
	 * Each round in a fresh process: markers name the test's pid and the store
	 * keeps what a case saw, so a repeated case must not find its last round's.
	 */
	return tw_run(n, n / count, watchdog, run_plan, plan_name, &plan);
}
