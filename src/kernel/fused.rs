//! Fused residual forms: the residual sum of a row is formed in a row-sized `f32` scratch
//! buffer (in L1) during one sweep over the inputs, then normalized from there by the same
//! per-row kernel as a plain norm. Each input is read from memory once and each output written
//! once.

use pulp::Simd;

use super::lanes::{Lanes, load, load_partial, store, store_partial};
use super::{Params, RowStats, norm_row};
use crate::element::Element;

/// `scratch = alpha * x + d` in f32, the product and the sum each rounded to f32 (for
/// `alpha = 1` exactly `x + d`, on every path).
#[inline(always)]
pub(crate) fn residual_sum<L: Lanes, X: Element, D: Element>(
    l: L,
    x: &[X],
    d: &[D],
    alpha: f32,
    scratch: &mut [f32],
) {
    let s = l.simd();
    let n = L::N;
    let width = scratch.len();
    let a = s.splat_f32s(alpha);
    let full = width - width % n;
    let (x, d) = (&x[..width], &d[..width]);
    for (k, sc) in scratch[..full].chunks_exact_mut(n).enumerate() {
        let i = k * n;
        let v = s.add_f32s(s.mul_f32s(a, load(l, &x[i..i + n])), load(l, &d[i..i + n]));
        store(l, sc, v);
    }
    if full < width {
        let v = s.add_f32s(
            s.mul_f32s(a, load_partial(l, &x[full..])),
            load_partial(l, &d[full..]),
        );
        store_partial(l, &mut scratch[full..], v);
    }
}

/// As [`residual_sum`], and the sum is also stored into `x`, rounded to its type; `scratch`
/// holds the stored (rounded) values, so the residual stream the next layer sees is exactly
/// what was normalized.
#[inline(always)]
pub(crate) fn residual_update<L: Lanes, X: Element, D: Element, const SCRATCH: bool>(
    l: L,
    x: &mut [X],
    d: &[D],
    alpha: f32,
    scratch: &mut [f32],
) {
    let s = l.simd();
    let n = L::N;
    let width = x.len();
    let scratch = if SCRATCH {
        &mut scratch[..width]
    } else {
        &mut [][..]
    };
    let a = s.splat_f32s(alpha);
    let full = width - width % n;
    let d = &d[..width];
    for (k, xv) in x[..full].chunks_exact_mut(n).enumerate() {
        let i = k * n;
        let v = s.add_f32s(s.mul_f32s(a, load(l, &*xv)), load(l, &d[i..i + n]));
        store(l, xv, v);
        if !SCRATCH {
            continue;
        }
        // f32 stores exactly v; a 16-bit type rounds, and the rounded values are read back.
        // (Reading back an f32 vector just stored would also cost a store-forwarding stall
        // whenever the store splits a cache line.)
        let stored = if X::BYTES == 4 { v } else { load(l, &*xv) };
        store(l, &mut scratch[i..i + n], stored);
    }
    if full < width {
        let v = s.add_f32s(
            s.mul_f32s(a, load_partial(l, &x[full..])),
            load_partial(l, &d[full..]),
        );
        store_partial(l, &mut x[full..], v);
        if SCRATCH {
            store_partial(l, &mut scratch[full..], load_partial(l, &x[full..]));
        }
    }
}

/// One row through the plain kernel, with non-temporal stores when the call asks for them.
#[inline(always)]
fn row<L: Lanes, TI: Element, TO: Element, W: Element>(
    l: L,
    src: &[TI],
    dst: &mut [TO],
    p: &Params<'_, W>,
) -> RowStats {
    if p.nt {
        norm_row::<L, TI, TO, W, false, true>(l, src, dst, p)
    } else {
        norm_row::<L, TI, TO, W, false, false>(l, src, dst, p)
    }
}

/// Where a fused call's output goes.
pub(crate) enum FusedOut<'a, X, O> {
    /// Pre-LN: the sum is written back into `x`, the norm into `y`.
    PreLn(&'a mut [X], &'a mut [O]),
    /// Post-LN / DeepNorm: `x` is only read, the norm goes into `y`.
    Add(&'a [X], &'a mut [O]),
    /// Post-LN / DeepNorm in place: the norm replaces `x`.
    AddInPlace(&'a mut [X]),
}

/// One block of a fused call, as a value whose `call` is `#[inline(always)]` (see `RowsOp`).
pub(crate) struct FusedOp<'a, 'p, L, X, D, O, W> {
    pub l: L,
    pub out: FusedOut<'a, X, O>,
    pub d: &'a [D],
    pub alpha: f32,
    pub rows: usize,
    pub width: usize,
    pub p: &'a Params<'p, W>,
    pub rstd: Option<&'a mut [f32]>,
    pub mean: Option<&'a mut [f32]>,
}

impl<L: Lanes, X: Element, D: Element, O: Element, W: Element> pulp::NullaryFnOnce
    for FusedOp<'_, '_, L, X, D, O, W>
{
    type Output = ();

    #[inline(always)]
    fn call(self) {
        let FusedOp {
            l,
            out,
            d,
            alpha,
            rows,
            width,
            p,
            mut rstd,
            mut mean,
        } = self;
        let mut scratch = vec![0.0f32; width];
        let mut record = |r: usize, st: RowStats| {
            if let Some(m) = mean.as_deref_mut() {
                m[r] = st.mean;
            }
            if let Some(q) = rstd.as_deref_mut() {
                q[r] = st.rstd;
            }
        };
        let rows_of = |r: usize| r * width..(r + 1) * width;
        match out {
            FusedOut::PreLn(x, y) => {
                for r in 0..rows {
                    let (xr, dr, yr) = (&mut x[rows_of(r)], &d[rows_of(r)], &mut y[rows_of(r)]);
                    let st = if X::BYTES == 4 {
                        // An f32 stream stores the sum exactly: the updated row itself (in L1)
                        // is the norm's input, with no scratch copy.
                        residual_update::<L, X, D, false>(l, xr, dr, alpha, &mut scratch);
                        row::<L, X, O, W>(l, xr, yr, p)
                    } else {
                        residual_update::<L, X, D, true>(l, xr, dr, alpha, &mut scratch);
                        row::<L, f32, O, W>(l, &scratch, yr, p)
                    };
                    record(r, st);
                }
            }
            FusedOut::Add(x, y) => {
                for r in 0..rows {
                    residual_sum::<L, X, D>(l, &x[rows_of(r)], &d[rows_of(r)], alpha, &mut scratch);
                    let st = row::<L, f32, O, W>(l, &scratch, &mut y[rows_of(r)], p);
                    record(r, st);
                }
            }
            FusedOut::AddInPlace(x) => {
                for r in 0..rows {
                    residual_sum::<L, X, D>(l, &x[rows_of(r)], &d[rows_of(r)], alpha, &mut scratch);
                    let st = row::<L, f32, X, W>(l, &scratch, &mut x[rows_of(r)], p);
                    record(r, st);
                }
            }
        }
        if p.nt {
            l.fence();
        }
    }
}
