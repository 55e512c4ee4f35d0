#!/usr/bin/env bash
# Runs the integration suite (every kernel path: forced ISAs, every width 1..=70 into buffers
# of exactly the row's size, strided and misaligned slices, the rescaled path, the fused
# kernels, the weight copies) under AddressSanitizer. Needs the nightly toolchain
# (-Zsanitizer); skips (exit 0, with a message) when none is installed.
#
# The unit tests (src/: the in-register conversions against `half`, value by value) are left
# out unless SIMDNORM_ASAN_UNIT=1: they check values, which `cargo test` and the aarch64 run
# check natively, and their harness is a second unoptimized ASan build of the whole crate
# (without it, this script's build took 10 min on a 2-core Zen 3 in the forty-first session,
# alone; with it, 14.8 min beside the fuzz build in the fortieth; without it, 5 min 39 s
# beside the aarch64 and fuzz builds in the forty-second, whose debug builds compile each
# sweep once).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! rustup run nightly rustc --version >/dev/null 2>&1; then
  echo "asan tests: no nightly toolchain; skipped"
  exit 0
fi
unit=
if [ "${SIMDNORM_ASAN_UNIT:-0}" = 1 ]; then unit=--lib; fi
host=$(rustc -vV | sed -n 's/^host: //p')
# An explicit --target keeps the sanitizer flags off build scripts and proc macros.
# Line tables only (file and line in ASan's reports), not full debug info: less memory for
# the unoptimized build of the crate's long generic kernels.
RUSTFLAGS="-Zsanitizer=address -Cdebuginfo=line-tables-only" RUSTDOCFLAGS="-Zsanitizer=address" \
  ASAN_OPTIONS="detect_leaks=1:abort_on_error=1" SIMDNORM_TEST_ASAN=1 \
  cargo +nightly test -j"${CARGO_BUILD_JOBS:-2}" --target "$host" --target-dir target/asan \
  $unit --test suite
