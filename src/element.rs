//! The element types the kernels read and write: `f32`, [`half::f16`] and [`half::bf16`].

use core::fmt::Debug;

use half::{bf16, f16};

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for half::f16 {}
    impl Sealed for half::bf16 {}
}

/// A borrowed slice, tagged with its element type (used by the kernels to pick the load
/// instruction; not part of the stable API).
#[doc(hidden)]
pub enum SliceRef<'a> {
    F32(&'a [f32]),
    F16(&'a [f16]),
    Bf16(&'a [bf16]),
}

/// A mutable slice, tagged with its element type (see [`SliceRef`]).
#[doc(hidden)]
pub enum SliceMut<'a> {
    F32(&'a mut [f32]),
    F16(&'a mut [f16]),
    Bf16(&'a mut [bf16]),
}

/// An element type of activations, weights and biases. Sealed: implemented for `f32`,
/// [`half::f16`] and [`half::bf16`] only.
///
/// All arithmetic is done in `f32`; conversion to `f32` is exact for every type, and conversion
/// back rounds to nearest, ties to even.
pub trait Element:
    sealed::Sealed + Copy + Default + Debug + PartialEq + Send + Sync + 'static
{
    /// Short name of the type: `"f32"`, `"f16"` or `"bf16"`.
    const NAME: &'static str;
    /// Size of one element in bytes.
    const BYTES: usize;
    /// A number unique to the type (0 `f32`, 1 `f16`, 2 `bf16`): the kernels compare it at
    /// compile time to call their copies compiled in this crate.
    #[doc(hidden)]
    const ID: u8;
    /// The value zero.
    const ZERO: Self;
    /// Exact widening to `f32`.
    fn to_f32(self) -> f32;
    /// Narrowing from `f32`, round to nearest, ties to even (identity for `f32`).
    fn from_f32(v: f32) -> Self;
    /// Tags a slice with its type.
    #[doc(hidden)]
    fn tag(s: &[Self]) -> SliceRef<'_>;
    /// Tags a mutable slice with its type.
    #[doc(hidden)]
    fn tag_mut(s: &mut [Self]) -> SliceMut<'_>;
}

impl Element for f32 {
    const NAME: &'static str = "f32";
    const ID: u8 = 0;
    const BYTES: usize = 4;
    const ZERO: Self = 0.0;
    #[inline(always)]
    fn to_f32(self) -> f32 {
        self
    }
    #[inline(always)]
    fn from_f32(v: f32) -> Self {
        v
    }
    #[inline(always)]
    fn tag(s: &[Self]) -> SliceRef<'_> {
        SliceRef::F32(s)
    }
    #[inline(always)]
    fn tag_mut(s: &mut [Self]) -> SliceMut<'_> {
        SliceMut::F32(s)
    }
}

impl Element for f16 {
    const NAME: &'static str = "f16";
    const ID: u8 = 1;
    const BYTES: usize = 2;
    const ZERO: Self = f16::ZERO;
    #[inline(always)]
    fn to_f32(self) -> f32 {
        self.to_f32_const()
    }
    #[inline(always)]
    fn from_f32(v: f32) -> Self {
        f16::from_f32_const(v)
    }
    #[inline(always)]
    fn tag(s: &[Self]) -> SliceRef<'_> {
        SliceRef::F16(s)
    }
    #[inline(always)]
    fn tag_mut(s: &mut [Self]) -> SliceMut<'_> {
        SliceMut::F16(s)
    }
}

impl Element for bf16 {
    const NAME: &'static str = "bf16";
    const ID: u8 = 2;
    const BYTES: usize = 2;
    const ZERO: Self = bf16::ZERO;
    #[inline(always)]
    fn to_f32(self) -> f32 {
        self.to_f32_const()
    }
    #[inline(always)]
    fn from_f32(v: f32) -> Self {
        bf16::from_f32_const(v)
    }
    #[inline(always)]
    fn tag(s: &[Self]) -> SliceRef<'_> {
        SliceRef::Bf16(s)
    }
    #[inline(always)]
    fn tag_mut(s: &mut [Self]) -> SliceMut<'_> {
        SliceMut::Bf16(s)
    }
}
