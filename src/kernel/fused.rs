//! Fused residual forms: the residual sums of a group of rows (as many as a plain norm of `f32`
//! rows computes the statistics of together, or one row) are formed in an `f32` scratch buffer
//! (in L1) during one sweep over the inputs, then normalized from there by the same kernels as
//! a plain norm. Each input is read from memory once and each output written once.

use core::cell::Cell;

use half::bf16;
use pulp::Simd;

use super::lanes::{Lanes, load, load_partial, store, store_partial};
use super::{Kind, Params, RowStats, block_rows, group_size, kind_of, outline, tile_group};
use crate::element::{Element, SliceMut, SliceRef};
#[cfg(feature = "rayon")]
use crate::rows::split_opt;
use crate::rows::{Batch, batch_key};

/// The alignment in bytes of the scratch row (a whole 512-bit vector). The norm reads the row
/// right after the residual sweep stored it, vector for vector at the same offsets; a load is
/// served from the pending stores only when it does not straddle two of them, which vectors
/// that cross a cache line do. Measured (prof_tmp, pre-LN RMSNorm f32 4096x128, one thread):
/// 231 us with the residual stream 16 bytes past a line and normalized in place, 139-156 us
/// with it aligned.
pub(crate) const SCRATCH_ALIGN: usize = 64;

/// The widest f32 row (alone, not in a group) whose residual stores may all still be pending
/// when the norm reads them back: 2 KiB (Zen 4's store queue holds 64 stores of up to 256
/// bits; a 512-bit store takes two). A wider row is normalized in place whatever its
/// alignment. prof_tmp, pre-LN, f32, one thread, rows 16 bytes past a line, through the
/// scratch row against in place: RMSNorm 4096x128 x0.81, LayerNorm x0.89; 512x768 RMSNorm
/// x0.95-0.98, LayerNorm x1.02-1.05 (measured row by row, before fused rows were grouped).
const PENDING_MAX: usize = 512;

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

/// Where a fused call reads and writes: one of the three placements below. Each compiles only
/// its own row kernel.
pub(crate) trait Placement: Send + Sized {
    /// Bytes of one element of the residual stream `x`.
    const X_BYTES: usize;
    /// The output's element type (`Norm::params`).
    type Out: Element;
    /// The placement and its element types as a `Batch::KEY` with the weight left `0`
    /// (`FusedBatch` adds it).
    const KEY: u32;
    /// Whether the call stores bf16 (its residual stream or its output), so that it runs on
    /// the AVX512-BF16 token where the CPU has it (`Batch::BF16_TOKEN`, read on x86-64 only;
    /// a fused call's statistics read its `f32` sums, whatever its input types).
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    const BF16_TOKEN: bool;
    /// Whether a group's residual sums can be normalized from an `f32` buffer of the call's
    /// own (the `f32` stream, or an `f32` output), so that a batch of wide rows takes the tiled
    /// apply of a plain norm ([`tile_group`]) with no scratch rows.
    const TILED: bool;
    /// Splits after `at` elements (a whole number of rows).
    #[cfg(feature = "rayon")]
    fn split(self, at: usize) -> (Self, Self);
    /// Rows `r0..r0 + g` (elements `r0 * width..(r0 + g) * width` of every stream): their
    /// residual sums, in one sweep, then their norms ([`norm_block`]), with `scratch` a buffer
    /// of `g` rows; `put(k, stats)` for row `r0 + k`; `kind` is `p.kind`, a constant of the
    /// row loop (see `RowsOp`). With `tiled` (only where `TILED`), the
    /// sums stay in the call's own `f32` buffer, the norms are applied tile by tile
    /// ([`tiled_rows`](super::tiled_rows)) and `scratch` is empty.
    #[allow(clippy::too_many_arguments)]
    fn rows<L: Lanes, W: Element>(
        &mut self,
        l: L,
        r0: usize,
        g: usize,
        width: usize,
        alpha: f32,
        p: &Params<'_, W>,
        kind: Kind,
        tiled: bool,
        scratch: &mut [f32],
        put: impl FnMut(usize, RowStats),
    );
}

/// The norms of the `g` rows of `width` elements in `src` into `dst` ([`block_rows`], tile by
/// tile with `tiled`); `put(k, stats)` for row `k`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn norm_block<L: Lanes, O: Element, W: Element>(
    l: L,
    src: &[f32],
    dst: &mut [O],
    g: usize,
    width: usize,
    p: &Params<'_, W>,
    kind: Kind,
    tiled: bool,
    put: impl FnMut(usize, RowStats),
) {
    let src_row = |k: usize| &src[k * width..(k + 1) * width];
    let dst_row = |k: usize| k * width..(k + 1) * width;
    block_rows::<L, f32, O, W, false>(l, 0, g, tiled, src_row, dst, dst_row, p, kind, put);
}

/// The norms of the `g` rows of `width` elements in `buf`, in place, tile by tile
/// ([`block_rows`]); `put(k, stats)` for row `k`.
#[inline(always)]
fn norm_block_in_place<L: Lanes, W: Element>(
    l: L,
    buf: &mut [f32],
    g: usize,
    width: usize,
    p: &Params<'_, W>,
    kind: Kind,
    put: impl FnMut(usize, RowStats),
) {
    let dst_row = |k: usize| k * width..(k + 1) * width;
    let no_src = |_| &[][..];
    block_rows::<L, f32, f32, W, true>(l, 0, g, true, no_src, buf, dst_row, p, kind, put);
}

/// Pre-LN: the sum is written back into `x`, the norm into `y`.
pub(crate) struct PreLn<'a, X, D, O> {
    pub x: &'a mut [X],
    pub d: &'a [D],
    pub y: &'a mut [O],
}

/// Post-LN / DeepNorm: `x` is only read, the norm goes into `y`.
pub(crate) struct Add<'a, X, D, O> {
    pub x: &'a [X],
    pub d: &'a [D],
    pub y: &'a mut [O],
}

/// Post-LN / DeepNorm in place: the norm replaces `x`.
pub(crate) struct AddInPlace<'a, X, D> {
    pub x: &'a mut [X],
    pub d: &'a [D],
}

impl<X: Element, D: Element, O: Element> Placement for PreLn<'_, X, D, O> {
    const X_BYTES: usize = X::BYTES;
    type Out = O;
    const KEY: u32 = batch_key(1, X::ID, D::ID, O::ID, 0);
    const BF16_TOKEN: bool = X::ID == bf16::ID || O::ID == bf16::ID;
    const TILED: bool = X::BYTES == 4;

    #[cfg(feature = "rayon")]
    fn split(self, at: usize) -> (Self, Self) {
        let (x0, x1) = self.x.split_at_mut(at);
        let (d0, d1) = self.d.split_at(at);
        let (y0, y1) = self.y.split_at_mut(at);
        (
            PreLn {
                x: x0,
                d: d0,
                y: y0,
            },
            PreLn {
                x: x1,
                d: d1,
                y: y1,
            },
        )
    }

    #[inline(always)]
    fn rows<L: Lanes, W: Element>(
        &mut self,
        l: L,
        r0: usize,
        g: usize,
        width: usize,
        alpha: f32,
        p: &Params<'_, W>,
        kind: Kind,
        tiled: bool,
        scratch: &mut [f32],
        put: impl FnMut(usize, RowStats),
    ) {
        let at = r0 * width..(r0 + g) * width;
        let (x, d, y) = (
            &mut self.x[at.clone()],
            &self.d[at.clone()],
            &mut self.y[at],
        );
        // A row alone is read back right after its stores (see `SCRATCH_ALIGN`); a group's
        // rows after the rest of the group's residual sweep, or, for its last row, after the
        // statistics sweeps of the rows before it. (Unaligned groups were not measured.) Tiled
        // rows are always wider than PENDING_MAX; they must take this branch, as they have no
        // scratch rows.
        let direct =
            g > 1 || (x.as_ptr() as usize).is_multiple_of(SCRATCH_ALIGN) || width > PENDING_MAX;
        // The norm's input: the updated rows or the scratch rows. One call of `norm_block` for
        // either, so that its row loops are compiled into this kernel once: a call for each
        // made the `f32` streams' Pre-LN kernels the longest part of the crate's release build
        // (docs/performance-log.md, thirty-ninth session).
        let (src, tiled): (&[f32], bool) = if const { X::BYTES == 4 } && (direct || tiled) {
            // An f32 stream stores the sum exactly: the updated rows themselves (in L1) are the
            // norm's input, with no scratch copy.
            outline(
                l,
                #[inline(always)]
                || residual_update::<L, X, D, false>(l, x, d, alpha, scratch),
            );
            match X::tag(x) {
                SliceRef::F32(x) => (x, tiled),
                _ => unreachable!("a 4-byte element is f32"),
            }
        } else {
            outline(
                l,
                #[inline(always)]
                || residual_update::<L, X, D, true>(l, x, d, alpha, scratch),
            );
            (scratch, false)
        };
        norm_block::<L, O, W>(l, src, y, g, width, p, kind, tiled, put)
    }
}

impl<X: Element, D: Element, O: Element> Placement for Add<'_, X, D, O> {
    const X_BYTES: usize = X::BYTES;
    type Out = O;
    const KEY: u32 = batch_key(2, X::ID, D::ID, O::ID, 0);
    const BF16_TOKEN: bool = O::ID == bf16::ID;
    const TILED: bool = O::BYTES == 4;

    #[cfg(feature = "rayon")]
    fn split(self, at: usize) -> (Self, Self) {
        let (x0, x1) = self.x.split_at(at);
        let (d0, d1) = self.d.split_at(at);
        let (y0, y1) = self.y.split_at_mut(at);
        (
            Add {
                x: x0,
                d: d0,
                y: y0,
            },
            Add {
                x: x1,
                d: d1,
                y: y1,
            },
        )
    }

    #[inline(always)]
    fn rows<L: Lanes, W: Element>(
        &mut self,
        l: L,
        r0: usize,
        g: usize,
        width: usize,
        alpha: f32,
        p: &Params<'_, W>,
        kind: Kind,
        tiled: bool,
        scratch: &mut [f32],
        put: impl FnMut(usize, RowStats),
    ) {
        let at = r0 * width..(r0 + g) * width;
        let (x, d) = (&self.x[at.clone()], &self.d[at.clone()]);
        // `if const`: a kernel of 16-bit output does not compile this branch at all (LLVM would
        // drop it only after optimizing the whole inlined kernel: the release build's time).
        if const { O::BYTES == 4 }
            && tiled
            && let SliceMut::F32(y) = O::tag_mut(&mut self.y[at.clone()])
        {
            // The sums go into the `f32` output, which is then normalized in place.
            outline(
                l,
                #[inline(always)]
                || residual_sum::<L, X, D>(l, x, d, alpha, y),
            );
            return norm_block_in_place::<L, W>(l, y, g, width, p, kind, put);
        }
        outline(
            l,
            #[inline(always)]
            || residual_sum::<L, X, D>(l, x, d, alpha, scratch),
        );
        norm_block::<L, O, W>(l, scratch, &mut self.y[at], g, width, p, kind, false, put)
    }
}

impl<X: Element, D: Element> Placement for AddInPlace<'_, X, D> {
    const X_BYTES: usize = X::BYTES;
    type Out = X;
    const KEY: u32 = batch_key(3, X::ID, D::ID, X::ID, 0);
    const BF16_TOKEN: bool = X::ID == bf16::ID;
    const TILED: bool = X::BYTES == 4;

    #[cfg(feature = "rayon")]
    fn split(self, at: usize) -> (Self, Self) {
        let (x0, x1) = self.x.split_at_mut(at);
        let (d0, d1) = self.d.split_at(at);
        (AddInPlace { x: x0, d: d0 }, AddInPlace { x: x1, d: d1 })
    }

    #[inline(always)]
    fn rows<L: Lanes, W: Element>(
        &mut self,
        l: L,
        r0: usize,
        g: usize,
        width: usize,
        alpha: f32,
        p: &Params<'_, W>,
        kind: Kind,
        tiled: bool,
        scratch: &mut [f32],
        put: impl FnMut(usize, RowStats),
    ) {
        let at = r0 * width..(r0 + g) * width;
        // Compiled only for an `f32` stream (`if const`, as in `Add`).
        if const { X::BYTES == 4 }
            && tiled
            && let SliceMut::F32(x) = X::tag_mut(&mut self.x[at.clone()])
        {
            // The sums replace the `f32` stream (each exactly as `residual_sum` forms it), which
            // is then normalized in place.
            let d = &self.d[at];
            outline(
                l,
                #[inline(always)]
                || residual_update::<L, f32, D, false>(l, x, d, alpha, &mut []),
            );
            return norm_block_in_place::<L, W>(l, x, g, width, p, kind, put);
        }
        let (x, d) = (&self.x[at.clone()], &self.d[at.clone()]);
        outline(
            l,
            #[inline(always)]
            || residual_sum::<L, X, D>(l, x, d, alpha, scratch),
        );
        norm_block::<L, X, W>(l, scratch, &mut self.x[at], g, width, p, kind, false, put)
    }
}

/// A block of rows of a fused call.
pub(crate) struct FusedBatch<'a, 'p, M, W> {
    pub place: M,
    pub rows: usize,
    pub width: usize,
    pub alpha: f32,
    pub p: &'a Params<'p, W>,
    pub mean: Option<&'a mut [f32]>,
    pub rstd: Option<&'a mut [f32]>,
}

impl<M: Placement, W: Element> Batch for FusedBatch<'_, '_, M, W> {
    const KEY: u32 = M::KEY | W::ID as u32;
    const BF16_TOKEN: bool = M::BF16_TOKEN;

    #[cfg(feature = "rayon")]
    fn rows(&self) -> usize {
        self.rows
    }

    #[cfg(feature = "rayon")]
    fn split(self, rows: usize) -> (Self, Self) {
        let (p0, p1) = self.place.split(rows * self.width);
        let (m0, m1) = split_opt(self.mean, rows);
        let (r0, r1) = split_opt(self.rstd, rows);
        let left = FusedBatch {
            place: p0,
            rows,
            width: self.width,
            alpha: self.alpha,
            p: self.p,
            mean: m0,
            rstd: r0,
        };
        let right = FusedBatch {
            place: p1,
            rows: self.rows - rows,
            mean: m1,
            rstd: r1,
            ..left
        };
        (left, right)
    }

    fn run<L: Lanes>(&mut self, l: L) {
        // RMSNorm's own loop, as for the plain norm (`RowsOp`).
        match self.p.kind {
            Kind::Rms => l.vectorize(FusedOp::<L, M, W, true> { l, b: self }),
            Kind::Layer => l.vectorize(FusedOp::<L, M, W, false> { l, b: self }),
        }
    }
}

/// One block of a fused call on the path `L`, as a value whose `call` is `#[inline(always)]`
/// (see `RowsOp`, also for `RMSNORM`: the loop compiled for RMSNorm alone). The batch by
/// reference, read where the caller stored it (see `Batch::run`).
struct FusedOp<'r, 'a, 'p, L, M, W, const RMSNORM: bool> {
    l: L,
    b: &'r mut FusedBatch<'a, 'p, M, W>,
}

impl<L: Lanes, M: Placement, W: Element, const RMSNORM: bool> pulp::NullaryFnOnce
    for FusedOp<'_, '_, '_, L, M, W, RMSNORM>
{
    type Output = ();

    #[inline(always)]
    fn call(self) {
        let FusedOp { l, b } = self;
        let FusedBatch {
            place,
            rows,
            width,
            alpha,
            p,
            mean,
            rstd,
        } = b;
        let (rows, width, alpha) = (*rows, *width, *alpha);
        let kind = kind_of::<RMSNORM>();
        debug_assert!(p.kind == kind);
        // Groups of rows as a plain norm of `f32` rows forms them (the norm reads the residual
        // sums as `f32`), tiled where the placement keeps the sums in a buffer of its own (no
        // scratch rows then); the scratch rows start on a `SCRATCH_ALIGN` boundary.
        let tile = if M::TILED {
            tile_group(p, rows, width, width * 4, false)
        } else {
            0
        };
        let tiled = tile > 0;
        let group = if tiled {
            tile
        } else {
            group_size::<L, W>(p, kind, width, width * 4)
        };
        // Elements of scratch a row: none when tiled.
        let per_row = if tiled { 0 } else { width };
        let mut buf = take_scratch(group * per_row + SCRATCH_ALIGN / 4 - 1);
        let at = buf
            .as_ptr()
            .align_offset(SCRATCH_ALIGN)
            .min(SCRATCH_ALIGN / 4 - 1);
        let scratch = &mut buf[at..at + group * per_row];
        let mut r0 = 0;
        while r0 < rows {
            let g = group.min(rows - r0);
            place.rows(
                l,
                r0,
                g,
                width,
                alpha,
                p,
                kind,
                tiled,
                &mut scratch[..g * per_row],
                |k, st| {
                    if let Some(m) = mean.as_deref_mut() {
                        m[r0 + k] = st.mean;
                    }
                    if let Some(q) = rstd.as_deref_mut() {
                        q[r0 + k] = st.rstd;
                    }
                },
            );
            r0 += g;
        }
        keep_scratch(buf);
        if p.nt {
            l.fence();
        }
    }
}

std::thread_local! {
    /// The scratch rows of this thread's last fused call, kept for its next one
    /// ([`take_scratch`]).
    static SCRATCH: Cell<Vec<f32>> = const { Cell::new(Vec::new()) };
}

/// The most scratch, in elements (256 KiB), that a thread keeps between fused calls: the
/// scratch of a group of short rows or of one row of up to 65536 elements.
const SCRATCH_KEEP: usize = 64 * 1024;

/// A buffer of at least `len` elements for a fused call's scratch rows: this thread's kept one
/// ([`keep_scratch`]) when it is large enough, else a new one (also while the thread's locals
/// are being destroyed, where the kept one is out of reach). Its elements hold whatever an
/// earlier call left there: every scratch row is written before it is read. An allocation
/// (with the zeroing `vec!` did) took 16 % of the samples of a 1x16 Pre-LN RMSNorm call
/// (docs/performance-log.md).
#[inline]
fn take_scratch(len: usize) -> Vec<f32> {
    let v = SCRATCH.try_with(Cell::take).unwrap_or_default();
    if v.len() >= len { v } else { vec![0.0; len] }
}

/// Keeps `v` as this thread's scratch for its next fused call, unless it is larger than
/// [`SCRATCH_KEEP`] (or the thread's locals are being destroyed: `v` is freed then).
#[inline]
fn keep_scratch(v: Vec<f32>) {
    if v.capacity() <= SCRATCH_KEEP {
        let _ = SCRATCH.try_with(|c| c.set(v));
    }
}
