/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the BPF probes put on the ring buffer, shared by bpf/process.bpf.c
 * and src/bpf_backend.c. Internal: it changes with the probes, and only the
 * loader reads it. User space turns it into a struct qf_raw (src/raw.h),
 * the backend-neutral event every backend produces.
 *
 * One ring record = struct qf_wire_event, then the variable data in this
 * order: argv (argv_len), exe (exe_len), filename (filename_len), cwd
 * (cwd_len), cgroup (cgroup_len). len covers all of it.
 */
#ifndef QF_WIRE_H
#define QF_WIRE_H

#include <linux/types.h>

#define QF_WIRE_FORK		1
#define QF_WIRE_EXEC		2
#define QF_WIRE_EXIT		3

/* flags */
#define QF_WIRE_F_ARGV_TRUNC	0x0001
#define QF_WIRE_F_EXE_TRUNC	0x0002
#define QF_WIRE_F_FILENAME_TRUNC 0x0004
#define QF_WIRE_F_CWD_TRUNC	0x0008
#define QF_WIRE_F_CGROUP_TRUNC	0x0010
#define QF_WIRE_F_ARGV_FAULT	0x0020	/* argv pages not readable */
#define QF_WIRE_F_HAS_EXE	0x0040	/* exe path and exe_* fields filled */
#define QF_WIRE_F_HAS_CWD	0x0080
#define QF_WIRE_F_HAS_ARGV	0x0100
#define QF_WIRE_F_MEMFD		0x0200
#define QF_WIRE_F_HAS_NS	0x0400
#define QF_WIRE_F_HAS_CGROUP	0x0800

/* data limits the probes enforce */
#define QF_WIRE_ARGV_MAX	65536
#define QF_WIRE_PATH_MAX	4096
#define QF_WIRE_PATH_DEPTH	96
#define QF_WIRE_CGROUP_DEPTH	32

/* counters map indexes */
#define QF_CNT_RING_LOST	0
#define QF_CNT_TRUNCATED	1
#define QF_CNT_ARGV_FAULT	2
#define QF_CNT_MAX		4

struct qf_wire_event {
	__u32 len;
	__u16 kind;
	__u16 flags;
	__u64 time_ns;

	__u32 pid;
	__u32 tid;
	__u32 ppid;
	__u32 vpid;
	__u32 pgid;
	__u32 sid;
	__u32 uid;
	__u32 gid;
	__u32 euid;
	__u32 egid;
	__u32 suid;
	__u32 sgid;
	__u32 fsuid;
	__u32 fsgid;
	__u32 tty_major;
	__u32 tty_minor;

	__u64 start_ns;
	__u64 cap_effective;
	__u64 cap_permitted;
	__u64 cap_inheritable;
	__u64 cap_bounding;
	__u64 cap_ambient;
	__u64 pidns_init_start_ns;

	__u32 ns_pid;
	__u32 ns_mnt;
	__u32 ns_net;
	__u32 ns_uts;
	__u32 ns_ipc;
	__u32 ns_user;
	__u32 ns_cgroup;
	__u32 exit_status;
	__u32 old_pid;
	__u32 per_clear;

	__u64 exe_ino;
	__u64 exe_size;
	__s64 exe_ctime_ns;
	__s64 exe_mtime_ns;
	__u32 exe_dev;		/* kernel dev_t: major << 20 | minor */
	__u32 exe_mode;
	__u32 exe_uid;
	__u32 exe_gid;
	__u32 exe_nlink;
	__s32 argc;		/* -1 unknown */
	__u32 argv_len;
	__u32 argv_orig_len;
	__u16 exe_len;
	__u16 filename_len;
	__u16 cwd_len;
	__u16 cgroup_len;
	char comm[16];
};

#endif /* QF_WIRE_H */
