/* SPDX-License-Identifier: Apache-2.0 */
/*
 * quark-test cases for hostile input and floods (issue 10): a huge argv
 * area, " (deleted)" names, zombies, reused pids, a slow consumer under a
 * flood, options out of range, a stop that must not drop held records.
 * Each case opens its own handle with the options it needs.
 */
#ifndef QF_TEST_HOSTILE_H
#define QF_TEST_HOSTILE_H

#include <stddef.h>
#include <stdint.h>

/* The case's verdict: 0 ok, -1 failed, 1 skipped; why says what happened. */
typedef int (*hostile_fn)(uint32_t backends, char *why, size_t whylen);

struct hostile_case {
	const char *name;
	hostile_fn fn;
};

extern const struct hostile_case hostile_cases[];
extern const size_t hostile_ncases;

#endif
