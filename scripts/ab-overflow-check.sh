#!/usr/bin/env bash
# What the overflow-safe statistics cost on ordinary rows: builds normbench twice, from HEAD
# as it is ("after") and from HEAD with the per-row range check that sends a row to the
# rescaled path removed ("before": the plain f32 fast path a kernel without overflow safety
# runs), runs both alternately (--quick --json, one thread, the detected path) and prints the
# time per call of each and their ratio. Ordinary rows never take the rescaled path, so the
# difference is the cost of the check itself.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${RUNS:-3}"
work=$(mktemp -d)
trap 'git worktree remove --force "$work/before" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
git worktree add --detach -q "$work/before" HEAD
sed -i -e 's/if !(TINY..=HUGE).contains(&ss) {/if false {/' \
  -e 's/if !((TINY..=HUGE).contains(&w.m2) \&\& w.mean.is_finite()) {/if false {/' \
  "$work/before/src/kernel/mod.rs"
# The patch must have removed both checks, or the comparison means nothing.
[ "$(grep -c 'if false {' "$work/before/src/kernel/mod.rs")" = 2 ] || { echo "patch failed"; exit 1; }
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
cargo build -q --release --example normbench
cargo build -q --release --example normbench --manifest-path "$work/before/Cargo.toml" \
  --target-dir target/ab-before
for i in $(seq "$runs"); do
  target/release/examples/normbench --quick --json | grep -v '"form"' > "$work/after.$i"
  target/ab-before/release/examples/normbench --quick --json | grep -v '"form"' > "$work/before.$i"
done
python3 - "$work" "$runs" <<'PY'
import json, sys, statistics
work, runs = sys.argv[1], int(sys.argv[2])
def load(tag):
    rows = {}
    for i in range(1, runs + 1):
        for line in open(f"{work}/{tag}.{i}"):
            r = json.loads(line)
            if r["threads"] != 1:
                continue
            key = (r["kernel"], r["dtype"], f'{r["rows"]}x{r["width"]}', r["isa"])
            rows.setdefault(key, []).append(r["ns_per_call"])
    return rows
b, a = load("before"), load("after")
print(f"{'kernel':<10} {'type':<5} {'shape':>10} {'isa':<7} {'before':>10} {'after':>10} {'after/before':>12}")
ratios = []
for k in b:
    if k not in a:
        continue
    tb, ta = statistics.median(b[k]), statistics.median(a[k])
    ratios.append(ta / tb)
    print(f"{k[0]:<10} {k[1]:<5} {k[2]:>10} {k[3]:<7} {tb:>10.0f} {ta:>10.0f} {ta / tb:>12.3f}")
print(f"median after/before over {len(ratios)} rows (ns per call, medians of {runs} runs): "
      f"{statistics.median(ratios):.3f}")
PY
