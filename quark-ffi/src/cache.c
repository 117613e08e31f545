// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdlib.h>

#include "cache.h"

static void
list_init(struct qf_centry *head)
{
	head->prev = head->next = head;
}

static void
list_unlink(struct qf_centry *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
	e->prev = e->next = NULL;
}

static void
list_append(struct qf_centry *head, struct qf_centry *e)
{
	e->prev = head->prev;
	e->next = head;
	head->prev->next = e;
	head->prev = e;
}

int
qf_cache_init(struct qf_cache *c, size_t max, size_t max_bytes, uint64_t grace_ns,
    struct qf_stats *st)
{
	int r;

	r = qf_pidmap_init(&c->map, max / 2);
	if (r != 0)
		return r;
	list_init(&c->live);
	list_init(&c->dead);
	c->max = max > 0 ? max : 1;
	c->max_bytes = max_bytes;
	c->bytes = 0;
	c->grace_ns = grace_ns;
	c->st = st;
	return 0;
}

static void
entry_free(struct qf_cache *c, struct qf_centry *e)
{
	qf_pidmap_del(&c->map, &e->node);
	list_unlink(e);
	c->bytes -= e->bytes;
	qf_proc_clear(&e->p);
	free(e);
	c->st->removals++;
}

void
qf_cache_free(struct qf_cache *c)
{
	while (c->live.next != &c->live)
		entry_free(c, c->live.next);
	while (c->dead.next != &c->dead)
		entry_free(c, c->dead.next);
	qf_pidmap_free(&c->map);
}

struct qf_centry *
qf_cache_get(struct qf_cache *c, uint32_t pid)
{
	return (struct qf_centry *)qf_pidmap_get(&c->map, pid);
}

/* Drops the oldest exited entry, else the least recently updated live one; never keep. */
static int
evict_one(struct qf_cache *c, const struct qf_centry *keep)
{
	struct qf_centry *e;

	for (e = c->dead.next; e != &c->dead; e = e->next) {
		if (e != keep) {
			entry_free(c, e);
			return 0;
		}
	}
	for (e = c->live.next; e != &c->live; e = e->next) {
		if (e != keep) {
			entry_free(c, e);
			c->st->evictions++;
			return 0;
		}
	}
	return -ENOENT;
}

void
qf_cache_account(struct qf_cache *c, struct qf_centry *e)
{
	size_t n = qf_proc_bytes(&e->p);

	c->bytes = c->bytes - e->bytes + n;
	e->bytes = n;
	while (c->bytes > c->max_bytes)
		if (evict_one(c, e) != 0)
			break;
}

struct qf_centry *
qf_cache_add(struct qf_cache *c, uint32_t pid)
{
	struct qf_centry *e;

	while (c->map.count >= c->max || c->bytes > c->max_bytes)
		if (evict_one(c, NULL) != 0)
			break;
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return NULL;
	e->node.pid = pid;
	qf_proc_init(&e->p);
	e->p.fx.pid = pid;
	e->bytes = qf_proc_bytes(&e->p);
	c->bytes += e->bytes;
	/* a failed table growth leaves longer chains, not a lost entry */
	(void)qf_pidmap_put(&c->map, &e->node);
	list_append(&c->live, e);
	c->st->insertions++;
	return e;
}

void
qf_cache_touch(struct qf_cache *c, struct qf_centry *e)
{
	/* the exited list stays in exit order for the collector */
	if (e->exited)
		return;
	list_unlink(e);
	list_append(&c->live, e);
}

void
qf_cache_mark_exited(struct qf_cache *c, struct qf_centry *e, uint64_t now_mono_ns)
{
	list_unlink(e);
	e->exited = 1;
	e->exit_mono_ns = now_mono_ns;
	list_append(&c->dead, e);
}

void
qf_cache_remove(struct qf_cache *c, struct qf_centry *e)
{
	entry_free(c, e);
}

void
qf_cache_gc(struct qf_cache *c, uint64_t now_mono_ns)
{
	struct qf_centry *e;

	while ((e = c->dead.next) != &c->dead) {
		if (now_mono_ns - e->exit_mono_ns < c->grace_ns)
			break;
		entry_free(c, e);
		c->st->garbage_collections++;
	}
}
