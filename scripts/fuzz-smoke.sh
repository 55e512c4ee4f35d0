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
  # A debug build of the tool, which only runs cargo: 33 s to install on a 2-core Zen 3
  # against 49 s optimized (forty-seventh session; docs/performance-log.md).
  cargo install --debug cargo-fuzz --locked -j2
fi
# The fuzz package has no lock file: resolving and downloading its dependencies holds cargo's
# package-cache lock, which stalls any other cargo command meanwhile (.ci/run's clippy waited
# on it). FUZZ_PREPARE_ONLY=1 does that part alone, in the foreground, and stops.
cargo +nightly fetch
if [ "${FUZZ_PREPARE_ONLY:-0}" = 1 ]; then
  exit 0
fi
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
cargo +nightly fuzz build
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for t in rms layer api; do
  mkdir -p "$work/$t"
  cp corpus/$t/* "$work/$t/"
  echo "== fuzz $t for ${secs} s"
  ok=1
  cargo +nightly fuzz run "$t" "$work/$t" -- -max_total_time="$secs" -rss_limit_mb=4096 \
    -print_final_stats=1 >"$work/$t.log" 2>&1 || ok=0
  grep -E "^(Done|stat::number_of_executed_units)" "$work/$t.log" || true
  # A finding shows as a non-zero exit and as a file in artifacts/ (checked one kind at a time:
  # a glob list fails as a whole when any one kind has no match).
  for kind in crash leak timeout oom; do
    if compgen -G "artifacts/$t/$kind-*" >/dev/null; then ok=0; fi
  done
  if [ "$ok" = 0 ]; then
    grep -E -A12 "panicked|ERROR|SUMMARY" "$work/$t.log" | head -60 || tail -40 "$work/$t.log"
    echo "fuzz $t: FINDING (artifacts: $(ls artifacts/"$t" 2>/dev/null | tr '\n' ' '))"
    exit 1
  fi
done
