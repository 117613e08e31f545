// SPDX-License-Identifier: Apache-2.0
/*
 * The kprobe backend, for kernels where eBPF cannot be loaded: kprobes
 * defined through tracefs kprobe_events (fetch arguments built from BTF
 * offsets, kprobe_defs.c), plus the sched_process_exec tracepoint, read
 * through one perf ring per CPU.
 *
 * Samples of all CPUs are gathered, sorted by time and handed on only once
 * they are older than SETTLE_NS: a sample is timestamped a moment before
 * it becomes visible in its ring, so a later read of another CPU's ring
 * may still produce an older one. The sort gives per-pid causal order
 * (fork before the child's exec before its exit) across CPUs.
 *
 * One event is several samples (kprobe_defs.h); they are joined here by
 * pid. Probes are named qf_<pid>_<seq>_<part> in group qf_<pidns inode>:
 * close() removes them, and open() removes those whose process is gone
 * (left behind by a crash).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "kprobe_btf.h"
#include "kprobe_defs.h"
#include "kprobe_path.h"
#include "kprobe_perf.h"
#include "kprobe_tracefs.h"

#define SETTLE_NS	(60ull * 1000 * 1000)	/* see above; QF_KPROBE_SETTLE_MS */
#define TICK_NS		(50ull * 1000 * 1000)	/* drain at least this often */
#define STALE_NS	(5ull * 1000 * 1000 * 1000)	/* give up joining parts after */
#define MAX_BUF		(256u * 1024u)		/* samples held for sorting */
#define MAX_PENDING	512			/* events being joined */
#define SCRATCH		65536			/* a perf record is at most 64 KiB */
#define SIGNAL_GROUP_EXIT 0x4u
#define PF_KTHREAD	0x00200000u

enum { K_FORK = 1, K_EXEC, K_EXIT };

struct kp_item {
	uint64_t time;
	uint64_t seq;
	uint32_t pid, tid;	/* of the task that hit the probe */
	uint32_t size;
	uint8_t part;
	uint8_t raw[];
};

struct kp_pending {
	int kind;		/* 0: free slot */
	uint32_t key;
	uint64_t first;
	struct kp_item *items[KP_NPARTS];
};

struct kp_state {
	qf_raw_sink sink;
	void *sink_ctx;
	struct kp_tracefs tfs;
	char group[32];
	unsigned seq;
	struct kp_part *parts;
	struct kp_off *offs;
	int ncpu;
	struct kp_ring *rings;	/* ncpu, fd -1 for CPUs that are offline */
	int *fds;		/* ncpu * KP_NPARTS */
	int epfd, timerfd;
	struct kp_item **buf;
	size_t nbuf, capbuf;
	uint64_t seq_ctr;
	struct kp_pending pend[MAX_PENDING];
	uint64_t ring_lost, truncated, decode_errors;
	uint64_t settle_ns;	/* how long samples wait for older ones of other CPUs */
	uint64_t released;	/* time of the newest sample handed on */
	uint64_t out_of_order;	/* samples older than that when read: they missed the window */
	uint8_t *scratch;
	uint64_t boot_off;	/* added to sample times (monotonic) */
	struct kp_vals vals;
	int handed;
};

/* ---- probe names and stale probes ----------------------------------- */

static pthread_mutex_t live_mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned live_seqs[256];
static unsigned next_seq;

static unsigned
seq_take(void)
{
	unsigned s, i;

	pthread_mutex_lock(&live_mu);
	s = next_seq++;
	for (i = 0; i < 256; i++)
		if (live_seqs[i] == 0) {
			live_seqs[i] = s + 1;
			break;
		}
	pthread_mutex_unlock(&live_mu);
	return s;
}

static void
seq_release(unsigned s)
{
	unsigned i;

	pthread_mutex_lock(&live_mu);
	for (i = 0; i < 256; i++)
		if (live_seqs[i] == s + 1)
			live_seqs[i] = 0;
	pthread_mutex_unlock(&live_mu);
}

static int
seq_live(unsigned s)
{
	unsigned i;
	int live = 0;

	pthread_mutex_lock(&live_mu);
	for (i = 0; i < 256; i++)
		live |= live_seqs[i] == s + 1;
	pthread_mutex_unlock(&live_mu);
	return live;
}

/*
 * Removes probes of our group whose owner is gone: another pid that no
 * longer exists, or our own pid with a sequence number no open handle uses
 * (a crashed predecessor that had our pid). The group carries our pid
 * namespace, so pids of other namespaces are never judged.
 */
static void
remove_stale(struct kp_state *s)
{
	char *list = kp_tracefs_read(&s->tfs, "kprobe_events"), *line, *save = NULL;
	size_t glen = strlen(s->group);

	if (list == NULL)
		return;
	for (line = strtok_r(list, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		char event[64];
		unsigned pid, seq;
		const char *name;
		int n = 0;

		/* "p:GROUP/EVENT target args" */
		if ((line[0] != 'p' && line[0] != 'r') || line[1] != ':')
			continue;
		if (strncmp(line + 2, s->group, glen) != 0 || line[2 + glen] != '/')
			continue;
		name = line + 3 + glen;
		if (sscanf(name, "qf_%u_%u_%n", &pid, &seq, &n) != 2 || n == 0)
			continue;
		snprintf(event, sizeof(event), "%.*s", (int)strcspn(name, " "), name);
		if (pid == (unsigned)getpid()) {
			if (seq_live(seq))
				continue;
		} else if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) {
			continue;
		}
		kp_tracefs_del(&s->tfs, s->group, event);
	}
	free(list);
}

/* ---- setup ------------------------------------------------------------ */

/*
 * The deepest dereference chain this kernel takes in a fetch argument:
 * defines (and removes at once) a probe with ever shorter chains. The
 * walks are then built to fit. -errno when not even one level is taken.
 */
static int
measure_max_deref(struct kp_state *s, char *err, size_t errlen)
{
	char line[512], event[64], why[384] = "";
	int n, r = -EINVAL;

	snprintf(event, sizeof(event), "qf_%d_%u_depth", (int)getpid(), s->seq);
	for (n = KP_MAX_DEREF; n >= 4; n--) {
		r = kp_defs_deref_line(n, s->group, event, line, sizeof(line));
		if (r != 0)
			break;
		r = kp_tracefs_add(&s->tfs, line, why, sizeof(why));
		if (r == 0) {
			kp_tracefs_del(&s->tfs, s->group, event);
			kp_defs_set_max_deref(n);
			if (getenv("QF_DEBUG") != NULL)
				fprintf(stderr, "quark-ffi: kprobe fetch arguments: up to %d "
				    "dereferences\n", n);
			return 0;
		}
	}
	snprintf(err, errlen, "cannot define a kprobe with a 4-deep fetch argument: %s",
	    r == 0 ? "?" : why);
	return r != 0 ? r : -EINVAL;
}

/* QF_DEBUG: what a probe reads, and how deep its walks reach on this kernel. */
static void
debug_part(const struct kp_part *p)
{
	int names[KP_MOUNTS] = { 0 }, cg = 0, i;

	for (i = 0; i < p->nargs; i++) {
		if (p->args[i].role == R_PATH_NAME && p->args[i].k + 1 > names[p->args[i].m])
			names[p->args[i].m] = p->args[i].k + 1;
		if (p->args[i].role == R_CG_NAME && p->args[i].k + 1 > cg)
			cg = p->args[i].k + 1;
	}
	fprintf(stderr, "quark-ffi: kprobe %s on %s (id %d): %d fetch args, samples up to %zu "
	    "bytes, path components per mount %d/%d/%d, cgroup levels %d\n", p->suffix, p->target,
	    p->id, p->nargs, p->worst, names[0], names[1], names[2], cg);
}

static int
install_part(struct kp_state *s, enum kp_part_id id, char *err, size_t errlen)
{
	struct kp_part *p = &s->parts[id];
	struct kp_field *fields;
	char line[KP_LINE_MAX + 200], why[384], grp[64];
	const char *group = s->group, *event = p->event;
	int r, n, i, j;

	if (p->is_tp) {
		/* "sched/sched_process_exec" */
		snprintf(grp, sizeof(grp), "%.*s", (int)strcspn(p->target, "/"), p->target);
		group = grp;
		event = p->target + strlen(grp) + 1;
	} else {
		snprintf(p->event, sizeof(p->event), "qf_%d_%u_%s", (int)getpid(), s->seq, p->suffix);
		for (;;) {
			r = kp_defs_line(p, s->group, line, sizeof(line));
			if (r != 0) {
				snprintf(err, errlen, "the %s probe on %s is too long for kprobe_events",
				    p->suffix, p->target);
				return r;
			}
			r = kp_tracefs_add(&s->tfs, line, why, sizeof(why));
			if (r == 0)
				break;
			if (kp_defs_fallback(s->parts, id, s->offs) == 0)
				continue;
			if (p->optional) {
				/* the backend runs without it; its fields stay invalid */
				if (getenv("QF_DEBUG") != NULL)
					fprintf(stderr, "quark-ffi: kprobe on %s skipped: %s\n",
					    p->target, why);
				p->id = -1;
				return 0;
			}
			snprintf(err, errlen, "cannot define a kprobe on %s: %s", p->target, why);
			return r;
		}
		p->defined = 1;
	}
	p->id = kp_tracefs_event_id(&s->tfs, group, event);
	if (p->id < 0) {
		r = p->id;
		snprintf(err, errlen, "reading the id of event %s/%s: %s", group, event, strerror(-r));
		return r;
	}
	fields = calloc(KP_MAX_ARGS + 16, sizeof(*fields));
	if (fields == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	n = kp_tracefs_format(&s->tfs, group, event, fields, KP_MAX_ARGS + 16);
	for (i = 0; i < p->nargs; i++) {
		p->args[i].off = -1;
		for (j = 0; j < n; j++)
			if (strcmp(fields[j].name, p->args[i].name) == 0) {
				p->args[i].off = fields[j].offset;
				p->args[i].size = fields[j].size;
			}
		if (p->args[i].off < 0) {
			snprintf(err, errlen, "event %s/%s has no field %s", group, event,
			    p->args[i].name);
			free(fields);
			return -EINVAL;
		}
	}
	free(fields);
	if (getenv("QF_DEBUG") != NULL)
		debug_part(p);
	return 0;
}

static uint32_t
ring_bytes(const struct qf_options *o, int ncpu)
{
	uint64_t want = (o->ring_bytes ? o->ring_bytes : QF_DEFAULT_RING_BYTES) / (uint64_t)ncpu;
	uint32_t n = 512 * 1024;

	while (n < want && n < (64u << 20))
		n <<= 1;
	return n;
}

static int
open_rings(struct kp_state *s, const struct qf_options *o, char *err, size_t errlen)
{
	uint32_t size = ring_bytes(o, s->ncpu);
	int cpu, i, fd, r, nring = 0, first_err = 0;
	struct epoll_event ev;

	for (cpu = 0; cpu < s->ncpu; cpu++) {
		struct kp_ring *ring = &s->rings[cpu];

		ring->cpu = cpu;
		ring->fd = -1;
		for (i = 0; i < KP_NPARTS; i++) {
			if (s->parts[i].id < 0)
				continue;
			fd = kp_perf_open(s->parts[i].id, cpu, size / 8);
			if (fd < 0) {
				/* an offline CPU refuses with ENODEV: nothing runs there */
				if (fd == -ENODEV && ring->fd == -1)
					break;
				snprintf(err, errlen, "perf_event_open(%s, cpu %d): %s",
				    s->parts[i].suffix, cpu, strerror(-fd));
				return fd;
			}
			s->fds[cpu * KP_NPARTS + i] = fd;
			if (ring->fd == -1) {
				ring->fd = fd;
				r = kp_ring_map(ring, size);
				if (r != 0) {
					snprintf(err, errlen, "mmap of a %u-byte perf ring: %s", size,
					    strerror(-r));
					return r;
				}
			} else if ((r = kp_perf_redirect(fd, ring->fd)) != 0) {
				snprintf(err, errlen, "PERF_EVENT_IOC_SET_OUTPUT: %s", strerror(-r));
				return r;
			}
		}
		if (ring->fd == -1)
			continue;
		nring++;
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.fd = ring->fd;
		if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, ring->fd, &ev) == -1 && first_err == 0)
			first_err = -errno;
	}
	if (nring == 0) {
		snprintf(err, errlen, "no online CPU accepted a perf event");
		return -ENODEV;
	}
	if (first_err != 0) {
		snprintf(err, errlen, "epoll_ctl: %s", strerror(-first_err));
		return first_err;
	}
	return 0;
}

static void kp_close(void *state);

static int
kp_open(const struct qf_options *o, qf_raw_sink sink, void *sink_ctx, void **state,
    char *err, size_t errlen)
{
	struct kp_state *s;
	struct kp_btf *btf = NULL;
	struct kp_tracefs tfs;
	struct itimerspec its;
	struct epoll_event ev;
	struct stat ns;
	char why[512];
	int r, i, id;

	*state = NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		snprintf(err, errlen, "kprobe backend: out of memory");
		return -ENOMEM;
	}
	s->sink = sink;
	s->sink_ctx = sink_ctx;
	s->epfd = s->timerfd = -1;
	s->settle_ns = SETTLE_NS;
	{
		/* a longer window for hosts with heavy vCPU steal; 0 in tests, to provoke late samples */
		const char *v = getenv("QF_KPROBE_SETTLE_MS");
		char *end = NULL;
		long ms = v != NULL ? strtol(v, &end, 10) : -1;

		if (v != NULL && (end == v || *end != 0 || ms < 0 || ms > 10000)) {
			snprintf(err, errlen, "kprobe backend: QF_KPROBE_SETTLE_MS is '%.16s': expected "
			    "0 to 10000 (ms)", v);
			free(s);
			return -EINVAL;
		}
		if (ms >= 0)
			s->settle_ns = (uint64_t)ms * 1000000ull;
	}
	s->seq = seq_take();

	r = kp_tracefs_open(&s->tfs, why, sizeof(why));
	if (r != 0) {
		snprintf(err, errlen, "kprobe backend: %s", why);
		seq_release(s->seq);
		free(s);
		return r;
	}
	r = kp_btf_open(&btf, why, sizeof(why));
	if (r != 0)
		goto fail;
	s->parts = calloc(KP_NPARTS, sizeof(*s->parts));
	s->scratch = malloc(SCRATCH);
	if (s->parts == NULL || s->scratch == NULL) {
		r = -ENOMEM;
		snprintf(why, sizeof(why), "out of memory");
		goto fail;
	}
	if (stat("/proc/self/ns/pid", &ns) != 0)
		ns.st_ino = 0;
	snprintf(s->group, sizeof(s->group), "qf_%lu", (unsigned long)ns.st_ino);
	remove_stale(s);
	r = measure_max_deref(s, why, sizeof(why));
	if (r != 0)
		goto fail;
	r = kp_defs_build(s->parts, btf, &s->offs, why, sizeof(why));
	if (r != 0)
		goto fail;
	for (id = 0; id < KP_NPARTS; id++) {
		r = install_part(s, (enum kp_part_id)id, why, sizeof(why));
		if (r != 0)
			goto fail;
	}
	kp_btf_close(btf);
	btf = NULL;

	s->ncpu = (int)sysconf(_SC_NPROCESSORS_CONF);
	if (s->ncpu <= 0)
		s->ncpu = 1;
	s->rings = calloc((size_t)s->ncpu, sizeof(*s->rings));
	s->fds = malloc((size_t)s->ncpu * KP_NPARTS * sizeof(int));
	if (s->fds != NULL)
		for (i = 0; i < s->ncpu * KP_NPARTS; i++)
			s->fds[i] = -1;
	if (s->rings != NULL)
		for (i = 0; i < s->ncpu; i++)
			s->rings[i].fd = -1;
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	s->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (s->rings == NULL || s->fds == NULL || s->epfd == -1 || s->timerfd == -1) {
		r = -ENOMEM;
		snprintf(why, sizeof(why), "out of memory or descriptors");
		goto fail;
	}
	r = open_rings(s, o, why, sizeof(why));
	if (r != 0)
		goto fail;
	memset(&its, 0, sizeof(its));
	its.it_value.tv_nsec = (long)TICK_NS;
	its.it_interval.tv_nsec = (long)TICK_NS;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.fd = s->timerfd;
	if (timerfd_settime(s->timerfd, 0, &its, NULL) == -1 ||
	    epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->timerfd, &ev) == -1) {
		r = -errno;
		snprintf(why, sizeof(why), "timerfd: %s", strerror(-r));
		goto fail;
	}
	*state = s;
	return 0;
fail:
	snprintf(err, errlen, "kprobe backend: %s", why);
	kp_btf_close(btf);
	tfs = s->tfs;
	kp_close(s);
	/* leave the host as we found it (after the probes are removed through it) */
	kp_tracefs_unmount(&tfs);
	return r;
}

/* ---- reading and sorting ------------------------------------------- */

static uint64_t
clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * CLOCK_BOOTTIME - CLOCK_MONOTONIC now: the time spent suspended. Samples
 * are stamped with the monotonic clock; a sample taken before a suspend
 * and read after it is placed late by the suspend's length.
 */
static uint64_t
boot_offset(void)
{
	uint64_t m1 = clock_ns(CLOCK_MONOTONIC), b = clock_ns(CLOCK_BOOTTIME);
	uint64_t m2 = clock_ns(CLOCK_MONOTONIC);

	return b - (m1 + (m2 - m1) / 2);
}

static int
part_of(const struct kp_state *s, uint16_t common_type)
{
	int i;

	for (i = 0; i < KP_NPARTS; i++)
		if (s->parts[i].id == (int)common_type)
			return i;
	return -1;
}

/* The value of the first argument of p with this role (a scalar). */
static int
peek(const struct kp_part *p, const uint8_t *raw, uint32_t size, int role, uint64_t *out)
{
	int i;

	for (i = 0; i < p->nargs; i++) {
		const struct kp_arg *a = &p->args[i];

		if (a->role != role)
			continue;
		if (a->off < 0 || (uint32_t)(a->off + a->size) > size || a->size > 8)
			return -EINVAL;
		*out = 0;
		memcpy(out, raw + a->off, (size_t)a->size);
		return 0;
	}
	return -ENOENT;
}

/* Samples that can never make an event are dropped as they are read. */
static int
wanted(const struct kp_state *s, int part, const uint8_t *raw, uint32_t size)
{
	const struct kp_part *p = &s->parts[part];
	uint64_t a = 0, b = 0;

	switch (part) {
	case KP_FORK_TASK:
	case KP_FORK_CWD:
		/* a new thread is not a new process */
		if (peek(p, raw, size, R_PID, &a) == 0 && peek(p, raw, size, R_TID, &b) == 0)
			return a == b;
		return 0;
	case KP_EXEC_FILE:
		/* set_mm_exe_file(mm, NULL) is every address space's teardown */
		return peek(p, raw, size, R_FILE, &a) == 0 && a != 0;
	case KP_EXIT_TASK:
		/* only the last thread's exit ends the process */
		return peek(p, raw, size, R_GROUP_DEAD, &a) == 0 && (a & 0xffffffff) != 0;
	}
	return 1;
}

static int
on_record(void *ctx, const struct perf_event_header *h, size_t len)
{
	struct kp_state *s = ctx;
	struct kp_sample smp;
	struct kp_item *it;
	uint16_t type;
	int part;

	if (h->type == PERF_RECORD_LOST) {
		s->ring_lost += kp_lost_count(h, len);
		return 0;
	}
	if (h->type != PERF_RECORD_SAMPLE)
		return 0;
	if (kp_sample_parse(h, len, &smp) != 0 || smp.raw_size < 8) {
		s->decode_errors++;
		return 0;
	}
	memcpy(&type, smp.raw, 2);
	part = part_of(s, type);
	if (part < 0) {
		s->decode_errors++;
		return 0;
	}
	if (!wanted(s, part, smp.raw, smp.raw_size))
		return 0;
	if (s->nbuf == s->capbuf) {
		size_t cap = s->capbuf ? s->capbuf * 2 : 1024;
		struct kp_item **nb = realloc(s->buf, cap * sizeof(*nb));

		if (nb == NULL) {
			s->decode_errors++;
			return 0;
		}
		s->buf = nb;
		s->capbuf = cap;
	}
	it = malloc(sizeof(*it) + smp.raw_size);
	if (it == NULL) {
		s->decode_errors++;
		return 0;
	}
	it->time = smp.time;
	/*
	 * Older than a sample already handed on: it became visible in its ring
	 * after the settle window (a vCPU descheduled between the stamp and the
	 * write). It is still joined, but order across pids may be wrong: counted.
	 */
	if (smp.time < s->released)
		s->out_of_order++;
	it->seq = s->seq_ctr++;
	it->pid = smp.pid;
	it->tid = smp.tid;
	it->size = smp.raw_size;
	it->part = (uint8_t)part;
	memcpy(it->raw, smp.raw, smp.raw_size);
	s->buf[s->nbuf++] = it;
	return 0;
}

static int
by_time(const void *a, const void *b)
{
	const struct kp_item *x = *(struct kp_item *const *)a, *y = *(struct kp_item *const *)b;

	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	return x->seq < y->seq ? -1 : (x->seq > y->seq);
}

/*
 * buf[0, old) is sorted from earlier drains: sort what was just read and
 * merge the two, so a large backlog is not sorted again on every drain.
 */
static void
sort_new(struct kp_state *s, size_t old)
{
	size_t i = 0, j = old, k = 0, n = s->nbuf;
	struct kp_item **tmp;

	qsort(s->buf + old, n - old, sizeof(*s->buf), by_time);
	if (old == 0 || by_time(&s->buf[old - 1], &s->buf[old]) <= 0)
		return;
	tmp = malloc(n * sizeof(*tmp));
	if (tmp == NULL) {
		qsort(s->buf, n, sizeof(*s->buf), by_time);
		return;
	}
	while (i < old && j < n)
		tmp[k++] = by_time(&s->buf[i], &s->buf[j]) <= 0 ? s->buf[i++] : s->buf[j++];
	while (i < old)
		tmp[k++] = s->buf[i++];
	while (j < n)
		tmp[k++] = s->buf[j++];
	memcpy(s->buf, tmp, n * sizeof(*tmp));
	free(tmp);
}

/* ---- joining parts into events ---------------------------------------- */

static int
kind_of(int part)
{
	switch (part) {
	case KP_FORK_TASK:
	case KP_FORK_CWD:
		return K_FORK;
	case KP_EXIT_TASK:
		return K_EXIT;
	}
	return K_EXEC;
}

/* Which pid the sample is about. */
static uint32_t
key_of(const struct kp_state *s, const struct kp_item *it)
{
	uint64_t v = 0;

	switch (it->part) {
	case KP_EXEC_FILE:
	case KP_EXEC_BPRM:
		return it->pid;	/* no task argument: the current task's */
	case KP_EXEC_TP:
		if (peek(&s->parts[it->part], it->raw, it->size, R_TP_PID, &v) == 0)
			return (uint32_t)v;
		return it->pid;
	}
	if (peek(&s->parts[it->part], it->raw, it->size, R_PID, &v) == 0)
		return (uint32_t)v;
	return it->pid;
}

static void
pending_drop(struct kp_pending *pd)
{
	int i;

	for (i = 0; i < KP_NPARTS; i++)
		free(pd->items[i]);
	memset(pd, 0, sizeof(*pd));
}

static int
complete(const struct kp_pending *pd)
{
	if (pd->kind == K_FORK)
		return pd->items[KP_FORK_TASK] && pd->items[KP_FORK_CWD];
	if (pd->kind == K_EXEC)
		return pd->items[KP_EXEC_TASK] && pd->items[KP_EXEC_CWD] && pd->items[KP_EXEC_ARGV];
	return pd->items[KP_EXIT_TASK] != NULL;
}

static struct qf_blob *
str_blob(const struct kp_str *x, uint32_t max)
{
	uint32_t n = x->len < max ? x->len : max;

	if (x->p == NULL)
		return NULL;
	return qf_blob_new(x->p, n, x->len, n < x->len ? QF_ITEM_F_TRUNCATED : 0);
}

/* The fields every task part carries. Returns 1 when something was cut short. */
static int
fill_task(struct qf_proc *p, const struct kp_vals *v, int with_exe)
{
	struct qf_process_fixed *fx = &p->fx;
	const uint64_t *x = v->s;
	uint32_t level = (uint32_t)x[R_PID_LEVEL], valid;
	int cut = 0;

	fx->source = QF_SOURCE_KPROBE;
	fx->pid = (uint32_t)x[R_PID];
	fx->tid = (uint32_t)x[R_TID];
	fx->ppid = (uint32_t)x[R_PPID];
	fx->pgid = (uint32_t)x[R_PGID];
	fx->sid = (uint32_t)x[R_SID];
	fx->start_ns = x[R_START];
	valid = QF_VALID_IDS | QF_VALID_CREDS | QF_VALID_CAPS | QF_VALID_TTY;
	if (level < KP_PID_LEVELS) {
		fx->vpid = (uint32_t)x[R_LVL_NR + level];
		fx->ns_pid = (uint32_t)x[R_LVL_NS + level];
		if (fx->ns_pid != 0) {
			fx->pidns_init_start_ns = x[R_LVL_INIT + level];
			valid |= QF_VALID_PIDNS_INIT;
		}
	} else {
		/*
		 * Deeper than we read: only vpid and the pid namespace are unknown
		 * (0, which neither ever is); the ids of the host's namespace stand,
		 * so the parent link and the record's completeness are kept.
		 */
		cut = 1;
	}
	fx->uid = (uint32_t)x[R_UID];
	fx->gid = (uint32_t)x[R_GID];
	fx->suid = (uint32_t)x[R_SUID];
	fx->sgid = (uint32_t)x[R_SGID];
	fx->euid = (uint32_t)x[R_EUID];
	fx->egid = (uint32_t)x[R_EGID];
	fx->fsuid = (uint32_t)x[R_FSUID];
	fx->fsgid = (uint32_t)x[R_FSGID];
	fx->cap_inheritable = x[R_CAP_INH];
	fx->cap_permitted = x[R_CAP_PRM];
	fx->cap_effective = x[R_CAP_EFF];
	fx->cap_bounding = x[R_CAP_BND];
	fx->cap_ambient = x[R_CAP_AMB];
	if (x[R_TTY] != 0) {
		fx->tty_major = (uint32_t)x[R_TTY_MAJOR];
		fx->tty_minor = (uint32_t)(x[R_TTY_MINSTART] + x[R_TTY_INDEX]);
	}
	fx->ns_user = (uint32_t)x[R_NS_USER];
	if (x[R_NSPROXY] != 0 && (valid & QF_VALID_IDS)) {
		fx->ns_mnt = (uint32_t)x[R_NS_MNT];
		fx->ns_net = (uint32_t)x[R_NS_NET];
		fx->ns_uts = (uint32_t)x[R_NS_UTS];
		fx->ns_ipc = (uint32_t)x[R_NS_IPC];
		fx->ns_cgroup = (uint32_t)x[R_NS_CGROUP];
		valid |= QF_VALID_NS;
	}
	if (with_exe && x[R_MM] != 0 && x[R_EXE_FILE] != 0) {
		fx->exe_ino = x[R_EXE_INO];
		fx->exe_size = x[R_EXE_SIZE];
		fx->exe_mode = (uint32_t)x[R_EXE_MODE];
		fx->exe_uid = (uint32_t)x[R_EXE_UID];
		fx->exe_gid = (uint32_t)x[R_EXE_GID];
		fx->exe_nlink = (uint32_t)x[R_EXE_NLINK];
		fx->exe_dev_major = (uint32_t)x[R_EXE_DEV] >> 20;
		fx->exe_dev_minor = (uint32_t)x[R_EXE_DEV] & 0xfffff;
		/*
		 * Since multigrain timestamps (6.13) bit 31 of i_ctime_nsec is the
		 * kernel's "ctime was queried" flag; a real nsec is < 2^30.
		 */
		fx->exe_ctime_ns = (int64_t)x[R_EXE_CT_S] * 1000000000LL +
		    (int64_t)(x[R_EXE_CT_NS] & 0x7fffffffu);
		fx->exe_mtime_ns = (int64_t)x[R_EXE_MT_S] * 1000000000LL + (int64_t)x[R_EXE_MT_NS];
		if (v->exe_name.len >= 6 && memcmp(v->exe_name.p, "memfd:", 6) == 0)
			fx->exec_flags |= QF_EXEC_MEMFD;
		if (fx->exe_nlink == 0)
			fx->exec_flags |= QF_EXEC_UNLINKED;
		valid |= QF_VALID_EXE_FILE;
	}
	fx->h.valid |= valid;
	p->comm = str_blob(&v->comm, QF_COMM_MAX - 1);
	if (v->ncg_ptr > 0)
		p->cgroup = kp_cgroup_blob(v, &cut);
	return cut;
}

/* argv from the new stack: at most KP_ARGV_MAX bytes of arg_start..arg_end. */
static struct qf_blob *
argv_blob(const struct kp_vals *v, int *cut)
{
	uint64_t start = v->s[R_ARG_START], end = v->s[R_ARG_END], full;
	char buf[KP_ARGV_MAX];
	uint32_t take, got = 0, k, i, n;

	if (end <= start || end - start > (1u << 30) || v->nargv == 0)
		return NULL;
	full = end - start;
	take = full < (uint64_t)v->nargv * KP_ARGV_CHUNK ? (uint32_t)full :
	    (uint32_t)v->nargv * KP_ARGV_CHUNK;
	for (k = 0; k * KP_ARGV_CHUNK < take; k++) {
		n = take - k * KP_ARGV_CHUNK;
		if (n > KP_ARGV_CHUNK)
			n = KP_ARGV_CHUNK;
		memcpy(buf + got, v->argv[k], n);
		/* a chunk whose page could not be read comes back as zeros */
		for (i = 0; i < n && buf[got + i] == 0; i++)
			;
		if (i == n && n >= 64)
			break;
		got += n;
	}
	if (got < full)
		*cut = 1;
	return qf_blob_new(buf, got, (uint32_t)full, got < full ? QF_ITEM_F_TRUNCATED : 0);
}

static void
emit(struct kp_state *s, struct kp_pending *pd)
{
	struct kp_vals *v = &s->vals;
	struct qf_raw raw;
	struct qf_process_fixed *fx = &raw.p.fx;
	struct kp_item *it;
	int i, cut = 0;

	memset(v, 0, sizeof(*v));
	for (i = 0; i < KP_NPARTS; i++) {
		it = pd->items[i];
		if (it == NULL)
			continue;
		if (kp_decode(&s->parts[i], (enum kp_part_id)i, it->raw, it->size, v) != 0) {
			s->decode_errors++;
			return;
		}
	}
	/* a kernel thread is not a process: neither its start nor its end is reported */
	if (pd->kind != K_EXEC && (v->s[R_FLAGS] & PF_KTHREAD))
		return;
	memset(&raw, 0, sizeof(raw));
	qf_proc_init(&raw.p);
	switch (pd->kind) {
	case K_FORK:
		raw.kind = QF_RAW_FORK;
		raw.time_ns = pd->items[KP_FORK_TASK]->time + s->boot_off;
		cut |= fill_task(&raw.p, v, 1);
		fx->fork_time_ns = raw.time_ns;
		fx->h.valid |= QF_VALID_FORK_TIME;
		/* exe and argv: the aggregator takes them from the parent, as fork does */
		raw.p.cwd = kp_path_blob(&v->path[KP_SLOT_CWD], v->s[R_ROOT_D], v->s[R_ROOT_M],
		    kp_defs_mount_mnt_off(s->offs), &cut);
		break;
	case K_EXEC:
		raw.kind = QF_RAW_EXEC;
		it = pd->items[KP_EXEC_TP] ? pd->items[KP_EXEC_TP] : pd->items[KP_EXEC_TASK];
		raw.time_ns = it->time + s->boot_off;
		cut |= fill_task(&raw.p, v, 1);
		fx->exec_time_ns = raw.time_ns;
		fx->h.valid |= QF_VALID_EXEC_TIME;
		if (v->parts & (1u << KP_EXEC_TP)) {
			uint32_t old = (uint32_t)v->s[R_TP_OLD_PID];

			raw.p.filename = str_blob(&v->filename, QF_PATH_MAX);
			if (old != 0 && old != fx->pid) {
				fx->old_pid = old;
				fx->h.valid |= QF_VALID_OLD_PID;
			}
		}
		if (v->parts & (1u << KP_EXEC_BPRM)) {
			fx->h.valid |= QF_VALID_EXEC_PRIV;
			/* the same judgement as the eBPF backend's */
			if (v->s[R_PER_CLEAR] != 0 && (fx->h.valid & QF_VALID_EXE_FILE)) {
				fx->exec_flags |= QF_EXEC_PRIV_CHANGED;
				if ((fx->exe_mode & S_ISUID) && fx->euid == fx->exe_uid)
					fx->exec_flags |= QF_EXEC_SETUID;
				if ((fx->exe_mode & S_ISGID) && (fx->exe_mode & S_IXGRP) &&
				    fx->egid == fx->exe_gid)
					fx->exec_flags |= QF_EXEC_SETGID;
			} else if (v->s[R_PER_CLEAR] != 0) {
				fx->exec_flags |= QF_EXEC_PRIV_CHANGED;
			}
			fx->argc = (uint32_t)v->s[R_BPRM_ARGC];
			fx->h.valid |= QF_VALID_ARGC;
		} else if (v->s[R_STACK_ARGC] < (1u << 20)) {
			fx->argc = (uint32_t)v->s[R_STACK_ARGC];
			fx->h.valid |= QF_VALID_ARGC;
		}
		raw.p.argv = argv_blob(v, &cut);
		/* the executable's path, unless that sample belongs to another exec */
		if ((v->parts & (1u << KP_EXEC_FILE)) &&
		    (v->s[R_X_MM] == 0 || v->s[R_X_MM] == v->s[R_MM]))
			raw.p.exe = kp_path_blob(&v->path[KP_SLOT_EXE], v->s[R_ROOT_D],
			    v->s[R_ROOT_M], kp_defs_mount_mnt_off(s->offs), &cut);
		raw.p.cwd = kp_path_blob(&v->path[KP_SLOT_CWD], v->s[R_ROOT_D], v->s[R_ROOT_M],
		    kp_defs_mount_mnt_off(s->offs), &cut);
		break;
	case K_EXIT: {
		uint32_t status;

		raw.kind = QF_RAW_EXIT;
		raw.time_ns = pd->items[KP_EXIT_TASK]->time + s->boot_off;
		cut |= fill_task(&raw.p, v, 0);
		if (v->s[R_SIG_FLAGS] & SIGNAL_GROUP_EXIT)
			status = (uint32_t)v->s[R_GROUP_EXIT];
		else
			status = (uint32_t)v->s[R_EXIT_CODE];
		qf_proc_set_exit_status(&raw.p, status, raw.time_ns);
		break;
	}
	}
	if (cut)
		s->truncated++;
	s->sink(s->sink_ctx, &raw);
	s->handed++;
	qf_proc_clear(&raw.p);
}

static struct kp_pending *
pending_get(struct kp_state *s, uint32_t key, int kind, uint64_t now)
{
	struct kp_pending *pd, *free_slot = NULL, *oldest = NULL;
	int i;

	for (i = 0; i < MAX_PENDING; i++) {
		pd = &s->pend[i];
		if (pd->kind == 0) {
			if (free_slot == NULL)
				free_slot = pd;
			continue;
		}
		if (pd->key == key)
			return pd;
		if (oldest == NULL || pd->first < oldest->first)
			oldest = pd;
	}
	pd = free_slot;
	if (pd == NULL) {
		/* bounded: the oldest unfinished event gives way */
		pd = oldest;
		pending_drop(pd);
		s->decode_errors++;
	}
	pd->kind = kind;
	pd->key = key;
	pd->first = now;
	return pd;
}

/* Takes ownership of it. */
static void
process(struct kp_state *s, struct kp_item *it)
{
	int kind = kind_of(it->part);
	uint32_t key = key_of(s, it);
	struct kp_pending *pd = pending_get(s, key, kind, it->time);

	/*
	 * A part of another kind, or a second copy of one we hold, means the
	 * event in progress will not complete (an exec that failed after
	 * set_mm_exe_file): it is dropped, as the kernel dropped it.
	 */
	if (pd->kind != kind || pd->items[it->part] != NULL) {
		pending_drop(pd);
		pd->kind = kind;
		pd->key = key;
		pd->first = it->time;
	}
	pd->items[it->part] = it;
	if (complete(pd)) {
		emit(s, pd);
		pending_drop(pd);
	}
}

static void
expire(struct kp_state *s, uint64_t before)
{
	int i;

	for (i = 0; i < MAX_PENDING; i++)
		if (s->pend[i].kind != 0 && s->pend[i].first < before)
			pending_drop(&s->pend[i]);
}

static int
kp_drain(void *state, int max)
{
	struct kp_state *s = state;
	uint64_t junk, now, cutoff;
	size_t before, i = 0;
	int c;

	if (read(s->timerfd, &junk, sizeof(junk)) < 0) {
		/* not expired yet: nothing to clear */
	}
	now = clock_ns(CLOCK_MONOTONIC);
	s->boot_off = boot_offset();
	before = s->nbuf;
	for (c = 0; c < s->ncpu; c++)
		if (s->rings[c].fd != -1)
			kp_ring_consume(&s->rings[c], on_record, s, s->scratch, SCRATCH);
	if (s->nbuf != before)
		sort_new(s, before);
	cutoff = now > s->settle_ns ? now - s->settle_ns : 0;
	s->handed = 0;
	while (i < s->nbuf && s->handed < max) {
		if (s->buf[i]->time > cutoff && s->nbuf - i <= MAX_BUF)
			break;
		if (s->buf[i]->time > s->released)
			s->released = s->buf[i]->time;
		process(s, s->buf[i]);
		i++;
	}
	if (i > 0) {
		memmove(s->buf, s->buf + i, (s->nbuf - i) * sizeof(*s->buf));
		s->nbuf -= i;
	}
	if (cutoff > STALE_NS)
		expire(s, cutoff - STALE_NS);
	return s->handed;
}

static int
kp_fd(void *state)
{
	struct kp_state *s = state;

	return s->epfd;
}

static void
kp_counters(void *state, struct qf_backend_counters *c)
{
	struct kp_state *s = state;

	c->ring_lost = s->ring_lost;
	c->truncated = s->truncated;
	c->decode_errors = s->decode_errors;
	c->out_of_order = s->out_of_order;
}

static void
kp_close(void *state)
{
	struct kp_state *s = state;
	size_t k;
	int i;

	if (s == NULL)
		return;
	if (s->fds != NULL)
		for (i = 0; i < s->ncpu * KP_NPARTS; i++)
			if (s->fds[i] != -1)
				close(s->fds[i]);
	if (s->rings != NULL)
		for (i = 0; i < s->ncpu; i++)
			kp_ring_unmap(&s->rings[i]);
	/* the perf events are gone, so the kprobes are no longer busy */
	if (s->parts != NULL)
		for (i = 0; i < KP_NPARTS; i++)
			if (s->parts[i].defined)
				kp_tracefs_del(&s->tfs, s->group, s->parts[i].event);
	for (i = 0; i < MAX_PENDING; i++)
		if (s->pend[i].kind != 0)
			pending_drop(&s->pend[i]);
	for (k = 0; k < s->nbuf; k++)
		free(s->buf[k]);
	free(s->buf);
	if (s->epfd != -1)
		close(s->epfd);
	if (s->timerfd != -1)
		close(s->timerfd);
	seq_release(s->seq);
	free(s->rings);
	free(s->fds);
	free(s->parts);
	kp_defs_free(s->offs);
	free(s->scratch);
	free(s);
}

const struct qf_backend_ops qf_kprobe_backend = {
	.name = "kprobe",
	.source = QF_SOURCE_KPROBE,
	.open = kp_open,
	.fd = kp_fd,
	.drain = kp_drain,
	.counters = kp_counters,
	.close = kp_close,
};
