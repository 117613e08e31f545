/* SPDX-License-Identifier: Apache-2.0 */
/*
 * quark-ffi batch format, version 1: the single definition of the bytes that
 * qf_poll() and qf_lookup() write. FORMAT.md explains every field; this
 * header and that document must change together (and the version with them).
 *
 * Everything is little-endian. Every record and item starts 8-byte aligned
 * relative to the start of the batch, so a decoder may read u64 fields in
 * place when the buffer itself is 8-byte aligned.
 */
#ifndef QUARK_FFI_FORMAT_H
#define QUARK_FFI_FORMAT_H

#include <stdint.h>

#define QF_FORMAT_MAGIC		0x31424651u	/* bytes "QFB1" */
#define QF_FORMAT_VERSION	1u

#define QF_ALIGN		8u
#define QF_ALIGN_UP(x)		(((x) + (QF_ALIGN - 1)) & ~(uint32_t)(QF_ALIGN - 1))

/* Limits of what a record may carry (bytes of data, before padding). */
#define QF_ARGV_MAX		65536u	/* ARGV item of a PROCESS record */
#define QF_PREV_ARGV_MAX	4096u	/* ARGV item of a nested IMAGE record */
#define QF_PATH_MAX		4096u	/* EXE, FILENAME, CWD, CGROUP items */
#define QF_COMM_MAX		16u	/* COMM item (kernel TASK_COMM_LEN - 1) */
#define QF_MAX_PREVIOUS		4u	/* PREVIOUS items per PROCESS record */
/* A buffer this large always holds at least one record. */
#define QF_MIN_POLL_BUF		(256u * 1024u)

/* ---- batch header ------------------------------------------------------ */

#define QF_BATCH_F_LOST		0x1u	/* lost_count > 0 */
#define QF_BATCH_F_MORE		0x2u	/* records were ready that did not fit */
#define QF_BATCH_F_LOOKUP	0x4u	/* this batch answers qf_lookup() */

struct qf_batch_header {
	uint32_t magic;		/*  0 QF_FORMAT_MAGIC */
	uint16_t version;	/*  4 QF_FORMAT_VERSION */
	uint16_t header_size;	/*  6 sizeof(struct qf_batch_header) */
	uint32_t record_count;	/*  8 top-level records that follow */
	uint32_t total_length;	/* 12 bytes of the batch, header included */
	uint32_t flags;		/* 16 QF_BATCH_F_* */
	uint32_t lost_count;	/* 20 events lost since the previous poll */
	int64_t  boot_wall_ns;	/* 24 wall clock (ns since epoch) of boot */
};				/* 32 */

/* ---- record header ----------------------------------------------------- */

#define QF_KIND_PROCESS		1u
#define QF_KIND_IMAGE		2u

struct qf_record_header {
	uint32_t length;	/*  0 whole record, multiple of 8 */
	uint16_t kind;		/*  4 QF_KIND_* */
	uint16_t fixed_size;	/*  6 offset of the first item */
	uint32_t flags;		/*  8 QF_REC_* (PROCESS) or QF_IMG_* (IMAGE) */
	uint32_t valid;		/* 12 QF_VALID_* (PROCESS); 0 for IMAGE */
};				/* 16 */

/* PROCESS record flags: what happened, and where the record came from. */
#define QF_REC_FORK		0x0001u
#define QF_REC_EXEC		0x0002u
#define QF_REC_EXIT		0x0004u
#define QF_REC_SNAPSHOT		0x0008u	/* from the initial /proc scrape */
#define QF_REC_LOOKUP		0x0010u	/* from qf_lookup(), not an event */
#define QF_REC_COMPLETE		0x0020u	/* ids and creds known (the path may be absent) */
#define QF_REC_CORE_DUMPED	0x0040u	/* the exit status has the core bit */

/* PROCESS validity bits: a field group is meaningful only with its bit. */
#define QF_VALID_IDS		0x0001u	/* pid tid ppid vpid pgid sid start_ns */
#define QF_VALID_CREDS		0x0002u	/* uid .. fsgid */
#define QF_VALID_CAPS		0x0004u	/* cap_* */
#define QF_VALID_TTY		0x0008u	/* tty_major tty_minor (0/0: none) */
#define QF_VALID_EXIT		0x0010u	/* exit_status exit_code exit_signal exit_time_ns */
#define QF_VALID_NS		0x0020u	/* ns_* */
#define QF_VALID_PIDNS_INIT	0x0040u	/* pidns_init_start_ns */
#define QF_VALID_EXE_FILE	0x0080u	/* exe_* and exec_flags MEMFD UNLINKED */
#define QF_VALID_EXEC_PRIV	0x0100u	/* exec_flags SETUID SETGID PRIV_CHANGED */
#define QF_VALID_OLD_PID	0x0200u	/* old_pid */
#define QF_VALID_ARGC		0x0400u	/* argc */
#define QF_VALID_FORK_TIME	0x0800u	/* fork_time_ns */
#define QF_VALID_EXEC_TIME	0x1000u	/* exec_time_ns */

/* exec_flags */
#define QF_EXEC_MEMFD		0x01u	/* executable is a memfd */
#define QF_EXEC_UNLINKED	0x02u	/* executable had no link left (nlink 0) */
#define QF_EXEC_SETUID		0x04u	/* set-user-ID file changed the euid */
#define QF_EXEC_SETGID		0x08u	/* set-group-ID file changed the egid */
#define QF_EXEC_PRIV_CHANGED	0x10u	/* the kernel raised privileges at exec */

/* source */
#define QF_SOURCE_EBPF		1u
#define QF_SOURCE_KPROBE	2u
#define QF_SOURCE_PROCFS	3u

struct qf_process_fixed {
	struct qf_record_header h;	/*   0 */
	uint32_t pid;			/*  16 */
	uint32_t tid;			/*  20 */
	uint32_t ppid;			/*  24 */
	uint32_t vpid;			/*  28 */
	uint32_t pgid;			/*  32 */
	uint32_t sid;			/*  36 */
	uint32_t uid;			/*  40 */
	uint32_t gid;			/*  44 */
	uint32_t euid;			/*  48 */
	uint32_t egid;			/*  52 */
	uint32_t suid;			/*  56 */
	uint32_t sgid;			/*  60 */
	uint32_t fsuid;			/*  64 */
	uint32_t fsgid;			/*  68 */
	uint32_t tty_major;		/*  72 */
	uint32_t tty_minor;		/*  76 */
	uint64_t start_ns;		/*  80 */
	uint64_t cap_effective;		/*  88 */
	uint64_t cap_permitted;		/*  96 */
	uint64_t cap_inheritable;	/* 104 */
	uint64_t cap_bounding;		/* 112 */
	uint64_t cap_ambient;		/* 120 */
	uint64_t fork_time_ns;		/* 128 */
	uint64_t exec_time_ns;		/* 136 */
	uint64_t exit_time_ns;		/* 144 */
	uint32_t exit_status;		/* 152 */
	int32_t  exit_code;		/* 156 */
	uint32_t exit_signal;		/* 160 */
	uint32_t old_pid;		/* 164 */
	uint64_t pidns_init_start_ns;	/* 168 */
	uint32_t ns_pid;		/* 176 */
	uint32_t ns_mnt;		/* 180 */
	uint32_t ns_net;		/* 184 */
	uint32_t ns_uts;		/* 188 */
	uint32_t ns_ipc;		/* 192 */
	uint32_t ns_user;		/* 196 */
	uint32_t ns_cgroup;		/* 200 */
	uint32_t exe_nlink;		/* 204 */
	uint32_t exe_dev_major;		/* 208 */
	uint32_t exe_dev_minor;		/* 212 */
	uint64_t exe_ino;		/* 216 */
	uint32_t exe_mode;		/* 224 */
	uint32_t exe_uid;		/* 228 */
	uint32_t exe_gid;		/* 232 */
	uint32_t exec_flags;		/* 236 */
	uint64_t exe_size;		/* 240 */
	int64_t  exe_ctime_ns;		/* 248 */
	int64_t  exe_mtime_ns;		/* 256 */
	uint32_t argc;			/* 264 */
	uint16_t source;		/* 268 QF_SOURCE_* */
	uint16_t previous_count;	/* 270 PREVIOUS items in this record */
};					/* 272 */

/* IMAGE record: an earlier executable image of the same process. */
#define QF_IMG_FORK		0x1u	/* inherited from the parent at fork */
#define QF_IMG_EXEC		0x2u	/* installed by an exec */
#define QF_IMG_SNAPSHOT		0x4u	/* known from the /proc scrape */

struct qf_image_fixed {
	struct qf_record_header h;	/*  0 */
	uint64_t time_ns;		/* 16 when the image was installed (0 unknown) */
	uint32_t pid;			/* 24 */
	uint32_t argc;			/* 28 */
	uint64_t exe_ino;		/* 32 */
	uint32_t exe_dev_major;		/* 40 */
	uint32_t exe_dev_minor;		/* 44 */
};					/* 48 */

/* ---- items ------------------------------------------------------------- */

#define QF_ITEM_COMM		1u
#define QF_ITEM_EXE		2u
#define QF_ITEM_FILENAME	3u
#define QF_ITEM_ARGV		4u
#define QF_ITEM_CWD		5u
#define QF_ITEM_CGROUP		6u
#define QF_ITEM_PREVIOUS	16u	/* data: QF_PREV_PAD zero bytes, one IMAGE record */
#define QF_PREV_PAD		4u	/* puts the nested record on an 8-byte boundary */

#define QF_ITEM_F_TRUNCATED	0x1u

struct qf_item_header {
	uint16_t type;		/*  0 QF_ITEM_* */
	uint16_t flags;		/*  2 QF_ITEM_F_* */
	uint32_t length;	/*  4 bytes of data that follow */
	uint32_t orig_length;	/*  8 length before truncation */
};				/* 12, data follows, padded to 8 */

/* ---- stats block (qf_stats) -------------------------------------------- */
/* Version 1 grows only at the end: a reader takes the fields its size covers. */

#define QF_STATS_VERSION	1u

struct qf_stats {
	uint32_t size;			/*   0 bytes written */
	uint32_t version;		/*   4 QF_STATS_VERSION */
	uint64_t insertions;		/*   8 */
	uint64_t removals;		/*  16 */
	uint64_t aggregations;		/*  24 */
	uint64_t non_aggregations;	/*  32 */
	uint64_t lost;			/*  40 ring_lost + decode_errors */
	uint64_t garbage_collections;	/*  48 */
	uint64_t backend;		/*  56 QF_SOURCE_EBPF | QF_SOURCE_KPROBE */
	uint64_t cache_entries;		/*  64 */
	uint64_t pending;		/*  72 */
	uint64_t records_out;		/*  80 */
	uint64_t raw_events;		/*  88 */
	uint64_t ring_lost;		/*  96 */
	uint64_t decode_errors;		/* 104 */
	uint64_t truncated;		/* 112 */
	uint64_t evictions;		/* 120 */
	uint64_t forced_flushes;	/* 128 */
	uint64_t hold_time_ms;		/* 136 */
	uint64_t snapshot_records;	/* 144 */
	uint64_t snapshot_skipped;	/* 152 */
	uint64_t pid_reuses;		/* 160 */
	uint64_t cache_bytes;		/* 168 */
	uint64_t pending_bytes;		/* 176 */
	uint64_t out_of_order;		/* 184 */
	uint64_t kernel_skipped;	/* 192 */
};					/* 200 */

#ifdef __cplusplus
#define QF_STATIC_ASSERT static_assert
#else
#define QF_STATIC_ASSERT _Static_assert
#endif
QF_STATIC_ASSERT(sizeof(struct qf_batch_header) == 32, "batch header");
QF_STATIC_ASSERT(sizeof(struct qf_record_header) == 16, "record header");
QF_STATIC_ASSERT(sizeof(struct qf_process_fixed) == 272, "process fixed");
QF_STATIC_ASSERT(sizeof(struct qf_image_fixed) == 48, "image fixed");
QF_STATIC_ASSERT(sizeof(struct qf_item_header) == 12, "item header");
QF_STATIC_ASSERT(sizeof(struct qf_stats) == 200, "stats");

#endif /* QUARK_FFI_FORMAT_H */
