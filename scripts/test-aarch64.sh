#!/usr/bin/env bash
# Cross-builds simdnorm for aarch64-unknown-linux-gnu with Debian's rustc-web (which has an
# aarch64 standard library; rustup's toolchains here do not) and runs the test suite under
# qemu user-mode emulation:
#   QEMU_CPU=cortex-a53  NEON only (ARMv8.0): the whole suite. The kernels use no feature
#                        beyond ARMv8.0's NEON, so this model proves that baseline.
#   QEMU_CPU=max         NEON with FEAT_FP16 and more: the unit tests, whose exhaustive
#                        conversion checks compare the NEON conversions with `half`'s, which
#                        use FEAT_FP16 when the CPU has it (and software on cortex-a53).
# Set SIMDNORM_AARCH64_FULL=1 to run the whole suite under both models.
# Installs what it needs when run as root on Debian (see ../shared/aarch64.md).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! [ -x /usr/bin/rustc ] || ! /usr/bin/rustc --print sysroot >/dev/null 2>&1 \
   || ! [ -d "$(/usr/bin/rustc --print sysroot)/lib/rustlib/aarch64-unknown-linux-gnu" ] \
   || ! command -v qemu-aarch64 >/dev/null || ! command -v aarch64-linux-gnu-gcc >/dev/null; then
  echo "== installing Debian's rustc-web, the arm64 std, the aarch64 linker and qemu-user"
  dpkg --add-architecture arm64
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    rustc-web cargo-web libstd-rust-web-dev:arm64 \
    gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user >/dev/null
  # The downloaded packages are not needed once installed (disk is short on CI machines).
  apt-get clean
fi

export RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc
# The copies of the short-row loops with the width a constant (NEON's 32-wide rows), which
# only optimized and fuzz builds compile otherwise (`by_width` in src/kernel/short.rs): the
# suite's batches of 32-wide rows run them here. RUSTFLAGS reach only the target's crates, and
# no dependency reads this cfg.
export RUSTFLAGS="${RUSTFLAGS:-} --cfg simdnorm_width_copies"
# Emulation is slow: keep the property tests to a bounded number of cases.
export SIMDNORM_PROPTEST_CASES="${SIMDNORM_PROPTEST_CASES:-12}"
target=aarch64-unknown-linux-gnu
tdir=target/aarch64
echo "== $(/usr/bin/rustc --version) for $target"
# Unit and integration tests (every kernel test); the examples and doctests add nothing
# architecture-specific and are built and run on the host.
/usr/bin/cargo build --tests --target "$target" --target-dir "$tdir" -j2
echo "== QEMU_CPU=cortex-a53"
QEMU_CPU=cortex-a53 /usr/bin/cargo test --tests --target "$target" --target-dir "$tdir" -j2
echo "== QEMU_CPU=max"
if [ "${SIMDNORM_AARCH64_FULL:-0}" = 1 ]; then
  QEMU_CPU=max /usr/bin/cargo test --tests --target "$target" --target-dir "$tdir" -j2
else
  QEMU_CPU=max /usr/bin/cargo test --lib --target "$target" --target-dir "$tdir" -j2
fi
