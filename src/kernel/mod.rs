//! Generic kernels, written once over [`lanes::Lanes`], and the per-row driver.
//!
//! A call enters the path's `#[target_feature]` context once per block of rows
//! ([`norm_rows`]); every row loop below is inlined into it (in builds with debug assertions,
//! each sweep gets a frame of its own: [`outline`]).

pub(crate) mod apply;
pub(crate) mod fused;
pub(crate) mod lanes;
pub(crate) mod short;
pub(crate) mod stats;

use apply::{Affine, apply, apply_scaled, by_sweep, sweep_call};
use lanes::{Lanes, MAX_LANES};
use pulp::Simd;
use short::is_short;
use stats::{Welford, one_block, sum_sq, welford, welford_rows};

use core::ops::Range;

use crate::element::Element;

/// Runs `f` where the kernel calling it would inline it, as every row loop of a block is
/// inlined into the one `#[target_feature]` function that [`norm_rows`] enters. In builds with
/// debug assertions, `f` gets a stack frame of its own instead (still in the path's context):
/// an unoptimized build keeps every local of every inlined loop in its own stack slot, and the
/// block function's frame grew past 2 MiB on the AVX-512 path, more than the stack of a
/// spawned thread (std's and rayon's default), so a debug build crashed off the main thread.
/// Optimized builds without debug assertions compile exactly as if `f` were written inline.
/// `f` must be an `#[inline(always)]` closure, so that its body is compiled in the path's
/// context whichever way it is called.
#[inline(always)]
pub(crate) fn outline<L: Lanes, R>(l: L, f: impl FnOnce() -> R) -> R {
    #[cfg(debug_assertions)]
    {
        l.own_frame(Call(f))
    }
    #[cfg(not(debug_assertions))]
    {
        let _ = l;
        f()
    }
}

/// Runs `f` as a function of its own in every build, still in the path's context: for the
/// sweeps a row loop takes only on its rare or large-batch paths, the rescaled path
/// ([`careful_row`]) and the apply sweeps with non-temporal stores. Inlined at every place a
/// row loop may take them (row by row, in statistics groups, tiled), the crate's release build
/// took 48 min (64 min of CPU) on a 2-core Intel Xeon VM, most of it in LLVM's PromoteMemToReg
/// over functions of hundreds of KiB of machine code; each a call of its own, 9.5 min (15 min
/// of CPU), the in-cache kernels as fast as before (docs/performance-log.md, twenty-fifth
/// session). A call per row (or per tile) of a batch large enough for non-temporal stores, or
/// of a row outside the fast path's range, costs nothing measurable beside the row's sweep.
/// `f` must be an `#[inline(always)]` closure, as for [`outline`].
#[inline(always)]
pub(crate) fn own_call<L: Lanes, R>(l: L, f: impl FnOnce() -> R) -> R {
    // In debug builds `outline` already gives `f` a frame of its own.
    #[cfg(debug_assertions)]
    {
        outline(l, f)
    }
    #[cfg(not(debug_assertions))]
    {
        call_never_inlined(l, Call(f))
    }
}

/// [`own_call`] when `OWN`, else [`outline`].
#[inline(always)]
pub(crate) fn own_call_if<L: Lanes, R, const OWN: bool>(l: L, f: impl FnOnce() -> R) -> R {
    if OWN { own_call(l, f) } else { outline(l, f) }
}

/// `l.vectorize(op)` as a call of its own (for [`own_call`]): this function has no target
/// features, so LLVM inlines neither it into the kernel nor the path's `#[target_feature]`
/// function, in which `op` runs, into it.
#[cfg(not(debug_assertions))]
#[inline(never)]
fn call_never_inlined<L: Lanes, Op: pulp::NullaryFnOnce>(l: L, op: Op) -> Op::Output {
    l.vectorize(op)
}

/// A closure as a pulp operation (for [`outline`] and [`own_call`]).
struct Call<F>(F);

impl<R, F: FnOnce() -> R> pulp::NullaryFnOnce for Call<F> {
    type Output = R;

    #[inline(always)]
    fn call(self) -> R {
        (self.0)()
    }
}

/// `src` into `dst` as `f32` (exact; `dst` at least as long), on the path `l`: the call-wide
/// `f32` copies of 16-bit weights and biases (`Norm::f32_params`), whole vectors through the
/// path's conversions, the tail through a partial vector.
pub(crate) fn widen_into<L: Lanes, T: Element>(l: L, src: &[T], dst: &mut [f32]) {
    l.vectorize(Call(
        #[inline(always)]
        || {
            let n = L::N;
            let dst = &mut dst[..src.len()];
            let full = src.len() / n * n;
            let (whole, tail) = src.split_at(full);
            let (out, out_tail) = dst.split_at_mut(full);
            for (v, o) in whole.chunks_exact(n).zip(out.chunks_exact_mut(n)) {
                l.store_f32::<false>(o, lanes::load(l, v));
            }
            if !tail.is_empty() {
                l.store_partial(out_tail, lanes::load_partial(l, tail));
            }
        },
    ))
}

/// Whether every element of `src` is finite, on the path `l`: each vector times zero is added
/// to one of four accumulators (zero for a finite element, NaN for NaN or an infinity), so that
/// the check is one multiply-add a vector, with no branch (the call-wide check of
/// `Params::finite`).
pub(crate) fn all_finite<L: Lanes, T: Element>(l: L, src: &[T]) -> bool {
    l.vectorize(Call(
        #[inline(always)]
        || {
            let s = l.simd();
            let n = L::N;
            let zero = s.splat_f32s(0.0);
            let mut acc = [zero; 4];
            let mut blocks = src.chunks_exact(4 * n);
            for b in &mut blocks {
                for (a, v) in acc.iter_mut().zip(b.chunks_exact(n)) {
                    *a = l.fma(lanes::load(l, v), zero, *a);
                }
            }
            let mut rest = blocks.remainder().chunks_exact(n);
            for v in &mut rest {
                acc[0] = l.fma(lanes::load(l, v), zero, acc[0]);
            }
            let tail = rest.remainder();
            if !tail.is_empty() {
                acc[1] = l.fma(lanes::load_partial(l, tail), zero, acc[1]);
            }
            let sum = s.add_f32s(s.add_f32s(acc[0], acc[1]), s.add_f32s(acc[2], acc[3]));
            // A NaN lane makes the sum NaN, which is not zero.
            l.hsum(sum) == 0.0
        },
    ))
}

/// Which normalization.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Rms,
    Layer,
}

/// Validated parameters of one call.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Params<'a, W> {
    pub kind: Kind,
    pub eps: f32,
    /// `eps * width` in `f64`, the fast path's term of a row's factor ([`factors`]); computed
    /// once per call, so that every row of the call, grouped or alone, uses the same bits.
    pub eps_width: f64,
    pub gamma: Option<&'a [W]>,
    pub beta: Option<&'a [W]>,
    /// Write the output with non-temporal stores (a batch too large to stay in cache).
    pub nt: bool,
    /// The weight and bias are finite, so that no output of the fast path is NaN: its
    /// normalized values are finite (a row whose statistics leave [TINY, HUGE] takes the
    /// rescaled path), and a finite value times a finite weight plus a finite bias rounds to
    /// an infinity at worst. Its bf16 output may then be narrowed without the NaN fix-up
    /// (`Affine::finite`). Checked only where that pays (`Norm::params`); `false` is always
    /// correct.
    pub finite: bool,
}

/// The kind a row loop compiled with `RMSNORM` runs ([`RowsOp`]): a constant, passed by value
/// down to every function of the loop that chooses by kind.
#[inline(always)]
pub(crate) const fn kind_of<const RMSNORM: bool>() -> Kind {
    if RMSNORM { Kind::Rms } else { Kind::Layer }
}

/// Statistics below this (sum of squares, or Welford's M2) may have lost precision to
/// underflow (squares of elements below 2^-75 flush towards zero) or may be exactly zero;
/// such rows take the rescaled path. Above it, squares too small to register cost at most a
/// relative 2^-49 per element.
const TINY: f64 = 7.888_609_052_210_118e-31; // 2^-100

/// Statistics above this may have overflowed an `f32` accumulator on the way (a block's
/// partial sums are `f32`); such rows take the rescaled path.
const HUGE: f64 = f32::MAX as f64 / 2.0;

/// A row's statistics as reported to the caller.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RowStats {
    pub mean: f32,
    pub rstd: f32,
}

/// `1 / sqrt(var + eps)` in f64 (a negative `var` from rounding counts as 0).
#[inline(always)]
fn rstd_of(var: f64, eps: f64) -> f64 {
    1.0 / (var.max(0.0) + eps).sqrt()
}

/// The factor the apply sweep multiplies by: `rstd` clamped to the largest f32, so that
/// `0 * rstd` stays 0 for a constant row with `eps = 0` (its normalized values are defined as 0).
#[inline(always)]
fn apply_factor(rstd: f64) -> f32 {
    rstd.min(f32::MAX as f64) as f32
}

/// Splits a positive factor into `hi * lo` with both representable: `lo` a power of two (1 when
/// the factor is itself normal; a subnormal, at least 2^-149, when it is below the normal
/// range, so that only the last multiplication rounds there), `hi = r / lo` (clamped to the
/// largest f32; below 1 when `r < 2^-149`, where `lo` stays at 2^-149 rather than round to 0).
#[inline(always)]
fn split_factor(r: f64) -> (f32, f32) {
    if r >= f32::MIN_POSITIVE as f64 {
        (apply_factor(r), 1.0)
    } else if r > 0.0 {
        let lo = r.log2().floor().max(-149.0).exp2();
        ((r / lo) as f32, lo as f32)
    } else {
        (0.0, 1.0)
    }
}

/// The statistics of a row as the apply sweep uses them.
#[derive(Clone, Copy, Debug)]
struct RowPlan {
    scale: f32,
    shift: f32,
    mean: f32,
    rstd: f32,
    post: f32,
    stats: RowStats,
}

/// The fast path's plan of an RMSNorm row from its sum of squares `ss` and its factor `rstd`
/// ([`factors`]): `None` for `ss` outside [TINY, HUGE] (overflow, underflow, an all-zero row,
/// NaN or Inf).
#[inline(always)]
fn rms_plan(ss: f64, rstd: f32) -> Option<RowPlan> {
    if !(TINY..=HUGE).contains(&ss) {
        return None;
    }
    Some(RowPlan {
        scale: 1.0,
        shift: 0.0,
        mean: 0.0,
        rstd,
        post: 1.0,
        stats: RowStats { mean: 0.0, rstd },
    })
}

/// The fast path's plan of a LayerNorm row from the Welford state `w` of `x - k` and its
/// factor ([`factors`] of `w.m2`): `None` when the M2 is outside [TINY, HUGE] (overflow,
/// underflow, a constant row, NaN or Inf).
#[inline(always)]
fn layer_plan(w: Welford, k: f32, rstd: f32) -> Option<RowPlan> {
    if !((TINY..=HUGE).contains(&w.m2) && w.mean.is_finite()) {
        return None;
    }
    Some(RowPlan {
        scale: 1.0,
        shift: k,
        mean: w.mean as f32,
        rstd,
        post: 1.0,
        stats: RowStats {
            mean: (k as f64 + w.mean) as f32,
            rstd,
        },
    })
}

/// The apply factors `1 / sqrt(sums[r] / width + eps)` of `R` rows of the fast path, computed
/// as `sqrt(width / (sums[r] + eps * width))` in `f64` (`eps_width = eps * width`): one
/// division and one square root in a row's dependency chain instead of two divisions and a
/// square root (row-by-row RMSNorm of short rows waits on this chain: docs/performance-log.md).
/// The rounding error stays a few `f64` ulps, far below the `f32` result's. Only sums in
/// [TINY, HUGE] are used ([`rms_plan`], [`layer_plan`]); there the factor is below 2^82, so it
/// needs no clamp to the `f32` range. Branch-free, so that the compiler computes the factors
/// of several rows in vector registers (a lane gives the bits the scalar operations give).
#[inline(always)]
fn factors<const R: usize>(sums: &[f64; R], width: f64, eps_width: f64) -> [f32; R] {
    let mut out = [0.0f32; R];
    for (o, &s) in out.iter_mut().zip(sums) {
        *o = (width / (s + eps_width)).sqrt() as f32;
    }
    out
}

/// [`factors`] of a group of rows ([`layer_stats_rows`], [`rms_stats_rows`]): a group holds at
/// most `N` rows, so on a path of at most half `MAX_LANES` lanes (AVX2, NEON) only the first
/// half of the sums is computed (the rest of the result is 0 and unused). The whole array
/// took twice the `f64` divisions and square roots a group needs: 16 % of the samples of
/// 64x128 `f32` LayerNorm on AVX2 were in the factors and plans (forty-third session).
#[inline(always)]
fn group_factors<L: Lanes>(
    sums: &[f64; MAX_LANES],
    width: f64,
    eps_width: f64,
) -> [f32; MAX_LANES] {
    const HALF: usize = MAX_LANES / 2;
    if L::N > HALF {
        return factors(sums, width, eps_width);
    }
    let mut out = [0.0f32; MAX_LANES];
    let head: [f64; HALF] = core::array::from_fn(|i| sums[i]);
    out[..HALF].copy_from_slice(&factors(&head, width, eps_width));
    out
}

/// Fast path: plain f32 statistics. `None` for anything outside [TINY, HUGE] (overflow,
/// underflow, an exactly constant row, NaN or Inf): those rows take [`careful_stats`].
#[inline(always)]
fn fast_stats<L: Lanes, X: Element, W: Element>(
    l: L,
    x: &[X],
    p: &Params<'_, W>,
    kind: Kind,
) -> Option<RowPlan> {
    let width = x.len() as f64;
    match kind {
        Kind::Rms => {
            let ss = outline(
                l,
                #[inline(always)]
                || {
                    if is_short::<L>(x.len()) {
                        short::sum_sq::<L, X>(l, x)
                    } else {
                        sum_sq::<L, X, false>(l, x, 1.0)
                    }
                },
            );
            rms_plan(ss, factors(&[ss], width, p.eps_width)[0])
        }
        Kind::Layer => {
            // Shift by the first element: x - K is nearly exact, so a large mean costs no
            // precision (DESIGN.md, numerics contract).
            let k = x[0].to_f32();
            let w = outline(
                l,
                #[inline(always)]
                || welford::<L, X, false>(l, x, 1.0, k),
            );
            layer_plan(w, k, factors(&[w.m2], width, p.eps_width)[0])
        }
    }
}

/// [`fast_stats`] of up to `N` LayerNorm rows of one width for which [`one_block`] holds,
/// their lanes merged together: entry `r < rows.len()` has the bits `fast_stats(rows[r])`
/// gives (a row's result does not depend on the rows it is grouped with). A short row spends
/// most of its statistics in the three horizontal sums of the lane merge and in the `f64`
/// tail, one long dependency chain per row; here `N` rows share them. (RMSNorm's rows are
/// grouped too, [`rms_stats_rows`].)
#[inline(always)]
fn layer_stats_rows<L: Lanes, X: Element, W: Element>(
    l: L,
    rows: &[&[X]],
    p: &Params<'_, W>,
) -> [Option<RowPlan>; MAX_LANES] {
    debug_assert!(p.kind == Kind::Layer && one_block::<L>(rows[0].len()));
    let width = rows[0].len() as f64;
    let mut k = [0.0f32; MAX_LANES];
    for (k, x) in k.iter_mut().zip(rows) {
        *k = x[0].to_f32();
    }
    let w = outline(
        l,
        #[inline(always)]
        || welford_rows::<L, X>(l, rows, &k),
    );
    let rstd = group_factors::<L>(&w.map(|w| w.m2), width, p.eps_width);
    let mut plans = [None; MAX_LANES];
    for r in 0..rows.len() {
        plans[r] = layer_plan(w[r], k[r], rstd[r]);
    }
    plans
}

/// [`layer_stats_rows`] or [`rms_stats_rows`], as the kind is.
#[inline(always)]
fn stats_rows<L: Lanes, X: Element, W: Element>(
    l: L,
    rows: &[&[X]],
    p: &Params<'_, W>,
    kind: Kind,
) -> [Option<RowPlan>; MAX_LANES] {
    match kind {
        Kind::Layer => layer_stats_rows::<L, X, W>(l, rows, p),
        Kind::Rms => rms_stats_rows::<L, X, W>(l, rows, p),
    }
}

/// [`fast_stats`] of up to `N` RMSNorm rows of one width: entry `r < rows.len()` has the bits
/// `fast_stats(rows[r])` gives. The rows share one vector of `f64` divisions and square roots
/// ([`factors`]), and short rows ([`is_short`]) one horizontal sum too; alone, each row waits
/// on its own chain of them before its apply sweep can start, and a row of a few hundred
/// elements has too little other work to hide it (4096x128 bf16 on Zen 5: 1.9x faster
/// grouped; batches of rows of 100 to 512 elements on AVX2, Zen 3: x0.73-0.94 the time,
/// docs/performance-log.md). Rows longer than short keep the general sweep ([`sum_sq`]), row by
/// row within the group.
#[inline(always)]
fn rms_stats_rows<L: Lanes, X: Element, W: Element>(
    l: L,
    rows: &[&[X]],
    p: &Params<'_, W>,
) -> [Option<RowPlan>; MAX_LANES] {
    debug_assert!(p.kind == Kind::Rms);
    let width = rows[0].len() as f64;
    let ss = outline(
        l,
        #[inline(always)]
        || {
            if is_short::<L>(rows[0].len()) {
                short::sum_sq_rows::<L, X>(l, rows)
            } else {
                let mut ss = [0.0f64; MAX_LANES];
                for (s, x) in ss.iter_mut().zip(rows) {
                    *s = sum_sq::<L, X, false>(l, x, 1.0);
                }
                ss
            }
        },
    );
    let rstd = group_factors::<L>(&ss, width, p.eps_width);
    let mut plans = [None; MAX_LANES];
    for r in 0..rows.len() {
        plans[r] = rms_plan(ss[r], rstd[r]);
    }
    plans
}

/// The rare path: `None` for a row with NaN or Inf (it becomes all NaN); otherwise the row is
/// scaled by a power of two that brings its largest magnitude into [1, 2) (exact: only the
/// exponent changes), the statistics are recomputed, and `eps` is scaled to match
/// (`eps * scale^2`, in f64).
#[inline(always)]
fn careful_stats<L: Lanes, X: Element, W: Element>(
    l: L,
    x: &[X],
    p: &Params<'_, W>,
    kind: Kind,
) -> Option<RowPlan> {
    let mut max = 0.0f32;
    let mut finite = true;
    for &e in x {
        let v = e.to_f32();
        finite &= v.is_finite();
        max = max.max(v.abs());
    }
    if !finite {
        return None;
    }
    let width = x.len() as f64;
    // 2^-e with max in [2^e, 2^(e+1)); the exponent is clamped so the scale is a normal f32.
    let e = if max > 0.0 {
        (max as f64).log2().floor() as i32
    } else {
        0
    };
    let e = e.clamp(-126, 126);
    let scale = 2f64.powi(-e);
    let s32 = scale as f32;
    let eps = p.eps as f64 * scale * scale;
    Some(match kind {
        Kind::Rms => {
            let ss = own_call(
                l,
                #[inline(always)]
                || sum_sq::<L, X, true>(l, x, s32),
            );
            let r = rstd_of(ss / width, eps);
            let (rstd, post) = split_factor(r);
            RowPlan {
                scale: s32,
                shift: 0.0,
                mean: 0.0,
                rstd,
                post,
                stats: RowStats {
                    mean: 0.0,
                    rstd: (r * scale) as f32,
                },
            }
        }
        Kind::Layer => {
            let k = x[0].to_f32() * s32;
            let w = own_call(
                l,
                #[inline(always)]
                || welford::<L, X, true>(l, x, s32, k),
            );
            let r = rstd_of(w.m2 / width, eps);
            let (rstd, post) = split_factor(r);
            RowPlan {
                scale: s32,
                shift: k,
                mean: w.mean as f32,
                rstd,
                post,
                stats: RowStats {
                    mean: ((k as f64 + w.mean) / scale) as f32,
                    rstd: (r * scale) as f32,
                },
            }
        }
    })
}

/// The fast path's statistics of one row (`None`: the row takes the rescaled path).
#[inline(always)]
fn row_plan<L: Lanes, TI: Element, TO: Element, W: Element, const INPLACE: bool>(
    l: L,
    src: &[TI],
    dst: &[TO],
    p: &Params<'_, W>,
    kind: Kind,
) -> Option<RowPlan> {
    if INPLACE {
        fast_stats::<L, TO, W>(l, dst, p, kind)
    } else {
        fast_stats::<L, TI, W>(l, src, p, kind)
    }
}

/// The apply sweep's description of elements `cols` of a row with statistics `plan`.
#[inline(always)]
fn affine<'a, W>(p: &Params<'a, W>, plan: &RowPlan, cols: Range<usize>) -> Affine<'a, W> {
    Affine {
        gamma: p.gamma.map(|g| &g[cols.clone()]),
        beta: p.beta.map(|b| &b[cols]),
        ..row_factors(p, plan)
    }
}

/// [`affine`] without the weight and bias, for a sweep that takes the call's own
/// ([`sweep_rows`]): a row of a group then cuts no slice of them, whose bounds checks the
/// compiler did not always hoist out of the group's loop (each row of 4096x64 `f32` RMSNorm
/// tested the weight's presence and length once the kind was an argument, docs/performance-log.md).
#[inline(always)]
fn row_factors<'a, W>(p: &Params<'a, W>, plan: &RowPlan) -> Affine<'a, W> {
    Affine {
        scale: plan.scale,
        shift: plan.shift,
        mean: plan.mean,
        rstd: plan.rstd,
        post: plan.post,
        gamma: None,
        beta: None,
        finite: p.finite,
    }
}

/// Normalizes one row from `src` (type `TI`) into `dst` (type `TO`); when `INPLACE`, `src` is
/// ignored and the input is `dst` itself. Only the fast path's sweep is compiled twice (with
/// and without non-temporal stores): the statistics and the rare rescaled sweep once.
#[inline(always)]
pub(crate) fn norm_row<L: Lanes, TI: Element, TO: Element, W: Element, const INPLACE: bool>(
    l: L,
    src: &[TI],
    dst: &mut [TO],
    p: &Params<'_, W>,
    kind: Kind,
) -> RowStats {
    let plan = row_plan::<L, TI, TO, W, INPLACE>(l, src, dst, p, kind);
    finish_row::<L, TI, TO, W, INPLACE, false>(l, src, dst, p, kind, plan)
}

/// The apply sweep of one row whose fast-path statistics are `plan` (with or without
/// non-temporal stores, as `p` says), or, for `None`, the rescaled path ([`careful_row`]).
/// `NT_ONLY` compiles only the non-temporal sweeps, for a caller that has checked `p.nt`: the
/// sweeps with cached stores are inlined wherever they may run, and each unreachable copy
/// lengthens the crate's release build.
#[inline(always)]
fn finish_row<
    L: Lanes,
    TI: Element,
    TO: Element,
    W: Element,
    const INPLACE: bool,
    const NT_ONLY: bool,
>(
    l: L,
    src: &[TI],
    dst: &mut [TO],
    p: &Params<'_, W>,
    kind: Kind,
    plan: Option<RowPlan>,
) -> RowStats {
    let Some(plan) = plan else {
        return careful_row::<L, TI, TO, W, INPLACE>(l, src, dst, p, kind);
    };
    let a = affine(p, &plan, 0..dst.len());
    // With non-temporal stores the sweep prefetches the row after this one (`apply`).
    let ahead = dst.len() * if INPLACE { TO::BYTES } else { TI::BYTES };
    if NT_ONLY {
        debug_assert!(p.nt);
        apply::<L, TI, TO, W, INPLACE, true>(l, kind == Kind::Layer, src, dst, &a, ahead);
    } else {
        apply_stores::<L, TI, TO, W, INPLACE>(l, src, dst, p, kind, &a, ahead);
    }
    plan.stats
}

/// The fast path's apply sweep of `a`, with non-temporal stores when `p` says so (the sweep is
/// compiled once for each kind of store); with them, it prefetches the input `ahead` bytes past
/// the elements it reads ([`apply`](fn@apply)).
#[inline(always)]
fn apply_stores<L: Lanes, TI: Element, TO: Element, W: Element, const INPLACE: bool>(
    l: L,
    src: &[TI],
    dst: &mut [TO],
    p: &Params<'_, W>,
    kind: Kind,
    a: &Affine<'_, W>,
    ahead: usize,
) {
    let layer = kind == Kind::Layer;
    if p.nt {
        apply::<L, TI, TO, W, INPLACE, true>(l, layer, src, dst, a, ahead);
    } else {
        apply::<L, TI, TO, W, INPLACE, false>(l, layer, src, dst, a, ahead);
    }
}

/// A row outside the fast path's range: rescaled statistics and sweep, or all NaN.
#[inline(always)]
fn careful_row<L: Lanes, TI: Element, TO: Element, W: Element, const INPLACE: bool>(
    l: L,
    src: &[TI],
    dst: &mut [TO],
    p: &Params<'_, W>,
    kind: Kind,
) -> RowStats {
    let careful = if INPLACE {
        careful_stats::<L, TO, W>(l, dst, p, kind)
    } else {
        careful_stats::<L, TI, W>(l, src, p, kind)
    };
    match careful {
        Some(plan) => {
            let a = affine(p, &plan, 0..dst.len());
            own_call(
                l,
                #[inline(always)]
                || apply_scaled::<L, TI, TO, W, INPLACE>(l, src, dst, &a),
            );
            plan.stats
        }
        None => {
            dst.fill(TO::from_f32(f32::NAN));
            RowStats {
                mean: f32::NAN,
                rstd: f32::NAN,
            }
        }
    }
}

/// Where the rows are: `rows` rows of `width` elements, row `r` of the input starting at element
/// `r * src_stride` and of the output at `r * dst_stride` (strides `>= width`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Layout {
    pub rows: usize,
    pub width: usize,
    pub src_stride: usize,
    pub dst_stride: usize,
}

/// Elements per column tile of the tiled apply (a multiple of every path's vector length).
const TILE: usize = 1024;
/// The input (or output) bytes of a group of rows whose statistics are computed before their
/// tiled apply: the group's rows stay in L2 between the two.
const GROUP_BYTES: usize = 256 * 1024;
/// The most rows in a group.
const MAX_GROUP: usize = 32;
/// The most bytes (input or output, whichever is larger) of a group of rows whose statistics
/// are computed together before their apply sweeps: half of a 32 KiB L1D.
const SHORT_GROUP_BYTES: usize = 16 * 1024;

/// How many rows of `width` elements (`row_bytes` of input or output, whichever is larger) have
/// their statistics computed together before their apply sweeps ([`group_rows`]); 1 for rows
/// that go one by one. The group shares the chain of horizontal sums, division and square root
/// that each row would otherwise wait on before its apply sweep. A group is as many rows (up to
/// `N`) as keep its bytes within SHORT_GROUP_BYTES, so that they stay in L1 between the two
/// sweeps. RMSNorm groups any such rows, except in batches written with non-temporal stores,
/// which group only short rows: their rows come from memory, and a row's apply sweep prefetches
/// the next row for its statistics sweep, which a group would read first. LayerNorm groups rows
/// of one Welford block, `N` at a time; its longer rows, grouped the same way, measured no
/// better (docs/performance-log.md).
#[inline(always)]
pub(crate) fn group_size<L: Lanes, W>(
    p: &Params<'_, W>,
    kind: Kind,
    width: usize,
    row_bytes: usize,
) -> usize {
    let by_bytes = (SHORT_GROUP_BYTES / row_bytes).min(L::N);
    let groupable = match kind {
        Kind::Rms => !p.nt || is_short::<L>(width),
        Kind::Layer => one_block::<L>(width) && by_bytes == L::N,
    };
    // A row of more than SHORT_GROUP_BYTES is a group of its own (`by_bytes` is 0 there; a
    // fused call takes its rows `group_size` at a time, so 0 would be no rows at all).
    if groupable { by_bytes.max(1) } else { 1 }
}

/// The rows `r0..r0 + g` (`1 < g <= N`; input `src_row(r)`, output `dst[dst_row(r)]`, or in
/// place there when `INPLACE`): their statistics together, then each row's apply sweep, and
/// `put(r, stats)` for each (with cached stores, the rows outside the fast path's range last).
/// Every row has the bits it has alone ([`norm_row`]).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn group_rows<'s, L: Lanes, TI: Element, TO: Element, W: Element, const INPLACE: bool>(
    l: L,
    r0: usize,
    g: usize,
    src_row: impl Fn(usize) -> &'s [TI],
    dst: &mut [TO],
    dst_row: impl Fn(usize) -> Range<usize>,
    p: &Params<'_, W>,
    kind: Kind,
    mut put: impl FnMut(usize, RowStats),
) {
    debug_assert!(g > 1 && g <= L::N);
    // The rows' slices in a plain loop: built by `core::array::from_fn`, they were a call of
    // their own, 7 % of a 4096x128 f16 RMSNorm profile (docs/performance-log.md).
    let plans = if INPLACE {
        let mut xs: [&[TO]; MAX_LANES] = [&[]; MAX_LANES];
        for (k, x) in xs.iter_mut().enumerate().take(g) {
            *x = &dst[dst_row(r0 + k)];
        }
        stats_rows::<L, TO, W>(l, &xs[..g], p, kind)
    } else {
        let mut xs: [&[TI]; MAX_LANES] = [&[]; MAX_LANES];
        for (k, x) in xs.iter_mut().enumerate().take(g) {
            *x = src_row(r0 + k);
        }
        stats_rows::<L, TI, W>(l, &xs[..g], p, kind)
    };
    if p.nt {
        for (k, &plan) in plans.iter().enumerate().take(g) {
            let r = r0 + k;
            let (src, d) = (src_row(r), &mut dst[dst_row(r)]);
            let st = finish_row::<L, TI, TO, W, INPLACE, true>(l, src, d, p, kind, plan);
            put(r, st);
        }
        return;
    }
    // Cached stores: the kind, weight and bias are chosen once for the group, and each row of
    // the fast path takes that sweep directly (row by row, `apply` chooses for every row, and
    // its `Affine` goes through memory because the non-temporal sweeps take it by reference
    // into a call of their own). Rows outside the fast path's range follow.
    let plans = &plans[..g];
    macro_rules! rows {
        ($layer:literal, $g:literal, $b:literal, $gs:expr, $bs:expr) => {
            sweep_rows::<L, TI, TO, W, INPLACE, $layer, $g, $b>(
                l, r0, plans, &src_row, dst, &dst_row, $gs, $bs, p, &mut put,
            )
        };
    }
    by_sweep!(kind == Kind::Layer, p.gamma, p.beta, rows);
    careful_rows::<L, TI, TO, W, INPLACE>(l, r0, plans, src_row, dst, dst_row, p, kind, put);
}

/// The fast path's apply sweeps of the rows `r = r0 + k` of a group that have a plan
/// (`plans[k]`; input `src_row(r)`, output `dst[dst_row(r)]`), all of one kind, weight and bias
/// (`gs`, `bs`: the call's, when `G`, `B`), and `put(r, stats)` for each.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn sweep_rows<
    's,
    L: Lanes,
    TI: Element,
    TO: Element,
    W: Element,
    const INPLACE: bool,
    const LAYER: bool,
    const G: bool,
    const B: bool,
>(
    l: L,
    r0: usize,
    plans: &[Option<RowPlan>],
    src_row: impl Fn(usize) -> &'s [TI],
    dst: &mut [TO],
    dst_row: impl Fn(usize) -> Range<usize>,
    gs: &[W],
    bs: &[W],
    p: &Params<'_, W>,
    put: &mut impl FnMut(usize, RowStats),
) {
    // The loop a frame of its own in unoptimized builds (`outline`): inlined into the row loop,
    // its sweeps' locals overflowed the small-stack test's 256 KiB (tests/suite/stack.rs).
    outline(
        l,
        #[inline(always)]
        || {
            for (k, plan) in plans.iter().enumerate() {
                if let Some(plan) = plan {
                    let r = r0 + k;
                    let d = &mut dst[dst_row(r)];
                    let a = row_factors(p, plan);
                    let src = src_row(r);
                    // Rows of whole vectors only: every stream cut to that constant length,
                    // the sweep's loop unrolls fully (`short::by_width`).
                    short::by_width::<L, _, false>(
                        l,
                        d.len(),
                        #[inline(always)]
                        |w| {
                            let src = if INPLACE { src } else { &src[..w] };
                            sweep_call::<L, TI, TO, W, INPLACE, LAYER, G, B, false>(
                                l,
                                src,
                                &mut d[..w],
                                gs,
                                bs,
                                &a,
                                0,
                            )
                        },
                    );
                    put(r, plan.stats);
                }
            }
        },
    )
}

/// The rows `r0 + k` of a group without a plan (`plans[k]` is `None`): [`careful_row`], and
/// `put(r, stats)` for each.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn careful_rows<'s, L: Lanes, TI: Element, TO: Element, W: Element, const INPLACE: bool>(
    l: L,
    r0: usize,
    plans: &[Option<RowPlan>],
    src_row: impl Fn(usize) -> &'s [TI],
    dst: &mut [TO],
    dst_row: impl Fn(usize) -> Range<usize>,
    p: &Params<'_, W>,
    kind: Kind,
    mut put: impl FnMut(usize, RowStats),
) {
    // A frame of its own in unoptimized builds, as in `sweep_rows`.
    outline(
        l,
        #[inline(always)]
        || {
            for (k, plan) in plans.iter().enumerate() {
                if plan.is_none() {
                    let r = r0 + k;
                    let (src, d) = (src_row(r), &mut dst[dst_row(r)]);
                    put(r, careful_row::<L, TI, TO, W, INPLACE>(l, src, d, p, kind));
                }
            }
        },
    )
}

/// The most bytes of a row's input, weight and bias that a batch written with non-temporal
/// stores applies row by row rather than tiled ([`tile_group`]).
const NT_ROW_STREAM_BYTES: usize = 40 * 1024;

/// How many rows of `width` elements (`row_bytes` of input or output, whichever is larger) a
/// batch of `rows` rows applies together in column tiles ([`tiled_rows`]), or 0 when it goes
/// row by row or in statistics groups ([`group_size`]). Rows of at least `2 * TILE` elements
/// with a weight or a bias, in a batch of more than one row written with cached stores (or with
/// non-temporal stores too, when `nt_tiles`): up to `MAX_GROUP` rows within `GROUP_BYTES`, so
/// that the group stays in L2 between its statistics and its apply sweeps.
///
/// Plain LayerNorm batches pass `nt_tiles`, and with non-temporal stores their rows are tiled
/// when a row, its weight and its bias (`W`) exceed `NT_ROW_STREAM_BYTES`: out of cache, the
/// row-by-row apply sweep then reads the weight and the bias from L2 for every row (48 KiB of
/// `f32` streams at 4096 elements, past a 32 KiB L1D), and tiled it reads them from L1.
/// `rowtime -- 10 layer 8192x4096` on Zen 4, alternating, best of seven runs: `f32` 14.1 ->
/// 11.5 ms. Below that size row by row wins: its apply sweep reads the row from L1 where the
/// statistics sweep has just left it (tiled, the group's rows are read again from L2), and it
/// prefetches the next row while its stores go out. On the twenty-sixth session's Intel Xeon
/// (48 KiB L1D), `8192x4096`, five alternating runs of one build, best: f16 8.30 -> 7.15 ms,
/// bf16 8.54 -> 7.33 ms, bf16 with `f32` weights (40 KiB) 8.45 -> 7.40 ms row by row, `f32`
/// (48 KiB) 15.5 tiled against 16.2 ms (docs/performance-log.md); on Zen 4 (32 KiB L1D) 16-bit
/// rows with 16-bit weights measured within that VM's noise either way. RMSNorm's rows were
/// slower tiled (1.19-1.25x the time; row by row, its sweep prefetches the next row), and so
/// was one fused form (Post-LN LayerNorm `f32`, 1.19x): they pass `false`.
#[inline(always)]
pub(crate) fn tile_group<W: Element>(
    p: &Params<'_, W>,
    rows: usize,
    width: usize,
    row_bytes: usize,
    nt_tiles: bool,
) -> usize {
    // How many of the weight and the bias the call has.
    let params = usize::from(p.gamma.is_some()) + usize::from(p.beta.is_some());
    let streams = row_bytes + width * W::BYTES * params;
    let tiled = (!p.nt || (nt_tiles && streams > NT_ROW_STREAM_BYTES))
        && width >= 2 * TILE
        && rows > 1
        && params > 0
        && row_bytes <= GROUP_BYTES / 2;
    if tiled {
        (GROUP_BYTES / row_bytes).min(MAX_GROUP)
    } else {
        0
    }
}

/// The rows `r0..r0 + g` (`1 <= g <= MAX_GROUP`; input `src_row(r)`, output
/// `dst[dst_row(r)]`, or in place there when `INPLACE`): the statistics of each, then their
/// apply sweeps tile by tile, so that each tile of the weight and bias is read from L1 by every
/// row of the group; rows outside the fast path's range last ([`careful_row`]). `put(r, stats)`
/// for each. Every element is computed as a row alone computes it ([`norm_row`]): same bits.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn tiled_rows<'s, L: Lanes, TI: Element, TO: Element, W: Element, const INPLACE: bool>(
    l: L,
    r0: usize,
    g: usize,
    src_row: impl Fn(usize) -> &'s [TI],
    dst: &mut [TO],
    dst_row: impl Fn(usize) -> Range<usize>,
    p: &Params<'_, W>,
    kind: Kind,
    mut put: impl FnMut(usize, RowStats),
) {
    debug_assert!((1..=MAX_GROUP).contains(&g));
    let width = dst_row(r0).len();
    // With non-temporal stores, the apply sweeps prefetch the same columns of the next group's
    // rows (`g` rows further on), which the next group's statistics sweeps read: so those read
    // from L2 while the memory takes this group's stores. (Prefetching a tile's next columns
    // instead, as a row alone does, finds lines the statistics sweeps have just read.) The rows
    // are evenly spaced, so row `r0 + 1` gives the spacing.
    let ahead = if g > 1 {
        let (first, second) = if INPLACE {
            let bytes = TO::BYTES;
            (dst_row(r0).start * bytes, dst_row(r0 + 1).start * bytes)
        } else {
            (
                src_row(r0).as_ptr() as usize,
                src_row(r0 + 1).as_ptr() as usize,
            )
        };
        (second - first) * g
    } else {
        width * if INPLACE { TO::BYTES } else { TI::BYTES }
    };
    let mut plans = [None; MAX_GROUP];
    for (k, plan) in plans.iter_mut().enumerate().take(g) {
        let r = r0 + k;
        *plan = row_plan::<L, TI, TO, W, INPLACE>(l, src_row(r), &dst[dst_row(r)], p, kind);
    }
    let mut c0 = 0;
    while c0 < width {
        let cols = c0..(c0 + TILE).min(width);
        for (k, plan) in plans.iter().enumerate().take(g) {
            if let Some(plan) = plan {
                let r = r0 + k;
                let s = if INPLACE {
                    &[][..]
                } else {
                    &src_row(r)[cols.clone()]
                };
                let d = &mut dst[dst_row(r)][cols.clone()];
                let a = affine(p, plan, cols.clone());
                apply_stores::<L, TI, TO, W, INPLACE>(l, s, d, p, kind, &a, ahead);
            }
        }
        c0 = cols.end;
    }
    for (k, plan) in plans.iter().enumerate().take(g) {
        let r = r0 + k;
        let st = match plan {
            Some(plan) => plan.stats,
            None => {
                careful_row::<L, TI, TO, W, INPLACE>(l, src_row(r), &mut dst[dst_row(r)], p, kind)
            }
        };
        put(r, st);
    }
}

/// The rows `r0..r0 + g` of a batch whose blocks of rows are [`tile_group`] rows when `tiled`,
/// else [`group_size`] rows: tile by tile ([`tiled_rows`]), the row alone when `g == 1`
/// ([`norm_row`]), or their statistics together ([`group_rows`]). `put(r, stats)` for each.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn block_rows<
    's,
    L: Lanes,
    TI: Element,
    TO: Element,
    W: Element,
    const INPLACE: bool,
>(
    l: L,
    r0: usize,
    g: usize,
    tiled: bool,
    src_row: impl Fn(usize) -> &'s [TI],
    dst: &mut [TO],
    dst_row: impl Fn(usize) -> Range<usize>,
    p: &Params<'_, W>,
    kind: Kind,
    mut put: impl FnMut(usize, RowStats),
) {
    if tiled {
        tiled_rows::<L, TI, TO, W, INPLACE>(l, r0, g, src_row, dst, dst_row, p, kind, put);
    } else if g == 1 {
        let (src, dst) = (src_row(r0), &mut dst[dst_row(r0)]);
        let st = norm_row::<L, TI, TO, W, INPLACE>(l, src, dst, p, kind);
        put(r0, st);
    } else {
        group_rows::<L, TI, TO, W, INPLACE>(l, r0, g, src_row, dst, dst_row, p, kind, put);
    }
}

/// The row loop of one block, as a value whose `call` is `#[inline(always)]`: pulp's
/// `vectorize` then compiles the whole loop inside the `#[target_feature]` context. (A closure
/// would not do: its body is not forced inline, and a kernel left outside the context turns
/// every intrinsic into a function call, 10x slower.)
///
/// The loop is compiled for one kind, RMSNorm when `RMSNORM` and LayerNorm otherwise (`p.kind`
/// must be that kind), passed by value ([`kind_of`]) to every function of the loop that
/// chooses by it. With the kind a run-time value, LLVM hoisted LayerNorm's per-width set-up
/// (such as the Chan merge weights of a row's last block) ahead of the row loop, and every
/// RMSNorm call paid for it: 42 % of a 1x16 call's samples. Read from `p` (memory), the kind
/// became a constant only once LLVM's SROA had gone over the whole inlined loop, so each loop
/// carried the other kind's statistics and sweeps through that pass, the longest of the
/// crate's release build; as an argument it is a constant where the inliner copies the callee
/// in, and the other kind's branches are not copied (docs/performance-log.md, fortieth session).
struct RowsOp<'a, 'p, L, TI, TO, W, const INPLACE: bool, const RMSNORM: bool> {
    l: L,
    src: &'a [TI],
    dst: &'a mut [TO],
    /// By reference: the caller's `Layout` where it lies, read field by field here (see
    /// `Batch::run`).
    layout: &'a Layout,
    p: &'a Params<'p, W>,
    mean: Option<&'a mut [f32]>,
    rstd: Option<&'a mut [f32]>,
}

impl<L: Lanes, TI: Element, TO: Element, W: Element, const INPLACE: bool, const RMSNORM: bool>
    pulp::NullaryFnOnce for RowsOp<'_, '_, L, TI, TO, W, INPLACE, RMSNORM>
{
    type Output = ();

    #[inline(always)]
    fn call(self) {
        let RowsOp {
            l,
            src,
            dst,
            layout,
            p,
            mut mean,
            mut rstd,
        } = self;
        let kind = kind_of::<RMSNORM>();
        debug_assert!(p.kind == kind);
        let Layout {
            rows,
            width,
            src_stride,
            dst_stride,
        } = *layout;
        let src_row = |r: usize| {
            if INPLACE {
                &[][..]
            } else {
                &src[r * src_stride..r * src_stride + width]
            }
        };
        let dst_row = |r: usize| r * dst_stride..r * dst_stride + width;
        let mut put = |r: usize, st: RowStats| {
            if let Some(m) = mean.as_deref_mut() {
                m[r] = st.mean;
            }
            if let Some(q) = rstd.as_deref_mut() {
                q[r] = st.rstd;
            }
        };
        let row_bytes = width * TI::BYTES.max(TO::BYTES);
        let tile = tile_group(p, rows, width, row_bytes, kind == Kind::Layer);
        let block = if tile > 0 {
            tile
        } else {
            group_size::<L, W>(p, kind, width, row_bytes)
        };
        let mut r0 = 0;
        while r0 < rows {
            let g = block.min(rows - r0);
            block_rows::<L, TI, TO, W, INPLACE>(
                l,
                r0,
                g,
                tile > 0,
                src_row,
                dst,
                dst_row,
                p,
                kind,
                &mut put,
            );
            r0 += g;
        }
        if p.nt {
            // Non-temporal stores are weakly ordered: make them visible before returning.
            l.fence();
        }
    }
}

/// Normalizes the rows `layout` describes, from `src` into `dst` (or in place in `dst` when
/// `INPLACE`; `src` is then ignored), inside one `#[target_feature]` context.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn norm_rows<L: Lanes, TI: Element, TO: Element, W: Element, const INPLACE: bool>(
    l: L,
    src: &[TI],
    dst: &mut [TO],
    layout: &Layout,
    p: &Params<'_, W>,
    mean: Option<&mut [f32]>,
    rstd: Option<&mut [f32]>,
) {
    // RMSNorm's own loop ([`RowsOp`]); LayerNorm's reads the kind at run time.
    match p.kind {
        Kind::Rms => l.vectorize(RowsOp::<L, TI, TO, W, INPLACE, true> {
            l,
            src,
            dst,
            layout,
            p,
            mean,
            rstd,
        }),
        Kind::Layer => l.vectorize(RowsOp::<L, TI, TO, W, INPLACE, false> {
            l,
            src,
            dst,
            layout,
            p,
            mean,
            rstd,
        }),
    }
}
