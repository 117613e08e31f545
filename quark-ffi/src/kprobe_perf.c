// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "kprobe_perf.h"

#define SAMPLE_TYPE	(PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_CPU | PERF_SAMPLE_RAW)

int
kp_perf_open(int id, int cpu, uint32_t wakeup_bytes)
{
	struct perf_event_attr a;
	long fd;

	memset(&a, 0, sizeof(a));
	a.type = PERF_TYPE_TRACEPOINT;
	a.size = sizeof(a);
	a.config = (uint64_t)id;
	a.sample_period = 1;
	a.sample_type = SAMPLE_TYPE;
	/*
	 * Tracepoint events only take an NMI-safe clock, so not CLOCK_BOOTTIME
	 * (the clock of start_boottime and of the batch format's times): the
	 * backend adds the boottime - monotonic offset when it reads.
	 */
	a.use_clockid = 1;
	a.clockid = CLOCK_MONOTONIC;
	/* wake the reader per chunk of data, not per sample; drain() also runs on a timer */
	a.watermark = 1;
	a.wakeup_watermark = wakeup_bytes;
	fd = syscall(__NR_perf_event_open, &a, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0)
		return -errno;
	return (int)fd;
}

int
kp_perf_redirect(int fd, int leader_fd)
{
	if (ioctl(fd, PERF_EVENT_IOC_SET_OUTPUT, leader_fd) == -1)
		return -errno;
	return 0;
}

int
kp_ring_map(struct kp_ring *r, size_t data_bytes)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	void *m;

	r->map_len = page + data_bytes;
	m = mmap(NULL, r->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
	if (m == MAP_FAILED) {
		r->meta = NULL;
		return -errno;
	}
	r->meta = m;
	r->data = (uint8_t *)m + page;
	r->data_size = data_bytes;
	return 0;
}

void
kp_ring_unmap(struct kp_ring *r)
{
	if (r->meta != NULL)
		munmap(r->meta, r->map_len);
	r->meta = NULL;
}

long
kp_ring_consume(struct kp_ring *r, kp_record_fn fn, void *ctx, uint8_t *scratch,
    size_t scratch_len)
{
	uint64_t head, tail;
	size_t mask = r->data_size - 1, off, size, first;
	const struct perf_event_header *h;
	long n = 0;
	int stop = 0;

	if (r->meta == NULL)
		return 0;
	head = __atomic_load_n(&r->meta->data_head, __ATOMIC_ACQUIRE);
	tail = r->meta->data_tail;
	while (!stop && head - tail >= sizeof(*h)) {
		off = (size_t)(tail & mask);
		/* records are 8-aligned and the size a power of two: a header never wraps */
		h = (const struct perf_event_header *)(r->data + off);
		size = h->size;
		if (size < sizeof(*h) || size > head - tail)
			break;
		if (off + size <= r->data_size) {
			stop = fn(ctx, h, size);
		} else if (size <= scratch_len) {
			first = r->data_size - off;
			memcpy(scratch, r->data + off, first);
			memcpy(scratch + first, r->data, size - first);
			stop = fn(ctx, (const struct perf_event_header *)scratch, size);
		}
		tail += size;
		n++;
	}
	__atomic_store_n(&r->meta->data_tail, tail, __ATOMIC_RELEASE);
	return n;
}

int
kp_sample_parse(const struct perf_event_header *h, size_t len, struct kp_sample *s)
{
	const uint8_t *p = (const uint8_t *)(h + 1), *end = (const uint8_t *)h + len;
	uint32_t cpu_res[2];

	if (h->type != PERF_RECORD_SAMPLE || (size_t)(end - p) < 8 + 8 + 8 + 4)
		return -EINVAL;
	memcpy(&s->pid, p, 4);
	memcpy(&s->tid, p + 4, 4);
	memcpy(&s->time, p + 8, 8);
	memcpy(cpu_res, p + 16, 8);
	s->cpu = cpu_res[0];
	memcpy(&s->raw_size, p + 24, 4);
	s->raw = p + 28;
	if (s->raw_size > (size_t)(end - s->raw))
		return -EINVAL;
	return 0;
}

uint64_t
kp_lost_count(const struct perf_event_header *h, size_t len)
{
	uint64_t lost;

	/* header, u64 id, u64 lost */
	if (len < sizeof(*h) + 16)
		return 0;
	memcpy(&lost, (const uint8_t *)(h + 1) + 8, 8);
	return lost;
}
