#!/usr/bin/env bash
# Generates include/simdnorm.h from src/capi.rs with cbindgen; `--verify` fails if the
# committed header differs from what cbindgen generates. Installs cbindgen if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v cbindgen >/dev/null 2>&1; then
  echo "== installing cbindgen"
  # A debug build: 44 s to install on a 2-core Zen 3 against 1 min 56 s optimized, and it
  # writes the same header in under a second (forty-seventh session; docs/performance-log.md).
  cargo install --debug cbindgen --locked --version 0.29.4 -j2
fi
mkdir -p include
if [ "${1:-}" = "--verify" ]; then
  tmp=$(mktemp)
  cbindgen --quiet --config cbindgen.toml --output "$tmp" .
  if ! diff -u include/simdnorm.h "$tmp"; then
    echo "include/simdnorm.h is out of date: run scripts/gen-header.sh"; exit 1
  fi
  echo "include/simdnorm.h is up to date"
else
  cbindgen --quiet --config cbindgen.toml --output include/simdnorm.h .
fi
