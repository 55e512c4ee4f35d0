//! normbench: the benchmark table of simdnorm.
//!
//! For RMSNorm and LayerNorm, f32/f16/bf16, and transformer-shaped batches, prints the time per
//! call, the throughput in GB/s (bytes of x read plus bytes of y written) and the ratio of that
//! throughput to `copy_from_slice` of the same bytes between the same buffers, measured in the
//! same run on as many threads as the norm (1.0 = copy speed), then the thread scaling of both.
//! Buffers are allocated and pre-faulted once per shape, each starting on a 64-byte line as
//! inference engines place tensors (PyTorch's CPU allocator aligns to 64 bytes, ggml and GGUF
//! to 32); `--offset B` starts every buffer `B` bytes past a line instead (`--offset 16` is
//! where a plain `Vec<f32>` usually starts). Every figure is the median of several timed
//! samples taken after a warm-up, norm and copy samples interleaved.
//!
//! ```text
//! cargo run --release --example normbench                 # the table
//! cargo run --release --example normbench -- --json       # one JSON object per line
//! cargo run --release --example normbench -- --quick      # fewer, shorter samples
//! cargo run --release --example normbench -- --threshold  # where threads start to pay
//! cargo run --release --example normbench -- --bounds     # the sweeps alone; the kernel / them
//! SIMDNORM_ISA=avx2 cargo run --release --example normbench -- --bounds   # AVX2's floors
//! cargo run --release --example normbench -- --offset 16  # buffers 16 bytes past a line
//! cargo run --release --example normbench -- --svg docs/throughput.svg   # the chart
//! cargo run --release --example normbench --features bench-peers   # also candle, per row
//! ```

use std::hint::black_box;
use std::sync::atomic::Ordering;
use std::time::Instant;

use half::{bf16, f16};
use simdnorm::{Element, Isa, Norm, Parallelism};

#[cfg(feature = "bench-peers")]
#[path = "../benches/peers/candle.rs"]
mod peer_candle;

#[path = "shared/buf.rs"]
mod buf;
use buf::{Buf, OFFSET};

struct Opts {
    json: bool,
    quick: bool,
    threshold: bool,
    bounds: bool,
    svg: Option<String>,
}

/// The naive scalar loop the speed-up column compares with: what a first implementation
/// writes (element by element, f32, two passes for LayerNorm's statistics).
fn naive<T: Element>(kind: Kind, x: &[T], width: usize, gamma: &[T], beta: &[T], y: &mut [T]) {
    for (xr, yr) in x.chunks_exact(width).zip(y.chunks_exact_mut(width)) {
        let n = width as f32;
        match kind {
            Kind::Rms => {
                let ss: f32 = xr.iter().map(|v| v.to_f32() * v.to_f32()).sum();
                let r = 1.0 / (ss / n + 1e-6).sqrt();
                for i in 0..width {
                    yr[i] = T::from_f32(xr[i].to_f32() * r * gamma[i].to_f32());
                }
            }
            Kind::Layer => {
                let mean: f32 = xr.iter().map(|v| v.to_f32()).sum::<f32>() / n;
                let var: f32 = xr.iter().map(|v| (v.to_f32() - mean).powi(2)).sum::<f32>() / n;
                let r = 1.0 / (var + 1e-5).sqrt();
                for i in 0..width {
                    yr[i] = T::from_f32(
                        (xr[i].to_f32() - mean) * r * gamma[i].to_f32() + beta[i].to_f32(),
                    );
                }
            }
        }
    }
}

fn parse() -> Opts {
    let mut o = Opts {
        json: false,
        quick: false,
        threshold: false,
        bounds: false,
        svg: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--json" => o.json = true,
            "--quick" => o.quick = true,
            "--threshold" => o.threshold = true,
            "--bounds" => o.bounds = true,
            "--offset" => match args.next().and_then(|b| b.parse::<usize>().ok()) {
                Some(b) if b < 64 && b % 4 == 0 => OFFSET.store(b, Ordering::Relaxed),
                _ => {
                    eprintln!("normbench: --offset needs a byte count 0, 4, 8, ... 60");
                    std::process::exit(2);
                }
            },
            "--svg" => match args.next() {
                Some(path) => o.svg = Some(path),
                None => {
                    eprintln!("normbench: --svg needs a file name");
                    std::process::exit(2);
                }
            },
            "-h" | "--help" => {
                println!(
                    "usage: normbench [--json] [--quick] [--threshold] [--bounds] [--offset B] [--svg FILE]"
                );
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
    let target = if quick { 0.002 } else { 0.01 };
    let samples = if quick { 3 } else { 7 };
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

/// Whether candle is compiled in (`--features bench-peers`).
const PEERS: bool = cfg!(feature = "bench-peers");

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

    /// The norm every table times for this kind (RMSNorm eps 1e-6, LayerNorm 1e-5), on the
    /// detected path with the default threading until the caller says otherwise.
    fn norm(self) -> Norm {
        match self {
            Kind::Rms => Norm::rms(1e-6),
            Kind::Layer => Norm::layer(1e-5),
        }
    }
}

struct Row {
    naive_ns: Option<f64>,
    /// candle's time per call on the same inputs and thread count (`bench-peers` only).
    peer_ns: Option<f64>,
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

/// Buffers of one shape, allocated and pre-faulted once and shared by every measurement of it.
struct Bufs<T> {
    x: Buf<T>,
    gamma: Buf<T>,
    beta: Buf<T>,
    y: Buf<T>,
    y2: Buf<T>,
}

impl<T: Element> Bufs<T> {
    fn new(rows: usize, width: usize) -> Self {
        let n = rows * width;
        Bufs {
            x: Buf::new(
                (0..n)
                    .map(|i| T::from_f32(((i * 7919) % 1000) as f32 * 0.002 - 1.0))
                    .collect(),
            ),
            gamma: Buf::new(
                (0..width)
                    .map(|i| T::from_f32(1.0 + (i % 13) as f32 * 0.01))
                    .collect(),
            ),
            beta: Buf::new(
                (0..width)
                    .map(|i| T::from_f32((i % 7) as f32 * 0.01))
                    .collect(),
            ),
            y: Buf::filled(T::from_f32(1.0), n),
            y2: Buf::filled(T::from_f32(1.0), n),
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn bench<T: Element>(
    o: &Opts,
    b: &mut Bufs<T>,
    kind: Kind,
    rows: usize,
    width: usize,
    isa: Isa,
    par: Parallelism,
    with_naive: bool,
    with_peer: bool,
) -> Row {
    let n = rows * width;
    let norm = kind.norm().isa(isa).parallelism(par);
    let Bufs {
        x,
        gamma,
        beta,
        y,
        y2,
    } = b;
    let beta_opt = (kind == Kind::Layer).then_some(&beta[..]);
    let threads = par.blocks(rows, width * T::BYTES);
    // The copy runs on as many threads as the norm, each copying one contiguous block of
    // rows, so that a row of the default threading is compared with what the same threads
    // can move (the two-thread copy is the memory's limit for the thread-scaling target). It
    // is handed to the pool as the norm's blocks are: this thread copies the first block, the
    // pool the others.
    let block = rows.div_ceil(threads) * width;
    let (ns, copy_ns) = time_pair(
        o.quick,
        || {
            norm.forward(
                black_box(&x[..]),
                rows,
                width,
                Some(&gamma[..]),
                beta_opt,
                black_box(&mut y[..]),
            )
            .unwrap()
        },
        || {
            if threads == 1 {
                black_box(&mut y2[..]).copy_from_slice(black_box(&x[..]));
            } else {
                let mut pairs = y2.chunks_mut(block).zip(x.chunks(block));
                let (d0, s0) = pairs.next().expect("a first block");
                rayon::in_place_scope(|sc| {
                    for (d, s) in pairs {
                        sc.spawn(move |_| black_box(d).copy_from_slice(black_box(s)));
                    }
                    black_box(d0).copy_from_slice(black_box(s0));
                });
            }
        },
    );
    let naive_ns = with_naive.then(|| {
        time_pair(
            true,
            || {
                naive(
                    kind,
                    black_box(&x[..]),
                    width,
                    &gamma[..],
                    &beta[..],
                    black_box(&mut y[..]),
                )
            },
            || {},
        )
        .0
    });
    let bytes = (2 * n * T::BYTES) as f64;
    let peer_ns = if with_peer {
        peer_time(o, kind, &x[..], rows, width, &gamma[..], &beta[..], threads)
    } else {
        None
    };
    Row {
        naive_ns,
        peer_ns,
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

/// candle's time per call on the same values, on one thread (a one-thread rayon pool: candle
/// spreads rows with rayon) or on the whole global pool. `None` without `bench-peers`.
#[allow(clippy::too_many_arguments)]
fn peer_time<T: Element>(
    o: &Opts,
    kind: Kind,
    x: &[T],
    rows: usize,
    width: usize,
    gamma: &[T],
    beta: &[T],
    threads: usize,
) -> Option<f64> {
    #[cfg(feature = "bench-peers")]
    {
        let (eps, b) = match kind {
            Kind::Rms => (1e-6, None),
            Kind::Layer => (1e-5, Some(beta)),
        };
        let c = peer_candle::Candle::new(x, rows, width, gamma, b, eps);
        let time = || time_pair(o.quick, || drop(black_box(c.run())), || {}).0;
        Some(if threads == 1 {
            one_thread_pool().install(time)
        } else {
            time()
        })
    }
    #[cfg(not(feature = "bench-peers"))]
    {
        let _ = (o, kind, x, rows, width, gamma, beta, threads);
        None
    }
}

#[cfg(feature = "bench-peers")]
fn one_thread_pool() -> &'static rayon::ThreadPool {
    static POOL: std::sync::OnceLock<rayon::ThreadPool> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .expect("one-thread pool")
    })
}

fn print(o: &Opts, r: &Row) {
    let ratio = r.gbps / r.copy_gbps;
    let speedup = r.naive_ns.map(|n| n / r.ns);
    let vs_peer = r.peer_ns.map(|n| n / r.ns);
    if o.json {
        // `peer`/`speedup`: candle when measured, else the naive loop.
        let sp = match (vs_peer, speedup) {
            (Some(p), naive) => format!(
                ",\"peer\":\"candle\",\"peer_ns_per_call\":{:.1},\"speedup\":{p:.2}{}",
                r.peer_ns.unwrap_or(0.0),
                naive.map_or(String::new(), |s| format!(",\"naive_speedup\":{s:.2}"))
            ),
            (None, Some(s)) => format!(",\"peer\":\"naive\",\"speedup\":{s:.2}"),
            (None, None) => String::new(),
        };
        println!(
            "{{\"kernel\":\"{}\",\"dtype\":\"{}\",\"rows\":{},\"width\":{},\"isa\":\"{}\",\"threads\":{},\"ns_per_call\":{:.1},\"gbps\":{:.3},\"copy_ratio\":{:.4}{}}}",
            r.kernel, r.dtype, r.rows, r.width, r.isa, r.threads, r.ns, r.gbps, ratio, sp
        );
    } else {
        println!(
            "{:<10} {:<4} {:>11} {:<6} {:>3} {:>12} {:>9.2} {:>9.2} {:>6.2} {:>8}{}",
            r.kernel,
            r.dtype,
            format!("{}x{}", r.rows, r.width),
            r.isa.name(),
            r.threads,
            fmt_ns(r.ns),
            r.gbps,
            r.copy_gbps,
            ratio,
            speedup.map_or(String::new(), |s| format!("{s:.1}x")),
            if PEERS {
                format!(
                    " {:>9}",
                    vs_peer.map_or(String::new(), |s| format!("{s:.1}x"))
                )
            } else {
                String::new()
            },
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

/// In cache: one token, a decode batch, a prefill chunk of BERT-base width, QK-norm rows;
/// out of cache: a long prefill (2048 and 8192 tokens of a 4096-wide model).
const SHAPES: [(usize, usize); 8] = [
    (1, 4096),
    (1, 8192),
    (16, 4096),
    (128, 4096),
    (512, 768),
    (4096, 128),
    (2048, 4096),
    (8192, 4096),
];
const QUICK_SHAPES: [(usize, usize); 4] = [(1, 4096), (16, 4096), (4096, 128), (2048, 4096)];

fn table(o: &Opts) {
    let best = Isa::detect();
    let isas = Isa::available();
    if !o.json {
        println!(
            "simdnorm normbench: detected {best}{}, {} rayon threads; GB/s = bytes of x read + y written; \
             ratio = GB/s / copy GB/s (same bytes, same buffers, same run); vs naive = speed-up over a \
             scalar loop{}",
            avx512_bf16_note(),
            rayon::current_num_threads(),
            if PEERS {
                "; vs candle = speed-up over candle-nn's CPU op, same inputs, same threads"
            } else {
                ""
            }
        );
        println!(
            "{:<10} {:<4} {:>11} {:<6} {:>3} {:>12} {:>9} {:>9} {:>6} {:>8}{}",
            "kernel",
            "type",
            "rows x width",
            "isa",
            "thr",
            "time/call",
            "GB/s",
            "copy GB/s",
            "ratio",
            "vs naive",
            if PEERS { " vs candle" } else { "" }
        );
    }
    let shapes: &[(usize, usize)] = if o.quick { &QUICK_SHAPES } else { &SHAPES };
    let mut scaling = Vec::new();
    for kind in [Kind::Rms, Kind::Layer] {
        for &(rows, width) in shapes {
            for dtype in ["f32", "f16", "bf16"] {
                scaling.extend(match dtype {
                    "f32" => shape::<f32>(o, kind, rows, width, &isas, best),
                    "f16" => shape::<f16>(o, kind, rows, width, &isas, best),
                    _ => shape::<bf16>(o, kind, rows, width, &isas, best),
                });
            }
        }
    }
    if !o.json && !scaling.is_empty() {
        println!(
            "\nthread scaling, {best}: time on one thread / time with the default threading, for \
             the norm and for the copy (split into the same blocks of rows on the same threads)"
        );
        println!(
            "{:<10} {:<4} {:>11} {:>3} {:>7} {:>7}",
            "kernel", "type", "rows x width", "thr", "norm", "copy"
        );
        for (one, all) in &scaling {
            println!(
                "{:<10} {:<4} {:>11} {:>3} {:>6.2}x {:>6.2}x",
                one.kernel,
                one.dtype,
                format!("{}x{}", one.rows, one.width),
                all.threads,
                one.ns / all.ns,
                all.copy_gbps / one.copy_gbps
            );
        }
    }
}

/// Measures one shape and prints its rows; returns the detected path's one-thread row and its
/// row with the default threading where that uses more than one thread.
fn shape<T: Element>(
    o: &Opts,
    kind: Kind,
    rows: usize,
    width: usize,
    isas: &[Isa],
    best: Isa,
) -> Option<(Row, Row)> {
    let mut b = Bufs::<T>::new(rows, width);
    let mut one = None;
    // Every path on one thread (the naive loop measured once, with the first), then the
    // detected path with the default threading, which uses the pool only for large batches.
    let skip_scalar = o.quick || rows * width > 8 << 20;
    for (k, &isa) in isas.iter().enumerate() {
        if isa == Isa::Scalar && skip_scalar && isa != best {
            continue;
        }
        let r = bench(
            o,
            &mut b,
            kind,
            rows,
            width,
            isa,
            Parallelism::None,
            k == 0,
            k == 0,
        );
        print(o, &r);
        if isa == best {
            one = Some(r);
        }
    }
    // (Skipped where the default keeps the batch on one thread: it is the first row again.)
    if rayon::current_num_threads() > 1 && Parallelism::Auto.blocks(rows, width * T::BYTES) > 1 {
        let r = bench(
            o,
            &mut b,
            kind,
            rows,
            width,
            best,
            Parallelism::Auto,
            false,
            true,
        );
        print(o, &r);
        return one.map(|one| (one, r));
    }
    None
}

/// Time per call of RMSNorm f32 on one thread and on the whole pool (forced split), for batch
/// sizes from 16 KiB to 32 MiB: where two threads start to win, each thread's half is where
/// `PAR_MIN_BYTES` (the least input a thread gets) belongs.
fn threshold(o: &Opts) {
    let width = 4096;
    println!(
        "{:>6} {:>10} {:>12} {:>12} {:>8}",
        "rows", "bytes", "1 thread", "pool", "speedup"
    );
    for rows in [1usize, 2, 4, 8, 16, 32, 64, 128, 256, 512, 2048] {
        let n = rows * width;
        let x = Buf::new((0..n).map(|i| (i % 101) as f32).collect());
        let mut y = Buf::filled(1.0f32, n);
        let mut y2 = Buf::filled(1.0f32, n);
        let one = Kind::Rms.norm().parallelism(Parallelism::None);
        let all = Kind::Rms.norm().parallelism(Parallelism::Rayon(0));
        let (t1, tn) = time_pair(
            o.quick,
            || {
                one.forward(&x[..], rows, width, None::<&[f32]>, None, &mut y[..])
                    .unwrap()
            },
            || {
                all.forward(&x[..], rows, width, None::<&[f32]>, None, &mut y2[..])
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

/// The fused residual kernels against the unfused sequence of calls they replace: Pre-LN
/// (`h += d` as a separate loop, then the norm of `h`) and Post-LN (`t = x + d` into a
/// temporary, then the norm of `t`). One thread, the detected path.
fn fused_table(o: &Opts) {
    if !o.json {
        println!();
        println!(
            "fused residual kernels vs the unfused calls they replace (1 thread, {}):",
            Isa::detect()
        );
        println!(
            "{:<10} {:<7} {:<5} {:>11} {:>12} {:>12} {:>8}",
            "kernel", "form", "type", "rows x width", "fused", "unfused", "speedup"
        );
    }
    let shapes: &[(usize, usize)] = if o.quick {
        &[(16, 4096), (2048, 4096)]
    } else {
        &[(16, 4096), (512, 768), (4096, 128), (2048, 4096)]
    };
    for kind in [Kind::Rms, Kind::Layer] {
        for &(rows, width) in shapes {
            fused_row::<f32>(o, kind, rows, width);
            fused_row::<bf16>(o, kind, rows, width);
        }
    }
}

fn fused_row<T: Element>(o: &Opts, kind: Kind, rows: usize, width: usize) {
    let n = rows * width;
    let mut b = Bufs::<T>::new(rows, width);
    let d = Buf::new(
        (0..n)
            .map(|i| T::from_f32((i % 17) as f32 * 1e-3))
            .collect(),
    );
    let mut t = Buf::filled(T::from_f32(0.0), n);
    let norm = kind.norm().parallelism(Parallelism::None);
    let Bufs {
        x,
        gamma,
        beta,
        y,
        y2,
    } = &mut b;
    let beta = (kind == Kind::Layer).then_some(&beta[..]);
    let g = Some(&gamma[..]);
    // Pre-LN. (The stream drifts by d each call; the values stay small over the timed calls.)
    let mut h = x.clone();
    let mut h2 = x.clone();
    let (fused, unfused) = time_pair(
        o.quick,
        || {
            norm.residual_forward(
                black_box(&mut h),
                &d,
                rows,
                width,
                g,
                beta,
                black_box(&mut y[..]),
                Default::default(),
            )
            .unwrap()
        },
        || {
            for (a, e) in h2.iter_mut().zip(d.iter()) {
                *a = T::from_f32(a.to_f32() + e.to_f32());
            }
            norm.forward(
                black_box(&h2[..]),
                rows,
                width,
                g,
                beta,
                black_box(&mut t[..]),
            )
            .unwrap()
        },
    );
    report(o, kind, "pre-ln", T::NAME, rows, width, fused, unfused);
    // Post-LN.
    let (fused, unfused) = time_pair(
        o.quick,
        || {
            norm.add_forward(
                black_box(&x[..]),
                &d,
                1.0,
                rows,
                width,
                g,
                beta,
                black_box(&mut y[..]),
                Default::default(),
            )
            .unwrap()
        },
        || {
            for ((a, e), s) in x.iter().zip(d.iter()).zip(t.iter_mut()) {
                *s = T::from_f32(a.to_f32() + e.to_f32());
            }
            norm.forward(
                black_box(&t[..]),
                rows,
                width,
                g,
                beta,
                black_box(&mut y2[..]),
            )
            .unwrap()
        },
    );
    report(o, kind, "post-ln", T::NAME, rows, width, fused, unfused);
}

#[allow(clippy::too_many_arguments)]
fn report(
    o: &Opts,
    kind: Kind,
    form: &str,
    dtype: &str,
    rows: usize,
    width: usize,
    fused: f64,
    unfused: f64,
) {
    if o.json {
        println!(
            "{{\"kernel\":\"{}\",\"form\":\"{form}\",\"dtype\":\"{dtype}\",\"rows\":{rows},\"width\":{width},\"isa\":\"{}\",\"threads\":1,\"ns_per_call\":{fused:.1},\"peer\":\"unfused\",\"peer_ns_per_call\":{unfused:.1},\"speedup\":{:.2}}}",
            kind.name(),
            Isa::detect(),
            unfused / fused
        );
    } else {
        println!(
            "{:<10} {:<7} {:<5} {:>11} {:>12} {:>12} {:>7.2}x",
            kind.name(),
            form,
            dtype,
            format!("{rows}x{width}"),
            fmt_ns(fused),
            fmt_ns(unfused),
            unfused / fused
        );
    }
}

/// Row widths of the chart: 32 to 16384 f32 elements.
const CHART_WIDTHS: [usize; 10] = [32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384];
/// Elements per batch in the chart: 256 KiB of f32 in, 256 KiB out (in L2 on most CPUs), so
/// the chart shows the kernels' speed rather than the memory's.
const CHART_ELEMS: usize = 1 << 16;

/// One line of the chart: a name and GB/s per width of [`CHART_WIDTHS`].
struct Series {
    name: String,
    gbps: Vec<f64>,
}

/// Measures GB/s against row width (f32, one thread, every path, the copy, and candle with
/// `bench-peers`), prints the figures, and draws them into an SVG file: one panel per kernel.
fn chart(o: &Opts, path: &str) {
    let isas = Isa::available();
    let mut panels = Vec::new();
    println!("GB/s by row width, f32, 1 thread, {CHART_ELEMS} elements a batch; written to {path}");
    for kind in [Kind::Rms, Kind::Layer] {
        let mut lines: Vec<Series> = isas
            .iter()
            .map(|i| Series {
                name: format!("simdnorm {i}"),
                gbps: Vec::new(),
            })
            .collect();
        let mut copy = Series {
            name: "copy".into(),
            gbps: Vec::new(),
        };
        let mut peer = Series {
            name: "candle".into(),
            gbps: Vec::new(),
        };
        for &width in &CHART_WIDTHS {
            let rows = (CHART_ELEMS / width).max(1);
            let mut b = Bufs::<f32>::new(rows, width);
            let mut copies = Vec::new();
            for (k, &isa) in isas.iter().enumerate() {
                let r = bench(
                    o,
                    &mut b,
                    kind,
                    rows,
                    width,
                    isa,
                    Parallelism::None,
                    false,
                    k == 0,
                );
                lines[k].gbps.push(r.gbps);
                copies.push(r.copy_gbps);
                if let Some(p) = r.peer_ns {
                    peer.gbps.push(r.gbps * r.ns / p);
                }
            }
            copy.gbps.push(median(&mut copies));
        }
        print!("{:<10} {:<16}", kind.name(), "width");
        CHART_WIDTHS.iter().for_each(|w| print!(" {w:>7}"));
        println!();
        lines.push(copy);
        if !peer.gbps.is_empty() {
            lines.push(peer);
        }
        for l in &lines {
            print!("{:<10} {:<16}", "", l.name);
            l.gbps.iter().for_each(|g| print!(" {g:>7.1}"));
            println!();
        }
        panels.push((kind, lines));
    }
    if let Err(e) = draw(path, &panels) {
        eprintln!("normbench: could not write {path}: {e}");
        std::process::exit(1);
    }
}

fn draw(path: &str, panels: &[(Kind, Vec<Series>)]) -> Result<(), Box<dyn std::error::Error>> {
    use plotters::prelude::*;
    let root = SVGBackend::new(path, (1200, 460)).into_drawing_area();
    root.fill(&WHITE)?;
    let cpu = cpu_name();
    let root = root.titled(
        &format!("simdnorm f32 throughput, 1 thread ({cpu}; normbench --svg)"),
        ("sans-serif", 20),
    )?;
    let areas = root.split_evenly((1, panels.len()));
    let colors = [RED, BLUE, GREEN, MAGENTA, CYAN];
    for (area, (kind, lines)) in areas.iter().zip(panels) {
        let top = lines
            .iter()
            .flat_map(|l| l.gbps.iter().copied())
            .fold(0.0, f64::max)
            * 1.45; // headroom above the copy line for the legend
        let mut c = ChartBuilder::on(area)
            .caption(kind.name(), ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(
                (CHART_WIDTHS[0] as f64..*CHART_WIDTHS.last().unwrap() as f64).log_scale(),
                0.0..top,
            )?;
        c.configure_mesh()
            .x_desc("row width (f32 elements)")
            .y_desc("GB/s (x read + y written)")
            .x_label_formatter(&|w| format!("{}", w.round() as usize))
            .draw()?;
        for (k, l) in lines.iter().enumerate() {
            let color = if l.name == "copy" {
                BLACK
            } else {
                colors[k % colors.len()]
            };
            let pts = CHART_WIDTHS
                .iter()
                .map(|&w| w as f64)
                .zip(l.gbps.iter().copied());
            c.draw_series(LineSeries::new(pts, color.stroke_width(2)))?
                .label(l.name.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
        }
        c.configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()?;
    }
    root.present()?;
    Ok(())
}

/// Whether the `avx512` rows use AVX512-BF16 for bf16 (README, "Choosing the path").
fn avx512_bf16_note() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    if Isa::Avx512.is_available() && std::is_x86_feature_detected!("avx512bf16") {
        let off = std::env::var(simdnorm::AVX512_BF16_ENV).is_ok_and(|v| v.trim() == "0");
        return if off {
            " (bf16: integer rounding, no AVX512-BF16, SIMDNORM_AVX512_BF16=0)"
        } else {
            " (bf16: AVX512-BF16 stores and RMSNorm squares)"
        };
    }
    ""
}

/// The CPU's model name (Linux), for the chart's title.
fn cpu_name() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

fn main() {
    let o = parse();
    if let Some(path) = &o.svg {
        chart(&o, path);
    } else if o.bounds {
        bounds::table(&o);
    } else if o.threshold {
        threshold(&o);
    } else {
        table(&o);
        fused_table(&o);
    }
}

/// The floor under each in-cache shape: the memory sweeps a two-sweep norm cannot avoid, timed
/// alone as the simplest AVX-512 loops (intrinsics, one thread, f32). `read` is the statistics
/// sweep (a sum of squares over x with four accumulators: one stream in); `rms apply` is
/// y = x * r * g (two streams in, one out); `ln apply` is y = (x - m) * r * g + b (three in,
/// one out). `best` = copy time / (read + apply): the copy ratio a norm made of these two
/// sweeps could reach at most on this machine (`rms both`: read then apply, row by row, as the
/// kernels run them); the last row, 8192x4096, is out of cache, its apply sweeps writing with
/// streaming stores and prefetching the next row as the kernels do there. A second table does
/// the same for f16 and bf16 activations (conversions
/// in registers, f32 weights). x86-64 with AVX-512, or AVX2 with FMA and F16C (the same loops
/// on 256-bit vectors, eight accumulators in the read so that both FMA pipes stay busy).
mod bounds {
    use super::Opts;
    #[cfg(target_arch = "x86_64")]
    use super::{Buf, fmt_ns, time_pair};
    #[cfg(target_arch = "x86_64")]
    use std::hint::black_box;

    /// How a sweep loads one vector `V` of elements as f32 lanes and stores the lanes back
    /// (implemented per ISA in [`avx512`] and [`avx2`]).
    #[cfg(target_arch = "x86_64")]
    trait Io<V> {
        type T: Copy;
        /// # Safety
        /// A vector's worth of readable elements at `p`; the calling sweep's CPU features.
        unsafe fn load(p: *const Self::T) -> V;
        /// # Safety
        /// A vector's worth of writable elements at `p`; the calling sweep's CPU features.
        unsafe fn store(p: *mut Self::T, v: V);
        /// A non-temporal store where the type has one (`f32`), else [`Io::store`].
        ///
        /// # Safety
        /// As [`Io::store`], and `p` aligned to the vector's size.
        unsafe fn stream(p: *mut Self::T, v: V) {
            // SAFETY: the caller's.
            unsafe { Self::store(p, v) }
        }
    }

    /// f32 elements.
    #[cfg(target_arch = "x86_64")]
    struct F32;
    /// f16 elements (F16C conversions).
    #[cfg(target_arch = "x86_64")]
    struct F16;
    /// bf16 elements, stored with integer round-to-nearest-even.
    #[cfg(target_arch = "x86_64")]
    struct Bf16;
    /// bf16 elements, stored by AVX512-BF16's `vcvtneps2bf16`.
    #[cfg(target_arch = "x86_64")]
    struct Bf16Hw;

    /// The plain sweeps on 512-bit vectors, written once over how an element is loaded and
    /// stored ([`Io`]): f32, f16 (`vcvtph2ps`/`vcvtps2ph`), bf16 with integer
    /// round-to-nearest-even, and bf16 by AVX512-BF16's `vcvtneps2bf16` (one instruction; it
    /// flushes subnormal results, which the kernels may not, so it is a floor, not a kernel).
    /// 16-bit rows take f32 weights and biases (what the kernels widen them to for long
    /// batches).
    #[cfg(target_arch = "x86_64")]
    mod avx512 {
        use std::arch::x86_64::*;

        use super::{Bf16, Bf16Hw, F16, F32, Io};

        /// `vcvtps2ph` (nearest even) into a register, as the library's AVX-512 path does it
        /// (inline asm: the intrinsic and the store are folded into the memory-destination
        /// form, which Zen 3 runs at about half the rate).
        ///
        /// # Safety
        /// AVX-512F.
        // SAFETY: called only from the sweeps below, which need AVX-512F themselves.
        #[target_feature(enable = "avx512f")]
        #[inline]
        unsafe fn to_f16(v: __m512) -> __m256i {
            let h: __m256i;
            // SAFETY: AVX-512F by the caller's contract; registers only.
            unsafe {
                std::arch::asm!("vcvtps2ph {h}, {v}, 0", v = in(zmm_reg) v, h = out(ymm_reg) h,
                    options(pure, nomem, nostack, preserves_flags));
            }
            h
        }

        impl Io<__m512> for F32 {
            type T = f32;
            #[inline(always)]
            unsafe fn load(p: *const f32) -> __m512 {
                // SAFETY: the caller's (16 readable elements, AVX-512F).
                unsafe { _mm512_loadu_ps(p) }
            }
            #[inline(always)]
            unsafe fn store(p: *mut f32, v: __m512) {
                // SAFETY: the caller's (16 writable elements, AVX-512F).
                unsafe { _mm512_storeu_ps(p, v) }
            }
            #[inline(always)]
            unsafe fn stream(p: *mut f32, v: __m512) {
                // SAFETY: the caller's (16 writable elements aligned to 64 bytes, AVX-512F).
                unsafe { _mm512_stream_ps(p, v) }
            }
        }

        impl Io<__m512> for F16 {
            type T = u16;
            #[inline(always)]
            unsafe fn load(p: *const u16) -> __m512 {
                // SAFETY: the caller's (16 readable elements, AVX-512F).
                unsafe { _mm512_cvtph_ps(_mm256_loadu_si256(p.cast())) }
            }
            #[inline(always)]
            unsafe fn store(p: *mut u16, v: __m512) {
                // SAFETY: the caller's (16 writable elements, AVX-512F).
                unsafe { _mm256_storeu_si256(p.cast(), to_f16(v)) }
            }
        }

        impl Io<__m512> for Bf16 {
            type T = u16;
            #[inline(always)]
            unsafe fn load(p: *const u16) -> __m512 {
                // SAFETY: the caller's (16 readable elements, AVX-512F).
                unsafe {
                    let h = _mm256_loadu_si256(p.cast());
                    _mm512_castsi512_ps(_mm512_slli_epi32::<16>(_mm512_cvtepu16_epi32(h)))
                }
            }
            #[inline(always)]
            unsafe fn store(p: *mut u16, v: __m512) {
                // SAFETY: the caller's (16 writable elements, AVX-512F).
                unsafe {
                    let b = _mm512_castps_si512(v);
                    let odd = _mm512_and_si512(_mm512_srli_epi32::<16>(b), _mm512_set1_epi32(1));
                    let r = _mm512_add_epi32(b, _mm512_add_epi32(odd, _mm512_set1_epi32(0x7FFF)));
                    _mm256_storeu_si256(p.cast(), _mm512_cvtepi32_epi16(_mm512_srli_epi32::<16>(r)))
                }
            }
        }

        impl Io<__m512> for Bf16Hw {
            type T = u16;
            #[inline(always)]
            unsafe fn load(p: *const u16) -> __m512 {
                // SAFETY: the caller's.
                unsafe { <Bf16 as Io<__m512>>::load(p) }
            }
            #[inline(always)]
            unsafe fn store(p: *mut u16, v: __m512) {
                // SAFETY: the caller's (16 writable elements, AVX-512F and AVX512-BF16).
                unsafe {
                    let h = std::mem::transmute::<__m256bh, __m256i>(_mm512_cvtneps_pbh(v));
                    _mm256_storeu_si256(p.cast(), h)
                }
            }
        }

        /// Sum of squares of `x` (a multiple of 64 elements).
        ///
        /// # Safety
        /// The features `E` needs, enabled in the caller.
        #[inline(always)]
        unsafe fn sum_sq<E: Io<__m512>>(x: &[E::T]) -> f32 {
            assert!(x.len().is_multiple_of(64));
            // SAFETY: the caller's features; every load is 16 elements at j * 16 within a
            // 64-element chunk.
            unsafe {
                let mut a = [_mm512_setzero_ps(); 4];
                for c in x.chunks_exact(64) {
                    for (j, acc) in a.iter_mut().enumerate() {
                        let v = E::load(c.as_ptr().add(j * 16));
                        *acc = _mm512_fmadd_ps(v, v, *acc);
                    }
                }
                _mm512_reduce_add_ps(_mm512_add_ps(
                    _mm512_add_ps(a[0], a[1]),
                    _mm512_add_ps(a[2], a[3]),
                ))
            }
        }

        /// The sum of the four accumulators' lanes.
        ///
        /// # Safety
        /// AVX-512F enabled in the caller.
        #[inline(always)]
        unsafe fn sum4(a: [__m512; 4]) -> f32 {
            // SAFETY: the caller's (AVX-512F); registers only.
            unsafe {
                _mm512_reduce_add_ps(_mm512_add_ps(
                    _mm512_add_ps(a[0], a[1]),
                    _mm512_add_ps(a[2], a[3]),
                ))
            }
        }

        /// LayerNorm's statistics sweep as the numerics contract has it (DESIGN.md): the sums
        /// of `x - K` and of its square, `K` the row's first element, in one read (a
        /// subtraction, an addition and a multiply-add a vector, where [`sum_sq`] takes one
        /// multiply-add; the kernels' Welford steps and blocked sums take at least these). `x` a
        /// multiple of 64 elements.
        ///
        /// # Safety
        /// As [`sum_sq`].
        #[inline(always)]
        unsafe fn shifted_sums<E: Io<__m512>>(x: &[E::T]) -> (f32, f32) {
            assert!(x.len().is_multiple_of(64));
            // SAFETY: the caller's features; every load is 16 elements at j * 16 within a
            // 64-element chunk (the first one at the row's start).
            unsafe {
                let k = _mm512_set1_ps(_mm512_cvtss_f32(E::load(x.as_ptr())));
                let (mut s, mut q) = ([_mm512_setzero_ps(); 4], [_mm512_setzero_ps(); 4]);
                for c in x.chunks_exact(64) {
                    for j in 0..4 {
                        let d = _mm512_sub_ps(E::load(c.as_ptr().add(j * 16)), k);
                        s[j] = _mm512_add_ps(s[j], d);
                        q[j] = _mm512_fmadd_ps(d, d, q[j]);
                    }
                }
                (sum4(s), sum4(q))
            }
        }

        /// `y = (x - m) * r * g + b` with `b`, `y = x * r * g` without (multiples of 16).
        ///
        /// # Safety
        /// As [`sum_sq`].
        #[inline(always)]
        unsafe fn apply<E: Io<__m512>, const STREAM: bool>(
            x: &[E::T],
            g: &[f32],
            b: Option<&[f32]>,
            y: &mut [E::T],
        ) {
            let n = y.len();
            assert!(n.is_multiple_of(16) && x.len() == n && g.len() == n);
            assert!(b.is_none_or(|b| b.len() == n));
            let nt = STREAM && (y.as_ptr() as usize).is_multiple_of(64);
            // SAFETY: the caller's features; i + 16 <= n for x, g, y and b (checked above);
            // a streaming store only where y is aligned to 64 bytes (`nt`; i a multiple of
            // 16); a prefetch is a hint that does not fault, whatever the address.
            unsafe {
                let (r, m) = (_mm512_set1_ps(0.5), _mm512_set1_ps(0.25));
                let next = x.as_ptr().wrapping_add(n);
                let mut i = 0;
                while i < n {
                    if STREAM {
                        _mm_prefetch::<_MM_HINT_T1>(next.wrapping_add(i).cast());
                    }
                    let v = E::load(x.as_ptr().add(i));
                    let w = _mm512_loadu_ps(g.as_ptr().add(i));
                    let o = match b {
                        None => _mm512_mul_ps(_mm512_mul_ps(v, r), w),
                        Some(b) => {
                            let t = _mm512_mul_ps(_mm512_sub_ps(v, m), r);
                            _mm512_fmadd_ps(t, w, _mm512_loadu_ps(b.as_ptr().add(i)))
                        }
                    };
                    if nt {
                        E::stream(y.as_mut_ptr().add(i), o);
                    } else {
                        E::store(y.as_mut_ptr().add(i), o);
                    }
                    i += 16;
                }
                if STREAM {
                    _mm_sfence();
                }
            }
        }

        /// The f32 statistics sweep.
        ///
        /// # Safety
        /// The CPU has AVX-512F.
        #[target_feature(enable = "avx512f")]
        pub(super) unsafe fn sum_sq_f32(x: &[f32]) -> f32 {
            // SAFETY: this function's features.
            unsafe { sum_sq::<F32>(x) }
        }

        /// The f32 statistics sweep of LayerNorm ([`shifted_sums`]).
        ///
        /// # Safety
        /// The CPU has AVX-512F.
        #[target_feature(enable = "avx512f")]
        pub(super) unsafe fn shifted_f32(x: &[f32]) -> (f32, f32) {
            // SAFETY: this function's features.
            unsafe { shifted_sums::<F32>(x) }
        }

        /// The f32 apply sweep.
        ///
        /// # Safety
        /// The CPU has AVX-512F.
        #[target_feature(enable = "avx512f")]
        pub(super) unsafe fn apply_f32(x: &[f32], g: &[f32], b: Option<&[f32]>, y: &mut [f32]) {
            // SAFETY: this function's features.
            unsafe { apply::<F32, false>(x, g, b, y) }
        }

        /// [`apply_f32`] as the kernels run it out of cache: non-temporal stores (cached ones
        /// where `y` is not on a 64-byte line) and a prefetch of the elements after the row,
        /// where a contiguous batch's next row starts, one line a vector.
        ///
        /// # Safety
        /// The CPU has AVX-512F.
        #[target_feature(enable = "avx512f")]
        pub(super) unsafe fn apply_f32_stream(
            x: &[f32],
            g: &[f32],
            b: Option<&[f32]>,
            y: &mut [f32],
        ) {
            // SAFETY: this function's features.
            unsafe { apply::<F32, true>(x, g, b, y) }
        }

        /// Both sweeps of one row: LayerNorm's ([`shifted_sums`], then the apply with the bias
        /// `b`) or, without `b`, RMSNorm's ([`sum_sq`]).
        ///
        /// # Safety
        /// As [`sum_sq`].
        #[inline(always)]
        unsafe fn stats_then_apply<E: Io<__m512>>(
            x: &[E::T],
            g: &[f32],
            b: Option<&[f32]>,
            y: &mut [E::T],
        ) {
            // SAFETY: the caller's.
            unsafe {
                if b.is_some() {
                    std::hint::black_box(shifted_sums::<E>(x));
                } else {
                    std::hint::black_box(sum_sq::<E>(x));
                }
                apply::<E, false>(x, g, b, y)
            }
        }

        /// Both sweeps of one 16-bit row ([`stats_then_apply`]).
        ///
        /// # Safety
        /// The CPU has AVX-512F/BW and F16C.
        #[target_feature(enable = "avx512f,avx512bw,f16c")]
        pub(super) unsafe fn both<E: Io<__m512, T = u16>>(
            x: &[u16],
            g: &[f32],
            b: Option<&[f32]>,
            y: &mut [u16],
        ) {
            // SAFETY: this function's features.
            unsafe { stats_then_apply::<E>(x, g, b, y) }
        }

        /// [`both`] with AVX512-BF16's narrowing.
        ///
        /// # Safety
        /// The CPU has AVX-512F/BW and AVX512-BF16.
        #[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
        pub(super) unsafe fn both_bf16hw(x: &[u16], g: &[f32], b: Option<&[f32]>, y: &mut [u16]) {
            // SAFETY: this function's features.
            unsafe { stats_then_apply::<Bf16Hw>(x, g, b, y) }
        }
    }

    /// The sweeps of [`avx512`] on 256-bit vectors, with eight accumulators in the read: f32,
    /// f16 (F16C), and bf16 with integer round-to-nearest-even, widened and narrowed by byte
    /// shuffles as the kernels do (AVX2 has no 32-to-16-bit narrowing store).
    #[cfg(target_arch = "x86_64")]
    mod avx2 {
        use std::arch::x86_64::*;

        use super::{Bf16, F16, F32, Io};

        /// `vcvtps2ph` (nearest even) into a register, as the library's AVX2 path does it
        /// (see the AVX-512 module's `to_f16`).
        ///
        /// # Safety
        /// F16C and AVX.
        // SAFETY: called only from the sweeps below, which need F16C themselves.
        #[target_feature(enable = "avx,f16c")]
        #[inline]
        unsafe fn to_f16(v: __m256) -> __m128i {
            let h: __m128i;
            // SAFETY: F16C by the caller's contract; registers only.
            unsafe {
                std::arch::asm!("vcvtps2ph {h}, {v}, 0", v = in(ymm_reg) v, h = out(xmm_reg) h,
                    options(pure, nomem, nostack, preserves_flags));
            }
            h
        }

        impl Io<__m256> for F32 {
            type T = f32;
            #[inline(always)]
            unsafe fn load(p: *const f32) -> __m256 {
                // SAFETY: the caller's (8 readable elements, AVX).
                unsafe { _mm256_loadu_ps(p) }
            }
            #[inline(always)]
            unsafe fn store(p: *mut f32, v: __m256) {
                // SAFETY: the caller's (8 writable elements, AVX).
                unsafe { _mm256_storeu_ps(p, v) }
            }
            #[inline(always)]
            unsafe fn stream(p: *mut f32, v: __m256) {
                // SAFETY: the caller's (8 writable elements aligned to 32 bytes, AVX).
                unsafe { _mm256_stream_ps(p, v) }
            }
        }

        impl Io<__m256> for F16 {
            type T = u16;
            #[inline(always)]
            unsafe fn load(p: *const u16) -> __m256 {
                // SAFETY: the caller's (8 readable elements, F16C).
                unsafe { _mm256_cvtph_ps(_mm_loadu_si128(p.cast())) }
            }
            #[inline(always)]
            unsafe fn store(p: *mut u16, v: __m256) {
                // SAFETY: the caller's (8 writable elements, F16C).
                unsafe { _mm_storeu_si128(p.cast(), to_f16(v)) }
            }
        }

        impl Io<__m256> for Bf16 {
            type T = u16;
            #[inline(always)]
            unsafe fn load(p: *const u16) -> __m256 {
                // SAFETY: the caller's (8 readable elements, AVX2).
                unsafe {
                    // As the kernels: the 16 bytes in both halves, one byte shuffle.
                    let z = -128i8;
                    let ctl = _mm256_setr_epi8(
                        z, z, 0, 1, z, z, 2, 3, z, z, 4, 5, z, z, 6, 7, //
                        z, z, 8, 9, z, z, 10, 11, z, z, 12, 13, z, z, 14, 15,
                    );
                    let h = _mm256_broadcastsi128_si256(_mm_loadu_si128(p.cast()));
                    _mm256_castsi256_ps(_mm256_shuffle_epi8(h, ctl))
                }
            }
            #[inline(always)]
            unsafe fn store(p: *mut u16, v: __m256) {
                // SAFETY: the caller's (8 writable elements, AVX2).
                unsafe {
                    let b = _mm256_castps_si256(v);
                    let odd = _mm256_and_si256(_mm256_srli_epi32::<16>(b), _mm256_set1_epi32(1));
                    let r = _mm256_add_epi32(b, _mm256_add_epi32(odd, _mm256_set1_epi32(0x7FFF)));
                    // As the kernels: the top halves gathered by one byte shuffle.
                    let z = -128i8;
                    let ctl = _mm256_setr_epi8(
                        2, 3, 6, 7, 10, 11, 14, 15, z, z, z, z, z, z, z, z, //
                        2, 3, 6, 7, 10, 11, 14, 15, z, z, z, z, z, z, z, z,
                    );
                    let h = _mm256_permute4x64_epi64::<0b1000>(_mm256_shuffle_epi8(r, ctl));
                    _mm_storeu_si128(p.cast(), _mm256_castsi256_si128(h))
                }
            }
        }

        /// Sum of squares of `x` (a multiple of 64 elements).
        ///
        /// # Safety
        /// AVX2, FMA and F16C enabled in the caller.
        #[inline(always)]
        unsafe fn sum_sq<E: Io<__m256>>(x: &[E::T]) -> f32 {
            assert!(x.len().is_multiple_of(64));
            // SAFETY: the caller's features; every load is 8 elements at j * 8 within a
            // 64-element chunk.
            unsafe {
                let mut a = [_mm256_setzero_ps(); 8];
                for c in x.chunks_exact(64) {
                    for (j, acc) in a.iter_mut().enumerate() {
                        let v = E::load(c.as_ptr().add(j * 8));
                        *acc = _mm256_fmadd_ps(v, v, *acc);
                    }
                }
                sum_lanes(&a)
            }
        }

        /// The sum of the lanes of `a`'s vectors.
        ///
        /// # Safety
        /// AVX enabled in the caller.
        #[inline(always)]
        unsafe fn sum_lanes(a: &[__m256]) -> f32 {
            let mut t = [0.0f32; 8];
            for &v in a {
                let mut l = [0.0f32; 8];
                // SAFETY: the caller's (AVX); `l` holds 8 lanes.
                unsafe { _mm256_storeu_ps(l.as_mut_ptr(), v) };
                for (t, l) in t.iter_mut().zip(l) {
                    *t += l;
                }
            }
            t.iter().sum()
        }

        /// LayerNorm's statistics sweep (see the AVX-512 module's `shifted_sums`): the sums of
        /// `x - K` and of its square, `K` the row's first element, four pairs of accumulators
        /// (eight registers, as [`sum_sq`] has). `x` a multiple of 64 elements.
        ///
        /// # Safety
        /// As [`sum_sq`].
        #[inline(always)]
        unsafe fn shifted_sums<E: Io<__m256>>(x: &[E::T]) -> (f32, f32) {
            assert!(x.len().is_multiple_of(64));
            // SAFETY: the caller's features; every load is 8 elements at j * 8 within a
            // 32-element chunk (the first one at the row's start).
            unsafe {
                let k = _mm256_set1_ps(_mm256_cvtss_f32(E::load(x.as_ptr())));
                let (mut s, mut q) = ([_mm256_setzero_ps(); 4], [_mm256_setzero_ps(); 4]);
                for c in x.chunks_exact(32) {
                    for j in 0..4 {
                        let d = _mm256_sub_ps(E::load(c.as_ptr().add(j * 8)), k);
                        s[j] = _mm256_add_ps(s[j], d);
                        q[j] = _mm256_fmadd_ps(d, d, q[j]);
                    }
                }
                (sum_lanes(&s), sum_lanes(&q))
            }
        }

        /// `y = (x - m) * r * g + b` with `b`, `y = x * r * g` without (multiples of 8).
        ///
        /// # Safety
        /// As [`sum_sq`].
        #[inline(always)]
        unsafe fn apply<E: Io<__m256>, const STREAM: bool>(
            x: &[E::T],
            g: &[f32],
            b: Option<&[f32]>,
            y: &mut [E::T],
        ) {
            let n = y.len();
            assert!(n.is_multiple_of(8) && x.len() == n && g.len() == n);
            assert!(b.is_none_or(|b| b.len() == n));
            let nt = STREAM && (y.as_ptr() as usize).is_multiple_of(32);
            // SAFETY: the caller's features; i + 8 <= n for x, g, y and b (checked above);
            // a streaming store only where y is aligned to 32 bytes (`nt`; i a multiple of
            // 8); a prefetch is a hint that does not fault, whatever the address.
            unsafe {
                let (r, m) = (_mm256_set1_ps(0.5), _mm256_set1_ps(0.25));
                let next = x.as_ptr().wrapping_add(n);
                let mut i = 0;
                while i < n {
                    if STREAM && i % 16 == 0 {
                        _mm_prefetch::<_MM_HINT_T1>(next.wrapping_add(i).cast());
                    }
                    let v = E::load(x.as_ptr().add(i));
                    let w = _mm256_loadu_ps(g.as_ptr().add(i));
                    let o = match b {
                        None => _mm256_mul_ps(_mm256_mul_ps(v, r), w),
                        Some(b) => {
                            let t = _mm256_mul_ps(_mm256_sub_ps(v, m), r);
                            _mm256_fmadd_ps(t, w, _mm256_loadu_ps(b.as_ptr().add(i)))
                        }
                    };
                    if nt {
                        E::stream(y.as_mut_ptr().add(i), o);
                    } else {
                        E::store(y.as_mut_ptr().add(i), o);
                    }
                    i += 8;
                }
                if STREAM {
                    _mm_sfence();
                }
            }
        }

        /// The f32 statistics sweep.
        ///
        /// # Safety
        /// The CPU has AVX2, FMA and F16C.
        #[target_feature(enable = "avx2,fma,f16c")]
        pub(super) unsafe fn sum_sq_f32(x: &[f32]) -> f32 {
            // SAFETY: this function's features.
            unsafe { sum_sq::<F32>(x) }
        }

        /// The f32 statistics sweep of LayerNorm ([`shifted_sums`]).
        ///
        /// # Safety
        /// The CPU has AVX2, FMA and F16C.
        #[target_feature(enable = "avx2,fma,f16c")]
        pub(super) unsafe fn shifted_f32(x: &[f32]) -> (f32, f32) {
            // SAFETY: this function's features.
            unsafe { shifted_sums::<F32>(x) }
        }

        /// The f32 apply sweep.
        ///
        /// # Safety
        /// The CPU has AVX2, FMA and F16C.
        #[target_feature(enable = "avx2,fma,f16c")]
        pub(super) unsafe fn apply_f32(x: &[f32], g: &[f32], b: Option<&[f32]>, y: &mut [f32]) {
            // SAFETY: this function's features.
            unsafe { apply::<F32, false>(x, g, b, y) }
        }

        /// [`apply_f32`] as the kernels run it out of cache (see the AVX-512 module's
        /// `apply_f32_stream`; streaming stores where `y` is on a 32-byte line).
        ///
        /// # Safety
        /// The CPU has AVX2 and FMA.
        #[target_feature(enable = "avx2,fma")]
        pub(super) unsafe fn apply_f32_stream(
            x: &[f32],
            g: &[f32],
            b: Option<&[f32]>,
            y: &mut [f32],
        ) {
            // SAFETY: this function's features.
            unsafe { apply::<F32, true>(x, g, b, y) }
        }

        /// bf16 lanes `(even, odd)` of the 16 elements at `p`, in the even/odd layout: one
        /// 32-byte load holds elements `2k` and `2k + 1` in lane `k`'s two words; a shift moves
        /// the low word up (element `2k`), a mask keeps the top word (element `2k + 1`).
        ///
        /// # Safety
        /// 16 readable elements at `p`; AVX2 enabled in the caller.
        #[inline(always)]
        unsafe fn load_split(p: *const u16) -> (__m256, __m256) {
            // SAFETY: the caller's (16 readable elements, AVX2).
            unsafe {
                let w = _mm256_loadu_si256(p.cast());
                let top = _mm256_set1_epi32(0xFFFF_0000u32 as i32);
                (
                    _mm256_castsi256_ps(_mm256_slli_epi32::<16>(w)),
                    _mm256_castsi256_ps(_mm256_and_si256(w, top)),
                )
            }
        }

        /// The lanes of `v` rounded to nearest even at bit 16 (the top word is the bf16).
        ///
        /// # Safety
        /// AVX2 enabled in the caller.
        #[inline(always)]
        unsafe fn round_bf16(v: __m256) -> __m256i {
            // SAFETY: the caller's (AVX2); registers only.
            unsafe {
                let b = _mm256_castps_si256(v);
                let odd = _mm256_and_si256(_mm256_srli_epi32::<16>(b), _mm256_set1_epi32(1));
                _mm256_add_epi32(b, _mm256_add_epi32(odd, _mm256_set1_epi32(0x7FFF)))
            }
        }

        /// Both sweeps of one bf16 row in the even/odd layout ([`load_split`]): the statistics
        /// from both halves, and each 16 elements of the output from an even and an odd
        /// vector, narrowed by one shift and one word blend back into memory order (where
        /// [`Bf16`] takes a byte shuffle to widen and a shuffle and a permute to narrow each 8).
        /// `g` and `b` must be in the same order (8 even, then 8 odd weights per 16; the floors
        /// pass constant ones). Rows a multiple of 64 elements.
        ///
        /// # Safety
        /// The CPU has AVX2, FMA and F16C.
        #[target_feature(enable = "avx2,fma,f16c")]
        pub(super) unsafe fn both_bf16_split(
            x: &[u16],
            g: &[f32],
            b: Option<&[f32]>,
            y: &mut [u16],
        ) {
            let n = y.len();
            assert!(n.is_multiple_of(64) && x.len() == n && g.len() == n);
            assert!(b.is_none_or(|b| b.len() == n));
            // SAFETY: this function's features; every access is 16 elements at a multiple of
            // 16 below n (x, g, b and y are n long, checked above).
            unsafe {
                if b.is_some() {
                    // LayerNorm's statistics, as `shifted_sums` (`K` the row's first element,
                    // the low word of the first lane).
                    let k = _mm256_set1_ps(_mm256_cvtss_f32(load_split(x.as_ptr()).0));
                    let (mut s, mut q) = ([_mm256_setzero_ps(); 4], [_mm256_setzero_ps(); 4]);
                    for c in x.chunks_exact(32) {
                        for j in 0..2 {
                            let (e, o) = load_split(c.as_ptr().add(16 * j));
                            let (e, o) = (_mm256_sub_ps(e, k), _mm256_sub_ps(o, k));
                            s[2 * j] = _mm256_add_ps(s[2 * j], e);
                            q[2 * j] = _mm256_fmadd_ps(e, e, q[2 * j]);
                            s[2 * j + 1] = _mm256_add_ps(s[2 * j + 1], o);
                            q[2 * j + 1] = _mm256_fmadd_ps(o, o, q[2 * j + 1]);
                        }
                    }
                    std::hint::black_box((sum_lanes(&s), sum_lanes(&q)));
                } else {
                    let mut a = [_mm256_setzero_ps(); 8];
                    for c in x.chunks_exact(64) {
                        for j in 0..4 {
                            let (e, o) = load_split(c.as_ptr().add(16 * j));
                            a[2 * j] = _mm256_fmadd_ps(e, e, a[2 * j]);
                            a[2 * j + 1] = _mm256_fmadd_ps(o, o, a[2 * j + 1]);
                        }
                    }
                    std::hint::black_box(sum_lanes(&a));
                }
                let (r, m) = (_mm256_set1_ps(0.5), _mm256_set1_ps(0.25));
                let mut i = 0;
                while i < n {
                    let (e, o) = load_split(x.as_ptr().add(i));
                    let (we, wo) = (
                        _mm256_loadu_ps(g.as_ptr().add(i)),
                        _mm256_loadu_ps(g.as_ptr().add(i + 8)),
                    );
                    let (e, o) = match b {
                        None => (
                            _mm256_mul_ps(_mm256_mul_ps(e, r), we),
                            _mm256_mul_ps(_mm256_mul_ps(o, r), wo),
                        ),
                        Some(b) => (
                            _mm256_fmadd_ps(
                                _mm256_mul_ps(_mm256_sub_ps(e, m), r),
                                we,
                                _mm256_loadu_ps(b.as_ptr().add(i)),
                            ),
                            _mm256_fmadd_ps(
                                _mm256_mul_ps(_mm256_sub_ps(o, m), r),
                                wo,
                                _mm256_loadu_ps(b.as_ptr().add(i + 8)),
                            ),
                        ),
                    };
                    // Even elements' bf16 into the low words, odd ones' kept in the top words.
                    let h = _mm256_blend_epi16::<0xAA>(
                        _mm256_srli_epi32::<16>(round_bf16(e)),
                        round_bf16(o),
                    );
                    _mm256_storeu_si256(y.as_mut_ptr().add(i).cast(), h);
                    i += 16;
                }
            }
        }

        /// Both sweeps of one row: LayerNorm's ([`shifted_sums`], then the apply with the bias
        /// `b`) or, without `b`, RMSNorm's ([`sum_sq`]).
        ///
        /// # Safety
        /// As [`sum_sq`].
        #[inline(always)]
        unsafe fn stats_then_apply<E: Io<__m256>>(
            x: &[E::T],
            g: &[f32],
            b: Option<&[f32]>,
            y: &mut [E::T],
        ) {
            // SAFETY: the caller's.
            unsafe {
                if b.is_some() {
                    std::hint::black_box(shifted_sums::<E>(x));
                } else {
                    std::hint::black_box(sum_sq::<E>(x));
                }
                apply::<E, false>(x, g, b, y)
            }
        }

        /// Both sweeps of one 16-bit row ([`stats_then_apply`]).
        ///
        /// # Safety
        /// The CPU has AVX2, FMA and F16C.
        #[target_feature(enable = "avx2,fma,f16c")]
        pub(super) unsafe fn both<E: Io<__m256, T = u16>>(
            x: &[u16],
            g: &[f32],
            b: Option<&[f32]>,
            y: &mut [u16],
        ) {
            // SAFETY: this function's features.
            unsafe { stats_then_apply::<E>(x, g, b, y) }
        }
    }

    /// One path's floors: its name and its sweeps (`unsafe`: each needs its CPU features,
    /// which `table` detects before choosing it).
    #[cfg(target_arch = "x86_64")]
    struct Floors {
        name: &'static str,
        sum_sq: unsafe fn(&[f32]) -> f32,
        /// LayerNorm's statistics sweep: the sums of `x - x[0]` and of its square.
        shifted: unsafe fn(&[f32]) -> (f32, f32),
        apply: Apply,
        /// The apply sweep out of cache: streaming stores, the next row prefetched.
        apply_stream: Apply,
        /// Both 16-bit sweeps of a row: f16, then bf16; the bf16 stores' description.
        both16: [Sweep16; 2],
        bf16_by: &'static str,
        /// Both bf16 sweeps in the even/odd layout, where the path has one.
        bf16_split: Option<Sweep16>,
    }

    /// The apply sweep: `(x, weight, bias, y)`.
    #[cfg(target_arch = "x86_64")]
    type Apply = unsafe fn(&[f32], &[f32], Option<&[f32]>, &mut [f32]);

    /// Both 16-bit sweeps of a row: `(x, weight, bias, y)`.
    #[cfg(target_arch = "x86_64")]
    type Sweep16 = unsafe fn(&[u16], &[f32], Option<&[f32]>, &mut [u16]);

    /// Times `a` (the batch `x` into `y`) against `b` (`x` into `y2`), alternately, as
    /// `time_pair` does: their medians.
    #[cfg(target_arch = "x86_64")]
    fn pair<T: Copy>(
        o: &Opts,
        x: &[T],
        y: &mut [T],
        y2: &mut [T],
        mut a: impl FnMut(&[T], &mut [T]),
        mut b: impl FnMut(&[T], &mut [T]),
    ) -> (f64, f64) {
        time_pair(
            o.quick,
            || a(black_box(x), black_box(&mut *y)),
            || b(black_box(x), black_box(&mut *y2)),
        )
    }

    /// `f` on every row of `width` elements of a batch (input row, output row).
    #[cfg(target_arch = "x86_64")]
    fn by_rows<T>(width: usize, mut f: impl FnMut(&[T], &mut [T])) -> impl FnMut(&[T], &mut [T]) {
        move |x: &[T], y: &mut [T]| {
            for (xr, yr) in x.chunks_exact(width).zip(y.chunks_exact_mut(width)) {
                f(xr, yr)
            }
        }
    }

    /// Times `f` on every row of `x` (writing the same row of `y`) against a copy of `x` into
    /// `y2`: (`f`, the copy).
    #[cfg(target_arch = "x86_64")]
    fn per_row<T: Copy>(
        o: &Opts,
        x: &[T],
        y: &mut [T],
        y2: &mut [T],
        width: usize,
        f: impl FnMut(&[T], &mut [T]),
    ) -> (f64, f64) {
        pair(o, x, y, y2, by_rows(width, f), |x, y2| {
            y2.copy_from_slice(x)
        })
    }

    /// The library's RMSNorm (`bias` `None`) or LayerNorm on `path`, one thread, the weight
    /// `g` (and `bias`), over the batch of `width`-element rows: what a floor bounds.
    #[cfg(target_arch = "x86_64")]
    fn kernel<'a, T: simdnorm::Element>(
        path: simdnorm::Isa,
        width: usize,
        g: &'a [f32],
        bias: Option<&'a [f32]>,
    ) -> impl FnMut(&[T], &mut [T]) + 'a {
        let kind = if bias.is_some() {
            super::Kind::Layer
        } else {
            super::Kind::Rms
        };
        let norm = kind
            .norm()
            .isa(path)
            .parallelism(simdnorm::Parallelism::None);
        move |x: &[T], y: &mut [T]| {
            norm.forward(x, x.len() / width, width, Some(g), bias, y)
                .expect("the floors' shapes are valid")
        }
    }

    /// The floors of the kernels' path (`simdnorm::isa()`: the CPU's best, or the one
    /// `SIMDNORM_ISA` names, so `SIMDNORM_ISA=avx2` times the AVX2 floors on an AVX-512 CPU).
    pub fn table(o: &Opts) {
        let path = simdnorm::isa();
        #[cfg(target_arch = "x86_64")]
        {
            use simdnorm::Isa;
            use std::is_x86_feature_detected as has;
            let f16c = has!("f16c");
            if path == Isa::Avx512 && has!("avx512f") && has!("avx512bw") && f16c {
                let bf16 = has!("avx512bf16");
                return run(
                    o,
                    &Floors {
                        name: "AVX-512",
                        sum_sq: avx512::sum_sq_f32,
                        shifted: avx512::shifted_f32,
                        apply: avx512::apply_f32,
                        apply_stream: avx512::apply_f32_stream,
                        both16: [
                            avx512::both::<F16>,
                            if bf16 {
                                avx512::both_bf16hw
                            } else {
                                avx512::both::<Bf16>
                            },
                        ],
                        bf16_by: if bf16 {
                            "by vcvtneps2bf16, AVX512-BF16"
                        } else {
                            "by integer rounding (no AVX512-BF16 here)"
                        },
                        bf16_split: None,
                    },
                    path,
                );
            }
            if matches!(path, Isa::Avx512 | Isa::Avx2) && has!("avx2") && has!("fma") && f16c {
                return run(
                    o,
                    &Floors {
                        name: "AVX2",
                        sum_sq: avx2::sum_sq_f32,
                        shifted: avx2::shifted_f32,
                        apply: avx2::apply_f32,
                        apply_stream: avx2::apply_f32_stream,
                        both16: [avx2::both::<F16>, avx2::both::<Bf16>],
                        bf16_by: "by integer rounding, shuffled",
                        bf16_split: Some(avx2::both_bf16_split),
                    },
                    path,
                );
            }
        }
        let _ = o;
        println!(
            "normbench --bounds: times the AVX-512 and AVX2 floors (AVX2 with FMA and F16C); \
             the path here is {path}"
        );
    }

    #[cfg(target_arch = "x86_64")]
    fn run(o: &Opts, fl: &Floors, path: simdnorm::Isa) {
        println!(
            "the sweeps alone (f32, 1 thread, {}), row by row as the kernels go; \
             best = copy / (read + apply); read: RMSNorm's statistics (the sum of squares), \
             ln read: LayerNorm's (the sums of x - x[0] and of its square); k/f: the kernel \
             ({}, 1 thread) / both sweeps, timed alternately",
            fl.name, path
        );
        println!(
            "(* out of cache: the apply sweeps write with streaming stores and prefetch the next \
             row, as the kernels do for a batch this size)"
        );
        println!(
            "{:>11} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>9} {:>9} {:>8} {:>8}",
            "rows x width",
            "copy",
            "read",
            "ln read",
            "rms apply",
            "ln apply",
            "rms both",
            "best rms",
            "best ln",
            "rms k/f",
            "ln k/f"
        );
        // `out`: the shape is out of cache, and its apply sweeps stream their stores and
        // prefetch the next row, as the kernels do for a batch this size.
        for (rows, width, out) in [
            (1, 4096, false),
            (1, 8192, false),
            (16, 4096, false),
            (128, 4096, false),
            (512, 768, false),
            (4096, 128, false),
            (8192, 4096, true),
        ] {
            let n = rows * width;
            let apply_sweep = if out { fl.apply_stream } else { fl.apply };
            let x = Buf::new((0..n).map(|i| (i % 1000) as f32 * 0.001).collect());
            let g = Buf::filled(1.5f32, width);
            let b = Buf::filled(0.5f32, width);
            let (g, b): (&[f32], &[f32]) = (&g, &b);
            let mut y = Buf::filled(1.0f32, n);
            let mut y2 = Buf::filled(1.0f32, n);
            // A row's statistics sweep, then its apply sweep, either or both (`Some(false)`:
            // RMSNorm's, `Some(true)`: LayerNorm's, with the bias `b`).
            let floor = |read: Option<bool>, apply: Option<bool>| {
                move |xr: &[f32], yr: &mut [f32]| {
                    match read {
                        // SAFETY: `table` chose `fl` after detecting its features.
                        Some(false) => _ = black_box(unsafe { (fl.sum_sq)(xr) }),
                        // SAFETY: as above.
                        Some(true) => _ = black_box(unsafe { (fl.shifted)(xr) }),
                        None => {}
                    }
                    if let Some(layer) = apply {
                        // SAFETY: as above.
                        unsafe { apply_sweep(xr, g, layer.then_some(b), yr) }
                    }
                }
            };
            let mut sweep =
                |read, apply| per_row(o, &x, &mut y, &mut y2, width, floor(read, apply));
            let (read, copy) = sweep(Some(false), None);
            let ln_read = sweep(Some(true), None).0;
            let rms = sweep(None, Some(false)).0;
            let ln = sweep(None, Some(true)).0;
            let rms_both = sweep(Some(false), Some(false)).0;
            let ln_both = sweep(Some(true), Some(true)).0;
            // The kernel against both sweeps: its time / theirs.
            let mut vs = |layer: bool| {
                let k = kernel::<f32>(path, width, g, layer.then_some(b));
                let f = by_rows(width, floor(Some(layer), Some(layer)));
                let (k, f) = pair(o, &x, &mut y, &mut y2, k, f);
                k / f
            };
            let (rms_kf, ln_kf) = (vs(false), vs(true));
            println!(
                "{:>11} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>9.2} {:>9.2} {:>8.2} {:>8.2}",
                format!("{rows}x{width}{}", if out { "*" } else { "" }),
                fmt_ns(copy),
                fmt_ns(read),
                fmt_ns(ln_read),
                fmt_ns(rms),
                fmt_ns(ln),
                fmt_ns(rms_both),
                copy / rms_both,
                copy / ln_both,
                rms_kf,
                ln_kf
            );
        }
        run16(o, fl, path);
    }

    /// The same floors for 16-bit activations: statistics then apply, row by row, against a
    /// copy of the same 16-bit bytes.
    #[cfg(target_arch = "x86_64")]
    fn run16(o: &Opts, fl: &Floors, path: simdnorm::Isa) {
        use half::slice::HalfBitsSliceExt;
        use half::{bf16, f16};
        println!();
        println!(
            "16-bit activations ({}, f32 weights; bf16 stores {}): both sweeps row by row \
             (LayerNorm's statistics as above); best = copy / both; k/f: the kernel ({}, 1 \
             thread, f32 weights) / both, timed alternately (the e/o rows: against the kernel \
             on the plain layout)",
            fl.name, fl.bf16_by, path
        );
        if fl.bf16_split.is_some() {
            println!(
                "(bf16 e/o: bf16 rows in the even/odd layout, elements 2k and 2k+1 of each 16 in \
                 lane k of two vectors, weights in the same order: one load, a shift and a mask \
                 to widen 16 elements, a shift and a word blend to narrow them)"
            );
        }
        println!(
            "{:>8} {:>11} {:>10} {:>10} {:>10} {:>9} {:>9} {:>8} {:>8}",
            "type",
            "rows x width",
            "copy",
            "rms both",
            "ln both",
            "best rms",
            "best ln",
            "rms k/f",
            "ln k/f"
        );
        let mut kinds = vec![("f16", 0u8, fl.both16[0]), ("bf16", 1, fl.both16[1])];
        kinds.extend(fl.bf16_split.map(|s| ("bf16 e/o", 1, s)));
        for (name, f, both16) in kinds {
            for (rows, width) in [(1, 4096), (16, 4096), (128, 4096), (512, 768), (4096, 128)] {
                let n = rows * width;
                let x = Buf::new(
                    (0..n)
                        .map(|i| {
                            let v = (i % 1000) as f32 * 0.001;
                            if f == 0 {
                                f16::from_f32(v).to_bits()
                            } else {
                                bf16::from_f32(v).to_bits()
                            }
                        })
                        .collect(),
                );
                let g = Buf::filled(1.5f32, width);
                let b = Buf::filled(0.5f32, width);
                let (g, b): (&[f32], &[f32]) = (&g, &b);
                let mut y = Buf::filled(0u16, n);
                let mut y2 = Buf::filled(0u16, n);
                // Both sweeps of a row: RMSNorm's, or LayerNorm's (`true`, with the bias `b`).
                let floor = |layer: bool| {
                    move |xr: &[u16], yr: &mut [u16]| {
                        // SAFETY: `table` chose `fl` after detecting its features.
                        unsafe { both16(xr, g, layer.then_some(b), yr) }
                    }
                };
                let (rms, copy) = per_row(o, &x, &mut y, &mut y2, width, floor(false));
                let ln = per_row(o, &x, &mut y, &mut y2, width, floor(true)).0;
                // The kernel on the same bits as f16 or bf16 against both sweeps: its time /
                // theirs.
                let mut vs = |layer: bool| {
                    let bias = layer.then_some(b);
                    let (mut k16, mut kb16) = (
                        kernel::<f16>(path, width, g, bias),
                        kernel::<bf16>(path, width, g, bias),
                    );
                    let k = |x: &[u16], y: &mut [u16]| match f {
                        0 => k16(x.reinterpret_cast(), y.reinterpret_cast_mut()),
                        _ => kb16(x.reinterpret_cast(), y.reinterpret_cast_mut()),
                    };
                    let (k, f) = pair(o, &x, &mut y, &mut y2, k, by_rows(width, floor(layer)));
                    k / f
                };
                let (rms_kf, ln_kf) = (vs(false), vs(true));
                println!(
                    "{:>8} {:>11} {:>10} {:>10} {:>10} {:>9.2} {:>9.2} {:>8.2} {:>8.2}",
                    name,
                    format!("{rows}x{width}"),
                    fmt_ns(copy),
                    fmt_ns(rms),
                    fmt_ns(ln),
                    copy / rms,
                    copy / ln,
                    rms_kf,
                    ln_kf
                );
            }
        }
    }
}
