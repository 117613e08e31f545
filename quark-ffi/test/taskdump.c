// SPDX-License-Identifier: Apache-2.0
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "taskdump.h"
#include "clock_ms.h"
#include "read_small.h"

#define TD_THREADS	64	/* threads dumped per process */
#define TD_SUM		2048	/* bytes of the one-line summary, at most */
#define TD_STACK	4096	/* bytes of one kernel stack */

/* Shared with the helper process that does the reading. */
struct td_shared {
	char reading[128];	/* the /proc file being read now */
	char sum[TD_SUM];
	struct td_found found;
	volatile int done;
};

static int
read_file(struct td_shared *sh, const char *path, char *buf, size_t cap)
{
	ssize_t got;

	snprintf(sh->reading, sizeof(sh->reading), "%s", path);
	__sync_synchronize();
	got = tread_small(path, buf, cap);
	if (got == -1) {
		snprintf(buf, cap, "(%s)", strerror(errno));
		return -1;
	}
	while (got > 0 && buf[got - 1] == '\n')
		buf[--got] = 0;
	return 0;
}

static void
sum_add(struct td_shared *sh, const char *fmt, ...)
{
	size_t len = strlen(sh->sum);
	va_list ap;

	if (len + 1 >= sizeof(sh->sum))
		return;
	va_start(ap, fmt);
	vsnprintf(sh->sum + len, sizeof(sh->sum) - len, fmt, ap);
	va_end(ap);
}

static const struct {
	long nr;
	const char *name;
} sysnames[] = {
	{ SYS_read, "read" }, { SYS_write, "write" }, { SYS_openat, "openat" },
	{ SYS_close, "close" }, { SYS_ppoll, "ppoll" }, { SYS_futex, "futex" },
	{ SYS_nanosleep, "nanosleep" }, { SYS_clock_nanosleep, "clock_nanosleep" },
	{ SYS_wait4, "wait4" }, { SYS_waitid, "waitid" }, { SYS_clone, "clone" },
	{ SYS_execve, "execve" }, { SYS_exit, "exit" }, { SYS_exit_group, "exit_group" },
	{ SYS_epoll_pwait, "epoll_pwait" }, { SYS_bpf, "bpf" }, { SYS_mprotect, "mprotect" },
	{ SYS_munmap, "munmap" }, { SYS_mmap, "mmap" }, { SYS_kill, "kill" },
	{ SYS_unshare, "unshare" }, { SYS_readlinkat, "readlinkat" },
#ifdef SYS_poll
	{ SYS_poll, "poll" },
#endif
#ifdef SYS_pause
	{ SYS_pause, "pause" },
#endif
#ifdef SYS_fork
	{ SYS_fork, "fork" },
#endif
#ifdef SYS_epoll_wait
	{ SYS_epoll_wait, "epoll_wait" },
#endif
#ifdef SYS_readlink
	{ SYS_readlink, "readlink" },
#endif
#ifdef SYS_open
	{ SYS_open, "open" },
#endif
};

/* "read()" for a task in read(2), "running", "no syscall", or the number. */
static void
syscall_name(const char *raw, char *out, size_t cap)
{
	char *end;
	long nr;
	size_t i;

	if (raw[0] == '(' || strncmp(raw, "running", 7) == 0) {
		snprintf(out, cap, "%.40s", raw);
		return;
	}
	nr = strtol(raw, &end, 10);
	if (end == raw) {
		snprintf(out, cap, "?");
		return;
	}
	if (nr < 0) {
		snprintf(out, cap, "no syscall");
		return;
	}
	for (i = 0; i < sizeof(sysnames) / sizeof(sysnames[0]); i++) {
		if (sysnames[i].nr == nr) {
			snprintf(out, cap, "%s()", sysnames[i].name);
			return;
		}
	}
	snprintf(out, cap, "syscall %ld", nr);
}

/* The function of a stack line "[<0>] do_wait+0x15c/0x340", into out. */
static void
frame_name(const char *line, char *out, size_t cap)
{
	const char *p = strstr(line, "] ");
	size_t n;

	p = p != NULL ? p + 2 : line;
	n = strcspn(p, "+ \n");
	if (n >= cap)
		n = cap - 1;
	memcpy(out, p, n);
	out[n] = 0;
}

static void
dump_thread(struct td_shared *sh, int fd, pid_t pid, pid_t tid, int first)
{
	char path[96], stat[512], wchan[128], sys[256], sysn[64], top[96];
	static char stack[TD_STACK];
	char comm[64] = "?", state = '?', *open, *close, *line, *save = NULL;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, tid);
	if (read_file(sh, path, stat, sizeof(stat)) == 0) {
		open = strchr(stat, '(');
		close = strrchr(stat, ')');
		if (open != NULL && close != NULL && close > open) {
			snprintf(comm, sizeof(comm), "%.*s", (int)(close - open - 1), open + 1);
			state = close[1] == ' ' ? close[2] : '?';
		}
	}
	snprintf(path, sizeof(path), "/proc/%d/task/%d/wchan", pid, tid);
	read_file(sh, path, wchan, sizeof(wchan));
	snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", pid, tid);
	read_file(sh, path, sys, sizeof(sys));
	syscall_name(sys, sysn, sizeof(sysn));
	snprintf(path, sizeof(path), "/proc/%d/task/%d/stack", pid, tid);
	read_file(sh, path, stack, sizeof(stack));
	dprintf(fd, "quark-test:   %d/%d (%s) state %c, wchan %s, %s\n", pid, tid, comm,
	    state, wchan, sysn);
	top[0] = 0;
	sh->found.threads++;
	sh->found.in_exit += strstr(stack, "] do_exit+") != NULL;
	sh->found.in_bpf += strstr(stack, "bpf_prog_") != NULL || strstr(stack, "bpf_trampoline") != NULL ||
	    strstr(stack, "__bpf_") != NULL || strstr(stack, "bpf_trace_run") != NULL;
	for (line = strtok_r(stack, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		dprintf(fd, "quark-test:       %s\n", line);
		if (top[0] == 0)
			frame_name(line, top, sizeof(top));
	}
	/* wchan is "0" for a running task: the top of its stack says more */
	if (strcmp(wchan, "0") == 0 && top[0] != 0)
		snprintf(wchan, sizeof(wchan), "%s", top);
	if (tid == pid)
		sum_add(sh, "%s%d %s %c %s %s", first ? "" : "; ", pid, comm, state, wchan, sysn);
	else
		sum_add(sh, "%s%d/%d %c %s %s", first ? "" : "; ", pid, tid, state, wchan, sysn);
}

static int
is_number(const char *s)
{
	if (*s == 0)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

static int
dump_process(struct td_shared *sh, int fd, pid_t pid, int first)
{
	pid_t tids[TD_THREADS];
	char path[64];
	struct dirent *e;
	int n = 0, more = 0, i;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	snprintf(sh->reading, sizeof(sh->reading), "%s", path);
	d = opendir(path);
	if (d == NULL)
		return first;	/* gone meanwhile */
	while ((e = readdir(d)) != NULL) {
		if (!is_number(e->d_name))
			continue;
		if (n < TD_THREADS)
			tids[n++] = (pid_t)atoi(e->d_name);
		else
			more++;
	}
	closedir(d);
	/* the leader first */
	for (i = 0; i < n; i++) {
		if (tids[i] == pid) {
			tids[i] = tids[0];
			tids[0] = pid;
			break;
		}
	}
	for (i = 0; i < n; i++) {
		dump_thread(sh, fd, pid, tids[i], first);
		first = 0;
	}
	if (more)
		dprintf(fd, "quark-test:   %d: %d more threads not shown\n", pid, more);
	return first;
}

int
td_ppid(const char *pid)
{
	char path[64], buf[512], *p;
	int ppid;

	snprintf(path, sizeof(path), "/proc/%.16s/stat", pid);
	if (tread_small(path, buf, sizeof(buf)) <= 0)
		return -1;
	/* the name in parentheses may hold anything: the fields start after the last ')' */
	p = strrchr(buf, ')');
	if (p == NULL || sscanf(p + 1, " %*c %d", &ppid) != 1)
		return -1;
	return ppid;
}

int
td_descendants(pid_t root, pid_t *out, int max)
{
	static pid_t pids[8192], ppids[8192];
	struct dirent *e;
	int n = 0, k = 0, i, j, ppid;
	DIR *d = opendir("/proc");

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL && n < (int)(sizeof(pids) / sizeof(pids[0]))) {
		if (!is_number(e->d_name) || (ppid = td_ppid(e->d_name)) < 0)
			continue;
		ppids[n] = ppid;
		pids[n++] = (pid_t)atoi(e->d_name);
	}
	closedir(d);
	/* breadth first: out[] is its own queue */
	for (j = -1; j < k; j++) {
		pid_t parent = j < 0 ? root : out[j];

		for (i = 0; i < n && k < max; i++)
			if (ppids[i] == parent)
				out[k++] = pids[i];
	}
	return k;
}

int
td_diagnose(const pid_t *pids, int n, pid_t focus, int fd, char *sum, size_t sumlen, int limit_ms,
    struct td_found *found)
{
	struct td_shared *sh;
	uint64_t end = tclock_ms() + (uint64_t)limit_ms;
	pid_t helper;
	int i, first = 1, ret = 0;

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED) {
		snprintf(sum, sumlen, "(no diagnosis: mmap: %s)", strerror(errno));
		return -1;
	}
	memset(sh, 0, sizeof(*sh));
	helper = fork();
	if (helper == 0) {
		for (i = 0; i < n; i++)
			if (pids[i] == focus)
				first = dump_process(sh, fd, focus, first);
		for (i = 0; i < n; i++)
			if (pids[i] != focus)
				first = dump_process(sh, fd, pids[i], first);
		sh->done = 1;
		_exit(0);
	}
	if (helper < 0) {
		snprintf(sum, sumlen, "(no diagnosis: fork: %s)", strerror(errno));
		munmap(sh, sizeof(*sh));
		return -1;
	}
	while (!sh->done && tclock_ms() < end)
		usleep(20 * 1000);
	__sync_synchronize();
	if (found != NULL)
		*found = sh->found;
	if (sh->done) {
		snprintf(sum, sumlen, "%s", sh->sum);
	} else {
		/* the read that blocked is itself the finding */
		kill(helper, SIGKILL);
		snprintf(sum, sumlen, "%s%sreading %s blocked for %d ms", sh->sum, sh->sum[0] ? "; " : "",
		    sh->reading, limit_ms);
		dprintf(fd, "quark-test:   reading %s blocked for %d ms\n", sh->reading, limit_ms);
		ret = -1;
	}
	/* a helper stuck where SIGKILL cannot reach is left behind, not waited for */
	for (i = 0; i < 100 && waitpid(helper, NULL, WNOHANG) == 0; i++)
		usleep(10 * 1000);
	munmap(sh, sizeof(*sh));
	return ret;
}
