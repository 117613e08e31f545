// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kprobe_tracefs.h"

#define TRACEFS_DIR	"/sys/kernel/tracing"
#define DEBUGFS_DIR	"/sys/kernel/debug/tracing"

static int
exists(const char *dir, const char *rel)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	return access(path, F_OK) == 0;
}

/* A tracefs instance is there when its "events" directory is. */
static int
mounted(const char *dir)
{
	return exists(dir, "events");
}

int
kp_tracefs_open(struct kp_tracefs *t, char *err, size_t errlen)
{
	static const char *dirs[] = { TRACEFS_DIR, DEBUGFS_DIR };
	size_t i;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if (exists(dirs[i], "kprobe_events")) {
			snprintf(t->dir, sizeof(t->dir), "%s", dirs[i]);
			return 0;
		}
	}
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if (mounted(dirs[i])) {
			snprintf(err, errlen, "kernel has no kprobe_events (CONFIG_KPROBE_EVENTS)");
			return -ENOTSUP;
		}
	}
	/*
	 * Nothing mounted (systemd normally mounts it): do what libtracefs
	 * does and mount tracefs where the kernel expects it.
	 */
	if (mount("nodev", TRACEFS_DIR, "tracefs", 0, NULL) != 0) {
		int r = -errno;

		snprintf(err, errlen, "tracefs is not mounted and mounting it on %s failed: %s",
		    TRACEFS_DIR, strerror(-r));
		return r;
	}
	snprintf(t->dir, sizeof(t->dir), "%s", TRACEFS_DIR);
	t->mounted_by_us = 1;
	if (!exists(t->dir, "kprobe_events")) {
		kp_tracefs_unmount(t);
		snprintf(err, errlen, "kernel has no kprobe_events (CONFIG_KPROBE_EVENTS)");
		return -ENOTSUP;
	}
	return 0;
}

void
kp_tracefs_unmount(struct kp_tracefs *t)
{
	if (t->mounted_by_us && umount2(t->dir, MNT_DETACH) == 0)
		t->mounted_by_us = 0;
}

char *
kp_tracefs_read(const struct kp_tracefs *t, const char *rel)
{
	char path[256], *buf = NULL, *nb;
	size_t len = 0, cap = 0;
	ssize_t n;
	int fd, saved;

	snprintf(path, sizeof(path), "%s/%s", t->dir, rel);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return NULL;
	for (;;) {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 8192;
			nb = realloc(buf, cap);
			if (nb == NULL) {
				free(buf);
				close(fd);
				errno = ENOMEM;
				return NULL;
			}
			buf = nb;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	saved = errno;
	close(fd);
	if (n < 0) {
		free(buf);
		errno = saved;
		return NULL;
	}
	buf[len] = 0;
	return buf;
}

/* The kernel's explanation of the last failed definition, from error_log. */
static void
last_error(const struct kp_tracefs *t, char *out, size_t outlen)
{
	char *log = kp_tracefs_read(t, "error_log"), *p, *line = NULL;
	char *cmd_line, *cmd, *caret_line, *caret;
	size_t used;
	long col;

	out[0] = 0;
	if (log == NULL)
		return;
	/*
	 * An entry: "[ 12.3] trace_kprobe: error: Too long argument", then
	 * "  Command: <the line>", then a caret under the offending argument.
	 */
	for (p = strstr(log, "error: "); p != NULL; p = strstr(p + 1, "error: "))
		line = p;
	if (line == NULL)
		goto out;
	snprintf(out, outlen, "%.*s", (int)strcspn(line, "\n"), line);
	cmd_line = strchr(line, '\n');
	if (cmd_line == NULL || (cmd = strstr(cmd_line + 1, "Command: ")) == NULL)
		goto out;
	cmd += 9;
	caret_line = strchr(cmd, '\n');
	if (caret_line == NULL || (caret = strchr(caret_line + 1, '^')) == NULL)
		goto out;
	col = (long)(caret - (caret_line + 1)) - (long)(cmd - (cmd_line + 1));
	if (col >= 0 && col < (long)(caret_line - cmd)) {
		used = strlen(out);
		snprintf(out + used, outlen - used, " at \"%.*s\"",
		    (int)strcspn(cmd + col, " \n"), cmd + col);
	}
out:
	free(log);
}

int
kp_tracefs_add(const struct kp_tracefs *t, const char *line, char *err, size_t errlen)
{
	char path[256], why[256];
	size_t len = strlen(line);
	ssize_t n;
	int fd, r;

	snprintf(path, sizeof(path), "%s/kprobe_events", t->dir);
	/* O_APPEND: without it the open would clear every kprobe of the system */
	fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd == -1) {
		r = -errno;
		snprintf(err, errlen, "open %s: %s", path, strerror(-r));
		return r;
	}
	n = write(fd, line, len);
	r = n == (ssize_t)len ? 0 : (n < 0 ? -errno : -EIO);
	close(fd);
	if (r != 0) {
		last_error(t, why, sizeof(why));
		snprintf(err, errlen, "%s%s%s", strerror(-r), why[0] ? ": " : "", why);
	}
	return r;
}

int
kp_tracefs_del(const struct kp_tracefs *t, const char *group, const char *event)
{
	char path[256], line[160];
	ssize_t n;
	int fd, r;

	snprintf(path, sizeof(path), "%s/kprobe_events", t->dir);
	fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd == -1)
		return -errno;
	snprintf(line, sizeof(line), "-:%s/%s\n", group, event);
	n = write(fd, line, strlen(line));
	r = n == (ssize_t)strlen(line) ? 0 : (n < 0 ? -errno : -EIO);
	close(fd);
	return r;
}

int
kp_tracefs_event_id(const struct kp_tracefs *t, const char *group, const char *event)
{
	char rel[160], *s, *end;
	long id;

	snprintf(rel, sizeof(rel), "events/%s/%s/id", group, event);
	s = kp_tracefs_read(t, rel);
	if (s == NULL)
		return -errno;
	id = strtol(s, &end, 10);
	free(s);
	if (end == s || id <= 0 || id > 65535)
		return -ERANGE;
	return (int)id;
}

/* "\tfield:u64 a12[64];\toffset:16;\tsize:512;\tsigned:0;" */
static int
parse_field(char *line, struct kp_field *f)
{
	char *decl = strstr(line, "field:"), *semi, *name, *br, *p;

	if (decl == NULL)
		return -1;
	decl += 6;
	semi = strchr(decl, ';');
	if (semi == NULL)
		return -1;
	*semi = 0;
	name = strrchr(decl, ' ');
	name = name != NULL ? name + 1 : decl;
	br = strchr(name, '[');
	if (br != NULL)
		*br = 0;
	snprintf(f->name, sizeof(f->name), "%s", name);
	p = strstr(semi + 1, "offset:");
	if (p == NULL)
		return -1;
	f->offset = atoi(p + 7);
	p = strstr(semi + 1, "size:");
	if (p == NULL)
		return -1;
	f->size = atoi(p + 5);
	return 0;
}

int
kp_tracefs_format(const struct kp_tracefs *t, const char *group, const char *event,
    struct kp_field *out, int max)
{
	char rel[160], *s, *line, *save = NULL;
	int n = 0;

	snprintf(rel, sizeof(rel), "events/%s/%s/format", group, event);
	s = kp_tracefs_read(t, rel);
	if (s == NULL)
		return -errno;
	for (line = strtok_r(s, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		if (n == max)
			break;
		if (parse_field(line, &out[n]) == 0)
			n++;
	}
	free(s);
	return n;
}
