//! Copies of the batch kernels compiled in this crate, for the common element types.
//!
//! The kernels are generic over the element types, so a generic function's copy would be
//! compiled in the crate that calls it: every release build of a user's crate would compile
//! and optimize the kernels of every path anew (`scripts/build-time.sh`: a crate with three
//! calls rebuilt in 126 s, 1 s with this module), and unoptimized in a debug build whatever
//! the profile set for this crate. For the combinations listed here the generic entry
//! points call a non-generic function of this crate instead, compiled once with the crate;
//! the choice is made at compile time (`if const`), so the generic copy is not compiled for
//! them at all. Other combinations (mixed types not listed here, the C ABI's any-to-any
//! calls) still compile the generic copy where they are called.

use half::{bf16, f16};

use crate::Isa;
use crate::element::Element;
use crate::kernel::fused::{Add, AddInPlace, FusedBatch, Placement, PreLn};
use crate::rows::{Plain, serial};

/// Whether `A` and `B` are the same element type (`Element` is sealed; `ID` is unique per
/// type).
const fn same<A: Element, B: Element>() -> bool {
    A::ID == B::ID
}

// `same` and `cast` rely on this.
const _: () = assert!(f32::ID != f16::ID && f32::ID != bf16::ID && f16::ID != bf16::ID);

/// `x` as a value of type `U`.
///
/// # Safety
///
/// `T` and `U` must be the same type, up to lifetimes that outlive the use of the result.
#[inline(always)]
unsafe fn cast<T, U>(x: T) -> U {
    let x = core::mem::ManuallyDrop::new(x);
    // SAFETY: `T` and `U` are the same type (the caller's contract), so they have the same size
    // and layout and `x`'s bits are a valid `U`; `x` is not dropped, so the value moves.
    unsafe { core::mem::transmute_copy::<core::mem::ManuallyDrop<T>, U>(&x) }
}

/// The plain batches compiled here, as `name: (input, output, weight)`, and the dispatch
/// `plain` to them.
macro_rules! plain_here {
    ($($f:ident: ($ti:ty, $to:ty, $w:ty);)*) => {
        $(
            #[inline(never)]
            fn $f(isa: Isa, b: Plain<'_, '_, $ti, $to, $w>) {
                serial(isa, b)
            }
        )*

        /// Runs a plain batch on the calling thread, on this crate's copy where there is one.
        #[inline(always)]
        pub(crate) fn plain<TI: Element, TO: Element, W: Element>(
            isa: Isa,
            b: Plain<'_, '_, TI, TO, W>,
        ) {
            $(
                if const { same::<TI, $ti>() && same::<TO, $to>() && same::<W, $w>() } {
                    // SAFETY: `TI`, `TO` and `W` are `$ti`, `$to` and `$w` (`same`), so the
                    // two batch types are one; the batch is consumed by the call.
                    return $f(isa, unsafe { cast(b) });
                }
            )*
            serial(isa, b)
        }
    };
}

/// The fused batches compiled here, as `name: Placement<residual, update, output>, weight`,
/// and the dispatch `fused` to them.
macro_rules! fused_here {
    ($($f:ident: $m:ident<$($t:ty),*>, $w:ty;)*) => {
        $(
            #[inline(never)]
            fn $f(isa: Isa, b: FusedBatch<'_, '_, $m<'_, $($t),*>, $w>) {
                serial(isa, b)
            }
        )*

        /// Runs a fused batch on the calling thread, on this crate's copy where there is one.
        #[inline(always)]
        pub(crate) fn fused<M: Placement, W: Element>(isa: Isa, b: FusedBatch<'_, '_, M, W>) {
            $(
                if const { M::KEY == <$m<'static, $($t),*> as Placement>::KEY && same::<W, $w>() } {
                    // SAFETY: `M` is `$m` with these element types (`Placement::KEY` is unique
                    // to the placement and its types) up to the lifetime of its slices, which
                    // outlive the call that consumes the batch; `W` is `$w` (`same`).
                    return $f(isa, unsafe { cast(b) });
                }
            )*
            serial(isa, b)
        }
    };
}

plain_here! {
    plain_f32: (f32, f32, f32);
    plain_f16: (f16, f16, f16);
    plain_f16_w32: (f16, f16, f32);
    plain_bf16: (bf16, bf16, bf16);
    plain_bf16_w32: (bf16, bf16, f32);
    plain_f32_to_f16: (f32, f16, f32);
    plain_f32_to_bf16: (f32, bf16, f32);
}

fused_here! {
    pre_ln_f32: PreLn<f32, f32, f32>, f32;
    pre_ln_f16: PreLn<f16, f16, f16>, f16;
    pre_ln_f16_w32: PreLn<f16, f16, f16>, f32;
    pre_ln_bf16: PreLn<bf16, bf16, bf16>, bf16;
    pre_ln_bf16_w32: PreLn<bf16, bf16, bf16>, f32;
    pre_ln_f32_to_f16: PreLn<f32, f32, f16>, f32;
    pre_ln_f32_to_bf16: PreLn<f32, f32, bf16>, f32;
    add_f32: Add<f32, f32, f32>, f32;
    add_f16: Add<f16, f16, f16>, f16;
    add_f16_w32: Add<f16, f16, f16>, f32;
    add_bf16: Add<bf16, bf16, bf16>, bf16;
    add_bf16_w32: Add<bf16, bf16, bf16>, f32;
    add_f32_to_f16: Add<f32, f32, f16>, f32;
    add_f32_to_bf16: Add<f32, f32, bf16>, f32;
    add_inplace_f32: AddInPlace<f32, f32>, f32;
    add_inplace_f16: AddInPlace<f16, f16>, f16;
    add_inplace_f16_w32: AddInPlace<f16, f16>, f32;
    add_inplace_bf16: AddInPlace<bf16, bf16>, bf16;
    add_inplace_bf16_w32: AddInPlace<bf16, bf16>, f32;
}
