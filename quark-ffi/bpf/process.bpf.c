// SPDX-License-Identifier: GPL-2.0
/*
 * Process probes of quark-ffi: one ring record per fork (of a new thread
 * group), exec and exit (of the last thread). Tracepoint-type programs only,
 * so they load where fentry/kprobes are refused: tp_btf first, and the same
 * bodies as raw_tp for kernels whose tp_btf attach fails (the loader picks
 * one set and disables the other's autoload).
 *
 * Every read goes through BPF_CORE_READ so the bodies are valid in both
 * program types, and every kernel field is relocated against the running
 * kernel's BTF (see kernel_types.h).
 */
#include "kernel_types.h"
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "qf_wire.h"

char LICENSE[] SEC("license") = "GPL";

/*
 * Set by the loader before load: the kernel's sched_process_exit tracepoint
 * passes group_dead (the last thread of the group is exiting) as its second
 * argument. Read-only data, so the verifier prunes the branch that reads it
 * on kernels whose tracepoint has one argument.
 */
const volatile __u32 qf_exit_has_group_dead = 0;

/* MAX_PID_NS_LEVEL: struct pid has numbers[0..level], level at most 32 */
#define PID_NS_LEVEL_MAX	32

#define HDR_SIZE	((__u32)sizeof(struct qf_wire_event))
#define OUT_MASK	0x1ffff		/* bounds any data offset */
#define LEN_MASK	0x1fff		/* bounds one path's length */
#define OUT_SIZE	(OUT_MASK + 1 + LEN_MASK + 1)
#define PB_END		8192		/* paths are built backwards from here */
#define PB_LIMIT	(PB_END - QF_WIRE_PATH_MAX)
#define PB_MASK		0x1fff
#define PB_SIZE		(PB_END + 256 + 8)

/*
 * A helper's size or buffer offset, bounded for the verifier at the call.
 * Neither `if (len > MAX) len = MAX;` nor `len & MASK` is enough on its own:
 * clang drops a mask it can prove redundant, and 6.12's verifier forgets the
 * unsigned range of a register after a comparison of a copy of it plus a
 * constant (`if (len + K > pos)`: its linked-register delta wraps the unsigned
 * bounds), which fails the load with "R2 unbounded memory access".
 * barrier_var() hides the value from clang, so the mask is emitted after
 * every comparison and applied to the very value passed to the helper.
 * The mask must not cut real values: it is at least the largest clamp.
 */
#define BOUNDED(v, mask) ({ __u64 __bv = (__u64)(v); barrier_var(__bv); __bv & (mask); })

struct scratch {
	__u64 busy;		/* 1 while a program builds a record in it */
	char pathbuf[PB_SIZE];
	char out[OUT_SIZE];
};

/*
 * Too big for a per-CPU array value: plain array slots, SCRATCH_SLOTS per
 * CPU. A program keeps its CPU but, on a preemptible kernel (PREEMPT_LAZY,
 * as Debian's 7.x, or full), not the CPU to itself: another program can run
 * on it halfway through, so each takes a free slot of its CPU (compare and
 * swap) instead of the CPU's one buffer, which the other would overwrite.
 */
#define SCRATCH_SLOTS	2
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);		/* set to CPUs x SCRATCH_SLOTS at load */
	__type(key, __u32);
	__type(value, struct scratch);
} qf_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 * 1024 * 1024);	/* set from the options at load */
} qf_ring SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, QF_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} qf_counters SEC(".maps");

static __always_inline void count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&qf_counters, &idx);

	if (v)
		*v += 1;
}

static __always_inline struct scratch *take_slot(__u32 k)
{
	struct scratch *s = bpf_map_lookup_elem(&qf_scratch, &k);

	if (s != NULL && __sync_val_compare_and_swap(&s->busy, 0, 1) == 0)
		return s;
	return NULL;
}

/* A free buffer of this CPU, or NULL (the event is counted as lost). */
static __always_inline struct scratch *get_scratch(void)
{
	__u32 k = bpf_get_smp_processor_id() * SCRATCH_SLOTS;
	struct scratch *s;

	s = take_slot(k);
	if (s == NULL)
		s = take_slot(k + 1);
	if (s == NULL)
		count(QF_CNT_RING_LOST);
	return s;
}

static __always_inline void put_scratch(struct scratch *s)
{
	s->busy = 0;
}

static __always_inline __u32 pid_nr_at(struct pid *p, unsigned int level,
    struct pid_namespace **ns)
{
	struct upid *u;
	int nr = 0;

	if (p == NULL)
		return 0;
	u = (struct upid *)((char *)p + bpf_core_field_offset(struct pid, numbers));
	u += level;
	bpf_probe_read_kernel(&nr, sizeof(nr), &u->nr);
	if (ns != NULL)
		bpf_probe_read_kernel(ns, sizeof(*ns), &u->ns);
	return nr;
}

static __always_inline void fill_task(struct qf_wire_event *e, struct task_struct *t)
{
	const struct cred *c = BPF_CORE_READ(t, real_cred);
	struct signal_struct *sig = BPF_CORE_READ(t, signal);
	struct task_struct *leader = BPF_CORE_READ(t, group_leader);
	struct pid *tp = BPF_CORE_READ(t, thread_pid);
	struct pid_namespace *pns = NULL;
	struct task_struct *reaper;
	struct nsproxy *nsp;
	struct tty_struct *tty;
	unsigned int level;

	e->pid = BPF_CORE_READ(t, tgid);
	e->tid = BPF_CORE_READ(t, pid);
	e->ppid = BPF_CORE_READ(t, real_parent, tgid);
	e->start_ns = BPF_CORE_READ(leader, start_boottime);
	bpf_probe_read_kernel(e->comm, sizeof(e->comm), &t->comm);

	e->uid = BPF_CORE_READ(c, uid.val);
	e->gid = BPF_CORE_READ(c, gid.val);
	e->suid = BPF_CORE_READ(c, suid.val);
	e->sgid = BPF_CORE_READ(c, sgid.val);
	e->euid = BPF_CORE_READ(c, euid.val);
	e->egid = BPF_CORE_READ(c, egid.val);
	e->fsuid = BPF_CORE_READ(c, fsuid.val);
	e->fsgid = BPF_CORE_READ(c, fsgid.val);
	bpf_core_read(&e->cap_effective, 8, &c->cap_effective);
	bpf_core_read(&e->cap_permitted, 8, &c->cap_permitted);
	bpf_core_read(&e->cap_inheritable, 8, &c->cap_inheritable);
	bpf_core_read(&e->cap_bounding, 8, &c->cap_bset);
	bpf_core_read(&e->cap_ambient, 8, &c->cap_ambient);
	e->ns_user = BPF_CORE_READ(c, user_ns, ns.inum);

	/* pid as seen in its own namespace, and that namespace's init */
	/*
	 * level 32 is legal (32 nested namespaces, reachable by an unprivileged
	 * user through a user namespace): clamp to the kernel's maximum rather
	 * than mask, which would turn 32 into 0, the host's.
	 */
	level = BPF_CORE_READ(tp, level);
	if (level > PID_NS_LEVEL_MAX)
		level = PID_NS_LEVEL_MAX;
	e->vpid = pid_nr_at(tp, BOUNDED(level, 0x3f), &pns);
	if (pns != NULL) {
		e->ns_pid = BPF_CORE_READ(pns, ns.inum);
		reaper = BPF_CORE_READ(pns, child_reaper);
		if (reaper != NULL)
			e->pidns_init_start_ns = BPF_CORE_READ(reaper, group_leader, start_boottime);
	}

	if (sig != NULL) {
		struct pid *pg = NULL, *sd = NULL;

		bpf_core_read(&pg, sizeof(pg), &sig->pids[PIDTYPE_PGID]);
		bpf_core_read(&sd, sizeof(sd), &sig->pids[PIDTYPE_SID]);
		e->pgid = pid_nr_at(pg, 0, NULL);
		e->sid = pid_nr_at(sd, 0, NULL);
		tty = BPF_CORE_READ(sig, tty);
		if (tty != NULL) {
			e->tty_major = BPF_CORE_READ(tty, driver, major);
			e->tty_minor = BPF_CORE_READ(tty, driver, minor_start) +
			    BPF_CORE_READ(tty, index);
		}
	}

	nsp = BPF_CORE_READ(t, nsproxy);
	if (nsp != NULL) {
		e->ns_mnt = BPF_CORE_READ(nsp, mnt_ns, ns.inum);
		e->ns_net = BPF_CORE_READ(nsp, net_ns, ns.inum);
		e->ns_uts = BPF_CORE_READ(nsp, uts_ns, ns.inum);
		e->ns_ipc = BPF_CORE_READ(nsp, ipc_ns, ns.inum);
		e->ns_cgroup = BPF_CORE_READ(nsp, cgroup_ns, ns.inum);
		e->flags |= QF_WIRE_F_HAS_NS;
	}
}

struct walk {
	struct scratch *s;
	struct dentry *d;
	struct vfsmount *vm;
	struct dentry *root_d;
	struct vfsmount *root_m;
	struct kernfs_node *kn;
	__u32 mnt_off;
	int pos;
	int done;
};

/* One component of a d_path()-like walk; bpf_loop() keeps verification linear. */
static long
path_step(__u32 i, void *data)
{
	struct walk *w = data;
	struct dentry *d = w->d, *parent, *mnt_root;
	struct vfsmount *vm = w->vm;
	const unsigned char *name;
	int pos = w->pos;
	__u32 len;

	if (d == w->root_d && vm == w->root_m) {
		w->done = 1;
		return 1;
	}
	mnt_root = BPF_CORE_READ(vm, mnt_root);
	parent = BPF_CORE_READ(d, d_parent);
	if (d == mnt_root) {
		struct mount *m = (struct mount *)((char *)vm - w->mnt_off);
		struct mount *mp = BPF_CORE_READ(m, mnt_parent);

		if (mp == NULL || mp == m) {
			w->done = 1;
			return 1;
		}
		w->d = BPF_CORE_READ(m, mnt_mountpoint);
		w->vm = (struct vfsmount *)((char *)mp + w->mnt_off);
		return 0;
	}
	len = BPF_CORE_READ(d, d_name.len);
	name = BPF_CORE_READ(d, d_name.name);
	if (len > 255)
		len = 255;
	if (pos < (int)(PB_LIMIT + len + 1) || pos > PB_END)
		return 1;
	pos -= len;
	bpf_probe_read_kernel(&w->s->pathbuf[BOUNDED(pos, PB_MASK)], BOUNDED(len, 0xff), name);
	pos -= 1;
	w->s->pathbuf[BOUNDED(pos, PB_MASK)] = '/';
	w->pos = pos;
	w->d = parent;
	/*
	 * A dentry that is its own parent without being a mount root is a
	 * pseudo file (memfd, anonymous inode): its name is all the path there is.
	 */
	if (d == parent) {
		w->done = 1;
		return 1;
	}
	return 0;
}

/* One component of the cgroup path: kernfs names up to the root. */
static long
cgroup_step(__u32 i, void *data)
{
	struct walk *w = data;
	struct kernfs_node *kn = w->kn, *parent;
	struct kernfs_node___old *old = (void *)kn;
	const char *name;
	int pos = w->pos;
	long len;

	if (bpf_core_field_exists(old->parent))
		parent = BPF_CORE_READ(old, parent);
	else
		parent = BPF_CORE_READ(kn, __parent);
	if (parent == NULL) {
		w->done = 1;
		return 1;
	}
	name = BPF_CORE_READ(kn, name);
	/* the start of pathbuf is never part of a path: use it to learn the length */
	len = bpf_probe_read_kernel_str(&w->s->pathbuf[0], 256, name);
	if (len <= 1)
		len = 1;
	len -= 1;
	if (pos < (int)(PB_LIMIT + len + 1) || pos > PB_END)
		return 1;
	pos -= len;
	bpf_probe_read_kernel(&w->s->pathbuf[BOUNDED(pos, PB_MASK)], BOUNDED(len, 0xff), name);
	pos -= 1;
	w->s->pathbuf[BOUNDED(pos, PB_MASK)] = '/';
	w->pos = pos;
	w->kn = parent;
	return 0;
}

/*
 * Turns a finished walk into the start offset of the path in pathbuf (the
 * path ends at PB_END), plus PATH_TRUNC when the walk gave up.
 */
#define PATH_TRUNC	0x10000
static __always_inline int
walk_result(struct walk *w)
{
	int pos = w->pos;

	if (!w->done) {
		/* a truncated path keeps its deepest components, without the leading '/' */
		if (pos < PB_END)
			pos += 1;
		return pos | PATH_TRUNC;
	}
	if (pos == PB_END) {
		pos -= 1;
		w->s->pathbuf[pos & PB_MASK] = '/';
	}
	return pos;
}

/* The absolute path of (dentry, vfsmount) as d_path() builds it, up to the task's root. */
static __always_inline int
build_path(struct scratch *s, struct dentry *d, struct vfsmount *vm,
    struct dentry *root_d, struct vfsmount *root_m)
{
	struct walk w = {
		.s = s, .d = d, .vm = vm, .root_d = root_d, .root_m = root_m,
		.mnt_off = bpf_core_field_offset(struct mount, mnt), .pos = PB_END,
	};

	bpf_loop(QF_WIRE_PATH_DEPTH, path_step, &w, 0);
	return walk_result(&w);
}

/* Copies pathbuf[pos, PB_END) to out at *off; returns the length copied. */
static __always_inline __u16 emit_path(struct scratch *s, __u32 *off, int pos)
{
	__u32 len = (__u32)(PB_END - pos);

	if (len > QF_WIRE_PATH_MAX)
		len = QF_WIRE_PATH_MAX;
	len = BOUNDED(len, LEN_MASK);
	bpf_probe_read_kernel(&s->out[BOUNDED(*off, OUT_MASK)], len,
	    &s->pathbuf[BOUNDED(pos, PB_MASK)]);
	*off += len;
	return (__u16)len;
}

static __always_inline void emit_file_path(struct scratch *s, struct qf_wire_event *e,
    __u32 *off, struct file *f, struct task_struct *t)
{
	struct dentry *d = BPF_CORE_READ(f, f_path.dentry);
	struct vfsmount *vm = BPF_CORE_READ(f, f_path.mnt);
	struct dentry *rd = BPF_CORE_READ(t, fs, root.dentry);
	struct vfsmount *rm = BPF_CORE_READ(t, fs, root.mnt);
	int pos;

	pos = build_path(s, d, vm, rd, rm);
	e->exe_len = emit_path(s, off, pos & 0xffff);
	if (pos & PATH_TRUNC) {
		e->flags |= QF_WIRE_F_EXE_TRUNC;
		count(QF_CNT_TRUNCATED);
	}
}

static __always_inline void fill_file(struct qf_wire_event *e, struct file *f)
{
	struct inode *ino = BPF_CORE_READ(f, f_inode);
	struct dentry *d = BPF_CORE_READ(f, f_path.dentry);
	char name[8] = {};

	e->exe_ino = BPF_CORE_READ(ino, i_ino);
	e->exe_size = BPF_CORE_READ(ino, i_size);
	e->exe_mode = BPF_CORE_READ(ino, i_mode);
	e->exe_uid = BPF_CORE_READ(ino, i_uid.val);
	e->exe_gid = BPF_CORE_READ(ino, i_gid.val);
	e->exe_nlink = BPF_CORE_READ(ino, i_nlink);
	e->exe_dev = BPF_CORE_READ(ino, i_sb, s_dev);
	if (bpf_core_field_exists(ino->i_ctime_sec)) {
		/*
		 * Since multigrain timestamps (6.13) the kernel keeps a "ctime was
		 * queried" flag in bit 31 of i_ctime_nsec; a real nsec is < 2^30.
		 */
		e->exe_ctime_ns = BPF_CORE_READ(ino, i_ctime_sec) * 1000000000LL +
		    (BPF_CORE_READ(ino, i_ctime_nsec) & ~(1U << 31));
		e->exe_mtime_ns = BPF_CORE_READ(ino, i_mtime_sec) * 1000000000LL +
		    BPF_CORE_READ(ino, i_mtime_nsec);
	} else {
		struct inode___v67 *i67 = (void *)ino;
		struct inode___old *iold = (void *)ino;
		struct timespec64 ts = {};

		if (bpf_core_field_exists(i67->__i_ctime))
			bpf_core_read(&ts, sizeof(ts), &i67->__i_ctime);
		else if (bpf_core_field_exists(iold->i_ctime))
			bpf_core_read(&ts, sizeof(ts), &iold->i_ctime);
		e->exe_ctime_ns = ts.tv_sec * 1000000000LL + ts.tv_nsec;
		ts.tv_sec = 0;
		ts.tv_nsec = 0;
		if (bpf_core_field_exists(i67->__i_mtime))
			bpf_core_read(&ts, sizeof(ts), &i67->__i_mtime);
		else if (bpf_core_field_exists(i67->i_mtime))
			bpf_core_read(&ts, sizeof(ts), &i67->i_mtime);
		e->exe_mtime_ns = ts.tv_sec * 1000000000LL + ts.tv_nsec;
	}
	/* memfd_create() names its file "memfd:<name>" on the internal shm mount */
	bpf_probe_read_kernel(name, 6, BPF_CORE_READ(d, d_name.name));
	if (name[0] == 'm' && name[1] == 'e' && name[2] == 'm' && name[3] == 'f' &&
	    name[4] == 'd' && name[5] == ':')
		e->flags |= QF_WIRE_F_MEMFD;
	e->flags |= QF_WIRE_F_HAS_EXE;
}

static __always_inline void emit_cwd(struct scratch *s, struct qf_wire_event *e,
    __u32 *off, struct task_struct *t)
{
	struct fs_struct *fs = BPF_CORE_READ(t, fs);
	int pos;

	if (fs == NULL)
		return;
	pos = build_path(s, BPF_CORE_READ(fs, pwd.dentry), BPF_CORE_READ(fs, pwd.mnt),
	    BPF_CORE_READ(fs, root.dentry), BPF_CORE_READ(fs, root.mnt));
	e->cwd_len = emit_path(s, off, pos & 0xffff);
	e->flags |= QF_WIRE_F_HAS_CWD;
	if (pos & PATH_TRUNC) {
		e->flags |= QF_WIRE_F_CWD_TRUNC;
		count(QF_CNT_TRUNCATED);
	}
}

static __always_inline void emit_cgroup(struct scratch *s, struct qf_wire_event *e,
    __u32 *off, struct task_struct *t)
{
	struct walk w = { .s = s, .pos = PB_END };
	int pos;

	w.kn = BPF_CORE_READ(t, cgroups, dfl_cgrp, kn);
	if (w.kn == NULL)
		return;
	bpf_loop(QF_WIRE_CGROUP_DEPTH, cgroup_step, &w, 0);
	pos = walk_result(&w);
	if (pos & PATH_TRUNC) {
		e->flags |= QF_WIRE_F_CGROUP_TRUNC;
		count(QF_CNT_TRUNCATED);
	}
	e->cgroup_len = emit_path(s, off, pos & 0xffff);
	e->flags |= QF_WIRE_F_HAS_CGROUP;
}

/* argv from the current task's memory (the exec'd image, or the forking parent) */
static __always_inline void emit_argv(struct scratch *s, struct qf_wire_event *e,
    __u32 *off, struct mm_struct *mm)
{
	unsigned long start, end;
	__u32 len;

	if (mm == NULL)
		return;
	start = BPF_CORE_READ(mm, arg_start);
	end = BPF_CORE_READ(mm, arg_end);
	if (end <= start)
		return;
	e->argv_orig_len = end - start > 0xffffffffUL ? 0xffffffff : (__u32)(end - start);
	len = e->argv_orig_len;
	if (len > QF_WIRE_ARGV_MAX) {
		len = QF_WIRE_ARGV_MAX;
		e->flags |= QF_WIRE_F_ARGV_TRUNC;
		count(QF_CNT_TRUNCATED);
	}
	len = BOUNDED(len, 0x1ffff);
	if (bpf_probe_read_user(&s->out[HDR_SIZE], len, (void *)start) != 0) {
		e->flags |= QF_WIRE_F_ARGV_FAULT;
		count(QF_CNT_ARGV_FAULT);
		return;
	}
	e->argv_len = len;
	*off += e->argv_len;
	e->flags |= QF_WIRE_F_HAS_ARGV;
}

static __always_inline struct qf_wire_event *begin(struct scratch *s, __u16 kind)
{
	struct qf_wire_event *e = (struct qf_wire_event *)s->out;

	__builtin_memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->argc = -1;
	e->time_ns = bpf_ktime_get_boot_ns();
	return e;
}

static __always_inline void submit(struct scratch *s, __u32 off)
{
	struct qf_wire_event *e = (struct qf_wire_event *)s->out;
	__u32 len;

	if ((off & OUT_MASK) < HDR_SIZE)
		return;
	len = BOUNDED(off, OUT_MASK);
	e->len = len;
	if (bpf_ringbuf_output(&qf_ring, s->out, len, 0) != 0)
		count(QF_CNT_RING_LOST);
}

static __always_inline int on_fork(struct task_struct *parent, struct task_struct *child)
{
	struct qf_wire_event *e;
	struct scratch *s;
	struct mm_struct *mm;
	struct file *exe;
	__u32 off = HDR_SIZE;

	/* a new thread is not a new process, nor is a kernel thread (kthreadd's child) */
	if (BPF_CORE_READ(child, pid) != BPF_CORE_READ(child, tgid) ||
	    (BPF_CORE_READ(child, flags) & PF_KTHREAD))
		return 0;
	s = get_scratch();
	if (s == NULL)
		return 0;
	e = begin(s, QF_WIRE_FORK);
	fill_task(e, child);
	mm = BPF_CORE_READ(child, mm);
	if (mm != NULL) {
		/* the child's memory is a copy of the parent's, which is current */
		emit_argv(s, e, &off, BPF_CORE_READ(parent, mm));
		exe = BPF_CORE_READ(mm, exe_file);
		if (exe != NULL) {
			fill_file(e, exe);
			emit_file_path(s, e, &off, exe, child);
		}
	}
	emit_cwd(s, e, &off, child);
	emit_cgroup(s, e, &off, child);
	submit(s, off);
	put_scratch(s);
	return 0;
}

static __always_inline int on_exec(struct task_struct *t, int old_pid, struct linux_binprm *bprm)
{
	struct qf_wire_event *e;
	struct scratch *s;
	struct file *f;
	const char *fname;
	__u32 off = HDR_SIZE;
	long n;

	s = get_scratch();
	if (s == NULL)
		return 0;
	e = begin(s, QF_WIRE_EXEC);
	fill_task(e, t);
	if ((__u32)old_pid != e->pid)
		e->old_pid = old_pid;
	e->per_clear = BPF_CORE_READ(bprm, per_clear);
	e->argc = BPF_CORE_READ(bprm, argc);
	emit_argv(s, e, &off, BPF_CORE_READ(t, mm));
	f = BPF_CORE_READ(bprm, file);
	if (f != NULL) {
		fill_file(e, f);
		emit_file_path(s, e, &off, f, t);
	}
	fname = BPF_CORE_READ(bprm, filename);
	if (fname != NULL) {
		n = bpf_probe_read_kernel_str(&s->out[BOUNDED(off, OUT_MASK)], QF_WIRE_PATH_MAX,
		    fname);
		if (n > 0) {
			if (n >= QF_WIRE_PATH_MAX) {
				e->flags |= QF_WIRE_F_FILENAME_TRUNC;
				count(QF_CNT_TRUNCATED);
			}
			e->filename_len = (__u16)((n - 1) & LEN_MASK);
			off += e->filename_len;
		}
	}
	emit_cwd(s, e, &off, t);
	emit_cgroup(s, e, &off, t);
	submit(s, off);
	put_scratch(s);
	return 0;
}

/* group_dead: 1 or 0 from the tracepoint, -1 where the kernel does not pass it */
static __always_inline int on_exit(struct task_struct *t, int group_dead)
{
	struct signal_struct *sig = BPF_CORE_READ(t, signal);
	struct qf_wire_event *e;
	struct scratch *s;
	int live = 0;

	/* kernel threads are not reported as processes: their forks are not either */
	if (BPF_CORE_READ(t, flags) & PF_KTHREAD)
		return 0;
	/*
	 * Only the last thread's exit ends the process. The kernel decides that
	 * once, with atomic_dec_and_test(&signal->live), and passes the answer
	 * to the tracepoint since 6.16. Reading live afterwards is the fallback:
	 * two threads exiting together can both read 0; the aggregator drops
	 * the second EXIT of one process (same pid and start time).
	 */
	if (group_dead >= 0) {
		if (group_dead == 0)
			return 0;
	} else {
		bpf_core_read(&live, sizeof(live), &sig->live.counter);
		if (live != 0)
			return 0;
	}
	s = get_scratch();
	if (s == NULL)
		return 0;
	e = begin(s, QF_WIRE_EXIT);
	fill_task(e, t);
	if (BPF_CORE_READ(sig, flags) & SIGNAL_GROUP_EXIT)
		e->exit_status = BPF_CORE_READ(sig, group_exit_code);
	else
		e->exit_status = BPF_CORE_READ(t, exit_code);
	submit(s, HDR_SIZE);
	put_scratch(s);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(qf_fork_btf, struct task_struct *parent, struct task_struct *child)
{
	return on_fork(parent, child);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(qf_exec_btf, struct task_struct *t, int old_pid, struct linux_binprm *bprm)
{
	return on_exec(t, old_pid, bprm);
}

/*
 * The exit programs take the raw context rather than BPF_PROG's named
 * arguments: the second one exists only on kernels that pass group_dead, and
 * is read only there.
 */
static __always_inline int exit_group_dead(__u64 *ctx)
{
	if (qf_exit_has_group_dead)
		return (__u8)ctx[1] != 0;
	return -1;
}

SEC("tp_btf/sched_process_exit")
int qf_exit_btf(__u64 *ctx)
{
	return on_exit((struct task_struct *)ctx[0], exit_group_dead(ctx));
}

SEC("raw_tp/sched_process_fork")
int BPF_PROG(qf_fork_raw, struct task_struct *parent, struct task_struct *child)
{
	return on_fork(parent, child);
}

SEC("raw_tp/sched_process_exec")
int BPF_PROG(qf_exec_raw, struct task_struct *t, int old_pid, struct linux_binprm *bprm)
{
	return on_exec(t, old_pid, bprm);
}

SEC("raw_tp/sched_process_exit")
int qf_exit_raw(__u64 *ctx)
{
	return on_exit((struct task_struct *)ctx[0], exit_group_dead(ctx));
}
