#!/usr/bin/env bash
# Runs each cargo-fuzz target for a bounded time (FUZZ_SECONDS, default 60) from a copy of the
# committed seed corpus, under libFuzzer with AddressSanitizer (cargo fuzz's default).
# Needs the nightly toolchain; installs cargo-fuzz if it is missing. Skips (exit 0, with a
# message) when no nightly toolchain is installed.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs="${FUZZ_SECONDS:-60}"
if ! rustup run nightly rustc --version >/dev/null 2>&1; then
  echo "fuzz smoke: no nightly toolchain; skipped"
  exit 0
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "== installing cargo-fuzz"
  cargo install cargo-fuzz --locked -j2
fi
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
cargo +nightly fuzz build
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for t in rms layer api; do
  mkdir -p "$work/$t"
  cp corpus/$t/* "$work/$t/"
  echo "== fuzz $t for ${secs} s"
  cargo +nightly fuzz run "$t" "$work/$t" -- -max_total_time="$secs" -rss_limit_mb=4096 \
    -print_final_stats=1 2>&1 | grep -E "^(Done|stat::number_of_executed_units)|ERROR|panicked|SUMMARY" || true
  # cargo fuzz exits non-zero on a finding; the pipeline above hides it, so check artifacts.
  if ls artifacts/"$t"/crash-* artifacts/"$t"/leak-* artifacts/"$t"/timeout-* artifacts/"$t"/oom-* >/dev/null 2>&1; then
    echo "fuzz $t: finding in fuzz/artifacts/$t"; exit 1
  fi
done
