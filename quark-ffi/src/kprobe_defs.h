/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The kprobe backend's probe definitions: which kernel functions it probes,
 * what each probe fetches (kprobe_events fetch arguments, built from BTF
 * offsets), and decoding a sample back into values.
 *
 * One process event is several samples ("parts"): a kprobe_events line is
 * limited to 4 KiB, one fetch argument to 63 characters and one perf sample
 * to 8 KiB, so the task's fields, its working directory, its executable's
 * path and its argv each get a probe of their own on the same function. The
 * backend joins the parts of one event (same pid, consecutive in time).
 */
#ifndef QF_KPROBE_DEFS_H
#define QF_KPROBE_DEFS_H

#include <stddef.h>
#include <stdint.h>

#include "kprobe_btf.h"

#define KP_MAX_ARGS		110	/* per probe; the kernel allows 128 */
#define KP_MAX_DEREF		15	/* the kernel runs at most 16 fetch instructions */
#define KP_ARG_MAX_LEN		63	/* MAX_ARGSTR_LEN, type included */
#define KP_LINE_MAX		4000	/* a kprobe_events line must stay under 4094 bytes */
#define KP_SAMPLE_MAX		8000	/* PERF_MAX_TRACE_SIZE 8192 minus headers */
#define KP_MOUNTS		3	/* mounts a path walk can cross */
#define KP_LEVELS		10	/* path components fetched per mount, at most */
#define KP_CG_LEVELS		8	/* cgroup path components */
#define KP_PID_LEVELS		4	/* pid namespace nesting levels read (0..3) */
#define KP_ARGV_CHUNK		512	/* one u64[64] fetch */
#define KP_ARGV_CHUNKS		4
#define KP_ARGV_MAX		(KP_ARGV_CHUNK * KP_ARGV_CHUNKS)

enum kp_part_id {
	KP_FORK_TASK,	/* wake_up_new_task(child): the child's task fields */
	KP_FORK_CWD,	/* wake_up_new_task(child): the child's cwd */
	KP_EXEC_FILE,	/* set_mm_exe_file(mm, file): the new executable's path */
	KP_EXEC_BPRM,	/* security_bprm_committed_creds(bprm): per_clear, argc */
	KP_EXEC_TP,	/* tracepoint sched/sched_process_exec: filename, old_pid */
	KP_EXEC_TASK,	/* proc_exec_connector(task): task fields after exec */
	KP_EXEC_CWD,	/* proc_exec_connector(task): cwd */
	KP_EXEC_ARGV,	/* proc_exec_connector(task): argv from the new stack */
	KP_EXIT_TASK,	/* taskstats_exit(task, group_dead) */
	KP_NPARTS
};

/* Scalar roles: what a fetch argument means. */
enum kp_role {
	R_PID, R_TID, R_PPID, R_START, R_FLAGS,
	R_UID, R_GID, R_SUID, R_SGID, R_EUID, R_EGID, R_FSUID, R_FSGID,
	R_CAP_INH, R_CAP_PRM, R_CAP_EFF, R_CAP_BND, R_CAP_AMB, R_NS_USER,
	R_PGID, R_SID, R_TTY, R_TTY_MAJOR, R_TTY_MINSTART, R_TTY_INDEX,
	R_NSPROXY, R_NS_MNT, R_NS_NET, R_NS_UTS, R_NS_IPC, R_NS_CGROUP,
	R_PID_LEVEL,
	R_LVL_NR, R_LVL_NR_END = R_LVL_NR + KP_PID_LEVELS - 1,
	R_LVL_NS, R_LVL_NS_END = R_LVL_NS + KP_PID_LEVELS - 1,
	R_LVL_INIT, R_LVL_INIT_END = R_LVL_INIT + KP_PID_LEVELS - 1,
	R_MM, R_EXE_FILE, R_EXE_INO, R_EXE_SIZE, R_EXE_MODE, R_EXE_UID, R_EXE_GID,
	R_EXE_NLINK, R_EXE_DEV, R_EXE_CT_S, R_EXE_CT_NS, R_EXE_MT_S, R_EXE_MT_NS,
	R_ROOT_D, R_ROOT_M,
	R_EXIT_CODE, R_SIG_FLAGS, R_GROUP_EXIT, R_GROUP_DEAD,
	R_FILE, R_X_MM,
	R_PER_CLEAR, R_BPRM_ARGC,
	R_ARG_START, R_ARG_END, R_STACK_ARGC,
	R_TP_PID, R_TP_OLD_PID,
	R_NSCALAR,
	/* not scalars: strings, chains, chunks */
	R_COMM = R_NSCALAR, R_EXE_NAME, R_TP_FILENAME,
	R_PATH_MNT, R_PATH_MROOT, R_PATH_PMNT, R_PATH_PTR, R_PATH_NAME,
	R_CG_PTR, R_CG_NAME, R_ARGV,
};

enum kp_kind { KA_U16 = 1, KA_U32, KA_U64, KA_STR, KA_CHUNK };

struct kp_arg {
	uint16_t role;
	uint8_t m, k;		/* mount and level (paths), level (cgroup), chunk (argv), pid level */
	uint8_t kind;
	char name[16];		/* field name in the event's format */
	char body[KP_ARG_MAX_LEN + 1];
	int off, size;		/* in the raw record, from the format file */
};

enum { KP_SLOT_CWD, KP_SLOT_EXE, KP_NSLOTS };

struct kp_part {
	const char *suffix;	/* event name suffix, e.g. "fork_t" */
	const char *target;	/* function, or "GROUP/EVENT" of a tracepoint */
	int is_tp;
	int optional;		/* the backend works (with less) without it */
	int path_slot;		/* KP_SLOT_* of its path chains, -1 none */
	struct kp_arg args[KP_MAX_ARGS];
	int nargs;
	size_t worst;		/* largest sample it can produce (bytes of raw record) */
	/* filled by the backend */
	int id;			/* trace event id, -1 not installed */
	char event[64];
	int defined;
};

/* The kernel's structure offsets the definitions were built from. */
struct kp_off;

/* Builds every part for the running kernel; *offs is freed with kp_defs_free(). */
int kp_defs_build(struct kp_part *parts, struct kp_btf *btf, struct kp_off **offs,
    char *err, size_t errlen);
void kp_defs_free(struct kp_off *offs);
/* Rebuilds part id on its alternative target. 0, or -ENOENT when it has none left. */
int kp_defs_fallback(struct kp_part *parts, enum kp_part_id id, const struct kp_off *offs);
/* Limits fetch arguments to n dereferences (1..KP_MAX_DEREF); process-wide. */
void kp_defs_set_max_deref(int n);
/* A probe line whose one argument is a string behind n dereferences: to measure the limit. */
int kp_defs_deref_line(int n, const char *group, const char *event, char *out, size_t outlen);
/* "p:GROUP/EVENT target a0=... a1=..." for kprobe_events. -E2BIG when too long. */
int kp_defs_line(const struct kp_part *p, const char *group, char *out, size_t outlen);

/* ---- decoded samples ----------------------------------------------- */

struct kp_str {
	const char *p;		/* into the sample; not NUL-terminated */
	uint32_t len;		/* 0: absent or the fetch faulted */
	int have;
};

struct kp_chain {
	uint64_t ptr[KP_LEVELS + 1];
	struct kp_str name[KP_LEVELS];
	int nptr, nname;
};

struct kp_pathv {
	int have;
	uint64_t mnt;			/* vfsmount of the path */
	uint64_t mroot[KP_MOUNTS];	/* mnt_root of each mount walked */
	uint64_t pmnt[KP_MOUNTS];	/* struct mount * of each one's parent */
	struct kp_chain ch[KP_MOUNTS];
	int nmounts;
};

struct kp_vals {
	uint32_t parts;			/* 1 << kp_part_id of what was merged */
	uint64_t s[R_NSCALAR];
	struct kp_str comm, exe_name, filename;
	struct kp_pathv path[KP_NSLOTS];
	uint64_t cg_ptr[KP_CG_LEVELS + 1];
	struct kp_str cg_name[KP_CG_LEVELS];
	int ncg_ptr, ncg_name;
	const uint8_t *argv[KP_ARGV_CHUNKS];
	int nargv;
};

/* Merges the fields of one raw record of part p into v. -EINVAL when it does not add up. */
int kp_decode(const struct kp_part *p, enum kp_part_id id, const uint8_t *raw, uint32_t size,
    struct kp_vals *v);

/* mount.mnt's offset: turns a struct vfsmount * into its struct mount *. */
long kp_defs_mount_mnt_off(const struct kp_off *offs);

#endif
