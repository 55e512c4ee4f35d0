//! Hand-computed values (the formulas of NORMS.md worked out in f64), compared with `approx`
//! under the numerics contract's bound for each element.

use approx::assert_abs_diff_eq;
use simdnorm::reference::{C, U32};
use simdnorm::{Isa, Norm};

#[test]
fn layer_norm_of_one_to_four() {
    // mean 2.5, var 1.25: x̂ = (x - 2.5) / sqrt(1.25 + eps).
    let x = [1.0f32, 2.0, 3.0, 4.0];
    let eps = 1e-5f64;
    let d = (1.25 + eps).sqrt();
    let xhat: Vec<f64> = x.iter().map(|&v| (v as f64 - 2.5) / d).collect();
    let m = xhat.iter().fold(0.0f64, |a, b| a.max(b.abs()));
    let (gamma, beta) = ([2.0f32, 0.5, -1.0, 1.0], [0.25f32, 0.0, 1.0, -3.0]);
    for isa in Isa::available() {
        let mut y = [0.0f32; 4];
        Norm::layer(eps as f32)
            .isa(isa)
            .forward(&x, 1, 4, Some(&gamma[..]), Some(&beta[..]), &mut y)
            .unwrap();
        for i in 0..4 {
            let g = gamma[i] as f64;
            let b = beta[i] as f64;
            let want = xhat[i] * g + b;
            let bound = C * U32 * (g.abs() * (xhat[i].abs() + m) + b.abs());
            assert_abs_diff_eq!(y[i] as f64, want, epsilon = bound);
        }
    }
}

#[test]
fn rms_norm_of_three_four() {
    // mean square (9 + 16) / 2 = 12.5: x̂ = x / sqrt(12.5 + eps).
    let x = [3.0f32, 4.0];
    let eps = 1e-6f64;
    let d = (12.5 + eps).sqrt();
    for isa in Isa::available() {
        let mut y = [0.0f32; 2];
        Norm::rms(eps as f32)
            .isa(isa)
            .forward(&x, 1, 2, None::<&[f32]>, None, &mut y)
            .unwrap();
        let m = 4.0 / d;
        for i in 0..2 {
            let want = x[i] as f64 / d;
            assert_abs_diff_eq!(y[i] as f64, want, epsilon = C * U32 * (want.abs() + m));
        }
    }
}
