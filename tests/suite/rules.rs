//! The documented rules: NaN/Inf rows, constant and zero rows, large means (and that a naive
//! kernel fails them, so the check can fail).

use crate::common;
use crate::common::{Case, Kind, Rng, Style};
use simdnorm::reference::{self, check_row};
use simdnorm::{Isa, Norm, Stats};

/// NaN or ±Inf anywhere in a row makes that whole row NaN (statistics too); the other rows are
/// bit for bit what they are without the bad row.
#[test]
fn nan_and_inf_poison_only_their_row() {
    let width = 37;
    let mut rng = Rng(3);
    for isa in Isa::available() {
        for kind in [Kind::Rms, Kind::Layer] {
            for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
                for pos in [0, 5, 36] {
                    let case = Case::<f32, f32>::random(&mut rng, kind, Style::Plain, 3, width);
                    let (clean, _, _) = case.run(isa, simdnorm::Parallelism::None);
                    let mut x = case.x.clone();
                    x[width + pos] = bad;
                    let mut y = vec![0.0f32; x.len()];
                    let mut rstd = vec![0.0f32; 3];
                    common::norm(kind, case.eps)
                        .isa(isa)
                        .forward_with_stats(
                            &x,
                            3,
                            width,
                            case.gamma.as_deref(),
                            case.beta.as_deref(),
                            &mut y,
                            Stats {
                                mean: None,
                                rstd: Some(&mut rstd),
                            },
                        )
                        .unwrap();
                    assert!(
                        y[width..2 * width].iter().all(|v| v.is_nan()),
                        "{isa} {kind:?} {bad} at {pos}"
                    );
                    assert!(rstd[1].is_nan());
                    assert_eq!(&y[..width], &clean[..width]);
                    assert_eq!(&y[2 * width..], &clean[2 * width..]);
                    assert!(!rstd[0].is_nan() && !rstd[2].is_nan());
                }
            }
        }
    }
}

/// A constant row normalizes to beta (LayerNorm), even with eps = 0; an all-zero row gives 0
/// (RMSNorm), even with eps = 0.
#[test]
fn constant_and_zero_rows() {
    for isa in Isa::available() {
        for eps in [0.0f32, 1e-5] {
            for width in [1usize, 3, 16, 100, 5000] {
                let x = vec![3.25f32; width];
                let beta: Vec<f32> = (0..width).map(|i| i as f32 * 0.5 - 1.0).collect();
                let gamma = vec![2.0f32; width];
                let mut y = vec![f32::NAN; width];
                Norm::layer(eps)
                    .isa(isa)
                    .forward(&x, 1, width, Some(&gamma), Some(&beta), &mut y)
                    .unwrap();
                assert_eq!(y, beta, "{isa} eps={eps} width={width}");
                let z = vec![0.0f32; width];
                Norm::rms(eps)
                    .isa(isa)
                    .forward(&z, 1, width, Some(&gamma), None, &mut y)
                    .unwrap();
                assert!(
                    y.iter().all(|&v| v == 0.0),
                    "{isa} eps={eps} width={width}: {y:?}"
                );
            }
        }
    }
}

/// The textbook one-pass formula var = E[x^2] - E[x]^2 in f32, as ONNX Runtime and candle
/// compute it (NORMS.md), applied like the kernel applies its statistics.
fn naive_layer_norm(x: &[f32], eps: f32) -> Vec<f32> {
    let n = x.len() as f32;
    let (s, q) = x
        .iter()
        .fold((0.0f32, 0.0f32), |(s, q), &v| (s + v, q + v * v));
    let mean = s / n;
    let var = (q / n - mean * mean).max(0.0);
    let r = 1.0 / (var + eps).sqrt();
    x.iter().map(|&v| (v - mean) * r).collect()
}

/// Rows whose mean dwarfs their spread (mean 1e4, std 1e-3; mean 1e6, std 1e-2) meet the bound
/// on every path, and the naive E[x^2] - mean^2 kernel fails the same check on the same rows.
#[test]
fn large_mean_small_spread() {
    let mut rng = Rng(5);
    for style in [Style::BigMean, Style::HugeMean] {
        for width in [64usize, 768, 4096] {
            let x = common::row::<f32>(&mut rng, style, width);
            let eps = 1e-12;
            let r = reference::layer_norm::<f32, f32>(&x, None, None, eps);
            for isa in Isa::available() {
                let mut y = vec![0.0f32; width];
                Norm::layer(eps)
                    .isa(isa)
                    .forward(&x, 1, width, None::<&[f32]>, None, &mut y)
                    .unwrap();
                if let Err((i, msg)) = check_row::<f32, f32>(&y, &r, None, None) {
                    panic!("{isa} {style:?} width {width} elem {i}: {msg}");
                }
            }
            // Around 1e6, f32 values are 0.0625 apart: a row with std 1e-2 is (nearly) constant
            // there, and any kernel gets it right. Around 1e4 they are ~0.001 apart, and the naive
            // formula's cancellation shows.
            if style != Style::BigMean {
                continue;
            }
            let naive = naive_layer_norm(&x, eps);
            assert!(
                check_row::<f32, f32>(&naive, &r, None, None).is_err(),
                "the naive kernel unexpectedly meets the bound on {style:?} width {width}"
            );
        }
    }
}

/// Statistics written by the kernel match the reference, and rows of width 1 normalize to 0.
#[test]
fn width_one_rows() {
    for isa in Isa::available() {
        let x = [5.0f32, -3.0, 1e30];
        let mut y = [1.0f32; 3];
        Norm::layer(1e-5)
            .isa(isa)
            .forward(&x, 3, 1, None::<&[f32]>, None, &mut y)
            .unwrap();
        assert_eq!(y, [0.0; 3], "{isa}");
        Norm::rms(0.0)
            .isa(isa)
            .forward(&x, 3, 1, None::<&[f32]>, None, &mut y)
            .unwrap();
        assert_eq!(y, [1.0, -1.0, 1.0], "{isa}");
    }
}

/// Found by the rms fuzz target: tiny rows with a huge eps have outputs below f32's normal
/// range; the rescaled path must not round its factor to a subnormal before the last multiply.
#[test]
fn subnormal_outputs_from_huge_eps() {
    let mut rng = Rng(9);
    for isa in Isa::available() {
        for kind in [Kind::Rms, Kind::Layer] {
            for eps in [2.4e14f32, 1e30, 3e38] {
                for width in [1usize, 2, 17] {
                    let x: Vec<f32> = (0..width)
                        .map(|_| rng.range(-2e-38, 2e-38) as f32)
                        .collect();
                    let gamma: Vec<f32> = (0..width).map(|_| rng.range(-4.0, 4.0) as f32).collect();
                    let beta: Vec<f32> = (0..width)
                        .map(|_| rng.range(-1e-44, 1e-44) as f32)
                        .collect();
                    let beta = (kind == Kind::Layer).then_some(&beta[..]);
                    let mut y = vec![0.0f32; width];
                    common::norm(kind, eps)
                        .isa(isa)
                        .forward(&x, 1, width, Some(&gamma[..]), beta, &mut y)
                        .unwrap();
                    let r = common::reference(kind, &x, Some(&gamma[..]), beta, eps);
                    if let Err((i, msg)) = check_row(&y, &r, Some(&gamma[..]), beta) {
                        panic!("{isa} {kind:?} eps {eps} width {width} elem {i}: {msg}");
                    }
                }
            }
        }
    }
}

/// Rows whose squares are mostly below f32's normal range (2^-126): one element of 2^-50
/// (its square, 2^-100, is the fast path's threshold) and the others just below 2^-63, whose
/// squares together are a relative 2^-20 to 2^-12 of the sum (widths 100 to 20000). A sum of squares that flushes
/// subnormal results to zero (AVX512-BF16's dot product) loses them and must leave such rows
/// to the rescaled path; the contract's bound is 2^-21 of the largest output. `eps = 0`, so
/// that nothing hides the loss. bf16 and `f32` rows, one row and batches, every path.
#[test]
fn squares_below_the_normal_range() {
    fn rows<T: simdnorm::Element>(rng: &mut Rng, rows: usize, width: usize) -> Vec<T> {
        let mut x = Vec::with_capacity(rows * width);
        for _ in 0..rows {
            let at = rng.below(width);
            x.extend((0..width).map(|i| {
                let sign = if rng.unit() < 0.5 { -1.0 } else { 1.0 };
                let v = if i == at {
                    2f64.powi(-50)
                } else {
                    rng.range(0.7, 0.99) * 2f64.powi(-63)
                };
                T::from_f32((sign * v) as f32)
            }));
        }
        x
    }
    fn check<T: simdnorm::Element>(seed: u64) {
        let mut rng = Rng(seed);
        for isa in Isa::available() {
            for kind in [Kind::Rms, Kind::Layer] {
                for width in [100, 300, 1000, 4096, 4099, 20000] {
                    for n in [1, 16] {
                        let case = Case::<T, T> {
                            kind,
                            width,
                            x: rows::<T>(&mut rng, n, width),
                            gamma: common::param::<T>(&mut rng, width),
                            beta: (kind == Kind::Layer)
                                .then(|| common::param::<T>(&mut rng, width))
                                .flatten(),
                            eps: 0.0,
                        };
                        case.check(isa, &format!("squares below 2^-126, {n} rows"));
                    }
                }
            }
        }
    }
    check::<half::bf16>(12);
    check::<f32>(13);
}

/// A weight or bias with NaN or ±Inf (NaN payloads that the bf16 rounding would carry into the
/// sign or the exponent among them) makes those outputs NaN or infinite, and a bf16 output is
/// the f32 output of the same call narrowed as `half` narrows it, bit for bit: batches large
/// enough to check their weights narrow bf16 without the NaN fix-up only when the weight and
/// bias are finite. Finite weights are checked the same way. Every path, plain and fused
/// (Post-LN) calls.
#[test]
fn non_finite_weights_narrow_bf16_as_half() {
    use half::bf16;
    let (rows, width) = (16, 1000);
    let mut rng = Rng(11);
    let bad = [
        f32::NAN,
        -f32::NAN,
        f32::from_bits(0x7FFF_FFFF),
        f32::from_bits(0xFFFF_FFFF),
        f32::from_bits(0x7FFF_8000),
        f32::from_bits(0x7F80_0001),
        f32::INFINITY,
        f32::NEG_INFINITY,
    ];
    for isa in Isa::available() {
        for kind in [Kind::Rms, Kind::Layer] {
            for poisoned in [false, true] {
                let x: Vec<bf16> = common::row(&mut rng, Style::Plain, rows * width);
                let d: Vec<bf16> = common::row(&mut rng, Style::Plain, rows * width);
                let mut gamma: Vec<f32> = (0..width).map(|_| rng.range(0.5, 1.5) as f32).collect();
                let mut beta: Vec<f32> = (0..width).map(|_| rng.range(-1.0, 1.0) as f32).collect();
                if poisoned {
                    for (k, &v) in bad.iter().enumerate() {
                        gamma[3 + 97 * k] = v;
                        beta[50 + 113 * k] = v;
                    }
                }
                let beta = (kind == Kind::Layer).then_some(&beta[..]);
                let norm = common::norm(kind, 1e-5).isa(isa);
                let label = format!("{isa} {kind:?} poisoned {poisoned}");
                let wide = plain_and_post_ln::<f32>(&norm, &x, &d, width, &gamma, beta);
                let narrow = plain_and_post_ln::<bf16>(&norm, &x, &d, width, &gamma, beta);
                for (form, wide, narrow) in [
                    ("plain", &wide[0], &narrow[0]),
                    ("post-ln", &wide[1], &narrow[1]),
                ] {
                    for (i, (&w, &n)) in wide.iter().zip(narrow).enumerate() {
                        assert_eq!(
                            n.to_bits(),
                            bf16::from_f32(w).to_bits(),
                            "{label} {form}: element {i}, f32 {w:e} ({:#x})",
                            w.to_bits()
                        );
                    }
                    // The poisoned columns are not finite; the others are.
                    let col_bad =
                        |c: usize| !gamma[c].is_finite() || beta.is_some_and(|b| !b[c].is_finite());
                    for (i, &w) in wide.iter().enumerate() {
                        assert_eq!(w.is_finite(), !col_bad(i % width), "{label} {form}: {i}");
                    }
                }
            }
        }
    }
}

/// The outputs of `norm` (plain, then Post-LN `x + d`) on the rows of `x`, as `O`.
fn plain_and_post_ln<O: simdnorm::Element>(
    norm: &Norm,
    x: &[half::bf16],
    d: &[half::bf16],
    width: usize,
    gamma: &[f32],
    beta: Option<&[f32]>,
) -> [Vec<O>; 2] {
    let rows = x.len() / width;
    let mut y = [
        vec![O::from_f32(0.0); x.len()],
        vec![O::from_f32(0.0); x.len()],
    ];
    let g = Some(gamma);
    norm.forward(x, rows, width, g, beta, &mut y[0]).unwrap();
    norm.add_forward(x, d, 1.0, rows, width, g, beta, &mut y[1], Stats::default())
        .unwrap();
    y
}
