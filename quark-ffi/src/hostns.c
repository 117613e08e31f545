// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hostns.h"

/* PROC_PID_INIT_INO: the initial pid namespace's inode, fixed since Linux 3.8 */
#define INIT_PIDNS_INO	0xEFFFFFFCUL

int
qf_check_host_pidns(char *err, size_t errlen)
{
	char self[32];
	struct stat st;
	ssize_t n;

	if (stat("/proc/self/ns/pid", &st) != 0) {
		int e = errno;

		snprintf(err, errlen, "cannot tell our pid namespace: /proc/self/ns/pid: %s "
		    "(quark-ffi needs /proc of the host's pid namespace)", strerror(e));
		return -e;
	}
	if ((unsigned long)st.st_ino != INIT_PIDNS_INO) {
		snprintf(err, errlen, "quark-ffi must run in the host's pid namespace: ours is "
		    "pid:[%lu], the host's is pid:[%lu] (in a container, share the host's: "
		    "docker run --pid=host, Kubernetes hostPID: true)",
		    (unsigned long)st.st_ino, INIT_PIDNS_INO);
		return -EPERM;
	}
	/* /proc must be the host's too: the snapshot reads pids from it */
	n = readlink("/proc/self", self, sizeof(self) - 1);
	if (n <= 0 || (self[n] = 0, strtol(self, NULL, 10) != (long)getpid())) {
		snprintf(err, errlen, "quark-ffi must run in the host's pid namespace: /proc is "
		    "mounted from another pid namespace (/proc/self is '%s', our pid is %d)",
		    n > 0 ? self : "missing", (int)getpid());
		return -EPERM;
	}
	return 0;
}
