// SPDX-License-Identifier: Apache-2.0
#include <string.h>

#include "raw.h"

void
qf_proc_init(struct qf_proc *p)
{
	memset(p, 0, sizeof(*p));
}

void
qf_image_clear(struct qf_image *img)
{
	qf_blob_unref(img->exe);
	qf_blob_unref(img->argv);
	qf_blob_unref(img->comm);
	qf_blob_unref(img->filename);
	memset(img, 0, sizeof(*img));
}

static void
image_copy(struct qf_image *dst, const struct qf_image *src)
{
	*dst = *src;
	qf_blob_ref(dst->exe);
	qf_blob_ref(dst->argv);
	qf_blob_ref(dst->comm);
	qf_blob_ref(dst->filename);
}

static void
clear_prev(struct qf_proc *p)
{
	uint32_t i;

	for (i = 0; i < p->nprev; i++)
		qf_image_clear(&p->prev[i]);
	p->nprev = 0;
}

void
qf_proc_clear(struct qf_proc *p)
{
	qf_blob_unref(p->comm);
	qf_blob_unref(p->exe);
	qf_blob_unref(p->filename);
	qf_blob_unref(p->argv);
	qf_blob_unref(p->cwd);
	qf_blob_unref(p->cgroup);
	clear_prev(p);
	memset(p, 0, sizeof(*p));
}

void
qf_proc_copy(struct qf_proc *dst, const struct qf_proc *src)
{
	uint32_t i;

	qf_proc_clear(dst);
	dst->fx = src->fx;
	dst->comm = qf_blob_ref(src->comm);
	dst->exe = qf_blob_ref(src->exe);
	dst->filename = qf_blob_ref(src->filename);
	dst->argv = qf_blob_ref(src->argv);
	dst->cwd = qf_blob_ref(src->cwd);
	dst->cgroup = qf_blob_ref(src->cgroup);
	for (i = 0; i < src->nprev; i++)
		image_copy(&dst->prev[i], &src->prev[i]);
	dst->nprev = src->nprev;
}

void
qf_proc_drop_image(struct qf_proc *p)
{
	qf_blob_set(&p->exe, NULL);
	qf_blob_set(&p->argv, NULL);
	qf_blob_set(&p->filename, NULL);
	p->fx.h.valid &= ~(QF_VALID_EXE_FILE | QF_VALID_ARGC | QF_VALID_EXEC_PRIV | QF_VALID_OLD_PID);
	p->fx.exec_flags = 0;
	p->fx.argc = 0;
	p->fx.old_pid = 0;
}

void
qf_proc_drop_prev(struct qf_proc *p)
{
	clear_prev(p);
}

void
qf_proc_copy_prev(struct qf_proc *dst, const struct qf_proc *src)
{
	uint32_t i;

	clear_prev(dst);
	for (i = 0; i < src->nprev; i++)
		image_copy(&dst->prev[i], &src->prev[i]);
	dst->nprev = src->nprev;
}

#define COPY(f) (d->f = s->f)

void
qf_proc_merge(struct qf_proc *dst, const struct qf_proc *src)
{
	struct qf_process_fixed *d = &dst->fx;
	const struct qf_process_fixed *s = &src->fx;
	uint32_t v = s->h.valid;

	if (v & QF_VALID_IDS) {
		COPY(pid); COPY(tid); COPY(ppid); COPY(vpid); COPY(pgid); COPY(sid);
		/* /proc only knows the start in clock ticks: keep a finer value */
		if (d->start_ns == 0 || s->source != QF_SOURCE_PROCFS)
			COPY(start_ns);
	}
	if (v & QF_VALID_CREDS) {
		COPY(uid); COPY(gid); COPY(euid); COPY(egid);
		COPY(suid); COPY(sgid); COPY(fsuid); COPY(fsgid);
	}
	if (v & QF_VALID_CAPS) {
		COPY(cap_effective); COPY(cap_permitted); COPY(cap_inheritable);
		COPY(cap_bounding); COPY(cap_ambient);
	}
	if (v & QF_VALID_TTY) {
		COPY(tty_major); COPY(tty_minor);
	}
	if (v & QF_VALID_EXIT) {
		COPY(exit_status); COPY(exit_code); COPY(exit_signal); COPY(exit_time_ns);
	}
	if (v & QF_VALID_NS) {
		COPY(ns_pid); COPY(ns_mnt); COPY(ns_net); COPY(ns_uts);
		COPY(ns_ipc); COPY(ns_user); COPY(ns_cgroup);
	}
	if (v & QF_VALID_PIDNS_INIT)
		COPY(pidns_init_start_ns);
	if (v & QF_VALID_EXE_FILE) {
		COPY(exe_nlink); COPY(exe_dev_major); COPY(exe_dev_minor); COPY(exe_ino);
		COPY(exe_mode); COPY(exe_uid); COPY(exe_gid); COPY(exe_size);
		COPY(exe_ctime_ns); COPY(exe_mtime_ns);
		d->exec_flags = (d->exec_flags & ~(QF_EXEC_MEMFD | QF_EXEC_UNLINKED)) |
		    (s->exec_flags & (QF_EXEC_MEMFD | QF_EXEC_UNLINKED));
	}
	if (v & QF_VALID_EXEC_PRIV)
		d->exec_flags = (d->exec_flags & (QF_EXEC_MEMFD | QF_EXEC_UNLINKED)) |
		    (s->exec_flags & ~(QF_EXEC_MEMFD | QF_EXEC_UNLINKED));
	if (v & QF_VALID_OLD_PID)
		COPY(old_pid);
	if (v & QF_VALID_ARGC)
		COPY(argc);
	if (v & QF_VALID_FORK_TIME)
		COPY(fork_time_ns);
	if (v & QF_VALID_EXEC_TIME)
		COPY(exec_time_ns);
	COPY(source);
	d->h.valid |= v;

	if (src->comm)
		qf_blob_set(&dst->comm, src->comm);
	if (src->exe)
		qf_blob_set(&dst->exe, src->exe);
	if (src->filename)
		qf_blob_set(&dst->filename, src->filename);
	if (src->argv)
		qf_blob_set(&dst->argv, src->argv);
	if (src->cwd)
		qf_blob_set(&dst->cwd, src->cwd);
	if (src->cgroup)
		qf_blob_set(&dst->cgroup, src->cgroup);
}

#undef COPY

void
qf_proc_push_image(struct qf_proc *p, uint32_t img_flags, uint64_t time_ns)
{
	struct qf_image img;

	if (p->exe == NULL && p->argv == NULL)
		return;
	if (p->nprev == QF_MAX_PREVIOUS) {
		qf_image_clear(&p->prev[QF_MAX_PREVIOUS - 1]);
		p->nprev--;
	}
	memmove(&p->prev[1], &p->prev[0], p->nprev * sizeof(p->prev[0]));
	memset(&img, 0, sizeof(img));
	img.exe = qf_blob_ref(p->exe);
	if (p->argv != NULL && p->argv->len > QF_PREV_ARGV_MAX)
		img.argv = qf_blob_new(p->argv->data, QF_PREV_ARGV_MAX,
		    p->argv->orig_len > p->argv->len ? p->argv->orig_len : p->argv->len,
		    (uint16_t)(p->argv->flags | QF_ITEM_F_TRUNCATED));
	else
		img.argv = qf_blob_ref(p->argv);
	img.comm = qf_blob_ref(p->comm);
	img.filename = qf_blob_ref(p->filename);
	img.time_ns = time_ns;
	img.pid = p->fx.pid;
	img.argc = (p->fx.h.valid & QF_VALID_ARGC) ? p->fx.argc : qf_count_args(p->argv);
	if (p->fx.h.valid & QF_VALID_EXE_FILE) {
		img.exe_ino = p->fx.exe_ino;
		img.exe_dev_major = p->fx.exe_dev_major;
		img.exe_dev_minor = p->fx.exe_dev_minor;
	}
	img.flags = img_flags;
	p->prev[0] = img;
	p->nprev++;
}

static size_t
blob_bytes(const struct qf_blob *b)
{
	return b != NULL ? sizeof(*b) + b->len + 1 : 0;
}

size_t
qf_proc_bytes(const struct qf_proc *p)
{
	size_t n = sizeof(*p);
	uint32_t i;

	n += blob_bytes(p->comm) + blob_bytes(p->exe) + blob_bytes(p->filename);
	n += blob_bytes(p->argv) + blob_bytes(p->cwd) + blob_bytes(p->cgroup);
	for (i = 0; i < p->nprev; i++)
		n += blob_bytes(p->prev[i].exe) + blob_bytes(p->prev[i].argv) +
		    blob_bytes(p->prev[i].comm) + blob_bytes(p->prev[i].filename);
	return n;
}

uint32_t
qf_count_args(const struct qf_blob *argv)
{
	uint32_t i, n = 0;

	if (argv == NULL || argv->len == 0)
		return 0;
	for (i = 0; i < argv->len; i++)
		if (argv->data[i] == 0)
			n++;
	if (argv->data[argv->len - 1] != 0)
		n++;	/* cut in the middle of the last one */
	return n;
}

void
qf_proc_set_exit_status(struct qf_proc *p, uint32_t status, uint64_t time_ns)
{
	p->fx.exit_status = status;
	p->fx.exit_time_ns = time_ns;
	if ((status & 0x7f) == 0) {
		p->fx.exit_code = (int32_t)((status >> 8) & 0xff);
		p->fx.exit_signal = 0;
	} else {
		p->fx.exit_code = -1;
		p->fx.exit_signal = status & 0x7f;
	}
	p->fx.h.valid |= QF_VALID_EXIT;
}
