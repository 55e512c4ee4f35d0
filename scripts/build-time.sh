#!/usr/bin/env bash
# What simdnorm costs the build of a crate that calls it. Makes a scratch binary crate that
# depends on simdnorm at REV (default HEAD; a worktree of it) and makes three calls a backend
# makes (RMSNorm f32, RMSNorm bf16 with a bf16 weight, the fused Pre-LN step in f32), then
# prints: the first release build (simdnorm and the crate), a release rebuild after an edit of
# the crate, a debug build with simdnorm optimized by a profile override (README, "Debug
# builds") and the time per call of each kernel in both builds.
#   bash scripts/build-time.sh [REV]
set -euo pipefail
cd "$(dirname "$0")/.."
rev="${1:-HEAD}"
work=$(mktemp -d)
trap 'git worktree remove --force "$work/simdnorm" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
git worktree add --detach -q "$work/simdnorm" "$rev"
mkdir -p "$work/user/src"
cat > "$work/user/Cargo.toml" <<TOML
[package]
name = "user"
version = "0.1.0"
edition = "2024"

[dependencies]
simdnorm = { path = "$work/simdnorm" }

[profile.dev.package.simdnorm]
opt-level = 3
debug-assertions = false
debug = false
TOML
cat > "$work/user/src/main.rs" <<'RS'
use simdnorm::half::bf16;
use simdnorm::{Norm, Stats};
use std::time::Instant;

fn per_call(mut f: impl FnMut()) -> f64 {
    let reps = 2000;
    f();
    let t = Instant::now();
    for _ in 0..reps {
        f();
    }
    t.elapsed().as_secs_f64() / reps as f64 * 1e6
}

fn main() {
    let (rows, n) = (16, 4096);
    let x: Vec<f32> = (0..rows * n).map(|i| (i % 7) as f32 - 3.0).collect();
    let g = vec![1.0f32; n];
    let mut y = vec![0.0f32; rows * n];
    let mut h = x.clone();
    let xb: Vec<bf16> = x.iter().map(|&v| bf16::from_f32(v)).collect();
    let gb = vec![bf16::ONE; n];
    let mut yb = vec![bf16::ZERO; rows * n];
    let a = per_call(|| simdnorm::rms_norm_rows(&x, n, Some(&g[..]), 1e-6, &mut y).unwrap());
    let b = per_call(|| simdnorm::rms_norm_rows(&xb, n, Some(&gb[..]), 1e-6, &mut yb).unwrap());
    let c = per_call(|| {
        h.copy_from_slice(&x);
        let pre = Norm::rms(1e-6);
        pre.residual_forward(&mut h, &x, rows, n, Some(&g[..]), None, &mut y, Stats::default())
            .unwrap()
    });
    println!("  16x4096, us per call: RMSNorm f32 {a:.1}, RMSNorm bf16 {b:.1}, Pre-LN f32 {c:.1} (with a copy of h)");
}
RS
cd "$work/user"
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
secs() { local t=$SECONDS; "$@" >/dev/null 2>&1 || { echo "failed: $*"; exit 1; }; echo $((SECONDS - t)); }
echo "simdnorm $(git -C "$work/simdnorm" rev-parse --short HEAD), $CARGO_BUILD_JOBS jobs"
echo "release build, simdnorm and the crate: $(secs cargo build --release) s"
echo "// edited" >> src/main.rs
echo "release rebuild after an edit of the crate: $(secs cargo build --release) s"
./target/release/user
echo "debug build, simdnorm optimized by the override: $(secs cargo build) s"
echo "// edited again" >> src/main.rs
echo "debug rebuild after an edit of the crate: $(secs cargo build) s"
./target/debug/user
