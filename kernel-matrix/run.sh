#!/usr/bin/env bash
# The kernel matrix: runs quark-ffi's C test program for each backend on the host
# kernel and on Debian kernels booted under qemu (TCG), and prints
# kernel x backend x test -> pass/fail/skip. Exits non-zero on any failure.
# See kernel-matrix/README.md.
#
# Environment (all optional):
#   KM_KERNELS        entries as in kernels.conf, comma separated (default: kernels.conf)
#   KM_CACHE          download cache (default: <repo>/.kernels)
#   KM_BOOT_TIMEOUT   hard limit per VM in seconds (default 660)
#   KM_TEST_TIMEOUT   limit per backend, in a VM and on the host, in seconds (default 300)
#   KM_JOBS           VMs booted at once (default: number of cores)
#   KM_PROGRAM        "placeholder", or the path of a static test program, instead of
#                     quark-ffi's (built with make -C quark-ffi static when its source exists)
#   KM_HOST=0         skip the host column
#   KM_CASES          run only these quark-test cases (comma separated; quark-test -t)
#   KM_REPEAT         run the cases this many times (quark-test -n)
#   KM_CASE_TIMEOUT   quark-test's per-case watchdog in seconds (quark-test -w; default 60)
set -euo pipefail

t_start=$(date +%s.%N)
km=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$km/.." && pwd)
lib=$km/lib
cache=${KM_CACHE:-$root/.kernels}
boot_timeout=${KM_BOOT_TIMEOUT:-660}
test_timeout=${KM_TEST_TIMEOUT:-300}
jobs=${KM_JOBS:-$(nproc)}
backends="ebpf kprobe"
logs=$cache/logs

say() { echo "kernel-matrix: $*" >&2; }
die() { say "error: $*"; exit 2; }
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

mkdir -p "$cache" "$logs"
work=$(mktemp -d "${TMPDIR:-/tmp}/procbeat-matrix.XXXXXX")
qemu_pids=()
tracefs_mounted=""
cleanup() {
	local rc=$? pid f
	trap - EXIT INT TERM
	# qemu writes its own pid file, so we stop exactly the VMs we started.
	for f in "$work"/*.timeout.pid "$work"/*.qemu.pid; do
		[ -f "$f" ] || continue
		pid=$(cat "$f" 2>/dev/null || true)
		if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi
	done
	for pid in "${qemu_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	[ -z "$tracefs_mounted" ] || umount "$tracefs_mounted" 2>/dev/null || true
	rm -rf "$work"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- tools
apt_updated=""
apt_install() {
	[ "$(id -u)" = 0 ] || die "missing $*; as root: apt-get install $*"
	if [ -z "$apt_updated" ]; then apt-get update -qq >&2 || true; apt_updated=1; fi
	say "installing $*"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2 \
		|| die "apt-get install $* failed"
}
need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
# busybox-static replaces the dynamic busybox where both are asked for.
if ! [ -x /bin/busybox ] || LC_ALL=C readelf -l /bin/busybox 2>/dev/null | grep -q 'program interpreter'; then
	need+=(busybox-static)
fi
command -v readelf >/dev/null || need+=(binutils)
command -v gcc >/dev/null || need+=(gcc libc6-dev)
[ ${#need[@]} -eq 0 ] || apt_install "${need[@]}"

# --------------------------------------------------------- test program
t0=$(date +%s.%N)
real=$root/quark-ffi/build/quark-test-static
build_placeholder() {
	program=$cache/build/placeholder-test
	mkdir -p "$cache/build"
	gcc -static -O2 -Wall -o "$program" "$km/placeholder/placeholder-test.c" \
		|| die "building the placeholder test program failed"
	program_name="placeholder (kernel-matrix/placeholder/placeholder-test.c)"
}
if [ "${KM_PROGRAM:-}" = placeholder ]; then
	build_placeholder
elif [ -n "${KM_PROGRAM:-}" ]; then
	program=$KM_PROGRAM
	program_name="$KM_PROGRAM (KM_PROGRAM)"
elif [ -f "$root/quark-ffi/test/quark_test.c" ]; then
	# The real test program exists: build it (make keeps it current), and let a
	# failed build fail the matrix rather than quietly go back to the placeholder.
	say "building quark-ffi's static test program (make -C quark-ffi static)"
	make -C "$root/quark-ffi" static >"$logs/make-static.log" 2>&1 \
		|| { tail -n 30 "$logs/make-static.log" >&2; die "make -C quark-ffi static failed (log: $logs/make-static.log)"; }
	[ -x "$real" ] || die "make -C quark-ffi static did not produce $real"
	program=$real
	program_name="quark-test (quark-ffi/build/quark-test-static)"
elif [ -x "$real" ]; then
	program=$real
	program_name="quark-test (quark-ffi/build/quark-test-static, prebuilt)"
else
	say "quark-ffi's test program (quark-ffi/test/quark_test.c) does not exist yet: using the placeholder"
	build_placeholder
fi
t_program=$(elapsed "$t0")
say "test program: $program_name"

# -------------------------------------------------------------- kernels
t0=$(date +%s.%N)
# An entry is "PATTERN [KERNEL ARGS...]": the arguments are added to that boot's
# command line (lockdown=integrity, say) and to its name in the table.
if [ -n "${KM_KERNELS:-}" ]; then
	mapfile -t entries < <(tr ',' '\n' <<<"$KM_KERNELS" | sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' -e '/^$/d')
else
	mapfile -t entries < <(sed -e 's/#.*//' -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' -e '/^$/d' "$km/kernels.conf")
fi
[ ${#entries[@]} -gt 0 ] || die "no kernel to test (kernel-matrix/kernels.conf is empty)"
kdirs=() kargs=() klabels=()
for e in "${entries[@]}"; do
	read -r p a <<<"$e"
	d=$(bash "$lib/fetch-kernel.sh" "$p" "$cache") || die "could not get a kernel for $p"
	label=$(cat "$d/release")${a:+ $a}
	for l in "${klabels[@]}"; do [ "$l" != "$label" ] || die "$label is listed twice"; done
	kdirs+=("$d") kargs+=("$a") klabels+=("$label")
	say "kernel $label: $(cut -d' ' -f1,2 "$d/package")"
done
t_kernels=$(elapsed "$t0")

# ------------------------------------------------------------ initramfs
t0=$(date +%s.%N)
extra=""
[ ! -d "$root/quark-ffi/build/initramfs" ] || extra=$root/quark-ffi/build/initramfs
bash "$lib/build-initramfs.sh" "$program" "$program_name" "$work/initramfs.gz" "$extra"
t_initramfs=$(elapsed "$t0")
say "initramfs: $(du -k "$work/initramfs.gz" | cut -f1) KiB in ${t_initramfs}s"

# ----------------------------------------------------------------- boots
: >"$work/rows.tsv"
# no_timer_check: on a loaded host a TCG guest can miss the timer interrupt the
# kernel waits for while it sets up the IO-APIC, and it panics with "IO-APIC +
# timer doesn't work!" before /init (seen here at load 18 on 2 cores).
cmdline="console=ttyS0 panic=-1 quiet no_timer_check procbeat.timeout=$test_timeout"
# quark-test's options, for the VMs (lib/init.sh) and the host run alike.
test_args=()
for v in KM_CASES:cases:-t KM_REPEAT:repeat:-n KM_CASE_TIMEOUT:watchdog:-w; do
	IFS=: read -r var key opt <<<"$v"
	val=${!var:-}
	[ -n "$val" ] || continue
	[[ $val =~ ^[A-Za-z0-9_,]+$ ]] || die "$var='$val': letters, digits, _ and commas only"
	cmdline="$cmdline procbeat.$key=$val"
	test_args+=("$opt" "$val")
done
qemu_once() { # index logbase
	local i=$1 f=$2
	rm -f "$f.console.log" "$f.results.log" "$f.qemu.log"
	set +e
	# Two serial ports: ttyS0 the kernel console, ttyS1 the results (see lib/init.sh).
	# In the background so the trap can stop this very timeout (which passes the
	# signal on to qemu) by its pid.
	timeout -k 10 "$boot_timeout" qemu-system-x86_64 \
		-accel tcg -cpu max -m 1G -smp 2 \
		-nodefaults -no-user-config -display none -monitor none -no-reboot \
		-serial "file:$f.console.log" -serial "file:$f.results.log" \
		-kernel "${kdirs[$i]}/vmlinuz" -initrd "$work/initramfs.gz" \
		-append "$cmdline${kargs[$i]:+ ${kargs[$i]}}" \
		-pidfile "$work/$i.qemu.pid" </dev/null >"$f.qemu.log" 2>&1 &
	echo $! >"$work/$i.timeout.pid"
	wait $!
	local rc=$?
	set -e
	return $rc
}
boot() { # index
	local i=$1 f t rc note=""
	f=$logs/$(tr -c 'A-Za-z0-9.+_=\n-' '_' <<<"${klabels[$1]}")
	echo "$f" >"$work/$i.logs"
	t=$(date +%s.%N)
	qemu_once "$i" "$f" && rc=0 || rc=$?
	# A VM that died before /init printed its first line ran no test at all: that
	# is the machine, not the code under test, so it gets one more try, reported.
	# A VM that hung until the timeout is not retried: that could double the run.
	if [ "$rc" != 124 ] && [ "$rc" != 137 ] && ! grep -q '^@@PROCBEAT-KERNEL' "$f.results.log" 2>/dev/null; then
		note="retried: first boot never reached /init ($(grep -m1 -o 'Kernel panic.*' "$f.console.log" 2>/dev/null | tr -d '\r' || echo "qemu status $rc"))"
		cp "$f.console.log" "$f.first-boot.console.log" 2>/dev/null || true
		qemu_once "$i" "$f" && rc=0 || rc=$?
	fi
	echo "$rc $(elapsed "$t") $note" >"$work/$i.boot"
}

t_boots=$(date +%s.%N)
running=0
for i in "${!kdirs[@]}"; do
	if [ "$running" -ge "$jobs" ]; then wait -n || true; running=$((running - 1)); fi
	say "booting ${klabels[$i]} (timeout ${boot_timeout}s)"
	boot "$i" &
	qemu_pids+=($!)
	running=$((running + 1))
done

# ------------------------------------------------------------------ host
# Runs while the VMs boot: it needs little CPU and shortens the wall time.
host_label="host $(uname -r)"
host_na_reason() { # backend -> sets reason to why it cannot run on this host, or ""
	local cfg="" src=""
	reason=""
	[ "$1" = kprobe ] || return 0
	if [ -r /proc/config.gz ]; then cfg=$(zcat /proc/config.gz); src=/proc/config.gz
	elif [ -r "/boot/config-$(uname -r)" ]; then cfg=$(cat "/boot/config-$(uname -r)"); src=/boot/config-$(uname -r)
	fi
	if [ -n "$cfg" ]; then
		if grep -q '^# CONFIG_KPROBES is not set' <<<"$cfg"; then
			reason="the host kernel $(uname -r) is built without kprobes ('# CONFIG_KPROBES is not set' in $src), so tracefs has no kprobe_events"
			return 0
		fi
		if grep -q '^# CONFIG_KPROBE_EVENTS is not set' <<<"$cfg"; then
			reason="the host kernel $(uname -r) is built without kprobe events ('# CONFIG_KPROBE_EVENTS is not set' in $src)"
			return 0
		fi
	fi
	if [ ! -e /sys/kernel/tracing/kprobe_events ] && [ ! -e /sys/kernel/debug/tracing/kprobe_events ]; then
		if grep -qw tracefs /proc/filesystems && [ -d /sys/kernel/tracing ] && [ "$(id -u)" = 0 ] \
			&& mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null; then
			tracefs_mounted=/sys/kernel/tracing
		fi
		[ -e /sys/kernel/tracing/kprobe_events ] \
			|| reason="the host kernel $(uname -r) offers no kprobe_events in tracefs"
	fi
}
host_kernels_line=""
if [ "${KM_HOST:-1}" != 0 ]; then
	t0=$(date +%s.%N)
	: >"$work/host.results"
	for b in $backends; do
		host_na_reason "$b"
		if [ -n "$reason" ]; then
			printf '%s\t%s\t*\tn/a\t%s\n' "$host_label" "$b" "$reason" >>"$work/rows.tsv"
			continue
		fi
		mkdir -p "$work/host-$b"
		echo "@@PROCBEAT-BEGIN $b" >>"$work/host.results"
		set +e
		(cd "$work/host-$b" && timeout -k 10 "$test_timeout" "$program" -b "$b" ${test_args[@]+"${test_args[@]}"} </dev/null >>"$work/host.results" 2>>"$logs/host.stderr.log")
		rc=$?
		set -e
		echo "@@PROCBEAT-END $b rc=$rc" >>"$work/host.results"
	done
	cp "$work/host.results" "$logs/host.results.log"
	ran=""
	for b in $backends; do grep -q "^@@PROCBEAT-BEGIN $b\$" "$work/host.results" && ran="$ran $b"; done
	bash "$lib/parse-results.sh" "$host_label" "${ran# }" "$work/host.results" "$logs/host.stderr.log" >>"$work/rows.tsv"
	host_kernels_line=$(printf '%s\t%s\t%s' "$host_label" "running kernel" "$(elapsed "$t0")")
fi

wait
t_boots=$(elapsed "$t_boots")
qemu_pids=()

# ---------------------------------------------------------------- report
: >"$work/kernels.tsv"
[ -z "$host_kernels_line" ] || echo "$host_kernels_line" >>"$work/kernels.tsv"
boot_lines=""
for i in "${!kdirs[@]}"; do
	d=${kdirs[$i]} label=${klabels[$i]}
	[ -f "$work/$i.boot" ] || echo "255 ?" >"$work/$i.boot"
	read -r rc secs bnote <"$work/$i.boot"
	read -r f <"$work/$i.logs"
	read -r pname pver _ <"$d/package"
	printf '%s\t%s %s\t%s\n' "$label" "$pname" "$pver" "$secs" >>"$work/kernels.tsv"
	panic=$(grep -m1 -o 'Kernel panic.*' "$f.console.log" 2>/dev/null | tr -d '\r' || true)
	case $rc in
	0) if grep -q '^@@PROCBEAT-DONE' "$f.results.log" 2>/dev/null; then status="powered off"
	   else status="**stopped before the end${panic:+: $panic}**"; fi ;;
	124|137) status="**killed by the ${boot_timeout}s boot timeout**" ;;
	*) status="qemu exited with $rc (see $f.qemu.log)" ;;
	esac
	boot_lines="$boot_lines- $label: ${secs}s, $status${bnote:+; $bnote}; logs: $f.{console,results}.log"$'\n'
	bash "$lib/parse-results.sh" "$label" "$backends" "$f.results.log" "$f.console.log" >>"$work/rows.tsv"
done

set +e
table=$(bash "$lib/report.sh" "$backends" "$work/kernels.tsv" "$work/rows.tsv")
report_rc=$?
set -e
t_total=$(elapsed "$t_start")
{
	echo "# procbeat kernel matrix"
	echo
	echo "Run $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) cores; test program: $program_name."
	echo
	echo "$table"
	echo
	echo "Timings (s): total $t_total; test program $t_program; kernels (apt-get download + unpack) $t_kernels;" \
		"initramfs $t_initramfs; boots $t_boots (up to $jobs at once, TCG)."
	echo
	printf '%s' "$boot_lines"
} >"$km/last-run.md"
cat "$km/last-run.md"
[ "$report_rc" = 0 ] || { say "FAILED (report: kernel-matrix/last-run.md)"; exit 1; }
