//! The second sweep: normalize and apply the weight (and bias), while the row is in cache.

use pulp::Simd;

use super::lanes::{F, Lanes, load, load_partial, store, store_partial};
use crate::element::Element;

/// What the apply sweep computes per element, with `v = x * scale` (`scale` only when `SCALED`):
/// LayerNorm `y = ((v - shift) - mean) * rstd * gamma + beta`; RMSNorm `y = v * rstd * gamma`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Affine<'a, W> {
    pub layer: bool,
    pub scale: f32,
    pub shift: f32,
    pub mean: f32,
    pub rstd: f32,
    pub gamma: Option<&'a [W]>,
    pub beta: Option<&'a [W]>,
}

/// Computes one vector of output from the input vector `v` at element offset `i`.
#[inline(always)]
fn one<L: Lanes, W: Element, const SCALED: bool>(
    l: L,
    a: &Affine<'_, W>,
    consts: &[F<L>; 4],
    v: F<L>,
    gamma: Option<F<L>>,
    beta: Option<F<L>>,
) -> F<L> {
    let s = l.simd();
    let [scale, shift, mean, rstd] = *consts;
    let v = if SCALED { s.mul_f32s(v, scale) } else { v };
    let t = if a.layer {
        s.sub_f32s(s.sub_f32s(v, shift), mean)
    } else {
        v
    };
    let y = s.mul_f32s(t, rstd);
    match (gamma, beta) {
        (Some(g), Some(b)) => l.fma(y, g, b),
        (Some(g), None) => s.mul_f32s(y, g),
        (None, Some(b)) => s.add_f32s(y, b),
        (None, None) => y,
    }
}

/// Applies `a` to the row `src` (or to `dst` itself when `INPLACE`), writing `dst`.
#[inline(always)]
pub(crate) fn apply<L: Lanes, T: Element, W: Element, const INPLACE: bool, const SCALED: bool>(
    l: L,
    src: &[T],
    dst: &mut [T],
    a: &Affine<'_, W>,
) {
    let s = l.simd();
    let n = L::N;
    let width = dst.len();
    let consts = [
        s.splat_f32s(a.scale),
        s.splat_f32s(a.shift),
        s.splat_f32s(a.mean),
        s.splat_f32s(a.rstd),
    ];
    let full = width - width % n;
    let mut i = 0;
    while i < full {
        let v = if INPLACE {
            load(l, &dst[i..])
        } else {
            load(l, &src[i..])
        };
        let g = a.gamma.map(|g| load(l, &g[i..]));
        let b = a.beta.map(|b| load(l, &b[i..]));
        let y = one::<L, W, SCALED>(l, a, &consts, v, g, b);
        store(l, &mut dst[i..], y);
        i += n;
    }
    if full < width {
        let v = if INPLACE {
            load_partial(l, &dst[full..])
        } else {
            load_partial(l, &src[full..])
        };
        let g = a.gamma.map(|g| load_partial(l, &g[full..]));
        let b = a.beta.map(|b| load_partial(l, &b[full..]));
        let y = one::<L, W, SCALED>(l, a, &consts, v, g, b);
        store_partial(l, &mut dst[full..], y);
    }
}
