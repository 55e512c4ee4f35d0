//! Transformer placements as fused kernels: the residual add and the norm in one sweep over
//! memory (NORMS.md, "Placements" and "DeepNorm").
//!
//! - Pre-LN (GPT-2, LLaMA, ...): `h += d; y = norm(h)` — [`Norm::residual_forward`].
//! - Post-LN (Transformer, BERT): `y = norm(x + d)` — [`Norm::add_forward`] with `alpha = 1`.
//! - DeepNorm (Wang et al. 2022): `y = LayerNorm(alpha * x + d)` — [`Norm::add_forward`] with
//!   the paper's alpha ([`crate::deepnorm`]).
//!
//! The sum is formed in `f32`, the product `alpha * x` and the sum each rounded to `f32` (for
//! `alpha = 1` exactly `x + d`), on every path; it is then normalized as a plain norm of those
//! `f32` values, with the same error bound. Pre-LN writes the sum back into `h` rounded to
//! `h`'s type and normalizes exactly the values stored. Rows are contiguous.

use crate::element::Element;
use crate::kernel::Params;
use crate::kernel::fused::{FusedOp, FusedOut};
use crate::kernel::lanes::{Lanes, Portable};
#[cfg(feature = "rayon")]
use crate::rows::split_opt;
use crate::{Isa, Norm, NormError, Parallelism, Stats};

/// One block of rows of a fused call.
struct Block<'a, X, D, O> {
    out: FusedOut<'a, X, O>,
    d: &'a [D],
    rows: usize,
    mean: Option<&'a mut [f32]>,
    rstd: Option<&'a mut [f32]>,
}

impl<'a, X, D, O> Block<'a, X, D, O> {
    #[cfg(feature = "rayon")]
    fn split(self, rows: usize, width: usize) -> (Self, Self) {
        let at = rows * width;
        let (o0, o1) = match self.out {
            FusedOut::PreLn(x, y) => {
                let (x0, x1) = x.split_at_mut(at);
                let (y0, y1) = y.split_at_mut(at);
                (FusedOut::PreLn(x0, y0), FusedOut::PreLn(x1, y1))
            }
            FusedOut::Add(x, y) => {
                let (x0, x1) = x.split_at(at);
                let (y0, y1) = y.split_at_mut(at);
                (FusedOut::Add(x0, y0), FusedOut::Add(x1, y1))
            }
            FusedOut::AddInPlace(x) => {
                let (x0, x1) = x.split_at_mut(at);
                (FusedOut::AddInPlace(x0), FusedOut::AddInPlace(x1))
            }
        };
        let (d0, d1) = self.d.split_at(at);
        let (m0, m1) = split_opt(self.mean, rows);
        let (r0, r1) = split_opt(self.rstd, rows);
        (
            Block {
                out: o0,
                d: d0,
                rows,
                mean: m0,
                rstd: r0,
            },
            Block {
                out: o1,
                d: d1,
                rows: self.rows - rows,
                mean: m1,
                rstd: r1,
            },
        )
    }
}

fn parallel<X: Element, D: Element, O: Element, W: Element>(
    isa: Isa,
    tasks: usize,
    b: Block<'_, X, D, O>,
    width: usize,
    alpha: f32,
    p: &Params<'_, W>,
) {
    #[cfg(feature = "rayon")]
    if tasks > 1 {
        let left_tasks = tasks / 2;
        let left_rows = b.rows * left_tasks / tasks;
        let (a, c) = b.split(left_rows, width);
        rayon::join(
            || parallel(isa, left_tasks, a, width, alpha, p),
            || parallel(isa, tasks - left_tasks, c, width, alpha, p),
        );
        return;
    }
    let _ = tasks;
    match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => {
            if let Some(t) = crate::arch::x86_64::Avx512Token::try_new() {
                return with(t, b, width, alpha, p);
            }
        }
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => {
            if let Some(t) = crate::arch::x86_64::Avx2Token::try_new() {
                return with(t, b, width, alpha, p);
            }
        }
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => {
            if let Some(t) = crate::arch::aarch64::NeonToken::try_new() {
                return with(t, b, width, alpha, p);
            }
        }
        _ => {}
    }
    with(Portable, b, width, alpha, p)
}

fn with<L: Lanes, X: Element, D: Element, O: Element, W: Element>(
    l: L,
    b: Block<'_, X, D, O>,
    width: usize,
    alpha: f32,
    p: &Params<'_, W>,
) {
    l.vectorize(FusedOp {
        l,
        out: b.out,
        d: b.d,
        alpha,
        rows: b.rows,
        width,
        p,
        rstd: b.rstd,
        mean: b.mean,
    })
}

impl Norm {
    /// Pre-LN step, fused: `h += d` (stored in `h`, rounded to its type), then
    /// `y = norm(h)`, reading `h` and `d` once and writing `h` and `y` once. `rows` rows of
    /// `width` elements, contiguous. `y` may have another type than `h` (an f32 residual stream
    /// normalized into the bf16 input of the next matmul, say). For the first layer, with no
    /// `d`, use [`Norm::forward`].
    #[allow(clippy::too_many_arguments)]
    pub fn residual_forward<H: Element, D: Element, O: Element, W: Element>(
        &self,
        h: &mut [H],
        d: &[D],
        rows: usize,
        width: usize,
        gamma: Option<&[W]>,
        beta: Option<&[W]>,
        y: &mut [O],
        stats: Stats<'_>,
    ) -> Result<(), NormError> {
        self.check_fused(h.len(), d.len(), Some(y.len()), rows, width, 1.0)?;
        self.run_fused(
            FusedOut::PreLn(h, y),
            d,
            rows,
            width,
            1.0,
            gamma,
            beta,
            stats,
        )
    }

    /// Post-LN and DeepNorm, fused: `y = norm(alpha * x + d)` (Post-LN: `alpha = 1`; DeepNorm:
    /// the paper's alpha, see [`crate::deepnorm`]), reading `x` and `d` once and writing `y`
    /// once.
    #[allow(clippy::too_many_arguments)]
    pub fn add_forward<X: Element, D: Element, O: Element, W: Element>(
        &self,
        x: &[X],
        d: &[D],
        alpha: f32,
        rows: usize,
        width: usize,
        gamma: Option<&[W]>,
        beta: Option<&[W]>,
        y: &mut [O],
        stats: Stats<'_>,
    ) -> Result<(), NormError> {
        self.check_fused(x.len(), d.len(), Some(y.len()), rows, width, alpha)?;
        self.run_fused(
            FusedOut::Add(x, y),
            d,
            rows,
            width,
            alpha,
            gamma,
            beta,
            stats,
        )
    }

    /// As [`Norm::add_forward`], writing the result over `x`.
    #[allow(clippy::too_many_arguments)]
    pub fn add_forward_inplace<X: Element, D: Element, W: Element>(
        &self,
        x: &mut [X],
        d: &[D],
        alpha: f32,
        rows: usize,
        width: usize,
        gamma: Option<&[W]>,
        beta: Option<&[W]>,
        stats: Stats<'_>,
    ) -> Result<(), NormError> {
        self.check_fused(x.len(), d.len(), None, rows, width, alpha)?;
        self.run_fused::<X, D, X, W>(
            FusedOut::AddInPlace(x),
            d,
            rows,
            width,
            alpha,
            gamma,
            beta,
            stats,
        )
    }

    fn check_fused(
        &self,
        x_len: usize,
        d_len: usize,
        y_len: Option<usize>,
        rows: usize,
        width: usize,
        alpha: f32,
    ) -> Result<usize, NormError> {
        let n = self.check_contiguous(x_len, rows, width)?;
        if !alpha.is_finite() {
            return Err(NormError::BadAlpha(alpha));
        }
        if d_len != n {
            return Err(NormError::ResidualLength {
                expected: n,
                actual: d_len,
            });
        }
        if let Some(y) = y_len
            && y != n
        {
            return Err(NormError::OutputLength {
                expected: n,
                actual: y,
            });
        }
        Ok(n)
    }

    #[allow(clippy::too_many_arguments)]
    fn run_fused<X: Element, D: Element, O: Element, W: Element>(
        &self,
        out: FusedOut<'_, X, O>,
        d: &[D],
        rows: usize,
        width: usize,
        alpha: f32,
        gamma: Option<&[W]>,
        beta: Option<&[W]>,
        stats: Stats<'_>,
    ) -> Result<(), NormError> {
        if let Some((g, b)) = self.offset_params(gamma, beta) {
            let plain = self.weight_offset(0.0);
            return plain.run_fused(
                out,
                d,
                rows,
                width,
                alpha,
                Some(&g[..]),
                b.as_deref(),
                stats,
            );
        }
        let isa = self.check_params(rows, width, gamma, beta, &stats)?;
        if rows == 0 {
            return Ok(());
        }
        let p = Params {
            kind: self.kind,
            eps: self.eps,
            gamma,
            beta,
            // Streaming stores for a large `y`, as for a plain norm; the residual stream written
            // back by Pre-LN always goes through the cache.
            nt: match self.stores {
                crate::Stores::Auto => {
                    rows.saturating_mul(width).saturating_mul(O::BYTES) >= crate::NT_MIN_BYTES
                }
                crate::Stores::Streaming => true,
                crate::Stores::Cached => false,
            },
        };
        let tasks = match self.par {
            Parallelism::None => 1,
            par => par.blocks(rows, width * X::BYTES),
        };
        let block = Block {
            out,
            d,
            rows,
            mean: stats.mean,
            rstd: stats.rstd,
        };
        parallel(isa, tasks, block, width, alpha, &p);
        Ok(())
    }
}
