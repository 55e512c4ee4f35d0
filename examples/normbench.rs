//! normbench: the benchmark table of simdnorm.
//!
//! For RMSNorm and LayerNorm, f32/f16/bf16, and transformer-shaped batches, prints the time per
//! call, the throughput in GB/s (bytes of x read plus bytes of y written) and the ratio of that
//! throughput to `copy_from_slice` of the same bytes between the same buffers, measured in the
//! same run (1.0 = copy speed). Buffers are allocated and pre-faulted once per shape; every
//! figure is the median of several timed samples taken after a warm-up, norm and copy samples
//! interleaved.
//!
//! ```text
//! cargo run --release --example normbench                 # the table
//! cargo run --release --example normbench -- --json       # one JSON object per line
//! cargo run --release --example normbench -- --quick      # fewer, shorter samples
//! cargo run --release --example normbench -- --threshold  # where threads start to pay
//! ```

use std::hint::black_box;
use std::time::Instant;

use half::{bf16, f16};
use simdnorm::{Element, Isa, Norm, Parallelism};

struct Opts {
    json: bool,
    quick: bool,
    threshold: bool,
}

fn parse() -> Opts {
    let mut o = Opts {
        json: false,
        quick: false,
        threshold: false,
    };
    for a in std::env::args().skip(1) {
        match a.as_str() {
            "--json" => o.json = true,
            "--quick" => o.quick = true,
            "--threshold" => o.threshold = true,
            "-h" | "--help" => {
                println!("usage: normbench [--json] [--quick] [--threshold]");
                std::process::exit(0);
            }
            other => {
                eprintln!("normbench: unknown argument {other:?} (try --help)");
                std::process::exit(2);
            }
        }
    }
    o
}

/// Median nanoseconds per call of `f`, and of `g`, sampled alternately.
fn time_pair(quick: bool, mut f: impl FnMut(), mut g: impl FnMut()) -> (f64, f64) {
    // Warm up, and size the inner loop so that one sample lasts about `target` seconds.
    let target = if quick { 0.004 } else { 0.015 };
    let samples = if quick { 5 } else { 9 };
    f();
    g();
    let t = Instant::now();
    f();
    let once = t.elapsed().as_secs_f64().max(1e-8);
    let iters = ((target / once) as usize).clamp(1, 1_000_000);
    let mut a = Vec::with_capacity(samples);
    let mut b = Vec::with_capacity(samples);
    for _ in 0..samples {
        let t = Instant::now();
        for _ in 0..iters {
            f();
        }
        a.push(t.elapsed().as_secs_f64() * 1e9 / iters as f64);
        let t = Instant::now();
        for _ in 0..iters {
            g();
        }
        b.push(t.elapsed().as_secs_f64() * 1e9 / iters as f64);
    }
    (median(&mut a), median(&mut b))
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Rms,
    Layer,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Rms => "rms_norm",
            Kind::Layer => "layer_norm",
        }
    }
}

struct Row {
    kernel: &'static str,
    dtype: &'static str,
    rows: usize,
    width: usize,
    isa: Isa,
    threads: usize,
    ns: f64,
    gbps: f64,
    copy_gbps: f64,
}

fn bench<T: Element>(
    o: &Opts,
    kind: Kind,
    rows: usize,
    width: usize,
    isa: Isa,
    par: Parallelism,
) -> Row {
    let n = rows * width;
    let x: Vec<T> = (0..n)
        .map(|i| T::from_f32(((i * 7919) % 1000) as f32 * 0.002 - 1.0))
        .collect();
    let gamma: Vec<T> = (0..width)
        .map(|i| T::from_f32(1.0 + (i % 13) as f32 * 0.01))
        .collect();
    let beta: Vec<T> = (0..width)
        .map(|i| T::from_f32((i % 7) as f32 * 0.01))
        .collect();
    // Pre-faulted output.
    let mut y = vec![T::from_f32(1.0); n];
    let norm = match kind {
        Kind::Rms => Norm::rms(1e-6),
        Kind::Layer => Norm::layer(1e-5),
    }
    .isa(isa)
    .parallelism(par);
    let beta = (kind == Kind::Layer).then_some(&beta[..]);
    let mut y2 = vec![T::from_f32(1.0); n];
    let (ns, copy_ns) = time_pair(
        o.quick,
        || {
            norm.forward(
                black_box(&x),
                rows,
                width,
                Some(&gamma[..]),
                beta,
                black_box(&mut y),
            )
            .unwrap()
        },
        || black_box(&mut y2).copy_from_slice(black_box(&x)),
    );
    let bytes = (2 * n * T::BYTES) as f64;
    let threads = par.blocks(rows, width * T::BYTES);
    Row {
        kernel: kind.name(),
        dtype: T::NAME,
        rows,
        width,
        isa,
        threads,
        ns,
        gbps: bytes / ns,
        copy_gbps: bytes / copy_ns,
    }
}

fn print(o: &Opts, r: &Row) {
    let ratio = r.gbps / r.copy_gbps;
    if o.json {
        println!(
            "{{\"kernel\":\"{}\",\"dtype\":\"{}\",\"rows\":{},\"width\":{},\"isa\":\"{}\",\"threads\":{},\"ns_per_call\":{:.1},\"gbps\":{:.3},\"copy_ratio\":{:.4}}}",
            r.kernel, r.dtype, r.rows, r.width, r.isa, r.threads, r.ns, r.gbps, ratio
        );
    } else {
        println!(
            "{:<10} {:<4} {:>11} {:<6} {:>3} {:>12} {:>9.2} {:>9.2} {:>6.2}",
            r.kernel,
            r.dtype,
            format!("{}x{}", r.rows, r.width),
            r.isa.name(),
            r.threads,
            fmt_ns(r.ns),
            r.gbps,
            r.copy_gbps,
            ratio
        );
    }
}

fn fmt_ns(ns: f64) -> String {
    if ns < 1e3 {
        format!("{ns:.0} ns")
    } else if ns < 1e6 {
        format!("{:.2} us", ns / 1e3)
    } else {
        format!("{:.2} ms", ns / 1e6)
    }
}

const SHAPES: [(usize, usize); 5] = [(1, 4096), (16, 4096), (512, 768), (4096, 128), (2048, 4096)];

fn table(o: &Opts) {
    let best = Isa::detect();
    let mut isas = vec![best];
    if best != Isa::Scalar {
        isas.push(Isa::Scalar);
    }
    if !o.json {
        println!(
            "simdnorm normbench: detected {best}, {} rayon threads; GB/s = bytes of x read + y written",
            rayon::current_num_threads()
        );
        println!(
            "{:<10} {:<4} {:>11} {:<6} {:>3} {:>12} {:>9} {:>9} {:>6}",
            "kernel",
            "type",
            "rows x width",
            "isa",
            "thr",
            "time/call",
            "GB/s",
            "copy GB/s",
            "ratio"
        );
    }
    for kind in [Kind::Rms, Kind::Layer] {
        for &(rows, width) in &SHAPES {
            for dtype in ["f32", "f16", "bf16"] {
                let mut runs: Vec<(Isa, Parallelism)> =
                    isas.iter().map(|&i| (i, Parallelism::None)).collect();
                if rayon::current_num_threads() > 1 && Parallelism::Auto.blocks(rows, width * 2) > 1
                {
                    runs.push((best, Parallelism::Auto));
                }
                for (isa, par) in runs {
                    let r = match dtype {
                        "f32" => bench::<f32>(o, kind, rows, width, isa, par),
                        "f16" => bench::<f16>(o, kind, rows, width, isa, par),
                        _ => bench::<bf16>(o, kind, rows, width, isa, par),
                    };
                    print(o, &r);
                }
            }
        }
    }
}

/// Time per call of RMSNorm f32 on one thread and on the whole pool (forced split), for batch
/// sizes from 16 KiB to 32 MiB: the crossover is where `PAR_MIN_BYTES` belongs.
fn threshold(o: &Opts) {
    let width = 4096;
    println!(
        "{:>6} {:>10} {:>12} {:>12} {:>8}",
        "rows", "bytes", "1 thread", "pool", "speedup"
    );
    for rows in [1usize, 2, 4, 8, 16, 32, 64, 128, 256, 512, 2048] {
        let n = rows * width;
        let x: Vec<f32> = (0..n).map(|i| (i % 101) as f32).collect();
        let mut y = vec![1.0f32; n];
        let mut y2 = vec![1.0f32; n];
        let one = Norm::rms(1e-6).parallelism(Parallelism::None);
        let all = Norm::rms(1e-6).parallelism(Parallelism::Rayon(0));
        let (t1, tn) = time_pair(
            o.quick,
            || {
                one.forward(&x, rows, width, None::<&[f32]>, None, &mut y)
                    .unwrap()
            },
            || {
                all.forward(&x, rows, width, None::<&[f32]>, None, &mut y2)
                    .unwrap()
            },
        );
        println!(
            "{:>6} {:>10} {:>12} {:>12} {:>8.2}",
            rows,
            n * 4,
            fmt_ns(t1),
            fmt_ns(tn),
            t1 / tn
        );
    }
}

fn main() {
    let o = parse();
    if o.threshold {
        threshold(&o);
    } else {
        table(&o);
    }
}
