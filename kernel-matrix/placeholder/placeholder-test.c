/*
 * Stand-in for quark-ffi's quark-test while that program is not built yet.
 *
 * It speaks the same protocol (`-b ebpf|kprobe`, one `ok` / `not ok` / `skip`
 * line per case, a closing `N passed, N failed, N skipped` line, exit status 0
 * only without failures), so the kernel matrix can be proven end to end before
 * the real library lands. The cases are small but real: each one makes the
 * kernel do the thing a backend depends on, not just look for a file.
 *
 * Built statically so it runs inside a bare initramfs:
 *   gcc -static -O2 -Wall -o placeholder-test placeholder-test.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int passed, failed, skipped;

static void report(const char *status, const char *name, const char *fmt, ...)
{
	char why[512] = "";
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(why, sizeof(why), fmt, ap);
		va_end(ap);
	}
	if (strcmp(status, "ok") == 0) {
		passed++;
		printf("ok %s\n", name);
	} else if (strcmp(status, "skip") == 0) {
		skipped++;
		printf("skip %s: %s\n", name, why);
	} else {
		failed++;
		printf("not ok %s: %s\n", name, why);
	}
	fflush(stdout);
}

static long sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

/* Forks a child that exits at once and reaps it: the event every case waits for. */
static int fork_and_reap(void)
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0)
		_exit(0);
	int status;
	return waitpid(pid, &status, 0) == pid ? 0 : -1;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---------------------------------------------------------------- ebpf */

static void test_btf_vmlinux(void)
{
	struct stat st;
	if (stat("/sys/kernel/btf/vmlinux", &st) != 0)
		report("not ok", "btf_vmlinux", "/sys/kernel/btf/vmlinux: %s (kernel without CONFIG_DEBUG_INFO_BTF?)", strerror(errno));
	else if (st.st_size == 0)
		/* sysfs reports size 0 for most files, but the BTF blob has its real size */
		report("not ok", "btf_vmlinux", "/sys/kernel/btf/vmlinux is empty");
	else
		report("ok", "btf_vmlinux", NULL);
}

static int create_ringbuf(unsigned size)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.map_type = BPF_MAP_TYPE_RINGBUF;
	a.max_entries = size;
	return (int)sys_bpf(BPF_MAP_CREATE, &a);
}

static void test_ringbuf_map(void)
{
	int fd = create_ringbuf(64 * 1024);
	if (fd < 0) {
		report("not ok", "ringbuf_map", "BPF_MAP_CREATE(RINGBUF): %s", strerror(errno));
		return;
	}
	close(fd);
	report("ok", "ringbuf_map", NULL);
}

/*
 * A raw_tp program on sched_process_fork that writes 8 bytes into a ring buffer:
 * proves that a tracepoint-type program loads, attaches and delivers records
 * to user space on this kernel, which is what the eBPF backend is built on.
 */
static void test_raw_tp_ringbuf_fork(void)
{
	const char *name = "raw_tp_ringbuf_fork";
	const unsigned size = 64 * 1024;
	long page = sysconf(_SC_PAGESIZE);
	int map = create_ringbuf(size);
	if (map < 0) {
		report("not ok", name, "BPF_MAP_CREATE(RINGBUF): %s", strerror(errno));
		return;
	}

	struct bpf_insn insns[] = {
		/* *(u64 *)(r10 - 8) = 1 */
		{ .code = BPF_ST | BPF_MEM | BPF_DW, .dst_reg = BPF_REG_10, .off = -8, .imm = 1 },
		/* r1 = map (two-slot ld_imm64 with the map's fd) */
		{ .code = BPF_LD | BPF_DW | BPF_IMM, .dst_reg = BPF_REG_1, .src_reg = BPF_PSEUDO_MAP_FD, .imm = map },
		{ 0 },
		/* r2 = r10 - 8 */
		{ .code = BPF_ALU64 | BPF_MOV | BPF_X, .dst_reg = BPF_REG_2, .src_reg = BPF_REG_10 },
		{ .code = BPF_ALU64 | BPF_ADD | BPF_K, .dst_reg = BPF_REG_2, .imm = -8 },
		/* r3 = 8, r4 = 0 */
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_3, .imm = 8 },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_4, .imm = 0 },
		{ .code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_ringbuf_output },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	static char log[8192];
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_RAW_TRACEPOINT;
	a.insns = (uintptr_t)insns;
	a.insn_cnt = sizeof(insns) / sizeof(insns[0]);
	a.license = (uintptr_t)"GPL";
	a.log_buf = (uintptr_t)log;
	a.log_size = sizeof(log);
	a.log_level = 1;
	int prog = (int)sys_bpf(BPF_PROG_LOAD, &a);
	if (prog < 0) {
		char *nl;
		while ((nl = strchr(log, '\n')))
			*nl = ' ';
		report("not ok", name, "BPF_PROG_LOAD(raw_tp): %s; verifier: %.300s", strerror(errno), log);
		close(map);
		return;
	}

	memset(&a, 0, sizeof(a));
	a.raw_tracepoint.name = (uintptr_t)"sched_process_fork";
	a.raw_tracepoint.prog_fd = prog;
	int link = (int)sys_bpf(BPF_RAW_TRACEPOINT_OPEN, &a);
	if (link < 0) {
		report("not ok", name, "BPF_RAW_TRACEPOINT_OPEN(sched_process_fork): %s", strerror(errno));
		close(prog);
		close(map);
		return;
	}

	/* The producer position lives on the page after the consumer page. */
	volatile uint64_t *producer = mmap(NULL, page, PROT_READ, MAP_SHARED, map, page);
	if (producer == MAP_FAILED) {
		report("not ok", name, "mmap of the ring buffer's producer page: %s", strerror(errno));
	} else {
		uint64_t before = *producer;
		int seen = 0;
		double deadline = now_s() + 10;
		while (!seen && now_s() < deadline) {
			if (fork_and_reap() != 0)
				break;
			seen = *producer > before;
		}
		if (seen)
			report("ok", name, NULL);
		else
			report("not ok", name, "forked children but the ring buffer's producer position stayed at %llu",
			       (unsigned long long)before);
		munmap((void *)producer, page);
	}
	close(link);
	close(prog);
	close(map);
}

/* -------------------------------------------------------------- kprobe */

static const char *tracefs_dir(void)
{
	static const char *dirs[] = { "/sys/kernel/tracing", "/sys/kernel/debug/tracing" };
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		char p[256];
		snprintf(p, sizeof(p), "%s/kprobe_events", dirs[i]);
		if (access(p, W_OK) == 0)
			return dirs[i];
	}
	return NULL;
}

static int write_kprobe_events(const char *dir, const char *line)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/kprobe_events", dir);
	int fd = open(p, O_WRONLY | O_APPEND);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, line, strlen(line));
	int saved = errno;
	close(fd);
	errno = saved;
	return n == (ssize_t)strlen(line) ? 0 : -1;
}

static long read_event_id(const char *dir, const char *group, const char *event)
{
	char p[512], buf[32] = "";
	snprintf(p, sizeof(p), "%s/events/%s/%s/id", dir, group, event);
	FILE *f = fopen(p, "r");
	if (!f)
		return -1;
	long id = fgets(buf, sizeof(buf), f) ? strtol(buf, NULL, 10) : -1;
	fclose(f);
	return id;
}

/*
 * Defines a probe on the fork path through kprobe_events, counts it with
 * perf_event_open on this task, forks once, and removes the probe again: the
 * life cycle the kprobe backend goes through.
 */
/* Returns 0 when the probe was removed again (or never defined), -1 when it stayed. */
static int test_probe_fork_count(const char *name, const char *dir, char kind, const char *fetch)
{
	static const char *symbols[] = { "kernel_clone", "_do_fork" };
	char group[64], line[256], err[256] = "";
	snprintf(group, sizeof(group), "procbeat_ph%d", (int)getpid());
	const char *event = kind == 'p' ? "clone_entry" : "clone_return";
	const char *symbol = NULL;
	for (size_t i = 0; i < sizeof(symbols) / sizeof(symbols[0]); i++) {
		snprintf(line, sizeof(line), "%c:%s/%s %s %s\n", kind, group, event, symbols[i], fetch);
		if (write_kprobe_events(dir, line) == 0) {
			symbol = symbols[i];
			break;
		}
		snprintf(err, sizeof(err), "%s: %s", symbols[i], strerror(errno));
	}
	if (!symbol) {
		report("not ok", name, "defining %c probe failed (%s)", kind, err);
		return 0;
	}

	long id = read_event_id(dir, group, event);
	if (id < 0) {
		report("not ok", name, "probe defined on %s but events/%s/%s/id is unreadable", symbol, group, event);
	} else {
		struct perf_event_attr pa;
		memset(&pa, 0, sizeof(pa));
		pa.size = sizeof(pa);
		pa.type = PERF_TYPE_TRACEPOINT;
		pa.config = (uint64_t)id;
		pa.disabled = 1;
		int fd = (int)syscall(__NR_perf_event_open, &pa, 0, -1, -1, 0);
		if (fd < 0) {
			report("not ok", name, "perf_event_open(tracepoint %ld): %s", id, strerror(errno));
		} else {
			uint64_t count = 0;
			ioctl(fd, PERF_EVENT_IOC_ENABLE, 0);
			int forked = fork_and_reap();
			ioctl(fd, PERF_EVENT_IOC_DISABLE, 0);
			if (read(fd, &count, sizeof(count)) != sizeof(count))
				report("not ok", name, "read of the perf counter: %s", strerror(errno));
			else if (forked != 0)
				report("not ok", name, "fork: %s", strerror(errno));
			else if (count < 1)
				report("not ok", name, "probe on %s did not fire on fork", symbol);
			else
				report("ok", name, NULL);
			close(fd);
		}
	}

	snprintf(line, sizeof(line), "-:%s/%s\n", group, event);
	if (write_kprobe_events(dir, line) != 0 || read_event_id(dir, group, event) >= 0) {
		fprintf(stderr, "could not remove %s/%s: %s\n", group, event, strerror(errno));
		return -1;
	}
	return 0;
}

static void run_kprobe(void)
{
	const char *dir = tracefs_dir();
	if (!dir) {
		report("not ok", "kprobe_events", "no writable kprobe_events under /sys/kernel/tracing or "
		       "/sys/kernel/debug/tracing (kernel without CONFIG_KPROBE_EVENTS, or tracefs not mounted)");
		report("skip", "kprobe_fork_count", "needs kprobe_events");
		report("skip", "kretprobe_fork_count", "needs kprobe_events");
		report("skip", "kprobe_cleanup", "needs kprobe_events");
		return;
	}
	report("ok", "kprobe_events", NULL);
	int left = test_probe_fork_count("kprobe_fork_count", dir, 'p', "");
	left |= test_probe_fork_count("kretprobe_fork_count", dir, 'r', "ret=$retval");
	if (left)
		report("not ok", "kprobe_cleanup", "a probe we defined is still in kprobe_events (see stderr)");
	else
		report("ok", "kprobe_cleanup", NULL);
}

static void run_ebpf(void)
{
	test_btf_vmlinux();
	test_ringbuf_map();
	test_raw_tp_ringbuf_fork();
}

int main(int argc, char **argv)
{
	const char *backend = NULL;
	int opt;
	while ((opt = getopt(argc, argv, "b:")) != -1) {
		if (opt == 'b')
			backend = optarg;
		else
			goto usage;
	}
	if (!backend)
		goto usage;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (strcmp(backend, "ebpf") == 0)
		run_ebpf();
	else if (strcmp(backend, "kprobe") == 0)
		run_kprobe();
	else
		goto usage;
	printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
	return failed ? 1 : 0;
usage:
	fprintf(stderr, "usage: %s -b ebpf|kprobe\n", argv[0]);
	return 2;
}
