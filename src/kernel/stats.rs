//! Statistics sweeps: lane-wise Welford merged with Chan's formula (LayerNorm), and the sum of
//! squares (RMSNorm). Written once, generic over [`Lanes`].

use pulp::Simd;

use super::lanes::{F, Lanes, load, load_partial};
use crate::element::Element;

/// How many `WELFORD_ACC` slots the arrays below reserve (the largest any path uses).
const MAX_ACC: usize = 8;

/// A partial Welford state: `count` values with mean `mean` and sum of squared deviations `m2`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Welford {
    pub count: f64,
    pub mean: f32,
    pub m2: f32,
}

impl Welford {
    pub const EMPTY: Welford = Welford {
        count: 0.0,
        mean: 0.0,
        m2: 0.0,
    };

    /// One Welford step (Welford 1962; NORMS.md).
    #[inline(always)]
    pub fn push(&mut self, x: f32) {
        self.count += 1.0;
        let d = x - self.mean;
        self.mean += d / self.count as f32;
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
            mean: self.mean + d * (b.count / count) as f32,
            m2: self.m2 + b.m2 + d * d * (self.count * b.count / count) as f32,
        }
    }
}

/// Reads one full vector of `x` starting at `i`, optionally multiplied by `scale`, minus `shift`.
#[inline(always)]
fn shifted<L: Lanes, T: Element, const SCALED: bool>(
    l: L,
    x: &[T],
    scale: F<L>,
    shift: F<L>,
) -> F<L> {
    let s = l.simd();
    let v = load(l, x);
    let v = if SCALED { s.mul_f32s(v, scale) } else { v };
    s.sub_f32s(v, shift)
}

/// Welford statistics of `x[i] * scale - shift` (`scale` applies only when `SCALED`).
///
/// Each of `L::WELFORD_ACC` vector accumulators runs Welford per lane over every
/// `WELFORD_ACC`-th vector (independent dependency chains hide the FMA latency); accumulators
/// are merged with Chan's formula vector-wise, then the lanes (equal counts) are merged, then
/// the scalar tail is merged in.
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
    let zero = s.splat_f32s(0.0);
    let mut mean = [zero; MAX_ACC];
    let mut m2 = [zero; MAX_ACC];

    let mut groups = x.chunks_exact(n * acc);
    let mut k = 0.0f32;
    for g in &mut groups {
        k += 1.0;
        let rk = s.splat_f32s(1.0 / k);
        for j in 0..acc {
            let v = shifted::<L, T, SCALED>(l, &g[j * n..], scale_v, shift_v);
            let d = s.sub_f32s(v, mean[j]);
            mean[j] = l.fma(d, rk, mean[j]);
            m2[j] = l.fma(d, s.sub_f32s(v, mean[j]), m2[j]);
        }
    }
    // Fewer than `acc` full vectors remain: they go one each to the first accumulators.
    let rest = groups.remainder();
    let extra = rest.len() / n;
    let rk = s.splat_f32s(1.0 / (k + 1.0));
    for j in 0..extra {
        let v = shifted::<L, T, SCALED>(l, &rest[j * n..], scale_v, shift_v);
        let d = s.sub_f32s(v, mean[j]);
        mean[j] = l.fma(d, rk, mean[j]);
        m2[j] = l.fma(d, s.sub_f32s(v, mean[j]), m2[j]);
    }

    // Chan-merge the accumulators, all lanes at once (every lane of one accumulator has the
    // same count).
    let count_of = |j: usize| if j < extra { k + 1.0 } else { k } as f64;
    let mut c = count_of(0);
    let (mut mv, mut qv) = (mean[0], m2[0]);
    for j in 1..acc {
        let cb = count_of(j);
        if cb == 0.0 {
            break;
        }
        let total = c + cb;
        let d = s.sub_f32s(mean[j], mv);
        mv = l.fma(d, s.splat_f32s((cb / total) as f32), mv);
        let dd = s.mul_f32s(d, d);
        qv = l.fma(
            dd,
            s.splat_f32s((c * cb / total) as f32),
            s.add_f32s(qv, m2[j]),
        );
        c = total;
    }

    // Merge the lanes: equal counts c, so mean = average of lane means and
    // M2 = sum of lane M2 + c * sum (lane mean - mean)^2 (Chan's formula, generalized).
    let mut state = Welford::EMPTY;
    if c > 0.0 {
        let lane_mean = s.reduce_sum_f32s(mv) / n as f32;
        let dev = s.sub_f32s(mv, s.splat_f32s(lane_mean));
        let spread = s.reduce_sum_f32s(s.mul_f32s(dev, dev));
        state = Welford {
            count: c * n as f64,
            mean: lane_mean,
            m2: s.reduce_sum_f32s(qv) + (c as f32) * spread,
        };
    }

    // The tail (fewer than n elements) in scalar Welford: a zero-padded vector load would add
    // zeros to the counts.
    let mut tail = Welford::EMPTY;
    for &e in &rest[extra * n..] {
        let v = e.to_f32();
        let v = if SCALED { v * scale } else { v };
        tail.push(v - shift);
    }
    state.merge(tail)
}

/// Sum of `(x[i] * scale)^2` (`scale` applies only when `SCALED`), in `L::WELFORD_ACC`
/// independent accumulators.
#[inline(always)]
pub(crate) fn sum_sq<L: Lanes, T: Element, const SCALED: bool>(l: L, x: &[T], scale: f32) -> f32 {
    let s = l.simd();
    let n = L::N;
    let acc = L::WELFORD_ACC;
    let scale_v = s.splat_f32s(scale);
    let zero = s.splat_f32s(0.0);
    let mut sums = [zero; MAX_ACC];
    let mut groups = x.chunks_exact(n * acc);
    for g in &mut groups {
        for j in 0..acc {
            let v = load(l, &g[j * n..]);
            let v = if SCALED { s.mul_f32s(v, scale_v) } else { v };
            sums[j] = l.fma(v, v, sums[j]);
        }
    }
    let mut chunks = groups.remainder().chunks_exact(n);
    for (j, c) in (&mut chunks).enumerate() {
        let v = load(l, c);
        let v = if SCALED { s.mul_f32s(v, scale_v) } else { v };
        sums[j] = l.fma(v, v, sums[j]);
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        // Zero padding adds nothing to a sum of squares.
        let v = load_partial(l, tail);
        let v = if SCALED { s.mul_f32s(v, scale_v) } else { v };
        sums[acc - 1] = l.fma(v, v, sums[acc - 1]);
    }
    let mut total = sums[0];
    for sj in sums.iter().take(acc).skip(1) {
        total = s.add_f32s(total, *sj);
    }
    s.reduce_sum_f32s(total)
}
