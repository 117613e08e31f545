#!/usr/bin/env bash
# Builds the kernel-matrix initramfs (cpio newc, gzip): busybox-static, /init,
# the static test program as /quark-test, and optionally the files of an extra
# directory copied over the root (for helpers the test program needs).
#
# usage: build-initramfs.sh TEST_BINARY PROGRAM_NAME OUTPUT [EXTRA_DIR]
set -euo pipefail

bin=$1 name=$2 out=$3 extra=${4:-}
here=$(cd "$(dirname "$0")" && pwd)
busybox=/bin/busybox

die() { echo "build-initramfs: $*" >&2; exit 1; }
[ -x "$busybox" ] || die "$busybox missing (apt-get install busybox-static)"
# A dynamic busybox would find no libc in the image and the VM would panic at once.
file_out=$(LC_ALL=C readelf -l "$busybox" 2>/dev/null | grep -c 'Requesting program interpreter' || true)
[ "$file_out" = 0 ] || die "$busybox is dynamically linked; install busybox-static"
[ -x "$bin" ] || die "test program $bin is missing or not executable"
interp=$(LC_ALL=C readelf -l "$bin" 2>/dev/null | grep -c 'Requesting program interpreter' || true)
[ "$interp" = 0 ] || die "test program $bin is dynamically linked; the initramfs has no libc: link it with -static"

stage=$(mktemp -d "${TMPDIR:-/tmp}/procbeat-initramfs.XXXXXX")
trap 'rm -rf "$stage"' EXIT

# mktemp made the directory 0700, and it becomes the VM's /: an unprivileged
# process (a setuid test runs as nobody) could reach nothing.
chmod 0755 "$stage"
mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,run,etc,root}
chmod 0700 "$stage/root"
cp "$busybox" "$stage/bin/busybox"
# Real /bin/true and /bin/false (see true.c); busybox --install keeps existing files.
for t in true:0 false:1; do
	gcc -nostdlib -static -Os -fno-asynchronous-unwind-tables -s -DSTATUS="${t#*:}" \
		-o "$stage/bin/${t%:*}" "$here/true.c" || die "building /bin/${t%:*} failed"
done
cp "$here/init.sh" "$stage/init"
cp "$bin" "$stage/quark-test"
chmod 0755 "$stage/init" "$stage/quark-test" "$stage/bin/busybox"
chmod 1777 "$stage/tmp"
printf '%s\n' "$name" >"$stage/quark-test.name"
# Tests that change user (setuid exec, unprivileged runs) need names for the ids.
cat >"$stage/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >"$stage/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
EOF
if [ -n "$extra" ] && [ -d "$extra" ]; then
	cp -a "$extra"/. "$stage"/
fi
# The kernel opens /dev/console for init before devtmpfs is mounted; without the
# node init starts with no stdio. Making it needs root; init copes without it.
mknod -m 600 "$stage/dev/console" c 5 1 2>/dev/null || true

mkdir -p "$(dirname "$out")"
(cd "$stage" && find . -print0 | LC_ALL=C sort -z | "$busybox" cpio -o -H newc -0 -R 0:0 2>/dev/null) | gzip -6 >"$out.tmp"
mv "$out.tmp" "$out"
