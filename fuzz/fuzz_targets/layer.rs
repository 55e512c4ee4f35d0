//! Differential fuzzing of LayerNorm: every path this CPU has against the f64 reference.
#![no_main]

mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::run_any(common::Kind::Layer, data));
