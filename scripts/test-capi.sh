#!/usr/bin/env bash
# Builds simdnorm's C ABI (static and shared library), checks that include/simdnorm.h is what
# cbindgen generates, compiles the C test and the README's C example against the header, and
# runs them: the static test under valgrind memcheck on the detected path (valgrind has no
# AVX-512, so that is AVX2 here) and forced scalar, and under AddressSanitizer natively.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/gen-header.sh --verify
# One compilation emits both libraries.
cargo rustc --release --features capi --lib --crate-type staticlib,cdylib
out=target/capi
mkdir -p "$out"
cc=${CC:-gcc}
$cc -std=c11 -O1 -g -Wall -Wextra -Werror -Iinclude tests/capi/test_capi.c \
  target/release/libsimdnorm.a -lm -o "$out/test_capi"
$cc -std=c11 -O1 -g -fsanitize=address -fno-omit-frame-pointer -Wall -Wextra -Werror -Iinclude \
  tests/capi/test_capi.c target/release/libsimdnorm.a -lm -o "$out/test_capi_asan"
# The example needs the header and one link flag (the shared library).
$cc -std=c11 -Wall -Wextra -Werror -Iinclude tests/capi/example.c -Ltarget/release -lsimdnorm \
  -o "$out/example"
echo "== C example (shared library)"
LD_LIBRARY_PATH=target/release "$out/example"
echo "== C test, AddressSanitizer"
"$out/test_capi_asan"
if ! command -v valgrind >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >/dev/null
fi
echo "== C test, valgrind memcheck (detected path)"
valgrind -q --error-exitcode=99 "$out/test_capi"
echo "== C test, valgrind memcheck (SIMDNORM_ISA=scalar)"
SIMDNORM_ISA=scalar valgrind -q --error-exitcode=99 "$out/test_capi"
