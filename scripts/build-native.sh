#!/usr/bin/env bash
# Builds quark-ffi. A missing toolchain is not an install failure: the reason is written to
# quark-ffi/build/UNAVAILABLE, which the kernel_tracing backend reports when asked to open.
set -u
cd "$(dirname "$0")/../quark-ffi" || exit 0
mkdir -p build
rm -f build/UNAVAILABLE
[ -f Makefile ] || { echo "quark-ffi has no Makefile yet" > build/UNAVAILABLE; exit 0; }
if ! make -s >build/make.log 2>&1; then
  { echo "quark-ffi did not build (see quark-ffi/build/make.log):"; tail -n 5 build/make.log; } > build/UNAVAILABLE
  echo "procbeat: $(head -n 1 build/UNAVAILABLE)"; tail -n 5 build/make.log
fi
exit 0
