//! The public API: free functions for the common cases and the [`Norm`] builder for the rest.

use half::bf16;

use crate::element::Element;
use crate::kernel::{Kind, Layout, Params};
use crate::rows::{Block, Parallelism, run};
use crate::{Isa, NormError, isa};

/// Optional per-row statistics to write, one `f32` per row.
///
/// LayerNorm writes `mean` (the row mean) and `rstd` (`1 / sqrt(var + eps)`); RMSNorm writes
/// `rstd` only (`1 / sqrt(mean(x^2) + eps)`) and refuses a `mean` slice. A row with NaN or Inf
/// reports NaN for both.
#[derive(Debug, Default)]
pub struct Stats<'a> {
    /// Row means (LayerNorm only).
    pub mean: Option<&'a mut [f32]>,
    /// Reciprocal standard deviation (LayerNorm) or reciprocal RMS (RMSNorm) per row.
    pub rstd: Option<&'a mut [f32]>,
}

/// A configured normalization: kind, epsilon, instruction set and threading.
///
/// ```
/// use simdnorm::{Isa, Norm, Parallelism};
/// let (rows, width) = (4, 64);
/// let x = vec![1.5f32; rows * width];
/// let gamma = vec![1.0f32; width];
/// let mut y = vec![0.0f32; rows * width];
/// Norm::rms(1e-6)
///     .isa(Isa::Scalar)
///     .parallelism(Parallelism::None)
///     .forward(&x, rows, width, Some(&gamma), None, &mut y)?;
/// assert!((y[0] - 1.0).abs() < 1e-5);
/// # Ok::<(), simdnorm::NormError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Norm {
    pub(crate) kind: Kind,
    pub(crate) eps: f32,
    pub(crate) isa: Option<Isa>,
    pub(crate) par: Parallelism,
    pub(crate) stores: Stores,
    pub(crate) weight_offset: f32,
}

/// How the output is written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stores {
    /// Non-temporal (streaming) stores for outputs of [`NT_MIN_BYTES`](crate::NT_MIN_BYTES) or
    /// more, ordinary stores below.
    #[default]
    Auto,
    /// Always non-temporal where the path has such stores (x86-64): for outputs that will not
    /// be read again soon. They bypass the cache, so a consumer that reads the output right
    /// away pays for it.
    Streaming,
    /// Always ordinary stores (the output stays in cache for the next layer).
    Cached,
}

impl Norm {
    /// RMSNorm: `y = x / sqrt(mean(x^2) + eps) * gamma` (eps inside the root, as LLaMA, T5 and
    /// ggml compute it).
    pub fn rms(eps: f32) -> Norm {
        Norm {
            kind: Kind::Rms,
            eps,
            isa: None,
            par: Parallelism::Auto,
            stores: Stores::Auto,
            weight_offset: 0.0,
        }
    }

    /// LayerNorm: `y = (x - mean) / sqrt(var + eps) * gamma + beta`, population variance.
    pub fn layer(eps: f32) -> Norm {
        Norm {
            kind: Kind::Layer,
            eps,
            isa: None,
            par: Parallelism::Auto,
            stores: Stores::Auto,
            weight_offset: 0.0,
        }
    }

    /// Runs on this instruction set instead of the process default ([`isa()`]). A call
    /// returns [`NormError::IsaUnavailable`] if the CPU lacks it.
    pub fn isa(mut self, isa: Isa) -> Norm {
        self.isa = Some(isa);
        self
    }

    /// How batches are spread over threads (default [`Parallelism::Auto`]).
    pub fn parallelism(mut self, par: Parallelism) -> Norm {
        self.par = par;
        self
    }

    /// How the output is written (default [`Stores::Auto`]).
    pub fn stores(mut self, stores: Stores) -> Norm {
        self.stores = stores;
        self
    }

    /// Scales by `offset + gamma` instead of `gamma` (Gemma's RMSNorm multiplies by `1 + w`,
    /// computed in f32; NORMS.md, HF modeling_gemma.py). No effect without a `gamma`.
    pub fn weight_offset(mut self, offset: f32) -> Norm {
        self.weight_offset = offset;
        self
    }

    /// The weight and bias in f32, when the call should use f32 copies: `offset + gamma` when
    /// there is a weight offset to apply, and plain widened copies of 16-bit weights for a batch
    /// of at least [`WIDEN_MIN_ROWS`] rows and [`WIDEN_MIN_ELEMENTS`] elements (converted once
    /// per call instead of once per row; the widening is exact, so results do not change),
    /// except bf16 weights of a plain norm from bf16 rows to bf16 output (`bf16_rows`) on a
    /// path whose apply sweep reads all-bf16 streams in its split order (`Lanes::BF16_SPLIT`;
    /// docs/performance-log.md, Zen 1), in rows of whole vectors (a partial vector's bf16 weight
    /// goes through a buffer: 4096x100 rows took x1.04 the time without the copies there).
    /// `None`: use the caller's slices.
    pub(crate) fn f32_params<W: Element>(
        &self,
        gamma: Option<&[W]>,
        beta: Option<&[W]>,
        rows: usize,
        width: usize,
        bf16_rows: bool,
    ) -> Option<F32Params> {
        let offset = self.weight_offset != 0.0 && gamma.is_some();
        let widen = W::BYTES == 2
            && rows >= WIDEN_MIN_ROWS
            && rows.saturating_mul(width) >= WIDEN_MIN_ELEMENTS
            && (gamma.is_some() || beta.is_some());
        if !(offset || widen) {
            return None;
        }
        // The path this call will run on (an unavailable one fails the call's checks after
        // this; `rows::on_path` converts on the portable path then).
        let isa = self.isa.unwrap_or_else(isa);
        if !offset
            && bf16_rows
            && W::ID == 2
            && crate::rows::on_path(isa, crate::rows::SplitsBf16 { width })
        {
            return None;
        }
        let mut g = gamma.map(|g| Widened::new(isa, g));
        if offset && let Some(g) = g.as_mut() {
            g.as_mut_slice()
                .iter_mut()
                .for_each(|w| *w += self.weight_offset);
        }
        Some((g, beta.map(|b| Widened::new(isa, b))))
    }

    /// The kernel parameters of a validated call on `rows` rows of `width` elements writing
    /// output of type `O`: streaming stores for an output too large to stay in cache
    /// (`Stores::Auto`), or as the caller set; and whether the weight and bias are finite
    /// (`Params::finite`), checked for bf16 output in batches that would take f32 copies of
    /// 16-bit weights ([`WIDEN_MIN_ROWS`], [`WIDEN_MIN_ELEMENTS`]): there the check, one read
    /// of the weight and the bias, costs little against the rows' narrowing it lightens.
    pub(crate) fn params<'a, W: Element, O: Element>(
        &self,
        isa: Isa,
        gamma: Option<&'a [W]>,
        beta: Option<&'a [W]>,
        rows: usize,
        width: usize,
    ) -> Params<'a, W> {
        let out_bytes = rows.saturating_mul(width).saturating_mul(O::BYTES);
        let finite = O::ID == bf16::ID
            && rows >= WIDEN_MIN_ROWS
            && rows.saturating_mul(width) >= WIDEN_MIN_ELEMENTS
            && all_finite(isa, gamma)
            && all_finite(isa, beta);
        Params {
            kind: self.kind,
            eps: self.eps,
            eps_width: self.eps as f64 * width as f64,
            gamma,
            beta,
            nt: match self.stores {
                Stores::Auto => out_bytes >= crate::rows::NT_MIN_BYTES,
                Stores::Streaming => true,
                Stores::Cached => false,
            },
            finite,
        }
    }

    /// The epsilon.
    pub fn eps(&self) -> f32 {
        self.eps
    }

    /// Normalizes `rows` rows of `width` elements from `x` into `out`. The output type may
    /// differ from the input type (an f32 residual stream normalized into the f16 or bf16
    /// input of the next matmul, say); it is rounded to nearest, ties to even.
    pub fn forward<TI: Element, TO: Element, W: Element>(
        &self,
        x: &[TI],
        rows: usize,
        width: usize,
        gamma: Option<&[W]>,
        beta: Option<&[W]>,
        out: &mut [TO],
    ) -> Result<(), NormError> {
        self.forward_with_stats(x, rows, width, gamma, beta, out, Stats::default())
    }

    /// As [`Norm::forward`], also writing per-row statistics.
    #[allow(clippy::too_many_arguments)]
    pub fn forward_with_stats<TI: Element, TO: Element, W: Element>(
        &self,
        x: &[TI],
        rows: usize,
        width: usize,
        gamma: Option<&[W]>,
        beta: Option<&[W]>,
        out: &mut [TO],
        stats: Stats<'_>,
    ) -> Result<(), NormError> {
        let n = self.check_contiguous(x.len(), rows, width)?;
        if out.len() != n {
            return Err(NormError::OutputLength {
                expected: n,
                actual: out.len(),
            });
        }
        self.exec(
            Some((x, width)),
            out,
            width,
            rows,
            width,
            gamma,
            beta,
            stats,
        )
    }

    /// Normalizes `rows` rows of `width` elements of `x` in place.
    pub fn forward_inplace<T: Element, W: Element>(
        &self,
        x: &mut [T],
        rows: usize,
        width: usize,
        gamma: Option<&[W]>,
        beta: Option<&[W]>,
    ) -> Result<(), NormError> {
        self.forward_inplace_with_stats(x, rows, width, gamma, beta, Stats::default())
    }

    /// As [`Norm::forward_inplace`], also writing per-row statistics.
    pub fn forward_inplace_with_stats<T: Element, W: Element>(
        &self,
        x: &mut [T],
        rows: usize,
        width: usize,
        gamma: Option<&[W]>,
        beta: Option<&[W]>,
        stats: Stats<'_>,
    ) -> Result<(), NormError> {
        self.check_contiguous(x.len(), rows, width)?;
        self.exec::<T, T, W>(None, x, width, rows, width, gamma, beta, stats)
    }

    /// Strided rows (views into larger tensors, as ggml's): row `r` of the input is
    /// `x[r * x_stride..][..width]` and of the output `out[r * out_stride..][..width]`. Strides
    /// are in elements and at least `width`; each slice must reach the end of its last row
    /// (`(rows - 1) * stride + width` elements) and may be longer. Elements between rows are
    /// neither read nor written.
    #[allow(clippy::too_many_arguments)]
    pub fn forward_strided<TI: Element, TO: Element, W: Element>(
        &self,
        x: &[TI],
        x_stride: usize,
        out: &mut [TO],
        out_stride: usize,
        rows: usize,
        width: usize,
        gamma: Option<&[W]>,
        beta: Option<&[W]>,
        stats: Stats<'_>,
    ) -> Result<(), NormError> {
        self.check_eps_width(width)?;
        let xe = extent(rows, width, x_stride)?;
        let oe = extent(rows, width, out_stride)?;
        if x.len() < xe {
            return Err(NormError::InputLength {
                expected: xe,
                actual: x.len(),
            });
        }
        if out.len() < oe {
            return Err(NormError::OutputLength {
                expected: oe,
                actual: out.len(),
            });
        }
        self.exec(
            Some((&x[..xe], x_stride)),
            &mut out[..oe],
            out_stride,
            rows,
            width,
            gamma,
            beta,
            stats,
        )
    }

    /// Strided rows, in place (see [`Norm::forward_strided`]).
    #[allow(clippy::too_many_arguments)]
    pub fn forward_strided_inplace<T: Element, W: Element>(
        &self,
        x: &mut [T],
        stride: usize,
        rows: usize,
        width: usize,
        gamma: Option<&[W]>,
        beta: Option<&[W]>,
        stats: Stats<'_>,
    ) -> Result<(), NormError> {
        self.check_eps_width(width)?;
        let e = extent(rows, width, stride)?;
        if x.len() < e {
            return Err(NormError::InputLength {
                expected: e,
                actual: x.len(),
            });
        }
        self.exec::<T, T, W>(None, &mut x[..e], stride, rows, width, gamma, beta, stats)
    }

    fn check_eps_width(&self, width: usize) -> Result<(), NormError> {
        if !(self.eps.is_finite() && self.eps >= 0.0) {
            return Err(NormError::BadEpsilon(self.eps));
        }
        if width == 0 {
            return Err(NormError::ZeroWidth);
        }
        Ok(())
    }

    /// Checks weight, bias and statistics lengths and the path; returns the path to run on.
    pub(crate) fn check_params<W: Element>(
        &self,
        rows: usize,
        width: usize,
        gamma: Option<&[W]>,
        beta: Option<&[W]>,
        stats: &Stats<'_>,
    ) -> Result<Isa, NormError> {
        for (param, s) in [("gamma", gamma), ("beta", beta)] {
            if let Some(s) = s
                && s.len() != width
            {
                return Err(NormError::ParamLength {
                    param,
                    expected: width,
                    actual: s.len(),
                });
            }
        }
        if self.kind == Kind::Rms {
            if beta.is_some() {
                return Err(NormError::Unsupported("RMSNorm takes no bias (beta)"));
            }
            if stats.mean.is_some() {
                return Err(NormError::Unsupported("RMSNorm computes no mean statistic"));
            }
        }
        for (stat, s) in [("mean", &stats.mean), ("rstd", &stats.rstd)] {
            if let Some(s) = s
                && s.len() != rows
            {
                return Err(NormError::StatsLength {
                    stat,
                    expected: rows,
                    actual: s.len(),
                });
            }
        }
        match self.isa {
            Some(i) if i.is_available() => Ok(i),
            Some(i) => Err(NormError::IsaUnavailable(i)),
            None => Ok(isa()),
        }
    }

    /// Checks epsilon and a contiguous shape; returns `rows * width`.
    pub(crate) fn check_contiguous(
        &self,
        len: usize,
        rows: usize,
        width: usize,
    ) -> Result<usize, NormError> {
        self.check_eps_width(width)?;
        let n = rows
            .checked_mul(width)
            .ok_or(NormError::SizeOverflow { rows, width })?;
        if len != n {
            return Err(NormError::InputLength {
                expected: n,
                actual: len,
            });
        }
        Ok(n)
    }

    /// Checks parameters and statistics, then runs. The slices end with their last row.
    #[allow(clippy::too_many_arguments)]
    fn exec<TI: Element, TO: Element, W: Element>(
        &self,
        src: Option<(&[TI], usize)>,
        dst: &mut [TO],
        dst_stride: usize,
        rows: usize,
        width: usize,
        gamma: Option<&[W]>,
        beta: Option<&[W]>,
        stats: Stats<'_>,
    ) -> Result<(), NormError> {
        let bf16_rows = TI::ID == 2 && TO::ID == 2;
        if let Some((g, b)) = self.f32_params(gamma, beta, rows, width, bf16_rows) {
            let plain = self.weight_offset(0.0);
            return plain.exec(
                src,
                dst,
                dst_stride,
                rows,
                width,
                g.as_ref().map(Widened::as_slice),
                b.as_ref().map(Widened::as_slice),
                stats,
            );
        }
        let isa = self.check_params(rows, width, gamma, beta, &stats)?;
        if rows == 0 {
            return Ok(());
        }
        let p = self.params::<W, TO>(isa, gamma, beta, rows, width);
        let block = Block {
            src: src.map(|(s, _)| s),
            dst,
            mean: stats.mean,
            rstd: stats.rstd,
            layout: Layout {
                rows,
                width,
                src_stride: src.map_or(dst_stride, |(_, st)| st),
                dst_stride,
            },
        };
        run(isa, self.par, block, &p);
        Ok(())
    }
}

/// Batches of at least this many rows (and [`WIDEN_MIN_ELEMENTS`] elements) use f32 copies of
/// 16-bit weights and biases, converted once per call, instead of converting them again in
/// every row's sweep (docs/performance-log.md). First measured with `half`'s slice conversion
/// (about 2 us a call then): 128x4096 f16 LayerNorm 123 -> 110 us, RMSNorm 80 -> 59 us, from 64
/// rows. With the kernels' own conversion (`Widened`), on the twenty-seventh session's Xeon
/// (scratch copy of the crate, one thread, best of two runs of 200 samples, copies from 1 row
/// against from 64 rows): 8x4096 x0.90-1.00 the time, 16x4096 x0.86-0.94, 32x4096 x0.87-0.90,
/// 16x768 x0.90-0.96; 4x4096 x1.01-1.19 and 1x4096 x1.29-1.83, where a call converts more than
/// its rows reuse.
pub(crate) const WIDEN_MIN_ROWS: usize = 8;

/// The fewest elements (`rows * width`) of a batch that uses the f32 copies: short rows save
/// little per row, and a copy's fixed cost (an allocation and a dispatch) stays. Same runs as
/// [`WIDEN_MIN_ROWS`]: 16x128 took x1.03-1.05 the time with copies; 64x128 (8192 elements,
/// copies in both settings) x1.00-1.09, which is that VM's noise.
pub(crate) const WIDEN_MIN_ELEMENTS: usize = 8192;

/// Whether every element of `s` (if any) is finite, checked on the path `isa` (vectors: a
/// plain loop here is compiled for the baseline x86-64, 0.36-0.45 us for 4096 `f32` on the
/// twenty-ninth session's Zen 3).
fn all_finite<W: Element>(isa: Isa, s: Option<&[W]>) -> bool {
    s.is_none_or(|src| crate::rows::on_path(isa, crate::rows::Finite(src)))
}

/// f32 copies of a call's weight and bias (see `Norm::f32_params`).
pub(crate) type F32Params = (Option<Widened>, Option<Widened>);

/// A slice widened to f32 (exact) by the kernels' own conversions, starting on a 64-byte line
/// as a caller's buffers may not (a 64-byte load of a weight vector that straddles two lines
/// costs two).
pub(crate) struct Widened {
    /// The copy is `buf[start..]`.
    buf: Vec<f32>,
    start: usize,
}

impl Widened {
    /// `s` in f32, converted on the path `isa`.
    fn new<W: Element>(isa: Isa, s: &[W]) -> Widened {
        // Room for the elements wherever the first line boundary falls.
        let spare = 64 / size_of::<f32>() - 1;
        let mut buf = vec![0.0f32; s.len() + spare];
        let start = buf.as_ptr().align_offset(64).min(spare);
        buf.truncate(start + s.len());
        let dst = &mut buf[start..];
        crate::rows::on_path(isa, crate::rows::Widen { src: s, dst });
        Widened { buf, start }
    }

    pub(crate) fn as_slice(&self) -> &[f32] {
        &self.buf[self.start..]
    }

    fn as_mut_slice(&mut self) -> &mut [f32] {
        &mut self.buf[self.start..]
    }
}

/// Elements from the start of the first row to the end of the last: `(rows - 1) * stride +
/// width` (0 for no rows).
fn extent(rows: usize, width: usize, stride: usize) -> Result<usize, NormError> {
    if stride < width {
        return Err(NormError::StrideTooSmall { stride, width });
    }
    if rows == 0 {
        return Ok(0);
    }
    (rows - 1)
        .checked_mul(stride)
        .and_then(|v| v.checked_add(width))
        .ok_or(NormError::SizeOverflow { rows, width })
}

/// Rows in a slice of `len` elements cut into rows of `width`.
fn rows_of(len: usize, width: usize) -> Result<usize, NormError> {
    if width == 0 {
        return Err(NormError::ZeroWidth);
    }
    if !len.is_multiple_of(width) {
        return Err(NormError::RaggedInput { len, width });
    }
    Ok(len / width)
}

/// RMSNorm of one row: `out = x / sqrt(mean(x^2) + eps) * gamma`.
///
/// `gamma` (`None` means 1) must be as long as `x`; `out` too. With no weight, name its type:
/// `None::<&[f32]>`.
pub fn rms_norm<T: Element, W: Element>(
    x: &[T],
    gamma: Option<&[W]>,
    eps: f32,
    out: &mut [T],
) -> Result<(), NormError> {
    Norm::rms(eps).forward(x, 1, x.len(), gamma, None, out)
}

/// RMSNorm of one row, in place.
pub fn rms_norm_inplace<T: Element, W: Element>(
    x: &mut [T],
    gamma: Option<&[W]>,
    eps: f32,
) -> Result<(), NormError> {
    let w = x.len();
    Norm::rms(eps).forward_inplace(x, 1, w, gamma, None)
}

/// LayerNorm of one row: `out = (x - mean) / sqrt(var + eps) * gamma + beta`.
///
/// `gamma` (`None` means 1) and `beta` (`None` means 0) must be as long as `x`; `out` too.
pub fn layer_norm<T: Element, W: Element>(
    x: &[T],
    gamma: Option<&[W]>,
    beta: Option<&[W]>,
    eps: f32,
    out: &mut [T],
) -> Result<(), NormError> {
    Norm::layer(eps).forward(x, 1, x.len(), gamma, beta, out)
}

/// LayerNorm of one row, in place.
pub fn layer_norm_inplace<T: Element, W: Element>(
    x: &mut [T],
    gamma: Option<&[W]>,
    beta: Option<&[W]>,
    eps: f32,
) -> Result<(), NormError> {
    let w = x.len();
    Norm::layer(eps).forward_inplace(x, 1, w, gamma, beta)
}

/// RMSNorm of every row of `x` (rows of `width` elements, back to back) into `out`.
pub fn rms_norm_rows<T: Element, W: Element>(
    x: &[T],
    width: usize,
    gamma: Option<&[W]>,
    eps: f32,
    out: &mut [T],
) -> Result<(), NormError> {
    let rows = rows_of(x.len(), width)?;
    Norm::rms(eps).forward(x, rows, width, gamma, None, out)
}

/// RMSNorm of every row of `x`, in place.
pub fn rms_norm_rows_inplace<T: Element, W: Element>(
    x: &mut [T],
    width: usize,
    gamma: Option<&[W]>,
    eps: f32,
) -> Result<(), NormError> {
    let rows = rows_of(x.len(), width)?;
    Norm::rms(eps).forward_inplace(x, rows, width, gamma, None)
}

/// LayerNorm of every row of `x` (rows of `width` elements, back to back) into `out`.
pub fn layer_norm_rows<T: Element, W: Element>(
    x: &[T],
    width: usize,
    gamma: Option<&[W]>,
    beta: Option<&[W]>,
    eps: f32,
    out: &mut [T],
) -> Result<(), NormError> {
    let rows = rows_of(x.len(), width)?;
    Norm::layer(eps).forward(x, rows, width, gamma, beta, out)
}

/// LayerNorm of every row of `x`, in place.
pub fn layer_norm_rows_inplace<T: Element, W: Element>(
    x: &mut [T],
    width: usize,
    gamma: Option<&[W]>,
    beta: Option<&[W]>,
    eps: f32,
) -> Result<(), NormError> {
    let rows = rows_of(x.len(), width)?;
    Norm::layer(eps).forward_inplace(x, rows, width, gamma, beta)
}

#[cfg(test)]
mod tests {
    use half::{bf16, f16};

    use super::{Widened, all_finite};
    use crate::{Element, Isa};

    /// `Widened::new` on `isa` against `half`'s conversion, bit for bit (any NaN for a NaN).
    fn widened_as_half<T: Element>(isa: Isa, s: &[T]) {
        let w = Widened::new(isa, s);
        let w = w.as_slice();
        assert_eq!(w.len(), s.len());
        assert!(
            w.is_empty() || (w.as_ptr() as usize).is_multiple_of(64),
            "not on a line"
        );
        for (i, (&got, &e)) in w.iter().zip(s).enumerate() {
            let want = e.to_f32();
            assert!(
                got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()),
                "{isa} {} element {i}: {got:e} for {want:e}",
                T::NAME
            );
        }
    }

    /// The weight copies are exact on every path this CPU has: every 16-bit pattern, in
    /// slices whose lengths leave every size of partial last vector.
    #[test]
    fn weight_copies_are_exact() {
        let h: Vec<f16> = (0..=u16::MAX).map(f16::from_bits).collect();
        let b: Vec<bf16> = (0..=u16::MAX).map(bf16::from_bits).collect();
        let f: Vec<f32> = h.iter().map(|v| v.to_f32()).collect();
        for isa in Isa::available() {
            for len in (0..=40).chain([h.len() - 13, h.len()]) {
                widened_as_half(isa, &h[h.len() - len..]);
                widened_as_half(isa, &b[..len]);
                widened_as_half(isa, &f[..len]);
            }
        }
    }

    /// The finiteness check finds a NaN or an infinity at every position of slices that leave
    /// every size of partial last vector and of unrolled remainder, on every path this CPU
    /// has, and passes slices of finite values (the largest, subnormals, zeros of both signs).
    #[test]
    fn finite_check_finds_every_position() {
        let fine = [1.5f32, -0.0, 0.0, f32::MAX, -f32::MAX, 1e-45, -3.0];
        for isa in Isa::available() {
            assert!(all_finite::<f32>(isa, None));
            for len in 0..=70 {
                let v: Vec<f32> = (0..len).map(|i| fine[i % fine.len()]).collect();
                let h: Vec<f16> = (0..len).map(|i| f16::from_f32(fine[i % 3])).collect();
                assert!(all_finite(isa, Some(&v)), "{isa} {len}");
                assert!(all_finite(isa, Some(&h)), "{isa} f16 {len}");
                for pos in 0..len {
                    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
                        let mut w = v.clone();
                        w[pos] = bad;
                        assert!(!all_finite(isa, Some(&w)), "{isa} {len} {pos} {bad}");
                        let mut b: Vec<bf16> = w.iter().map(|&x| bf16::from_f32(x)).collect();
                        b[pos] = bf16::from_f32(bad);
                        assert!(!all_finite(isa, Some(&b)), "{isa} bf16 {len} {pos} {bad}");
                    }
                }
            }
        }
    }
}
