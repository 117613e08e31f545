#!/usr/bin/env bash
# Installs the Debian packages quark-ffi builds with, when they are missing and we may.
# Never fails the npm install: without them procbeat still runs with the procfs backend,
# and kernel_tracing reports why it is unavailable.
set -u
need=()
command -v clang-19 >/dev/null 2>&1 || command -v clang >/dev/null 2>&1 || need+=(clang-19)
command -v llvm-strip-19 >/dev/null 2>&1 || command -v llvm-strip >/dev/null 2>&1 || need+=(llvm-19)
command -v bpftool >/dev/null 2>&1 || [ -x /usr/sbin/bpftool ] || need+=(bpftool)
[ -f /usr/include/bpf/libbpf.h ] || need+=(libbpf-dev)
[ -f /usr/include/libelf.h ] || need+=(libelf-dev)
[ -f /usr/include/zlib.h ] || need+=(zlib1g-dev)
command -v make >/dev/null 2>&1 || need+=(make)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
command -v cc >/dev/null 2>&1 || need+=(gcc)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "procbeat: installing Debian packages for quark-ffi: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}"; } >/tmp/procbeat-apt.log 2>&1; then
    echo "procbeat: apt-get install failed (see /tmp/procbeat-apt.log); kernel_tracing will be unavailable"
  fi
else
  echo "procbeat: to build the kernel_tracing backend, install: ${need[*]} (as root: apt-get install ${need[*]})"
fi
exit 0
