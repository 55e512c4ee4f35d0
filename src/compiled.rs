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
use crate::kernel::fused::{Add, AddInPlace, FusedBatch, PreLn};
use crate::rows::{Batch, Plain};

// `Batch::KEY`, and so `serial` below, rely on this.
const _: () = assert!(f32::ID != f16::ID && f32::ID != bf16::ID && f16::ID != bf16::ID);

/// The batch types compiled here, as `name: type`, and the dispatch `serial` to them.
macro_rules! compiled_here {
    ($($f:ident: $b:ty;)*) => {
        $(
            /// Takes the batch by reference and runs it where the caller stored it (see
            /// `Batch::run`).
            #[inline(never)]
            fn $f(isa: Isa, b: &mut $b) {
                crate::rows::on_path(isa, crate::rows::Whole(b))
            }
        )*

        /// Runs a batch on the calling thread (`rows::serial`), on this crate's copy where
        /// there is one.
        #[inline(always)]
        pub(crate) fn serial<B: Batch>(isa: Isa, mut b: B) {
            $(
                if const { B::KEY == <$b as Batch>::KEY } {
                    // SAFETY: `B` is `$b` up to the lifetimes of its slices (`Batch::KEY` is
                    // unique to the batch kind and its element types), which outlive the call
                    // that runs the batch.
                    return $f(isa, unsafe { &mut *(&raw mut b).cast::<$b>() });
                }
            )*
            crate::rows::serial(isa, b)
        }
    };
}

compiled_here! {
    plain_f32: Plain<'_, '_, f32, f32, f32>;
    plain_f16: Plain<'_, '_, f16, f16, f16>;
    plain_f16_w32: Plain<'_, '_, f16, f16, f32>;
    plain_bf16: Plain<'_, '_, bf16, bf16, bf16>;
    plain_bf16_w32: Plain<'_, '_, bf16, bf16, f32>;
    plain_f32_to_f16: Plain<'_, '_, f32, f16, f32>;
    plain_f32_to_bf16: Plain<'_, '_, f32, bf16, f32>;
    pre_ln_f32: FusedBatch<'_, '_, PreLn<'_, f32, f32, f32>, f32>;
    pre_ln_f16: FusedBatch<'_, '_, PreLn<'_, f16, f16, f16>, f16>;
    pre_ln_f16_w32: FusedBatch<'_, '_, PreLn<'_, f16, f16, f16>, f32>;
    pre_ln_bf16: FusedBatch<'_, '_, PreLn<'_, bf16, bf16, bf16>, bf16>;
    pre_ln_bf16_w32: FusedBatch<'_, '_, PreLn<'_, bf16, bf16, bf16>, f32>;
    pre_ln_f32_to_f16: FusedBatch<'_, '_, PreLn<'_, f32, f32, f16>, f32>;
    pre_ln_f32_to_bf16: FusedBatch<'_, '_, PreLn<'_, f32, f32, bf16>, f32>;
    add_f32: FusedBatch<'_, '_, Add<'_, f32, f32, f32>, f32>;
    add_f16: FusedBatch<'_, '_, Add<'_, f16, f16, f16>, f16>;
    add_f16_w32: FusedBatch<'_, '_, Add<'_, f16, f16, f16>, f32>;
    add_bf16: FusedBatch<'_, '_, Add<'_, bf16, bf16, bf16>, bf16>;
    add_bf16_w32: FusedBatch<'_, '_, Add<'_, bf16, bf16, bf16>, f32>;
    add_f32_to_f16: FusedBatch<'_, '_, Add<'_, f32, f32, f16>, f32>;
    add_f32_to_bf16: FusedBatch<'_, '_, Add<'_, f32, f32, bf16>, f32>;
    add_inplace_f32: FusedBatch<'_, '_, AddInPlace<'_, f32, f32>, f32>;
    add_inplace_f16: FusedBatch<'_, '_, AddInPlace<'_, f16, f16>, f16>;
    add_inplace_f16_w32: FusedBatch<'_, '_, AddInPlace<'_, f16, f16>, f32>;
    add_inplace_bf16: FusedBatch<'_, '_, AddInPlace<'_, bf16, bf16>, bf16>;
    add_inplace_bf16_w32: FusedBatch<'_, '_, AddInPlace<'_, bf16, bf16>, f32>;
}
