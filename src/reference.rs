//! A scalar `f64` reference: slow and as exact as `f64` allows. Tests, fuzz targets and
//! benchmarks check the SIMD kernels against it, with the tolerance of the numerics contract
//! ([`bound`]). Not for production use.
//!
//! It computes from the actual input values (each converted exactly to `f64`): the mean by a
//! shifted sum, the variance by a corrected two-pass sum, and follows the same rules as the
//! kernels: `eps` inside the square root, population variance, a row with NaN or Inf gives an
//! all-NaN row, and a row with zero variance and `eps = 0` has normalized values 0.

use crate::element::Element;

/// The reference result for one row.
#[derive(Clone, Debug, PartialEq)]
pub struct RefRow {
    /// The exact output (before rounding to the output type).
    pub y: Vec<f64>,
    /// The normalized values `x̂` (before weight and bias).
    pub xhat: Vec<f64>,
    /// `max |x̂|` over the row (the `M` of the numerics contract).
    pub max_xhat: f64,
    /// The row mean (0 for RMSNorm).
    pub mean: f64,
    /// `1 / sqrt(var + eps)` (LayerNorm) or `1 / sqrt(mean(x^2) + eps)` (RMSNorm).
    pub rstd: f64,
}

fn nan_row(n: usize) -> RefRow {
    RefRow {
        y: vec![f64::NAN; n],
        xhat: vec![f64::NAN; n],
        max_xhat: f64::NAN,
        mean: f64::NAN,
        rstd: f64::NAN,
    }
}

fn weight<W: Element>(p: Option<&[W]>, i: usize, default: f64) -> f64 {
    p.map_or(default, |p| p[i].to_f32() as f64)
}

fn finish<W: Element>(
    xhat: Vec<f64>,
    gamma: Option<&[W]>,
    beta: Option<&[W]>,
    mean: f64,
    rstd: f64,
) -> RefRow {
    let y = xhat
        .iter()
        .enumerate()
        .map(|(i, &h)| h * weight(gamma, i, 1.0) + weight(beta, i, 0.0))
        .collect();
    let max_xhat = xhat.iter().fold(0.0f64, |m, h| m.max(h.abs()));
    RefRow {
        y,
        xhat,
        max_xhat,
        mean,
        rstd,
    }
}

/// Reference LayerNorm of one row: `(x - mean) / sqrt(var + eps) * gamma + beta`.
///
/// # Panics
/// If `gamma` or `beta` is not as long as `x`.
pub fn layer_norm<T: Element, W: Element>(
    x: &[T],
    gamma: Option<&[W]>,
    beta: Option<&[W]>,
    eps: f32,
) -> RefRow {
    let n = x.len();
    let xs: Vec<f64> = x.iter().map(|v| v.to_f32() as f64).collect();
    if xs.iter().any(|v| !v.is_finite()) {
        return nan_row(n);
    }
    if n == 0 {
        return finish::<W>(vec![], gamma, beta, 0.0, 0.0);
    }
    let k = xs[0];
    let nf = n as f64;
    let mean = k + xs.iter().map(|v| v - k).sum::<f64>() / nf;
    let dev: Vec<f64> = xs.iter().map(|v| v - mean).collect();
    let s1: f64 = dev.iter().sum();
    let var = ((dev.iter().map(|d| d * d).sum::<f64>() - s1 * s1 / nf) / nf).max(0.0);
    let denom = (var + eps as f64).sqrt();
    let xhat = dev
        .iter()
        .map(|d| if denom > 0.0 { d / denom } else { 0.0 })
        .collect();
    finish(xhat, gamma, beta, mean, 1.0 / denom)
}

/// Reference RMSNorm of one row: `x / sqrt(mean(x^2) + eps) * gamma`.
///
/// # Panics
/// If `gamma` is not as long as `x`.
pub fn rms_norm<T: Element, W: Element>(x: &[T], gamma: Option<&[W]>, eps: f32) -> RefRow {
    let n = x.len();
    let xs: Vec<f64> = x.iter().map(|v| v.to_f32() as f64).collect();
    if xs.iter().any(|v| !v.is_finite()) {
        return nan_row(n);
    }
    let ms = xs.iter().map(|v| v * v).sum::<f64>() / n.max(1) as f64;
    let denom = (ms + eps as f64).sqrt();
    let xhat = xs
        .iter()
        .map(|v| if denom > 0.0 { v / denom } else { 0.0 })
        .collect();
    finish::<W>(xhat, gamma, None, 0.0, 1.0 / denom)
}

/// The unit roundoff of `f32`, `2^-24`.
pub const U32: f64 = 1.0 / 16_777_216.0;

/// The constant `c` of the numerics contract: `|y - y_ref| <= c * u * (|γ|·(|x̂| + M) + |β|)`.
///
/// Eight: the apply sweep rounds three times (subtract the mean, multiply by `rstd`, the fused
/// multiply-add of `γ` and `β`), and the statistics contribute a relative error of a few `u` in
/// `rstd` (times `|x̂|`) and an absolute error of a few `u·σ` in the mean (times `rstd`, the
/// `M` term); DESIGN.md's measurements of production kernels reach about 2.
pub const C: f64 = 8.0;

/// The absolute error allowed on top of the relative bound, for results in f32's subnormal
/// range: four roundings of at most 2^-150 each.
pub const SUBNORMAL_FLOOR: f64 = 1.0 / (1u128 << 100) as f64 / (1u64 << 47) as f64;

/// The spacing of representable numbers of the type `T` at `v` (its unit in the last place).
pub fn ulp<T: Element>(v: f64) -> f64 {
    let (mant_bits, min_exp) = match T::NAME {
        "f16" => (10, -14),
        "bf16" => (7, -126),
        _ => (23, -126),
    };
    let e = if v == 0.0 || !v.is_finite() {
        min_exp
    } else {
        (v.abs().log2().floor() as i32).max(min_exp)
    };
    2f64.powi(e - mant_bits)
}

/// The largest error the contract allows for element `i` of a row whose reference is `r`: the
/// `f32` bound, plus one unit in the last place of the output type at `y_ref` for `f16`/`bf16`.
pub fn bound<T: Element, W: Element>(
    r: &RefRow,
    gamma: Option<&[W]>,
    beta: Option<&[W]>,
    i: usize,
) -> f64 {
    let g = weight(gamma, i, 1.0).abs();
    let b = weight(beta, i, 0.0).abs();
    // Below f32's normal range the apply sweep's (at most four) roundings are absolute, each
    // at most half of 2^-149: the relative bound cannot hold there, so allow 2^-147.
    let f32_bound = C * U32 * (g * (r.xhat[i].abs() + r.max_xhat) + b) + SUBNORMAL_FLOOR;
    if T::BYTES == 2 {
        f32_bound + ulp::<T>(r.y[i])
    } else {
        f32_bound
    }
}

/// Checks a computed row against its reference under the contract. NaN is expected exactly
/// where the reference is NaN. Returns the first offending index and a description.
pub fn check_row<T: Element, W: Element>(
    y: &[T],
    r: &RefRow,
    gamma: Option<&[W]>,
    beta: Option<&[W]>,
) -> Result<(), (usize, String)> {
    for (i, (&yi, &want)) in y.iter().zip(&r.y).enumerate() {
        let got = yi.to_f32() as f64;
        if want.is_nan() || got.is_nan() {
            if want.is_nan() != got.is_nan() {
                return Err((i, format!("got {got}, reference {want}")));
            }
            continue;
        }
        let err = (got - want).abs();
        let tol = bound::<T, W>(r, gamma, beta, i);
        if err.is_nan() || err > tol {
            return Err((
                i,
                format!(
                    "got {got}, reference {want}, error {err:e} > bound {tol:e} \
                     (x̂ = {}, M = {})",
                    r.xhat[i], r.max_xhat
                ),
            ));
        }
    }
    if y.len() != r.y.len() {
        return Err((y.len().min(r.y.len()), "length differs".into()));
    }
    Ok(())
}
