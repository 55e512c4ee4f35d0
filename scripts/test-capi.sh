#!/usr/bin/env bash
# Builds simdnorm's C ABI (static and shared library), checks that include/simdnorm.h is what
# cbindgen generates, compiles the C test and the README's C example against the header, and
# runs them: the static test under valgrind memcheck on the detected path (valgrind has no
# AVX-512, so that is AVX2 here) and forced scalar, and under AddressSanitizer natively.
#
# The libraries are built with the dev profile (the crate unoptimized, debug assertions on,
# as `cargo test` builds it): 1 min 43 s beside the fuzz build in .ci/run on a 2-core Zen 3
# (forty-second session), where the release build of the same libraries takes 8-9 min on a
# 2-core machine (every kernel of every path, type and weight type, inlined and optimized).
# The C tests check the ABI layer (lengths, strides, status codes, what is left untouched),
# which is the same code in both; the optimized kernels are tested by the fuzz
# smoke (release code) and normbench. SIMDNORM_CAPI_PROFILE=release tests the release build.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/gen-header.sh --verify
profile=${SIMDNORM_CAPI_PROFILE:-dev}
case "$profile" in
  dev) lib=target/debug ;;
  release) lib=target/release ;;
  *) echo "SIMDNORM_CAPI_PROFILE must be dev or release" >&2; exit 2 ;;
esac
# One compilation emits both libraries.
cargo rustc --profile "$profile" --features capi --lib --crate-type staticlib,cdylib
out=target/capi
mkdir -p "$out"
cc=${CC:-gcc}
$cc -std=c11 -O1 -g -Wall -Wextra -Werror -Iinclude tests/capi/test_capi.c \
  $lib/libsimdnorm.a -lm -o "$out/test_capi"
$cc -std=c11 -O1 -g -fsanitize=address -fno-omit-frame-pointer -Wall -Wextra -Werror -Iinclude \
  tests/capi/test_capi.c $lib/libsimdnorm.a -lm -o "$out/test_capi_asan"
# The example needs the header and one link flag (the shared library).
$cc -std=c11 -Wall -Wextra -Werror -Iinclude tests/capi/example.c -L$lib -lsimdnorm \
  -o "$out/example"
echo "== C example (shared library)"
LD_LIBRARY_PATH=$lib "$out/example"
echo "== C test, AddressSanitizer"
"$out/test_capi_asan"
if ! command -v valgrind >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >/dev/null
  apt-get clean
fi
echo "== C test, valgrind memcheck (detected path)"
valgrind -q --error-exitcode=99 "$out/test_capi"
echo "== C test, valgrind memcheck (SIMDNORM_ISA=scalar)"
SIMDNORM_ISA=scalar valgrind -q --error-exitcode=99 "$out/test_capi"
