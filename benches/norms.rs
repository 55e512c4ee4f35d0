//! Criterion benchmarks: RMSNorm and LayerNorm per element type, one id per path and shape,
//! throughput counted as bytes of x read plus bytes of y written (as normbench counts).
//!
//! `cargo bench --bench norms` (all); `cargo bench --bench norms -- rms_norm/f16` (a group);
//! `cargo bench --bench norms --features bench-peers` adds candle's CPU op as id `candle`.
//! From the workspace's root: the benches are the package `simdnorm-benches` (benches/Cargo.toml),
//! so that simdnorm's own test builds never compile criterion.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use half::{bf16, f16};
use simdnorm::{Element, Isa, Norm, Parallelism};
use std::hint::black_box;

#[cfg(feature = "bench-peers")]
#[path = "peers/candle.rs"]
mod peer_candle;

const SHAPES: [(usize, usize); 5] = [(1, 4096), (16, 4096), (512, 768), (4096, 128), (2048, 4096)];

fn group<T: Element>(c: &mut Criterion, kernel: &str) {
    let mut g = c.benchmark_group(format!("{kernel}/{}", T::NAME));
    for &(rows, width) in &SHAPES {
        let n = rows * width;
        let x: Vec<T> = (0..n)
            .map(|i| T::from_f32((i % 1000) as f32 * 0.002 - 1.0))
            .collect();
        let gamma: Vec<T> = (0..width)
            .map(|i| T::from_f32(1.0 + (i % 13) as f32 * 0.01))
            .collect();
        let beta: Vec<T> = vec![T::from_f32(0.5); width];
        let mut y = vec![T::from_f32(1.0); n];
        g.throughput(Throughput::Bytes((2 * n * T::BYTES) as u64));
        g.bench_function(BenchmarkId::new("copy", format!("{rows}x{width}")), |b| {
            b.iter(|| black_box(&mut y).copy_from_slice(black_box(&x)))
        });
        for isa in Isa::available() {
            let norm = if kernel == "rms_norm" {
                Norm::rms(1e-6)
            } else {
                Norm::layer(1e-5)
            }
            .isa(isa)
            .parallelism(Parallelism::None);
            let beta = (kernel == "layer_norm").then_some(&beta[..]);
            g.bench_function(
                BenchmarkId::new(isa.name(), format!("{rows}x{width}")),
                |b| {
                    b.iter(|| {
                        norm.forward(
                            black_box(&x),
                            rows,
                            width,
                            Some(&gamma[..]),
                            beta,
                            black_box(&mut y),
                        )
                        .unwrap()
                    })
                },
            );
        }
        #[cfg(feature = "bench-peers")]
        {
            // candle on one thread, as the simdnorm ids above (it spreads rows with rayon).
            let b = (kernel == "layer_norm").then_some(&beta[..]);
            let eps = if b.is_some() { 1e-5 } else { 1e-6 };
            let c = peer_candle::Candle::new(&x, rows, width, &gamma, b, eps);
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(1)
                .build()
                .unwrap();
            g.bench_function(
                BenchmarkId::new("candle", format!("{rows}x{width}")),
                |bch| pool.install(|| bch.iter(|| black_box(c.run()))),
            );
        }
    }
    g.finish();
}

fn benches(c: &mut Criterion) {
    for kernel in ["rms_norm", "layer_norm"] {
        group::<f32>(c, kernel);
        group::<f16>(c, kernel);
        group::<bf16>(c, kernel);
    }
}

criterion_group! {
    name = norms;
    config = Criterion::default().sample_size(20).warm_up_time(std::time::Duration::from_millis(300)).measurement_time(std::time::Duration::from_secs(1));
    targets = benches
}
criterion_main!(norms);
