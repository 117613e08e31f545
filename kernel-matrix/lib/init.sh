#!/bin/busybox sh
# /init of the kernel-matrix initramfs: mounts what quark-test needs, runs it once
# per backend and powers off. Everything lives in the initramfs, so no disk and no
# module is needed.
#
# Two serial ports: ttyS0 is the kernel console (boot messages, warnings, oopses,
# the test program's stderr); ttyS1 carries only the marker lines and quark-test's
# stdout, so kernel messages can never split a result line. run.sh parses ttyS1.

/bin/busybox mkdir -p /bin /sbin /usr/bin /usr/sbin
/bin/busybox --install -s

mkdir -p /proc /sys /dev /tmp /run
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t bpf bpf /sys/fs/bpf 2>/dev/null
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
mount -t securityfs securityfs /sys/kernel/security 2>/dev/null

exec </dev/null >/dev/console 2>&1

R=/dev/ttyS1
timeout=120
backends="ebpf kprobe"
# quark-test's own options, from run.sh's KM_CASES, KM_REPEAT and KM_CASE_TIMEOUT
# (the placeholder program takes none of them).
args=""
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	procbeat.timeout=*) timeout=${arg#procbeat.timeout=} ;;
	procbeat.backends=*) backends=$(echo "${arg#procbeat.backends=}" | tr , ' ') ;;
	procbeat.cases=*) args="$args -t ${arg#procbeat.cases=}" ;;
	procbeat.repeat=*) args="$args -n ${arg#procbeat.repeat=}" ;;
	procbeat.watchdog=*) args="$args -w ${arg#procbeat.watchdog=}" ;;
	esac
done

hostname matrix
echo "@@PROCBEAT-KERNEL $(uname -r)" >$R
echo "@@PROCBEAT-PROGRAM $(cat /quark-test.name 2>/dev/null)" >$R
echo "procbeat kernel-matrix: kernel $(uname -r), $(nproc) cpus, backends: $backends"
# Lockdown (Secure Boot hosts) restricts debugfs and, in confidentiality mode,
# kprobes and BPF reads of kernel memory: worth knowing when a backend fails.
echo "procbeat kernel-matrix: lockdown: $(cat /sys/kernel/security/lockdown 2>/dev/null || echo unknown)"

for b in $backends; do
	echo "@@PROCBEAT-BEGIN $b" >$R
	echo "procbeat kernel-matrix: running quark-test -b $b$args (timeout ${timeout}s)"
	# A fresh working directory per backend: the test may leave files behind.
	mkdir -p "/tmp/run-$b"
	# shellcheck disable=SC2086 # $args is a list of options
	(cd "/tmp/run-$b" && timeout "$timeout" /quark-test -b "$b" $args >$R 2>/dev/console)
	rc=$?
	echo "@@PROCBEAT-END $b rc=$rc" >$R
	echo "procbeat kernel-matrix: quark-test -b $b exited with $rc"
done

echo "@@PROCBEAT-DONE" >$R
sync
poweroff -f
