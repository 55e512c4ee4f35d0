#!/usr/bin/env bash
# Runs the unit tests and the integration suite (every kernel path: forced ISAs, strided and misaligned
# slices, the rescaled path, the fused kernels) under AddressSanitizer. Needs the nightly
# toolchain (-Zsanitizer); skips (exit 0, with a message) when none is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! rustup run nightly rustc --version >/dev/null 2>&1; then
  echo "asan tests: no nightly toolchain; skipped"
  exit 0
fi
host=$(rustc -vV | sed -n 's/^host: //p')
# An explicit --target keeps the sanitizer flags off build scripts and proc macros.
# Line tables only (file and line in ASan's reports), not full debug info: less memory for
# the unoptimized build of the crate's long generic kernels.
RUSTFLAGS="-Zsanitizer=address -Cdebuginfo=line-tables-only" RUSTDOCFLAGS="-Zsanitizer=address" \
  ASAN_OPTIONS="detect_leaks=1:abort_on_error=1" SIMDNORM_TEST_ASAN=1 \
  cargo +nightly test -j"${CARGO_BUILD_JOBS:-2}" --target "$host" --target-dir target/asan \
  --lib --test suite
