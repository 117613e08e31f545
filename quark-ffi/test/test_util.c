// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test_util.h"
#include "clock_ms.h"

#define POLL_BUF	(1024 * 1024)

static int
fail(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return -1;
}

static uint16_t
rd16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return v;
}

static uint32_t
rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static void
tstr_free(struct tstr *s)
{
	free(s->data);
	memset(s, 0, sizeof(*s));
}

static int
tstr_set(struct tstr *s, const uint8_t *item, uint32_t len)
{
	if (s->data != NULL)
		return -1;	/* an item type twice */
	s->data = malloc(len + 1);
	if (s->data == NULL)
		return -1;
	memcpy(s->data, item + sizeof(struct qf_item_header), len);
	s->data[len] = 0;
	s->len = len;
	s->flags = rd16(item + 2);
	s->orig_len = rd32(item + 8);
	return 0;
}

/* Walks the items in [p, end), checking each stays inside and is aligned. */
static int
walk_items(const uint8_t *base, const uint8_t *p, const uint8_t *end, struct trec *r,
    struct timage *img, int depth, char *why, size_t whylen)
{
	while (p < end) {
		uint16_t type;
		uint32_t len;
		size_t total;

		if ((size_t)(p - base) % QF_ALIGN != 0)
			return fail(why, whylen, "item at %zu not 8-aligned", (size_t)(p - base));
		if ((size_t)(end - p) < sizeof(struct qf_item_header))
			return fail(why, whylen, "item header runs past its record");
		type = rd16(p);
		len = rd32(p + 4);
		total = QF_ALIGN_UP((uint32_t)sizeof(struct qf_item_header) + len);
		if (total > (size_t)(end - p))
			return fail(why, whylen, "item type %u length %u runs past its record", type, len);
		if ((rd16(p + 2) & QF_ITEM_F_TRUNCATED) == 0 && rd32(p + 8) != len)
			return fail(why, whylen, "item type %u: orig_length %u != length %u without TRUNCATED",
			    type, rd32(p + 8), len);
		if (img != NULL) {
			int bad = 0;

			switch (type) {
			case QF_ITEM_COMM: bad = tstr_set(&img->comm, p, len); break;
			case QF_ITEM_EXE: bad = tstr_set(&img->exe, p, len); break;
			case QF_ITEM_ARGV: bad = tstr_set(&img->argv, p, len); break;
			case QF_ITEM_FILENAME: bad = tstr_set(&img->filename, p, len); break;
			default: return fail(why, whylen, "item type %u inside an IMAGE", type);
			}
			if (bad)
				return fail(why, whylen, "item type %u twice in an IMAGE", type);
		} else {
			int bad = 0;

			switch (type) {
			case QF_ITEM_COMM: bad = tstr_set(&r->comm, p, len); break;
			case QF_ITEM_EXE: bad = tstr_set(&r->exe, p, len); break;
			case QF_ITEM_FILENAME: bad = tstr_set(&r->filename, p, len); break;
			case QF_ITEM_ARGV: bad = tstr_set(&r->argv, p, len); break;
			case QF_ITEM_CWD: bad = tstr_set(&r->cwd, p, len); break;
			case QF_ITEM_CGROUP: bad = tstr_set(&r->cgroup, p, len); break;
			case QF_ITEM_PREVIOUS: {
				const uint8_t *q = p + sizeof(struct qf_item_header) + QF_PREV_PAD;
				struct qf_image_fixed fx;
				struct timage *ti;

				if (depth > 0)
					return fail(why, whylen, "PREVIOUS nested twice");
				if (r->nprev == QF_MAX_PREVIOUS)
					return fail(why, whylen, "more than %u PREVIOUS items", QF_MAX_PREVIOUS);
				if (len < QF_PREV_PAD + sizeof(fx))
					return fail(why, whylen, "PREVIOUS item too short (%u)", len);
				memcpy(&fx, q, sizeof(fx));
				if (fx.h.kind != QF_KIND_IMAGE || fx.h.length != len - QF_PREV_PAD ||
				    fx.h.fixed_size < sizeof(fx) || fx.h.fixed_size > fx.h.length)
					return fail(why, whylen, "bad IMAGE header (kind %u length %u fixed %u)",
					    fx.h.kind, fx.h.length, fx.h.fixed_size);
				ti = &r->prev[r->nprev++];
				ti->flags = fx.h.flags;
				ti->time_ns = fx.time_ns;
				ti->pid = fx.pid;
				ti->argc = fx.argc;
				if (walk_items(base, q + fx.h.fixed_size, q + fx.h.length, r, ti,
				    depth + 1, why, whylen) != 0)
					return -1;
				break;
			}
			default:
				break;	/* unknown types are skipped */
			}
			if (bad)
				return fail(why, whylen, "item type %u twice", type);
		}
		p += total;
	}
	return 0;
}

static void
trec_free(struct trec *r)
{
	uint32_t i;

	tstr_free(&r->comm);
	tstr_free(&r->exe);
	tstr_free(&r->filename);
	tstr_free(&r->argv);
	tstr_free(&r->cwd);
	tstr_free(&r->cgroup);
	for (i = 0; i < r->nprev; i++) {
		tstr_free(&r->prev[i].comm);
		tstr_free(&r->prev[i].exe);
		tstr_free(&r->prev[i].argv);
		tstr_free(&r->prev[i].filename);
	}
}

int
tdecode(struct tstore *st, const uint8_t *buf, size_t len, char *why, size_t whylen)
{
	struct qf_batch_header bh;
	const uint8_t *p, *end;
	uint32_t i;

	if (len < sizeof(bh))
		return fail(why, whylen, "batch of %zu bytes", len);
	memcpy(&bh, buf, sizeof(bh));
	if (bh.magic != QF_FORMAT_MAGIC || bh.version != QF_FORMAT_VERSION ||
	    bh.header_size != sizeof(bh))
		return fail(why, whylen, "bad batch header (magic %#x version %u size %u)",
		    bh.magic, bh.version, bh.header_size);
	if (bh.total_length != len)
		return fail(why, whylen, "total_length %u != returned %zu", bh.total_length, len);
	if (((bh.flags & QF_BATCH_F_LOST) != 0) != (bh.lost_count != 0))
		return fail(why, whylen, "LOST flag disagrees with lost_count %u", bh.lost_count);
	st->lost += bh.lost_count;
	st->batches++;
	p = buf + bh.header_size;
	end = buf + len;
	for (i = 0; i < bh.record_count; i++) {
		struct qf_record_header rh;
		struct trec r;

		if ((size_t)(end - p) < sizeof(rh))
			return fail(why, whylen, "record %u header past the batch", i);
		memcpy(&rh, p, sizeof(rh));
		if (rh.length % QF_ALIGN || rh.length > (size_t)(end - p) || rh.kind != QF_KIND_PROCESS ||
		    rh.fixed_size < sizeof(struct qf_process_fixed) || rh.fixed_size > rh.length)
			return fail(why, whylen, "record %u: length %u kind %u fixed %u", i,
			    rh.length, rh.kind, rh.fixed_size);
		memset(&r, 0, sizeof(r));
		memcpy(&r.fx, p, sizeof(r.fx));
		if (walk_items(buf, p + rh.fixed_size, p + rh.length, &r, NULL, 0, why, whylen) != 0) {
			trec_free(&r);
			return -1;
		}
		if (r.nprev != r.fx.previous_count) {
			trec_free(&r);
			return fail(why, whylen, "previous_count %u but %u PREVIOUS items",
			    r.fx.previous_count, r.nprev);
		}
		if (st->n == st->cap) {
			size_t nc = st->cap ? st->cap * 2 : 256;
			struct trec *nr = realloc(st->recs, nc * sizeof(*nr));

			if (nr == NULL) {
				trec_free(&r);
				return fail(why, whylen, "out of memory");
			}
			st->recs = nr;
			st->cap = nc;
		}
		st->recs[st->n++] = r;
		p += rh.length;
	}
	if (p != end)
		return fail(why, whylen, "%zu bytes after the last record", (size_t)(end - p));
	return 0;
}

void
tstore_free(struct tstore *st)
{
	size_t i;

	for (i = 0; i < st->n; i++)
		trec_free(&st->recs[i]);
	free(st->recs);
	memset(st, 0, sizeof(*st));
}

long
twait(struct qf_handle *h, struct tstore *st, tpred pred, const void *arg, int timeout_ms,
    char *why, size_t whylen)
{
	uint64_t end = tclock_ms() + (uint64_t)timeout_ms;
	size_t checked = 0;
	uint8_t *buf;
	int n;

	buf = malloc(POLL_BUF);
	if (buf == NULL) {
		fail(why, whylen, "out of memory");
		return -1;
	}
	for (;;) {
		for (; checked < st->n; checked++) {
			if (pred(&st->recs[checked], arg)) {
				free(buf);
				return (long)checked;
			}
		}
		if (tclock_ms() >= end)
			break;
		n = qf_poll(h, buf, POLL_BUF, 200);
		if (n < 0) {
			fail(why, whylen, "qf_poll: %s", strerror(-n));
			free(buf);
			return -1;
		}
		if (n > 0 && tdecode(st, buf, (size_t)n, why, whylen) != 0) {
			free(buf);
			return -1;
		}
	}
	free(buf);
	fail(why, whylen, "no matching record within %d ms (%zu records seen)", timeout_ms, st->n);
	return -1;
}

int
tpred_exit_of(const struct trec *r, const void *pidp)
{
	return r->fx.pid == *(const uint32_t *)pidp && (r->fx.h.flags & QF_REC_EXIT);
}

int
tpred_pid(const struct trec *r, const void *pidp)
{
	return r->fx.pid == *(const uint32_t *)pidp;
}

const char *
targ(const struct tstr *argv, uint32_t i)
{
	uint32_t off = 0;

	if (argv->data == NULL)
		return NULL;
	while (i > 0 && off < argv->len) {
		off += (uint32_t)strlen(argv->data + off) + 1;
		i--;
	}
	return off < argv->len ? argv->data + off : NULL;
}

pid_t
tspawn(char *const argv[])
{
	extern char **environ;
	pid_t pid = fork();

	if (pid == 0) {
		execve(argv[0], argv, environ);
		_exit(127);
	}
	return pid;
}

int
treap(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) == -1) {
		if (errno != EINTR)
			return -1;
	}
	return status;
}

int
tcopy_file(const char *from, const char *to, mode_t mode)
{
	char buf[65536];
	int in, out, r = 0;
	ssize_t n;

	in = open(from, O_RDONLY | O_CLOEXEC);
	if (in == -1)
		return -errno;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (out == -1) {
		r = -errno;
		close(in);
		return r;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		if (write(out, buf, (size_t)n) != n) {
			r = -EIO;
			break;
		}
	}
	if (n < 0)
		r = -errno;
	close(in);
	if (close(out) == -1 && r == 0)
		r = -errno;
	if (r == 0 && chmod(to, mode) == -1)
		r = -errno;
	return r;
}

static int
rm_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	return remove(path);
}

void
trm_rf(const char *path)
{
	nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}
