//! RMSNorm statistics of short rows (QK-norm's heads of 64 or 128 elements, and any row of at
//! most `SHORT_VECS` vectors): the row's vectors are loaded into registers, all at once, and
//! their squares summed by a fixed pairwise tree, without the general sweep's loop over blocks
//! of accumulators, which such a row has too few elements to amortize (docs/performance-log.md).
//! The rows of a batch are reduced `N` at a time ([`sum_sq_rows`]), with the same bits.
//! (LayerNorm's short rows keep Welford: the corrected two-pass algorithm on these vectors
//! measured slower than its grouped lane merges, docs/performance-log.md.)

use pulp::Simd;

use super::lanes::{F, Lanes, MAX_LANES, load, load_partial};
use super::outline;
use super::stats::{dot_checked, pairwise};
use crate::element::{Element, SliceRef};

/// The most vectors (of `N` lanes, the last one partial or not) in a short row: 128 elements on
/// AVX-512, 64 on AVX2, 32 on NEON and the portable path. A constant, so that every loop
/// below unrolls and the row's vectors stay in registers.
const SHORT_VECS: usize = 8;

/// The short rows the row loops compile apart, with their length a constant: `SHORT_VECS`
/// whole vectors, no partial one (QK-norm's 128-wide heads on AVX-512, 64-wide on AVX2). Their
/// loops unroll fully, with no count or index to test: in a profile of 4096x128 f16 RMSNorm on
/// AVX-512 the statistics compared and branched once per vector, and the apply sweep looped
/// vector by vector (docs/performance-log.md).
#[cfg_attr(debug_assertions, allow(dead_code))] // unused where `by_width` compiles no copies
const WHOLE_VECS: usize = SHORT_VECS;

/// A QK-norm row of a model with 128-wide heads (RMSNorm over each head's query and key
/// vectors, NORMS.md; the performance issue's 4096x128 shape), which [`by_width`] compiles
/// apart on the paths where it is not `WHOLE_VECS` vectors ([`Lanes::HEAD_APART`]).
#[cfg_attr(debug_assertions, allow(dead_code))] // unused where `by_width` compiles no copies
pub(super) const HEAD_WIDTH: usize = 128;

/// Calls `f` with the rows' `width`: as a constant where it is `WHOLE_VECS` whole vectors, or,
/// when `HEAD` and the path says so ([`Lanes::HEAD_APART`]), [`HEAD_WIDTH`], so that every
/// loop `f` runs over slices cut to it unrolls fully (the same operations, the same bits).
/// Each call a frame of its own in unoptimized builds ([`outline`]). `f` must be an
/// `#[inline(always)]` closure.
///
/// `HEAD` is true for the LayerNorm statistics of grouped short rows only. The apply sweep of
/// every grouped row loop with `HEAD` too cut a 128-wide LayerNorm row on AVX2 to 372
/// instructions (481 without either, 426 with the statistics' alone) but made the crate's
/// release build 44 % longer (9 min 10 s -> 13 min 14 s for `cargo build --release --example
/// rowtime` on 2-core Zen 3) for 5 % of LayerNorm's time at that width
/// (docs/performance-log.md, forty-third session); `sum_sq_rows` only takes rows of at most
/// `SHORT_VECS` vectors, which `HEAD_WIDTH` is not where `HEAD_APART` holds.
///
/// Builds with debug assertions (the unoptimized test, C ABI, sanitizer and aarch64 builds)
/// compile one copy: without optimization the copy with the constant is the same machine code
/// as the other, and the two were 73 % of the AVX2 path's code in the crate's debug build
/// (48 of 66 MB; `nm -S` of the rlib's objects, forty-second session), so a third of the time
/// of every debug build of the crate. The fuzz targets' build (optimized, with debug
/// assertions, `cfg(fuzzing)`) compiles every copy, so that CI checks the ones that optimized
/// builds run (its seed corpus has grouped rows of each of these widths), and so does a build
/// with `--cfg simdnorm_width_copies` in `RUSTFLAGS`: CI's aarch64 test build, where no fuzz
/// build runs the NEON path (scripts/test-aarch64.sh).
#[inline(always)]
pub(super) fn by_width<L: Lanes, R, const HEAD: bool>(
    l: L,
    width: usize,
    f: impl FnOnce(usize) -> R,
) -> R {
    #[cfg(any(not(debug_assertions), fuzzing, simdnorm_width_copies))]
    {
        let whole = WHOLE_VECS * L::N;
        if width == whole {
            return outline(
                l,
                #[inline(always)]
                || f(whole),
            );
        }
        if HEAD && L::HEAD_APART && width == HEAD_WIDTH {
            return outline(
                l,
                #[inline(always)]
                || f(HEAD_WIDTH),
            );
        }
    }
    outline(
        l,
        #[inline(always)]
        || f(width),
    )
}

/// Whether a row of `width` elements is short on the path `L`.
#[inline(always)]
pub(super) fn is_short<L: Lanes>(width: usize) -> bool {
    width <= SHORT_VECS * L::N
}

/// The vectors of a short row in `f32`, the last one zero-padded and the ones past the row
/// zero (adding nothing to a sum of squares).
#[inline(always)]
fn values<L: Lanes, T: Element>(l: L, x: &[T]) -> [F<L>; SHORT_VECS] {
    let s = l.simd();
    let n = L::N;
    debug_assert!(is_short::<L>(x.len()));
    let full = x.len() / n;
    let tail = &x[full * n..];
    let mut v = [s.splat_f32s(0.0); SHORT_VECS];
    // Every index is compared, none computed, so that the unrolled loop keeps `v` in registers
    // (a computed index, `v[full]`, put the whole array on the stack: 1.3-1.5x slower).
    for (i, vi) in v.iter_mut().enumerate() {
        if i < full {
            *vi = load(l, &x[i * n..i * n + n]);
        } else if i == full && !tail.is_empty() {
            *vi = load_partial(l, tail);
        }
    }
    v
}

/// The squares of a short row summed into one vector by a fixed pairwise tree ([`pairwise`]):
/// of all `SHORT_VECS` vectors, or, for bf16 on a path with [`Lanes::BF16_DOT`], of the
/// `SHORT_VECS / 2` dot products of `2 N` elements each.
#[inline(always)]
fn squares<L: Lanes, T: Element>(l: L, x: &[T]) -> F<L> {
    let s = l.simd();
    if L::BF16_DOT
        && let SliceRef::Bf16(x) = T::tag(x)
    {
        const PAIRS: usize = SHORT_VECS / 2;
        let n = 2 * L::N;
        let full = x.len() / n;
        let tail = &x[full * n..];
        let zero = s.splat_f32s(0.0);
        let mut a = [zero; PAIRS];
        // Indices compared, not computed, as in `values`.
        for (i, ai) in a.iter_mut().enumerate() {
            if i < full {
                *ai = l.square_add_bf16(zero, &x[i * n..i * n + n]);
            } else if i == full && !tail.is_empty() {
                *ai = l.square_add_bf16_partial(zero, tail);
            }
        }
        return pairwise(l, &mut a, PAIRS);
    }
    let mut a = values(l, x).map(|v| s.mul_f32s(v, v));
    pairwise(l, &mut a, SHORT_VECS)
}

/// The sum of squares of a short row ([`is_short`]) in `f32`: [`squares`], then across the
/// lanes (for bf16 on a path with [`Lanes::BF16_DOT`], zero where its flushes may have cut
/// the sum, as [`dot_checked`] says).
#[inline(always)]
pub(super) fn sum_sq<L: Lanes, T: Element>(l: L, x: &[T]) -> f64 {
    dot_checked::<L, T>(l.hsum(squares(l, x)) as f64, x.len())
}

/// [`sum_sq`] of up to `N` short rows of one width at once: entry `r < rows.len()` has the bits
/// `sum_sq(rows[r])` gives (the same pairwise tree per row; [`Lanes::hsum_rows`] adds across
/// the lanes in `hsum`'s order), and the rows share one transposed horizontal sum instead of a
/// chain each.
#[inline(always)]
pub(super) fn sum_sq_rows<L: Lanes, T: Element>(l: L, rows: &[&[T]]) -> [f64; MAX_LANES] {
    let s = l.simd();
    debug_assert!(rows.len() <= L::N);
    let mut lanes = [s.splat_f32s(0.0); MAX_LANES];
    // Rows of whole vectors only load with no index to compare (`by_width`).
    by_width::<L, _, false>(
        l,
        rows[0].len(),
        #[inline(always)]
        |w| {
            for (v, x) in lanes.iter_mut().zip(rows) {
                *v = squares(l, &x[..w]);
            }
        },
    );
    let mut sums = [0.0f32; MAX_LANES];
    l.store_f32::<false>(&mut sums, l.hsum_rows(&lanes));
    sums.map(|ss| dot_checked::<L, T>(ss as f64, rows[0].len()))
}
