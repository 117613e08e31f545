// SPDX-License-Identifier: Apache-2.0
/*
 * quark-test cases for what an unprivileged user controls and for floods
 * (issue 10). Each opens its own handle: most need options of their own.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/prctl.h>
#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "quark_ffi.h"
#include "test_util.h"
#include "test_hostile.h"
/* white-box cases drive the aggregation directly */
#include "aggregate.h"
#include "cache.h"
#include "clock_ms.h"
#include "read_small.h"

#define WAIT_MS		15000
#define BIG_ARG		(60 * 1024)

enum { H_OK = 0, H_FAIL = -1, H_SKIP = 1 };

extern char **environ;

static int
say(char *why, size_t whylen, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return ret;
}

#define FAILIF(cond, ...) do { if (cond) { ret = say(why, whylen, H_FAIL, __VA_ARGS__); goto out; } } while (0)

static struct qf_handle *
open_opts(const struct qf_options *o, char *why, size_t whylen)
{
	char err[512];
	struct qf_handle *h = qf_open(o, err, sizeof(err));

	if (h == NULL)
		say(why, whylen, H_FAIL, "qf_open: %s", err);
	return h;
}

#define SLEEPER_ENV	"QF_TEST_SLEEPER=1"

/*
 * A copy of this program run with QF_TEST_SLEEPER=1 in its environment only
 * sleeps: a sleeper whose executable we name and place, on any system (the
 * kernel matrix's /bin/sleep is busybox, which dispatches on its name).
 */
__attribute__((constructor)) static void
sleeper(void)
{
	const char *v = getenv("QF_TEST_SLEEPER");

	if (v != NULL && strcmp(v, "1") == 0) {
		sleep(60);
		_exit(0);
	}
}

/* Runs path as a sleeper (see above) with an optional argument; returns the pid. */
static pid_t
spawn_sleeper(const char *path, const char *cwd_to_remove, const char *arg)
{
	char *argv[] = { (char *)path, (char *)arg, NULL }, *env[] = { SLEEPER_ENV, NULL };
	pid_t pid = fork();

	if (pid == 0) {
		if (cwd_to_remove != NULL && (chdir(cwd_to_remove) != 0 || rmdir(cwd_to_remove) != 0))
			_exit(126);
		execve(path, argv, env);
		_exit(127);
	}
	return pid;
}

/* Waits (up to 10 s) until pid runs as a sleeper: its environment is only SLEEPER_ENV. */
static int
wait_sleeper(pid_t pid)
{
	char path[64], buf[64];
	uint64_t end = tclock_ms() + 10000;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/environ", pid);
	while (tclock_ms() < end) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			n = read(fd, buf, sizeof(buf));
			close(fd);
			if (n == (ssize_t)sizeof(SLEEPER_ENV) && memcmp(buf, SLEEPER_ENV, sizeof(SLEEPER_ENV)) == 0)
				return 0;
		}
		usleep(5000);
	}
	return -1;
}

static const struct trec *
snapshot_of(const struct tstore *st, pid_t pid)
{
	size_t i;

	for (i = 0; i < st->n; i++)
		if (st->recs[i].fx.pid == (uint32_t)pid && (st->recs[i].fx.h.flags & QF_REC_SNAPSHOT))
			return &st->recs[i];
	return NULL;
}

/* ---- 1: an argv area of 64 TiB must not stall the snapshot ------------ */

/* Fields 1..nf of /proc/self/stat (after the comm) into f[]. */
static int
self_stat(unsigned long long *f, int nf)
{
	char buf[4096], *s, *end;
	int k;

	if (tread_small("/proc/self/stat", buf, sizeof(buf)) <= 0)
		return -1;
	s = strrchr(buf, ')');
	if (s == NULL)
		return -1;
	s += 2;		/* ") " */
	s++;		/* the state letter, field 3 */
	memset(f, 0, sizeof(*f) * (size_t)(nf + 1));
	for (k = 4; k <= nf; k++) {
		f[k] = strtoull(s, &end, 10);
		if (end == s)
			return -1;
		s = end;
	}
	return 0;
}

/*
 * The victim: as nobody, points its argv area at `area` bytes of an unbacked
 * mapping (no capability needed where CONFIG_CHECKPOINT_RESTORE is on),
 * reports "ok" or why not on wfd, then waits to be killed.
 */
static void
huge_argv_victim(int wfd, uint64_t area)
{
	struct prctl_mm_map m;
	unsigned long long f[52];
	char msg[128] = "ok";
	void *p;

	if (setgid(65534) != 0 || setuid(65534) != 0) {
		snprintf(msg, sizeof(msg), "setuid(65534): %s", strerror(errno));
	} else if ((p = mmap(NULL, area, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
	    -1, 0)) == MAP_FAILED) {
		snprintf(msg, sizeof(msg), "mmap %llu bytes: %s", (unsigned long long)area, strerror(errno));
	} else if (self_stat(f, 51) != 0) {
		snprintf(msg, sizeof(msg), "cannot parse /proc/self/stat");
	} else {
		memset(&m, 0, sizeof(m));
		m.start_code = f[26];
		m.end_code = f[27];
		m.start_stack = f[28];
		m.start_data = f[45];
		m.end_data = f[46];
		m.start_brk = f[47];
		m.brk = (uint64_t)(uintptr_t)sbrk(0);
		m.arg_start = (uint64_t)(uintptr_t)p;
		m.arg_end = (uint64_t)(uintptr_t)p + area;
		m.env_start = f[50];
		m.env_end = f[51];
		m.exe_fd = (uint32_t)-1;
		if (prctl(PR_SET_MM, PR_SET_MM_MAP, &m, sizeof(m), 0) != 0)
			snprintf(msg, sizeof(msg), "prctl(PR_SET_MM_MAP) as uid 65534: %s", strerror(errno));
	}
	if (write(wfd, msg, strlen(msg) + 1) < 0)
		_exit(1);
	for (;;)
		pause();
}

static pid_t
start_victim(uint64_t area, char *msg, size_t msglen)
{
	int fds[2];
	pid_t pid;
	ssize_t n;

	if (pipe(fds) != 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		huge_argv_victim(fds[1], area);
	}
	close(fds[1]);
	n = read(fds[0], msg, msglen - 1);
	close(fds[0]);
	msg[n > 0 ? n : 0] = 0;
	return pid;
}

struct open_result {
	char err[256];
	uint64_t open_ms;
	uint32_t len[2], orig[2];
	uint16_t flags[2];
	int found[2];
};

/* In a child (so a stall can be killed): qf_open with the snapshot, then the victims' records. */
static void
open_and_find(int wfd, uint32_t backends, const pid_t *victims)
{
	struct open_result res;
	struct tstore st = { 0 };
	struct qf_options o;
	struct qf_handle *h;
	uint64_t t0;
	int k;

	memset(&res, 0, sizeof(res));
	qf_options_init(&o);
	o.backends = backends;
	t0 = tclock_ms();
	h = qf_open(&o, res.err, sizeof(res.err));
	res.open_ms = tclock_ms() - t0;
	for (k = 0; h != NULL && k < 2; k++) {
		uint32_t pid = (uint32_t)victims[k];
		long i = twait(h, &st, tpred_pid, &pid, WAIT_MS, res.err, sizeof(res.err));

		if (i < 0)
			break;
		res.found[k] = 1;
		res.len[k] = st.recs[i].argv.len;
		res.orig[k] = st.recs[i].argv.orig_len;
		res.flags[k] = st.recs[i].argv.flags;
	}
	if (write(wfd, &res, sizeof(res)) < 0)
		_exit(1);
	qf_close(h);
	tstore_free(&st);
	_exit(0);
}

static int
h_huge_argv(uint32_t backends, char *why, size_t whylen)
{
	const uint64_t huge = 64ULL << 40, mib = 1ULL << 20;
	struct open_result res;
	char msg[128];
	pid_t victims[2] = { -1, -1 }, opener = -1;
	struct pollfd pfd;
	int fds[2] = { -1, -1 }, ret = H_OK;
	ssize_t n;

	victims[0] = start_victim(huge, msg, sizeof(msg));
	if (victims[0] < 0 || strcmp(msg, "ok") != 0) {
		ret = say(why, whylen, H_SKIP, "cannot set up the 64 TiB argv area: %s", msg);
		goto out;
	}
	victims[1] = start_victim(mib, msg, sizeof(msg));
	FAILIF(victims[1] < 0 || strcmp(msg, "ok") != 0, "1 MiB argv area: %s", msg);
	FAILIF(pipe(fds) != 0, "pipe: %s", strerror(errno));
	opener = fork();
	if (opener == 0) {
		close(fds[0]);
		open_and_find(fds[1], backends, victims);
	}
	close(fds[1]);
	fds[1] = -1;
	pfd.fd = fds[0];
	pfd.events = POLLIN;
	FAILIF(poll(&pfd, 1, 20000) != 1,
	    "qf_open was still scanning /proc 20 s after it started (a 64 TiB argv area stalls it)");
	n = read(fds[0], &res, sizeof(res));
	FAILIF(n != (ssize_t)sizeof(res), "opener died without a result");
	printf("# huge argv: qf_open with the snapshot took %llu ms beside a 64 TiB argv area\n",
	    (unsigned long long)res.open_ms);
	FAILIF(!res.found[0] || !res.found[1], "snapshot records of the victims: %s", res.err);
	FAILIF(res.len[0] != QF_ARGV_MAX || !(res.flags[0] & QF_ITEM_F_TRUNCATED),
	    "64 TiB area: argv item of %u bytes, flags %#x (want %u, TRUNCATED)", res.len[0],
	    res.flags[0], QF_ARGV_MAX);
	FAILIF(res.orig[0] != UINT32_MAX, "64 TiB area: orig_length %u, want 0xFFFFFFFF (unknown: "
	    "it does not fit 32 bits)", res.orig[0]);
	FAILIF(res.len[1] != QF_ARGV_MAX || res.orig[1] != (uint32_t)mib,
	    "1 MiB area: argv %u bytes, orig_length %u (want %u, %u from stat's arg_start/arg_end)",
	    res.len[1], res.orig[1], QF_ARGV_MAX, (uint32_t)mib);
out:
	if (opener > 0) {
		kill(opener, SIGKILL);
		waitpid(opener, NULL, 0);
	}
	for (n = 0; n < 2; n++) {
		if (victims[n] > 0) {
			kill(victims[n], SIGKILL);
			waitpid(victims[n], NULL, 0);
		}
	}
	if (fds[0] >= 0)
		close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
	return ret;
}

/* ---- 1: the snapshot's time budget, and what it skipped --------------- */

static int
h_snapshot_budget(uint32_t backends, char *why, size_t whylen)
{
	struct qf_options o;
	struct qf_handle *h;
	struct qf_stats s;
	int ret = H_OK;

	qf_options_init(&o);
	o.backends = backends;
	o.snapshot_ms = 1;
	h = open_opts(&o, why, whylen);
	if (h == NULL)
		return H_FAIL;
	memset(&s, 0, sizeof(s));
	FAILIF(qf_stats(h, (uint8_t *)&s, sizeof(s)) < (int)sizeof(s), "stats block shorter than %zu",
	    sizeof(s));
	printf("# snapshot budget 1 ms: %llu processes read, %llu skipped\n",
	    (unsigned long long)s.snapshot_records, (unsigned long long)s.snapshot_skipped);
	FAILIF(s.snapshot_skipped == 0, "a 1 ms budget skipped nothing (%llu read)",
	    (unsigned long long)s.snapshot_records);
out:
	qf_close(h);
	return ret;
}

/* ---- 2: a slow consumer under a flood of large-argv execs -------------- */

static long
vm_rss_kib(void)
{
	char buf[4096], *p;

	if (tread_small("/proc/self/status", buf, sizeof(buf)) <= 0)
		return -1;
	p = strstr(buf, "VmRSS:");
	return p != NULL ? strtol(p + 6, NULL, 10) : -1;
}

/*
 * Execs /bin/true with a 60 KiB argument, as fast as it can, for ms.
 * posix_spawn (a vfork) stays fast when the parent is large (ASan).
 */
static void
flood(uint64_t ms)
{
	static char big[BIG_ARG];
	char *argv[] = { "/bin/true", big, NULL };
	uint64_t end = tclock_ms() + ms;
	pid_t p[4];
	int k;

	memset(big, 'x', sizeof(big) - 1);
	while (tclock_ms() < end) {
		for (k = 0; k < 4; k++)
			if (posix_spawn(&p[k], argv[0], NULL, NULL, argv, environ) != 0)
				p[k] = -1;
		for (k = 0; k < 4; k++)
			if (p[k] > 0)
				treap(p[k]);
	}
	_exit(0);
}

static int
h_flood(uint32_t backends, char *why, size_t whylen)
{
	enum { MAXP = 64 };
	struct tstore st = { 0 };
	struct qf_options o;
	struct qf_handle *h;
	struct qf_stats s;
	uint64_t max_pending = 0, max_bytes = 0, polls = 0, drained_by = 0;
	long rss0, rss1, rss_max = 0;
	uint8_t *buf = NULL;
	pid_t producer = -1;
	int ret = H_OK, n, idle = 0, status;

	qf_options_init(&o);
	o.backends = backends;
	o.flags = 0;
	o.max_pending = MAXP;
	o.ring_bytes = 256 * 1024;
	h = open_opts(&o, why, whylen);
	if (h == NULL)
		return H_FAIL;
	buf = malloc(QF_MIN_POLL_BUF);
	FAILIF(buf == NULL, "out of memory");
	rss0 = vm_rss_kib();
	producer = fork();
	if (producer == 0)
		flood(1500);
	/* a consumer taking 20 ms per batch of what a 256 KiB buffer holds */
	while (idle < 3 && (producer > 0 || tclock_ms() < drained_by)) {
		n = qf_poll(h, buf, QF_MIN_POLL_BUF, 100);
		FAILIF(n < 0, "qf_poll: %s", strerror(-n));
		if (n > 0 && tdecode(&st, buf, (size_t)n, why, whylen) != 0) {
			ret = H_FAIL;
			goto out;
		}
		polls++;
		qf_stats(h, (uint8_t *)&s, sizeof(s));
		if (s.pending > max_pending)
			max_pending = s.pending;
		if (s.pending_bytes > max_bytes)
			max_bytes = s.pending_bytes;
		if (vm_rss_kib() > rss_max)
			rss_max = vm_rss_kib();
		if (producer > 0 && waitpid(producer, &status, WNOHANG) == producer) {
			producer = -1;
			drained_by = tclock_ms() + 3000;
		}
		idle = producer < 0 && n == 0 ? idle + 1 : 0;
		/* slow while the flood lasts; then take the rest at once */
		if (producer > 0)
			usleep(20000);
	}
	rss1 = vm_rss_kib();
	/* the losses so far ride on the next batch; other activity on the host may add more */
	for (n = 0; n < 5; n++) {
		int m = qf_poll(h, buf, QF_MIN_POLL_BUF, 0);

		if (m > 0 && tdecode(&st, buf, (size_t)m, why, whylen) != 0) {
			ret = H_FAIL;
			goto out;
		}
		qf_stats(h, (uint8_t *)&s, sizeof(s));
		if (s.lost == st.lost)
			break;
	}
	printf("# flood: %zu records in %llu polls, most pending %llu (bound %d), most pending bytes "
	    "%llu, lost %llu (batches said %llu), RSS %ld KiB before, %ld KiB most, %ld KiB after\n",
	    st.n, (unsigned long long)polls, (unsigned long long)max_pending, MAXP,
	    (unsigned long long)max_bytes, (unsigned long long)s.lost,
	    (unsigned long long)st.lost, rss0, rss_max, rss1);
	FAILIF(max_pending > MAXP, "%llu records pending at once, bound %d: the ready list grew past it",
	    (unsigned long long)max_pending, MAXP);
	/*
	 * 60 KiB-argv exec events overflow eBPF's 256 KiB ring at once; the kprobe
	 * backend carries 2 KiB of argv in rings of at least 512 KiB per CPU, which
	 * a slow producer (a TCG guest) may never fill.
	 */
	FAILIF(s.lost == 0 && strcmp(qf_backend(h), "ebpf") == 0,
	    "nothing counted as lost although the consumer could not keep up");
	FAILIF(st.lost != s.lost, "batches reported %llu lost, stats say %llu",
	    (unsigned long long)st.lost, (unsigned long long)s.lost);
out:
	if (producer > 0) {
		kill(producer, SIGKILL);
		waitpid(producer, NULL, 0);
	}
	free(buf);
	qf_close(h);
	tstore_free(&st);
	return ret;
}

/* ---- 6: the cache is bounded in bytes --------------------------------- */

static int
h_cache_bytes(uint32_t backends, char *why, size_t whylen)
{
	enum { N = 40 };
	static char big[BIG_ARG];
	char self[PATH_MAX];
	struct qf_options o;
	struct qf_handle *h;
	struct qf_stats s;
	pid_t pids[N];
	uint8_t *buf;
	uint64_t end;
	int k, ret = H_OK;

	memset(big, 'y', sizeof(big) - 1);
	if (realpath("/proc/self/exe", self) == NULL)
		return say(why, whylen, H_FAIL, "realpath(/proc/self/exe): %s", strerror(errno));
	/*
	 * Running before the open, so the snapshot reads their 60 KiB argv from
	 * /proc whatever the backend (kprobe events carry only 2 KiB of argv).
	 */
	for (k = 0; k < N; k++)
		pids[k] = spawn_sleeper(self, NULL, big);
	for (k = 0; k < N; k++)
		(void)wait_sleeper(pids[k]);
	qf_options_init(&o);
	o.backends = backends;
	o.flags = 0;
	o.max_cache_mib = 1;
	h = open_opts(&o, why, whylen);
	buf = malloc(QF_MIN_POLL_BUF);
	FAILIF(h == NULL, "%s", why);
	memset(&s, 0, sizeof(s));
	/* the snapshot went over the bound; events (slow guests take seconds) may add more */
	end = tclock_ms() + WAIT_MS;
	while (buf != NULL && tclock_ms() < end) {
		(void)qf_poll(h, buf, QF_MIN_POLL_BUF, 100);
		qf_stats(h, (uint8_t *)&s, sizeof(s));
		FAILIF(s.cache_bytes > (1u << 20), "cache holds %llu bytes, bound 1 MiB",
		    (unsigned long long)s.cache_bytes);
		if (s.evictions > 0)
			break;
	}
	printf("# cache bytes: %d live processes with 60 KiB argv, cache %llu entries %llu bytes (bound "
	    "1 MiB), %llu evictions\n", N, (unsigned long long)s.cache_entries,
	    (unsigned long long)s.cache_bytes, (unsigned long long)s.evictions);
	FAILIF(s.cache_bytes == 0 || s.cache_bytes > (1u << 20), "cache holds %llu bytes, bound 1 MiB",
	    (unsigned long long)s.cache_bytes);
	FAILIF(s.evictions == 0, "no eviction although %d x 60 KiB do not fit in 1 MiB", N);
out:
	for (k = 0; k < N; k++) {
		kill(pids[k], SIGKILL);
		treap(pids[k]);
	}
	free(buf);
	qf_close(h);
	return ret;
}

/* ---- 6 and 11, white-box: images and lives in the aggregation --------- */

struct fake {
	struct qf_stats st;
	struct qf_cache cache;
	struct qf_agg agg;
};

static void
fake_init(struct fake *f)
{
	memset(f, 0, sizeof(*f));
	qf_cache_init(&f->cache, 100, 64u << 20, 4000000000ULL, &f->st);
	qf_agg_init(&f->agg, 1000000000ULL, 100, 64u << 20, &f->cache, &f->st);
}

static void
fake_free(struct fake *f)
{
	qf_agg_free(&f->agg);
	qf_cache_free(&f->cache);
}

/* One kernel event of pid with start time start (ns) and, for an exec, exe and one argument. */
static void
fake_event(struct fake *f, enum qf_raw_kind kind, uint32_t pid, uint64_t start,
    const char *exe, const char *arg, size_t arglen)
{
	struct qf_raw raw;

	memset(&raw, 0, sizeof(raw));
	qf_proc_init(&raw.p);
	raw.kind = kind;
	raw.time_ns = start + 1000;
	raw.p.fx.pid = raw.p.fx.tid = pid;
	raw.p.fx.ppid = 1;
	raw.p.fx.start_ns = start;
	raw.p.fx.source = QF_SOURCE_EBPF;
	raw.p.fx.h.valid = QF_VALID_IDS;
	if (kind == QF_RAW_EXEC) {
		raw.p.exe = qf_blob_new(exe, (uint32_t)strlen(exe), (uint32_t)strlen(exe), 0);
		raw.p.argv = qf_blob_new(arg, (uint32_t)arglen, (uint32_t)arglen, 0);
	}
	if (kind == QF_RAW_EXIT)
		qf_proc_set_exit_status(&raw.p, 0, start + 2000);
	qf_agg_event(&f->agg, &raw, 0);
	qf_proc_clear(&raw.p);
}

static int
h_pid_reuse_fake(uint32_t backends, char *why, size_t whylen)
{
	struct fake f;
	struct qf_rec *r, *new_exec = NULL, *old_rec = NULL, *recs[16];
	int n = 0, i, ret = H_OK;

	(void)backends;
	fake_init(&f);
	/* pid 4242: one life execs /old and exits; its fork and the next life's fork are lost */
	fake_event(&f, QF_RAW_EXEC, 4242, 1000000000ULL, "/old", "old", 4);
	fake_event(&f, QF_RAW_EXIT, 4242, 1000000000ULL, NULL, NULL, 0);
	fake_event(&f, QF_RAW_EXEC, 4242, 5000000000ULL, "/new", "new", 4);
	/* pid 5151: an exec is held when an exit of another life comes */
	fake_event(&f, QF_RAW_EXEC, 5151, 1000000000ULL, "/held", "held", 5);
	fake_event(&f, QF_RAW_EXIT, 5151, 7000000000ULL, NULL, NULL, 0);
	qf_agg_flush(&f.agg);
	while ((r = qf_agg_ready_pop(&f.agg)) != NULL && n < 16)
		recs[n++] = r;
	for (i = 0; i < n; i++) {
		if (recs[i]->p.fx.pid == 4242 && recs[i]->p.exe && strcmp(recs[i]->p.exe->data, "/new") == 0)
			new_exec = recs[i];
		if (recs[i]->p.fx.pid == 5151 && recs[i]->p.fx.start_ns == 1000000000ULL)
			old_rec = recs[i];
	}
	FAILIF(new_exec == NULL, "no record of the second life's exec");
	FAILIF(new_exec->p.nprev != 0, "the second life's exec carries %u previous image(s), the first "
	    "of them %s: an old life's image", new_exec->p.nprev,
	    new_exec->p.prev[0].exe ? new_exec->p.prev[0].exe->data : "(no exe)");
	FAILIF(old_rec == NULL, "no record of pid 5151's first life");
	FAILIF(old_rec->flags & QF_REC_EXIT, "the exit of another life (start 7 s) was merged into the "
	    "held exec of the life that started at 1 s");
	FAILIF(f.st.pid_reuses != 2, "pid_reuses %llu, want 2", (unsigned long long)f.st.pid_reuses);
out:
	for (i = 0; i < n; i++)
		qf_rec_free(recs[i]);
	fake_free(&f);
	return ret;
}

static int
h_previous_image_bytes(uint32_t backends, char *why, size_t whylen)
{
	static char big[BIG_ARG];
	struct qf_centry *e;
	struct fake f;
	int ret = H_OK;

	(void)backends;
	memset(big, 'z', sizeof(big));
	fake_init(&f);
	fake_event(&f, QF_RAW_EXEC, 777, 1000000000ULL, "/first", big, sizeof(big));
	fake_event(&f, QF_RAW_EXEC, 777, 1000000000ULL, "/second", "s", 2);
	e = qf_cache_get(&f.cache, 777);
	FAILIF(e == NULL || e->p.nprev == 0 || e->p.prev[0].argv == NULL, "no previous image cached");
	FAILIF(e->p.prev[0].argv->len != QF_PREV_ARGV_MAX, "the previous image keeps %u bytes of argv, "
	    "only %u are ever encoded", e->p.prev[0].argv->len, QF_PREV_ARGV_MAX);
	FAILIF(e->p.prev[0].argv->orig_len != sizeof(big) ||
	    !(e->p.prev[0].argv->flags & QF_ITEM_F_TRUNCATED),
	    "previous argv orig_len %u flags %#x, want %zu TRUNCATED", e->p.prev[0].argv->orig_len,
	    e->p.prev[0].argv->flags, sizeof(big));
out:
	fake_free(&f);
	return ret;
}

/* ---- 11: a pid reused with clone3(set_tid) inside hold and grace times -- */

struct life_arg {
	uint32_t pid;
	const char *arg1;
};

static int
pred_exec_with(const struct trec *r, const void *p)
{
	const struct life_arg *a = p;
	const char *v = targ(&r->argv, 1);

	return r->fx.pid == a->pid && (r->fx.h.flags & QF_REC_EXEC) && (r->fx.h.flags & QF_REC_EXIT) &&
	    v != NULL && strcmp(v, a->arg1) == 0;
}

static int
h_pid_reuse_clone3(uint32_t backends, char *why, size_t whylen)
{
	char *first[] = { "/bin/true", "first-life", NULL };
	char *second[] = { "/bin/true", "second-life", NULL };
	struct clone_args ca;
	struct tstore st = { 0 };
	struct qf_options o;
	struct qf_handle *h;
	struct life_arg la;
	pid_t a, b;
	long i1, i2;
	uint32_t k;
	int ret = H_OK;

	qf_options_init(&o);
	o.backends = backends;
	o.flags = 0;
	h = open_opts(&o, why, whylen);
	if (h == NULL)
		return H_FAIL;
	a = tspawn(first);
	treap(a);
	/* the same pid again, well inside the hold time (1 s) and the grace time (4 s) */
	memset(&ca, 0, sizeof(ca));
	ca.exit_signal = SIGCHLD;
	ca.set_tid = (uint64_t)(uintptr_t)&a;
	ca.set_tid_size = 1;
	b = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
	if (b == 0) {
		execve(second[0], second, environ);
		_exit(127);
	}
	if (b < 0) {
		ret = say(why, whylen, H_SKIP, "clone3(set_tid=%d): %s", a, strerror(errno));
		goto out;
	}
	treap(b);
	la.pid = (uint32_t)a;
	la.arg1 = "first-life";
	i1 = twait(h, &st, pred_exec_with, &la, WAIT_MS, why, whylen);
	FAILIF(i1 < 0, "first life of pid %d: %s", a, why);
	la.arg1 = "second-life";
	i2 = twait(h, &st, pred_exec_with, &la, WAIT_MS, why, whylen);
	FAILIF(i2 < 0, "second life of pid %d: %s", a, why);
	FAILIF(st.recs[i1].fx.start_ns == st.recs[i2].fx.start_ns, "both lives have start %llu",
	    (unsigned long long)st.recs[i1].fx.start_ns);
	for (k = 0; k < st.recs[i2].nprev; k++) {
		const char *v = targ(&st.recs[i2].prev[k].argv, 1);

		FAILIF(v != NULL && strcmp(v, "first-life") == 0,
		    "the second life's previous image %u is the first life's", k);
	}
out:
	qf_close(h);
	tstore_free(&st);
	return ret;
}

/* ---- 8: " (deleted)" in names, deleted cwd; zombies; exits mid-scan ---- */

static int
h_deleted_names(uint32_t backends, char *why, size_t whylen)
{
	char dir[PATH_MAX], tmpl[] = "/tmp/qf-hostile-XXXXXX", named[PATH_MAX + 32];
	char gone[PATH_MAX + 32], cwd[PATH_MAX + 32], self[PATH_MAX];
	pid_t p1 = -1, p2 = -1, p3 = -1;
	struct tstore st = { 0 };
	const struct trec *r;
	struct qf_options o;
	struct qf_handle *h = NULL;
	uint32_t pid;
	int ret = H_OK;

	if (mkdtemp(tmpl) == NULL || realpath(tmpl, dir) == NULL || realpath("/proc/self/exe", self) == NULL)
		return say(why, whylen, H_FAIL, "temp dir: %s", strerror(errno));
	snprintf(named, sizeof(named), "%s/sleep (deleted)", dir);
	snprintf(gone, sizeof(gone), "%s/gone", dir);
	snprintf(cwd, sizeof(cwd), "%s/cwd", dir);
	FAILIF(tcopy_file(self, named, 0755) != 0 || tcopy_file(self, gone, 0755) != 0,
	    "copying %s", self);
	FAILIF(mkdir(cwd, 0755) != 0, "mkdir: %s", strerror(errno));
	p1 = spawn_sleeper(named, NULL, NULL);
	p2 = spawn_sleeper(gone, NULL, NULL);
	p3 = spawn_sleeper(self, cwd, NULL);
	FAILIF(wait_sleeper(p1) != 0 || wait_sleeper(p2) != 0 || wait_sleeper(p3) != 0,
	    "the sleepers did not start");
	FAILIF(unlink(gone) != 0, "unlink: %s", strerror(errno));

	qf_options_init(&o);
	o.backends = backends;
	h = open_opts(&o, why, whylen);
	if (h == NULL) {
		ret = H_FAIL;
		goto out;
	}
	pid = (uint32_t)p3;
	FAILIF(twait(h, &st, tpred_pid, &pid, WAIT_MS, why, whylen) < 0, "no snapshot record: %s", why);

	r = snapshot_of(&st, p1);
	FAILIF(r == NULL || r->exe.data == NULL, "no snapshot exe for a file named \"sleep (deleted)\"");
	FAILIF(strcmp(r->exe.data, named) != 0, "exe of a file really named \"sleep (deleted)\" is %s, "
	    "want %s", r->exe.data, named);
	FAILIF(r->fx.exec_flags & QF_EXEC_UNLINKED, "\"sleep (deleted)\" exists but is flagged UNLINKED");

	r = snapshot_of(&st, p2);
	FAILIF(r == NULL || r->exe.data == NULL, "no snapshot exe for the unlinked file");
	FAILIF(strcmp(r->exe.data, gone) != 0, "exe of the unlinked file is %s, want %s", r->exe.data, gone);
	FAILIF(!(r->fx.exec_flags & QF_EXEC_UNLINKED), "unlinked exe without UNLINKED");

	r = snapshot_of(&st, p3);
	FAILIF(r == NULL || r->cwd.data == NULL, "no snapshot cwd for the process in a removed directory");
	FAILIF(strcmp(r->cwd.data, cwd) != 0, "cwd of a removed directory is \"%s\", want \"%s\" (as "
	    "eBPF reports it)", r->cwd.data, cwd);
out:
	if (p1 > 0)
		kill(p1, SIGKILL), treap(p1);
	if (p2 > 0)
		kill(p2, SIGKILL), treap(p2);
	if (p3 > 0)
		kill(p3, SIGKILL), treap(p3);
	qf_close(h);
	tstore_free(&st);
	trm_rf(dir);
	return ret;
}

static void
churn(void)
{
	char *argv[] = { "/bin/true", NULL };

	for (;;)
		treap(tspawn(argv));
}

static int
h_zombie_and_churn(uint32_t backends, char *why, size_t whylen)
{
	char path[64], state = 0, buf[512], *p;
	pid_t zombie, churner = -1;
	struct tstore st = { 0 };
	const struct trec *r;
	struct qf_options o;
	struct qf_handle *h = NULL;
	uint64_t end = tclock_ms() + 5000;
	uint32_t pid;
	int ret = H_OK;

	zombie = fork();
	if (zombie == 0)
		_exit(7);
	snprintf(path, sizeof(path), "/proc/%d/stat", zombie);
	while (state != 'Z' && tclock_ms() < end) {
		if (tread_small(path, buf, sizeof(buf)) > 0) {
			p = strrchr(buf, ')');
			state = p != NULL ? p[2] : 0;
		}
		if (state != 'Z')
			usleep(5000);
	}
	FAILIF(state != 'Z', "the child did not become a zombie");
	/* processes come and go while the snapshot reads /proc */
	churner = fork();
	if (churner == 0)
		churn();
	qf_options_init(&o);
	o.backends = backends;
	h = open_opts(&o, why, whylen);
	if (h == NULL) {
		ret = H_FAIL;
		goto out;
	}
	pid = (uint32_t)zombie;
	FAILIF(twait(h, &st, tpred_pid, &pid, WAIT_MS, why, whylen) < 0, "zombie: %s", why);
	r = snapshot_of(&st, zombie);
	FAILIF(r == NULL, "the zombie's first record is not a snapshot");
	FAILIF(!(r->fx.h.valid & QF_VALID_IDS) || r->fx.ppid != (uint32_t)getpid(),
	    "zombie: ids valid %d, ppid %u", !!(r->fx.h.valid & QF_VALID_IDS), r->fx.ppid);
	FAILIF(r->exe.data != NULL, "a zombie has no executable, got %s", r->exe.data);
	printf("# zombie and churn: %zu records decoded cleanly\n", st.n);
out:
	if (churner > 0) {
		kill(churner, SIGKILL);
		treap(churner);
	}
	treap(zombie);
	qf_close(h);
	tstore_free(&st);
	return ret;
}

/* ---- 12: options out of range are refused, naming the field ----------- */

static int
h_options_refused(uint32_t backends, char *why, size_t whylen)
{
	static const struct {
		const char *field;
		size_t off;
		uint32_t value;
	} bad[] = {
		{ "max_cache", offsetof(struct qf_options, max_cache), 0xffffffffu },
		{ "max_pending", offsetof(struct qf_options, max_pending), 0xffffffffu },
		{ "hold_time_ms", offsetof(struct qf_options, hold_time_ms), 0x7fffffffu },
		{ "ring_bytes", offsetof(struct qf_options, ring_bytes), 0xffffffffu },
		{ "cache_grace_ms", offsetof(struct qf_options, cache_grace_ms), 0xffffffffu },
		{ "max_cache_mib", offsetof(struct qf_options, max_cache_mib), 0xffffffffu },
	};
	struct qf_options o;
	struct qf_handle *h;
	char err[512];
	size_t k;

	for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		qf_options_init(&o);
		o.backends = backends;
		o.flags = 0;
		memcpy((char *)&o + bad[k].off, &bad[k].value, sizeof(uint32_t));
		err[0] = 0;
		h = qf_open(&o, err, sizeof(err));
		if (h != NULL) {
			qf_close(h);
			return say(why, whylen, H_FAIL, "qf_open accepted %s = %u", bad[k].field, bad[k].value);
		}
		if (strstr(err, bad[k].field) == NULL)
			return say(why, whylen, H_FAIL, "refusing %s = %u, the reason does not name it: %s",
			    bad[k].field, bad[k].value, err);
	}
	return H_OK;
}

/* ---- stop: nothing held is dropped ------------------------------------ */

static int
h_flush_at_stop(uint32_t backends, char *why, size_t whylen)
{
	char *argv[] = { "/bin/true", NULL };
	struct tstore st = { 0 };
	struct qf_options o;
	struct qf_handle *h;
	struct qf_stats s;
	uint8_t *buf;
	uint64_t end;
	uint32_t p;
	pid_t pid;
	int n, ret = H_OK;
	size_t i;

	qf_options_init(&o);
	o.backends = backends;
	o.flags = 0;
	o.hold_time_ms = 30000;
	h = open_opts(&o, why, whylen);
	if (h == NULL)
		return H_FAIL;
	buf = malloc(QF_MIN_POLL_BUF);
	pid = tspawn(argv);
	treap(pid);
	/* the exit reaches the library and is held (30 s) */
	end = tclock_ms() + WAIT_MS;
	do {
		n = qf_poll(h, buf, QF_MIN_POLL_BUF, 100);
		FAILIF(n > 0, "a record came out before its 30 s hold time");
		qf_stats(h, (uint8_t *)&s, sizeof(s));
	} while (s.pending == 0 && tclock_ms() < end);
	FAILIF(s.pending == 0, "nothing held");
	FAILIF(qf_flush(h) < 1, "qf_flush says nothing is pending");
	for (;;) {
		n = qf_poll(h, buf, QF_MIN_POLL_BUF, 0);
		FAILIF(n < 0, "qf_poll: %s", strerror(-n));
		if (n == 0)
			break;
		FAILIF(tdecode(&st, buf, (size_t)n, why, whylen) != 0, "decode: %s", why);
	}
	p = (uint32_t)pid;
	for (i = 0; i < st.n; i++)
		if (tpred_exit_of(&st.recs[i], &p))
			break;
	FAILIF(i == st.n, "after qf_flush the polls returned %zu records, none the EXIT of %d", st.n, pid);
	qf_stats(h, (uint8_t *)&s, sizeof(s));
	FAILIF(s.pending != 0, "%llu records still pending after the flush", (unsigned long long)s.pending);
out:
	free(buf);
	qf_close(h);
	tstore_free(&st);
	return ret;
}

/* ---- failed execs: what is reported ------------------------------------ */

static int
h_failed_exec(uint32_t backends, char *why, size_t whylen)
{
	char tmpl[] = "/tmp/qf-noexec-XXXXXX";
	struct tstore st = { 0 };
	const struct trec *r;
	struct qf_options o;
	struct qf_handle *h;
	uint32_t p;
	pid_t pid;
	long i;
	int fd, ret = H_OK;

	fd = mkstemp(tmpl);
	if (fd < 0)
		return say(why, whylen, H_FAIL, "mkstemp: %s", strerror(errno));
	if (write(fd, "\x01\x02 not a program\n", 18) != 18 || fchmod(fd, 0755) != 0) {
		close(fd);
		unlink(tmpl);
		return say(why, whylen, H_FAIL, "writing %s", tmpl);
	}
	close(fd);
	qf_options_init(&o);
	o.backends = backends;
	o.flags = 0;
	h = open_opts(&o, why, whylen);
	if (h == NULL) {
		unlink(tmpl);
		return H_FAIL;
	}
	pid = fork();
	if (pid == 0) {
		char *a[] = { tmpl, NULL }, *b[] = { "/nonexistent/qf-none", NULL };

		/* ENOEXEC, then ENOENT: both fail before the point of no return */
		syscall(SYS_execve, a[0], a, environ);
		syscall(SYS_execve, b[0], b, environ);
		_exit(42);
	}
	treap(pid);
	p = (uint32_t)pid;
	i = twait(h, &st, tpred_exit_of, &p, WAIT_MS, why, whylen);
	FAILIF(i < 0, "no EXIT record: %s", why);
	r = &st.recs[i];
	FAILIF(r->fx.h.flags & QF_REC_EXEC, "a failed exec was reported as an exec (flags %#x)",
	    r->fx.h.flags);
	FAILIF(!(r->fx.h.flags & QF_REC_FORK), "no FORK in the record (flags %#x)", r->fx.h.flags);
	FAILIF(r->fx.exit_code != 42, "exit code %d, want 42", r->fx.exit_code);
out:
	unlink(tmpl);
	qf_close(h);
	tstore_free(&st);
	return ret;
}

const struct hostile_case hostile_cases[] = {
	{ "hostile_argv_area_64tib", h_huge_argv },
	{ "hostile_snapshot_budget", h_snapshot_budget },
	{ "hostile_deleted_names", h_deleted_names },
	{ "hostile_zombie_and_churn", h_zombie_and_churn },
	{ "flood_slow_consumer_bounded", h_flood },
	{ "cache_bounded_bytes", h_cache_bytes },
	{ "previous_image_keeps_encoded_argv", h_previous_image_bytes },
	{ "pid_reuse_lost_fork", h_pid_reuse_fake },
	{ "pid_reuse_clone3_set_tid", h_pid_reuse_clone3 },
	{ "options_out_of_range_refused", h_options_refused },
	{ "flush_at_stop_delivers_held", h_flush_at_stop },
	{ "failed_exec_reported_as_fork_exit", h_failed_exec },
};
const size_t hostile_ncases = sizeof(hostile_cases) / sizeof(hostile_cases[0]);
