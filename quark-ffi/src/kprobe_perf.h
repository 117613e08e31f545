/* SPDX-License-Identifier: Apache-2.0 */
/*
 * perf rings for the kprobe backend: one mmapped ring per CPU, into which
 * every tracepoint/kprobe event of that CPU writes (PERF_EVENT_IOC_SET_OUTPUT).
 * Samples carry pid/tid, a CLOCK_MONOTONIC timestamp, the CPU and the raw
 * trace record.
 */
#ifndef QF_KPROBE_PERF_H
#define QF_KPROBE_PERF_H

#include <stddef.h>
#include <stdint.h>

#include <linux/perf_event.h>

struct kp_ring {
	int cpu;
	int fd;				/* the event whose buffer this is */
	struct perf_event_mmap_page *meta;
	uint8_t *data;
	size_t data_size;		/* power of two */
	size_t map_len;
};

/* What a sample carries, pointing into the record. */
struct kp_sample {
	uint32_t pid, tid;
	uint64_t time;
	uint32_t cpu;
	const uint8_t *raw;
	uint32_t raw_size;
};

/* Opens tracepoint/kprobe event `id` on `cpu`, enabled. Returns an fd or -errno. */
int kp_perf_open(int id, int cpu, uint32_t wakeup_bytes);
/* Makes fd write into the ring of leader_fd (same CPU). 0 or -errno. */
int kp_perf_redirect(int fd, int leader_fd);
/* Maps the ring of r->fd with data_bytes (power of two, multiple of the page size). */
int kp_ring_map(struct kp_ring *r, size_t data_bytes);
void kp_ring_unmap(struct kp_ring *r);

/*
 * Calls fn for every complete record waiting in the ring, with the record
 * copied contiguously (wrapped records are joined), then frees the space.
 * Stops early when fn returns non-zero. Returns the number of records.
 */
typedef int (*kp_record_fn)(void *ctx, const struct perf_event_header *h, size_t len);
long kp_ring_consume(struct kp_ring *r, kp_record_fn fn, void *ctx, uint8_t *scratch,
    size_t scratch_len);

/* Decodes a PERF_RECORD_SAMPLE of our sample_type. 0, or -EINVAL. */
int kp_sample_parse(const struct perf_event_header *h, size_t len, struct kp_sample *s);
/* The count of a PERF_RECORD_LOST record. */
uint64_t kp_lost_count(const struct perf_event_header *h, size_t len);

#endif
