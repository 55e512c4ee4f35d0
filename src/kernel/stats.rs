//! Statistics sweeps: lane-wise Welford merged with Chan's formula (LayerNorm), and the sum of
//! squares (RMSNorm). Written once, generic over [`Lanes`].
//!
//! Both sweep the row in blocks of `WELFORD_ACC` x `WELFORD_STEPS` vectors (Welford) or
//! `WELFORD_ACC` x `BLOCK_STEPS` vectors (sum of squares). Inside a block every accumulator
//! starts fresh and accumulates in `f32`, lane by lane; at the end of the block the
//! accumulators are merged (Chan) and the block's result is merged into a running `f64` state:
//! for Welford one per lane (vertical operations; the lanes are merged once per row), for the
//! sum of squares one scalar. The `f64` merge costs a few operations per block (2048 and 1024
//! elements on AVX-512; 2048 for bf16 squares summed by dot products) and keeps the rounding
//! error of the statistics independent of the row width: plain `f32` accumulation over a
//! whole row grows it linearly (a constant row of 5233 `f32` elements already exceeded the
//! contract's bound that way).
//!
//! LayerNorm's first block takes Welford's steps ([`welford_lanes`]); each block after it sums
//! the values minus the lanes' running means from the blocks before it, and turns the sums into
//! Welford states at its end ([`sums_lanes`]): three vector operations per vector instead of
//! five, with the same order of rounding error.

use half::bf16;
use pulp::Simd;

use super::lanes::{D, F, Lanes, MAX_LANES, load, load_partial};
use super::{outline, short};
use crate::element::{Element, SliceRef};

/// The largest `WELFORD_ACC` any path uses (sizes the accumulator arrays).
const MAX_ACC: usize = 8;

/// Steps (vectors per accumulator) in one block of the sum of squares.
const BLOCK_STEPS: usize = 8;

/// Steps (vectors per accumulator) in one block of Welford's sweep: longer than the sum of
/// squares' blocks, because each block ends in a Chan merge of its accumulators and an `f64`
/// merge of its lanes (16 steps measured faster than 8 for 4096-wide LayerNorm rows on AVX2,
/// at a somewhat larger but still small rounding error: docs/performance-log.md).
const WELFORD_STEPS: usize = 16;

/// `1 / k` for the Welford step `k` (1-based) inside a block.
const RECIP: [f32; WELFORD_STEPS] = {
    let mut t = [0.0f32; WELFORD_STEPS];
    let mut k = 1;
    while k <= WELFORD_STEPS {
        t[k - 1] = 1.0 / k as f32;
        k += 1;
    }
    t
};

/// `1 / k` for every count a block's accumulators can reach (at most `MAX_ACC * WELFORD_STEPS`).
const INV: [f32; MAX_ACC * WELFORD_STEPS + 1] = {
    let mut t = [0.0f32; MAX_ACC * WELFORD_STEPS + 1];
    let mut k = 1;
    while k < t.len() {
        t[k] = 1.0 / k as f32;
        k += 1;
    }
    t
};

/// A partial Welford state: `count` values with mean `mean` and sum of squared deviations `m2`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Welford {
    pub count: f64,
    pub mean: f64,
    pub m2: f64,
}

impl Welford {
    pub const EMPTY: Welford = Welford {
        count: 0.0,
        mean: 0.0,
        m2: 0.0,
    };

    /// One Welford step (Welford 1962; NORMS.md).
    #[inline(always)]
    pub fn push(&mut self, x: f64) {
        self.count += 1.0;
        let d = x - self.mean;
        self.mean += d / self.count;
        self.m2 += d * (x - self.mean);
    }

    /// Chan, Golub & LeVeque's merge of two partial states (NORMS.md).
    #[inline(always)]
    pub fn merge(self, b: Welford) -> Welford {
        if b.count == 0.0 {
            return self;
        }
        if self.count == 0.0 {
            return b;
        }
        let count = self.count + b.count;
        let d = b.mean - self.mean;
        Welford {
            count,
            mean: self.mean + d * (b.count / count),
            m2: self.m2 + b.m2 + d * d * (self.count * b.count / count),
        }
    }
}

/// Reads one full vector of `x`, optionally multiplied by `scale`, minus `shift`.
#[inline(always)]
fn shifted<L: Lanes, T: Element, const SCALED: bool>(
    l: L,
    x: &[T],
    scale: F<L>,
    shift: F<L>,
) -> F<L> {
    l.simd()
        .sub_f32s(scaled::<L, T, SCALED>(l, x, scale), shift)
}

/// The weights of one of Chan's merges of per-lane states with counts `ca` and `cb` (the same
/// in every lane): `cb / (ca + cb)` for the mean and `ca * cb / (ca + cb)` for the M2; `None`
/// when the second state is empty (the merge leaves the first as it is). The first is never
/// empty when the second is not: the counts do not increase with the accumulator's index, and
/// the first of every merged pair has the lower index ([`chan_pairs`]).
#[inline(always)]
fn chan_weights(ca: f32, cb: f32) -> Option<(f32, f32)> {
    if cb == 0.0 {
        return None;
    }
    // The counts are small whole numbers: 1 / total from a table, not a division.
    let inv = INV[(ca + cb) as usize];
    Some((cb * inv, ca * cb * inv))
}

/// Chan's merge of the per-lane states `(mean, m2)` `a` and `b` with the weights `w`
/// ([`chan_weights`]).
#[inline(always)]
fn chan<L: Lanes>(
    l: L,
    (ma, qa): (F<L>, F<L>),
    (mb, qb): (F<L>, F<L>),
    w: Option<(f32, f32)>,
) -> (F<L>, F<L>) {
    let Some((wm, wq)) = w else {
        return (ma, qa);
    };
    let s = l.simd();
    let d = s.sub_f32s(mb, ma);
    let m = l.fma(d, s.splat_f32s(wm), ma);
    let q = l.fma(s.mul_f32s(d, d), s.splat_f32s(wq), s.add_f32s(qa, qb));
    (m, q)
}

/// The pairs of accumulators [`welford_lanes`] merges, in its order: a tree of depth
/// log2(ACC), not a chain (pairs `(j, j + half)` of the first `width` accumulators, and
/// `(0, width - 1)` when `width` is odd, halving `width` from `ACC` down to one).
#[inline(always)]
fn chan_pairs<L: Lanes>() -> ([(usize, usize); MAX_ACC], usize) {
    let mut pairs = [(0, 0); MAX_ACC];
    let mut k = 0;
    let mut width = L::WELFORD_ACC;
    while width > 1 {
        let half = width / 2;
        for j in 0..half {
            pairs[k] = (j, j + half);
            k += 1;
        }
        if width % 2 == 1 {
            pairs[k] = (0, width - 1);
            k += 1;
        }
        width = half;
    }
    (pairs, k)
}

/// The shape of [`welford_lanes`]'s sweep, `steps` groups of `WELFORD_ACC` vectors then
/// `extra < WELFORD_ACC` single vectors (accumulator `j` holds `steps + (j < extra)` values),
/// with the weights of the merges of its accumulators and the count of the merged state. They
/// depend only on the counts, which every row of one width shares: rows reduced together
/// compute them once, and a row alone computes the same bits.
#[derive(Clone, Copy)]
struct ChanTree {
    steps: usize,
    extra: usize,
    w: [Option<(f32, f32)>; MAX_ACC],
    count: f32,
}

impl ChanTree {
    #[inline(always)]
    fn new<L: Lanes>(steps: usize, extra: usize) -> ChanTree {
        let mut cnt = [0.0f32; MAX_ACC];
        for (j, c) in cnt.iter_mut().enumerate().take(L::WELFORD_ACC) {
            *c = (steps + usize::from(j < extra)) as f32;
        }
        let (pairs, k) = chan_pairs::<L>();
        let mut w = [None; MAX_ACC];
        for (w, &(a, b)) in w.iter_mut().zip(&pairs[..k]) {
            *w = chan_weights(cnt[a], cnt[b]);
            cnt[a] += cnt[b];
        }
        ChanTree {
            steps,
            extra,
            w,
            count: cnt[0],
        }
    }
}

/// Welford's first step, exact: accumulator `j` takes the `j`-th vector of `x` as its mean
/// (its M2 stays zero), for every accumulator in `mean`.
#[inline(always)]
fn first_step<L: Lanes, T: Element, const SCALED: bool>(
    l: L,
    x: &[T],
    mean: &mut [F<L>],
    scale_v: F<L>,
    shift_v: F<L>,
) {
    for (v, mj) in x.chunks_exact(L::N).zip(mean) {
        *mj = shifted::<L, T, SCALED>(l, v, scale_v, shift_v);
    }
}

/// Welford over the vectors of `x` that `tree` describes (`x` holds at least that many), per
/// lane in `f32`; the accumulators are then merged with Chan's formula, with the weights
/// `tree` has for these counts, into one state per lane: the lane means and the lane M2s
/// (every lane's count is `tree.count`).
#[inline(always)]
fn welford_lanes<L: Lanes, T: Element, const SCALED: bool>(
    l: L,
    x: &[T],
    tree: &ChanTree,
    scale_v: F<L>,
    shift_v: F<L>,
) -> (F<L>, F<L>) {
    let (steps, extra) = (tree.steps, tree.extra);
    let s = l.simd();
    let n = L::N;
    let acc = L::WELFORD_ACC;
    let zero = s.splat_f32s(0.0);
    let mut mean = [zero; MAX_ACC];
    let mut m2 = [zero; MAX_ACC];
    // Exact chunks, so that no load below needs a bounds check.
    let (groups, rest) = x[..(steps * acc + extra) * n].split_at(steps * acc * n);
    let mut groups = groups.chunks_exact(n * acc);
    if let Some(grp) = groups.next() {
        let vs = group::<L, T, SCALED>(l, grp, scale_v);
        for j in 0..acc {
            mean[j] = s.sub_f32s(vs[j], shift_v);
        }
    }
    for (grp, &recip) in groups.zip(&RECIP[1..]) {
        let rk = s.splat_f32s(recip);
        let vs = group::<L, T, SCALED>(l, grp, scale_v);
        for j in 0..acc {
            let v = s.sub_f32s(vs[j], shift_v);
            let d = s.sub_f32s(v, mean[j]);
            mean[j] = l.fma(d, rk, mean[j]);
            m2[j] = l.fma(d, s.sub_f32s(v, mean[j]), m2[j]);
        }
    }
    if extra > 0 && steps == 0 {
        first_step::<L, T, SCALED>(l, rest, &mut mean[..extra], scale_v, shift_v);
    } else if extra > 0 {
        let rk = s.splat_f32s(RECIP[steps]);
        for ((v, mj), qj) in rest.chunks_exact(n).zip(&mut mean).zip(&mut m2) {
            let v = shifted::<L, T, SCALED>(l, v, scale_v, shift_v);
            let d = s.sub_f32s(v, *mj);
            *mj = l.fma(d, rk, *mj);
            *qj = l.fma(d, s.sub_f32s(v, *mj), *qj);
        }
    }

    chan_tree(l, &mut mean, &mut m2, tree)
}

/// The accumulators' states merged pairwise with Chan's formula, all lanes at once (every
/// lane of one accumulator has the same count; `tree`, the weights of these counts, says
/// which merges are empty).
#[inline(always)]
fn chan_tree<L: Lanes>(
    l: L,
    mean: &mut [F<L>; MAX_ACC],
    m2: &mut [F<L>; MAX_ACC],
    tree: &ChanTree,
) -> (F<L>, F<L>) {
    let (pairs, k) = chan_pairs::<L>();
    for (&(a, b), &w) in pairs[..k].iter().zip(&tree.w) {
        (mean[a], m2[a]) = chan(l, (mean[a], m2[a]), (mean[b], m2[b]), w);
    }
    (mean[0], m2[0])
}

/// [`welford_lanes`] for a block after a row's first, by plain sums (blocked Welford,
/// DESIGN.md): per accumulator and lane, the sums of `t = v - c` and of `t * t`, where `c` is
/// the lane's running mean over the row's earlier blocks (`base`, in the values'
/// coordinates; `base_shifted` is `base - shift`). A subtraction, an add and a multiply-add
/// per vector, where a Welford step takes four operations after the shift
/// (docs/performance-log.md).
///
/// The sums give each accumulator's state, `mean = base_shifted + s1 / n` and
/// `M2 = s2 - s1 * s1 / n`. That subtraction cancels as much as `s2` exceeds `M2`, by
/// `n (mean_b - c)^2` for the block's lane mean `mean_b`. The shift is the mean of the at
/// least as many values before the block, so that excess is at most twice the M2 of the lane's
/// values up to here (Chan's merge of the two adds `n (mean_b - c)^2 / 2` or more to it): the
/// rounding error stays of the order of Welford's, relative to the row's M2, whatever the
/// row's mean is compared with its spread. (Each lane's own first value as the shift, which
/// needs no earlier block, loses up to the block's count in precision when that value is an
/// outlier of the row; the suite's rows with one huge element fail the contract that way.)
#[inline(always)]
fn sums_lanes<L: Lanes, T: Element, const SCALED: bool>(
    l: L,
    x: &[T],
    tree: &ChanTree,
    scale_v: F<L>,
    base: F<L>,
    base_shifted: F<L>,
) -> (F<L>, F<L>) {
    let (steps, extra) = (tree.steps, tree.extra);
    let s = l.simd();
    let n = L::N;
    let acc = L::WELFORD_ACC;
    let zero = s.splat_f32s(0.0);
    let mut s1 = [zero; MAX_ACC];
    let mut s2 = [zero; MAX_ACC];
    // Exact chunks, so that no load below needs a bounds check.
    let (groups, rest) = x[..(steps * acc + extra) * n].split_at(steps * acc * n);
    for grp in groups.chunks_exact(n * acc) {
        let vs = group::<L, T, SCALED>(l, grp, scale_v);
        for j in 0..acc {
            (s1[j], s2[j]) = sums_step(l, vs[j], base, s1[j], s2[j]);
        }
    }
    for (j, v) in rest.chunks_exact(n).enumerate() {
        let v = scaled::<L, T, SCALED>(l, v, scale_v);
        (s1[j], s2[j]) = sums_step(l, v, base, s1[j], s2[j]);
    }
    // The states (an accumulator with no values gets `base_shifted` and 0, which its empty
    // merge weights then ignore: `INV[0]` is 0). M2 in one rounding (a multiply-add), and
    // never below 0 (a single value's `t * t` minus its own square rounded).
    let mut mean = [zero; MAX_ACC];
    let mut m2 = [zero; MAX_ACC];
    for j in 0..acc {
        let count = steps + usize::from(j < extra);
        let d = s.mul_f32s(s1[j], s.splat_f32s(-INV[count]));
        mean[j] = s.sub_f32s(base_shifted, d);
        m2[j] = s.max_f32s(l.fma(s1[j], d, s2[j]), zero);
    }
    chan_tree(l, &mut mean, &mut m2, tree)
}

/// One step of a lane's plain sums: `t = v - c` added to `s1`, `t * t` to `s2`.
#[inline(always)]
fn sums_step<L: Lanes>(l: L, v: F<L>, c: F<L>, s1: F<L>, s2: F<L>) -> (F<L>, F<L>) {
    let s = l.simd();
    let t = s.sub_f32s(v, c);
    (s.add_f32s(s1, t), l.fma(t, t, s2))
}

/// Reads one full vector of `x`, multiplied by `scale` when `SCALED`.
#[inline(always)]
fn scaled<L: Lanes, T: Element, const SCALED: bool>(l: L, x: &[T], scale: F<L>) -> F<L> {
    let v = load(l, x);
    if SCALED {
        l.simd().mul_f32s(v, scale)
    } else {
        v
    }
}

/// The `WELFORD_ACC` vectors of a group (`grp`, `WELFORD_ACC * N` elements) as [`scaled`]
/// reads them; bf16 two at a time in the path's split order ([`Lanes::load_bf16_split`]:
/// on x86-64 a shift and a mask per two vectors, where memory order takes a shuffle per
/// vector). Each accumulator still takes `N` of the group's elements, the same count; which
/// ones does not matter to its statistics.
#[inline(always)]
fn group<L: Lanes, T: Element, const SCALED: bool>(
    l: L,
    grp: &[T],
    scale: F<L>,
) -> [F<L>; MAX_ACC] {
    let s = l.simd();
    let n = L::N;
    let acc = L::WELFORD_ACC;
    let mut v = [s.splat_f32s(0.0); MAX_ACC];
    if acc.is_multiple_of(2)
        && let SliceRef::Bf16(x) = T::tag(grp)
    {
        for k in 0..acc / 2 {
            let (a, b) = l.load_bf16_split(&x[2 * k * n..2 * k * n + 2 * n]);
            (v[2 * k], v[2 * k + 1]) = if SCALED {
                (s.mul_f32s(a, scale), s.mul_f32s(b, scale))
            } else {
                (a, b)
            };
        }
    } else {
        for (j, v) in v.iter_mut().enumerate().take(acc) {
            *v = scaled::<L, T, SCALED>(l, &grp[j * n..j * n + n], scale);
        }
    }
    v
}

/// The lanes of a block's state merged (Chan's formula for equal counts `c`: the mean is the
/// average of the lane means, M2 the sum of the lane M2s plus `c` times the sum of the squared
/// deviations of the lane means from the mean).
#[inline(always)]
fn lane_merge<L: Lanes>(l: L, mv: F<L>, qv: F<L>, c: f32) -> Welford {
    if c == 0.0 {
        return Welford::EMPTY;
    }
    let s = l.simd();
    let n = L::N as f32;
    let lane_mean = l.hsum(mv) / n;
    let dev = s.sub_f32s(mv, s.splat_f32s(lane_mean));
    let spread = l.hsum(s.mul_f32s(dev, dev));
    lane_state(c, lane_mean, spread, l.hsum(qv), L::N)
}

/// The merged state from the three horizontal sums of [`lane_merge`].
#[inline(always)]
fn lane_state(c: f32, lane_mean: f32, spread: f32, m2: f32, n: usize) -> Welford {
    Welford {
        count: c as f64 * n as f64,
        mean: lane_mean as f64,
        m2: m2 as f64 + c as f64 * spread as f64,
    }
}

/// [`lane_merge`] of the states of up to `N` rows at once (all with the count `c`): entry `r`
/// has the bits `lane_merge(mv[r], qv[r], c)` gives (the same operations, lane `r` of vectors
/// instead of scalars; [`Lanes::hsum_rows`] adds in `hsum`'s order).
#[inline(always)]
fn lane_merge_rows<L: Lanes>(
    l: L,
    mv: &[F<L>; MAX_LANES],
    qv: &[F<L>; MAX_LANES],
    c: f32,
) -> [Welford; MAX_LANES] {
    if c == 0.0 {
        return [Welford::EMPTY; MAX_LANES];
    }
    let s = l.simd();
    let n = L::N;
    let mut lane_mean = [0.0f32; MAX_LANES];
    l.store_f32::<false>(
        &mut lane_mean,
        s.div_f32s(l.hsum_rows(mv), s.splat_f32s(n as f32)),
    );
    let zero = s.splat_f32s(0.0);
    let mut sq = [zero; MAX_LANES];
    for r in 0..n {
        let dev = s.sub_f32s(mv[r], s.splat_f32s(lane_mean[r]));
        sq[r] = s.mul_f32s(dev, dev);
    }
    let (mut spread, mut m2) = ([0.0f32; MAX_LANES], [0.0f32; MAX_LANES]);
    l.store_f32::<false>(&mut spread, l.hsum_rows(&sq));
    l.store_f32::<false>(&mut m2, l.hsum_rows(qv));
    let mut w = [Welford::EMPTY; MAX_LANES];
    for (r, w) in w.iter_mut().enumerate() {
        *w = lane_state(c, lane_mean[r], spread[r], m2[r], n);
    }
    w
}

/// [`welford_lanes`] and [`lane_merge`]: the state of one block.
#[inline(always)]
fn welford_block<L: Lanes, T: Element, const SCALED: bool>(
    l: L,
    x: &[T],
    steps: usize,
    extra: usize,
    scale_v: F<L>,
    shift_v: F<L>,
) -> Welford {
    let tree = ChanTree::new::<L>(steps, extra);
    let (mv, qv) = welford_lanes::<L, T, SCALED>(l, x, &tree, scale_v, shift_v);
    lane_merge(l, mv, qv, tree.count)
}

/// Whether the statistics of a row of `width` elements are a single block on the path `L`
/// (plus a tail of fewer than `N` elements): such rows can be reduced `N` rows at a time, by
/// [`welford_rows`].
#[inline(always)]
pub(crate) fn one_block<L: Lanes>(width: usize) -> bool {
    width < L::N * L::WELFORD_ACC * WELFORD_STEPS
}

/// Welford's steps in `f64` over the tail (fewer than `N` elements) of a row: a zero-padded
/// vector would add zeros to the counts.
#[inline(always)]
fn tail_state<T: Element, const SCALED: bool>(tail: &[T], scale: f32, shift: f32) -> Welford {
    let mut w = Welford::EMPTY;
    for &e in tail {
        let v = e.to_f32();
        let v = if SCALED { v * scale } else { v };
        w.push((v - shift) as f64);
    }
    w
}

/// Per-lane `f64` Welford states with one count for every lane: the running statistics of a
/// row of several blocks, held in `f64` vectors (lanes `0..N/2` and `N/2..N` of the `f32`
/// lanes). A block's lane states are merged in lane by lane (Chan, vertical operations only);
/// the lanes are merged with each other once, at the end of the row ([`LaneStates::total`]).
/// Merging each block's lanes horizontally instead put three horizontal sums and a scalar
/// merge after every block, a chain the next block's work did not hide; and the same vertical
/// merge written on arrays of `f64` compiled to lane-by-lane code with spills
/// (docs/performance-log.md).
struct LaneStates<L: Lanes> {
    count: f64,
    mean: [D<L>; 2],
    m2: [D<L>; 2],
}

impl<L: Lanes> LaneStates<L> {
    /// No values yet. Merging a block into it gives the block's lane states exactly (weights
    /// 1 and 0).
    #[inline(always)]
    fn empty(l: L) -> LaneStates<L> {
        let zero = l.simd().splat_f64s(0.0);
        LaneStates {
            count: 0.0,
            mean: [zero; 2],
            m2: [zero; 2],
        }
    }

    /// Chan's merge of the block states `mv`, `qv` (`c > 0` values in every lane) into these,
    /// lane by lane, as [`Welford::merge`] does it.
    #[inline(always)]
    fn merge(&mut self, l: L, mv: F<L>, qv: F<L>, c: f32) {
        let s = l.simd();
        let cb = c as f64;
        let count = self.count + cb;
        let wm = s.splat_f64s(cb / count);
        let wq = s.splat_f64s(self.count * cb / count);
        let (m, q) = (l.widen(mv), l.widen(qv));
        for h in 0..2 {
            let d = s.sub_f64s(m[h], self.mean[h]);
            self.mean[h] = s.add_f64s(self.mean[h], s.mul_f64s(d, wm));
            let dq = s.mul_f64s(s.mul_f64s(d, d), wq);
            self.m2[h] = s.add_f64s(s.add_f64s(self.m2[h], q[h]), dq);
        }
        self.count = count;
    }

    /// The shift of the next block's plain sums ([`sums_lanes`]): each lane's running mean
    /// (of the values minus `shift`) plus `shift`, in `f32`, and that shift minus `shift`
    /// (rounded once from the exact difference, in `f64`). In vector registers, with the
    /// bits the same operations give lane by lane in scalar code, which went through arrays
    /// (pulp's partial stores of the `f64` lanes, a scalar loop, two loads) once a block.
    #[inline(always)]
    fn next_shift(&self, l: L, shift: f32) -> (F<L>, F<L>) {
        let s = l.simd();
        let k = s.splat_f64s(shift as f64);
        let [m0, m1] = self.mean;
        let base = l.narrow([s.add_f64s(k, m0), s.add_f64s(k, m1)]);
        let [b0, b1] = l.widen(base);
        (base, l.narrow([s.sub_f64s(b0, k), s.sub_f64s(b1, k)]))
    }

    /// The lanes merged (equal counts: the mean of the lane means; the lane M2s plus the
    /// count times the squared deviations of the lane means from that mean), by vector
    /// operations and pulp's horizontal sums: three short trees where sums over an array took
    /// three chains of `N` scalar additions.
    #[inline(always)]
    fn total(&self, l: L) -> Welford {
        let s = l.simd();
        let n = L::N as f64;
        let [m0, m1] = self.mean;
        let mean = s.reduce_sum_f64s(s.add_f64s(m0, m1)) / n;
        let c = s.splat_f64s(mean);
        let (d0, d1) = (s.sub_f64s(m0, c), s.sub_f64s(m1, c));
        let spread = s.reduce_sum_f64s(s.add_f64s(s.mul_f64s(d0, d0), s.mul_f64s(d1, d1)));
        let m2 = s.reduce_sum_f64s(s.add_f64s(self.m2[0], self.m2[1]));
        Welford {
            count: self.count * n,
            mean,
            m2: m2 + self.count * spread,
        }
    }
}

/// Welford statistics of `x[i] * scale - shift` (`scale` applies only when `SCALED`).
///
/// A row of one block ([`one_block`]) is reduced as [`welford_rows`] reduces it (its lanes
/// merged in `f32`, then its tail); a longer row keeps per-lane `f64` states across its blocks
/// ([`LaneStates`]). Either way a row's bits depend only on its values and its width.
#[inline(always)]
pub(crate) fn welford<L: Lanes, T: Element, const SCALED: bool>(
    l: L,
    x: &[T],
    scale: f32,
    shift: f32,
) -> Welford {
    let s = l.simd();
    let n = L::N;
    let acc = L::WELFORD_ACC;
    debug_assert!(acc <= MAX_ACC);
    let scale_v = s.splat_f32s(scale);
    let shift_v = s.splat_f32s(shift);

    let mut blocks = x.chunks_exact(n * acc * WELFORD_STEPS);
    let rest = blocks.remainder();
    let vectors = rest.len() / n;
    let tail = tail_state::<T, SCALED>(&rest[vectors * n..], scale, shift);
    let Some(first) = blocks.next() else {
        let w =
            welford_block::<L, T, SCALED>(l, rest, vectors / acc, vectors % acc, scale_v, shift_v);
        return w.merge(tail);
    };
    // The first block by Welford's steps; the blocks after it by plain sums shifted by the
    // lanes' running means ([`sums_lanes`]). Each sweep has a frame of its own in unoptimized
    // builds ([`outline`]: their locals together overflowed the suite's 256 KiB stack under
    // AddressSanitizer) and is inlined otherwise.
    let full = ChanTree::new::<L>(WELFORD_STEPS, 0);
    let mut lanes = LaneStates::empty(l);
    let (mv, qv) = outline(
        l,
        #[inline(always)]
        || welford_lanes::<L, T, SCALED>(l, first, &full, scale_v, shift_v),
    );
    lanes.merge(l, mv, qv, full.count);
    for b in blocks {
        let (base, based) = lanes.next_shift(l, shift);
        let (mv, qv) = outline(
            l,
            #[inline(always)]
            || sums_lanes::<L, T, SCALED>(l, b, &full, scale_v, base, based),
        );
        lanes.merge(l, mv, qv, full.count);
    }
    if vectors > 0 {
        let tree = ChanTree::new::<L>(vectors / acc, vectors % acc);
        let (base, based) = lanes.next_shift(l, shift);
        let (mv, qv) = outline(
            l,
            #[inline(always)]
            || sums_lanes::<L, T, SCALED>(l, rest, &tree, scale_v, base, based),
        );
        lanes.merge(l, mv, qv, tree.count);
    }
    lanes.total(l).merge(tail)
}

/// [`welford`] (unscaled) of up to `N` rows of one width for which [`one_block`] holds, the
/// lanes of all of them merged at once: entry `r < rows.len()` has the bits
/// `welford(rows[r], 1.0, shift[r])` gives.
#[inline(always)]
pub(crate) fn welford_rows<L: Lanes, T: Element>(
    l: L,
    rows: &[&[T]],
    shift: &[f32; MAX_LANES],
) -> [Welford; MAX_LANES] {
    let n = L::N;
    debug_assert!(rows.len() <= n && one_block::<L>(rows[0].len()));
    // Short rows of whole vectors only with that length a constant (`short::by_width`).
    let (mv, qv, count) = short::by_width::<L, _, true>(
        l,
        rows[0].len(),
        #[inline(always)]
        |w| lanes_of_rows(l, rows, shift, w),
    );
    let vectors = rows[0].len() / n;
    let mut w = lane_merge_rows(l, &mv, &qv, count);
    // Rows of whole vectors have no tail, and for them the merge below returns the lanes'
    // state as it is: skipped, the tails' states and merges (and a merge into the empty state,
    // which returned its argument and is gone since) were 33 of the 519 instructions a
    // 128-wide `f32` LayerNorm row took on AVX2 (`valgrind --tool=callgrind`, forty-third
    // session).
    if vectors * n == rows[0].len() {
        return w;
    }
    for (r, x) in rows.iter().enumerate() {
        // As `welford`: the (only) block's state, then the tail merged into it.
        w[r] = w[r].merge(tail_state::<T, false>(&x[vectors * n..], 1.0, shift[r]));
    }
    w
}

/// The lane states of [`welford_rows`]' rows (`width` elements each, their length) and
/// their count.
#[inline(always)]
#[allow(clippy::type_complexity)]
fn lanes_of_rows<L: Lanes, T: Element>(
    l: L,
    rows: &[&[T]],
    shift: &[f32; MAX_LANES],
    width: usize,
) -> ([F<L>; MAX_LANES], [F<L>; MAX_LANES], f32) {
    let s = l.simd();
    let vectors = width / L::N;
    let acc = L::WELFORD_ACC;
    let one = s.splat_f32s(1.0);
    let zero = s.splat_f32s(0.0);
    // The merge weights once for all the rows: they share the counts.
    let tree = ChanTree::new::<L>(vectors / acc, vectors % acc);
    let (mut mv, mut qv) = ([zero; MAX_LANES], [zero; MAX_LANES]);
    for (r, x) in rows.iter().enumerate() {
        let k = s.splat_f32s(shift[r]);
        (mv[r], qv[r]) = welford_lanes::<L, T, false>(l, &x[..width], &tree, one, k);
    }
    (mv, qv, tree.count)
}

/// `sum + v * v` for the vector `v` at the start of `x` (times `scale` when `SCALED`).
#[inline(always)]
fn square_add<L: Lanes, T: Element, const SCALED: bool>(
    l: L,
    sum: F<L>,
    x: &[T],
    scale_v: F<L>,
) -> F<L> {
    let v = load(l, x);
    let v = if SCALED {
        l.simd().mul_f32s(v, scale_v)
    } else {
        v
    };
    l.fma(v, v, sum)
}

/// The squares of `steps` groups of `WELFORD_ACC` steps, then `extra` single steps, then the
/// shorter `tail`, in `f32`, per lane (the accumulators added by [`pairwise`]). A step is
/// `step` elements, whose squares `add(sum, chunk)` adds into an accumulator; `add_tail` adds
/// those of the tail.
#[inline(always)]
fn sum_sq_lanes<L: Lanes, T: Element>(
    l: L,
    x: &[T],
    step: usize,
    (steps, extra): (usize, usize),
    tail: &[T],
    add: impl Fn(F<L>, &[T]) -> F<L>,
    add_tail: impl Fn(F<L>, &[T]) -> F<L>,
) -> F<L> {
    let acc = L::WELFORD_ACC;
    let mut sums = [l.simd().splat_f32s(0.0); MAX_ACC];
    // Exact chunks, so that no load below needs a bounds check.
    let (groups, rest) = x[..(steps * acc + extra) * step].split_at(steps * acc * step);
    for grp in groups.chunks_exact(step * acc) {
        for (j, sum) in sums.iter_mut().enumerate().take(acc) {
            *sum = add(*sum, &grp[j * step..j * step + step]);
        }
    }
    for (v, sum) in rest.chunks_exact(step).zip(sums.iter_mut()) {
        *sum = add(*sum, v);
    }
    if !tail.is_empty() {
        sums[acc - 1] = add_tail(sums[acc - 1], tail);
    }
    pairwise(l, &mut sums, acc)
}

/// The sum of squares of `x` in blocks of `WELFORD_ACC` x `BLOCK_STEPS` steps of `step`
/// elements ([`sum_sq_lanes`]), each block's total added in `f64`.
#[inline(always)]
fn blocked_sum_sq<L: Lanes, T: Element>(
    l: L,
    x: &[T],
    step: usize,
    add: impl Fn(F<L>, &[T]) -> F<L>,
    add_tail: impl Fn(F<L>, &[T]) -> F<L>,
) -> f64 {
    let acc = L::WELFORD_ACC;
    let mut total = 0.0f64;
    let mut blocks = x.chunks_exact(step * acc * BLOCK_STEPS);
    for b in &mut blocks {
        total += l.hsum(sum_sq_lanes(
            l,
            b,
            step,
            (BLOCK_STEPS, 0),
            &[],
            &add,
            &add_tail,
        )) as f64;
    }
    let rest = blocks.remainder();
    let steps = rest.len() / step;
    let tail = &rest[steps * step..];
    let last = sum_sq_lanes(
        l,
        rest,
        step,
        (steps / acc, steps % acc),
        tail,
        add,
        add_tail,
    );
    total + l.hsum(last) as f64
}

/// The sum of the first `width` vectors of `a`, pairwise: `a[j] + a[j + half]` for each
/// `j < half`, and `a[0] + a[width - 1]` when `width` is odd, halving `width` down to one.
/// (With `width` a constant, as every caller has it, the loop unrolls and `a` stays in
/// registers.)
#[inline(always)]
pub(crate) fn pairwise<L: Lanes, const K: usize>(l: L, a: &mut [F<L>; K], width: usize) -> F<L> {
    let s = l.simd();
    let mut width = width;
    while width > 1 {
        let half = width / 2;
        for j in 0..half {
            a[j] = s.add_f32s(a[j], a[j + half]);
        }
        if width % 2 == 1 {
            a[0] = s.add_f32s(a[0], a[width - 1]);
        }
        width = half;
    }
    a[0]
}

/// Below this times the row's width, a sum of squares taken by [`Lanes::square_add_bf16`] on
/// a path that flushes ([`Lanes::BF16_DOT`]) is reported as zero, so that the row takes the
/// rescaled path: the flushes lose at most 2^-125 per element, so above it at most a relative
/// 2^-40 of the sum. (The fast path's own threshold, 2^-100 for the whole row, does not bound
/// that loss: 4096 squares just below 2^-126 are a relative 2^-14 of a sum of 2^-100.)
const DOT_TINY_PER_ELEMENT: f64 = 2.584_939_414_228_211e-26; // 2^-85

/// `ss`, a sum of squares of `width` elements of `T` on the path `L`: as it is, or, where
/// [`Lanes::square_add_bf16`] flushed (bf16 on a path with [`Lanes::BF16_DOT`]), zero when the
/// flushes may have cut it ([`DOT_TINY_PER_ELEMENT`]; zero is outside the fast path's range,
/// so the row takes the rescaled path).
#[inline(always)]
pub(super) fn dot_checked<L: Lanes, T: Element>(ss: f64, width: usize) -> f64 {
    if L::BF16_DOT && T::ID == bf16::ID && ss < width as f64 * DOT_TINY_PER_ELEMENT {
        0.0
    } else {
        ss
    }
}

/// Sum of `(x[i] * scale)^2` (`scale` applies only when `SCALED`). On a path with
/// [`Lanes::BF16_DOT`], bf16 rows unscaled take steps of `2 N` elements by its dot products
/// (zero where their flushes may have cut the sum, [`dot_checked`]; the fast path sends such
/// rows to the rescaled one, which scales and so takes the multiply-adds).
#[inline(always)]
pub(crate) fn sum_sq<L: Lanes, T: Element, const SCALED: bool>(l: L, x: &[T], scale: f32) -> f64 {
    if L::BF16_DOT
        && !SCALED
        && let SliceRef::Bf16(x) = T::tag(x)
    {
        let ss = blocked_sum_sq(
            l,
            x,
            2 * L::N,
            #[inline(always)]
            |sum, v| l.square_add_bf16(sum, v),
            #[inline(always)]
            |sum, tail| l.square_add_bf16_partial(sum, tail),
        );
        return dot_checked::<L, T>(ss, x.len());
    }
    let s = l.simd();
    let scale_v = s.splat_f32s(scale);
    blocked_sum_sq(
        l,
        x,
        L::N,
        #[inline(always)]
        |sum, v| square_add::<L, T, SCALED>(l, sum, v, scale_v),
        #[inline(always)]
        |sum, tail| {
            // Zero padding adds nothing to a sum of squares.
            let v = load_partial(l, tail);
            let v = if SCALED { s.mul_f32s(v, scale_v) } else { v };
            l.fma(v, v, sum)
        },
    )
}
