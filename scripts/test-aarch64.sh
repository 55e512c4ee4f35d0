#!/usr/bin/env bash
# Cross-builds simdnorm for aarch64-unknown-linux-gnu with Debian's rustc-web (which has an
# aarch64 standard library; rustup's toolchains here do not) and runs the test suite under
# qemu user-mode emulation, once per CPU model:
#   QEMU_CPU=max         NEON with FEAT_FP16 and more
#   QEMU_CPU=cortex-a53  NEON only (ARMv8.0)
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
fi

export RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc
# Emulation is slow: keep the property tests to a bounded number of cases.
export SIMDNORM_PROPTEST_CASES="${SIMDNORM_PROPTEST_CASES:-12}"
target=aarch64-unknown-linux-gnu
tdir=target/aarch64
echo "== $(/usr/bin/rustc --version) for $target"
# Unit and integration tests (every kernel test); the examples and doctests add nothing
# architecture-specific and are built and run on the host.
/usr/bin/cargo build --tests --target "$target" --target-dir "$tdir" -j2
for cpu in max cortex-a53; do
  echo "== QEMU_CPU=$cpu"
  QEMU_CPU=$cpu /usr/bin/cargo test --tests --target "$target" --target-dir "$tdir" -j2
done
