//! The batch driver: validation result in, ISA dispatch and (optionally) rayon out.
//!
//! One dispatch into a `#[target_feature]` context per block of rows, never per row. A large
//! batch is cut into one contiguous block of rows per thread.

use crate::Isa;
use crate::element::Element;
use crate::kernel::lanes::{Lanes, Portable};
use crate::kernel::{Layout, Params, all_finite, norm_rows, widen_into};
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
use std::sync::OnceLock;

/// How a batch is spread over threads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Parallelism {
    /// Rayon's pool when the batch has two rows or more and gives each thread at least
    /// [`PAR_MIN_BYTES`] of input (2 MiB of input for two threads); the calling thread
    /// otherwise.
    #[default]
    Auto,
    /// Always the calling thread (for backends that run their own thread pool).
    None,
    /// Always rayon, with up to this many contiguous blocks of rows (`0`: one per thread of
    /// the current rayon pool), whatever the batch size. Without the `rayon` feature this is
    /// the same as [`Parallelism::None`].
    Rayon(usize),
}

impl Parallelism {
    /// How many contiguous blocks of rows (one rayon task each) a batch of `rows` rows of
    /// `row_bytes` input bytes each is cut into, in the current rayon pool. `1` means the
    /// calling thread does all the work.
    pub fn blocks(self, rows: usize, row_bytes: usize) -> usize {
        tasks_for(self, rows, rows.saturating_mul(row_bytes))
    }
}

/// The least input, in bytes, of each block of rows that [`Parallelism::Auto`] gives a thread:
/// a batch is spread over threads from `2 * PAR_MIN_BYTES` of input up, in as many blocks of at
/// least this size as there are threads.
///
/// Measured with `cargo run --release --example normbench -- --threshold` (RMSNorm, f32, width
/// 4096, called from outside the pool as a backend's main thread would; the pool forced to one
/// block per thread) on the twenty-eighth session's 2-core Intel Xeon VM, speed-up of two
/// threads over one. Run 1-2: a scratch build of this crate with the caller running a block
/// itself (see `parallel`); run 3-4: the same build handing both blocks to the pool with
/// `rayon::join`, as the crate did until then; run 5-6: the crate's build.
///
/// | batch | 128 KiB | 512 KiB | 1 MiB | 2 MiB | 4 MiB | 8 MiB | 32 MiB |
/// |---|---|---|---|---|---|---|---|
/// | run 1 | 0.14 | 0.40 | 0.87 | 1.54 | 1.72 | 1.58 | 1.86 |
/// | run 2 | 0.11 | 0.42 | 1.01 | 1.95 | 1.79 | 1.89 | 1.83 |
/// | run 3 (`join`) | 0.17 | 0.28 | 0.51 | 0.77 | 1.16 | 0.88 | 1.80 |
/// | run 4 (`join`) | 0.20 | 0.67 | 0.51 | 1.13 | 1.45 | 0.91 | 1.51 |
/// | run 5 | 0.15 | 0.40 | 0.89 | 2.95 | 1.79 | 1.85 | 1.91 |
/// | run 6 | 0.10 | 0.39 | 1.00 | 2.60 | 1.81 | 1.84 | 1.90 |
///
/// Handing a block to the pool and waiting for it costs 15-31 us on this VM (about the time of
/// a 1 MiB norm): threads break even at blocks of 512 KiB (a 1 MiB batch) and win from blocks of
/// 1 MiB. (With `rayon::join` from outside the pool, 4 MiB in blocks of 2 MiB was the first
/// batch to win, and 8 MiB lost again: `parallel`.) On the 2-core Zen 4 VM of the first
/// sessions, with `rayon::join`, the threshold was 4 MiB a block.
pub const PAR_MIN_BYTES: usize = 1024 * 1024;

/// The smallest output, in bytes, that [`Stores::Auto`](crate::Stores::Auto) writes with
/// non-temporal stores: an output this large does not stay in a typical last-level cache
/// anyway, and streaming it saves the read-for-ownership of every output line (a third of the
/// memory traffic).
///
/// Measured on the development machine (2-core AMD EPYC Zen 4 VM, one thread, ratio of
/// throughput to `copy_from_slice` of the same bytes, two runs each), ordinary vs streaming
/// stores: RMSNorm f32 8192x4096 (128 MiB) 0.81/0.84 vs 1.00/0.97; LayerNorm f32 8192x4096
/// 0.73/0.74 vs 0.95/1.02; RMSNorm f32 2048x4096 (32 MiB) 0.70/0.72 vs 0.81/0.87; RMSNorm f16
/// 8192x4096 (64 MiB) 0.89/0.97 vs 0.80/1.05 (noise: its traffic is half). Smaller outputs are
/// kept in cache for the layer that reads them next.
pub const NT_MIN_BYTES: usize = 32 * 1024 * 1024;

/// The rows one call works on: `dst` always, `src` unless in place, optional statistics; the
/// slices hold exactly the rows `layout` describes (the last row ends the slice or lies within
/// it).
pub(crate) struct Block<'a, TI, TO> {
    pub src: Option<&'a [TI]>,
    pub dst: &'a mut [TO],
    pub mean: Option<&'a mut [f32]>,
    pub rstd: Option<&'a mut [f32]>,
    pub layout: Layout,
}

impl<'a, TI, TO> Block<'a, TI, TO> {
    /// The first `rows` rows, and the rest (`0 < rows < layout.rows`).
    #[cfg(feature = "rayon")]
    fn split(self, rows: usize) -> (Block<'a, TI, TO>, Block<'a, TI, TO>) {
        let lay = self.layout;
        let (s0, s1) = match self.src {
            Some(s) => {
                let (a, b) = s.split_at(rows * lay.src_stride);
                (Some(a), Some(b))
            }
            None => (None, None),
        };
        let (d0, d1) = self.dst.split_at_mut(rows * lay.dst_stride);
        let (m0, m1) = split_opt(self.mean, rows);
        let (r0, r1) = split_opt(self.rstd, rows);
        (
            Block {
                src: s0,
                dst: d0,
                mean: m0,
                rstd: r0,
                layout: Layout { rows, ..lay },
            },
            Block {
                src: s1,
                dst: d1,
                mean: m1,
                rstd: r1,
                layout: Layout {
                    rows: lay.rows - rows,
                    ..lay
                },
            },
        )
    }
}

#[cfg(feature = "rayon")]
type OptPair<'a, T> = (Option<&'a mut [T]>, Option<&'a mut [T]>);

/// Splits an optional slice at `at`.
#[cfg(feature = "rayon")]
pub(crate) fn split_opt<T>(s: Option<&mut [T]>, at: usize) -> OptPair<'_, T> {
    match s {
        Some(s) => {
            let (a, b) = s.split_at_mut(at);
            (Some(a), Some(b))
        }
        None => (None, None),
    }
}

/// A validated batch of rows that can be cut in two (for threads) and run on one path.
pub(crate) trait Batch: Send + Sized {
    /// The batch's kind and element types as one number ([`batch_key`]), unique to each
    /// (`crate::compiled` picks its copies by it).
    const KEY: u32;
    /// Whether the AVX-512 path runs the batch on
    /// [`Avx512Bf16Token`](crate::arch::x86_64::Avx512Bf16Token) where the CPU has it (read on
    /// x86-64 only): a batch that stores bf16 (that token converts it), or whose statistics
    /// read bf16 rows (that token sums their squares by dot products, `Lanes::BF16_DOT`), so
    /// that the rows of a call give the same statistics whatever type it stores.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    const BF16_TOKEN: bool;
    /// Rows in the batch.
    #[cfg(feature = "rayon")]
    fn rows(&self) -> usize;
    /// The first `rows` rows, and the rest (`0 < rows < self.rows()`).
    #[cfg(feature = "rayon")]
    fn split(self, rows: usize) -> (Self, Self);
    /// Runs every row on the path `l` (one `#[target_feature]` context for the whole batch).
    ///
    /// By reference, down to the row loop (`RowsOp`, `FusedOp`), so that the kernel reads each
    /// field where the caller stored it. A batch moved by value on its way was copied whole,
    /// 16 bytes at a time, from fields just stored 8 bytes at a time: a load the store buffer
    /// cannot forward, which waits for those stores to reach L1 (a stall in every call of one
    /// short row, docs/performance-log.md).
    fn run<L: Lanes>(&mut self, l: L);
}

/// `Batch::KEY` of batch kind `kind` with these element type ids (`Element::ID`, below 16),
/// `0` where a kind has no such element.
pub(crate) const fn batch_key(kind: u8, x: u8, d: u8, o: u8, w: u8) -> u32 {
    (kind as u32) << 16 | (x as u32) << 12 | (d as u32) << 8 | (o as u32) << 4 | w as u32
}

/// A plain norm's batch.
pub(crate) struct Plain<'a, 'p, TI, TO, W> {
    block: Block<'a, TI, TO>,
    p: &'a Params<'p, W>,
}

impl<TI: Element, TO: Element, W: Element> Batch for Plain<'_, '_, TI, TO, W> {
    const KEY: u32 = batch_key(0, TI::ID, 0, TO::ID, W::ID);
    const BF16_TOKEN: bool = TO::ID == half::bf16::ID || TI::ID == half::bf16::ID;

    #[cfg(feature = "rayon")]
    fn rows(&self) -> usize {
        self.block.layout.rows
    }

    #[cfg(feature = "rayon")]
    fn split(self, rows: usize) -> (Self, Self) {
        let (a, b) = self.block.split(rows);
        (
            Plain {
                block: a,
                p: self.p,
            },
            Plain {
                block: b,
                p: self.p,
            },
        )
    }

    fn run<L: Lanes>(&mut self, l: L) {
        let Plain { block, p } = self;
        let (lay, mean, rstd) = (
            &block.layout,
            block.mean.as_deref_mut(),
            block.rstd.as_deref_mut(),
        );
        match block.src {
            Some(src) => norm_rows::<L, TI, TO, W, false>(l, src, block.dst, lay, p, mean, rstd),
            None => norm_rows::<L, TO, TO, W, true>(l, &[], block.dst, lay, p, mean, rstd),
        }
    }
}

/// Work run once on a dispatched path ([`on_path`]): one `#[target_feature]` context, and a
/// result. A [`Batch`] runs as one ([`serial`]); the call-wide work on a weight or bias
/// ([`Widen`], [`Finite`]) is one of its own, with nothing to split.
pub(crate) trait OnPath: Sized {
    type Output;
    /// As [`Batch::BF16_TOKEN`] (read on x86-64 only).
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    const BF16_TOKEN: bool = false;
    fn run<L: Lanes>(self, l: L) -> Self::Output;
}

/// A whole batch as work on a path.
pub(crate) struct Whole<'r, B>(pub &'r mut B);

impl<B: Batch> OnPath for Whole<'_, B> {
    type Output = ();
    const BF16_TOKEN: bool = B::BF16_TOKEN;

    #[inline(always)]
    fn run<L: Lanes>(self, l: L) {
        self.0.run(l)
    }
}

/// A slice widened to `f32` ([`widen_into`]) on the dispatched path.
pub(crate) struct Widen<'a, T> {
    pub src: &'a [T],
    pub dst: &'a mut [f32],
}

impl<T: Element> OnPath for Widen<'_, T> {
    type Output = ();

    fn run<L: Lanes>(self, l: L) {
        widen_into(l, self.src, self.dst)
    }
}

/// Whether every element of a slice is finite ([`all_finite`]), on the dispatched path.
pub(crate) struct Finite<'a, T>(pub &'a [T]);

impl<T: Element> OnPath for Finite<'_, T> {
    type Output = bool;

    fn run<L: Lanes>(self, l: L) -> bool {
        all_finite(l, self.0)
    }
}

/// Whether the dispatched path has a split order for bf16 pairs (`Lanes::BF16_SPLIT`) and rows
/// of this width end without a partial vector.
pub(crate) struct SplitsBf16 {
    pub width: usize,
}

impl OnPath for SplitsBf16 {
    type Output = bool;

    fn run<L: Lanes>(self, _: L) -> bool {
        L::BF16_SPLIT && self.width.is_multiple_of(L::N)
    }
}

/// Runs a validated batch: the slices hold the rows `block.layout` describes, `width >= 1`,
/// `isa` available.
pub(crate) fn run<TI: Element, TO: Element, W: Element>(
    isa: Isa,
    par: Parallelism,
    block: Block<'_, TI, TO>,
    p: &Params<'_, W>,
) {
    let lay = block.layout;
    let tasks = par.blocks(lay.rows, lay.width * TI::BYTES);
    parallel(isa, tasks, Plain { block, p })
}

/// How many contiguous blocks of rows to make.
fn tasks_for(par: Parallelism, rows: usize, bytes: usize) -> usize {
    #[cfg(feature = "rayon")]
    {
        // Most calls are small (a token's rows in decoding): they return before asking rayon
        // for its pool, a thread-local lookup.
        if par == Parallelism::None
            || (par == Parallelism::Auto && (rows < 2 || bytes < PAR_MIN_BYTES))
        {
            return 1;
        }
        let threads = rayon::current_num_threads().max(1);
        match par {
            Parallelism::None => 1,
            Parallelism::Rayon(0) => threads.min(rows).max(1),
            Parallelism::Rayon(n) => n.min(rows).max(1),
            Parallelism::Auto => {
                if rows < 2 || bytes < PAR_MIN_BYTES {
                    1
                } else {
                    threads.min(rows).min(bytes / PAR_MIN_BYTES).max(1)
                }
            }
        }
    }
    #[cfg(not(feature = "rayon"))]
    {
        let _ = (par, rows, bytes);
        1
    }
}

/// Runs `batch` as `tasks` contiguous blocks of rows, halving it recursively.
///
/// On a thread of the current rayon pool the halves go to `rayon::join`. On any other thread
/// (a backend's own thread calling in, the common case) the caller runs the first half itself
/// and hands only the second to the pool (`rayon::in_place_scope`). With `rayon::join` from
/// outside, the caller would sleep while one worker is woken for the whole batch and a second
/// is woken by the first to steal its other half: two wake-ups in a row, and where the second
/// comes late (a virtual CPU that the host has to schedule first) the first worker ran both
/// halves. On the 2-core Intel Xeon VM, `f32` and f16 2048x4096, RMSNorm and LayerNorm, every
/// store kind, two runs of 15 samples of 3 calls each: the one-thread median over the
/// two-thread median was 1.73-2.07x this way, 0.95-1.81x with `rayon::join`
/// (docs/performance-log.md).
#[inline(always)]
pub(crate) fn parallel<B: Batch>(isa: Isa, tasks: usize, batch: B) {
    #[cfg(feature = "rayon")]
    if tasks > 1 {
        return split(isa, tasks, batch);
    }
    let _ = tasks;
    crate::compiled::serial(isa, batch)
}

/// [`parallel`] for `tasks > 1`: the two halves. Out of line, so that a call of one block
/// goes from the caller's frame straight to [`crate::compiled::serial`], with no frame that
/// copies the batch in on the way (see [`Batch::run`]).
#[cfg(feature = "rayon")]
fn split<B: Batch>(isa: Isa, tasks: usize, batch: B) {
    let left_tasks = tasks / 2;
    let right_tasks = tasks - left_tasks;
    let left_rows = batch.rows() * left_tasks / tasks;
    let (a, b) = batch.split(left_rows);
    if rayon::current_thread_index().is_some() {
        rayon::join(
            || parallel(isa, left_tasks, a),
            || parallel(isa, right_tasks, b),
        );
    } else {
        rayon::in_place_scope(|s| {
            s.spawn(move |_| parallel(isa, right_tasks, b));
            parallel(isa, left_tasks, a);
        });
    }
}

/// Whether the AVX-512 path runs the batches that ask for it ([`Batch::BF16_TOKEN`]) on the
/// AVX512-BF16 token (where the CPU has it): unless `SIMDNORM_AVX512_BF16=0`, and in this
/// crate's unit tests unless the calling thread turned it off (they run batches both ways to
/// compare the bits).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn use_avx512_bf16() -> bool {
    #[cfg(test)]
    if NO_AVX512_BF16.with(|c| c.get()) {
        return false;
    }
    crate::isa::avx512_bf16_allowed()
}

#[cfg(all(test, target_arch = "x86_64"))]
thread_local! {
    /// Set by a unit test to run this thread's batches on the plain AVX-512 token.
    pub(crate) static NO_AVX512_BF16: core::cell::Cell<bool> = const { core::cell::Cell::new(false) };
}

/// One block on the calling thread, one dispatch: the generic copy, for the element types that
/// `crate::compiled::serial` has no copy of its own for.
pub(crate) fn serial<B: Batch>(isa: Isa, mut batch: B) {
    on_path(isa, Whole(&mut batch))
}

/// Runs `batch` on the path `isa` (available: callers check). Each path's token is made once
/// per process and kept: pulp's `try_new` checks each of the token's 15 to 21 CPU features
/// (a cached test each), which a call of one short row paid every time.
pub(crate) fn on_path<P: OnPath>(isa: Isa, batch: P) -> P::Output {
    match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => {
            // bf16 stores convert with AVX512-BF16 where the CPU has it (the same bits as the
            // plain AVX-512 token's integer rounding), and RMSNorm sums the squares of bf16
            // rows by its dot products (other bits, within the same bound); only batches that
            // store bf16 or read bf16 rows compile for that token (`Batch::BF16_TOKEN`).
            use crate::arch::x86_64::{Avx512Bf16Token, Avx512Token};
            static BF16: OnceLock<Option<Avx512Bf16Token>> = OnceLock::new();
            static TOKEN: OnceLock<Option<Avx512Token>> = OnceLock::new();
            if const { P::BF16_TOKEN }
                && use_avx512_bf16()
                && let Some(t) = *BF16.get_or_init(Avx512Bf16Token::try_new)
            {
                return batch.run(t);
            }
            if let Some(t) = *TOKEN.get_or_init(Avx512Token::try_new) {
                return batch.run(t);
            }
        }
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => {
            static TOKEN: OnceLock<Option<crate::arch::x86_64::Avx2Token>> = OnceLock::new();
            if let Some(t) = *TOKEN.get_or_init(crate::arch::x86_64::Avx2Token::try_new) {
                return batch.run(t);
            }
        }
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => {
            static TOKEN: OnceLock<Option<crate::arch::aarch64::NeonToken>> = OnceLock::new();
            if let Some(t) = *TOKEN.get_or_init(crate::arch::aarch64::NeonToken::try_new) {
                return batch.run(t);
            }
        }
        _ => {}
    }
    // Scalar, or (unreachable: callers check availability) a path the CPU lacks.
    batch.run(Portable)
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    //! The AVX512-BF16 token's bf16 stores give the same bits as the plain AVX-512 token's, in
    //! whole batches: every store path of the kernels (pairs, single vectors, partial tails,
    //! streaming, in place, fused), with results below f32's normal range in some vectors.
    //! (RMSNorm of bf16 rows, whose squares that token sums by dot products, is checked
    //! against the numerics contract both ways instead.)

    use half::bf16;

    use super::NO_AVX512_BF16;
    use crate::arch::x86_64::Avx512Bf16Token;
    use crate::{Isa, Norm, Parallelism, Stats, Stores};

    /// Deterministic values: row `r`'s mean and spread differ, a few elements are far out.
    fn values(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..n)
            .map(|i| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                let u = (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
                let far = if i % 61 == 7 { 40.0 } else { 1.0 };
                (i % 5) as f32 * 0.25 + u * far
            })
            .collect()
    }

    /// A weight with a few elements near 1e-39, so that their outputs are subnormal `f32`
    /// (the lanes the AVX512-BF16 token moves up by 2^-126 around its conversion).
    fn weight(width: usize) -> Vec<f32> {
        (0..width)
            .map(|i| {
                if (width / 2..width / 2 + 3).contains(&i) {
                    1e-39
                } else {
                    0.5 + (i % 7) as f32 * 0.125
                }
            })
            .collect()
    }

    fn bf(v: &[f32]) -> Vec<bf16> {
        v.iter().map(|&x| bf16::from_f32(x)).collect()
    }

    fn bits(v: &[bf16]) -> Vec<u16> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    /// The bits `f` writes with the AVX512-BF16 token allowed and with it turned off on this
    /// thread; they must be the same.
    fn same_both_ways(what: &str, f: impl Fn() -> Vec<u16>) {
        let with = f();
        NO_AVX512_BF16.with(|c| c.set(true));
        let without = f();
        NO_AVX512_BF16.with(|c| c.set(false));
        assert_eq!(with.len(), without.len(), "{what}");
        if let Some(i) = (0..with.len()).find(|&i| with[i] != without[i]) {
            panic!(
                "{what}: element {i}: {:#06x} with AVX512-BF16, {:#06x} without",
                with[i], without[i]
            );
        }
        assert!(with.iter().any(|&b| b & 0x7FFF != 0), "{what}: all zero");
    }

    /// For the calls whose statistics read bf16 rows with RMSNorm, where the AVX512-BF16 token
    /// sums the squares by dot products and the plain token by multiply-adds (other bits):
    /// `f` both ways, each output row within the numerics contract's bound of the reference
    /// (`gamma` the weight's values, `eps` the call's).
    fn bounded_both_ways(
        what: &str,
        x: &[bf16],
        width: usize,
        gamma: &[f32],
        eps: f32,
        f: impl Fn() -> Vec<u16>,
    ) {
        for without in [false, true] {
            NO_AVX512_BF16.with(|c| c.set(without));
            let y: Vec<bf16> = f().into_iter().map(bf16::from_bits).collect();
            NO_AVX512_BF16.with(|c| c.set(false));
            for (r, (xr, yr)) in x.chunks(width).zip(y.chunks(width)).enumerate() {
                let want = crate::reference::rms_norm(xr, Some(gamma), eps);
                if let Err((i, msg)) = crate::reference::check_row(yr, &want, Some(gamma), None) {
                    panic!("{what}, AVX512-BF16 off {without}: row {r}, element {i}: {msg}");
                }
            }
        }
    }

    #[test]
    fn avx512_bf16_stores_match_plain_avx512() {
        if !Isa::Avx512.is_available() || Avx512Bf16Token::try_new().is_none() {
            eprintln!("no AVX512-BF16 here: nothing to compare");
            return;
        }
        let rows = 5;
        for width in [1usize, 7, 16, 17, 32, 33, 63, 100, 257, 1000, 2100, 4099] {
            let n = rows * width;
            let x = values(n, width as u64);
            let d = values(n, 7 + width as u64);
            let g = weight(width);
            let b: Vec<f32> = (0..width).map(|i| (1 + i % 3) as f32 * 0.0625).collect();
            let (xb, db, gb, bb) = (bf(&x), bf(&d), bf(&g), bf(&b));
            for layer in [false, true] {
                for stores in [Stores::Cached, Stores::Streaming] {
                    // Output slices start 0 or 3 elements into their buffers: the kernels'
                    // aligned heads differ.
                    for off in [0usize, 3] {
                        let norm = if layer {
                            Norm::layer(1e-5)
                        } else {
                            Norm::rms(1e-6)
                        }
                        .isa(Isa::Avx512)
                        .parallelism(Parallelism::None)
                        .stores(stores);
                        let beta = layer.then_some(&bb[..]);
                        let beta32 = layer.then_some(&b[..]);
                        let what = |case: &str| {
                            format!(
                                "{case}, {rows}x{width}, layer {layer}, {stores:?}, offset {off}"
                            )
                        };
                        let buf = vec![bf16::ZERO; n + off];
                        // `xb` placed at `off` in a buffer of its own (in-place calls).
                        let placed = || {
                            let mut v = buf.clone();
                            v[off..].copy_from_slice(&xb);
                            v
                        };
                        // RMSNorm's statistics of bf16 rows differ between the tokens
                        // (`Batch::BF16_TOKEN`); LayerNorm's do not.
                        let bf16_rows = |what: &str, gamma: &[f32], f: &dyn Fn() -> Vec<u16>| {
                            if layer {
                                same_both_ways(what, f)
                            } else {
                                bounded_both_ways(what, &xb, width, gamma, 1e-6, f)
                            }
                        };
                        let g_of_gb: Vec<f32> = gb.iter().map(|v| v.to_f32()).collect();
                        bf16_rows(&what("bf16 -> bf16"), &g_of_gb, &|| {
                            let y = &mut buf.clone()[off..];
                            norm.forward(&xb, rows, width, Some(&gb[..]), beta, y)
                                .unwrap();
                            bits(y)
                        });
                        same_both_ways(&what("f32 -> bf16"), || {
                            let y = &mut buf.clone()[off..];
                            norm.forward(&x, rows, width, Some(&g[..]), beta32, y)
                                .unwrap();
                            bits(y)
                        });
                        bf16_rows(&what("bf16 in place, f32 weights"), &g, &|| {
                            let mut v = placed();
                            let y = &mut v[off..];
                            norm.forward_inplace(y, rows, width, Some(&g[..]), beta32)
                                .unwrap();
                            bits(y)
                        });
                        same_both_ways(&what("Pre-LN, bf16"), || {
                            let (mut h, mut y) = (placed(), buf.clone());
                            let (h, y) = (&mut h[off..], &mut y[off..]);
                            let st = Stats::default();
                            norm.residual_forward(h, &db, rows, width, Some(&gb[..]), beta, y, st)
                                .unwrap();
                            [bits(h), bits(y)].concat()
                        });
                        same_both_ways(&what("Post-LN f32 -> bf16"), || {
                            let y = &mut buf.clone()[off..];
                            let st = Stats::default();
                            norm.add_forward(&x, &d, 1.0, rows, width, Some(&g[..]), beta32, y, st)
                                .unwrap();
                            bits(y)
                        });
                        same_both_ways(&what("Post-LN bf16 in place"), || {
                            let mut v = placed();
                            let y = &mut v[off..];
                            let st = Stats::default();
                            norm.add_forward_inplace(
                                y,
                                &db,
                                0.5,
                                rows,
                                width,
                                Some(&gb[..]),
                                beta,
                                st,
                            )
                            .unwrap();
                            bits(y)
                        });
                    }
                }
            }
        }
    }
}
