//! Arbitrary lengths, shapes, eps and statistics slices to the public API: every call returns
//! `Ok` or `Err` and never panics, and a refused call writes nothing.
#![no_main]

use simdnorm::{Isa, Norm, Parallelism, Stats};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if data.len() < 24 {
        return;
    }
    let word = |i: usize| u32::from_le_bytes([data[i], data[i + 1], data[i + 2], data[i + 3]]);
    let small = |v: u32| (v % 70) as usize;
    // Shapes: usually small, sometimes huge (rows * width overflow).
    let rows = if data[0] & 1 == 0 {
        small(word(1))
    } else {
        word(1) as usize * (1 << 20)
    };
    let width = if data[0] & 2 == 0 {
        small(word(5))
    } else {
        word(5) as usize * (1 << 20)
    };
    let (xl, yl, gl, bl) = (
        small(word(9)) * 4,
        small(word(13)) * 4,
        small(word(17)),
        small(data[21] as u32),
    );
    let eps = f32::from_bits(word(20));
    let flags = data[23];
    let x: Vec<f32> = (0..xl).map(|i| i as f32).collect();
    let g = vec![1.0f32; gl];
    let b = vec![0.0f32; bl];
    let isa = Isa::ALL[(flags as usize >> 4) % Isa::ALL.len()];
    let mut norm = if flags & 1 == 0 {
        Norm::rms(eps)
    } else {
        Norm::layer(eps)
    };
    if flags & 2 != 0 {
        norm = norm.isa(isa);
    }
    norm = norm.parallelism(if flags & 4 != 0 {
        Parallelism::Rayon(3)
    } else {
        Parallelism::None
    });
    let gamma = (flags & 8 != 0).then_some(&g[..]);
    let beta = (flags & 64 != 0).then_some(&b[..]);
    let mut y = vec![7.0f32; yl];
    let mut mean = vec![7.0f32; small(word(2))];
    let mut rstd = vec![7.0f32; small(word(3))];
    let stats = Stats {
        mean: (flags & 32 != 0).then_some(&mut mean[..]),
        rstd: (flags & 128 != 0).then_some(&mut rstd[..]),
    };
    let r = norm.forward_with_stats(&x, rows, width, gamma, beta, &mut y, stats);
    if r.is_err() {
        assert!(y.iter().all(|&v| v == 7.0), "refused call wrote its output");
        assert!(
            mean.iter().chain(&rstd).all(|&v| v == 7.0),
            "refused call wrote statistics"
        );
    }
    let mut z = x.clone();
    let _ = norm.forward_inplace(&mut z, rows, width, gamma, beta);
    let _ = simdnorm::rms_norm_rows(&x, width, gamma, eps, &mut y);
    let _ = simdnorm::layer_norm_rows_inplace(&mut z, width, gamma, beta, eps);
    let _ = simdnorm::layer_norm(&x, gamma, beta, eps, &mut y);
});
