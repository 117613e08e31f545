/* SPDX-License-Identifier: Apache-2.0 */
/*
 * count-consumer: the cheapest possible user of quark-ffi, the yardstick of the
 * side-by-side benchmark (bench/side-by-side.ts). It opens the library with the
 * options procbeat uses, polls, and only counts: every record, and the records
 * whose argv[1] equals --tag (the benchmark's workload), complete or not. It
 * decodes no more of a record than that, so what it costs is what the library
 * and the kernel cost.
 *
 *   count-consumer [--tag T] [--hold-ms N] [--ring-bytes N] [--max-cache N] [--no-snapshot]
 *
 * Prints "ready <backend>" once open, "tagged <n>" whenever that count changes
 * (at most every 100 ms), and one JSON line of totals when SIGINT/SIGTERM stops it.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "quark_ffi.h"

#define POLL_BUF_BYTES	(4u * 1024u * 1024u)
#define POLL_TIMEOUT_MS	100
#define TAG_MAX		256u

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

struct counts {
	unsigned long long batches, records, tagged, tagged_complete, tagged_exit, lost;
};

static uint32_t
rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint16_t
rd16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* True when the ARGV item of the record in [rec, rec + len) has argv[1] == tag. */
static int
has_tag(const uint8_t *rec, uint32_t len, const char *tag, size_t taglen)
{
	uint32_t off = rd16(rec + 6);	/* fixed_size: the first item */

	while (off + sizeof(struct qf_item_header) <= len) {
		const uint8_t *it = rec + off;
		uint32_t ilen = rd32(it + 4);
		uint32_t total = QF_ALIGN_UP((uint32_t)sizeof(struct qf_item_header) + ilen);

		if (total > len - off)
			return 0;
		if (rd16(it) == QF_ITEM_ARGV) {
			const char *a = (const char *)it + sizeof(struct qf_item_header);
			const char *nul = memchr(a, '\0', ilen);

			if (nul == NULL)
				return 0;
			size_t rest = ilen - (size_t)(nul + 1 - a);
			return rest >= taglen && memcmp(nul + 1, tag, taglen) == 0 &&
			    (rest == taglen || nul[1 + taglen] == '\0');
		}
		off += total;
	}
	return 0;
}

static int
count_batch(const uint8_t *buf, size_t n, const char *tag, size_t taglen, struct counts *c)
{
	if (n < sizeof(struct qf_batch_header) || rd32(buf) != QF_FORMAT_MAGIC)
		return -1;
	uint32_t nrec = rd32(buf + 8);
	uint32_t total = rd32(buf + 12);
	uint32_t off = rd16(buf + 6);

	if (total > n)
		return -1;
	c->batches++;
	c->lost += rd32(buf + 20);
	for (uint32_t i = 0; i < nrec; i++) {
		if (off + sizeof(struct qf_record_header) > total)
			return -1;
		const uint8_t *rec = buf + off;
		uint32_t len = rd32(rec);

		if (len < sizeof(struct qf_record_header) || len > total - off)
			return -1;
		c->records++;
		if (taglen > 0 && has_tag(rec, len, tag, taglen)) {
			uint32_t flags = rd32(rec + 8);

			c->tagged++;
			if (flags & QF_REC_COMPLETE)
				c->tagged_complete++;
			if (flags & QF_REC_EXIT)
				c->tagged_exit++;
		}
		off += len;
	}
	return 0;
}

static long
arg_num(const char *name, const char *v)
{
	char *end;
	long n = strtol(v, &end, 10);

	if (*v == '\0' || *end != '\0' || n < 0) {
		fprintf(stderr, "count-consumer: %s wants a non-negative integer, got \"%s\"\n", name, v);
		exit(2);
	}
	return n;
}

int
main(int argc, char **argv)
{
	struct qf_options opts;
	const char *tag = "";
	char err[1024];
	struct counts c = { 0 };
	unsigned long long reported = 0;
	struct timespec last = { 0 }, now;

	qf_options_init(&opts);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--no-snapshot") == 0) {
			opts.flags &= ~QF_OPT_SNAPSHOT;
			continue;
		}
		if (v == NULL) {
			fprintf(stderr, "count-consumer: %s wants a value\n", a);
			return 2;
		}
		i++;
		if (strcmp(a, "--tag") == 0)
			tag = v;
		else if (strcmp(a, "--hold-ms") == 0)
			opts.hold_time_ms = (int32_t)arg_num(a, v);
		else if (strcmp(a, "--ring-bytes") == 0)
			opts.ring_bytes = (uint32_t)arg_num(a, v);
		else if (strcmp(a, "--max-cache") == 0)
			opts.max_cache = (uint32_t)arg_num(a, v);
		else {
			fprintf(stderr, "count-consumer: unknown option %s\n", a);
			return 2;
		}
	}
	size_t taglen = strnlen(tag, TAG_MAX + 1);
	if (taglen > TAG_MAX) {
		fprintf(stderr, "count-consumer: --tag longer than %u bytes\n", TAG_MAX);
		return 2;
	}

	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	struct qf_handle *h = qf_open(&opts, err, sizeof(err));
	if (h == NULL) {
		fprintf(stderr, "count-consumer: %s\n", err);
		return 1;
	}
	uint8_t *buf = malloc(POLL_BUF_BYTES);
	if (buf == NULL) {
		qf_close(h);
		fprintf(stderr, "count-consumer: out of memory\n");
		return 1;
	}
	printf("ready %s\n", qf_backend(h));
	fflush(stdout);

	int rc = 0;
	while (!stop) {
		int n = qf_poll(h, buf, POLL_BUF_BYTES, POLL_TIMEOUT_MS);

		if (n < 0) {
			if (n == -EINTR)
				continue;
			fprintf(stderr, "count-consumer: qf_poll: %s\n", strerror(-n));
			rc = 1;
			break;
		}
		if (n > 0 && count_batch(buf, (size_t)n, tag, taglen, &c) != 0) {
			fprintf(stderr, "count-consumer: malformed batch of %d bytes\n", n);
			rc = 1;
			break;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		long ms = (now.tv_sec - last.tv_sec) * 1000 + (now.tv_nsec - last.tv_nsec) / 1000000;
		if (c.tagged != reported && ms >= 100) {
			printf("tagged %llu\n", c.tagged);
			fflush(stdout);
			reported = c.tagged;
			last = now;
		}
	}
	printf("tagged %llu\n", c.tagged);
	printf("{\"backend\":\"%s\",\"batches\":%llu,\"records\":%llu,\"tagged\":%llu,"
	    "\"tagged_complete\":%llu,\"tagged_exit\":%llu,\"lost\":%llu}\n",
	    qf_backend(h), c.batches, c.records, c.tagged, c.tagged_complete, c.tagged_exit, c.lost);
	fflush(stdout);
	free(buf);
	qf_close(h);
	return rc;
}
