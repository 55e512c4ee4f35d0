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
//!
//! The sums of a group of rows (or of one row) go through an `f32` buffer that each thread
//! keeps from one fused call to the next, so that only its first call allocates; a thread
//! keeps at most 256 KiB that way (rows of up to 65536 elements; a wider row's buffer is
//! allocated and freed by each call).

use crate::element::Element;
use crate::kernel::fused::{Add, AddInPlace, FusedBatch, Placement, PreLn};
use crate::norm::Widened;
use crate::rows::parallel;
use crate::{Norm, NormError, Parallelism, Stats};

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
        self.run_fused(PreLn { x: h, d, y }, rows, width, 1.0, gamma, beta, stats)
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
        self.run_fused(Add { x, d, y }, rows, width, alpha, gamma, beta, stats)
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
        self.run_fused(AddInPlace { x, d }, rows, width, alpha, gamma, beta, stats)
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
    fn run_fused<M: Placement, W: Element>(
        &self,
        place: M,
        rows: usize,
        width: usize,
        alpha: f32,
        gamma: Option<&[W]>,
        beta: Option<&[W]>,
        stats: Stats<'_>,
    ) -> Result<(), NormError> {
        // The fused sweeps have no split order: bf16 weights are widened as for other rows.
        if let Some((g, b)) = self.f32_params(gamma, beta, rows, width, false) {
            let plain = self.weight_offset(0.0);
            let g = g.as_ref().map(Widened::as_slice);
            let b = b.as_ref().map(Widened::as_slice);
            return plain.run_fused(place, rows, width, alpha, g, b, stats);
        }
        let isa = self.check_params(rows, width, gamma, beta, &stats)?;
        if rows == 0 {
            return Ok(());
        }
        // Streaming stores for a large `y`, as for a plain norm; the residual stream written back
        // by Pre-LN always goes through the cache.
        let p = self.params::<W, M::Out>(isa, gamma, beta, rows, width);
        let tasks = match self.par {
            Parallelism::None => 1,
            par => par.blocks(rows, width * M::X_BYTES),
        };
        let batch = FusedBatch {
            place,
            rows,
            width,
            alpha,
            p: &p,
            mean: stats.mean,
            rstd: stats.rstd,
        };
        parallel(isa, tasks, batch);
        Ok(())
    }
}
