// SPDX-License-Identifier: Apache-2.0
/*
 * The eBPF backend: loads the embedded probes (bpftool skeleton of
 * bpf/process.bpf.c), attaches them, and turns ring buffer records
 * (bpf/qf_wire.h) into struct qf_raw.
 *
 * Program types are tried from the richest to the plainest the kernel
 * accepts: tp_btf, then raw_tp. Both run the same bodies.
 * QF_EBPF_PROGRAMS=tp_btf or =raw_tp tries only that one: the tests use it to
 * prove the fallback on kernels where tp_btf works, and it gets a host past a
 * kernel whose tp_btf programs load but misbehave.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "backend.h"
#include "qf_wire.h"
#include "process.skel.h"

struct bpf_state {
	struct qf_process *skel;
	struct ring_buffer *rb;
	qf_raw_sink sink;
	void *sink_ctx;
	int budget;		/* events left in the current drain */
	int handed;
	uint64_t decode_errors;
	int ncpus;
	int exit_group_dead;	/* the exit tracepoint passes group_dead */
};

/*
 * libbpf reports why a load failed through its print callback. Keep the
 * first warning so qf_open() can say it, and when the verifier refused a
 * program, its verdict (the last line of its log) with the source line it
 * was at, which is what tells one kernel's refusal from another's. The
 * callback is process-wide: qf_open() sets it for the duration of the load
 * and restores the previous one, so two qf_open() calls must not run at the
 * same time.
 */
static __thread char last_libbpf_msg[256];
static __thread int have_first_msg;
static __thread char verifier_msg[200];

static int
log_line_is_summary(const char *l, size_t n)
{
	static const char *const skip[] = { "processed ", "verification time", "stack depth" };
	size_t i;

	for (i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
		if (n >= strlen(skip[i]) && strncmp(l, skip[i], strlen(skip[i])) == 0)
			return 1;
	return 0;
}

/*
 * From a verifier log: the verdict (the last line that is not a summary)
 * and the nearest "; <source> @ file.c:N" annotation above it.
 */
static void
keep_verifier_verdict(const char *prog, const char *log)
{
	const char *end = log + strlen(log), *l, *e, *verdict = NULL, *at = NULL;
	size_t vlen = 0, atlen = 0;

	while (end > log) {
		e = end;
		while (e > log && e[-1] == '\n')
			e--;
		l = e;
		while (l > log && l[-1] != '\n')
			l--;
		end = l;
		if (e == l)
			continue;
		if (verdict == NULL) {
			if (!log_line_is_summary(l, (size_t)(e - l))) {
				verdict = l;
				vlen = (size_t)(e - l);
			}
		} else if (l[0] == ';') {
			const char *f = strstr(l, " @ ");

			if (f != NULL && f < e) {
				at = f + 3;
				atlen = (size_t)(e - at);
			}
			break;
		}
	}
	if (verdict == NULL)
		return;
	snprintf(verifier_msg, sizeof(verifier_msg), "verifier refused %s: %.*s%s%.*s", prog,
	    (int)(vlen > 120 ? 120 : vlen), verdict, at ? " at " : "", (int)atlen, at ? at : "");
}

static int
libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[256];
	size_t n;

	if (getenv("QF_DEBUG") != NULL) {
		va_list copy;

		va_copy(copy, ap);
		vfprintf(stderr, fmt, copy);
		va_end(copy);
	}
	if (level == LIBBPF_DEBUG)
		return 0;
	if (strstr(fmt, "BEGIN PROG LOAD LOG") != NULL && verifier_msg[0] == 0) {
		/* "prog '%s': -- BEGIN PROG LOAD LOG --\n%s-- END PROG LOAD LOG --\n" */
		va_list copy;
		const char *prog, *log;

		va_copy(copy, ap);
		prog = va_arg(copy, const char *);
		log = va_arg(copy, const char *);
		va_end(copy);
		if (prog != NULL && log != NULL)
			keep_verifier_verdict(prog, log);
	}
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == ' '))
		line[--n] = 0;
	/* the first warning is the cause; what follows are consequences */
	/* libbpf warns about RLIMIT_MEMLOCK before the real failure; it is never the cause here */
	if (n == 0 || have_first_msg || strstr(line, "RLIMIT_MEMLOCK") != NULL)
		return 0;
	have_first_msg = 1;
	if (strncmp(line, "libbpf: ", 8) == 0)
		memmove(line, line + 8, n - 8 + 1);
	snprintf(last_libbpf_msg, sizeof(last_libbpf_msg), "%s", line);
	return 0;
}

static struct qf_blob *
wire_blob(const char *data, uint32_t len, uint32_t orig, int trunc)
{
	return qf_blob_new(data, len, orig, trunc ? QF_ITEM_F_TRUNCATED : 0);
}

/* Returns 0, or -EINVAL when the record does not add up. */
static int
decode(const void *data, size_t size, struct qf_raw *raw)
{
	const struct qf_wire_event *e = data;
	const char *p;
	size_t need;
	struct qf_process_fixed *fx = &raw->p.fx;
	uint32_t v = QF_VALID_IDS | QF_VALID_CREDS | QF_VALID_CAPS | QF_VALID_TTY;

	if (size < sizeof(*e) || e->len > size || e->len < sizeof(*e))
		return -EINVAL;
	need = sizeof(*e) + (size_t)e->argv_len + e->exe_len + e->filename_len +
	    e->cwd_len + e->cgroup_len;
	if (need != e->len || e->argv_len > QF_WIRE_ARGV_MAX ||
	    e->exe_len > QF_WIRE_PATH_MAX || e->filename_len > QF_WIRE_PATH_MAX ||
	    e->cwd_len > QF_WIRE_PATH_MAX || e->cgroup_len > QF_WIRE_PATH_MAX)
		return -EINVAL;
	switch (e->kind) {
	case QF_WIRE_FORK:
		raw->kind = QF_RAW_FORK;
		break;
	case QF_WIRE_EXEC:
		raw->kind = QF_RAW_EXEC;
		break;
	case QF_WIRE_EXIT:
		raw->kind = QF_RAW_EXIT;
		break;
	default:
		return -EINVAL;
	}
	raw->time_ns = e->time_ns;
	fx->source = QF_SOURCE_EBPF;
	fx->pid = e->pid;
	fx->tid = e->tid;
	fx->ppid = e->ppid;
	fx->vpid = e->vpid;
	fx->pgid = e->pgid;
	fx->sid = e->sid;
	fx->start_ns = e->start_ns;
	fx->uid = e->uid;
	fx->gid = e->gid;
	fx->euid = e->euid;
	fx->egid = e->egid;
	fx->suid = e->suid;
	fx->sgid = e->sgid;
	fx->fsuid = e->fsuid;
	fx->fsgid = e->fsgid;
	fx->tty_major = e->tty_major;
	fx->tty_minor = e->tty_minor;
	fx->cap_effective = e->cap_effective;
	fx->cap_permitted = e->cap_permitted;
	fx->cap_inheritable = e->cap_inheritable;
	fx->cap_bounding = e->cap_bounding;
	fx->cap_ambient = e->cap_ambient;
	fx->ns_user = e->ns_user;
	if (e->ns_pid != 0) {
		fx->ns_pid = e->ns_pid;
		fx->pidns_init_start_ns = e->pidns_init_start_ns;
		v |= QF_VALID_PIDNS_INIT;
	}
	if (e->flags & QF_WIRE_F_HAS_NS) {
		fx->ns_mnt = e->ns_mnt;
		fx->ns_net = e->ns_net;
		fx->ns_uts = e->ns_uts;
		fx->ns_ipc = e->ns_ipc;
		fx->ns_cgroup = e->ns_cgroup;
		v |= QF_VALID_NS;
	}
	if (e->flags & QF_WIRE_F_HAS_EXE) {
		fx->exe_ino = e->exe_ino;
		fx->exe_size = e->exe_size;
		fx->exe_ctime_ns = e->exe_ctime_ns;
		fx->exe_mtime_ns = e->exe_mtime_ns;
		fx->exe_dev_major = e->exe_dev >> 20;
		fx->exe_dev_minor = e->exe_dev & 0xfffff;
		fx->exe_mode = e->exe_mode;
		fx->exe_uid = e->exe_uid;
		fx->exe_gid = e->exe_gid;
		fx->exe_nlink = e->exe_nlink;
		if (e->flags & QF_WIRE_F_MEMFD)
			fx->exec_flags |= QF_EXEC_MEMFD;
		if (e->exe_nlink == 0)
			fx->exec_flags |= QF_EXEC_UNLINKED;
		v |= QF_VALID_EXE_FILE;
	}

	switch (raw->kind) {
	case QF_RAW_FORK:
		fx->fork_time_ns = e->time_ns;
		v |= QF_VALID_FORK_TIME;
		break;
	case QF_RAW_EXEC:
		fx->exec_time_ns = e->time_ns;
		v |= QF_VALID_EXEC_TIME | QF_VALID_EXEC_PRIV;
		if (e->per_clear != 0) {
			/* the kernel judged this exec a change of privilege */
			fx->exec_flags |= QF_EXEC_PRIV_CHANGED;
			if ((e->exe_mode & S_ISUID) && e->euid == e->exe_uid)
				fx->exec_flags |= QF_EXEC_SETUID;
			if ((e->exe_mode & S_ISGID) && (e->exe_mode & S_IXGRP) &&
			    e->egid == e->exe_gid)
				fx->exec_flags |= QF_EXEC_SETGID;
		}
		if (e->old_pid != 0) {
			fx->old_pid = e->old_pid;
			v |= QF_VALID_OLD_PID;
		}
		if (e->argc >= 0) {
			fx->argc = (uint32_t)e->argc;
			v |= QF_VALID_ARGC;
		}
		break;
	case QF_RAW_EXIT:
		qf_proc_set_exit_status(&raw->p, e->exit_status, e->time_ns);
		v |= QF_VALID_EXIT;
		break;
	}
	fx->h.valid |= v;

	raw->p.comm = qf_blob_new(e->comm, (uint32_t)strnlen(e->comm, sizeof(e->comm)), 0, 0);
	p = (const char *)data + sizeof(*e);
	if (e->flags & QF_WIRE_F_HAS_ARGV) {
		raw->p.argv = wire_blob(p, e->argv_len, e->argv_orig_len,
		    e->flags & QF_WIRE_F_ARGV_TRUNC);
		if (!(fx->h.valid & QF_VALID_ARGC) && !(e->flags & QF_WIRE_F_ARGV_TRUNC)) {
			fx->argc = qf_count_args(raw->p.argv);
			fx->h.valid |= QF_VALID_ARGC;
		}
	}
	p += e->argv_len;
	if (e->flags & QF_WIRE_F_HAS_EXE)
		raw->p.exe = wire_blob(p, e->exe_len,
		    (e->flags & QF_WIRE_F_EXE_TRUNC) ? UINT32_MAX : e->exe_len,
		    e->flags & QF_WIRE_F_EXE_TRUNC);
	p += e->exe_len;
	if (raw->kind == QF_RAW_EXEC && e->filename_len > 0)
		raw->p.filename = wire_blob(p, e->filename_len,
		    (e->flags & QF_WIRE_F_FILENAME_TRUNC) ? UINT32_MAX : e->filename_len,
		    e->flags & QF_WIRE_F_FILENAME_TRUNC);
	p += e->filename_len;
	if (e->flags & QF_WIRE_F_HAS_CWD)
		raw->p.cwd = wire_blob(p, e->cwd_len,
		    (e->flags & QF_WIRE_F_CWD_TRUNC) ? UINT32_MAX : e->cwd_len,
		    e->flags & QF_WIRE_F_CWD_TRUNC);
	p += e->cwd_len;
	if (e->flags & QF_WIRE_F_HAS_CGROUP)
		raw->p.cgroup = wire_blob(p, e->cgroup_len,
		    (e->flags & QF_WIRE_F_CGROUP_TRUNC) ? UINT32_MAX : e->cgroup_len,
		    e->flags & QF_WIRE_F_CGROUP_TRUNC);
	return 0;
}

static int
on_sample(void *ctx, void *data, size_t size)
{
	struct bpf_state *s = ctx;
	struct qf_raw raw;

	memset(&raw, 0, sizeof(raw));
	qf_proc_init(&raw.p);
	if (decode(data, size, &raw) == 0)
		s->sink(s->sink_ctx, &raw);
	else
		s->decode_errors++;
	qf_proc_clear(&raw.p);
	s->handed++;
	/* stop the ring walk here; the sample itself was consumed */
	if (--s->budget <= 0)
		return -EAGAIN;
	return 0;
}

static void
set_autoload(struct qf_process *skel, int btf)
{
	bpf_program__set_autoload(skel->progs.qf_fork_btf, btf);
	bpf_program__set_autoload(skel->progs.qf_exec_btf, btf);
	bpf_program__set_autoload(skel->progs.qf_exit_btf, btf);
	bpf_program__set_autoload(skel->progs.qf_fork_raw, !btf);
	bpf_program__set_autoload(skel->progs.qf_exec_raw, !btf);
	bpf_program__set_autoload(skel->progs.qf_exit_raw, !btf);
}

static uint32_t
ring_size(uint32_t want)
{
	uint32_t n = 256 * 1024;

	if (want == 0)
		want = QF_DEFAULT_RING_BYTES;
	while (n < want && n < (1u << 30))
		n <<= 1;
	return n;
}

/*
 * Whether sched_process_exit passes group_dead (since 6.16): its BTF type
 * btf_trace_sched_process_exit is a pointer to a function taking
 * (void *, struct task_struct *, bool). Without BTF the answer is no, and the
 * probe falls back to reading signal->live.
 */
static int
exit_tp_has_group_dead(void)
{
	struct btf *btf = btf__load_vmlinux_btf();
	const struct btf_type *t;
	int id, has = 0;

	if (btf == NULL)
		return 0;
	id = btf__find_by_name_kind(btf, "btf_trace_sched_process_exit", BTF_KIND_TYPEDEF);
	if (id > 0) {
		t = btf__type_by_id(btf, (uint32_t)id);
		t = t ? btf__type_by_id(btf, t->type) : NULL;
		if (t != NULL && btf_is_ptr(t))
			t = btf__type_by_id(btf, t->type);
		has = t != NULL && btf_is_func_proto(t) && btf_vlen(t) >= 3;
	}
	btf__free(btf);
	return has;
}

/* One attempt with one program flavour. */
static int
try_load(struct bpf_state *s, const struct qf_options *o, int btf, char *why, size_t whylen)
{
	int r;

	last_libbpf_msg[0] = 0;
	have_first_msg = 0;
	verifier_msg[0] = 0;
	s->skel = qf_process__open();
	if (s->skel == NULL) {
		r = -errno;
		snprintf(why, whylen, "open: %s", strerror(-r));
		return r;
	}
	set_autoload(s->skel, btf);
	s->skel->rodata->qf_exit_has_group_dead = (uint32_t)s->exit_group_dead;
	/* SCRATCH_SLOTS (bpf/process.bpf.c) per CPU */
	bpf_map__set_max_entries(s->skel->maps.qf_scratch, (uint32_t)s->ncpus * 2);
	bpf_map__set_max_entries(s->skel->maps.qf_ring, ring_size(o->ring_bytes));
	r = qf_process__load(s->skel);
	if (r != 0) {
		if (verifier_msg[0] != 0)
			snprintf(why, whylen, "load: %s: %s", strerror(-r), verifier_msg);
		else
			snprintf(why, whylen, "load: %s%s%s", strerror(-r),
			    last_libbpf_msg[0] ? ": " : "", last_libbpf_msg);
		goto fail;
	}
	r = qf_process__attach(s->skel);
	if (r != 0) {
		snprintf(why, whylen, "attach: %s%s%s", strerror(-r),
		    last_libbpf_msg[0] ? ": " : "", last_libbpf_msg);
		goto fail;
	}
	return 0;
fail:
	qf_process__destroy(s->skel);
	s->skel = NULL;
	return r;
}

static int
bpf_open(const struct qf_options *o, qf_raw_sink sink, void *sink_ctx, void **state,
    char *err, size_t errlen)
{
	struct bpf_state *s;
	char why_btf[224] = "not tried", why_raw[224] = "not tried";
	const char *only = getenv("QF_EBPF_PROGRAMS");
	int try_btf = 1, try_raw = 1;
	libbpf_print_fn_t old_print;
	int r = -ENOENT;

	*state = NULL;
	if (only != NULL && only[0] != 0) {
		try_btf = strcmp(only, "tp_btf") == 0;
		try_raw = strcmp(only, "raw_tp") == 0;
		if (!try_btf && !try_raw) {
			snprintf(err, errlen, "QF_EBPF_PROGRAMS is '%.32s': expected tp_btf or raw_tp",
			    only);
			return -EINVAL;
		}
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	s->sink = sink;
	s->sink_ctx = sink_ctx;
	s->ncpus = libbpf_num_possible_cpus();
	if (s->ncpus <= 0) {
		snprintf(err, errlen, "cannot count CPUs: %s", strerror(-s->ncpus));
		free(s);
		return -EINVAL;
	}
	old_print = libbpf_set_print(libbpf_print);
	s->exit_group_dead = exit_tp_has_group_dead();
	if (getenv("QF_DEBUG") != NULL)
		fprintf(stderr, "quark-ffi: last-thread exit from %s\n",
		    s->exit_group_dead ? "the tracepoint's group_dead" : "signal->live");
	if (try_btf)
		r = try_load(s, o, 1, why_btf, sizeof(why_btf));
	if (r != 0 && try_raw)
		r = try_load(s, o, 0, why_raw, sizeof(why_raw));
	libbpf_set_print(old_print);
	if (r != 0) {
		snprintf(err, errlen, "eBPF probes refused (tp_btf %s; raw_tp %s)", why_btf, why_raw);
		free(s);
		return r;
	}
	s->rb = ring_buffer__new(bpf_map__fd(s->skel->maps.qf_ring), on_sample, s, NULL);
	if (s->rb == NULL) {
		r = -errno;
		snprintf(err, errlen, "ring buffer: %s", strerror(-r));
		qf_process__destroy(s->skel);
		free(s);
		return r;
	}
	*state = s;
	return 0;
}

static int
bpf_fd(void *state)
{
	struct bpf_state *s = state;

	return ring_buffer__epoll_fd(s->rb);
}

static int
bpf_drain(void *state, int max)
{
	struct bpf_state *s = state;
	int r;

	s->budget = max > 0 ? max : 1;
	s->handed = 0;
	r = ring_buffer__consume(s->rb);
	if (r < 0 && r != -EAGAIN)
		return r;
	return s->handed;
}

/*
 * Runs the kernel skipped: a program is not re-entered on a CPU where it is
 * already running, and on a preemptible kernel (PREEMPT_LAZY, full) a second
 * exit on a CPU whose exit program was preempted halfway is not traced at
 * all. The kernel counts those per program (recursion_misses, 5.12+).
 */
static uint64_t
recursion_misses(struct bpf_state *s)
{
	struct bpf_program *progs[] = {
		s->skel->progs.qf_fork_btf, s->skel->progs.qf_exec_btf, s->skel->progs.qf_exit_btf,
		s->skel->progs.qf_fork_raw, s->skel->progs.qf_exec_raw, s->skel->progs.qf_exit_raw,
	};
	uint64_t n = 0;
	size_t i;

	for (i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		struct bpf_prog_info info;
		uint32_t len = sizeof(info);
		int fd = bpf_program__fd(progs[i]);

		memset(&info, 0, sizeof(info));
		if (fd >= 0 && bpf_obj_get_info_by_fd(fd, &info, &len) == 0)
			n += info.recursion_misses;
	}
	return n;
}

static void
bpf_counters(void *state, struct qf_backend_counters *c)
{
	struct bpf_state *s = state;
	uint64_t tot[QF_CNT_MAX] = { 0 };
	uint64_t *percpu;
	uint32_t k;
	int i;

	memset(c, 0, sizeof(*c));
	c->decode_errors = s->decode_errors;
	/* a per-CPU array lookup returns one value per possible CPU */
	percpu = calloc((size_t)s->ncpus, sizeof(uint64_t));
	if (percpu == NULL)
		return;
	for (k = 0; k < QF_CNT_MAX; k++) {
		if (bpf_map_lookup_elem(bpf_map__fd(s->skel->maps.qf_counters), &k, percpu) != 0)
			continue;
		for (i = 0; i < s->ncpus; i++)
			tot[k] += percpu[i];
	}
	free(percpu);
	c->ring_lost = tot[QF_CNT_RING_LOST];
	c->kernel_skipped = recursion_misses(s);
	c->truncated = tot[QF_CNT_TRUNCATED] + tot[QF_CNT_ARGV_FAULT];
}

static void
bpf_close(void *state)
{
	struct bpf_state *s = state;

	if (s == NULL)
		return;
	ring_buffer__free(s->rb);
	qf_process__destroy(s->skel);
	free(s);
}

const struct qf_backend_ops qf_bpf_backend = {
	.name = "ebpf",
	.source = QF_SOURCE_EBPF,
	.open = bpf_open,
	.fd = bpf_fd,
	.drain = bpf_drain,
	.counters = bpf_counters,
	.close = bpf_close,
};
