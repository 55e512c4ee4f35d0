//! The batch driver: validation result in, ISA dispatch and (optionally) rayon out.
//!
//! One dispatch into a `#[target_feature]` context per block of rows, never per row. A large
//! batch is cut into one contiguous block of rows per thread.

use crate::Isa;
use crate::element::Element;
use crate::kernel::lanes::{Lanes, Portable};
use crate::kernel::{Layout, Params, norm_rows};

/// How a batch is spread over threads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Parallelism {
    /// Rayon's pool when the batch is at least [`PAR_MIN_BYTES`] and has two rows or more;
    /// the calling thread otherwise.
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

/// The smallest batch, in bytes of input, that [`Parallelism::Auto`] spreads over threads; also
/// the least input each thread gets.
///
/// Measured with `cargo run --release --example normbench -- --threshold` (RMSNorm, f32, width
/// 4096, called from outside the pool as a backend's main thread would) on the 2-core AMD EPYC
/// (Zen 4, AVX-512) development machine, two runs, speed-up of the pool over one thread:
///
/// | batch | 128 KiB | 512 KiB | 1 MiB | 2 MiB | 4 MiB | 8 MiB | 32 MiB |
/// |---|---|---|---|---|---|---|---|
/// | run 1 | 0.20 | 0.44 | 0.74 | 1.17 | 0.96 | 1.44 | 1.20 |
/// | run 2 | 0.26 | 0.65 | 0.67 | 0.88 | 0.87 | 1.33 | 1.14 |
///
/// Handing a job to rayon's pool and waiting for it costs 10-20 us here, the time of a whole
/// 1 MiB norm: below 4 MiB threads lose or break even, at 8 MiB (two blocks of 4 MiB) they win.
pub const PAR_MIN_BYTES: usize = 4 * 1024 * 1024;

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
    /// Rows in the batch.
    #[cfg(feature = "rayon")]
    fn rows(&self) -> usize;
    /// The first `rows` rows, and the rest (`0 < rows < self.rows()`).
    #[cfg(feature = "rayon")]
    fn split(self, rows: usize) -> (Self, Self);
    /// Runs every row on the path `l` (one `#[target_feature]` context for the whole batch).
    fn run<L: Lanes>(self, l: L);
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

    fn run<L: Lanes>(self, l: L) {
        let Plain { block, p } = self;
        let lay = block.layout;
        match block.src {
            Some(src) => {
                norm_rows::<L, TI, TO, W, false>(l, src, block.dst, lay, p, block.mean, block.rstd)
            }
            None => {
                norm_rows::<L, TO, TO, W, true>(l, &[], block.dst, lay, p, block.mean, block.rstd)
            }
        }
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
        if par == Parallelism::None {
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

/// Runs `batch` as `tasks` contiguous blocks of rows, halving it recursively over
/// `rayon::join`.
pub(crate) fn parallel<B: Batch>(isa: Isa, tasks: usize, batch: B) {
    #[cfg(feature = "rayon")]
    if tasks > 1 {
        let left_tasks = tasks / 2;
        let left_rows = batch.rows() * left_tasks / tasks;
        let (a, b) = batch.split(left_rows);
        rayon::join(
            || parallel(isa, left_tasks, a),
            || parallel(isa, tasks - left_tasks, b),
        );
        return;
    }
    let _ = tasks;
    crate::compiled::serial(isa, batch)
}

/// One block on the calling thread, one dispatch (through `crate::compiled::serial`, which
/// calls this crate's copy of it for the common element types).
pub(crate) fn serial<B: Batch>(isa: Isa, batch: B) {
    match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => {
            if let Some(t) = crate::arch::x86_64::Avx512Token::try_new() {
                return batch.run(t);
            }
        }
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => {
            if let Some(t) = crate::arch::x86_64::Avx2Token::try_new() {
                return batch.run(t);
            }
        }
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => {
            if let Some(t) = crate::arch::aarch64::NeonToken::try_new() {
                return batch.run(t);
            }
        }
        _ => {}
    }
    // Scalar, or (unreachable: callers check availability) a path the CPU lacks.
    batch.run(Portable)
}
