//! # simdnorm
//!
//! SIMD CPU kernels for the normalization layers of transformer inference: LayerNorm and
//! RMSNorm over rows of `f32`, [`half::f16`] or [`half::bf16`], with the best instruction set
//! of the CPU chosen once per process at run time.
//!
//! ```
//! use simdnorm::{layer_norm, rms_norm_rows};
//!
//! // One row of LayerNorm with weight and bias.
//! let x = [1.0f32, 2.0, 3.0, 4.0];
//! let (gamma, beta) = ([1.0f32; 4], [0.0f32; 4]);
//! let mut y = [0.0f32; 4];
//! layer_norm(&x, Some(&gamma), Some(&beta), 1e-5, &mut y)?;
//! assert!((y[0] + 1.3416).abs() < 1e-3);
//!
//! // A batch of 2 rows of RMSNorm in bf16, weight in f32.
//! let x: Vec<half::bf16> = (0..8).map(|i| half::bf16::from_f32(i as f32)).collect();
//! let mut y = vec![half::bf16::ZERO; 8];
//! rms_norm_rows(&x, 4, Some(&[1.0f32; 4][..]), 1e-6, &mut y)?;
//! # Ok::<(), simdnorm::NormError>(())
//! ```
//!
//! ## Paths and types
//!
//! | path ([`Isa`]) | where | `f32` lanes | `f16` conversion | `bf16` conversion |
//! |---|---|---|---|---|
//! | `Avx512` | x86-64 with AVX-512 F/BW/CD/DQ/VL | 16 | `vcvtph2ps` / `vcvtps2ph` zmm | `vpermw` / `vcvtne2ps2bf16` where the CPU has AVX512-BF16 (subnormal lanes moved up by 2^-126 and back: the same bits), else integer round-to-nearest-even in mask registers, `vpermw` |
//! | `Avx2` | x86-64 with AVX2, FMA, F16C | 8 | F16C `vcvtph2ps` / `vcvtps2ph` | byte shuffle / integer round-to-nearest-even, pack (without the NaN fix-up in batches of 8 rows or more whose weight and bias are finite) |
//! | `Neon` | aarch64 | 4 | `fcvtl` / `fcvtn` | `shll` / integer round-to-nearest-even, `xtn` |
//! | `Scalar` | everywhere | 4 (portable) | `half`'s software conversion | `half`'s software conversion |
//!
//! Every path handles every element type (`f32`, `f16`, `bf16`) for activations, and any of
//! them for the weight and bias. [`isa()`] tells which path runs; [`Norm::isa`] forces one for a
//! call, [`force_isa`] for the process, and the environment variable `SIMDNORM_ISA`
//! (`scalar|avx2|avx512|neon`) at start-up (a path the CPU lacks is reported on stderr and the
//! detected one is used). `SIMDNORM_AVX512_BF16=0` ([`AVX512_BF16_ENV`]) keeps the `Avx512`
//! path off AVX512-BF16, for comparison: its bf16 stores give the same bits either way; the
//! RMSNorm statistics of bf16 rows, summed by AVX512-BF16's dot products where it is on,
//! differ within the error bound.
//!
//! ## Numerics
//!
//! - LayerNorm: `y = (x - mean) / sqrt(var + eps) * gamma + beta`, population variance (divide
//!   by `n`); RMSNorm: `y = x / sqrt(mean(x^2) + eps) * gamma`. `eps` is inside the square
//!   root in both, as in PyTorch, ggml, LLaMA and T5 (`../shared/NORMS.md`). `eps` must be finite
//!   and `>= 0`.
//! - Statistics accumulate in `f32`: LayerNorm by Welford per SIMD lane on values shifted by the
//!   row's first element (after a row's first 2048 elements on AVX-512, as sums of the values
//!   minus the lanes' running means: blocked Welford), lanes and accumulators merged with
//!   Chan's formula; RMSNorm by a sum of squares in several accumulators (a row of at most
//!   eight vectors: its squares summed pairwise). A row whose sums overflow or underflow `f32`
//!   is redone scaled by a power of two, so every finite row gets a finite, accurate result.
//! - Error bound (checked against the `f64` [`reference`](mod@reference) by the tests): for `f32` output,
//!   `|y - y_ref| <= 8 u (|γ| (|x̂| + M) + |β|)` with `u = 2^-24`, `x̂` the exact normalized
//!   value and `M = max |x̂|` over the row; for `f16`/`bf16` output, one unit in the last place
//!   more. Outputs are rounded to nearest, ties to even.
//! - A constant row gives `beta` under LayerNorm (`x̂ = 0`, even with `eps = 0`); an all-zero
//!   row gives 0 under RMSNorm.
//! - NaN or ±Inf anywhere in a row makes every output of that row NaN (and its statistics
//!   NaN); other rows are untouched. NaN or Inf in `gamma`/`beta` propagates per element by
//!   IEEE rules.
//! - Results do not depend on the number of threads, bit for bit; different paths may differ
//!   within the bound.
//!
//! ## Errors
//!
//! Every function validates its arguments and returns [`NormError`] before writing anything.
//! No input makes a public function panic.
//!
//! ## Build time
//!
//! The kernels for the common element types (rows of `f32`, `f16` or `bf16` with a weight of
//! the same type or `f32`; also `f32` rows into `f16` or `bf16` output, except in place) are
//! compiled once, in this crate's build: a call with those types does not compile kernels in
//! the calling crate. Other combinations are compiled where they are called.
//! README.md ("Build time") lists the combinations and measures the difference.
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

mod arch;
#[cfg(feature = "capi")]
pub mod capi;
mod compiled;
pub mod deepnorm;
mod element;
mod error;
mod fused;
mod isa;
mod kernel;
mod norm;
pub mod presets;
pub mod reference;
mod rows;

pub use element::Element;
pub use error::NormError;
pub use isa::{AVX512_BF16_ENV, ISA_ENV, Isa, ParseIsaError, force_isa, isa};
pub use norm::{
    Norm, Stats, Stores, layer_norm, layer_norm_inplace, layer_norm_rows, layer_norm_rows_inplace,
    rms_norm, rms_norm_inplace, rms_norm_rows, rms_norm_rows_inplace,
};
pub use rows::{NT_MIN_BYTES, PAR_MIN_BYTES, Parallelism};

#[doc(hidden)]
pub use element::{SliceMut, SliceRef};

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// Re-export of the `half` crate, whose `f16` and `bf16` are this crate's 16-bit types.
pub use half;
