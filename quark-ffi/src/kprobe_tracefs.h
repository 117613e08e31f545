/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tracefs for the kprobe backend: where it is, defining and removing
 * kprobes through kprobe_events, and reading an event's id and format.
 */
#ifndef QF_KPROBE_TRACEFS_H
#define QF_KPROBE_TRACEFS_H

#include <stddef.h>

struct kp_tracefs {
	char dir[64];		/* "/sys/kernel/tracing" or "/sys/kernel/debug/tracing" */
	int mounted_by_us;	/* we mounted tracefs on dir (it was not mounted) */
};

/* One field of an event's format file. */
struct kp_field {
	char name[40];
	int offset;
	int size;
};

/*
 * Finds tracefs (mounting it on /sys/kernel/tracing when it is not mounted
 * anywhere) and checks it has kprobe_events. -errno with the reason in err.
 */
int kp_tracefs_open(struct kp_tracefs *t, char *err, size_t errlen);
/* Unmounts tracefs if kp_tracefs_open() mounted it. */
void kp_tracefs_unmount(struct kp_tracefs *t);

/* Appends one definition to kprobe_events; on failure err carries the kernel's error_log line. */
int kp_tracefs_add(const struct kp_tracefs *t, const char *line, char *err, size_t errlen);
/* Removes GROUP/EVENT from kprobe_events. 0, or -errno (-ENOENT when not defined). */
int kp_tracefs_del(const struct kp_tracefs *t, const char *group, const char *event);
/* The whole of a tracefs file (NUL-terminated, caller frees), or NULL with errno. */
char *kp_tracefs_read(const struct kp_tracefs *t, const char *rel);
/* The id of events/GROUP/EVENT, or -errno. */
int kp_tracefs_event_id(const struct kp_tracefs *t, const char *group, const char *event);
/* Parses events/GROUP/EVENT/format into out (at most max). Returns the count or -errno. */
int kp_tracefs_format(const struct kp_tracefs *t, const char *group, const char *event,
    struct kp_field *out, int max);

#endif
