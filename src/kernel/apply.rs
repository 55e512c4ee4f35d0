//! The second sweep: normalize and apply the weight (and bias), while the row is in cache.

use pulp::Simd;

use super::lanes::{
    F, Lanes, load, load_partial, load_split, pairs, split, store, store_nt, store_pair_nt,
    store_partial,
};
use super::own_call_if;
use crate::element::Element;

/// What the apply sweep computes per element. Fast path ([`apply`]): LayerNorm
/// `y = ((x - shift) * rstd - mean * rstd) * gamma + beta`, RMSNorm `y = x * rstd * gamma`.
/// Rescaled path ([`apply_scaled`]): `v = x * scale` in place of `x`, and the product is also
/// multiplied by `post` just before `beta` is added (that path splits a factor that is not a
/// normal `f32` into `rstd * post`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Affine<'a, W> {
    pub scale: f32,
    pub shift: f32,
    pub mean: f32,
    pub rstd: f32,
    pub post: f32,
    pub gamma: Option<&'a [W]>,
    pub beta: Option<&'a [W]>,
    /// No output of the fast path is NaN (`Params::finite`): its bf16 pairs may be narrowed
    /// without the NaN fix-up ([`Lanes::store_bf16_pair_finite`]).
    pub finite: bool,
}

/// The per-row constants of the sweep, splatted once.
#[derive(Clone, Copy)]
struct Consts<L: Lanes> {
    scale: F<L>,
    shift: F<L>,
    mean: F<L>,
    rstd: F<L>,
    post: F<L>,
    /// `-mean * rstd` (rounded once): the fast path's LayerNorm computes
    /// `(x - shift) * rstd + offset` in one multiply-add where `((x - shift) - mean) * rstd`
    /// takes a subtraction and a multiplication.
    offset: F<L>,
}

impl<L: Lanes> Consts<L> {
    #[inline(always)]
    fn new<W>(l: L, a: &Affine<'_, W>) -> Self {
        let s = l.simd();
        Consts {
            scale: s.splat_f32s(a.scale),
            shift: s.splat_f32s(a.shift),
            mean: s.splat_f32s(a.mean),
            rstd: s.splat_f32s(a.rstd),
            post: s.splat_f32s(a.post),
            offset: s.splat_f32s((-(a.mean as f64) * a.rstd as f64) as f32),
        }
    }
}

/// One output vector of the fast path from the input vector `v` and, when `G`/`B`, the
/// weight/bias vectors.
#[inline(always)]
fn one<L: Lanes, const LAYER: bool, const G: bool, const B: bool>(
    l: L,
    c: &Consts<L>,
    v: F<L>,
    g: F<L>,
    b: F<L>,
) -> F<L> {
    let s = l.simd();
    // LayerNorm: `(x - shift) * rstd - mean * rstd`. `mean` is the row's mean minus the
    // shift (its first element), so `mean * rstd` is minus that element's normalized value:
    // rounding it errs by at most u times it, which the numerics contract's `M` term covers
    // (DESIGN.md); the multiply-add rounds once, by u times |x^|.
    let y = if LAYER {
        l.fma(s.sub_f32s(v, c.shift), c.rstd, c.offset)
    } else {
        s.mul_f32s(v, c.rstd)
    };
    match (G, B) {
        (true, true) => l.fma(y, g, b),
        (true, false) => s.mul_f32s(y, g),
        (false, true) => s.add_f32s(y, b),
        (false, false) => y,
    }
}

/// The shortest row (in vectors) whose cached stores are aligned by a partial head ([`sweep`]).
const ALIGN_MIN_VECTORS: usize = 16;

/// Chooses the fast path's sweep for a kind (`$layer`, LayerNorm when true), weight and bias
/// (`$gamma`, `$beta`: `Option`s of slices) and expands to `$body!(LAYER, G, B, gs, bs)`, the
/// choice's constants and its weight and bias (empty where absent; RMSNorm ignores a bias).
/// Every caller that picks a sweep ([`apply`](fn@apply), and `group_rows` once per group)
/// picks it here.
macro_rules! by_sweep {
    ($layer:expr, $gamma:expr, $beta:expr, $body:ident) => {
        match ($layer, $gamma, $beta) {
            (true, Some(gs), Some(bs)) => $body!(true, true, true, gs, bs),
            (true, Some(gs), None) => $body!(true, true, false, gs, &[]),
            (true, None, Some(bs)) => $body!(true, false, true, &[], bs),
            (true, None, None) => $body!(true, false, false, &[], &[]),
            (false, Some(gs), _) => $body!(false, true, false, gs, &[]),
            (false, None, _) => $body!(false, false, false, &[], &[]),
        }
    };
}
pub(crate) use by_sweep;

/// Applies `a` to the row `src` (or to `dst` itself when `INPLACE`), writing `dst`: LayerNorm's
/// sweep when `layer`, else RMSNorm's (a value the caller's row loop has as a constant, see
/// `RowsOp`). With `NT`, the sweep prefetches the input `ahead` bytes past the elements it
/// reads (see [`sweep`]).
#[inline(always)]
pub(crate) fn apply<
    L: Lanes,
    TI: Element,
    TO: Element,
    W: Element,
    const INPLACE: bool,
    const NT: bool,
>(
    l: L,
    layer: bool,
    src: &[TI],
    dst: &mut [TO],
    a: &Affine<'_, W>,
    ahead: usize,
) {
    // One loop per combination of kind, weight and bias, so that none of them is a branch
    // inside the loop; with non-temporal stores, each is a call of its own (`own_call`).
    macro_rules! sweep {
        ($layer:literal, $g:literal, $b:literal, $gs:expr, $bs:expr) => {
            own_call_if::<_, _, NT>(
                l,
                #[inline(always)]
                || {
                    sweep_call::<L, TI, TO, W, INPLACE, $layer, $g, $b, NT>(
                        l, src, dst, $gs, $bs, a, ahead,
                    )
                },
            )
        };
    }
    by_sweep!(layer, a.gamma, a.beta, sweep)
}

/// [`sweep`] as its callers call it: inlined into them in optimized builds, as written. Builds
/// with debug assertions (unoptimized) run it as a call of its own ([`SweepOp`]), one copy for
/// each set of its parameters, where each row loop calling it (they differ by their closures'
/// types) had a copy of its own: 396 copies on the AVX2 path alone, 24 of its 41 MB of machine
/// code (`nm -S` of the debug rlib's objects, forty-second session).
#[cfg(not(debug_assertions))]
pub(crate) use self::sweep as sweep_call;

/// [`sweep`] as its callers call it (see the optimized builds' form).
#[cfg(debug_assertions)]
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn sweep_call<
    L: Lanes,
    TI: Element,
    TO: Element,
    W: Element,
    const INPLACE: bool,
    const LAYER: bool,
    const G: bool,
    const B: bool,
    const NT: bool,
>(
    l: L,
    src: &[TI],
    dst: &mut [TO],
    g: &[W],
    b: &[W],
    a: &Affine<'_, W>,
    ahead: usize,
) {
    l.own_frame(SweepOp::<L, TI, TO, W, INPLACE, LAYER, G, B, NT> {
        l,
        src,
        dst,
        g,
        b,
        a,
        ahead,
    })
}

/// A call of [`sweep`] as a pulp operation named by the sweep's parameters alone (debug
/// builds: see [`sweep_call`]).
#[cfg(debug_assertions)]
struct SweepOp<
    'a,
    'b,
    L,
    TI,
    TO,
    W,
    const INPLACE: bool,
    const LAYER: bool,
    const G: bool,
    const B: bool,
    const NT: bool,
> {
    l: L,
    src: &'a [TI],
    dst: &'a mut [TO],
    g: &'a [W],
    b: &'a [W],
    a: &'a Affine<'b, W>,
    ahead: usize,
}

#[cfg(debug_assertions)]
impl<
    L: Lanes,
    TI: Element,
    TO: Element,
    W: Element,
    const INPLACE: bool,
    const LAYER: bool,
    const G: bool,
    const B: bool,
    const NT: bool,
> pulp::NullaryFnOnce for SweepOp<'_, '_, L, TI, TO, W, INPLACE, LAYER, G, B, NT>
{
    type Output = ();

    #[inline(always)]
    fn call(self) {
        sweep::<L, TI, TO, W, INPLACE, LAYER, G, B, NT>(
            self.l, self.src, self.dst, self.g, self.b, self.a, self.ahead,
        )
    }
}

/// The fast path's sweep of one row for one kind, weight and bias (`g`, `b`: the row's, when
/// `G`, `B`), as [`apply`](fn@apply) chooses it; a loop over many rows may choose once for all
/// of them and call this for each (`group_rows`). Called as [`sweep_call`].
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn sweep<
    L: Lanes,
    TI: Element,
    TO: Element,
    W: Element,
    const INPLACE: bool,
    const LAYER: bool,
    const G: bool,
    const B: bool,
    const NT: bool,
>(
    l: L,
    src: &[TI],
    dst: &mut [TO],
    g: &[W],
    b: &[W],
    a: &Affine<'_, W>,
    ahead: usize,
) {
    let n = L::N;
    let width = dst.len();
    let c = Consts::new(l, a);
    // Every stream is cut to the same length up front, so the loop below indexes within
    // bounds the compiler can see.
    let src = if INPLACE { &[][..] } else { &src[..width] };
    let g = if G { &g[..width] } else { &[][..] };
    let b = if B { &b[..width] } else { &[][..] };
    // Paths that store this output type faster two vectors at a time (`Lanes::BF16_PAIRS`)
    // step `2 N` elements; their non-temporal stores are `2 N` elements wide.
    let pair = pairs::<L, TO>();
    let step = if pair { 2 * n } else { n };
    // Paths with a cheaper order of their own for bf16 pairs use it where every stream is bf16
    // (`Lanes::BF16_SPLIT`).
    let split = split::<L, TI, TO, W>(INPLACE, G, B);
    // Non-temporal stores need the output aligned to a whole step: the first `head` elements
    // are written before the aligned loop. Cached stores of whole 64-byte vectors (AVX-512
    // `f32`) are aligned the same way in rows of 16 vectors or more: a misaligned 64-byte store
    // straddles two lines every time (with masked partial vectors the head costs a few
    // instructions; docs/performance-log.md: f32 rows 16 bytes past a line, 16x4096 to 512x768,
    // x0.88-0.94 the time on Zen 5; 32-byte stores and rows of 4-8 vectors measured no gain).
    let to_aligned = if NT || (step * TO::BYTES >= 64 && width >= ALIGN_MIN_VECTORS * n) {
        let align = step * TO::BYTES;
        let mis = dst.as_ptr() as usize % align;
        if mis == 0 {
            0
        } else {
            (align - mis) / TO::BYTES
        }
    } else {
        0
    };
    let head = to_aligned.min(width);
    // The head: a partial vector, then (with pairs) whole vectors, each aligned to its own
    // size once the partial one is done, then (only in a row that ends before the aligned
    // point) a partial vector.
    let lead = (to_aligned % n).min(width);
    if lead > 0 {
        part::<L, TI, TO, W, INPLACE, LAYER, G, B>(l, &c, src, &mut dst[..lead], g, b, 0);
    }
    let mut i = lead;
    while i + n <= head {
        // SAFETY: `i + n <= head <= width`, and every stream `vector` reads was cut to `width`
        // above.
        let y = unsafe {
            vector::<L, TI, TO, W, INPLACE, LAYER, G, B>(l, &c, src, &dst[i..i + n], g, b, i)
        };
        store_nt::<L, TO, NT>(l, &mut dst[i..i + n], y);
        i += n;
    }
    if i < head {
        part::<L, TI, TO, W, INPLACE, LAYER, G, B>(l, &c, src, &mut dst[i..head], g, b, i);
    }
    let full = head + (width - head) / step * step;
    // Non-temporal stores mean a batch too large for the caches: the rows come from memory,
    // and the statistics sweep of the next row would start on lines the hardware prefetcher
    // has not fetched (it follows demand loads, and this sweep reads the row from L1). So this
    // sweep prefetches the input `ahead` bytes past each element it reads: row by row, the
    // row's width, where a contiguous batch's next row is (docs/performance-log.md: LayerNorm f16
    // 8192x4096 8.2-9.2 -> 5.1-6.5 ms on Zen 5); in a tiled LayerNorm group (`tiled_rows`), the
    // group's length in rows, the same columns of the next group's rows. It fetches into L2,
    // not L1: into L1, the next row evicts lines this sweep is still reading (the row, the
    // weight and the bias fill most of a 32 KiB L1D at 4096 f32 elements); on Zen 4 the L2
    // hint took 0.75-0.93 the time of the L1 hint at 8192x4096, every kernel and type.
    // The address is only a hint (`Lanes::prefetch`); it may lie past the input.
    let row: *const u8 = if INPLACE {
        dst.as_ptr().cast()
    } else {
        src.as_ptr().cast()
    };
    let bytes = if INPLACE { TO::BYTES } else { TI::BYTES };
    let next = row.wrapping_add(ahead);
    for (k, yd) in dst[head..full].chunks_exact_mut(step).enumerate() {
        let i = head + k * step;
        // One prefetch a step: a step's input is at most 64 bytes (a pair is 16 elements of at
        // most 4 bytes), so every line of the next row is still asked for.
        if NT {
            l.prefetch(next.wrapping_add(i * bytes));
        }
        if split {
            // SAFETY: `i + 2 n = i + step <= full <= width`, and every stream `pair_split`
            // reads was cut to `width` above.
            let (y, y1) = unsafe {
                pair_split::<L, TI, TO, W, INPLACE, LAYER, G, B>(l, &c, src, yd, g, b, i)
            };
            store_pair_nt::<L, TO, NT>(l, yd, y, y1, a.finite, true);
            continue;
        }
        // SAFETY: `i + step <= full <= width` (`yd` is the output's elements `i..i + step`),
        // and every stream `vector` reads was cut to `width` above.
        let y = unsafe { vector::<L, TI, TO, W, INPLACE, LAYER, G, B>(l, &c, src, yd, g, b, i) };
        if pair {
            // SAFETY: as above, `i + n + n = i + step <= width`.
            let y1 = unsafe {
                vector::<L, TI, TO, W, INPLACE, LAYER, G, B>(l, &c, src, &yd[n..], g, b, i + n)
            };
            store_pair_nt::<L, TO, NT>(l, yd, y, y1, a.finite, false);
        } else {
            store_nt::<L, TO, NT>(l, yd, y);
        }
    }
    // With pairs, one whole vector may be left (its stores are cached or aligned to `N`).
    let mut at = full;
    if pair && width - at >= n {
        // SAFETY: `at + n <= width` (the condition above), and every stream `vector` reads was
        // cut to `width`.
        let y = unsafe {
            vector::<L, TI, TO, W, INPLACE, LAYER, G, B>(l, &c, src, &dst[at..], g, b, at)
        };
        store_nt::<L, TO, NT>(l, &mut dst[at..at + n], y);
        at += n;
    }
    if at < width {
        part::<L, TI, TO, W, INPLACE, LAYER, G, B>(l, &c, src, &mut dst[at..], g, b, at);
    }
}

/// Output vector `i..i + N` of the fast path: its input is `src[i..i + N]`, or with
/// `INPLACE` the first `N` elements of `cur` (the output slice starting at element `i`).
///
/// The loads skip the range check, which the compiler kept in every iteration of the
/// sweep's loop: it cannot see that the index it derives from the output chunk stays below
/// the length of the other streams.
///
/// # Safety
///
/// `i + N` is at most the length of `src` (unless `INPLACE`), of `g` (when `G`) and of `b`
/// (when `B`). [`sweep`] cuts every stream to the row's width and calls this only for whole
/// vectors inside the row.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn vector<
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
    c: &Consts<L>,
    src: &[TI],
    cur: &[TO],
    g: &[W],
    b: &[W],
    i: usize,
) -> F<L> {
    let n = L::N;
    debug_assert!(
        (INPLACE || i + n <= src.len()) && (!G || i + n <= g.len()) && (!B || i + n <= b.len())
    );
    let zero = l.simd().splat_f32s(0.0);
    let v = if INPLACE {
        load(l, cur)
    } else {
        // SAFETY: `i + n <= src.len()` (this function's contract).
        load(l, unsafe { src.get_unchecked(i..i + n) })
    };
    let gv = if G {
        // SAFETY: `i + n <= g.len()` when `G` (this function's contract).
        load(l, unsafe { g.get_unchecked(i..i + n) })
    } else {
        zero
    };
    let bv = if B {
        // SAFETY: `i + n <= b.len()` when `B` (this function's contract).
        load(l, unsafe { b.get_unchecked(i..i + n) })
    } else {
        zero
    };
    one::<L, LAYER, G, B>(l, c, v, gv, bv)
}

/// Output elements `i..i + 2 N` of the fast path as two vectors in the path's split order
/// ([`Lanes::load_bf16_split`]): every stream is loaded in that order ([`split`] holds), so
/// each lane computes what [`vector`] computes for its element.
///
/// # Safety
///
/// As [`vector`], for `2 N` elements: `i + 2 N` is at most the length of `src` (unless
/// `INPLACE`), of `g` (when `G`) and of `b` (when `B`).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn pair_split<
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
    c: &Consts<L>,
    src: &[TI],
    cur: &[TO],
    g: &[W],
    b: &[W],
    i: usize,
) -> (F<L>, F<L>) {
    let m = 2 * L::N;
    debug_assert!(
        (INPLACE || i + m <= src.len()) && (!G || i + m <= g.len()) && (!B || i + m <= b.len())
    );
    let zero = l.simd().splat_f32s(0.0);
    let (v0, v1) = if INPLACE {
        load_split(l, cur)
    } else {
        // SAFETY: `i + m <= src.len()` (this function's contract).
        load_split(l, unsafe { src.get_unchecked(i..i + m) })
    };
    let (g0, g1) = if G {
        // SAFETY: `i + m <= g.len()` when `G` (this function's contract).
        load_split(l, unsafe { g.get_unchecked(i..i + m) })
    } else {
        (zero, zero)
    };
    let (b0, b1) = if B {
        // SAFETY: `i + m <= b.len()` when `B` (this function's contract).
        load_split(l, unsafe { b.get_unchecked(i..i + m) })
    } else {
        (zero, zero)
    };
    (
        one::<L, LAYER, G, B>(l, c, v0, g0, b0),
        one::<L, LAYER, G, B>(l, c, v1, g1, b1),
    )
}

/// Fewer than `N` elements, `dst` = output elements `at..at + dst.len()`, through zero-padded
/// vectors.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn part<
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
    c: &Consts<L>,
    src: &[TI],
    dst: &mut [TO],
    g: &[W],
    b: &[W],
    at: usize,
) {
    let zero = l.simd().splat_f32s(0.0);
    let end = at + dst.len();
    let v = if INPLACE {
        load_partial(l, dst)
    } else {
        load_partial(l, &src[at..end])
    };
    let gv = if G {
        load_partial(l, &g[at..end])
    } else {
        zero
    };
    let bv = if B {
        load_partial(l, &b[at..end])
    } else {
        zero
    };
    store_partial(l, dst, one::<L, LAYER, G, B>(l, c, v, gv, bv));
}

/// The rescaled path's sweep (rows whose statistics left the fast path's range: rare, so one
/// loop serves every kind, weight and bias, with the choices made per vector). For RMSNorm
/// `a.shift` and `a.mean` are 0, and subtracting them is exact.
#[inline(always)]
pub(crate) fn apply_scaled<L: Lanes, TI: Element, TO: Element, W: Element, const INPLACE: bool>(
    l: L,
    src: &[TI],
    dst: &mut [TO],
    a: &Affine<'_, W>,
) {
    let n = L::N;
    let width = dst.len();
    let c = Consts::new(l, a);
    let src = if INPLACE { &[][..] } else { &src[..width] };
    let g = a.gamma.map(|g| &g[..width]);
    let b = a.beta.map(|b| &b[..width]);
    let full = width / n * n;
    for (k, yd) in dst[..full].chunks_exact_mut(n).enumerate() {
        let i = k * n;
        let v = if INPLACE {
            load(l, yd)
        } else {
            load(l, &src[i..i + n])
        };
        let gv = match g {
            Some(g) => Some(load(l, &g[i..i + n])),
            None => None,
        };
        let bv = match b {
            Some(b) => Some(load(l, &b[i..i + n])),
            None => None,
        };
        store(l, yd, one_scaled(l, &c, v, gv, bv));
    }
    if full < width {
        let tail = &mut dst[full..];
        let v = if INPLACE {
            load_partial(l, tail)
        } else {
            load_partial(l, &src[full..])
        };
        let gv = match g {
            Some(g) => Some(load_partial(l, &g[full..])),
            None => None,
        };
        let bv = match b {
            Some(b) => Some(load_partial(l, &b[full..])),
            None => None,
        };
        store_partial(l, tail, one_scaled(l, &c, v, gv, bv));
    }
}

/// One output vector of the rescaled path.
#[inline(always)]
fn one_scaled<L: Lanes>(l: L, c: &Consts<L>, v: F<L>, g: Option<F<L>>, b: Option<F<L>>) -> F<L> {
    let s = l.simd();
    let t = s.sub_f32s(s.sub_f32s(s.mul_f32s(v, c.scale), c.shift), c.mean);
    let y = s.mul_f32s(t, c.rstd);
    let y = match g {
        Some(g) => s.mul_f32s(y, g),
        None => y,
    };
    match b {
        Some(b) => l.fma(y, c.post, b),
        None => s.mul_f32s(y, c.post),
    }
}
