// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <string.h>
#include <time.h>

#include "format.h"

static size_t
item_size(uint32_t len)
{
	return QF_ALIGN_UP((uint32_t)sizeof(struct qf_item_header) + len);
}

static uint32_t
capped(const struct qf_blob *b, uint32_t limit)
{
	return b->len > limit ? limit : b->len;
}

static size_t
blob_size(const struct qf_blob *b, uint32_t limit)
{
	return b != NULL ? item_size(capped(b, limit)) : 0;
}

static size_t
image_size(const struct qf_image *img)
{
	return sizeof(struct qf_image_fixed) + blob_size(img->comm, QF_COMM_MAX) +
	    blob_size(img->exe, QF_PATH_MAX) + blob_size(img->argv, QF_PREV_ARGV_MAX) +
	    blob_size(img->filename, QF_PATH_MAX);
}

size_t
qf_fmt_record_size(const struct qf_proc *p)
{
	size_t n = sizeof(struct qf_process_fixed);
	uint32_t i;

	n += blob_size(p->comm, QF_COMM_MAX);
	n += blob_size(p->exe, QF_PATH_MAX);
	n += blob_size(p->filename, QF_PATH_MAX);
	n += blob_size(p->argv, QF_ARGV_MAX);
	n += blob_size(p->cwd, QF_PATH_MAX);
	n += blob_size(p->cgroup, QF_PATH_MAX);
	for (i = 0; i < p->nprev; i++)
		n += item_size(QF_PREV_PAD + (uint32_t)image_size(&p->prev[i]));
	return n;
}

/* Writes one item; the space was checked by the caller. */
static size_t
put_item(uint8_t *buf, uint16_t type, const struct qf_blob *b, uint32_t limit)
{
	struct qf_item_header ih;
	uint32_t len;
	size_t total;

	if (b == NULL)
		return 0;
	len = capped(b, limit);
	ih.type = type;
	ih.flags = b->flags;
	if (len < b->len)
		ih.flags |= QF_ITEM_F_TRUNCATED;
	ih.length = len;
	ih.orig_length = b->orig_len < b->len ? b->len : b->orig_len;
	total = item_size(len);
	memcpy(buf, &ih, sizeof(ih));
	memcpy(buf + sizeof(ih), b->data, len);
	memset(buf + sizeof(ih) + len, 0, total - sizeof(ih) - len);
	return total;
}

static size_t
put_image(uint8_t *buf, const struct qf_image *img)
{
	struct qf_item_header ih;
	struct qf_image_fixed fx;
	uint32_t len = (uint32_t)image_size(img);
	size_t off = 0;

	ih.type = QF_ITEM_PREVIOUS;
	ih.flags = 0;
	ih.length = QF_PREV_PAD + len;
	ih.orig_length = ih.length;
	memcpy(buf, &ih, sizeof(ih));
	/* the nested record must start 8-aligned: the item header is 12 */
	memset(buf + sizeof(ih), 0, QF_PREV_PAD);
	off = sizeof(ih) + QF_PREV_PAD;

	memset(&fx, 0, sizeof(fx));
	fx.h.length = len;
	fx.h.kind = QF_KIND_IMAGE;
	fx.h.fixed_size = sizeof(fx);
	fx.h.flags = img->flags;
	fx.time_ns = img->time_ns;
	fx.pid = img->pid;
	fx.argc = img->argc;
	fx.exe_ino = img->exe_ino;
	fx.exe_dev_major = img->exe_dev_major;
	fx.exe_dev_minor = img->exe_dev_minor;
	memcpy(buf + off, &fx, sizeof(fx));
	off += sizeof(fx);
	off += put_item(buf + off, QF_ITEM_COMM, img->comm, QF_COMM_MAX);
	off += put_item(buf + off, QF_ITEM_EXE, img->exe, QF_PATH_MAX);
	off += put_item(buf + off, QF_ITEM_ARGV, img->argv, QF_PREV_ARGV_MAX);
	off += put_item(buf + off, QF_ITEM_FILENAME, img->filename, QF_PATH_MAX);
	return off;
}

int
qf_fmt_record(uint8_t *buf, size_t cap, const struct qf_proc *p, uint32_t rec_flags)
{
	size_t need = qf_fmt_record_size(p), off;
	struct qf_process_fixed fx;
	uint32_t i;

	if (need > cap || need > INT32_MAX)
		return -ENOBUFS;
	fx = p->fx;
	fx.h.length = (uint32_t)need;
	fx.h.kind = QF_KIND_PROCESS;
	fx.h.fixed_size = sizeof(fx);
	/* As quark: ids and credentials (from /proc status and stat, or the kernel) make
	 * the process valid; a missing path (PID 1, a zombie) only drops the path. */
	if ((fx.h.valid & (QF_VALID_IDS | QF_VALID_CREDS)) == (QF_VALID_IDS | QF_VALID_CREDS))
		rec_flags |= QF_REC_COMPLETE;
	if ((fx.h.valid & QF_VALID_EXIT) && (fx.exit_status & 0x80))
		rec_flags |= QF_REC_CORE_DUMPED;
	fx.h.flags = rec_flags;
	fx.previous_count = (uint16_t)p->nprev;
	memcpy(buf, &fx, sizeof(fx));
	off = sizeof(fx);
	off += put_item(buf + off, QF_ITEM_COMM, p->comm, QF_COMM_MAX);
	off += put_item(buf + off, QF_ITEM_EXE, p->exe, QF_PATH_MAX);
	off += put_item(buf + off, QF_ITEM_FILENAME, p->filename, QF_PATH_MAX);
	off += put_item(buf + off, QF_ITEM_ARGV, p->argv, QF_ARGV_MAX);
	off += put_item(buf + off, QF_ITEM_CWD, p->cwd, QF_PATH_MAX);
	off += put_item(buf + off, QF_ITEM_CGROUP, p->cgroup, QF_PATH_MAX);
	for (i = 0; i < p->nprev; i++)
		off += put_image(buf + off, &p->prev[i]);
	return (int)off;
}

static int64_t
boot_wall_ns(void)
{
	struct timespec rt, bt;

	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_BOOTTIME, &bt);
	return ((int64_t)rt.tv_sec - bt.tv_sec) * 1000000000LL + (rt.tv_nsec - bt.tv_nsec);
}

void
qf_fmt_batch_header(uint8_t *buf, uint32_t count, uint32_t total, uint32_t flags, uint32_t lost)
{
	struct qf_batch_header bh;

	bh.magic = QF_FORMAT_MAGIC;
	bh.version = QF_FORMAT_VERSION;
	bh.header_size = sizeof(bh);
	bh.record_count = count;
	bh.total_length = total;
	bh.flags = flags | (lost > 0 ? QF_BATCH_F_LOST : 0);
	bh.lost_count = lost;
	bh.boot_wall_ns = boot_wall_ns();
	memcpy(buf, &bh, sizeof(bh));
}
