//! The vector abstraction the generic kernels are written against: pulp's [`Simd`] for the
//! arithmetic, plus what pulp does not have (a fused multiply-add that is never a libm call,
//! and `f16`/`bf16` loads and stores that convert in registers).

use half::{bf16, f16};
use pulp::Simd;

use crate::element::{Element, SliceMut, SliceRef};

/// The `f32` vector type of a [`Lanes`] implementation.
pub(crate) type F<L> = <<L as Lanes>::S as Simd>::f32s;

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

    fn simd(self) -> Self::S;
    /// Runs `f` inside this path's `#[target_feature]` context (so that everything `f` inlines
    /// is compiled for these features).
    fn vectorize<R>(self, f: impl FnOnce() -> R) -> R;

    /// `a * b + c`, fused where the hardware fuses.
    fn fma(self, a: F<Self>, b: F<Self>, c: F<Self>) -> F<Self>;

    fn load_f32(self, s: &[f32]) -> F<Self>;
    fn store_f32(self, d: &mut [f32], v: F<Self>);
    fn load_f16(self, s: &[f16]) -> F<Self>;
    fn store_f16(self, d: &mut [f16], v: F<Self>);
    fn load_bf16(self, s: &[bf16]) -> F<Self>;
    fn store_bf16(self, d: &mut [bf16], v: F<Self>);
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
    match T::tag_mut(d) {
        SliceMut::F32(d) => l.store_f32(d, v),
        SliceMut::F16(d) => l.store_f16(d, v),
        SliceMut::Bf16(d) => l.store_bf16(d, v),
    }
}

/// The widest vector any path has, in `f32` lanes (sizes the tail buffers).
pub(crate) const MAX_LANES: usize = 16;

/// Loads `s` (fewer than `L::N` elements) zero-padded to a full vector.
#[inline(always)]
pub(crate) fn load_partial<L: Lanes, T: Element>(l: L, s: &[T]) -> F<L> {
    let mut buf = [T::ZERO; MAX_LANES];
    buf[..s.len()].copy_from_slice(s);
    load(l, &buf[..])
}

/// Stores the first `d.len()` (fewer than `L::N`) lanes of `v` into `d`.
#[inline(always)]
pub(crate) fn store_partial<L: Lanes, T: Element>(l: L, d: &mut [T], v: F<L>) {
    let mut buf = [T::ZERO; MAX_LANES];
    store(l, &mut buf[..], v);
    let n = d.len();
    d.copy_from_slice(&buf[..n]);
}

/// The portable path: pulp's 4-lane emulation in plain Rust, with unfused multiply-add (a
/// fused one would be a libm call on CPUs without FMA).
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

impl Lanes for Portable {
    type S = pulp::Scalar128b;
    const N: usize = 4;

    #[inline(always)]
    fn simd(self) -> Self::S {
        pulp::Scalar128b
    }
    #[inline(always)]
    fn vectorize<R>(self, f: impl FnOnce() -> R) -> R {
        f()
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
    fn store_f32(self, d: &mut [f32], v: P4) {
        d[..4].copy_from_slice(&from_p4(v));
    }
    #[inline(always)]
    fn load_f16(self, s: &[f16]) -> P4 {
        to_p4([s[0], s[1], s[2], s[3]].map(f16::to_f32_const))
    }
    #[inline(always)]
    fn store_f16(self, d: &mut [f16], v: P4) {
        d[..4].copy_from_slice(&from_p4(v).map(f16::from_f32_const));
    }
    #[inline(always)]
    fn load_bf16(self, s: &[bf16]) -> P4 {
        to_p4([s[0], s[1], s[2], s[3]].map(bf16::to_f32_const))
    }
    #[inline(always)]
    fn store_bf16(self, d: &mut [bf16], v: P4) {
        d[..4].copy_from_slice(&from_p4(v).map(bf16::from_f32_const));
    }
}
