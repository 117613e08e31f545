// SPDX-License-Identifier: Apache-2.0
/*
 * The initial snapshot: every process in /proc, read once after the backend
 * is attached (so a process born during the scrape is seen by one or the
 * other, or both, never neither). Fills the cache and, when asked, queues
 * one SNAPSHOT record per process.
 *
 * /proc knows the start time only in clock ticks; everything else a record
 * carries it has too, except what only an exec event can tell (filename,
 * setuid, old pid, exec time).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "snapshot.h"

#define DELETED_SUFFIX	" (deleted)"

/*
 * Reads up to cap bytes of a /proc file, never more: a process controls how
 * large its cmdline claims to be (its argv area can span terabytes of
 * unbacked mappings), so the size is never learnt by reading to the end.
 */
static ssize_t
read_at(int dfd, const char *name, char *buf, size_t cap)
{
	size_t got = 0;
	ssize_t n;
	int fd;

	fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return -errno;
	while (got < cap) {
		n = read(fd, buf + got, cap - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	return (ssize_t)got;
}

/* Fields of /proc/<pid>/stat we use, by their number in proc(5). */
#define STAT_PPID	4
#define STAT_PGRP	5
#define STAT_SESSION	6
#define STAT_TTY_NR	7
#define STAT_STARTTIME	22
#define STAT_ARG_START	48
#define STAT_ARG_END	49

/* *arg_len gets the size of the argv area (arg_end - arg_start), 0 when unknown. */
static int
parse_stat(struct qf_proc *p, const char *buf, long ticks, uint64_t *arg_len)
{
	const char *open = strchr(buf, '('), *close = strrchr(buf, ')'), *s;
	long long f[STAT_ARG_END + 1];
	unsigned long long starttime;
	int ppid, pgrp, sid, tty_nr, k;
	char *end;
	uint32_t clen;

	if (open == NULL || close == NULL || close < open)
		return -EINVAL;
	clen = (uint32_t)(close - open - 1);
	if (clen > QF_COMM_MAX - 1)
		clen = QF_COMM_MAX - 1;
	p->comm = qf_blob_new(open + 1, clen, 0, 0);
	memset(f, 0, sizeof(f));
	s = close + 1;
	while (*s == ' ')
		s++;
	if (*s == 0)
		return -EINVAL;
	s++;	/* field 3, the state letter */
	for (k = STAT_PPID; k <= STAT_ARG_END; k++) {
		f[k] = strtoll(s, &end, 10);
		if (end == s)
			break;
		s = end;
	}
	if (k <= STAT_STARTTIME)
		return -EINVAL;
	*arg_len = 0;
	/* 0 for a zombie (no mm) or a reader without ptrace access: unknown */
	if (k > STAT_ARG_END && f[STAT_ARG_END] > f[STAT_ARG_START] && f[STAT_ARG_START] > 0)
		*arg_len = (uint64_t)(f[STAT_ARG_END] - f[STAT_ARG_START]);
	ppid = (int)f[STAT_PPID];
	pgrp = (int)f[STAT_PGRP];
	sid = (int)f[STAT_SESSION];
	tty_nr = (int)f[STAT_TTY_NR];
	starttime = (unsigned long long)f[STAT_STARTTIME];
	p->fx.ppid = (uint32_t)ppid;
	p->fx.pgid = (uint32_t)pgrp;
	p->fx.sid = (uint32_t)sid;
	p->fx.tty_major = ((uint32_t)tty_nr >> 8) & 0xfff;
	p->fx.tty_minor = ((uint32_t)tty_nr & 0xff) | (((uint32_t)tty_nr >> 12) & 0xfff00);
	p->fx.start_ns = starttime * (1000000000ULL / (unsigned long long)ticks);
	p->fx.h.valid |= QF_VALID_IDS | QF_VALID_TTY;
	return 0;
}

static void
parse_status(struct qf_proc *p, char *buf)
{
	unsigned long long cap;
	unsigned int a, b, c, d;
	char *line, *save = NULL;
	int ids = 0, caps = 0;

	for (line = strtok_r(buf, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, "Uid: %u %u %u %u", &a, &b, &c, &d) == 4) {
			p->fx.uid = a; p->fx.euid = b; p->fx.suid = c; p->fx.fsuid = d;
			ids |= 1;
		} else if (sscanf(line, "Gid: %u %u %u %u", &a, &b, &c, &d) == 4) {
			p->fx.gid = a; p->fx.egid = b; p->fx.sgid = c; p->fx.fsgid = d;
			ids |= 2;
		} else if (sscanf(line, "CapInh: %llx", &cap) == 1) {
			p->fx.cap_inheritable = cap;
			caps |= 1;
		} else if (sscanf(line, "CapPrm: %llx", &cap) == 1) {
			p->fx.cap_permitted = cap;
			caps |= 2;
		} else if (sscanf(line, "CapEff: %llx", &cap) == 1) {
			p->fx.cap_effective = cap;
			caps |= 4;
		} else if (sscanf(line, "CapBnd: %llx", &cap) == 1) {
			p->fx.cap_bounding = cap;
			caps |= 8;
		} else if (sscanf(line, "CapAmb: %llx", &cap) == 1) {
			p->fx.cap_ambient = cap;
			caps |= 16;
		} else if (strncmp(line, "NSpid:", 6) == 0) {
			/* the last number is the pid in the innermost namespace */
			char *s = line + 6, *end;
			unsigned long v;

			for (;;) {
				v = strtoul(s, &end, 10);
				if (end == s)
					break;
				p->fx.vpid = (uint32_t)v;
				s = end;
			}
		}
	}
	if (ids == 3)
		p->fx.h.valid |= QF_VALID_CREDS;
	if (caps == 31)
		p->fx.h.valid |= QF_VALID_CAPS;
}

static uint32_t
ns_inode(int dfd, const char *name)
{
	struct stat st;

	if (fstatat(dfd, name, &st, 0) == -1)
		return 0;
	return (uint32_t)st.st_ino;
}

static void
read_ns(struct qf_proc *p, int dfd)
{
	p->fx.ns_pid = ns_inode(dfd, "ns/pid");
	p->fx.ns_mnt = ns_inode(dfd, "ns/mnt");
	p->fx.ns_net = ns_inode(dfd, "ns/net");
	p->fx.ns_uts = ns_inode(dfd, "ns/uts");
	p->fx.ns_ipc = ns_inode(dfd, "ns/ipc");
	p->fx.ns_user = ns_inode(dfd, "ns/user");
	p->fx.ns_cgroup = ns_inode(dfd, "ns/cgroup");
	if (p->fx.ns_pid != 0 && p->fx.ns_mnt != 0) {
		p->fx.h.valid |= QF_VALID_NS;
	} else {
		/*
		 * A zombie keeps some ns links and loses others: a partial set is not
		 * trustworthy, and FORMAT.md says fields of a group without its bit are 0.
		 */
		p->fx.ns_pid = p->fx.ns_mnt = p->fx.ns_net = p->fx.ns_uts = 0;
		p->fx.ns_ipc = p->fx.ns_user = p->fx.ns_cgroup = 0;
	}
}

/*
 * A magic link's target. The kernel appends " (deleted)" to an unlinked
 * file's path, but a real name may end the same way: the suffix is taken off
 * (and *deleted set) only when the file has no link left. A path longer than
 * QF_PATH_MAX keeps its end, from a component boundary, as FORMAT.md says.
 */
static struct qf_blob *
read_link_blob(int dfd, const char *name, int *deleted)
{
	char path[2 * QF_PATH_MAX];
	size_t slen = strlen(DELETED_SUFFIX);
	const char *tail, *slash;
	struct stat st;
	ssize_t n;

	n = readlinkat(dfd, name, path, sizeof(path));
	if (n <= 0)
		return NULL;
	if ((size_t)n > slen && memcmp(path + n - slen, DELETED_SUFFIX, slen) == 0 &&
	    fstatat(dfd, name, &st, 0) == 0 && st.st_nlink == 0) {
		if (deleted != NULL)
			*deleted = 1;
		n -= (ssize_t)slen;
	}
	if ((size_t)n > QF_PATH_MAX) {
		tail = path + n - QF_PATH_MAX;
		slash = memchr(tail, '/', QF_PATH_MAX);
		if (slash != NULL)
			tail = slash + 1;
		return qf_blob_new(tail, (uint32_t)(path + n - tail), UINT32_MAX, QF_ITEM_F_TRUNCATED);
	}
	return qf_blob_new(path, (uint32_t)n, (uint32_t)n, 0);
}

static void
read_exe(struct qf_proc *p, int dfd)
{
	struct stat st;
	int deleted = 0;

	p->exe = read_link_blob(dfd, "exe", &deleted);
	if (p->exe == NULL || fstatat(dfd, "exe", &st, 0) == -1)
		return;
	p->fx.exe_nlink = (uint32_t)st.st_nlink;
	p->fx.exe_dev_major = major(st.st_dev);
	p->fx.exe_dev_minor = minor(st.st_dev);
	p->fx.exe_ino = st.st_ino;
	p->fx.exe_mode = st.st_mode;
	p->fx.exe_uid = st.st_uid;
	p->fx.exe_gid = st.st_gid;
	p->fx.exe_size = (uint64_t)st.st_size;
	p->fx.exe_ctime_ns = (int64_t)st.st_ctim.tv_sec * 1000000000LL + st.st_ctim.tv_nsec;
	p->fx.exe_mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
	if (strncmp(p->exe->data, "/memfd:", 7) == 0)
		p->fx.exec_flags |= QF_EXEC_MEMFD;
	if (st.st_nlink == 0)
		p->fx.exec_flags |= QF_EXEC_UNLINKED;
	p->fx.h.valid |= QF_VALID_EXE_FILE;
}

static void
read_cgroup(struct qf_proc *p, int dfd)
{
	char buf[QF_PATH_MAX + 64];
	char *line, *save = NULL, *nl;
	ssize_t n;

	n = read_at(dfd, "cgroup", buf, sizeof(buf) - 1);
	if (n <= 0)
		return;
	buf[n] = 0;
	for (line = strtok_r(buf, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "0::", 3) != 0)
			continue;
		nl = line + 3;
		p->cgroup = qf_blob_new(nl, (uint32_t)strlen(nl), (uint32_t)strlen(nl), 0);
		return;
	}
}

/*
 * The argv area: at most QF_ARGV_MAX bytes are read (one more tells whether
 * there is more); its true size comes from stat's arg_start..arg_end, and is
 * unknown (orig_length 0xFFFFFFFF) when that is missing or does not fit 32 bits.
 */
static void
read_argv(struct qf_proc *p, int dfd, char *buf, uint64_t arg_len)
{
	uint32_t orig;
	ssize_t n;

	n = read_at(dfd, "cmdline", buf, QF_ARGV_MAX + 1);
	if (n <= 0)
		return;
	if ((size_t)n <= QF_ARGV_MAX) {
		p->argv = qf_blob_new(buf, (uint32_t)n, (uint32_t)n, 0);
		if (p->argv != NULL) {
			p->fx.argc = qf_count_args(p->argv);
			p->fx.h.valid |= QF_VALID_ARGC;
		}
		return;
	}
	orig = arg_len > QF_ARGV_MAX && arg_len < UINT32_MAX ? (uint32_t)arg_len : UINT32_MAX;
	p->argv = qf_blob_new(buf, QF_ARGV_MAX, orig, QF_ITEM_F_TRUNCATED);
}

/* buf holds QF_ARGV_MAX + 1 bytes, reused for every process */
static int
read_one(struct qf_proc *p, int procfd, const char *name, long ticks, char *buf)
{
	uint64_t arg_len = 0;
	ssize_t n;
	int dfd, r;

	dfd = openat(procfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd == -1)
		return -errno;
	p->fx.pid = p->fx.tid = (uint32_t)strtoul(name, NULL, 10);
	p->fx.source = QF_SOURCE_PROCFS;
	n = read_at(dfd, "stat", buf, 4095);
	if (n <= 0) {
		r = n < 0 ? (int)n : -ENOENT;	/* gone meanwhile */
		goto out;
	}
	buf[n] = 0;
	r = parse_stat(p, buf, ticks, &arg_len);
	if (r != 0)
		goto out;
	n = read_at(dfd, "status", buf, QF_ARGV_MAX);
	if (n > 0) {
		buf[n] = 0;
		parse_status(p, buf);
	}
	read_argv(p, dfd, buf, arg_len);
	read_exe(p, dfd);
	p->cwd = read_link_blob(dfd, "cwd", NULL);
	read_cgroup(p, dfd);
	read_ns(p, dfd);
	r = 0;
out:
	close(dfd);
	return r;
}

struct ns_init {
	uint32_t ns;
	uint64_t start_ns;
};

static int
ns_init_cmp(const void *x, const void *y)
{
	const struct ns_init *a = x, *b = y;

	return a->ns < b->ns ? -1 : a->ns > b->ns;
}

/*
 * The start of each pid namespace's init, from the processes with vpid 1:
 * the inits sorted by namespace, then one search per process (n log n; a
 * user can create many namespaces).
 */
static void
fill_pidns_init(struct qf_proc *procs, size_t n)
{
	struct ns_init *inits, key, *hit;
	size_t i, k = 0;

	inits = calloc(n ? n : 1, sizeof(*inits));
	if (inits == NULL)
		return;
	for (i = 0; i < n; i++) {
		if (procs[i].fx.vpid != 1 || procs[i].fx.ns_pid == 0)
			continue;
		inits[k].ns = procs[i].fx.ns_pid;
		inits[k].start_ns = procs[i].fx.start_ns;
		k++;
	}
	qsort(inits, k, sizeof(*inits), ns_init_cmp);
	for (i = 0; i < n && k > 0; i++) {
		if (procs[i].fx.ns_pid == 0)
			continue;
		key.ns = procs[i].fx.ns_pid;
		hit = bsearch(&key, inits, k, sizeof(*inits), ns_init_cmp);
		if (hit == NULL)
			continue;
		procs[i].fx.pidns_init_start_ns = hit->start_ns;
		procs[i].fx.h.valid |= QF_VALID_PIDNS_INIT;
	}
	free(inits);
}

static int
is_pid(const char *s)
{
	if (*s == 0)
		return 0;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return 0;
	return 1;
}

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int
qf_snapshot_scan(struct qf_agg *a, int emit, uint64_t now_mono_ns, uint64_t budget_ns,
    size_t *count)
{
	uint64_t started = mono_ns();
	struct qf_proc *procs = NULL, *np;
	size_t n = 0, cap = 0, i;
	struct dirent *de;
	struct qf_centry *e;
	struct qf_rec *r;
	long ticks = sysconf(_SC_CLK_TCK);
	char *buf;
	DIR *d;
	int rc = 0;

	if (ticks <= 0)
		ticks = 100;
	buf = malloc(QF_ARGV_MAX + 1);
	if (buf == NULL)
		return -ENOMEM;
	d = opendir("/proc");
	if (d == NULL) {
		rc = -errno;
		free(buf);
		return rc;
	}
	while ((de = readdir(d)) != NULL) {
		if (!is_pid(de->d_name))
			continue;
		if (mono_ns() - started >= budget_ns) {
			a->st->snapshot_skipped++;
			continue;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			np = realloc(procs, cap * sizeof(*procs));
			if (np == NULL) {
				rc = -ENOMEM;
				break;
			}
			procs = np;
		}
		qf_proc_init(&procs[n]);
		if (read_one(&procs[n], dirfd(d), de->d_name, ticks, buf) != 0) {
			qf_proc_clear(&procs[n]);	/* exited meanwhile */
			continue;
		}
		n++;
	}
	closedir(d);
	free(buf);
	fill_pidns_init(procs, n);

	for (i = 0; i < n; i++) {
		e = qf_cache_get(a->cache, procs[i].fx.pid);
		if (e == NULL) {
			e = qf_cache_add(a->cache, procs[i].fx.pid);
			if (e != NULL) {
				qf_proc_merge(&e->p, &procs[i]);
				e->img_flags = QF_IMG_SNAPSHOT;
				qf_cache_account(a->cache, e);
			}
		}
		if (emit) {
			r = qf_rec_new(QF_REC_SNAPSHOT, now_mono_ns);
			if (r != NULL) {
				qf_proc_copy(&r->p, &procs[i]);
				qf_agg_add_ready(a, r);
				a->st->snapshot_records++;
			}
		}
		qf_proc_clear(&procs[i]);
	}
	free(procs);
	if (count != NULL)
		*count = n;
	return rc;
}
