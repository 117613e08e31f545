/* SPDX-License-Identifier: Apache-2.0 */
/* The batch encoder: writes FORMAT.md's bytes from struct qf_proc. */
#ifndef QF_FORMAT_H
#define QF_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "raw.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the batch format is little-endian; add byte swapping for this target"
#endif

/* Bytes the PROCESS record for p would take. */
size_t qf_fmt_record_size(const struct qf_proc *p);
/* Writes the PROCESS record at buf; returns its length or -ENOBUFS. */
int qf_fmt_record(uint8_t *buf, size_t cap, const struct qf_proc *p, uint32_t rec_flags);
/* Writes the batch header at buf (which must hold 32 bytes). */
void qf_fmt_batch_header(uint8_t *buf, uint32_t count, uint32_t total,
    uint32_t flags, uint32_t lost);

#endif
