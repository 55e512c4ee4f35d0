//! Per-architecture tokens and their conversions. The only modules with raw intrinsics.

#[cfg(target_arch = "aarch64")]
pub(crate) mod aarch64;
#[cfg(target_arch = "x86_64")]
pub(crate) mod x86_64;
