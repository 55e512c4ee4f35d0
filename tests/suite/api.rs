//! The public API's contract: every error variant, no partial writes, threads, ISA selection.

use crate::common;
use crate::common::{Case, Kind, Rng, Style};
use simdnorm::{
    Isa, Norm, NormError, Parallelism, Stats, force_isa, isa, layer_norm, layer_norm_inplace,
    layer_norm_rows, layer_norm_rows_inplace, rms_norm, rms_norm_inplace, rms_norm_rows,
    rms_norm_rows_inplace,
};

const NONE: Option<&[f32]> = None;

#[test]
fn every_error_variant() {
    let x = [1.0f32; 12];
    let mut y = [7.0f32; 12];
    let g4 = [1.0f32; 4];
    let g3 = [1.0f32; 3];

    assert_eq!(
        rms_norm(&[] as &[f32], NONE, 1e-6, &mut []),
        Err(NormError::ZeroWidth)
    );
    assert_eq!(
        rms_norm_rows(&x, 0, NONE, 1e-6, &mut y),
        Err(NormError::ZeroWidth)
    );
    assert_eq!(
        Norm::layer(1e-5).forward(&x, 3, 0, NONE, NONE, &mut y),
        Err(NormError::ZeroWidth)
    );
    assert_eq!(
        layer_norm_rows(&x, 5, NONE, NONE, 1e-5, &mut y),
        Err(NormError::RaggedInput { len: 12, width: 5 })
    );
    assert_eq!(
        Norm::rms(1e-6).forward(&x, 2, 4, NONE, NONE, &mut y),
        Err(NormError::InputLength {
            expected: 8,
            actual: 12
        })
    );
    assert_eq!(
        rms_norm_rows(&x, 4, NONE, 1e-6, &mut y[..8]),
        Err(NormError::OutputLength {
            expected: 12,
            actual: 8
        })
    );
    assert_eq!(
        rms_norm_rows(&x, 4, Some(&g3[..]), 1e-6, &mut y),
        Err(NormError::ParamLength {
            param: "gamma",
            expected: 4,
            actual: 3
        })
    );
    assert_eq!(
        layer_norm_rows(&x, 4, Some(&g4[..]), Some(&g3[..]), 1e-6, &mut y),
        Err(NormError::ParamLength {
            param: "beta",
            expected: 4,
            actual: 3
        })
    );
    assert_eq!(
        Norm::rms(1e-6).forward(&x, usize::MAX, 2, NONE, NONE, &mut y),
        Err(NormError::SizeOverflow {
            rows: usize::MAX,
            width: 2
        })
    );
    for eps in [-1e-6f32, f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let e = rms_norm_rows(&x, 4, NONE, eps, &mut y).unwrap_err();
        assert!(
            matches!(e, NormError::BadEpsilon(v) if v.to_bits() == eps.to_bits()),
            "{e}"
        );
    }
    assert_eq!(
        Norm::rms(1e-6).forward(&x, 3, 4, NONE, Some(&g4[..]), &mut y),
        Err(NormError::Unsupported("RMSNorm takes no bias (beta)"))
    );
    let mut m = [0.0f32; 3];
    assert_eq!(
        Norm::rms(1e-6).forward_with_stats(
            &x,
            3,
            4,
            NONE,
            NONE,
            &mut y,
            Stats {
                mean: Some(&mut m),
                rstd: None
            }
        ),
        Err(NormError::Unsupported("RMSNorm computes no mean statistic"))
    );
    let mut short = [0.0f32; 2];
    assert_eq!(
        Norm::layer(1e-6).forward_with_stats(
            &x,
            3,
            4,
            NONE,
            NONE,
            &mut y,
            Stats {
                mean: None,
                rstd: Some(&mut short)
            }
        ),
        Err(NormError::StatsLength {
            stat: "rstd",
            expected: 3,
            actual: 2
        })
    );
    assert_eq!(
        Norm::layer(1e-6).forward_with_stats(
            &x,
            3,
            4,
            NONE,
            NONE,
            &mut y,
            Stats {
                mean: Some(&mut short),
                rstd: None
            }
        ),
        Err(NormError::StatsLength {
            stat: "mean",
            expected: 3,
            actual: 2
        })
    );
    let missing = if cfg!(target_arch = "x86_64") {
        Isa::Neon
    } else {
        Isa::Avx2
    };
    assert_eq!(
        Norm::rms(1e-6)
            .isa(missing)
            .forward(&x, 3, 4, NONE, NONE, &mut y),
        Err(NormError::IsaUnavailable(missing))
    );
    assert_eq!(force_isa(missing), Err(NormError::IsaUnavailable(missing)));

    // Nothing was written by any refused call, and every message names the problem.
    assert!(y.iter().all(|&v| v == 7.0));
    let msg = NormError::ParamLength {
        param: "gamma",
        expected: 4,
        actual: 3,
    }
    .to_string();
    assert!(
        msg.contains("gamma") && msg.contains('4') && msg.contains('3'),
        "{msg}"
    );
    let msg = NormError::SizeOverflow { rows: 9, width: 8 }.to_string();
    assert!(msg.contains("overflow"), "{msg}");
}

/// The in-place and single-row wrappers compute what the batch builder computes.
#[test]
fn wrappers_agree_with_builder() {
    let mut rng = Rng(21);
    let x = common::row::<f32>(&mut rng, Style::Plain, 96);
    let g: Vec<f32> = (0..48).map(|i| 1.0 + i as f32 / 100.0).collect();
    let b: Vec<f32> = (0..48).map(|i| i as f32 / 10.0).collect();
    let mut want = vec![0.0f32; 96];
    Norm::layer(1e-5)
        .forward(&x, 2, 48, Some(&g[..]), Some(&b[..]), &mut want)
        .unwrap();
    let mut y = vec![0.0f32; 96];
    layer_norm_rows(&x, 48, Some(&g[..]), Some(&b[..]), 1e-5, &mut y).unwrap();
    assert_eq!(y, want);
    let mut z = x.clone();
    layer_norm_rows_inplace(&mut z, 48, Some(&g[..]), Some(&b[..]), 1e-5).unwrap();
    assert_eq!(z, want);
    let mut r = vec![0.0f32; 48];
    layer_norm(&x[48..], Some(&g[..]), Some(&b[..]), 1e-5, &mut r).unwrap();
    assert_eq!(r, want[48..]);
    let mut r2 = x[48..].to_vec();
    layer_norm_inplace(&mut r2, Some(&g[..]), Some(&b[..]), 1e-5).unwrap();
    assert_eq!(r2, want[48..]);

    Norm::rms(1e-6)
        .forward(&x, 2, 48, Some(&g[..]), None, &mut want)
        .unwrap();
    rms_norm_rows(&x, 48, Some(&g[..]), 1e-6, &mut y).unwrap();
    assert_eq!(y, want);
    let mut z = x.clone();
    rms_norm_rows_inplace(&mut z, 48, Some(&g[..]), 1e-6).unwrap();
    assert_eq!(z, want);
    rms_norm(&x[..48], Some(&g[..]), 1e-6, &mut r).unwrap();
    assert_eq!(r, want[..48]);
    let mut r2 = x[..48].to_vec();
    rms_norm_inplace(&mut r2, Some(&g[..]), 1e-6).unwrap();
    assert_eq!(r2, want[..48]);
}

/// An empty batch (zero rows) is valid and does nothing.
#[test]
fn zero_rows_is_ok() {
    let mut y: [f32; 0] = [];
    assert_eq!(
        Norm::rms(1e-6).forward(&[] as &[f32], 0, 8, NONE, NONE, &mut y),
        Ok(())
    );
    assert_eq!(rms_norm_rows(&[] as &[f32], 8, NONE, 1e-6, &mut y), Ok(()));
}

fn threads_match<T: simdnorm::Element, W: simdnorm::Element>(seed: u64) {
    let mut rng = Rng(seed);
    // Called from this thread (outside any pool, the caller runs a block itself) and from a
    // worker of a pool (the blocks go to `rayon::join`).
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(3)
        .build()
        .expect("a 3-thread pool");
    for kind in [Kind::Rms, Kind::Layer] {
        for (rows, width) in [(2usize, 5000usize), (37, 333), (257, 64)] {
            let case = Case::<T, W>::random(&mut rng, kind, Style::Plain, rows, width);
            for isa in Isa::available() {
                let serial = case.run(isa, Parallelism::None);
                for par in [
                    Parallelism::Rayon(0),
                    Parallelism::Rayon(2),
                    Parallelism::Rayon(3),
                    Parallelism::Rayon(7),
                    Parallelism::Auto,
                ] {
                    for (from, threaded) in [
                        ("outside", case.run(isa, par)),
                        ("in a pool", pool.install(|| case.run(isa, par))),
                    ] {
                        let bits =
                            |v: &Vec<T>| v.iter().map(|e| e.to_f32().to_bits()).collect::<Vec<_>>();
                        assert_eq!(
                            bits(&serial.0),
                            bits(&threaded.0),
                            "{isa} {par:?} {kind:?} {rows}x{width}, called {from}"
                        );
                        let sb = |v: &Vec<f32>| v.iter().map(|e| e.to_bits()).collect::<Vec<_>>();
                        assert_eq!(sb(&serial.1), sb(&threaded.1), "{from}");
                        assert_eq!(sb(&serial.2), sb(&threaded.2), "{from}");
                    }
                }
            }
        }
    }
}

/// The threaded batch equals the single-threaded batch bit for bit (outputs and statistics),
/// for any block count.
#[test]
fn threaded_equals_serial() {
    for_each_type!(threads_match(31));
}

#[cfg(feature = "rayon")]
/// `Auto` keeps small batches on the calling thread and gives large ones one block per thread
/// (never less than `PAR_MIN_BYTES` each); `None` never splits; `Rayon(n)` always does.
#[test]
fn batch_threshold() {
    use simdnorm::PAR_MIN_BYTES;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(4)
        .build()
        .unwrap();
    pool.install(|| {
        let row = 4096 * 4;
        assert_eq!(Parallelism::Auto.blocks(1, row), 1);
        assert_eq!(
            Parallelism::Auto.blocks(16, row),
            1,
            "16 x 4096 f32 is below the threshold"
        );
        assert_eq!(Parallelism::Auto.blocks(PAR_MIN_BYTES / row, row), 1);
        assert_eq!(Parallelism::Auto.blocks(2 * PAR_MIN_BYTES / row, row), 2);
        assert_eq!(Parallelism::Auto.blocks(2048, row), 4);
        assert_eq!(
            Parallelism::Auto.blocks(1, 1 << 30),
            1,
            "one row is never split"
        );
        assert_eq!(Parallelism::None.blocks(2048, row), 1);
        assert_eq!(Parallelism::Rayon(0).blocks(3, 4), 3);
        assert_eq!(Parallelism::Rayon(0).blocks(2048, 4), 4);
        assert_eq!(Parallelism::Rayon(7).blocks(2048, 4), 7);
    });
}

#[test]
fn isa_selection() {
    let avail = Isa::available();
    assert_eq!(avail.last(), Some(&Isa::Scalar));
    assert!(avail.contains(&Isa::detect()));
    assert!(avail.contains(&isa()));
    for i in Isa::ALL {
        assert_eq!(i.name().parse::<Isa>(), Ok(i));
        assert_eq!(i.to_string(), i.name());
        assert_eq!(avail.contains(&i), i.is_available());
    }
    assert!("sse9".parse::<Isa>().is_err());
    #[cfg(target_arch = "x86_64")]
    {
        assert!(!Isa::Neon.is_available());
        let v3 = ["avx2", "fma", "f16c", "bmi1", "bmi2", "lzcnt", "popcnt"];
        let has = |f: &str| match f {
            "avx2" => is_x86_feature_detected!("avx2"),
            "fma" => is_x86_feature_detected!("fma"),
            "f16c" => is_x86_feature_detected!("f16c"),
            "bmi1" => is_x86_feature_detected!("bmi1"),
            "bmi2" => is_x86_feature_detected!("bmi2"),
            "lzcnt" => is_x86_feature_detected!("lzcnt"),
            "popcnt" => is_x86_feature_detected!("popcnt"),
            _ => unreachable!(),
        };
        let avx2 = v3.iter().all(|f| has(f));
        assert_eq!(Isa::Avx2.is_available(), avx2);
        let avx512 = avx2
            && is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512bw")
            && is_x86_feature_detected!("avx512cd")
            && is_x86_feature_detected!("avx512dq")
            && is_x86_feature_detected!("avx512vl");
        assert_eq!(Isa::Avx512.is_available(), avx512);
    }
    #[cfg(target_arch = "aarch64")]
    {
        assert!(Isa::Neon.is_available());
        assert!(!Isa::Avx2.is_available());
    }
}

/// `SIMDNORM_ISA` forces the process-wide path; an unavailable or unknown name falls back to
/// the detected path with a report on stderr. Checked in child processes (the choice is made
/// once per process). Not on aarch64: there the suite runs under qemu user-mode emulation,
/// which cannot start the child binary; the code under test is the same on every target.
#[cfg(target_arch = "x86_64")]
#[test]
fn env_var_forces_isa() {
    if let Ok(want) = std::env::var("SIMDNORM_TEST_EXPECT_ISA") {
        assert_eq!(isa().name(), want);
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let detected = Isa::detect();
    let missing = if cfg!(target_arch = "x86_64") {
        "neon"
    } else {
        "avx512"
    };
    let mut cases = vec![
        ("scalar", "scalar", false),
        (missing, detected.name(), true),
        ("bogus", detected.name(), true),
    ];
    for i in Isa::available() {
        cases.push((i.name(), i.name(), false));
    }
    // This test's name as libtest knows it (the module path without the crate's name).
    let name = match module_path!().split_once("::") {
        Some((_, module)) => format!("{module}::env_var_forces_isa"),
        None => "env_var_forces_isa".to_string(),
    };
    for (set, want, reports) in cases {
        let out = std::process::Command::new(&exe)
            .args(["--exact", &name, "--nocapture", "--test-threads=1"])
            .env("SIMDNORM_ISA", set)
            .env("SIMDNORM_TEST_EXPECT_ISA", want)
            .output()
            .expect("spawn the test binary");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "SIMDNORM_ISA={set}: child failed: {stderr}"
        );
        assert_eq!(
            stderr.contains("simdnorm: SIMDNORM_ISA"),
            reports,
            "SIMDNORM_ISA={set}: {stderr}"
        );
    }
}

fn strided_case<T: simdnorm::Element, W: simdnorm::Element>(seed: u64) {
    let mut rng = Rng(seed);
    for kind in [Kind::Rms, Kind::Layer] {
        for (rows, width, xs, ys) in [
            (5usize, 33usize, 40usize, 33usize),
            (3, 16, 16, 29),
            (7, 100, 131, 257),
            (1, 9, 9, 9),
        ] {
            let case = Case::<T, W>::random(&mut rng, kind, Style::Plain, rows, width);
            for isa in Isa::available() {
                for par in [Parallelism::None, Parallelism::Rayon(3)] {
                    let (want, wmean, wrstd) = case.run(isa, par);
                    let sentinel = T::from_f32(-7.5);
                    let mut x = vec![sentinel; (rows - 1) * xs + width + 3];
                    for r in 0..rows {
                        x[r * xs..r * xs + width]
                            .copy_from_slice(&case.x[r * width..(r + 1) * width]);
                    }
                    let mut y = vec![sentinel; (rows - 1) * ys + width + 5];
                    let mut rstd = vec![0.0f32; rows];
                    let mut mean = vec![0.0f32; rows];
                    let n = common::norm(kind, case.eps).isa(isa).parallelism(par);
                    let stats = Stats {
                        mean: (kind == Kind::Layer).then_some(&mut mean[..]),
                        rstd: Some(&mut rstd[..]),
                    };
                    n.forward_strided(
                        &x,
                        xs,
                        &mut y,
                        ys,
                        rows,
                        width,
                        case.gamma.as_deref(),
                        case.beta.as_deref(),
                        stats,
                    )
                    .unwrap();
                    for r in 0..rows {
                        assert_eq!(
                            &y[r * ys..r * ys + width],
                            &want[r * width..(r + 1) * width],
                            "{isa} {kind:?} row {r}"
                        );
                        if r + 1 < rows {
                            assert!(
                                y[r * ys + width..(r + 1) * ys]
                                    .iter()
                                    .all(|&v| v == sentinel),
                                "padding written"
                            );
                        }
                    }
                    assert!(y[(rows - 1) * ys + width..].iter().all(|&v| v == sentinel));
                    assert_eq!(rstd, wrstd);
                    if kind == Kind::Layer {
                        assert_eq!(mean, wmean);
                    }
                    // In place over the strided input.
                    n.forward_strided_inplace(
                        &mut x,
                        xs,
                        rows,
                        width,
                        case.gamma.as_deref(),
                        case.beta.as_deref(),
                        Stats::default(),
                    )
                    .unwrap();
                    for r in 0..rows {
                        assert_eq!(
                            &x[r * xs..r * xs + width],
                            &want[r * width..(r + 1) * width]
                        );
                        if r + 1 < rows {
                            assert!(
                                x[r * xs + width..(r + 1) * xs]
                                    .iter()
                                    .all(|&v| v == sentinel)
                            );
                        }
                    }
                }
            }
        }
    }
}

/// Strided rows give the same bits as contiguous ones, leave the gaps between rows alone, and
/// work in place and threaded.
#[test]
fn strided_equals_contiguous() {
    for_each_type!(strided_case(41));
}

#[test]
fn strided_errors() {
    let x = [1.0f32; 40];
    let mut y = [7.0f32; 40];
    let n = Norm::rms(1e-6);
    let none = Stats::default;
    assert_eq!(
        n.forward_strided(&x, 3, &mut y, 8, 4, 4, NONE, NONE, none()),
        Err(NormError::StrideTooSmall {
            stride: 3,
            width: 4
        })
    );
    assert_eq!(
        n.forward_strided(&x, 8, &mut y, 2, 4, 4, NONE, NONE, none()),
        Err(NormError::StrideTooSmall {
            stride: 2,
            width: 4
        })
    );
    assert_eq!(
        n.forward_strided(&x, 13, &mut y, 8, 4, 4, NONE, NONE, none()),
        Err(NormError::InputLength {
            expected: 43,
            actual: 40
        })
    );
    assert_eq!(
        n.forward_strided(&x, 8, &mut y, 13, 4, 4, NONE, NONE, none()),
        Err(NormError::OutputLength {
            expected: 43,
            actual: 40
        })
    );
    assert_eq!(
        n.forward_strided(&x, usize::MAX / 2, &mut y, 8, 4, 4, NONE, NONE, none()),
        Err(NormError::SizeOverflow { rows: 4, width: 4 })
    );
    let mut z = x;
    assert_eq!(
        n.forward_strided_inplace(&mut z, 4, 11, 4, NONE, NONE, none()),
        Err(NormError::InputLength {
            expected: 44,
            actual: 40
        })
    );
    assert_eq!(
        Norm::rms(-1.0).forward_strided(&x, 8, &mut y, 8, 4, 4, NONE, NONE, none()),
        Err(NormError::BadEpsilon(-1.0))
    );
    assert!(y.iter().all(|&v| v == 7.0));
    assert_eq!(z, x);
    assert!(
        NormError::StrideTooSmall {
            stride: 3,
            width: 4
        }
        .to_string()
        .contains("stride 3")
    );
}

fn widened_match<T: simdnorm::Element, W: simdnorm::Element>(seed: u64) {
    let mut rng = Rng(seed);
    let bits = |v: &[T]| v.iter().map(|e| e.to_f32().to_bits()).collect::<Vec<_>>();
    // 8 rows of 1025 (a partial last vector on every path): the fewest rows that use the
    // copies (`WIDEN_MIN_ROWS`), past `WIDEN_MIN_ELEMENTS`.
    for (kind, (rows, width)) in [Kind::Rms, Kind::Layer]
        .into_iter()
        .flat_map(|k| [(k, (70, 300)), (k, (8, 1025))])
    {
        let case = Case::<T, W>::random(&mut rng, kind, Style::Plain, rows, width);
        for isa in Isa::available() {
            case.check(isa, "widened batch");
            let batch = case.run(isa, Parallelism::None).0;
            let n = common::norm(kind, case.eps).isa(isa);
            for r in 0..rows {
                let mut y = vec![T::ZERO; width];
                n.forward(
                    &case.x[r * width..(r + 1) * width],
                    1,
                    width,
                    case.gamma.as_deref(),
                    case.beta.as_deref(),
                    &mut y,
                )
                .unwrap();
                assert_eq!(
                    bits(&batch[r * width..(r + 1) * width]),
                    bits(&y),
                    "{isa} {kind:?} row {r}"
                );
            }
        }
    }
}

/// A batch long enough to use f32 copies of 16-bit weights (converted once per call) gives,
/// bit for bit, what each of its rows gives alone (weights converted in the sweep).
#[test]
fn widened_weights_change_nothing() {
    widened_match::<half::f16, half::f16>(41);
    widened_match::<half::bf16, half::bf16>(42);
    widened_match::<f32, half::bf16>(43);
}
