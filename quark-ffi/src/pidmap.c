// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdlib.h>

#include "pidmap.h"

static size_t
slot(size_t nbuckets, uint32_t pid)
{
	/* pids are dense and sequential: a multiplicative mix spreads them */
	return (size_t)((pid * 2654435761u) >> 7) & (nbuckets - 1);
}

int
qf_pidmap_init(struct qf_pidmap *m, size_t hint)
{
	size_t n = 64;

	while (n < hint && n < ((size_t)1 << 24))
		n <<= 1;
	m->buckets = calloc(n, sizeof(*m->buckets));
	if (m->buckets == NULL)
		return -ENOMEM;
	m->nbuckets = n;
	m->count = 0;
	return 0;
}

void
qf_pidmap_free(struct qf_pidmap *m)
{
	free(m->buckets);
	m->buckets = NULL;
	m->nbuckets = 0;
	m->count = 0;
}

struct qf_pidnode *
qf_pidmap_get(const struct qf_pidmap *m, uint32_t pid)
{
	struct qf_pidnode *n;

	for (n = m->buckets[slot(m->nbuckets, pid)]; n != NULL; n = n->next)
		if (n->pid == pid)
			return n;
	return NULL;
}

static int
grow(struct qf_pidmap *m)
{
	size_t nb = m->nbuckets * 2, i;
	struct qf_pidnode **b = calloc(nb, sizeof(*b));
	struct qf_pidnode *n, *next;

	if (b == NULL)
		return -ENOMEM;
	for (i = 0; i < m->nbuckets; i++) {
		for (n = m->buckets[i]; n != NULL; n = next) {
			next = n->next;
			n->next = b[slot(nb, n->pid)];
			b[slot(nb, n->pid)] = n;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->nbuckets = nb;
	return 0;
}

int
qf_pidmap_put(struct qf_pidmap *m, struct qf_pidnode *n)
{
	size_t s = slot(m->nbuckets, n->pid);

	n->next = m->buckets[s];
	m->buckets[s] = n;
	m->count++;
	if (m->count > m->nbuckets && m->nbuckets < ((size_t)1 << 24))
		return grow(m);
	return 0;
}

void
qf_pidmap_del(struct qf_pidmap *m, struct qf_pidnode *n)
{
	struct qf_pidnode **pp = &m->buckets[slot(m->nbuckets, n->pid)];

	for (; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == n) {
			*pp = n->next;
			n->next = NULL;
			m->count--;
			return;
		}
	}
}
