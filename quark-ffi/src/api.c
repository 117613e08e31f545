// SPDX-License-Identifier: Apache-2.0
/*
 * The public API (include/quark_ffi.h): a handle ties one backend, the
 * aggregator, the cache and the counters together behind one mutex.
 *
 * qf_poll() holds the mutex while it drains the backend and encodes, and
 * drops it while it sleeps, so qf_stats()/qf_lookup() from other threads
 * wait at most one drain. qf_close() wakes a sleeping poll through an
 * eventfd and waits for it to leave before freeing.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "hostns.h"
#include "quark_ffi.h"
#include "aggregate.h"
#include "backend.h"
#include "cache.h"
#include "format.h"
#include "snapshot.h"

#define QF_EXPORT	__attribute__((visibility("default")))
#define DRAIN_BATCH	4096	/* raw events per drain before encoding again */

struct qf_handle {
	pthread_mutex_t mu;
	pthread_cond_t idle;
	int closing;
	int pollers;
	const struct qf_backend_ops *ops;
	void *bstate;
	struct qf_options opts;
	struct qf_stats st;
	struct qf_cache cache;
	struct qf_agg agg;
	int epfd;
	int wakefd;
	uint64_t lost_reported;
};

static uint64_t
now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

QF_EXPORT void
qf_options_init(struct qf_options *o)
{
	memset(o, 0, sizeof(*o));
	o->size = sizeof(*o);
	o->backends = QF_BACKEND_ALL;
	o->flags = QF_OPT_SNAPSHOT;
	o->hold_time_ms = QF_DEFAULT_HOLD_MS;
	o->ring_bytes = QF_DEFAULT_RING_BYTES;
	o->max_cache = QF_DEFAULT_MAX_CACHE;
	o->max_pending = QF_DEFAULT_MAX_PENDING;
	o->cache_grace_ms = QF_DEFAULT_GRACE_MS;
	o->max_cache_mib = QF_DEFAULT_CACHE_MIB;
	o->max_pending_mib = QF_DEFAULT_PENDING_MIB;
	o->snapshot_ms = QF_DEFAULT_SNAPSHOT_MS;
}

/* Refuses a value above its limit, naming the field. */
static int
over(const char *field, uint64_t v, uint64_t limit, char *err, size_t errlen)
{
	if (v <= limit)
		return 0;
	snprintf(err, errlen, "qf_options.%s %llu is above the limit %llu", field,
	    (unsigned long long)v, (unsigned long long)limit);
	return -EINVAL;
}

/* Defaults for what the caller left at zero (or did not know about). */
static int
normalize(const struct qf_options *in, struct qf_options *out, char *err, size_t errlen)
{
	qf_options_init(out);
	if (in == NULL)
		return 0;
	if (in->size < offsetof(struct qf_options, ring_bytes)) {
		snprintf(err, errlen, "qf_options.size %u is too small (expected %zu)",
		    in->size, sizeof(*in));
		return -EINVAL;
	}
	memcpy(out, in, in->size < sizeof(*out) ? in->size : sizeof(*out));
	out->size = sizeof(*out);
	if (out->backends == 0)
		out->backends = QF_BACKEND_ALL;
	if (out->backends & ~QF_BACKEND_ALL) {
		snprintf(err, errlen, "qf_options.backends 0x%x has unknown bits", out->backends);
		return -EINVAL;
	}
	if (out->hold_time_ms < 0)
		out->hold_time_ms = QF_DEFAULT_HOLD_MS;
	if (out->ring_bytes == 0)
		out->ring_bytes = QF_DEFAULT_RING_BYTES;
	if (out->max_cache == 0)
		out->max_cache = QF_DEFAULT_MAX_CACHE;
	if (out->max_pending == 0)
		out->max_pending = QF_DEFAULT_MAX_PENDING;
	if (out->cache_grace_ms == 0)
		out->cache_grace_ms = QF_DEFAULT_GRACE_MS;
	if (out->max_cache_mib == 0)
		out->max_cache_mib = QF_DEFAULT_CACHE_MIB;
	if (out->max_pending_mib == 0)
		out->max_pending_mib = QF_DEFAULT_PENDING_MIB;
	if (out->snapshot_ms == 0)
		out->snapshot_ms = QF_DEFAULT_SNAPSHOT_MS;
	if (out->reserved != 0) {
		snprintf(err, errlen, "qf_options.reserved must be 0, not %u", out->reserved);
		return -EINVAL;
	}
	if (over("hold_time_ms", (uint64_t)out->hold_time_ms, QF_LIMIT_HOLD_MS, err, errlen) ||
	    over("ring_bytes", out->ring_bytes, QF_LIMIT_RING_BYTES, err, errlen) ||
	    over("max_cache", out->max_cache, QF_LIMIT_MAX_CACHE, err, errlen) ||
	    over("max_pending", out->max_pending, QF_LIMIT_MAX_PENDING, err, errlen) ||
	    over("cache_grace_ms", out->cache_grace_ms, QF_LIMIT_GRACE_MS, err, errlen) ||
	    over("max_cache_mib", out->max_cache_mib, QF_LIMIT_MIB, err, errlen) ||
	    over("max_pending_mib", out->max_pending_mib, QF_LIMIT_MIB, err, errlen) ||
	    over("snapshot_ms", out->snapshot_ms, QF_LIMIT_SNAPSHOT_MS, err, errlen))
		return -EINVAL;
	return 0;
}

static void
sink(void *ctx, const struct qf_raw *raw)
{
	struct qf_handle *h = ctx;

	h->st.raw_events++;
	qf_agg_event(&h->agg, raw, now_mono());
}

static void
teardown(struct qf_handle *h)
{
	if (h->ops != NULL && h->bstate != NULL)
		h->ops->close(h->bstate);
	qf_agg_free(&h->agg);
	qf_cache_free(&h->cache);
	if (h->epfd != -1)
		close(h->epfd);
	if (h->wakefd != -1)
		close(h->wakefd);
	pthread_cond_destroy(&h->idle);
	pthread_mutex_destroy(&h->mu);
	free(h);
}

static int
open_backend(struct qf_handle *h, char *err, size_t errlen)
{
	static const struct qf_backend_ops *order[] = { &qf_bpf_backend, &qf_kprobe_backend };
	static const uint32_t bits[] = { QF_BACKEND_EBPF, QF_BACKEND_KPROBE };
	char why[512];
	size_t used = 0;
	int r = -ENODEV;
	size_t i;

	if (errlen > 0)
		err[0] = 0;
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		if (!(h->opts.backends & bits[i]))
			continue;
		why[0] = 0;
		r = order[i]->open(&h->opts, sink, h, &h->bstate, why, sizeof(why));
		if (r == 0) {
			h->ops = order[i];
			h->st.backend = order[i]->source;
			return 0;
		}
		if (used < errlen) {
			int n = snprintf(err + used, errlen - used, "%s%s: %s",
			    used ? "; " : "", order[i]->name, why);
			if (n > 0)
				used += (size_t)n;
		}
	}
	return r;
}

QF_EXPORT struct qf_handle *
qf_open(const struct qf_options *opts, char *err, size_t errlen)
{
	struct epoll_event ev;
	struct qf_handle *h;
	char dummy[1];
	int r;

	if (err == NULL || errlen == 0) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	err[0] = 0;
	h = calloc(1, sizeof(*h));
	if (h == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	h->epfd = h->wakefd = -1;
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->idle, NULL);
	h->st.size = sizeof(h->st);
	h->st.version = QF_STATS_VERSION;
	if (normalize(opts, &h->opts, err, errlen) != 0)
		goto fail_early;
	if (qf_cache_init(&h->cache, h->opts.max_cache, (size_t)h->opts.max_cache_mib << 20,
	    (uint64_t)h->opts.cache_grace_ms * 1000000ULL, &h->st) != 0) {
		snprintf(err, errlen, "out of memory");
		goto fail_early;
	}
	if (qf_agg_init(&h->agg, (uint64_t)h->opts.hold_time_ms * 1000000ULL,
	    h->opts.max_pending, (size_t)h->opts.max_pending_mib << 20, &h->cache, &h->st) != 0) {
		snprintf(err, errlen, "out of memory");
		qf_cache_free(&h->cache);
		goto fail_early;
	}
	if (qf_check_host_pidns(err, errlen) != 0 || open_backend(h, err, errlen) != 0)
		goto fail;

	h->epfd = epoll_create1(EPOLL_CLOEXEC);
	h->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (h->epfd == -1 || h->wakefd == -1) {
		snprintf(err, errlen, "epoll/eventfd: %s", strerror(errno));
		goto fail;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.fd = h->ops->fd(h->bstate);
	if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, ev.data.fd, &ev) == -1) {
		snprintf(err, errlen, "epoll_ctl(backend): %s", strerror(errno));
		goto fail;
	}
	ev.data.fd = h->wakefd;
	if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, h->wakefd, &ev) == -1) {
		snprintf(err, errlen, "epoll_ctl(eventfd): %s", strerror(errno));
		goto fail;
	}
	/* the backend is attached: from now on no process can slip between */
	r = qf_snapshot_scan(&h->agg, (h->opts.flags & QF_OPT_SNAPSHOT) != 0, now_mono(),
	    (uint64_t)h->opts.snapshot_ms * 1000000ULL, NULL);
	if (r != 0) {
		snprintf(err, errlen, "scraping /proc: %s", strerror(-r));
		goto fail;
	}
	return h;

fail:
	teardown(h);
	return NULL;
fail_early:
	pthread_cond_destroy(&h->idle);
	pthread_mutex_destroy(&h->mu);
	free(h);
	return NULL;
}

static void
refresh_counters(struct qf_handle *h)
{
	struct qf_backend_counters c;

	memset(&c, 0, sizeof(c));
	h->ops->counters(h->bstate, &c);
	h->st.ring_lost = c.ring_lost;
	h->st.decode_errors = c.decode_errors;
	h->st.truncated = c.truncated;
	h->st.out_of_order = c.out_of_order;
	h->st.kernel_skipped = c.kernel_skipped;
	h->st.lost = c.ring_lost + c.decode_errors + c.kernel_skipped;
	h->st.cache_entries = h->cache.map.count;
	h->st.pending = h->agg.nheld + h->agg.nready;
	h->st.pending_bytes = h->agg.bytes;
	h->st.cache_bytes = h->cache.bytes;
	h->st.hold_time_ms = qf_agg_target_hold(&h->agg) / 1000000;
}

/* Encodes ready records (and the loss since the last batch). 0: nothing to say. */
static int
encode_ready(struct qf_handle *h, uint8_t *buf, size_t buflen)
{
	uint64_t delta = h->st.lost - h->lost_reported;
	size_t off = sizeof(struct qf_batch_header);
	uint32_t count = 0, flags = 0;
	struct qf_rec *r;
	int w;

	if (buflen > INT_MAX)
		buflen = INT_MAX;
	if (qf_agg_ready_head(&h->agg) == NULL && delta == 0)
		return 0;
	while ((r = qf_agg_ready_head(&h->agg)) != NULL) {
		w = qf_fmt_record(buf + off, buflen - off, &r->p, r->flags);
		if (w < 0) {
			if (count == 0 && delta == 0)
				return -ENOBUFS;
			flags |= QF_BATCH_F_MORE;
			break;
		}
		off += (size_t)w;
		count++;
		qf_rec_free(qf_agg_ready_pop(&h->agg));
		h->st.records_out++;
	}
	qf_fmt_batch_header(buf, count, (uint32_t)off, flags,
	    delta > UINT32_MAX ? UINT32_MAX : (uint32_t)delta);
	h->lost_reported += delta;
	return (int)off;
}

/*
 * Sleeps until the backend has events (only when we may take them: with no
 * room, the ring's readiness would wake us at once, again and again), a
 * qf_close()/qf_flush() wake-up, or wait_ns.
 */
static int
wait_events(struct qf_handle *h, uint64_t wait_ns, int backend)
{
	struct pollfd pfd = { .fd = h->epfd, .events = POLLIN };
	uint64_t ms = (wait_ns + 999999) / 1000000;
	uint64_t junk;
	int n;

	if (ms > INT_MAX)
		ms = INT_MAX;
	if (!backend)
		pfd.fd = h->wakefd;
	n = poll(&pfd, 1, (int)ms);
	if (n == -1)
		return errno == EINTR ? 0 : -errno;
	while (read(h->wakefd, &junk, sizeof(junk)) > 0)
		;
	return 0;
}

/*
 * How many raw events one drain may take: no more than the held and ready
 * records leave room for (the rest stays in the ring, which drops and counts
 * what does not fit), nor than one buffer can deliver.
 */
static int
drain_budget(const struct qf_handle *h, size_t buflen)
{
	size_t n = qf_agg_room(&h->agg), fit = buflen / sizeof(struct qf_process_fixed) + 1;

	if (n > fit)
		n = fit;
	return n > DRAIN_BATCH ? DRAIN_BATCH : (int)n;
}

QF_EXPORT int
qf_poll(struct qf_handle *h, uint8_t *buf, size_t buflen, int timeout_ms)
{
	uint64_t start = now_mono(), now, due, wait_ns, deadline;
	int r = 0, n, max;

	if (h == NULL || buf == NULL || buflen < sizeof(struct qf_batch_header))
		return -EINVAL;
	deadline = timeout_ms < 0 ? UINT64_MAX : start + (uint64_t)timeout_ms * 1000000ULL;
	pthread_mutex_lock(&h->mu);
	if (h->closing) {
		pthread_mutex_unlock(&h->mu);
		return -ECANCELED;
	}
	h->pollers++;
	for (;;) {
		if (h->closing) {
			r = -ECANCELED;
			break;
		}
		max = drain_budget(h, buflen);
		n = max > 0 ? h->ops->drain(h->bstate, max) : 0;
		if (n < 0) {
			r = n;
			break;
		}
		now = now_mono();
		qf_cache_gc(&h->cache, now);
		qf_agg_release(&h->agg, now);
		refresh_counters(h);
		r = encode_ready(h, buf, buflen);
		if (r != 0)
			break;
		if (max > 0 && n == max)
			continue;	/* more is waiting: read it before sleeping */
		if (now >= deadline)
			break;
		due = qf_agg_next_due(&h->agg, now);
		wait_ns = deadline == UINT64_MAX ? due : deadline - now;
		if (due < wait_ns)
			wait_ns = due;
		pthread_mutex_unlock(&h->mu);
		r = wait_events(h, wait_ns == UINT64_MAX ? (uint64_t)INT_MAX * 1000000ULL : wait_ns,
		    drain_budget(h, buflen) > 0);
		pthread_mutex_lock(&h->mu);
		if (r != 0)
			break;
	}
	h->pollers--;
	if (h->closing && h->pollers == 0)
		pthread_cond_broadcast(&h->idle);
	pthread_mutex_unlock(&h->mu);
	return r;
}

QF_EXPORT int
qf_flush(struct qf_handle *h)
{
	uint64_t one = 1;
	int n;

	if (h == NULL)
		return -EINVAL;
	pthread_mutex_lock(&h->mu);
	qf_agg_flush(&h->agg);
	n = (int)(h->agg.nheld + h->agg.nready);
	/* a poll asleep waiting for the hold time must look again now */
	if (write(h->wakefd, &one, sizeof(one)) < 0) {
		/* the counter cannot overflow with one write; nothing to do */
	}
	pthread_mutex_unlock(&h->mu);
	return n;
}

QF_EXPORT int
qf_stats(struct qf_handle *h, uint8_t *out, size_t outlen)
{
	size_t n;

	if (h == NULL || out == NULL)
		return -EINVAL;
	pthread_mutex_lock(&h->mu);
	refresh_counters(h);
	n = outlen < sizeof(h->st) ? outlen : sizeof(h->st);
	h->st.size = (uint32_t)n;
	memcpy(out, &h->st, n);
	pthread_mutex_unlock(&h->mu);
	return (int)n;
}

QF_EXPORT int
qf_lookup(struct qf_handle *h, int32_t pid, uint8_t *buf, size_t buflen)
{
	size_t off = sizeof(struct qf_batch_header);
	struct qf_centry *e;
	uint32_t flags;
	int w;

	if (h == NULL || buf == NULL || pid <= 0 || buflen < off)
		return -EINVAL;
	if (buflen > INT_MAX)
		buflen = INT_MAX;
	pthread_mutex_lock(&h->mu);
	e = qf_cache_get(&h->cache, (uint32_t)pid);
	if (e == NULL) {
		pthread_mutex_unlock(&h->mu);
		return -ENOENT;
	}
	flags = QF_REC_LOOKUP | (e->exited ? QF_REC_EXIT : 0);
	w = qf_fmt_record(buf + off, buflen - off, &e->p, flags);
	pthread_mutex_unlock(&h->mu);
	if (w < 0)
		return w;
	off += (size_t)w;
	qf_fmt_batch_header(buf, 1, (uint32_t)off, QF_BATCH_F_LOOKUP, 0);
	return (int)off;
}

QF_EXPORT const char *
qf_backend(struct qf_handle *h)
{
	return h != NULL && h->ops != NULL ? h->ops->name : "none";
}

QF_EXPORT int
qf_format_version(void)
{
	return QF_FORMAT_VERSION;
}

QF_EXPORT void
qf_close(struct qf_handle *h)
{
	uint64_t one = 1;

	if (h == NULL)
		return;
	pthread_mutex_lock(&h->mu);
	h->closing = 1;
	if (h->wakefd != -1 && write(h->wakefd, &one, sizeof(one)) < 0) {
		/* the counter cannot overflow with one write; nothing to do */
	}
	while (h->pollers > 0)
		pthread_cond_wait(&h->idle, &h->mu);
	pthread_mutex_unlock(&h->mu);
	teardown(h);
}
