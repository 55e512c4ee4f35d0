//! The vector abstraction the generic kernels are written against: pulp's [`Simd`] for the
//! arithmetic, plus what pulp does not have (a fused multiply-add that is never a libm call,
//! and `f16`/`bf16` loads and stores that convert in registers).

use half::slice::HalfFloatSliceExt;
use half::{bf16, f16};
use pulp::Simd;

use crate::element::{Element, SliceMut, SliceRef};

/// The `f32` vector type of a [`Lanes`] implementation.
pub(crate) type F<L> = <<L as Lanes>::S as Simd>::f32s;

/// The `f64` vector type of a [`Lanes`] implementation (`N / 2` lanes).
pub(crate) type D<L> = <<L as Lanes>::S as Simd>::f64s;

/// One instruction-set path. Implementations live in `crate::arch` and are zero-sized tokens
/// whose existence proves that the CPU has the features they use.
///
/// Every load takes a slice of at least [`Lanes::N`] elements and reads the first `N`; every
/// store writes the first `N` elements of a slice at least that long. Both panic on a shorter
/// slice (the kernels never pass one: they only slice full vectors).
pub(crate) trait Lanes: Copy + Send + Sync + 'static {
    /// pulp's arithmetic for this path.
    type S: Simd;
    /// `f32` lanes per vector.
    const N: usize;
    /// Independent Welford accumulators the LayerNorm statistics sweep keeps in flight.
    const WELFORD_ACC: usize = 4;
    /// Whether optimized builds compile the LayerNorm statistics of batches of rows of
    /// [`HEAD_WIDTH`](super::short::HEAD_WIDTH) elements apart, with that width a constant
    /// ([`by_width`](super::short::by_width)), where it is not already the whole-vector width
    /// they compile apart: on AVX2 (16 vectors; on AVX-512 it is that width). Not on the
    /// portable path (a fallback, compiled into every build) nor on NEON (not measured).
    #[cfg_attr(debug_assertions, allow(dead_code))] // unused where `by_width` compiles no copies
    const HEAD_APART: bool = false;

    fn simd(self) -> Self::S;
    /// Runs `f` inside this path's `#[target_feature]` context (so that everything `f` inlines
    /// is compiled for these features).
    fn vectorize<Op: pulp::NullaryFnOnce>(self, op: Op) -> Op::Output;
    /// Runs `op` in a stack frame of its own, still in this path's `#[target_feature]`
    /// context: a new entry into the context for the SIMD paths (pulp's `vectorize` is a
    /// call that only an optimizing build inlines). Used through [`outline`](super::outline).
    #[cfg(debug_assertions)]
    #[inline(always)]
    fn own_frame<Op: pulp::NullaryFnOnce>(self, op: Op) -> Op::Output {
        self.vectorize(op)
    }

    /// `a * b + c`, fused where the hardware fuses.
    fn fma(self, a: F<Self>, b: F<Self>, c: F<Self>) -> F<Self>;

    /// The lanes of `v` as `f64`, exactly: lanes `0..N/2` in the first vector, `N/2..N` in the
    /// second. (The portable default goes through arrays; the SIMD paths convert in
    /// registers.)
    #[inline(always)]
    fn widen(self, v: F<Self>) -> [D<Self>; 2] {
        let s = self.simd();
        let h = Self::N / 2;
        let mut a = [0.0f32; MAX_LANES];
        self.store_f32::<false>(&mut a, v);
        let mut w = [0.0f64; MAX_LANES];
        for (w, &a) in w.iter_mut().zip(&a[..Self::N]) {
            *w = a as f64;
        }
        [
            s.partial_load_f64s(&w[..h]),
            s.partial_load_f64s(&w[h..2 * h]),
        ]
    }

    /// The inverse layout of [`Lanes::widen`]: lanes `0..N/2` from the first vector, `N/2..N`
    /// from the second, each rounded to `f32` as `as f32` rounds (to nearest, ties to even).
    /// (The portable default goes through arrays; the SIMD paths convert in registers.)
    #[inline(always)]
    fn narrow(self, v: [D<Self>; 2]) -> F<Self> {
        let w = f64_lanes(self, v);
        let mut a = [0.0f32; MAX_LANES];
        for (a, &w) in a.iter_mut().zip(&w[..Self::N]) {
            *a = w as f32;
        }
        self.load_f32(&a)
    }

    fn load_f32(self, s: &[f32]) -> F<Self>;
    fn load_f16(self, s: &[f16]) -> F<Self>;
    fn load_bf16(self, s: &[bf16]) -> F<Self>;
    /// Stores; with `NT`, a non-temporal (streaming) store where the path has one, which needs
    /// `d` aligned to the size of the stored vector (`N` elements) and panics otherwise.
    fn store_f32<const NT: bool>(self, d: &mut [f32], v: F<Self>);
    fn store_f16<const NT: bool>(self, d: &mut [f16], v: F<Self>);
    fn store_bf16<const NT: bool>(self, d: &mut [bf16], v: F<Self>);
    /// Whether bf16 output is stored faster two vectors at a time
    /// ([`Lanes::store_bf16_pair`]); the apply sweep then steps two vectors at a time when it
    /// writes bf16.
    const BF16_PAIRS: bool = false;
    /// Stores `a` and then `b` (`2 N` elements) as bf16, rounded to nearest even; with `NT`,
    /// non-temporally, which needs `d` aligned to `2 N` elements. The default is two
    /// [`Lanes::store_bf16`].
    #[inline(always)]
    fn store_bf16_pair<const NT: bool>(self, d: &mut [bf16], a: F<Self>, b: F<Self>) {
        let (lo, hi) = d.split_at_mut(Self::N);
        self.store_bf16::<NT>(lo, a);
        self.store_bf16::<NT>(hi, b);
    }
    /// [`Lanes::store_bf16_pair`] for `a` and `b` without NaN lanes: the same bits for every
    /// other value, and an unspecified bf16 for a NaN lane. The apply sweep uses it where its
    /// output cannot be NaN (`Params::finite`). The default is [`Lanes::store_bf16_pair`]; a
    /// path whose rounding spends operations on NaN overrides it.
    #[inline(always)]
    fn store_bf16_pair_finite<const NT: bool>(self, d: &mut [bf16], a: F<Self>, b: F<Self>) {
        self.store_bf16_pair::<NT>(d, a, b)
    }
    /// Whether [`Lanes::store_bf16_pair_finite`] and [`Lanes::store_bf16_split_finite`] are
    /// the plain stores (a rounding that keeps NaN at no cost). [`store_pair_nt`] then does not
    /// branch on `finite`: with two copies of the same narrowing behind that branch, the
    /// compiler merged them and moved the AVX512-BF16 pair's subnormal masks into general
    /// registers to test them, where one `kortestw` does.
    const BF16_FINITE_SAME: bool = false;
    /// Whether the path loads and stores `2 N` bf16 faster in its own order of the elements
    /// over two vectors ([`Lanes::load_bf16_split`], [`Lanes::store_bf16_split`]) than in
    /// memory order. The apply sweep uses that order where every stream it reads and writes is
    /// bf16: the operations are the same lane by lane, so the results are too.
    const BF16_SPLIT: bool = false;
    /// The first `2 N` elements of `s` as two vectors, in the path's split order (the
    /// inverse of [`Lanes::store_bf16_split`]'s). The default is memory order: elements
    /// `0..N`, then `N..2 N`. The statistics sweeps read bf16 rows through it on every path
    /// (a path may override it for them alone, with [`Lanes::BF16_SPLIT`] false, as the plain
    /// AVX-512 path does).
    #[inline(always)]
    fn load_bf16_split(self, s: &[bf16]) -> (F<Self>, F<Self>) {
        (self.load_bf16(s), self.load_bf16(&s[Self::N..]))
    }
    /// Stores two vectors in the split order ([`Lanes::load_bf16_split`]) as `2 N` bf16 in
    /// memory order, rounded to nearest even; with `NT`, non-temporally, which needs `d`
    /// aligned to `2 N` elements. The default is [`Lanes::store_bf16_pair`].
    #[inline(always)]
    fn store_bf16_split<const NT: bool>(self, d: &mut [bf16], a: F<Self>, b: F<Self>) {
        self.store_bf16_pair::<NT>(d, a, b)
    }
    /// [`Lanes::store_bf16_split`] without NaN lanes, as [`Lanes::store_bf16_pair_finite`].
    #[inline(always)]
    fn store_bf16_split_finite<const NT: bool>(self, d: &mut [bf16], a: F<Self>, b: F<Self>) {
        self.store_bf16_pair_finite::<NT>(d, a, b)
    }
    /// Whether the path sums squares of bf16 with a dot-product instruction
    /// ([`Lanes::square_add_bf16`]; AVX512-BF16's `vdpbf16ps`: one operation for `2 N`
    /// elements where widening and a fused multiply-add take four). Its arithmetic flushes
    /// subnormal inputs and results to zero, so the statistics sweep that uses it sends rows
    /// with small sums to the rescaled path (`stats::sum_sq`).
    const BF16_DOT: bool = false;
    /// `acc` plus the squares of the first `2 N` elements of `s` (at least that many), two per
    /// lane, in an order of the path's own. Where [`Lanes::BF16_DOT`] holds, subnormal inputs
    /// count as zero and any product or sum below the smallest normal `f32` (2^-126) may be
    /// flushed to zero, a loss of at most 2^-125 per element. The default widens the two
    /// vectors and adds their squares by [`Lanes::fma`], without flushing.
    #[inline(always)]
    fn square_add_bf16(self, acc: F<Self>, s: &[bf16]) -> F<Self> {
        let (a, b) = (self.load_bf16(s), self.load_bf16(&s[Self::N..]));
        self.fma(b, b, self.fma(a, a, acc))
    }
    /// [`Lanes::square_add_bf16`] of fewer than `2 N` elements (`s` whole). The default widens
    /// them through [`Lanes::load_partial`].
    #[inline(always)]
    fn square_add_bf16_partial(self, acc: F<Self>, s: &[bf16]) -> F<Self> {
        let n = s.len().min(Self::N);
        let a = if n == Self::N {
            self.load_bf16(s)
        } else {
            self.load_partial(s)
        };
        let acc = self.fma(a, a, acc);
        if n < s.len() {
            let b = self.load_partial(&s[n..]);
            self.fma(b, b, acc)
        } else {
            acc
        }
    }
    /// Loads `s` (fewer than `N` elements) into the low lanes, zeros above. The default goes
    /// through a zeroed buffer on the stack; paths with masked loads override it.
    #[inline(always)]
    fn load_partial<T: Element>(self, s: &[T]) -> F<Self> {
        load_partial_buffered(self, s)
    }
    /// Stores the low `d.len()` (fewer than `N`) lanes of `v` into `d`, and writes nothing
    /// past it. The default goes through a buffer on the stack; paths with masked stores
    /// override it.
    #[inline(always)]
    fn store_partial<T: Element>(self, d: &mut [T], v: F<Self>) {
        store_partial_buffered(self, d, v)
    }
    /// Orders earlier non-temporal stores before later stores (x86 `sfence`).
    fn fence(self) {}
    /// Asks for the cache line holding `p` to be brought into L2, not L1 (x86 `prefetcht1`;
    /// a no-op on paths without a hint here). A hint only: `p` may be any address, valid or not (it
    /// is never dereferenced, and a prefetch does not fault).
    #[inline(always)]
    fn prefetch(self, p: *const u8) {
        let _ = p;
    }

    /// The sum of the lanes of `v` by the halving tree: lane `i` plus lane `i + N/2` for each
    /// `i < N/2`, then the same on those `N/2` sums, down to one. Every horizontal sum of the
    /// statistics is this one (or [`Lanes::hsum_rows`], which adds in the same order).
    #[inline(always)]
    fn hsum(self, v: F<Self>) -> f32 {
        let mut a = [0.0f32; MAX_LANES];
        self.store_f32::<false>(&mut a, v);
        halving_sum(&mut a[..Self::N])
    }

    /// The horizontal sums of `N` vectors at once: lane `r` of the result is `hsum(v[r])`, the
    /// same additions in the same order, so that a row's statistics do not depend on which
    /// rows it was reduced with. `v[N..]` is ignored.
    #[inline(always)]
    fn hsum_rows(self, v: &[F<Self>; MAX_LANES]) -> F<Self> {
        let mut a = [0.0f32; MAX_LANES];
        for (s, &x) in a.iter_mut().zip(v).take(Self::N) {
            *s = self.hsum(x);
        }
        self.load_f32(&a)
    }
}

/// The lanes of a [`Lanes::widen`] pair back in one array (the first `L::N` entries).
#[inline(always)]
pub(crate) fn f64_lanes<L: Lanes>(l: L, v: [D<L>; 2]) -> [f64; MAX_LANES] {
    let (s, h) = (l.simd(), L::N / 2);
    let mut a = [0.0f64; MAX_LANES];
    for (k, v) in v.into_iter().enumerate() {
        s.partial_store_f64s(&mut a[k * h..k * h + h], v);
    }
    a
}

/// The halving tree of [`Lanes::hsum`] on a slice whose length is a power of two.
#[inline(always)]
pub(crate) fn halving_sum(a: &mut [f32]) -> f32 {
    let mut w = a.len();
    while w > 1 {
        let h = w / 2;
        for i in 0..h {
            a[i] += a[i + h];
        }
        w = h;
    }
    a[0]
}

/// Loads the first `L::N` elements of `s` (of any element type) as `f32` lanes.
#[inline(always)]
pub(crate) fn load<L: Lanes, T: Element>(l: L, s: &[T]) -> F<L> {
    match T::tag(s) {
        SliceRef::F32(s) => l.load_f32(s),
        SliceRef::F16(s) => l.load_f16(s),
        SliceRef::Bf16(s) => l.load_bf16(s),
    }
}

/// Stores `v` into the first `L::N` elements of `d`, rounding to nearest even for 16-bit types.
#[inline(always)]
pub(crate) fn store<L: Lanes, T: Element>(l: L, d: &mut [T], v: F<L>) {
    store_nt::<L, T, false>(l, d, v)
}

/// As [`store`], non-temporal when `NT` (see [`Lanes::store_f32`]).
#[inline(always)]
pub(crate) fn store_nt<L: Lanes, T: Element, const NT: bool>(l: L, d: &mut [T], v: F<L>) {
    match T::tag_mut(d) {
        SliceMut::F32(d) => l.store_f32::<NT>(d, v),
        SliceMut::F16(d) => l.store_f16::<NT>(d, v),
        SliceMut::Bf16(d) => l.store_bf16::<NT>(d, v),
    }
}

/// Whether the apply sweep stores `T` two vectors at a time on `L` ([`Lanes::BF16_PAIRS`]).
#[inline(always)]
pub(crate) const fn pairs<L: Lanes, T: Element>() -> bool {
    L::BF16_PAIRS && T::ID == bf16::ID
}

/// Whether the apply sweep reads and writes pairs of vectors in the path's split order
/// ([`Lanes::BF16_SPLIT`]): bf16 output in pairs, and every stream read (the input `TI`
/// unless the sweep reads the output in place, the weight and bias `W` where there are any)
/// bf16 as well.
#[inline(always)]
pub(crate) const fn split<L: Lanes, TI: Element, TO: Element, W: Element>(
    inplace: bool,
    g: bool,
    b: bool,
) -> bool {
    L::BF16_SPLIT && pairs::<L, TO>() && (inplace || TI::ID == 2) && (!(g || b) || W::ID == 2)
}

/// The first `2 L::N` elements of `s`, bf16, in the path's split order
/// ([`Lanes::load_bf16_split`]); other types (never asked for: see [`split`]) in memory order.
#[inline(always)]
pub(crate) fn load_split<L: Lanes, T: Element>(l: L, s: &[T]) -> (F<L>, F<L>) {
    match T::tag(s) {
        SliceRef::Bf16(s) => l.load_bf16_split(s),
        _ => (load(l, s), load(l, &s[L::N..])),
    }
}

/// Stores `a` and then `b` into the first `2 L::N` elements of `d`, as [`store_nt`] twice;
/// through [`Lanes::store_bf16_pair`] for bf16, or [`Lanes::store_bf16_pair_finite`] when
/// `finite` (neither vector has a NaN lane). With `split` (bf16 only: see [`split`]), `a` and
/// `b` are in the path's split order ([`load_split`]), stored through
/// [`Lanes::store_bf16_split`] or [`Lanes::store_bf16_split_finite`].
#[inline(always)]
pub(crate) fn store_pair_nt<L: Lanes, T: Element, const NT: bool>(
    l: L,
    d: &mut [T],
    a: F<L>,
    b: F<L>,
    finite: bool,
    split: bool,
) {
    if let SliceMut::Bf16(d) = T::tag_mut(d) {
        let finite = finite && !L::BF16_FINITE_SAME;
        return match (split, finite) {
            (false, false) => l.store_bf16_pair::<NT>(d, a, b),
            (false, true) => l.store_bf16_pair_finite::<NT>(d, a, b),
            (true, false) => l.store_bf16_split::<NT>(d, a, b),
            (true, true) => l.store_bf16_split_finite::<NT>(d, a, b),
        };
    }
    let (lo, hi) = d.split_at_mut(L::N);
    store_nt::<L, T, NT>(l, lo, a);
    store_nt::<L, T, NT>(l, hi, b);
}

/// The widest vector any path has, in `f32` lanes (sizes the tail buffers).
pub(crate) const MAX_LANES: usize = 16;

/// [`Lanes::load_partial`] through a zeroed buffer on the stack (any path, any type).
#[inline(always)]
pub(crate) fn load_partial_buffered<L: Lanes, T: Element>(l: L, s: &[T]) -> F<L> {
    let mut buf = [T::ZERO; MAX_LANES];
    buf[..s.len()].copy_from_slice(s);
    load(l, &buf[..])
}

/// [`Lanes::store_partial`] through a buffer on the stack (any path, any type).
#[inline(always)]
pub(crate) fn store_partial_buffered<L: Lanes, T: Element>(l: L, d: &mut [T], v: F<L>) {
    let mut buf = [T::ZERO; MAX_LANES];
    store(l, &mut buf[..], v);
    let n = d.len();
    d.copy_from_slice(&buf[..n]);
}

/// Loads `s` (fewer than `L::N` elements) zero-padded to a full vector
/// ([`Lanes::load_partial`]).
#[inline(always)]
pub(crate) fn load_partial<L: Lanes, T: Element>(l: L, s: &[T]) -> F<L> {
    debug_assert!(s.len() < L::N);
    l.load_partial(s)
}

/// Stores the first `d.len()` (fewer than `L::N`) lanes of `v` into `d`
/// ([`Lanes::store_partial`]).
#[inline(always)]
pub(crate) fn store_partial<L: Lanes, T: Element>(l: L, d: &mut [T], v: F<L>) {
    debug_assert!(d.len() < L::N);
    l.store_partial(d, v)
}

/// The portable path: pulp's 4-lane emulation in plain Rust, with unfused multiply-add (a
/// fused one would be a libm call on CPUs without FMA). 16-bit conversions are `half`'s: bf16
/// per element, f16 four at a time out of line ([`f16x4_to_f32`]; F16C when `half` detects
/// it, else software).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Portable;

type P4 = pulp::f32x4;

#[inline(always)]
fn to_p4(a: [f32; 4]) -> P4 {
    pulp::bytemuck::cast(a)
}

#[inline(always)]
fn from_p4(v: P4) -> [f32; 4] {
    pulp::bytemuck::cast(v)
}

/// `op.call()` as a call of its own (the portable path's [`Lanes::own_frame`]).
#[cfg(debug_assertions)]
#[inline(never)]
fn call_never_inlined<Op: pulp::NullaryFnOnce>(op: Op) -> Op::Output {
    op.call()
}

/// Four `f16` as `f32`, by `half`'s slice conversion (F16C where `half` detects it), out of
/// line. `half`'s per-element conversion (a run-time F16C check and a software fallback),
/// inlined at every load and store of every portable kernel, made the portable path half of
/// the C library's machine code; out of line (5.6 -> 3.6 MB of 10.9 MB), the portable
/// f16 kernels run 1.1-1.4x slower (docs/performance-log.md), on the fallback path of x86-64 CPUs
/// without AVX2.
#[inline(never)]
fn f16x4_to_f32(s: &[f16]) -> [f32; 4] {
    let mut out = [0.0f32; 4];
    s[..4].convert_to_f32_slice(&mut out);
    out
}

/// Four `f32` as `f16` (round to nearest even), out of line as [`f16x4_to_f32`].
#[inline(never)]
fn f32x4_to_f16(v: &[f32; 4], d: &mut [f16]) {
    d[..4].convert_from_f32_slice(v);
}

impl Lanes for Portable {
    type S = pulp::Scalar128b;
    const N: usize = 4;

    #[inline(always)]
    fn simd(self) -> Self::S {
        pulp::Scalar128b
    }
    #[inline(always)]
    fn vectorize<Op: pulp::NullaryFnOnce>(self, op: Op) -> Op::Output {
        op.call()
    }
    #[cfg(debug_assertions)]
    #[inline(always)]
    fn own_frame<Op: pulp::NullaryFnOnce>(self, op: Op) -> Op::Output {
        call_never_inlined(op)
    }
    #[inline(always)]
    fn fma(self, a: P4, b: P4, c: P4) -> P4 {
        let s = self.simd();
        s.add_f32s(s.mul_f32s(a, b), c)
    }
    #[inline(always)]
    fn load_f32(self, s: &[f32]) -> P4 {
        to_p4([s[0], s[1], s[2], s[3]])
    }
    #[inline(always)]
    fn store_f32<const NT: bool>(self, d: &mut [f32], v: P4) {
        d[..4].copy_from_slice(&from_p4(v));
    }
    #[inline(always)]
    fn load_f16(self, s: &[f16]) -> P4 {
        to_p4(f16x4_to_f32(&s[..4]))
    }
    #[inline(always)]
    fn store_f16<const NT: bool>(self, d: &mut [f16], v: P4) {
        f32x4_to_f16(&from_p4(v), &mut d[..4]);
    }
    #[inline(always)]
    fn load_bf16(self, s: &[bf16]) -> P4 {
        to_p4([s[0].to_f32(), s[1].to_f32(), s[2].to_f32(), s[3].to_f32()])
    }
    #[inline(always)]
    fn store_bf16<const NT: bool>(self, d: &mut [bf16], v: P4) {
        let [a, b, c, e] = from_p4(v);
        d[..4].copy_from_slice(&[
            bf16::from_f32(a),
            bf16::from_f32(b),
            bf16::from_f32(c),
            bf16::from_f32(e),
        ]);
    }
}

#[cfg(test)]
mod tests {
    //! The in-register conversions of every path this CPU has, against `half`'s (exhaustive
    //! for widening; every tie, boundary and special value plus a sweep for narrowing), and
    //! the horizontal sums against the scalar halving tree.

    use super::*;

    fn f32_samples() -> Vec<f32> {
        let mut v = vec![
            0.0,
            -0.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            -f32::NAN,
            f32::MAX,
            f32::MIN_POSITIVE,
            1e-45,
            65504.0,
            65519.99,
            65520.0,
            1e-8,
            5.96e-8,
        ];
        // Every 16-bit pattern's value and its neighbours: the exact ties of both formats.
        for h in 0..=u16::MAX {
            for x in [f16::from_bits(h).to_f32(), bf16::from_bits(h).to_f32()] {
                if x.is_finite() {
                    v.push(x);
                    v.push(f32::from_bits(x.to_bits() + 1));
                    v.push(f32::from_bits(x.to_bits().wrapping_sub(1)));
                }
            }
        }
        // bf16 and f16 ties: half-way between neighbours.
        for b in (0u32..=0xFFFF).step_by(7) {
            v.push(f32::from_bits((b << 16) | 0x8000));
            v.push(f32::from_bits((b << 16) | 0x7FFF));
        }
        for i in 0u32..200_000 {
            v.push(f32::from_bits(i.wrapping_mul(0x9E37_79B9)));
        }
        v
    }

    fn same(a: f32, b: f32) -> bool {
        a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
    }

    fn check<L: Lanes>(l: L) {
        let n = L::N;
        let all: Vec<u16> = (0..=u16::MAX).collect();
        for c in all.chunks_exact(n) {
            let h: Vec<f16> = c.iter().map(|&b| f16::from_bits(b)).collect();
            let b: Vec<bf16> = c.iter().map(|&b| bf16::from_bits(b)).collect();
            let vh: Vec<f32> = pulp::bytemuck::cast_slice(&[l.load_f16(&h)]).to_vec();
            let vb: Vec<f32> = pulp::bytemuck::cast_slice(&[l.load_bf16(&b)]).to_vec();
            for i in 0..n {
                assert!(same(vh[i], h[i].to_f32()), "f16 {:#06x}", c[i]);
                assert!(same(vb[i], b[i].to_f32()), "bf16 {:#06x}", c[i]);
            }
        }
        let xs = f32_samples();
        for c in xs.chunks_exact(n) {
            let v = l.load_f32(c);
            let mut h = vec![f16::ZERO; n];
            let mut b = vec![bf16::ZERO; n];
            let mut f = vec![0.0f32; n];
            l.store_f16::<false>(&mut h, v);
            l.store_bf16::<false>(&mut b, v);
            l.store_f32::<false>(&mut f, v);
            let [w0, w1] = l.widen(v);
            let wide = f64_lanes(l, [w0, w1]);
            // Narrowing: the widened lanes come back unchanged; lanes scaled by 1 + 2^-30 (most
            // not `f32` values) round as `as f32` rounds.
            let back: Vec<f32> = pulp::bytemuck::cast_slice(&[l.narrow([w0, w1])]).to_vec();
            let s = l.simd();
            let up = s.splat_f64s(1.0 + 2f64.powi(-30));
            let off = [s.mul_f64s(w0, up), s.mul_f64s(w1, up)];
            let rounded: Vec<f32> = pulp::bytemuck::cast_slice(&[l.narrow(off)]).to_vec();
            let off = f64_lanes(l, off);
            for i in 0..n {
                assert!(same(f[i], c[i]));
                assert!(same(back[i], c[i]), "narrow of {:e}: {:e}", c[i], back[i]);
                assert!(
                    same(rounded[i], off[i] as f32),
                    "narrow of {:e}: {:e}",
                    off[i],
                    rounded[i]
                );
                let want = c[i] as f64;
                assert!(
                    wide[i].to_bits() == want.to_bits() || (wide[i].is_nan() && want.is_nan()),
                    "widen of {:e}: {:e}",
                    c[i],
                    wide[i]
                );
                let (wh, wb) = (f16::from_f32(c[i]), bf16::from_f32(c[i]));
                assert!(
                    h[i] == wh || (h[i].is_nan() && wh.is_nan()),
                    "f16 of {:e} ({:#x}): {:#x} vs {:#x}",
                    c[i],
                    c[i].to_bits(),
                    h[i].to_bits(),
                    wh.to_bits()
                );
                // Exact bits, NaN payloads too: every path narrows NaN as `half` does (the
                // top half with the quiet bit set).
                assert!(
                    b[i].to_bits() == wb.to_bits(),
                    "bf16 of {:e} ({:#x}): {:#x} vs {:#x}",
                    c[i],
                    c[i].to_bits(),
                    b[i].to_bits(),
                    wb.to_bits()
                );
            }
        }
        // Partial stores: the first `len` lanes, the same bits as `half`, nothing past them.
        for (k, c) in xs.chunks_exact(n).enumerate().step_by(97) {
            let len = 1 + k % (n - 1);
            let v = l.load_f32(c);
            let mut h = vec![f16::from_bits(0x7E01); n];
            let mut b = vec![bf16::from_bits(0x7F81); n];
            l.store_partial(&mut h[..len], v);
            l.store_partial(&mut b[..len], v);
            for i in 0..n {
                let (wh, wb) = if i < len {
                    (f16::from_f32(c[i]), bf16::from_f32(c[i]))
                } else {
                    (f16::from_bits(0x7E01), bf16::from_bits(0x7F81))
                };
                assert!(h[i].to_bits() == wh.to_bits() || (h[i].is_nan() && wh.is_nan()));
                assert_eq!(b[i].to_bits(), wb.to_bits(), "partial bf16 of {:e}", c[i]);
            }
        }
        // Pairs of vectors narrowed to bf16 together: the same bits as `half`, NaN included;
        // the finite form, the same bits for every value but NaN.
        for c in xs.chunks_exact(2 * n) {
            let mut b = vec![bf16::ZERO; 2 * n];
            let mut f = vec![bf16::ZERO; 2 * n];
            l.store_bf16_pair::<false>(&mut b, l.load_f32(c), l.load_f32(&c[n..]));
            l.store_bf16_pair_finite::<false>(&mut f, l.load_f32(c), l.load_f32(&c[n..]));
            for ((&x, &y), &z) in c.iter().zip(&b).zip(&f) {
                let want = bf16::from_f32(x);
                assert!(
                    y.to_bits() == want.to_bits(),
                    "bf16 pair of {x:e} ({:#x}): {:#x} vs {:#x}",
                    x.to_bits(),
                    y.to_bits(),
                    want.to_bits()
                );
                assert!(
                    x.is_nan() || z.to_bits() == want.to_bits(),
                    "finite bf16 pair of {x:e} ({:#x}): {:#x} vs {:#x}",
                    x.to_bits(),
                    z.to_bits(),
                    want.to_bits()
                );
            }
        }
        // bf16 pairs in the path's split order: loaded and stored back, the bits `half` gives
        // (NaN payloads too); lane by lane with a second stream in the same order (products of
        // element i of each), the product's bf16, in memory order.
        for c in xs.chunks_exact(2 * n) {
            let x: Vec<bf16> = c.iter().map(|&v| bf16::from_f32(v)).collect();
            let w: Vec<bf16> = c.iter().rev().map(|&v| bf16::from_f32(v)).collect();
            let (a, b) = l.load_bf16_split(&x);
            let mut back = vec![bf16::ZERO; 2 * n];
            l.store_bf16_split::<false>(&mut back, a, b);
            let (ga, gb) = l.load_bf16_split(&w);
            let s = l.simd();
            let (pa, pb) = (s.mul_f32s(a, ga), s.mul_f32s(b, gb));
            let mut y = vec![bf16::ZERO; 2 * n];
            let mut z = vec![bf16::ZERO; 2 * n];
            l.store_bf16_split::<false>(&mut y, pa, pb);
            l.store_bf16_split_finite::<false>(&mut z, pa, pb);
            for i in 0..2 * n {
                let round_trip = bf16::from_f32(x[i].to_f32());
                assert_eq!(
                    back[i].to_bits(),
                    round_trip.to_bits(),
                    "split bf16 {:#x}",
                    x[i].to_bits()
                );
                let p = x[i].to_f32() * w[i].to_f32();
                let want = bf16::from_f32(p);
                let ok = if p.is_nan() {
                    y[i].is_nan()
                } else {
                    y[i].to_bits() == want.to_bits() && z[i].to_bits() == want.to_bits()
                };
                assert!(
                    ok,
                    "split bf16 product {i} of {p:e}: {:#x}, {:#x} vs {:#x}",
                    y[i].to_bits(),
                    z[i].to_bits(),
                    want.to_bits()
                );
            }
        }
        // Sums of bf16 squares: integers up to 255 (their squares and every partial sum here
        // exact in f32), so that the lanes add up to the exact sum in any order; a partial
        // one reads nothing past its slice (NaN there would show).
        let ints: Vec<bf16> = (0..4 * n)
            .map(|i| bf16::from_f32(((i * 37 + 11) % 256) as f32 - 128.0))
            .collect();
        let exact = |s: &[bf16]| s.iter().map(|v| (v.to_f32() as f64).powi(2)).sum::<f64>();
        let zero = l.simd().splat_f32s(0.0);
        let one = l.simd().splat_f32s(1.0);
        let whole = l.square_add_bf16(l.square_add_bf16(one, &ints), &ints[2 * n..]);
        assert_eq!(
            l.hsum(whole) as f64,
            exact(&ints) + n as f64,
            "bf16 squares"
        );
        for len in 0..2 * n {
            let mut buf = ints[..2 * n].to_vec();
            buf[len..].fill(bf16::NAN);
            let got = l.hsum(l.square_add_bf16_partial(zero, &buf[..len])) as f64;
            assert_eq!(got, exact(&buf[..len]), "bf16 squares of {len}");
        }
    }

    /// `hsum_rows` gives, lane by lane, the bits of `hsum` of each vector, and `hsum` those of
    /// the scalar halving tree (sums whose rounding depends on the order: mixed magnitudes and
    /// signs, so that a different tree gives different bits).
    fn check_sums<L: Lanes>(l: L) {
        let n = L::N;
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let m = (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
            m * 2f32.powi((state % 40) as i32 - 20)
        };
        for _ in 0..2000 {
            let mut lanes = [[0.0f32; MAX_LANES]; MAX_LANES];
            let mut v = [l.load_f32(&[0.0; MAX_LANES]); MAX_LANES];
            for (row, vr) in lanes.iter_mut().zip(&mut v).take(n) {
                for x in row.iter_mut().take(n) {
                    *x = next();
                }
                *vr = l.load_f32(row);
            }
            let mut got = [0.0f32; MAX_LANES];
            l.store_f32::<false>(&mut got, l.hsum_rows(&v));
            for r in 0..n {
                let mut row = lanes[r];
                let want = halving_sum(&mut row[..n]);
                assert_eq!(l.hsum(v[r]).to_bits(), want.to_bits(), "hsum, row {r}");
                assert_eq!(got[r].to_bits(), want.to_bits(), "hsum_rows, row {r}");
            }
        }
    }

    #[test]
    fn portable_conversions() {
        check(Portable);
    }

    #[test]
    fn horizontal_sums() {
        check_sums(Portable);
        #[cfg(target_arch = "x86_64")]
        {
            if let Some(t) = crate::arch::x86_64::Avx2Token::try_new() {
                check_sums(t);
            }
            if let Some(t) = crate::arch::x86_64::Avx512Token::try_new() {
                check_sums(t);
            }
            if let Some(t) = crate::arch::x86_64::Avx512Bf16Token::try_new() {
                check_sums(t);
            }
        }
        #[cfg(target_arch = "aarch64")]
        check_sums(crate::arch::aarch64::NeonToken::try_new().expect("NEON on aarch64"));
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_conversions() {
        if let Some(t) = crate::arch::x86_64::Avx2Token::try_new() {
            check(t);
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx512_conversions() {
        if let Some(t) = crate::arch::x86_64::Avx512Token::try_new() {
            check(t);
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx512_bf16_conversions() {
        if let Some(t) = crate::arch::x86_64::Avx512Bf16Token::try_new() {
            check(t);
        }
    }

    #[cfg(target_arch = "aarch64")]
    #[test]
    fn neon_conversions() {
        check(crate::arch::aarch64::NeonToken::try_new().expect("NEON on aarch64"));
    }
}
