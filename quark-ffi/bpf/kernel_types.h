/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The few kernel types the probes read, declared by hand instead of a
 * generated vmlinux.h. Only the members we touch are listed: with
 * preserve_access_index every access is relocated by libbpf against the
 * running kernel's BTF, so order, padding and other members do not matter.
 * Members that moved or were renamed across kernels have "___flavor"
 * twins, probed with bpf_core_field_exists().
 */
#ifndef QF_KERNEL_TYPES_H
#define QF_KERNEL_TYPES_H

#include <linux/types.h>

typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef __s32 s32;
typedef __s64 s64;
typedef __u32 dev_t_k;

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

typedef struct { int counter; } atomic_t_k;
typedef struct { __u32 val; } kuid_t_k;
typedef struct { __u32 val; } kgid_t_k;
/* kernel_cap_t is one u64 since 6.3 and u32[2] before: 8 bytes either way. */
typedef struct { __u64 val; } kernel_cap_t_k;

struct timespec64 {
	s64 tv_sec;
	long tv_nsec;
};

struct ns_common {
	unsigned int inum;
};

struct user_namespace { struct ns_common ns; };
struct uts_namespace { struct ns_common ns; };
struct ipc_namespace { struct ns_common ns; };
struct mnt_namespace { struct ns_common ns; };
struct net { struct ns_common ns; };
struct cgroup_namespace { struct ns_common ns; };

struct task_struct;

struct pid_namespace {
	struct task_struct *child_reaper;
	unsigned int level;
	struct ns_common ns;
};

struct upid {
	int nr;
	struct pid_namespace *ns;
};

struct pid {
	unsigned int level;
	struct upid numbers[1];
};

struct nsproxy {
	struct uts_namespace *uts_ns;
	struct ipc_namespace *ipc_ns;
	struct mnt_namespace *mnt_ns;
	struct pid_namespace *pid_ns_for_children;
	struct net *net_ns;
	struct cgroup_namespace *cgroup_ns;
};

struct cred {
	kuid_t_k uid;
	kgid_t_k gid;
	kuid_t_k suid;
	kgid_t_k sgid;
	kuid_t_k euid;
	kgid_t_k egid;
	kuid_t_k fsuid;
	kgid_t_k fsgid;
	kernel_cap_t_k cap_inheritable;
	kernel_cap_t_k cap_permitted;
	kernel_cap_t_k cap_effective;
	kernel_cap_t_k cap_bset;
	kernel_cap_t_k cap_ambient;
	struct user_namespace *user_ns;
};

struct super_block {
	dev_t_k s_dev;
};

struct inode {
	unsigned short i_mode;
	kuid_t_k i_uid;
	kgid_t_k i_gid;
	unsigned int i_nlink;
	unsigned long i_ino;
	long long i_size;
	struct super_block *i_sb;
	/* 6.11 and later */
	s64 i_mtime_sec;
	s64 i_ctime_sec;
	u32 i_mtime_nsec;
	u32 i_ctime_nsec;
};

/* 6.6 - 6.10: ctime hidden as __i_ctime; 6.7 - 6.10: mtime as __i_mtime */
struct inode___v67 {
	struct timespec64 __i_ctime;
	struct timespec64 __i_mtime;
	struct timespec64 i_mtime;
};

/* up to 6.5 */
struct inode___old {
	struct timespec64 i_ctime;
	struct timespec64 i_mtime;
};

struct qstr {
	u32 len;
	const unsigned char *name;
};

struct dentry {
	struct dentry *d_parent;
	struct qstr d_name;
	struct inode *d_inode;
};

struct vfsmount {
	struct dentry *mnt_root;
};

struct mount {
	struct mount *mnt_parent;
	struct dentry *mnt_mountpoint;
	struct vfsmount mnt;
};

struct path {
	struct vfsmount *mnt;
	struct dentry *dentry;
};

struct file {
	struct path f_path;
	struct inode *f_inode;
};

struct fs_struct {
	struct path root;
	struct path pwd;
};

struct mm_struct {
	unsigned long arg_start;
	unsigned long arg_end;
	struct file *exe_file;
};

struct kernfs_node {
	struct kernfs_node *__parent;	/* 6.15 and later */
	const char *name;
};

struct kernfs_node___old {
	struct kernfs_node *parent;
};

struct cgroup {
	struct kernfs_node *kn;
};

struct css_set {
	struct cgroup *dfl_cgrp;
};

struct tty_driver {
	int major;
	int minor_start;
};

struct tty_struct {
	struct tty_driver *driver;
	int index;
};

struct signal_struct {
	atomic_t_k live;
	int group_exit_code;
	unsigned int flags;
	struct pid *pids[4];
	struct tty_struct *tty;
};

struct task_struct {
	unsigned int flags;
	struct mm_struct *mm;
	int exit_code;
	int pid;
	int tgid;
	struct task_struct *real_parent;
	struct task_struct *group_leader;
	struct pid *thread_pid;
	u64 start_boottime;
	const struct cred *real_cred;
	const struct cred *cred;
	char comm[16];
	struct fs_struct *fs;
	struct nsproxy *nsproxy;
	struct signal_struct *signal;
	struct css_set *cgroups;
};

struct linux_binprm {
	struct file *file;
	unsigned int per_clear;
	int argc;
	const char *filename;
};

#pragma clang attribute pop

enum pid_type {
	PIDTYPE_PID,
	PIDTYPE_TGID,
	PIDTYPE_PGID,
	PIDTYPE_SID,
	PIDTYPE_MAX,
};

#define SIGNAL_GROUP_EXIT	0x00000004
#define PF_KTHREAD		0x00200000

#endif /* QF_KERNEL_TYPES_H */
