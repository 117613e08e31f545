/* SPDX-License-Identifier: Apache-2.0 */
/* The one clock of the C tests' deadlines (cases, watchdog, diagnosis limits). */
#ifndef QF_TEST_CLOCK_MS_H
#define QF_TEST_CLOCK_MS_H

#include <stdint.h>
#include <time.h>

/* CLOCK_MONOTONIC in milliseconds. */
static inline uint64_t
tclock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

#endif
