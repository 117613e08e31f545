// SPDX-License-Identifier: Apache-2.0
/*
 * Fetch arguments are chains of dereferences from a register holding a
 * function argument: "+8(+1864(%di)):u32" reads the u32 at 8 bytes into the
 * struct whose pointer sits 1864 bytes into *%di. Every offset comes from
 * the running kernel's BTF. The kernel caps one argument at 63 characters,
 * so path walks (one d_parent hop per level) get as many levels as fit.
 *
 * On x86 (and arm64) a plain dereference of a user address reads user
 * memory (CONFIG_ARCH_HAS_NON_OVERLAPPING_ADDRESS_SPACE), which is how the
 * argv chunks and the stack's argc are read: "+u" dereferences cannot be
 * used with arrays.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kprobe_defs.h"

#if defined(__x86_64__)
#define REG1	"%di"
#define REG2	"%si"
#elif defined(__aarch64__)
#define REG1	"%x0"
#define REG2	"%x1"
#else
#define REG1	NULL
#define REG2	NULL
#endif

#define STR_WORST	(4 + 256)	/* a d_name or kernfs name: data_loc + NAME_MAX + NUL */

/* Offsets into kernel structures, from BTF. */
struct kp_off {
	long t_pid, t_tgid, t_real_parent, t_group_leader, t_start, t_flags, t_real_cred,
	    t_signal, t_nsproxy, t_thread_pid, t_comm, t_mm, t_fs, t_cgroups, t_exit_code;
	long c_uid, c_gid, c_suid, c_sgid, c_euid, c_egid, c_fsuid, c_fsgid,
	    c_cap_inh, c_cap_prm, c_cap_eff, c_cap_bnd, c_cap_amb, c_user_ns;
	long userns_inum, utsns_inum, ipcns_inum, mntns_inum, netns_inum, cgns_inum, pidns_inum,
	    pidns_reaper;
	long nsp_uts, nsp_ipc, nsp_mnt, nsp_net, nsp_cgroup;
	long sig_pids, sig_tty, sig_flags, sig_group_exit_code;
	long pid_level, pid_numbers, upid_nr, upid_ns, upid_size;
	long tty_driver, tty_index, drv_major, drv_minor_start;
	long mm_exe_file, mm_arg_start, mm_arg_end, mm_start_stack;
	long f_inode, f_path_dentry, f_path_mnt;
	long i_ino, i_size, i_mode, i_uid, i_gid, i_nlink, i_sb, i_ct_s, i_ct_ns, i_mt_s, i_mt_ns;
	long sb_dev;
	long fs_root_dentry, fs_root_mnt, fs_pwd_dentry, fs_pwd_mnt;
	long d_parent, d_name_name;
	long vfs_mnt_root;
	long mnt_mnt, mnt_parent, mnt_mountpoint;
	long css_dfl_cgrp, cgrp_kn, kn_parent, kn_name;
	long bprm_per_clear, bprm_argc, bprm_file;
	long pidtype_pgid, pidtype_sid;
};

long
kp_defs_mount_mnt_off(const struct kp_off *o)
{
	return o != NULL ? o->mnt_mnt : -1;
}

void
kp_defs_free(struct kp_off *o)
{
	free(o);
}

struct lookup {
	long *dst;
	const char *path[3];	/* alternatives, first found wins */
};

static int
load_offsets(struct kp_off *o, struct kp_btf *b, char *err, size_t errlen)
{
	const struct lookup tab[] = {
		{ &o->t_pid, { "task_struct.pid" } },
		{ &o->t_tgid, { "task_struct.tgid" } },
		{ &o->t_real_parent, { "task_struct.real_parent" } },
		{ &o->t_group_leader, { "task_struct.group_leader" } },
		{ &o->t_start, { "task_struct.start_boottime", "task_struct.real_start_time" } },
		{ &o->t_flags, { "task_struct.flags" } },
		{ &o->t_real_cred, { "task_struct.real_cred" } },
		{ &o->t_signal, { "task_struct.signal" } },
		{ &o->t_nsproxy, { "task_struct.nsproxy" } },
		{ &o->t_thread_pid, { "task_struct.thread_pid" } },
		{ &o->t_comm, { "task_struct.comm" } },
		{ &o->t_mm, { "task_struct.mm" } },
		{ &o->t_fs, { "task_struct.fs" } },
		{ &o->t_cgroups, { "task_struct.cgroups" } },
		{ &o->t_exit_code, { "task_struct.exit_code" } },
		{ &o->c_uid, { "cred.uid" } },
		{ &o->c_gid, { "cred.gid" } },
		{ &o->c_suid, { "cred.suid" } },
		{ &o->c_sgid, { "cred.sgid" } },
		{ &o->c_euid, { "cred.euid" } },
		{ &o->c_egid, { "cred.egid" } },
		{ &o->c_fsuid, { "cred.fsuid" } },
		{ &o->c_fsgid, { "cred.fsgid" } },
		{ &o->c_cap_inh, { "cred.cap_inheritable" } },
		{ &o->c_cap_prm, { "cred.cap_permitted" } },
		{ &o->c_cap_eff, { "cred.cap_effective" } },
		{ &o->c_cap_bnd, { "cred.cap_bset" } },
		{ &o->c_cap_amb, { "cred.cap_ambient" } },
		{ &o->c_user_ns, { "cred.user_ns" } },
		{ &o->userns_inum, { "user_namespace.ns.inum" } },
		{ &o->utsns_inum, { "uts_namespace.ns.inum" } },
		{ &o->ipcns_inum, { "ipc_namespace.ns.inum" } },
		{ &o->mntns_inum, { "mnt_namespace.ns.inum" } },
		{ &o->netns_inum, { "net.ns.inum" } },
		{ &o->cgns_inum, { "cgroup_namespace.ns.inum" } },
		{ &o->pidns_inum, { "pid_namespace.ns.inum" } },
		{ &o->pidns_reaper, { "pid_namespace.child_reaper" } },
		{ &o->nsp_uts, { "nsproxy.uts_ns" } },
		{ &o->nsp_ipc, { "nsproxy.ipc_ns" } },
		{ &o->nsp_mnt, { "nsproxy.mnt_ns" } },
		{ &o->nsp_net, { "nsproxy.net_ns" } },
		{ &o->nsp_cgroup, { "nsproxy.cgroup_ns" } },
		{ &o->sig_pids, { "signal_struct.pids" } },
		{ &o->sig_tty, { "signal_struct.tty" } },
		{ &o->sig_flags, { "signal_struct.flags" } },
		{ &o->sig_group_exit_code, { "signal_struct.group_exit_code" } },
		{ &o->pid_level, { "pid.level" } },
		{ &o->pid_numbers, { "pid.numbers" } },
		{ &o->upid_nr, { "upid.nr" } },
		{ &o->upid_ns, { "upid.ns" } },
		{ &o->tty_driver, { "tty_struct.driver" } },
		{ &o->tty_index, { "tty_struct.index" } },
		{ &o->drv_major, { "tty_driver.major" } },
		{ &o->drv_minor_start, { "tty_driver.minor_start" } },
		{ &o->mm_exe_file, { "mm_struct.exe_file" } },
		{ &o->mm_arg_start, { "mm_struct.arg_start" } },
		{ &o->mm_arg_end, { "mm_struct.arg_end" } },
		{ &o->mm_start_stack, { "mm_struct.start_stack" } },
		{ &o->f_inode, { "file.f_inode" } },
		{ &o->f_path_dentry, { "file.f_path.dentry" } },
		{ &o->f_path_mnt, { "file.f_path.mnt" } },
		{ &o->i_ino, { "inode.i_ino" } },
		{ &o->i_size, { "inode.i_size" } },
		{ &o->i_mode, { "inode.i_mode" } },
		{ &o->i_uid, { "inode.i_uid" } },
		{ &o->i_gid, { "inode.i_gid" } },
		{ &o->i_nlink, { "inode.i_nlink", "inode.__i_nlink" } },
		{ &o->i_sb, { "inode.i_sb" } },
		/* 6.11+: split seconds/nanoseconds; 6.6-6.10: __i_ctime; before: i_ctime */
		{ &o->i_ct_s, { "inode.i_ctime_sec", "inode.__i_ctime.tv_sec", "inode.i_ctime.tv_sec" } },
		{ &o->i_ct_ns, { "inode.i_ctime_nsec", "inode.__i_ctime.tv_nsec", "inode.i_ctime.tv_nsec" } },
		{ &o->i_mt_s, { "inode.i_mtime_sec", "inode.__i_mtime.tv_sec", "inode.i_mtime.tv_sec" } },
		{ &o->i_mt_ns, { "inode.i_mtime_nsec", "inode.__i_mtime.tv_nsec", "inode.i_mtime.tv_nsec" } },
		{ &o->sb_dev, { "super_block.s_dev" } },
		{ &o->fs_root_dentry, { "fs_struct.root.dentry" } },
		{ &o->fs_root_mnt, { "fs_struct.root.mnt" } },
		{ &o->fs_pwd_dentry, { "fs_struct.pwd.dentry" } },
		{ &o->fs_pwd_mnt, { "fs_struct.pwd.mnt" } },
		{ &o->d_parent, { "dentry.d_parent" } },
		{ &o->d_name_name, { "dentry.d_name.name" } },
		{ &o->vfs_mnt_root, { "vfsmount.mnt_root" } },
		{ &o->mnt_mnt, { "mount.mnt" } },
		{ &o->mnt_parent, { "mount.mnt_parent" } },
		{ &o->mnt_mountpoint, { "mount.mnt_mountpoint" } },
		{ &o->css_dfl_cgrp, { "css_set.dfl_cgrp" } },
		{ &o->cgrp_kn, { "cgroup.kn" } },
		/* renamed __parent in 6.15 */
		{ &o->kn_parent, { "kernfs_node.__parent", "kernfs_node.parent" } },
		{ &o->kn_name, { "kernfs_node.name" } },
		{ &o->bprm_per_clear, { "linux_binprm.per_clear" } },
		{ &o->bprm_argc, { "linux_binprm.argc" } },
		{ &o->bprm_file, { "linux_binprm.file" } },
	};
	size_t i, j;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		*tab[i].dst = -1;
		for (j = 0; j < 3 && tab[i].path[j] != NULL && *tab[i].dst < 0; j++)
			*tab[i].dst = kp_btf_off(b, tab[i].path[j]);
		if (*tab[i].dst < 0) {
			snprintf(err, errlen, "BTF of this kernel has no %s", tab[i].path[0]);
			return -ENOENT;
		}
	}
	o->upid_size = kp_btf_size(b, "upid");
	o->pidtype_pgid = kp_btf_enum(b, "pid_type", "PIDTYPE_PGID");
	o->pidtype_sid = kp_btf_enum(b, "pid_type", "PIDTYPE_SID");
	if (o->upid_size <= 0 || o->pidtype_pgid < 0 || o->pidtype_sid < 0) {
		snprintf(err, errlen, "BTF of this kernel has no struct upid or enum pid_type");
		return -ENOENT;
	}
	return 0;
}

/* ---- building fetch arguments --------------------------------------- */

/*
 * The deepest dereference chain one fetch argument may have. The kernel's
 * limit changed (7.x refuses chains 6.x took: "Too many nested
 * typecasts/dereferences"), so the backend measures it at open.
 */
static int max_deref = KP_MAX_DEREF;

void
kp_defs_set_max_deref(int n)
{
	max_deref = n < 1 ? 1 : n > KP_MAX_DEREF ? KP_MAX_DEREF : n;
}

int
kp_defs_deref_line(int n, const char *group, const char *event, char *out, size_t outlen)
{
	size_t pos;
	int i, w;

	if (REG1 == NULL)
		return -ENOTSUP;
	w = snprintf(out, outlen, "p:%s/%s wake_up_new_task a0=", group, event);
	if (w < 0 || (size_t)w >= outlen)
		return -E2BIG;
	pos = (size_t)w;
	for (i = 0; i < n && pos + 4 < outlen; i++)
		pos += (size_t)snprintf(out + pos, outlen - pos, "+0(");
	w = snprintf(out + pos, outlen - pos, "%s", REG1);
	pos += (size_t)(w > 0 ? w : 0);
	for (i = 0; i < n && pos + 1 < outlen; i++)
		out[pos++] = ')';
	w = snprintf(out + pos, outlen - pos, ":string");
	return w < 0 || (size_t)w >= outlen - pos ? -E2BIG : 0;
}

/* A value: a register, then dereferences (value = *(prev + off[i])). */
struct kx {
	const char *reg;
	int n;
	long off[KP_MAX_DEREF];
};

static struct kx
reg(const char *r)
{
	struct kx e;

	memset(&e, 0, sizeof(e));
	e.reg = r;
	return e;
}

/* The value stored `off` bytes into what e points to. */
static struct kx
D(struct kx e, long off)
{
	if (e.n < KP_MAX_DEREF)
		e.off[e.n] = off;
	e.n++;	/* past the maximum, render() refuses it */
	return e;
}

/* "+o_n(...+o_1(%reg)...)" */
static int
render(const struct kx *e, const char *type, char *out, size_t outlen)
{
	char buf[256];
	size_t pos = 0;
	int i, w;

	if (e->n > max_deref)
		return -E2BIG;
	for (i = e->n - 1; i >= 0; i--) {
		w = snprintf(buf + pos, sizeof(buf) - pos, "%+ld(", e->off[i]);
		if (w < 0 || (size_t)w >= sizeof(buf) - pos)
			return -E2BIG;
		pos += (size_t)w;
	}
	w = snprintf(buf + pos, sizeof(buf) - pos, "%s", e->reg);
	pos += (size_t)w;
	for (i = 0; i < e->n && pos < sizeof(buf) - 1; i++)
		buf[pos++] = ')';
	buf[pos] = 0;
	w = snprintf(out, outlen, "%s:%s", buf, type);
	if (w < 0 || (size_t)w >= outlen || w > KP_ARG_MAX_LEN)
		return -E2BIG;
	return 0;
}

static size_t
kind_size(int kind)
{
	switch (kind) {
	case KA_U16: return 2;
	case KA_U32: return 4;
	case KA_U64: return 8;
	case KA_STR: return STR_WORST;
	case KA_CHUNK: return KP_ARGV_CHUNK;
	}
	return 0;
}

static const char *
kind_type(int kind)
{
	switch (kind) {
	case KA_U16: return "u16";
	case KA_U32: return "u32";
	case KA_U64: return "u64";
	case KA_STR: return "string";
	case KA_CHUNK: return "u64[64]";
	}
	return "u64";
}

/*
 * Adds the fetch of value e as `kind` (for KA_STR/KA_CHUNK: the bytes at
 * the address e's last dereference would read). -E2BIG when it does not fit.
 */
static int
add(struct kp_part *p, int role, int m, int k, int kind, struct kx e)
{
	struct kp_arg *a;
	int r;

	if (p->nargs == KP_MAX_ARGS)
		return -E2BIG;
	a = &p->args[p->nargs];
	memset(a, 0, sizeof(*a));
	if (e.n == 0 && (kind == KA_STR || kind == KA_CHUNK))
		return -EINVAL;
	r = render(&e, kind_type(kind), a->body, sizeof(a->body));
	if (r != 0)
		return r;
	a->role = (uint16_t)role;
	a->m = (uint8_t)m;
	a->k = (uint8_t)k;
	a->kind = (uint8_t)kind;
	snprintf(a->name, sizeof(a->name), "a%d", p->nargs);
	p->worst += kind_size(kind);
	p->nargs++;
	return 0;
}

/* Like add(), for arguments that must fit: a failure is the builder's bug. */
#define MUST(call) do { int r_ = (call); if (r_ != 0) return r_; } while (0)

static struct kx
hops(struct kx e, long off, int n)
{
	while (n-- > 0)
		e = D(e, off);
	return e;
}

/* The pointer chain of one walk: level k is dentry d after k d_parent hops. */
static int
add_chain(struct kp_part *p, const struct kp_off *o, int m, struct kx d, int *names)
{
	int k, n = 0;

	for (k = 0; k < KP_LEVELS; k++) {
		struct kx dk = hops(d, o->d_parent, k);

		if (add(p, R_PATH_NAME, m, k, KA_STR, D(D(dk, o->d_name_name), 0)) != 0)
			break;
		n++;
	}
	/* pointers for levels 0..n: level n tells whether level n-1 was the top */
	for (k = 0; k <= n; k++)
		MUST(add(p, R_PATH_PTR, m, k, KA_U64, hops(d, o->d_parent, k)));
	*names = n;
	return 0;
}

/*
 * A path as d_path() builds it from (dentry d, vfsmount v): the dentry
 * chain in v, then the chains of the mountpoints in the parent mounts, up
 * to KP_MOUNTS mounts.
 */
static int
add_path(struct kp_part *p, const struct kp_off *o, struct kx d, struct kx v)
{
	long mp = o->mnt_mountpoint - o->mnt_mnt, par = o->mnt_parent - o->mnt_mnt;
	struct kx pm, pm2;
	int names;

	MUST(add(p, R_PATH_MNT, 0, 0, KA_U64, v));
	/* mount 0: the path's own */
	MUST(add(p, R_PATH_MROOT, 0, 0, KA_U64, D(v, o->vfs_mnt_root)));
	MUST(add(p, R_PATH_PMNT, 0, 0, KA_U64, D(v, par)));
	MUST(add_chain(p, o, 0, d, &names));
	if (names == 0)
		return -E2BIG;
	/* mount 1: the one v is mounted on; the walk continues at v's mountpoint */
	pm = D(v, par);
	MUST(add(p, R_PATH_MROOT, 1, 0, KA_U64, D(pm, o->mnt_mnt + o->vfs_mnt_root)));
	MUST(add(p, R_PATH_PMNT, 1, 0, KA_U64, D(pm, o->mnt_parent)));
	MUST(add_chain(p, o, 1, D(v, mp), &names));
	if (names == 0)
		return 0;
	/* mount 2 */
	pm2 = D(pm, o->mnt_parent);
	if (add(p, R_PATH_MROOT, 2, 0, KA_U64, D(pm2, o->mnt_mnt + o->vfs_mnt_root)) != 0 ||
	    add(p, R_PATH_PMNT, 2, 0, KA_U64, D(pm2, o->mnt_parent)) != 0)
		return 0;
	return add_chain(p, o, 2, D(pm, o->mnt_mountpoint), &names);
}

enum { T_CGROUP = 0x1, T_EXE = 0x2, T_ROOT = 0x4, T_EXIT = 0x8 };

/* The task_struct fields every task part carries, t being the task. */
static int
add_task(struct kp_part *p, const struct kp_off *o, struct kx t, int what)
{
	struct kx cred = D(t, o->t_real_cred), sig = D(t, o->t_signal);
	struct kx tty = D(sig, o->sig_tty), nsp = D(t, o->t_nsproxy), tp = D(t, o->t_thread_pid);
	struct kx mm = D(t, o->t_mm), exe = D(mm, o->mm_exe_file), ino = D(exe, o->f_inode);
	long pids = o->sig_pids, nr0 = o->pid_numbers + o->upid_nr;
	int k;

	MUST(add(p, R_PID, 0, 0, KA_U32, D(t, o->t_tgid)));
	MUST(add(p, R_TID, 0, 0, KA_U32, D(t, o->t_pid)));
	MUST(add(p, R_PPID, 0, 0, KA_U32, D(D(t, o->t_real_parent), o->t_tgid)));
	MUST(add(p, R_START, 0, 0, KA_U64, D(D(t, o->t_group_leader), o->t_start)));
	MUST(add(p, R_FLAGS, 0, 0, KA_U32, D(t, o->t_flags)));
	MUST(add(p, R_UID, 0, 0, KA_U32, D(cred, o->c_uid)));
	MUST(add(p, R_GID, 0, 0, KA_U32, D(cred, o->c_gid)));
	MUST(add(p, R_SUID, 0, 0, KA_U32, D(cred, o->c_suid)));
	MUST(add(p, R_SGID, 0, 0, KA_U32, D(cred, o->c_sgid)));
	MUST(add(p, R_EUID, 0, 0, KA_U32, D(cred, o->c_euid)));
	MUST(add(p, R_EGID, 0, 0, KA_U32, D(cred, o->c_egid)));
	MUST(add(p, R_FSUID, 0, 0, KA_U32, D(cred, o->c_fsuid)));
	MUST(add(p, R_FSGID, 0, 0, KA_U32, D(cred, o->c_fsgid)));
	/* kernel_cap_t is 8 bytes: u32[2] before 6.3, one u64 since */
	MUST(add(p, R_CAP_INH, 0, 0, KA_U64, D(cred, o->c_cap_inh)));
	MUST(add(p, R_CAP_PRM, 0, 0, KA_U64, D(cred, o->c_cap_prm)));
	MUST(add(p, R_CAP_EFF, 0, 0, KA_U64, D(cred, o->c_cap_eff)));
	MUST(add(p, R_CAP_BND, 0, 0, KA_U64, D(cred, o->c_cap_bnd)));
	MUST(add(p, R_CAP_AMB, 0, 0, KA_U64, D(cred, o->c_cap_amb)));
	MUST(add(p, R_NS_USER, 0, 0, KA_U32, D(D(cred, o->c_user_ns), o->userns_inum)));
	MUST(add(p, R_PGID, 0, 0, KA_U32, D(D(sig, pids + 8 * o->pidtype_pgid), nr0)));
	MUST(add(p, R_SID, 0, 0, KA_U32, D(D(sig, pids + 8 * o->pidtype_sid), nr0)));
	MUST(add(p, R_TTY, 0, 0, KA_U64, tty));
	MUST(add(p, R_TTY_MAJOR, 0, 0, KA_U32, D(D(tty, o->tty_driver), o->drv_major)));
	MUST(add(p, R_TTY_MINSTART, 0, 0, KA_U32, D(D(tty, o->tty_driver), o->drv_minor_start)));
	MUST(add(p, R_TTY_INDEX, 0, 0, KA_U32, D(tty, o->tty_index)));
	MUST(add(p, R_NSPROXY, 0, 0, KA_U64, nsp));
	MUST(add(p, R_NS_MNT, 0, 0, KA_U32, D(D(nsp, o->nsp_mnt), o->mntns_inum)));
	MUST(add(p, R_NS_NET, 0, 0, KA_U32, D(D(nsp, o->nsp_net), o->netns_inum)));
	MUST(add(p, R_NS_UTS, 0, 0, KA_U32, D(D(nsp, o->nsp_uts), o->utsns_inum)));
	MUST(add(p, R_NS_IPC, 0, 0, KA_U32, D(D(nsp, o->nsp_ipc), o->ipcns_inum)));
	MUST(add(p, R_NS_CGROUP, 0, 0, KA_U32, D(D(nsp, o->nsp_cgroup), o->cgns_inum)));
	/*
	 * A fetch argument cannot index by pid->level: read the first
	 * KP_PID_LEVELS upids and pick the right one in user space.
	 */
	MUST(add(p, R_PID_LEVEL, 0, 0, KA_U32, D(tp, o->pid_level)));
	for (k = 0; k < KP_PID_LEVELS; k++) {
		long u = o->pid_numbers + k * o->upid_size;
		struct kx ns = D(tp, u + o->upid_ns);

		MUST(add(p, R_LVL_NR + k, 0, 0, KA_U32, D(tp, u + o->upid_nr)));
		MUST(add(p, R_LVL_NS + k, 0, 0, KA_U32, D(ns, o->pidns_inum)));
		MUST(add(p, R_LVL_INIT + k, 0, 0, KA_U64,
		    D(D(D(ns, o->pidns_reaper), o->t_group_leader), o->t_start)));
	}
	MUST(add(p, R_COMM, 0, 0, KA_STR, D(t, o->t_comm)));
	MUST(add(p, R_MM, 0, 0, KA_U64, mm));
	if (what & T_EXE) {
		MUST(add(p, R_EXE_FILE, 0, 0, KA_U64, exe));
		MUST(add(p, R_EXE_INO, 0, 0, KA_U64, D(ino, o->i_ino)));
		MUST(add(p, R_EXE_SIZE, 0, 0, KA_U64, D(ino, o->i_size)));
		MUST(add(p, R_EXE_MODE, 0, 0, KA_U16, D(ino, o->i_mode)));
		MUST(add(p, R_EXE_UID, 0, 0, KA_U32, D(ino, o->i_uid)));
		MUST(add(p, R_EXE_GID, 0, 0, KA_U32, D(ino, o->i_gid)));
		MUST(add(p, R_EXE_NLINK, 0, 0, KA_U32, D(ino, o->i_nlink)));
		MUST(add(p, R_EXE_DEV, 0, 0, KA_U32, D(D(ino, o->i_sb), o->sb_dev)));
		MUST(add(p, R_EXE_CT_S, 0, 0, KA_U64, D(ino, o->i_ct_s)));
		MUST(add(p, R_EXE_CT_NS, 0, 0, KA_U32, D(ino, o->i_ct_ns)));
		MUST(add(p, R_EXE_MT_S, 0, 0, KA_U64, D(ino, o->i_mt_s)));
		MUST(add(p, R_EXE_MT_NS, 0, 0, KA_U32, D(ino, o->i_mt_ns)));
		/* memfd_create() names the file "memfd:NAME" */
		MUST(add(p, R_EXE_NAME, 0, 0, KA_STR,
		    D(D(D(exe, o->f_path_dentry), o->d_name_name), 0)));
	}
	if (what & T_ROOT) {
		MUST(add(p, R_ROOT_D, 0, 0, KA_U64, D(D(t, o->t_fs), o->fs_root_dentry)));
		MUST(add(p, R_ROOT_M, 0, 0, KA_U64, D(D(t, o->t_fs), o->fs_root_mnt)));
	}
	if (what & T_CGROUP) {
		struct kx kn = D(D(D(t, o->t_cgroups), o->css_dfl_cgrp), o->cgrp_kn);
		int n = 0;

		for (k = 0; k < KP_CG_LEVELS; k++) {
			if (add(p, R_CG_NAME, 0, k, KA_STR,
			    D(D(hops(kn, o->kn_parent, k), o->kn_name), 0)) != 0)
				break;
			n++;
		}
		for (k = 0; k <= n; k++)
			MUST(add(p, R_CG_PTR, 0, k, KA_U64, hops(kn, o->kn_parent, k)));
	}
	if (what & T_EXIT) {
		MUST(add(p, R_EXIT_CODE, 0, 0, KA_U32, D(t, o->t_exit_code)));
		MUST(add(p, R_SIG_FLAGS, 0, 0, KA_U32, D(sig, o->sig_flags)));
		MUST(add(p, R_GROUP_EXIT, 0, 0, KA_U32, D(sig, o->sig_group_exit_code)));
		MUST(add(p, R_GROUP_DEAD, 0, 0, KA_U32, reg(REG2)));
	}
	return 0;
}

static int
add_cwd(struct kp_part *p, const struct kp_off *o, struct kx t)
{
	struct kx fs = D(t, o->t_fs);

	MUST(add(p, R_PID, 0, 0, KA_U32, D(t, o->t_tgid)));
	MUST(add(p, R_TID, 0, 0, KA_U32, D(t, o->t_pid)));
	MUST(add(p, R_ROOT_D, 0, 0, KA_U64, D(fs, o->fs_root_dentry)));
	MUST(add(p, R_ROOT_M, 0, 0, KA_U64, D(fs, o->fs_root_mnt)));
	return add_path(p, o, D(fs, o->fs_pwd_dentry), D(fs, o->fs_pwd_mnt));
}

static int
add_argv(struct kp_part *p, const struct kp_off *o, struct kx t)
{
	struct kx mm = D(t, o->t_mm), start = D(mm, o->mm_arg_start);
	int k;

	MUST(add(p, R_PID, 0, 0, KA_U32, D(t, o->t_tgid)));
	MUST(add(p, R_TID, 0, 0, KA_U32, D(t, o->t_pid)));
	MUST(add(p, R_ARG_START, 0, 0, KA_U64, start));
	MUST(add(p, R_ARG_END, 0, 0, KA_U64, D(mm, o->mm_arg_end)));
	/* the new stack starts with argc (user memory) */
	MUST(add(p, R_STACK_ARGC, 0, 0, KA_U64, D(D(mm, o->mm_start_stack), 0)));
	for (k = 0; k < KP_ARGV_CHUNKS; k++)
		MUST(add(p, R_ARGV, 0, k, KA_CHUNK, D(start, (long)k * KP_ARGV_CHUNK)));
	return 0;
}

/* The executable's path, `file` being a struct file * value. */
static int
add_exe_file(struct kp_part *p, const struct kp_off *o, struct kx file, struct kx mm)
{
	MUST(add(p, R_FILE, 0, 0, KA_U64, file));
	if (mm.reg != NULL)
		MUST(add(p, R_X_MM, 0, 0, KA_U64, mm));
	return add_path(p, o, D(file, o->f_path_dentry), D(file, o->f_path_mnt));
}

static void
init_part(struct kp_part *p, const char *suffix, const char *target, int is_tp, int optional,
    int slot)
{
	memset(p, 0, sizeof(*p));
	p->suffix = suffix;
	p->target = target;
	p->is_tp = is_tp;
	p->optional = optional;
	p->path_slot = slot;
	p->id = -1;
	/* the trace_entry header and the probe's ip */
	p->worst = 16;
}

static void
tp_arg(struct kp_part *p, int role, int kind, const char *field)
{
	struct kp_arg *a = &p->args[p->nargs++];

	memset(a, 0, sizeof(*a));
	a->role = (uint16_t)role;
	a->kind = (uint8_t)kind;
	snprintf(a->name, sizeof(a->name), "%s", field);
}

static int
check(struct kp_part *p, int r, char *err, size_t errlen)
{
	if (r == 0 && p->worst > KP_SAMPLE_MAX)
		r = -E2BIG;
	if (r != 0)
		snprintf(err, errlen, "cannot build the %s probe for this kernel (%s): %s",
		    p->suffix, p->target,
		    r == -E2BIG ? "fetch arguments too long or too many" : strerror(-r));
	return r;
}

static int
build_exec_file(struct kp_part *p, const struct kp_off *o, int alt)
{
	if (!alt) {
		/* set_mm_exe_file(mm, file): begin_new_exec(), past the point of no return */
		init_part(p, "exec_x", "set_mm_exe_file", 0, 1, KP_SLOT_EXE);
		return add_exe_file(p, o, reg(REG2), reg(REG1));
	}
	/* security_bprm_creds_for_exec(bprm): before it; a failed exec leaves it unmatched */
	init_part(p, "exec_x", "security_bprm_creds_for_exec", 0, 1, KP_SLOT_EXE);
	return add_exe_file(p, o, D(reg(REG1), o->bprm_file), reg(NULL));
}

static int build(struct kp_part *parts, const struct kp_off *o, char *err, size_t errlen);

int
kp_defs_build(struct kp_part *parts, struct kp_btf *btf, struct kp_off **offs,
    char *err, size_t errlen)
{
	struct kp_off *o;
	int r;

	*offs = NULL;
	if (REG1 == NULL) {
		snprintf(err, errlen, "kprobe fetch arguments are only written for x86_64 and arm64");
		return -ENOTSUP;
	}
	o = calloc(1, sizeof(*o));
	if (o == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	r = load_offsets(o, btf, err, errlen);
	if (r == 0)
		r = build(parts, o, err, errlen);
	if (r != 0) {
		free(o);
		return r;
	}
	*offs = o;
	return 0;
}

static int
build(struct kp_part *parts, const struct kp_off *o, char *err, size_t errlen)
{
	struct kp_part *p;
	struct kx t = reg(REG1);
	int r;

	p = &parts[KP_FORK_TASK];
	init_part(p, "fork_t", "wake_up_new_task", 0, 0, -1);
	if ((r = check(p, add_task(p, o, t, T_CGROUP | T_EXE | T_ROOT), err, errlen)) != 0)
		return r;
	p = &parts[KP_FORK_CWD];
	init_part(p, "fork_c", "wake_up_new_task", 0, 0, KP_SLOT_CWD);
	if ((r = check(p, add_cwd(p, o, t), err, errlen)) != 0)
		return r;
	p = &parts[KP_EXEC_FILE];
	if ((r = check(p, build_exec_file(p, o, 0), err, errlen)) != 0)
		return r;
	p = &parts[KP_EXEC_BPRM];
	init_part(p, "exec_b", "security_bprm_committed_creds", 0, 1, -1);
	r = add(p, R_PER_CLEAR, 0, 0, KA_U32, D(t, o->bprm_per_clear));
	if (r == 0)
		r = add(p, R_BPRM_ARGC, 0, 0, KA_U32, D(t, o->bprm_argc));
	if ((r = check(p, r, err, errlen)) != 0)
		return r;
	p = &parts[KP_EXEC_TP];
	init_part(p, "exec_e", "sched/sched_process_exec", 1, 0, -1);
	tp_arg(p, R_TP_FILENAME, KA_STR, "filename");
	tp_arg(p, R_TP_PID, KA_U32, "pid");
	tp_arg(p, R_TP_OLD_PID, KA_U32, "old_pid");
	p = &parts[KP_EXEC_TASK];
	init_part(p, "exec_t", "proc_exec_connector", 0, 0, -1);
	if ((r = check(p, add_task(p, o, t, T_CGROUP | T_EXE | T_ROOT), err, errlen)) != 0)
		return r;
	p = &parts[KP_EXEC_CWD];
	init_part(p, "exec_c", "proc_exec_connector", 0, 0, KP_SLOT_CWD);
	if ((r = check(p, add_cwd(p, o, t), err, errlen)) != 0)
		return r;
	p = &parts[KP_EXEC_ARGV];
	init_part(p, "exec_a", "proc_exec_connector", 0, 0, -1);
	if ((r = check(p, add_argv(p, o, t), err, errlen)) != 0)
		return r;
	p = &parts[KP_EXIT_TASK];
	init_part(p, "exit_t", "taskstats_exit", 0, 0, -1);
	if ((r = check(p, add_task(p, o, t, T_EXIT), err, errlen)) != 0)
		return r;
	return 0;
}

int
kp_defs_fallback(struct kp_part *parts, enum kp_part_id id, const struct kp_off *o)
{
	char err[128];

	if (id != KP_EXEC_FILE || strcmp(parts[id].target, "set_mm_exe_file") != 0)
		return -ENOENT;
	return check(&parts[id], build_exec_file(&parts[id], o, 1), err, sizeof(err));
}

int
kp_defs_line(const struct kp_part *p, const char *group, char *out, size_t outlen)
{
	size_t pos;
	int i, w;

	w = snprintf(out, outlen, "p:%s/%s %s", group, p->event, p->target);
	if (w < 0 || (size_t)w >= outlen)
		return -E2BIG;
	pos = (size_t)w;
	for (i = 0; i < p->nargs; i++) {
		w = snprintf(out + pos, outlen - pos, " %s=%s", p->args[i].name, p->args[i].body);
		if (w < 0 || (size_t)w >= outlen - pos)
			return -E2BIG;
		pos += (size_t)w;
	}
	if (pos + 1 >= outlen || pos + 1 > KP_LINE_MAX)
		return -E2BIG;
	out[pos++] = '\n';
	out[pos] = 0;
	return 0;
}

/* ---- decoding -------------------------------------------------------- */

static uint64_t
rd(const uint8_t *raw, int off, int kind)
{
	uint16_t v16;
	uint32_t v32;
	uint64_t v64;

	switch (kind) {
	case KA_U16:
		memcpy(&v16, raw + off, 2);
		return v16;
	case KA_U32:
		memcpy(&v32, raw + off, 4);
		return v32;
	default:
		memcpy(&v64, raw + off, 8);
		return v64;
	}
}

/* A __data_loc string: u32 = offset | length << 16, the length counting the NUL. */
static int
rd_str(const uint8_t *raw, uint32_t size, int off, struct kp_str *s)
{
	uint32_t loc, o, n;

	memcpy(&loc, raw + off, 4);
	o = loc & 0xffff;
	n = loc >> 16;
	s->have = 1;
	s->p = NULL;
	s->len = 0;
	if (n == 0)
		return 0;	/* the fetch faulted */
	if (o + n > size)
		return -EINVAL;
	s->p = (const char *)raw + o;
	s->len = (uint32_t)strnlen(s->p, n);
	return 0;
}

int
kp_decode(const struct kp_part *p, enum kp_part_id id, const uint8_t *raw, uint32_t size,
    struct kp_vals *v)
{
	struct kp_pathv *pv = p->path_slot >= 0 ? &v->path[p->path_slot] : NULL;
	int i, r;

	for (i = 0; i < p->nargs; i++) {
		const struct kp_arg *a = &p->args[i];
		uint64_t x = 0;

		if (a->off < 0 || (uint32_t)(a->off + a->size) > size)
			return -EINVAL;
		if (a->kind == KA_U16 || a->kind == KA_U32 || a->kind == KA_U64)
			x = rd(raw, a->off, a->kind);
		if (a->role < R_NSCALAR) {
			v->s[a->role] = x;
			continue;
		}
		switch (a->role) {
		case R_COMM:
			r = rd_str(raw, size, a->off, &v->comm);
			break;
		case R_EXE_NAME:
			r = rd_str(raw, size, a->off, &v->exe_name);
			break;
		case R_TP_FILENAME:
			r = rd_str(raw, size, a->off, &v->filename);
			break;
		case R_CG_NAME:
			r = rd_str(raw, size, a->off, &v->cg_name[a->k]);
			if (a->k + 1 > v->ncg_name)
				v->ncg_name = a->k + 1;
			break;
		case R_CG_PTR:
			v->cg_ptr[a->k] = x;
			if (a->k + 1 > v->ncg_ptr)
				v->ncg_ptr = a->k + 1;
			r = 0;
			break;
		case R_ARGV:
			v->argv[a->k] = raw + a->off;
			if (a->k + 1 > v->nargv)
				v->nargv = a->k + 1;
			r = 0;
			break;
		default:
			if (pv == NULL)
				return -EINVAL;
			pv->have = 1;
			r = 0;
			if (a->role == R_PATH_MNT)
				pv->mnt = x;
			else if (a->role == R_PATH_MROOT)
				pv->mroot[a->m] = x;
			else if (a->role == R_PATH_PMNT)
				pv->pmnt[a->m] = x;
			else if (a->role == R_PATH_PTR) {
				pv->ch[a->m].ptr[a->k] = x;
				if (a->k + 1 > pv->ch[a->m].nptr)
					pv->ch[a->m].nptr = a->k + 1;
			} else if (a->role == R_PATH_NAME) {
				r = rd_str(raw, size, a->off, &pv->ch[a->m].name[a->k]);
				if (a->k + 1 > pv->ch[a->m].nname)
					pv->ch[a->m].nname = a->k + 1;
			}
			if (a->m + 1 > pv->nmounts)
				pv->nmounts = a->m + 1;
			break;
		}
		if (r != 0)
			return r;
	}
	v->parts |= 1u << id;
	return 0;
}
