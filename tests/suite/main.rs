//! The integration tests, as one test binary: the kernels are compiled for the tests' element
//! and weight types once, not once per test file.

#[macro_use]
mod common;

mod api;
mod fused;
mod kernels;
mod known;
mod presets;
mod rules;
mod stack;
