//! rowtime: the best time per call of RMSNorm and LayerNorm over batches of short and mid-length
//! rows (4096x64 to 16x4096), one thread, the detected path, every buffer on a 64-byte line.
//!
//! For A/B comparisons of two builds of the kernels, where normbench's medians move too much on
//! a shared VM: build each version, then run the two binaries alternately a few times and
//! compare the minimum (docs/PERFORMANCE.md does so). A sample is a batch of calls that
//! together read and write about 4 MB (one call for a larger shape, at most 2000 calls); the
//! figure is the best time per call over as many samples as the first argument says.
//!
//! ```text
//! cargo run --release --example rowtime                 # 300 samples a shape, both kinds
//! cargo run --release --example rowtime -- 100 rms      # 100 samples, RMSNorm only
//! cargo run --release --example rowtime -- 20 rms 8192x4096   # one shape (any rows x width)
//! cargo run --release --example rowtime -- 300 pre-rms      # fused Pre-LN RMSNorm (h += d)
//! cargo run --release --example rowtime -- 300 post-layer   # fused Post-LN LayerNorm
//! cargo run --release --example rowtime -- 300 layer 1x4096 f32   # one shape, one type
//! ```
//!
//! The second argument is `rms` or `layer` (the plain norm), or one of them after `pre-`
//! (`residual_forward`) or `post-` (`add_forward`, alpha 1); without it, both plain norms.

use std::hint::black_box;
use std::time::Instant;

use half::{bf16, f16};
use simdnorm::{Element, Norm, Parallelism};

#[path = "shared/buf.rs"]
mod buf;
use buf::Buf;

/// How the kernel is called: the plain norm, or a fused residual form.
#[derive(Clone, Copy, PartialEq)]
enum Form {
    Plain,
    Pre,
    Post,
}

/// Prints the best time per call of one kernel on `rows` x `width` rows of `T`, weights `W`.
fn case<T: Element, W: Element>(
    name: &str,
    form: Form,
    layer: bool,
    (rows, width): (usize, usize),
    reps: usize,
) {
    let n = rows * width;
    let xs: Vec<T> = (0..n)
        .map(|i| T::from_f32((i * 7919 % 1000) as f32 / 500.0 - 0.7))
        .collect();
    let gs: Vec<W> = (0..width)
        .map(|i| W::from_f32(1.0 + (i % 13) as f32 / 50.0))
        .collect();
    let bs: Vec<W> = (0..width)
        .map(|i| W::from_f32((i % 7) as f32 / 30.0))
        .collect();
    let x = Buf::new(xs);
    let g = Buf::new(gs);
    let b = Buf::new(bs);
    // The residual branch: small, so that Pre-LN's stream drifts little over the samples.
    let ds = Buf::new(
        (0..n)
            .map(|i| T::from_f32((i % 17) as f32 * 1e-4))
            .collect(),
    );
    let mut h = Buf::new(x.to_vec());
    let mut y = Buf::filled(T::from_f32(0.0), n);
    let gamma = Some(&g[..]);
    let beta = layer.then_some(&b[..]);
    let norm = if layer {
        Norm::layer(1e-5)
    } else {
        Norm::rms(1e-6)
    }
    .parallelism(Parallelism::None);
    let bytes = 2 * n * T::BYTES;
    let inner = (4_000_000 / bytes).clamp(1, 2000);
    let mut best = f64::INFINITY;
    for _ in 0..reps {
        let t = Instant::now();
        for _ in 0..inner {
            let (y, stats) = (black_box(&mut y[..]), Default::default());
            match form {
                Form::Plain => norm.forward(black_box(&x[..]), rows, width, gamma, beta, y),
                Form::Pre => {
                    norm.residual_forward(&mut h[..], &ds, rows, width, gamma, beta, y, stats)
                }
                Form::Post => {
                    norm.add_forward(&x[..], &ds, 1.0, rows, width, gamma, beta, y, stats)
                }
            }
            .expect("valid shapes");
        }
        best = best.min(t.elapsed().as_secs_f64() / inner as f64);
    }
    let kind = match (form, layer) {
        (Form::Plain, false) => "rms",
        (Form::Plain, true) => "layer",
        (Form::Pre, false) => "pre-rms",
        (Form::Pre, true) => "pre-layer",
        (Form::Post, false) => "post-rms",
        (Form::Post, true) => "post-layer",
    };
    println!(
        "{kind:<10} {name:<10} {rows:>5}x{width:<5} {:>10.3} us",
        best * 1e6
    );
}

fn main() {
    let mut args = std::env::args().skip(1);
    let reps: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(300);
    let only = args.next().unwrap_or_default();
    let shape = args.next().map(|s| {
        let (r, w) = s.split_once('x').expect("a shape is ROWSxWIDTH");
        (
            r.parse::<usize>().expect("rows"),
            w.parse::<usize>().expect("width"),
        )
    });
    // A fourth argument keeps one type: f32, f16, bf16 or bf16/w32 (for a profile of one).
    let types = args.next().unwrap_or_default();
    println!("rowtime: {}, best of {reps} samples", simdnorm::isa());
    let (form, kind) = match only.split_once('-') {
        Some(("pre", k)) => (Form::Pre, k),
        Some(("post", k)) => (Form::Post, k),
        _ => (Form::Plain, only.as_str()),
    };
    for layer in [false, true] {
        if (kind == "rms" && layer) || (kind == "layer" && !layer) {
            continue;
        }
        let shapes = match shape {
            Some(s) => vec![s],
            None => vec![
                (4096, 128),
                (4096, 64),
                (4096, 100),
                (2048, 256),
                (1024, 512),
                (512, 768),
                (16, 4096),
            ],
        };
        for &(rows, width) in &shapes {
            let s = (rows, width);
            let on = |name: &str| types.is_empty() || types == name;
            if on("f32") {
                case::<f32, f32>("f32", form, layer, s, reps);
            }
            if on("f16") {
                case::<f16, f16>("f16", form, layer, s, reps);
            }
            if on("bf16") {
                case::<bf16, bf16>("bf16", form, layer, s, reps);
            }
            if on("bf16/w32") {
                case::<bf16, f32>("bf16/w32", form, layer, s, reps);
            }
        }
    }
}
