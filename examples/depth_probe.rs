//! depth_probe: the forward-pass view of why Post-LN needs warm-up at depth and DeepNorm does
//! not (NORMS.md, "DeepNorm"; Wang et al. 2022).
//!
//! A batch of random tokens goes through a stack of N random residual sublayers
//! `G(x) = W2 relu(W1 x)` (Xavier-normal weights, fixed seed), placed three ways with this
//! crate's fused kernels:
//!
//! - Post-LN:  `x = LN(x + G(x))`                   (`Norm::add_forward`, alpha = 1)
//! - Pre-LN:   `h = h + G(LN(h))`, final LN          (`Norm::residual_forward`)
//! - DeepNorm: `x = LN(alpha x + G(x))`, G's weights scaled by beta (`Norm::add_forward` with
//!   `deepnorm::decoder_only(N)`)
//!
//! For chosen layers it prints the RMS of the residual stream and the relative size of each
//! layer's update of the stream, `|x_{l+1} - x_l| / |x_l|`. Post-LN rewrites a large part of
//! the stream at every layer (each update is O(1) however deep the stack), which is what
//! makes deep Post-LN models unstable early in training; DeepNorm up-weights the stream by
//! alpha and scales the sublayers down by beta, so every layer moves the stream only a little
//! (about 0.001 of it for N = 1000); Pre-LN keeps updates small by letting the stream grow.
//!
//! `cargo run --release --example depth_probe [-- N]` (N = 1000 by default).

use simdnorm::{Norm, Parallelism, Stats, deepnorm};

const WIDTH: usize = 64;
const HIDDEN: usize = 128;
const TOKENS: usize = 8;

struct Rng(u64);
impl Rng {
    fn normal(&mut self) -> f32 {
        let mut u = || {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
        };
        let (a, b) = (u().max(1e-300), u());
        ((-2.0 * a.ln()).sqrt() * (2.0 * std::f64::consts::PI * b).cos()) as f32
    }
}

/// One sublayer: W2 relu(W1 x), Xavier-normal weights times `gain`.
struct Sublayer {
    w1: Vec<f32>,
    w2: Vec<f32>,
}

impl Sublayer {
    fn new(rng: &mut Rng, gain: f32) -> Self {
        let s1 = gain * (2.0 / (WIDTH + HIDDEN) as f32).sqrt();
        let w1 = (0..WIDTH * HIDDEN).map(|_| rng.normal() * s1).collect();
        let w2 = (0..WIDTH * HIDDEN).map(|_| rng.normal() * s1).collect();
        Sublayer { w1, w2 }
    }

    fn apply(&self, x: &[f32], out: &mut [f32]) {
        for (xt, ot) in x.chunks_exact(WIDTH).zip(out.chunks_exact_mut(WIDTH)) {
            let mut h = [0.0f32; HIDDEN];
            for (j, hj) in h.iter_mut().enumerate() {
                let row = &self.w1[j * WIDTH..(j + 1) * WIDTH];
                *hj = row.iter().zip(xt).map(|(a, b)| a * b).sum::<f32>().max(0.0);
            }
            for (i, oi) in ot.iter_mut().enumerate() {
                let row = &self.w2[i * HIDDEN..(i + 1) * HIDDEN];
                *oi = row.iter().zip(&h).map(|(a, b)| a * b).sum();
            }
        }
    }
}

fn rms(v: &[f32]) -> f64 {
    (v.iter().map(|&a| (a as f64) * (a as f64)).sum::<f64>() / v.len() as f64).sqrt()
}

fn rel_change(new: &[f32], old: &[f32]) -> f64 {
    let d: Vec<f32> = new.iter().zip(old).map(|(a, b)| a - b).collect();
    rms(&d) / rms(old)
}

#[derive(Clone, Copy, PartialEq)]
enum Placement {
    PostLn,
    PreLn,
    DeepNorm,
}

/// Runs the stack; returns (layer, stream RMS, relative update) at the probe layers.
fn run(placement: Placement, n: usize, probes: &[usize]) -> Vec<(usize, f64, f64)> {
    let mut rng = Rng(42);
    let dn = deepnorm::decoder_only(n as u32);
    let (alpha, gain) = match placement {
        Placement::DeepNorm => (dn.alpha_f32(), dn.beta as f32),
        _ => (1.0, 1.0),
    };
    let ln = Norm::layer(1e-5).parallelism(Parallelism::None);
    let mut x: Vec<f32> = (0..TOKENS * WIDTH).map(|_| rng.normal()).collect();
    let mut y = vec![0.0f32; x.len()];
    let mut g = vec![0.0f32; x.len()];
    let none: Option<&[f32]> = None;
    if placement == Placement::PreLn {
        ln.forward(&x, TOKENS, WIDTH, none, none, &mut y).unwrap();
    }
    let mut out = Vec::new();
    for l in 1..=n {
        let layer = Sublayer::new(&mut rng, gain);
        let before = x.clone();
        match placement {
            Placement::PreLn => {
                // y holds LN(h); the sublayer reads it, and the fused step adds its output to
                // the stream and normalizes the stream for the next layer.
                layer.apply(&y, &mut g);
                ln.residual_forward(
                    &mut x,
                    &g,
                    TOKENS,
                    WIDTH,
                    none,
                    none,
                    &mut y,
                    Stats::default(),
                )
                .unwrap();
            }
            Placement::PostLn | Placement::DeepNorm => {
                layer.apply(&x, &mut g);
                ln.add_forward_inplace(
                    &mut x,
                    &g,
                    alpha,
                    TOKENS,
                    WIDTH,
                    none,
                    none,
                    Stats::default(),
                )
                .unwrap();
            }
        }
        if probes.contains(&l) {
            out.push((l, rms(&x), rel_change(&x, &before)));
        }
    }
    out
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1000)
        .clamp(1, 100_000);
    let probes: Vec<usize> = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000]
        .into_iter()
        .filter(|&p| p <= n)
        .chain(std::iter::once(n))
        .collect();
    let dn = deepnorm::decoder_only(n as u32);
    println!(
        "depth_probe: {n} residual sublayers W2 relu(W1 x), width {WIDTH}, hidden {HIDDEN}, {TOKENS} tokens, seed 42"
    );
    println!(
        "DeepNorm (decoder-only, M = {n}): alpha = (2M)^(1/4) = {:.4}, beta = (8M)^(-1/4) = {:.4}",
        dn.alpha, dn.beta
    );
    println!("stream RMS, and relative update |x_(l+1) - x_l| / |x_l| of layer l:");
    println!(
        "{:>6} | {:>10} {:>10} | {:>10} {:>10} | {:>10} {:>10}",
        "layer", "Post-LN", "update", "Pre-LN", "update", "DeepNorm", "update"
    );
    let post = run(Placement::PostLn, n, &probes);
    let pre = run(Placement::PreLn, n, &probes);
    let deep = run(Placement::DeepNorm, n, &probes);
    let mut last = 0;
    for ((a, b), c) in post.iter().zip(&pre).zip(&deep) {
        if a.0 == last {
            continue;
        }
        last = a.0;
        println!(
            "{:>6} | {:>10.3} {:>10.4} | {:>10.3} {:>10.4} | {:>10.3} {:>10.4}",
            a.0, a.1, a.2, b.1, b.2, c.1, c.2
        );
    }
}
