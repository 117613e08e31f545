// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aggregate.h"

static void
rlist_init(struct qf_rec *head)
{
	head->prev = head->next = head;
}

static void
rlist_unlink(struct qf_rec *r)
{
	r->prev->next = r->next;
	r->next->prev = r->prev;
	r->prev = r->next = NULL;
}

static void
rlist_append(struct qf_rec *head, struct qf_rec *r)
{
	r->prev = head->prev;
	r->next = head;
	head->prev->next = r;
	head->prev = r;
}

struct qf_rec *
qf_rec_new(uint32_t flags, uint64_t now_mono_ns)
{
	struct qf_rec *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->flags = flags;
	r->born_mono_ns = now_mono_ns;
	qf_proc_init(&r->p);
	return r;
}

void
qf_rec_free(struct qf_rec *r)
{
	if (r == NULL)
		return;
	qf_proc_clear(&r->p);
	free(r);
}

/* Recounts r's bytes after it changed. */
static void
rec_account(struct qf_agg *a, struct qf_rec *r)
{
	size_t n = qf_proc_bytes(&r->p);

	a->bytes = a->bytes - r->bytes + n;
	r->bytes = n;
}

int
qf_agg_init(struct qf_agg *a, uint64_t hold_ns, size_t max_pending, size_t max_bytes,
    struct qf_cache *cache, struct qf_stats *st)
{
	long ticks = sysconf(_SC_CLK_TCK);
	int r;

	memset(a, 0, sizeof(*a));
	r = qf_pidmap_init(&a->held_map, max_pending / 2);
	if (r != 0)
		return r;
	rlist_init(&a->held);
	rlist_init(&a->ready);
	a->hold_ns = hold_ns;
	a->max_pending = max_pending > 0 ? max_pending : 1;
	a->max_bytes = max_bytes;
	a->tick_ns = 1000000000ULL / (uint64_t)(ticks > 0 ? ticks : 100);
	a->cache = cache;
	a->st = st;
	return 0;
}

void
qf_agg_free(struct qf_agg *a)
{
	struct qf_rec *r;

	while ((r = a->held.next) != &a->held) {
		qf_pidmap_del(&a->held_map, &r->node);
		rlist_unlink(r);
		qf_rec_free(r);
	}
	while ((r = a->ready.next) != &a->ready) {
		rlist_unlink(r);
		qf_rec_free(r);
	}
	a->nheld = a->nready = 0;
	a->bytes = 0;
	qf_pidmap_free(&a->held_map);
}

static void
release(struct qf_agg *a, struct qf_rec *r)
{
	qf_pidmap_del(&a->held_map, &r->node);
	rlist_unlink(r);
	a->nheld--;
	rlist_append(&a->ready, r);
	a->nready++;
}

void
qf_agg_add_ready(struct qf_agg *a, struct qf_rec *r)
{
	rlist_append(&a->ready, r);
	a->nready++;
	rec_account(a, r);
}

size_t
qf_agg_room(const struct qf_agg *a)
{
	size_t n = a->nheld + a->nready;

	if (n >= a->max_pending || a->bytes >= a->max_bytes)
		return 0;
	return a->max_pending - n;
}

void
qf_agg_flush(struct qf_agg *a)
{
	a->flushing = 1;
	while (a->held.next != &a->held)
		release(a, a->held.next);
}

struct qf_rec *
qf_agg_ready_head(const struct qf_agg *a)
{
	return a->ready.next != &a->ready ? a->ready.next : NULL;
}

struct qf_rec *
qf_agg_ready_pop(struct qf_agg *a)
{
	struct qf_rec *r = qf_agg_ready_head(a);

	if (r != NULL) {
		rlist_unlink(r);
		a->nready--;
		a->bytes -= r->bytes;
		r->bytes = 0;
	}
	return r;
}

static struct qf_rec *
held_get(struct qf_agg *a, uint32_t pid)
{
	return (struct qf_rec *)qf_pidmap_get(&a->held_map, pid);
}

/*
 * Starts a held record for the pid: whatever was held for it is released
 * first (it cannot take this event), and the oldest held record is pushed
 * out when the bound is reached.
 */
static struct qf_rec *
hold_new(struct qf_agg *a, uint32_t pid, uint32_t flags, uint64_t now)
{
	struct qf_rec *r, *old;

	old = held_get(a, pid);
	if (old != NULL)
		release(a, old);
	while (a->nheld >= a->max_pending && a->held.next != &a->held) {
		release(a, a->held.next);
		a->st->forced_flushes++;
	}
	r = qf_rec_new(flags, now);
	if (r == NULL)
		return NULL;
	r->node.pid = pid;
	(void)qf_pidmap_put(&a->held_map, &r->node);
	rlist_append(&a->held, r);
	a->nheld++;
	a->st->non_aggregations++;
	return r;
}

/* After the caller filled a new held record: count it, and release it when nothing is held. */
static void
hold_done(struct qf_agg *a, struct qf_rec *r)
{
	rec_account(a, r);
	if (a->hold_ns == 0 || a->flushing)
		release(a, r);
}

/*
 * Whether an event's process start agrees with what we hold for the pid. A
 * start from /proc is only known to the clock tick. Unknown starts agree.
 */
static int
same_life(const struct qf_agg *a, const struct qf_proc *known, const struct qf_proc *ev)
{
	uint64_t x = known->fx.start_ns, y = ev->fx.start_ns;

	if (!(known->fx.h.valid & QF_VALID_IDS) || !(ev->fx.h.valid & QF_VALID_IDS) || x == 0 || y == 0)
		return 1;
	if (known->fx.source == QF_SOURCE_PROCFS || ev->fx.source == QF_SOURCE_PROCFS)
		return x / a->tick_ns == y / a->tick_ns;
	return x == y;
}

/* The cache entry of the event's pid when it is of the same life; a stale one is dropped. */
static struct qf_centry *
cache_same_life(struct qf_agg *a, const struct qf_raw *raw)
{
	struct qf_centry *e = qf_cache_get(a->cache, raw->p.fx.pid);

	if (e != NULL && !same_life(a, &e->p, &raw->p)) {
		qf_cache_remove(a->cache, e);
		a->st->pid_reuses++;
		return NULL;
	}
	return e;
}

/* The part of an exit event that may overwrite what a held fork/exec knew. */
static void
merge_exit(struct qf_proc *dst, const struct qf_proc *src)
{
	struct qf_proc tmp;

	qf_proc_init(&tmp);
	tmp.fx = src->fx;
	tmp.fx.h.valid &= QF_VALID_CREDS | QF_VALID_CAPS | QF_VALID_EXIT | QF_VALID_TTY;
	qf_proc_merge(dst, &tmp);
	dst->fx.tid = src->fx.tid;
	if (!(dst->fx.h.valid & QF_VALID_IDS) && (src->fx.h.valid & QF_VALID_IDS)) {
		tmp.fx.h.valid = QF_VALID_IDS;
		qf_proc_merge(dst, &tmp);
	} else if (src->fx.h.valid & QF_VALID_IDS) {
		/* setsid()/setpgid() need no exec: the exit knows the newest (ppid stays) */
		dst->fx.pgid = src->fx.pgid;
		dst->fx.sid = src->fx.sid;
	}
	if (dst->comm == NULL && src->comm != NULL)
		qf_blob_set(&dst->comm, src->comm);
}

static void
agg_fork(struct qf_agg *a, const struct qf_raw *raw, uint64_t now)
{
	uint32_t pid = raw->p.fx.pid;
	struct qf_centry *e, *parent;
	struct qf_rec *r;

	/* a fork begins a new life of the pid: whatever we knew is stale */
	e = qf_cache_get(a->cache, pid);
	if (e != NULL)
		qf_cache_remove(a->cache, e);
	e = qf_cache_add(a->cache, pid);
	if (e == NULL)
		return;
	qf_proc_merge(&e->p, &raw->p);
	e->img_flags = QF_IMG_FORK;
	e->img_time_ns = raw->time_ns;
	/* what the backend could not read, the child has from its parent */
	parent = qf_cache_get(a->cache, raw->p.fx.ppid);
	if (parent != NULL) {
		if (e->p.argv == NULL && parent->p.argv != NULL) {
			qf_blob_set(&e->p.argv, parent->p.argv);
			if (parent->p.fx.h.valid & QF_VALID_ARGC) {
				e->p.fx.argc = parent->p.fx.argc;
				e->p.fx.h.valid |= QF_VALID_ARGC;
			}
		}
		if (e->p.exe == NULL && parent->p.exe != NULL)
			qf_blob_set(&e->p.exe, parent->p.exe);
		if (e->p.cwd == NULL && parent->p.cwd != NULL)
			qf_blob_set(&e->p.cwd, parent->p.cwd);
	}
	qf_cache_account(a->cache, e);
	r = hold_new(a, pid, QF_REC_FORK, now);
	if (r != NULL) {
		qf_proc_copy(&r->p, &e->p);
		hold_done(a, r);
	}
}

static void
agg_exec(struct qf_agg *a, const struct qf_raw *raw, uint64_t now)
{
	uint32_t pid = raw->p.fx.pid;
	struct qf_centry *e;
	struct qf_rec *r;

	e = cache_same_life(a, raw);
	if (e == NULL) {
		e = qf_cache_add(a->cache, pid);
		if (e == NULL)
			return;
	} else {
		qf_cache_touch(a->cache, e);
	}
	qf_proc_push_image(&e->p, e->img_flags, e->img_time_ns);
	/* nothing of the old image may leak into the new one when the exec could not read it */
	qf_proc_drop_image(&e->p);
	qf_proc_merge(&e->p, &raw->p);
	e->img_flags = QF_IMG_EXEC;
	e->img_time_ns = raw->time_ns;
	qf_cache_account(a->cache, e);

	r = held_get(a, pid);
	if (r != NULL && a->hold_ns > 0 && !(r->flags & (QF_REC_EXEC | QF_REC_EXIT)) &&
	    same_life(a, &r->p, &raw->p)) {
		qf_proc_drop_image(&r->p);
		qf_proc_merge(&r->p, &raw->p);
		qf_proc_copy_prev(&r->p, &e->p);
		r->flags |= QF_REC_EXEC;
		rec_account(a, r);
		a->st->aggregations++;
		return;
	}
	r = hold_new(a, pid, QF_REC_EXEC, now);
	if (r != NULL) {
		qf_proc_copy(&r->p, &e->p);
		hold_done(a, r);
	}
}

static void
agg_exit(struct qf_agg *a, const struct qf_raw *raw, uint64_t now)
{
	uint32_t pid = raw->p.fx.pid;
	struct qf_centry *e;
	struct qf_rec *r;

	e = cache_same_life(a, raw);
	/* two threads dying at once may both look like the last one */
	if (e != NULL && e->exited && e->p.fx.start_ns == raw->p.fx.start_ns)
		return;
	if (e == NULL) {
		e = qf_cache_add(a->cache, pid);
		if (e == NULL)
			return;
	}
	qf_proc_merge(&e->p, &raw->p);
	qf_cache_mark_exited(a->cache, e, now);
	qf_cache_account(a->cache, e);

	r = held_get(a, pid);
	if (r != NULL && a->hold_ns > 0 && !(r->flags & QF_REC_EXIT) && same_life(a, &r->p, &raw->p)) {
		merge_exit(&r->p, &raw->p);
		r->flags |= QF_REC_EXIT;
		rec_account(a, r);
		a->st->aggregations++;
		return;
	}
	r = hold_new(a, pid, QF_REC_EXIT, now);
	if (r != NULL) {
		qf_proc_copy(&r->p, &e->p);
		/* previous images belong to exec records */
		qf_proc_drop_prev(&r->p);
		hold_done(a, r);
	}
}

void
qf_agg_event(struct qf_agg *a, const struct qf_raw *raw, uint64_t now_mono_ns)
{
	switch (raw->kind) {
	case QF_RAW_FORK:
		agg_fork(a, raw, now_mono_ns);
		break;
	case QF_RAW_EXEC:
		agg_exec(a, raw, now_mono_ns);
		break;
	case QF_RAW_EXIT:
		agg_exit(a, raw, now_mono_ns);
		break;
	}
}

uint64_t
qf_agg_target_hold(const struct qf_agg *a)
{
	size_t lo = a->max_pending / 10, hi = a->max_pending * 9 / 10;
	uint64_t min_hold = a->hold_ns / 10;

	if (a->flushing)
		return 0;
	if (a->nheld <= lo)
		return a->hold_ns;
	if (a->nheld >= hi)
		return 0;
	return a->hold_ns - (a->hold_ns - min_hold) * (a->nheld - lo) / (hi - lo);
}

void
qf_agg_release(struct qf_agg *a, uint64_t now_mono_ns)
{
	struct qf_rec *r;

	while ((r = a->held.next) != &a->held) {
		if (now_mono_ns - r->born_mono_ns < qf_agg_target_hold(a))
			break;
		release(a, r);
	}
	a->st->hold_time_ms = qf_agg_target_hold(a) / 1000000;
}

uint64_t
qf_agg_next_due(const struct qf_agg *a, uint64_t now_mono_ns)
{
	const struct qf_rec *r = a->held.next;
	uint64_t age, hold;

	if (r == &a->held)
		return UINT64_MAX;
	age = now_mono_ns - r->born_mono_ns;
	hold = qf_agg_target_hold(a);
	return age >= hold ? 0 : hold - age;
}
