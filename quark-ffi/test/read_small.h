/* SPDX-License-Identifier: Apache-2.0 */
/* The one reader of the C tests' small files (/proc/<pid>/stat, status, wchan, stack). */
#ifndef QF_TEST_READ_SMALL_H
#define QF_TEST_READ_SMALL_H

#include <fcntl.h>
#include <stddef.h>
#include <sys/types.h>
#include <unistd.h>

/*
 * Reads `path` into buf, at most cap - 1 bytes, and NUL-terminates it. Returns the
 * length, or -1 (errno from open) when the file cannot be opened.
 */
static inline ssize_t
tread_small(const char *path, char *buf, size_t cap)
{
	size_t got = 0;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return -1;
	while (got + 1 < cap && (n = read(fd, buf + got, cap - 1 - got)) > 0)
		got += (size_t)n;
	close(fd);
	buf[got] = 0;
	return (ssize_t)got;
}

#endif
